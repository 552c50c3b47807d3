"""What every reward detector reads: the samples' columns, the baselines, the key trends.

Contents:
    AuditContext -- the frozen inputs of one audit (built once, shared by all detectors).
    build_context(samples, baseline) -- columns, baselines, reward and quality trends.
    make_finding(...) -- a reward-stage Finding with its check name and remedy filled
        (stage and remedy from ``rlvet.findings.CATEGORIES``).
    onset_step(table, name, level, rising) -- first step a per-step mean crossed a level.

The "true objective" is ``eval_score`` when it is logged on enough steps to show a trend,
else ``human_score``: the reward is the proxy, the reference is what the proxy stands for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlvet.findings import Category, Finding, Severity
from rlvet.reward.samples import Sample
from rlvet.reward.table import EVAL, HUMAN, REWARD, SampleTable, baseline_table, build_table
from rlvet.reward.trend import SampleTrend, quality_direction, reward_up, trend

__all__ = [
    "AuditContext",
    "build_context",
    "make_finding",
    "onset_step",
]


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Inputs of one reward audit.

    Attributes:
        table: the run's samples as columns.
        baseline: a baseline run's samples (``--baseline``), or None.
        inline_baseline: side metrics of the ``baseline_response`` fields, or None.
        reward: the reward's trend over steps (None with too few steps).
        quality_name: the true-objective column (``eval_score`` / ``human_score``) or None.
        quality: its trend (None when unknown).
    """

    table: SampleTable
    baseline: SampleTable | None
    inline_baseline: SampleTable | None
    reward: SampleTrend | None
    quality_name: str | None
    quality: SampleTrend | None

    @property
    def reward_up(self) -> bool:
        """The reward rose materially over the run."""
        return reward_up(self.reward)

    @property
    def quality_direction(self) -> str:
        """``"up"``, ``"flat"``, ``"down"`` or ``"unknown"``."""
        return quality_direction(self.quality)

    @property
    def first_step(self) -> int:
        """The first step sampled: where a static property of the reward starts to matter."""
        return int(self.table.steps.min())

    def trend(self, name: str) -> SampleTrend | None:
        """The trend of any column (computed on demand: detectors ask for few)."""
        return trend(self.table, name)

    def baseline_level(self, name: str) -> float | None:
        """Mean of a column over the baseline run, else over the inline baseline responses."""
        for table in (self.baseline, self.inline_baseline):
            if table is not None and table.has(name):
                col = table.get(name)
                return float(np.nanmean(col))
        return None

    def late_level(self, name: str) -> float | None:
        """Mean of a column over the last third of the steps (the latest step for short
        runs); None when the column is unknown."""
        steps, _ = self.table.per_step(name)
        if steps.size == 0:
            return None
        late = steps[-max(1, steps.size // 3):]
        col = self.table.get(name)
        keep = np.isin(self.table.steps, late) & np.isfinite(col)
        return float(col[keep].mean())


def _quality(table: SampleTable) -> tuple[str | None, SampleTrend | None]:
    for name in (EVAL, HUMAN):
        t = trend(table, name)
        if t is not None:
            return name, t
    for name in (EVAL, HUMAN):  # known, but on too few steps for a trend
        if table.has(name):
            return name, None
    return None, None


def build_context(samples: Sequence[Sample], baseline: Sequence[Sample] | None = None
                  ) -> AuditContext:
    """Columns, baselines and the reward and quality trends of one run."""
    table = build_table(samples)
    quality_name, quality = _quality(table)
    return AuditContext(
        table=table,
        baseline=build_table(baseline) if baseline else None,
        inline_baseline=baseline_table(samples),
        reward=trend(table, REWARD),
        quality_name=quality_name,
        quality=quality,
    )


def make_finding(check: str, category: Category, severity: Severity, message: str,
                 evidence: Mapping[str, Any], step: int | None) -> Finding:
    """A reward-stage finding; ``check`` is prefixed with ``reward.``."""
    return Finding.of(category, check=f"reward.{check}", severity=severity, message=message,
                      evidence=evidence, step=step)


def onset_step(table: SampleTable, name: str, level: float, *, rising: bool = True) -> int:
    """First step whose per-step mean crossed ``level`` and held it at the next step too.

    Why "and the next": one noisy batch crossing half-way is not an onset. Falls back to
    the first crossing, then to the first step.
    """
    steps, means = table.per_step(name)
    if steps.size == 0:
        return int(table.steps.min())
    past = means >= level if rising else means <= level
    held = past[:-1] & past[1:]
    if held.any():
        return int(steps[int(np.argmax(held))])
    if past.any():
        return int(steps[int(np.argmax(past))])
    return int(steps[0])
