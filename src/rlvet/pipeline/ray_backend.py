"""``--backend ray``: the actors as Ray actors (a local ``ray.init()`` or a cluster address).

Contents:
    RayBackend -- the ``ActorBackend`` protocol on Ray.

Ray is an optional dependency (``pip install 'rlvet[ray]'``); this module imports it only
when the backend is built, and a missing Ray is one line and exit 2, never a traceback.
No home-made cluster code (ARCHITECTURE.md section 7): Ray places the actors, ships the
weights (``ray.put`` once per version, shared by every actor) and reports dead actors.

Differences from the local backend, by construction:
    * version tags, lag admission and the learner are identical (rollouts are the same
      ``Rollout`` objects);
    * a raised exception arrives as ``RayTaskError`` (kind ``crash``), a killed actor
      process as ``RayActorError`` (kind ``kill``); their detection latency is unknown to
      the learner (None), since the actor cannot write its fault time into shared memory;
    * there is no per-step heartbeat across machines: a hang is a rollout that has not
      returned after ``step_timeout`` x ``rollout_steps`` seconds, and the actor is
      ``ray.kill``-ed and replaced;
    * whole rollouts a failing actor had already finished are kept (``_salvage``), as the
      local backend keeps what a dead actor sent before dying;
    * rollouts are copied out of Ray's object store on arrival (``_owned``): Ray hands
      numpy arrays back as read-only zero-copy views.

Status: run on a local Ray 2.60 (2 actors, CartPole-v1, injected crashes and kills) by
``tests/pipeline/test_pipeline_ray_real.py`` (skipped where Ray is not installed); the
bookkeeping is also tested against a stand-in for Ray in ``test_pipeline_ray_backend.py``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlvet.errors import RlvetInputError
from rlvet.pipeline.actors import ActorConfig, RolloutWorker, actor_seed, split_weights
from rlvet.pipeline.backends import ActorEvent, PollResult
from rlvet.pipeline.numpy_policy import NumpyPolicy
from rlvet.pipeline.rollout import Rollout

__all__ = ["RayBackend"]


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RlvetInputError("--backend ray needs Ray: install rlvet[ray] "
                              "(pip install 'rlvet[ray]')") from None
    return ray


def _owned(rollout: Rollout) -> Rollout:
    """The rollout with writable arrays of its own. Ray deserialises numpy arrays zero-copy
    as read-only views of the object store, which torch warns about (writing to them would
    be undefined) and which pin the store's memory for as long as the rollout is queued."""
    copies: dict[str, Any] = {f.name: np.array(getattr(rollout, f.name))
              for f in dataclasses.fields(rollout)
              if isinstance(getattr(rollout, f.name), np.ndarray)
              and not getattr(rollout, f.name).flags.writeable}
    return dataclasses.replace(rollout, **copies) if copies else rollout


class _RolloutActor:
    """The body of a Ray actor: one RolloutWorker and its copy of the agent."""

    def __init__(self, cfg: ActorConfig, slot: int, incarnation: int, seed: int) -> None:
        self.cfg = cfg
        self.worker = RolloutWorker(cfg, slot, incarnation, seed)
        self.policy: NumpyPolicy | None = None
        self.version = -1
        self.stats: tuple[np.ndarray, np.ndarray] | None = None

    def collect(self, version: int, weights: np.ndarray) -> Any:
        """One rollout with the weights of ``version`` (loaded only when they changed)."""
        if version != self.version:
            params, mean, var = split_weights(weights, self.cfg.n_obs)
            self.policy = self.cfg.policy(params)
            self.version, self.stats = version, (mean, var)
        assert self.stats is not None and self.policy is not None
        return self.worker.collect(self.policy, version, *self.stats)


@dataclass(slots=True)
class _RaySlot:
    handle: Any
    incarnation: int
    inflight: dict[Any, float]  # object ref -> submit time


