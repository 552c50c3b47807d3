"""Version tags and lag accounting: ``--max-lag`` is enforced by dropping or correcting,
every rollout is accounted for, and the logged ``policy_lag`` agrees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rlvet.findings import Category
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.train import TrainResult, train
from rlvet.signals import names
from rlvet.signals.discover import read_run

pytestmark = pytest.mark.slow


def _run(out: Path, mode: str) -> TrainResult:
    # max_lag 0 with actors that keep collecting while the learner updates: every rollout
    # in flight during an update arrives one version old, so the policy is exercised
    return train(TrainArgs(env_id="CartPole-v1", total_steps=10 * 256, actors=2,
                           envs_per_actor=2, rollout_steps=64, max_lag=0, lag_mode=mode,
                           eval_every=0, eval_episodes=2, seed=2, out=out))


def _accounted(lag: dict) -> bool:
    return lag["received"] == (lag["used"] + lag["dropped_stale"] + lag["dropped_rollback"]
                               + lag["unused_at_end"])


def test_drop_mode_trains_only_on_fresh_data(tmp_path: Path) -> None:
    result = _run(tmp_path, "drop")
    lag = result.metrics["lag"]
    assert lag["dropped_stale"] > 0 and lag["corrected"] == 0
    assert lag["lag_max"] == 0 and set(lag["lag_histogram"]) == {"0"}
    assert _accounted(lag)
    logged = read_run(tmp_path).get(names.POLICY_LAG)
    assert logged is not None and np.all(logged.values == 0)
    stale = [f for f in result.findings if f.category == Category.STALE_DATA]
    assert stale and stale[0].evidence["dropped_stale"] == lag["dropped_stale"]


def test_correct_mode_keeps_stale_data_with_vtrace(tmp_path: Path) -> None:
    result = _run(tmp_path, "correct")
    lag = result.metrics["lag"]
    assert lag["dropped_stale"] == 0 and lag["corrected"] > 0
    assert lag["lag_max"] >= 1 and _accounted(lag)
    assert sum(v for k, v in lag["lag_histogram"].items() if int(k) > 0) == lag["corrected"]
    run = read_run(tmp_path)
    assert run.get("behaviour_kl") is not None and np.all(run.get("behaviour_kl").values >= 0)
