"""``rlvet.Monitor``: the doctor's detectors, live, for any hand-written training loop.

Contents:
    Action -- continue / stop / rollback.
    MonitorDecision -- the action, the finding behind it, the checkpoint to roll back to.
    Monitor -- ``log(step, **metrics)`` appends rlvet JSONL (flushed per record) and keeps
        the series in memory; ``verdict()`` runs ``rlvet.doctor.diagnose`` on them.
        With ``resources=True`` (the default) every record also carries the process RSS
        and heap, CUDA allocated / reserved memory when CUDA is in use, the share of wall
        time spent in each ``with mon.phase("env"): ...`` block since the previous record,
        and ``fps`` (steps per second since the previous step) unless the loop logs a
        throughput of its own.

The same detector code serves live and offline use: ``verdict()`` builds the run's signals
with the readers' own alias table and duplicate rules, so ``rlvet doctor`` on the JSONL file
afterwards reaches the same conclusion the live loop acted on. The signals are kept up to
date incrementally (``rlvet.signals.growing.GrowingLog``): a verdict converts only the
records logged since the last one; the detectors then read the whole history.

Example:
    >>> mon = Monitor("runs/a/metrics.jsonl")  # doctest: +SKIP
    >>> for update in range(100):  # doctest: +SKIP
    ...     with mon.phase("env"):  # doctest: +SKIP
    ...         batch = collect()
    ...     with mon.phase("learner"):  # doctest: +SKIP
    ...         approx_kl, ent = update(batch)
    ...     mon.log(update * 2048, kl=approx_kl, entropy=ent, reward=ep_return)
    ...     if mon.verdict().action is not Action.CONTINUE:
    ...         break
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from rlvet.doctor.diagnose import Diagnosis, diagnose
from rlvet.doctor.live import LiveGate, LivePolicy
from rlvet.errors import RlvetInputError
from rlvet.findings import Finding
from rlvet.resources.sampler import PhaseTimer, memory_sample
from rlvet.signals import names
from rlvet.signals.aliases import is_update_signal, resolve
from rlvet.signals.growing import GrowingLog
from rlvet.signals.jsonl_writer import JsonlWriter
from rlvet.signals.series import Checkpoint, RunSignals

__all__ = ["RATE_MIN_S", "Action", "Monitor", "MonitorDecision"]


RATE_MIN_S = 0.05  # a rate over less of the loop's own time is timer and scheduler noise:
# records fed microseconds apart (a replay, a test) would read as wild throughput swings


class Action(StrEnum):
    """What the training loop should do after a verdict."""

    CONTINUE = "continue"
    STOP = "stop"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class MonitorDecision:
    """A verdict: the action, the finding that caused it, and where to roll back to."""

    action: Action
    finding: Finding | None
    checkpoint: Checkpoint | None
    diagnosis: Diagnosis


class Monitor:
    """Live run health from the metrics a loop already computes.

    Args:
        path: rlvet JSONL file to append to (created with its folder); None keeps the
            metrics in memory only.
        on_error: what ``verdict()`` asks for when the first break is an error: ``stop``
            or ``rollback`` (rollback falls back to stop when no checkpoint precedes it).
        reward_metric, eval_metric: as for ``rlvet doctor``.
        fsync: sync every record to disk (survives power loss; costs a disk sync).
        resources: add memory and phase time shares to every record (about 20-30 us).
        throughput: with ``resources``, also add ``fps`` when the loop logs none (off where
            a step's cost changes by design, e.g. completion length in LLM RL).
        policy: when verdicts are taken and act (``rlvet.doctor.live.LivePolicy``: cost
            budget, warm-up, confirmations); the default is the one every live path uses.
        aliases: the user's ``raw name -> canonical name`` rows (``-name`` negates), as
            ``rlvet doctor --alias`` and rlvet.toml's ``[aliases]``.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        on_error: Action | str = Action.STOP,
        reward_metric: str | None = None,
        eval_metric: str | None = None,
        fsync: bool = False,
        resources: bool = True,
        throughput: bool = True,
        policy: LivePolicy | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self._writer = None if path is None else JsonlWriter(path, fsync=fsync)
        self._log = GrowingLog(str(path) if path is not None else "<monitor>", aliases=aliases)
        self._on_error = Action(on_error)
        if self._on_error is Action.CONTINUE:
            raise RlvetInputError("Monitor: on_error must be 'stop' or 'rollback'")
        self._reward_metric, self._eval_metric = reward_metric, eval_metric
        self._resources = resources
        self._throughput = throughput
        self._timer = PhaseTimer()
        self._last_tick: tuple[int, float] | None = None
        self._verdict_s = 0.0  # time spent in verdict() since the last tick
        self._gate = LiveGate(policy or LivePolicy())
        self._records = 0
        self._updates = 0
        self._update_keys: dict[str, bool] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a block as phase ``name`` (env, inference, reward, learner, wait, ...)."""
        with self._timer.phase(name):
            yield

    def log(self, step: int, **metrics: float | int | str) -> None:
        """Record the metrics of one step (any names: SB3, CleanRL, TRL or canonical)."""
        if self._resources:  # the caller's own values of these names win
            metrics = {**memory_sample(), **self._timer.shares(), **self._rate(step, metrics),
                       **metrics}
        if self._writer is not None:
            self._writer.write(step, metrics)
        self._records += 1
        self._updates += any(self._is_update(k) for k in metrics)
        self._log.add(step, metrics)

    def _rate(self, step: int, metrics: Mapping[str, object]) -> dict[str, float]:
        """Steps per second over the loop's own time since the last rate, once at least
        ``RATE_MIN_S`` of it has passed; nothing when the loop logs a throughput itself
        (SB3's ``time/fps``, CleanRL's ``charts/SPS``, ...)."""
        now, last = time.perf_counter(), self._last_tick
        if last is None:
            self._last_tick, self._verdict_s = (step, now), 0.0
            return {}
        elapsed = now - last[1] - self._verdict_s  # verdicts are the monitor's, not the loop's
        if step <= last[0] or elapsed < RATE_MIN_S:
            return {}
        self._last_tick, self._verdict_s = (step, now), 0.0
        if not self._throughput or any(resolve(k).name == names.FPS for k in metrics):
            return {}
        return {names.FPS: (step - last[0]) / elapsed}

    def add_checkpoint(self, step: int, path: str | Path) -> None:
        """Tell the monitor a checkpoint was saved, so a rollback can name it."""
        self._log.add_checkpoint(Checkpoint(int(step), str(path)))

    def signals(self) -> RunSignals:
        """The run so far, under canonical names, exactly as the readers would build it
        (``signals_from_raws``); only the records logged since the last call are converted."""
        return self._log.signals()

    @property
    def read_warnings(self) -> tuple[str, ...]:
        """What merging the logged records had to drop (points a restart re-logged), worded
        as ``rlvet doctor`` words it for a file; as of the last ``signals()`` or verdict."""
        return self._log.warnings()

    def _is_update(self, key: str) -> bool:
        """Whether ``key`` is a learner signal: records without one (a learning rate, an
        evaluation, memory alone) do not count towards the warm-up."""
        hit = self._update_keys.get(key)
        if hit is None:
            hit = self._update_keys[key] = is_update_signal(key)
        return hit

    def due(self) -> bool:
        """Whether a verdict is worth taking now under the live policy (warm-up passed, new
        records since the last one, its cost within the budget); callbacks ask this first."""
        return self._gate.due(records=self._records, updates=self._updates)

    def verdict(self) -> MonitorDecision:
        """Diagnose the run so far; stop/rollback once its first break is a confirmed error.

        The diagnosis is always the doctor's, on everything logged; whether it *acts* follows
        the live policy (``rlvet.doctor.live``): past warm-up, an error first break standing
        on consecutive verdicts over new records, then latched.
        """
        started = time.perf_counter()
        d = diagnose(self.signals(), reward_metric=self._reward_metric,
                     eval_metric=self._eval_metric)
        new_data = self._records > self._gate.records_judged
        self._gate.timed(started, records=self._records)
        self._verdict_s += time.perf_counter() - started
        warm = self._updates >= self._gate.policy.warmup_updates
        finding = self._gate.act(d, new_data=new_data) if warm else None
        if finding is None:
            return MonitorDecision(Action.CONTINUE, d.first_break, None, d)
        # roll back to before the first break, the last state the doctor calls healthy
        if self._on_error is Action.ROLLBACK and d.rollback_checkpoint is not None:
            return MonitorDecision(Action.ROLLBACK, finding, d.rollback_checkpoint, d)
        return MonitorDecision(Action.STOP, finding, None, d)

    def close(self) -> None:
        """Close the JSONL file (everything was flushed already)."""
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
