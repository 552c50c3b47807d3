"""Find a run's logs, read them all, and merge them into one ``RunSignals``.

Contents:
    FORMATS: the formats, in the order they win a tie (see "Duplicates" below).
    READERS: format -> reader function (path -> RawLog).
    LogFile: one log file and its format.
    ReadReport: what was read, what was dropped and why (returned beside the signals).
    detect_format(path): the format of one file, by name and, if needed, first line.
    find_logs(root): every log file under a directory.
    read_run(path), read_run_report(path), read_runs(paths): the entry points.
    signals_from_raws(raws, source=...): the merge alone, for logs already in memory.
    Claim, series_claims(raws), merge_text(raws): its parts, shared with the live
        ``rlvet.signals.growing.GrowingLog`` (which keeps the merge up to date as it grows).

A directory is searched recursively (hidden directories skipped) for rlvet/any JSON-lines
logs (``*.jsonl``, ``*.ndjson``, Ray Tune's ``result.json``), SB3 ``progress*.csv`` and
``progress*.json``, HF/TRL ``trainer_state.json``, W&B offline ``run-*.wandb`` (under
``wandb/offline-run-*/``) and TensorBoard ``*tfevents*`` files;
checkpoints are collected in the same walk.

Duplicates: one series key gets its values from exactly one (format, raw name):
    1. the format ranked first in ``FORMATS`` wins: rlvet's JSON lines, then
       trainer_state.json, SB3's CSV, SB3's JSON, TensorBoard last -- text logs carry full
       float64 precision (TensorBoard stores float32) and SB3 leaves ``time/*`` keys out of
       TensorBoard. So an SB3 run logging csv+tensorboard reads its CSV;
    2. within a format, the raw name listed first in the alias table wins; a raw name that
       lost to another of its own format is a different metric and is kept under its own
       sanitised name (``objective/kl`` beside ``kl``); one that lost to another format is
       the same metric logged twice, and is dropped.
Several files of the winning format (TensorBoard writes one per process start) are
concatenated in creation order (the timestamp in a tfevents name, else mtime). When the
steps then go backwards -- a run resumed from an earlier checkpoint, or a new run in a
subdirectory -- the earlier points at or after the restart step are dropped, as
TensorBoard's ``purge_orphaned_data`` does, with a warning.
Only one trainer_state.json is read: the one with the largest ``global_step`` (it holds
the whole ``log_history``); if it is unreadable the next one is tried, with a warning.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Literal, overload

import numpy as np

from rlvet.errors import RlvetInputError
from rlvet.paths import is_special_file
from rlvet.signals.aliases import (
    TRANSFORMS,
    Resolved,
    detect_dialect,
    resolve,
    sanitize,
    user_aliases,
)
from rlvet.signals.checkpoints import checkpoint_step
from rlvet.signals.jsonl import RawLog, read_jsonl
from rlvet.signals.llm_logs import (
    is_verl_console,
    is_verl_jsonl,
    is_wandb_csv,
    read_verl_console,
    read_verl_jsonl,
    read_wandb_csv,
)
from rlvet.signals.sb3_csv import read_sb3_csv
from rlvet.signals.series import Checkpoint, RunSignals, Series
from rlvet.signals.tensorboard import read_tensorboard
from rlvet.signals.trainer_state import rank_trainer_states, read_trainer_state
from rlvet.signals.wandb_file import read_wandb_file

__all__ = [
    "FORMATS",
    "READERS",
    "Claim",
    "LogFile",
    "ReadReport",
    "detect_format",
    "drop_superseded",
    "find_logs",
    "merge_text",
    "read_run",
    "read_run_report",
    "read_runs",
    "outermost",
    "series_claims",
    "signals_from_raws",
    "split_runs",
    "superseded_warning",
]

FORMATS: tuple[str, ...] = ("jsonl", "verl_jsonl", "trainer_state", "sb3_csv", "wandb_csv",
                            "wandb_file", "sb3_json", "verl_console", "tensorboard")

READERS: Mapping[str, Callable[[Path], RawLog]] = MappingProxyType({
    "jsonl": read_jsonl,
    "trainer_state": read_trainer_state,
    "sb3_csv": read_sb3_csv,
    "sb3_json": partial(read_jsonl, fmt="sb3_json"),
    "tensorboard": read_tensorboard,
    "verl_jsonl": read_verl_jsonl,
    "verl_console": read_verl_console,
    "wandb_csv": read_wandb_csv,
    "wandb_file": read_wandb_file,
})

# File name -> format, first match wins. "sniff" rows are read only if their first line
# is a JSON object (a pretty-printed result.json is some other tool's file).
_NAME_RULES: tuple[tuple[re.Pattern[str], str, bool], ...] = (
    (re.compile(r"trainer_state\.json"), "trainer_state", False),
    (re.compile(r"progress.*\.csv"), "sb3_csv", False),
    (re.compile(r"progress.*\.json"), "sb3_json", False),
    (re.compile(r".*\.(jsonl|ndjson)"), "jsonl", False),
    (re.compile(r"result\.json"), "jsonl", True),
    (re.compile(r".*tfevents.*"), "tensorboard", False),
    (re.compile(r"wandb_export.*\.csv"), "wandb_csv", False),
    (re.compile(r"run-.*\.wandb"), "wandb_file", False),
    (re.compile(r".*\.(log|out|txt)"), "verl_console", True),
)
_LOOKED_FOR = ("rlvet/JSON-lines *.jsonl, verl file-logger *.jsonl and console *.log, "
               "SB3 progress.csv/progress.json, HF/TRL trainer_state.json, Ray result.json, "
               "W&B CSV exports, W&B offline run-*.wandb, TensorBoard events.out.tfevents.*")
_TFEVENTS_TIME = re.compile(r"tfevents\.(\d+)")
_FORMAT_RANK = MappingProxyType({fmt: rank for rank, fmt in enumerate(FORMATS)})
_NO_RESTART = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class LogFile:
    """One log file and the reader it needs."""

    format: str
    path: Path


@dataclass(frozen=True, slots=True)
class ReadReport:
    """What ``read_run_report`` did, for messages and ``--json`` output.

    Attributes:
        files: ``(format, path)`` of every file read.
        warnings: torn last lines, restarts, skipped files -- read, but worth knowing.
        sources: series key -> ``"format:raw name"`` it was taken from.
    """

    files: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)


def _first_line_is_object(path: Path) -> bool:
    """Whether the file starts with a one-line JSON object (a JSON-lines file)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return isinstance(json.loads(f.readline(1 << 20)), dict)
    except (OSError, ValueError, RecursionError):
        return False


