"""Domain randomisation: parameter ranges split into buckets, and per-bucket returns.

Contents:
    Bucket -- one slice of the randomisation ranges.
    make_buckets(ranges, n) -- ``{"length": (0.25, 1.0)}`` and n -> n buckets.
    bucket_of(slot, env_index, envs_per_actor, n) -- which bucket an env is tied to.
    make_env(env_id, fixed=..., bucket=..., seed=...) -- a Gymnasium env with fixed
        parameter overrides (the shifted "real" variant) and/or per-reset resampling.
    apply_params(env, params) -- set physics parameters on the unwrapped env.
    BucketStats -- recent episode returns per bucket.
    check_bucket_variance(stats, step, buckets) -- the ``bucket_variance`` finding: the best
        and worst bucket's recent returns a large effect apart (Cohen's d, Welch's test).

Why buckets: a policy trained under randomisation can score well on average while failing
on part of the range (a short pole, low gravity). Averaging hides it; returns split by
bucket show it. Buckets slice every range jointly (bucket b takes the b-th equal slice of
each range), so n buckets stay n, not a grid of n^k; each env is tied to one bucket, and
its parameters are resampled within that bucket at every reset.

Parameters are attributes of the unwrapped env (CartPole's ``length``, ``masspole``;
Pendulum's ``g``, ``m``, ``l``): Gymnasium's classic-control constructors take almost none
of them, and reconstructing an env per episode would cost more than the episode. Derived
attributes are refreshed for the envs that cache them (CartPole's ``polemass_length`` and
``total_mass``; ``_DERIVED``). Fixed overrides may also be constructor kwargs.
"""

from __future__ import annotations

import inspect
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import gymnasium as gym
import numpy as np

from rlvet.errors import RlvetInputError
from rlvet.findings import Category, Finding, Severity

__all__ = [
    "BUCKET_EFFECT",
    "BUCKET_MIN_EPISODES",
    "Bucket",
    "BucketStats",
    "apply_params",
    "bucket_of",
    "check_bucket_variance",
    "make_buckets",
    "make_env",
]

BUCKET_WINDOW = 100  # recent episodes per bucket: the current policy, not its history
BUCKET_MIN_EPISODES = 10  # fewer episodes per bucket cannot separate buckets from noise
BUCKET_EFFECT = 1.0  # best and worst bucket means a pooled standard deviation or more apart
# (Cohen's d >= 1, a "large" effect): the bucket matters more than luck within it
BUCKET_P = 1e-3  # and Welch's t-test rejects "same mean" for that pair at 0.1%


@dataclass(frozen=True, slots=True)
class Bucket:
    """One slice of the randomisation: ``ranges`` maps parameter -> (low, high).

    A plain dict (not a MappingProxyType) so buckets pickle into actor processes.
    """

    index: int
    ranges: Mapping[str, tuple[float, float]]

    def sample(self, rng: np.random.Generator) -> dict[str, float]:
        """Draw each parameter uniformly inside this bucket's slice."""
        return {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in self.ranges.items()}

    def describe(self) -> str:
        """``length 0.05-0.10, masspole 0.1-0.2`` for messages."""
        return ", ".join(f"{k} {lo:.3g}-{hi:.3g}" for k, (lo, hi) in self.ranges.items())


def make_buckets(ranges: Mapping[str, Sequence[float]], n: int) -> tuple[Bucket, ...]:
    """Split each range into ``n`` equal slices; bucket b takes slice b of every range.

    Example:
        >>> [b.ranges["length"] for b in make_buckets({"length": (0.2, 1.0)}, 2)]
        [(0.2, 0.6), (0.6, 1.0)]
    """
    if not ranges:
        return ()
    edges = {k: np.linspace(float(lo), float(hi), n + 1) for k, (lo, hi) in ranges.items()}
    return tuple(
        Bucket(b, {k: (round(float(e[b]), 12), round(float(e[b + 1]), 12))
                   for k, e in edges.items()})
        for b in range(n))


