"""JSON-lines logs (rlvet's own, SB3's ``progress.json``, Ray Tune's ``result.json``), and
the ``RawLog`` every reader returns.

Contents:
    RawLog: one file's metrics under the names it logged them, in log order.
    Columns: the streaming accumulator the readers share (a JSON record is the common shape
        every format is reduced to, which is why it lives here).
    STEP_KEYS: the fields tried, in order, as the x-axis of a JSON-lines file.
    read_jsonl(path): one JSON object per line, ``step`` plus metrics.

Reading rules (ARCHITECTURE.md section 8): the file is read line by line (memory is the
output arrays, 16 bytes a point, never the file); a torn last line -- a crashed writer --
is dropped with a warning; any other line that is not a JSON object is an
``RlvetInputError`` naming ``path:line``. JSON ``NaN``/``Infinity`` and the strings
``"nan"``/``"inf"`` are data. A key whose first value is a non-numeric string is a text
column (an eval-protocol hash); a non-numeric string in a numeric column is an error.
"""

from __future__ import annotations

import json
import json.scanner
import sys
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from rlvet.errors import RlvetInputError
from rlvet.limits import MAX_METRIC_KEYS

__all__ = ["STEP_KEYS", "Columns", "RawLog", "read_jsonl"]

STEP_KEYS: tuple[str, ...] = (
    "step",  # rlvet, HF trainer_state rows
    "global_step",  # CleanRL-style hand loggers
    "_step",  # W&B history exports
    "time/total_timesteps",  # SB3 progress.json
    "num_env_steps_sampled_lifetime",  # RLlib new API stack result.json
    "timesteps_total",  # RLlib old API stack
    "training_iteration",  # Ray Tune, last resort
    "Step",  # W&B panel CSV exports
)

