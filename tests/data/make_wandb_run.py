"""Write ``tests/data/wandb/run-offline.wandb``: a real W&B offline run file.

The file is written by wandb 0.29.0's own offline writer (``wandb.init(mode="offline")``,
whose wandb-core service appends every record to ``wandb/offline-run-*/run-<id>.wandb``);
nothing here builds the records by hand. It holds 30 PPO-like updates logged at step
``2048 * (i + 1)`` with values from the formulas in ``values(i)``, which the tests
recompute, plus a nested dict, a string and a ``wandb.Histogram`` (non-scalars the reader
must skip).

Run: ``WANDB_MODE=offline .venv/bin/python tests/data/make_wandb_run.py``. No server is
contacted (offline mode, ``WANDB_SILENT``, a temporary ``WANDB_DIR``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

UPDATES = 30
STEPS_PER_UPDATE = 2048
EVAL_EVERY = 5
OUT = Path(__file__).parent / "wandb" / "run-offline.wandb"


def values(i: int) -> dict[str, float]:
    """The scalars of update ``i`` (exact in binary where it matters: the tests compare)."""
    return {
        "rollout/ep_rew_mean": 10.0 + 2.0 * i,
        "train/approx_kl": 0.01 + 0.001 * i,
        "train/entropy_loss": -0.69 + 0.01 * i,
        "train/clip_fraction": 0.1 + 0.005 * i,  # logged nested: {"train": {...}}
        "eval/mean_reward": 100.0 + i,  # only when i % EVAL_EVERY == 0
    }


def main() -> None:
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true")
    import wandb

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WANDB_DIR"] = tmp
        run = wandb.init(mode="offline", project="rlvet-test", dir=tmp,
                         config={"algo": "ppo", "n_steps": STEPS_PER_UPDATE})
        for i in range(UPDATES):
            v = values(i)
            record: dict[str, object] = {
                "rollout/ep_rew_mean": v["rollout/ep_rew_mean"],
                "train/approx_kl": v["train/approx_kl"],
                "train/entropy_loss": v["train/entropy_loss"],
                "train": {"clip_fraction": v["train/clip_fraction"]},
            }
            if i % EVAL_EVERY == 0:
                record["eval/mean_reward"] = v["eval/mean_reward"]
            if i == 0:
                record["notes/phase"] = "warmup"
            if i == 10:
                record["rollout/actions"] = wandb.Histogram([0, 1, 1, 2, 2, 2, 3])
            run.log(record, step=STEPS_PER_UPDATE * (i + 1))
        wandb.finish()
        found = sorted(Path(tmp).glob("wandb/offline-run-*/run-*.wandb"))
        if len(found) != 1:
            raise SystemExit(f"expected one run-*.wandb under {tmp}, found {found}")
        OUT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found[0], OUT)
    print(f"{OUT}: {OUT.stat().st_size} bytes (wandb {wandb.__version__})")


if __name__ == "__main__":
    main()
