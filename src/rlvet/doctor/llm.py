"""LLM post-training pathologies read from the logs of GRPO / RLOO / PPO-on-text runs.

Contents:
    zero_std_finding(run) -- GRPO groups whose rewards do not differ (``frac_reward_zero_std``
        persistently high): ``no_learning_signal``, with the wasted share and, where logged,
        the all-failed / all-solved split (the one home of this concept; ``reward.py``
        imports it).
    detect_wasted_compute(run, ctx) -- a steady share of zero-variance groups below the
        no-signal level: rollout compute that taught nothing.
    detect_truncation(run, ctx) -- completions cut at the length cap, high and rising (or the
        longest completion pinned at the cap while the mean climbs towards it).
    detect_train_inference_mismatch(run, ctx) -- the sampler's and the trainer's log-probs of
        the same tokens drift apart while the PPO clip sees nothing.
    detect_reference_drift(run, ctx) -- the KL to the reference model still climbing at the
        end of the run, far above a typical KL budget.
    detect_length_grad_spike(run, ctx) -- gradient-norm spikes on the steps where the
        response length surges.

Every detector reads only LLM signals (names.RESPONSE_LENGTH, TRUNCATED_FRACTION,
MISMATCH_KL, LOGPROB_DIFF, KL_REF, ZERO_STD_FRACTION); a run without them (every classic
control run) gets no finding, and ``evidence.coverage`` lists the detector as not run.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import spearmanr

from rlvet import stats
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = [
    "CLIP_QUIET",
    "GRAD_SPIKE",
    "KL_REF_BUDGET",
    "KL_REF_STILL_RISING",
    "LENGTH_SURGE",
    "MISMATCH_ABSOLUTE",
    "MISMATCH_GROWTH",
    "MISMATCH_LEVEL",
    "TRUNCATION_ERROR",
    "TRUNCATION_LEVEL",
    "TRUNCATION_RISE",
    "WASTED_SHARE",
    "ZERO_STD_ERROR",
    "ZERO_STD_WARNING",
    "detect_length_grad_spike",
    "detect_reference_drift",
    "detect_train_inference_mismatch",
    "detect_truncation",
    "detect_wasted_compute",
    "zero_std_finding",
]

MIN_POINTS = 8  # logged steps before a trend over the run means anything
ZERO_STD_ERROR = 0.9  # 90% of groups with identical rewards: ~all advantages are 0
ZERO_STD_WARNING = 0.5  # half of the batch carries no gradient ...
# ... and it must hold: the median share from onset to the end at ZERO_STD_WARNING or more.
# A binary reward a random policy meets with p ~ 1/9 leaves (8/9)^4 ~ 62% of 4-sample groups
# all-failed at step 0; a run that learns leaves that cold start (LLM corpus, tuning half:
# healthy and format-only runs start at 50-75% and hold a median of 25% after)
WASTED_SHARE = 0.2  # a fifth of the rollouts taught nothing, all run long: dynamic sampling
# (DAPO, Yu et al. 2025) would have spent that compute on groups with a signal; the
# committed TRL run partly_flat measures 0.38, sane (which learns) 0.05 after its first 15 steps
TRUNCATION_LEVEL = 0.2  # a fifth of the completions cut at the cap: their reward scores an
# unfinished answer (DAPO's overlong filtering / soft overlong punishment address exactly this)
TRUNCATION_RISE = 0.15  # ... and that share rose by 15 points over the run's own start: the
# policy grew into the cap (TRL length_paid: 0.00 -> 0.56; sane stays at 0.00-0.06 median)
TRUNCATION_ERROR = 0.5  # half the completions cut for the rest of the run
PIN_SHARE = 0.8  # longest completion at the cap on 80% of the steps after onset ...
PIN_MEAN = 0.6  # ... and the mean completion at 60% of the cap: most answers are near it
MISMATCH_LEVEL = 5e-3  # nats/token of KL(sampler || trainer): a bf16 sampler scoring the same
# weights measures ~1e-4 (committed openrlhf_aligned run); Liu, Li et al. 2025 ("When Speed
# Kills Stability") saw the vLLM-FSDP KL climb before the gradient norm exploded
MISMATCH_GROWTH = 3.0  # and 3x the run's own early level: the gap is growing, not a constant
MISMATCH_ABSOLUTE = 0.05  # ... unless it is this large: 0.05 nats/token of |log-prob
# difference| is 500x a bf16 sampler scoring the same weights, and over a 48-token
# completion a sequence ratio of e^2.4 ~ 11, past TRL's default importance-sampling cap (3);
# a sampler at another temperature sits at 0.18-0.26 from the first step (the mismatch set:
# TRL 1.16's own metrics, a stand-in engine), never tripling its own early level
CLIP_QUIET = 0.01  # PPO clip fraction ~0: the trust region compares against the trainer's own
# log-probs and cannot see the sampler's drift
KL_REF_BUDGET = 0.1  # nats/token to the reference: Ziegler et al. 2019's adaptive controller
# targets ~6 nats per sequence, ~0.05-0.1 per token for 60-120-token answers
KL_REF_STILL_RISING = 0.2  # the last third of the run still added 20% to the KL: no plateau
KL_REF_RHO = 0.8  # Spearman rho of the KL with the step over the whole run: a steady climb
LENGTH_SURGE = 1.5  # response length 1.5x its trailing median ...
GRAD_SPIKE = 2.0  # ... on a step whose gradient norm is 2x its trailing median
SPIKE_TRAILING = 10  # points in the trailing median
MIN_COINCIDENT = 2  # at least two such steps: one is chance


def _curve(run: RunSignals, key: str) -> tuple[np.ndarray, np.ndarray]:
    return stats.finite(run.get(key))


def _label(run: RunSignals, key: str) -> str:
    return run.raw_names.get(key, key)


def _tail_median(values: np.ndarray, i: int) -> float:
    return float(np.median(values[i:]))


# ---------------------------------------------------------------------------- zero variance


def _split(run: RunSignals, steps: np.ndarray, i: int) -> dict[str, float]:
    """Median share of all-failed and all-solved groups from ``steps[i]`` on, where logged."""
    out: dict[str, float] = {}
    for key, label in ((names.ZERO_STD_FAILED, "all_failed"), (names.ZERO_STD_SOLVED,
                                                               "all_solved")):
        s_steps, share = _curve(run, key)
        after = share[s_steps >= steps[i]]
        if after.size:
            out[label] = float(np.median(after))
    return out


def _zero_std_remedy(split: dict[str, float]) -> str | None:
    """A remedy for the side the wasted groups fall on (None when the split is unknown)."""
    failed, solved = split.get("all_failed"), split.get("all_solved")
    if failed is None or solved is None:
        return None
    if failed >= solved:
        return ("most flat groups fail on every sample: the prompts are too hard for this "
                "policy; start from an easier curriculum, give partial credit, sample more "
                "completions per prompt, and filter never-solved prompts (dynamic sampling)")
    return ("most flat groups solve every sample: the prompts are too easy; drop solved "
            "prompts from the pool (dynamic sampling / online filtering) and move to harder "
            "ones")


def zero_std_finding(run: RunSignals) -> Finding | None:
    """``frac_reward_zero_std`` persistently at or above ``ZERO_STD_WARNING``.

    Why: GRPO normalises rewards within a group, so a group whose samples all got the same
    reward contributes advantages of 0: its generation was paid for and taught nothing. At
    ``ZERO_STD_ERROR`` nearly the whole batch is silent. The share must hold from onset to
    the end (median): one that is high only while a random policy rarely scores is a cold
    start, and a run that learns out of it has a signal. Evidence: the measured share, the
    wasted share of the whole run, and the all-failed / all-solved split where logged.
    """
    steps, frac = _curve(run, names.ZERO_STD_FRACTION)
    if frac.size < stats.PERSIST_TAIL:
        return None
    level = stats.rolling_median(frac)
    i = stats.persistent_onset(level >= ZERO_STD_WARNING)
    if i is None or _tail_median(frac, i) < ZERO_STD_WARNING:
        return None  # a cold start the run learned its way out of, not a lasting silence
    severe = stats.persistent_onset(level[i:] >= ZERO_STD_ERROR) is not None
    split = _split(run, steps, i)
    message = (
        f"{_label(run, names.ZERO_STD_FRACTION)} reached {level[i]:.0%} at step {steps[i]} "
        f"(median {np.median(frac[i:]):.0%} after): in most groups every completion got the "
        f"same reward, so the group-relative advantages are ~0 and the batch teaches nothing"
    )
    evidence = {"onset_step": int(steps[i]), "value_at_onset": float(level[i]),
                "median_after": _tail_median(frac, i),
                "wasted_share_of_run": float(np.mean(frac)), **split}
    finding = prescribe(Category.NO_LEARNING_SIGNAL,
                        severity=Severity.ERROR if severe else Severity.WARNING,
                        message=message, evidence=evidence, step=int(steps[i]))
    remedy = _zero_std_remedy(split)
    return finding if remedy is None else _with_remedy(finding, remedy)


def _with_remedy(finding: Finding, remedy: str) -> Finding:
    """The finding with a remedy its own evidence words (``fit_remedies`` keeps it)."""
    return dataclasses.replace(finding, remedy=remedy)


def detect_wasted_compute(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """A steady ``WASTED_SHARE`` or more of zero-variance groups (a warning).

    Below ``ZERO_STD_WARNING`` the run still learns, but every flat group's generation is
    spent for nothing. Silent when ``zero_std_finding`` fires (that is the same groups,
    reported as no learning signal). Evidence: the measured share after onset and over the
    run, and the all-failed / all-solved split where logged.
    """
    steps, frac = _curve(run, names.ZERO_STD_FRACTION)
    if frac.size < MIN_POINTS or zero_std_finding(run) is not None:
        return []
    level = stats.rolling_median(frac)
    i = stats.persistent_onset(level >= WASTED_SHARE)
    if i is None or float(np.mean(frac[i:])) < WASTED_SHARE or level[-1] < WASTED_SHARE:
        return []
    wasted = float(np.mean(frac[i:]))
    split = _split(run, steps, i)
    message = (
        f"{_label(run, names.ZERO_STD_FRACTION)} held at {wasted:.0%} from step {steps[i]} "
        f"to the end: that share of the rollouts came from groups whose completions all got "
        f"the same reward, so their generation compute produced no gradient"
    )
    finding = prescribe(Category.WASTED_COMPUTE, severity=Severity.WARNING, message=message,
                        evidence={"onset_step": int(steps[i]), "wasted_share_after": wasted,
                                  "wasted_share_of_run": float(np.mean(frac)), **split},
                        step=int(steps[i]))
    remedy = _zero_std_remedy(split)
    return [finding if remedy is None else _with_remedy(finding, remedy)]


# ---------------------------------------------------------------------------- truncation


def _reward_tracks_length(run: RunSignals, ctx: DetectContext) -> float | None:
    """Rank correlation of the reward with the response length, when the reward improved
    and tracked it (``stats.TRACKING_RHO``): the reward pays for length."""
    l_steps, length = _curve(run, names.RESPONSE_LENGTH)
    if ctx.reward is None or length.size < MIN_POINTS:
        return None
    r_steps, reward = stats.finite(run.get(ctx.reward))
    if reward.size < MIN_POINTS or not stats.progress(r_steps, reward).improved:
        return None
    at = stats.sample_at(r_steps, reward, l_steps)
    ok = np.isfinite(at)
    if ok.sum() < MIN_POINTS or np.ptp(at[ok]) == 0 or np.ptp(length[ok]) == 0:
        return None
    rho = float(spearmanr(length[ok], at[ok]).statistic)
    return rho if rho >= stats.TRACKING_RHO else None


def _truncation_from_fraction(run: RunSignals) -> tuple[int, int, dict[str, float]] | None:
    """(onset index, step, evidence) from the logged truncated share, high and rising."""
    steps, frac = _curve(run, names.TRUNCATED_FRACTION)
    if frac.size < MIN_POINTS:
        return None
    base = stats.early_baseline(frac)
    level = stats.rolling_median(frac)
    i = stats.persistent_onset((level >= TRUNCATION_LEVEL)
                               & (level >= base.median + TRUNCATION_RISE))
    if i is None or level[-1] < TRUNCATION_LEVEL:
        return None
    return i, int(steps[i]), {"truncated_start": base.median,
                              "truncated_at_onset": float(level[i]),
                              "truncated_median_after": _tail_median(frac, i),
                              "truncated_end": float(level[-1])}


def _truncation_from_max(run: RunSignals) -> tuple[int, int, dict[str, float]] | None:
    """Without a truncated share: the longest completion pinned at the run's cap while the
    mean completion climbed to ``PIN_MEAN`` of it."""
    steps, top = _curve(run, names.RESPONSE_LENGTH_MAX)
    l_steps, mean = _curve(run, names.RESPONSE_LENGTH)
    if top.size < MIN_POINTS or mean.size < MIN_POINTS:
        return None
    cap = float(np.max(top))
    mean_at = stats.sample_at(l_steps, mean, steps)
    pinned = (top >= cap) & (mean_at >= PIN_MEAN * cap)
    i = stats.persistent_onset(pinned)
    if i is None or pinned[i:].mean() < PIN_SHARE or mean_at[0] >= PIN_MEAN * cap:
        return None
    return i, int(steps[i]), {"cap": cap, "pinned_share_after": float(pinned[i:].mean()),
                              "mean_length_start": float(mean_at[0]),
                              "mean_length_end": float(mean_at[-1])}


def detect_truncation(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Completions cut at the length cap: ``TRUNCATION_LEVEL`` of them, ``TRUNCATION_RISE``
    above the run's own start, persistently (TRL ``completions/clipped_ratio``, verl
    ``response_length/clip_ratio``); or, when no share is logged, the longest completion
    pinned at the cap while the mean climbs towards it.

    Why: a truncated completion never reached its answer, so its reward scores a fragment
    (usually 0) and the advantage punishes reasoning for being long; the policy then learns
    to be short or the reward turns to noise (DAPO, Yu et al. 2025, overlong filtering and
    shaping). Rising, because a cap the policy grows into is the pathology; a share that is
    high from step 0 and flat is the task's configuration and is left alone. An error when
    ``TRUNCATION_ERROR`` or more are cut from onset to the end, unless the reward tracks the
    length: then the policy is being paid to run into the cap (reward hacking names the
    cause) and this is its symptom, a warning.
    """
    found = _truncation_from_fraction(run) or _truncation_from_max(run)
    if found is None:
        return []
    _, step, evidence = found
    tracking = _reward_tracks_length(run, ctx)
    share = evidence.get("truncated_median_after")
    severe = share is not None and share >= TRUNCATION_ERROR and tracking is None
    what = (f"{share:.0%} of the completions were cut at the length cap from step {step} on "
            f"(from {evidence['truncated_start']:.0%} at the start)" if share is not None
            else f"the longest completion sat at the cap ({evidence['cap']:.0f} tokens) from "
            f"step {step} while the mean grew to {evidence['mean_length_end']:.3g}")
    cause = ("the reward rises with the length (rank correlation "
             f"{tracking:.2f}), so the policy is paid to run into the cap" if tracking
             else "their rewards score unfinished answers")
    message = f"{what}: {cause}"
    finding = prescribe(Category.TRUNCATION,
                        severity=Severity.ERROR if severe else Severity.WARNING,
                        message=message,
                        evidence={"onset_step": step, **evidence,
                                  **({"rho_length_vs_reward": tracking} if tracking else {})},
                        step=step)
    if tracking:
        finding = _with_remedy(finding, (
            "do not raise the cap: the reward pays for length; penalise length (soft "
            "overlong punishment, a length-normalised reward) and read the long completions"))
    return [finding]


