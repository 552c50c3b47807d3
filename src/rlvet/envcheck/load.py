"""How loaded the machine was while the probes ran: a calibration loop beside them.

Contents:
    LoadTrace -- time-stamped load samples and ``load_at(start, end)``: how much the machine
        slowed a fixed workload in a window (1.0 = idle).
    LoadGauge -- context manager: a small process that runs a fixed calibration chunk every
        ``TICK_S`` and reads the kernel's CPU pressure (``/proc/pressure/cpu``) while the
        probes run; it returns a ``LoadTrace``.

Why: a step that takes 50x its usual time on a machine where every core is busy is the
machine, not the env (issue #15: timing checks fired under load). A timing verdict needs
the env's own step-time distribution *and* the machine's measured load over the same
window. The gauge measures the slowdown of a fixed CPU chunk against its idle baseline
(portable); the probes also record, per step, how long the process waited on a CPU run
queue (``probes._RunQueueClock``, Linux), the finer of the two. The kernel's CPU pressure
(PSI) is kept as context only (see ``LoadTrace.load_at``).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

__all__ = ["LoadGauge", "LoadTrace"]

TICK_S = 0.02  # one calibration sample every 20 ms: finer than any stall worth reporting
CHUNK_ITERATIONS = 4000  # ~0.3 ms of pure-Python work on an idle core: a negligible load
BASELINE_CHUNKS = 15  # the idle baseline is the fastest of these (the least disturbed)
PSI_PATH = "/proc/pressure/cpu"
LOADED = 2.0  # load_at >= this: the machine, not the env, can explain a slow step


def _chunk() -> float:
    start = time.perf_counter()
    x = 0
    for i in range(CHUNK_ITERATIONS):
        x += i * i % 7
    return time.perf_counter() - start


def _psi_total_us() -> float | None:
    try:
        with open(PSI_PATH, encoding="ascii") as handle:
            some = handle.readline().split()
    except OSError:
        return None
    for part in some:
        if part.startswith("total="):
            return float(part[6:])
    return None


def _gauge_loop(conn: Connection, stop: Any) -> None:
    baseline = min(_chunk() for _ in range(BASELINE_CHUNKS))
    times, chunks, pressure = [], [], []
    last_t, last_psi = time.monotonic(), _psi_total_us()
    while not stop.is_set():
        t = time.monotonic()
        chunks.append(_chunk())
        times.append(t)
        psi = _psi_total_us()
        now = time.monotonic()
        if psi is not None and last_psi is not None and now > last_t:
            pressure.append(min(1.0, (psi - last_psi) / 1e6 / (now - last_t)))
        else:
            pressure.append(np.nan)
        last_t, last_psi = now, psi
        stop.wait(TICK_S)
    conn.send((baseline, times, chunks, pressure))
    conn.close()


@dataclass(frozen=True, slots=True)
class LoadTrace:
    """Load samples over a run.

    Attributes:
        baseline_s: the calibration chunk's idle time.
        times: ``time.monotonic()`` at each sample, shape ``(n,)``.
        chunk_s: the chunk's wall time at each sample, shape ``(n,)``.
        pressure: share of wall time since the previous sample that runnable tasks waited
            for a CPU (NaN without PSI), shape ``(n,)``.
    """

    baseline_s: float = 0.0
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    chunk_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pressure: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def measured(self) -> bool:
        """Whether any sample was taken."""
        return self.times.size > 0 and self.baseline_s > 0

    def load_at(self, start: float, end: float) -> float:
        """Slowdown factor of the machine over ``[start, end]`` (monotonic seconds).

        The calibration chunk's largest slowdown over the samples within two ticks of the
        window; 1.0 when nothing was measured there. CPU pressure is *not* used here: its
        "some" line counts any task waiting anywhere on the machine, and read 100% on a
        2-core machine running one pip install while the probes themselves lost no time;
        it stays in ``summary()`` as context.
        """
        if not self.measured:
            return 1.0
        near = (self.times >= start - 2 * TICK_S) & (self.times <= end + 2 * TICK_S)
        if not near.any():
            return 1.0
        return float(np.max(self.chunk_s[near]) / self.baseline_s)

    def summary(self) -> dict[str, Any]:
        """Evidence: median and high percentiles of the measured slowdown."""
        if not self.measured:
            return {"measured": False}
        ratio = self.chunk_s / self.baseline_s
        waits = self.pressure[np.isfinite(self.pressure)]
        return {
            "measured": True,
            "samples": int(ratio.size),
            "chunk_slowdown_median": round(float(np.median(ratio)), 3),
            "chunk_slowdown_p95": round(float(np.percentile(ratio, 95)), 3),
            "cpu_pressure_median": round(float(np.median(waits)), 3) if waits.size else None,
        }


class LoadGauge:
    """Run the calibration loop in a process beside the probes.

    Example:
        >>> with LoadGauge() as gauge:
        ...     time.sleep(0.1)
        >>> gauge.trace.measured
        True
    """

    def __init__(self) -> None:
        self.trace = LoadTrace()
        self._proc: Any = None

    def __enter__(self) -> LoadGauge:
        ctx = mp.get_context("fork")
        self._receiver, sender = ctx.Pipe(duplex=False)
        self._stop = ctx.Event()
        self._proc = ctx.Process(target=_gauge_loop, args=(sender, self._stop), daemon=True)
        self._proc.start()
        sender.close()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        try:
            if self._receiver.poll(5.0):
                baseline, times, chunks, pressure = self._receiver.recv()
                self.trace = LoadTrace(baseline_s=float(baseline), times=np.asarray(times),
                                       chunk_s=np.asarray(chunks),
                                       pressure=np.asarray(pressure, dtype=float))
        except (EOFError, OSError):
            pass
        finally:
            self._proc.join(timeout=2.0)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
