"""Aggregates, stratified bootstrap CIs, probability of improvement, performance profiles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sstats

from rlvet.evaluate.stats import (
    aggregate_iqm,
    aggregate_mean,
    aggregate_median,
    aggregate_optimality_gap,
    aggregate_pooled_median,
    interval_estimates,
    performance_profile,
    poi_interval,
    probability_of_improvement,
)

SCORES = np.random.default_rng(7).normal(300.0, 40.0, size=(10, 3))  # (runs, tasks)


def test_same_seed_gives_bit_identical_intervals() -> None:
    a = interval_estimates(SCORES, optimal=400.0, reps=500, rng=123)
    b = interval_estimates(SCORES, optimal=400.0, reps=500, rng=123)
    c = interval_estimates(SCORES, optimal=400.0, reps=500, rng=124)
    assert a == b  # dataclass equality on floats: the same bits
    assert a["iqm"] != c["iqm"]
    gen = interval_estimates(SCORES, reps=500, rng=np.random.default_rng(5))
    assert gen == interval_estimates(SCORES, reps=500, rng=np.random.default_rng(5))


def test_poi_and_profile_are_reproducible() -> None:
    x, y = SCORES, SCORES - 20.0
    assert poi_interval(x, y, reps=300, rng=1) == poi_interval(x, y, reps=300, rng=1)
    taus = np.linspace(200, 400, 9)
    first = performance_profile(x, taus, reps=300, rng=2)
    second = performance_profile(x, taus, reps=300, rng=2)
    for u, v in zip(first, second, strict=True):
        assert np.array_equal(u, v)


# Reference numbers: google-research/rliable ``rliable/metrics.py`` at commit
# 3ccd9f4dea577a04d3d2b557f259aac08badbd81, its functions run on these matrices
# (rliable itself does not import beside numpy 2): (mean, median, iqm, optimality gap at
# gamma). M1's task means are 37.5 / 212.5 / 1625 while its pooled runs' median is 175:
# a median that pooled runs would not match rliable's.
RLIABLE_REFERENCE = (
    (np.array([[10, 200, 3000], [20, 100, 1000], [90, 150, 2000], [30, 400, 500]], float),
     1000.0, (625.0, 212.5, 240.0, 625.0)),
    (np.array([[0.1, 0.9, 1.4, 0.0], [0.3, 0.7, 1.1, 0.05], [0.2, 0.8, 0.2, 0.02],
               [0.25, 1.2, 1.3, 0.01], [0.15, 0.6, 1.2, 0.9]]),
     1.0, (0.569, 0.52, 0.5, 0.491)),
    (np.array([[153.0], [253.0], [500.0]]), 500.0, (302.0, 302.0, 302.0, 198.0)),
)


@pytest.mark.parametrize(("scores", "gamma", "expected"), RLIABLE_REFERENCE)
def test_aggregates_match_rliable_on_multi_task_matrices(
        scores: np.ndarray, gamma: float, expected: tuple[float, ...]) -> None:
    got = (aggregate_mean(scores), aggregate_median(scores), aggregate_iqm(scores),
           aggregate_optimality_gap(scores, gamma))
    assert [float(g) for g in got] == pytest.approx(expected, abs=1e-12)
    est = interval_estimates(scores, optimal=gamma, reps=50, rng=0)
    names = ("mean", "median", "iqm", "optimality_gap")
    assert [est[n].point for n in names] == pytest.approx(expected, abs=1e-12)


def test_the_pooled_median_has_its_own_name() -> None:
    m1 = RLIABLE_REFERENCE[0][0]
    est = interval_estimates(m1, reps=50, rng=0)
    assert est["pooled_median"].point == 175.0 == float(aggregate_pooled_median(m1))
    assert est["median"].point == 212.5


def test_point_estimates_match_their_definitions() -> None:
    est = interval_estimates(SCORES, optimal=320.0, reps=200, rng=0)
    flat = SCORES.ravel()
    assert est["mean"].point == pytest.approx(flat.mean())
    assert est["median"].point == pytest.approx(np.median(SCORES.mean(axis=0)))
    assert est["pooled_median"].point == pytest.approx(np.median(flat))
    assert est["iqm"].point == pytest.approx(sstats.trim_mean(flat, 0.25))
    assert est["optimality_gap"].point == pytest.approx((320.0 - np.minimum(flat, 320.0)).mean())
    for iv in est.values():
        assert iv.low <= iv.point <= iv.high or iv.low <= iv.high
    assert aggregate_iqm(SCORES[None]).shape == (1,)  # leading batch dims are kept
    assert aggregate_optimality_gap(np.full((2, 1), 900.0), 500.0) == 0.0


def test_bootstrap_is_stratified_by_task() -> None:
    # Runs constant within each task but different across tasks: resampling runs within
    # each task cannot move the mean, so a stratified CI is a point; pooled resampling
    # would mix tasks and give a wide interval.
    scores = np.tile(np.array([[0.0, 100.0, 200.0]]), (8, 1))
    mean = interval_estimates(scores, reps=300, rng=0)["mean"]
    assert (mean.low, mean.point, mean.high) == (100.0, 100.0, 100.0)


def _spread(n: int) -> np.ndarray:
    """n evenly spaced standard-normal quantiles, (n, 1): the same spread at every n."""
    return sstats.norm.ppf((np.arange(n) + 0.5) / n)[:, None]


def test_interval_width_shrinks_like_one_over_sqrt_runs() -> None:
    few = interval_estimates(_spread(5), reps=2000, rng=0)["mean"].width
    many = interval_estimates(_spread(80), reps=2000, rng=0)["mean"].width
    assert few / many == pytest.approx(np.sqrt(80 / 5), rel=0.35)


def test_single_run_has_no_interval_and_saturated_runs_a_point() -> None:
    one = interval_estimates([3.0], reps=100, rng=0)["mean"]
    assert one.point == 3.0 and np.isnan(one.low) and np.isnan(one.high)
    flat = interval_estimates(np.full((5, 1), 500.0), reps=100, rng=0)["iqm"]
    assert (flat.low, flat.high) == (500.0, 500.0)


def test_probability_of_improvement() -> None:
    assert probability_of_improvement([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert probability_of_improvement([1.0, 2.0], [3.0, 4.0]) == 0.0
    assert probability_of_improvement([1.0, 2.0], [1.0, 2.0]) == pytest.approx(0.5)
    poi = poi_interval(SCORES + 100.0, SCORES, reps=500, rng=0)
    assert poi.point > 0.9 and poi.low > 0.5
    with pytest.raises(ValueError, match="tasks"):
        probability_of_improvement(SCORES, SCORES[:, :2])


def test_performance_profile_band_is_monotone_and_contains_curve() -> None:
    taus = np.linspace(150.0, 450.0, 21)
    frac, low, high = performance_profile(SCORES, taus, reps=500, rng=3)
    assert frac.shape == low.shape == high.shape == (21,)
    assert np.all(np.diff(frac) <= 0) and np.all(np.diff(low) <= 1e-12)
    assert np.all(low <= frac + 1e-12) and np.all(frac <= high + 1e-12)
