"""Factories for the real-env corpus (run with .venv-realenvs/bin/python only).

Each corpus entry names ``kind:target``: ``gym:<id>`` (after importing the package that
registers it), ``jumanji:<id>`` (a JAX env through jumanji's own Gymnasium wrapper),
``gymnax:<id>`` (a gymnax JAX env through ``GymnaxAdapter`` below), ``gymnaxwrap:<id>`` (the
same env through gymnax's own ``GymnaxToGymWrapper``, unchanged), or ``fn:<name>`` for an
adapter defined here.
"""

from __future__ import annotations

import copy
import importlib
from typing import Any

import gymnasium as gym
import numpy as np

REGISTERING = {"shimmy": "shimmy", "mo-gymnasium": "mo_gymnasium", "panda-gym": "panda_gym",
               "minigrid": "minigrid", "popgym": "popgym", "highway-env": "highway_env",
               "ale-py": "ale_py", "gymnasium-robotics": "gymnasium_robotics",
               "miniworld": "miniworld", "flappy-bird-gymnasium": "flappy_bird_gymnasium",
               "gym-anytrading": "gym_anytrading", "gym-simplegrid": "gym_simplegrid",
               "gym-electric-motor": "gym_electric_motor", "gymnasium-2048": "gymnasium_2048"}


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


class GymnaxAdapter(gym.Env):
    """A gymnax env (pure JAX: ``reset(key, params)``, ``step(key, state, action, params)``)
    as a Gymnasium env, the thin adapter a user would write.

    ``reset(seed=s)`` draws from ``jax.random.key(s)``; ``step`` splits the key. gymnax's
    ``step`` auto-resets inside on termination or on its own time limit
    (``max_steps_in_episode``); the adapter returns the final observation
    (``info["final_observation"]``) on that step, as Gymnasium expects, and the next
    ``reset()`` starts the next episode. Observations become numpy arrays as the env makes
    them, rewards and flags Python scalars. The stateless gymnax env object is shared per
    id (in the process and by deep copies), so its jitted functions compile once: a new
    env object would recompile them (``jax.jit`` keys on ``self``).
    """

    _ENVS: dict[str, tuple[Any, Any]] = {}

    def __init__(self, name: str) -> None:
        import gymnax
        from gymnax.environments.spaces import gymnax_space_to_gym_space

        if name not in self._ENVS:
            self._ENVS[name] = gymnax.make(name)
        self._name = name
        self._env, self._params = self._ENVS[name]
        self.action_space = gymnax_space_to_gym_space(self._env.action_space(self._params))
        self.observation_space = gymnax_space_to_gym_space(
            self._env.observation_space(self._params))
        self._key: Any = None
        self._state: Any = None

    def __deepcopy__(self, memo: dict[int, Any]) -> GymnaxAdapter:
        twin = GymnaxAdapter.__new__(GymnaxAdapter)
        twin.__dict__.update(self.__dict__)  # JAX arrays are immutable: sharing is a copy
        twin._np_random = None if self._np_random is None else copy.deepcopy(self._np_random)
        return twin

    def _action(self, action: Any) -> Any:
        import jax.numpy as jnp

        dtype = jnp.int32 if isinstance(self.action_space, gym.spaces.Discrete) else jnp.float32
        return jnp.asarray(action, dtype=dtype)  # one dtype: no re-trace per action type

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        import jax

        super().reset(seed=seed)
        if seed is not None or self._key is None:
            self._key = jax.random.key(0 if seed is None else seed)
        self._key, sub = jax.random.split(self._key)
        obs, self._state = self._env.reset(sub, self._params)
        return np.asarray(obs), {}

    def step(self, action: Any) -> Any:
        import jax

        self._key, sub = jax.random.split(self._key)
        obs, self._state, reward, terminated, truncated, info = self._env.step(
            sub, self._state, self._action(action), self._params)
        terminated, truncated = bool(terminated), bool(truncated)
        if terminated or truncated:
            obs = info["final_observation"]
        return np.asarray(obs), float(reward), terminated, truncated, {}


def make(package: str, target: str) -> gym.Env:
    kind, name = target.split(":", 1)
    if package == "miniworld":  # no display: pyglet renders headless through EGL; miniworld's
        import pyglet  # own switch (PYOPENGL_PLATFORM=egl) comes after pyglet.window is imported

        pyglet.options["headless"] = True
    if package in REGISTERING:
        importlib.import_module(REGISTERING[package])
    if package == "minatar" and "MinAtar/Breakout-v1" not in gym.registry:
        import minatar.gym  # registers its MinAtar/<Game>-v0/-v1 ids only when asked

        minatar.gym.register_envs()
    if kind == "gym":
        return gym.make(name)
    if kind == "jumanji":
        import jumanji
        from jumanji.wrappers import JumanjiToGymWrapper

        return JumanjiToGymWrapper(jumanji.make(name))
    if kind == "gymnax":
        return GymnaxAdapter(name)
    if kind == "gymnaxwrap":
        import gymnax
        from gymnax.wrappers.gym import GymnaxToGymWrapper

        env, params = gymnax.make(name)
        return GymnaxToGymWrapper(env, params)
    factories = {
        "crafter": CrafterAdapter,
        "textworld-short": lambda: TextWorldAdapter(quest_length=2),
        "textworld-long": lambda: TextWorldAdapter(quest_length=5),
    }
    return factories[name]()
