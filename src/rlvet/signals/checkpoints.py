"""Checkpoints beside the logs: the points a user can roll back to.

Contents:
    checkpoint_step(name, is_dir): the training step a checkpoint's name encodes, or None.
    find_checkpoints(root): every checkpoint under a run directory, by step.

Recognised names (one row each in ``_FILE_PATTERNS`` / ``_DIR_PATTERNS``):
    - SB3 ``CheckpointCallback``: ``<prefix>_<steps>_steps.zip`` (``rl_model_5000_steps.zip``);
      its VecNormalize and replay-buffer ``.pkl`` companions are not models and are skipped;
    - HF Trainer: ``checkpoint-<step>/`` directories;
    - rlvet: ``checkpoint_<step>.pt``;
    - ``*.ckpt``: Lightning's ``...step=<step>...``, else the last number in the name.
A name without a step (SB3 EvalCallback's ``best_model.zip``) is skipped: a rollback
target whose step is unknown cannot be placed before or after the first break.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rlvet.signals.series import Checkpoint

__all__ = ["checkpoint_step", "find_checkpoints"]

_FILE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r".+_(?P<step>\d+)_steps\.zip"),  # SB3 CheckpointCallback
    re.compile(r"checkpoint_(?P<step>\d+)\.pt"),  # rlvet reference trainer
    re.compile(r".*step=(?P<step>\d+).*\.ckpt"),  # Lightning ModelCheckpoint
    re.compile(r".*?(?P<step>\d+)\D*\.ckpt"),  # other .ckpt: the last number
)
_DIR_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"checkpoint-(?P<step>\d+)"),  # HF Trainer
)


def checkpoint_step(name: str, *, is_dir: bool = False) -> int | None:
    """The step a checkpoint file or directory name encodes, or None if it is not one.

    Example:
        >>> checkpoint_step("rl_model_5000_steps.zip")
        5000
        >>> checkpoint_step("checkpoint-40", is_dir=True)
        40
        >>> checkpoint_step("best_model.zip") is None
        True
    """
    for pattern in _DIR_PATTERNS if is_dir else _FILE_PATTERNS:
        match = pattern.fullmatch(name)
        if match:
            return int(match.group("step"))
    return None


def find_checkpoints(root: str | Path) -> tuple[Checkpoint, ...]:
    """Every checkpoint under ``root`` (recursively; hidden directories skipped), by step.

    Args:
        root: a run directory.

    Returns:
        Checkpoints sorted by step, then path.
    """
    found: list[Checkpoint] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in dirs:
            step = checkpoint_step(name, is_dir=True)
            if step is not None:
                found.append(Checkpoint(step, os.path.join(folder, name)))
        for name in files:
            step = checkpoint_step(name)
            if step is not None:
                found.append(Checkpoint(step, os.path.join(folder, name)))
    return tuple(sorted(found, key=lambda c: (c.step, c.path)))
