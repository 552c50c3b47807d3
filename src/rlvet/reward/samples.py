"""Samples JSONL: the reward audit's input, read line by line and validated field by field.

Contents:
    Sample -- one scored sample or trajectory (frozen).
    REQUIRED_FIELDS -- the fields every record must carry.
    read_samples(path) -- stream a samples file into ``Sample``s.
    sample_from_record(record, where) -- validate one mapping (the Python API's records).
    load_samples(source) -- a path, or an iterable of mappings / ``Sample``s.

One record per sample: ``id``, ``step``, ``reward`` (required); optional ``prompt``,
``response``, ``group`` (GRPO prompt group), ``components`` (name -> value), ``eval_score``,
``human_score``, ``tool_calls`` (list, or a count), ``claimed_success``,
``final_state_ok``, ``baseline_response``. Unknown fields are ignored, so a trainer may
log more than rlvet reads.

Reading rules (ARCHITECTURE.md section 8): the file is never modified; a torn last line --
a crashed writer -- is dropped with a warning; every other problem is an
``RlvetInputError`` naming ``path:line`` and the field, because a wrong sample silently
skipped would bias the very statistics the audit reports.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rlvet.errors import RlvetInputError

__all__ = [
    "REQUIRED_FIELDS",
    "Sample",
    "load_samples",
    "read_samples",
    "sample_from_record",
]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1  # steps are stored as numpy int64

REQUIRED_FIELDS: tuple[str, ...] = ("id", "step", "reward")
_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One scored sample (a completion) or trajectory (an agent episode).

    Attributes:
        id: the sample's id, as text (JSON ints are accepted and converted).
        step: the training step whose policy produced it.
        reward: the scalar reward the trainer optimised.
        prompt: the prompt, if logged.
        response: the completion or the agent's final message.
        group: the GRPO prompt group: completions of one prompt share it.
        components: reward components, name -> value (e.g. correctness, format).
        eval_score: a held-out or verifier score of this sample: the true objective.
        human_score: a person's rating of this sample.
        tool_calls: the calls made, in order; ``None`` when not logged.
        claimed_success: the agent said it succeeded.
        final_state_ok: the environment's final state shows success.
        baseline_response: a reference policy's response to the same prompt.
        line: the 1-based line it was read from (0 for in-memory records).
    """

    id: str
    step: int
    reward: float
    prompt: str | None = None
    response: str | None = None
    group: str | None = None
    components: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    eval_score: float | None = None
    human_score: float | None = None
    tool_calls: tuple[Any, ...] | None = None
    claimed_success: bool | None = None
    final_state_ok: bool | None = None
    baseline_response: str | None = None
    line: int = 0


def _number(value: Any, name: str, where: str, *, finite: bool = True) -> float:
    """A JSON number (not a bool, not a string) as float; raise naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RlvetInputError(f"{where}: field {name!r} is not a number ({value!r:.40})")
    number = float(value)
    if finite and not math.isfinite(number):
        raise RlvetInputError(f"{where}: field {name!r} is not a finite number ({value!r})")
    return number


def _optional_number(record: Mapping[str, Any], name: str, where: str) -> float | None:
    value = record.get(name)
    if value is None:
        return None
    number = _number(value, name, where, finite=False)
    return number if math.isfinite(number) else None  # NaN score = "not scored"


def _step(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RlvetInputError(f"{where}: field 'step' is not an integer ({value!r:.40})")
    if isinstance(value, float) and not value.is_integer():
        raise RlvetInputError(f"{where}: field 'step' is not an integer ({value!r})")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise RlvetInputError(f"{where}: field 'step' is out of range ({value!r:.40}; "
                              "steps are 64-bit integers)")
    return int(value)


def _sample_id(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RlvetInputError(f"{where}: field 'id' is not a string or integer ({value!r:.40})")
    return str(value)


def _text(record: Mapping[str, Any], name: str, where: str) -> str | None:
    value = record.get(name)
    if value is None or isinstance(value, str):
        return value
    if name == "group" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RlvetInputError(f"{where}: field {name!r} is not a string ({value!r:.40})")


def _flag(record: Mapping[str, Any], name: str, where: str) -> bool | None:
    value = record.get(name)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise RlvetInputError(f"{where}: field {name!r} is not true/false ({value!r:.40})")


def _components(record: Mapping[str, Any], where: str) -> Mapping[str, float]:
    value = record.get("components")
    if value is None:
        return _EMPTY
    if not isinstance(value, Mapping):
        raise RlvetInputError(f"{where}: field 'components' is not an object ({value!r:.40})")
    return MappingProxyType(
        {str(k): _number(v, f"components.{k}", where, finite=False) for k, v in value.items()}
    )


def _tool_calls(record: Mapping[str, Any], where: str) -> tuple[Any, ...] | None:
    """The calls as a tuple; a bare count becomes that many anonymous calls."""
    value = record.get("tool_calls")
    if value is None:
        return None
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return tuple(None for _ in range(value))
    raise RlvetInputError(f"{where}: field 'tool_calls' is not a list ({value!r:.40})")


def sample_from_record(record: Any, where: str, *, line: int = 0) -> Sample:
    """Validate one record and build its ``Sample``.

    Args:
        record: the parsed JSON object (or any mapping).
        where: ``"path:line"`` (or ``"records[i]"``) for error messages.
        line: the 1-based line number, kept on the sample for the spot-check file.

    Raises:
        RlvetInputError: not an object, a required field missing, or a field of the wrong
            type; the message names ``where`` and the field.
    """
    if isinstance(record, Sample):
        return record
    if not isinstance(record, Mapping):
        raise RlvetInputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for name in REQUIRED_FIELDS:
        if record.get(name) is None:
            raise RlvetInputError(f"{where}: missing required field {name!r}")
    return Sample(
        id=_sample_id(record["id"], where),
        step=_step(record["step"], where),
        reward=_number(record["reward"], "reward", where),
        prompt=_text(record, "prompt", where),
        response=_text(record, "response", where),
        group=_text(record, "group", where),
        components=_components(record, where),
        eval_score=_optional_number(record, "eval_score", where),
        human_score=_optional_number(record, "human_score", where),
        tool_calls=_tool_calls(record, where),
        claimed_success=_flag(record, "claimed_success", where),
        final_state_ok=_flag(record, "final_state_ok", where),
        baseline_response=_text(record, "baseline_response", where),
        line=line,
    )


def _rest_is_blank(lines: Iterator[str]) -> bool:
    """True when only whitespace follows: the bad line was the file's last one."""
    return all(not line.strip() for line in lines)


