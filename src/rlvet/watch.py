"""``rlvet watch``: live guardrails for a job rlvet is not inside of, from the files it writes.

Contents:
    WatchConfig -- what to follow, how often, when to give up, what to do on an error.
    WatchEvent, WatchSink -- what happened (a file appeared, a finding, an action), for the
        renderer in ``report/watch_terminal.py``; this module never prints.
    Follower -- polls paths for log files (new ones as they appear) and returns the records
        written since the last poll: line formats (rlvet/verl JSONL, verl console, SB3 JSON)
        from their new bytes only, a torn last line kept until its newline arrives; whole-file
        formats (TensorBoard, CSV, trainer_state.json) re-read when they change, only the
        records past those already fed returned.
    WatchOutcome, watch(config, sink) -- follow, feed a ``Monitor`` record by record, take a
        verdict whenever the live policy says one is due, act once on a confirmed error, and
        end when the files stop changing for ``idle_s`` (or on Ctrl-C) with the final verdict.

Why: verl, OpenRLHF and the async trainers run under Ray launchers where adding a callback
means forking the trainer. Following their logs gives the same guardrail from outside:
there is one live policy (``rlvet.doctor.live``) and it is the ``Monitor``'s, so a watched
job is stopped exactly when the same records logged through a callback would have been.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rlvet import __version__
from rlvet.atomic import write_text_atomic
from rlvet.doctor.diagnose import diagnose
from rlvet.doctor.live import LivePolicy
from rlvet.errors import RlvetInputError
from rlvet.findings import CommandResult, Finding, Severity
from rlvet.monitor import Action, Monitor
from rlvet.signals.discover import READERS, detect_format, find_logs
from rlvet.signals.jsonl import STEP_KEYS, RawLog
from rlvet.signals.llm_logs import parse_verl_console_line

__all__ = ["Follower", "WatchConfig", "WatchEvent", "WatchOutcome", "WatchSink", "watch"]

LINE_FORMATS = frozenset({"jsonl", "verl_jsonl", "sb3_json", "verl_console"})
WEBHOOK_TIMEOUT_S = 5.0  # a slow alert endpoint must not hold the guardrail up
_RESERVED = frozenset({"step", "self"})  # Monitor.log's own parameters
SIGNALS: Mapping[str, signal.Signals] = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchConfig:
    """What ``watch`` follows and what it does on a confirmed error.

    Attributes:
        paths: run directories (searched recursively, new files picked up) or log files.
        poll_s: seconds between polls; keep it below the job's logging interval.
        idle_s: end when no followed file changed for this long (or none appeared).
        stop_file: on an error, write the finding here as JSON (the job polls for it).
        pid: on an error, send ``signal`` to this process.
        signal: ``SIGINT`` (a Python job's KeyboardInterrupt: it can save) or ``SIGTERM``.
        webhook: on an error, POST the finding as JSON here.
        reward_metric, eval_metric: as for ``rlvet doctor``.
        aliases: the user's ``raw name -> canonical name`` rows, as for ``rlvet doctor``.
        policy: the live policy (``LivePolicy()``, the one every live path uses).
    """

    paths: tuple[Path, ...]
    poll_s: float = 1.0
    idle_s: float = 300.0
    stop_file: Path | None = None
    pid: int | None = None
    signal: str = "SIGTERM"
    webhook: str | None = None
    reward_metric: str | None = None
    eval_metric: str | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    policy: LivePolicy = field(default_factory=LivePolicy)

    def __post_init__(self) -> None:
        if self.signal not in SIGNALS:
            raise RlvetInputError(f"--signal: {self.signal!r}; use SIGINT or SIGTERM")
        if self.poll_s <= 0 or self.idle_s <= 0:
            raise RlvetInputError("--poll and --idle must be positive seconds")
        if self.webhook is not None and not self.webhook.startswith(("http://", "https://")):
            raise RlvetInputError(f"--webhook: {self.webhook!r} is not an http(s) URL")


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One thing worth showing: ``kind`` is file, finding, action, action_failed, status."""

    kind: str
    message: str
    finding: Finding | None = None
    records: int = 0
    step: int | None = None


class WatchSink(Protocol):
    """Receives events as they happen (the live view)."""

    def __call__(self, event: WatchEvent, /) -> None: ...


@dataclass(slots=True)
class _File:
    path: Path
    format: str
    offset: int = 0
    tail: bytes = b""
    step_key: str = ""
    fed: int = 0
    stamp: tuple[int, int] = (-1, -1)


def _flat(record: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float | str]]:
    """Scalars of a JSON record, nested objects flattened with ``/`` (as the reader does)."""
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            yield name, float(value)
        elif isinstance(value, int | float | str):
            yield name, value
        elif isinstance(value, Mapping):
            yield from _flat(value, f"{name}/")


