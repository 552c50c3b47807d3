"""What an evaluation result says, read from its JSON by key rather than by its internals.

Contents:
    Interval -- a named point estimate with its confidence interval.
    find_values(obj, key) -- every value stored under ``key`` anywhere in a JSON value.
    protocol_hashes(doc) -- the protocol hashes a result carries.
    intervals(doc) -- every ``{"point", "low", "high"}`` estimate in its metrics.
    seed_count(doc) -- how many seeds it aggregates over, if it says.
    latencies(doc) -- every latency measurement (a mapping with ``p99_ms``).
    has_any_key(doc, keys) -- whether any of ``keys`` appears with a non-empty value.

Why by key: ``rlvet eval`` writes ``CommandResult`` documents whose ``metrics`` layout may
grow; the report depends only on these names, listed
in docs/report.md: ``protocol_hash``, interval objects ``{"point", "low", "high"}`` (named by
the key that holds them, e.g. ``iqm``), ``seeds`` (a list or a count) or ``n_seeds``,
latency objects with ``p50_ms`` / ``p99_ms`` and optionally ``budget_ms``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rlvet.report.documents import ResultDoc

__all__ = ["Interval", "find_values", "has_any_key", "intervals", "latencies",
           "protocol_hashes", "seed_count"]

MAX_DEPTH = 8  # metrics are shallow; a bound keeps a pathological document cheap
_SEED_KEYS = ("seeds", "n_seeds", "num_seeds")


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate and its confidence interval, named by the key path that held it."""

    name: str
    point: float
    low: float
    high: float

    def describe(self) -> str:
        """``iqm 487 [455, 500]``."""
        return f"{self.name} {self.point:.4g} [{self.low:.4g}, {self.high:.4g}]"


def _walk(obj: Any, path: tuple[str, ...] = (), depth: int = 0
          ) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Depth-first ``(key path, value)`` over nested dicts and lists."""
    if depth > MAX_DEPTH:
        return
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            yield (*path, str(key)), value
            yield from _walk(value, (*path, str(key)), depth + 1)
    elif isinstance(obj, list):
        for value in obj:
            yield from _walk(value, path, depth + 1)


def find_values(obj: Any, key: str) -> list[Any]:
    """Every value stored under ``key`` at any depth (dicts inside lists included)."""
    return [value for path, value in _walk(obj) if path[-1] == key]


def has_any_key(doc: ResultDoc, keys: Sequence[str]) -> bool:
    """Whether any of ``keys`` holds a non-empty value anywhere in the metrics."""
    return any(v not in (None, "", [], {}) for key in keys for v in find_values(doc.metrics, key))


def protocol_hashes(doc: ResultDoc) -> tuple[str, ...]:
    """The distinct protocol hashes in a result, in order of appearance."""
    found = [v for v in find_values(doc.metrics, "protocol_hash") if isinstance(v, str) and v]
    return tuple(dict.fromkeys(found))


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return float(value)
    return None


def intervals(doc: ResultDoc) -> tuple[Interval, ...]:
    """Every ``{"point", "low", "high"}`` mapping in the metrics, named by its key path."""
    out = []
    for path, value in _walk(doc.metrics):
        if not isinstance(value, Mapping):
            continue
        numbers = [_number(value.get(k)) for k in ("point", "low", "high")]
        if all(n is not None for n in numbers):
            point, low, high = numbers
            out.append(Interval(".".join(path), point, low, high))  # type: ignore[arg-type]
    return tuple(out)


def seed_count(doc: ResultDoc) -> int | None:
    """The number of seeds a result aggregates over: the largest count it states."""
    counts = []
    for key in _SEED_KEYS:
        for value in find_values(doc.metrics, key):
            if isinstance(value, list):
                counts.append(len(value))
            elif (n := _number(value)) is not None:
                counts.append(int(n))
    return max(counts) if counts else None


def latencies(doc: ResultDoc) -> tuple[Mapping[str, Any], ...]:
    """Every latency measurement: a mapping with a numeric ``p99_ms``."""
    return tuple(value for _, value in _walk(doc.metrics)
                 if isinstance(value, Mapping) and _number(value.get("p99_ms")) is not None)
