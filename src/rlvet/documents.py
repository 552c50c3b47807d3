"""Typed, versioned summaries of command results: written and parsed here, and only here.

Contents:
    EpisodeStats -- episodes, steps, mean return and length of one policy's env QA episodes.
    EnvSummary -- what ``rlvet env`` says about an env: the random and expert baselines.
    Interval -- a named point estimate with its confidence interval.
    Latency -- batch-1 inference latency and its budget.
    EvalSummary -- what ``rlvet eval`` measured: protocol, seeds, intervals, latency, sweeps.
    Rollback -- one rollback of ``rlvet train``'s guardrails.
    TrainSummary -- what ``rlvet train`` ran and reached: env, arguments, evaluations,
        rollbacks, the shifted-dynamics history, why it stopped.
    DoctorSummary -- what ``rlvet doctor`` could not read cleanly (reader warnings).
    Summary -- any of the four.
    SUMMARY_KEY -- where a command writes its summary: ``metrics["summary"]``.
    SUMMARIES -- command -> summary type.
    read_summary(command, metrics) -- the summary of a result's metrics, or None.
    reader_warnings(metrics) -- the reader warnings a result carries.

Why: the report used to find what it needed by searching the JSON tree for key names, so a
renamed key silently turned a gate "unknown". Each summary is the contract between one
command and its readers: a frozen dataclass with ``SCHEMA`` and ``SCHEMA_VERSION``,
``to_json()`` (what the command writes under ``metrics["summary"]``) and ``from_json()``
(which checks the schema, the version and every field, and raises a ``ValueError`` naming
the field). The rest of ``metrics`` is detail for people and may grow freely.

Results written before the summaries existed (no ``metrics["summary"]``) are read from the
same key names at the top of ``metrics`` (``from_fields``), so old files still load.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

__all__ = ["SUMMARIES", "SUMMARY_KEY", "DoctorSummary", "EnvSummary", "EpisodeStats",
           "EvalSummary", "Interval", "Latency", "Rollback", "Summary", "TrainSummary",
           "read_summary", "reader_warnings"]

SUMMARY_KEY = "summary"
READER_WARNINGS_KEY = "reader_warnings"
_NOT_FINITE = frozenset({"nan", "inf", "-inf"})


# --- field readers: each names the document and the field it rejects --------------------


def _fail(where: str, name: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"{where}: field '{name}' must be {expected}, got {value!r}")


def _number(obj: Mapping[str, Any], name: str, where: str) -> float | None:
    """A finite number, or None: absent, null, or NaN / infinity (which strict JSON holds as
    the strings ``"nan"``, ``"inf"``, ``"-inf"``, see ``rlvet.findings``)."""
    value = obj.get(name)
    if value is None or value in _NOT_FINITE:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, name, "a number or null", value)
    return float(value) if math.isfinite(value) else None


def _required_number(obj: Mapping[str, Any], name: str, where: str) -> float:
    value = _number(obj, name, where)
    if value is None:
        raise _fail(where, name, "a finite number", obj.get(name))
    return value


def _int(obj: Mapping[str, Any], name: str, where: str, default: int | None = None) -> int:
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise _fail(where, name, "an integer", value)
    return int(value)


def _text(obj: Mapping[str, Any], name: str, where: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise _fail(where, name, "a string or null", value)
    return value


def _mapping(obj: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any] | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, Mapping):
        raise _fail(where, name, "an object or null", value)
    return value


def _list(obj: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = obj.get(name)
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise _fail(where, name, "a list or null", value)
    return list(value)


def _strings(obj: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    values = _list(obj, name, where)
    if not all(isinstance(v, str) for v in values):
        raise _fail(where, name, "a list of strings", values)
    return tuple(values)


def _flag(obj: Mapping[str, Any], name: str, where: str) -> bool:
    """True / false, or (the layout before summaries) whether a block is present."""
    value = obj.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, Mapping | list):
        return bool(value)
    raise _fail(where, name, "true or false", value)


_D = TypeVar("_D", bound="_Document")


class _Document:
    """``from_json`` (schema and version checked) and ``to_json`` for every summary."""

    SCHEMA: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]

    @classmethod
    def from_fields(cls: type[_D], obj: Mapping[str, Any]) -> _D:
        """The summary from its fields alone, no header (the layout before summaries)."""
        raise NotImplementedError

    def fields(self) -> dict[str, Any]:
        """The summary's fields, JSON-ready."""
        raise NotImplementedError

    @classmethod
    def from_json(cls: type[_D], obj: Any) -> _D:
        """Parse what ``to_json`` wrote.

        Raises:
            ValueError: not an object, another schema, another version, or a field of the
                wrong type (the message names the schema and the field).
        """
        if not isinstance(obj, Mapping):
            raise ValueError(f"{cls.SCHEMA}: a summary must be a JSON object, got {obj!r}")
        if obj.get("schema") != cls.SCHEMA:
            raise _fail(cls.SCHEMA, "schema", repr(cls.SCHEMA), obj.get("schema"))
        version = obj.get("version")
        if version != cls.SCHEMA_VERSION:
            raise ValueError(f"{cls.SCHEMA}: field 'version' is {version!r}; this rlvet reads "
                             f"version {cls.SCHEMA_VERSION} (written by another rlvet "
                             "version: re-run the command, or use the rlvet that wrote it)")
        return cls.from_fields(obj)

    def to_json(self) -> dict[str, Any]:
        """The JSON object: ``schema``, ``version``, then the fields."""
        return {"schema": self.SCHEMA, "version": self.SCHEMA_VERSION, **self.fields()}


