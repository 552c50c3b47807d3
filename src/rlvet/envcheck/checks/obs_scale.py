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

SPREAD_RATIO_WARNING = 100.0  # healthy classic-control envs measure 5-40 (MountainCar ~40)
MAGNITUDE_WARNING = 1e4  # raw values this large saturate tanh/relu nets at initialisation
MAX_DIMS = 4096  # image observations: per-pixel scale is not the question here


def check_obs_scale(ev: ProbeEvidence) -> list[Finding]:
    """Ratio of typical magnitudes (RMS) across moving dimensions, and raw magnitude."""
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
    rms = np.sqrt(mean**2 + std**2)  # typical magnitude: an offset dimension counts too
    moving = std > 0
    evidence = {
        "mean": mean.round(6).tolist()[:64],
        "std": std.round(6).tolist()[:64],
        "constant_dims": np.flatnonzero(~moving).tolist()[:64],
    }
    magnitude = float(np.max(np.abs(obs)))
    if moving.sum() >= 2:
        ratio = float(rms[moving].max() / rms[moving].min())
        evidence["scale_ratio"] = ratio
        if ratio >= SPREAD_RATIO_WARNING:
            big = int(np.argmax(np.where(moving, rms, -1)))
            small = int(np.argmin(np.where(moving, rms, np.inf)))
            return [
                env_finding(
                    "obs_scale",
                    Category.OBS_SCALE,
                    Severity.WARNING,
                    f"observation dim {big} is {ratio:.3g}x larger than dim {small} "
                    f"(RMS {rms[big]:.3g} vs {rms[small]:.3g}): normalise before training",
                    evidence=evidence,
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
            )
        ]
    return []
