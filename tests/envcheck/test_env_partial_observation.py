"""Partial observation is a design property: hidden velocities and hidden horizons.

Two false-alarm classes found on the real-env corpus's tuning half (popgym): a position-only
view of second-order dynamics shows the action one step late, which a lagged observation
does too; and a Discrete observation that is not the state index (a card) ends episodes
after a fixed number of steps the observation does not show. Both must stay warnings,
while the catalog's lagged observation stays an error.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from rlvet.envcheck.catalog import make_fault
from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Severity


class PositionOnly(gym.ObservationWrapper):
    """Gymnasium's CartPole seen through cart and pole positions only (velocities hidden)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        high = np.array([4.8, 0.42], np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)

    def observation(self, observation: Any) -> Any:
        return np.asarray(observation, np.float32)[[0, 2]]


class CardDeck(gym.Env):
    """Guess the suit of the card just shown; the deck of 20 cards ends the episode."""

    DECK = 20

    def __init__(self) -> None:
        self.observation_space = spaces.Discrete(4)
        self.action_space = spaces.Discrete(4)
        self.cards = np.zeros(self.DECK, np.int64)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.cards, self.t = self.np_random.integers(0, 4, self.DECK), 0
        return int(self.cards[0]), {}

    def step(self, action: Any) -> Any:
        reward = 1.0 if int(action) == int(self.cards[self.t]) else -1.0
        self.t += 1
        return int(self.cards[self.t % self.DECK]), reward, self.t >= self.DECK - 1, False, {}


def _by_category(factory: Any) -> dict[Category, Severity]:
    findings = run_env_qa(EnvQAConfig(spec="test", factory=factory, episodes=10)).result.findings
    worst: dict[Category, Severity] = {}
    for f in findings:
        if f.severity == Severity.ERROR or f.category not in worst:
            worst[f.category] = f.severity
    return worst


@pytest.mark.slow
def test_position_only_cartpole_is_a_warning_not_a_stale_error() -> None:
    found = _by_category(lambda: PositionOnly(gym.make("CartPole-v1")))
    assert found.get(Category.STALE_OBSERVATION) == Severity.WARNING
    assert Severity.ERROR not in found.values()


@pytest.mark.slow
def test_lagged_cartpole_stays_a_stale_error() -> None:
    found = _by_category(lambda: make_fault("stale_cache_cartpole"))
    assert found.get(Category.STALE_OBSERVATION) == Severity.ERROR


@pytest.mark.slow
def test_fixed_deck_on_a_discrete_observation_is_not_a_done_error() -> None:
    found = _by_category(CardDeck)
    assert found.get(Category.DONE_SEMANTICS) == Severity.WARNING
    assert Severity.ERROR not in found.values()


@pytest.mark.slow
def test_popgym_partial_observation_envs_have_no_error() -> None:
    pytest.importorskip("popgym")
    for env_id in ("popgym-RepeatPreviousEasy-v0", "popgym-PositionOnlyCartPoleEasy-v0"):
        assert Severity.ERROR not in _by_category(lambda e=env_id: gym.make(e)).values()


class HiddenGoalGrid(gym.Env):
    """A 4 x 4 grid whose goal is redrawn at every reset and not shown: the observation is
    the agent's cell only (gym-simplegrid's design), so the same cell transition ends one
    episode and not the next."""

    SIZE = 4
    MOVES = ((0, 1), (1, 0), (0, -1), (-1, 0))

    def __init__(self) -> None:
        self.observation_space = spaces.Discrete(self.SIZE * self.SIZE)
        self.action_space = spaces.Discrete(4)
        self.pos, self.goal = (0, 0), (self.SIZE - 1, self.SIZE - 1)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.pos = (0, 0)
        cell = int(self.np_random.integers(1, self.SIZE * self.SIZE))
        self.goal = divmod(cell, self.SIZE)
        return 0, {}

    def step(self, action: Any) -> Any:
        dr, dc = self.MOVES[int(action)]
        row = min(max(self.pos[0] + dr, 0), self.SIZE - 1)
        col = min(max(self.pos[1] + dc, 0), self.SIZE - 1)
        self.pos = (row, col)
        at_goal = self.pos == self.goal
        return row * self.SIZE + col, float(at_goal), at_goal, False, {}


@pytest.mark.slow
def test_hidden_goal_per_reset_is_a_done_warning_not_an_error() -> None:
    found = _by_category(lambda: gym.wrappers.TimeLimit(HiddenGoalGrid(), 100))
    assert found.get(Category.DONE_SEMANTICS) == Severity.WARNING
    assert Severity.ERROR not in found.values()


@pytest.mark.slow
def test_random_done_flag_on_a_discrete_state_stays_a_done_error() -> None:
    found = _by_category(lambda: make_fault("random_done_frozenlake"))
    assert found.get(Category.DONE_SEMANTICS) == Severity.ERROR
