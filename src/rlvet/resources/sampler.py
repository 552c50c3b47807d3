"""Resource signals a training loop can log: memory now, and where the wall time went.

Contents:
    load_sample() -- the host's 1-minute load average per core (``host_load``).
    memory_sample() -- process RSS (MiB), the malloc heap in use (MiB, glibc), host load and,
        when torch already uses CUDA, allocated and reserved CUDA memory (MiB), under
        canonical signal names.
    PhaseTimer -- ``with timer.phase("env"): ...`` (env, inference, reward, learner,
        wait); ``shares()`` gives each phase's share of the wall time since the last
        call, under ``time_share/<phase>`` names.

Why shares of wall time and not seconds: the env_bound / learner_bound question is "where
does the time go", which must not depend on how often the loop logs. Time outside every
phase is not reported; shares need not add up to 1.

Why the heap besides RSS: a process that once held more memory than it holds now (a
long-lived worker, an evaluation that freed a large buffer) refills freed pages before it
asks the OS for more, so a leak can grow for a long time with a flat RSS. glibc's
``mallinfo2`` counts the bytes malloc has handed out and not taken back (torch's CPU
tensors and numpy arrays come from malloc), which a leak raises from its first iteration;
it costs well under a microsecond.

Why torch is never imported here: a loop that does not use torch must not pay for its
import, and one that does has already imported it (``sys.modules``).
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psutil

from rlvet.signals import names

__all__ = ["PhaseTimer", "load_sample", "memory_sample"]
MIB = 2**20


_PROCESS = psutil.Process()


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (glibc >= 2.33)."""

    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    """glibc's mallinfo2, or None elsewhere (musl, macOS, Windows, older glibc)."""
    try:
        fn = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError, TypeError):
        return None
    fn.restype = _MallInfo2
    return fn


_MALLINFO2 = _mallinfo2() if sys.platform.startswith("linux") else None


def memory_sample() -> dict[str, float]:
    """RSS of this process, the malloc heap in use, CUDA memory if in use, and the host's
    load per core (so a slowdown can be told from a busier machine)."""
    out = {names.RSS_MIB: _PROCESS.memory_info().rss / MIB, **load_sample()}
    if _MALLINFO2 is not None:
        info = _MALLINFO2()
        out[names.HEAP_MIB] = (info.uordblks + info.hblkhd) / MIB
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        out[names.CUDA_ALLOCATED_MIB] = torch.cuda.memory_allocated() / MIB
        out[names.CUDA_RESERVED_MIB] = torch.cuda.memory_reserved() / MIB
    return out


def load_sample() -> dict[str, float]:
    """The 1-minute load average per CPU core (``host_load``); nothing where the OS has none.

    Why: throughput falls when other jobs share the cores (CI runners, shared nodes); the
    doctor compares a drop with the rise of this load before blaming the run.
    """
    try:
        return {names.HOST_LOAD: os.getloadavg()[0] / (os.cpu_count() or 1)}
    except (OSError, AttributeError):  # pragma: no cover - Windows has no load average
        return {}


class PhaseTimer:
    """Accumulates wall time per phase between two ``shares()`` calls.

    Example:
        >>> timer = PhaseTimer()
        >>> with timer.phase("env"):
        ...     pass
        >>> sorted(timer.shares())
        ['time_share/env']
    """

    def __init__(self) -> None:
        self._spent: dict[str, float] = {}
        self._since = time.perf_counter()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as part of phase ``name``: env, inference, reward, learner and
        wait are the ones the doctor's env_bound / learner_bound read; any other is logged."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        """Count ``seconds`` measured elsewhere (another process's env time) for ``name``."""
        self._spent[name] = self._spent.get(name, 0.0) + seconds

    def shares(self) -> dict[str, float]:
        """Each timed phase's share of the wall time since the last call; then reset."""
        now = time.perf_counter()
        wall, spent = now - self._since, self._spent
        self._spent, self._since = {}, now
        if wall <= 0 or not spent:
            return {}
        return {names.TIME_SHARE_PREFIX + k: v / wall for k, v in spent.items()}
