"""Helpers of the report tests (a uniquely named module: ``conftest`` is ambiguous to import
when several test folders have one)."""

from __future__ import annotations

import shutil
from pathlib import Path

from rlvet.findings import CommandResult

RUNS = Path(__file__).parents[1] / "data" / "runs"
HEALTHY_RUN = "healthy_ppo_cartpole"  # real SB3 PPO run, the doctor finds no warning
BROKEN_RUN = "lr_too_high_ppo"  # real SB3 PPO run, kl_spike then entropy_collapse
FAULT = "stale_cache_cartpole"


def write_result(path: Path, result: CommandResult) -> Path:
    """Save a result as ``rlvet ... --json > path`` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.to_json() + "\n", encoding="utf-8")
    return path


def copy_run(name: str, dest: Path, *, with_model: bool = False) -> Path:
    """Copy a recorded SB3 run's progress.csv into ``dest`` (a new run directory); with
    ``with_model``, its last checkpoint too (SB3's .zip records the hyperparameters)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(RUNS / name / "progress.csv", dest / "progress.csv")
    if with_model:
        last = sorted((RUNS / name).glob("*.zip"), key=lambda p: int(p.stem.split("_")[-2]))
        shutil.copy(last[-1], dest / "model.zip")
    return dest
