"""rlvet's own metrics log: one JSON object per line, appended, flushed per record.

Contents:
    JsonlWriter(path, fsync=False): ``write(step, metrics)`` appends
        ``{"step": step, **metrics}`` as one line; a context manager.

Why this shape (ARCHITECTURE.md section 8): the live Monitor and the reference trainer
must survive a crash of the training process with at most the last record lost, and
``rlvet doctor`` must read the file while it grows. So the file is opened in append mode
(a resumed run continues it; nothing already written is rewritten), every record is one
``write`` of one full line followed by a flush, and ``fsync=True`` also survives a machine
crash at the price of a disk sync per record. NaN and inf are written as JSON's
``NaN``/``Infinity`` tokens, which ``read_jsonl`` (Python's json) reads back as floats.

A crash can leave a torn last line (no newline). Appending after it would glue the next
record onto it and turn it into a corrupt line in the middle, which readers must reject;
so on opening, a trailing fragment without a newline -- never a complete record -- is cut
off, the one place the writer shortens a file, and how "at most the last record lost" holds
across a resume.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from rlvet.errors import RlvetInputError

__all__ = ["JsonlWriter"]


def _to_builtin(value: Any) -> Any:
    """json's ``default`` hook: numpy and torch scalars become Python numbers."""
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (ValueError, RuntimeError):  # arrays/tensors of more than one element
            pass
    raise RlvetInputError(
        f"JsonlWriter: {type(value).__name__} is not a JSON scalar; log numbers or strings"
    )


def _cut_torn_tail(path: Path) -> int:
    """Remove bytes after the last newline (a crashed writer's fragment); return how many."""
    with open(path, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        keep = 0
        block = 1 << 16
        pos = size
        while pos > 0:  # scan backwards for the last newline, a block at a time
            start = max(0, pos - block)
            f.seek(start)
            found = f.read(pos - start).rfind(b"\n")
            if found >= 0:
                keep = start + found + 1
                break
            pos = start
        f.truncate(keep)
        return size - keep


class JsonlWriter:
    """Append-only JSON-lines metrics writer, flushed after every record.

    Args:
        path: the log file; created (with its directory) if missing, appended to if not.
        fsync: also ``os.fsync`` after each record (survives power loss, costs a disk sync).

    Attributes:
        torn_bytes: size of the torn fragment cut off when the file was opened (0 if none).

    Example:
        >>> with JsonlWriter("runs/a/metrics.jsonl") as log:
        ...     log.write(2048, {"reward": 1.5, "kl": float("nan"), "eval_protocol": "a1b2"})
    """

    def __init__(self, path: str | Path, *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.torn_bytes = _cut_torn_tail(self.path) if self.path.exists() else 0
        self._fsync = fsync
        self._file = open(self.path, "a", encoding="utf-8", newline="\n")

    def write(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Append one record ``{"step": step, **metrics}`` and flush it to the OS.

        Raises:
            RlvetInputError: ``step`` is not an integer, ``metrics`` has a ``step`` key,
                or a value is not a number, string, bool or None.
        """
        raw: Any = step  # callers also pass floats and numpy scalars
        if isinstance(raw, bool) or not isinstance(raw, int):
            if isinstance(raw, float) and raw.is_integer():
                step = int(raw)
            elif hasattr(raw, "item") and float(raw.item()).is_integer():
                step = int(raw.item())
            else:
                raise RlvetInputError(f"JsonlWriter.write: step must be an integer, got {raw!r}")
        if "step" in metrics:
            raise RlvetInputError("JsonlWriter.write: metrics must not contain 'step'; "
                                  "pass the step as the first argument")
        line = json.dumps({"step": step, **metrics}, default=_to_builtin,
                          separators=(",", ":"), allow_nan=True)
        self._file.write(line + "\n")  # one write of one whole line
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Flush and close; safe to call twice."""
        if not self._file.closed:
            self._file.flush()
            self._file.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

