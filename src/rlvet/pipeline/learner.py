"""The learner: admit version-tagged rollouts, build advantages, run the PPO update.

Contents:
    LagLedger -- counts of rollouts received, used, dropped as stale, corrected, dropped
        after a rollback, and the lag histogram: the freshness link, measured.
    admit(rollouts, version, ...) -- which rollouts an update may use, by age.
    gae(...) -- generalised advantage estimation over a (T, N) rollout (Schulman et al. 2016).
    vtrace(...) -- V-trace value targets and advantages with truncated importance weights
        (Espeholt et al. 2018), for rollouts older than ``max_lag`` in ``correct`` mode.
    Batch -- the flat, valid-only training batch.
    prepare_batch(...) -- rollouts -> Batch, plus the behaviour-vs-current KL.
    UpdateStats, ppo_update(...) -- the clipped-surrogate update with value clipping
        (optional), per-minibatch advantage normalisation, gradient clipping and a target-KL
        early stop; the metrics the doctor reads.

(The ``stale_data`` finding made from the ledger is ``rlvet.doctor.freshness``'s, next to
the doctor's: one home for what counts as stale.)

Lag policy (documented choice). Lag = learner version - rollout version, in updates.
* lag <= max_lag: trained on as is. PPO's ratio is taken against the *behaviour* log-probs
  the actor recorded, so the clipped surrogate already is an importance-weighted, trust-
  region-limited update of the policy that acted (what Sample Factory and APPO do). GAE is
  computed with the learner's current critic (not the actor's stale values): at lag 0 that
  is the same critic, so synchronous PPO is recovered exactly.
* lag > max_lag, ``drop`` (default): discarded and counted. Simple, unbiased for the data
  kept, and the count says what it cost (Sample Factory's ``max_policy_lag``).
* lag > max_lag, ``correct``: kept; value targets and advantages are V-trace's, whose
  importance weights rho and traces c are truncated at 1, which bounds the variance that
  stale data adds (Espeholt et al. 2018). The policy term still uses PPO's clipped ratio
  against the behaviour policy, so the importance weight is not applied twice.
Rollouts from before a rollback are always dropped: they came from the broken policy.

Behaviour-vs-current KL: KL(mu || pi) on the batch, estimated with the non-negative "k3"
estimator ``(r - 1) - log r``, r = pi/mu (Schulman 2020, "Approximating KL divergence").
The ``kl`` the doctor reads is the update's own step: KL(pi_before || pi_after) on the same
batch after the update, so it means the same thing with or without lag.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from rlvet.pipeline.agent import Agent
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.normalization import RunningMeanStd
from rlvet.pipeline.rollout import Rollout

__all__ = [
    "REWARD_CLIP",
    "RHO_BAR",
    "Batch",
    "LagLedger",
    "UpdateStats",
    "admit",
    "gae",
    "ppo_update",
    "prepare_batch",
    "vtrace",
]

REWARD_CLIP = 10.0  # scaled rewards beyond 10 std of the return are clipped (VecNormalize)
RHO_BAR = 1.0  # V-trace truncation of importance weights (IMPALA's default, RLlib's too)
C_BAR = 1.0  # V-trace truncation of the traces
TARGET_KL_SLACK = 1.5  # SB3 stops when the minibatch KL exceeds 1.5 x target_kl


@dataclass(slots=True)
class LagLedger:
    """Running account of what happened to every rollout the learner received."""

    received: int = 0
    used: int = 0
    dropped_stale: int = 0
    corrected: int = 0
    dropped_rollback: int = 0
    lags: Counter[int] = field(default_factory=Counter)
    """Lag histogram of used rollouts: lag -> count."""

    def summary(self) -> dict[str, float | int | dict[str, int]]:
        """Counts, the lag histogram and its min / mean / max."""
        total = sum(self.lags.values())
        mean = sum(k * v for k, v in self.lags.items()) / total if total else 0.0
        return {"received": self.received, "used": self.used,
                "dropped_stale": self.dropped_stale, "corrected": self.corrected,
                "dropped_rollback": self.dropped_rollback,
                "lag_min": min(self.lags) if total else 0, "lag_mean": mean,
                "lag_max": max(self.lags) if total else 0,
                "lag_histogram": {str(k): v for k, v in sorted(self.lags.items())}}


def admit(rollouts: list[Rollout], version: int, *, max_lag: int, mode: str,
          min_version: int, ledger: LagLedger) -> list[tuple[Rollout, bool]]:
    """The rollouts an update at ``version`` may use, each with "needs correction".

    Args:
        rollouts: candidates, oldest first.
        version: the learner's current version.
        max_lag: oldest lag trained on as is.
        mode: ``drop`` or ``correct`` for older rollouts.
        min_version: rollouts from before this version (a rollback) are dropped.
        ledger: updated in place.
    """
    kept: list[tuple[Rollout, bool]] = []
    for r in rollouts:
        lag = version - r.policy_version
        if r.policy_version < min_version:
            ledger.dropped_rollback += 1
        elif lag > max_lag and mode == "drop":
            ledger.dropped_stale += 1
        else:
            stale = lag > max_lag
            ledger.corrected += int(stale)
            ledger.used += 1
            ledger.lags[lag] += 1
            kept.append((r, stale))
    return kept


def gae(rewards: np.ndarray, values: np.ndarray, next_value: np.ndarray,
        terminated: np.ndarray, dones: np.ndarray, gamma: float, lam: float
        ) -> np.ndarray:
    """GAE advantages, shape (T, N).

    Args:
        rewards, values: (T, N); values are V(obs[t]).
        next_value: (N,), V of the observation after the last step.
        terminated: (T, N) bool: no bootstrap (a true terminal state).
        dones: (T, N) bool, terminated or truncated: no advantage flows across.

    A truncated step bootstraps from V(obs[t + 1]), which under NEXT_STEP autoreset is the
    episode's final observation (see ``rollout``).
    """
    t_steps = rewards.shape[0]
    adv = np.zeros_like(values)
    last = np.zeros_like(next_value)
    for t in reversed(range(t_steps)):
        nv = next_value if t == t_steps - 1 else values[t + 1]
        delta = rewards[t] + gamma * nv * (1.0 - terminated[t]) - values[t]
        last = delta + gamma * lam * (1.0 - dones[t]) * last
        adv[t] = last
    return adv


def vtrace(rewards: np.ndarray, values: np.ndarray, next_value: np.ndarray,
           terminated: np.ndarray, dones: np.ndarray, log_rho: np.ndarray, gamma: float,
           lam: float) -> tuple[np.ndarray, np.ndarray]:
    """V-trace targets ``vs`` and policy-gradient advantages, shape (T, N) each.

    Args:
        log_rho: (T, N), log pi(a|s) - log mu(a|s), current over behaviour.
        Others as for ``gae``; ``lam`` scales the traces (IMPALA's lambda variant).

    With rho = 1 everywhere (on-policy data) ``vs`` is the TD(lambda) return.
    """
    t_steps = rewards.shape[0]
    rho = np.minimum(RHO_BAR, np.exp(log_rho))
    c = lam * np.minimum(C_BAR, np.exp(log_rho))
    acc = np.zeros_like(next_value)
    vs = np.zeros_like(values)
    for t in reversed(range(t_steps)):
        nv = next_value if t == t_steps - 1 else values[t + 1]
        delta = rho[t] * (rewards[t] + gamma * nv * (1.0 - terminated[t]) - values[t])
        acc = delta + gamma * c[t] * (1.0 - dones[t]) * acc
        vs[t] = values[t] + acc
    next_vs = np.concatenate([vs[1:], next_value[None]], axis=0)
    bootstrap_v = np.concatenate([values[1:], next_value[None]], axis=0)
    next_vs = np.where(dones, bootstrap_v, next_vs)  # no correction across episodes
    next_vs[-1] = next_value
    adv = rewards + gamma * next_vs * (1.0 - terminated) - values
    return vs, adv


@dataclass(frozen=True, slots=True)
class Batch:
    """Valid steps of the admitted rollouts, flattened. n = number of samples.

    Attributes:
        obs: (n, n_obs). actions: (n,) or (n, act_dim). behaviour_logprobs: (n,).
        start_logprobs: (n,), log-probs under the learner's weights before this update.
        advantages, returns, values: (n,); values are the pre-update critic's.
        behaviour_kl: mean KL(mu || pi_before) over the batch.
    """

    obs: torch.Tensor
    actions: torch.Tensor
    behaviour_logprobs: torch.Tensor
    start_logprobs: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    values: torch.Tensor
    behaviour_kl: float

    def __len__(self) -> int:
        return int(self.obs.shape[0])


def _scaled_rewards(r: Rollout, ret_rms: RunningMeanStd, norm_reward: bool) -> np.ndarray:
    if not norm_reward:
        return r.rewards.astype(np.float64)
    return np.clip(r.rewards / float(ret_rms.std), -REWARD_CLIP, REWARD_CLIP)


def _targets(agent: Agent, r: Rollout, corrected: bool, rewards: np.ndarray,
             args: TrainArgs) -> dict[str, np.ndarray]:
    """Current critic values, current log-probs and advantage targets for one rollout."""
    t_steps, n = r.rewards.shape
    obs = torch.from_numpy(r.obs.reshape(t_steps * n, -1))
    actions = torch.from_numpy(r.actions.reshape((t_steps * n, *r.actions.shape[2:])))
    with torch.no_grad():
        logp, _, values = agent.evaluate(obs, actions)
        next_value = agent.value(torch.from_numpy(r.next_obs)).numpy().astype(np.float64)
    values_np = values.numpy().reshape(t_steps, n).astype(np.float64)
    logp_np = logp.numpy().reshape(t_steps, n)
    dones = r.terminated | r.truncated
    term = r.terminated.astype(np.float64)
    if corrected:
        log_rho = logp_np.astype(np.float64) - r.logprobs
        returns, adv = vtrace(rewards, values_np, next_value, term, dones, log_rho,
                              args.gamma, args.gae_lambda)
    else:
        adv = gae(rewards, values_np, next_value, term, dones, args.gamma, args.gae_lambda)
        returns = adv + values_np
    return {"logp": logp_np, "values": values_np, "adv": adv, "returns": returns}


def prepare_batch(agent: Agent, admitted: list[tuple[Rollout, bool]],
                  ret_rms: RunningMeanStd, args: TrainArgs) -> Batch:
    """Advantages and targets for every admitted rollout, valid steps only, flattened."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in
                                          ("obs", "act", "blogp", "slogp", "adv", "ret", "v")}
    for r, corrected in admitted:
        tg = _targets(agent, r, corrected, _scaled_rewards(r, ret_rms, args.norm_reward), args)
        m = r.valid
        parts["obs"].append(r.obs[m])
        parts["act"].append(r.actions[m])
        parts["blogp"].append(r.logprobs[m])
        parts["slogp"].append(tg["logp"][m])
        parts["adv"].append(tg["adv"][m])
        parts["ret"].append(tg["returns"][m])
        parts["v"].append(tg["values"][m])
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    log_r = cat["slogp"].astype(np.float64) - cat["blogp"]
    behaviour_kl = float(np.mean(np.expm1(log_r) - log_r)) if log_r.size else 0.0

    def f32(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    return Batch(obs=f32(cat["obs"]), actions=torch.from_numpy(cat["act"]),
                 behaviour_logprobs=f32(cat["blogp"]), start_logprobs=f32(cat["slogp"]),
                 advantages=f32(cat["adv"]), returns=f32(cat["ret"]), values=f32(cat["v"]),
                 behaviour_kl=behaviour_kl)


@dataclass(frozen=True, slots=True)
class UpdateStats:
    """What one PPO update did, under the doctor's canonical meanings."""

    policy_loss: float
    value_loss: float
    entropy: float
    kl: float
    """KL(pi_before || pi_after) on the batch: the size of this update's step."""
    clip_fraction: float
    grad_norm: float
    """Mean pre-clip global gradient norm over the minibatch steps."""
    explained_variance: float
    loss: float
    epochs: float
    """Epochs completed (fractional when the target-KL stop hit mid-epoch)."""
    nan_count: int
    """Minibatches whose loss was not finite (skipped, never stepped)."""


def _explained_variance(values: torch.Tensor, returns: torch.Tensor) -> float:
    var = float(returns.var()) if returns.numel() > 1 else 0.0
    if var == 0.0:
        return math.nan  # undefined for constant returns (SB3 logs NaN too)
    return 1.0 - float((returns - values).var()) / var


def _minibatch_loss(agent: Agent, b: Batch, idx: torch.Tensor, args: TrainArgs
                    ) -> tuple[torch.Tensor, dict[str, float]]:
    """The PPO loss on one minibatch, and its diagnostics."""
    newlogp, entropy, newvalue = agent.evaluate(b.obs[idx], b.actions[idx])
    logratio = newlogp - b.behaviour_logprobs[idx]
    ratio = logratio.exp()
    adv = b.advantages[idx]
    if adv.numel() > 1:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    pg_loss = torch.max(-adv * ratio,
                        -adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
    ret = b.returns[idx]
    if args.clip_vloss:
        v_clipped = b.values[idx] + (newvalue - b.values[idx]).clamp(-args.clip_coef,
                                                                      args.clip_coef)
        v_loss = 0.5 * torch.max((newvalue - ret) ** 2, (v_clipped - ret) ** 2).mean()
    else:
        v_loss = 0.5 * ((newvalue - ret) ** 2).mean()
    ent = entropy.mean()
    loss = pg_loss - args.ent_coef * ent + args.vf_coef * v_loss
    with torch.no_grad():
        step_logr = newlogp - b.start_logprobs[idx]
        step_kl = ((step_logr.exp() - 1) - step_logr).mean()
        clipfrac = ((ratio - 1.0).abs() > args.clip_coef).float().mean()
        values = torch.stack([pg_loss, v_loss, ent, step_kl, clipfrac, loss]).tolist()
    return loss, dict(zip(("pg", "v", "ent", "step_kl", "clip", "loss"), values, strict=True))


def _step_kl(agent: Agent, b: Batch) -> float:
    """KL(pi_before || pi_after) over the whole batch, k3 estimator."""
    with torch.no_grad():
        logp, _, _ = agent.evaluate(b.obs, b.actions)
        logr = logp - b.start_logprobs
        return float(((logr.exp() - 1) - logr).mean())


def ppo_update(agent: Agent, optimizer: torch.optim.Optimizer, b: Batch, args: TrainArgs,
               lr: float, rng: np.random.Generator) -> UpdateStats:
    """``update_epochs`` passes of minibatch PPO over ``b``.

    Args:
        lr: learning rate for this update (annealed and rollback-scaled by the caller).
        rng: the learner's generator for minibatch order (saved in checkpoints).
    """
    for group in optimizer.param_groups:
        group["lr"] = lr
    n, mb = len(b), max(1, math.ceil(len(b) / args.minibatches))
    acc: dict[str, list[float]] = {k: [] for k in ("pg", "v", "ent", "clip", "loss", "grad")}
    steps_done, nan_count, stop = 0, 0, False
    for _ in range(args.update_epochs):
        perm = torch.from_numpy(rng.permutation(n))
        for start in range(0, n, mb):
            loss, d = _minibatch_loss(agent, b, perm[start:start + mb], args)
            if args.target_kl is not None and d["step_kl"] > TARGET_KL_SLACK * args.target_kl:
                stop = True
                break
            if not math.isfinite(d["loss"]):
                nan_count += 1
                continue
            optimizer.zero_grad()
            loss.backward()
            grad = nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
            optimizer.step()
            steps_done += 1
            for k in ("pg", "v", "ent", "clip", "loss"):
                acc[k].append(d[k])
            acc["grad"].append(float(grad))
        if stop:
            break
    per_epoch = math.ceil(n / mb)

    def mean(key: str) -> float:
        return float(np.mean(acc[key])) if acc[key] else math.nan

    return UpdateStats(policy_loss=mean("pg"), value_loss=mean("v"), entropy=mean("ent"),
                       kl=_step_kl(agent, b), clip_fraction=mean("clip"),
                       grad_norm=mean("grad"),
                       explained_variance=_explained_variance(b.values, b.returns),
                       loss=mean("loss"), epochs=steps_done / per_epoch, nan_count=nan_count)
