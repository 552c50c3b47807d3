"""Adapters to other env APIs: ``unwrapped`` may return the foreign env, not a gymnasium.Env.

jumanji's ``JumanjiToGymWrapper`` is a ``gymnasium.Env`` whose ``unwrapped`` returns the
JAX env (``reset(key)``). rlvet read the reset signature there and reported "`reset` does
not accept `seed=`" as an api_contract error on every jumanji env (real-env corpus,
held-out half). The signature must be read from the innermost gymnasium.Env.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import pytest

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Severity


class ForeignEnv:
    """Another library's env: reset takes a key, step returns a 2-tuple."""

    def reset(self, key: int) -> int:
        return key


class Adapter(gym.Env):
    """A correct gymnasium adapter over ``ForeignEnv`` that exposes it as ``unwrapped``."""

    def __init__(self) -> None:
        self._inner = gym.make("CartPole-v1")
        self.observation_space = self._inner.observation_space
        self.action_space = self._inner.action_space
        self._foreign = ForeignEnv()

    @property
    def unwrapped(self) -> Any:  # what jumanji's wrapper does
        return self._foreign

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        return self._inner.reset(seed=seed, options=options)

    def step(self, action: Any) -> Any:
        return self._inner.step(action)


def _contract_errors(factory: Any) -> list[str]:
    findings = run_env_qa(EnvQAConfig(spec="test", factory=factory, episodes=5)).result.findings
    return [f.message for f in findings
            if f.category == Category.API_CONTRACT and f.severity == Severity.ERROR]


@pytest.mark.slow
def test_adapter_whose_unwrapped_is_foreign_has_no_signature_error() -> None:
    assert _contract_errors(Adapter) == []


@pytest.mark.slow
def test_jumanji_wrapper_has_no_signature_error() -> None:
    jumanji = pytest.importorskip("jumanji")
    from jumanji.wrappers import JumanjiToGymWrapper

    assert _contract_errors(lambda: JumanjiToGymWrapper(jumanji.make("Maze-v0"))) == []
