"""The exploration link: does the policy's randomness shrink at the right pace?

Contents:
    detect_entropy_collapse(run, ctx) -- entropy falls to a fraction of its start before the
        return has got anywhere (the policy turned deterministic too early), or falls
        abruptly after it had (a warning: a converged policy does not lose most of its
        remaining entropy within a tenth of the run).
    detect_entropy_stuck(run, ctx) -- entropy stays pinned at its start, or climbs back to
        it, while the return gets nowhere: something (usually the entropy bonus) holds the
        policy at uniform.

Why: a policy-gradient agent should lose entropy as it learns, smoothly, and roughly as fast
as its return improves (healthy PPO on CartPole: 0.69 -> ~0.2 nats while the return goes
20 -> 500). A collapse well before the return peaks leaves nothing to explore with, and the
return stalls or falls (Mnih et al. 2016 added the entropy bonus for exactly this; Ahmed
et al. 2019). Entropy pinned at its maximum while the return goes nowhere means the bonus
outweighs the policy gradient; pinned while the return improves is a slow-moving policy
(a Gaussian policy's log-std in a short run, a 4-action CleanRL policy on LunarLander at
97% of ln 4 after 100k steps) and worth a warning only.

Entropy is read as +entropy (SB3's ``train/entropy_loss`` is negated by its reader). The
fraction rules need a positive starting entropy, which every discrete policy has; a
Gaussian policy's entropy can start at or fall below 0 and is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rlvet import stats
from rlvet.doctor.evidence import FLAT_RETURN_CONSEQUENCE
from rlvet.doctor.policy_update import KL_FROZEN, policy_frozen
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = [
    "ABRUPT_DROP",
    "COLLAPSE_FRACTION",
    "COLLAPSE_PROGRESS",
    "DRIVEN_COLLAPSE",
    "HELD_AT_START",
    "STUCK_PINNED",
    "STUCK_REBOUND_FROM",
    "detect_entropy_collapse",
    "detect_entropy_stuck",
]

COLLAPSE_FRACTION = 0.2  # entropy below 20% of its start: on 2 actions that is p(best) >
# 0.97, a near-deterministic policy; healthy CartPole PPO ends at 25-30% after it has won
COLLAPSE_PROGRESS = 0.8  # "before the return got anywhere": the training return had made
# less than 80% of the progress it would ever make; later collapse is convergence
STUCK_PINNED = 0.95  # entropy within 5% of its start for the whole run: the policy is held
# at maximal randomness (ent_coef 5 keeps CartPole at 99% of ln 2); healthy runs leave this
# band within the first few percent of training
DRIVEN_COLLAPSE = 0.05  # entropy under 5% of its start (p(best) > 0.995 on 2 actions): a
# policy driven to determinism (negative bonus: 1-2% of start); a policy with no reward
# signal at all only drifts (goal-only MountainCar: 15-30% of start after 50k steps), so a
# shallower collapse while the return sits at its floor is a warning
FLOOR_NO_SIGNAL = 0.5  # a return at its floor on half its points carries no gradient for a
# bonus to outweigh (goal-only MountainCar: entropy stays at 99% without any bonus)
STUCK_REBOUND_FROM = 0.9  # entropy that had fallen below 90% of its start and ends pinned
# again climbed back to uniform: an entropy bonus raised mid-run (ent_coef 5 at 30%: 0.61 ->
# 0.99 of ln 2); healthy runs never end above the level they once fell to by this much
HELD_AT_START = 0.998  # entropy never below 99.8% of its start and ending at 99.95% or above
# (HELD_END): a restoring force holds the policy at uniform (CleanRL and SB3 PPO with
# ent_coef 0.5 on Acrobot: lowest 99.88-99.99%, end 100.0%). A policy without reward signal
# only drifts down from the maximum, as a random walk from it must (goal-only MountainCar
# A2C/PPO end at 79-99.65%), so a held entropy is a cause even while the return sits at its
# floor: the floor is what a uniform policy scores
HELD_END = 0.9995
MOVED_AT_FIRST = 10 * KL_FROZEN  # KL above this in the first quarter of updates: the
# optimiser did move the policy (to the uniform fixed point, where the KL then sinks to ~0);
# a learning rate of ~0 never does
ABRUPT_DROP = 0.35  # entropy falling to under 35% of its level a tenth of the run earlier:
# healthy PPO/A2C runs lose at most ~45% per tenth (lowest ratio 0.56 over 55 healthy
# corpus runs), a negative entropy bonus switched on late loses 75-80%
ABRUPT_WINDOW_FRACTION = 0.1  # "a tenth of the run": the window of ABRUPT_DROP
START_POINTS = 3  # the initial level: the highest of the first 3 logged updates (a fast
# collapse can be under way by the first log row: SB3 logs every few updates)


def _entropy(run: RunSignals) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Finite entropy ``(steps, values, start)``, or None when it cannot be judged."""
    steps, ent = stats.finite(run.get(names.ENTROPY))
    if ent.size < stats.PERSIST_WINDOW:
        return None
    start = float(np.max(ent[:START_POINTS]))
    return (steps, ent, start) if start > 0 else None


