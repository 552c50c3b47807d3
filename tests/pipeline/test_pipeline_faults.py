"""Fault isolation: injected crashes, SIGKILLs and hangs are detected within seconds, the
partial rollouts are dropped and counted, actors restart with fresh seeds, training goes on.
"""

from __future__ import annotations

import multiprocessing as mp

import pytest

from rlvet.findings import Category
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.train import TrainResult, train
from rlvet.signals.discover import read_run

pytestmark = pytest.mark.slow

STEP_TIMEOUT_S = 1.0
CRASH_DETECT_S = 1.0  # a raise or SIGKILL wakes the learner's wait() at once; 1 s is slack
HANG_DETECT_S = STEP_TIMEOUT_S + 2.0  # budget plus a learner update and a poll interval


@pytest.fixture(scope="module")
def chaotic(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    args = TrainArgs(env_id="CartPole-v1", total_steps=30 * 256, actors=2, envs_per_actor=2,
                     rollout_steps=64, chaos="crash=0.08,kill=0.08,hang=0.05",
                     step_timeout=STEP_TIMEOUT_S, eval_every=0, eval_episodes=2, seed=5,
                     out=tmp_path_factory.mktemp("chaos"))
    return train(args)


def test_every_fault_kind_is_detected_quickly(chaotic: TrainResult) -> None:
    m = chaotic.metrics
    assert m["faults"]["crash"] > 0 and m["faults"]["kill"] > 0 and m["faults"]["hang"] > 0
    latency = m["detection_latency_s"]
    assert latency["crash"]["max"] < CRASH_DETECT_S
    assert latency["kill"]["max"] < CRASH_DETECT_S
    assert STEP_TIMEOUT_S <= latency["hang"]["max"] < HANG_DETECT_S


def test_partial_rollouts_are_dropped_and_counted(chaotic: TrainResult) -> None:
    m = chaotic.metrics
    faults = sum(m["faults"].values())
    assert m["restarts"] == faults  # every faulty actor came back
    assert 0 < m["rollouts_lost_to_faults"] <= faults
    lost, received = m["rollouts_lost_to_faults"], m["lag"]["received"]
    assert m["infrastructure_noise_pct"] == pytest.approx(100 * lost / (received + lost))
    assert chaotic.stop_reason is None and m["updates"] == 30  # training went on
    assert not mp.active_children()


def test_faults_are_findings_not_silent(chaotic: TrainResult) -> None:
    by_cat = {f.category: f for f in chaotic.findings}
    crash, hang = by_cat[Category.WORKER_CRASH], by_cat[Category.WORKER_HANG]
    assert crash.evidence["by_kind"]["kill"] == chaotic.metrics["faults"]["kill"]
    assert "chaos: injected crash" in " ".join(crash.evidence["errors"])
    assert hang.evidence["detection_latency_s"]["n"] == chaotic.metrics["faults"]["hang"]
    run = read_run(chaotic.out)
    restarts = run.get("actor_restarts")
    assert restarts is not None and restarts.values[-1] == chaotic.metrics["restarts"]
