"""PPO with two actor processes solves CartPole-v1, and rlvet reads its own run.

One real run (2 actors x 4 envs, stops once the greedy evaluation reaches 195) feeds every
test here; ``rlvet doctor`` must read its JSONL under canonical names.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import pytest

from rlvet.doctor.command import run_doctor
from rlvet.findings import Stage
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.command import run_train
from rlvet.pipeline.train import TrainResult, train
from rlvet.signals import names
from rlvet.signals.discover import read_run

pytestmark = pytest.mark.slow

SOLVE_BUDGET_S = 150.0  # the bound is 3 minutes on 2 shared cores


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, float]:
    out = tmp_path_factory.mktemp("cartpole")
    args = TrainArgs(env_id="CartPole-v1", total_steps=60_000, actors=2, envs_per_actor=4,
                     rollout_steps=128, eval_every=4096, target_return=195.0, seed=1,
                     out=out)
    start = time.perf_counter()
    result = train(args)
    return result, time.perf_counter() - start


def test_ppo_solves_cartpole_within_budget(solved: tuple[TrainResult, float]) -> None:
    result, seconds = solved
    m = result.metrics
    assert result.stop_reason == "solved", m["evals"]
    assert m["best_eval_return"] >= 195.0
    assert m["solved"]["step"] <= 60_000
    assert seconds < SOLVE_BUDGET_S
    assert not mp.active_children()  # every actor process was reaped


def test_lag_is_measured_and_bounded(solved: tuple[TrainResult, float]) -> None:
    lag = solved[0].metrics["lag"]
    assert lag["used"] > 0 and lag["lag_max"] <= 2  # --max-lag default
    assert lag["received"] == (lag["used"] + lag["dropped_stale"] + lag["dropped_rollback"]
                               + lag["unused_at_end"])
    assert sum(lag["lag_histogram"].values()) == lag["used"]
    assert solved[0].metrics["restarts"] == 0
    assert not [f for f in solved[0].findings if f.stage == Stage.INFRASTRUCTURE]


def test_doctor_reads_the_run_under_canonical_names(solved: tuple[TrainResult, float]) -> None:
    result = solved[0]
    run = read_run(result.out)
    for name in (names.REWARD, names.EVAL_RETURN, names.KL, names.CLIP_FRACTION,
                 names.ENTROPY, names.VALUE_LOSS, names.EXPLAINED_VARIANCE, names.GRAD_NORM,
                 names.LEARNING_RATE, names.POLICY_LAG, names.FPS, names.EPISODE_LENGTH):
        assert run.get(name) is not None and len(run.get(name)) > 0, name
    assert run.raw_names.get(names.POLICY_LAG, names.POLICY_LAG) == names.POLICY_LAG
    assert 0 in [c.step for c in run.checkpoints]  # checkpoint_0.pt is a rollback target
    doctor = run_doctor([result.out]).result
    assert doctor.metrics["reward_metric"] == names.REWARD


def test_run_train_returns_the_cli_result(tmp_path: Path) -> None:
    args = TrainArgs(env_id="CartPole-v1", total_steps=1024, backend="sync", eval_every=0,
                     eval_episodes=2, out=tmp_path)
    result = run_train(args, progress=False)
    doc = result.to_dict()
    assert doc["command"] == "train" and doc["target"] == "CartPole-v1"
    assert doc["metrics"]["updates"] == 2 and doc["metrics"]["steps"] == 1024
    assert (tmp_path / "checkpoints" / "last.pt").exists()
    assert (tmp_path / "checkpoints" / "checkpoint_0.pt").exists()
