"""Pre-deployment inference latency: p50 and p99 of one batch-1 policy call, repeated.

Contents:
    Latency -- percentiles in milliseconds, the p99's interval over repetitions, host load.
    measure_latency(policy, observations, ...) -- ``repeats`` blocks of ``calls`` batch-1 calls.
    latency_answer(latency, budget_ms) -- ``pass`` / ``fail`` / ``unknown`` by the rule below.
    check_latency(latency, budget_ms) -- the ``latency_budget`` finding, or
        ``insufficient_evidence`` when the interval straddles the budget.
    WARMUP_CALLS, LATENCY_REPEATS -- untimed calls first; blocks timed.

Why batch 1 and p99: a deployed controller acts on one observation at a time and misses its
deadline on the slow calls, not the average one; a p99 over budget means about one step in
a hundred late. The calls use real observations from the evaluation (cycled), through the
same ``Policy`` wrapper the evaluation used, so normalisation and conversion are timed too.

Why repetitions: on a shared host one p99 moves with whatever else runs (4.6 ms, then 8.5 ms
on the same model minutes apart). The calls are timed in ``LATENCY_REPEATS`` blocks; the
reported p99 is the median of the blocks' p99s and its interval runs from the lowest to the
highest block p99 -- a distribution-free interval for that median with confidence
``1 - 2 ** (1 - repeats)`` (93.75% for 5 blocks; the sign test's order-statistic bound).
The rule: pass only when the whole interval is within the budget, fail only when the whole
interval is over it, otherwise the measurement cannot decide (``unknown``). The host's
one-minute load average (before and after, the larger) is recorded beside it.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field

import numpy as np

from rlvet.evaluate.policies import Policy
from rlvet.findings import Category, Finding, Severity, Stage

__all__ = ["LATENCY_REPEATS", "WARMUP_CALLS", "Latency", "check_latency", "latency_answer",
           "measure_latency"]

WARMUP_CALLS = 20  # first calls pay for lazy init (torch kernels, caches); not deployment cost
LATENCY_REPEATS = 5
"""Blocks timed: with 5, the min-max interval of the block p99s covers their median with
93.75% confidence; more blocks cost time without changing the rule."""


def interval_confidence(repeats: int) -> float:
    """Coverage of the min-max interval of ``repeats`` blocks for their median."""
    return 1.0 - 2.0 ** (1 - repeats) if repeats >= 2 else float("nan")


def _host_load() -> float | None:
    """The one-minute load average (None where the OS has none, e.g. Windows)."""
    try:
        return float(os.getloadavg()[0])
    except (OSError, AttributeError):
        return None


@dataclass(frozen=True, slots=True)
class Latency:
    """Batch-1 inference time.

    Attributes:
        p50_ms, p99_ms: medians over the blocks of each block's p50 / p99, milliseconds.
        mean_ms, max_ms: over every timed call.
        calls: timed calls per block.
        p99_low_ms, p99_high_ms: the lowest and highest block p99 (the interval).
        repeats: blocks timed.
        host_load: the host's one-minute load average around the timing (None: unknown).
        cpus: the host's CPU count.
    """

    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    calls: int
    p99_low_ms: float = float("nan")
    p99_high_ms: float = float("nan")
    repeats: int = 1
    host_load: float | None = None
    cpus: int | None = field(default_factory=os.cpu_count)

    @property
    def confidence(self) -> float:
        """Coverage of ``[p99_low_ms, p99_high_ms]``."""
        return interval_confidence(self.repeats)

    def to_dict(self) -> dict[str, float | int | None]:
        """For JSON metrics."""
        return {"p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "mean_ms": self.mean_ms,
                "max_ms": self.max_ms, "calls": self.calls, "p99_low_ms": self.p99_low_ms,
                "p99_high_ms": self.p99_high_ms, "repeats": self.repeats,
                "confidence": self.confidence, "host_load": self.host_load, "cpus": self.cpus}


def _time_block(policy: Policy, observations: np.ndarray, calls: int, start: int, *,
                deterministic: bool, rngs: list[np.random.Generator]) -> np.ndarray:
    m = len(observations)
    times = np.empty(calls)
    for i in range(calls):
        j = (start + i) % m
        obs = observations[j : j + 1]
        t0 = time.perf_counter_ns()
        policy(obs, deterministic=deterministic, rngs=rngs)
        times[i] = (time.perf_counter_ns() - t0) / 1e6
    return times


def measure_latency(policy: Policy, observations: np.ndarray, *, calls: int = 1000,
                    repeats: int = LATENCY_REPEATS, deterministic: bool = True,
                    seed: int = 0) -> Latency:
    """Time ``repeats`` blocks of ``calls`` single-observation calls.

    Args:
        policy: the evaluated policy.
        observations: (m, *obs_shape), cycled through; m >= 1.
        calls: timed calls per block (after ``WARMUP_CALLS`` untimed ones).
        repeats: blocks; the p99's interval spans their p99s.
        deterministic: the protocol's action mode.
        seed: seed of the sampling Generator (sampled mode).

    Example:
        >>> obs = np.zeros((1, 4), np.float32)
        >>> lat = measure_latency(policy, obs, calls=100)  # doctest: +SKIP
        >>> lat.p99_low_ms <= lat.p99_ms <= lat.p99_high_ms  # doctest: +SKIP
        True
    """
    if calls < 1 or repeats < 1:
        raise ValueError(f"calls and repeats must be >= 1, got {calls} and {repeats}")
    rngs = [np.random.default_rng(seed)]
    m = len(observations)
    for i in range(WARMUP_CALLS):
        policy(observations[i % m : i % m + 1], deterministic=deterministic, rngs=rngs)
    loads = [_host_load()]
    blocks = []
    collecting = gc.isenabled()
    gc.disable()  # as timeit does: GC pauses follow the whole process's allocations
    try:
        for r in range(repeats):
            blocks.append(_time_block(policy, observations, calls, r * calls,
                                      deterministic=deterministic, rngs=rngs))
    finally:
        if collecting:
            gc.enable()
    loads.append(_host_load())
    times = np.stack(blocks)  # (repeats, calls)
    p99s = np.percentile(times, 99, axis=1)
    known = [x for x in loads if x is not None]
    return Latency(float(np.median(np.percentile(times, 50, axis=1))), float(np.median(p99s)),
                   float(times.mean()), float(times.max()), calls,
                   p99_low_ms=float(p99s.min()), p99_high_ms=float(p99s.max()),
                   repeats=repeats, host_load=max(known) if known else None)


def latency_answer(latency: Latency, budget_ms: float) -> str:
    """``pass`` (the whole p99 interval within the budget), ``fail`` (all of it over), else
    ``unknown``. One block (no interval) decides on the p99 itself."""
    low, high = latency.p99_low_ms, latency.p99_high_ms
    if latency.repeats < 2 or not (np.isfinite(low) and np.isfinite(high)):
        low = high = latency.p99_ms
    if high <= budget_ms:
        return "pass"
    return "fail" if low > budget_ms else "unknown"


def _load_text(latency: Latency) -> str:
    if latency.host_load is None:
        return "host load unknown"
    return f"host load {latency.host_load:.2f} on {latency.cpus or '?'} CPUs"


def check_latency(latency: Latency, budget_ms: float) -> list[Finding]:
    """``latency_budget`` (error: the policy cannot run at the deployment rate) when the
    whole p99 interval exceeds ``budget_ms``; ``insufficient_evidence`` (info) when it
    straddles the budget."""
    answer = latency_answer(latency, budget_ms)
    if answer == "pass":
        return []
    interval = (f"p99 {latency.p99_ms:.3g} ms ({latency.confidence:.1%} interval "
                f"{latency.p99_low_ms:.3g}-{latency.p99_high_ms:.3g} ms over {latency.repeats} "
                f"blocks of {latency.calls} calls; {_load_text(latency)})")
    evidence = {**latency.to_dict(), "budget_ms": budget_ms}
    if answer == "unknown":
        return [Finding.of(
            Category.INSUFFICIENT_EVIDENCE, check="evaluate.latency.p99",
            stage=Stage.RESOURCES,
            message=(f"batch-1 inference {interval} straddles the budget of {budget_ms:g} ms: "
                     "the timing varies with the machine's load more than it is above or "
                     "below the budget, so it decides nothing"),
            remedy="measure on an idle machine like the deployment target, or raise "
                   "latency_calls in [deploy]",
            evidence=evidence)]
    return [Finding.of(
        Category.LATENCY_BUDGET, check="evaluate.latency.p99", severity=Severity.ERROR,
        message=(f"batch-1 inference {interval} is over the budget of {budget_ms:g} ms in "
                 f"every block: about one step in a hundred would miss its deadline"),
        evidence=evidence)]
