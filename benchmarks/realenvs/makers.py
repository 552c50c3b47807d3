"""Factories for the real-env corpus (run with .venv-realenvs/bin/python only).

Each corpus entry names ``kind:target``: ``gym:<id>`` (after importing the package that
registers it), ``jumanji:<id>`` (a JAX env through jumanji's own Gymnasium wrapper),
``gymnax:<id>`` (a gymnax JAX env through ``GymnaxAdapter`` below), ``gymnaxwrap:<id>`` (the
same env through gymnax's own ``GymnaxToGymWrapper``, unchanged), ``craftax:<name>``,
``xminigrid:<id>`` and ``pgx:<id>`` (JAX envs through the thin adapters below), or
``fn:<name>`` for an adapter defined here.
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
               "gym-electric-motor": "gym_electric_motor", "gymnasium-2048": "gymnasium_2048",
               "tetris-gymnasium": "tetris_gymnasium.envs", "gym-pusht": "gym_pusht",
               "rware": "rware"}


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


def _jax_space(space: Any) -> gym.Space:
    """A gymnax-style JAX space (Discrete ``n`` / Box ``low, high, shape, dtype``) in
    Gymnasium terms."""
    if hasattr(space, "n"):
        return gym.spaces.Discrete(int(space.n))
    shape, dtype = tuple(space.shape), np.dtype(space.dtype)
    return gym.spaces.Box(np.broadcast_to(np.asarray(space.low, dtype), shape),
                          np.broadcast_to(np.asarray(space.high, dtype), shape), shape, dtype)


class _SharedJaxEnv(gym.Env):
    """Common part of the JAX adapters below: the pure env object (and its jitted functions)
    is shared per id (``_ENVS`` of each subclass), in the process and by deep copies (a new
    object would recompile); the episode state (JAX arrays, immutable) is shared by a copy
    too."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        twin = type(self).__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin._np_random = None if self._np_random is None else copy.deepcopy(self._np_random)
        return twin

    def _new_key(self, seed: int | None) -> Any:
        import jax

        if seed is not None or self._key is None:
            self._key = jax.random.key(0 if seed is None else seed)
        self._key, sub = jax.random.split(self._key)
        return sub


class CraftaxAdapter(_SharedJaxEnv):
    """A Craftax env (JAX, gymnax-style ``reset(key, params)`` / ``step(key, state, action,
    params)``, no auto-reset variant) as a Gymnasium env. Craftax ends an episode with one
    ``done`` flag for death, lava and its time limit (``max_timesteps``, 10000 by default);
    the adapter calls it a truncation when the time limit was reached, else a termination."""

    _ENVS: dict[str, Any] = {}

    def __init__(self, name: str) -> None:
        if name not in self._ENVS:
            from craftax.craftax_env import make_craftax_env_from_name

            env = make_craftax_env_from_name(name, auto_reset=False)
            self._ENVS[name] = (env, env.default_params)
        self._env, self._params = self._ENVS[name]
        self.action_space = _jax_space(self._env.action_space(self._params))
        self.observation_space = _jax_space(self._env.observation_space(self._params))
        self._key: Any = None
        self._state: Any = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        obs, self._state = self._env.reset(self._new_key(seed), self._params)
        return np.asarray(obs), {}

    def step(self, action: Any) -> Any:
        import jax
        import jax.numpy as jnp

        self._key, sub = jax.random.split(self._key)
        obs, self._state, reward, done, _ = self._env.step(
            sub, self._state, jnp.asarray(action, dtype=jnp.int32), self._params)
        truncated = bool(done) and int(self._state.timestep) >= self._params.max_timesteps
        return np.asarray(obs), float(reward), bool(done) and not truncated, truncated, {}


class XMiniGridAdapter(_SharedJaxEnv):
    """An XLand-MiniGrid env (JAX, ``reset(params, key)`` / ``step(params, timestep,
    action)`` on a dm_env-style TimeStep, no auto-reset) as a Gymnasium env: the agent's
    7x7 view of (tile, colour) ids, six actions. A LAST step with discount 0 is a
    termination (goal reached), with discount 1 a truncation (``max_steps``)."""

    _ENVS: dict[str, Any] = {}

    def __init__(self, name: str) -> None:
        if name not in self._ENVS:
            import jax
            import xminigrid

            env, params = xminigrid.make(name)
            self._ENVS[name] = (env, params, jax.jit(env.reset), jax.jit(env.step))
        self._env, self._params, self._reset, self._step = self._ENVS[name]
        from xminigrid.core.constants import NUM_COLORS, NUM_TILES

        self.action_space = gym.spaces.Discrete(self._env.num_actions(self._params))
        self.observation_space = gym.spaces.Box(
            0, max(NUM_TILES, NUM_COLORS) - 1, self._env.observation_shape(self._params), np.uint8)
        self._key: Any = None
        self._timestep: Any = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self._timestep = self._reset(self._params, self._new_key(seed))
        return np.asarray(self._timestep.observation, dtype=np.uint8), {}

    def step(self, action: Any) -> Any:
        import jax.numpy as jnp

        ts = self._step(self._params, self._timestep, jnp.asarray(action, dtype=jnp.int32))
        self._timestep = ts
        last = bool(ts.step_type == 2)  # StepType.LAST
        terminated = last and float(ts.discount) == 0.0
        return (np.asarray(ts.observation, dtype=np.uint8), float(ts.reward), terminated,
                last and not terminated, {})