_SAMPLE_KEYS = frozenset({"id", "reward"})  # rlvet reward's samples schema, not a metrics log
_TEXT_KEYS = frozenset({"response", "prompt"})


def _is_samples_file(path: Path) -> bool:
    """A reward-samples JSONL (per-completion records) that must not be read as metrics."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            first = json.loads(f.readline(1 << 20))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(first, dict) and _SAMPLE_KEYS <= first.keys() and bool(
        _TEXT_KEYS & first.keys())


def _sniff(path: Path, fmt: str) -> bool:
    """Content check for names other tools use too (``result.json``, ``*.log``)."""
    return is_verl_console(path) if fmt == "verl_console" else _first_line_is_object(path)


def _refine(path: Path, fmt: str) -> str:
    """A JSON-lines file in verl's ``{"step", "data"}`` envelope is verl's file logger."""
    return "verl_jsonl" if fmt == "jsonl" and is_verl_jsonl(path) else fmt


@overload
def detect_format(path: str | Path, *, strict: Literal[True] = ...) -> str: ...
@overload
def detect_format(path: str | Path, *, strict: bool) -> str | None: ...
def detect_format(path: str | Path, *, strict: bool = True) -> str | None:
    """The format of one file, by its name; a ``.json``/``.csv`` of another name by content.

    Args:
        path: the file.
        strict: raise for a file of no known format (a file the user named); when False
            (a directory walk) return None instead.

    Raises:
        RlvetInputError: ``strict`` and the format is unknown.
    """
    path = Path(path)
    if path.suffix in {".jsonl", ".ndjson"} and _is_samples_file(path):
        if strict:
            raise RlvetInputError(f"{path}: this is a reward samples file (id, reward, "
                                  "response); audit it with `rlvet reward`")
        return None
    for pattern, fmt, sniff in _NAME_RULES:
        if pattern.fullmatch(path.name):
            return _refine(path, fmt) if not sniff or _sniff(path, fmt) else None
    if strict and path.suffix == ".csv":
        return "wandb_csv" if is_wandb_csv(path) else "sb3_csv"
    if strict and path.suffix == ".json":
        return "jsonl" if _first_line_is_object(path) else "trainer_state"
    if strict:
        raise RlvetInputError(f"{path}: unknown log format; rlvet reads {_LOOKED_FOR}")
    return None


def _walk(root: Path) -> tuple[list[LogFile], list[Checkpoint]]:
    """One recursive walk: log files and checkpoints, hidden directories skipped."""
    logs: list[LogFile] = []
    checkpoints: list[Checkpoint] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in dirs:
            step = checkpoint_step(name, is_dir=True)
            if step is not None:
                checkpoints.append(Checkpoint(step, os.path.join(folder, name)))
        for name in sorted(files):
            path = Path(folder, name)
            if is_special_file(path):  # a FIFO would block open() forever
                continue
            fmt = detect_format(path, strict=False)
            if fmt is not None:
                logs.append(LogFile(fmt, path))
            step = checkpoint_step(name)
            if step is not None:
                checkpoints.append(Checkpoint(step, str(path)))
    return logs, checkpoints


def find_logs(root: str | Path) -> list[LogFile]:
    """Every log file rlvet can read under ``root`` (a directory), in walk order."""
    return _walk(Path(root))[0]


def outermost(log_dirs: Iterable[Path]) -> list[Path]:
    """Directories holding logs, minus those inside another such directory, sorted.

    Why: this is what one *run* is when a folder holds several (``sweep/seed0`` and
    ``sweep/seed1`` are two runs; ``run/tb/`` holds the TensorBoard file of ``run``). Merging
    sibling runs into one series would let one healthy seed's points hide a broken one's.
    """
    roots: list[Path] = []
    for folder in sorted(set(log_dirs), key=lambda p: (len(p.parts), str(p))):
        if not any(folder.is_relative_to(r) for r in roots):
            roots.append(folder)
    return sorted(roots, key=str)


def split_runs(path: str | Path) -> list[Path]:
    """The runs under ``path``: itself for a file, else each outermost log directory.

    Example:
        >>> split_runs("sweep")  # doctest: +SKIP
        [PosixPath('sweep/seed0'), PosixPath('sweep/seed1')]
    """
    path = Path(path)
    if not path.is_dir():
        return [path]
    roots = outermost(log.path.parent for log in _walk(path)[0])
    return roots or [path]


def _creation_key(log: LogFile) -> tuple[float, str]:
    """Order of files of one format: the tfevents creation time, else mtime, then path."""
    match = _TFEVENTS_TIME.search(log.path.name)
    when = float(match.group(1)) if match else log.path.stat().st_mtime
    return when, str(log.path)


def _read_trainer_states(logs: list[LogFile], warnings: list[str]) -> list[RawLog]:
    """Read the best trainer_state.json; fall back to the next when it is unreadable."""
    errors: list[RlvetInputError] = []
    for path in rank_trainer_states(log.path for log in logs):
        try:
            return [read_trainer_state(path)]
        except RlvetInputError as err:
            warnings.append(f"{err} (trying an older trainer_state.json)")
            errors.append(err)
    if errors:
        raise errors[0]
    return []


def _read_all(logs: list[LogFile], warnings: list[str]) -> list[RawLog]:
    """Read every file: formats in FORMATS order, files of a format in creation order."""
    raws: list[RawLog] = []
    try:
        for fmt in FORMATS:
            mine = sorted((log for log in logs if log.format == fmt), key=_creation_key)
            if fmt == "trainer_state":
                raws.extend(_read_trainer_states(mine, warnings))
            else:
                raws.extend(READERS[fmt](log.path) for log in mine)
    except OSError as err:  # permissions, a dangling link, a file removed while listed
        raise RlvetInputError(f"{err.filename}: cannot read it ({err.strerror})") from None
    return raws


def drop_superseded(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop points re-logged after a restart: TensorBoard's ``purge_orphaned_data`` rule.

    When the step goes backwards to ``s`` (a resume from an earlier checkpoint), the
    earlier points with step >= ``s`` were superseded. The result is non-decreasing.

    Args:
        steps: int64 (n,), in log order.
        values: float64 (n,).

    Returns:
        ``(steps, values, number of points dropped)``.
    """
    if steps.size < 2:
        return steps, values, 0
    back = np.flatnonzero(steps[1:] < steps[:-1]) + 1
    if back.size == 0:
        return steps, values, 0
    restart = np.full(steps.shape, _NO_RESTART, dtype=np.int64)
    restart[back] = steps[back]
    later = np.minimum.accumulate(restart[::-1])[::-1]  # lowest restart at index >= j
    keep = np.ones(steps.shape, dtype=bool)
    keep[:-1] = steps[:-1] < later[1:]
    return steps[keep], values[keep], int(steps.size - keep.sum())