def bucket_of(slot: int, env_index: int, envs_per_actor: int, n: int) -> int:
    """The bucket of env ``env_index`` of actor ``slot``: round-robin over all envs, so
    every bucket gets envs even with one actor, and a restarted actor keeps its buckets."""
    return (slot * envs_per_actor + env_index) % max(n, 1)


def _refresh_cartpole(env: Any) -> None:
    env.polemass_length = env.masspole * env.length
    env.total_mass = env.masspole + env.masscart


_DERIVED: Mapping[str, Callable[[Any], None]] = MappingProxyType(
    {"CartPoleEnv": _refresh_cartpole})
"""Unwrapped env class name -> recompute attributes cached from the randomised ones."""


def _numeric_attributes(env: Any) -> list[str]:
    return sorted(k for k, v in vars(env).items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool)
                  and not k.startswith("_"))


def apply_params(env: gym.Env, params: Mapping[str, float]) -> None:
    """Set physics parameters on ``env.unwrapped`` and refresh cached derived ones.

    Raises:
        RlvetInputError: the env has no such numeric attribute.
    """
    base = env.unwrapped
    for key, value in params.items():
        current = getattr(base, key, None)
        if isinstance(current, bool) or not isinstance(current, (int, float, np.floating)):
            raise RlvetInputError(
                f"{env.spec.id if env.spec else type(base).__name__} has no numeric "
                f"parameter {key!r}; numeric attributes: "
                f"{', '.join(_numeric_attributes(base)) or 'none'}")
        setattr(base, key, type(current)(value) if isinstance(current, int) else float(value))
    refresh = _DERIVED.get(type(base).__name__)
    if refresh is not None:
        refresh(base)


class _Randomized(gym.Wrapper):
    """Resample the bucket's parameters at every reset (before the reset draws the state)."""

    def __init__(self, env: gym.Env, bucket: Bucket, seed: int) -> None:
        super().__init__(env)
        self.bucket = bucket
        self.param_rng = np.random.default_rng(seed)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        params = self.bucket.sample(self.param_rng)
        apply_params(self.env, params)
        obs, info = self.env.reset(**kwargs)
        return obs, {**info, "bucket": self.bucket.index, "params": params}


def _constructor_keys(env_id: str) -> set[str]:
    """Keyword arguments the env's constructor accepts (empty if it cannot be inspected)."""
    try:
        spec = gym.spec(env_id)
        creator = (gym.envs.registration.load_env_creator(spec.entry_point)
                   if isinstance(spec.entry_point, str) else spec.entry_point)
        if creator is None:
            return set()
        return set(inspect.signature(creator).parameters)
    except (gym.error.Error, ValueError, TypeError, AttributeError, ImportError):
        return set()


def make_env(env_id: str, *, fixed: Mapping[str, Any] | None = None,
             bucket: Bucket | None = None, seed: int = 0) -> gym.Env:
    """Build ``env_id`` with fixed overrides and optional per-reset bucket sampling.

    Args:
        env_id: Gymnasium id.
        fixed: overrides for the whole life of the env: constructor kwargs where the
            constructor takes them, otherwise attributes of the unwrapped env.
        bucket: resample these parameter slices at every reset.
        seed: seed of the parameter sampler (the env's own RNG is seeded by ``reset``).

    Raises:
        RlvetInputError: unknown env id or parameter.
    """
    fixed = dict(fixed or {})
    ctor = _constructor_keys(env_id)
    try:
        env = gym.make(env_id, **{k: v for k, v in fixed.items() if k in ctor})
    except gym.error.Error as exc:
        raise RlvetInputError(f"{env_id}: cannot make the env ({exc})") from None
    attrs = {k: v for k, v in fixed.items() if k not in ctor}
    if attrs:
        apply_params(env, attrs)
    if bucket is not None and bucket.ranges:
        env = _Randomized(env, bucket, seed)
    return env


