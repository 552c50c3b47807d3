"""The reward link: does the training reward carry signal, and does it point at the goal?

Contents:
    detect_reward_direction(run, ctx) -- the training return and the true metric have
        opposite signs while the agent optimises the one and not the other: a negated reward.
    detect_sparse_reward(run, ctx) -- the training return sits at one floor value for most
        of the run: no episode ever scores differently, so there is nothing to learn from.
    detect_no_learning_signal(run, ctx) -- GRPO-style groups whose rewards do not differ
        (``frac_reward_zero_std`` high, ``reward_std`` ~0): advantages are ~0.
    detect_reward_hacking(run, ctx) -- the training return rises while the true metric falls
        (or gives back what it had gained); as warnings, gains that never reach the true
        metric (on a language model: not beyond the metric's own noise), that track
        response length or come from one reward component at another's expense.
    detect_plateau(run, ctx) -- the training return never improved materially (a warning:
        "has not learned (yet)", not a pathology; diagnose() keeps it only when nothing
        else explains it).

Why: the reward is the only thing the optimiser sees. A proxy that rises while the true
objective falls is reward hacking (Skalse et al. 2022; TRL issue #322, rewards up while
outputs degrade); a proxy of the opposite sign is a negated objective; a reward that never
varies gives policy gradients nothing but noise (Andrychowicz et al. 2017 on sparse goals).
``ctx.reward`` is the proxy the agent optimises, ``ctx.eval`` the true metric (SB3's
EvalCallback on the unmodified env, an eval split for LLMs).

Evaluations are few (10-20 per run) and noisy: a deterministic CartPole policy scores
anywhere from 9 to 500, and healthy DQN evaluations swing between the two. Every rule that
reads the true metric therefore asks for a significant trend, a fall that outlasts the
evaluation's own point-to-point noise, and a proxy that still holds its gains.

Two judges of "proxy up, true metric down", on purpose: this one reads *training curves*
(the logged return against 10-20 evaluations, each a mean of episodes, so a trend is
``stats.CURVE_TREND_RHO`` over the points); ``rlvet.reward.hacking`` reads a *per-sample
audit table* (many scored samples per step, whose trend is significant by Kendall's tau
over every sample and needs only ``stats.SAMPLE_TREND_RHO`` over the noisy per-step
means). Both use ``stats.trend`` and ``stats.TREND_P``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import spearmanr

from rlvet import stats
from rlvet.doctor.llm import ZERO_STD_ERROR, ZERO_STD_WARNING
from rlvet.doctor.llm import zero_std_finding as _zero_std_finding  # its one home: llm.py
from rlvet.doctor.policy_update import policy_frozen
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = [
    "AGREE",
    "HACK_DROP",
    "HACK_GIVEBACK",
    "HACK_GIVEBACK_SANK",
    "HACK_NOISE",
    "LENGTH_INFLATION",
    "MIN_CURVE_POINTS",
    "PROXY_KEPT",
    "SIGN_SHARE",
    "SPARSE_SHARE",
    "TRANSFER_NOISE",
    "ZERO_STD_ERROR",
    "ZERO_STD_WARNING",
    "detect_no_learning_signal",
    "detect_plateau",
    "detect_reward_direction",
    "detect_reward_hacking",
    "detect_sparse_reward",
    "run_start",
]

MIN_CURVE_POINTS = 5  # a trend needs 5 points; SB3's EvalCallback default gives ~10-20
TREND_MIN_POINTS = 8  # evaluations needed before opposite trends mean anything
SIGN_SHARE = 0.8  # proxy and true metric of opposite sign on 80% of evaluations (a negated
# reward: CartPole's +1 per step logged as -1, Pendulum's cost logged as a gain)
EVAL_SMOOTHING = 3  # running median over evaluations: one unlucky 5-episode eval is noise
HACK_DROP = 0.3  # the true metric ended 30% of its scale below its start ...
HACK_GIVEBACK = 0.5  # ... or gave back half of what it had gained, while the proxy held
HACK_NOISE = 4.0  # and the fall is 4x the evaluation's point-to-point noise: healthy DQN
# evaluations swing 16 <-> 500 between checkpoints, and a near-uniform CartPole policy's
# deterministic evaluation scores 500 by luck before training pulls it down; a hacked
# policy's evaluations settle low and stay there
HACK_GIVEBACK_SANK = 0.6  # a steady sink without a climbing proxy: 60% of the gain given back
PROXY_KEPT = 0.8  # the proxy ended with 80% of its gain: it is still being maximised, so a
# fall of both (a collapse, which the mechanical detectors explain) is not hacking
AGREE = 0.25  # proxy and true metric ending within 25% of each other measure the same thing
HACK_MIN_AFTER = 3  # evaluations after the true metric's peak: fewer cannot tell a fall
HACK_SHARE_AFTER = 2 / 3  # from noise; and 2 in 3 of them must sit below the give-back line
RECENT_EVALS = 3  # the true metric's level before a crossing: its last 3 evaluations
SPARSE_SHARE = 0.8  # return at its floor value on 80% of the logged points: almost no
# episode scored differently from the worst one
SPARSE_WARNING_SHARE = 0.5  # half the run at the floor: a long sparse phase before learning
REWARD_STD_ZERO = 1e-6  # relative to the reward level: no spread within groups
LENGTH_INFLATION = 2.0  # response length doubled while the reward tracked it (rho >= 0.8)
NEGATED_COST_NOTE = (  # a negated cost and an early-exploited bonus log the same (fresh3)
    "; the training return climbed through zero while the objective stayed below it: if the "
    "reward is a cost, check its sign first (a negated cost reads the same from the logs)")
TRANSFER_NOISE = 2.0  # a true metric's rise must be 2x its point-to-point noise to count as
# a gain: LLM corpus (tuning + held-out), format-only task rates rise 0.75-1.3x their noise
# by chance, healthy runs' 4.1-6.5x


def _curve(run: RunSignals, key: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Finite ``(steps, values)`` of a signal, empty when absent."""
    return stats.finite(run.get(key) if key else None)


