"""Cost of a live verdict as the run grows: ``Monitor.signals()``, ``Monitor.verdict()`` and
the amortised verdict cost per logged record under the default live policy (issue #14).

Run:
    .venv/bin/python benchmarks/verdict_cost.py [--updates 10000] [--update-ms 60.8] [--markdown]

The run is SB3-PPO-like and healthy: every update logs ``train/approx_kl``,
``train/entropy_loss``, ``train/value_loss``, ``train/explained_variance``,
``train/clip_fraction``, ``rollout/ep_rew_mean`` and ``time/fps`` (noisy curves: the return
rises and saturates, the critic learns, entropy decays slowly), every 50th update also
``eval/mean_reward``; the records go through ``Monitor.log`` with its defaults (resource
signals on, no file).

Printed, at 1k and at the full run length (10k updates by default):
  * ``signals()`` and ``verdict()``: the median of several calls, each after one new record
    (what a live loop pays: a verdict always follows new records), and the full rebuild of
    the same signals by ``signals_from_raws`` for comparison;
  * amortised: a loop whose update takes ``--update-ms`` (default 60.8 ms, rl-zoo's CartPole
    PPO update in ``benchmarks/monitor_overhead.py``) logs every update and takes a verdict
    whenever ``Monitor.due()`` allows (the default ``LivePolicy``: 1% budget, warm-up). The
    update is simulated by advancing the clock the monitor and the live gate read, so the
    run takes seconds, not minutes; logging and verdicts are timed for real. Reported: total
    verdict time / records, the share of the loop's time, verdicts taken, and the records
    between the last verdicts (how stale a verdict may be at that run length).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import rlvet.doctor.live as live_module
import rlvet.monitor as monitor_module
from rlvet.monitor import Monitor
from rlvet.signals.discover import signals_from_raws

STEPS_PER_UPDATE = 2048  # SB3's default n_steps, one env
EVAL_EVERY = 50  # updates between evaluations (EvalCallback-like)
REPEATS = 7  # calls per median
DEFAULT_UPDATE_MS = 60.8  # rl-zoo CartPole PPO update, docs/benchmarks.md "Live guardrail cost"


def records(n: int, seed: int = 0) -> Iterator[tuple[int, dict[str, float]]]:
    """``(step, metrics)`` of a healthy SB3-PPO-like run of ``n`` updates."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        rec = {
            "train/approx_kl": float(0.012 * np.exp(0.25 * rng.standard_normal())),
            "train/clip_fraction": float(np.clip(0.12 + 0.02 * rng.standard_normal(), 0, 1)),
            "train/entropy_loss": float(-(0.35 + 0.34 * np.exp(-i / 3000))
                                        + 0.005 * rng.standard_normal()),
            "train/value_loss": float((5 + 45 * np.exp(-i / 300))
                                      * np.exp(0.2 * rng.standard_normal())),
            "train/explained_variance": float(min(0.92, i / 200) + 0.03 * rng.standard_normal()),
            "rollout/ep_rew_mean": float(20 + 460 * (1 - np.exp(-i / 1500))
                                         + 5 * rng.standard_normal()),
            "time/fps": float(2500 + 40 * rng.standard_normal()),
        }
        if i % EVAL_EVERY == EVAL_EVERY - 1:
            rec["eval/mean_reward"] = float(20 + 470 * (1 - np.exp(-i / 1500))
                                            + 15 * rng.standard_normal())
        yield (i + 1) * STEPS_PER_UPDATE, rec


def _median_after_new_record(mon: Monitor, more: Iterator[tuple[int, dict[str, float]]],
                             call: Callable[[], object]) -> float:
    """Median seconds of ``call()``, each call after one more logged record."""
    times = []
    for _ in range(REPEATS):
        step, rec = next(more)
        mon.log(step, **rec)
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _full_rebuild(mon: Monitor) -> None:
    """The signals built from scratch, as ``Monitor.signals()`` did before issue #14."""
    raw = mon._log.raw()  # the monitor's own data, rebuilt
    signals_from_raws([raw], source="<monitor>")


@dataclass(frozen=True, slots=True)
class PointCost:
    """Medians at one run length (seconds)."""

    updates: int
    signals_s: float
    rebuild_s: float
    verdict_s: float


