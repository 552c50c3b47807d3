"""Actors: step a vector env with batched policy inference, tag rollouts with the version.

Contents:
    ActorConfig -- what every actor needs to build its envs and its copy of the agent.
    SharedBlock -- lock-free shared memory between the learner and actor processes: the
        weights (seqlock), per-actor heartbeats, states, receive counters, fault times.
    ChaosPlan, plan_fault(rng, spec, steps) -- which fault, if any, strikes this rollout.
    WorkerHooks -- what ``collect`` reports while it runs (heartbeats, injected faults).
    RolloutWorker -- one actor's envs, RNGs and accumulators; ``collect`` produces one
        ``Rollout``; ``snapshot``/``restore`` for bit-exact resume of the sync backend.
    actor_main(...) -- the actor process: wait for credit, pick up the newest weights,
        collect, send; on an exception send ``ActorFailure`` and exit 1; exit when the
        learner stops the run or dies.
    actor_seed(base, slot, incarnation, start_version) -- a fresh, reproducible seed per
        restart and per resume.
    join_weights, split_weights -- the broadcast vector: parameters, obs mean, obs var.

Why lock-free shared memory: an actor may be killed with SIGKILL at any instruction. A
killed process that held a ``multiprocessing.Lock`` (or the write lock of a shared
``multiprocessing.Queue``) leaves it held forever and deadlocks everyone else. So the
weights are published with a seqlock (the learner is the only writer; readers retry when
the sequence number changed under them), counters have one writer each, and every actor
sends on its own pipe, which a restart replaces -- a torn message can only hurt the pipe
of the actor that died.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
import pickle
import signal
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol, cast

import gymnasium as gym
import numpy as np

from rlvet.pipeline.args import ChaosSpec
from rlvet.pipeline.domain_rand import Bucket, bucket_of, make_env
from rlvet.pipeline.normalization import EPSILON, OBS_CLIP, DiscountedReturn, Moments
from rlvet.pipeline.numpy_policy import NumpyPolicy
from rlvet.pipeline.rollout import ActorFailure, EpisodeStat, Rollout
from rlvet.pipeline.spaces import ActionSpec

__all__ = [
    "DONE",
    "SENDING",
    "STARTING",
    "STEPPING",
    "WAITING",
    "ActorConfig",
    "ChaosPlan",
    "RolloutWorker",
    "SharedBlock",
    "WorkerHooks",
    "actor_main",
    "actor_seed",
    "join_weights",
    "plan_fault",
    "split_weights",
]

# actor states, as written to SharedBlock.states; only STEPPING is judged for hangs
STARTING, STEPPING, WAITING, SENDING, DONE = 0, 1, 2, 3, 4
CREDIT_POLL_S = 0.002  # how often a waiting actor checks for credit: 2 ms keeps the wait
# invisible next to a rollout (tens of ms) at a negligible CPU cost
HANG_SLEEP_S = 3600.0  # an injected hang sleeps this long per iteration, i.e. forever


@dataclass(frozen=True, slots=True)
class ActorConfig:
    """Everything an actor process needs (picklable, sent once at process start)."""

    env_id: str
    envs: int
    rollout_steps: int
    gamma: float
    n_obs: int
    action: ActionSpec
    hidden: int
    norm_obs: bool
    buckets: tuple[Bucket, ...] = ()
    chaos: ChaosSpec = field(default_factory=ChaosSpec)
    inflight: int = 1

    def policy(self, params: np.ndarray) -> NumpyPolicy:
        """The acting networks for a parameter vector (``split_weights``' first part)."""
        return NumpyPolicy.from_flat(params, n_obs=self.n_obs, action=self.action,
                                     hidden=self.hidden)


def actor_seed(base: int, slot: int, incarnation: int, start_version: int = 0) -> int:
    """A seed for actor ``slot`` after ``incarnation`` restarts, in actors started at policy
    version ``start_version`` (0, or the version a run resumed from): different after each
    restart (a fresh seed, so a crash that depends on the state is not replayed) and after
    each resume (the resumed run does not replay the episodes it already trained on), the
    same in every run with the same base seed."""
    return int(np.random.SeedSequence([base, slot, incarnation, start_version])
               .generate_state(1)[0])


class SharedBlock:
    """Shared memory between the learner and its actor processes.

    Args:
        ctx: the multiprocessing context that starts the actors.
        n_weights: length of the broadcast vector (parameters + observation statistics).
        n_actors: actor slots.
    """

    def __init__(self, ctx: Any, n_weights: int, n_actors: int) -> None:
        layout = {"weights": ("f", n_weights), "header": ("q", 2), "beats": ("d", n_actors),
                  "states": ("q", n_actors), "received": ("q", n_actors),
                  "fault_at": ("d", n_actors), "stop": ("q", 1)}
        self._raw = {name: (code, ctx.RawArray(code, size))
                     for name, (code, size) in layout.items()}
        self._views: dict[str, np.ndarray] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"_raw": self._raw, "_views": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._raw, self._views = state["_raw"], None

    def view(self, name: str) -> np.ndarray:
        """numpy view of one array (made lazily in each process)."""
        if self._views is None:
            types = {"f": np.float32, "q": np.int64, "d": np.float64}
            self._views = {k: np.frombuffer(raw, dtype=types[code])
                           for k, (code, raw) in self._raw.items()}
        return self._views[name]

    def publish(self, version: int, flat: np.ndarray) -> None:
        """Learner only: write new weights under the seqlock (odd sequence = writing)."""
        header = self.view("header")
        header[0] += 1
        self.view("weights")[:] = flat
        header[1] = version
        header[0] += 1

    def version(self) -> int:
        """The last published version (-1 before the first)."""
        header = self.view("header")
        return int(header[1]) if int(header[0]) > 0 else -1

    def read(self, into: np.ndarray) -> int:
        """Actor: copy the current weights into ``into``; returns their version."""
        header = self.view("header")
        while True:
            seq = int(header[0])
            if seq % 2:
                time.sleep(0)
                continue
            into[:] = self.view("weights")
            version = int(header[1])
            if int(header[0]) == seq:
                return version

    @property
    def stopping(self) -> bool:
        """Set by the learner when the run ends."""
        return bool(self.view("stop")[0])


@dataclass(frozen=True, slots=True)
class ChaosPlan:
    """An injected fault: ``kind`` (crash, kill, hang) at vector step ``at`` of a rollout."""

    kind: str
    at: int


def plan_fault(rng: np.random.Generator, spec: ChaosSpec, steps: int) -> ChaosPlan | None:
    """Draw this rollout's fault: each kind with its probability, at a uniform step."""
    if not spec.active:
        return None
    u = float(rng.random())
    at = int(rng.integers(steps))
    for kind, p in (("crash", spec.crash), ("kill", spec.kill), ("hang", spec.hang)):
        if u < p:
            return ChaosPlan(kind, at)
        u -= p
    return None


class WorkerHooks(Protocol):
    """What a worker reports while collecting (shared memory in a process; no-op in sync)."""

    def beat(self) -> None:
        """One vector step is about to run."""

    def fault(self, kind: str) -> None:
        """An injected fault is about to strike."""


class _NoHooks:
    def beat(self) -> None:
        pass

    def fault(self, kind: str) -> None:
        pass


def _inject(plan: ChaosPlan, hooks: WorkerHooks) -> None:
    """Carry out an injected fault (see ``ChaosSpec``)."""
    hooks.fault(plan.kind)
    if plan.kind == "crash":
        raise RuntimeError("chaos: injected crash")
    if plan.kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    while True:  # hang: blocks inside the step, heartbeat stops
        time.sleep(HANG_SLEEP_S)


class RolloutWorker:
    """One actor's vector env, RNGs and running accumulators.

    Args:
        cfg: the actor configuration.
        slot: actor slot (fixes the env buckets).
        incarnation: restarts of this slot so far (recorded in each rollout).
        seed: seeds env resets, bucket sampling, action sampling and chaos.
    """

    def __init__(self, cfg: ActorConfig, slot: int, incarnation: int, seed: int) -> None:
        self.cfg, self.slot, self.incarnation = cfg, slot, incarnation
        seeds = np.random.SeedSequence(seed).generate_state(2 * cfg.envs + 2)
        n_b = len(cfg.buckets)
        self.buckets = np.array([bucket_of(slot, j, cfg.envs, n_b) if n_b else 0
                                 for j in range(cfg.envs)], dtype=np.int64)
        fns = [functools.partial(make_env, cfg.env_id,
                                 bucket=cfg.buckets[self.buckets[j]] if n_b else None,
                                 seed=int(seeds[cfg.envs + j])) for j in range(cfg.envs)]
        self.envs = gym.vector.SyncVectorEnv(fns)
        obs, _ = self.envs.reset(seed=[int(s) for s in seeds[: cfg.envs]])
        self.obs = obs.reshape(cfg.envs, -1).astype(np.float64)
        self.prev_done = np.zeros(cfg.envs, dtype=bool)
        self.disc = DiscountedReturn(cfg.envs, cfg.gamma)
        self.ep_ret = np.zeros(cfg.envs)
        self.ep_len = np.zeros(cfg.envs, dtype=np.int64)
        self.action_rng = np.random.default_rng(int(seeds[-2]))
        self.chaos_rng = np.random.default_rng(int(seeds[-1]))

    def _normalize(self, obs: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
        if not self.cfg.norm_obs:
            return obs.astype(np.float32)
        return cast(np.ndarray, np.clip((obs - mean) / np.sqrt(var + EPSILON), -OBS_CLIP,
                                        OBS_CLIP).astype(np.float32))

    def _record_episodes(self, r: np.ndarray, valid: np.ndarray, done: np.ndarray,
                         episodes: list[EpisodeStat]) -> None:
        self.ep_ret += np.where(valid, r, 0.0)
        self.ep_len += valid
        for j in np.flatnonzero(done & valid):
            episodes.append(EpisodeStat(int(self.buckets[j]), float(self.ep_ret[j]),
                                        int(self.ep_len[j])))
        self.ep_ret[done] = 0.0
        self.ep_len[done] = 0

    def collect(self, policy: NumpyPolicy, version: int, obs_mean: np.ndarray,
                obs_var: np.ndarray, hooks: WorkerHooks | None = None) -> Rollout:
        """Run ``rollout_steps`` vector steps with ``policy`` (the weights of ``version``).

        Args:
            policy: the behaviour policy.
            version: its version, recorded in the rollout.
            obs_mean, obs_var: (n_obs,) observation statistics of that version.
            hooks: heartbeat / fault reporting.
        """
        hooks = hooks or _NoHooks()
        t_steps, n = self.cfg.rollout_steps, self.cfg.envs
        buf = _Buffers.empty(t_steps, n, self.cfg.n_obs, self.cfg.action)
        plan = plan_fault(self.chaos_rng, self.cfg.chaos, t_steps)
        episodes: list[EpisodeStat] = []
        start = time.perf_counter()
        env_s = inference_s = 0.0
        for t in range(t_steps):
            hooks.beat()
            if plan is not None and plan.at == t:
                _inject(plan, hooks)
            norm = self._normalize(self.obs, obs_mean, obs_var)
            t0 = time.perf_counter()
            actions, lp, v = policy.act(norm, self.action_rng)
            t1 = time.perf_counter()
            next_obs, r, term, trunc, _ = self.envs.step(self.cfg.action.to_env(actions))
            env_s += time.perf_counter() - t1
            inference_s += t1 - t0
            valid = ~self.prev_done
            buf.put(t, norm, actions, lp, v, r, term, trunc, valid)
            buf.raw_obs.append(self.obs[valid])
            done = term | trunc
            buf.returns.append(self.disc.step(np.where(valid, r, 0.0), done)[valid])
            self._record_episodes(r, valid, done, episodes)
            self.prev_done = done
            self.obs = next_obs.reshape(n, -1).astype(np.float64)
        return buf.finish(
            next_obs=self._normalize(self.obs, obs_mean, obs_var), version=version,
            actor_id=self.slot, incarnation=self.incarnation, buckets=self.buckets.copy(),
            episodes=tuple(episodes), collect_s=time.perf_counter() - start, env_s=env_s,
            inference_s=inference_s)

    def snapshot(self) -> bytes:
        """Everything that determines the next rollouts, pickled (sync-mode checkpoints).

        Needs a picklable env (Gymnasium's classic-control and MuJoCo-free envs are).
        """
        state = {k: getattr(self, k) for k in ("envs", "obs", "prev_done", "disc", "ep_ret",
                                                "ep_len", "chaos_rng", "action_rng",
                                                "incarnation")}
        return pickle.dumps(state)

    def restore(self, blob: bytes) -> None:
        """Load a ``snapshot`` (replacing the envs built by the constructor)."""
        state = pickle.loads(blob)
        self.envs.close()
        state.pop("generator", None)  # a torch action generator, before NumpyPolicy
        for key, value in state.items():
            setattr(self, key, value)

    def close(self) -> None:
        """Close the envs."""
        self.envs.close()


@dataclass(slots=True)
class _Buffers:
    """Preallocated rollout arrays (T, N, ...) filled step by step."""

    obs: np.ndarray
    actions: np.ndarray
    logprobs: np.ndarray
    values: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    valid: np.ndarray
    raw_obs: list[np.ndarray]
    returns: list[np.ndarray]

    @classmethod
    def empty(cls, t: int, n: int, n_obs: int, action: ActionSpec) -> _Buffers:
        act_shape = (t, n) if action.discrete else (t, n, action.size)
        return cls(obs=np.zeros((t, n, n_obs), np.float32),
                   actions=np.zeros(act_shape, np.int64 if action.discrete else np.float32),
                   logprobs=np.zeros((t, n), np.float32), values=np.zeros((t, n), np.float32),
                   rewards=np.zeros((t, n), np.float32), terminated=np.zeros((t, n), bool),
                   truncated=np.zeros((t, n), bool), valid=np.zeros((t, n), bool),
                   raw_obs=[], returns=[])

    def put(self, t: int, *arrays: np.ndarray) -> None:
        for buf, value in zip((self.obs, self.actions, self.logprobs, self.values,
                               self.rewards, self.terminated, self.truncated, self.valid),
                              arrays, strict=True):
            buf[t] = value

    def finish(self, *, next_obs: np.ndarray, version: int, actor_id: int, incarnation: int,
               buckets: np.ndarray, episodes: tuple[EpisodeStat, ...],
               collect_s: float, env_s: float, inference_s: float) -> Rollout:
        return Rollout(
            obs=self.obs, next_obs=next_obs, actions=self.actions, logprobs=self.logprobs,
            values=self.values, rewards=self.rewards, terminated=self.terminated,
            truncated=self.truncated, valid=self.valid, policy_version=version,
            actor_id=actor_id, incarnation=incarnation, buckets=buckets, episodes=episodes,
            obs_moments=Moments.of(np.concatenate(self.raw_obs)),
            ret_moments=Moments.of(np.concatenate(self.returns)), collect_s=collect_s,
            env_s=env_s, inference_s=inference_s)


class _ProcessHooks:
    """Heartbeats and fault times in shared memory, for the learner's health checks."""

    def __init__(self, shared: SharedBlock, slot: int) -> None:
        self.beats, self.states = shared.view("beats"), shared.view("states")
        self.fault_at, self.slot = shared.view("fault_at"), slot

    def set_state(self, state: int) -> None:
        self.beats[self.slot] = time.monotonic()
        self.states[self.slot] = state

    def beat(self) -> None:
        self.set_state(STEPPING)

    def fault(self, kind: str) -> None:
        self.fault_at[self.slot] = time.monotonic()


def _learner_alive() -> bool:
    """Whether the process that started this actor still runs. A learner killed with
    SIGKILL cannot stop its actors; without this check they would wait for credit forever."""
    parent = mp.parent_process()
    return parent is None or parent.is_alive()


def _wait_for_credit(shared: SharedBlock, hooks: _ProcessHooks, slot: int, sent: int,
                     inflight: int) -> bool:
    """Block while ``inflight`` sent rollouts are still unreceived (the lag bound); False
    when the run is over (stopped, or the learner is gone)."""
    received = shared.view("received")
    hooks.set_state(WAITING)
    while sent - int(received[slot]) >= inflight:
        if shared.stopping or not _learner_alive():
            return False
        time.sleep(CREDIT_POLL_S)
        hooks.set_state(WAITING)
    return not shared.stopping and _learner_alive()


def split_weights(flat: np.ndarray, n_obs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Broadcast vector -> (network parameters, obs mean, obs var)."""
    n = flat.size - 2 * n_obs
    return flat[:n], flat[n: n + n_obs].astype(np.float64), flat[n + n_obs:].astype(
        np.float64)


def actor_main(cfg: ActorConfig, slot: int, incarnation: int, seed: int, conn: Connection,
               shared: SharedBlock) -> None:
    """The actor process: collect and send rollouts until the learner sets ``stop``.

    Each rollout is collected with one fixed weights version (the newest published when it
    starts), so it carries exactly one version tag.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the learner's to handle: it
    # stops the actors itself and saves last.pt, without a traceback from every actor
    hooks = _ProcessHooks(shared, slot)
    hooks.set_state(STARTING)
    try:
        worker = RolloutWorker(cfg, slot, incarnation, seed)
        flat = np.zeros_like(shared.view("weights"))
        version, sent = -1, 0
        while shared.version() < 0 and not shared.stopping:  # the learner publishes first
            time.sleep(CREDIT_POLL_S)
        while _wait_for_credit(shared, hooks, slot, sent, cfg.inflight):
            if shared.version() != version:
                version = shared.read(flat)
                params, obs_mean, obs_var = split_weights(flat, cfg.n_obs)
                policy = cfg.policy(params)
            rollout = worker.collect(policy, version, obs_mean, obs_var, hooks)
            hooks.set_state(SENDING)
            conn.send(rollout)
            sent += 1
        hooks.set_state(DONE)
        worker.close()
    except Exception as exc:  # an actor's error is data for the learner, not a crash of it
        _report_failure(conn, slot, incarnation, exc)
        raise SystemExit(1) from None
    finally:
        conn.close()


def _report_failure(conn: Connection, slot: int, incarnation: int, exc: Exception) -> None:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    try:
        conn.send(ActorFailure(slot, incarnation, last, time.monotonic()))
    except (OSError, ValueError):  # the learner closed the pipe: nobody is listening
        pass


def join_weights(params: np.ndarray, obs_mean: np.ndarray, obs_var: np.ndarray) -> np.ndarray:
    """(parameters, obs mean, obs var) -> the broadcast vector, float32."""
    return np.concatenate([params, obs_mean, obs_var]).astype(np.float32)
