"""An env with no declared time limit whose episodes end on their own after rlvet's step
cap (a game clock, a price series) is not called endless; one that never ends still is."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlvet.envcheck.suite import DEFAULT_EPISODE_CAP, EnvQAConfig, run_env_qa
from rlvet.findings import Category, Finding, Severity


class PriceSeries(gym.Env):
    """Trading over a fixed series of ``length`` prices: the episode ends (truncated) when
    the series runs out, like gym-anytrading's stocks env; ``length=None`` never ends."""

    def __init__(self, length: int | None) -> None:
        self.observation_space = spaces.Box(-np.inf, np.inf, (2,), np.float64)
        self.action_space = spaces.Discrete(2)  # flat, long
        self.length = length
        self.t = 0
        self.price = 100.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.t, self.price = 0, 100.0
        return np.array([self.price, 0.0]), {}

    def step(self, action: Any) -> Any:
        move = float(self.np_random.normal(0.0, 1.0))
        self.price += move
        self.t += 1
        ended = self.length is not None and self.t >= self.length
        return np.array([self.price, float(action)]), move * int(action), False, ended, {}


def _done_semantics(length: int | None) -> list[Finding]:
    outcome = run_env_qa(EnvQAConfig(spec="prices", factory=lambda: PriceSeries(length),
                                     episodes=3))
    return [f for f in outcome.result.findings if f.category == Category.DONE_SEMANTICS]


def test_series_longer_than_the_cap_ends_on_its_own_and_is_not_a_warning() -> None:
    [found] = _done_semantics(3 * DEFAULT_EPISODE_CAP)
    assert found.severity == Severity.INFO
    assert found.evidence["long_run_length"] == 3 * DEFAULT_EPISODE_CAP


def test_an_episode_without_end_is_still_a_warning() -> None:
    [found] = _done_semantics(None)
    assert found.severity == Severity.WARNING
    assert found.evidence["long_run_length"] > 3 * DEFAULT_EPISODE_CAP