def point_costs(lengths: list[int], total: int) -> list[PointCost]:
    """``signals()``, full rebuild and ``verdict()`` medians at each length in ``lengths``."""
    out = []
    for n in lengths:
        feed = records(total + 3 * REPEATS)
        mon = Monitor(None)
        for _ in range(n):
            step, rec = next(feed)
            mon.log(step, **rec)
        signals_s = _median_after_new_record(mon, feed, mon.signals)
        rebuild_s = _median_after_new_record(mon, feed, lambda m=mon: _full_rebuild(m))
        verdict_s = _median_after_new_record(mon, feed, mon.verdict)
        out.append(PointCost(n, signals_s, rebuild_s, verdict_s))
    return out


@contextmanager
def simulated_clock() -> Iterator[Callable[[float], None]]:
    """Make the monitor and the live gate read ``perf_counter() + simulated time``; yields
    a function that advances the simulated time (an update the loop spent elsewhere)."""
    offset = [0.0]
    real = time.perf_counter
    fake = SimpleNamespace(perf_counter=lambda: real() + offset[0])
    saved = monitor_module.time, live_module.time
    monitor_module.time = fake  # type: ignore[assignment]
    live_module.time = fake  # type: ignore[assignment]

    def advance(seconds: float) -> None:
        offset[0] += seconds

    try:
        yield advance
    finally:
        monitor_module.time, live_module.time = saved


@dataclass(frozen=True, slots=True)
class Amortised:
    """A loop of ``updates`` updates under the default live policy."""

    updates: int
    verdicts: int
    verdict_total_s: float
    log_total_s: float
    loop_total_s: float  # simulated updates + logging + verdicts
    last_gaps: tuple[int, ...]  # records between the last verdicts


def amortised(updates: int, update_s: float) -> Amortised:
    """Run the loop: simulate an update, log it, take a verdict when ``due()``."""
    verdict_total = log_total = 0.0
    taken: list[int] = []
    with simulated_clock() as advance:
        mon = Monitor(None)
        for i, (step, rec) in enumerate(records(updates)):
            advance(update_s)
            started = time.perf_counter()
            mon.log(step, **rec)
            mid = time.perf_counter()
            log_total += mid - started
            if mon.due():
                mon.verdict()
                verdict_total += time.perf_counter() - mid
                taken.append(i + 1)
    gaps = tuple(int(g) for g in np.diff(taken)[-3:]) if len(taken) > 1 else ()
    loop = updates * update_s + log_total + verdict_total
    return Amortised(updates, len(taken), verdict_total, log_total, loop, gaps)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True))
                     for r in [header, *rows])


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10_000, help="run length (updates)")
    parser.add_argument("--update-ms", type=float, default=DEFAULT_UPDATE_MS,
                        help="simulated time of one update for the amortised cost")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = parser.parse_args()
    exe = os.path.relpath(sys.executable, Path.cwd())
    print(f"command: {shlex.join([exe, *sys.argv])}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}, numpy {np.__version__}; load average (1/5/15 min) "
          f"at start: {load}")
    started = time.perf_counter()
    lengths = sorted({min(1000, args.updates), args.updates})
    points = point_costs(lengths, args.updates)
    print(f"\nmedian of {REPEATS} calls, each after one new record:\n")
    print(_table(("updates", "signals()", "full rebuild (signals_from_raws)", "verdict()"),
                 [(f"{p.updates:,}", _ms(p.signals_s), _ms(p.rebuild_s), _ms(p.verdict_s))
                  for p in points], args.markdown))
    runs = [amortised(n, args.update_ms / 1e3) for n in lengths]
    print(f"\namortised, default LivePolicy, simulated update {args.update_ms:g} ms:\n")
    print(_table(("updates", "verdicts", "verdict time / record", "share of loop time",
                  "Monitor.log / record", "records between the last verdicts"),
                 [(f"{a.updates:,}", str(a.verdicts), _us(a.verdict_total_s / a.updates),
                   f"{a.verdict_total_s / a.loop_total_s:.2%}", _us(a.log_total_s / a.updates),
                   ", ".join(map(str, a.last_gaps)) or "-") for a in runs], args.markdown))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\ntotal time: {time.perf_counter() - started:.0f} s; load average at end: {load}")


if __name__ == "__main__":
    main()
