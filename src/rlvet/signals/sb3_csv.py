"""SB3's ``progress.csv`` (and any CSV with a step column), read row by row.

Contents:
    read_sb3_csv(path): the file's columns under their logged names, in log order.

SB3's ``CSVOutputFormat`` (common/logger.py) writes a header of every key seen so far,
rewriting the file when a key first appears, so every row has the header's field count;
keys not logged in a dump are empty cells (skipped here, not zeros); strings are quoted.
The x-axis is ``time/total_timesteps`` (SB3 records it in every dump, CSV only).

Reading rules (ARCHITECTURE.md section 8): rows are streamed; a last row without its
newline or with fewer fields than the header is torn (dropped, with a warning); any other
short row or a non-number in a numeric column is an ``RlvetInputError`` naming
``path:line`` and the column. ``nan``/``inf`` cells are data.
"""

from __future__ import annotations

import _csv
import csv
import os
from array import array
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import numpy as np

from rlvet.errors import RlvetInputError
from rlvet.signals.jsonl import STEP_KEYS, RawLog

__all__ = ["read_sb3_csv"]


def _ends_with_newline(path: str | Path) -> bool:
    """Whether the file's last byte is a newline: SB3 ends every row with one."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return True
        f.seek(size - 1)
        return f.read(1) in (b"\n", b"\r")


def _rows(reader: _csv.Reader, where: str) -> Iterator[tuple[list[str], int, bool]]:
    """Yield ``(row, line number, is_last)``: one row of lookahead to spot the last one."""
    pending: tuple[list[str], int] | None = None
    try:
        for row in reader:
            if not row:
                continue
            if pending is not None:
                yield pending[0], pending[1], False
            pending = (row, reader.line_num)
    except csv.Error as err:
        raise RlvetInputError(f"{where}:{reader.line_num}: not a CSV row ({err})") from None
    if pending is not None:
        yield pending[0], pending[1], True


def _step_column(header: list[str], where: str) -> int:
    for key in STEP_KEYS:
        if key in header:
            return header.index(key)
    raise RlvetInputError(
        f"{where}:1: no step column in the header; rlvet looks for one of {', '.join(STEP_KEYS)}"
    )


def _parse_step(cell: str, column: str, where: str) -> int:
    try:
        return int(cell)
    except ValueError:
        pass
    try:
        value = float(cell)
    except ValueError:
        value = float("nan")
    if not value.is_integer():
        raise RlvetInputError(f"{where}: column {column!r} must hold an integer step, "
                              f"got {cell!r}")
    return int(value)


class _Table:
    """Per-column accumulators, by column index (numeric or text, fixed by the first cell)."""

    def __init__(self, header: list[str], step_index: int) -> None:
        self.header = header
        self.step_index = step_index
        self.numeric: dict[int, tuple[array[int], array[float]]] = {}
        self.text: dict[int, list[tuple[int, str]]] = {}

    def parse_row(self, row: list[str], where: str) -> list[tuple[int, float | str]]:
        """Parse one row without storing it (so a torn row leaves no trace)."""
        out: list[tuple[int, float | str]] = []
        for i, cell in enumerate(row):
            if i == self.step_index or cell == "":
                continue
            if i in self.text:
                out.append((i, cell))
                continue
            try:
                out.append((i, float(cell)))
            except ValueError:
                if i in self.numeric:
                    raise RlvetInputError(
                        f"{where}: column {self.header[i]!r} is not a number ({cell[:40]!r})"
                    ) from None
                self.text[i] = []
                out.append((i, cell))
        return out

    def store(self, step: int, cells: list[tuple[int, float | str]]) -> None:
        for i, value in cells:
            if isinstance(value, str):
                self.text[i].append((step, value))
                continue
            col = self.numeric.get(i)
            if col is None:
                col = self.numeric[i] = (array("q"), array("d"))
            col[1].append(value)
            col[0].append(step)

    def to_log(self, where: str, warnings: list[str]) -> RawLog:
        columns = {
            self.header[i]: (np.frombuffer(s, dtype=np.int64), np.frombuffer(v, dtype=np.float64))
            for i, (s, v) in self.numeric.items()
        }
        text = {self.header[i]: tuple(points) for i, points in self.text.items() if points}
        return RawLog(where, "sb3_csv", MappingProxyType(columns), MappingProxyType(text),
                      tuple(warnings))


def _check_header(header: list[str], where: str) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise RlvetInputError(f"{where}:1: column {name!r} appears twice in the header")
        seen.add(name)


def read_sb3_csv(path: str | Path) -> RawLog:
    """Read SB3's ``progress.csv`` (or any CSV whose header has a step column).

    Args:
        path: the file; opened read-only and never modified.

    Returns:
        The columns under their logged names (``rollout/ep_rew_mean``, ...), in row order.

    Raises:
        RlvetInputError: no step column, a short row or a non-number in a numeric column
            anywhere but a torn last row.

    Example:
        >>> log = read_sb3_csv("logs/ppo/progress.csv")
        >>> steps, values = log.columns["train/approx_kl"]
    """
    where = str(path)
    warnings: list[str] = []
    newline_at_end = _ends_with_newline(path)
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            return RawLog(where, "sb3_csv", {}, {}, (f"{where}: empty file (no header)",))
        _check_header(header, where)
        table = _Table(header, _step_column(header, where))
        for row, lineno, is_last in _rows(reader, where):
            torn = is_last and (not newline_at_end or len(row) < len(header))
            if torn:
                warnings.append(f"{where}:{lineno}: torn last row dropped "
                                "(the writer stopped mid-row)")
                break
            if len(row) != len(header):
                raise RlvetInputError(f"{where}:{lineno}: expected {len(header)} fields "
                                      f"(the header's), got {len(row)}")
            column = header[table.step_index]
            step = _parse_step(row[table.step_index], column, f"{where}:{lineno}")
            table.store(step, table.parse_row(row, f"{where}:{lineno}"))
    return table.to_log(where, warnings)