def _raw_records(raw: RawLog) -> list[tuple[int, dict[str, float]]]:
    """A whole-file reader's columns regrouped into per-step records, in step order."""
    points = [(int(s), key, float(v)) for key, (steps, values) in raw.columns.items()
              for s, v in zip(steps.tolist(), values.tolist(), strict=True)]
    points.sort(key=lambda p: p[0])
    out: list[tuple[int, dict[str, float]]] = []
    for step, key, value in points:
        if not out or out[-1][0] != step or key in out[-1][1]:
            out.append((step, {}))
        out[-1][1][key] = value
    return out


class Follower:
    """The log files under ``paths`` and the records they gained since the last poll.

    Example:
        >>> f = Follower([Path("runs/a")])  # doctest: +SKIP
        >>> records, changed = f.poll()  # doctest: +SKIP
    """

    def __init__(self, paths: tuple[Path, ...] | list[Path]) -> None:
        self._paths = [Path(p) for p in paths]
        self._files: dict[Path, _File] = {}
        self._owner: dict[str, Path] = {}  # a metric logged by two files is read from one
        self._warnings: dict[str, None] = {}  # insertion-ordered, each once

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the readers could not read (damaged lines, a torn record), each once: the
        same notes ``rlvet doctor`` keeps, carried into the watch's result."""
        return tuple(self._warnings)

    @property
    def files(self) -> list[tuple[str, str]]:
        """``(format, path)`` of every file followed so far."""
        return [(f.format, str(f.path)) for f in self._files.values()]

    def discover(self) -> list[_File]:
        """Files that appeared since the last call."""
        new: list[_File] = []
        for root in self._paths:
            if root.is_dir():
                found = [(log.format, log.path) for log in find_logs(root)]
            elif root.is_file() and root not in self._files:
                try:
                    found = [(detect_format(root, strict=False) or "", root)]
                except OSError:
                    found = []
            else:
                found = []
            for fmt, path in found:
                if fmt and path not in self._files:
                    self._files[path] = entry = _File(path, fmt)
                    new.append(entry)
        return new

    def poll(self) -> tuple[list[tuple[int, dict[str, float | str]]], bool]:
        """Records written since the last poll, and whether any file changed at all."""
        records: list[tuple[int, dict[str, float | str]]] = []
        changed = False
        for entry in self._files.values():
            try:
                stat = entry.path.stat()
            except OSError:
                continue
            stamp = (stat.st_size, stat.st_mtime_ns)
            if stamp == entry.stamp:
                continue
            changed = True
            entry.stamp = stamp
            got = self._lines(entry) if entry.format in LINE_FORMATS else self._whole(entry)
            records.extend((step, self._owned(entry, rec)) for step, rec in got)
        return [(s, r) for s, r in records if r], changed

    def _owned(self, entry: _File, record: dict[str, float | str]) -> dict[str, float | str]:
        out = {}
        for key, value in record.items():
            owner = self._owner.setdefault(key, entry.path)
            if owner == entry.path and key not in _RESERVED:
                out[key] = value
        return out

    def _lines(self, entry: _File) -> list[tuple[int, dict[str, float | str]]]:
        """Complete new lines of a line format; a torn tail waits for its newline."""
        with open(entry.path, "rb") as f:
            f.seek(entry.offset)
            data = f.read()
        entry.offset += len(data)
        data = entry.tail + data
        cut = data.rfind(b"\n") + 1
        entry.tail = data[cut:]
        out = []
        for line in data[:cut].decode("utf-8", errors="replace").splitlines():
            parsed = self._parse(entry, line)
            if parsed is not None:
                out.append(parsed)
            elif line.strip() and entry.format != "verl_console":  # prose between records
                self._warnings[f"{entry.path}: skipped lines that are not JSON records with "
                               "a step"] = None
        return out

    def _parse(self, entry: _File, line: str) -> tuple[int, dict[str, float | str]] | None:
        if entry.format == "verl_console":
            parsed = parse_verl_console_line(line)
            return None if parsed is None else (parsed[0], {**parsed[1]})
        try:
            record = json.loads(line)
        except ValueError:
            return None  # a damaged line: the offline reader names it; live, skip it
        if not isinstance(record, dict):
            return None
        if not entry.step_key:
            entry.step_key = next((k for k in STEP_KEYS if k in record), "")
        step = record.pop(entry.step_key, None)
        if not isinstance(step, int | float) or isinstance(step, bool):
            return None
        if entry.format == "verl_jsonl" and isinstance(record.get("data"), dict):
            record = record["data"]
        return int(step), dict(_flat(record))

    def _whole(self, entry: _File) -> list[tuple[int, dict[str, float | str]]]:
        """Re-read a whole-file format; return the records past those already fed."""
        try:
            raw = READERS[entry.format](entry.path)
        except (RlvetInputError, OSError):
            entry.stamp = (-1, -1)  # mid-write: try again next poll
            return []
        self._warnings.update(dict.fromkeys(raw.warnings))
        records = _raw_records(raw)
        if len(records) > 1:
            records = records[:-1]  # the last step may still be gaining values
        new = records[entry.fed:]
        entry.fed = len(records)
        return new  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class WatchOutcome:
    """How the watch ended: the final verdict, the finding acted on, what was done."""

    result: CommandResult
    acted_on: Finding | None
    actions: tuple[str, ...]
    records: int
    interrupted: bool


