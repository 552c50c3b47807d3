"""Robust statistics behind every onset: baselines, persistence, smoothing, trends."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvet import stats
from rlvet.signals.series import Series


def test_finite_drops_nan_and_inf_and_handles_absent_series():
    s = Series.from_lists([1, 2, 3, 4], [1.0, np.nan, np.inf, 4.0])
    steps, values = stats.finite(s)
    assert steps.tolist() == [1, 4] and values.tolist() == [1.0, 4.0]
    assert stats.finite(None)[1].size == 0


def test_early_baseline_ignores_what_comes_after_the_early_window():
    values = np.concatenate([np.full(20, 0.01), np.full(80, 5.0)])
    base = stats.early_baseline(values)
    assert base.median == pytest.approx(0.01)
    assert base.n_points == 20


def test_robust_z_is_finite_for_a_constant_baseline():
    base = stats.early_baseline(np.full(10, 2.0))
    z = stats.robust_z(np.array([2.0, 3.0]), base)
    assert np.isfinite(z).all() and z[1] > 5


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        ([0, 1, 0, 0, 0, 0, 0, 0], None),  # a blip
        ([0, 1, 0, 0, 0, 1, 1, 0, 1], 5),  # 3 of the (4) left from index 5
        ([0, 1, 0, 0, 1, 1, 0, 0, 0], 1),  # 3 of the 5 from index 1
        ([0, 0, 0, 0, 0, 0, 1, 1], 6),  # at the very end 2 in a row are enough
        ([0, 0, 0, 0, 0, 0, 0, 1], None),  # one last point is not
        ([1, 1, 1], 0),
    ],
)
def test_persistent_onset(mask, expected):
    assert stats.persistent_onset(np.array(mask, dtype=bool)) == expected


def _rolling_median_by_nan_padding(values: np.ndarray, window: int) -> np.ndarray:
    """The definition: NaN-padded windows, nanmedian (the slow masked path)."""
    half = window // 2
    if values.size == 0 or half == 0:
        return values.astype(float, copy=True)
    padded = np.concatenate([np.full(half, np.nan), values, np.full(half, np.nan)])
    return np.asarray(np.nanmedian(
        np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1))


@given(st.lists(st.floats(-1e6, 1e6) | st.sampled_from([0.0, 1.0, 2.0]), max_size=40),
       st.integers(1, 12))
def test_rolling_median_equals_its_nan_padded_definition(values: list[float],
                                                        window: int) -> None:
    x = np.array(values, dtype=float)
    assert np.array_equal(stats.rolling_median(x, window),
                          _rolling_median_by_nan_padding(x, window))


def test_rolling_median_shrinks_at_the_edges_so_one_lucky_point_is_not_doubled():
    out = stats.rolling_median(np.array([500.0, 130.0, 145.0, 82.0]), 3)
    assert out.tolist() == [315.0, 145.0, 130.0, 113.5]


def test_trailing_median_excludes_the_point_it_judges():
    out = stats.trailing_median(np.array([1.0, 1.0, 1.0, 100.0]), 3)
    assert out[3] == 1.0


def test_change_point_finds_a_mean_shift():
    values = np.concatenate([np.zeros(30), np.ones(20)])
    assert stats.change_point(values) == 30
    assert stats.change_point(np.ones(10)) is None


def test_trend_is_monotone_and_outlier_robust():
    steps = np.arange(50)
    values = steps * 2.0
    values[10] = 1e6
    tr = stats.trend(steps, values)
    assert tr.rho > 0.9 and tr.p_value < 1e-6
    assert tr.slope == pytest.approx(2.0)
    assert stats.trend(steps, np.ones(50)).rho == 0.0


def test_progress_reads_start_from_the_first_steps_and_scales_by_the_curve():
    steps = np.arange(0, 100_000, 1000)
    climb = np.minimum(500.0, 20.0 + steps / 100.0)
    prog = stats.progress(steps, climb)
    assert prog.start == pytest.approx(40.0, abs=25.0)
    assert prog.improved and prog.rel_gain > 0.9
    negative = stats.progress(steps, np.linspace(-500.0, -100.0, steps.size))
    assert negative.improved and negative.rel_gain == pytest.approx(0.8, abs=0.05)
    flat = stats.progress(steps, 22.0 + np.sin(steps))
    assert not flat.improved


def test_sample_at_reads_the_last_value_so_far():
    out = stats.sample_at(np.array([10, 20]), np.array([1.0, 2.0]), np.array([5, 10, 15, 25]))
    assert np.isnan(out[0]) and out[1:].tolist() == [1.0, 1.0, 2.0]


def test_edge_window_covers_a_fraction_of_steps_with_at_least_three_points():
    assert stats.edge_window(np.arange(0, 1000, 10)) == 5  # steps 0..40 of 0..990
    assert stats.edge_window(np.arange(0, 12)) == 3


def test_trailing_median_equals_the_point_by_point_definition() -> None:
    # the vectorised form must give the same numbers as "median of the window before i"
    rng = np.random.default_rng(0)
    for n, window in ((0, 10), (1, 10), (7, 10), (10, 10), (11, 10), (300, 10), (50, 3)):
        values = rng.lognormal(size=n)
        if n > 20:
            values[[5, 17]] = np.nan  # NaN propagates as np.median does
        expected = np.array([values[0] if i == 0 else np.median(values[max(0, i - window):i])
                             for i in range(n)])
        np.testing.assert_array_equal(stats.trailing_median(values, window), expected)
