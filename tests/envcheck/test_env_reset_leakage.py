"""Reset leakage that shows on some seeds only is still named.

MinAtar's sticky-action memory survives ``reset()`` but changes an episode only when the
seed's first draw repeats the remembered action (5-9 of 40 seeds, heldout3): one replayed
seed missed it on three of its games, so several seeds are replayed in fresh envs.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Severity


class StickyWalk(gym.Env):
    """A walk on a line whose action is replaced by the previous one with probability
    ``STICKY``; the memory of the previous action is never cleared by ``reset()``, and a
    brand-new env has none (it stays put), so a seed whose first draw is sticky (one in
    five) differs after an earlier episode."""

    STICKY = 0.2

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-30.0, 30.0, (1,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.x = 0
        self.last_action: int | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.x = 0  # the bug: self.last_action is kept
        return np.array([0.0], np.float32), {}

    def step(self, action: Any) -> Any:
        chosen: int | None = int(action)
        if self.np_random.random() < self.STICKY:
            chosen = self.last_action
        self.last_action = chosen
        self.x += 0 if chosen is None else 2 * chosen - 1
        return np.array([self.x], np.float32), float(self.x), False, False, {}


def _findings(factory: Any, seed: int) -> dict[Category, Severity]:
    outcome = run_env_qa(EnvQAConfig(spec="test", factory=factory, seed=seed))
    worst: dict[Category, Severity] = {}
    for f in outcome.result.findings:
        if f.severity == Severity.ERROR or f.category not in worst:
            worst[f.category] = f.severity
    return worst


@pytest.mark.slow
def test_leak_on_some_seeds_only_is_named() -> None:
    # base seed 5: 8 of the 50 seeds draw a sticky first step; none of the 5 seeds the
    # single spread of 5 replays picked does, 3 of the 16 replayed now do
    found = _findings(lambda: TimeLimit(StickyWalk(), 20), seed=5)
    assert found.get(Category.RESET_LEAKAGE) == Severity.ERROR


class Battery(gym.Env):
    """A robot with a battery: reset draws a random charge only when the battery is empty,
    so a charge left over from the last episode (kept across ``reset()``, the bug) both
    shows in the observation and changes how many numbers reset draws after seeding. The
    generator is reseeded at every reset: the seed is honoured, the state is not cleared.
    """

    def __init__(self, *, clear_on_reset: bool) -> None:
        self.observation_space = spaces.Box(0.0, 10.0, (2,), np.float32)
        self.action_space = spaces.Discrete(3)  # idle, work, charge
        self.clear = clear_on_reset
        self.charge: float | None = None
        self.done_work = 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        if self.clear or self.charge is None:
            self.charge = float(self.np_random.uniform(2.0, 8.0))
        self.done_work = 0.0
        return self._obs(), {}

    def _obs(self) -> np.ndarray:
        return np.array([self.charge, min(self.done_work, 10.0)], np.float32)

    def step(self, action: Any) -> Any:
        assert self.charge is not None
        noise = float(self.np_random.normal(0.0, 0.05))
        if int(action) == 1 and self.charge > 0.5:
            self.charge -= 0.5
            self.done_work += 1.0
        elif int(action) == 2:
            self.charge = min(self.charge + 0.3 + noise, 10.0)
        empty = self.charge <= 0.5
        return self._obs(), float(int(action) == 1 and not empty), empty, False, {}


def test_state_kept_across_reset_that_changes_its_draws_is_leakage_not_an_unhonoured_seed(
) -> None:
    found = _findings(lambda: TimeLimit(Battery(clear_on_reset=False), 30), seed=0)
    assert found.get(Category.RESET_LEAKAGE) == Severity.ERROR
    assert Category.NONDETERMINISTIC_RESET not in found


def test_battery_cleared_on_reset_is_neither() -> None:
    found = _findings(lambda: TimeLimit(Battery(clear_on_reset=True), 30), seed=0)
    assert Category.RESET_LEAKAGE not in found
    assert Category.NONDETERMINISTIC_RESET not in found
