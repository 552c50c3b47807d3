"""``train(args)``: the reference lag-aware PPO loop, readable top to bottom.

Contents:
    TrainResult -- findings and metrics of a run (``command_result()`` gives the CLI's
        ``CommandResult``).
    Display -- the progress bar (stderr): return, eval, fps, lag, rollouts lost.
    train(args, progress=False) -- run (or resume) one training run.

The loop (CleanRL's ``ppo.py`` order, with actors elsewhere)::

    start actors with version 0
    until the update budget is spent:
        gather   -- poll the backend; count faults; merge observation/return statistics;
                    admit rollouts by lag (drop or correct beyond max_lag)
        learn    -- GAE (or V-trace for corrected rollouts) with the current critic, then
                    the PPO update (annealed lr, target-KL stop)
        publish  -- version += 1; broadcast weights + observation statistics
        evaluate -- every eval_every steps: nominal env, and the "real" variant if given
        record   -- canonical metrics -> metrics.jsonl, TensorBoard, the live detectors
        guard    -- warn / stop / rollback on an error first break
        checkpoint -- checkpoint_<step>.pt + last.pt every checkpoint_every updates

The learner updates while actors collect: an actor may have ``actor_inflight`` rollouts
sent and unreceived, so it keeps stepping during the update with the weights it has.

Steps: ``step`` in the logs counts environment steps *collected* (whole rollouts received,
used or dropped), so waste from lag and faults costs steps on the x-axis like in any
honest sample-efficiency plot. The run lasts ``total_steps // batch_size`` updates.

Reproducibility: the ``sync`` backend (one in-process actor, collect then update) is a
pure function of the seed, and a resume from any checkpoint continues it bit-exactly
(env state, all RNGs, statistics, optimizer and counters are in the checkpoint). With actor
processes the order in which rollouts arrive depends on OS scheduling, so runs with the
same seed differ in which version each rollout was collected with; a resume restores the
learner exactly and restarts actors with seeds derived from the resume point.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlvet.doctor.freshness import stale_rollouts
from rlvet.documents import SUMMARY_KEY, Rollback, TrainSummary
from rlvet.errors import RlvetInputError
from rlvet.findings import CommandResult, Finding
from rlvet.pipeline.actors import ActorConfig, join_weights
from rlvet.pipeline.agent import ActionSpec, Agent, flat_weights, obs_dim
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.backends import (
    ActorBackend,
    ActorEvent,
    FaultLog,
    PollResult,
    SyncBackend,
    fault_findings,
    make_backend,
)
from rlvet.pipeline.checkpoints import (
    CHECKPOINT_FORMAT,
    CheckpointStore,
    load_checkpoint,
    weights_digest,
)
from rlvet.pipeline.domain_rand import (
    Bucket,
    BucketStats,
    check_bucket_variance,
    make_buckets,
    make_env,
)
from rlvet.pipeline.evaluation import EvalResult, GapTracker, evaluate_policy
from rlvet.pipeline.guardrails import GuardAction, GuardDecision, Guardrails
from rlvet.pipeline.learner import (
    LagLedger,
    UpdateStats,
    admit,
    ppo_update,
    prepare_batch,
)
from rlvet.pipeline.normalization import RunningMeanStd
from rlvet.pipeline.rollout import EpisodeStat, Rollout
from rlvet.resources.sampler import PhaseTimer, memory_sample
from rlvet.signals import names
from rlvet.signals.jsonl_writer import JsonlWriter
from rlvet.signals.series import Checkpoint

__all__ = ["Display", "TrainResult", "train"]

# Adam runs ``foreach=True``: one multi-tensor kernel per moment update instead of ~10 ops per
# parameter tensor; on CPU torch defaults to the per-tensor loop, which costs 40% of a PPO
# update of these small networks (measured, 10 epochs on 512 samples: 36 -> 33 ms)
TORCH_THREADS = 1  # one intra-op thread per process: actors and learner share the cores,
# and MLPs this small gain nothing from more (they lose to thread-pool overhead)
POLL_S = 0.05  # the learner's wait for data per poll: short enough that fault detection
# and progress stay responsive, long enough not to spin
DATA_TIMEOUT_S = 300.0  # no rollout at all for 5 minutes with actors running: stop, it is
# not noise any more (a hung learner-side resource, every actor hanging outside a step)


@dataclass(frozen=True, slots=True)
class TrainResult:
    """What a run produced.

    Attributes:
        findings: guardrail events and the live detectors' final diagnosis, then the
            infrastructure, domain-randomisation and sim-to-real findings.
        metrics: steps, fps, lag stats, dropped rollouts, restarts, evaluations, ...
        out: the run directory.
        stop_reason: None when the update budget was spent, else why it ended early
            (``solved``, ``guardrail_stop``, ``rollback_limit``, ``restarts_exhausted``,
            ``no_data``, ``interrupted``).
    """

    findings: tuple[Finding, ...]
    metrics: Mapping[str, Any]
    out: Path
    stop_reason: str | None

    def command_result(self, target: str | None = None) -> CommandResult:
        """The ``CommandResult`` the CLI renders (``rlvet train ... --json``)."""
        return CommandResult(command="train", target=target or str(self.metrics["env_id"]),
                             findings=self.findings, metrics=self.metrics)


@dataclass(slots=True)
class _Counters:
    """The loop's scalar state; all of it goes into every checkpoint."""

    version: int = 0
    """Policy version: +1 per update and per rollback (restored weights are new weights)."""
    update: int = 0
    global_step: int = 0
    lr_scale: float = 1.0
    min_version: int = 0
    rollbacks: int = 0
    best_eval: float = -math.inf
    next_eval: int = 0
    elapsed_s: float = 0.0