# --- env ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeStats:
    """One policy's episodes in env QA (the random policy's are the baseline)."""

    episodes: int = 0
    steps: int = 0
    mean_return: float | None = None
    mean_length: float | None = None

    @classmethod
    def from_fields(cls, obj: Mapping[str, Any], where: str) -> EpisodeStats:
        """From ``to_json``'s form; ``where`` names it in errors."""
        return cls(episodes=_int(obj, "episodes", where, 0), steps=_int(obj, "steps", where, 0),
                   mean_return=_number(obj, "mean_return", where),
                   mean_length=_number(obj, "mean_length", where))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"episodes": self.episodes, "steps": self.steps,
                "mean_return": self.mean_return, "mean_length": self.mean_length}


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvSummary(_Document):
    """What ``rlvet env`` says about an env, for the report's baseline and reward gates.

    Attributes:
        env_id: the env as built.
        expert: the expert policy used (``builtin:...``, a module path), if any.
        random: the random policy's episodes (the baseline).
        expert_policy: the expert's episodes, if there was an expert.
    """

    SCHEMA: ClassVar[str] = "rlvet.env"
    SCHEMA_VERSION: ClassVar[int] = 1

    env_id: str | None = None
    expert: str | None = None
    random: EpisodeStats | None = None
    expert_policy: EpisodeStats | None = None

    @classmethod
    def from_fields(cls, obj: Mapping[str, Any]) -> EnvSummary:
        """See ``_Document.from_fields``."""
        where = cls.SCHEMA

        def stats(name: str) -> EpisodeStats | None:
            block = _mapping(obj, name, where)
            return None if block is None else EpisodeStats.from_fields(block, f"{where}.{name}")

        return cls(env_id=_text(obj, "env_id", where), expert=_text(obj, "expert", where),
                   random=stats("random"), expert_policy=stats("expert_policy"))

    def fields(self) -> dict[str, Any]:
        """See ``_Document.fields``."""
        return {"env_id": self.env_id, "expert": self.expert,
                "random": None if self.random is None else self.random.to_json(),
                "expert_policy": None if self.expert_policy is None
                else self.expert_policy.to_json()}


