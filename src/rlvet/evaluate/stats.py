"""Aggregate scores with honest uncertainty: rliable's metrics on scipy's bootstrap.

Contents:
    Interval -- a point estimate and its confidence interval.
    aggregate_mean, aggregate_median, aggregate_iqm, aggregate_optimality_gap -- the
        aggregates of Agarwal et al. 2021 ("Deep RL at the Edge of the Statistical
        Precipice"), exactly as rliable's ``metrics.py`` defines them.
    aggregate_pooled_median -- the median of every run of every task (not rliable's).
    interval_estimates(scores, ...) -- each aggregate with a stratified bootstrap CI.
    probability_of_improvement(x, y) -- P(X > Y), Mann-Whitney U per task, averaged.
    poi_interval(x, y, ...) -- the same with a stratified independent bootstrap CI.
    performance_profile(scores, taus, ...) -- fraction of runs above each threshold, with CI.
    METRICS, DEFAULT_REPS, DEFAULT_CONFIDENCE -- names and defaults.

What each name means is rliable's (papers quote rliable's numbers): ``mean`` is the mean over
tasks of the per-task mean scores; ``median`` the *median over tasks of the per-task mean
scores* (so with one task it equals the mean); ``iqm`` the 25%-trimmed mean of all runs of
all tasks pooled; ``optimality_gap`` ``gamma - mean(min(scores, gamma))`` over all of them.
The median of the pooled runs -- robust to an outlier run within a task, which rliable's
median is not -- is ``pooled_median``, under its own name. ``tests/evaluate/
test_eval_stats.py`` holds reference numbers computed with rliable's own ``metrics.py`` on
fixed matrices.

Shapes follow rliable: ``scores`` is ``(runs, tasks)``. In ``rlvet eval`` a *run* is one
evaluation seed (the mean return of its episodes; ``unit = "episode"`` in the protocol makes
every episode a run, with seeds as the strata) and a *task* is one environment variant.

Why scipy and not rliable: rliable pins ``arch<8`` and Python <= 3.8 classifiers, and its
``random_state`` is ignored in favour of numpy's global RNG (STYLE.md's table), so its CIs
are not reproducible. ``scipy.stats.bootstrap`` with ``paired=False`` resamples every sample
it is given independently; giving it one sample per task *is* the stratified bootstrap
(runs resampled within each task). Each call gets a fresh ``Generator`` from the same seed,
so every aggregate (and every threshold of a profile) sees the same resamples -- common
random numbers: the intervals are mutually consistent and the same seed gives the same
bits whatever the order the metrics are asked in.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import cast

import numpy as np
from scipy import stats as sstats

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_REPS",
    "METRICS",
    "Interval",
    "aggregate_iqm",
    "aggregate_mean",
    "aggregate_median",
    "aggregate_optimality_gap",
    "aggregate_pooled_median",
    "interval_estimates",
    "performance_profile",
    "poi_interval",
    "probability_of_improvement",
]

DEFAULT_REPS = 2000
"""Bootstrap resamples: percentile CI endpoints at 95% move by well under 1% of the CI
width between reruns with 2000 resamples (rliable uses 50 000 for papers; rlvet's CIs are
reproducible by seed, so the Monte-Carlo error is fixed, not random)."""
DEFAULT_CONFIDENCE = 0.95
IQM_TRIM = 0.25  # interquartile mean: drop the lowest and highest 25% (Agarwal et al. 2021)
_RNG_KEYWORD = "rng" if "rng" in inspect.signature(sstats.bootstrap).parameters else "random_state"
"""scipy >= 1.15 calls the generator ``rng``; older releases ``random_state``."""

Seed = int | np.random.Generator


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate and its two-sided confidence interval (NaN when undefined)."""

    point: float
    low: float
    high: float

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def to_dict(self) -> dict[str, float]:
        """``{"point", "low", "high"}`` for JSON."""
        return {"point": self.point, "low": self.low, "high": self.high}


def _flat(scores: np.ndarray) -> np.ndarray:
    """(..., runs, tasks) -> (..., runs * tasks): aggregates pool all runs of all tasks."""
    return scores.reshape(*scores.shape[:-2], -1)