@dataclass(slots=True)
class _Run:
    """Everything one run holds; built by ``_setup``."""

    args: TrainArgs
    agent: Agent
    optimizer: torch.optim.Optimizer
    obs_rms: RunningMeanStd
    ret_rms: RunningMeanStd
    rng: np.random.Generator
    backend: ActorBackend
    buckets: tuple[Bucket, ...]
    store: CheckpointStore
    writer: JsonlWriter
    guard: Guardrails
    c: _Counters = field(default_factory=_Counters)
    ledger: LagLedger = field(default_factory=LagLedger)
    faults: FaultLog = field(default_factory=FaultLog)
    bucket_stats: BucketStats = field(default_factory=lambda: BucketStats(0))
    gap: GapTracker = field(default_factory=GapTracker)
    pending: deque[Rollout] = field(default_factory=deque)
    episodes: list[EpisodeStat] = field(default_factory=list)
    behaviour_kl: list[float] = field(default_factory=list)
    evals: list[tuple[int, float]] = field(default_factory=list)
    rollbacks: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    tb: Any = None
    stop_reason: str | None = None
    solved: dict[str, float] | None = None
    started: float = field(default_factory=time.perf_counter)
    """When ``train`` was called: wall times (``solved.seconds``, ``wall_s``) include the
    setup -- building the model, starting the actors -- as a fair comparison must."""
    last_tick: tuple[float, int] = (0.0, 0)
    last_eval_step: int = -1
    timer: PhaseTimer = field(default_factory=PhaseTimer)
    actor_seconds: dict[str, float] = field(default_factory=dict)


# --- setup ---------------------------------------------------------------------------


def _probe(args: TrainArgs, buckets: tuple[Bucket, ...]) -> tuple[int, ActionSpec]:
    """Observation size and action interface, from throwaway envs that also prove every
    parameter name (randomised and "real") exists, before any actor starts on them."""
    env = make_env(args.env_id, bucket=buckets[0] if buckets else None)
    try:
        env.reset(seed=args.seed)  # a randomised env applies its parameters at reset
        spaces = obs_dim(env.observation_space), ActionSpec.of(env.action_space)
    finally:
        env.close()
    if args.real_env_kwargs:
        make_env(args.env_id, fixed=args.real_env_kwargs).close()
    return spaces


def _tensorboard(args: TrainArgs) -> Any:
    if not args.tensorboard:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise RlvetInputError("--tensorboard needs the tensorboard package: "
                              "pip install 'rlvet[tb]'") from None
    return SummaryWriter(str(Path(args.out) / "tb"))


