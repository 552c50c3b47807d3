"""Record the software environment of a run: Python, platform and package versions.

Contents:
    ENVIRONMENT_FILE, ENVIRONMENT_KIND -- the file name and the ``kind`` tag it carries.
    KEY_PACKAGES -- the packages whose versions change RL results most (shown first).
    environment_snapshot() -- the record as a dict (nothing written).
    record_environment(directory) -- write ``directory/environment.json``; returns its path.
    read_environment(path) -- a record read back, or None when the file is not one.
    record_problem(record) -- what is wrong with a record's field types, or None.
    main(argv) -- ``python -m rlvet.environment_record DIR``.

Why: "it trained last month" is not reproducible without the versions it trained with.
Gymnasium changed autoreset semantics between 0.29 and 1.0, numpy 2 changed scalar
promotion, torch changes kernels between minor versions; a run directory that carries its
versions lets ``rlvet report`` answer "is the software environment recorded?" and lets
a later reader see why two runs differ. Every installed distribution is listed (a
``pip freeze`` without the subprocess), the key ones also on their own.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rlvet import __version__
from rlvet.atomic import write_text_atomic
from rlvet.errors import RlvetInputError

__all__ = [
    "ENVIRONMENT_FILE",
    "ENVIRONMENT_KIND",
    "KEY_PACKAGES",
    "environment_snapshot",
    "main",
    "read_environment",
    "record_environment",
    "record_problem",
]

ENVIRONMENT_FILE = "environment.json"
ENVIRONMENT_KIND = "rlvet.environment"  # tag that tells this record from any other JSON file
KEY_PACKAGES: tuple[str, ...] = (
    "rlvet", "gymnasium", "numpy", "scipy", "torch", "stable-baselines3", "tensorboard",
    "ray", "transformers", "trl",
)
"""Packages whose version most often explains a changed result; absent ones are omitted."""


def _installed() -> dict[str, str]:
    """Every installed distribution, name -> version, sorted by name (case-insensitive)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(str(name), str(dist.version))
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))


def _key_versions(installed: dict[str, str]) -> dict[str, str]:
    lowered = {name.lower().replace("_", "-"): version for name, version in installed.items()}
    return {name: lowered[name] for name in KEY_PACKAGES if name in lowered}


def environment_snapshot() -> dict[str, Any]:
    """The current interpreter's environment as a JSON-ready dict.

    Example:
        >>> snap = environment_snapshot()
        >>> snap["kind"], "numpy" in snap["key_packages"]
        ('rlvet.environment', True)
    """
    installed = _installed()
    return {
        "kind": ENVIRONMENT_KIND,
        "rlvet": __version__,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "key_packages": _key_versions(installed),
        "packages": installed,
    }


def record_environment(directory: str | os.PathLike[str]) -> Path:
    """Write ``directory/environment.json`` atomically and return its path.

    Call it once per run directory, from the process that trains (the trainer, a script,
    ``rlvet demo``), so the record describes the interpreter that produced the run.

    Raises:
        RlvetInputError: the directory cannot be created or written.
    """
    folder = Path(directory)
    target = folder / ENVIRONMENT_FILE
    text = json.dumps(environment_snapshot(), indent=2) + "\n"
    write_text_atomic(target, text, what="environment record")
    return target


_TEXT_FIELDS = ("python", "platform")
_VERSION_MAPS = ("key_packages", "packages")


def record_problem(record: Any) -> str | None:
    """What makes ``record`` unusable as an environment record (a field of the wrong type),
    or None. A hand-edited or foreign file with the right ``kind`` must not crash a report.

    Example:
        >>> record_problem({"kind": ENVIRONMENT_KIND, "packages": 5})
        "field 'packages' must be an object of name -> version, got int"
    """
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    for name in _TEXT_FIELDS:
        if record.get(name) is not None and not isinstance(record[name], str):
            return f"field {name!r} must be a string, got {type(record[name]).__name__}"
    for name in _VERSION_MAPS:
        value = record.get(name)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            return (f"field {name!r} must be an object of name -> version, got "
                    f"{type(value).__name__}")
    return None


def read_environment(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The record at ``path``, or None when it is unreadable or not an environment record."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("kind") != ENVIRONMENT_KIND:
        return None
    return None if record_problem(data) else data


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rlvet.environment_record DIR``: write DIR/environment.json, print its path."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m rlvet.environment_record DIR", file=sys.stderr)
        return 2
    try:
        print(record_environment(args[0]))
    except RlvetInputError as exc:
        print(f"rlvet: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
