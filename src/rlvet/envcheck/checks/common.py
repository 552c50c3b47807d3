"""Shared pieces of the env checks: the Finding constructor and evidence helpers.

Contents:
    env_finding -- a static Finding; stage and default remedy from ``rlvet.findings.CATEGORIES``.
    pooled_rewards, box_bounds_violations, same_trajectory -- evidence computations that
        more than one check reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import numpy as np

from rlvet.envcheck.records import EpisodeRecord
from rlvet.findings import Category, Finding, Severity, Stage

__all__ = ["box_bounds_violations", "env_finding", "first_divergence", "pooled_rewards"]


def env_finding(
    check: str,
    category: Category,
    severity: Severity,
    message: str,
    *,
    evidence: Mapping[str, Any] | None = None,
    remedy: str | None = None,
    stage: Stage | None = None,
) -> Finding:
    """A static (``step=None``) env finding; ``remedy`` None means the category's default;
    ``stage`` only for a category without a fixed link (``insufficient_evidence``)."""
    return Finding.of(category, check=f"envcheck.{check}", severity=severity,
                      message=message, evidence=evidence, remedy=remedy, stage=stage)


def pooled_rewards(episodes: Iterable[EpisodeRecord]) -> np.ndarray:
    """All per-step rewards of the episodes, shape ``(total_steps,)``."""
    parts = [e.rewards for e in episodes]
    return np.concatenate(parts) if parts else np.zeros(0)


def box_bounds_violations(obs: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per-row flag: any dimension outside ``[low, high]``; ``obs`` is ``(n, dim)``."""
    if obs.ndim != 2 or obs.shape[1] != low.shape[0]:
        return np.zeros(obs.shape[0], dtype=bool)
    with np.errstate(invalid="ignore"):
        return cast(np.ndarray, np.any((obs < low) | (obs > high), axis=1))


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def first_divergence(a: EpisodeRecord, b: EpisodeRecord) -> dict[str, Any] | None:
    """Where two episodes that should be identical first differ, or None if they agree.

    Compares the reset observation, then step by step the observation, reward and flags,
    over the common length; a length difference alone is a divergence too.
    """
    if not _equal(a.reset_obs, b.reset_obs):
        diff = _max_diff(a.reset_obs, b.reset_obs)
        return {"where": "reset observation", "step": 0, "max_abs_diff": diff}
    n = min(a.length, b.length)
    for t in range(n):
        if not _equal(a.obs[t], b.obs[t]):
            return {
                "where": "observation",
                "step": t + 1,
                "max_abs_diff": _max_diff(a.obs[t], b.obs[t]),
            }
        if not _equal(a.rewards[t : t + 1], b.rewards[t : t + 1]):
            return {
                "where": "reward",
                "step": t + 1,
                "max_abs_diff": float(abs(a.rewards[t] - b.rewards[t])),
            }
        if a.terminated[t] != b.terminated[t] or a.truncated[t] != b.truncated[t]:
            return {"where": "done flags", "step": t + 1, "max_abs_diff": None}
    if a.length != b.length:
        return {
            "where": "episode length",
            "step": n,
            "max_abs_diff": None,
            "lengths": [a.length, b.length],
        }
    return None


def _max_diff(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.shape != b.shape:
        return None
    with np.errstate(invalid="ignore"):
        return float(np.nanmax(np.abs(a - b))) if a.size else 0.0