def _setup(args: TrainArgs, started: float) -> _Run:
    """Build the (not yet started) backend, networks, statistics, stores and guardrails.

    The backend comes first: the local one starts its forkserver at construction, and that
    interpreter's imports then overlap the rest of the setup and the first evaluation.
    """
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise RlvetInputError(f"--out {args.out}: exists and is not a directory (the run "
                              "directory holds metrics.jsonl and checkpoints/)")
    buckets = make_buckets(args.randomize, args.buckets)
    n_obs, action = _probe(args, buckets)
    tb = _tensorboard(args)  # before any file is opened: a missing package is bad input
    cfg = ActorConfig(env_id=args.env_id, envs=args.envs_per_actor,
                      rollout_steps=args.rollout_steps, gamma=args.gamma, n_obs=n_obs,
                      action=action, hidden=args.hidden, norm_obs=args.norm_obs,
                      buckets=buckets, chaos=args.chaos_spec, inflight=args.actor_inflight)
    backend = make_backend(args, cfg)
    torch.manual_seed(args.seed)
    agent = Agent(n_obs, action, args.hidden)
    run = _Run(args=args, agent=agent,
               optimizer=torch.optim.Adam(agent.parameters(), lr=args.lr, eps=1e-5,
                                          foreach=True),
               obs_rms=RunningMeanStd((n_obs,)), ret_rms=RunningMeanStd(()),
               rng=np.random.default_rng(args.seed), backend=backend,
               buckets=buckets, store=CheckpointStore(args.checkpoint_dir, args.keep_checkpoints),
               writer=JsonlWriter(args.metrics_path),
               guard=Guardrails(args.on_break, args.guard_budget), started=started)
    run.bucket_stats = BucketStats(len(buckets))
    run.tb = tb
    return run


def _weights(run: _Run) -> np.ndarray:
    """The broadcast vector: parameters, then observation mean and variance."""
    return join_weights(flat_weights(run.agent), run.obs_rms.mean, run.obs_rms.var)


# --- checkpoints and resume ------------------------------------------------------------


def _state(run: _Run) -> dict[str, Any]:
    """A checkpoint of everything the next update depends on."""
    c = run.c
    snapshot = run.backend.snapshot() if isinstance(run.backend, SyncBackend) else None
    return {
        "format": CHECKPOINT_FORMAT, "args": json.dumps(run.args.to_dict()),
        "agent": run.agent.state_dict(), "optimizer": run.optimizer.state_dict(),
        "obs_rms": run.obs_rms.state_dict(), "ret_rms": run.ret_rms.state_dict(),
        "rng": json.dumps(run.rng.bit_generator.state),
        "counters": {"version": c.version, "update": c.update, "global_step": c.global_step,
                     "lr_scale": c.lr_scale, "min_version": c.min_version,
                     "rollbacks": c.rollbacks, "best_eval": c.best_eval,
                     "next_eval": c.next_eval,
                     "elapsed_s": c.elapsed_s + time.perf_counter() - run.started},
        "sync_worker": snapshot, "history": json.dumps(_history(run)),
    }


def _history(run: _Run) -> dict[str, Any]:
    """The run's accounts (lag ledger, faults, evaluations, rollbacks, bucket windows), so
    a resumed run reports the whole run and logs the same cumulative counters."""
    ledger = {k: getattr(run.ledger, k) for k in ("received", "used", "dropped_stale",
                                                   "corrected", "dropped_rollback")}
    return {"ledger": {**ledger, "lags": {str(k): v for k, v in run.ledger.lags.items()}},
            "faults": [[step, dataclasses.asdict(e)] for step, e in run.faults.events],
            "evals": run.evals, "rollbacks": run.rollbacks, "warnings": run.warnings,
            "behaviour_kl": run.behaviour_kl, "solved": run.solved,
            "buckets": {str(b): list(r) for b, r in run.bucket_stats.returns.items()}}


def _restore_history(run: _Run, history: Mapping[str, Any]) -> None:
    ledger = dict(history["ledger"])
    run.ledger.lags.update({int(k): v for k, v in ledger.pop("lags").items()})
    for key, value in ledger.items():
        setattr(run.ledger, key, value)
    run.faults.events = [(step, ActorEvent(**e)) for step, e in history["faults"]]
    run.evals = [(s, v) for s, v in history["evals"]]
    run.rollbacks, run.warnings = history["rollbacks"], history["warnings"]
    run.behaviour_kl, run.solved = history["behaviour_kl"], history["solved"]
    for b, returns in history["buckets"].items():
        for ret in returns:
            run.bucket_stats.add(int(b), ret)


