"""Readers for the LLM post-training frameworks' own log files.

Contents:
    is_verl_jsonl(path), read_verl_jsonl(path): verl's ``file`` logger
        (``verl/utils/tracking.py`` ``FileLogger``): one ``{"step": N, "data": {...}}`` line
        per step, written with orjson, unbuffered.
    VERL_CONSOLE_LINE, is_verl_console(path), read_verl_console(path): verl's ``console``
        logger (``verl/utils/logger/aggregate_logger.py`` ``concat_dict_to_str``): lines
        ``step:N - key:value - key:value`` in a job's stdout, values written by
        ``pprint.pformat`` (``0.5``, ``nan``, ``np.float64(0.5)`` under numpy 2), often
        behind a Ray prefix such as ``(TaskRunner pid=123)``.
    is_wandb_csv(path), read_wandb_csv(path): W&B CSV exports -- a run's history
        (``run.history().to_csv()``, the run page's export: ``_step`` plus metrics) and a
        panel export (``Step``, ``<run> - <metric>``, ``<run> - <metric>__MIN``/``__MAX``).

OpenRLHF, slime, SkyRL, AReaL and prime-rl log through W&B and TensorBoard only; their
files are read by the TensorBoard reader and the W&B export reader, their names by the
alias table. The offline ``.wandb`` run files have their own reader (``rlvet.signals.wandb_file``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from rlvet.errors import RlvetInputError
from rlvet.signals.jsonl import Columns, RawLog, read_jsonl
from rlvet.signals.sb3_csv import read_sb3_csv

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "VERL_CONSOLE_LINE",
    "is_verl_console",
    "is_verl_jsonl",
    "is_wandb_csv",
    "parse_verl_console_line",
    "read_verl_console",
    "read_verl_jsonl",
    "read_wandb_csv",
]

_SNIFF_BYTES = 1 << 20  # how much of a text file is looked at to tell its format
VERL_CONSOLE_LINE = re.compile(r"(?:^|\s)step:(-?\d+)((?: - [^ :][^:]*:[^ ]+)+)\s*$")
_NUMBER_WRAPPER = re.compile(r"^(?:np\.|numpy\.)?(?:float|int|uint)\d*\((.*)\)$")
_WANDB_PANEL = re.compile(r"^(?P<run>.+) - (?P<metric>.+?)(?P<bound>__MIN|__MAX)?$")
_WANDB_META = frozenset({"_runtime", "_timestamp", "_wandb"})


def is_verl_jsonl(path: str | Path) -> bool:
    """Whether a JSON-lines file's first record is verl's ``{"step": N, "data": {...}}``."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            first = json.loads(f.readline(_SNIFF_BYTES))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(first, dict) and set(first) == {"step", "data"} and isinstance(
        first["data"], dict)


def read_verl_jsonl(path: str | Path) -> RawLog:
    """Read verl's file-logger JSONL: the ``data`` object of each line, under its keys."""
    return read_jsonl(path, fmt="verl_jsonl", envelope="data")


def _number(text: str) -> float | None:
    """A pprint-formatted number (``0.5``, ``nan``, ``np.float64(0.5)``), else None."""
    inner = _NUMBER_WRAPPER.match(text)
    text = inner.group(1) if inner else text
    try:
        return float(text)
    except ValueError:
        return None


def parse_verl_console_line(line: str) -> tuple[int, dict[str, float]] | None:
    """``(step, metrics)`` of one verl console line, None for any other line.

    Example:
        >>> parse_verl_console_line("(TaskRunner pid=7) step:3 - actor/ppo_kl:0.01 - x:nan")
        (3, {'actor/ppo_kl': 0.01, 'x': nan})
    """
    match = VERL_CONSOLE_LINE.search(line.rstrip("\n"))
    if match is None:
        return None
    record: dict[str, float] = {}
    for part in match.group(2).split(" - ")[1:]:
        key, _, text = part.rpartition(":")
        value = _number(text)
        if key and value is not None:
            record[key] = value
    return int(match.group(1)), record


def is_verl_console(path: str | Path) -> bool:
    """Whether a text log holds a verl console line in its first MiB."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError:
        return False
    return any(parse_verl_console_line(line) for line in head.splitlines())


def read_verl_console(path: str | Path) -> RawLog:
    """Every ``step:N - k:v`` line of a job's stdout; other lines (tracebacks, progress
    bars, Ray's own output) are skipped. A last line without its newline is torn: dropped.
    """
    where = str(path)
    cols = Columns(where, lambda lineno: f"{where}:{lineno}")
    warnings: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            parsed = parse_verl_console_line(line)
            if parsed is None:
                continue
            if not line.endswith("\n"):
                warnings.append(f"{where}:{lineno}: torn last line dropped "
                                "(the writer stopped mid-line)")
                break
            step, record = parsed
            for key, value in record.items():
                cols.add_number(key, step, value)
    columns, text, more = cols.finish()
    return RawLog(where, "verl_console", MappingProxyType(columns), MappingProxyType(text),
                  tuple(warnings + more))


def is_wandb_csv(path: str | Path) -> bool:
    """Whether a CSV's header is a W&B export's (``_step``, or ``Step`` and ``run - metric``)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            header = f.readline(_SNIFF_BYTES)
    except OSError:
        return False
    cells = [c.strip().strip('"') for c in header.split(",")]
    return "_step" in cells or ("Step" in cells and any(" - " in c for c in cells))


def read_wandb_csv(path: str | Path) -> RawLog:
    """A W&B CSV export under the metrics' own names.

    A panel export's ``<run> - <metric>`` columns keep the metric name (one run per file;
    several runs in one panel export are refused, they would merge into one series);
    ``__MIN``/``__MAX`` band columns and W&B's bookkeeping (``_runtime``, ``_timestamp``)
    are dropped. Empty cells are steps where the metric was not logged.
    """
    raw = read_sb3_csv(path)
    columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    runs: set[str] = set()
    for name, points in raw.columns.items():
        panel = _WANDB_PANEL.match(name)
        if panel is not None and panel.group("bound"):
            continue
        if panel is not None:
            runs.add(panel.group("run"))
            name = panel.group("metric")
        if name in _WANDB_META or name.startswith("_"):
            continue
        columns[name] = points
    if len(runs) > 1:
        raise RlvetInputError(f"{path}: a W&B panel export of {len(runs)} runs "
                              f"({', '.join(sorted(runs)[:3])}, ...); export one run per file")
    return RawLog(str(path), "wandb_csv", MappingProxyType(columns), raw.text, raw.warnings)
