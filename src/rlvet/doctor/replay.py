"""Replay a finished run through the live path: when would the guardrails have acted?

Contents:
    records(run) -- the run's signals regrouped into per-step records, in step order.
    Replay -- the verdicts taken, and the step and finding the run was stopped on (if any).
    replay(run, policy, ...) -- feed the records to a ``Monitor`` one by one, asking for a
        verdict whenever the live policy says one is due, as a training loop would.

Why: a guardrail is judged by the healthy runs it stops, and a live verdict sees only a
prefix of the run. Replaying logged runs record by record is how ``benchmarks/calibration.py``
counts healthy runs stopped, and how a user can ask "would rlvet have stopped this run,
and when?" before trusting it with ``stop_on_error``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from rlvet.doctor.live import LivePolicy
from rlvet.errors import RlvetInputError
from rlvet.findings import Finding
from rlvet.monitor import Action, Monitor
from rlvet.signals.aliases import NEGATE, detect_dialect, resolve
from rlvet.signals.series import RunSignals

__all__ = ["Replay", "records", "replay"]


def _as_logged(run: RunSignals) -> tuple[list[str], list[float]]:
    """Per series: the name it was logged under and the sign that undoes the reader's
    transform, so the live path sees what the loop logged (family inference reads names)."""
    raw = [run.raw_names.get(key, key) for key in run.series]
    dialect = detect_dialect(raw)
    sign = [-1.0 if resolve(name, dialect=dialect).transform == NEGATE else 1.0 for name in raw]
    return raw, sign


def records(run: RunSignals) -> Iterator[tuple[int, dict[str, float]]]:
    """``(step, {name as logged: value as logged})`` for every logged step, in step order.

    Points of several series at one step form one record, as one logger dump would;
    a series with repeated steps contributes each point to a record of its own.
    """
    if not run.series:
        return
    series = list(run.series.values())
    steps = np.concatenate([s.steps for s in series])
    names = np.concatenate([np.full(len(s), i) for i, s in enumerate(series)])
    values = np.concatenate([s.values for s in series])
    keys, signs = _as_logged(run)
    order = np.argsort(steps, kind="stable")
    current: dict[str, float] = {}
    current_step: int | None = None
    for i in order:
        step, which = int(steps[i]), int(names[i])
        key = keys[which]
        if current_step is not None and (step != current_step or key in current):
            yield current_step, current
            current = {}
        current_step = step
        current[key] = signs[which] * float(values[i])
    if current_step is not None:
        yield current_step, current


@dataclass(frozen=True, slots=True)
class Replay:
    """What the live path did on a replayed run.

    Attributes:
        verdicts: verdicts taken.
        records: records fed.
        stopped_at: the step of the record after which the run was told to stop or roll
            back, None when it ran to the end.
        finding: the break acted on (None when not stopped).
    """

    verdicts: int
    records: int
    stopped_at: int | None
    finding: Finding | None


def replay(run: RunSignals, policy: LivePolicy | None = None, *,
           reward_metric: str | None = None, eval_metric: str | None = None,
           every_record: bool = True) -> Replay:
    """Feed ``run`` to a fresh ``Monitor`` record by record and act as a loop would.

    Args:
        run: a finished run (``rlvet.signals.discover.read_run``).
        policy: the live policy (default ``LivePolicy()``).
        reward_metric, eval_metric: as for ``rlvet doctor``.
        every_record: judge after every record once due by warm-up and new data, ignoring
            the cost budget (records replayed microseconds apart would otherwise be
            judged rarely): the strictest test of a healthy run.
    """
    policy = policy or LivePolicy()
    if every_record:
        policy = LivePolicy(budget=float(np.finfo(float).max), warmup_updates=policy.warmup_updates,
                            confirmations=policy.confirmations)
    mon = Monitor(None, resources=False, reward_metric=reward_metric, eval_metric=eval_metric,
                  policy=policy)
    for c in run.checkpoints:
        mon.add_checkpoint(c.step, c.path)
    verdicts = fed = 0
    for step, record in records(run):
        mon.log(step, **record)
        fed += 1
        if not mon.due():
            continue
        try:
            decision = mon.verdict()
        except RlvetInputError:
            continue  # a named metric not logged yet (evaluations come every few updates)
        verdicts += 1
        if decision.action is not Action.CONTINUE:
            return Replay(verdicts, fed, step, decision.finding)
    return Replay(verdicts, fed, None, None)