def _load_learner(run: _Run, state: Mapping[str, Any]) -> None:
    """Weights, optimizer and statistics (what a rollback restores)."""
    run.agent.load_state_dict(state["agent"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.obs_rms.load_state_dict(state["obs_rms"])
    run.ret_rms.load_state_dict(state["ret_rms"])


_RESUME_MUST_MATCH = ("env_id", "hidden", "norm_obs", "norm_reward")  # network and statistics


def _resume(run: _Run) -> None:
    """Restore a run from ``last.pt`` (or ``resume_from``) and replay its metrics into the
    live detectors so they judge the whole run, not just what follows the resume."""
    path = run.args.resume_from or run.store.path("last")
    run.store.remove_stale_temps()
    state = load_checkpoint(path)
    saved = json.loads(state["args"])
    for key in _RESUME_MUST_MATCH:
        if saved.get(key) != getattr(run.args, key):
            raise RlvetInputError(f"{path}: checkpoint has {key}={saved.get(key)!r}, this run "
                                  f"{getattr(run.args, key)!r}; resume needs the same value")
    _load_learner(run, state)
    run.rng.bit_generator.state = json.loads(state["rng"])
    for key, value in state["counters"].items():
        setattr(run.c, key, value)
    if state.get("sync_worker") is not None and isinstance(run.backend, SyncBackend):
        run.backend.restore(state["sync_worker"])
    _restore_history(run, json.loads(state["history"]))
    _replay_metrics(run)


def _replay_metrics(run: _Run) -> None:
    """Feed the existing ``metrics.jsonl`` (up to the resume step) and the checkpoints on
    disk to the live detectors."""
    path = run.args.metrics_path
    if path.exists():
        with open(path, encoding="utf-8") as lines:  # streamed: memory flat in file size
            for line in lines:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn line from the crash that we resume from
                step = record.pop("step", None)
                if isinstance(step, int) and step <= run.c.global_step:
                    run.guard.log(step, record)
    for step in run.store.periodic_steps():
        if step <= run.c.global_step:
            run.guard.add_checkpoint(step, str(run.store.path(f"checkpoint_{step}")))


def _begin(run: _Run) -> None:
    """Resume, or evaluate the initial policy and save it as ``checkpoint_0``; start actors."""
    if run.args.resume or run.args.resume_from is not None:
        _resume(run)
    else:
        record: dict[str, float] = {names.LEARNING_RATE: _lr(run)}
        record.update(_evaluate(run))
        run.c.next_eval = run.args.eval_every
        _log(run, record)
        path = run.store.periodic(0, _state(run))
        run.guard.add_checkpoint(0, str(path))
    run.last_tick = (time.perf_counter(), run.c.global_step)
    run.backend.start(run.c.version, _weights(run))


# --- gather --------------------------------------------------------------------------


def _absorb(run: _Run, polled: PollResult) -> None:
    """Count faults; take in rollouts: statistics, episodes, the pending queue."""
    for event in polled.events:
        run.faults.add(event, run.c.global_step)
    if run.backend.exhausted or run.faults.restarts_refused:
        run.stop_reason = "restarts_exhausted"
    for r in polled.rollouts:
        run.ledger.received += 1
        run.c.global_step += r.steps
        if run.args.norm_obs:
            run.obs_rms.update(r.obs_moments)
        run.ret_rms.update(r.ret_moments)
        run.episodes.extend(r.episodes)
        for key, seconds in (("collect", r.collect_s), ("env", r.env_s),
                             ("inference", r.inference_s)):
            run.actor_seconds[key] = run.actor_seconds.get(key, 0.0) + seconds
        if run.buckets:
            for ep in r.episodes:
                run.bucket_stats.add(ep.bucket, ep.ret)
        run.pending.append(r)


def _gather(run: _Run) -> list[tuple[Rollout, bool]] | None:
    """Rollouts for one update, oldest first, lag enforced; None if the run must stop."""
    batch: list[tuple[Rollout, bool]] = []
    last_data = time.monotonic()
    while len(batch) < run.args.updates_rollouts:
        if not run.pending:
            polled = run.backend.poll(POLL_S)
            _absorb(run, polled)
            if run.stop_reason is not None:
                return None
            if polled.rollouts:
                last_data = time.monotonic()
            elif time.monotonic() - last_data > DATA_TIMEOUT_S:
                run.stop_reason = "no_data"
                return None
            continue
        batch.extend(admit([run.pending.popleft()], run.c.version, max_lag=run.args.max_lag,
                           mode=run.args.lag_mode, min_version=run.c.min_version,
                           ledger=run.ledger))
    return batch


# --- learn, publish --------------------------------------------------------------------


def _lr(run: _Run) -> float:
    """Linear annealing to 0 over the run (CleanRL), times the rollback scale."""
    frac = 1.0 - run.c.update / run.args.num_updates if run.args.anneal_lr else 1.0
    return run.args.lr * run.c.lr_scale * max(frac, 0.0)


@dataclass(frozen=True, slots=True)
class _Learned:
    """One update's outcome: its stats, learning rate and the lags it trained on."""

    stats: UpdateStats
    lr: float
    lags: list[int]
    behaviour_kl: float


def _learn(run: _Run, admitted: list[tuple[Rollout, bool]]) -> _Learned:
    """One PPO update on the admitted rollouts."""
    lr = _lr(run)
    lags = [run.c.version - r.policy_version for r, _ in admitted]
    batch = prepare_batch(run.agent, admitted, run.ret_rms, run.args)
    run.behaviour_kl.append(batch.behaviour_kl)
    stats = ppo_update(run.agent, run.optimizer, batch, run.args, lr, run.rng)
    return _Learned(stats, lr, lags, batch.behaviour_kl)


def _publish(run: _Run) -> None:
    """A new version: weights and statistics to the actors."""
    run.c.version += 1
    run.c.update += 1
    run.backend.publish(run.c.version, _weights(run))


# --- evaluate, record ------------------------------------------------------------------


def _eval_once(run: _Run, fixed: Mapping[str, Any] | None) -> EvalResult:
    return evaluate_policy(run.agent, run.obs_rms.mean, run.obs_rms.var,
                           env_id=run.args.env_id, episodes=run.args.eval_episodes,
                           seed=run.args.seed, norm_obs=run.args.norm_obs, fixed=fixed)


def _evaluate(run: _Run) -> dict[str, float]:
    """Evaluate now: eval_return (and the real variant); best.pt; the solved check."""
    step = run.c.global_step
    nominal = _eval_once(run, None)
    out = {names.EVAL_RETURN: nominal.mean}
    if run.args.real_env_kwargs:
        real = _eval_once(run, run.args.real_env_kwargs)
        out["real_return"] = real.mean
        out["sim_to_real_gap"] = run.gap.add(step, nominal, real)
    run.evals.append((step, nominal.mean))
    run.last_eval_step = step
    if nominal.mean > run.c.best_eval and step > 0:
        run.c.best_eval = nominal.mean
        run.store.save("best", _state(run))
    target = run.args.target_return
    if target is not None and nominal.mean >= target and run.solved is None and step > 0:
        run.solved = {"step": step, "seconds": run.c.elapsed_s + time.perf_counter()
                      - run.started, "eval_return": nominal.mean}
        run.stop_reason = "solved"
    return out


def _maybe_evaluate(run: _Run) -> dict[str, float]:
    if run.args.eval_every <= 0 or run.c.global_step < run.c.next_eval:
        return {}
    while run.c.next_eval <= run.c.global_step:
        run.c.next_eval += run.args.eval_every
    return _evaluate(run)


def _log(run: _Run, record: Mapping[str, float]) -> None:
    """One record to metrics.jsonl, TensorBoard and the live detectors."""
    step = run.c.global_step
    run.writer.write(step, record)
    run.guard.log(step, record)
    if run.tb is not None:
        for key, value in record.items():
            run.tb.add_scalar(key, value, step)


def _episode_metrics(run: _Run) -> dict[str, float]:
    """Mean return and length of the episodes finished since the last record."""
    eps, run.episodes = run.episodes, []
    if not eps:
        return {}
    out = {names.REWARD: float(np.mean([e.ret for e in eps])),
           names.EPISODE_LENGTH: float(np.mean([e.length for e in eps]))}
    if run.buckets:
        for b, mean in run.bucket_stats.means().items():
            out[f"bucket_return/{b}"] = mean
    return out


def _resource_metrics(run: _Run) -> dict[str, float]:
    """The learner's memory, where its wall time went since the last record (wait for
    rollouts, update, evaluation) and the actors' split of their collection time."""
    out = {**memory_sample(), **run.timer.shares()}
    spent, run.actor_seconds = run.actor_seconds, {}
    collect = spent.get("collect", 0.0)
    if collect > 0:
        out["actor_time_share/env"] = spent.get("env", 0.0) / collect
        out["actor_time_share/inference"] = spent.get("inference", 0.0) / collect
    return out


def _record(run: _Run, learned: _Learned, extra: Mapping[str, float]) -> dict[str, float]:
    """The update's canonical metrics (``rlvet.signals.names``) plus the pipeline's own."""
    now, (t0, s0) = time.perf_counter(), run.last_tick
    run.last_tick = (now, run.c.global_step)
    stats, lr, lags = learned.stats, learned.lr, learned.lags
    record = {
        names.KL: stats.kl, names.CLIP_FRACTION: stats.clip_fraction,
        names.ENTROPY: stats.entropy, names.VALUE_LOSS: stats.value_loss,
        names.POLICY_LOSS: stats.policy_loss, names.LOSS: stats.loss,
        names.EXPLAINED_VARIANCE: stats.explained_variance, names.GRAD_NORM: stats.grad_norm,
        names.LEARNING_RATE: lr, names.NAN_COUNT: stats.nan_count,
        names.POLICY_LAG: float(np.mean(lags)), "policy_lag_max": float(max(lags)),
        "behaviour_kl": learned.behaviour_kl, "epochs": stats.epochs,
        names.FPS: (run.c.global_step - s0) / max(now - t0, 1e-9),
        "rollouts_dropped_stale": run.ledger.dropped_stale,
        "rollouts_lost_to_faults": run.faults.partial_dropped,
        "actor_restarts": run.faults.restarts,
        **_episode_metrics(run), **_resource_metrics(run), **extra,
    }
    _log(run, record)
    return record


# --- guard -----------------------------------------------------------------------------


def _rollback_target(run: _Run, ckpt: Checkpoint) -> Checkpoint:
    """The named checkpoint, or (if pruned) the newest periodic one before it."""
    if Path(ckpt.path).exists():
        return ckpt
    older = [s for s in run.store.periodic_steps() if s <= ckpt.step]
    if not older:
        raise RlvetInputError(f"{ckpt.path}: rollback target is gone and nothing older is left")
    step = older[-1]
    return Checkpoint(step, str(run.store.path(f"checkpoint_{step}")))


def _rollback(run: _Run, decision: GuardDecision) -> None:
    """Restore the healthy checkpoint, scale the lr, drop rollouts of the broken policy."""
    assert decision.finding is not None and decision.checkpoint is not None
    target = _rollback_target(run, decision.checkpoint)
    lr_before = _lr(run)
    _load_learner(run, load_checkpoint(target.path))
    run.c.lr_scale *= run.args.rollback_lr_factor
    run.c.rollbacks += 1
    run.c.version += 1  # new weights: a new version, and everything older is from the break
    run.c.min_version = run.c.version
    run.ledger.dropped_rollback += len(run.pending)
    run.pending.clear()
    run.backend.publish(run.c.version, _weights(run))
    details: dict[str, float | int | str] = {"lr_before": lr_before, "lr_after": _lr(run),
               "restored_weights": weights_digest(run.agent.state_dict()),
               "rollback": run.c.rollbacks}
    run.guard.rolled_back(run.c.global_step, decision.finding, target, details)
    run.rollbacks.append({"step": run.c.global_step, "checkpoint": target.path,
                          "checkpoint_step": target.step, **details,
                          "category": str(decision.finding.category)})
    _log(run, {names.LEARNING_RATE: _lr(run)})  # the new segment's first, healthy point


def _guard(run: _Run) -> None:
    """Act on the live detectors' verdict according to ``on_break``."""
    decision = run.guard.check(run.c.global_step)
    if decision.action is GuardAction.WARN and decision.finding is not None:
        run.warnings.append({"step": run.c.global_step,
                             "category": str(decision.finding.category),
                             "onset_step": decision.finding.step})
    if decision.action in (GuardAction.CONTINUE, GuardAction.WARN) or decision.finding is None:
        return
    run.store.save("failed", _state(run))
    if decision.action is GuardAction.ROLLBACK and run.c.rollbacks < run.args.max_rollbacks:
        _rollback(run, decision)
        return
    reason = "guardrail_stop" if decision.action is GuardAction.STOP else "rollback_limit"
    run.guard.stopped(run.c.global_step, decision.finding, reason)
    run.stop_reason = reason


def _maybe_checkpoint(run: _Run) -> None:
    """A periodic checkpoint (a future rollback target) -- never of a policy the guardrails
    just stopped as broken (``failed.pt`` holds that one)."""
    if run.stop_reason in ("guardrail_stop", "rollback_limit"):
        return
    if run.c.update % run.args.checkpoint_every == 0:
        path = run.store.periodic(run.c.global_step, _state(run))
        run.guard.add_checkpoint(run.c.global_step, str(path))


# --- finish ----------------------------------------------------------------------------


def _close(run: _Run) -> None:
    """Stop actors and close the logs (also after an error: no checkpoint is written, so a
    failed resume never overwrites the ``last.pt`` it failed to continue)."""
    run.backend.close()
    run.writer.close()
    if run.tb is not None:
        run.tb.close()


def _finish(run: _Run) -> None:
    """Stop actors, take the final evaluation, save ``last.pt``, close the logs."""
    run.backend.close()
    if run.stop_reason != "solved" and run.last_eval_step != run.c.global_step:
        _log(run, _evaluate(run))
    run.store.save("last", _state(run))
    _close(run)


def _dropped_pct(run: _Run) -> float:
    """Rollouts started but not trained on (stale, lost to faults, from before a rollback),
    as % of all rollouts started."""
    lost = run.faults.partial_dropped
    dropped = run.ledger.dropped_stale + run.ledger.dropped_rollback + lost
    started = run.ledger.received + lost
    return 100.0 * dropped / started if started else 0.0


def _metrics(run: _Run) -> dict[str, Any]:
    wall = time.perf_counter() - run.started
    lag = {**run.ledger.summary(), "unused_at_end": len(run.pending)}
    final = run.evals[-1][1] if run.evals else math.nan
    return {
        "env_id": run.args.env_id, "backend": run.args.backend, "out": str(run.args.out),
        "metrics_path": str(run.args.metrics_path), "steps": run.c.global_step,
        "steps_trained": run.ledger.used * run.args.steps_per_rollout,
        "updates": run.c.update, "policy_version": run.c.version, "wall_s": wall,
        "fps": run.c.global_step / max(wall, 1e-9), "lag": lag,
        "behaviour_kl_mean": float(np.mean(run.behaviour_kl)) if run.behaviour_kl else 0.0,
        "behaviour_kl_max": float(np.max(run.behaviour_kl)) if run.behaviour_kl else 0.0,
        **run.faults.summary(run.ledger.received),
        "rollouts_dropped_pct": _dropped_pct(run),
        "best_eval_return": run.c.best_eval if math.isfinite(run.c.best_eval) else None,
        "final_eval_return": final, "evals": [[s, v] for s, v in run.evals],
        "sim_to_real": ([[s, n.mean, r.mean] for s, n, r in run.gap.history]
                        if run.gap.history else None),
        "solved": run.solved, "rollbacks": run.rollbacks, "guard_warnings": run.warnings,
        "final_lr_scale": run.c.lr_scale, "buckets": run.bucket_stats.summary(),
        "guard": {"verdicts": run.guard.verdicts, "cost_s": run.guard.cost_s,
                  "share_of_wall": run.guard.cost_s / max(wall, 1e-9)},
        "stop_reason": run.stop_reason,
        SUMMARY_KEY: _summary(run, final).to_json(),
    }


def _summary(run: _Run, final: float) -> TrainSummary:
    """The run's summary document, what ``rlvet report`` reads (``rlvet.documents``)."""
    return TrainSummary(
        env_id=run.args.env_id, args=run.args.to_dict(),
        final_eval_return=final if math.isfinite(final) else None,
        best_eval_return=run.c.best_eval if math.isfinite(run.c.best_eval) else None,
        stop_reason=run.stop_reason,
        rollbacks=tuple(Rollback.from_fields(r, "rollback") for r in run.rollbacks),
        sim_to_real=tuple((float(s), float(n.mean), float(r.mean))
                          for s, n, r in run.gap.history))


def _findings(run: _Run) -> list[Finding]:
    found = run.guard.findings()
    found += fault_findings(run.faults, received=run.ledger.received,
                            envs_per_actor=run.args.envs_per_actor,
                            exhausted=run.stop_reason == "restarts_exhausted")
    found += stale_rollouts(run.ledger, max_lag=run.args.max_lag, mode=run.args.lag_mode,
                            step=run.c.global_step)
    found += check_bucket_variance(run.bucket_stats, run.c.global_step, run.buckets)
    found += run.gap.finding(run.args.real_env_kwargs)
    return found


class Display:
    """A rich progress bar on stderr: updates, training return, eval, fps, lag, noise.

    Args:
        enabled: False makes every method a no-op (``--json`` runs, tests).
        total: updates in the run.
        done: updates already done (a resumed run).
    """

    def __init__(self, enabled: bool, total: int, done: int) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._info: dict[str, float] = {}
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("[bold]train"), BarColumn(), TextColumn("{task.completed}/"
                                                                   "{task.total} updates"),
                TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                console=Console(stderr=True), transient=True)
            self._task = self._progress.add_task("train", total=total, completed=done,
                                                 info="")

    def __enter__(self) -> Display:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, done: int, record: Mapping[str, float], noise_pct: float) -> None:
        """Show the newest numbers (the last known return / eval stay until replaced)."""
        if self._progress is None:
            return
        for key in (names.REWARD, names.EVAL_RETURN, names.FPS, names.POLICY_LAG):
            if key in record:
                self._info[key] = float(record[key])
        i = self._info
        info = (f"return {i.get(names.REWARD, math.nan):.1f}  "
                f"eval {i.get(names.EVAL_RETURN, math.nan):.1f}  "
                f"fps {i.get(names.FPS, 0.0):.0f}  lag {i.get(names.POLICY_LAG, 0.0):.2f}  "
                f"lost {noise_pct:.1f}%")
        self._progress.update(self._task, completed=done, info=info)


