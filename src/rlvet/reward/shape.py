"""The reward's distribution: does it separate samples at all, and evenly?

Contents:
    shape_stats(rewards, steps) -- the numbers behind the shape verdict (metrics["shape"]).
    check_sparsity(ctx) -- almost every sample at the floor (usually 0): nothing to learn from.
    check_too_loose(ctx) -- almost every sample at the maximum from the start: the reward
        pays everything, so it cannot tell good from bad.
    check_long_tail(ctx) -- a few samples carry most of the reward variance: they dominate
        the gradient.

Why: a policy gradient learns from reward *differences*. With 95% zeros, most GRPO groups
are all-zero and teach nothing (the DAPO paper's motivation for dynamic sampling); with
95% at the maximum the same happens at the top. A long tail is the opposite failure: one
sample with reward 80 among rewards near 1 sets the batch's advantage scale by itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rlvet.findings import Category, Finding, Severity
from rlvet.reward.context import AuditContext, make_finding
from rlvet.reward.table import REWARD

__all__ = [
    "MIN_SAMPLES",
    "NEAR",
    "LOOSE_EARLY_ERROR",
    "LOOSE_EARLY_WARNING",
    "LOOSE_SHARE_ERROR",
    "LOOSE_SHARE_WARNING",
    "SPARSE_SHARE_ERROR",
    "SPARSE_SHARE_WARNING",
    "TAIL_MIN_DISTINCT",
    "TAIL_MIN_SAMPLES",
    "TAIL_SHARE_ERROR",
    "TAIL_SHARE_WARNING",
    "TAIL_TOP",
    "TAIL_Z",
    "check_long_tail",
    "check_sparsity",
    "check_too_loose",
    "shape_stats",
]

MIN_SAMPLES = 20  # fewer samples cannot tell "almost all" (90%) from a run of luck
SPARSE_SHARE_ERROR = 0.9  # 90% of samples at the floor: most groups are all-floor, no signal
SPARSE_SHARE_WARNING = 0.75  # 3 in 4 at the floor for the whole run: learning is starved
LOOSE_SHARE_ERROR = 0.9  # 90% of samples at the maximum ...
LOOSE_SHARE_WARNING = 0.8
LOOSE_EARLY_ERROR = 0.85  # ... already in the first third of the run: paid before learning,
LOOSE_EARLY_WARNING = 0.7  # so a healthy run that *converges* to the maximum is left alone
TAIL_TOP = 0.01  # the top 1% of samples by |reward - mean| ...
TAIL_SHARE_ERROR = 0.5  # ... carry half of the reward's variance: they set the advantage scale
TAIL_SHARE_WARNING = 0.25  # a quarter (a Gaussian's top 1% carry ~8%)
TAIL_Z = 6.0  # and the largest lies 6 robust sd (MAD) from the median: real outliers
TAIL_MIN_SAMPLES = 50  # fewer samples cannot show a 1% tail
TAIL_MIN_DISTINCT = 10  # a binary/graded reward has no tail, only sparsity
_SAME = 1e-6  # "the same reward value", relative to the reward range (the mode)
NEAR = 0.01  # "at the floor / at the maximum": within 1% of the central 98% range of the
# rewards, so a judge's 0.991 and 0.995 both count as "full marks" (the central range, not
# max - min: one outlier at 80 must not make everything "the same value")


def _mode(rewards: np.ndarray) -> tuple[float, float]:
    """``(value, share)`` of the most common reward value (within ``_SAME``)."""
    unit = _SAME * max(1.0, float(np.ptp(rewards)))
    keys = np.round(rewards / unit).astype(np.int64)
    values, counts = np.unique(keys, return_counts=True)
    i = int(np.argmax(counts))
    return float(values[i] * unit), float(counts[i] / rewards.size)


def _share_at(rewards: np.ndarray, value: float, span: float) -> float:
    """Share of rewards within ``NEAR`` of the span ``span`` from ``value``."""
    if rewards.size == 0:
        return 0.0
    tol = NEAR * span if span > 0 else _SAME
    return float(np.mean(np.abs(rewards - value) <= tol))


def _tail_stats(rewards: np.ndarray) -> tuple[float, float]:
    """``(share of variance in the top TAIL_TOP, robust z of the largest deviation)``."""
    dev = rewards - rewards.mean()
    sq = np.sort(dev**2)[::-1]
    total = float(sq.sum())
    k = max(1, math.ceil(TAIL_TOP * rewards.size))
    share = float(sq[:k].sum() / total) if total > 0 else 0.0
    med = float(np.median(rewards))
    mad = 1.4826 * float(np.median(np.abs(rewards - med)))
    z = float(np.max(np.abs(rewards - med)) / mad) if mad > 0 else math.inf
    return share, z


def shape_stats(rewards: np.ndarray, steps: np.ndarray) -> dict[str, Any]:
    """Distribution summary of the rewards (n,) sampled at ``steps`` (n,)."""
    lo, hi = float(rewards.min()), float(rewards.max())
    distinct = np.unique(steps)
    k = max(1, distinct.size // 3)
    early, late = np.isin(steps, distinct[:k]), np.isin(steps, distinct[-k:])
    central = float(np.quantile(rewards, 0.99) - np.quantile(rewards, 0.01))
    span = central if central > 0 else hi - lo
    mode, mode_share = _mode(rewards)
    zero_first = lo <= 0.0 <= hi and _share_at(rewards, 0.0, span) >= _share_at(rewards, lo, span)
    floor = 0.0 if zero_first else lo
    tail_share, tail_z = _tail_stats(rewards)
    return {
        "n": int(rewards.size), "mean": float(rewards.mean()), "std": float(rewards.std()),
        "min": lo, "max": hi, "median": float(np.median(rewards)),
        "p01": float(np.quantile(rewards, 0.01)), "p99": float(np.quantile(rewards, 0.99)),
        "distinct": int(np.unique(rewards).size), "mode": mode, "mode_share": mode_share,
        "floor": floor, "share_at_floor": _share_at(rewards, floor, span),
        "share_at_floor_late": _share_at(rewards[late], floor, span),
        "share_at_max": _share_at(rewards, hi, span),
        "share_at_max_early": _share_at(rewards[early], hi, span),
        "tail_top1pct_variance_share": tail_share, "tail_max_robust_z": tail_z,
    }


def _stats(ctx: AuditContext) -> dict[str, Any]:
    return shape_stats(ctx.table.get(REWARD), ctx.table.steps)


def check_sparsity(ctx: AuditContext) -> list[Finding]:
    """Error when ``SPARSE_SHARE_ERROR`` of the samples sit at the floor value; warning at
    ``SPARSE_SHARE_WARNING`` if the last third of the run is still that sparse.

    The floor is 0 when 0 is the most common low value, else the minimum: a reward of -1
    for failure is as sparse as a reward of 0. A constant positive reward is "too loose".
    """
    s = _stats(ctx)
    share, late = s["share_at_floor"], s["share_at_floor_late"]
    constant_positive = s["min"] == s["max"] and s["min"] > 0
    if s["n"] < MIN_SAMPLES or constant_positive or share < SPARSE_SHARE_WARNING:
        return []
    if share < SPARSE_SHARE_ERROR and late < SPARSE_SHARE_WARNING:
        return []  # sparse early, then learning: the run found the signal
    severity = Severity.ERROR if share >= SPARSE_SHARE_ERROR else Severity.WARNING
    evidence = {k: s[k] for k in ("n", "floor", "share_at_floor", "share_at_floor_late",
                                  "distinct", "mean")}
    message = (
        f"{share:.0%} of {s['n']} rewards equal {s['floor']:.3g} ({late:.0%} in the last "
        f"third of the run): almost no sample scores differently, so group-relative "
        f"advantages are ~0 and the policy gradient has nothing to learn from"
    )
    return [make_finding("shape.sparsity", Category.REWARD_SPARSITY, severity, message,
                         evidence, ctx.first_step)]


def check_too_loose(ctx: AuditContext) -> list[Finding]:
    """Error when ``LOOSE_SHARE_ERROR`` of all samples, and ``LOOSE_EARLY_ERROR`` of the
    first third, get the maximum reward: it was paid before the policy learned anything."""
    s = _stats(ctx)
    share, early = s["share_at_max"], s["share_at_max_early"]
    if (s["n"] < MIN_SAMPLES or s["max"] <= 0 or share < LOOSE_SHARE_WARNING
            or early < LOOSE_EARLY_WARNING):
        return []
    error = share >= LOOSE_SHARE_ERROR and early >= LOOSE_EARLY_ERROR
    evidence = {k: s[k] for k in ("n", "max", "share_at_max", "share_at_max_early",
                                  "distinct", "mean")}
    message = (
        f"{share:.0%} of {s['n']} rewards are at the maximum {s['max']:.3g}, {early:.0%} "
        f"already in the first third of the run: the reward pays almost every sample, so "
        f"it cannot separate good from bad completions"
    )
    return [make_finding("shape.too_loose", Category.REWARD_TOO_LOOSE,
                         Severity.ERROR if error else Severity.WARNING, message, evidence,
                         ctx.first_step)]


def check_long_tail(ctx: AuditContext) -> list[Finding]:
    """The top ``TAIL_TOP`` of samples carry ``TAIL_SHARE_ERROR`` of the variance and the
    largest is ``TAIL_Z`` robust sd out. Continuous rewards only (``TAIL_MIN_DISTINCT``),
    and not a sparse or saturated one: there the few differing samples *are* the signal."""
    s = _stats(ctx)
    share, z = s["tail_top1pct_variance_share"], s["tail_max_robust_z"]
    piled = s["share_at_floor"] >= SPARSE_SHARE_WARNING or s["share_at_max"] >= \
        LOOSE_SHARE_WARNING
    if (s["n"] < TAIL_MIN_SAMPLES or s["distinct"] < TAIL_MIN_DISTINCT or piled
            or share < TAIL_SHARE_WARNING or z < TAIL_Z):
        return []
    rewards = ctx.table.get(REWARD)
    worst = int(np.argmax(np.abs(rewards - rewards.mean())))
    evidence = {"n": s["n"], "top1pct_variance_share": share, "max_robust_z": z,
                "median": s["median"], "p99": s["p99"], "max": s["max"], "min": s["min"],
                "extreme_sample": ctx.table.ids[worst],
                "extreme_reward": float(rewards[worst])}
    message = (
        f"the top 1% of {s['n']} samples carry {share:.0%} of the reward variance (the most "
        f"extreme, id {ctx.table.ids[worst]}, scores {rewards[worst]:.4g} against a median of "
        f"{s['median']:.3g}, {z:.0f} robust sd out): a few samples set the advantage scale "
        f"and dominate the gradient"
    )
    severity = Severity.ERROR if share >= TAIL_SHARE_ERROR else Severity.WARNING
    return [make_finding("shape.long_tail", Category.REWARD_LONG_TAIL, severity, message,
                         evidence, int(ctx.table.steps[worst]))]
