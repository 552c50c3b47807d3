"""Typed reads from a parsed TOML file, with errors that name the file and the field.

Contents:
    read_toml(path) -- parse with the stdlib ``tomllib``; unreadable or invalid TOML is an
        ``RlvetInputError`` naming the file (and TOML's own line/column).
    Fields -- one TOML table and its dotted location: ``table``, ``text``, ``number``,
        ``integer``, ``boolean``, ``numbers``, ``integers``, ``mapping``; each read checks
        the type and raises ``RlvetInputError("<file>: <table.field>: <what was expected>")``.
    FIELD_ERROR -- the format of those messages.

Why a helper: protocols and sweeps are hand-written, and "expected an integer" is useless
without the file and the dotted field (``eval.seeds[2]``) a person has to fix
(STYLE.md: "errors a person can act on"). Unknown keys are refused too: a typo such as
``episodes_per_sed`` would otherwise silently fall back to a default and change the
protocol without changing what the user believes it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvet.errors import RlvetInputError
from rlvet.toml_input import read_toml_text

__all__ = ["FIELD_ERROR", "Fields", "read_toml"]

FIELD_ERROR = "{file}: {field}: {problem}"
"""Every message: the file, the dotted field, what was expected and what was found."""

_MISSING = object()


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse ``path`` as TOML.

    Raises:
        RlvetInputError: missing file, unreadable file, or invalid TOML.
    """
    return read_toml_text(path)[1]



def _kind(value: Any) -> str:
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class Fields:
    """One TOML table and where it sits, for typed reads with located errors.

    Attributes:
        file: the TOML file (for messages; relative paths in it resolve against its folder).
        where: dotted location of this table (``""`` for the top level).
        data: the table itself.
    """

    file: Path
    where: str
    data: Mapping[str, Any]

    def name(self, key: str) -> str:
        """Dotted field name, e.g. ``eval.seeds``."""
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str, problem: str) -> RlvetInputError:
        """An ``RlvetInputError`` naming file and field."""
        return RlvetInputError(FIELD_ERROR.format(file=self.file, field=self.name(key),
                                                  problem=problem))

    def refuse_unknown(self, allowed: Iterable[str]) -> None:
        """Raise on a key that is not in ``allowed`` (a typo would otherwise be ignored)."""
        allowed = set(allowed)
        for key in self.data:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                raise self.error(key, f"unknown field; expected one of {expected}")

    def has(self, key: str) -> bool:
        """Whether the key is present."""
        return key in self.data

    def _get(self, key: str, default: Any) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise self.error(key, "required field is missing")
            return default
        return value

    def table(self, key: str, *, required: bool = False) -> Fields:
        """A sub-table (empty when absent and not required)."""
        value = self._get(key, _MISSING if required else {})
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a table, got {_kind(value)}")
        return Fields(self.file, self.name(key), value)

    def text(self, key: str, default: Any = _MISSING) -> Any:
        """A string (or ``default`` when absent)."""
        value = self._get(key, default)
        if value is not default and not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_kind(value)} {value!r}")
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> Any:
        """``true`` / ``false``."""
        value = self._get(key, default)
        if value is not default and not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_kind(value)} {value!r}")
        return value

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int | None = None,
                maximum: int | None = None) -> Any:
        """An integer, optionally at least ``minimum`` and at most ``maximum``."""
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {_kind(value)} {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"expected an integer <= {maximum:,}, got {value:,}")
        return value

    def number(self, key: str, default: Any = _MISSING, *, positive: bool = False) -> Any:
        """A finite int or float (as float), optionally > 0."""
        value = self._get(key, default)
        if value is default:
            return value
        return self._as_number(key, value, positive=positive)

    def _as_number(self, key: str, value: Any, *, positive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"expected a number, got {_kind(value)} {value!r}")
        if not math.isfinite(value) or (positive and value <= 0):
            raise self.error(key, f"expected a {'positive ' if positive else ''}finite number, "
                                  f"got {value!r}")
        return float(value)

    def numbers(self, key: str, default: Any = _MISSING, *, positive: bool = False) -> Any:
        """A non-empty array of finite numbers, as a tuple of floats."""
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, list) or not value:
            raise self.error(key, f"expected a non-empty array of numbers, got {value!r}")
        return tuple(self._as_number(f"{key}[{i}]", v, positive=positive)
                     for i, v in enumerate(value))

    def integers(self, key: str, default: Any = _MISSING, *, minimum: int | None = None,
                 maximum: int | None = None) -> Any:
        """A non-empty array of integers, as a tuple, each in ``[minimum, maximum]``."""
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, list) or not value:
            raise self.error(key, f"expected a non-empty array of integers, got {value!r}")
        out = []
        for i, v in enumerate(value):
            if (isinstance(v, bool) or not isinstance(v, int)
                    or (minimum is not None and v < minimum)
                    or (maximum is not None and v > maximum)):
                bound = "".join(f" {op} {b:,}" for op, b in ((">=", minimum), ("<=", maximum))
                                if b is not None)
                raise self.error(f"{key}[{i}]", f"expected an integer{bound}, got {v!r}")
            out.append(v)
        return tuple(out)

    def mapping(self, key: str) -> dict[str, Any]:
        """An inline table of plain values (env kwargs), as a dict (empty when absent)."""
        return dict(self.table(key).data)

    def path(self, key: str, default: Any = _MISSING) -> Any:
        """A string path, resolved against the TOML file's folder when relative."""
        value = self.text(key, default)
        if value is default or value is None:
            return value
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.file.parent / p)