def _alert(finding: Finding, config: WatchConfig, step: int | None) -> dict[str, Any]:
    return {"rlvet": __version__, "event": "error", "paths": [str(p) for p in config.paths],
            "step": step, "finding": finding.to_dict()}


def _act(finding: Finding, config: WatchConfig, step: int | None,
         sink: WatchSink) -> list[str]:
    """Do every configured action once; a failing one is reported, never raised."""
    done: list[str] = []
    body = _alert(finding, config, step)
    if config.stop_file is not None:
        write_text_atomic(config.stop_file, json.dumps(body, indent=2) + "\n", what="stop file")
        done.append(f"wrote stop file {config.stop_file}")
    if config.pid is not None:
        try:
            os.kill(config.pid, SIGNALS[config.signal])
            done.append(f"sent {config.signal} to pid {config.pid}")
        except OSError as err:
            sink(WatchEvent("action_failed", f"could not signal pid {config.pid}: {err}"))
    if config.webhook is not None:
        request = urllib.request.Request(
            config.webhook, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as reply:
                done.append(f"posted alert to {config.webhook} ({reply.status})")
        except (urllib.error.URLError, OSError) as err:
            sink(WatchEvent("action_failed", f"webhook {config.webhook} failed: {err}"))
    return done


def _final(mon: Monitor, config: WatchConfig, records: int, follower: Follower,
           acted: Finding | None, actions: list[str], interrupted: bool) -> CommandResult:
    target = ", ".join(str(p) for p in config.paths)
    metrics: dict[str, Any] = {"records": records,
                               "files": [list(f) for f in follower.files],
                               "reader_warnings": list(follower.warnings),
                               "acted_on": None if acted is None else acted.to_dict(),
                               "actions": actions, "interrupted": interrupted}
    if not records:
        return CommandResult(command="watch", target=target, findings=(), metrics=metrics)
    d = diagnose(mon.signals(), reward_metric=config.reward_metric,
                 eval_metric=config.eval_metric)
    metrics["reader_warnings"] += list(mon.read_warnings)
    return CommandResult(command="watch", target=target, findings=d.findings,
                         metrics={**metrics, "first_break_step": None if d.first_break is None
                                  else d.first_break.step},
                         chosen_first_break=d.first_break)


def _judge(mon: Monitor, config: WatchConfig, sink: WatchSink, seen: set[tuple[str, str]],
           acted: Finding | None, fed: int, step: int | None,
           actions: list[str]) -> Finding | None:
    """One verdict: report new findings (warning and up) and act once on a confirmed error."""
    decision = mon.verdict()
    for f in decision.diagnosis.findings:
        key = (str(f.category), str(f.severity))
        if f.severity >= Severity.WARNING and key not in seen:
            seen.add(key)
            sink(WatchEvent("finding", f.message, f, fed, f.step))
    finding = decision.finding  # set whenever the action is not CONTINUE
    if decision.action is Action.CONTINUE or acted is not None or finding is None:
        return acted
    actions.extend(_act(finding, config, step, sink))
    sink(WatchEvent("action", "; ".join(actions) or "no action configured (--stop-file, "
                    "--pid, --webhook)", finding, fed, step))
    return finding


def watch(config: WatchConfig, sink: WatchSink, *,
          clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> WatchOutcome:
    """Follow ``config.paths`` until idle or Ctrl-C, acting once on a confirmed error.

    Raises:
        RlvetInputError: nothing to follow appeared within ``idle_s``.
    """
    follower = Follower(config.paths)
    mon = Monitor(None, resources=False, reward_metric=config.reward_metric,
                  eval_metric=config.eval_metric, policy=config.policy,
                  aliases=config.aliases)
    fed, last_step = 0, None
    seen: set[tuple[str, str]] = set()
    acted: Finding | None = None
    actions: list[str] = []
    last_change = clock()
    interrupted = False
    try:
        while True:
            for entry in follower.discover():
                sink(WatchEvent("file", f"following {entry.path} ({entry.format})"))
                last_change = clock()
            records, changed = follower.poll()
            if changed:
                last_change = clock()
            for step, record in records:
                mon.log(step, **record)
                fed, last_step = fed + 1, step
                if mon.due():
                    acted = _judge(mon, config, sink, seen, acted, fed, step, actions)
            if fed and mon.due():  # records fed faster than the budget allowed verdicts
                acted = _judge(mon, config, sink, seen, acted, fed, last_step, actions)
            sink(WatchEvent("status", "", None, fed, last_step))
            if clock() - last_change >= config.idle_s:
                break
            sleep(config.poll_s)
    except KeyboardInterrupt:
        interrupted = True
    if not follower.files:
        raise RlvetInputError(f"{', '.join(map(str, config.paths))}: no training log appeared "
                              f"within {config.idle_s:g} s")
    result = _final(mon, config, fed, follower, acted, actions, interrupted)
    return WatchOutcome(result, acted, tuple(actions), fed, interrupted)

