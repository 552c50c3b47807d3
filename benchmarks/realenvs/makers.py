"""Factories for the real-env corpus (run with .venv-realenvs/bin/python only).

Each corpus entry names ``kind:target``: ``gym:<id>`` (after importing the package that
registers it), or ``fn:<name>`` for an adapter defined here.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym
import numpy as np

REGISTERING = {"shimmy": "shimmy", "mo-gymnasium": "mo_gymnasium", "panda-gym": "panda_gym",
               "minigrid": "minigrid", "popgym": "popgym", "highway-env": "highway_env"}


class CrafterAdapter(gym.Env):
    """crafter speaks the old gym API (reset -> obs, step -> 4-tuple): a thin adapter."""

    def __init__(self) -> None:
        import crafter

        self._env = crafter.Env(length=300)
        self.observation_space = gym.spaces.Box(0, 255, (64, 64, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(self._env.action_space.n)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        if seed is not None:
            self._env._seed = seed  # crafter draws its world from _seed on reset
        return self._env.reset(), {}

    def step(self, action: Any) -> Any:
        obs, reward, done, info = self._env.step(int(action))
        truncated = bool(done and info.get("discount", 1.0) == 1.0)
        return obs, float(reward), bool(done and not truncated), truncated, {}


def make(package: str, target: str) -> gym.Env:
    kind, name = target.split(":", 1)
    if package in REGISTERING:
        importlib.import_module(REGISTERING[package])
    if kind == "gym":
        return gym.make(name)
    return {"crafter": CrafterAdapter}[name]()