class BucketStats:
    """The last ``BUCKET_WINDOW`` episode returns of each bucket."""

    def __init__(self, n: int) -> None:
        self.returns: dict[int, deque[float]] = {b: deque(maxlen=BUCKET_WINDOW)
                                                 for b in range(n)}

    def add(self, bucket: int, ret: float) -> None:
        """Record one finished episode."""
        self.returns.setdefault(bucket, deque(maxlen=BUCKET_WINDOW)).append(ret)

    def means(self) -> dict[int, float]:
        """Mean recent return per bucket that has episodes."""
        return {b: float(np.mean(r)) for b, r in self.returns.items() if r}

    def summary(self) -> dict[str, dict[str, float]]:
        """Per bucket: episodes in the window, mean and std of their returns."""
        return {str(b): {"episodes": len(r), "mean": float(np.mean(r)),
                         "std": float(np.std(r))}
                for b, r in self.returns.items() if r}


def _eta_squared(groups: list[np.ndarray]) -> float:
    """Share of the return variance explained by the bucket (one-way ANOVA effect size)."""
    pooled = np.concatenate(groups)
    total = float(np.sum((pooled - pooled.mean()) ** 2))
    between = float(sum(len(g) * (g.mean() - pooled.mean()) ** 2 for g in groups))
    return between / total if total > 0 else 0.0


def _effect(best: np.ndarray, worst: np.ndarray) -> tuple[float, float]:
    """(Cohen's d, Welch p-value) of best vs worst bucket; d is inf for two constant buckets
    with different means (a policy that always scores 500 on one and 9 on the other)."""
    gap = float(best.mean() - worst.mean())
    sd = float(np.sqrt((best.var(ddof=1) + worst.var(ddof=1)) / 2))
    if sd == 0.0:
        return (math.inf, 0.0) if gap > 0 else (0.0, 1.0)
    from scipy import stats as sstats  # here: actor processes import this module, and
    # scipy.stats takes ~0.7 s to import

    p = float(sstats.ttest_ind(best, worst, equal_var=False).pvalue)
    return gap / sd, p


def check_bucket_variance(stats: BucketStats, step: int,
                          buckets: Sequence[Bucket]) -> list[Finding]:
    """``bucket_variance`` when the best and worst bucket differ by a large, significant effect.

    Needs ``BUCKET_MIN_EPISODES`` recent episodes in at least two buckets.
    """
    groups = {b: np.asarray(r, dtype=np.float64) for b, r in stats.returns.items()
              if len(r) >= BUCKET_MIN_EPISODES}
    if len(groups) < 2:
        return []
    means = {b: float(g.mean()) for b, g in groups.items()}
    worst, best = min(means, key=means.__getitem__), max(means, key=means.__getitem__)
    d, p = _effect(groups[best], groups[worst])
    if d < BUCKET_EFFECT or p > BUCKET_P:
        return []
    eta2 = _eta_squared(list(groups.values()))
    names = {bk.index: bk.describe() for bk in buckets}
    message = (
        f"episode returns depend on the randomisation bucket: bucket {worst} "
        f"({names.get(worst, '?')}) averages {means[worst]:.3g} against {means[best]:.3g} "
        f"in bucket {best} ({names.get(best, '?')}), {d:.2g} standard deviations apart; the "
        f"policy does not cover part of the randomisation range")
    return [Finding.of(
        check="pipeline.domain_rand.bucket_variance", category=Category.BUCKET_VARIANCE,
        severity=Severity.WARNING, message=message,
        evidence={"cohens_d": d, "p_value": p, "eta_squared": eta2,
                  "bucket_means": {str(b): m for b, m in means.items()},
                  "episodes": {str(b): int(g.size) for b, g in groups.items()},
                  "ranges": {str(bk.index): dict(bk.ranges) for bk in buckets}},
        step=step)]
