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


def _grpo(clip: np.ndarray, *, zero_std: bool = True):
    """A GRPO-like run as TRL logs it: clip ratio, reward, and the zero-spread share."""
    steps = np.arange(1, clip.size + 1)
    series = {"clip_fraction": (steps, clip), "reward": (steps, np.linspace(0.1, 0.5, clip.size))}
    if zero_std:
        series["frac_reward_zero_std"] = (steps, np.full(clip.size, 0.3))
    return to_run(series), steps


def test_grpo_clip_ratio_exactly_zero_on_policy_is_not_stale():
    run, _ = _grpo(np.zeros(60))
    assert freshness.detect_stale_data(run, CTX) == []


def test_grpo_batch_reused_four_times_is_stale_from_the_first_batch():
    # num_iterations 4: a fresh batch's first update has ratio 1 (clip 0), the next three clip
    clip = np.tile([0.0, 0.2, 0.15, 0.25], 20)
    run, steps = _grpo(clip)
    [f] = freshness.detect_stale_data(run, CTX)
    assert f.category == Category.STALE_DATA and f.severity == Severity.ERROR
    assert f.step == int(steps[0]) and f.evidence["nonzero_share_after"] == 0.75
    assert "num_iterations" in f.remedy


def test_grpo_clip_below_the_bound_is_not_stale():
    run, _ = _grpo(np.tile([0.0, 0.004, 0.003, 0.005], 20))
    assert freshness.detect_stale_data(run, CTX) == []


def test_clip_without_grpo_groups_is_a_ppo_epoch_loop_not_stale():
    run, _ = _grpo(np.full(60, 0.12), zero_std=False)
    assert freshness.detect_stale_data(run, CTX) == []
