"""Reward shape: sparse, too loose and long-tailed rewards, and healthy shapes left alone."""

from __future__ import annotations

import numpy as np

from rlvet.findings import Category, Severity
from rlvet.reward import audit_samples


def _records(rewards: np.ndarray, per_step: int = 16) -> list[dict]:
    return [{"id": i, "step": i // per_step, "reward": float(r)} for i, r in enumerate(rewards)]


def _found(rewards: np.ndarray) -> dict[str, str]:
    result = audit_samples(_records(rewards)).result
    return {str(f.category): str(f.severity) for f in result.findings}


def test_sparse_reward_is_an_error() -> None:
    rng = np.random.default_rng(0)
    assert _found((rng.random(320) < 0.03).astype(float)) == {"reward_sparsity": "error"}


def test_sparse_with_negative_floor() -> None:
    rng = np.random.default_rng(1)
    rewards = np.where(rng.random(320) < 0.04, 1.0, -1.0)
    assert _found(rewards).get("reward_sparsity") == "error"


def test_sparse_start_that_learns_is_not_flagged() -> None:
    rng = np.random.default_rng(2)
    steps = np.arange(320) // 16
    rewards = (rng.random(320) < 0.02 + 0.03 * steps).astype(float)  # 2% -> 59%
    assert "reward_sparsity" not in _found(rewards)


def test_too_loose_reward_is_an_error() -> None:
    rng = np.random.default_rng(3)
    assert _found((rng.random(320) < 0.96).astype(float)) == {"reward_too_loose": "error"}


def test_converging_to_the_maximum_is_not_too_loose() -> None:
    rng = np.random.default_rng(4)
    steps = np.arange(320) // 16
    rewards = (rng.random(320) < np.minimum(0.3 + 0.06 * steps, 1.0)).astype(float)
    assert "reward_too_loose" not in _found(rewards)


def test_long_tail_is_reported_with_the_extreme_sample() -> None:
    rng = np.random.default_rng(5)
    rewards = rng.normal(0.5, 0.1, 400)
    rewards[[17, 230, 301]] = [60.0, 85.0, 40.0]
    result = audit_samples(_records(rewards)).result
    (f,) = [f for f in result.findings if f.category == Category.REWARD_LONG_TAIL]
    assert f.severity == Severity.ERROR
    assert f.evidence["extreme_sample"] == "230"


def test_gaussian_and_bounded_rewards_have_no_tail() -> None:
    rng = np.random.default_rng(6)
    assert _found(rng.normal(0, 1, 2000)) == {}
    assert _found(rng.uniform(0, 1, 2000)) == {}


def test_constant_rewards() -> None:
    assert _found(np.zeros(64)) == {"reward_sparsity": "error"}
    assert _found(np.ones(64)) == {"reward_too_loose": "error"}


def test_shape_metrics_are_reported() -> None:
    shape = audit_samples(_records(np.arange(64.0))).result.metrics["shape"]
    assert shape["n"] == 64 and shape["min"] == 0 and shape["max"] == 63
    assert 0 <= shape["tail_top1pct_variance_share"] <= 1
