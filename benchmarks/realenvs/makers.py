"""Factories for the real-env corpus (run with .venv-realenvs/bin/python only).

Each corpus entry names ``kind:target``: ``gym:<id>`` (after importing the package that
registers it), ``jumanji:<id>`` (a JAX env through jumanji's own Gymnasium wrapper), or
``fn:<name>`` for an adapter defined here.
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


class TextWorldAdapter(gym.Env):
    """A generated TextWorld game (no download): Text observations, Discrete actions.

    Action ``i`` plays the ``i``-th admissible command (modulo how many there are), the
    common way to give a text game a fixed action space; the reward is the score gained.
    The game is generated from a fixed seed and compiled once into a cache folder.
    """

    SLOTS = 16
    CHARSET = "".join(chr(c) for c in range(32, 127)) + "\n\t"

    def __init__(self, quest_length: int = 3, max_steps: int = 100) -> None:
        import tempfile
        from pathlib import Path

        import textworld
        import textworld.gym
        from textworld.generator import compile_game, make_game

        path = Path(tempfile.gettempdir()) / f"rlvet-textworld-q{quest_length}.z8"
        if not path.exists():
            opts = textworld.GameOptions()
            opts.seeds, opts.nb_rooms, opts.nb_objects = 1234, 4, 8
            opts.quest_length, opts.path = quest_length, str(path)
            compile_game(make_game(opts), opts)
        infos = textworld.EnvInfos(admissible_commands=True, won=True, lost=True)
        env_id = textworld.gym.register_game(str(path), infos, max_episode_steps=max_steps)
        self._env = textworld.gym.make(env_id)
        self.observation_space = gym.spaces.Text(max_length=20_000, charset=self.CHARSET)
        self.action_space = gym.spaces.Discrete(self.SLOTS)
        self._commands: list[str] = []
        self._score = 0.0

    def _clean(self, text: str) -> str:
        return "".join(c for c in text if c in self.CHARSET)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        obs, infos = self._env.reset()
        self._score = 0.0
        self._commands = sorted(infos["admissible_commands"])
        return self._clean(obs), {}

    def step(self, action: Any) -> Any:
        command = self._commands[int(action) % len(self._commands)]
        obs, score, done, infos = self._env.step(command)
        self._commands = sorted(infos["admissible_commands"]) or ["look"]
        won_or_lost = bool(done and (infos.get("won") or infos.get("lost")))
        reward, self._score = float(score) - self._score, float(score)
        return self._clean(obs), reward, won_or_lost, bool(done and not won_or_lost), {}


def make(package: str, target: str) -> gym.Env:
    kind, name = target.split(":", 1)
    if package in REGISTERING:
        importlib.import_module(REGISTERING[package])
    if kind == "gym":
        return gym.make(name)
    if kind == "jumanji":
        import jumanji
        from jumanji.wrappers import JumanjiToGymWrapper

        return JumanjiToGymWrapper(jumanji.make(name))
    factories = {
        "crafter": CrafterAdapter,
        "textworld-short": lambda: TextWorldAdapter(quest_length=2),
        "textworld-long": lambda: TextWorldAdapter(quest_length=5),
    }
    return factories[name]()
