"""``rlvet train`` logs the resource signals the doctor reads: learner memory, where the
learner's wall time goes, and how actors split their collection time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlvet.doctor.bottleneck import phase_shares
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.train import train
from rlvet.signals.discover import read_run


@pytest.mark.parametrize("backend", ["sync", "local"])
def test_train_logs_memory_and_time_shares(tmp_path: Path, backend: str) -> None:
    train(TrainArgs(env_id="CartPole-v1", backend=backend, total_steps=6 * 1024,
                    eval_every=0, seed=3, out=tmp_path))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").open()]
    updates = [r for r in records if "kl" in r]
    assert len(updates) >= 5
    for r in updates:
        assert 50 < r["rss_mib"] < 50_000
        learner_side = [v for k, v in r.items() if k.startswith("time_share/")]
        assert {"time_share/wait", "time_share/learner"} <= set(r)
        assert all(v >= 0 for v in learner_side) and sum(learner_side) <= 1.0 + 1e-6
        assert 0 < r["actor_time_share/env"] < 1 and 0 < r["actor_time_share/inference"] < 1
    shares, _ = phase_shares(read_run(tmp_path / "metrics.jsonl"))
    assert {"wait", "learner"} <= set(shares)
