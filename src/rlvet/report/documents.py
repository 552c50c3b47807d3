"""Read rlvet command results back from their JSON documents.

Contents:
    ResultDoc -- one ``CommandResult`` document found on disk (env QA, doctor, train, reward
        audit, eval, ...), its findings rebuilt as ``Finding`` objects and its typed summary
        (``rlvet.documents``) parsed.
    MAX_JSON_BYTES -- JSON files larger than this are not opened (data, not results).
    is_result(obj) -- whether a parsed JSON value is an rlvet command result.
    parse_finding(obj, where) -- one finding from its ``to_dict()`` form.
    load_json(path) -- the parsed file, or None (too big, unreadable, not JSON).
    result_from_json(obj, path) -- a ``ResultDoc`` from a parsed value, or None.
    read_result(path) -- a ``ResultDoc``, or None when the file is not an rlvet result.

A result is any JSON object with ``"rlvet"`` and ``"command"`` keys (ARCHITECTURE.md
section 2). Categories outside ``rlvet.findings.Category`` (``rlvet eval`` adds its own,
e.g. ``latency_budget``) are kept as plain strings: a ``StrEnum`` member and its string
compare, hash and serialise alike, so nothing downstream can tell them apart. Stages and
severities must be known: without them a finding cannot be ordered or judged. What the
report reads from a result beyond its findings comes from the typed summary only
(``ResultDoc.env``, ``.eval``, ``.train``, ``.doctor``): never from a search of ``metrics``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar, cast

from rlvet.documents import (
    DoctorSummary,
    EnvSummary,
    EvalSummary,
    Summary,
    TrainSummary,
    read_summary,
)
from rlvet.errors import RlvetInputError
from rlvet.findings import Category, Finding, Severity, Stage

__all__ = ["MAX_JSON_BYTES", "ResultDoc", "is_result", "load_json", "parse_finding",
           "read_result", "result_from_json"]

MAX_JSON_BYTES = 32 * 1024 * 1024  # a command result is kilobytes; a bigger .json is data
_REQUIRED = ("check", "category", "stage", "severity", "message")


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultDoc:
    """One rlvet command result read from disk.

    Attributes:
        path: the JSON file.
        command: ``env``, ``doctor``, ``train``, ``reward``, ``eval``, ...
        target: what the command examined (env id, log path, samples file).
        verdict: ``pass`` / ``warn`` / ``fail`` as the command wrote it.
        version: the rlvet version that wrote it.
        findings: the findings, rebuilt.
        first_break: the command's own first break (None for a clean result).
        metrics: the command's metrics, as written (detail for people: read ``summary``).
        summary: the command's typed summary (None for commands without one).
    """

    path: Path
    command: str
    target: str
    verdict: str
    version: str
    findings: tuple[Finding, ...]
    first_break: Finding | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    summary: Summary | None = None

    @property
    def env(self) -> EnvSummary | None:
        """The ``rlvet env`` summary, if this is one."""
        return self.summary if isinstance(self.summary, EnvSummary) else None

    @property
    def eval(self) -> EvalSummary | None:
        """The ``rlvet eval`` summary, if this is one."""
        return self.summary if isinstance(self.summary, EvalSummary) else None

    @property
    def train(self) -> TrainSummary | None:
        """The ``rlvet train`` summary, if this is one."""
        return self.summary if isinstance(self.summary, TrainSummary) else None

    @property
    def doctor(self) -> DoctorSummary | None:
        """The ``rlvet doctor`` summary, if this is one."""
        return self.summary if isinstance(self.summary, DoctorSummary) else None


def is_result(obj: Any) -> bool:
    """Whether a parsed JSON value is an rlvet command result document."""
    return isinstance(obj, dict) and "rlvet" in obj and "command" in obj


_E = TypeVar("_E", bound=Enum)


def _enum(kind: type[_E], value: Any, where: str, name: str) -> _E:
    try:
        return kind(value)
    except (ValueError, TypeError):
        allowed = ", ".join(str(m) for m in kind)
        raise RlvetInputError(f"{where}: {name} {value!r} is not one of {allowed}") from None


def parse_finding(obj: Any, where: str) -> Finding:
    """One finding from its JSON form.

    Args:
        obj: the finding's ``to_dict()`` form.
        where: ``file: findings[3]``, for error messages.

    Raises:
        RlvetInputError: not an object, a missing field, or an unknown stage or severity.
    """
    if not isinstance(obj, dict):
        raise RlvetInputError(f"{where}: a finding must be a JSON object")
    missing = [key for key in _REQUIRED if key not in obj]
    if missing:
        raise RlvetInputError(f"{where}: finding lacks {', '.join(missing)}")
    category: Any = obj["category"]
    if not isinstance(category, str):
        raise RlvetInputError(f"{where}: category must be a string, got "
                              f"{type(category).__name__}")
    if category in {str(c) for c in Category}:
        category = Category(category)
    step = obj.get("step")
    if isinstance(step, float) and not math.isfinite(step):
        step = None  # a step the writer could not know (JSON NaN / Infinity)
    evidence = obj.get("evidence")
    return Finding(
        check=str(obj["check"]),
        # an unknown category (a newer writer's) stays a plain str: read, never judged
        category=cast(Category, category),
        stage=_enum(Stage, obj["stage"], where, "stage"),
        severity=_enum(Severity, obj["severity"], where, "severity"),
        message=str(obj["message"]),
        evidence=evidence if isinstance(evidence, dict) else {},
        step=int(step) if isinstance(step, (int, float)) and not isinstance(step, bool) else None,
        remedy=str(obj.get("remedy") or ""),
    )


def load_json(path: str | Path) -> Any:
    """The parsed JSON, or None for a file that is too big, unreadable or not JSON."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None


def read_result(path: str | Path) -> ResultDoc | None:
    """Read a command result; None when the file is not one (any other JSON file).

    Raises:
        RlvetInputError: the file is an rlvet result but a finding in it is malformed
            (the message names the file and the finding's index).
    """
    return result_from_json(load_json(path), Path(path))


def result_from_json(obj: Any, path: Path) -> ResultDoc | None:
    """A ``ResultDoc`` from an already parsed file; None when it is not a result.

    Raises:
        RlvetInputError: as ``read_result``, or a malformed summary (``rlvet.documents``).
    """
    if not is_result(obj):
        return None
    raw = obj.get("findings") or []
    if not isinstance(raw, list):
        raise RlvetInputError(f"{path}: 'findings' must be a list")
    findings = tuple(parse_finding(f, f"{path}: findings[{i}]") for i, f in enumerate(raw))
    fb = obj.get("first_break")
    metrics = obj.get("metrics")
    metrics = metrics if isinstance(metrics, dict) else {}
    command = str(obj["command"])
    try:
        summary = read_summary(command, metrics)
    except ValueError as exc:
        raise RlvetInputError(f"{path}: metrics.summary: {exc}") from None
    return ResultDoc(
        path=path,
        command=command,
        target=str(obj.get("target", "")),
        verdict=str(obj.get("verdict", "")),
        version=str(obj["rlvet"]),
        findings=findings,
        first_break=None if fb is None else parse_finding(fb, f"{path}: first_break"),
        metrics=metrics,
        summary=summary,
    )
