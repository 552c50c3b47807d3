"""The exploration link: does the policy's randomness shrink at the right pace?

Contents:
    detect_entropy_collapse(run, ctx) -- entropy falls to a fraction of its start before the
        return has got anywhere: the policy turned deterministic too early.
    detect_entropy_stuck(run, ctx) -- entropy stays pinned at its start while the policy
        trains: something (usually the entropy bonus) holds it at uniform.

Why: a policy-gradient agent should lose entropy as it learns, smoothly, and roughly as fast
as its return improves (healthy PPO on CartPole: 0.69 -> ~0.2 nats while the return goes
20 -> 500). A collapse well before the return peaks leaves nothing to explore with, and the
return stalls or falls (Mnih et al. 2016 added the entropy bonus for exactly this; Ahmed
et al. 2019). Entropy that never moves while the return improves means the bonus outweighs
the policy gradient.

Entropy is read as +entropy (SB3's ``train/entropy_loss`` is negated by its reader). The
fraction rules need a positive starting entropy, which every discrete policy has; a
Gaussian policy's entropy can start at or fall below 0 and is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rlvet.doctor import onset
from rlvet.doctor.policy_update import policy_frozen
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = [
    "COLLAPSE_FRACTION",
    "COLLAPSE_PROGRESS",
    "STUCK_PINNED",
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
START_POINTS = 3  # the initial level: the highest of the first 3 logged updates (a fast
# collapse can be under way by the first log row: SB3 logs every few updates)


def _entropy(run: RunSignals) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Finite entropy ``(steps, values, start)``, or None when it cannot be judged."""
    steps, ent = onset.finite(run.get(names.ENTROPY))
    if ent.size < onset.PERSIST_WINDOW:
        return None
    start = float(np.max(ent[:START_POINTS]))
    return (steps, ent, start) if start > 0 else None


def _reward_progress(run: RunSignals, ctx: DetectContext, step: int) -> float | None:
    """How far (0..1) the training return had come toward its best by ``step``."""
    r_steps, reward = onset.finite(run.get(ctx.reward) if ctx.reward else None)
    if reward.size < onset.PERSIST_WINDOW:
        return None
    prog = onset.progress(r_steps, reward)
    smooth = onset.rolling_median(reward)
    now = onset.sample_at(r_steps, smooth, np.array([step]))[0]
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
    i = onset.persistent_onset(ent < COLLAPSE_FRACTION * start)
    if i is None:
        return []
    done = _reward_progress(run, ctx, int(steps[i]))
    if done is not None and done >= COLLAPSE_PROGRESS:
        return []  # the return had (nearly) peaked: a converged policy is allowed to be sure
    severity = Severity.WARNING if done is None else Severity.ERROR
    low = float(np.min(ent[i:]))
    evidence = {
        "onset_step": int(steps[i]), "value_at_onset": float(ent[i]), "minimum": low,
        "start": start, "fraction_of_start": float(ent[i] / start),
        "threshold_fraction": COLLAPSE_FRACTION, "reward_progress_at_onset": done,
    }
    where = "" if done is None else f" with the return only {max(done, 0.0):.0%} of the way up"
    message = (
        f"entropy fell to {ent[i]:.3g} at step {steps[i]} ({ent[i] / start:.0%} of its start "
        f"{start:.3g}, later {low:.3g}){where}: the policy turned near-deterministic before "
        f"it learned, most likely a negative or missing entropy bonus or too large updates"
    )
    return [prescribe(Category.ENTROPY_COLLAPSE, severity=severity, message=message,
                      evidence=evidence, step=int(steps[i]))]


def detect_entropy_stuck(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Entropy pinned within ``STUCK_PINNED`` of its start for the whole run.

    Error when the return improved materially meanwhile (the policy learned yet stayed
    uniform: the bonus fights the gradient), a warning otherwise. A frozen policy (KL ~0)
    is left to ``plateau``. A merely slow decline is not flagged: healthy rl-zoo PPO on
    CartPole is still at 80-85% of its starting entropy a third of the way into training.
    Dated when the return had made material progress (from then on a learning policy loses
    entropy), else at the first logged update.
    """
    found = _entropy(run)
    if found is None or policy_frozen(run) is not None:
        return []
    steps, ent, start = found
    lowest = float(np.min(onset.rolling_median(ent))) / start
    if lowest < STUCK_PINNED:
        return []
    r_steps, reward = onset.finite(run.get(ctx.reward) if ctx.reward else None)
    prog = onset.progress(r_steps, reward) if reward.size >= onset.PERSIST_WINDOW else None
    learned = prog is not None and prog.improved
    step = _learned_step(r_steps, reward, prog) if prog is not None and learned else int(
        steps[0])
    evidence = {
        "onset_step": step, "start": start, "lowest_fraction_of_start": lowest,
        "end": float(np.median(ent[-onset.baseline_size(ent.size):])),
        "threshold_fraction": STUCK_PINNED,
        "reward_relative_gain": None if prog is None else prog.rel_gain,
    }
    why = (f"while the return improved {prog.rel_gain:.0%}" if prog is not None and learned
           else "over every update")
    message = (
        f"entropy stayed at or above {lowest:.0%} of its start {start:.3g} {why}: the policy "
        f"is held at uniform, most likely an entropy bonus that outweighs the policy gradient"
    )
    # An LLM's per-token entropy is not a max-entropy action distribution: it staying near
    # its start while a reward that ignores token choice rises is expected (TRL's default
    # entropy coefficient is 0), so language-model runs get a warning at most.
    llm_run = run.get(names.RESPONSE_LENGTH) is not None
    severity = Severity.ERROR if learned and not llm_run else Severity.WARNING
    return [prescribe(Category.ENTROPY_STUCK, severity=severity, message=message,
                      evidence={**evidence, "language_model_run": llm_run}, step=step)]


def _learned_step(steps: np.ndarray, reward: np.ndarray, prog: onset.Progress) -> int:
    """First step at which the return had made material progress: from then on a learning
    policy should have been losing entropy, so that is when "stuck" begins."""
    smooth = onset.rolling_median(reward)
    reached = smooth >= prog.start + onset.MATERIAL_GAIN * prog.scale
    return int(steps[int(np.argmax(reached))])
