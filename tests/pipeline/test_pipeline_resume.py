"""``--resume`` reproduces the run: a run resumed from the checkpoint of update k logs
exactly what the uninterrupted run logged after k (sync backend; see ``train``'s docstring
for why actor processes cannot promise bit-equality)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rlvet.errors import RlvetInputError
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.train import train

STEPS_PER_UPDATE = 512  # sync backend: 1 actor x 4 envs x 128 steps
RESUME_AT = 4  # updates before the interruption
MEASURED = ("fps", "rss_mib", "heap_mib", "cuda_", "time_share/", "actor_time_share/")  # wall-clock
# and process measurements, the only numbers allowed to differ


def _args(out: Path, **kw: object) -> TrainArgs:
    settings: dict = {"total_steps": 7 * STEPS_PER_UPDATE, **kw}
    return TrainArgs(env_id="CartPole-v1", backend="sync", eval_every=2 * STEPS_PER_UPDATE,
                     eval_episodes=3, checkpoint_every=1, keep_checkpoints=0, seed=11,
                     out=out, **settings)


def _records(path: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if not k.startswith(MEASURED)}
            for line in path.read_text().splitlines()]


def test_resume_from_update_k_replays_the_uninterrupted_run(tmp_path: Path) -> None:
    whole = train(_args(tmp_path / "whole"))
    k_step = RESUME_AT * STEPS_PER_UPDATE
    resumed_dir = tmp_path / "resumed" / "checkpoints"
    resumed_dir.mkdir(parents=True)
    shutil.copy(tmp_path / "whole" / "checkpoints" / f"checkpoint_{k_step}.pt",
                resumed_dir / "last.pt")
    resumed = train(_args(tmp_path / "resumed", resume=True))
    after_k = [r for r in _records(tmp_path / "whole" / "metrics.jsonl") if r["step"] > k_step]
    assert after_k == _records(tmp_path / "resumed" / "metrics.jsonl")  # bit-exact
    assert resumed.metrics["updates"] == whole.metrics["updates"]
    assert resumed.metrics["lag"]["received"] == whole.metrics["lag"]["received"]
    assert resumed.metrics["evals"] == whole.metrics["evals"]


@pytest.mark.slow
def test_resume_continues_a_run_with_actor_processes(tmp_path: Path) -> None:
    first = train(TrainArgs(env_id="CartPole-v1", total_steps=3 * 512, actors=2,
                            envs_per_actor=2, rollout_steps=64, eval_every=0,
                            eval_episodes=2, out=tmp_path))
    more = train(TrainArgs(env_id="CartPole-v1", total_steps=5 * 512, actors=2,
                           envs_per_actor=2, rollout_steps=64, eval_every=0,
                           eval_episodes=2, out=tmp_path, resume=True))
    assert (first.metrics["updates"], more.metrics["updates"]) == (6, 10)
    assert more.metrics["policy_version"] == 10
    assert more.metrics["lag"]["received"] >= 20  # the ledger spans both sessions
    steps = [json.loads(line)["step"] for line in
             (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == more.metrics["steps"]


def test_resume_refuses_a_missing_or_mismatched_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(RlvetInputError, match="no checkpoint"):
        train(_args(tmp_path / "none", resume=True))
    train(_args(tmp_path / "a", total_steps=STEPS_PER_UPDATE))
    last = tmp_path / "a" / "checkpoints" / "last.pt"
    before = last.read_bytes()
    with pytest.raises(RlvetInputError, match="hidden"):
        train(_args(tmp_path / "a", resume=True, hidden=32))
    assert last.read_bytes() == before  # a failed resume never overwrites what it resumes