class RayBackend:
    """Actors on Ray.

    Args:
        cfg: actor configuration.
        n_actors: Ray actors.
        seed: base seed.
        address: a Ray cluster address; None starts (or joins) a local Ray.
        step_timeout: seconds per vector step; a rollout taking longer than this times
            ``cfg.rollout_steps`` counts as a hang.
        max_restarts: restarts allowed over the run.
    """

    def __init__(self, cfg: ActorConfig, n_actors: int, seed: int, *, address: str | None,
                 step_timeout: float, max_restarts: int) -> None:
        self.ray = _import_ray()
        self.cfg, self.n, self.seed = cfg, n_actors, seed
        self.rollout_timeout = step_timeout * cfg.rollout_steps
        self.max_restarts, self._restarts = max_restarts, 0
        self.address = address
        self._remote = self.ray.remote(num_cpus=1)(_RolloutActor)
        self._slots: dict[int, _RaySlot] = {}
        self._weights: tuple[int, Any] | None = None
        self._start_version = 0
        self._dead = False

    @property
    def restarts(self) -> int:
        """Actor restarts so far."""
        return self._restarts

    @property
    def exhausted(self) -> bool:
        """No actor left and no restart left."""
        return self._dead and not self._slots

    def start(self, version: int, weights: np.ndarray) -> None:
        """Connect to Ray, put the weights, start the actors and their first rollouts."""
        if not self.ray.is_initialized():
            self.ray.init(address=self.address, ignore_reinit_error=True,
                          log_to_driver=False)
        self._start_version = version
        self.publish(version, weights)
        for slot in range(self.n):
            self._spawn(slot, 0)

    def _spawn(self, slot: int, incarnation: int) -> None:
        seed = actor_seed(self.seed, slot, incarnation, self._start_version)
        handle = self._remote.remote(self.cfg, slot, incarnation, seed)
        self._slots[slot] = _RaySlot(handle, incarnation, {})
        for _ in range(self.cfg.inflight):
            self._submit(slot)

    def _submit(self, slot: int) -> None:
        assert self._weights is not None
        version, ref = self._weights
        state = self._slots[slot]
        state.inflight[state.handle.collect.remote(version, ref)] = time.monotonic()

    def publish(self, version: int, weights: np.ndarray) -> None:
        """``ray.put`` the new weights once; the next submitted rollouts use them."""
        self._weights = (version, self.ray.put(weights))

    def poll(self, timeout: float) -> PollResult:
        """Collect finished rollouts, resubmit, and turn errors and timeouts into events."""
        out = PollResult()
        refs = [r for s in self._slots.values() for r in s.inflight]
        if not refs:
            time.sleep(timeout)
            return out
        owner = {ref: slot for slot, s in self._slots.items() for ref in s.inflight}
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=timeout)
        for ref in ready:  # a fault replaces a slot: its other refs are then skipped
            self._settle(owner[ref], ref, out)
        self._check_hangs(out)
        return out

    def _settle(self, slot: int, ref: Any, out: PollResult) -> None:
        state = self._slots.get(slot)
        if state is None or ref not in state.inflight:
            return  # the slot was replaced while this result was in flight
        del state.inflight[ref]
        try:
            out.rollouts.append(_owned(self.ray.get(ref)))
        except self.ray.exceptions.RayActorError as exc:
            self._fault(slot, out, "kill", f"actor died: {exc}")
            return
        except self.ray.exceptions.RayTaskError as exc:
            self._fault(slot, out, "crash", str(exc).strip().splitlines()[-1])
            return
        self._submit(slot)

    def _check_hangs(self, out: PollResult) -> None:
        now = time.monotonic()
        for slot, state in list(self._slots.items()):
            if any(now - t > self.rollout_timeout for t in state.inflight.values()):
                self._fault(slot, out, "hang",
                            f"no rollout for {self.rollout_timeout:.0f} s")

    def _salvage(self, state: _RaySlot, out: PollResult) -> None:
        """Keep the whole rollouts a failing actor had already finished: they are complete
        and tagged, so a fault costs only the rollout in progress."""
        refs = list(state.inflight)
        state.inflight.clear()
        if not refs:
            return
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        for ref in ready:
            try:
                out.rollouts.append(_owned(self.ray.get(ref)))
            except (self.ray.exceptions.RayActorError, self.ray.exceptions.RayTaskError):
                continue

    def _fault(self, slot: int, out: PollResult, kind: str, detail: str) -> None:
        state = self._slots.pop(slot)
        self._salvage(state, out)
        self.ray.kill(state.handle, no_restart=True)
        restart = self._restarts < self.max_restarts
        out.events.append(ActorEvent(kind, slot, state.incarnation, detail, None, True,
                                     restart))
        if restart:
            self._restarts += 1
            self._spawn(slot, state.incarnation + 1)
        else:
            self._dead = True

    def close(self) -> None:
        """Kill the actors (Ray itself stays up for the caller's other work)."""
        for state in self._slots.values():
            self.ray.kill(state.handle, no_restart=True)
        self._slots.clear()
