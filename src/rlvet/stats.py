"""Robust statistics for finding *when* a training signal went wrong, and *where* it trends.

Shared by ``rlvet.doctor`` (training curves) and ``rlvet.reward`` (per-sample tables): one
definition of an onset, a baseline, a trend and the bounds a trend is judged by.

Contents:
    finite(series) -- the finite points of a series, as ``(steps, values)`` arrays.
    Baseline, early_baseline(values) -- median and MAD of the run's own early window.
    robust_z(values, baseline) -- distance from the baseline in robust standard deviations.
    rolling_median(values, window), trailing_median(values, window) -- local levels.
    persistent_onset(mask) -- first index of an exceedance that lasts, not a one-point blip.
    change_point(values) -- the single most likely mean shift (CUSUM).
    Trend, trend(steps, values) -- Spearman rank correlation and Theil-Sen slope.
    TREND_P, CURVE_TREND_RHO, SAMPLE_TREND_RHO, TRACKING_RHO -- when a trend counts.
    Progress, progress(steps, values) -- start, best and end level and relative gain.
    sample_at(steps, values, at) -- a signal read at another signal's steps (last value so far).
    at_floor(values), floor_share(values) -- how much of a curve sits at its lowest value.

Why robust statistics: training curves are heavy-tailed (one bad minibatch, one lucky
evaluation), logged at cadences from every update to every few thousand steps, and on
scales from SB3's ``approx_kl`` (~1e-3) to a reward summed over 10^4 steps. Medians and
MADs are not dragged by the outliers they are meant to find, and every rule below compares
a run with *itself*, so no threshold depends on the library's units alone.

Arrays are 1-D, shape ``(n,)``; indices returned are positions in those arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy.stats import spearmanr, theilslopes

from rlvet.signals.series import Series

__all__ = [
    "BASELINE_FRACTION",
    "CURVE_TREND_RHO",
    "EDGE_FRACTION",
    "MAD_TO_SIGMA",
    "MATERIAL_GAIN",
    "SLOPE_MAX_POINTS",
    "MIN_BASELINE_POINTS",
    "PERSIST_HITS",
    "PERSIST_TAIL",
    "PERSIST_WINDOW",
    "SAMPLE_TREND_RHO",
    "SCALE_FLOOR",
    "TRACKING_RHO",
    "TREND_P",
    "Baseline",
    "Progress",
    "Trend",
    "at_floor",
    "baseline_size",
    "change_point",
    "edge_window",
    "early_baseline",
    "finite",
    "floor_share",
    "persistent_onset",
    "progress",
    "robust_z",
    "rolling_median",
    "sample_at",
    "trailing_median",
    "trend",
]

MAD_TO_SIGMA = 1.4826  # MAD x 1.4826 estimates the standard deviation of a normal sample
BASELINE_FRACTION = 0.2  # the first fifth of a run is "before": long enough to be typical
MIN_BASELINE_POINTS = 3  # a median of fewer than 3 points is just one of them
MAX_BASELINE_POINTS = 20  # beyond 20 updates the "early" window would average in the break
PERSIST_HITS = 3  # an onset needs 3 exceedances ...
PERSIST_WINDOW = 5  # ... within 5 consecutive points: one noisy update is not a pathology
PERSIST_TAIL = 2  # at the very end of a run, 2 points in a row are all the evidence left
SCALE_FLOOR = 1e-12  # MAD of a constant series; keeps z-scores finite
EDGE_FRACTION = 0.05  # the first / last 5% of a run's steps: the untrained and the final policy
FLOOR_TOLERANCE = 1e-6  # relative: "the same value" for a mean of identical returns
SLOPE_MAX_POINTS = 300  # Theil-Sen on at most 300 points: 4.5e4 pairwise slopes, ~3 ms; at
# 1000 (5e5 slopes, ~26 ms each) the memory detector's five trends were 3/4 of a 10k-update
# live verdict (benchmarks/verdict_cost.py)
MATERIAL_GAIN = 0.25  # a curve "improved" when its best level is 25% of its own scale above
# its start: a random-policy return wanders by ~10% (SB3's 100-episode mean), learning moves
# it by 2-25x on CartPole and by 50-90% on negative-return tasks (Acrobot -500 -> -100)
TREND_P = 0.05  # a trend is significant at 5%, whichever test gives the p-value
CURVE_TREND_RHO = 0.5  # Spearman rho of a training curve with the step (10-20 evaluations,
# each already a mean of episodes): a monotone climb, not a wobble (doctor.reward)
SAMPLE_TREND_RHO = 0.3  # Spearman rho of per-step means of a few LLM samples with the step:
# per-step means of 4-8 samples are noisy, so a real trend shows rho ~0.4-0.7; the
# significance comes from Kendall's tau-b of every sample against its step (reward.trend)
TRACKING_RHO = 0.8  # rank correlation at which one curve "tracks" another (response length
# and reward: doctor.reward and doctor.llm)


def finite(series: Series | None) -> tuple[np.ndarray, np.ndarray]:
    """The finite points of ``series`` as ``(steps, values)``, both shape (m,).

    NaN and inf are evidence for ``doctor.numerics``; every other detector reads the
    finite part only, so one NaN does not hide a KL spike logged before it.
    """
    if series is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    keep = np.isfinite(series.values)
    return series.steps[keep], series.values[keep]


@dataclass(frozen=True, slots=True)
class Baseline:
    """Where a signal sat early in the run: median, scaled MAD and the window used."""

    median: float
    mad: float
    n_points: int

    def to_evidence(self) -> dict[str, float | int]:
        """The numbers for a finding's evidence dict."""
        return {"baseline_median": self.median, "baseline_mad": self.mad,
                "baseline_points": self.n_points}


