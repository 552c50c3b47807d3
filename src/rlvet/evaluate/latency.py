"""Pre-deployment inference latency: p50 and p99 of one batch-1 policy call.

Contents:
    Latency -- percentiles in milliseconds and the calls behind them.
    measure_latency(policy, observations, ...) -- time ``calls`` batch-1 calls.
    check_latency(latency, budget_ms) -- the ``latency_budget`` finding.
    WARMUP_CALLS -- untimed calls first.

Why batch 1 and p99: a deployed controller acts on one observation at a time and misses its
deadline on the slow calls, not the average one; a p99 over budget means about one step in
a hundred late. The calls use real observations from the evaluation (cycled), through the
same ``Policy`` wrapper the evaluation used, so normalisation and conversion are timed too.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

import numpy as np

from rlvet.evaluate.policies import Policy
from rlvet.findings import Category, Finding, Severity

__all__ = ["WARMUP_CALLS", "Latency", "check_latency", "measure_latency"]

WARMUP_CALLS = 20  # first calls pay for lazy init (torch kernels, caches); not deployment cost


@dataclass(frozen=True, slots=True)
class Latency:
    """Batch-1 inference time.

    Attributes:
        p50_ms, p99_ms, mean_ms, max_ms: over the timed calls, milliseconds.
        calls: timed calls.
    """

    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    calls: int

    def to_dict(self) -> dict[str, float | int]:
        """For JSON metrics."""
        return {"p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "mean_ms": self.mean_ms,
                "max_ms": self.max_ms, "calls": self.calls}


def measure_latency(policy: Policy, observations: np.ndarray, *, calls: int = 1000,
                    deterministic: bool = True, seed: int = 0) -> Latency:
    """Time ``calls`` single-observation calls.

    Args:
        policy: the evaluated policy.
        observations: (m, *obs_shape), cycled through; m >= 1.
        calls: timed calls (after ``WARMUP_CALLS`` untimed ones).
        deterministic: the protocol's action mode.
        seed: seed of the sampling Generator (sampled mode).

    Example:
        >>> obs = np.zeros((1, 4), np.float32)
        >>> measure_latency(policy, obs, calls=100).p99_ms  # doctest: +SKIP
        0.21
    """
    rngs = [np.random.default_rng(seed)]
    m = len(observations)
    for i in range(WARMUP_CALLS):
        policy(observations[i % m : i % m + 1], deterministic=deterministic, rngs=rngs)
    times = np.empty(calls)
    collecting = gc.isenabled()
    gc.disable()  # as timeit does: GC pauses follow the whole process's allocations
    try:
        for i in range(calls):
            obs = observations[i % m : i % m + 1]
            t0 = time.perf_counter_ns()
            policy(obs, deterministic=deterministic, rngs=rngs)
            times[i] = (time.perf_counter_ns() - t0) / 1e6
    finally:
        if collecting:
            gc.enable()
    return Latency(float(np.percentile(times, 50)), float(np.percentile(times, 99)),
                   float(times.mean()), float(times.max()), calls)


def check_latency(latency: Latency, budget_ms: float) -> list[Finding]:
    """``latency_budget`` (error: the policy cannot run at the deployment rate) when the p99
    exceeds ``budget_ms``."""
    if latency.p99_ms <= budget_ms:
        return []
    return [Finding.of(
        check="evaluate.latency.p99", category=Category.LATENCY_BUDGET,
        severity=Severity.ERROR,
        message=(f"batch-1 inference p99 is {latency.p99_ms:.3g} ms (p50 {latency.p50_ms:.3g} "
                 f"ms) against a budget of {budget_ms:g} ms: about one step in a hundred "
                 f"would miss its deadline"),
        evidence={**latency.to_dict(), "budget_ms": budget_ms})]
