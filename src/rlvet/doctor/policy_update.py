"""The policy-update link: is each update a small step inside the trust region?

Contents:
    detect_kl_spike(run, ctx) -- the KL between consecutive policies jumps and stays high, or
        runs above the field's early-stop level for most of the run (too large a step from
        the first update, which never "jumps").
    detect_clip_saturation(run, ctx) -- most samples hit PPO's clip boundary, update after update.
    policy_frozen(run) -- whether the policy is not moving at all (KL ~0 or a constant entropy).

Why these signals: PPO's guarantee is a bounded policy change per update. The KL between
the old and new policy measures that change directly; when it jumps an order of magnitude
above the run's own level and above any common ``target_kl``, the update overshot, and
returns typically collapse a few updates later (Schulman et al. 2017; Engstrom et al.
2020). The clip fraction is the indirect measure: when most samples are clipped, the
surrogate has no gradient for them and the optimiser is pushing against the boundary.

Scales: SB3's ``approx_kl`` (mean of the last epoch) sits at 1e-3..3e-2 in healthy runs,
CleanRL's (last minibatch) is noisier, TRL's ``kl`` to the reference grows slowly from 0.
The rules compare a run with its own trailing level (a jump, not a drift) and require an
absolute bound as well, so all three read correctly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rlvet import stats
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = [
    "CLIP_SATURATED",
    "CLIP_SUSTAINED",
    "KL_BOUND",
    "KL_EPISODE_MAX",
    "KL_FROZEN",
    "KL_JUMP_RATIO",
    "KL_LEVEL_OF_BOUND",
    "detect_clip_saturation",
    "detect_kl_spike",
    "policy_frozen",
]

KL_BOUND = 0.1  # nats per update: 3-10x the usual target_kl (0.01-0.03); beyond it PPO's
# surrogate no longer approximates the true objective (Schulman et al. 2017, sec. 4)
KL_JUMP_RATIO = 5.0  # x the recent median: an order-of-magnitude change in step size,
# far above the ~2x scatter of minibatch KL estimates between healthy updates
KL_LEVEL_OF_BOUND = 0.15  # the regime level as a share of KL_BOUND: 0.015 nats at the
# default bound, where Spinning Up's PPO stops an update's epochs (approx_kl above 1.5 x
# target_kl 0.01); the running median of 55 healthy corpus runs (SB3, CleanRL-style, rlvet
# train; CartPole to Hopper) stayed under it on 99.5% of updates. Tied to the bound so a
# project that declares another KL scale ([thresholds] kl_bound) moves both
KL_LEVEL_SHARE = 0.4  # ... and a run whose running KL is above it on 40%+ of its updates
# steps outside the trust region as a regime (lr 0.02-0.05 from the start: 56-100%)
KL_LEVEL_WINDOW = 9  # running-median width for the level: CleanRL's last-minibatch KL
# swings 10x between updates
KL_REGIME_MIN_UPDATES = 4 * KL_LEVEL_WINDOW  # a regime is a claim about the run: a healthy
# PPO's first ~25 updates, while it learns fastest, can step above the level (SB3 CartPole
# with a 100-step time limit: 55% of its first 20 updates, then under it for good), so the
# live path must not call a regime on fewer than 36 updates; planted regimes hold over
# 97-195 updates
KL_TRAILING = 10  # updates in the "recent" reference: long enough to ignore one outlier
KL_EPISODE_MAX = 5  # a spike shorter than one persistence window (stats.PERSIST_WINDOW) ...
KL_RELAPSE_SHARE = 0.1  # ... after which at most 10% of updates exceed the bound again
# (lr or epochs too high: 30-60% do) and the policy is not dead (KL ~0 on half the updates)
KL_DEAD_SHARE = 0.5
KL_KILL_OF_BOUND = 10.0  # x KL_BOUND, read at call time so a project's kl_bound moves it:
# one update past 1 nat at the default bound, then a dead policy (KL ~0 on KL_DEAD_SHARE
# of the rest): the step that killed it (SB3 PPO lr 0.01 on LunarLander: 9.7 nats, then 0 on
# 23 of 27 updates); healthy PPO never moves 1 nat in an update, and the one-update spike
# never persists, which is why persistence alone missed it
KL_FROZEN = 1e-6  # median KL below this: action probabilities move by ~0.1% per update,
# i.e. the optimiser is not changing the policy (lr ~0, zero gradients)
ENTROPY_FROZEN = 1e-5  # relative spread of entropy below this: bit-identical policies
CLIP_SATURATED = 0.3  # clip fraction: above 0.3 PPO brakes on most samples; healthy runs
# sit at 0.02-0.2 (Engstrom et al. 2020; SB3 rl-zoo CartPole logs 0.05-0.2)
CLIP_SMOOTHING = 5  # running-median width: judge the level, not single updates
CLIP_SUSTAINED = 0.5  # saturated on half the updates from the onset on: a regime, not an
# episode (an oversized early step that PPO's clipping then contained)


def _label(run: RunSignals, name: str) -> str:
    """The name the user logged a canonical signal under, for messages."""
    return run.raw_names.get(name, name)


def _kl_exceedance(kl: np.ndarray) -> np.ndarray:
    """Mask of updates whose KL is above the bound and far above the run's recent level.

    A run whose *early* KL is already above the bound broke from the first update (a
    learning rate 50x too high, no clipping); there is no healthy level to jump from, so
    the bound alone decides. KL to a reference policy starts at 0 and never takes this path.
    Once spiking, the spike lasts while the KL, or its running level, stays above the bound
    (the trailing median has caught up with it by then; CleanRL's last-minibatch KL swings
    0.02 <-> 0.5 from one update to the next), or drops to ~0: that is not recovery but a
    dead policy (deterministic, saturated: it cannot move any more). A KL that only drifts up
    smoothly, as TRL's KL to the reference model does, never starts a spike.
    """
    high = kl > KL_BOUND
    if stats.early_baseline(kl).median > KL_BOUND:
        return high
    ref = stats.trailing_median(kl, KL_TRAILING)
    ref[0] = 0.0  # the first update has no history: the bound alone judges it
    spike = high & (kl > KL_JUMP_RATIO * ref)
    still = high | (stats.rolling_median(kl) > KL_BOUND) | (kl <= KL_FROZEN)
    for i in range(1, spike.size):
        spike[i] |= spike[i - 1] and still[i]
    return spike


def _dead_share(kl: np.ndarray) -> float:
    """Share of these updates with KL at most ``KL_FROZEN``: a policy that no longer moves
    (0 for none)."""
    return float(np.mean(kl <= KL_FROZEN)) if kl.size else 0.0


def _killing_step(kl: np.ndarray) -> int | None:
    """Index of the first update past ``KL_KILL_OF_BOUND`` x ``KL_BOUND`` after which the
    policy is dead (KL at most ``KL_FROZEN`` on ``KL_DEAD_SHARE`` of the remaining updates,
    at least a persistence window of them), or None."""
    for i in np.flatnonzero(kl > KL_KILL_OF_BOUND * KL_BOUND):
        rest = kl[i + 1 :]
        if rest.size >= stats.PERSIST_WINDOW and _dead_share(rest) >= KL_DEAD_SHARE:
            return int(i)
    return None


def _spike_onset(kl: np.ndarray) -> int | None:
    """Index of the first KL exceedance that persists, or of the update that killed the
    policy (``_killing_step``), whichever is first."""
    found = [i for i in (stats.persistent_onset(_kl_exceedance(kl)), _killing_step(kl))
             if i is not None]
    return min(found, default=None)


def _kl_onset(run: RunSignals) -> int | None:
    """Index of the first persistent KL exceedance, or None."""
    _, kl = stats.finite(run.get(names.KL))
    if kl.size < stats.PERSIST_TAIL:
        return None
    return _spike_onset(kl)


def _kl_regime(steps: np.ndarray, kl: np.ndarray, label: str) -> Finding | None:
    """The running KL above ``KL_LEVEL_OF_BOUND`` x ``KL_BOUND`` on ``KL_LEVEL_SHARE`` of
    the updates, already over it in the first ``KL_LEVEL_WINDOW`` updates: every update
    oversteps from the start,
    without a jump to date it by. A KL that only grows into the level (TRL's KL to the
    reference) is not a regime."""
    bar = KL_LEVEL_OF_BOUND * KL_BOUND
    level = stats.rolling_median(kl, KL_LEVEL_WINDOW)
    over = level > bar
    share = float(np.mean(over))
    i = stats.persistent_onset(over)
    if (i is None or share < KL_LEVEL_SHARE or kl.size < KL_REGIME_MIN_UPDATES
            or float(np.median(kl[:KL_LEVEL_WINDOW])) <= bar):
        return None  # none, or it grew into it: a KL to a reference model starts at 0
    i += int(np.argmax(kl[i:] > bar))  # the centred median looks ahead: date it at the
    # first update that itself overstepped
    evidence = {
        "onset_step": int(steps[i]), "running_median_at_onset": float(level[i]),
        "median_kl": float(np.median(kl)), "level": bar,
        "share_of_updates_above": share, "share_needed": KL_LEVEL_SHARE,
        "updates": int(kl.size),
    }
    message = (
        f"{label} ran above {bar:.3g} (running median) on {share:.0%} of {kl.size} updates "
        f"from step {steps[i]} (median {np.median(kl):.3g}): every update steps further than "
        f"PPO implementations allow (Spinning Up stops at 1.5 x target_kl 0.01), most likely "
        f"a learning rate or epoch count too high from the start"
    )
    return prescribe(Category.KL_SPIKE, severity=Severity.ERROR, message=message,
                     evidence=evidence, step=int(steps[i]))


def detect_kl_spike(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """KL between consecutive policies jumps above ``KL_BOUND`` and stays there (error),
    leaves the bound for a few updates and regains it for good (warning), or runs above
    ``KL_LEVEL_OF_BOUND`` x ``KL_BOUND`` as a regime (error, dated where the regime began
    when that is clearly earlier).

    Needs ``kl`` between consecutive policies (not to a reference model); silent for
    algorithms that do not log it (A2C, DQN, SAC).
    """
    steps, kl = stats.finite(run.get(names.KL))
    if kl.size < stats.PERSIST_TAIL:
        return []
    regime = _kl_regime(steps, kl, _label(run, names.KL))
    above = _kl_exceedance(kl)
    i = _spike_onset(kl)
    if i is None or (regime is not None and regime.step is not None
                     and int(np.searchsorted(steps, regime.step)) + KL_LEVEL_WINDOW < i):
        return [regime] if regime is not None else []  # no jump, or the regime came first
    base = stats.early_baseline(kl)
    window = above[i : i + stats.PERSIST_WINDOW]
    peak = float(np.max(kl[i:]))
    label = _label(run, names.KL)
    before = float(np.median(kl[max(0, i - KL_TRAILING):i])) if i else None
    evidence = {
        "onset_step": int(steps[i]), "value_at_onset": float(kl[i]), "peak": peak,
        "bound": KL_BOUND, "jump_ratio_needed": KL_JUMP_RATIO,
        "recent_median": before,
        "jump_ratio": None if not before else float(kl[i]) / before,
        "exceeding_in_window": int(window.sum()), "window": int(window.size),
        "robust_z": float(stats.robust_z(kl[i : i + 1], base)[0]), **base.to_evidence(),
    }
    length, recovered = _excursion(kl, above, i)
    dead = _dead_share(kl[i + 1 :])
    evidence |= {"spike_updates": length, "recovered": recovered,
                 "dead_share_after": dead}
    message = (
        f"{label} jumped to {kl[i]:.3g} at step {steps[i]} and peaked at {peak:.3g} "
        f"(early median {base.median:.2g}, bound {KL_BOUND}): each update moves the policy "
        f"far outside the trust region, most likely a learning rate or epoch count too high"
    )
    if dead >= KL_DEAD_SHARE:
        message += (f"; the policy then stopped moving (KL ~0 on {dead:.0%} of the later "
                    f"updates): that step made it deterministic")
    if recovered:
        message = (f"{label} left the trust region for {length} updates from step {steps[i]} "
                   f"(peak {peak:.3g}, bound {KL_BOUND}) and came back within it for the rest "
                   f"of the run: an oversized step that clipping contained; look at what "
                   f"changed at that step (a schedule, the reward, the entropy)")
    return [prescribe(Category.KL_SPIKE, severity=Severity.WARNING if recovered else
                      Severity.ERROR, message=message, evidence=evidence, step=int(steps[i]))]


def _excursion(kl: np.ndarray, above: np.ndarray, i: int) -> tuple[int, bool]:
    """Length of the spike from ``i`` and whether the KL then stayed within the bound.

    Why: a trust region left for a few updates and regained for good is PPO's clipping doing
    its job (an entropy collapse or a reward change jolts the policy once); a learning rate
    or an epoch count too high keeps the KL above the bound, or kills the policy (KL ~0,
    which ``_kl_exceedance`` counts as still spiking).
    """
    end = i
    while end < above.size and above[end]:
        end += 1
    rest = kl[end:]
    recovered = (end - i < KL_EPISODE_MAX and rest.size >= stats.PERSIST_WINDOW
                 and float(np.mean(rest > KL_BOUND)) <= KL_RELAPSE_SHARE
                 and _dead_share(rest) < KL_DEAD_SHARE)
    return end - i, recovered


def detect_clip_saturation(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """PPO's clip fraction stays above ``CLIP_SATURATED`` (running median) for several updates.

    A warning, not an error: clipping is PPO's brake working as designed. Saturation must
    be a regime (``CLIP_SUSTAINED`` of the updates from its onset on), and when the KL
    itself spikes the KL finding is the diagnosis and the clip fraction its symptom.
    """
    steps, clip = stats.finite(run.get(names.CLIP_FRACTION))
    if clip.size < stats.PERSIST_TAIL:
        return []
    level = stats.rolling_median(clip, CLIP_SMOOTHING)
    i = stats.persistent_onset(level > CLIP_SATURATED)
    if i is None or _kl_onset(run) is not None:
        return []  # no saturation, or the KL itself left the trust region: doctor.kl_spike
    stretch = level[i:] > CLIP_SATURATED
    if stretch.mean() < CLIP_SUSTAINED:
        return []  # an episode of heavy clipping that PPO recovered from
    median_after = float(np.median(clip[i:][stretch]))
    base = stats.early_baseline(clip)
    label = _label(run, names.CLIP_FRACTION)
    evidence = {
        "onset_step": int(steps[i]), "median_while_saturated": median_after,
        "peak": float(np.max(clip[i:])), "threshold": CLIP_SATURATED,
        "saturated_updates": int(stretch.sum()), "updates": int(clip.size),
        **base.to_evidence(),
    }
    message = (
        f"{label} stayed above {CLIP_SATURATED} from step {steps[i]} (median "
        f"{median_after:.2f} over {int(stretch.sum())} updates, early median "
        f"{base.median:.2f}): most samples hit the clip boundary, so the step size is too "
        f"large for the trust region"
    )
    return [prescribe(Category.CLIP_SATURATION, severity=Severity.WARNING, message=message,
                      evidence=evidence, step=int(steps[i]))]


def policy_frozen(run: RunSignals) -> dict[str, float] | None:
    """Evidence that the policy does not change at all, or None if it does (or is unknown).

    Why: with a learning rate of ~0 every learner signal is flat, which looks like a
    failing critic and a stuck entropy at once; the honest diagnosis is "not learning"
    (``plateau``), and those detectors stay silent.
    """
    _, kl = stats.finite(run.get(names.KL))
    if kl.size >= stats.MIN_BASELINE_POINTS:
        med = float(np.median(np.abs(kl)))
        return {"median_kl": med} if med < KL_FROZEN else None
    _, ent = stats.finite(run.get(names.ENTROPY))
    if ent.size >= stats.MIN_BASELINE_POINTS:
        spread = float(np.ptp(ent)) / max(abs(float(np.median(ent))), stats.SCALE_FLOOR)
        return {"entropy_relative_spread": spread} if spread < ENTROPY_FROZEN else None
    return None