# Strings that mean a non-finite number; loggers that refuse JSON's NaN token write these.
_NONFINITE = frozenset(
    {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
)


@dataclass(frozen=True, slots=True)
class RawLog:
    """What one reader found in one file, before canonical names and de-duplication.

    Attributes:
        path: the file read.
        format: the reader's format name (``"jsonl"``, ``"sb3_csv"``, ...).
        columns: raw name -> ``(steps, values)``, int64 and float64 arrays of shape (n,),
            in log order (a resumed run may step backwards; ``discover`` handles that).
        text: raw name -> ``((step, value), ...)`` for string-valued keys.
        warnings: things a person may want to know that did not stop the read.
    """

    path: str
    format: str
    columns: Mapping[str, tuple[np.ndarray, np.ndarray]]
    text: Mapping[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


class Columns:
    """Streaming per-key accumulator: ``array.array`` columns, 16 bytes a point.

    Why ``array.array``: a Python list of floats costs 32 bytes a point and a second copy
    when turned into numpy; ``array`` appends as fast and hands its buffer to numpy as is.

    Args:
        source: the file, for warnings.
        locate: turns a record number into ``path:line`` text for error messages.
    """

    def __init__(self, source: str, locate: Callable[[int], str]) -> None:
        self._source = source
        self._locate = locate
        self._arrays: dict[str, tuple[array[int], array[float]]] = {}  # key -> (steps, values)
        # key -> bound (values.append, steps.append): the hot loop skips attribute lookups
        self._num: dict[str, tuple[Callable[[float], None], Callable[[int], None]]] = {}
        self._text: dict[str, list[tuple[int, str]]] = {}
        self._skipped: set[str] = set()

    def add_record(self, step: int, record: Mapping[str, Any], where: int) -> None:
        """Add every scalar of one JSON object (the step key already removed)."""
        num = self._num
        for key, value in record.items():
            col = num.get(key)
            kind = type(value)
            if col is not None and (kind is float or kind is int):
                col[0](value)  # value first: an overflow leaves no half point
                col[1](step)
            else:
                self._add_slow(key, step, value, where)

    def appenders(self, key: str) -> tuple[Callable[[float], None], Callable[[int], None]] | None:
        """``(values.append, steps.append)`` of a numeric column, created if new; None if
        the key is a text column. For readers' hot loops: call value first, then step."""
        col = self._num.get(key)
        if col is None and key not in self._text:
            self._refuse_too_many()
            steps, values = self._arrays[key] = (array("q"), array("d"))
            col = self._num[key] = (values.append, steps.append)
        return col

    def add_number(self, key: str, step: int, value: float) -> None:
        """Append one numeric point (callers have already parsed the value)."""
        col = self.appenders(key)
        if col is None:
            self._text[key].append((step, repr(value)))
            return
        col[0](value)
        col[1](step)

    def extend(self, key: str, steps: np.ndarray, values: np.ndarray) -> None:
        """Append many numeric points at once (int steps, float values, same shape)."""
        if self.appenders(key) is None:  # a text column: one at a time, as text
            for step, value in zip(steps.tolist(), values.tolist(), strict=True):
                self.add_number(key, step, value)
            return
        step_col, value_col = self._arrays[key]
        value_col.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
        step_col.frombytes(np.ascontiguousarray(steps, dtype=np.int64).tobytes())

    def add_text(self, key: str, step: int, value: str, where: int) -> None:
        """Append one string point; a string in a numeric column is an input error."""
        if key in self._arrays:
            raise RlvetInputError(
                f"{self._locate(where)}: {key!r} is not a number ({value[:40]!r}); "
                "earlier records logged it as a number"
            )
        if key not in self._text:
            self._refuse_too_many()
        self._text.setdefault(key, []).append((step, value))

    def _refuse_too_many(self) -> None:
        """Bound the distinct names (rlvet.limits.MAX_METRIC_KEYS): each is a column that
        every detector summarises, so 400,000 keys in one line took minutes."""
        if len(self._arrays) + len(self._text) >= MAX_METRIC_KEYS:
            raise RlvetInputError(f"{self._source}: more than {MAX_METRIC_KEYS:,} distinct "
                                  "metric names; not a training log rlvet can diagnose")

    def _add_slow(self, key: str, step: int, value: Any, where: int) -> None:
        """Everything but a float in a known numeric column."""
        kind = type(value)
        if kind is int or kind is float or kind is bool:
            self.add_number(key, step, float(value))
        elif kind is str:
            if value.strip().lower() in _NONFINITE and key not in self._text:
                self.add_number(key, step, float(value))
            else:
                self.add_text(key, step, value, where)
        elif isinstance(value, Mapping):  # nested results (RLlib, W&B): flatten with "/"
            for sub, inner in value.items():
                self._add_slow(f"{key}/{sub}", step, inner, where)
        elif value is not None:  # lists (histograms); null = "not logged this step"
            self._skipped.add(key)

    def finish(self) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]],
                              dict[str, tuple[tuple[int, str], ...]], list[str]]:
        """Columns as numpy arrays (zero-copy views of the arrays), text, and warnings."""
        self._num.clear()  # drop the bound appends: numpy now shares the arrays' buffers
        columns = {
            key: (np.frombuffer(steps, dtype=np.int64), np.frombuffer(values, dtype=np.float64))
            for key, (steps, values) in self._arrays.items()
        }
        text = {key: tuple(points) for key, points in self._text.items()}
        warnings = []
        if self._skipped:
            names = ", ".join(sorted(self._skipped)[:5])
            warnings.append(f"{self._source}: skipped non-scalar values "
                            f"under {len(self._skipped)} key(s): {names}")
        return columns, text, warnings


def _pick_step_key(record: Mapping[str, Any], where: str) -> str:
    """The first of STEP_KEYS the first record carries: that file's x-axis."""
    for key in STEP_KEYS:
        if key in record:
            return key
    raise RlvetInputError(
        f"{where}: no step field in the first record; rlvet looks for one of "
        f"{', '.join(STEP_KEYS)}"
    )


