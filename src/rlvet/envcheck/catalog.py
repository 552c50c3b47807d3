"""The fault catalog: Gymnasium environments broken the way real harnesses break.

Use it to ask "would my pipeline catch a stale observation cache?" before a real one costs
a week of compute: build a faulty env, run it through your checks or a short training run,
and see whether anything complains. Every fault is a plain ``gymnasium.Wrapper`` around a
classic-control or toy-text env, so it runs anywhere Gymnasium runs.

Contents:
    Fault -- one catalog entry: name, category, base env, description, no-argument factory.
    CATALOG -- read-only mapping from fault name to :class:`Fault`.
    make_fault -- build a fresh faulty env by name.
    SimulatorCrash -- the exception the flaky-harness faults raise.
    One module-level factory per fault (``stale_cache_cartpole`` and so on), so the CLI
    spec ``rlvet env rlvet.envcheck.catalog:stale_cache_cartpole`` works.
    The wrapper classes behind them, grouped by taxonomy category (ARCHITECTURE.md section 3):

    * api_contract -- Float64Observation, ArrayReward, IntDoneFlags, ResetWithoutInfo,
      MisdeclaredObservationSpace, NoneInfo
    * nondeterministic_reset -- IgnoredResetSeed, ClockSeededReset, FirstSeedOnly,
      GlobalRandomStart, GlobalRandomActionNoise
    * reset_leakage -- VelocityCarryover, LeakyPotentialShaping, DriftingGravity
    * stale_observation -- LaggedObservation, SampleAndHoldObservation, FrozenObservation
    * silent_timeout -- TimeoutAsTermination, StepStall
    * reward_artifact -- RoundedReward, ClippedReward, MisdeclaredRewardRange
    * reward_direction -- PoleTiltReward, ValleyReward, NegatedReward
    * reward_sparsity -- ConstantReward, RareSuccessBonus
    * action_space_drift -- ModuloActions, MisdeclaredActionBounds, ResampledActionBounds,
      LegalActionSubset
    * harness_failure -- FlakyStep, NaNObservation, NaNReward
    * obs_scale -- ScaledObservationDims, RawUnitObservation
    * done_semantics -- DroppedTermination, LateTermination, ImmediateTermination,
      RandomTermination

Faults that are not about randomness stay reproducible: same seed, same trajectory. Faults
that need randomness of their own (crashes, stalls, random dones) draw it from a generator
reseeded by ``reset(seed=...)``, in a stream separate from the env's ``np_random``, so the
base dynamics are untouched and only the fault's own category shows.

Example:
    >>> from rlvet.envcheck.catalog import make_fault
    >>> env = make_fault("stale_cache_cartpole")
    >>> obs0, _ = env.reset(seed=0)
    >>> obs1, *_ = env.step(0)
    >>> bool((obs1 == obs0).all())  # the first step hands back the reset observation
    True
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlvet.findings import Category

__all__ = [
    "CATALOG",
    "ArrayReward",
    "ClippedReward",
    "ClockSeededReset",
    "ConstantReward",
    "DriftingGravity",
    "DroppedTermination",
    "Fault",
    "FirstSeedOnly",
    "FlakyStep",
    "Float64Observation",
    "FrozenObservation",
    "GlobalRandomActionNoise",
    "GlobalRandomStart",
    "IgnoredResetSeed",
    "ImmediateTermination",
    "IntDoneFlags",
    "LaggedObservation",
    "LateTermination",
    "LeakyPotentialShaping",
    "LegalActionSubset",
    "MisdeclaredActionBounds",
    "MisdeclaredObservationSpace",
    "MisdeclaredRewardRange",
    "ModuloActions",
    "NaNObservation",
    "NaNReward",
    "NegatedReward",
    "NoneInfo",
    "PoleTiltReward",
    "RandomTermination",
    "RareSuccessBonus",
    "RawUnitObservation",
    "ResampledActionBounds",
    "ResetWithoutInfo",
    "RoundedReward",
    "SampleAndHoldObservation",
    "ScaledObservationDims",
    "SimulatorCrash",
    "StepStall",
    "TimeoutAsTermination",
    "ValleyReward",
    "VelocityCarryover",
    "make_fault",
    # factories, one per catalog entry
    "array_reward_cartpole",
    "clipped_reward_cliffwalking",
    "clock_seeded_reset_mountaincar",
    "coarse_reward_mountaincarcontinuous",
    "constant_reward_mountaincarcontinuous",
    "first_seed_only_acrobot",
    "flaky_rpc_cartpole",
    "float64_obs_pendulum",
    "frozen_camera_acrobot",
    "global_noise_pendulum",
    "global_random_start_taxi",
    "gravity_random_walk_pendulum",
    "instant_done_acrobot",
    "int_terminated_frozenlake",
    "late_done_cartpole",
    "legal_subset_taxi",
    "millimetre_position_cartpole",
    "modulo_actions_cartpole",
    "nan_obs_pendulum",
    "nan_reward_acrobot",
    "narrow_obs_space_acrobot",
    "never_done_mountaincar",
    "none_info_blackjack",
    "random_done_frozenlake",
    "rare_bonus_pendulum",
    "rare_hang_cartpole",
    "raw_units_pendulum",
    "resized_box_mountaincarcontinuous",
    "reset_without_info_mountaincar",
    "reward_range_violation_taxi",
    "rounded_reward_pendulum",
    "sample_and_hold_pendulum",
    "scaled_velocity_mountaincar",
    "shaping_potential_leak_mountaincar",
    "sign_flipped_cliffwalking",
    "slow_step_outliers_acrobot",
    "stale_cache_cartpole",
    "tilt_reward_cartpole",
    "timeout_as_terminal_mountaincar",
    "unseeded_reset_cartpole",
    "valley_reward_mountaincar",
    "velocity_carryover_cartpole",
    "widened_box_pendulum",
    "zero_reward_cartpole",
]

Obs = Any
Info = dict[str, Any]
StepResult = tuple[Any, SupportsFloat, bool, bool, Info]
ResetResult = tuple[Any, Info]


def _first_registered(*env_ids: str) -> str:
    """The first id this Gymnasium registers: toy-text versions moved within 1.x."""
    for env_id in env_ids:
        if env_id in gym.registry:
            return env_id
    return env_ids[0]


CARTPOLE = "CartPole-v1"
MOUNTAINCAR = "MountainCar-v0"
MOUNTAINCAR_CONTINUOUS = "MountainCarContinuous-v0"
PENDULUM = "Pendulum-v1"
ACROBOT = "Acrobot-v1"
FROZENLAKE = "FrozenLake-v1"
BLACKJACK = "Blackjack-v1"
TAXI = _first_registered("Taxi-v4", "Taxi-v3")  # Gymnasium 1.4 registers only Taxi-v4
CLIFFWALKING = _first_registered("CliffWalking-v1", "CliffWalking-v0")

_FAULT_STREAM = 0x0FA417
"""Mixed into every fault generator's seed so it never replays the env's own np_random."""


def _internals(env: gym.Env[Any, Any]) -> Any:
    """The innermost env, typed ``Any``: faults reach into its own attributes (``state``,
    ``s``, ``g``, ...), which ``gym.Env`` does not declare."""
    return env.unwrapped


def _box(space: spaces.Space[Any]) -> spaces.Box:
    """``space`` as a Box: the faults that rescale bounds need one."""
    if not isinstance(space, spaces.Box):
        raise TypeError(f"this fault needs a Box space, got {space!r}")
    return space


def _discrete(space: spaces.Space[Any]) -> spaces.Discrete:
    """``space`` as a Discrete: the faults that remap action indices need one."""
    if not isinstance(space, spaces.Discrete):
        raise TypeError(f"this fault needs a Discrete space, got {space!r}")
    return space


class SimulatorCrash(ConnectionError):
    """A step lost to the (simulated) remote simulator: RPC reset, worker died, socket closed."""


class _SeededFaultWrapper(gym.Wrapper):
    """Base for faults that need randomness of their own, drawn reproducibly.

    ``fault_rng`` follows Gymnasium's seeding contract: ``reset(seed=s)`` reseeds it from s
    (mixed with a constant so the stream differs from the env's ``np_random``),
    ``reset()`` continues it, and an env that is never seeded draws from OS entropy like
    any unseeded Gymnasium env. The base env's own generator is never touched.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.fault_rng = np.random.default_rng()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        if seed is not None:
            self.fault_rng = np.random.default_rng((seed, _FAULT_STREAM))
        return super().reset(seed=seed, options=options)


# --------------------------------------------------------------------------- api_contract


class Float64Observation(gym.ObservationWrapper):
    """Observations come back as float64 while the space still says float32.

    The classic cause is an env that builds its observation with ``np.array([...])`` and no
    dtype, so numpy picks float64. Most code never notices; then a replay buffer allocated
    from the space's dtype silently downcasts, a torch model gets Double tensors and raises
    deep inside the update, or memory doubles. ``observation_space.contains(obs)`` is False.
    """

    def observation(self, observation: Obs) -> Obs:
        return np.asarray(observation, dtype=np.float64)


class ArrayReward(gym.Wrapper):
    """The reward is a numpy array of shape (1,) instead of a Python float.

    Typical of a batched simulator or a vectorised reward model serving one env: the
    per-env reward array is passed through unsqueezed. Sums and means still work, so it
    trains, until ``returns[t] = r`` broadcasts a (N,) buffer into (N, 1) in the value
    loss, or a logger writes ``[1.0]`` into a CSV column.
    """

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, np.asarray([reward], dtype=np.float32), terminated, truncated, info


class IntDoneFlags(gym.Wrapper):
    """``terminated`` and ``truncated`` are ints (0/1) instead of bools.

    Flags that crossed a C, Lua or JSON bridge often arrive as integers. ``if terminated``
    still works, but ``terminated is True`` is never true, ``~terminated`` is -1 or -2
    (bitwise not, a classic in masks like ``1 - done`` written as ``~done``), and torch
    tensors built from them have an integer dtype.
    """

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, int(terminated), int(truncated), info  # type: ignore[return-value]


class ResetWithoutInfo(gym.Wrapper):
    """``reset()`` returns the observation alone, the pre-0.26 gym API.

    Left over from a port of an old ``gym`` env. With a 2-element observation, as in
    MountainCar, ``obs, info = env.reset()`` does not fail: it unpacks position into
    ``obs`` and velocity into ``info``, and training starts from a scalar.
    """

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        obs, _info = self.env.reset(seed=seed, options=options)
        return obs


class MisdeclaredObservationSpace(gym.Wrapper):
    """The declared observation space is Box(0, 1) while the observations are not.

    Bounds written by hand, or copied from an image env with normalised pixels. The real
    observations fall outside the space from the first reset. Normalising wrappers that
    trust the bounds squash or clip the input, and off-the-shelf models pick their
    preprocessing from the wrong space.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        shape = env.observation_space.shape
        self.observation_space = spaces.Box(0.0, 1.0, shape=shape, dtype=np.float32)


class NoneInfo(gym.Wrapper):
    """``info`` is None instead of a dict when the env has nothing to report.

    A common shortcut in hand-written envs (``return obs, r, done, False, None``). It runs
    until something downstream does ``info.get("episode")`` or merges infos across a
    vectorised env, usually far from the env code.
    """

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        obs, _info = self.env.reset(seed=seed, options=options)
        return obs, None

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, _info = self.env.step(action)
        return obs, reward, terminated, truncated, None


# ------------------------------------------------------------------ nondeterministic_reset


class IgnoredResetSeed(gym.Wrapper):
    """``reset(seed=...)`` drops the seed: the env runs on its unseeded generator.

    A hand-written ``reset(self, seed=None, options=None)`` that forgets to call
    ``super().reset(seed=seed)``. Nothing fails; runs with "the same seed" simply differ,
    so seed comparisons and regression tests measure noise.
    """

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        return self.env.reset(options=options)


class ClockSeededReset(gym.Wrapper):
    """Every reset seeds the env from the wall clock, whatever seed is passed.

    ``seed = int(time.time())`` in a harness. Here the clock is read in microseconds; the
    usual whole-second version replays identically within one second, which is exactly why
    quick determinism checks miss it and long runs do not reproduce.
    """

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        clock_seed = (time.time_ns() // 1_000) % 2**32
        return self.env.reset(seed=clock_seed, options=options)


class FirstSeedOnly(gym.Wrapper):
    """Only the first seed ever passed is honoured; later seeds are ignored.

    The old ``if not self._seeded: self.seed(seed)`` pattern. A fresh env per replay looks
    perfectly deterministic; reusing one env across evaluations (the normal case) gives
    different episodes for the same seed.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._seeded = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        if self._seeded:
            seed = None
        elif seed is not None:
            self._seeded = True
        return self.env.reset(seed=seed, options=options)


class GlobalRandomStart(gym.Wrapper):
    """The start state is drawn from the global ``np.random``, not the seeded generator.

    A toy-text env (one with ``s`` and ``initial_state_distrib``) whose reset was written
    with ``np.random.choice``. Seeds passed to reset change nothing; the process-wide
    numpy state (advanced by every other library) decides the start.
    """

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        _obs, info = self.env.reset(seed=seed, options=options)
        base = _internals(self.env)
        distribution = np.asarray(base.initial_state_distrib, dtype=np.float64)
        state = int(np.random.choice(distribution.size, p=distribution))
        base.s = state
        if "action_mask" in info:
            info = {**info, "action_mask": base.action_mask(state)}
        return state, info


class GlobalRandomActionNoise(gym.ActionWrapper):
    """Actuator noise drawn from Python's ``random`` module on every step.

    "Domain randomisation" added with ``random.gauss`` next to a carefully seeded env.
    Resets replay exactly, so reset checks pass, but two rollouts with the same seed and
    the same actions drift apart from the first step.
    """

    def __init__(self, env: gym.Env, *, noise_std: float = 0.1) -> None:
        super().__init__(env)
        self._noise_std = noise_std

    def action(self, action: Any) -> Any:
        noise = random.gauss(0.0, self._noise_std)
        return (np.asarray(action, dtype=np.float32) + np.float32(noise)).astype(np.float32)


# -------------------------------------------------------------------------- reset_leakage


class VelocityCarryover(gym.Wrapper):
    """Reset restores positions but keeps the previous episode's velocities.

    The physics-engine version: ``reset`` writes joint positions (``qpos``) and forgets
    joint velocities (``qvel``). Each episode starts with the momentum the last one ended
    with, often the large velocities of a failure, so start states depend on history and
    seeded evaluation does not replay. Needs an env with a ``state`` vector whose
    observation is that vector (CartPole).
    """

    def __init__(self, env: gym.Env, *, velocity_indices: Sequence[int] = (1, 3)) -> None:
        super().__init__(env)
        self._velocity_indices = list(velocity_indices)
        self._last_velocities: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        obs, info = self.env.reset(seed=seed, options=options)
        if self._last_velocities is None:
            return obs, info
        base = _internals(self.env)
        state = np.array(base.state, dtype=np.float64)
        state[self._velocity_indices] = self._last_velocities
        base.state = state
        return state.astype(np.float32), info

    def step(self, action: Any) -> StepResult:
        result = self.env.step(action)
        state = np.asarray(_internals(self.env).state, dtype=np.float64)
        self._last_velocities = state[self._velocity_indices].copy()
        return result


class LeakyPotentialShaping(gym.Wrapper):
    """Potential-based shaping whose "previous potential" is not cleared by reset.

    Shaping ``r + phi(s') - phi(s)`` (Ng et al. 1999) with ``phi(s)`` kept in an attribute
    that is initialised lazily but never reset. The first reward of every later episode
    carries ``phi(start) - phi(last state of the previous episode)``, a large, history-
    dependent jump that looks like a real signal to the critic.
    """

    def __init__(self, env: gym.Env, *, potential: Callable[[Any], float]) -> None:
        super().__init__(env)
        self._potential = potential
        self._previous: float | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        obs, info = self.env.reset(seed=seed, options=options)
        if self._previous is None:  # the bug: initialised once, never on later resets
            self._previous = self._potential(obs)
        return obs, info

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        current = self._potential(obs)
        previous = current if self._previous is None else self._previous
        self._previous = current
        return obs, float(reward) + current - previous, terminated, truncated, info


class DriftingGravity(_SeededFaultWrapper):
    """Domain randomisation that perturbs the current gravity instead of the nominal one.

    ``g *= uniform(0.9, 1.1)`` at every reset where ``g = g0 * uniform(0.9, 1.1)`` was
    meant. Gravity random-walks across episodes, so the task slowly changes under the agent
    and the same seed gives different dynamics in episode 1 and episode 50. The draws are
    seeded, so the drift itself replays.
    """

    def __init__(self, env: gym.Env, *, spread: float = 0.1) -> None:
        super().__init__(env)
        self._spread = spread

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        result = super().reset(seed=seed, options=options)
        factor = self.fault_rng.uniform(1.0 - self._spread, 1.0 + self._spread)
        base = _internals(self.env)
        base.g = float(base.g) * float(factor)
        return result


# ---------------------------------------------------------------------- stale_observation


class LaggedObservation(gym.Wrapper):
    """Each step returns the previous step's observation: the obs lags one step.

    A double-buffered sensor or render pipeline that hands out the front buffer before
    swapping, or an async env that returns the cached observation before the new frame
    lands. Rewards and dones are current, observations are one step old, so the policy
    acts on the past and the critic sees terminal rewards one state early.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._cached: Obs = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        obs, info = self.env.reset(seed=seed, options=options)
        self._cached = obs
        return obs, info

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        stale, self._cached = self._cached, obs
        return stale, reward, terminated, truncated, info


class SampleAndHoldObservation(gym.Wrapper):
    """The observation is refreshed only every ``period`` steps and held in between.

    A sensor sampled slower than the control loop (a camera at 15 Hz under a 60 Hz
    controller) with no timestamp. Between refreshes the agent acts blind on a held value;
    learning is slower and policies become jerky.
    """

    def __init__(self, env: gym.Env, *, period: int = 4) -> None:
        super().__init__(env)
        self._period = period
        self._held: Obs = None
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        obs, info = self.env.reset(seed=seed, options=options)
        self._held, self._t = obs, 0
        return obs, info

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._t += 1
        if self._t % self._period == 0:
            self._held = obs
        return self._held, reward, terminated, truncated, info


class FrozenObservation(gym.Wrapper):
    """After ``freeze_after`` steps of an episode the observation stops updating.

    A fixed-size frame buffer that is drained only at reset, or a camera thread that stalls
    and leaves the last frame in place. Nothing errors; the rest of each long episode is
    played blind, which looks like a policy that "forgets" late in episodes.
    """

    def __init__(self, env: gym.Env, *, freeze_after: int = 100) -> None:
        super().__init__(env)
        self._freeze_after = freeze_after
        self._last: Obs = None
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        obs, info = self.env.reset(seed=seed, options=options)
        self._last, self._t = obs, 0
        return obs, info

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._t += 1
        if self._t <= self._freeze_after:
            self._last = obs
        return self._last, reward, terminated, truncated, info


# ------------------------------------------------------------------------- silent_timeout


class TimeoutAsTermination(gym.Wrapper):
    """The step-limit cut is reported as ``terminated=True`` instead of ``truncated=True``.

    The pre-0.26 ``done`` flag folded both cases together and many harnesses still do.
    The learner treats the time limit as a true terminal state and stops bootstrapping
    there, so values near the limit are biased and the agent learns that time runs out
    (Pardo et al. 2018, "Time Limits in Reinforcement Learning").
    """

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if truncated:
            terminated, truncated = True, False
        return obs, reward, terminated, truncated, info


class StepStall(_SeededFaultWrapper):
    """On rare steps ``step()`` blocks for a while before returning normally.

    A remote simulator or render server that stalls: a garbage-collection pause, a lost
    packet waiting for a retry, a lock held by another worker. Nothing fails and no timeout
    fires; the data stay right, but throughput collapses at random and synchronous vector
    envs wait for the slowest worker. The stall steps are drawn from the seeded fault
    generator, so they replay.

    Args:
        env: the env to wrap.
        probability: chance that a given step stalls.
        stall_s: (min, max) seconds a stall lasts, drawn uniformly.
    """

    def __init__(self, env: gym.Env, *, probability: float, stall_s: tuple[float, float]) -> None:
        super().__init__(env)
        self.probability = probability
        self.stall_s = stall_s

    def step(self, action: Any) -> StepResult:
        stalls = self.fault_rng.random() < self.probability
        duration = self.fault_rng.uniform(*self.stall_s)
        if stalls:
            time.sleep(duration)
        return self.env.step(action)


# ------------------------------------------------------------------------ reward_artifact


class RoundedReward(gym.RewardWrapper):
    """The reward is rounded to ``decimals`` places on its way out of the env.

    Rewards serialised through an integer field of a message schema, or formatted with
    ``"%.1f"`` in a text protocol. A continuous, informative reward becomes a staircase:
    small improvements stop paying, and advantages are mostly zero within a plateau.
    """

    def __init__(self, env: gym.Env, *, decimals: int = 0) -> None:
        super().__init__(env)
        self._decimals = decimals

    def reward(self, reward: SupportsFloat) -> float:
        return float(round(float(reward), self._decimals))


class ClippedReward(gym.RewardWrapper):
    """The reward is clipped to a narrow range, Atari DQN style, where scale carries meaning.

    ``np.clip(r, -1, 1)`` copied from an Atari pipeline onto a task whose rewards differ in
    size on purpose. Here every step costs -1 and the cliff costs -100; after clipping both
    are -1, the cliff is no worse than a step and the whole reward mass sits at the bound.
    """

    def __init__(self, env: gym.Env, *, low: float = -1.0, high: float = 1.0) -> None:
        super().__init__(env)
        self._low, self._high = low, high

    def reward(self, reward: SupportsFloat) -> float:
        return float(np.clip(float(reward), self._low, self._high))


class MisdeclaredRewardRange(gym.Wrapper):
    """The env declares ``reward_range = (-1, 1)`` but emits unnormalised rewards.

    A normalising layer was removed and the declaration stayed. Code that trusts the
    declared range (value-head squashing, reward scaling, plots with fixed axes) is
    silently wrong. Gymnasium 1.x dropped ``reward_range`` from ``Env``, but many
    third-party envs still declare it.
    """

    def __init__(self, env: gym.Env, *, reward_range: tuple[float, float] = (-1.0, 1.0)) -> None:
        super().__init__(env)
        self.reward_range = reward_range


# ----------------------------------------------------------------------- reward_direction


class PoleTiltReward(gym.Wrapper):
    """CartPole pays for pole angle away from upright: ``|theta| / theta_max``.

    The angle term was meant as ``1 - |theta| / theta_max`` and lost its ``1 -`` (or its
    sign) in a refactor. The agent is paid to topple the pole as fast as it can, so returns
    rise while the behaviour gets worse.
    """

    def step(self, action: Any) -> StepResult:
        obs, _reward, terminated, truncated, info = self.env.step(action)
        theta_max = float(_internals(self.env).theta_threshold_radians)
        return obs, abs(float(obs[2])) / theta_max, terminated, truncated, info


class ValleyReward(gym.Wrapper):
    """MountainCar's height bonus with a flipped sign: ``-1 - sin(3 x)`` pays for the valley.

    The shaping term meant to reward height (``sin(3 x)`` is the track's height profile)
    was subtracted instead of added. Sitting at the bottom is now optimal, and a car that
    learns to climb sees its return fall.
    """

    def step(self, action: Any) -> StepResult:
        obs, _reward, terminated, truncated, info = self.env.step(action)
        reward = -1.0 - math.sin(3.0 * float(obs[0]))
        return obs, reward, terminated, truncated, info


class NegatedReward(gym.RewardWrapper):
    """The env returns its cost where a reward is expected: the sign is flipped.

    Planning and control code speaks in costs, RL code in rewards; one missing minus at the
    seam. Every penalty becomes a prize (the cliff pays +100), and the agent maximises
    exactly what it should avoid.
    """

    def reward(self, reward: SupportsFloat) -> float:
        return -float(reward)


# ------------------------------------------------------------------------ reward_sparsity


class ConstantReward(gym.RewardWrapper):
    """The reward is a constant, whatever the agent does.

    The reward is read from the wrong key (``info.get("reward", 0.0)``), from a component
    that was disabled, or replaced by a placeholder "time penalty" that was never swapped
    back. Returns carry no information beyond episode length; nothing learns, and value
    losses look beautifully small.
    """

    def __init__(self, env: gym.Env, *, value: float = 0.0) -> None:
        super().__init__(env)
        self._value = value

    def reward(self, reward: SupportsFloat) -> float:
        return self._value


class RareSuccessBonus(gym.Wrapper):
    """Pendulum's dense cost replaced by a success bonus almost no policy ever collects.

    "Only reward success" with a tolerance that is far too tight: 1.0 when the pendulum is
    within 0.05 rad of upright *and* nearly at rest, 0.0 otherwise. Random and early
    policies never see a non-zero reward, so there is no gradient to follow.
    """

    def __init__(self, env: gym.Env, *, angle_tol: float = 0.05, speed_tol: float = 0.05) -> None:
        super().__init__(env)
        self._angle_tol, self._speed_tol = angle_tol, speed_tol

    def step(self, action: Any) -> StepResult:
        obs, _reward, terminated, truncated, info = self.env.step(action)
        theta, theta_dot = (float(v) for v in _internals(self.env).state)
        angle = ((theta + math.pi) % (2.0 * math.pi)) - math.pi
        success = abs(angle) < self._angle_tol and abs(theta_dot) < self._speed_tol
        return obs, 1.0 if success else 0.0, terminated, truncated, info


# --------------------------------------------------------------------- action_space_drift


class ModuloActions(gym.ActionWrapper):
    """Out-of-range discrete actions are wrapped modulo n instead of rejected.

    ``action % n`` added to "stop the crashes" after a policy head with the wrong number
    of outputs. The base env would have raised; now a 6-way policy drives a 2-action env,
    several logits alias to one action, and nothing tells anyone.
    """

    def action(self, action: Any) -> Any:
        space = _discrete(self.env.action_space)
        return int(space.start) + (int(action) - int(space.start)) % int(space.n)


class MisdeclaredActionBounds(gym.Wrapper):
    """The declared action Box is wider than what the env applies; the env clips silently.

    Bounds written in the wrong units (N·cm for N·m) or copied from another robot. Policies
    scale their outputs to the declared range, so most of the action range saturates at
    the env's internal clip and the useful range is a thin slice around zero.
    """

    def __init__(self, env: gym.Env, *, factor: float = 10.0) -> None:
        super().__init__(env)
        box = _box(env.action_space)
        self.action_space = spaces.Box(box.low * factor, box.high * factor, dtype=box.dtype)


class ResampledActionBounds(_SeededFaultWrapper):
    """The action space is rebuilt with new bounds at every reset.

    ``self.action_space = Box(-max_force, max_force)`` inside ``reset`` after ``max_force``
    became a randomised parameter. A policy sized and squashed to the first space keeps
    using it while the declared bounds change underneath; the env still clips to its
    physical limit. The bounds are drawn from the seeded fault generator.
    """

    def __init__(self, env: gym.Env, *, scale_range: tuple[float, float] = (0.25, 4.0)) -> None:
        super().__init__(env)
        self._base_space = _box(env.action_space)
        self._scale_range = scale_range

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        result = super().reset(seed=seed, options=options)
        scale = float(self.fault_rng.uniform(*self._scale_range))
        box = self._base_space
        self.action_space = spaces.Box(box.low * scale, box.high * scale, dtype=box.dtype)
        return result


class LegalActionSubset(gym.Wrapper):
    """The action space is replaced each step by ``Discrete(#legal actions)``.

    Action masking done by shrinking the space to the currently legal moves, with action
    ``i`` meaning "the i-th legal move". The size and meaning of every index change within
    an episode; a policy with a fixed head sees its outputs remapped from step to step.
    Indices beyond the current count are wrapped, as such harnesses do to avoid crashes.
    Needs an env that reports ``info["action_mask"]`` (Taxi).
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._legal = np.arange(int(_discrete(env.action_space).n))

    def _update(self, info: Info) -> None:
        self._legal = np.flatnonzero(np.asarray(info["action_mask"]))
        self.action_space = spaces.Discrete(len(self._legal))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        obs, info = self.env.reset(seed=seed, options=options)
        self._update(info)
        return obs, info

    def step(self, action: Any) -> StepResult:
        real_action = int(self._legal[int(action) % len(self._legal)])
        obs, reward, terminated, truncated, info = self.env.step(real_action)
        self._update(info)
        return obs, reward, terminated, truncated, info


# ------------------------------------------------------------------------ harness_failure


class FlakyStep(_SeededFaultWrapper):
    """``step()`` raises :class:`SimulatorCrash` on a fraction of steps.

    A remote simulator behind RPC: connection resets, a worker OOM-killed, a timeout in the
    client. The request never reached the simulator, so the env state is unchanged and a
    retry may succeed. Unhandled, it kills the run; handled by dropping the episode, it
    biases returns towards short episodes. Failures replay under the same seed.
    """

    def __init__(self, env: gym.Env, *, probability: float = 0.07) -> None:
        super().__init__(env)
        self.probability = probability

    def step(self, action: Any) -> StepResult:
        if self.fault_rng.random() < self.probability:
            raise SimulatorCrash("simulator connection reset by peer (simulated harness fault)")
        return self.env.step(action)


class NaNObservation(_SeededFaultWrapper):
    """On a fraction of steps the observation is all NaN.

    A shared-memory observation buffer read before the simulator wrote it (allocated with
    ``np.empty`` and NaN-filled by a debug allocator), or a solver that blew up for one
    frame. One NaN input turns the forward pass, the loss and then the weights into NaN.
    """

    def __init__(self, env: gym.Env, *, probability: float = 0.02) -> None:
        super().__init__(env)
        self.probability = probability

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.fault_rng.random() < self.probability:
            obs = np.full_like(obs, np.nan)
        return obs, reward, terminated, truncated, info


class NaNReward(_SeededFaultWrapper):
    """On a fraction of steps the reward is NaN.

    A reward term computed as a ratio that hits 0/0 (progress over distance, a normaliser
    whose running std is zero). Returns, advantages and the critic's target become NaN for
    the whole batch.
    """

    def __init__(self, env: gym.Env, *, probability: float = 0.02) -> None:
        super().__init__(env)
        self.probability = probability

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.fault_rng.random() < self.probability:
            reward = math.nan
        return obs, reward, terminated, truncated, info


# ------------------------------------------------------------------------------ obs_scale


class ScaledObservationDims(gym.ObservationWrapper):
    """Some observation dimensions come in other units (mm for m, 1e-4 units).

    One channel from a different sensor driver or a unit change in one code path. The
    space is scaled consistently, so contract checks pass, but one feature dwarfs the
    others: unnormalised networks see little else and learning stalls or goes unstable.
    """

    def __init__(self, env: gym.Env, *, scale: Sequence[float]) -> None:
        super().__init__(env)
        box = _box(env.observation_space)
        self._scale = np.asarray(scale, dtype=box.dtype)
        self.observation_space = spaces.Box(
            box.low * self._scale, box.high * self._scale, dtype=box.dtype
        )

    def observation(self, observation: Obs) -> Obs:
        return (np.asarray(observation) * self._scale).astype(self.observation_space.dtype)


class RawUnitObservation(gym.ObservationWrapper):
    """Observations in raw sensor units: every dimension mapped to 16-bit counts [0, 65535].

    Readings passed on as the ADC or encoder delivers them, with the calibration step
    skipped. The space is declared consistently, so nothing fails; inputs of order 1e4
    saturate activations and blow up the first gradient steps.
    """

    FULL_SCALE = 65535.0  # 16-bit converter

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        box = _box(env.observation_space)
        self._low = box.low.astype(np.float64)
        self._span = (box.high - box.low).astype(np.float64)
        shape = box.shape
        self.observation_space = spaces.Box(0.0, self.FULL_SCALE, shape=shape, dtype=box.dtype)

    def observation(self, observation: Obs) -> Obs:
        counts = (np.asarray(observation, dtype=np.float64) - self._low) / self._span
        return (counts * self.FULL_SCALE).astype(self.observation_space.dtype)


# ------------------------------------------------------------------------- done_semantics


class DroppedTermination(gym.Wrapper):
    """The episode never ends: ``terminated`` and ``truncated`` are always False.

    The goal check reads the wrong field, or the time limit lives in a config nobody
    loads. Episodes run forever past the goal; returns are never reported, value targets
    never see a terminal state, and rollouts fill with post-goal junk.
    """

    def step(self, action: Any) -> StepResult:
        obs, reward, _terminated, _truncated, info = self.env.step(action)
        return obs, reward, False, False, info


class LateTermination(gym.Wrapper):
    """``terminated`` arrives one step late: the env runs one step past its terminal state.

    The done check evaluates the state *before* the update. The agent gets one extra,
    undefined transition per episode (here CartPole warns and pays 0), and the terminal
    reward is attached to the wrong state.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._pending = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        self._pending = False
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        report, self._pending = self._pending, bool(terminated) and not truncated
        return obs, reward, report, truncated, info


class ImmediateTermination(gym.Wrapper):
    """Every step reports ``terminated=True``: episodes end after one step.

    A success threshold in the wrong units (``height > -1`` where ``> 1`` was meant) or a
    done flag latched from the previous episode. Every episode is one step long, so the
    agent only ever learns the first transition.
    """

    def step(self, action: Any) -> StepResult:
        obs, reward, _terminated, truncated, info = self.env.step(action)
        return obs, reward, True, truncated, info


class RandomTermination(_SeededFaultWrapper):
    """``terminated`` is set at random on ordinary steps.

    A done flag shared between workers (a race), or a watchdog that ends episodes on
    spurious triggers. Episodes end in states that are not terminal, so the critic learns
    that ordinary states have zero future value. Draws come from the seeded fault generator.
    """

    def __init__(self, env: gym.Env, *, probability: float = 0.1) -> None:
        super().__init__(env)
        self.probability = probability

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.fault_rng.random() < self.probability:
            terminated = True
        return obs, reward, terminated, truncated, info


# ------------------------------------------------------------------------------ factories


def float64_obs_pendulum() -> gym.Env:
    """Pendulum observations as float64 under a float32 space."""
    return Float64Observation(gym.make(PENDULUM))


def array_reward_cartpole() -> gym.Env:
    """CartPole reward as a numpy array of shape (1,)."""
    return ArrayReward(gym.make(CARTPOLE))


def int_terminated_frozenlake() -> gym.Env:
    """FrozenLake with terminated/truncated as 0/1 ints."""
    return IntDoneFlags(gym.make(FROZENLAKE))


def reset_without_info_mountaincar() -> gym.Env:
    """MountainCar whose reset returns the observation alone."""
    return ResetWithoutInfo(gym.make(MOUNTAINCAR))


def narrow_obs_space_acrobot() -> gym.Env:
    """Acrobot declaring Box(0, 1) observations."""
    return MisdeclaredObservationSpace(gym.make(ACROBOT))


def none_info_blackjack() -> gym.Env:
    """Blackjack returning info=None."""
    return NoneInfo(gym.make(BLACKJACK))


def unseeded_reset_cartpole() -> gym.Env:
    """CartPole whose reset drops the seed."""
    return IgnoredResetSeed(gym.make(CARTPOLE))


def clock_seeded_reset_mountaincar() -> gym.Env:
    """MountainCar reseeded from the wall clock at every reset."""
    return ClockSeededReset(gym.make(MOUNTAINCAR))


def first_seed_only_acrobot() -> gym.Env:
    """Acrobot honouring only the first seed it is given."""
    return FirstSeedOnly(gym.make(ACROBOT))


def global_random_start_taxi() -> gym.Env:
    """Taxi drawing its start state from the global np.random."""
    return GlobalRandomStart(gym.make(TAXI))


def global_noise_pendulum() -> gym.Env:
    """Pendulum with actuator noise from Python's random module."""
    return GlobalRandomActionNoise(gym.make(PENDULUM), noise_std=0.1)


def velocity_carryover_cartpole() -> gym.Env:
    """CartPole whose reset keeps the last episode's velocities."""
    return VelocityCarryover(gym.make(CARTPOLE))


def _mountaincar_progress(obs: Any) -> float:
    """Shaping potential: ten times the car's position (progress towards the flag)."""
    return 10.0 * float(obs[0])


def shaping_potential_leak_mountaincar() -> gym.Env:
    """MountainCar with shaping whose previous potential survives reset."""
    return LeakyPotentialShaping(gym.make(MOUNTAINCAR), potential=_mountaincar_progress)


def gravity_random_walk_pendulum() -> gym.Env:
    """Pendulum whose gravity random-walks across resets."""
    return DriftingGravity(gym.make(PENDULUM))


def stale_cache_cartpole() -> gym.Env:
    """CartPole whose observation lags one step."""
    return LaggedObservation(gym.make(CARTPOLE))


def sample_and_hold_pendulum() -> gym.Env:
    """Pendulum observed every 4th step only."""
    return SampleAndHoldObservation(gym.make(PENDULUM), period=4)


def frozen_camera_acrobot() -> gym.Env:
    """Acrobot whose observation freezes after 100 steps of an episode."""
    return FrozenObservation(gym.make(ACROBOT), freeze_after=100)


def timeout_as_terminal_mountaincar() -> gym.Env:
    """MountainCar reporting its 200-step limit as termination."""
    return TimeoutAsTermination(gym.make(MOUNTAINCAR))


def rare_hang_cartpole() -> gym.Env:
    """CartPole hanging 3-5 s on about one step in 400."""
    return StepStall(gym.make(CARTPOLE), probability=1 / 400, stall_s=(3.0, 5.0))


def slow_step_outliers_acrobot() -> gym.Env:
    """Acrobot with 50-200 ms step-time outliers on 2% of steps."""
    return StepStall(gym.make(ACROBOT), probability=0.02, stall_s=(0.05, 0.2))


def rounded_reward_pendulum() -> gym.Env:
    """Pendulum reward rounded to integers."""
    return RoundedReward(gym.make(PENDULUM), decimals=0)


def coarse_reward_mountaincarcontinuous() -> gym.Env:
    """MountainCarContinuous reward rounded to one decimal."""
    return RoundedReward(gym.make(MOUNTAINCAR_CONTINUOUS), decimals=1)


def clipped_reward_cliffwalking() -> gym.Env:
    """CliffWalking reward clipped to [-1, 1]."""
    return ClippedReward(gym.make(CLIFFWALKING), low=-1.0, high=1.0)


def reward_range_violation_taxi() -> gym.Env:
    """Taxi declaring reward_range (-1, 1) while paying -10 and +20."""
    return MisdeclaredRewardRange(gym.make(TAXI), reward_range=(-1.0, 1.0))


def tilt_reward_cartpole() -> gym.Env:
    """CartPole paying for pole tilt."""
    return PoleTiltReward(gym.make(CARTPOLE))


def valley_reward_mountaincar() -> gym.Env:
    """MountainCar paying for staying in the valley."""
    return ValleyReward(gym.make(MOUNTAINCAR))


def sign_flipped_cliffwalking() -> gym.Env:
    """CliffWalking returning costs as rewards."""
    return NegatedReward(gym.make(CLIFFWALKING))


def zero_reward_cartpole() -> gym.Env:
    """CartPole whose reward is always 0."""
    return ConstantReward(gym.make(CARTPOLE), value=0.0)


def rare_bonus_pendulum() -> gym.Env:
    """Pendulum paying only a near-unreachable success bonus."""
    return RareSuccessBonus(gym.make(PENDULUM))


def constant_reward_mountaincarcontinuous() -> gym.Env:
    """MountainCarContinuous paying -1 per step regardless of action and goal."""
    return ConstantReward(gym.make(MOUNTAINCAR_CONTINUOUS), value=-1.0)


def modulo_actions_cartpole() -> gym.Env:
    """CartPole accepting any integer action modulo 2."""
    return ModuloActions(gym.make(CARTPOLE))


def widened_box_pendulum() -> gym.Env:
    """Pendulum declaring torque bounds 10x wider than it applies."""
    return MisdeclaredActionBounds(gym.make(PENDULUM), factor=10.0)


def resized_box_mountaincarcontinuous() -> gym.Env:
    """MountainCarContinuous whose action bounds change at every reset."""
    return ResampledActionBounds(gym.make(MOUNTAINCAR_CONTINUOUS))


def legal_subset_taxi() -> gym.Env:
    """Taxi whose action space is the current set of legal moves."""
    return LegalActionSubset(gym.make(TAXI))


def flaky_rpc_cartpole() -> gym.Env:
    """CartPole whose step raises SimulatorCrash on about 7% of steps."""
    return FlakyStep(gym.make(CARTPOLE), probability=0.07)


def nan_obs_pendulum() -> gym.Env:
    """Pendulum returning all-NaN observations on about 2% of steps."""
    return NaNObservation(gym.make(PENDULUM), probability=0.02)


def nan_reward_acrobot() -> gym.Env:
    """Acrobot returning NaN rewards on about 2% of steps."""
    return NaNReward(gym.make(ACROBOT), probability=0.02)


def millimetre_position_cartpole() -> gym.Env:
    """CartPole reporting cart position in millimetres."""
    return ScaledObservationDims(gym.make(CARTPOLE), scale=(1000.0, 1.0, 1.0, 1.0))


def scaled_velocity_mountaincar() -> gym.Env:
    """MountainCar reporting velocity in 1e-4 units."""
    return ScaledObservationDims(gym.make(MOUNTAINCAR), scale=(1.0, 1e4))


def raw_units_pendulum() -> gym.Env:
    """Pendulum observations as 16-bit sensor counts."""
    return RawUnitObservation(gym.make(PENDULUM))


def never_done_mountaincar() -> gym.Env:
    """MountainCar whose episodes never end."""
    return DroppedTermination(gym.make(MOUNTAINCAR))


def late_done_cartpole() -> gym.Env:
    """CartPole signalling termination one step late."""
    return LateTermination(gym.make(CARTPOLE))


def instant_done_acrobot() -> gym.Env:
    """Acrobot terminating after every step."""
    return ImmediateTermination(gym.make(ACROBOT))


def random_done_frozenlake() -> gym.Env:
    """FrozenLake terminating at random on 10% of steps."""
    return RandomTermination(gym.make(FROZENLAKE), probability=0.1)


# -------------------------------------------------------------------------------- catalog


@dataclass(frozen=True, slots=True)
class Fault:
    """One catalog entry.

    Attributes:
        name: snake_case ``<bug>_<baseenv>``, also the name of the module-level factory.
        category: the taxonomy category the fault belongs to.
        base_id: the Gymnasium id of the env it wraps.
        description: one sentence: the bug as it appears in real harnesses.
        make: no-argument factory returning a fresh faulty env.
    """

    name: str
    category: Category
    base_id: str
    description: str
    make: Callable[[], gym.Env]


def _fault(
    make: Callable[[], gym.Env], category: Category, base_id: str, description: str
) -> Fault:
    """A catalog entry named after its factory, so ``module:name`` specs always resolve."""
    return Fault(make.__name__, category, base_id, description, make)


def _table(*faults: Fault) -> Mapping[str, Fault]:
    """Read-only name -> Fault mapping; a duplicate name is a programming error."""
    table: dict[str, Fault] = {}
    for fault in faults:
        if fault.name in table:
            raise ValueError(f"duplicate fault name in the catalog: {fault.name!r}")
        table[fault.name] = fault
    return MappingProxyType(table)


_C = Category

CATALOG: Mapping[str, Fault] = _table(
    # api_contract
    _fault(float64_obs_pendulum, _C.API_CONTRACT, PENDULUM,
           "Observations are float64 arrays while the observation space declares float32."),
    _fault(array_reward_cartpole, _C.API_CONTRACT, CARTPOLE,
           "The reward is a numpy array of shape (1,) passed through from a batched backend."),
    _fault(int_terminated_frozenlake, _C.API_CONTRACT, FROZENLAKE,
           "terminated and truncated arrive as 0/1 integers from a language bridge."),
    _fault(reset_without_info_mountaincar, _C.API_CONTRACT, MOUNTAINCAR,
           "reset() returns the observation alone (old gym API), so `obs, info = reset()` "
           "silently splits the observation."),
    _fault(narrow_obs_space_acrobot, _C.API_CONTRACT, ACROBOT,
           "The declared observation space is Box(0, 1) while observations leave it from "
           "the first reset."),
    _fault(none_info_blackjack, _C.API_CONTRACT, BLACKJACK,
           "reset() and step() return info=None instead of a dict."),
    # nondeterministic_reset
    _fault(unseeded_reset_cartpole, _C.NONDETERMINISTIC_RESET, CARTPOLE,
           "reset() never passes its seed to super().reset(), so seeds change nothing."),
    _fault(clock_seeded_reset_mountaincar, _C.NONDETERMINISTIC_RESET, MOUNTAINCAR,
           "Every reset reseeds from the wall clock, whatever seed was passed."),
    _fault(first_seed_only_acrobot, _C.NONDETERMINISTIC_RESET, ACROBOT,
           "Only the first seed is honoured; later reset(seed=s) calls continue the stream."),
    _fault(global_random_start_taxi, _C.NONDETERMINISTIC_RESET, TAXI,
           "The start state is drawn from the global np.random instead of the seeded "
           "generator."),
    _fault(global_noise_pendulum, _C.NONDETERMINISTIC_RESET, PENDULUM,
           "Actuator noise comes from Python's unseeded random module, so seeded rollouts "
           "diverge."),
    # reset_leakage
    _fault(velocity_carryover_cartpole, _C.RESET_LEAKAGE, CARTPOLE,
           "reset() restores positions but keeps the previous episode's velocities."),
    _fault(shaping_potential_leak_mountaincar, _C.RESET_LEAKAGE, MOUNTAINCAR,
           "Shaping keeps the previous potential across reset, so each later episode's "
           "first reward depends on the last one's end."),
    _fault(gravity_random_walk_pendulum, _C.RESET_LEAKAGE, PENDULUM,
           "Domain randomisation rescales the current gravity at each reset, so it "
           "random-walks across episodes."),
    # stale_observation
    _fault(stale_cache_cartpole, _C.STALE_OBSERVATION, CARTPOLE,
           "A cache hands out the previous step's observation, so observations lag one step."),
    _fault(sample_and_hold_pendulum, _C.STALE_OBSERVATION, PENDULUM,
           "The observation is refreshed every 4th step and held in between."),
    _fault(frozen_camera_acrobot, _C.STALE_OBSERVATION, ACROBOT,
           "The observation stops updating after 100 steps of each episode."),
    # silent_timeout
    _fault(timeout_as_terminal_mountaincar, _C.SILENT_TIMEOUT, MOUNTAINCAR,
           "The 200-step limit is reported as terminated=True instead of truncated=True."),
    _fault(rare_hang_cartpole, _C.SILENT_TIMEOUT, CARTPOLE,
           "About one step in 400 blocks for 3-5 s before returning normally."),
    _fault(slow_step_outliers_acrobot, _C.SILENT_TIMEOUT, ACROBOT,
           "About 2% of steps take 50-200 ms longer than the rest."),
    # reward_artifact
    _fault(rounded_reward_pendulum, _C.REWARD_ARTIFACT, PENDULUM,
           "The continuous reward is rounded to integers in transit."),
    _fault(coarse_reward_mountaincarcontinuous, _C.REWARD_ARTIFACT, MOUNTAINCAR_CONTINUOUS,
           "The reward is rounded to one decimal, so the action cost becomes 0 or -0.1."),
    _fault(clipped_reward_cliffwalking, _C.REWARD_ARTIFACT, CLIFFWALKING,
           "Atari-style clipping to [-1, 1] makes the -100 cliff cost the same as a step."),
    _fault(reward_range_violation_taxi, _C.REWARD_ARTIFACT, TAXI,
           "The env declares reward_range (-1, 1) but pays -10 and +20."),
    # reward_direction
    _fault(tilt_reward_cartpole, _C.REWARD_DIRECTION, CARTPOLE,
           "The reward pays for the pole's tilt away from upright."),
    _fault(valley_reward_mountaincar, _C.REWARD_DIRECTION, MOUNTAINCAR,
           "A height bonus with a flipped sign pays the car for staying in the valley."),
    _fault(sign_flipped_cliffwalking, _C.REWARD_DIRECTION, CLIFFWALKING,
           "The env returns its cost as the reward, so falling off the cliff pays +100."),
    # reward_sparsity
    _fault(zero_reward_cartpole, _C.REWARD_SPARSITY, CARTPOLE,
           "The reward is read from the wrong key and is always 0."),
    _fault(rare_bonus_pendulum, _C.REWARD_SPARSITY, PENDULUM,
           "Only a success bonus with a far too tight tolerance is paid, so rewards are "
           "almost always 0."),
    _fault(constant_reward_mountaincarcontinuous, _C.REWARD_SPARSITY, MOUNTAINCAR_CONTINUOUS,
           "A placeholder -1 per step replaces the action cost and the goal bonus."),
    # action_space_drift
    _fault(modulo_actions_cartpole, _C.ACTION_SPACE_DRIFT, CARTPOLE,
           "Out-of-range actions are wrapped modulo n instead of rejected."),
    _fault(widened_box_pendulum, _C.ACTION_SPACE_DRIFT, PENDULUM,
           "The declared torque bounds are 10x wider than the env applies; it clips "
           "silently."),
    _fault(resized_box_mountaincarcontinuous, _C.ACTION_SPACE_DRIFT, MOUNTAINCAR_CONTINUOUS,
           "The action space is rebuilt with different bounds at every reset."),
    _fault(legal_subset_taxi, _C.ACTION_SPACE_DRIFT, TAXI,
           "The action space shrinks to Discrete(#legal moves) each step, remapping every "
           "index."),
    # harness_failure
    _fault(flaky_rpc_cartpole, _C.HARNESS_FAILURE, CARTPOLE,
           "step() raises a connection error on about 7% of steps, like a flaky remote "
           "simulator."),
    _fault(nan_obs_pendulum, _C.HARNESS_FAILURE, PENDULUM,
           "About 2% of observations are all NaN, read from an unwritten buffer."),
    _fault(nan_reward_acrobot, _C.HARNESS_FAILURE, ACROBOT,
           "About 2% of rewards are NaN from a 0/0 in a reward term."),
    # obs_scale
    _fault(millimetre_position_cartpole, _C.OBS_SCALE, CARTPOLE,
           "Cart position is reported in millimetres while the rest is in SI units."),
    _fault(scaled_velocity_mountaincar, _C.OBS_SCALE, MOUNTAINCAR,
           "Velocity is reported in 1e-4 units, 10^4 times the position's scale."),
    _fault(raw_units_pendulum, _C.OBS_SCALE, PENDULUM,
           "Observations are raw 16-bit sensor counts in [0, 65535], never calibrated."),
    # done_semantics
    _fault(never_done_mountaincar, _C.DONE_SEMANTICS, MOUNTAINCAR,
           "Neither the goal nor the time limit ends the episode; it runs forever."),
    _fault(late_done_cartpole, _C.DONE_SEMANTICS, CARTPOLE,
           "terminated is reported one step after the terminal state."),
    _fault(instant_done_acrobot, _C.DONE_SEMANTICS, ACROBOT,
           "A success check in the wrong units ends every episode after one step."),
    _fault(random_done_frozenlake, _C.DONE_SEMANTICS, FROZENLAKE,
           "terminated is set at random on 10% of ordinary steps."),
)  # fmt: skip
"""Every fault, by name. Read-only."""


def make_fault(name: str) -> gym.Env:
    """Build a fresh faulty env by catalog name.

    Args:
        name: a key of :data:`CATALOG`, e.g. ``"stale_cache_cartpole"``.

    Returns:
        A new, un-reset environment.

    Raises:
        KeyError: the name is not in the catalog; the message lists the known names.

    Example:
        >>> env = make_fault("zero_reward_cartpole")
        >>> _ = env.reset(seed=0)
        >>> env.step(0)[1]
        0.0
    """
    try:
        fault = CATALOG[name]
    except KeyError:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown fault {name!r}; known faults: {known}") from None
    return fault.make()
