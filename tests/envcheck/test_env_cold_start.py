"""A slow cold start (JIT compilation on first use) is not a hanging env."""

from __future__ import annotations

import os
import time
from pathlib import Path

import gymnasium as gym
import pytest

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Severity

SLOW_STARTS = 2  # the first two envs to step compile slowly; the cache is warm after that
COUNTER = "RLVET_TEST_COLD_START_COUNTER"


class _CompilesOnFirstStep(gym.Wrapper):
    """CartPole whose first step in a freshly built env blocks for seconds while a compile
    cache (a file counting the envs that stepped) is cold, like a jitted env compiling
    ``step`` on first use."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._stepped = False

    def step(self, action):
        if not self._stepped:
            self._stepped = True
            counter = Path(os.environ[COUNTER])
            starts = int(counter.read_text() or 0) if counter.exists() else 0
            counter.write_text(str(starts + 1))
            if starts < SLOW_STARTS:
                time.sleep(5)
        return self.env.step(action)


def _cold_start() -> gym.Env:
    return _CompilesOnFirstStep(gym.make("CartPole-v1"))


@pytest.mark.slow
def test_budget_overruns_only_on_first_calls_of_fresh_envs_are_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(COUNTER, str(tmp_path / "builds"))
    outcome = run_env_qa(EnvQAConfig(spec="cold", factory=_cold_start, episodes=5,
                                     step_timeout=0.5))
    [f] = [f for f in outcome.result.findings if f.category == Category.SILENT_TIMEOUT]
    assert f.severity == Severity.WARNING and f.evidence["cold_start"]
    assert f.evidence["hangs"] >= 2 and "cold start" in f.message
    assert all(f.severity != Severity.ERROR for f in outcome.result.findings)  # nothing
    # judged from what the lost probes left (the expert's equal episodes alone)
