"""HF Trainer / TRL ``trainer_state.json``: the run's ``log_history``.

Contents:
    read_trainer_state(path): every row of ``log_history`` under the keys it logged.
    rank_trainer_states(paths): which of several trainer_state.json files to read, best first.
    checkpoint_number(path): ``N`` of a ``checkpoint-N`` directory.

The HF Trainer writes ``trainer_state.json`` into every ``checkpoint-N/`` (and the output
directory on ``save_state()``), each holding the whole ``log_history`` up to its
``global_step``: reading the one with the largest ``global_step`` reads the whole run, and
reading more would only duplicate it. Rows are ``{**logs, "step": global_step}``: training
rows (``loss``, ``grad_norm``, ``learning_rate``, ``epoch`` and TRL's keys unprefixed),
eval rows (``eval_*``) and a final summary row (``train_runtime``, ``train_loss``, ...).
TRL logs a metric with no valid values as null: skipped, not zero.

The file is one JSON document, parsed whole: it holds one row per logging step, so it
stays small next to the event and JSON-lines logs that are streamed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rlvet.errors import RlvetInputError
from rlvet.signals.jsonl import Columns, RawLog

__all__ = ["checkpoint_number", "rank_trainer_states", "read_trainer_state"]

_CHECKPOINT_DIR = re.compile(r"checkpoint-(\d+)")
# HF writes the state with sort_keys=True, indent=2: global_step sits in the first lines.
_GLOBAL_STEP = re.compile(rb'"global_step"\s*:\s*(\d+)')
_HEAD_BYTES = 4096


def checkpoint_number(path: str | Path) -> int | None:
    """``N`` for a ``checkpoint-N`` directory (HF's name for the state at global step N)."""
    match = _CHECKPOINT_DIR.fullmatch(Path(path).name)
    return int(match.group(1)) if match else None


def _global_step(path: Path) -> int:
    """The file's global_step, read from its head; -1 when it is not there."""
    with open(path, "rb") as f:
        match = _GLOBAL_STEP.search(f.read(_HEAD_BYTES))
    return int(match.group(1)) if match else -1


def rank_trainer_states(paths: Iterable[str | Path]) -> list[Path]:
    """Order trainer_state.json files best first: largest ``global_step``, then not in a
    checkpoint directory (written by ``save_state()`` at the end), then path.

    Args:
        paths: every trainer_state.json found in a run directory.

    Returns:
        The same paths, the one to read first.
    """
    def key(path: Path) -> tuple[int, int, str]:
        step = _global_step(path)
        if step < 0:
            step = checkpoint_number(path.parent) or -1
        in_checkpoint = checkpoint_number(path.parent) is not None
        return (-step, int(in_checkpoint), str(path))

    return sorted((Path(p) for p in paths), key=key)


def _load(path: str | Path, where: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    except json.JSONDecodeError as err:
        raise RlvetInputError(f"{where}:{err.lineno}: not valid JSON ({err.msg} at column "
                              f"{err.colno}); expected a HF trainer_state.json") from None
    except UnicodeDecodeError as err:
        raise RlvetInputError(f"{where}: not UTF-8 text ({err.reason})") from None
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        raise RlvetInputError(f"{where}: no 'log_history' list; expected a HF "
                              "trainer_state.json")
    return state


def read_trainer_state(path: str | Path) -> RawLog:
    """Read the ``log_history`` of one HF/TRL ``trainer_state.json``.

    Args:
        path: the file; opened read-only and never modified.

    Returns:
        Columns under the keys the Trainer logged (``loss``, ``kl``,
        ``rewards/<func>/mean``, ``eval_loss``, ...), keyed by each row's ``step``.

    Raises:
        RlvetInputError: the file is not JSON, has no ``log_history``, a row has no integer
            ``step``, or a key holds both numbers and other strings.

    Example:
        >>> log = read_trainer_state("out/checkpoint-500/trainer_state.json")
        >>> steps, values = log.columns["reward"]
    """
    where = str(path)
    state = _load(path, where)
    cols = Columns(where, lambda i: f"{where}: log_history[{i}]")
    for i, row in enumerate(state["log_history"]):
        if not isinstance(row, dict):
            raise RlvetInputError(f"{where}: log_history[{i}] is not an object")
        row = dict(row)
        step = row.pop("step", None)
        if type(step) is not int:
            raise RlvetInputError(f"{where}: log_history[{i}] has no integer 'step' "
                                  f"(got {step!r})")
        cols.add_record(step, row, i)
    columns, text, warnings = cols.finish()
    return RawLog(where, "trainer_state", MappingProxyType(columns), MappingProxyType(text),
                  tuple(warnings))
