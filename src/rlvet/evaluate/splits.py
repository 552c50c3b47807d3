"""The split access log: every evaluation appends who read which split, and when.

Contents:
    AccessLog -- an append-only JSONL file (``record``, ``entries``).
    access_log_path(protocol_path, out) -- ``OUT/eval_access.jsonl`` or
        ``<protocol>.access.jsonl`` beside the protocol.
    split_key(protocol, split) -- what identifies the held-out *data* of a split.
    check_private_reuse(entries, key) -- the ``split_overuse`` finding.
    PRIVATE_USES_ALLOWED -- how many reads a private split takes before it is a finding.

Why: a held-out split stops being held out once results on it steer decisions; each read
leaks a little (Dwork et al. 2015, "The reusable holdout"). The log makes the reads
countable. The count is keyed by the env and the split's seeds -- the data that gets
used up -- not by the whole protocol hash, so touching an unrelated setting (bootstrap
resamples) does not reset it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rlvet.errors import RlvetInputError
from rlvet.evaluate.protocol import PRIVATE_SPLIT, EvalProtocol, canonical_json, sha256_hex
from rlvet.findings import Category, Finding, Severity

__all__ = ["ACCESS_LOG_NAME", "PRIVATE_USES_ALLOWED", "AccessLog", "access_log_path",
           "check_private_reuse", "split_key"]

ACCESS_LOG_NAME = "eval_access.jsonl"
PRIVATE_USES_ALLOWED = 1
"""The private split is for one final check; the second read means results on it are
already feeding back into choices."""


def access_log_path(protocol_path: Path | None, out: Path | None) -> Path:
    """Where the log lives: in ``out`` when given, else beside the protocol file."""
    if out is not None:
        return Path(out) / ACCESS_LOG_NAME
    if protocol_path is None:
        raise RlvetInputError("an in-memory protocol needs an --out folder for its access log")
    return protocol_path.with_name(f"{protocol_path.stem}.access.jsonl")


def split_key(protocol: EvalProtocol, split: str) -> str:
    """SHA-256 of the env and the split's seeds: the held-out data itself."""
    return sha256_hex(canonical_json({"env": protocol.env.to_dict(),
                                      "split": protocol.split(split).to_dict()}))


class AccessLog:
    """Append-only JSONL: one line per evaluation, flushed and fsynced (a crash loses at most
    the line being written; ARCHITECTURE.md section 8). Torn lines are skipped on read."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def record(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """Append ``entry`` with a UTC timestamp; returns what was written."""
        line = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **entry}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(line, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise RlvetInputError(f"{self.path}: cannot append to the access log "
                                  f"({exc.strerror})") from None
        return line

    def entries(self) -> list[dict[str, Any]]:
        """Every readable line, oldest first (missing file: none)."""
        if not self.path.exists():
            return []
        out = []
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            try:
                value = json.loads(raw)
            except (json.JSONDecodeError, RecursionError):
                continue  # a torn last line from a crashed writer
            if isinstance(value, dict):
                out.append(value)
        return out


def check_private_reuse(entries: Sequence[Mapping[str, Any]], key: str) -> list[Finding]:
    """``split_overuse`` when the private split with this ``key`` was read more than
    ``PRIVATE_USES_ALLOWED`` times (``entries`` includes the current read)."""
    uses = [e for e in entries if e.get("split") == PRIVATE_SPLIT and e.get("split_key") == key]
    if len(uses) <= PRIVATE_USES_ALLOWED:
        return []
    policies = sorted({str(e.get("policy")) for e in uses})
    return [Finding.of(
        check="evaluate.splits.private_reuse", category=Category.SPLIT_OVERUSE,
        severity=Severity.WARNING,
        message=(f"the private split has been evaluated {len(uses)} times (first "
                 f"{uses[0].get('time')}, {len(policies)} distinct policies): results on it "
                 f"have been seen, so it no longer measures generalisation"),
        evidence={"uses": len(uses), "allowed": PRIVATE_USES_ALLOWED, "split_key": key,
                  "first_use": uses[0].get("time"), "policies": policies[:10]})]
