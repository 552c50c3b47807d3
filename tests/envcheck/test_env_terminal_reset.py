"""A reset observation returned in place of the final one is named; real healthy envs are not.

gymnax's ``GymnaxToGymWrapper`` (the real-env corpus's heldout2 set, where rlvet missed it)
resets on termination and returns the next episode's first observation with
``terminated=True``; the final one is only in ``info``. ``ResetOnTerminal`` plants the same
mechanism on Gymnasium's CartPole.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import pytest

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Severity


class ResetOnTerminal(gym.Wrapper):  # type: ignore[type-arg]
    """Auto-reset inside ``step``: the terminal step returns the new first observation."""

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated:
            info = {**info, "final_observation": obs}
            obs, _ = self.env.reset()
        return obs, reward, terminated, truncated, info


def _reset_like(factory: Any) -> list[tuple[Category, Severity]]:
    findings = run_env_qa(EnvQAConfig(spec="test", factory=factory, episodes=10)).result.findings
    return [(f.category, f.severity) for f in findings
            if "range of reset observations" in f.message]


@pytest.mark.slow
def test_a_reset_observation_returned_on_termination_is_a_warning() -> None:
    assert _reset_like(lambda: ResetOnTerminal(gym.make("CartPole-v1"))) == [
        (Category.DONE_SEMANTICS, Severity.WARNING)]


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ["CartPole-v1", "FrozenLake-v1", "Blackjack-v1",
                                    "CliffWalking-v1", "Taxi-v4", "Acrobot-v1"])
def test_healthy_envs_that_end_are_not_accused(env_id: str) -> None:
    assert _reset_like(lambda: gym.make(env_id)) == []