def _records(lines: Iterator[str], where: str, warn: Callable[[str], None]) -> Iterator[
    tuple[int, Any]
]:
    """``(line number, parsed value)`` for every non-blank line; a torn last line is dropped."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except RecursionError:
            raise RlvetInputError(f"{where}:{lineno}: JSON nested too deeply to read") from None
        except ValueError as err:
            if _rest_is_blank(lines):
                warn(f"{where}:{lineno}: torn last line dropped (the writer stopped mid-record)")
                return
            detail = f"{err.msg} at column {err.colno}" if isinstance(
                err, json.JSONDecodeError) else str(err)
            raise RlvetInputError(
                f"{where}:{lineno}: expected one JSON object per line ({detail}): "
                f"{line.strip()[:60]!r}"
            ) from None


def read_samples(
    path: str | Path, *, on_warning: Callable[[str], None] | None = None
) -> list[Sample]:
    """Stream a samples JSONL file into validated ``Sample``s, in file order.

    Args:
        path: the file; opened read-only.
        on_warning: receives non-fatal notes (a torn last line); default ``warnings.warn``.

    Raises:
        RlvetInputError: missing or unreadable file, a malformed line, a missing ``id`` /
            ``step`` / ``reward``, a non-numeric value, or no samples at all.

    Example:
        >>> samples = read_samples("runs/grpo/samples.jsonl")  # doctest: +SKIP
        >>> samples[0].reward  # doctest: +SKIP
        0.75
    """
    where = str(path)
    warn = on_warning or (lambda msg: warnings.warn(msg, stacklevel=3))
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            samples = [sample_from_record(record, f"{where}:{lineno}", line=lineno)
                       for lineno, record in _records(iter(fh), where, warn)]
    except FileNotFoundError:
        raise RlvetInputError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise RlvetInputError(f"{where}: is a directory, expected a samples JSONL file") from None
    except OSError as exc:
        raise RlvetInputError(f"{where}: cannot read ({exc.strerror})") from None
    if not samples:
        raise RlvetInputError(f"{where}: no samples (expected one JSON object per line)")
    return samples


def load_samples(
    source: str | Path | Iterable[Mapping[str, Any] | Sample],
    *,
    on_warning: Callable[[str], None] | None = None,
) -> list[Sample]:
    """A samples file, or in-memory records validated with the same rules.

    Raises:
        RlvetInputError: as ``read_samples``; in-memory records are named ``records[i]``.
    """
    if isinstance(source, (str, Path)):
        return read_samples(source, on_warning=on_warning)
    samples = [sample_from_record(r, f"records[{i}]") for i, r in enumerate(source)]
    if not samples:
        raise RlvetInputError("records: no samples")
    return samples
