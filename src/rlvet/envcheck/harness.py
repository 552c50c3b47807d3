"""Run env probes in a sandbox child process under a per-step wall-clock budget.

Contents:
    EnvHarness -- dispatches probes (``probes.PROBES``) to a ``rlvet.sandbox.Sandbox``
        child; a hung, dying or memory-hogging env comes back as a typed ``Failure``.

Why a child process: a hanging ``step`` (a simulator deadlock, a lost RPC) must become a
finding, not a frozen CLI, and an env that calls ``os._exit``, aborts or segfaults must not
take rlvet with it. The sandbox times every env call the probes make; when one stops
moving for longer than its budget the child is killed, and the next probe starts a fresh
one. The child is forked, so factories defined in files or as closures need no pickling.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from rlvet.envcheck.probes import PROBES
from rlvet.sandbox import Heartbeat, Limits, Outcome, Sandbox

__all__ = ["EnvHarness"]


@dataclass(frozen=True, slots=True)
class _Probes:
    """The sandbox handler: run probe ``request`` against the factory."""

    factory: Callable[[], gym.Env]

    def __call__(self, hb: Heartbeat, request: str, /, **kwargs: Any) -> Any:
        warnings.simplefilter("ignore")  # env warnings are evidence only where probes record them
        return PROBES[request](self.factory, hb, **kwargs)


class EnvHarness:
    """Dispatch probes to a child process; a stuck or dying env becomes a ``Failure``.

    Args:
        factory: builds the env (called in the child).
        step_timeout: seconds one reset, step or expert call may take.
        setup_timeout: seconds for building the env and the rest (None: the default).
        memory_mb: memory the child may add (None: half the machine's RAM).

    Example:
        >>> import gymnasium as gym
        >>> with EnvHarness(lambda: gym.make("CartPole-v1"), step_timeout=2.0) as h:
        ...     outcome = h.call("episodes", seeds=[0], cap=10)
        >>> outcome.items[0].record.length
        10
    """

    def __init__(self, factory: Callable[[], gym.Env], *, step_timeout: float,
                 setup_timeout: float | None = None, memory_mb: int | None = None) -> None:
        limits = Limits(call_s=step_timeout, setup_s=setup_timeout, memory_mb=memory_mb)
        self._box = Sandbox(_Probes(factory), limits=limits)

    @property
    def limits(self) -> Limits:
        """The budgets in force, defaults filled in."""
        return self._box.limits

    def __enter__(self) -> EnvHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the child politely, or kill it."""
        self._box.close()

    def call(self, probe: str, **kwargs: Any) -> Outcome:
        """Run ``PROBES[probe]`` in the child; a failure is in ``Outcome.failure``."""
        return self._box.call(probe, **kwargs)
