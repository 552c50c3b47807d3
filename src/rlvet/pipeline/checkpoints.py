"""Checkpoints written atomically: periodic (rollback targets), last, best-eval, failed.

Contents:
    save_atomic(state, path) -- temp file in the same folder, fsync, ``os.replace``, fsync
        of the folder: a reader sees the old file or the new one, never half of one.
    load_checkpoint(path) -- ``torch.load(weights_only=True)``, errors as RlvetInputError.
    CheckpointStore -- the run's ``checkpoints/`` folder: ``checkpoint_<step>.pt`` (the name
        ``rlvet.signals.checkpoints`` recognises, so ``rlvet doctor`` can name a rollback
        target), ``last.pt``, ``best.pt``, ``failed.pt``; old periodic files pruned;
        temp files of a killed writer removed on resume.

Why atomic (ARCHITECTURE.md section 8): a run killed while writing must not leave a
truncated ``last.pt`` that ``--resume`` then fails on, or worse loads. ``os.replace`` is
atomic on POSIX and Windows within one filesystem; the fsyncs order the data before the
rename on a crash of the machine, not just of the process.

Checkpoints hold tensors, numbers, strings, bytes and dicts of them only, so they load
with ``weights_only=True`` (no arbitrary code runs when a checkpoint is opened).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from rlvet.errors import RlvetInputError

__all__ = ["CHECKPOINT_FORMAT", "CheckpointStore", "load_checkpoint", "save_atomic",
           "weights_digest"]

CHECKPOINT_FORMAT = 1  # bumped when the layout changes; load refuses other versions


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_atomic(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` so that ``path`` is always a complete checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(path.parent)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by ``save_atomic``.

    Raises:
        RlvetInputError: missing, unreadable, or of another format version.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise RlvetInputError(f"{path}: no checkpoint to resume from") from None
    except IsADirectoryError:
        raise RlvetInputError(f"{path}: is a directory, not a checkpoint file") from None
    except Exception as exc:  # noqa: BLE001 - garbage makes torch's unpickler raise
        # anything (UnpicklingError, RuntimeError, IndexError, ...); its text runs to
        # several lines (weights_only advice, links): keep the first
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise RlvetInputError(f"{path}: not a readable checkpoint ({first})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise RlvetInputError(f"{path}: not an rlvet train checkpoint of format "
                              f"{CHECKPOINT_FORMAT}")
    return state


class CheckpointStore:
    """The ``checkpoints/`` folder of one run.

    Args:
        folder: where checkpoints go.
        keep: periodic checkpoints to keep (oldest deleted first); 0 keeps all.
    """

    def __init__(self, folder: str | Path, keep: int = 3) -> None:
        self.folder = Path(folder)
        self.keep = keep

    def path(self, name: str) -> Path:
        """``last``, ``best``, ``failed`` or a periodic ``checkpoint_<step>``."""
        return self.folder / f"{name}.pt"

    def periodic(self, step: int, state: dict[str, Any]) -> Path:
        """Save ``checkpoint_<step>.pt`` and ``last.pt``; prune old periodic files."""
        path = save_atomic(state, self.path(f"checkpoint_{step}"))
        save_atomic(state, self.path("last"))
        self._prune()
        return path

    def save(self, name: str, state: dict[str, Any]) -> Path:
        """Save ``last``, ``best`` or ``failed``."""
        return save_atomic(state, self.path(name))

    def remove_stale_temps(self) -> list[Path]:
        """Delete the ``.<name>.pt.<pid>.tmp`` files of writers killed mid-save.

        ``save_atomic`` removes its temp file on any exception, but not on SIGKILL (the OOM
        killer, a preempted node); ``--resume`` calls this so such leftovers do not pile up.
        This process's own temp files are left alone.
        """
        mine = f".{os.getpid()}.tmp"
        stale = [p for p in self.folder.glob(".*.pt.*.tmp")
                 if not p.name.endswith(mine) and p.is_file()]
        for p in stale:
            p.unlink(missing_ok=True)
        return stale

    def periodic_steps(self) -> list[int]:
        """Steps of the periodic checkpoints on disk, ascending."""
        steps = []
        for p in self.folder.glob("checkpoint_*.pt"):
            tail = p.stem.removeprefix("checkpoint_")
            if tail.isdigit():
                steps.append(int(tail))
        return sorted(steps)

    def _prune(self) -> None:
        """Delete all but the newest ``keep`` periodic files; step 0 (the initial policy,
        the rollback target of a run broken from its first update) is always kept."""
        if self.keep <= 0:
            return
        for step in self.periodic_steps()[: -self.keep]:
            if step > 0:
                self.path(f"checkpoint_{step}").unlink(missing_ok=True)


def weights_digest(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 (first 16 hex digits) of a state dict's tensors: proves which weights a
    rollback restored without comparing files."""
    h = hashlib.sha256()
    for key in sorted(state_dict):
        h.update(key.encode())
        h.update(state_dict[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
