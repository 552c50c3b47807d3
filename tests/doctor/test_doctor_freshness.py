"""stale_data: policy lag above its bound, or growing without one."""

from __future__ import annotations

import numpy as np

from conftest import healthy_ppo, to_run
from rlvet.doctor import freshness
from rlvet.doctor.registry import DetectContext
from rlvet.findings import Category, Severity, Stage

CTX = DetectContext(reward="reward")


def _with_lag(lag: np.ndarray):
    data = healthy_ppo(lag.size + 1, 0)
    steps = data["kl"][0]
    data["policy_lag"] = (steps, lag)
    return to_run(data), steps


def test_lag_of_one_version_is_healthy():
    run, _ = _with_lag(np.random.default_rng(0).choice([0.0, 1.0, 1.0, 2.0], 100))
    assert freshness.detect_stale_data(run, CTX) == []


def test_lag_above_the_bound_is_an_error_at_its_onset():
    lag = np.ones(100)
    lag[40:] = 6.0
    run, steps = _with_lag(lag)
    [f] = freshness.detect_stale_data(run, CTX)
    assert f.category == Category.STALE_DATA and f.stage == Stage.FRESHNESS
    assert f.severity == Severity.ERROR and f.step == int(steps[40])


def test_steadily_growing_lag_is_an_error_before_it_crosses_the_bound():
    run, _ = _with_lag(np.linspace(0.2, 1.95, 100))
    [f] = freshness.detect_stale_data(run, CTX)
    assert f.evidence["growing"] is True


def test_no_lag_signal_no_finding(ppo):
    assert freshness.detect_stale_data(ppo(), CTX) == []
