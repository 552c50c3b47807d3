"""A terminal reward paid again on every step after ``terminated`` is named; an end that
pays nothing more, or keeps paying an ordinary step's reward, is not."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Severity


class Courier(gym.Env):
    """A courier on a 6-cell street delivering to the last cell (+5, terminated); every
    other step costs ``step_cost``. ``after_end``: what a step after the delivery pays."""

    LENGTH = 6

    def __init__(self, *, after_end: str, step_cost: float = 0.0) -> None:
        self.observation_space = spaces.Discrete(self.LENGTH)
        self.action_space = spaces.Discrete(2)  # back, forward
        self.after_end = after_end
        self.step_cost = step_cost
        self.cell = 0
        self.delivered = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.cell, self.delivered = 0, False
        return self.cell, {}

    def step(self, action: Any) -> Any:
        if self.delivered:
            paid = {"repay": 5.0, "nothing": 0.0, "cost": self.step_cost}[self.after_end]
            return self.cell, paid, True, False, {}
        self.cell = int(np.clip(self.cell + (1 if int(action) else -1), 0, self.LENGTH - 1))
        self.delivered = self.cell == self.LENGTH - 1
        return self.cell, 5.0 if self.delivered else self.step_cost, self.delivered, False, {}


def _done_semantics(env_fn: Any) -> list[Severity]:
    outcome = run_env_qa(EnvQAConfig(spec="courier", factory=env_fn))
    return [f.severity for f in outcome.result.findings
            if f.category == Category.DONE_SEMANTICS and f.severity != Severity.INFO]


def test_goal_paid_again_after_termination_is_a_warning() -> None:
    assert _done_semantics(lambda: TimeLimit(Courier(after_end="repay"), 100)) == [
        Severity.WARNING]


@pytest.mark.parametrize(("after_end", "cost"), [("nothing", 0.0), ("cost", -1.0)])
def test_an_end_that_pays_nothing_more_or_a_step_cost_is_not(after_end: str,
                                                            cost: float) -> None:
    assert _done_semantics(lambda: TimeLimit(Courier(after_end=after_end, step_cost=cost),
                                             100)) == []