@dataclass(frozen=True, slots=True)
class Claim:
    """A (format, raw name) asking for a series key; lower ``priority`` wins; ``transform``
    (a ``TRANSFORMS`` name) turns the logged values into the key's."""

    key: str
    priority: tuple[int, int, str]
    format: str
    raw: str
    transform: str


def _claims(raws: list[RawLog], aliases: Mapping[str, Resolved]) -> list[Claim]:
    """One claim per (format, raw name). TensorBoard files beside a trainer_state.json were
    written by HF's TensorBoardCallback, whose ``rewrite_logs`` prefixed every key with
    ``train/``: that prefix is undone for all their tags so they meet the trainer_state keys.
    The user's own aliases come first and outrank every table row.
    """
    hf_run = any(raw.format == "trainer_state" for raw in raws)
    dialect = detect_dialect(name for raw in raws for name in raw.columns)
    seen: dict[tuple[str, str], Claim] = {}
    for raw in raws:
        rewritten = hf_run and raw.format == "tensorboard"
        for name in raw.columns:
            if (raw.format, name) not in seen:
                hit = aliases.get(name) or resolve(name, hf_rewritten=rewritten,
                                                   dialect=dialect)
                seen[(raw.format, name)] = Claim(
                    hit.name, (_FORMAT_RANK[raw.format], hit.rank, name), raw.format, name,
                    hit.transform)
    return list(seen.values())