def _coerce_step(step: Any, key: str, where: str) -> int:
    """A step that is not a plain int: integral floats pass, anything else is an error."""
    if type(step) is float and step.is_integer():
        return int(step)
    if step is None:
        raise RlvetInputError(f"{where}: record has no {key!r} field (the file's step axis)")
    raise RlvetInputError(f"{where}: {key!r} must be an integer step, got {step!r}")


def _rest_is_blank(lines: Iterator[str]) -> bool:
    """True when nothing but whitespace follows: the bad line was the last one."""
    return all(not line.strip() for line in lines)


def _parse_error(where: str, line: str, err: ValueError) -> RlvetInputError:
    detail = f"{err.msg} at column {err.colno}" if isinstance(err, json.JSONDecodeError) else err
    return RlvetInputError(
        f"{where}: expected one JSON object per line ({detail}): {line[:60]!r}"
    )


def _records(lines: Iterator[str], where: str, warnings: list[str]) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, parsed value)`` for every non-blank line.

    Why the scanner: ``json.loads`` spends a quarter of its time on two whitespace regex
    matches and argument checks around the C scanner; calling the scanner directly and
    falling back to ``json.loads`` for anything unusual (leading/trailing spaces, no final
    newline, errors) keeps the exact stdlib semantics and error messages.
    """
    # NaN/Infinity accepted; typeshed types make_scanner's argument as itself, not a decoder
    scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
    for lineno, line in enumerate(lines, 1):
        try:
            value, end = scan(line, 0)
            if end == len(line) - 1:  # the object, then the newline
                yield lineno, value
                continue
        except (StopIteration, ValueError, RecursionError):
            pass
        try:
            value = json.loads(line)
        except RecursionError:
            raise RlvetInputError(f"{where}:{lineno}: JSON nested too deeply to read "
                                  f"(over ~{sys.getrecursionlimit()} levels)") from None
        except ValueError as err:
            if not line.strip():
                continue
            if _rest_is_blank(lines):
                warnings.append(f"{where}:{lineno}: torn last line dropped "
                                "(the writer stopped mid-record)")
                return
            raise _parse_error(f"{where}:{lineno}", line, err) from None
        yield lineno, value


def read_jsonl(path: str | Path, *, fmt: str = "jsonl", envelope: str | None = None) -> RawLog:
    """Read a JSON-lines metrics file: one object per line, a step field plus metrics.

    Args:
        path: the file; opened read-only and never modified.
        fmt: the format name to record (``"sb3_json"`` for SB3's ``progress.json``).
        envelope: a key whose object holds the metrics (verl's file logger writes
            ``{"step": N, "data": {...}}``): unwrapped, so its keys keep their own names.

    Returns:
        The file's columns under their logged names, in log order.

    Raises:
        RlvetInputError: a line that is not a JSON object (other than a torn last line),
            a missing or non-integer step, or a string in a numeric column.

    Example:
        >>> log = read_jsonl("runs/a/metrics.jsonl")
        >>> steps, values = log.columns["reward"]
    """
    where = str(path)
    cols = Columns(where, lambda lineno: f"{where}:{lineno}")
    warnings: list[str] = []
    step_key = ""
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, record in _records(iter(f), where, warnings):
            if type(record) is not dict:
                raise RlvetInputError(f"{where}:{lineno}: expected a JSON object, "
                                      f"got {type(record).__name__}")
            if not step_key:
                step_key = _pick_step_key(record, f"{where}:{lineno}")
            step = record.pop(step_key, None)
            if type(step) is not int:
                step = _coerce_step(step, step_key, f"{where}:{lineno}")
            if envelope is not None and type(record.get(envelope)) is dict:
                record = {**record.pop(envelope), **record}
            try:
                cols.add_record(step, record, lineno)
            except OverflowError:
                raise RlvetInputError(f"{where}:{lineno}: a number does not fit a float64 "
                                      "value or an int64 step") from None
    columns, text, more = cols.finish()
    return RawLog(where, fmt, MappingProxyType(columns), MappingProxyType(text),
                  tuple(warnings + more))