# --- eval --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate and its confidence interval, named by what it estimates (``iqm``)."""

    name: str
    point: float
    low: float
    high: float

    def describe(self) -> str:
        """``iqm 487 [455, 500]``."""
        return f"{self.name} {self.point:.4g} [{self.low:.4g}, {self.high:.4g}]"

    def to_json(self) -> dict[str, float]:
        """``{"point", "low", "high"}``."""
        return {"point": self.point, "low": self.low, "high": self.high}


@dataclass(frozen=True, slots=True, kw_only=True)
class Latency:
    """Batch-1 inference latency, milliseconds, and the budget it is held to (None: none).

    ``p99_low_ms`` / ``p99_high_ms`` span the p99s of ``repeats`` timed blocks
    (``rlvet.evaluate.latency``); None in results written before blocks were timed, which
    then cannot decide a budget. ``host_load`` is the one-minute load average around the
    timing, ``cpus`` the host's CPU count.
    """

    p50_ms: float | None
    p99_ms: float
    budget_ms: float | None = None
    p99_low_ms: float | None = None
    p99_high_ms: float | None = None
    repeats: int = 1
    host_load: float | None = None
    cpus: int | None = None

    def to_json(self) -> dict[str, float | None]:
        """JSON-ready fields."""
        return {"p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "budget_ms": self.budget_ms,
                "p99_low_ms": self.p99_low_ms, "p99_high_ms": self.p99_high_ms,
                "repeats": self.repeats, "host_load": self.host_load, "cpus": self.cpus}


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalSummary(_Document):
    """What ``rlvet eval`` measured, for the report's validation and deployment gates.

    Attributes:
        env_id: the env evaluated.
        protocol_hash: the frozen protocol's hash (results compare only under one hash).
        seeds: the evaluation seeds.
        aggregates: estimates with their CIs, by name (``iqm``, ``mean``, ...).
        latency: batch-1 inference latency (None when the evaluation did not get there).
        sweep: a perturbation / edge-case sweep was run.
        shift: real observations were tested against simulated ones.
        retraining_trigger: a retraining trigger was derived.
    """

    SCHEMA: ClassVar[str] = "rlvet.eval"
    SCHEMA_VERSION: ClassVar[int] = 1

    env_id: str | None = None
    protocol_hash: str | None = None
    seeds: tuple[int, ...] = ()
    aggregates: Mapping[str, Interval] = field(default_factory=dict)
    latency: Latency | None = None
    sweep: bool = False
    shift: bool = False
    retraining_trigger: bool = False

    @property
    def headline(self) -> Interval | None:
        """The estimate to compare with a baseline: the IQM, else the first one."""
        return self.aggregates.get("iqm") or next(iter(self.aggregates.values()), None)

    @classmethod
    def from_fields(cls, obj: Mapping[str, Any]) -> EvalSummary:
        """See ``_Document.from_fields``."""
        where = cls.SCHEMA
        seeds = _list(obj, "seeds", where)
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise _fail(where, "seeds", "a list of integers", seeds)
        aggregates = {}
        for name, block in (_mapping(obj, "aggregates", where) or {}).items():
            if not isinstance(block, Mapping):
                raise _fail(where, f"aggregates.{name}", "an object", block)
            at = f"{where}.aggregates.{name}"
            aggregates[str(name)] = Interval(str(name), _required_number(block, "point", at),
                                             _required_number(block, "low", at),
                                             _required_number(block, "high", at))
        return cls(env_id=_text(obj, "env_id", where),
                   protocol_hash=_text(obj, "protocol_hash", where), seeds=tuple(seeds),
                   aggregates=aggregates, latency=cls._latency(obj),
                   sweep=_flag(obj, "sweep", where), shift=_flag(obj, "shift", where),
                   retraining_trigger=_flag(obj, "retraining_trigger", where))

    @classmethod
    def _latency(cls, obj: Mapping[str, Any]) -> Latency | None:
        block = _mapping(obj, "latency", cls.SCHEMA)
        if block is None:
            return None
        at = f"{cls.SCHEMA}.latency"
        p99 = _number(block, "p99_ms", at)
        if p99 is None:  # measured nothing (the evaluation stopped before)
            return None
        cpus = _number(block, "cpus", at)
        return Latency(p50_ms=_number(block, "p50_ms", at), p99_ms=p99,
                       budget_ms=_number(block, "budget_ms", at),
                       p99_low_ms=_number(block, "p99_low_ms", at),
                       p99_high_ms=_number(block, "p99_high_ms", at),
                       repeats=_int(block, "repeats", at, 1),
                       host_load=_number(block, "host_load", at),
                       cpus=None if cpus is None else int(cpus))

    def fields(self) -> dict[str, Any]:
        """See ``_Document.fields``."""
        return {"env_id": self.env_id, "protocol_hash": self.protocol_hash,
                "seeds": list(self.seeds),
                "aggregates": {k: v.to_json() for k, v in self.aggregates.items()},
                "latency": None if self.latency is None else self.latency.to_json(),
                "sweep": self.sweep, "shift": self.shift,
                "retraining_trigger": self.retraining_trigger}