class PgxAdapter(_SharedJaxEnv):
    """A Pgx game (JAX, ``init(key)`` / ``step(state, action, key)``) as a single-agent
    Gymnasium env. Observations are a Dict of the game's own observation and its legal
    action mask; an illegal action ends the game with the game's penalty (Pgx's rule). In a
    two-player game the agent is player 0 and the other player picks a uniformly random
    legal action (from the env's ``np_random``); the reward is player 0's reward over the
    agent's move and the reply."""

    _ENVS: dict[str, Any] = {}

    def __init__(self, name: str) -> None:
        import jax

        if name not in self._ENVS:
            import pgx

            env = pgx.make(name)
            self._ENVS[name] = (env, jax.jit(env.init), jax.jit(env.step))
        self._env, self._init, self._step = self._ENVS[name]
        first = self._init(jax.random.key(0))
        obs = np.asarray(first.observation)
        n = int(first.legal_action_mask.shape[0])
        self.action_space = gym.spaces.Discrete(n)
        self.observation_space = gym.spaces.Dict({
            "observation": gym.spaces.Box(0, 1, obs.shape, np.int8),
            "action_mask": gym.spaces.MultiBinary(n)})
        self._key: Any = None
        self._state: Any = None

    def _obs(self) -> dict[str, np.ndarray]:
        return {"observation": np.asarray(self._state.observation, dtype=np.int8),
                "action_mask": np.asarray(self._state.legal_action_mask, dtype=np.int8)}

    def _opponent(self) -> float:
        """Play the other player's random legal moves until it is player 0's turn."""
        import jax
        import jax.numpy as jnp

        reward = 0.0
        while (self._env.num_players > 1 and int(self._state.current_player) != 0
               and not bool(self._state.terminated | self._state.truncated)):
            legal = np.flatnonzero(np.asarray(self._state.legal_action_mask))
            self._key, sub = jax.random.split(self._key)
            move = jnp.int32(self.np_random.choice(legal))
            self._state = self._step(self._state, move, sub)
            reward += float(self._state.rewards[0])
        return reward

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self._state = self._init(self._new_key(seed))
        self._opponent()
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        import jax
        import jax.numpy as jnp

        self._key, sub = jax.random.split(self._key)
        self._state = self._step(self._state, jnp.int32(int(action)), sub)
        reward = float(self._state.rewards[0]) + self._opponent()
        return (self._obs(), reward, bool(self._state.terminated),
                bool(self._state.truncated), {})


class RwareSingleAgent(gym.Env):
    """robotic-warehouse (multi-agent, Tuple spaces and reward lists) with one robot,
    unwrapped to a single-agent env: the robot's flat observation, its action and its
    reward; ``done`` and ``truncated`` are passed through as rware returns them."""

    def __init__(self, env_id: str = "rware-tiny-1ag-easy-v2") -> None:
        import rware  # noqa: F401  (registers the rware-* ids)

        self._env = gym.make(env_id, disable_env_checker=True).unwrapped
        self.observation_space = self._env.observation_space[0]
        self.action_space = self._env.action_space[0]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        obs, info = self._env.reset(seed=seed, options=options)
        return obs[0], {}

    def step(self, action: Any) -> Any:
        obs, rewards, done, truncated, _ = self._env.step([int(action)])
        return obs[0], float(rewards[0]), bool(done), bool(truncated), {}


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
    if kind == "craftax":
        return CraftaxAdapter(name)
    if kind == "xminigrid":
        return XMiniGridAdapter(name)
    if kind == "pgx":
        return PgxAdapter(name)
    factories = {
        "crafter": CrafterAdapter,
        "textworld-short": lambda: TextWorldAdapter(quest_length=2),
        "textworld-long": lambda: TextWorldAdapter(quest_length=5),
        "pusht-pixels": lambda: gym.make("gym_pusht/PushT-v0", obs_type="pixels_agent_pos"),
        "rware-tiny-1ag": RwareSingleAgent,
    }
    return factories[name]()
