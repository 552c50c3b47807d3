"""The resources link: does the run keep its speed?

Contents:
    detect_throughput_drop(run, ctx) -- steps per second fall below half of their early
        level and stay there to the end of the run (an error when they end below a quarter).
    interval_rates(steps, fps, span) -- steps/s over windows, from a cumulative fps series.

Why: a run that slows down over time is usually an env that leaks or gets throttled, a
buffer or log that grows with the run, or contention on the host; it costs compute long
before it shows in the curves. Two traps make naive rules misfire:

* SB3's ``time/fps`` and CleanRL's ``charts/SPS`` are *cumulative* averages since the
  start (steps / elapsed time): they react late and smear the drop. When a series looks
  cumulative (the implied elapsed time ``steps / fps`` never goes backwards), it is turned
  back into rates over windows of ``RATE_WINDOW`` of the run.
* Before the first update an off-policy learner only acts (DQN's ``learning_starts``), at
  10x the speed it will train at. The early level is taken from the points logged after
  the first update signal appears (``is_update_signal``: SAC's ``train/actor_loss`` too).
* A busier machine is not a slower run: when the run logs the host's load per core
  (``host_load``: the Monitor and ``rlvet train`` do) and its rise accounts for the drop,
  the finding is info, never an error (CI runners and shared nodes are loaded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rlvet import stats
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.aliases import is_update_signal
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = [
    "DROP_ERROR",
    "DROP_WARNING",
    "detect_throughput_drop",
    "interval_rates",
]

DROP_WARNING = 0.5  # below half the early speed, for several intervals: the run costs twice
# what it did; evaluation and logging overheads in healthy runs stay within ~30%
DROP_ERROR = 0.25  # ending below a quarter: 4x slower, a broken pipeline, not overhead
CUMULATIVE_SLACK = 0.02  # implied elapsed time may step back 2% from integer-rounded fps
RATE_WINDOW = 0.05  # rates over windows of 5% of the run: long enough to average over
# training bursts (SB3 DQN acts 256 steps at 10k/s, then runs 128 gradient steps) and
# evaluation pauses, short enough to date a drop within 5% of the run
RATE_SMOOTHING = 5  # running median over those windows: one slow one is not a drop

def interval_rates(
    steps: np.ndarray, fps: np.ndarray, span: float = 0.0
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Steps/s over windows of at least ``span`` steps, from a cumulative fps series; the
    series itself when it is not cumulative.

    Args:
        steps: shape (n,), environment steps.
        fps: shape (n,), logged steps per second (> 0).
        span: minimum window, in steps; 0 gives the rate of each logging interval.

    Returns:
        ``(steps, rates, was_cumulative)``; for a cumulative series rate i is the speed over
        the window ending at ``steps[i]`` (the first windows, shorter than ``span``, are
        dropped).
    """
    elapsed = steps / fps
    back = np.diff(elapsed) < -CUMULATIVE_SLACK * elapsed[1:]
    if fps.size < 3 or back.any():
        return steps, fps, False
    elapsed = np.maximum.accumulate(elapsed)
    start = np.searchsorted(steps, steps - max(span, 1.0), side="right") - 1
    ok = start >= 0
    j, i = start[ok], np.flatnonzero(ok)
    d_steps, d_time = (steps[i] - steps[j]).astype(float), elapsed[i] - elapsed[j]
    good = (d_time > 0) & (d_steps > 0)
    return steps[i][good], d_steps[good] / d_time[good], True


def _learner_start(run: RunSignals) -> int | None:
    """Step of the first update signal, canonical or not (SAC's ``train/actor_loss``);
    None if the run logs none."""
    firsts = [int(s.steps[0]) for key, s in run.series.items()
              if len(s) and is_update_signal(run.raw_names.get(key, key))]
    return min(firsts) if firsts else None


def _final_stretch(below: np.ndarray) -> int | None:
    """Start of the run of True values that lasts to the end, if it has PERSIST_HITS points.

    Why the end: host contention (another job on the machine) halves the rate for a while
    and goes away; a drop that the run never recovers from is the run's own.
    """
    if below.size == 0 or not below[-1]:
        return None
    i = below.size - 1
    while i > 0 and below[i - 1]:
        i -= 1
    return i if below.size - i >= stats.PERSIST_HITS else None


def detect_throughput_drop(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Steps/s below ``DROP_WARNING`` x the early level to the end (error: ``DROP_ERROR``);
    info when the host's rising load accounts for it."""
    steps, fps = stats.finite(run.get(names.FPS))
    keep = fps > 0
    start = _learner_start(run)
    if start is not None:
        keep &= steps >= start
    span = RATE_WINDOW * float(steps[-1] - steps[0]) if steps.size else 0.0
    steps, rates, cumulative = interval_rates(steps[keep], fps[keep], span)
    if rates.size < stats.PERSIST_WINDOW + stats.MIN_BASELINE_POINTS:
        return []
    level = stats.rolling_median(rates, RATE_SMOOTHING)
    base = stats.early_baseline(rates)
    ratio = level / max(base.median, stats.SCALE_FLOOR)
    i = _final_stretch(ratio < DROP_WARNING)
    if i is None:
        return []
    end = float(np.median(ratio[-stats.PERSIST_HITS:]))
    contention = _contention(run, int(steps[0]), int(steps[i]))
    explained = contention is not None and end * contention >= DROP_WARNING
    severe = end < DROP_ERROR and not explained
    low = float(np.min(level[i:]))
    evidence = {
        "onset_step": int(steps[i]), "rate_at_onset": float(level[i]), "lowest_rate": low,
        "fraction_of_baseline": float(ratio[i]), "final_fraction": end,
        "warning_fraction": DROP_WARNING, "error_fraction": DROP_ERROR,
        "from_cumulative_fps": cumulative, "host_contention": contention,
        "explained_by_host_load": explained, **base.to_evidence(),
    }
    message = (
        f"throughput fell to {level[i]:.4g} steps/s at step {steps[i]} ({ratio[i]:.0%} of the "
        f"early {base.median:.4g}) and ended at {end:.0%} of it (lowest {low:.4g}): the env or "
        f"the learner got slower, most likely a slowing simulator or a growing buffer"
    )
    if explained:
        message += (f"; but the host's load per core rose {contention:.2g}x over the same "
                    f"time, which accounts for it: the machine got busier, not the run slower")
    severity = Severity.INFO if explained else Severity.ERROR if severe else Severity.WARNING
    return [prescribe(Category.THROUGHPUT_DROP, severity=severity, message=message,
                      evidence=evidence, step=int(steps[i]))]


def _contention(run: RunSignals, first: int, drop: int) -> float | None:
    """How much more the run's cores were shared after ``drop`` than before it: the ratio
    of ``max(1, host load per core)`` late to early (None without a logged host load).

    Why max(1, .): below one runnable process per core nobody waits, so load changes there
    do not slow the run; above it each core is time-shared among ``load`` processes.
    """
    steps, load = stats.finite(run.get(names.HOST_LOAD))
    before, after = load[(steps >= first) & (steps < drop)], load[steps >= drop]
    if before.size < stats.MIN_BASELINE_POINTS or after.size < stats.MIN_BASELINE_POINTS:
        return None
    busy_before = max(1.0, float(np.median(before)))
    return max(1.0, float(np.median(after))) / busy_before