# ---------------------------------------------------------------------------- mismatch


def detect_train_inference_mismatch(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """The KL between the inference engine's and the trainer's log-probs of the same tokens
    (OpenRLHF ``vllm_kl``, verl ``rollout_corr/kl``, prime-rl ``mismatch_kl``; else the mean
    |log-prob difference|) persistently above ``MISMATCH_LEVEL`` and ``MISMATCH_GROWTH``
    times its own early level, or above ``MISMATCH_ABSOLUTE`` whatever its early level (a
    gap present from the first step never grows), while the clip fraction (when logged)
    stays below ``CLIP_QUIET``.

    Why: the samples come from the engine's policy, the gradient assumes the trainer's; the
    PPO ratio compares the trainer with itself, so the clip stays at 0 and nothing in the
    update corrects the bias. A growing gap precedes gradient-norm explosions and collapse
    (Liu, Li et al. 2025; Yao et al. 2025, "Your efficient RL framework secretly brings you
    off-policy RL training"). An error when the gap is still at its highest tenth at the
    end, or at ``MISMATCH_ABSOLUTE`` or more after its onset; otherwise a warning.
    """
    key = names.MISMATCH_KL if run.get(names.MISMATCH_KL) is not None else names.LOGPROB_DIFF
    steps, gap = _curve(run, key)
    if gap.size < MIN_POINTS:
        return []
    gap = np.abs(gap)
    base = stats.early_baseline(gap)
    level = stats.rolling_median(gap)
    floor = min(max(MISMATCH_LEVEL, MISMATCH_GROWTH * base.median), MISMATCH_ABSOLUTE)
    i = stats.persistent_onset(level >= floor)
    if i is None or level[-1] < floor:
        return []
    c_steps, clip = _curve(run, names.CLIP_FRACTION)
    clip_after = clip[c_steps >= steps[i]]
    clip_median = float(np.median(clip_after)) if clip_after.size else None
    if clip_median is not None and clip_median > CLIP_QUIET:
        return []  # the trust region is active: the drift is the update's own (kl_spike)
    after = _tail_median(gap, i)
    grew = after >= MISMATCH_GROWTH * base.median
    how = (f"grew from {base.median:.2g} early to {after:.2g} after step {steps[i]}" if grew
           else f"sat at {after:.2g} from step {steps[i]} on")
    message = (
        f"{_label(run, key)} {how} while the clip fraction stayed at "
        f"{'?' if clip_median is None else f'{clip_median:.2g}'}: the sampler's and the "
        f"trainer's log-probs of the same tokens drift apart, so the update trains on "
        f"off-policy samples without correcting for them"
    )
    evidence = {"onset_step": int(steps[i]), "signal": key, "early_level": base.median,
                "median_after": after, "end_level": float(level[-1]),
                "growth": after / max(base.median, stats.SCALE_FLOOR),
                "clip_fraction_after": clip_median}
    severe = (level[-1] >= np.quantile(level[i:], 0.9) and after >= 2 * floor
              or after >= MISMATCH_ABSOLUTE)
    return [prescribe(Category.TRAIN_INFERENCE_MISMATCH,
                      severity=Severity.ERROR if severe else Severity.WARNING,
                      message=message, evidence=evidence, step=int(steps[i]))]


# ---------------------------------------------------------------------------- KL to reference


def detect_reference_drift(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """KL to the reference climbing all run (Spearman rho >= ``KL_REF_RHO``), above
    ``KL_REF_BUDGET`` and still adding ``KL_REF_STILL_RISING`` in the run's last third
    (info: a fact to read beside the reward, not an alarm).

    Why: the KL penalty is meant to hold the policy near the reference; a KL that keeps
    climbing without a plateau means beta is too small for this learning rate, and the
    policy is free to drift into reward-model blind spots (Gao et al. 2023, reward model
    overoptimisation scales with the KL). Why info: a climbing KL is also what every run
    that learns does when beta is 0 (TRL's GRPO default) or the run is short; on the LLM
    calibration sets it fired on 11 of 15 healthy runs and was never the cause of a planted
    fault (dated before the reward hacking that drove it on 4 of 15 length-paid runs). The
    drift that matters, a reward the policy games, is ``reward_hacking``'s to name. Dated
    where it crossed the budget.
    """
    steps, kl = _curve(run, names.KL_REF)
    if kl.size < MIN_POINTS:
        return []
    level = stats.rolling_median(kl)
    third = kl.size - kl.size // 3
    rise = (level[-1] - level[third]) / max(abs(level[third]), stats.SCALE_FLOOR)
    trend = stats.trend(steps, kl)
    i = stats.persistent_onset(level >= KL_REF_BUDGET)
    if (i is None or trend.rho < KL_REF_RHO or trend.p_value > stats.TREND_P
            or rise < KL_REF_STILL_RISING or level[-1] < KL_REF_BUDGET):
        return []
    message = (
        f"{_label(run, names.KL_REF)} (KL to the reference) passed {level[i]:.3g} at step "
        f"{steps[i]} and was still climbing at the end ({level[third]:.3g} -> "
        f"{level[-1]:.3g} over the last third, rank correlation with the step "
        f"{trend.rho:.2f}): the KL penalty is not holding the policy near the reference"
    )
    evidence = {"onset_step": int(steps[i]), "kl_at_onset": float(level[i]),
                "kl_end": float(level[-1]), "last_third_rise": float(rise),
                "rho_with_step": trend.rho}
    return [prescribe(Category.REFERENCE_DRIFT, severity=Severity.INFO, message=message,
                      evidence=evidence, step=int(steps[i]))]


# ---------------------------------------------------------------------------- length spikes


def detect_length_grad_spike(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Gradient norm ``GRAD_SPIKE`` x its trailing median on the steps where the response
    length is ``LENGTH_SURGE`` x its own, ``MIN_COINCIDENT`` times or more (a warning).

    Why: with a loss summed over tokens (or a sequence-level weight), one batch of long,
    rambling or runaway completions multiplies the gradient; those completions also carry
    the rare tokens whose log-probs differ most between sampler and trainer. Spikes that
    ride on length surges point at the loss aggregation and the length cap, not the
    learning rate.
    """
    g_steps, grad = _curve(run, names.GRAD_NORM)
    l_steps, length = _curve(run, names.RESPONSE_LENGTH)
    if grad.size < MIN_POINTS or length.size < MIN_POINTS:
        return []
    length_at = stats.sample_at(l_steps, length, g_steps)
    ok = np.isfinite(length_at)
    g_ref = stats.trailing_median(grad, SPIKE_TRAILING)
    l_ref = stats.trailing_median(np.where(ok, length_at, 0.0), SPIKE_TRAILING)
    spikes = grad >= GRAD_SPIKE * np.maximum(g_ref, stats.SCALE_FLOOR)
    surges = ok & (length_at >= LENGTH_SURGE * np.maximum(l_ref, stats.SCALE_FLOOR))
    both = np.flatnonzero(spikes & surges)
    if both.size < MIN_COINCIDENT or both.size < 0.5 * int(spikes.sum()):
        return []
    first = int(both[0])
    message = (
        f"{_label(run, names.GRAD_NORM)} spiked on {both.size} of {int(spikes.sum())} spike "
        f"steps exactly where {_label(run, names.RESPONSE_LENGTH)} surged (first at step "
        f"{g_steps[first]}: {grad[first]:.3g} vs {g_ref[first]:.3g}, length "
        f"{length_at[first]:.3g} vs {l_ref[first]:.3g}): long completions drive the "
        f"gradient"
    )
    evidence = {"onset_step": int(g_steps[first]), "coincident_spikes": int(both.size),
                "grad_spikes": int(spikes.sum()),
                "max_grad_ratio": float(np.max(grad[both] / g_ref[both])),
                "max_length_ratio": float(np.max(length_at[both] / l_ref[both]))}
    return [prescribe(Category.LENGTH_GRAD_SPIKE, severity=Severity.WARNING, message=message,
                      evidence=evidence, step=int(g_steps[first]))]