def baseline_size(n: int, fraction: float = BASELINE_FRACTION) -> int:
    """How many leading points form the early window of an n-point series."""
    size = max(MIN_BASELINE_POINTS, int(round(fraction * n)))
    return min(n, MAX_BASELINE_POINTS, size) if n else 0


def early_baseline(values: np.ndarray, fraction: float = BASELINE_FRACTION) -> Baseline:
    """Median and MAD (x1.4826) of the first ``fraction`` of ``values`` (shape (n,)).

    Example:
        >>> b = early_baseline(np.array([1.0, 1.1, 0.9, 5.0, 5.0, 5.0]))
        >>> round(b.median, 2)
        1.0
    """
    head = values[: baseline_size(len(values), fraction)]
    if head.size == 0:
        return Baseline(float("nan"), float("nan"), 0)
    med = float(np.median(head))
    mad = MAD_TO_SIGMA * float(np.median(np.abs(head - med)))
    return Baseline(med, mad, int(head.size))


def robust_z(values: np.ndarray, base: Baseline, *, rel_floor: float = 0.05) -> np.ndarray:
    """``(values - median) / scale`` with the scale floored at ``rel_floor * |median|``.

    The floor matters for smooth series (SB3's 100-episode reward mean, a frozen entropy)
    whose MAD is ~0: without it every tiny wobble would be an infinite z-score.
    """
    scale = max(base.mad, rel_floor * abs(base.median), SCALE_FLOOR)
    return (values - base.median) / scale


def rolling_median(values: np.ndarray, window: int = 5) -> np.ndarray:
    """Centred running median of width ``window``; the window shrinks at the edges.

    Edges are neither repeated nor mirrored: either would let one lucky first or last
    evaluation count twice and become the curve's "peak".

    Example:
        >>> rolling_median(np.array([500.0, 130.0, 145.0, 82.0]), 3).tolist()
        [315.0, 145.0, 130.0, 113.5]
    """
    half = window // 2
    if values.size == 0 or half == 0:
        return values.astype(float, copy=True)
    x = values.astype(float)
    if not np.all(np.isfinite(x)):  # a NaN inside: nanmedian's slow masked path
        padded = np.concatenate([np.full(half, np.nan), x, np.full(half, np.nan)])
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
        return cast(np.ndarray, np.nanmedian(windows, axis=1))
    # Full windows in one vectorised median, the 2 * half shrunken edge windows one by one:
    # the same numbers as the NaN-padded nanmedian, 2.6x faster on 10k points (1.1 vs 2.8
    # ms; issue #14: a live verdict's cost must not grow with the run)
    n, out = x.size, np.empty(x.size)
    if n > 2 * half:
        out[half:n - half] = np.median(
            np.lib.stride_tricks.sliding_window_view(x, 2 * half + 1), axis=1)
    for i in (*range(min(half, n)), *range(max(half, n - half), n)):
        out[i] = np.median(x[max(0, i - half): i + half + 1])
    return out