def _assign(claims: list[Claim]) -> dict[str, Claim]:
    """Series key -> the winning claim (see "Duplicates" in the module docstring).

    A claim that lost to another raw name of its own format is a different metric
    (``objective/kl`` beside ``policy/approxkl_avg``) and is kept under its raw name; one
    that lost to another format is the same metric logged twice, and is dropped.
    """
    winners: dict[str, Claim] = {}
    for claim in sorted(claims, key=lambda c: c.priority):
        winners.setdefault(claim.key, claim)
    keep_as_raw = [
        Claim(sanitize(c.raw), c.priority, c.format, c.raw, "identity")
        for c in claims
        if (w := winners[c.key]).format == c.format and w.raw != c.raw
    ]
    for claim in sorted(keep_as_raw, key=lambda c: c.priority):
        winners.setdefault(claim.key, claim)
    return winners


def series_claims(raws: Sequence[RawLog], *, aliases: Mapping[str, str] | None = None,
                  ) -> dict[str, Claim]:
    """Series key -> the (format, raw name, transform) its values come from: the alias
    table, the user's ``aliases`` and the duplicate rules, decided from the names alone
    (``signals_from_raws`` and the live ``GrowingLog`` share it)."""
    return _assign(_claims(list(raws), user_aliases(aliases or {})))


def superseded_warning(claim: Claim, dropped: int) -> str:
    """The reader warning for points a restart re-logged (one wording for files and the
    live ``Monitor``)."""
    return (f"{claim.key} ({claim.format} {claim.raw!r}): {dropped} point(s) superseded by a "
            "restart that re-logged their steps; later ones kept")


def _series(claim: Claim, raws: list[RawLog], warnings: list[str]) -> Series:
    parts = [r.columns[claim.raw] for r in raws
             if r.format == claim.format and claim.raw in r.columns]
    steps = parts[0][0] if len(parts) == 1 else np.concatenate([p[0] for p in parts])
    values = parts[0][1] if len(parts) == 1 else np.concatenate([p[1] for p in parts])
    values = TRANSFORMS[claim.transform](values)
    steps, values, dropped = drop_superseded(steps, values)
    if dropped:
        warnings.append(superseded_warning(claim, dropped))
    steps, values = np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64)
    steps.flags.writeable = False  # shared with nobody, but detectors must not edit evidence
    values.flags.writeable = False
    return Series(steps, values)


def merge_text(raws: Sequence[RawLog]) -> dict[str, tuple[tuple[int, str], ...]]:
    """Text keys: the best format per key, files in creation order, stable by step."""
    best: dict[str, int] = {}
    for raw in raws:
        for name in raw.text:
            key = sanitize(name)
            best[key] = min(best.get(key, len(FORMATS)), _FORMAT_RANK[raw.format])
    out: dict[str, list[tuple[int, str]]] = {}
    for raw in raws:
        for name, points in raw.text.items():
            key = sanitize(name)
            if _FORMAT_RANK[raw.format] == best[key]:
                out.setdefault(key, []).extend(points)
    return {key: tuple(sorted(points, key=lambda p: p[0])) for key, points in out.items()}