def aggregate_mean(scores: np.ndarray) -> np.ndarray:
    """Mean over tasks of the per-task mean scores (rliable's ``aggregate_mean``; equal to
    the pooled mean, every task having the same runs); ``scores`` (..., runs, tasks) -> (...)."""
    return cast(np.ndarray, scores.mean(axis=-2).mean(axis=-1))


def aggregate_median(scores: np.ndarray) -> np.ndarray:
    """Median over tasks of the per-task mean scores (rliable's ``aggregate_median``: with
    one task, the mean); ``scores`` (..., runs, tasks) -> (...)."""
    return cast(np.ndarray, np.median(scores.mean(axis=-2), axis=-1))


def aggregate_pooled_median(scores: np.ndarray) -> np.ndarray:
    """Median of every run of every task pooled -- robust to outlier runs, which rliable's
    ``median`` (of task means) is not; ``scores`` (..., runs, tasks) -> (...)."""
    return cast(np.ndarray, np.median(_flat(scores), axis=-1))


def aggregate_iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean over runs and tasks: robust to outlier runs, yet uses half the
    data (the median uses one point), so its CI is tighter (Agarwal et al. 2021).
    ``scores`` (..., runs, tasks) -> (...)."""
    return cast(np.ndarray, sstats.trim_mean(_flat(scores), IQM_TRIM, axis=-1))


def aggregate_optimality_gap(scores: np.ndarray, optimal: float) -> np.ndarray:
    """How far below ``optimal`` runs fall on average; scores above it count as optimal
    (so one run beyond the target cannot hide another's failure). Lower is better.
    ``scores`` (..., runs, tasks) -> (...)."""
    return cast(np.ndarray, (optimal - np.minimum(_flat(scores), optimal)).mean(axis=-1))


METRICS: Mapping[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": aggregate_mean,
    "median": aggregate_median,
    "pooled_median": aggregate_pooled_median,
    "iqm": aggregate_iqm,
}
"""Aggregates computed for every evaluation; the optimality gap joins when a target exists."""


def _seed_of(rng: Seed) -> int:
    """One integer seed: every bootstrap call starts a fresh Generator from it."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63 - 1))
    return int(rng)


def _as_scores(scores: np.ndarray | Sequence[float], name: str) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name}: expected a (runs, tasks) array, got shape {arr.shape}")
    return arr


def _bootstrap(samples: Sequence[np.ndarray], statistic: Callable[..., np.ndarray], *,
               seed: int, reps: int, confidence: float) -> tuple[float, float]:
    """Percentile CI of ``statistic(*samples)``, each sample resampled independently."""
    if any(s.shape[-1] < 2 for s in samples):
        return (float("nan"), float("nan"))  # one run: no spread to resample
    if all(np.ptp(s) == 0 for s in samples):
        value = float(statistic(*[s[None, :] for s in samples], axis=-1)[0])
        return (value, value)  # runs identical within every task (a saturated env): a point
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=sstats.DegenerateDataWarning)
        res = sstats.bootstrap(tuple(samples), statistic, n_resamples=reps, paired=False,
                               vectorized=True, axis=-1, confidence_level=confidence,
                               method="percentile",
                               **{_RNG_KEYWORD: np.random.default_rng(seed)})
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def _task_statistic(metric: Callable[[np.ndarray], np.ndarray]
                    ) -> Callable[..., np.ndarray]:
    """Wrap a (..., runs, tasks) aggregate as scipy's statistic over one sample per task."""

    def statistic(*per_task: np.ndarray, axis: int = -1) -> np.ndarray:
        return metric(np.stack(per_task, axis=-1))  # (batch, runs) each -> (batch, runs, tasks)

    return statistic


def interval_estimates(
    scores: np.ndarray | Sequence[float],
    *,
    optimal: float | None = None,
    reps: int = DEFAULT_REPS,
    confidence: float = DEFAULT_CONFIDENCE,
    rng: Seed = 0,
) -> dict[str, Interval]:
    """Mean, median, pooled median, IQM (and optimality gap when ``optimal`` is given) with
    stratified bootstrap CIs.

    Args:
        scores: (runs, tasks), or (runs,) for one task.
        optimal: target score of the optimality gap; None leaves the gap out.
        reps: bootstrap resamples.
        confidence: two-sided confidence level.
        rng: seed or Generator; the same seed gives bit-identical intervals.

    Example:
        >>> est = interval_estimates([1.0, 2.0, 3.0, 4.0], rng=0)
        >>> est["mean"].point
        2.5
    """
    arr = _as_scores(scores, "scores")
    metrics: dict[str, Callable[[np.ndarray], np.ndarray]] = dict(METRICS)
    if optimal is not None:
        metrics["optimality_gap"] = partial(aggregate_optimality_gap, optimal=optimal)
    seed = _seed_of(rng)
    samples = [arr[:, t] for t in range(arr.shape[1])]
    out = {}
    for name, metric in metrics.items():
        low, high = _bootstrap(samples, _task_statistic(metric), seed=seed, reps=reps,
                               confidence=confidence)
        out[name] = Interval(float(metric(arr)), low, high)
    return out


