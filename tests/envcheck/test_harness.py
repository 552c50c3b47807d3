"""The child-process harness turns a hanging env into evidence instead of a frozen caller."""

from __future__ import annotations

import time

import gymnasium as gym

from rlvet.envcheck.harness import EnvHarness
from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Severity
from rlvet.sandbox import FailureKind, UserCall


class _HangsOnStep(gym.Wrapper):
    """Blocks on the fifth step of every episode, like a simulator waiting on a dead socket."""

    def reset(self, **kwargs):
        self._t = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        self._t += 1
        if self._t == 5:
            time.sleep(30)
        return self.env.step(action)


def _hanging() -> gym.Env:
    return _HangsOnStep(gym.make("CartPole-v1"))


def test_hang_is_killed_within_budget_and_keeps_finished_work() -> None:
    started = time.monotonic()
    with EnvHarness(_hanging, step_timeout=0.3) as harness:
        outcome = harness.call("episodes", seeds=[0, 1], cap=3)  # 3 steps: never reaches step 5
        assert outcome.failure is None and len(outcome.items) == 2
        outcome = harness.call("episodes", seeds=[0], cap=50)
        assert outcome.failure is not None and outcome.failure.kind is FailureKind.HUNG
        assert outcome.failure.call is UserCall.STEP
        # the harness restarts the child for the next probe
        again = harness.call("episodes", seeds=[0], cap=2)
        assert again.failure is None
    assert time.monotonic() - started < 10


def test_hanging_env_is_a_silent_timeout_error_not_a_frozen_cli() -> None:
    started = time.monotonic()
    outcome = run_env_qa(EnvQAConfig(spec="hang", factory=_hanging, episodes=3, step_timeout=0.3))
    assert time.monotonic() - started < 20
    timeouts = [f for f in outcome.result.findings if f.category == Category.SILENT_TIMEOUT]
    assert timeouts and timeouts[0].severity == Severity.ERROR


def _dies() -> gym.Env:
    class _Dies(gym.Wrapper):
        def step(self, action):
            import os

            os._exit(3)

    return _Dies(gym.make("CartPole-v1"))


def test_process_death_is_reported_as_crash() -> None:
    with EnvHarness(_dies, step_timeout=1.0) as harness:
        outcome = harness.call("episodes", seeds=[0], cap=5)
    assert outcome.failure is not None and outcome.failure.kind is FailureKind.DIED
    assert outcome.failure.exit_code == 3 and outcome.failure.call is UserCall.STEP
