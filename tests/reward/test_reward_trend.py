"""Trends over steps and within-step rank agreement, on synthetic columns."""

from __future__ import annotations

import numpy as np

from rlvet.reward.association import pooled_rank_corr, within_step_rank_corr
from rlvet.reward.samples import Sample
from rlvet.reward.table import build_table
from rlvet.reward.trend import quality_direction, reward_up, trend


def _table(rewards: np.ndarray, evals: np.ndarray | None = None, per_step: int = 8):
    samples = [Sample(id=str(i), step=i // per_step, reward=float(r),
                      eval_score=None if evals is None else float(evals[i]))
               for i, r in enumerate(rewards)]
    return build_table(samples)


def test_rising_flat_and_falling() -> None:
    rng = np.random.default_rng(0)
    steps = np.repeat(np.arange(12), 8)
    up = _table(0.1 * steps + rng.normal(0, 0.3, steps.size))
    flat = _table(rng.normal(0, 0.3, steps.size))
    down = _table(-0.1 * steps + rng.normal(0, 0.3, steps.size))
    t_up, t_flat, t_down = (trend(t, "reward") for t in (up, flat, down))
    assert t_up.rising and not t_up.falling and reward_up(t_up)
    assert not t_flat.rising and not t_flat.falling and not reward_up(t_flat)
    assert t_down.falling and not t_down.rising
    assert t_up.slope > 0 > t_down.slope
    assert t_up.early < t_up.late


def test_one_outlier_step_does_not_make_a_trend() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(0, 0.1, 96)
    values[-8:] += 5.0  # one odd last batch
    t = trend(_table(values), "reward")
    assert not reward_up(t) or t.rho < 0.5
    assert abs(t.slope) < 0.05  # Theil-Sen ignores the outlier step


def test_too_few_steps_give_no_trend() -> None:
    assert trend(_table(np.arange(24.0)), "reward") is None  # 3 steps of 8


def test_quality_direction_gives_the_objective_the_benefit_of_the_doubt() -> None:
    rng = np.random.default_rng(2)
    steps = np.repeat(np.arange(6), 16)
    evals = (rng.random(steps.size) < 0.3 + 0.06 * steps).astype(float)  # 0.3 -> 0.6
    t = trend(_table(np.zeros(steps.size), evals, per_step=16), "eval_score")
    assert quality_direction(t) == "up"
    assert quality_direction(None) == "unknown"
    flat = (rng.random(steps.size) < 0.45).astype(float)
    assert quality_direction(trend(_table(np.zeros(96), flat, 16), "eval_score")) == "flat"


def test_within_step_correlation_ignores_a_shared_trend() -> None:
    rng = np.random.default_rng(3)
    steps = np.repeat(np.arange(10), 10)
    noise_r, noise_e = rng.normal(0, 1, 100), rng.normal(0, 1, 100)
    table = _table(steps + 0.1 * noise_r, steps + 0.1 * noise_e, per_step=10)
    within = within_step_rank_corr(table, "reward", "eval_score")
    pooled = pooled_rank_corr(table, "reward", "eval_score")
    assert within.method == "within_step" and abs(within.rho) < 0.3
    assert pooled.rho > 0.9  # the trend alone makes a pooled correlation look great


def test_association_needs_enough_pairs() -> None:
    table = _table(np.arange(20.0), np.arange(20.0), per_step=5)
    assert within_step_rank_corr(table, "reward", "eval_score") is None