def _poi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 per task, averaged; x (..., runs_x, tasks), y (..., runs_y,
    tasks) -> (...). The U statistic divided by n_x * n_y (rliable's definition)."""
    u = sstats.mannwhitneyu(x, y, axis=-2, method="asymptotic").statistic  # (..., tasks)
    return cast(np.ndarray, (u / (x.shape[-2] * y.shape[-2])).mean(axis=-1))


def probability_of_improvement(x: np.ndarray | Sequence[float],
                               y: np.ndarray | Sequence[float]) -> float:
    """Probability that a run of X scores higher than a run of Y on the same task.

    Args:
        x: (runs_x, tasks) or (runs_x,).
        y: (runs_y, tasks) or (runs_y,), the same tasks.

    Example:
        >>> probability_of_improvement([3.0, 4.0], [1.0, 2.0])
        1.0
    """
    a, b = _as_scores(x, "x"), _as_scores(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x has {a.shape[1]} tasks and y {b.shape[1]}: compare the same tasks")
    return float(_poi(a, b))


def poi_interval(x: np.ndarray | Sequence[float], y: np.ndarray | Sequence[float], *,
                 reps: int = DEFAULT_REPS, confidence: float = DEFAULT_CONFIDENCE,
                 rng: Seed = 0) -> Interval:
    """``probability_of_improvement`` with a CI: X's and Y's runs are resampled
    independently within each task (rliable's ``StratifiedIndependentBootstrap``)."""
    a, b = _as_scores(x, "x"), _as_scores(y, "y")
    tasks = a.shape[1]
    if b.shape[1] != tasks:
        raise ValueError(f"x has {tasks} tasks and y {b.shape[1]}: compare the same tasks")

    def statistic(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        xs = np.stack(samples[:tasks], axis=-1)  # (batch, runs_x, tasks)
        ys = np.stack(samples[tasks:], axis=-1)  # (batch, runs_y, tasks)
        return _poi(xs, ys)

    samples = [a[:, t] for t in range(tasks)] + [b[:, t] for t in range(tasks)]
    low, high = _bootstrap(samples, statistic, seed=_seed_of(rng), reps=reps,
                           confidence=confidence)
    return Interval(float(_poi(a, b)), low, high)


def performance_profile(
    scores: np.ndarray | Sequence[float],
    taus: np.ndarray | Sequence[float],
    *,
    reps: int = DEFAULT_REPS,
    confidence: float = DEFAULT_CONFIDENCE,
    rng: Seed = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score distribution: the fraction of runs scoring above each threshold, with CIs.

    Args:
        scores: (runs, tasks) or (runs,).
        taus: (k,) thresholds.
        reps, confidence, rng: as in ``interval_estimates``; every threshold uses the same
            resamples, so the band is monotone like the curve.

    Returns:
        fraction, low, high: each (k,).
    """
    arr = _as_scores(scores, "scores")
    grid = np.asarray(taus, dtype=np.float64).reshape(-1)
    seed = _seed_of(rng)
    samples = [arr[:, t] for t in range(arr.shape[1])]
    fraction = np.array([(arr > tau).mean() for tau in grid])
    bands = [_bootstrap(samples, _task_statistic(partial(_fraction_above, tau=tau)),
                        seed=seed, reps=reps, confidence=confidence) for tau in grid]
    low, high = (np.array(b, dtype=np.float64) for b in zip(*bands, strict=True))
    return fraction, low, high


def _fraction_above(scores: np.ndarray, tau: float) -> np.ndarray:
    """Fraction of runs over ``tau``; ``scores`` (..., runs, tasks) -> (...)."""
    return cast(np.ndarray, (_flat(scores) > tau).mean(axis=-1))