def _locate(path: Path) -> tuple[list[LogFile], list[Checkpoint]]:
    if path.is_dir():
        logs, checkpoints = _walk(path)
        if not logs:
            raise RlvetInputError(f"{path}: no training log found (looked recursively for "
                                  f"{_LOOKED_FOR})")
        return logs, checkpoints
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such file or directory"
        raise RlvetInputError(f"{path}: {what}")
    folder = path.parent
    checkpoints = [
        Checkpoint(step, str(folder / name)) for name in sorted(os.listdir(folder))
        if (step := checkpoint_step(name, is_dir=(folder / name).is_dir())) is not None
    ]
    return [LogFile(detect_format(path), path)], checkpoints


def signals_from_raws(
    raws: Sequence[RawLog], *, source: str, checkpoints: Iterable[Checkpoint] = (),
    warnings: Iterable[str] = (), aliases: Mapping[str, str] | None = None,
) -> tuple[RunSignals, ReadReport]:
    """Merge raw logs into one run: canonical names, the duplicate rules, restarts.

    The one place series keys are decided, shared by ``read_run`` and the live
    ``Monitor`` (which builds a ``RawLog`` from memory), so both see the same signals.

    Args:
        raws: the logs, files of one format in the order they were written.
        source: what to call the run (a path).
        checkpoints: checkpoints found beside the logs.
        warnings: warnings from before the read (they lead the report's list).
        aliases: the user's own ``raw name -> canonical name`` rows (``-name`` negates),
            applied before the alias table.

    Returns:
        The run's signals and a ``ReadReport`` (the raws' own warnings included).
    """
    raws = list(raws)
    notes = [*warnings, *(w for raw in raws for w in raw.warnings)]
    winners = series_claims(raws, aliases=aliases)
    series = {key: _series(claim, raws, notes) for key, claim in sorted(winners.items())}
    signals = RunSignals(
        source=source,
        series=MappingProxyType(series),
        raw_names=MappingProxyType({key: c.raw for key, c in sorted(winners.items())}),
        formats=tuple(fmt for fmt in FORMATS if any(raw.format == fmt for raw in raws)),
        checkpoints=tuple(sorted(set(checkpoints), key=lambda c: (c.step, c.path))),
        text=MappingProxyType(merge_text(raws)),
    )
    report = ReadReport(
        files=tuple((raw.format, raw.path) for raw in raws),
        warnings=tuple(notes),
        sources=MappingProxyType({k: f"{c.format}:{c.raw}" for k, c in sorted(winners.items())}),
    )
    return signals, report


def read_run_report(path: str | Path, *, aliases: Mapping[str, str] | None = None,
                    ) -> tuple[RunSignals, ReadReport]:
    """Read one run -- a log file or a directory of them -- and say what was read.

    Args:
        path: a run directory (searched recursively) or one log file.
        aliases: the user's ``raw name -> canonical name`` rows (``--alias``, rlvet.toml).

    Returns:
        The run's signals under canonical names, and a ``ReadReport``.

    Raises:
        RlvetInputError: nothing readable at ``path``, no metric in what was found, or a
            damaged file (its message names ``path:line``).
    """
    path = Path(path)
    logs, checkpoints = _locate(path)
    warnings: list[str] = []
    raws = _read_all(logs, warnings)
    if not any(raw.columns or raw.text for raw in raws):
        raise RlvetInputError(f"{path}: found {len(logs)} log file(s) but no metric in them; "
                              "the run may not have logged anything yet")
    return signals_from_raws(raws, source=str(path), checkpoints=checkpoints,
                             warnings=warnings, aliases=aliases)


def read_run(path: str | Path) -> RunSignals:
    """Read one run (a log file or a directory) into canonical signals.

    Example:
        >>> run = read_run("logs/ppo_cartpole")  # progress.csv + events.out.tfevents.*
        >>> run.get("entropy").values[:3]  # +entropy: SB3's entropy_loss sign-flipped
    """
    return read_run_report(path)[0]


def read_runs(paths: Iterable[str | Path]) -> list[RunSignals]:
    """Read several runs, one ``RunSignals`` each, in the order given."""
    return [read_run(path) for path in paths]
