"""Observation scale: dimensions whose spreads differ by orders of magnitude.

An MLP's first layer sees every input through the same initial weights; a dimension in
millimetres next to one in radians drowns the small one until normalisation catches up
(Andrychowicz et al. 2020 find observation normalisation among the most important PPO
choices). The check reports per-dimension mean/std so they can seed normalisation stats.
"""

from __future__ import annotations

import numpy as np

from rlvet.envcheck.checks.common import env_finding
from rlvet.envcheck.records import ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_obs_scale"]

SPREAD_RATIO_WARNING = 300.0  # healthy classic-control envs stay below ~100 (MountainCar ~50)
MAGNITUDE_WARNING = 1e4  # raw values this large saturate tanh/relu nets at initialisation
MAX_DIMS = 4096  # image observations: per-pixel scale is not the question here
_REMEDY = (
    "normalise observations (gymnasium.wrappers.NormalizeObservation or VecNormalize) "
    "or rescale the offending dimensions to comparable units"
)


def check_obs_scale(ev: ProbeEvidence) -> list[Finding]:
    """Spread ratio across continuous dimensions, and raw magnitude."""
    if ev.api.obs_kind != "box":
        return []
    rows = [e.obs for e in ev.random_a if e.obs.ndim == 2 and e.obs.shape[0]]
    if not rows or len({r.shape[1] for r in rows}) != 1 or rows[0].shape[1] > MAX_DIMS:
        return []
    obs = np.vstack(rows)
    obs = obs[np.all(np.isfinite(obs), axis=1)]
    if obs.shape[0] < 10:
        return []
    std, mean = obs.std(axis=0), obs.mean(axis=0)
    moving = std > 0
    evidence = {
        "mean": mean.round(6).tolist()[:64],
        "std": std.round(6).tolist()[:64],
        "constant_dims": np.flatnonzero(~moving).tolist()[:64],
    }
    magnitude = float(np.max(np.abs(obs)))
    if moving.sum() >= 2:
        ratio = float(std[moving].max() / std[moving].min())
        evidence["spread_ratio"] = ratio
        if ratio >= SPREAD_RATIO_WARNING:
            big, small = (
                int(np.argmax(np.where(moving, std, -1))),
                int(np.argmin(np.where(moving, std, np.inf))),
            )
            return [
                env_finding(
                    "obs_scale",
                    Category.OBS_SCALE,
                    Severity.WARNING,
                    f"observation dim {big} spreads {ratio:.3g}x more than dim {small} "
                    f"(std {std[big]:.3g} vs {std[small]:.3g}): normalise before training",
                    evidence=evidence,
                    remedy=_REMEDY,
                )
            ]
    if magnitude >= MAGNITUDE_WARNING:
        return [
            env_finding(
                "obs_scale",
                Category.OBS_SCALE,
                Severity.WARNING,
                f"observations reach magnitude {magnitude:.3g}: unnormalised inputs this large "
                "saturate a network at initialisation",
                evidence=evidence,
                remedy=_REMEDY,
            )
        ]
    return []
