"""The freshness link: is the learner training on data from the policy it is updating?

Contents:
    detect_stale_data(run, ctx) -- policy lag (versions between the behaviour policy and
        the learner) above a bound for several updates, or growing without bound.

Why: on-policy losses (PPO, A2C, GRPO) assume the data came from the current policy, up to
the few versions an epoch loop introduces. Stale samples bias the gradient; importance
ratios drift from 1 and clipping or V-trace truncation discards their signal (Espeholt et
al. 2018). Sample Factory reads lag below 20-30 SGD steps as fine; rlvet's own lag counts
*policy versions* (one per update), where synchronous PPO has 0 and a healthy async
pipeline 1-2. A lag that keeps growing means actors outrun the learner: a queue without a
bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rlvet.doctor import onset
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = ["LAG_BOUND", "LAG_GROWTH", "LAG_TREND_RHO", "detect_stale_data"]

LAG_BOUND = 2.0  # policy versions: one for the rollout in flight and one for the epoch loop
# is what a healthy on-policy pipeline shows; more is data from an older policy
LAG_TREND_RHO = 0.8  # a lag whose rank correlation with the step exceeds 0.8 rises steadily
LAG_GROWTH = 2.0  # and has at least doubled from its early level: a queue with no bound


def detect_stale_data(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Median policy lag above ``LAG_BOUND`` for several updates, or steadily growing."""
    steps, lag = onset.finite(run.get(names.POLICY_LAG))
    if lag.size < onset.PERSIST_WINDOW:
        return []
    level = onset.rolling_median(lag)
    base = onset.early_baseline(lag)
    tr = onset.trend(steps, lag)
    late = float(np.median(lag[-onset.baseline_size(lag.size):]))
    growing = (tr.rho > LAG_TREND_RHO and late > LAG_BOUND / 2
               and late >= LAG_GROWTH * max(base.median, 0.5))
    i = onset.persistent_onset(level > LAG_BOUND)
    if i is None and growing:
        i = onset.change_point(lag)
    if i is None:
        return []
    label = run.raw_names.get(names.POLICY_LAG, names.POLICY_LAG)
    evidence = {
        "onset_step": int(steps[i]), "value_at_onset": float(lag[i]),
        "peak": float(np.max(lag)), "late_median": late, "bound": LAG_BOUND,
        "trend_rho": tr.rho, "slope_per_step": tr.slope, "growing": growing,
        **base.to_evidence(),
    }
    shape = "and still growing" if growing else f"(late median {late:.3g})"
    message = (
        f"{label} reached {lag[i]:.3g} policy versions at step {steps[i]} {shape}, above the "
        f"bound {LAG_BOUND}: the learner trains on data from older policies, most likely "
        f"actors outrunning the learner or a replay/queue that is too long"
    )
    return [prescribe(Category.STALE_DATA, severity=Severity.ERROR, message=message,
                      evidence=evidence, step=int(steps[i]))]
