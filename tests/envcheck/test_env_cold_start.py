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
    """CartPole whose first step in a freshly built env blocks for ``compile_s`` seconds,
    like a jitted env compiling ``step`` on first use: while a compile cache (a file
    counting the envs that stepped) is cold, or, with ``every_env``, in every fresh env (no
    step of a fresh env ever runs within budget: a loaded machine)."""

    def __init__(self, env: gym.Env, compile_s: float, every_env: bool = False) -> None:
        super().__init__(env)
        self._stepped = False
        self.compile_s, self.every_env = compile_s, every_env

    def step(self, action):
        if not self._stepped:
            self._stepped = True
            if self.every_env or self._cache_cold():
                time.sleep(self.compile_s)
        return self.env.step(action)

    @staticmethod
    def _cache_cold() -> bool:
        counter = Path(os.environ[COUNTER])
        starts = int(counter.read_text() or 0) if counter.exists() else 0
        counter.write_text(str(starts + 1))
        return starts < SLOW_STARTS


def _cold_start() -> gym.Env:
    return _CompilesOnFirstStep(gym.make("CartPole-v1"), compile_s=5.0)


@pytest.mark.slow
def test_budget_overruns_only_on_first_calls_of_fresh_envs_are_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(COUNTER, str(tmp_path / "builds"))
    outcome = run_env_qa(EnvQAConfig(spec="cold", factory=_cold_start, episodes=5,
                                     step_timeout=0.5))
    [f] = [f for f in outcome.result.findings if f.category == Category.SILENT_TIMEOUT]
    assert f.severity == Severity.WARNING and f.evidence["cold_start"]
    assert f.evidence["hangs"] >= 1 and "cold start" in f.message
    assert all(f.severity != Severity.ERROR for f in outcome.result.findings)  # nothing
    # judged from what the lost probes left (the expert's equal episodes alone)



COMPILE_S = 0.8


def _compiles_every_time() -> gym.Env:
    return _CompilesOnFirstStep(gym.make("CartPole-v1"), compile_s=COMPILE_S, every_env=True)


@pytest.mark.slow
def test_every_fresh_env_overrunning_its_first_call_is_a_cold_start_once_rerun() -> None:
    outcome = run_env_qa(EnvQAConfig(spec="cold", factory=_compiles_every_time, episodes=3,
                                     step_timeout=0.3))
    [f] = [f for f in outcome.result.findings if f.category == Category.SILENT_TIMEOUT]
    assert f.severity == Severity.WARNING and f.evidence["cold_start"]
    [rerun_s] = f.evidence["recovered_on_rerun_s"]
    assert rerun_s >= COMPILE_S  # the rerun paid the compile
    assert all(f.severity != Severity.ERROR for f in outcome.result.findings)
    assert not any(p.failure.kind == "hung" and p.recovered_s is None
                   for p in outcome.evidence.failures)  # later probes had the warm-up
