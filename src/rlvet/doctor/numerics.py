"""The numerics link: NaN and inf, and the growth that precedes them.

Contents:
    detect_numerical_instability(run, ctx) -- the first non-finite value in any signal, a
        ``nan_count`` above 0, a loss that grows by orders of magnitude, a policy whose
        entropy is exactly 0 (saturated logits), a critic whose explained variance drops to
        exactly 0 (dead units), or gradient-norm spikes far above the run's recent level.
    dead_critic_onset(ev) -- where a critic that was explaining returns went exactly to 0.
    explosion_onset(values) -- where a loss left its early scale by orders of magnitude.
    recurring_blowups(values) -- where a loss first left it in a run of repeated blow-ups.

Why: once a NaN reaches the weights every later number is meaningless, so the first
non-finite value is a hard break. Before it, the usual precursors are a loss growing by
orders of magnitude and gradient norms jumping 10x and more above their running level
(the reason ``max_grad_norm`` exists; Pascanu et al. 2013 on exploding gradients).

Skipped: ``explained_variance``. SB3 logs it as NaN by design when the returns have zero
variance (``explained_variance`` in sb3 common/utils.py), which is a property of the reward
(see ``sparse_reward``), not of the arithmetic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np

from rlvet import stats
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = [
    "ENTROPY_SATURATED",
    "EV_EXACT_ZERO",
    "GRAD_SPIKE_RATIO",
    "LOSS_EXPLOSION_FLOOR",
    "RECURRING_BLOWUPS",
    "LOSS_EXPLOSION_RATIO",
    "NAN_BY_DESIGN",
    "dead_critic_onset",
    "detect_numerical_instability",
    "explosion_onset",
    "recurring_blowups",
]

NAN_BY_DESIGN = frozenset({names.EXPLAINED_VARIANCE})  # NaN means "undefined", not overflow
LOSS_EXPLOSION_RATIO = 1e4  # |loss| 4 orders of magnitude above its early level: no reward
# growth or schedule explains that, it is divergence on the way to overflow
GRAD_SPIKE_RATIO = 10.0  # grad norm 10x its recent median: the step is dominated by a few
# samples; clipping at max_grad_norm would have cut it (Pascanu et al. 2013)
LOSSES = (names.LOSS, names.VALUE_LOSS)  # the policy-gradient loss is ~0 by construction
# (normalised advantages), so a ratio to its early level means nothing
RECURRING_BLOWUPS = 2  # separate updates over the explosion limit: one could be a logging
# glitch, two are a pattern
LOSS_EXPLOSION_FLOOR = 1e6  # and the loss is large in absolute terms too: a value error of
# 1e3 return units, beyond any normal return scale's early wobble
EV_EXACT_ZERO = 1e-6  # |explained variance| below float32 resolution: the value output is the
# same for every state of the batch (Var(v) = 0), i.e. the network no longer sees its input
EV_INFORMATIVE = 0.1  # before dying, the critic explained at least 10% of the return variance
DEAD_SHARE = 0.8  # and it stays dead: exactly 0 on 80% of the updates from the onset on
ENTROPY_SATURATED = 1e-9  # nats: a float32 softmax reaches exactly 0 entropy only when its
# logits differ by > ~100 (exp underflow); a collapsing but finite policy stays at 1e-6..1e-3


def _first_nonfinite(run: RunSignals) -> tuple[int, str, float] | None:
    """Earliest ``(step, signal, value)`` that is NaN or inf, over every logged signal."""
    first: tuple[int, str, float] | None = None
    for name, series in run.series.items():
        if name in NAN_BY_DESIGN:
            continue
        bad = np.flatnonzero(~np.isfinite(series.values))
        if bad.size and (first is None or int(series.steps[bad[0]]) < first[0]):
            first = (int(series.steps[bad[0]]), name, float(series.values[bad[0]]))
    return first


def _nonfinite(run: RunSignals) -> Finding | None:
    """A NaN or inf anywhere, or a positive ``nan_count``."""
    hit = _first_nonfinite(run)
    steps, count = stats.finite(run.get(names.NAN_COUNT))
    counted = np.flatnonzero(count > 0)
    if counted.size and (hit is None or int(steps[counted[0]]) < hit[0]):
        hit = (int(steps[counted[0]]), names.NAN_COUNT, float(count[counted[0]]))
    if hit is None:
        return None
    step, name, value = hit
    label = run.raw_names.get(name, name)
    message = (
        f"{label} is {value:g} at step {step}: training produced a non-finite number, so "
        f"every later update is meaningless; most likely an exploding update (learning rate "
        f"too high, no gradient clipping) or a log/division of zero"
    )
    return prescribe(Category.NUMERICAL_INSTABILITY, severity=Severity.ERROR, message=message,
                     evidence={"onset_step": step, "signal": label, "value": value},
                     step=step)


def _over_limit(values: np.ndarray) -> np.ndarray:
    """Mask of ``|values|`` above ``LOSS_EXPLOSION_RATIO`` x the early median and above
    ``LOSS_EXPLOSION_FLOOR``."""
    base = stats.early_baseline(np.abs(values))
    return cast(np.ndarray,
                np.abs(values) > max(LOSS_EXPLOSION_RATIO * base.median, LOSS_EXPLOSION_FLOOR))


def explosion_onset(values: np.ndarray) -> int | None:
    """Index from which ``|values|`` stays above ``LOSS_EXPLOSION_RATIO`` x its early median
    (and above ``LOSS_EXPLOSION_FLOOR``).

    Args:
        values: shape (n,), finite loss values in log order.
    """
    if values.size < stats.PERSIST_TAIL:
        return None
    return stats.persistent_onset(_over_limit(values))


def recurring_blowups(values: np.ndarray) -> int | None:
    """Index of the first of ``RECURRING_BLOWUPS`` or more isolated excursions above the
    explosion limit (the loss falls back in between), or None.

    Why: a glitched reward channel (a 1e7 reward on 1% of steps) throws the value loss to
    1e12-1e13 and back, update after update; no stretch is persistent, yet every such update
    is a step of arithmetic far outside anything a healthy run logs (the floor is 1e6).
    """
    if values.size < stats.PERSIST_WINDOW:
        return None
    over = np.flatnonzero(_over_limit(values))
    return int(over[0]) if over.size >= RECURRING_BLOWUPS else None


def _exploding_loss(run: RunSignals) -> Finding | None:
    """The earliest loss whose magnitude stays ``LOSS_EXPLOSION_RATIO`` x above its early
    level, or leaves it again and again (``recurring_blowups``)."""
    hits = []
    for name in LOSSES:
        steps, loss = stats.finite(run.get(name))
        i = explosion_onset(loss)
        if i is None:
            i = recurring_blowups(loss)
        if i is not None:
            hits.append((int(steps[i]), name, steps, loss, i))
    if not hits:
        return None
    _, name, steps, loss, i = min(hits, key=lambda h: h[0])
    base = stats.early_baseline(np.abs(loss))
    label = run.raw_names.get(name, name)
    ratio = abs(loss[i]) / max(base.median, stats.SCALE_FLOOR)
    message = (
        f"{label} grew to {loss[i]:.3g} at step {steps[i]} ({ratio:.2g}x its early median "
        f"{base.median:.3g}): the optimisation is diverging on its way to overflow"
    )
    evidence = {"onset_step": int(steps[i]), "signal": label, "value": float(loss[i]),
                "ratio": float(ratio), "ratio_needed": LOSS_EXPLOSION_RATIO,
                "over_limit_updates": int(_over_limit(loss).sum()), **base.to_evidence()}
    return prescribe(Category.NUMERICAL_INSTABILITY, severity=Severity.ERROR,
                     message=message, evidence=evidence, step=int(steps[i]))


def _grad_spikes(run: RunSignals) -> Finding | None:
    """Gradient norms persistently ``GRAD_SPIKE_RATIO`` x above their trailing median."""
    steps, grad = stats.finite(run.get(names.GRAD_NORM))
    if grad.size < stats.PERSIST_WINDOW:
        return None
    ref = stats.trailing_median(grad)
    # a recent median of exactly 0 is no gradient at all (GRPO groups with no reward
    # spread): the first non-zero norm after it is a start, not a spike
    i = stats.persistent_onset((ref > stats.SCALE_FLOOR) & (grad > GRAD_SPIKE_RATIO * ref))
    if i is None:
        return None
    message = (
        f"gradient norm jumped to {grad[i]:.3g} at step {steps[i]} ({grad[i] / ref[i]:.2g}x "
        f"its recent median {ref[i]:.3g}) and kept spiking: a precursor of divergence"
    )
    evidence = {"onset_step": int(steps[i]), "value": float(grad[i]),
                "recent_median": float(ref[i]), "ratio": float(grad[i] / ref[i]),
                "ratio_needed": GRAD_SPIKE_RATIO,
                "peak": float(np.max(grad[i:]))}
    return prescribe(Category.NUMERICAL_INSTABILITY, severity=Severity.WARNING,
                     message=message, evidence=evidence, step=int(steps[i]))


def dead_critic_onset(ev: np.ndarray) -> int | None:
    """Index from which explained variance is exactly 0 after having been informative.

    Args:
        ev: shape (n,), finite explained-variance values in log order.

    Why: a critic fitting badly scores anywhere near 0; one whose output is a constant
    scores 0 to the last bit. A critic that explained the returns and then goes exactly to 0
    has died (all ReLUs negative, saturated units) after an oversized update: a numerical
    failure, not a fitting one.
    """
    i = stats.persistent_onset(np.abs(ev) <= EV_EXACT_ZERO)
    if i is None or i < stats.MIN_BASELINE_POINTS:
        return None
    dead_share = float(np.mean(np.abs(ev[i:]) <= EV_EXACT_ZERO))
    informative = float(np.median(ev[:i])) >= EV_INFORMATIVE
    return i if informative and dead_share >= DEAD_SHARE else None


def _dead_critic(run: RunSignals) -> Finding | None:
    """Explained variance pinned at exactly 0 after the critic had been explaining returns."""
    steps, ev = stats.finite(run.get(names.EXPLAINED_VARIANCE))
    i = dead_critic_onset(ev) if ev.size >= stats.PERSIST_WINDOW else None
    if i is None:
        return None
    before = float(np.median(ev[:i]))
    message = (
        f"explained variance is exactly {abs(ev[i]):.2g} from step {steps[i]} (median {before:.2f} "
        f"before): the value network's output no longer depends on its input, so its units "
        f"died (ReLUs stuck negative or saturated) after an oversized update"
    )
    evidence = {"onset_step": int(steps[i]), "median_before": before,
                "threshold": EV_EXACT_ZERO,
                "dead_share": float(np.mean(np.abs(ev[i:]) <= EV_EXACT_ZERO))}
    return prescribe(Category.NUMERICAL_INSTABILITY, severity=Severity.ERROR, message=message,
                     evidence=evidence, step=int(steps[i]))


def _saturated(run: RunSignals) -> Finding | None:
    """Policy entropy at (float) zero for several updates: the output layer blew up."""
    steps, ent = stats.finite(run.get(names.ENTROPY))
    if ent.size < stats.PERSIST_TAIL:
        return None
    i = stats.persistent_onset(np.abs(ent) <= ENTROPY_SATURATED)
    if i is None:
        return None
    message = (
        f"entropy is {abs(ent[i]):.3g} at step {steps[i]} and stays at zero: the action "
        f"distribution has saturated (logits ~100 apart, beyond float32), so gradients "
        f"through it vanish; the weights blew up, most likely a learning rate far too high"
    )
    evidence = {"onset_step": int(steps[i]), "value": float(ent[i]),
                "threshold": ENTROPY_SATURATED,
                "saturated_share": float(np.mean(np.abs(ent[i:]) <= ENTROPY_SATURATED))}
    return prescribe(Category.NUMERICAL_INSTABILITY, severity=Severity.ERROR, message=message,
                     evidence=evidence, step=int(steps[i]))


def detect_numerical_instability(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Non-finite values, exploding losses, a saturated policy, a dead critic (errors);
    gradient-norm spikes (warning).

    Returns at most one finding: the most severe, then earliest, piece of evidence.
    """
    found = [f for f in (_nonfinite(run), _exploding_loss(run), _saturated(run),
                         _dead_critic(run), _grad_spikes(run)) if f]
    if not found:
        return []
    return [min(found, key=lambda f: (f.severity.rank, f.step or 0))]