# --- train -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Rollback:
    """One guardrail rollback: when, to which checkpoint, the learning rate, the break."""

    step: int
    checkpoint_step: int
    checkpoint: str
    lr_before: float | None
    lr_after: float | None
    category: str

    @classmethod
    def from_fields(cls, obj: Any, where: str) -> Rollback:
        """From ``to_json``'s form (or the trainer's own record, a superset)."""
        if not isinstance(obj, Mapping):
            raise ValueError(f"{where}: a rollback must be an object, got {obj!r}")
        return cls(step=_int(obj, "step", where), checkpoint_step=_int(obj, "checkpoint_step",
                                                                       where),
                   checkpoint=_text(obj, "checkpoint", where) or "",
                   lr_before=_number(obj, "lr_before", where),
                   lr_after=_number(obj, "lr_after", where),
                   category=_text(obj, "category", where) or "")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"step": self.step, "checkpoint_step": self.checkpoint_step,
                "checkpoint": self.checkpoint, "lr_before": self.lr_before,
                "lr_after": self.lr_after, "category": self.category}


def _gap_history(obj: Mapping[str, Any], where: str) -> tuple[tuple[float, float, float], ...]:
    out = []
    for i, row in enumerate(_list(obj, "sim_to_real", where)):
        ok = (isinstance(row, list | tuple) and len(row) == 3
              and all(isinstance(x, int | float) and not isinstance(x, bool) for x in row))
        if not ok:
            raise _fail(where, f"sim_to_real[{i}]", "[step, nominal, real]", row)
        out.append((float(row[0]), float(row[1]), float(row[2])))
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainSummary(_Document):
    """What ``rlvet train`` ran and reached, for the report's run table and gates.

    Attributes:
        env_id: the env trained on.
        args: the training arguments (``TrainArgs.to_dict()``; empty when not recorded).
        final_eval_return: the last evaluation's mean return (None: no evaluation).
        best_eval_return: the best one.
        stop_reason: None when the budget was spent, else why the run ended early.
        rollbacks: the guardrails' rollbacks, in order.
        sim_to_real: ``(step, nominal return, shifted-variant return)`` per evaluation.
    """

    SCHEMA: ClassVar[str] = "rlvet.train"
    SCHEMA_VERSION: ClassVar[int] = 1

    env_id: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    final_eval_return: float | None = None
    best_eval_return: float | None = None
    stop_reason: str | None = None
    rollbacks: tuple[Rollback, ...] = ()
    sim_to_real: tuple[tuple[float, float, float], ...] = ()

    @classmethod
    def from_fields(cls, obj: Mapping[str, Any]) -> TrainSummary:
        """See ``_Document.from_fields``."""
        where = cls.SCHEMA
        return cls(env_id=_text(obj, "env_id", where), args=_mapping(obj, "args", where) or {},
                   final_eval_return=_number(obj, "final_eval_return", where),
                   best_eval_return=_number(obj, "best_eval_return", where),
                   stop_reason=_text(obj, "stop_reason", where),
                   rollbacks=tuple(Rollback.from_fields(r, f"{where}.rollbacks[{i}]")
                                   for i, r in enumerate(_list(obj, "rollbacks", where))),
                   sim_to_real=_gap_history(obj, where))

    def fields(self) -> dict[str, Any]:
        """See ``_Document.fields``."""
        return {"env_id": self.env_id, "args": dict(self.args),
                "final_eval_return": self.final_eval_return,
                "best_eval_return": self.best_eval_return, "stop_reason": self.stop_reason,
                "rollbacks": [r.to_json() for r in self.rollbacks],
                "sim_to_real": [list(row) for row in self.sim_to_real]}


