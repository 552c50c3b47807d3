"""Where actors run: the ``ActorBackend`` protocol, local processes, and in-process sync.

Contents:
    ActorEvent -- one detected actor fault: kind, who, how long detection took.
    PollResult -- what one ``poll`` returned: rollouts and fault events.
    ActorBackend -- the protocol the trainer talks to (start, publish, poll, close).
    LocalBackend -- actor processes (multiprocessing, forkserver): per-actor pipes,
        heartbeat hang detection, SIGKILL/exception detection, restart with a fresh seed.
    SyncBackend -- one actor in the learner's process, collecting only when polled: no lag,
        no concurrency, bit-reproducible (the resume tests use it).
    make_backend(args, cfg) -- the backend ``args.backend`` names (``ray`` imports Ray lazily).
    FaultLog -- the run's fault events: counts, lost rollouts, noise, detection latency.
    fault_findings(log, ...) -- ``worker_crash`` and ``worker_hang`` findings.

Fault isolation (anchors.md section 4; RLlib's ``restart_failed_env_runners``): a fault
costs one actor's rollout in progress, never the run. Detection paths:
    * an exception: the actor sends ``ActorFailure`` and exits -- seen at the next poll;
    * SIGKILL / any death: the process sentinel and the pipe's EOF wake ``poll`` at once;
    * a hang: the actor's heartbeat (written before every vector step) is older than
      ``step_timeout`` while it is stepping -- it is SIGKILLed and counted as hung.
An actor waiting for credit or blocked sending to a busy learner is not stepping and is
never judged hung: that is the learner being slow (``learner_bound``), not a fault.
Complete rollouts a dead actor sent before dying are kept (they are whole and tagged); the
rollout it was collecting is lost and counted as dropped, with the episodes in progress.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

import numpy as np

from rlvet.errors import RlvetInputError
from rlvet.findings import Category, Finding, Severity
from rlvet.pipeline.actors import (
    STARTING,
    STEPPING,
    ActorConfig,
    RolloutWorker,
    SharedBlock,
    actor_main,
    actor_seed,
    split_weights,
)
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.numpy_policy import NumpyPolicy
from rlvet.pipeline.rollout import ActorFailure, Rollout

__all__ = ["NOISE_ERROR_PCT", "ActorBackend", "ActorEvent", "FaultLog", "LocalBackend",
           "PollResult", "SyncBackend", "fault_findings", "make_backend"]

CLOSE_GRACE_S = 2.0  # actors get this long to finish cleanly at shutdown, then SIGKILL
JOIN_AFTER_KILL_S = 2.0  # a SIGKILLed process is reaped within ms; this only bounds a wait
SIGKILL_EXIT = -9  # Process.exitcode of a process killed by signal 9


@dataclass(frozen=True, slots=True)
class ActorEvent:
    """One actor fault, as detected by the backend.

    Attributes:
        kind: ``crash`` (raised), ``kill`` (killed by a signal), ``hang`` (heartbeat too
            old, killed by the backend), ``exit`` (exited on its own with a non-zero code).
        actor_id, incarnation: the slot and its restart count at the time of the fault.
        detail: the exception text, exit code, or heartbeat age.
        latency_s: seconds from the fault to its detection when known (injected faults
            record their time; a raised exception carries it), else None.
        partial_dropped: whether a rollout in progress was lost.
        restarted: whether the slot was restarted (False once ``max_restarts`` is spent).
    """

    kind: str
    actor_id: int
    incarnation: int
    detail: str
    latency_s: float | None
    partial_dropped: bool
    restarted: bool


@dataclass(slots=True)
class PollResult:
    """Rollouts received and faults detected during one ``poll``."""

    rollouts: list[Rollout] = field(default_factory=list)
    events: list[ActorEvent] = field(default_factory=list)


class ActorBackend(Protocol):
    """How the trainer drives actors, wherever they run.

    The trainer calls ``start`` once with version 0, ``publish`` after every update (and
    rollback), ``poll`` whenever it needs data, and ``close`` at the end. Faults never
    raise: they come back as ``ActorEvent``s, and the backend restarts the actor.
    """

    def start(self, version: int, weights: np.ndarray) -> None:
        """Start the actors with the first weights (broadcast vector, ``join_weights``)."""

    def publish(self, version: int, weights: np.ndarray) -> None:
        """Make new weights the ones actors pick up for their next rollout."""

    def poll(self, timeout: float) -> PollResult:
        """Rollouts and fault events available within ``timeout`` seconds."""

    @property
    def restarts(self) -> int:
        """Actor restarts so far."""

    @property
    def exhausted(self) -> bool:
        """True once ``max_restarts`` is spent and no actor is left running."""

    def close(self) -> None:
        """Stop every actor (gracefully, then SIGKILL) and release resources."""


@dataclass(slots=True)
class _Slot:
    proc: Any
    conn: Connection
    incarnation: int
    started: float
    alive: bool = True


class LocalBackend:
    """Actor processes on this machine.

    Args:
        cfg: actor configuration.
        n_actors: actor slots.
        seed: base seed (each actor's seed derives from it, its slot and its restarts).
        step_timeout: seconds a vector step may take before the actor counts as hung.
        startup_timeout: seconds an actor may take to start.
        max_restarts: restarts allowed over the run; after that a failed slot stays down.
        start_method: ``forkserver`` (the default where available: children fork from a
            clean server that imported the actor code once, so restarts take milliseconds
            and never fork a process with live threads), or ``spawn`` (Windows).
    """

    def __init__(self, cfg: ActorConfig, n_actors: int, seed: int, *, step_timeout: float,
                 startup_timeout: float, max_restarts: int,
                 start_method: str | None = None) -> None:
        self.cfg, self.n, self.seed = cfg, n_actors, seed
        self.step_timeout, self.startup_timeout = step_timeout, startup_timeout
        self.max_restarts = max_restarts
        if start_method is None:  # forkserver is POSIX-only; Windows has spawn
            start_method = "forkserver" if "forkserver" in mp.get_all_start_methods() else (
                "spawn")
        # Any: typeshed types get_context(str) as BaseContext, which lacks the Process
        # and Pipe every concrete context has
        self._ctx: Any = mp.get_context(start_method)
        if start_method == "forkserver":
            # The server imports the main module once (otherwise every actor re-imports
            # it on start) and the actor module, which is torch-free (see numpy_policy).
            # Started now, it lives as long as this process, and its imports overlap the
            # learner's setup instead of delaying the first actor in ``start``. Measured:
            # first rollout 2.6-3.1 s after train() was called (the server importing
            # torch and scipy, then every child the main module) -> 0.3 s.
            self._ctx.set_forkserver_preload(["__main__", "rlvet.pipeline.actors"])
            forkserver.ensure_running()
        self._shared: SharedBlock | None = None
        self._slots: dict[int, _Slot] = {}
        self._restarts = 0
        self._start_version = 0

    @property
    def restarts(self) -> int:
        """Actor restarts so far."""
        return self._restarts

    @property
    def exhausted(self) -> bool:
        """No actor left alive and no restart left."""
        return bool(self._slots) and not any(s.alive for s in self._slots.values())

    def start(self, version: int, weights: np.ndarray) -> None:
        """Publish the first weights, then start one process per slot."""
        self._shared = SharedBlock(self._ctx, weights.size, self.n)
        self._shared.publish(version, weights)
        self._start_version = version
        for slot in range(self.n):
            self._spawn(slot, 0)

    def _spawn(self, slot: int, incarnation: int) -> None:
        assert self._shared is not None
        now = time.monotonic()
        for name, value in (("beats", now), ("states", STARTING), ("received", 0),
                            ("fault_at", 0.0)):
            self._shared.view(name)[slot] = value
        recv, send = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=actor_main, name=f"rlvet-actor-{slot}", daemon=True,
            args=(self.cfg, slot, incarnation,
                  actor_seed(self.seed, slot, incarnation, self._start_version), send,
                  self._shared))
        proc.start()
        send.close()  # only the child holds the write end: its death reads as EOF here
        self._slots[slot] = _Slot(proc, recv, incarnation, now)

    def publish(self, version: int, weights: np.ndarray) -> None:
        """Seqlock-publish new weights; actors take them at their next rollout."""
        assert self._shared is not None
        self._shared.publish(version, weights)

    def poll(self, timeout: float) -> PollResult:
        """Wait up to ``timeout`` for any pipe or process sentinel, then drain and check."""
        out = PollResult()
        live = [s for s in self._slots.values() if s.alive]
        if live:
            wait([s.conn for s in live] + [s.proc.sentinel for s in live], timeout)
        else:
            time.sleep(timeout)
        for slot, state in list(self._slots.items()):
            if state.alive:
                self._check(slot, state, out)
        return out

    def _drain(self, slot: int, state: _Slot, out: PollResult) -> tuple[ActorFailure | None,
                                                                         bool]:
        """Receive every complete message; returns (failure report, pipe closed)."""
        assert self._shared is not None
        received = self._shared.view("received")
        failure = None
        try:
            while state.conn.poll():
                msg = state.conn.recv()
                if isinstance(msg, ActorFailure):
                    failure = msg
                else:
                    out.rollouts.append(msg)
                    received[slot] += 1
        except (EOFError, OSError):
            return failure, True
        return failure, False

    def _check(self, slot: int, state: _Slot, out: PollResult) -> None:
        """Drain the actor's pipe, then turn death or a stale heartbeat into an event."""
        assert self._shared is not None
        failure, closed = self._drain(slot, state, out)
        if failure is not None or closed or not state.proc.is_alive():
            state.proc.join(JOIN_AFTER_KILL_S)
            self._fault(slot, state, out, *self._death_kind(state, failure))
            return
        now = time.monotonic()
        age = now - float(self._shared.view("beats")[slot])
        phase = int(self._shared.view("states")[slot])
        hung = ((phase == STEPPING and age > self.step_timeout)
                or (phase == STARTING and now - state.started > self.startup_timeout))
        if hung:
            state.proc.kill()
            state.proc.join(JOIN_AFTER_KILL_S)
            self._drain(slot, state, out)  # whole rollouts sent before the hang still count
            self._fault(slot, state, out, "hang",
                        f"no heartbeat for {age:.1f} s (budget {self.step_timeout} s)", None)

    def _death_kind(self, state: _Slot, failure: ActorFailure | None
                    ) -> tuple[str, str, float | None]:
        if failure is not None:
            return "crash", failure.error, time.monotonic() - failure.at
        code = state.proc.exitcode
        if code is not None and code < 0:
            return "kill", f"killed by signal {-code}", None
        return "exit", f"exited with code {code}", None

    def _fault(self, slot: int, state: _Slot, out: PollResult, kind: str, detail: str,
               latency: float | None) -> None:
        """Record the event, close the dead actor's pipe, restart the slot if allowed."""
        assert self._shared is not None
        fault_at = float(self._shared.view("fault_at")[slot])
        if latency is None and fault_at > state.started:  # an injected fault logged its time
            latency = time.monotonic() - fault_at
        partial = int(self._shared.view("states")[slot]) == STEPPING
        state.conn.close()
        state.alive = False
        restart = self._restarts < self.max_restarts
        out.events.append(ActorEvent(kind, slot, state.incarnation, detail, latency, partial,
                                     restart))
        if restart:
            self._restarts += 1
            self._spawn(slot, state.incarnation + 1)

    def close(self) -> None:
        """Ask actors to stop, give them ``CLOSE_GRACE_S``, SIGKILL the rest."""
        if self._shared is None:
            return
        self._shared.view("stop")[0] = 1
        deadline = time.monotonic() + CLOSE_GRACE_S
        for state in self._slots.values():
            while state.alive and state.proc.is_alive() and time.monotonic() < deadline:
                try:  # keep draining so an actor blocked in send() can finish and exit
                    while state.conn.poll(0.01):
                        state.conn.recv()
                except (EOFError, OSError):
                    break
            if state.proc.is_alive():
                state.proc.kill()
            state.proc.join(JOIN_AFTER_KILL_S)
            state.conn.close()
        self._slots.clear()
        self._shared = None


class SyncBackend:
    """One actor inside the learner's process: ``poll`` collects one rollout, then returns.

    No concurrency, so lag is always 0 and the run is a pure function of the seed: the
    backend behind the bit-exact resume guarantee. An exception in a rollout (an injected
    crash, an env bug) is caught, counted and the worker rebuilt with a fresh seed; hangs
    and kills need a process to contain them.

    Args:
        cfg: actor configuration.
        seed: base seed.
        max_restarts: rebuilds allowed; after that ``exhausted`` is True.
    """

    def __init__(self, cfg: ActorConfig, seed: int, max_restarts: int = 100) -> None:
        self.cfg, self.seed, self.max_restarts = cfg, seed, max_restarts
        self.policy: NumpyPolicy | None = None
        self.worker: RolloutWorker | None = None
        self._version = -1
        self._stats: tuple[np.ndarray, np.ndarray] | None = None
        self._restarts = 0

    @property
    def restarts(self) -> int:
        """Worker rebuilds after injected crashes."""
        return self._restarts

    @property
    def exhausted(self) -> bool:
        """True once a failure found ``max_restarts`` spent."""
        return self.worker is None and self._restarts >= self.max_restarts

    def start(self, version: int, weights: np.ndarray) -> None:
        """Build the worker (unless ``restore`` already did) and load the weights."""
        if self.worker is None:
            self.worker = RolloutWorker(self.cfg, 0, 0, actor_seed(self.seed, 0, 0))
        self.publish(version, weights)

    def publish(self, version: int, weights: np.ndarray) -> None:
        """Load the weights into the in-process agent (same float32 round trip as actors)."""
        params, mean, var = split_weights(weights, self.cfg.n_obs)
        self.policy = self.cfg.policy(params)
        self._version, self._stats = version, (mean, var)

    def poll(self, timeout: float) -> PollResult:
        """Collect one rollout now (``timeout`` is irrelevant in-process)."""
        out = PollResult()
        if self.worker is None or self._stats is None or self.policy is None:
            return out
        try:
            out.rollouts.append(self.worker.collect(self.policy, self._version, *self._stats))
        except Exception as exc:  # an injected crash or an env bug: contained, counted
            incarnation = self.worker.incarnation + 1
            self.worker.close()
            restart = self._restarts < self.max_restarts
            self.worker = None
            if restart:
                self._restarts += 1
                self.worker = RolloutWorker(self.cfg, 0, incarnation,
                                            actor_seed(self.seed, 0, incarnation))
            out.events.append(ActorEvent("crash", 0, incarnation - 1,
                                         f"{type(exc).__name__}: {exc}", 0.0, True, restart))
        return out

    def snapshot(self) -> bytes | None:
        """The worker's full state, for a bit-exact resume."""
        return None if self.worker is None else self.worker.snapshot()

    def restore(self, blob: bytes) -> None:
        """Rebuild the worker from a ``snapshot``."""
        state_worker = RolloutWorker(self.cfg, 0, 0, actor_seed(self.seed, 0, 0))
        state_worker.restore(blob)
        self.worker = state_worker

    def close(self) -> None:
        """Close the worker's envs."""
        if self.worker is not None:
            self.worker.close()


def make_backend(args: TrainArgs, cfg: ActorConfig) -> ActorBackend:
    """The backend ``args.backend`` names.

    Raises:
        RlvetInputError: ``ray`` without Ray installed ("install rlvet[ray]").
    """
    if args.backend == "sync":
        return SyncBackend(cfg, args.seed, args.max_restarts)
    if args.backend == "ray":
        from rlvet.pipeline.ray_backend import RayBackend

        return RayBackend(cfg, args.actors, args.seed, address=args.ray_address,
                          step_timeout=args.step_timeout, max_restarts=args.max_restarts)
    if args.backend != "local":  # pragma: no cover - TrainArgs validates the choice
        raise RlvetInputError(f"--backend: unknown backend {args.backend!r}")
    return LocalBackend(cfg, args.actors, args.seed, step_timeout=args.step_timeout,
                        startup_timeout=args.startup_timeout, max_restarts=args.max_restarts)


@dataclass(slots=True)
class FaultLog:
    """Every fault event of a run, with the training step it was detected at."""

    events: list[tuple[int, ActorEvent]] = field(default_factory=list)

    def add(self, event: ActorEvent, step: int) -> None:
        """Record one event."""
        self.events.append((step, event))

    @property
    def restarts(self) -> int:
        """Actor restarts."""
        return sum(e.restarted for _, e in self.events)

    @property
    def partial_dropped(self) -> int:
        """Rollouts in progress lost to faults."""
        return sum(e.partial_dropped for _, e in self.events)

    @property
    def restarts_refused(self) -> bool:
        """Whether a fault found ``max_restarts`` spent."""
        return any(not e.restarted for _, e in self.events)

    def count(self, *kinds: str) -> int:
        """Events of the given kinds."""
        return sum(e.kind in kinds for _, e in self.events)

    def latency(self, *kinds: str) -> dict[str, float | int | None]:
        """Detection latency of the events of ``kinds`` whose fault time is known."""
        known = [e.latency_s for _, e in self.events if e.kind in kinds
                 and e.latency_s is not None]
        return {"n": len(known), "mean": float(np.mean(known)) if known else None,
                "max": float(np.max(known)) if known else None}

    def noise_pct(self, received: int) -> float:
        """Infrastructure noise: rollouts lost to faults, % of all rollouts started."""
        lost = self.partial_dropped
        return 100.0 * lost / (received + lost) if received + lost else 0.0

    def summary(self, received: int) -> dict[str, Any]:
        """Counts by kind, restarts, lost rollouts, noise and detection latency."""
        kinds = ("crash", "kill", "exit", "hang")
        return {"faults": {k: self.count(k) for k in kinds}, "restarts": self.restarts,
                "rollouts_lost_to_faults": self.partial_dropped,
                "infrastructure_noise_pct": self.noise_pct(received),
                "detection_latency_s": {k: self.latency(k) for k in kinds if self.count(k)}}


NOISE_ERROR_PCT = 20.0  # a fifth of all rollouts lost: the returns reported describe the
# episodes that survived, not the policy; results are not trustworthy


def _fault_finding(log: FaultLog, kinds: tuple[str, ...], received: int,
                   envs_per_actor: int, exhausted: bool) -> Finding | None:
    events = [(s, e) for s, e in log.events if e.kind in kinds]
    if not events:
        return None
    hang = kinds == ("hang",)
    lost = sum(e.partial_dropped for _, e in events)
    noise = log.noise_pct(received)
    by_kind = "" if hang else " (" + ", ".join(
        f"{log.count(k)} {k}" for k in kinds if log.count(k)) + ")"
    lat = log.latency(*kinds)
    detected = "" if lat["max"] is None else f", detected within {lat['max']:.2g} s"
    message = (
        f"{len(events)} actor {'hang' if hang else 'failure'}(s){by_kind}{detected}; "
        f"{lost} partial rollout(s) and about {lost * envs_per_actor} episode(s) in progress "
        f"were discarded ({noise:.1f}% of rollouts lost to faults), so training returns "
        f"exclude episodes cut short by a fault, which favours short episodes")
    severity = Severity.ERROR if exhausted or noise > NOISE_ERROR_PCT else Severity.WARNING
    remedy = ("find the env call that blocks (a simulator deadlock, a network call without a "
              "timeout) or raise --step-timeout if the steps are legitimately slow"
              if hang else
              "read the actor errors in the evidence; fix the env or policy code that raises, "
              "or the memory limit that gets the process killed; results with more than "
              f"{NOISE_ERROR_PCT:.0f}% noise should be rerun")
    return Finding.of(
        check="pipeline.backends." + ("worker_hang" if hang else "worker_crash"),
        category=Category.WORKER_HANG if hang else Category.WORKER_CRASH,
        severity=severity, message=message,
        evidence={"events": len(events), "by_kind": {k: log.count(k) for k in kinds},
                  "partial_rollouts_dropped": lost, "infrastructure_noise_pct": noise,
                  "restarts": sum(e.restarted for _, e in events),
                  "restarts_exhausted": exhausted, "detection_latency_s": lat,
                  "errors": sorted({e.detail for _, e in events})[:5],
                  "steps": [s for s, _ in events][:20]},
        step=events[0][0], remedy=remedy)


def fault_findings(log: FaultLog, *, received: int, envs_per_actor: int,
                   exhausted: bool) -> list[Finding]:
    """``worker_crash`` (raised, killed, exited) and ``worker_hang`` findings of a run."""
    found = [_fault_finding(log, ("crash", "kill", "exit"), received, envs_per_actor,
                            exhausted),
             _fault_finding(log, ("hang",), received, envs_per_actor, exhausted)]
    return [f for f in found if f is not None]
