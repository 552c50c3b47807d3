"""A log kept in memory that only grows, merged into ``RunSignals`` at the cost of what is new.

Contents:
    GrowingLog -- ``add(step, metrics)`` appends one record; ``signals()`` is what
        ``signals_from_raws`` makes of the log so far, ``raw()`` the log itself.

Why: the live ``Monitor`` asks for the run's signals before every verdict. Rebuilding them
(copy every column, resolve every name, transform and check every point) costs O(points
logged) per verdict; here each verdict converts only the points logged since the last one:
  * the series keys (the alias table, the user's aliases, the duplicate rules) depend on the
    logged *names* alone, so they are decided again only when a new name appears;
  * each winning column is converted (sign transform, restart rule) into a numpy buffer
    that grows by doubling; a series is a read-only view of its filled part, so earlier
    verdicts' series stay valid and unchanged columns are not copied;
  * a column whose steps go backwards (a resumed run re-logging steps) is rebuilt from its
    raw points by ``drop_superseded``, the readers' own rule; later points append again.
The result equals ``signals_from_raws([raw()], ...)`` point for point (tested).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import numpy as np

from rlvet.signals.aliases import TRANSFORMS
from rlvet.signals.discover import (
    FORMATS,
    Claim,
    drop_superseded,
    merge_text,
    series_claims,
    superseded_warning,
)
from rlvet.signals.jsonl import RawLog
from rlvet.signals.series import Checkpoint, RunSignals, Series

__all__ = ["GrowingLog"]

FORMAT = "jsonl"  # the format rlvet's own writer produces, and what the log is merged as
MIN_CAPACITY = 64  # points a converted column holds before its first doubling


class _Converted:
    """One raw column turned into its series' points (transform and restart rule applied),
    in a buffer with room to grow; ``series()`` views its filled part."""

    def __init__(self, transform: str) -> None:
        self.transform = transform
        self.consumed = 0  # raw points converted so far
        self.last_step = np.iinfo(np.int64).min  # the last raw step converted
        self.size = 0
        self.dropped = 0  # raw points a restart superseded (the readers' warning counts them)
        self._steps = np.empty(0, dtype=np.int64)
        self._values = np.empty(0, dtype=np.float64)
        self._series: Series | None = None

    def update(self, raw_steps: array[int], raw_values: array[float]) -> None:
        """Convert the raw points added since the last call."""
        if len(raw_steps) == self.consumed:
            return
        steps = np.frombuffer(raw_steps[self.consumed:], dtype=np.int64)
        values = TRANSFORMS[self.transform](np.frombuffer(raw_values[self.consumed:],
                                                          dtype=np.float64))
        if steps[0] < self.last_step or (steps.size > 1 and (np.diff(steps) < 0).any()):
            self._rebuild(raw_steps, raw_values)
        else:
            self._append(steps, values)
        self.consumed = len(raw_steps)
        self.last_step = int(raw_steps[-1])
        self._series = None

    def _append(self, steps: np.ndarray, values: np.ndarray) -> None:
        end = self.size + steps.size
        if end > self._steps.size:
            capacity = max(MIN_CAPACITY, 2 * end)
            self._steps = np.concatenate([self._steps[:self.size],
                                          np.empty(capacity - self.size, dtype=np.int64)])
            self._values = np.concatenate([self._values[:self.size],
                                           np.empty(capacity - self.size, dtype=np.float64)])
        self._steps[self.size:end] = steps
        self._values[self.size:end] = values
        self.size = end

    def _rebuild(self, raw_steps: array[int], raw_values: array[float]) -> None:
        """A restart: the readers' rule over the whole column, into fresh buffers (series
        handed out earlier keep viewing the old ones)."""
        values = TRANSFORMS[self.transform](np.array(raw_values, dtype=np.float64))
        steps, values, self.dropped = drop_superseded(np.array(raw_steps, dtype=np.int64),
                                                      values)
        self._steps = np.empty(0, dtype=np.int64)
        self._values = np.empty(0, dtype=np.float64)
        self.size = 0
        self._append(steps, values)

    def series(self) -> Series:
        """The converted points as a read-only series (the same object until they grow)."""
        if self._series is None:
            steps, values = self._steps[:self.size], self._values[:self.size]
            steps.flags.writeable = False  # detectors must not edit evidence
            values.flags.writeable = False
            self._series = Series(steps, values)
        return self._series


class GrowingLog:
    """Records appended one by one, and the run they make, kept up to date incrementally.

    Args:
        source: what to call the run (a path, or ``<monitor>``).
        aliases: the user's ``raw name -> canonical name`` rows (``-name`` negates).

    Example:
        >>> log = GrowingLog("<monitor>")
        >>> log.add(2048, {"train/entropy_loss": -0.69, "train/approx_kl": 0.01})
        >>> log.signals().get("entropy").values.tolist()
        [0.69]
    """

    def __init__(self, source: str, *, aliases: Mapping[str, str] | None = None) -> None:
        self._source = source
        self._aliases = dict(aliases or {})
        self._columns: dict[str, tuple[array[int], array[float]]] = {}
        self._text: dict[str, list[tuple[int, str]]] = {}
        self._checkpoints: list[Checkpoint] = []
        # caches, each valid while what it depends on has not grown
        self._winners: dict[str, Claim] = {}
        self._winners_for = -1  # number of columns the winners were decided for
        self._raw_names: Mapping[str, str] = MappingProxyType({})
        self._converted: dict[tuple[str, str], _Converted] = {}
        self._merged_text: Mapping[str, tuple[tuple[int, str], ...]] = MappingProxyType({})
        self._text_points = self._text_for = 0
        self._sorted_checkpoints: tuple[Checkpoint, ...] = ()
        self._checkpoints_for = 0

    def add(self, step: int, metrics: Mapping[str, float | int | str]) -> None:
        """Append one record: numbers to their columns, strings to text keys."""
        for key, value in metrics.items():
            if isinstance(value, str):
                self._text.setdefault(key, []).append((step, value))
                self._text_points += 1
                continue
            column = self._columns.get(key)
            if column is None:
                column = self._columns[key] = (array("q"), array("d"))
            column[0].append(step)
            column[1].append(float(value))

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Record a saved checkpoint (the signals list them sorted, without duplicates)."""
        self._checkpoints.append(checkpoint)

    def raw(self) -> RawLog:
        """The log as a reader would return it (a full copy: for checks, not the hot path)."""
        return RawLog(
            path=self._source, format=FORMAT,
            columns=MappingProxyType({k: (np.array(s, dtype=np.int64), np.array(v))
                                      for k, (s, v) in self._columns.items()}),
            text=MappingProxyType({k: tuple(v) for k, v in self._text.items()}))

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """Checkpoints added so far, in the order added."""
        return list(self._checkpoints)

    def signals(self) -> RunSignals:
        """The run so far: equal to ``signals_from_raws([self.raw()], ...)``, converting only
        the points added since the last call."""
        if self._winners_for != len(self._columns):
            self._decide_keys()
        series = {}
        for key, claim in self._winners.items():
            converted = self._converted.get((claim.raw, claim.transform))
            if converted is None:
                converted = self._converted[(claim.raw, claim.transform)] = _Converted(
                    claim.transform)
            converted.update(*self._columns[claim.raw])
            series[key] = converted.series()
        return RunSignals(
            source=self._source,
            series=MappingProxyType(series),
            raw_names=self._raw_names,
            formats=tuple(fmt for fmt in FORMATS if fmt == FORMAT),
            checkpoints=self._checkpoint_tuple(),
            text=self._text_merged(),
        )

    def warnings(self) -> tuple[str, ...]:
        """What the merge had to drop so far, worded as the readers word it (a restart that
        re-logged steps supersedes the earlier points); as of the last ``signals()``."""
        return tuple(superseded_warning(claim, c.dropped) for claim in self._winners.values()
                     if (c := self._converted.get((claim.raw, claim.transform))) is not None
                     and c.dropped)

    def _decide_keys(self) -> None:
        """Series key -> winning claim, from the names alone (the merge's own rules)."""
        names = RawLog(path=self._source, format=FORMAT,
                       columns=MappingProxyType(dict.fromkeys(self._columns, _NO_POINTS)))
        winners = series_claims([names], aliases=self._aliases)
        self._winners = dict(sorted(winners.items()))
        self._raw_names = MappingProxyType({key: c.raw for key, c in self._winners.items()})
        self._winners_for = len(self._columns)

    def _checkpoint_tuple(self) -> tuple[Checkpoint, ...]:
        if self._checkpoints_for != len(self._checkpoints):
            self._sorted_checkpoints = _sorted_unique(self._checkpoints)
            self._checkpoints_for = len(self._checkpoints)
        return self._sorted_checkpoints

    def _text_merged(self) -> Mapping[str, tuple[tuple[int, str], ...]]:
        if self._text_for != self._text_points:
            raw = RawLog(path=self._source, format=FORMAT, columns=MappingProxyType({}),
                         text=MappingProxyType({k: tuple(v) for k, v in self._text.items()}))
            self._merged_text = MappingProxyType(merge_text([raw]))
            self._text_for = self._text_points
        return self._merged_text


_NO_POINTS = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))


def _sorted_unique(checkpoints: Iterable[Checkpoint]) -> tuple[Checkpoint, ...]:
    """As ``signals_from_raws`` lists them: without duplicates, by step then path."""
    return tuple(sorted(set(checkpoints), key=lambda c: (c.step, c.path)))
