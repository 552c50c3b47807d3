"""Domain randomisation: per-bucket returns, ``bucket_variance`` on extreme CartPole pole
lengths, the shifted "real" variant's ``sim_to_real_gap`` series, continuous actions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rlvet.findings import Category
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.train import train
from rlvet.signals.discover import read_run

pytestmark = pytest.mark.slow


def test_extreme_pole_lengths_raise_bucket_variance(tmp_path: Path) -> None:
    # a 5 cm pole falls within a few steps whatever the policy does; a 4-5 m one is slow
    result = train(TrainArgs(env_id="CartPole-v1", backend="sync", total_steps=12 * 512,
                             randomize={"length": (0.05, 5.0)}, buckets=4, eval_every=0,
                             eval_episodes=5, real_env_kwargs={"force_mag": 2.0}, seed=4,
                             out=tmp_path))
    buckets = result.metrics["buckets"]
    assert set(buckets) == {"0", "1", "2", "3"}
    assert buckets["0"]["mean"] < buckets["3"]["mean"]
    found = [f for f in result.findings if f.category == Category.BUCKET_VARIANCE]
    assert found and found[0].evidence["cohens_d"] >= 1.0
    run = read_run(tmp_path)
    assert all(run.get(f"bucket_return/{b}") is not None for b in range(4))
    gap = run.get("sim_to_real_gap")  # logged at every evaluation (start and end here)
    assert gap is not None and len(gap) == 2
    assert len(result.metrics["sim_to_real"]) == 2


def test_continuous_actions_with_randomised_pendulum(tmp_path: Path) -> None:
    result = train(TrainArgs(env_id="Pendulum-v1", backend="sync", total_steps=3 * 512,
                             randomize={"g": (5.0, 12.0), "m": (0.5, 1.5)}, eval_every=0,
                             eval_episodes=2, out=tmp_path))
    assert result.metrics["updates"] == 3
    run = read_run(tmp_path)
    for name in ("kl", "entropy", "value_loss", "grad_norm"):
        series = run.get(name)
        assert series is not None and np.all(np.isfinite(series.values)), name
    assert set(result.metrics["buckets"]) == {"0", "1"}
