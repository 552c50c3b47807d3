"""Planted envs for the tuning half of issue #15: hand-written, not catalog wrappers.

Two kinds, each a no-argument factory:

* ``FAULTS`` -- name -> (factory, category): one new fault class each (the contract on a
  terminal step, out-of-range actions, a reward paid after the end, a farmable goal, a
  wrapper generator that ignores the seed, a counter only a finished episode clears).
* ``HEALTHY`` -- name -> factory: properties of a task that must never be an error
  (quantised reward, a sparse goal, a Dict with a free-text entry, a POMDP with a blank
  corridor, a one-step bandit, Text / Tuple / Graph / Sequence observations).

The held-out half lives in ``benchmarks/realenvs/planted_heldout.py`` and is never used
to tune a threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from rlvet.findings import Category

SIZE = 4
MOVES = ((0, 1), (1, 0), (0, -1), (-1, 0))


class Grid(gym.Env):
    """A ``SIZE`` x ``SIZE`` grid, start (0, 0), goal in the far corner, reward 1 there.

    Keyword switches plant one fault each; all off, it is a healthy sparse-goal task.
    """

    def __init__(self, *, terminal_obs_bug: bool = False, wrap_actions: bool = False,
                 defer_goal_reward: bool = False, goal_never_ends: bool = False,
                 counter_cleared_on_done: bool = False, limit: int | None = None) -> None:
        self.observation_space = spaces.Discrete(SIZE * SIZE)
        self.action_space = spaces.Discrete(4)
        self.terminal_obs_bug = terminal_obs_bug
        self.wrap_actions = wrap_actions
        self.defer_goal_reward = defer_goal_reward
        self.goal_never_ends = goal_never_ends
        self.counter_cleared_on_done = counter_cleared_on_done
        self.limit = limit
        self.pos = (0, 0)
        self.t = 0
        self.pending = 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.pos = (0, 0)
        self.pending = 0.0
        if not self.counter_cleared_on_done:
            self.t = 0
        return 0, {}

    def step(self, action: Any) -> Any:
        a = int(action)
        if self.wrap_actions:
            a %= 4
        elif not 0 <= a < 4:
            raise ValueError(f"invalid action {a}")
        if self.pending:
            reward, self.pending = self.pending, 0.0
            return self._obs(), reward, True, False, {}
        dy, dx = MOVES[a]
        self.pos = (min(max(self.pos[0] + dy, 0), SIZE - 1),
                    min(max(self.pos[1] + dx, 0), SIZE - 1))
        self.t += 1
        goal = self.pos == (SIZE - 1, SIZE - 1)
        reward = 1.0 if goal else 0.0
        terminated = goal and not self.goal_never_ends
        truncated = self.limit is not None and self.t >= self.limit and not terminated
        if (terminated or truncated) and self.counter_cleared_on_done:
            self.t = 0
        obs = self._obs()
        if terminated and self.terminal_obs_bug:
            obs = SIZE * SIZE  # one past the end of Discrete(SIZE * SIZE), terminal step only
        if terminated and self.defer_goal_reward:
            self.pending, reward = 10.0, 0.0
        return obs, reward, terminated, truncated, {}

    def _obs(self) -> int:
        return self.pos[0] * SIZE + self.pos[1]


class ActionNoise(gym.ActionWrapper):
    """Replaces the action with a random one 20% of the time, from its own generator.

    ``seeded`` reseeds the generator from ``reset(seed=...)`` (healthy); otherwise it is
    seeded once at construction and runs on across episodes (the seed is not honoured).
    """

    def __init__(self, env: gym.Env, *, seeded: bool) -> None:
        super().__init__(env)
        self.seeded = seeded
        self.noise_rng = np.random.default_rng(12345)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        if self.seeded and seed is not None:
            self.noise_rng = np.random.default_rng(seed + 777)
        return self.env.reset(seed=seed, options=options)

    def action(self, action: Any) -> Any:
        if self.noise_rng.random() < 0.2:
            return np.int64(self.noise_rng.integers(4))
        return action


def _grid(limit: int = 60, **kwargs: Any) -> gym.Env:
    return TimeLimit(Grid(limit=None, **kwargs), max_episode_steps=limit)


# ------------------------------------------------------------------ healthy by design


class QuantisedScore(gym.Env):
    """Continuous control whose reward is a score in tenths by design (0.0 ... 1.0)."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.x = np.zeros(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.x = self.np_random.uniform(-0.5, 0.5, 2)
        return self.x.astype(np.float32), {}

    def step(self, action: Any) -> Any:
        a = float(np.clip(np.asarray(action).reshape(-1)[0], -1, 1))
        self.x = np.clip(self.x + np.array([0.1 * a, 0.05 * self.x[0]]), -1, 1)
        reward = round(1.0 - float(np.abs(self.x).mean()), 1)
        return self.x.astype(np.float32), reward, False, False, {}


