"""``rlvet.sandbox``: a user callable that dies, hangs, raises or hogs memory comes back as a
typed ``Failure`` within its budget, and the next request gets a fresh child.

The callables here have the shape of a reward function (``f(prompts, completions)``), the
user code a future reward probe would run; envs and policies are covered through ``rlvet
env`` and ``rlvet eval`` (tests/envcheck/test_dying_envs.py, tests/evaluate/test_eval_sandbox.py).
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from typing import Any

import pytest

from rlvet.errors import RlvetInputError
from rlvet.sandbox import (
    MAX_BUDGET_S,
    FailureKind,
    Heartbeat,
    Limits,
    Sandbox,
    UserCall,
    bounded_seconds,
)


def length_reward(prompts: list[str], completions: list[str]) -> list[float]:
    return [float(len(c)) for c in completions]


def aborting_reward(prompts: list[str], completions: list[str]) -> list[float]:
    os.abort()


def segfaulting_reward(prompts: list[str], completions: list[str]) -> list[float]:
    ctypes.string_at(0)
    return []


def exiting_reward(prompts: list[str], completions: list[str]) -> list[float]:
    os._exit(7)


def hanging_reward(prompts: list[str], completions: list[str]) -> list[float]:
    time.sleep(3600)
    return []


def raising_reward(prompts: list[str], completions: list[str]) -> list[float]:
    raise KeyError("answer")


def hogging_reward(prompts: list[str], completions: list[str]) -> list[float]:
    hog = []
    while True:
        hog.append(bytearray(10**7))


REWARDS = {f.__name__: f for f in (length_reward, aborting_reward, segfaulting_reward,
                                   exiting_reward, hanging_reward, raising_reward,
                                   hogging_reward)}


def _score(hb: Heartbeat, request: str, /, **kwargs: Any) -> Any:
    if request == "bad input":
        raise RlvetInputError("rewards.py: no such function")
    return hb.call(UserCall.REWARD, REWARDS[request], ["p"], ["abc", "de"])


def _streaming(hb: Heartbeat, request: str, /, **kwargs: Any) -> Any:
    for i in range(3):
        hb.call(UserCall.STEP, lambda: None)
        yield i
    if request == "then die":
        hb.call(UserCall.STEP, os._exit, 9)
    return "done"


@pytest.fixture()
def box() -> Any:
    with Sandbox(_score, limits=Limits(call_s=0.5, setup_s=5.0, memory_mb=256)) as sandbox:
        yield sandbox


@pytest.mark.parametrize(
    ("reward", "kind", "exit_code", "signal"),
    [
        ("aborting_reward", FailureKind.DIED, -6, "SIGABRT"),
        ("segfaulting_reward", FailureKind.DIED, -11, "SIGSEGV"),
        ("exiting_reward", FailureKind.DIED, 7, None),
        ("hanging_reward", FailureKind.HUNG, None, None),
        ("raising_reward", FailureKind.RAISED, None, None),
    ],
)
def test_failing_reward_is_a_typed_failure_and_the_next_call_works(
    box: Sandbox, reward: str, kind: FailureKind, exit_code: int | None, signal: str | None
) -> None:
    started = time.monotonic()
    outcome = box.call(reward)
    assert time.monotonic() - started < 30  # the hang costs its 0.5 s budget
    failure = outcome.failure
    assert failure is not None and failure.kind is kind
    assert failure.call is UserCall.REWARD
    assert failure.exit_code == exit_code and failure.signal == signal
    if kind is FailureKind.HUNG:
        assert failure.budget_s == 0.5
    assert box.call("length_reward").value == [3.0, 2.0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA is Linux-only")
def test_memory_hog_is_out_of_memory_not_the_machine() -> None:
    # a time budget far above the ~0.1 s the hog needs to reach the cap, so a loaded CI
    # machine cannot turn the out-of-memory verdict into a hang
    limits = Limits(call_s=20.0, setup_s=20.0, memory_mb=256)
    with Sandbox(_score, limits=limits) as box:
        failure = box.call("hogging_reward").failure
        assert failure is not None and failure.kind is FailureKind.OUT_OF_MEMORY
        assert failure.call is UserCall.REWARD and "256 MiB" in failure.detail
        assert box.call("length_reward").failure is None


def test_input_errors_cross_the_boundary_unchanged(box: Sandbox) -> None:
    with pytest.raises(RlvetInputError, match="no such function"):
        box.call("bad input")


def test_streamed_items_survive_a_later_death() -> None:
    with Sandbox(_streaming, limits=Limits(call_s=2.0)) as box:
        fine = box.call("stream")
        assert fine.items == [0, 1, 2] and fine.value == "done"
        died = box.call("then die")
    assert died.items == [0, 1, 2]
    assert died.failure is not None and died.failure.exit_code == 9
    assert died.failure.calls_done == 3


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 0.0, -1.0, MAX_BUDGET_S + 1,
                                   "2", True])
def test_budgets_are_bounded(value: Any) -> None:
    with pytest.raises(RlvetInputError, match="--budget"):
        bounded_seconds(value, name="--budget")
    with pytest.raises(RlvetInputError):
        Limits(call_s=value)


def test_heartbeat_outside_a_sandbox_is_a_no_op() -> None:
    hb = Heartbeat()
    assert hb.call(UserCall.STEP, lambda x: x + 1, 1) == 2
    hb.emit("nothing listens")
