"""A side metric's drift -- over the run and against a baseline -- and what it means.

Contents:
    TRACK_RHO -- within-step agreement at which the reward "pays for" a side metric.
    Drift -- one side metric: its trend, its late level and its baseline level.
    side_drift(ctx, name) -- the Drift of a column.
    reward_up_overall(ctx) -- the reward rose over the run (or above the baseline run).
    tracks_reward(ctx, name) -- does the reward rise with the side metric?
    quality_status(ctx) -- the true objective over the run (or against the baseline).
    hack_severity(ctx, tracks) -- the severity of a drift, from the hacking triad.

The hacking triad: the reward goes up, a side metric drifts, and the true objective
(eval or human score) stays flat or goes down. All three together are an error: the
policy is being paid for the side metric. A drift the reward pays for, with no true
objective logged to judge it, is a warning. When the true objective rises with the drift
(longer reasoning that is also more correct), nothing is reported: that is learning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from rlvet.findings import Severity
from rlvet.reward.association import within_step_rank_corr
from rlvet.reward.context import AuditContext
from rlvet.reward.table import REWARD
from rlvet.reward.trend import QUALITY_EFFECT, QUALITY_UP_P, REWARD_EFFECT, SampleTrend
from rlvet.stats import TREND_P

__all__ = ["TRACK_RHO", "Drift", "hack_severity", "quality_status", "reward_up_overall",
           "side_drift", "tracks_reward"]

TRACK_RHO = 0.3  # within-step rank agreement of reward and side metric: the reward pays it


@dataclass(frozen=True, slots=True)
class Drift:
    """How a side metric moved.

    Attributes:
        name: the column.
        trend: its trend over the run (None with too few steps).
        late: its mean over the last third of the steps.
        baseline: its mean over the baseline (file or ``baseline_response``), or None.
    """

    name: str
    trend: SampleTrend | None
    late: float | None
    baseline: float | None

    @property
    def known(self) -> bool:
        """The column was logged."""
        return self.late is not None

    def evidence(self) -> dict[str, object]:
        """Plain numbers for a finding."""
        out: dict[str, object] = {"metric": self.name, "late": self.late,
                                  "baseline": self.baseline}
        if self.trend is not None:
            out["trend"] = self.trend.to_dict()
        return out


def side_drift(ctx: AuditContext, name: str) -> Drift:
    """The drift of one column over the run and against the baseline."""
    return Drift(name=name, trend=ctx.trend(name), late=ctx.late_level(name),
                 baseline=ctx.baseline_level(name))


def _vs_baseline(ctx: AuditContext, name: str) -> tuple[float, float, float] | None:
    """``(effect, p_greater, p_less)`` of the run's late samples against the baseline run:
    effect in pooled sd, p-values of one-sided Mann-Whitney tests; None without both."""
    if ctx.baseline is None or not ctx.baseline.has(name) or ctx.late_level(name) is None:
        return None
    base = ctx.baseline.get(name)
    base = base[np.isfinite(base)]
    steps, _ = ctx.table.per_step(name)
    col = ctx.table.get(name)
    late = col[np.isin(ctx.table.steps, steps[-max(1, steps.size // 3):]) & np.isfinite(col)]
    sd = float(np.concatenate([base, late]).std(ddof=1))
    if sd == 0 or base.size < 2 or late.size < 2:
        return 0.0, 1.0, 1.0
    greater = float(stats.mannwhitneyu(late, base, alternative="greater").pvalue)
    less = float(stats.mannwhitneyu(late, base, alternative="less").pvalue)
    return (float(late.mean() - base.mean()) / sd, greater, less)


def reward_up_overall(ctx: AuditContext) -> bool:
    """The reward rose over the run, or (short runs) stands above the baseline run's."""
    if ctx.reward_up:
        return True
    vs = _vs_baseline(ctx, REWARD)
    return ctx.reward is None and vs is not None and vs[0] >= REWARD_EFFECT and vs[1] <= TREND_P


def tracks_reward(ctx: AuditContext, name: str) -> tuple[bool, float | None]:
    """``(tracks, rho)``: the reward rose (over the run or above the baseline), or ranks
    samples like the side metric within a step (rho >= ``TRACK_RHO``)."""
    assoc = within_step_rank_corr(ctx.table, REWARD, name)
    rho = None if assoc is None else assoc.rho
    return reward_up_overall(ctx) or (rho is not None and rho >= TRACK_RHO), rho


def _quality_vs_baseline(ctx: AuditContext) -> str:
    """The trend rule of ``quality_direction`` applied to late samples vs the baseline."""
    vs = None if ctx.quality_name is None else _vs_baseline(ctx, ctx.quality_name)
    if vs is None:
        return "unknown"
    effect, greater, less = vs
    if effect >= QUALITY_EFFECT and greater <= QUALITY_UP_P / 2:  # one-sided
        return "up"
    return "down" if effect <= -QUALITY_EFFECT and less <= TREND_P / 2 else "flat"


def quality_status(ctx: AuditContext) -> str:
    """The true objective's direction over the run, else against the baseline run."""
    direction = ctx.quality_direction
    return direction if direction != "unknown" else _quality_vs_baseline(ctx)


def hack_severity(ctx: AuditContext, tracks: bool, quality: str | None = None
                  ) -> Severity | None:
    """Error for the full triad, warning with the true objective unknown, None when the
    reward does not pay for the drift (not hacking: nothing is being optimised into it) or
    when the true objective rose (the drift bought real quality).

    Args:
        ctx: the audit.
        tracks: the reward rises with the side metric (``tracks_reward``).
        quality: the objective's direction when it is not ``quality_status(ctx)`` (tool
            use is judged by task success).
    """
    quality = quality or quality_status(ctx)
    if quality == "up" or not tracks:
        return None
    return Severity.WARNING if quality == "unknown" else Severity.ERROR