class MissionDict(gym.Env):
    """A Dict observation with a free-text mission entry (MiniGrid's shape)."""

    def __init__(self) -> None:
        self.observation_space = spaces.Dict({
            "image": spaces.Box(0, 255, (3, 3), np.uint8),
            "mission": spaces.Text(max_length=40, charset="abcdefghijklmnopqrstuvwxyz "),
        })
        self.action_space = spaces.Discrete(3)
        self.pos = 0

    def _obs(self) -> dict[str, Any]:
        image = np.zeros((3, 3), np.uint8)
        image[self.pos % 3, self.pos // 3 % 3] = 255
        return {"image": image, "mission": "go to the red door"}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.pos = int(self.np_random.integers(3))
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        self.pos = (self.pos + int(action) + 1) % 9
        done = self.pos == 8
        return self._obs(), float(done), done, False, {}


class CueCorridor(gym.Env):
    """A T-maze memory task: a cue at reset, then a blank corridor, then a choice.

    Observation ``[cue, at_junction]``: the cue shows only at step 0; in the corridor the
    observation is identical whatever the action ("stay" or "walk"); a wrong turn at the
    junction ends the episode at once. Partially observable by design.
    """

    LENGTH = 6

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = spaces.Discrete(3)  # 0 walk, 1 turn left, 2 turn right
        self.cue = 1
        self.x = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.cue, self.x = int(self.np_random.choice([-1, 1])), 0
        return np.array([self.cue, 0], np.float32), {}

    def step(self, action: Any) -> Any:
        a = int(action)
        if self.x < self.LENGTH:
            self.x += 1
            obs = np.array([0, float(self.x == self.LENGTH)], np.float32)
            return obs, 0.0, False, False, {}
        if a == 0:
            return np.array([0, 1], np.float32), 0.0, False, False, {}
        right = (a == 2) == (self.cue == 1)
        return np.array([0, 1], np.float32), 1.0 if right else -1.0, True, False, {}


class ContextBandit(gym.Env):
    """One-step episodes by design: a context, an arm, a reward, done."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(0.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Discrete(3)
        self.context = np.zeros(3, np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.context = self.np_random.random(3).astype(np.float32)
        return self.context, {}

    def step(self, action: Any) -> Any:
        reward = float(self.context[int(action)] + 0.1 * self.np_random.standard_normal())
        return self.context, reward, True, False, {}


class TextEcho(gym.Env):
    """Text observations: the env says which letter to type; typing it pays."""

    LETTERS = "abcde"
    CHARSET = "abcdeprty "

    def __init__(self) -> None:
        self.observation_space = spaces.Text(max_length=20, charset=self.CHARSET)
        self.action_space = spaces.Discrete(len(self.LETTERS))
        self.target = 0

    def _say(self) -> str:
        return f"type {self.LETTERS[self.target]}"[-20:]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.target = int(self.np_random.integers(len(self.LETTERS)))
        return self._say(), {}

    def step(self, action: Any) -> Any:
        reward = float(int(action) == self.target)
        self.target = int(self.np_random.integers(len(self.LETTERS)))
        return self._say(), reward, False, False, {}


class GraphAndSequence(gym.Env):
    """A Tuple of a Graph and a Sequence observation: a growing chain of visited nodes."""

    def __init__(self) -> None:
        node = spaces.Box(0.0, 10.0, (1,), np.float32)
        self.observation_space = spaces.Tuple((
            spaces.Graph(node_space=node, edge_space=None),
            spaces.Sequence(spaces.Discrete(4)),
        ))
        self.action_space = spaces.Discrete(4)
        self.visits: list[int] = []

    def _obs(self) -> Any:
        nodes = np.array([[float(v)] for v in self.visits], np.float32)
        graph = spaces.GraphInstance(nodes=nodes, edges=None, edge_links=None)
        return graph, tuple(self.visits)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.visits = [int(self.np_random.integers(4))]
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        self.visits.append(int(action))
        done = len(self.visits) >= 8
        return self._obs(), float(int(action) == self.visits[0]), done, False, {}


# ---------------------------------------------------------------------------- tables

FAULTS: dict[str, tuple[Callable[[], gym.Env], Category]] = {
    "terminal_obs_out_of_space": (lambda: _grid(terminal_obs_bug=True), Category.API_CONTRACT),
    "wrapped_actions": (lambda: _grid(wrap_actions=True), Category.ACTION_SPACE_DRIFT),
    "goal_reward_after_end": (lambda: _grid(defer_goal_reward=True), Category.DONE_SEMANTICS),
    "farmable_goal": (lambda: _grid(goal_never_ends=True), Category.REWARD_HACKING),
    "wrapper_seed_ignored": (lambda: ActionNoise(_grid(), seeded=False),
                             Category.NONDETERMINISTIC_RESET),
    "counter_cleared_on_done": (lambda: Grid(counter_cleared_on_done=True, limit=12),
                                Category.RESET_LEAKAGE),
}

HEALTHY: dict[str, Callable[[], gym.Env]] = {
    "grid": _grid,
    "grid_seeded_noise": lambda: ActionNoise(_grid(), seeded=True),
    "quantised_score": lambda: TimeLimit(QuantisedScore(), 100),
    "mission_dict": lambda: TimeLimit(MissionDict(), 50),
    "cue_corridor": lambda: TimeLimit(CueCorridor(), 40),
    "context_bandit": ContextBandit,
    "text_echo": lambda: TimeLimit(TextEcho(), 30),
    "graph_and_sequence": GraphAndSequence,
}
