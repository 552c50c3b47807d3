"""The resources link, memory: does the process keep growing, is the GPU cache bloated?

Contents:
    detect_memory_growth(run, ctx) -- CUDA allocated memory, the malloc heap or the RSS
        rises steadily after warm-up and is still rising at the end.
    detect_fragmentation(run, ctx) -- the CUDA caching allocator reserves far more than the
        tensors in use, for a sustained stretch.

Why "after warm-up" and "still rising": every healthy run grows at first (the allocator's
caches, a replay buffer filling, lazy initialisation, the first evaluation) and then stays
flat. A leak (tensors kept in a list, a growing history of losses that still hold their
graphs, an env that never frees its renders) grows in proportion to the iterations and
never stops. So the trend is judged after the first ``WARMUP_FRACTION`` of the run, must
be monotone (Spearman), must be material, and must be spread out: from each quarter of
the stretch to the next, the median must rise by at least ``SPREAD_FRACTION`` of the
growth. One jump (an evaluation env built mid-run, a buffer allocated once) moves at most
two of those three steps; a plateau after growth adds nothing in the last one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rlvet import stats
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = ["detect_fragmentation", "detect_memory_growth"]

WARMUP_FRACTION = 0.25  # the first quarter of the points: caches and buffers filling
MIN_TREND_POINTS = 8  # a monotone trend over fewer points is a coincidence
GROWTH_RHO = 0.8  # Spearman rank correlation with the step: rising, not wobbling
GROWTH_MIN_FRACTION = 0.1  # grew by 10% of its post-warm-up level ...
GROWTH_MIN_MIB = 16.0  # ... and by 16 MiB: below that, allocator and page-cache noise
GROWTH_ERROR_FRACTION = 1.0  # doubled since warm-up and still growing: it will run out
SPREAD_FRACTION = 0.1  # each quarter-to-quarter step adds >= 10% of the growth (a steady
# leak: ~25% each; a single jump: 0 in at least one)
LATE_WINDOWS = (0.5, 0.33)  # a leak that starts in the second half or the last third
# (tuning half: SB3 PPO leaking 3 KiB per step from 75% of the run grew 36 MiB by the end)
FRAGMENT_RATIO = 1.5  # reserved >= 1.5x allocated ...
FRAGMENT_MIN_MIB = 1024.0  # ... and >= 1 GiB unused in the cache: enough to cause an OOM
# that the tensors alone would not


def _growth(steps: np.ndarray, mib: np.ndarray) -> dict[str, Any] | None:
    """The trend evidence when ``mib`` leaks (None when it does not)."""
    start = max(stats.MIN_BASELINE_POINTS, int(WARMUP_FRACTION * mib.size))
    x, y = steps[start:], mib[start:]
    if y.size < MIN_TREND_POINTS:
        return None
    whole = stats.trend(x, y)
    level = float(np.median(y[: stats.MIN_BASELINE_POINTS]))
    grown = whole.slope * float(x[-1] - x[0])
    material = max(GROWTH_MIN_MIB, GROWTH_MIN_FRACTION * level)
    if whole.rho < GROWTH_RHO or grown < material:
        return None
    steps_up = np.diff([float(np.median(part)) for part in np.array_split(y, 4)])
    if (steps_up < SPREAD_FRACTION * grown).any():
        return None
    first = int(np.argmax(y >= level + material / 2))  # 0 if never above: the stretch start
    return {"onset_step": int(x[first]), "level_after_warmup_mib": level,
            "final_mib": float(y[-1]), "growth_mib": grown, "growth_fraction": grown / level,
            "slope_mib_per_1k_steps": 1000 * whole.slope,
            "rise_between_quarters_mib": [float(v) for v in steps_up], "spearman_rho": whole.rho,
            "warmup_points": start}


def _late_or_whole_growth(steps: np.ndarray, mib: np.ndarray) -> dict[str, Any] | None:
    """Growth over the run after warm-up, else over its last ``LATE_WINDOWS`` part.

    Why: a leak that starts late (a code path reached only once the policy is good, an
    evaluation that starts rendering) is flat for most of the run, so the whole stretch is
    not "spread out"; the part after its start is. Each window gets the same rules
    (warm-up of its own first quarter, monotone, material, spread over its quarters).
    """
    for share in (1.0, *LATE_WINDOWS):
        first = int(round((1.0 - share) * mib.size))
        ev = _growth(steps[first:], mib[first:])
        if ev is not None:
            return {**ev, "window_share": share}
    return None


def detect_memory_growth(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Sustained growth of CUDA allocated memory, the heap or the RSS (module docstring).

    The heap comes before RSS: freed pages that a process refills hide a leak from RSS.
    """
    found = []
    for signal, what in ((names.CUDA_ALLOCATED_MIB, "CUDA allocated memory"),
                         (names.HEAP_MIB, "the malloc heap in use"),
                         (names.RSS_MIB, "process RSS")):
        steps, mib = stats.finite(run.get(signal))
        ev = _late_or_whole_growth(steps, mib)
        if ev is None:
            continue
        severe = ev["growth_fraction"] >= GROWTH_ERROR_FRACTION
        message = (
            f"{what} grew from {ev['level_after_warmup_mib']:.0f} to {ev['final_mib']:.0f} MiB "
            f"after warm-up ({ev['slope_mib_per_1k_steps']:.3g} MiB per 1k steps, rank "
            f"correlation {ev['spearman_rho']:.2f}) and is still rising: a leak (tensors or "
            "graphs kept across iterations, a growing buffer or history) that ends in an OOM")
        found.append(prescribe(Category.MEMORY_GROWTH,
                               severity=Severity.ERROR if severe else Severity.WARNING,
                               message=message, evidence={"signal": signal, **ev},
                               step=int(ev["onset_step"])))
        break  # one is enough: a leak shows in the first of them that sees it
    return found


def detect_fragmentation(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """CUDA reserved memory far above allocated, persistently (see module docstring)."""
    s_alloc, alloc = stats.finite(run.get(names.CUDA_ALLOCATED_MIB))
    s_res, reserved = stats.finite(run.get(names.CUDA_RESERVED_MIB))
    if alloc.size < stats.PERSIST_WINDOW or reserved.size < stats.PERSIST_WINDOW:
        return []
    held = stats.sample_at(s_alloc, alloc, s_res)
    ok = np.isfinite(held)
    steps, reserved, held = s_res[ok], reserved[ok], held[ok]
    idle = reserved - held
    mask = (idle >= FRAGMENT_MIN_MIB) & (reserved >= FRAGMENT_RATIO * np.maximum(held, 1.0))
    i = stats.persistent_onset(mask)
    if i is None:
        return []
    tail = slice(i, None)
    worst = int(np.argmax(idle[tail])) + i
    message = (
        f"the CUDA caching allocator holds {reserved[worst]:.0f} MiB for {held[worst]:.0f} MiB "
        f"of tensors ({idle[worst]:.0f} MiB idle) from step {steps[i]}: fragmentation from "
        "varying tensor shapes (sequence lengths, batch sizes) makes OOMs with free memory")
    evidence = {"onset_step": int(steps[i]), "reserved_mib": float(reserved[worst]),
                "allocated_mib": float(held[worst]), "idle_mib": float(idle[worst]),
                "share_of_points": float(mask[tail].mean()), "ratio_threshold": FRAGMENT_RATIO,
                "idle_threshold_mib": FRAGMENT_MIN_MIB}
    return [prescribe(Category.FRAGMENTATION, severity=Severity.WARNING, message=message,
                      evidence=evidence, step=int(steps[i]))]
