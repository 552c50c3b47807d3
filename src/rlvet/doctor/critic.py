"""The critic link: does the value function fit the returns it is trained on?

Contents:
    detect_critic_failure(run, ctx) -- explained variance stays at ~0 while the value loss
        does not come down (an untrained critic, or returns on a scale it cannot reach), or
        the value error is larger than the returns themselves.

Why: the critic is the baseline that makes policy gradients usable; a critic that explains
none of the return variance leaves advantages as noisy as raw returns, and learning slows,
stalls or destabilises (Andrychowicz et al. 2021, sec. 3; SB3 issue #2240 shows users
asking about exactly ``explained_variance`` ~0). Explained variance alone is not enough:
once a policy is good, returns barely vary (CartPole at 500) and SB3's A2C logs values
near 0 with a critic that fits well, so a failing critic must also fail to bring its
loss down. Unnormalised returns in the 1e4-1e5 range (a reward scaled by 1e4) are out of
reach of a critic that starts at O(1), and its loss then dominates the clipped gradient it
shares with the policy, freezing both (SB3 rl-zoo normalises rewards for this reason). A
value loss whose square root exceeds the largest return ever seen means the critic's
predictions are off by more than the whole return scale: it diverged.

SB3 logs ``explained_variance`` as NaN when the returns have zero variance (nothing to
explain, e.g. a reward that is always 0); those points are skipped here, and are evidence
for ``sparse_reward`` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np

from rlvet import stats
from rlvet.doctor.evidence import FLAT_RETURN_CONSEQUENCE
from rlvet.doctor.numerics import dead_critic_onset, explosion_onset, recurring_blowups
from rlvet.doctor.policy_update import policy_frozen
from rlvet.doctor.remedies import prescribe
from rlvet.doctor.reward import SPARSE_SHARE
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = [
    "EV_CAPABLE",
    "EV_CHANCE_OF_FAIL",
    "EV_FAIL",
    "FAILING_SHARE",
    "FITTING_LOSS",
    "MIN_FAILING_UPDATES",
    "NOTHING_TO_EXPLAIN",
    "VALUE_RMSE_LIMIT",
    "VALUE_RMSE_OVER_RETURN",
    "WARMUP_FRACTION",
    "WARMUP_SHARE_MAX",
    "WARMUP_UPDATES",
    "detect_critic_failure",
]

EV_FAIL = 0.03  # explained variance an untrained critic reaches: (2 Cov(y, v) - Var(v)) /
# Var(y) for random outputs v is 0 up to chance correlations of +-0.03 (SB3 PPO with
# vf_coef 0 logs -0.04..+0.025 on CartPole and Acrobot)
EV_CHANCE_OF_FAIL = 2.0  # x EV_FAIL, read at call time so a project's explained_variance_fail
# moves it: a running EV that never reached 0.06 (at the default) in the whole run
# never left chance level, even if it sat just above EV_FAIL (SB3 PPO, vf_coef 0, Acrobot:
# 0.03-0.045 for all 29 updates); healthy critics that explain little still pass it (CleanRL
# CartPole with a low EV: 0.11-0.16 at best)
EV_CAPABLE = 0.3  # a critic that explained 30% of the return variance at any point can fit;
# its ~0 elsewhere is returns with nothing to explain (a solved task, CleanRL at 500)
WARMUP_FRACTION = 0.1  # every critic starts at EV ~0: judge only after the first 10% of updates
WARMUP_UPDATES = 20  # and not before 20 updates: a healthy CleanRL PPO critic on CartPole
# sits at EV 0.00-0.05 for its first ~15 updates (tests/data/runs/cleanrl_healthy_ppo) ...
WARMUP_SHARE_MAX = 0.3  # ... unless that is more than 30% of a short run (SB3 PPO on Hopper
# logs 29 updates of 2048 steps: its critic must still be judged)
FAILING_SHARE = 0.6  # and only if it is still failing on 60% of the updates after warm-up,
# so a late dip (returns saturating at the time limit) does not count
EV_UNTRAINED = -0.2  # median explained variance at or below -0.2 over the failing stretch,
# with an idle value loss: the predictions add variance of their own (EV = -Var(v)/Var(y) for
# outputs v unrelated to the returns), as an untrained head's do (rlvet PPO, vf_coef 0,
# Acrobot at its -500 floor: median EV -2.4..-0.59, loss 0.95-1.07x its start, on four sets);
# a critic trained on a flat return sits at its level (EV -0.0..0.02 beside stale rollouts,
# a leak or a held entropy; loss 1e-5..0.08x on every goal-only run)
IDLE_LOSS_BAND = 1.25  # a value loss within 1.25x of its early level on a frozen policy: the
# optimiser moves nothing (lr ~0), left to plateau; a loss that moves while the policy is
# frozen is a critic whose error swamps the shared clipped gradient (CleanRL's done-mask bug:
# loss 113 -> 53, KL 3e-8), which is the critic's failure
NOTHING_TO_EXPLAIN = 0.1  # value loss at a tenth of its early level or less while EV is
# ~0: the returns barely vary any more (CartPole held at 500: SB3 PPO logs value loss 0.00
# and EV -2..0.3), so EV divides noise by noise; a critic that cannot fit keeps its error
# (vf_coef 0: 1.4x; GAE bootstrapping through terminals: 0.5x, EV ~0 for the whole run)
MIN_FAILING_UPDATES = 20  # an error needs the critic to have failed for 20 updates: a short
# run's critic that fitted (EV 0.41) and then lagged returns rising 3x in 14 updates (SB3
# PPO, 8k CartPole steps) is chasing a moving target, not broken; the same warm-up as
# ``WARMUP_UPDATES``, applied to the failure's own length
FITTING_LOSS = 0.5  # a value loss more than halved from its early level: a critic that fits
# the returns' level though it explains little of their spread (healthy SB3 PPO and CleanRL
# on LunarLander: 0.14-0.30, the same with an entropy bonus raised: 0.27-0.49), info while
# the return improves and a warning at most when it does not; a broken one keeps more of its
# error (detached value head, GAE through terminals, unscaled rewards: 0.53-4.8 on the
# calibration sets)
VALUE_RMSE_OVER_RETURN = 1.0  # sqrt(value loss) above the largest |return| seen: diverged
RETURN_FLOOR = 1e-6  # |return| below this everywhere: the divergence rule has no scale
VALUE_RMSE_LIMIT = 1e3  # value error of 1e3+ return units: a fresh critic outputs O(1) and
# Adam moves each weight ~lr per step, so unnormalised returns this large are out of its
# reach for the whole run; its loss also swamps a shared, clipped gradient (max_grad_norm)
# and freezes the policy, which is why this case is not left to ``plateau``


def _failing_stretch(ev: np.ndarray) -> int | None:
    """Start of the failing stretch that lasts to the end of the run, or None.

    The stretch is the last one where the running EV is at or below ``EV_FAIL`` on at least
    ``FAILING_SHARE`` of its points, it reaches the end, outlasts the warm-up and never
    shows a capable critic (``EV_CAPABLE``). A critic that fitted and then stopped (a value
    head detached mid-run, vf_coef set to 0) fails from where it stopped; one that starts
    at ~0 and learns never has such a stretch. A run whose EV never reached
    ``EV_CHANCE_OF_FAIL`` x ``EV_FAIL`` fails all along, whatever side of ``EV_FAIL`` the
    chance level sat on.
    """
    n = ev.size
    warm = max(stats.MIN_BASELINE_POINTS, round(WARMUP_FRACTION * n),
               min(WARMUP_UPDATES, round(WARMUP_SHARE_MAX * n)))
    level = stats.rolling_median(ev)
    ceiling = EV_CHANCE_OF_FAIL * EV_FAIL
    failing = level <= (EV_FAIL if float(np.max(level)) >= ceiling else np.inf)
    capable = np.flatnonzero(level >= EV_CAPABLE)
    start = int(capable[-1]) + 1 if capable.size else 0  # after the critic last fitted
    if n - max(start, warm) < 2 * stats.PERSIST_WINDOW:
        return None  # too little of the run left after warm-up / the last good fit
    if failing[max(start, warm):].mean() < FAILING_SHARE:
        return None
    i = stats.persistent_onset(failing[start:])
    if i is None:
        return None
    return start + i


def _stretch_loss_ratio(run: RunSignals, onset_step: int) -> float | None:
    """Median value loss at the end of the run (the failing stretch's last fifth) over its
    early window, when the returns varied most (None without a value loss)."""
    steps, loss = stats.finite(run.get(names.VALUE_LOSS))
    if loss.size < 2 * stats.MIN_BASELINE_POINTS:
        return None
    k = stats.baseline_size(loss.size)
    late = loss[-k:] if onset_step <= steps[-k] else loss[steps >= onset_step]
    early = float(np.median(loss[:k]))
    return float(np.median(late)) / max(early, stats.SCALE_FLOOR)


def _value_rmse(run: RunSignals) -> float | None:
    """Median sqrt(value loss) over the run (None without a value loss)."""
    _, loss = stats.finite(run.get(names.VALUE_LOSS))
    return float(np.sqrt(np.median(np.abs(loss)))) if loss.size else None


def _unexplained(run: RunSignals, ctx: DetectContext) -> Finding | None:
    """Explained variance stuck near 0 with a value loss that does not come down.

    A frozen policy (KL ~0) with a modest value loss is a learner that does not train at
    all: left to ``plateau``. With a value error of ``VALUE_RMSE_LIMIT`` or more the critic
    is the cause of the freeze, not a bystander. A critic that worked and then went to
    exactly 0 died numerically and is left to ``doctor.numerics``.
    """
    steps, ev = stats.finite(run.get(names.EXPLAINED_VARIANCE))
    if ev.size < stats.PERSIST_WINDOW:
        return None
    i = _failing_stretch(ev)
    if i is None or dead_critic_onset(ev) is not None:
        return None  # none, or exactly 0 after having worked: dead units, doctor.numerics
    ratio, rmse = _stretch_loss_ratio(run, int(steps[i])), _value_rmse(run)
    unscaled = rmse is not None and rmse >= VALUE_RMSE_LIMIT
    if ratio is not None and ratio < NOTHING_TO_EXPLAIN:
        return None  # the value error vanished: returns no longer vary, EV is noise
    idle = ratio is None or abs(np.log(max(ratio, stats.SCALE_FLOOR))) < np.log(IDLE_LOSS_BAND)
    if not unscaled and idle and policy_frozen(run) is not None:
        return None  # nothing trains at all, not just the critic: plateau
    med = float(np.median(ev[i:]))
    evidence = {
        "onset_step": int(steps[i]), "median_explained_variance": med,
        "threshold": EV_FAIL, "failing_share_after_warmup": float(
            np.mean(stats.rolling_median(ev)[i:] <= EV_FAIL)),
        "value_loss_over_reference": ratio, "value_rmse": rmse,
        "value_rmse_limit": VALUE_RMSE_LIMIT,
    }
    cause = (f"the returns are on a scale it cannot fit (value RMSE {rmse:.3g}); normalise "
             "or scale the reward" if unscaled else "most likely it is not trained (vf_coef "
             "0, no value gradient) or its learning rate is far too low")
    loss_note = "" if ratio is None else f", value loss at {ratio:.2g}x its earlier level"
    message = (
        f"explained variance stayed near {med:.2g} from step {steps[i]} (threshold {EV_FAIL})"
        f"{loss_note}: the critic predicts the returns no better than their mean; {cause}"
    )
    learning = _learning_anyway(run, ctx, ratio)
    same = stats.floor_share(stats.finite(run.get(ctx.reward) if ctx.reward else None)[1])
    brief = ev.size - i < MIN_FAILING_UPDATES
    untrained = idle and med <= EV_UNTRAINED
    flat = same is not None and same >= SPARSE_SHARE and not untrained  # every episode
    # scored the same, and the critic's error is what that leaves, not an untrained head's
    evidence |= {"policy_learning_with_falling_value_loss": learning,
                 "failing_updates": int(ev.size - i), "failing_updates_needed": MIN_FAILING_UPDATES}
    halved = ratio is not None and ratio < FITTING_LOSS
    fitting = learning and halved
    if halved:
        message += (f"; but the value loss fell to {ratio:.2g}x its early level" + (
            " while the return improved: the critic fits the returns' level, slowly"
            if learning else ": the critic learns the returns' level, so it is not untrained"))
    elif learning:
        message += ("; the return still improves and the value loss falls, so this may be a "
                    "slow critic (large, unnormalised returns) rather than a broken one")
    elif flat:
        message += (f"; but the return sat at one value on {same:.0%} of its points, so there "
                    f"was little between-episode variance to explain")
    elif brief:
        message += (f"; only {ev.size - i} updates of failure so far, too few to call the "
                    f"critic broken rather than behind fast-moving returns")
    evidence |= {"return_share_at_floor": same, FLAT_RETURN_CONSEQUENCE: flat}
    severity = (Severity.INFO if fitting else
                Severity.WARNING if learning or brief or flat or halved else Severity.ERROR)
    return prescribe(Category.CRITIC_FAILURE, severity=severity,
                     message=message, evidence=evidence, step=int(steps[i]))


def _learning_anyway(run: RunSignals, ctx: DetectContext, ratio: float | None) -> bool:
    """The return improved materially while the value loss fell: a critic that explains
    little yet still tracks the returns' mean as they rise (SB3 PPO on LunarLander: EV ~0
    for 38 of 39 updates, value loss 5600 -> 350, return -185 -> -7). A broken critic either
    keeps its error (vf_coef 0: 1.4x, a detached head on Hopper: 45x) or holds the policy
    back with it."""
    _, reward = stats.finite(run.get(ctx.reward) if ctx.reward else None)
    if ratio is None or ratio >= 1.0 or reward.size < stats.PERSIST_WINDOW:
        return False
    steps, _ = stats.finite(run.get(cast(str, ctx.reward)))  # non-empty reward: it is set
    return stats.progress(steps, reward).improved


def _diverged(run: RunSignals, ctx: DetectContext) -> Finding | None:
    """Value-loss RMSE above the largest absolute training return, persistently.

    A value loss that also grew by orders of magnitude is an overflow in the making and is
    left to ``doctor.numerics``.
    """
    steps, loss = stats.finite(run.get(names.VALUE_LOSS))
    _, reward = stats.finite(run.get(ctx.reward) if ctx.reward else None)
    scale = float(np.max(np.abs(reward))) if reward.size else 0.0
    if loss.size < stats.PERSIST_TAIL or scale <= RETURN_FLOOR:
        return None  # no return scale to compare with (a reward that is always 0)
    rmse = np.sqrt(np.abs(loss))
    i = stats.persistent_onset(rmse > VALUE_RMSE_OVER_RETURN * scale)
    if i is None or explosion_onset(loss) is not None or recurring_blowups(loss) is not None:
        return None  # none, or orders of magnitude on the way to inf: doctor.numerics
    evidence = {"onset_step": int(steps[i]), "value_rmse": float(rmse[i]),
                "peak_value_loss": float(np.max(loss[i:])), "max_abs_return": scale}
    message = (
        f"value loss reached {loss[i]:.3g} at step {steps[i]} (RMSE {rmse[i]:.3g}, larger "
        f"than any return seen, max {scale:.3g}): the critic has diverged"
    )
    return prescribe(Category.CRITIC_FAILURE, severity=Severity.ERROR, message=message,
                     evidence=evidence, step=int(steps[i]))


def detect_critic_failure(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """The critic explains no return variance, or its error exceeds the return scale.

    A frozen learner (KL ~0) with a modest value loss is left to ``plateau``: nothing
    trains, not just the critic.
    """
    found = [f for f in (_unexplained(run, ctx), _diverged(run, ctx)) if f is not None]
    return sorted(found, key=lambda f: f.step or 0)[:1]
