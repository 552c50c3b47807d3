"""Run env probes in a child process under a per-step wall-clock budget.

Contents:
    ProbeHang, ProbeCrash -- why a probe did not finish.
    ProbeOutcome -- a probe's value (or streamed items) and its failure, if any.
    EnvHarness -- starts the child, dispatches probes to it, kills it when a step hangs.

Why a child process: a hanging ``step`` (a simulator deadlock, a lost RPC) must become a
finding, not a frozen CLI, and Python cannot interrupt a C extension stuck in a call. The
child bumps a shared counter after every env call; the parent polls it and kills the child
when it stops moving for longer than the budget, then starts a fresh one for the next probe.
"""

from __future__ import annotations

import inspect
import multiprocessing as mp
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rlvet.envcheck.probes import PROBES, Heartbeat

__all__ = ["EnvHarness", "ProbeCrash", "ProbeHang", "ProbeOutcome"]

STARTUP_BUDGET_S = 60.0  # building an env (compiling a simulator) may legitimately take long
POLL_S = 0.02  # watchdog granularity; small next to any budget a user would set


@dataclass(frozen=True, slots=True)
class ProbeHang:
    """The probe's env call did not return within the budget; the child was killed."""

    calls_done: int
    budget_s: float


@dataclass(frozen=True, slots=True)
class ProbeCrash:
    """The probe raised outside the env's own calls, or the child process died."""

    reason: str


@dataclass(slots=True)
class ProbeOutcome:
    """What a probe gave back before it finished or failed.

    Generator probes stream ``items`` one by one, so the episodes completed before a hang
    are kept; plain probes set ``value``.
    """

    value: Any = None
    items: list[Any] = field(default_factory=list)
    failure: ProbeHang | ProbeCrash | None = None


def _child_main(conn: Any, factory: Callable[[], gym.Env], shared: Any) -> None:
    warnings.simplefilter("ignore")  # env warnings are evidence only where probes record them
    hb = Heartbeat(shared)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        name, kwargs = message
        try:
            result = PROBES[name](factory, hb, **kwargs)
            if inspect.isgenerator(result):
                for item in result:
                    conn.send(("item", item))
                result = None
            conn.send(("ok", result))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:500]))


def _context() -> mp.context.BaseContext:
    # fork keeps user factories defined in files or closures usable in the child
    return mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")


class EnvHarness:
    """Dispatch probes to a child process; a stuck env call becomes a ``ProbeHang``.

    Example:
        >>> import gymnasium as gym
        >>> with EnvHarness(lambda: gym.make("CartPole-v1"), step_timeout=2.0) as h:
        ...     outcome = h.call("episodes", seeds=[0], cap=10)
        >>> outcome.items[0].record.length
        10
    """

    def __init__(self, factory: Callable[[], gym.Env], *, step_timeout: float) -> None:
        self._factory = factory
        self._budget = float(step_timeout)
        self._proc: Any = None
        self._conn: Any = None
        self._shared: Any = None

    def __enter__(self) -> EnvHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        ctx = _context()
        self._shared = ctx.Value("q", 0, lock=False)
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_child_main, args=(child, self._factory, self._shared), daemon=True
        )
        self._proc.start()
        child.close()
        self._conn = parent

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def close(self) -> None:
        """Stop the child politely, or kill it."""
        if self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(timeout=2)
            except (BrokenPipeError, OSError):
                pass
        self._kill()

    def call(self, probe: str, **kwargs: Any) -> ProbeOutcome:
        """Run ``PROBES[probe]`` in the child; a stuck env call ends it with a ProbeHang."""
        if self._proc is None or not self._proc.is_alive():
            self._kill()
            self._start()
        self._shared.value = 0
        self._conn.send((probe, kwargs))
        outcome = ProbeOutcome()
        last_count, last_change = 0, time.monotonic()
        while True:
            if self._conn.poll(POLL_S):
                try:
                    status, payload = self._conn.recv()
                except (EOFError, OSError):
                    outcome.failure = self._died()
                    return outcome
                if status == "item":
                    outcome.items.append(payload)
                    continue
                if status == "ok":
                    outcome.value = payload
                else:
                    outcome.failure = ProbeCrash(payload)
                return outcome
            if not self._proc.is_alive():
                outcome.failure = self._died()
                return outcome
            count = self._shared.value
            now = time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
                continue
            budget = STARTUP_BUDGET_S if count <= 0 else self._budget
            if now - last_change > budget:
                self._kill()
                outcome.failure = ProbeHang(calls_done=abs(count), budget_s=budget)
                return outcome

    def _died(self) -> ProbeCrash:
        code = None
        if self._proc is not None:
            self._proc.join(timeout=2)  # the pipe can close before the exit is reaped
            code = self._proc.exitcode
        self._kill()
        return ProbeCrash(f"the env process died (exit code {code})")
