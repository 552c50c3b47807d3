"""Sample-level agreement between two columns, with the training trend taken out.

Contents:
    MIN_PAIRS -- samples needed before a rank correlation is reported.
    Association -- a rank correlation, its p-value and how it was computed.
    within_step_rank_corr(table, x, y) -- Spearman's rho computed within each step, pooled.
    pooled_rank_corr(table, x, y) -- plain Spearman's rho over all samples.
    varies_within_steps(table, name) -- whether a column scores samples, not checkpoints.

Why within steps: over a run, reward and eval both move with the policy, so a pooled
correlation mixes "the reward ranks samples like the eval does" with "both went up".
Ranking inside each step (the samples one policy produced) and pooling the centred ranks
keeps only the first, which is what GRPO's group-relative advantages use. When a step has
too few samples to rank, the samples are pooled instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from rlvet.reward.table import SampleTable

__all__ = ["MIN_PAIRS", "MIN_STRATUM", "VARYING_STEPS", "Association", "pooled_rank_corr",
           "varies_within_steps", "within_step_rank_corr"]

MIN_PAIRS = 30  # a rank correlation from fewer than 30 pairs has a CI wider than +-0.35
MIN_STRATUM = 3  # a step needs 3 scored samples to rank them
VARYING_STEPS = 0.5  # a score that differs within under half the steps scores checkpoints


@dataclass(frozen=True, slots=True)
class Association:
    """Rank agreement of two columns.

    Attributes:
        rho: Spearman-type rank correlation in [-1, 1].
        p_value: two-sided p-value of rho = 0.
        n: pairs used.
        method: ``"within_step"`` or ``"pooled"``.
    """

    rho: float
    p_value: float
    n: int
    method: str

    def to_dict(self) -> dict[str, float | int | str]:
        """Plain numbers for evidence."""
        return {"rho": self.rho, "p_value": self.p_value, "n": self.n, "method": self.method}


def _centred_ranks(steps: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[
    np.ndarray, np.ndarray
]:
    """Within-step ranks of x and y, centred and scaled to [-0.5, 0.5] per step."""
    rx: list[np.ndarray] = []
    ry: list[np.ndarray] = []
    for s in np.unique(steps):
        m = steps == s
        xs, ys = x[m], y[m]
        if xs.size < MIN_STRATUM or np.ptp(xs) == 0 or np.ptp(ys) == 0:
            continue
        for vals, out in ((xs, rx), (ys, ry)):
            r = stats.rankdata(vals)
            out.append((r - r.mean()) / vals.size)
    if not rx:
        return np.empty(0), np.empty(0)
    return np.concatenate(rx), np.concatenate(ry)


def varies_within_steps(table: SampleTable, name: str) -> bool:
    """True when the column differs between samples of one step on ``VARYING_STEPS`` of
    the steps with 2+ known values (or no step has 2): it scores samples.

    An eval accuracy logged per checkpoint and copied onto each of its samples does not:
    a sample-level correlation with it measures only the shared trend.
    """
    col = table.get(name)
    ok = np.isfinite(col)
    steps, inverse, counts = np.unique(table.steps[ok], return_inverse=True, return_counts=True)
    multi = counts >= 2
    if not multi.any():
        return True
    lo = np.full(steps.size, np.inf)
    hi = np.full(steps.size, -np.inf)
    np.minimum.at(lo, inverse, col[ok])
    np.maximum.at(hi, inverse, col[ok])
    return bool(np.mean(hi[multi] > lo[multi]) >= VARYING_STEPS)


def within_step_rank_corr(table: SampleTable, x: str, y: str) -> Association | None:
    """Rank correlation of columns x and y over samples where both are known.

    Returns:
        None with fewer than ``MIN_PAIRS`` usable pairs or a constant column.
    """
    a, b = table.get(x), table.get(y)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < MIN_PAIRS or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return None
    rx, ry = _centred_ranks(table.steps[ok], a[ok], b[ok])
    if rx.size >= MIN_PAIRS and np.ptp(rx) > 0 and np.ptp(ry) > 0:
        res = stats.pearsonr(rx, ry)
        return Association(float(res.statistic), float(res.pvalue), int(rx.size),
                           "within_step")
    return pooled_rank_corr(table, x, y)


def pooled_rank_corr(table: SampleTable, x: str, y: str) -> Association | None:
    """Spearman's rho of columns x and y over all samples where both are known (trend
    included); None with fewer than ``MIN_PAIRS`` pairs or a constant column."""
    a, b = table.get(x), table.get(y)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < MIN_PAIRS or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return None
    res = stats.spearmanr(a[ok], b[ok])
    if not np.isfinite(res.statistic):
        return None
    return Association(float(res.statistic), float(res.pvalue), int(ok.sum()), "pooled")