def _label(run: RunSignals, key: str | None) -> str:
    return run.raw_names.get(key, key) if key else "?"


def run_start(run: RunSignals) -> int:
    """The first step anything was logged at: where a property of the reward itself (its
    sign, its sparsity) starts to matter, even if the return is first logged later."""
    return min((int(s.steps[0]) for s in run.series.values() if len(s)), default=0)


def _paired(run: RunSignals, ctx: DetectContext) -> tuple[np.ndarray, ...] | None:
    """``(eval_steps, eval, proxy_at_eval)``: both curves at the evaluation steps."""
    r_steps, proxy = _curve(run, ctx.reward)
    e_steps, true = _curve(run, ctx.eval)
    if proxy.size < MIN_CURVE_POINTS or true.size < MIN_CURVE_POINTS or ctx.reward == ctx.eval:
        return None
    at = stats.sample_at(r_steps, proxy, e_steps)
    ok = np.isfinite(at)
    if ok.sum() < MIN_CURVE_POINTS:
        return None
    return e_steps[ok], true[ok], at[ok]


def _opposite_share(true: np.ndarray, proxy: np.ndarray) -> float:
    """Share of evaluations where proxy and true metric have strictly opposite signs."""
    return float(np.mean(np.sign(proxy) * np.sign(true) < 0))


def _noise(values: np.ndarray) -> float:
    """Point-to-point noise of a curve: std of its first differences / sqrt(2).

    Deliberately not a robust estimate: the occasional 16 <-> 500 swing *is* the noise of
    a healthy DQN evaluation, and a MAD would discount exactly that.
    """
    return float(np.std(np.diff(values))) / np.sqrt(2.0) if values.size > 2 else 0.0


def _proxy_kept(run: RunSignals, ctx: DetectContext, true_end: float) -> bool:
    """Whether the training reward improved, ended with ``PROXY_KEPT`` of its gain, and
    ended away from the true metric.

    Hacking needs the proxy and the objective to disagree. When the training return ends
    where the evaluation ends (within ``AGREE`` of their scale, as for an unwrapped env),
    the two measure the same thing, and earlier high evaluations were not earned: a
    near-uniform policy's deterministic evaluation scoring by luck.
    """
    steps, proxy = _curve(run, ctx.reward)
    prog = stats.progress(steps, proxy)
    return prog.improved and prog.at(prog.end) >= PROXY_KEPT and not _agree(prog.end, true_end)


def _agree(a: float, b: float) -> bool:
    """Whether two levels are within ``AGREE`` of their common scale."""
    return abs(a - b) <= AGREE * max(abs(a), abs(b))


# ---------------------------------------------------------------------------- direction