# --- doctor ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DoctorSummary(_Document):
    """How many runs ``rlvet doctor`` judged, their verdicts, and what it could not read
    cleanly (torn lines, skipped columns, ...).

    Attributes:
        runs: runs judged (a directory of several runs gets one verdict each).
        fail, warn, passed: how many of them got each verdict.
        reader_warnings: the readers' warnings, each naming its file (and line).
    """

    SCHEMA: ClassVar[str] = "rlvet.doctor"
    SCHEMA_VERSION: ClassVar[int] = 1

    runs: int = 1
    fail: int = 0
    warn: int = 0
    passed: int = 0
    reader_warnings: tuple[str, ...] = ()

    @classmethod
    def from_fields(cls, obj: Mapping[str, Any]) -> DoctorSummary:
        """See ``_Document.from_fields``."""
        return cls(runs=_int(obj, "runs", cls.SCHEMA, 1), fail=_int(obj, "fail", cls.SCHEMA, 0),
                   warn=_int(obj, "warn", cls.SCHEMA, 0),
                   passed=_int(obj, "pass", cls.SCHEMA, 0),
                   reader_warnings=_strings(obj, READER_WARNINGS_KEY, cls.SCHEMA))

    def fields(self) -> dict[str, Any]:
        """See ``_Document.fields``."""
        return {"runs": self.runs, "fail": self.fail, "warn": self.warn, "pass": self.passed,
                READER_WARNINGS_KEY: list(self.reader_warnings)}


Summary = EnvSummary | EvalSummary | TrainSummary | DoctorSummary

SUMMARIES: Mapping[str, type[EnvSummary] | type[EvalSummary] | type[TrainSummary]
                   | type[DoctorSummary]] = {
    "env": EnvSummary, "eval": EvalSummary, "train": TrainSummary, "doctor": DoctorSummary}
"""The summary each command writes; other commands' results carry none."""


def read_summary(command: str, metrics: Mapping[str, Any]) -> Summary | None:
    """The summary of a result's metrics: ``metrics["summary"]``, else (a result written
    before summaries existed) the same fields at the top of ``metrics``.

    Returns None for a command without a summary.

    Raises:
        ValueError: a malformed summary (the message names the schema and the field).

    Example:
        >>> read_summary("train", {"summary": TrainSummary(env_id="CartPole-v1").to_json()})
        ... # doctest: +ELLIPSIS
        TrainSummary(env_id='CartPole-v1', ...)
    """
    kind = SUMMARIES.get(command)
    if kind is None:
        return None
    if SUMMARY_KEY in metrics:
        return kind.from_json(metrics[SUMMARY_KEY])
    return kind.from_fields(metrics)


def reader_warnings(metrics: Mapping[str, Any]) -> tuple[str, ...]:
    """The reader warnings a command that read logs carries in its metrics (doctor, watch).

    Raises:
        ValueError: ``reader_warnings`` that is not a list of strings.
    """
    return _strings(metrics, READER_WARNINGS_KEY, "reader_warnings")