def trailing_median(values: np.ndarray, window: int = 10) -> np.ndarray:
    """``out[i]`` = median of the ``window`` points *before* i (``out[0]`` = ``values[0]``).

    A trailing reference does not include the point it judges, so a jump is measured
    against what the run was doing just before it; a slow drift moves the reference with it.
    """
    out = np.empty_like(values)
    if values.size == 0:
        return out
    out[0] = values[0]
    head = min(window, values.size)
    for i in range(1, head):  # fewer than ``window`` points before i
        out[i] = np.median(values[:i])
    if values.size > window:  # full windows, all at once (a live run reaches 10k points)
        windows = np.lib.stride_tricks.sliding_window_view(values[:-1], window)
        out[window:] = np.median(windows, axis=1)
    return out


def persistent_onset(
    mask: np.ndarray,
    *,
    hits: int = PERSIST_HITS,
    window: int = PERSIST_WINDOW,
    tail: int = PERSIST_TAIL,
) -> int | None:
    """First index i where the exceedance starting at i persists.

    Persistence means ``mask[i]`` is True and at least ``hits`` of the ``window`` points
    from i on are True; near the end of the series, where fewer than ``window`` points are
    left, ``min(hits, left)`` of them must be True and at least ``tail`` must be left.

    Args:
        mask: shape (n,), True where the signal is beyond its threshold.

    Returns:
        The onset index, or None if no exceedance lasts.

    Example:
        >>> persistent_onset(np.array([0, 1, 0, 0, 0, 1, 1, 0, 1], dtype=bool))
        5
    """
    for i in np.flatnonzero(mask):
        span = mask[i : i + window]
        needed = hits if span.size >= window else min(hits, span.size)
        if span.size >= tail and int(span.sum()) >= needed:
            return int(i)
    return None


def change_point(values: np.ndarray) -> int | None:
    """Index where the mean shifts most (CUSUM): the first point of the "after" segment.

    ``S_k = sum_{j<k} (x_j - mean)``; the largest ``|S_k|`` splits the series into the two
    segments whose means differ most for their sizes (Page 1954). Returns None for fewer
    than 4 points or a constant series.
    """
    if values.size < 4 or np.ptp(values) == 0:
        return None
    cusum = np.cumsum(values - values.mean())
    k = int(np.argmax(np.abs(cusum[:-1]))) + 1
    return k


@dataclass(frozen=True, slots=True)
class Trend:
    """Monotone trend of a signal over steps.

    Two inputs are judged with it, at two strengths (``CURVE_TREND_RHO`` for training
    curves, ``SAMPLE_TREND_RHO`` for per-step means of samples, whose p-value comes from
    every sample: ``rlvet.reward.trend.SampleTrend``); the rule is the same.
    """

    rho: float  # Spearman rank correlation with the step, -1..1
    p_value: float
    slope: float  # Theil-Sen slope, value units per step

    def monotone_up(self, min_rho: float) -> bool:
        """A significant, monotone climb: p <= ``TREND_P`` and rho >= ``min_rho``."""
        return self.p_value <= TREND_P and self.rho >= min_rho

    def monotone_down(self, min_rho: float) -> bool:
        """A significant, monotone decline: p <= ``TREND_P`` and rho <= ``-min_rho``."""
        return self.p_value <= TREND_P and self.rho <= -min_rho


