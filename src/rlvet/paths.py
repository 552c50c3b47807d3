"""Which files rlvet may open and which it may write: the two rules every command shares.

Contents:
    refuse_output_over_input(output, inputs, *, option) -- raise when an output path
        resolves to a file the command reads (``--html samples.jsonl`` would replace it).
    is_regular_file(path) -- True only for a regular file (or a link to one).
    is_special_file(path) -- True for a FIFO, socket or device (what a walk must skip); a
        dangling link is not special, so its reader still says it cannot be read.

Why: readers never modify inputs (ARCHITECTURE.md section 8), yet an output option pointed
at an input used to replace it without a word. And a FIFO, socket or device found while
walking a run directory blocks ``open()`` forever (a FIFO with no writer) or reads without
end (``/dev/zero``): walks open regular files only.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from rlvet.errors import RlvetInputError

__all__ = ["is_regular_file", "is_special_file", "refuse_output_over_input"]


def is_regular_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a regular file, following links; False when it does not exist."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def is_special_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` exists (after links) and is neither a regular file nor a directory."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _same_file(a: Path, b: Path) -> bool:
    """Same path after resolving links and ``..``, or the same inode (a hard link)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def refuse_output_over_input(
    output: str | os.PathLike[str] | None,
    inputs: Iterable[str | os.PathLike[str] | None],
    *,
    option: str,
) -> None:
    """Raise when ``output`` is one of ``inputs``: writing it would replace what was read.

    Call it before any work, with every file the command reads (None entries are skipped).
    Directories among ``inputs`` are refused as outputs too (an output cannot replace one,
    but the message is clearer than the OS error).

    Args:
        output: the output path (``--html``, ``--spot-check``, ``--out``), or None.
        inputs: the files the command reads.
        option: the option's name for the message, e.g. ``"--html"``.

    Raises:
        RlvetInputError: ``option PATH: is the input INPUT; ...`` (exit 2 at the CLI).

    Example:
        >>> refuse_output_over_input("report.html", ["samples.jsonl"], option="--html")
    """
    if output is None:
        return
    out = Path(output)
    for item in inputs:
        if item is None:
            continue
        if _same_file(out, Path(item)):
            raise RlvetInputError(f"{option} {out}: is the input {item}; refusing to "
                                  "overwrite it (write the output somewhere else)")