def train(args: TrainArgs, *, progress: bool = False) -> TrainResult:
    """Train PPO with actors, lag control, fault isolation and guardrails.

    Args:
        args: the run's arguments.
        progress: show a progress display on stderr.

    Returns:
        The run's findings and metrics; files are in ``args.out``.

    Raises:
        RlvetInputError: an unknown env, an unsupported space, a missing checkpoint on
            resume, ``--backend ray`` without Ray.

    Example:
        >>> result = train(TrainArgs(env_id="CartPole-v1", total_steps=50_000,
        ...                          out=Path("runs/cp"), target_return=195))  # doctest: +SKIP
        >>> result.metrics["best_eval_return"] >= 195  # doctest: +SKIP
        True
    """
    started = time.perf_counter()
    torch.set_num_threads(TORCH_THREADS)
    gym.logger.min_level = 40  # Gymnasium's warnings would interleave with the progress bar
    run = _setup(args, started)
    try:
        _begin(run)
        with Display(progress, args.num_updates, run.c.update) as display:
            while run.c.update < args.num_updates and run.stop_reason is None:
                with run.timer.phase("wait"):
                    admitted = _gather(run)
                if admitted is None:
                    break
                with run.timer.phase("learner"):
                    learned = _learn(run, admitted)
                    _publish(run)
                with run.timer.phase("eval"):
                    evaluated = _maybe_evaluate(run)
                record = _record(run, learned, evaluated)
                _guard(run)
                _maybe_checkpoint(run)
                display.update(run.c.update, record, run.faults.noise_pct(run.ledger.received))
    except KeyboardInterrupt:
        run.stop_reason = "interrupted"
    except BaseException:
        _close(run)
        raise
    _finish(run)
    return TrainResult(findings=tuple(_findings(run)), metrics=_metrics(run),
                       out=Path(args.out), stop_reason=run.stop_reason)