def trend(steps: np.ndarray, values: np.ndarray) -> Trend:
    """Spearman rho (is it monotone?) and Theil-Sen slope (how fast?), both outlier-robust.

    The slope is the median of all pairwise slopes, O(n^2) in time and memory: over
    ``SLOPE_MAX_POINTS`` points it is taken on an evenly thinned subset (a live Monitor's
    per-record RSS series reaches 10k points, where the full estimate took ~30 s per
    verdict; benchmarks/verdict_cost.py). Thinning evenly keeps the estimator unbiased and
    its breakdown point; rho is computed on every point (O(n log n)).
    """
    if values.size < 3 or np.ptp(values) == 0 or np.ptp(steps) == 0:
        return Trend(0.0, 1.0, 0.0)
    res = spearmanr(steps, values)
    keep = np.unique(np.linspace(0, values.size - 1, min(values.size, SLOPE_MAX_POINTS))
                     .round().astype(int))
    slope = theilslopes(values[keep], steps[keep])[0]
    return Trend(float(res.statistic), float(res.pvalue), float(slope))


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a "higher is better" curve got: start level, best level, and gain.

    ``rel_gain`` is the gain over the curve's own scale, ``max(|start|, |peak|)``, so it is
    the same for a return of 20 -> 200 and for 0.02 -> 0.2, and a negative-return env
    (-500 -> -100) gains 0.8.
    """

    start: float
    peak: float
    end: float
    peak_index: int
    rel_gain: float

    @property
    def scale(self) -> float:
        """The curve's own scale, ``max(|start|, |peak|)``."""
        return max(abs(self.start), abs(self.peak), SCALE_FLOOR)

    @property
    def improved(self) -> bool:
        """Whether the curve gained at least ``MATERIAL_GAIN`` of its scale."""
        return self.rel_gain >= MATERIAL_GAIN

    def at(self, value: float) -> float:
        """Fraction of the way from start to peak that ``value`` represents."""
        span = self.peak - self.start
        return 1.0 if span <= 0 else (value - self.start) / span


def edge_window(steps: np.ndarray, fraction: float = EDGE_FRACTION) -> int:
    """How many leading points cover the first ``fraction`` of the run's steps (at least 3)."""
    if steps.size == 0:
        return 0
    span = float(steps[-1] - steps[0])
    inside = int(np.searchsorted(steps, steps[0] + fraction * span, side="right"))
    return min(steps.size, max(MIN_BASELINE_POINTS, inside))


def progress(steps: np.ndarray, values: np.ndarray, *, window: int = 5) -> Progress:
    """Start, peak and end of a curve (both arrays shape (n,)).

    Start and end are medians over the first and last ``EDGE_FRACTION`` of the steps (at
    least 3 points): the first rows of a run are the untrained policy, and a fast learner
    (a sign-flipped CartPole reward is "solved" in 3 updates) leaves the start behind
    within a few percent of the run. The peak is the top of the running median.
    """
    smooth = rolling_median(values, window)
    head = edge_window(steps)
    tail = edge_window(steps[-1] - steps[::-1])
    start = float(np.median(values[:head]))
    end = float(np.median(values[values.size - tail :]))
    k = int(np.argmax(smooth))
    peak = float(smooth[k])
    scale = max(abs(start), abs(peak), SCALE_FLOOR)
    return Progress(start, peak, end, k, (peak - start) / scale)


def sample_at(steps: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``values`` as they stood at each step of ``at`` (the last point at or before it).

    Signals come at different cadences (SB3: train/* per rollout, eval/* every N steps);
    comparing them means reading one at the other's steps. NaN before the first point.

    Example:
        >>> sample_at(np.array([10, 20]), np.array([1.0, 2.0]), np.array([5, 10, 15, 25]))
        array([nan,  1.,  1.,  2.])
    """
    idx = np.searchsorted(steps, at, side="right") - 1
    out = np.full(at.shape, np.nan)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


def at_floor(values: np.ndarray, tolerance: float = FLOOR_TOLERANCE) -> np.ndarray:
    """Mask of the points where a curve equals its lowest value (relative ``tolerance``).

    Why: a return logged as a mean of identical episode scores (a goal never reached: 0, or
    MountainCar's -200 time-out) sits exactly at its floor; a few such points are chance,
    most of them mean the reward carried no signal.
    """
    if values.size == 0:
        return np.zeros(0, dtype=bool)
    floor = float(np.min(values))
    return np.abs(values - floor) <= tolerance * max(1.0, abs(floor))


def floor_share(values: np.ndarray) -> float | None:
    """Share of a curve's points at its floor value (None: too short to tell).

    Why here: when ~every episode scores the same, the critic has no between-episode
    variance to explain, an entropy held at uniform has no gradient to fight and the reward
    is sparse, so ``doctor.critic``, ``doctor.exploration`` and ``doctor.reward`` all ask it.
    """
    return None if values.size < PERSIST_WINDOW else float(at_floor(values).mean())
