"""A bonus that can be collected again by undoing the action that earned it (a loop of
two actions) is farming; a bonus paid once per episode is not."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Severity


class Librarian(gym.Env):
    """A 5-cell aisle: shelve a book (+0.2 shaping), walk it to the end (+1, terminated).
    ``bonus_once``: the shelving bonus is paid for the first shelving only; otherwise
    unshelving is free and shelving pays again (the loop)."""

    def __init__(self, *, bonus_once: bool) -> None:
        self.observation_space = spaces.MultiDiscrete([5, 2])
        self.action_space = spaces.Discrete(4)  # left, right, shelve, unshelve
        self.bonus_once = bonus_once
        self.cell, self.holding, self.paid = 0, 0, False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.cell, self.holding, self.paid = int(self.np_random.integers(0, 3)), 0, False
        return np.array([self.cell, self.holding]), {}

    def step(self, action: Any) -> Any:
        a, reward, terminated = int(action), 0.0, False
        if a in (0, 1):
            self.cell = int(np.clip(self.cell + (1 if a else -1), 0, 4))
        elif a == 2 and not self.holding:
            self.holding = 1
            if not (self.bonus_once and self.paid):
                reward, self.paid = 0.2, True
        elif a == 3:
            self.holding = 0
        if self.holding and self.cell == 4:
            reward, terminated = 1.0, True
        return np.array([self.cell, self.holding]), reward, terminated, False, {}


def _farming(bonus_once: bool) -> list[Severity]:
    outcome = run_env_qa(EnvQAConfig(
        spec="librarian", factory=lambda: TimeLimit(Librarian(bonus_once=bonus_once), 60)))
    return [f.severity for f in outcome.result.findings
            if f.category == Category.REWARD_HACKING]


def test_a_bonus_earned_again_by_undoing_its_action_is_farming() -> None:
    assert _farming(bonus_once=False) == [Severity.WARNING]


def test_a_bonus_paid_once_per_episode_is_not() -> None:
    assert _farming(bonus_once=True) == []
