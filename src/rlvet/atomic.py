"""Atomic text files: write to a temp file beside the target, then rename over it.

Contents:
    write_text_atomic -- the one way rlvet writes reports, results and record files.

A crash mid-write leaves the old file or none, never half a report (ARCHITECTURE.md
section 8). The file gets the mode a plain ``open()`` would give (0666 less the umask),
not ``mkstemp``'s private 0600, because reports are meant to be shared.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rlvet.errors import RlvetInputError

__all__ = ["write_text_atomic"]


def _shareable_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_text_atomic(path: str | os.PathLike[str], text: str, *, what: str) -> Path:
    """Write ``text`` to ``path`` atomically, creating its folder.

    Args:
        path: the target file.
        text: the whole content.
        what: what the file is, for the error message ("HTML report", "trigger file").

    Raises:
        RlvetInputError: the folder or file cannot be written (one line naming the path).
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, _shareable_mode())
        os.replace(tmp, target)
    except OSError as exc:
        raise RlvetInputError(f"{target}: cannot write the {what} ({exc.strerror})") from None
    return target