def detect_reward_direction(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Proxy and true metric of opposite sign on ``SIGN_SHARE`` of the evaluations, the
    proxy no worse at the end than at the start, the true metric never improving; or the
    proxy changing sign mid-run for good while the true metric falls (``_sign_flip``).

    That is a negated objective: maximising the logged reward minimises the goal (a
    CartPole agent trained on -1 per step learns to fall in 9 steps). A shaped reward with
    a negative offset also has the opposite sign, but its true metric improves, so it is
    left alone; an improvement within the evaluations' own noise is not one (a negated
    LunarLander reward: noisy evaluations -1060 -> -800 by chance, fresh7). Dated at the
    start of the run: the reward was wrong from step 0.
    """
    pair = _paired(run, ctx)
    if pair is None:
        return []
    e_steps, true, proxy_at = pair
    r_steps, proxy = _curve(run, ctx.reward)
    proxy_prog = stats.progress(r_steps, proxy)
    true_prog = stats.progress(e_steps, true, window=EVAL_SMOOTHING)
    opposite = _opposite_share(true, proxy_at)
    if opposite < SIGN_SHARE or _gained(true_prog, true) or proxy_prog.end <= proxy_prog.start:
        flip = _sign_flip(run, ctx, e_steps, true)
        return [] if flip is None else [flip]
    step = run_start(run)
    evidence = {"onset_step": step, "opposite_sign_share": opposite,
                "proxy_start": proxy_prog.start, "proxy_end": proxy_prog.end,
                "true_start": true_prog.start, "true_end": true_prog.end}
    message = (
        f"{_label(run, ctx.reward)} went from {proxy_prog.start:.3g} to {proxy_prog.end:.3g} "
        f"while {_label(run, ctx.eval)} stayed at {true_prog.end:.3g} with the opposite sign "
        f"on {opposite:.0%} of evaluations: the training reward is the negated objective, so "
        f"the agent learns the opposite of the goal"
    )
    return [prescribe(Category.REWARD_DIRECTION, severity=Severity.ERROR, message=message,
                      evidence=evidence, step=step)]


def _sign_flip(run: RunSignals, ctx: DetectContext, e_steps: np.ndarray,
               true: np.ndarray) -> Finding | None:
    """The training return fell below zero mid-run for good while the true metric fell.

    A reward negated mid-run (a wrapper switched on, a sign convention changed between
    reward versions) leaves the start-of-run rule blind: the agent learned, then the
    logged return drops through zero and stays there, and the agent unlearns the goal
    (CartPole at +150 per episode becomes -9: it learns to fall). The true metric must have
    fallen from its level just before the crossing (the median of its last evaluations, not
    its best: a noisy evaluation's one lucky score is no level), so a task with signed
    returns (LunarLander) that crosses zero while learning is left alone. A return that
    climbs *up* through zero while the true metric falls is reward hacking's: a negated
    cost (Pendulum's cost paid as reward) and a bonus exploited before the task was learned
    look the same from the logs (both tried on the calibration sets: a rule for the first
    named the second wrongly), so ``detect_reward_hacking`` says both. The return must have
    held a clear sign before the crossing: a median at least its point-to-point noise above
    zero (a noisy LunarLander return wandering across zero is no negation; after a mild
    negation the new return may sit just below zero: CartPole at -0.05 a step). Dated at the
    crossing.
    """
    r_steps, proxy = _curve(run, ctx.reward)
    if proxy.size < 2 * MIN_CURVE_POINTS:
        return None
    sign = np.sign(stats.rolling_median(proxy))
    new = sign[-1]
    if new >= 0:
        return None  # ends positive: no downward crossing (an upward one is hacking's)
    i = _final_stretch(sign)
    before = proxy[:i][sign[:i] == -new]
    if i == 0 or before.size < MIN_CURVE_POINTS or sign.size - i < MIN_CURVE_POINTS:
        return None  # one sign all run, or not long enough on either side
    if float(np.median(before)) < _noise(proxy):
        return None  # a return hovering around zero within its own noise had no clear sign
        # to lose (rlvet PPO on LunarLander: median +23 before, point-to-point noise 80)
    crossing = int(r_steps[i])
    true_before, true_after = true[e_steps < crossing], true[e_steps >= crossing]
    if true_before.size < 2 or true_after.size < 2:
        return None
    level_before = float(np.median(true_before[-RECENT_EVALS:]))
    drop = level_before - float(np.median(true_after))
    if drop < HACK_NOISE * _noise(true) and drop < HACK_DROP * abs(level_before):
        return None  # the true metric did not fall beyond its own noise
    evidence = {"onset_step": crossing, "proxy_before": float(np.median(before)),
                "proxy_after": float(np.median(proxy[i:])),
                "true_before": level_before,
                "true_after": float(np.median(true_after)), "true_noise": _noise(true)}
    message = (
        f"{_label(run, ctx.reward)} changed sign at step {crossing} (median "
        f"{evidence['proxy_before']:.3g} before, {evidence['proxy_after']:.3g} after) and "
        f"{_label(run, ctx.eval)} fell from {evidence['true_before']:.3g} to "
        f"{evidence['true_after']:.3g}: the reward was negated mid-run, so the agent now "
        f"learns the opposite of the goal"
    )
    return prescribe(Category.REWARD_DIRECTION, severity=Severity.ERROR, message=message,
                     evidence=evidence, step=crossing)


def _final_stretch(sign: np.ndarray) -> int:
    """Index where the run of the final sign begins (0: one sign all along)."""
    i = sign.size
    while i > 0 and sign[i - 1] == sign[-1]:
        i -= 1
    return i


# ---------------------------------------------------------------------------- sparse


def detect_sparse_reward(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """The training return equals its floor value on most logged points.

    SB3 logs the mean of the last 100 episode returns, so a goal-only reward that is never
    reached logs exactly 0 (or -200 on MountainCar's time-out) at every point. Error at
    ``SPARSE_SHARE`` of the run, warning at ``SPARSE_WARNING_SHARE`` when the run started
    there (a long sparse phase). Dated at the start of the run. ``diagnose`` makes the
    error a warning when a mechanical finding on the run explains the floor better.
    """
    steps, reward = _curve(run, ctx.reward)
    if reward.size < MIN_CURVE_POINTS:
        return []
    at_floor = stats.at_floor(reward)
    floor, share = float(np.min(reward)), float(at_floor.mean())
    if share < SPARSE_WARNING_SHARE or not at_floor[0]:
        return []
    raw_ev = run.get(names.EXPLAINED_VARIANCE)
    undefined_ev = raw_ev is not None and len(raw_ev) > 0 and not np.isfinite(raw_ev.values).any()
    step = run_start(run)
    evidence = {"onset_step": step, "floor": floor, "share_at_floor": share,
                "points": int(reward.size), "explained_variance_undefined": undefined_ev}
    message = (
        f"{_label(run, ctx.reward)} sat at {floor:.4g} on {share:.0%} of {reward.size} points: "
        f"almost no episode scored differently, so the policy gradient has no signal; the "
        f"reward is too sparse for this exploration"
    )
    severity = Severity.ERROR if share >= SPARSE_SHARE else Severity.WARNING
    return [prescribe(Category.SPARSE_REWARD, severity=severity, message=message,
                      evidence=evidence, step=step)]


# ---------------------------------------------------------------------------- GRPO signal


def _zero_spread_finding(run: RunSignals, ctx: DetectContext) -> Finding | None:
    """``reward_std`` persistently ~0 relative to the reward level, and held: ~0 on
    ``ZERO_STD_ERROR`` of the points from its onset to the end for an error, on
    ``ZERO_STD_WARNING`` of them for a warning.

    A cold start leaves a few early batches without spread in a healthy run (TRL GRPO on a
    tiny model: reward 0 on steps 1 and 18 of 60, then learning); a constant reward keeps
    it at 0 on every step.
    """
    steps, spread = stats.finite(run.get(names.REWARD_STD))
    _, reward = _curve(run, ctx.reward)
    if spread.size < stats.PERSIST_TAIL:
        return None
    level = max(1.0, float(np.median(np.abs(reward)))) if reward.size else 1.0
    flat = np.abs(spread) <= REWARD_STD_ZERO * level
    i = stats.persistent_onset(flat)
    held = 0.0 if i is None else float(np.mean(flat[i:]))
    if i is None or held < ZERO_STD_WARNING:
        return None
    message = (
        f"{_label(run, names.REWARD_STD)} was {spread[i]:.2g} from step {steps[i]} on "
        f"{held:.0%} of the steps since: rewards within a group do not differ, so every "
        f"advantage is ~0"
    )
    return prescribe(Category.NO_LEARNING_SIGNAL,
                     severity=Severity.ERROR if held >= ZERO_STD_ERROR else Severity.WARNING,
                     message=message,
                     evidence={"onset_step": int(steps[i]), "reward_std": float(spread[i]),
                               "tolerance": REWARD_STD_ZERO * level, "share_held": held},
                     step=int(steps[i]))


def detect_no_learning_signal(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Groups whose rewards do not differ (GRPO, RLOO): the earliest of the two signs."""
    found = [f for f in (_zero_std_finding(run), _zero_spread_finding(run, ctx)) if f]
    return sorted(found, key=lambda f: f.step or 0)[:1]


# ---------------------------------------------------------------------------- hacking


def _diverging(run: RunSignals, ctx: DetectContext) -> Finding | None:
    """Proxy trending up significantly while the true metric ends well below its start.

    Covers the exploit found before the first evaluation: the true metric's rise is never
    seen, only its fall from the first evaluations while the proxy keeps climbing. The fall
    is judged by size (``HACK_DROP`` of the scale, ``HACK_NOISE`` x the point-to-point
    noise), not by a rank test: "fell, then flat" is a real fall with a weak Spearman rho.
    """
    pair = _paired(run, ctx)
    if pair is None or pair[0].size < TREND_MIN_POINTS:
        return None
    e_steps, true, proxy_at = pair
    up, down = stats.trend(e_steps, proxy_at), stats.trend(e_steps, true)
    prog = stats.progress(e_steps, true, window=EVAL_SMOOTHING)
    drop = prog.start - prog.end
    if (not up.monotone_up(stats.CURVE_TREND_RHO) or down.rho >= 0
            or drop < HACK_DROP * prog.scale
            or drop < HACK_NOISE * _noise(true) or _opposite_share(true, proxy_at) >= SIGN_SHARE
            or not _proxy_kept(run, ctx, prog.end)):
        return None
    i = stats.persistent_onset(true < prog.start - drop / 2, hits=2, window=3)
    if i is None:
        return None
    evidence = {"onset_step": int(e_steps[i]), "true_start": prog.start, "true_end": prog.end,
                "rho_true": down.rho, "p_true": down.p_value, "rho_proxy": up.rho,
                "p_proxy": up.p_value, "eval_noise": _noise(true),
                "proxy_start": float(proxy_at[0]), "proxy_end": float(proxy_at[-1])}
    message = (
        f"{_label(run, ctx.eval)} fell from {prog.start:.3g} to {prog.end:.3g} (below "
        f"{prog.start - drop / 2:.3g} from step {e_steps[i]}) while {_label(run, ctx.reward)} "
        f"rose from {proxy_at[0]:.3g} to {proxy_at[-1]:.3g}: the policy is exploiting the "
        f"training reward at the expense of the objective"
    )
    return prescribe(Category.REWARD_HACKING, severity=Severity.ERROR, message=message,
                     evidence=evidence, step=int(e_steps[i]))


def _giveback(run: RunSignals, ctx: DetectContext) -> Finding | None:
    """The true metric rose, then gave back ``HACK_GIVEBACK`` of its gain while the proxy
    stayed near its best.

    The proxy must keep rising after the true metric's peak (rank correlation with the step
    of ``stats.CURVE_TREND_RHO`` or more, over the evaluations since): an exploit is being
    learned while the objective falls. A proxy that only holds its level while the
    evaluation sinks is a policy getting worse at the task
    (rlvet train on LunarLander: eval 56 -> -185, training return -108 -> -106 -> -70),
    not one gaming its reward. The fall must hold on the raw evaluations from its onset to
    the end of the run (``HACK_MIN_AFTER`` of them, ``HACK_SHARE_AFTER`` below the line:
    an exploit learned late leaves good evaluations between the peak and the fall) and
    exceed ``HACK_NOISE`` times the point-to-point noise of the evaluations from the peak
    on. Not of the whole curve: its rise and its fall are the signal, and counting them as
    noise hides the largest give-backs (SAC on Pendulum with a spin bonus: -1500 -> -330
    -> -1620, whole-curve "noise" 331, noise from the peak on ~110). A healthy noisy
    evaluation keeps swinging after its peak, and so stays under the line. A fall that
    swings on its way down (-220 -> -1003 -> -410 -> -1612), or whose drop from the peak is
    itself most of the noise from the peak on (-646 -> -1580, then -1300 .. -1620), is
    judged by rank instead: from the peak on, over ``TREND_MIN_POINTS`` evaluations or more,
    the proxy climbs and the true metric sinks, both significantly
    (``stats.CURVE_TREND_RHO``, p <= ``stats.TREND_P``); i.i.d. noisy evaluations trend by
    chance in 1 run of 20 at most, and must also fall and stay fallen. A true metric that
    sinks that steadily and gives back ``HACK_GIVEBACK_SANK`` of its gain while the proxy
    keeps ``PROXY_KEPT`` of its own, without climbing further, is a bonus farmed from the
    start: it rises with the objective, then the exploit takes over and the proxy, paid by
    the exploit now, sags by a few percent (a policy getting worse at its task loses both,
    or its evaluations swing back up: no rank trend).
    """
    pair = _paired(run, ctx)
    if pair is None:
        return None
    e_steps, true, proxy_at = pair
    prog = stats.progress(e_steps, true, window=EVAL_SMOOTHING)
    k = prog.peak_index
    limit = prog.peak - HACK_GIVEBACK * (prog.peak - prog.start)
    after = true[k + 1 :] < limit
    j = stats.persistent_onset(after, hits=2, window=3)
    if not prog.improved or prog.peak <= true[0] or j is None:
        return None  # no rise (the first evaluation was already the best level: a lucky
        # one, as a near-random LunarLander policy's +105), or no give-back
    fallen = after[j:]
    i = k + 1 + j
    noise = _noise(true[k:])
    rising = stats.trend(e_steps[k:], proxy_at[k:])
    sinking = stats.trend(e_steps[k:], true[k:])
    sank = true.size - k >= TREND_MIN_POINTS and sinking.monotone_down(stats.CURVE_TREND_RHO)
    sank_alone = sank and prog.at(prog.end) <= 1.0 - HACK_GIVEBACK_SANK
    if (fallen.size < HACK_MIN_AFTER or fallen.mean() < HACK_SHARE_AFTER
            or true[-1] >= limit or not _proxy_kept(run, ctx, prog.end)
            or (prog.peak - prog.end < HACK_NOISE * noise and not sank)
            or not (rising.rho >= stats.CURVE_TREND_RHO or sank_alone)):
        return None  # not lasting to the end, within the fallen level's own scatter (unless
        # the objective sinks steadily from the peak on), or a proxy that stopped rising
        # while the objective merely fell
    evidence = {"onset_step": int(e_steps[i]), "true_start": prog.start, "true_peak": prog.peak,
                "true_peak_step": int(e_steps[k]), "true_end": prog.end,
                "eval_noise_after_peak": noise, "proxy_rho_after_peak": rising.rho,
                "proxy_at_true_peak": float(proxy_at[k]),
                "proxy_end": float(proxy_at[-1]), "giveback": HACK_GIVEBACK}
    message = (
        f"{_label(run, ctx.eval)} fell from {prog.peak:.3g} (step {e_steps[k]}) to "
        f"{true[i]:.3g} at step {e_steps[i]} and stayed low while {_label(run, ctx.reward)} "
        f"held its gains ({proxy_at[k]:.3g} -> {proxy_at[-1]:.3g}): the policy is exploiting "
        f"the training reward at the expense of the objective"
    )
    return prescribe(Category.REWARD_HACKING, severity=Severity.ERROR, message=message,
                     evidence=evidence, step=int(e_steps[i]))


def _no_transfer(run: RunSignals, ctx: DetectContext) -> Finding | None:
    """The proxy improved materially, the true metric never did, and they end far apart.

    A warning, not an error: the true metric may not have improved because an early
    deterministic evaluation scored high by luck (CartPole's argmax policy at initialisation
    often balances for 500 steps). Info only unless the proxy ends above the true metric by
    more than ``AGREE``: a proxy that ends where the true metric ends measures the same
    thing, and one that ends below it claims no gain the objective lacks. A true metric
    whose best level is its first one never improved, however its smoothed start compares
    (an exit bonus farmed from the first update: the first evaluation 378, then 151 .. 121
    while the proxy climbs 15 -> 1140, fresh10).
    """
    pair = _paired(run, ctx)
    if pair is None:
        return None
    e_steps, true, proxy_at = pair
    proxy_prog = stats.progress(e_steps, proxy_at)
    true_prog = stats.progress(e_steps, true, window=EVAL_SMOOTHING)
    gained = (_gained(true_prog, true) if _language_model_run(run)
              else true_prog.improved and true_prog.peak_index > 0)
    if (not proxy_prog.improved or gained
            or _opposite_share(true, proxy_at) >= SIGN_SHARE):
        return None  # learning transfers, or the reward is negated (doctor.reward_direction)
    reached = proxy_at >= proxy_prog.start + stats.MATERIAL_GAIN * proxy_prog.scale
    i = int(np.argmax(reached))
    apart = proxy_prog.end > true_prog.end and not _agree(proxy_prog.end, true_prog.end)
    evidence = {"onset_step": int(e_steps[i]), "proxy_relative_gain": proxy_prog.rel_gain,
                "true_relative_gain": true_prog.rel_gain, "true_start": true_prog.start,
                "true_peak": true_prog.peak, "proxy_end": proxy_prog.end,
                "true_end": true_prog.end, "proxy_ends_above": apart}
    message = (
        f"{_label(run, ctx.reward)} improved {proxy_prog.rel_gain:.0%} to {proxy_prog.end:.3g} "
        f"but {_label(run, ctx.eval)} did not ({true_prog.start:.3g} -> {true_prog.end:.3g}): "
        f"the training reward's gains do not transfer to the objective"
    )
    return prescribe(Category.REWARD_HACKING,
                     severity=Severity.WARNING if apart else Severity.INFO,
                     message=message, evidence=evidence, step=int(e_steps[i]))


def _language_model_run(run: RunSignals) -> bool:
    """The run logged a response length or GRPO's zero-spread share: a language model."""
    return any(run.get(k) is not None for k in (names.RESPONSE_LENGTH, names.ZERO_STD_FRACTION))


def _gained(prog: stats.Progress, values: np.ndarray) -> bool:
    """The true metric improved: materially (``stats.MATERIAL_GAIN`` of its scale) and by
    ``TRANSFER_NOISE`` times its own point-to-point noise.

    A success rate near 0 measured on a few samples (an LLM task rate of 0.1 on 16
    completions a step) wanders 0.06 <-> 0.19 by chance: relative to its tiny scale that is a
    "gain" of 50%, which hid format-only rewards whose task rate never moved. Applied to
    language-model runs only: on classic control an evaluation's noise is the policy's own
    swing (CartPole 16 <-> 500), and the noise bar would warn on 2 of the classic
    calibration corpus's 79 healthy runs (splits all and fresh). The gain is measured to the
    end level, not the peak: the top of a running median over 40 noisy rates is a lucky
    window (format-only task rate 0.06 -> peak 0.31 -> end 0.12), a learned skill stays.
    """
    return prog.improved and prog.end - prog.start >= TRANSFER_NOISE * _noise(values)


def _length_tracking(run: RunSignals, ctx: DetectContext) -> Finding | None:
    """Response length at least doubled and the reward tracked it (LLM length hacking)."""
    l_steps, length = _curve(run, names.RESPONSE_LENGTH)
    r_steps, reward = _curve(run, ctx.reward)
    if length.size < MIN_CURVE_POINTS or reward.size < MIN_CURVE_POINTS:
        return None
    at = stats.sample_at(r_steps, reward, l_steps)
    ok = np.isfinite(at)
    grow = stats.progress(l_steps, length)
    if ok.sum() < MIN_CURVE_POINTS or grow.peak < LENGTH_INFLATION * max(grow.start, 1.0):
        return None
    rho = float(spearmanr(length[ok], at[ok]).statistic)
    if not stats.progress(r_steps, reward).improved or not rho >= stats.TRACKING_RHO:
        return None
    i = int(np.argmax(stats.rolling_median(length) >= LENGTH_INFLATION * grow.start))
    message = (
        f"{_label(run, names.RESPONSE_LENGTH)} grew from {grow.start:.4g} to {grow.peak:.4g} "
        f"and the reward tracked it (rank correlation {rho:.2f}): the reward may be paying "
        f"for length rather than quality"
    )
    return prescribe(Category.REWARD_HACKING, severity=Severity.WARNING, message=message,
                     evidence={"onset_step": int(l_steps[i]), "length_start": grow.start,
                               "length_peak": grow.peak, "rho_length_vs_reward": rho},
                     step=int(l_steps[i]))


def _decline(steps: np.ndarray, values: np.ndarray) -> float:
    """How far a curve ended below its start, over its own scale (0 if it did not)."""
    prog = stats.progress(steps, values)
    return max(0.0, prog.start - prog.end) / max(abs(prog.start), abs(prog.end),
                                                 stats.SCALE_FLOOR)


def _component_tradeoff(run: RunSignals, ctx: DetectContext) -> Finding | None:
    """The total reward rose while one ``reward/<component>`` rose and another fell."""
    r_steps, reward = _curve(run, ctx.reward)
    parts = {k: _curve(run, k) for k in run.series if k.startswith(names.REWARD_COMPONENT_PREFIX)}
    parts = {k: v for k, v in parts.items() if v[1].size >= MIN_CURVE_POINTS and k != ctx.reward}
    if (len(parts) < 2 or reward.size < MIN_CURVE_POINTS
            or not stats.progress(r_steps, reward).improved):
        return None
    gains = {k: stats.progress(*v).rel_gain for k, v in parts.items()}
    losses = {k: _decline(*v) for k, v in parts.items()}
    up, down = max(gains, key=gains.__getitem__), max(losses, key=losses.__getitem__)
    if up == down or gains[up] < stats.MATERIAL_GAIN or losses[down] < stats.MATERIAL_GAIN:
        return None
    steps = parts[down][0]
    message = (
        f"the reward rose through {_label(run, up)} (+{gains[up]:.0%}) while "
        f"{_label(run, down)} fell ({losses[down]:.0%} of its scale): the policy trades one "
        f"part of the objective for another"
    )
    return prescribe(Category.REWARD_HACKING, severity=Severity.WARNING, message=message,
                     evidence={"onset_step": int(steps[0]), "rising": up, "falling": down,
                               "rising_gain": gains[up], "falling_loss": losses[down]},
                     step=int(steps[0]))


def detect_reward_hacking(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Proxy up while the true metric falls or gives back its gains (errors); gains that
    do not transfer, track response length or trade one reward component for another
    (warnings). Returns the most severe one; among equals, one that names what the reward
    pays for (response length) before the generic "gains do not transfer", then the
    earliest.
    """
    length = _length_tracking(run, ctx)
    found = [f for f in (_diverging(run, ctx), _giveback(run, ctx), _no_transfer(run, ctx),
                         length, _component_tradeoff(run, ctx)) if f]
    first = sorted(found, key=lambda f: (f.severity.rank, f is not length, f.step or 0))[:1]
    if first and first[0] is not length and _proxy_changed_sign(run, ctx):
        first = [dataclasses.replace(first[0], evidence={**first[0].evidence,
                                                         "proxy_changed_sign": True},
                                     message=first[0].message + NEGATED_COST_NOTE)]
    return first


def _proxy_changed_sign(run: RunSignals, ctx: DetectContext) -> bool:
    """The training return ends above zero after a stretch below it while every evaluation
    of the true metric is below zero."""
    _, proxy = _curve(run, ctx.reward)
    _, true = _curve(run, ctx.eval)
    if proxy.size < 2 * MIN_CURVE_POINTS or true.size == 0 or np.any(true >= 0):
        return False
    sign = np.sign(stats.rolling_median(proxy))
    i = _final_stretch(sign)
    return bool(sign[-1] > 0 and i >= MIN_CURVE_POINTS and sign.size - i >= MIN_CURVE_POINTS)


# ---------------------------------------------------------------------------- plateau


def detect_plateau(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """The training return never rose ``MATERIAL_GAIN`` above its start (a warning).

    Dated at the start of the run. ``diagnose`` demotes it to info when any other
    detector found a warning or error: a plateau explained by a mechanical break is that
    break's symptom, not a finding of its own.
    """
    key = ctx.reward if ctx.reward else ctx.eval
    steps, reward = _curve(run, key)
    if reward.size < 2 * MIN_CURVE_POINTS:
        return []
    prog = stats.progress(steps, reward)
    if prog.improved:
        return []
    frozen = policy_frozen(run)
    cause = ("the policy is not changing at all (KL ~0): the learning rate is ~0 or the "
             "gradients vanish" if frozen else "no mechanical fault is visible, so it may "
             "just need more steps or another learning rate")
    message = (
        f"{_label(run, key)} went from {prog.start:.4g} to at best {prog.peak:.4g} over "
        f"{steps[-1] - steps[0]} steps ({prog.rel_gain:.0%} gain, below "
        f"{stats.MATERIAL_GAIN:.0%}): {cause}"
    )
    step = run_start(run)
    evidence = {"onset_step": step, "start": prog.start, "peak": prog.peak,
                "end": prog.end, "relative_gain": prog.rel_gain,
                "material_gain": stats.MATERIAL_GAIN, **(frozen or {})}
    return [prescribe(Category.PLATEAU, severity=Severity.WARNING, message=message,
                      evidence=evidence, step=step)]