def _reward_progress(run: RunSignals, ctx: DetectContext, step: int) -> float | None:
    """How far (0..1) the training return had come toward its best by ``step``."""
    r_steps, reward = stats.finite(run.get(ctx.reward) if ctx.reward else None)
    if reward.size < stats.PERSIST_WINDOW:
        return None
    prog = stats.progress(r_steps, reward)
    if not prog.improved:
        return 0.0  # the return never got anywhere: no progress to have made
    smooth = stats.rolling_median(reward)
    now = stats.sample_at(r_steps, smooth, np.array([step]))[0]
    return float(prog.at(float(now))) if np.isfinite(now) else 0.0


def detect_entropy_collapse(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Entropy drops below ``COLLAPSE_FRACTION`` of its start before the return has peaked.

    Error when the training return had made under ``COLLAPSE_PROGRESS`` of its eventual
    progress at the onset; a warning when no training return is logged to tell.
    """
    found = _entropy(run)
    if found is None:
        return []
    steps, ent, start = found
    i = stats.persistent_onset(ent < COLLAPSE_FRACTION * start)
    if i is None:
        return []
    done = _reward_progress(run, ctx, int(steps[i]))
    if done is not None and done >= COLLAPSE_PROGRESS:
        return _abrupt_collapse(steps, ent, start, done)
    floor = stats.floor_share(stats.finite(run.get(ctx.reward) if ctx.reward else None)[1])
    drifted = (floor is not None and floor >= FLOOR_NO_SIGNAL
               and float(np.min(ent[i:])) >= DRIVEN_COLLAPSE * start)
    severity = Severity.WARNING if done is None or drifted else Severity.ERROR
    low = float(np.min(ent[i:]))
    evidence = {
        "onset_step": int(steps[i]), "value_at_onset": float(ent[i]), "minimum": low,
        "start": start, "fraction_of_start": float(ent[i] / start),
        "threshold_fraction": COLLAPSE_FRACTION, "reward_progress_at_onset": done,
        "return_share_at_floor": floor, "driven_fraction": DRIVEN_COLLAPSE,
        FLAT_RETURN_CONSEQUENCE: drifted,
    }
    where = "" if done is None else f" with the return only {max(done, 0.0):.0%} of the way up"
    if drifted:
        where += (f" and at its floor on {floor:.0%} of its points: with no reward signal the "
                  f"policy drifts, and a collapse this shallow may be that drift")
    message = (
        f"entropy fell to {ent[i]:.3g} at step {steps[i]} ({ent[i] / start:.0%} of its start "
        f"{start:.3g}, later {low:.3g}){where}: the policy turned near-deterministic before "
        f"it learned, most likely a negative or missing entropy bonus or too large updates"
    )
    return [prescribe(Category.ENTROPY_COLLAPSE, severity=severity, message=message,
                      evidence=evidence, step=int(steps[i]))]


def _abrupt_collapse(steps: np.ndarray, ent: np.ndarray, start: float,
                     done: float) -> list[Finding]:
    """After the return had peaked: a warning when the entropy lost most of what it had
    left within a tenth of the run (a negative bonus or a step-size jump switched on late),
    nothing when it declined at a converging policy's pace."""
    level = stats.rolling_median(ent)
    w = max(stats.PERSIST_WINDOW, round(ABRUPT_WINDOW_FRACTION * ent.size))
    if ent.size <= w:
        return []
    ratio = level[w:] / np.maximum(level[:-w], stats.SCALE_FLOOR)
    j = stats.persistent_onset(ratio < ABRUPT_DROP)
    if j is None:
        return []
    k = j + w  # where the fall had reached ABRUPT_DROP; it began w points earlier
    began = j + int(np.argmax(level[j : k + 1] < level[j]))  # first point below the level
    evidence = {
        "onset_step": int(steps[began]), "level_before": float(level[j]),
        "level_after": float(level[k]), "ratio": float(ratio[j]),
        "threshold_ratio": ABRUPT_DROP, "window_updates": w, "start": start,
        "reward_progress_at_onset": done,
    }
    message = (
        f"entropy fell from {level[j]:.3g} to {level[k]:.3g} between steps {steps[j]} and "
        f"{steps[k]} ({ratio[j]:.0%} of its level a tenth of the run earlier) after the "
        f"return had made {done:.0%} of its progress: a converging policy does not lose "
        f"its remaining randomness this fast; look for an entropy bonus turned negative or a "
        f"step size that jumped at that point"
    )
    return [prescribe(Category.ENTROPY_COLLAPSE, severity=Severity.WARNING, message=message,
                      evidence=evidence, step=int(steps[began]))]


def detect_entropy_stuck(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Entropy pinned within ``STUCK_PINNED`` of its start for the whole run, or back there
    at the end after having fallen below ``STUCK_REBOUND_FROM``.

    Error when the training return made no material progress (the bonus outweighs the
    policy gradient and nothing is learned); a warning when the return learned (a
    slow-moving policy, common for Gaussian policies, short runs and CleanRL's PPO on
    Acrobot and LunarLander, which holds 99% of its start for 30-80k steps), when the
    return sat at its floor (no signal to fight: ``doctor.reward`` names the sparse
    reward) or when no return is logged, unless the entropy is *held* at its start
    (``HELD_AT_START``): a return at its floor lets the entropy drift down, a bonus does not.
    A frozen policy (KL ~0) is left to ``plateau``, except one held at uniform after it
    moved (``MOVED_AT_FIRST``): the bonus's fixed point has KL ~0 too.
    A merely slow decline is not flagged: healthy rl-zoo PPO on CartPole is still at 80-85%
    of its starting entropy a third of the way into training. Dated at the first update
    when pinned while the return got nowhere, at the step where the return had made
    material progress when pinned while it learned (from then on a learning policy loses
    entropy), else at the turn where the entropy began to climb back.
    """
    found = _entropy(run)
    if found is None:
        return []
    steps, ent, start = found
    level = stats.rolling_median(ent)
    lowest = float(np.min(level)) / start
    end = float(np.median(ent[-stats.baseline_size(ent.size):])) / start
    held = lowest >= HELD_AT_START and end >= HELD_END and _moved_at_first(run)
    if policy_frozen(run) is not None and not held:
        return []
    pinned = lowest >= STUCK_PINNED
    rebound = not pinned and lowest < STUCK_REBOUND_FROM and end >= STUCK_PINNED
    if not (pinned or rebound):
        return []
    turn = 0 if pinned else int(np.argmin(level))
    r_steps, reward = stats.finite(run.get(ctx.reward) if ctx.reward else None)
    prog = stats.progress(r_steps, reward) if reward.size >= stats.PERSIST_WINDOW else None
    learned = prog is not None and (_return_held(r_steps, reward, int(steps[turn]))
                                     if rebound else prog.improved)
    if pinned and learned and prog is not None:
        turn = int(np.searchsorted(steps, _learned_step(r_steps, reward, prog)))
        turn = min(turn, steps.size - 1)
    evidence = {
        "onset_step": int(steps[turn]), "start": start, "lowest_fraction_of_start": lowest,
        "end_fraction_of_start": end, "threshold_fraction": STUCK_PINNED,
        "rebound": rebound, "held_at_start": held,
        "reward_relative_gain": None if prog is None else prog.rel_gain,
        "return_improved": learned,
    }
    shape = (f"stayed at or above {lowest:.0%} of its start {start:.3g} over every update"
             if pinned else f"fell to {lowest:.0%} of its start {start:.3g} and climbed "
             f"back to {end:.0%} from step {steps[turn]}")
    # An LLM's per-token entropy is not a max-entropy action distribution: it staying near
    # its start while a reward that ignores token choice rises is expected (TRL's default
    # entropy coefficient is 0, GRPO has no bonus at all), so language-model runs get a
    # warning at most, and a message without the classic "entropy bonus" advice.
    llm_run = run.get(names.RESPONSE_LENGTH) is not None
    why = _stuck_reason(stalled=prog is not None and not learned, llm_run=llm_run)
    floor = stats.floor_share(reward)
    no_signal = (floor is not None and floor >= FLOOR_NO_SIGNAL  # no gradient to fight ...
                 and not held)  # ... but a held entropy is not what no gradient does
    severity = (Severity.ERROR if prog is not None and not learned and not no_signal
                and not llm_run else Severity.WARNING)
    return [prescribe(Category.ENTROPY_STUCK, severity=severity,
                      message=f"entropy {shape} {why}",
                      evidence={**evidence, "language_model_run": llm_run,
                                FLAT_RETURN_CONSEQUENCE: no_signal},
                      step=int(steps[turn]))]


def _moved_at_first(run: RunSignals) -> bool:
    """Whether the KL says the policy moved in its first quarter of updates
    (``MOVED_AT_FIRST``): a policy held at uniform got there by updates, a frozen one never
    moved. Without a KL, ``policy_frozen`` judges by the entropy's spread alone."""
    _, kl = stats.finite(run.get(names.KL))
    if kl.size < stats.MIN_BASELINE_POINTS:
        return False
    return float(np.max(np.abs(kl[: max(kl.size // 4, 1)]))) >= MOVED_AT_FIRST


def _stuck_reason(*, stalled: bool, llm_run: bool) -> str:
    """Why the entropy stays put, in the run's own terms (a language model has no bonus)."""
    if llm_run:
        return ("while the reward " + ("made no material progress" if stalled else "rose")
                + ": the token distribution is not sharpening, most likely because the reward "
                "does not depend on which tokens are chosen or does not vary within groups")
    if stalled:
        return ("while the return made no material progress: the policy is held at uniform, "
                "most likely an entropy bonus that outweighs the policy gradient")
    return ("while the return still improved: a slow-moving policy (common for Gaussian "
            "policies and short runs); if it should have converged, lower the entropy bonus")


def _return_held(steps: np.ndarray, reward: np.ndarray, at: int) -> bool:
    """Whether the return at the end is at least where it was before ``at`` (a policy pushed
    back to uniform mid-run loses what it had learned: 300 -> 28 on CartPole)."""
    before, after = reward[steps < at], reward[steps >= at]
    if before.size == 0 or after.size == 0:
        return True
    k = stats.baseline_size(after.size)
    return float(np.median(after[-k:])) >= float(np.median(before[-k:]))


def _learned_step(steps: np.ndarray, reward: np.ndarray, prog: stats.Progress) -> int:
    """First step at which the return had made material progress: from then on a learning
    policy should have been losing entropy, so that is when "stuck" begins."""
    smooth = stats.rolling_median(reward)
    reached = smooth >= prog.start + stats.MATERIAL_GAIN * prog.scale
    return int(steps[int(np.argmax(reached))])
