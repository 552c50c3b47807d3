"""The freshness link: is the learner training on data from the policy it is updating?

Contents:
    detect_stale_data(run, ctx) -- policy lag (versions between the behaviour policy and
        the learner) above a bound for several updates, or growing without bound; on a
        group-relative (GRPO) run that logs no lag, a clip ratio held above 0: its rollouts
        are reused for several updates (``reused_rollouts``).
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

TRL's GRPO logs no policy lag, but its clip ratio is a lag gauge: with one update per
generation batch the old log-probs *are* the current ones (TRL detaches them), the ratio is
exactly 1 and ``clip_ratio/region_mean`` exactly 0; only a batch reused for more updates
(``num_iterations`` > 1, or ``steps_per_generation`` above the accumulation steps) is scored
by a policy that has moved since it sampled, and only then can a token leave the trust
region (Shao et al. 2024, GRPO's "mu" iterations; Schulman et al. 2017 on the clip).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rlvet import stats
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = ["LAG_BOUND", "LAG_GROWTH", "LAG_TREND_RHO", "REUSE_CLIP", "STALE_DROP_WARN",
           "LagCounts", "detect_stale_data", "reused_rollouts", "stale_rollouts"]

LAG_BOUND = 2.0  # policy versions: one for the rollout in flight and one for the epoch loop
# is what a healthy on-policy pipeline shows; more is data from an older policy
LAG_TREND_RHO = 0.8  # a lag whose rank correlation with the step exceeds 0.8 rises steadily
LAG_GROWTH = 2.0  # and has at least doubled from its early level: a queue with no bound
STALE_DROP_WARN = 0.1  # over 10% of rollouts discarded as stale: actors outrun the learner
# and a tenth of the collection budget is wasted
REUSE_CLIP = 0.01  # a GRPO clip ratio whose running median holds above 1% of the tokens: the
# LLM corpus's 31 on-policy TRL runs (num_iterations 1) log exactly 0 on all 1,540 steps; its
# 7 tuning/held-out runs with num_iterations 4 hold a running median of 0.045-0.14 (every
# 4th step, a fresh batch's first update, is 0 again)


def detect_stale_data(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Median policy lag above ``LAG_BOUND`` for several updates, or steadily growing; on a
    GRPO run that logs no lag, rollouts reused for several updates (``reused_rollouts``)."""
    steps, lag = stats.finite(run.get(names.POLICY_LAG))
    if lag.size < stats.PERSIST_WINDOW:
        reused = reused_rollouts(run) if lag.size == 0 else None
        return [] if reused is None else [reused]
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


def reused_rollouts(run: RunSignals) -> Finding | None:
    """A group-relative run's clip ratio whose running median holds above ``REUSE_CLIP``
    from onset to the end: each generation batch trains several updates (an error).

    Only on runs that log the share of zero-spread groups (``frac_reward_zero_std``: GRPO
    and kin, whose clip ratio is exactly 0 on-policy); a PPO run clips by design in its
    epoch loop, and classic runs never log the share. Dated at the first batch that was
    reused.
    """
    if run.get(names.ZERO_STD_FRACTION) is None:
        return None
    steps, clip = stats.finite(run.get(names.CLIP_FRACTION))
    if clip.size < stats.PERSIST_WINDOW:
        return None
    level = stats.rolling_median(clip)
    i = stats.persistent_onset(level > REUSE_CLIP)
    if i is None or float(np.median(level[i:])) <= REUSE_CLIP:
        return None
    nonzero = float(np.mean(clip[i:] > 0))
    label = run.raw_names.get(names.CLIP_FRACTION, names.CLIP_FRACTION)
    evidence = {"onset_step": int(steps[i]), "clip_median_after": float(np.median(clip[i:])),
                "clip_level_median_after": float(np.median(level[i:])),
                "clip_peak": float(np.max(clip)), "nonzero_share_after": nonzero,
                "bound": REUSE_CLIP, "signal": label}
    message = (
        f"{label} held a running median of {np.median(level[i:]):.2g} from step {steps[i]} "
        f"(above 0 on {nonzero:.0%} of the steps; exactly 0 when every batch is trained "
        f"once): the learner reuses each batch of completions for several updates, so most "
        f"updates train on samples from an older policy and the clip discards their signal"
    )
    finding = prescribe(Category.STALE_DATA, severity=Severity.ERROR, message=message,
                        evidence=evidence, step=int(steps[i]))
    return dataclasses.replace(finding, remedy=(
        "train each generation batch once (num_iterations 1, steps_per_generation equal to "
        "the gradient accumulation steps); if reuse is wanted for throughput, lower the "
        "learning rate until the clip ratio stays near 0"))


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
