"""The freshness link: is the learner training on data from the policy it is updating?

Contents:
    detect_stale_data(run, ctx) -- policy lag (versions between the behaviour policy and
        the learner) above a bound for several updates, or growing without bound.
    LagCounts, stale_rollouts(ledger, ...) -- the reference trainer's ``stale_data``:
        rollouts it received older than its ``max_lag``, counted (``rlvet.pipeline``'s
        ``LagLedger`` is a LagCounts).

Why: on-policy losses (PPO, A2C, GRPO) assume the data came from the current policy, up to
the few versions an epoch loop introduces. Stale samples bias the gradient; importance
ratios drift from 1 and clipping or V-trace truncation discards their signal (Espeholt et
al. 2018). Sample Factory reads lag below 20-30 SGD steps as fine; rlvet's own lag counts
*policy versions* (one per update), where synchronous PPO has 0 and a healthy async
pipeline 1-2. A lag that keeps growing means actors outrun the learner: a queue without a
bound. Both judgements live here: the doctor reads a logged ``policy_lag`` series, the
trainer counts what its admission rule did with each rollout; same category, same cause.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rlvet import stats
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = ["LAG_BOUND", "LAG_GROWTH", "LAG_TREND_RHO", "STALE_DROP_WARN", "LagCounts",
           "detect_stale_data", "stale_rollouts"]

LAG_BOUND = 2.0  # policy versions: one for the rollout in flight and one for the epoch loop
# is what a healthy on-policy pipeline shows; more is data from an older policy
LAG_TREND_RHO = 0.8  # a lag whose rank correlation with the step exceeds 0.8 rises steadily
LAG_GROWTH = 2.0  # and has at least doubled from its early level: a queue with no bound
STALE_DROP_WARN = 0.1  # over 10% of rollouts discarded as stale: actors outrun the learner
# and a tenth of the collection budget is wasted


def detect_stale_data(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Median policy lag above ``LAG_BOUND`` for several updates, or steadily growing."""
    steps, lag = stats.finite(run.get(names.POLICY_LAG))
    if lag.size < stats.PERSIST_WINDOW:
        return []
    level = stats.rolling_median(lag)
    base = stats.early_baseline(lag)
    tr = stats.trend(steps, lag)
    late = float(np.median(lag[-stats.baseline_size(lag.size):]))
    growing = (tr.rho > LAG_TREND_RHO and late > LAG_BOUND / 2
               and late >= LAG_GROWTH * max(base.median, 0.5))
    i = stats.persistent_onset(level > LAG_BOUND)
    if i is None and growing:
        i = stats.change_point(lag)
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


class LagCounts(Protocol):
    """What a trainer counted about the age of the rollouts it received."""

    received: int  # rollouts received
    dropped_stale: int  # older than max_lag and discarded (``drop`` mode)
    corrected: int  # older than max_lag and kept with V-trace targets (``correct`` mode)

    def summary(self) -> dict[str, Any]:
        """Counts and the lag histogram, with ``lag_mean`` and ``lag_max`` among those used."""
        ...


def stale_rollouts(ledger: LagCounts, *, max_lag: int, mode: str, step: int
                   ) -> list[Finding]:
    """``stale_data``: how many rollouts were older than ``max_lag`` and what became of them.

    A warning above ``STALE_DROP_WARN`` of received rollouts, info below (the count is
    reported, never silent).
    """
    stale = ledger.dropped_stale + ledger.corrected
    if stale == 0 or ledger.received == 0:
        return []
    share = stale / ledger.received
    fate = "dropped" if mode == "drop" else "corrected with V-trace"
    message = (
        f"{stale} of {ledger.received} rollouts ({share:.0%}) were more than {max_lag} "
        f"policy versions old and were {fate}; lag mean {ledger.summary()['lag_mean']:.2f}, "
        f"max {ledger.summary()['lag_max']} among rollouts used")
    return [Finding.of(
        check="pipeline.learner.stale_data", category=Category.STALE_DATA,
        severity=Severity.WARNING if share > STALE_DROP_WARN else Severity.INFO,
        message=message, evidence={**ledger.summary(), "stale_share": share,
                                   "max_lag": max_lag, "mode": mode},
        step=step,
        remedy=("lower --actor-inflight or --actors, make updates cheaper (fewer epochs), "
                "or raise --max-lag if the behaviour-vs-current KL stays small"))]
