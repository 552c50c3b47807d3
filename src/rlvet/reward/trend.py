"""Robust trends over training steps: is a per-step aggregate going up, down, or nowhere?

Contents:
    MIN_STEPS -- fewer distinct steps show no trend.
    REWARD_EFFECT, QUALITY_EFFECT, QUALITY_UP_P -- when a rise is "material".
    SampleTrend -- a ``rlvet.stats.Trend`` of one column's per-step means, with the
        significance of every sample and early/late levels.
    trend(table, name) -- the SampleTrend of a column, or None with too few steps.
    reward_up(t), quality_direction(t) -- the verdicts the hacking triad is built from.

Why ranks and Theil-Sen: per-step means of LLM samples are noisy and a single odd batch
(a long-prompt batch, a restart) must not make or break a trend. Spearman's rho over the
per-step means asks for a monotone tendency; Kendall's tau-b of every sample against its
step gives the significance test its power (a run of 6 steps x 16 samples has 96
observations, not 6); Theil-Sen's median slope ignores outlier steps (Sen 1968). Levels
are compared on the first and last third of the steps, so "late vs early" is an average
over many samples, not two noisy points.

The tests are asymmetric on purpose: a side metric must *clearly* rise to be blamed,
while the true objective gets the benefit of the doubt (``QUALITY_UP_P``), because calling
a healthy run "hacked" costs more than missing a weak case.

The trend itself (Spearman rho and Theil-Sen slope of the per-step means) is
``rlvet.stats.trend``, the one the doctor reads training curves with; only the p-value and
the bar differ (``stats.SAMPLE_TREND_RHO`` here, ``stats.CURVE_TREND_RHO`` for the doctor's
10-20 evaluation points), because the input differs: many noisy samples per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import kendalltau

from rlvet import stats
from rlvet.reward.table import SampleTable

__all__ = [
    "MIN_STEPS",
    "QUALITY_EFFECT",
    "QUALITY_UP_P",
    "REWARD_EFFECT",
    "SampleTrend",
    "quality_direction",
    "reward_up",
    "trend",
]

MIN_STEPS = 4  # fewer distinct steps cannot show a trend, only a difference
REWARD_EFFECT = 0.3  # reward gain of 0.3 sample-sd: the optimiser is visibly getting paid
QUALITY_EFFECT = 0.2  # quality change of 0.2 sample-sd: binary correctness moving ~10 points
QUALITY_UP_P = 0.1  # the objective counts as improving at 10% (one-sided 5%): benefit of doubt


@dataclass(frozen=True, slots=True)
class SampleTrend(stats.Trend):
    """How one column moved over the run: a ``stats.Trend`` of its per-step means.

    Attributes:
        rho: Spearman rho of the per-step means against the step.
        p_value: two-sided p-value of Kendall's tau-b of every sample against its step.
        slope: Theil-Sen slope of the per-step means, per step.
        name: the column.
        n_steps: distinct steps with a value.
        early: mean over the samples of the first third of the steps.
        late: mean over the samples of the last third of the steps.
        scale: standard deviation of all sample values (the unit of ``effect``).
    """

    name: str
    n_steps: int
    early: float
    late: float
    scale: float

    @property
    def change(self) -> float:
        """``late - early`` in the column's own unit."""
        return self.late - self.early

    @property
    def effect(self) -> float:
        """``late - early`` in sample standard deviations (0 for a constant column)."""
        return self.change / self.scale if self.scale > 0 else 0.0

    @property
    def ratio(self) -> float:
        """``late / early`` (inf when the column started at 0 and grew)."""
        if self.early > 0:
            return self.late / self.early
        return math.inf if self.late > 0 else 1.0

    @property
    def rising(self) -> bool:
        """A significant, monotone climb: Kendall p <= ``stats.TREND_P``, per-step rho >=
        ``stats.SAMPLE_TREND_RHO``, later levels above earlier ones."""
        return self.monotone_up(stats.SAMPLE_TREND_RHO) and self.change > 0

    @property
    def falling(self) -> bool:
        """A significant, monotone decline (the mirror of ``rising``)."""
        return self.monotone_down(stats.SAMPLE_TREND_RHO) and self.change < 0

    def to_dict(self) -> dict[str, float | int | str]:
        """Plain numbers for ``metrics`` and evidence."""
        return {"n_steps": self.n_steps, "rho": self.rho, "p_value": self.p_value,
                "slope": self.slope, "early": self.early, "late": self.late,
                "effect": self.effect}


def _windows(steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first and last third of the distinct steps (at least one step each)."""
    k = max(1, steps.size // 3)
    return steps[:k], steps[-k:]


def _p_value(sample_steps: np.ndarray, values: np.ndarray) -> float:
    """Kendall's tau-b test of values (n,) against their steps (n,); ties are common."""
    p = kendalltau(sample_steps, values).pvalue
    return float(p) if np.isfinite(p) else 1.0


def trend(table: SampleTable, name: str) -> SampleTrend | None:
    """The trend of a column over the steps where it is known.

    Returns:
        None when the column is known on fewer than ``MIN_STEPS`` distinct steps.
    """
    steps, means = table.per_step(name)
    if steps.size < MIN_STEPS:
        return None
    col = table.get(name)
    ok = np.isfinite(col)
    values, at = col[ok], table.steps[ok]
    per_step = stats.trend(steps, means)  # (0, 1, 0) for constant means
    p = 1.0 if np.ptp(means) == 0 else _p_value(at, values)
    first, last = _windows(steps)
    return SampleTrend(
        name=name,
        n_steps=int(steps.size),
        rho=per_step.rho if np.isfinite(per_step.rho) else 0.0,
        p_value=p,
        slope=per_step.slope,
        early=float(values[np.isin(at, first)].mean()),
        late=float(values[np.isin(at, last)].mean()),
        scale=float(values.std(ddof=1)) if values.size > 1 else 0.0,
    )


def reward_up(t: SampleTrend | None) -> bool:
    """The reward rose significantly and by at least ``REWARD_EFFECT`` sample-sd."""
    return t is not None and t.rising and t.effect >= REWARD_EFFECT


def quality_direction(t: SampleTrend | None) -> str:
    """``"up"``, ``"down"``, ``"flat"`` or ``"unknown"`` for the true-objective column.

    "up" needs a rise of ``QUALITY_EFFECT`` sample-sd, significant at ``QUALITY_UP_P``;
    "down" needs a significant, monotone fall of the same size; anything else is "flat",
    because a reward that buys no measurable quality is the hacking signature.
    """
    if t is None:
        return "unknown"
    if t.effect >= QUALITY_EFFECT and t.p_value <= QUALITY_UP_P:
        return "up"
    if t.falling and t.effect <= -QUALITY_EFFECT:
        return "down"
    return "flat"
