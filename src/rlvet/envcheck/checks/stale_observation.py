"""Stale observations: the observation does not respond to the action just taken.

A caching layer that returns the previous frame, a sensor refreshed every k steps, or an
observation frozen after a crash all look like valid observations. The decisive test is a
counterfactual: from one saved state, step with several distinct actions; in a healthy env
at least two of them lead to different next observations. Exact repeats of continuous
observations between consecutive steps are reported as supporting evidence.
"""

from __future__ import annotations

import numpy as np

from rlvet.envcheck.checks.common import env_finding
from rlvet.envcheck.records import ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_stale_observation"]

INSENSITIVE_SHARE_ERROR = 0.15  # healthy envs: 0 of 24 points; a k-step cache: 1-1/k of them
MIN_INSENSITIVE_POINTS = 3  # one wall-bump is not a pattern
REPEAT_SHARE_WARNING = 0.2  # continuous observations repeating exactly this often are frozen


def _repeat_share(ev: ProbeEvidence) -> tuple[float, int]:
    """Share of non-terminal steps whose continuous observation equals the previous one."""
    repeats = total = 0
    for e in ev.random_a:
        if e.length < 2 or e.obs.ndim != 2:
            continue
        rows = (
            np.vstack([e.reset_obs[None, :], e.obs])
            if e.reset_obs.shape[0] == e.obs.shape[1]
            else e.obs
        )
        same = np.all(rows[1:] == rows[:-1], axis=1)
        live = ~(e.terminated | e.truncated)[-same.shape[0] :]
        repeats += int(np.sum(same & live))
        total += int(np.sum(live))
    return (repeats / total if total else 0.0), total


def check_stale_observation(ev: ProbeEvidence) -> list[Finding]:
    """Counterfactual action sensitivity, plus exact-repeat share for continuous observations."""
    points = [b for b in ev.branches if b.n_actions >= 2]
    insensitive = [b for b in points if b.distinct_next_obs == 1]
    share = len(insensitive) / len(points) if points else 0.0
    repeat_share, live_steps = _repeat_share(ev) if ev.api.obs_kind == "box" else (0.0, 0)
    evidence = {
        "branch_points": len(points),
        "insensitive_points": len(insensitive),
        "insensitive_share": round(share, 3),
        "exact_repeat_share": round(repeat_share, 3),
        "live_steps": live_steps,
    }
    if len(insensitive) >= MIN_INSENSITIVE_POINTS and share >= INSENSITIVE_SHARE_ERROR:
        return [
            env_finding(
                "stale_observation",
                Category.STALE_OBSERVATION,
                Severity.ERROR,
                f"at {len(insensitive)} of {len(points)} saved states every one of "
                f"{insensitive[0].n_actions} different actions produced the same next observation: "
                "the observation does not reflect the step just taken (stale cache or lag)",
                evidence=evidence,
            )
        ]
    if repeat_share >= REPEAT_SHARE_WARNING:
        return [
            env_finding(
                "stale_observation",
                Category.STALE_OBSERVATION,
                Severity.WARNING,
                f"{repeat_share:.0%} of live steps returned exactly the previous continuous "
                "observation: the observation may be frozen or refreshed less often than steps",
                evidence=evidence,
            )
        ]
    return []
