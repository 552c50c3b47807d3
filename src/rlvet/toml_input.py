"""Reading a TOML input file: the text and the parsed tables, or one line of error.

Contents:
    read_toml_text(path) -- ``(text, data)``; a missing, unreadable, non-UTF-8, invalid or
        absurdly nested file is an ``RlvetInputError`` naming the file.

Why its own module: every command reads TOML (protocols, sweeps, memory plans, trainer
arguments, ``rlvet.toml``), and loading the project file on each command must not import
the evaluation stack just to parse it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from rlvet.errors import RlvetInputError

__all__ = ["read_toml_text"]


def read_toml_text(path: str | Path) -> tuple[str, dict[str, Any]]:
    """``(text, parsed)`` of a TOML file, for callers that point at lines in their messages.

    Raises:
        RlvetInputError: missing file, unreadable file, or invalid TOML.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
        return text, tomllib.loads(text)
    except FileNotFoundError:
        raise RlvetInputError(f"{path}: file not found") from None
    except OSError as exc:
        raise RlvetInputError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RlvetInputError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:  # binary, UTF-16, Latin-1: TOML is UTF-8 by definition
        raise RlvetInputError(f"{path}: not UTF-8 text at byte {exc.start} (TOML files are "
                              "UTF-8)") from None
    except RecursionError:
        raise RlvetInputError(f"{path}: not valid TOML (nested too deeply)") from None
