"""Perturbed environments: dynamics overrides and Gymnasium wrappers for robustness sweeps.

Contents:
    Perturbation -- one point of a sweep: an axis (``length``, ``obs_noise_std``, ...), its
        kind and its value.
    make_env_fn(env, perturbation, watch=) -- a no-arg env factory for the nominal env or a
        variant; with a sandbox heartbeat, every build, reset and step is timed by it.
    WatchedEnv -- the outermost wrapper that reports reset and step to the heartbeat.
    ObservationNoise, ObservationDropout, ActionNoise, ActionDelay, InitialState -- the
        wrappers (each with its own seeded Generator).
    WRAPPER_AXES, EDGE_AXES -- the wrapper-backed axis names.

Dynamics: Gymnasium's classic-control constructors take almost no physics parameters, so a
sweep sets them as attributes of ``env.unwrapped`` after ``make`` (``pipeline.domain_rand.
apply_params``, which also refreshes CartPole's cached ``total_mass`` and
``polemass_length``); envs whose constructor does take them (LunarLander's ``gravity``,
``make_kwargs`` in the sweep file) get them through ``make``.

Randomness: every wrapper reseeds its own Generator from the episode's reset seed (and a
stream number of its own), never from the env's ``np_random`` -- drawing from that would
change the env's dynamics, so a noise sweep would measure two perturbations at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import gymnasium as gym
import numpy as np

from rlvet.envcheck.spec import env_factory
from rlvet.errors import RlvetInputError
from rlvet.evaluate.protocol import EnvSpec
from rlvet.pipeline.domain_rand import apply_params
from rlvet.sandbox import Heartbeat, UserCall

__all__ = [
    "EDGE_AXES",
    "WRAPPER_AXES",
    "ActionDelay",
    "ActionNoise",
    "InitialState",
    "ObservationDropout",
    "ObservationNoise",
    "Perturbation",
    "WatchedEnv",
    "make_env_fn",
]

KINDS = ("attribute", "make_kwarg", "wrapper", "edge_case")


@dataclass(frozen=True, slots=True)
class Perturbation:
    """One variant of the env.

    Attributes:
        axis: the swept quantity (``length``, ``obs_noise_std``, ``initial_state:tilted``).
        kind: ``attribute`` / ``make_kwarg`` (dynamics), ``wrapper`` (sensing and
            actuation noise), ``edge_case`` (out-of-distribution starts and dropout).
        value: the number, or the fixed initial state (a tuple) of ``initial_state:NAME``.
    """

    axis: str
    kind: str
    value: float | tuple[float, ...]

    @property
    def label(self) -> str:
        """``length=2`` / ``initial_state:tilted`` for tables and messages."""
        if isinstance(self.value, tuple):
            return self.axis
        return f"{self.axis}={self.value:g}"


class _Seeded:
    """Mixin: a Generator reseeded from each seeded reset (stream keeps wrappers apart)."""

    stream = 0

    def _reseed(self, seed: int | None) -> None:
        if seed is not None or not hasattr(self, "_rng"):
            self._rng = np.random.default_rng([0 if seed is None else seed, 100 + self.stream])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any]]:
        """Reseed (from a seeded reset), then the wrapped env's reset."""
        self._reseed(seed)
        # mixin: mypy cannot see the gym wrapper that follows it in the MRO
        result: tuple[Any, dict[str, Any]] = super().reset(  # type: ignore[misc]
            seed=seed, options=options)
        return result


class ObservationNoise(_Seeded, gym.ObservationWrapper):
    """Adds N(0, std^2) to every observation dimension (a noisy sensor), in obs units."""

    stream = 1

    def __init__(self, env: gym.Env, std: float) -> None:
        super().__init__(env)
        self.std = float(std)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        noise = self._rng.normal(0.0, self.std, np.shape(observation))
        return (observation + noise).astype(np.asarray(observation).dtype)


class ObservationDropout(_Seeded, gym.ObservationWrapper):
    """Zeroes each observation dimension with probability ``p`` (a sensor that drops out)."""

    stream = 2

    def __init__(self, env: gym.Env, p: float) -> None:
        super().__init__(env)
        self.p = float(p)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        keep = self._rng.random(np.shape(observation)) >= self.p
        return np.where(keep, observation, 0).astype(np.asarray(observation).dtype)


class ActionNoise(_Seeded, gym.ActionWrapper):
    """Discrete: a uniformly random action with probability ``scale``. Box: adds
    N(0, (scale * half-range)^2) per dimension, then clips (a sloppy actuator)."""

    stream = 3

    def __init__(self, env: gym.Env, scale: float) -> None:
        super().__init__(env)
        self.scale = float(scale)

    def action(self, action: Any) -> Any:
        space = self.env.action_space
        if isinstance(space, gym.spaces.Discrete):
            if self._rng.random() < self.scale:
                return int(space.start + self._rng.integers(space.n))
            return action
        if isinstance(space, gym.spaces.Box):
            half = np.where(np.isfinite(space.high - space.low), (space.high - space.low) / 2, 1.0)
            noisy = np.asarray(action) + self._rng.normal(0.0, self.scale * half)
            return np.clip(noisy, space.low, space.high).astype(space.dtype)
        raise RlvetInputError(f"action_noise supports Discrete and Box actions, not {space}")


class ActionDelay(gym.Wrapper):
    """Applies each action ``steps`` steps late (actuation or communication latency). The
    queue starts filled with the episode's first action, so no made-up no-op is needed."""

    def __init__(self, env: gym.Env, steps: int) -> None:
        super().__init__(env)
        self.steps = int(steps)
        self._queue: deque[Any] = deque()

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._queue.clear()
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        if not self._queue:
            self._queue.extend([action] * self.steps)
        self._queue.append(action)
        return self.env.step(self._queue.popleft())


class InitialState(gym.Wrapper):
    """After each reset, sets ``env.unwrapped.state`` to ``state`` or to the reset state
    times ``scale`` (starts outside the training distribution), and rebuilds the obs.

    Raises:
        RlvetInputError: the env exposes no ``state`` or cannot rebuild its observation.
    """

    def __init__(self, env: gym.Env, *, scale: float | None = None,
                 state: Sequence[float] | None = None) -> None:
        super().__init__(env)
        self.scale = scale
        self.state = None if state is None else np.asarray(state, dtype=np.float64)
        base = env.unwrapped
        if not hasattr(base, "state"):
            raise RlvetInputError(f"{type(base).__name__} exposes no `state` attribute: "
                                  f"initial-state edge cases need one")

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        _, info = self.env.reset(**kwargs)
        base: Any = self.env.unwrapped  # the concrete env's own ``state`` (checked in __init__)
        current = np.asarray(base.state, dtype=np.float64)
        scale = 1.0 if self.scale is None else self.scale
        new = current * scale if self.state is None else self.state
        if new.shape != current.shape:
            raise RlvetInputError(f"initial state {new.tolist()} has shape {new.shape}; "
                                  f"{type(base).__name__}.state has shape {current.shape}")
        base.state = new.copy()
        return self._observe(base), info

    def _observe(self, base: Any) -> np.ndarray:
        for getter in ("_get_obs", "_get_ob"):  # Pendulum, Acrobot build obs from state
            if callable(getattr(base, getter, None)):
                return cast(np.ndarray, getattr(base, getter)())
        space = self.env.observation_space
        if np.shape(base.state) == space.shape:
            return np.asarray(base.state, dtype=space.dtype)
        raise RlvetInputError(f"{type(base).__name__}: cannot rebuild the observation from "
                              f"`state`")


WRAPPER_AXES: Mapping[str, Callable[[gym.Env, float], gym.Env]] = {
    "obs_noise_std": lambda env, v: ObservationNoise(env, v),
    "action_noise": lambda env, v: ActionNoise(env, v),
    "action_delay": lambda env, v: ActionDelay(env, int(v)),
}
"""Sensing and actuation perturbations (return vs perturbation curves)."""
EDGE_AXES: Mapping[str, Callable[[gym.Env, Any], gym.Env]] = {
    "obs_dropout": lambda env, v: ObservationDropout(env, v),
    "initial_state_scale": lambda env, v: InitialState(env, scale=v),
    "initial_state": lambda env, v: InitialState(env, state=v),
}
"""Out-of-distribution cases (failure rates). ``initial_state:NAME`` axes use the last."""


class WatchedEnv(gym.Wrapper):
    """Reports every ``reset`` and ``step`` to a sandbox heartbeat, so the parent knows
    which call hung or killed the evaluation (outermost, so it times the perturbations)."""

    def __init__(self, env: gym.Env, watch: Heartbeat) -> None:
        super().__init__(env)
        self._watch = watch

    def reset(self, **kwargs: Any) -> Any:
        return self._watch.call(UserCall.RESET, self.env.reset, **kwargs)

    def step(self, action: Any) -> Any:
        return self._watch.call(UserCall.STEP, self.env.step, action)

    def close(self) -> None:
        self._watch.call(UserCall.CLOSE, self.env.close)


def _perturbed(env: EnvSpec, perturbation: Perturbation | None,
               watch: Heartbeat) -> gym.Env:
    kwargs, attributes = dict(env.kwargs), dict(env.attributes)
    if perturbation is not None and perturbation.kind == "make_kwarg":
        kwargs[perturbation.axis] = perturbation.value
    if perturbation is not None and perturbation.kind == "attribute":
        attributes[perturbation.axis] = float(perturbation.value)  # type: ignore[arg-type]
    if env.spec in gym.registry:
        kwargs["max_episode_steps"] = env.max_steps
    instance = watch.call(UserCall.BUILD, env_factory(env.spec, kwargs))
    if attributes:
        apply_params(instance, attributes)
    if perturbation is None or perturbation.kind in ("attribute", "make_kwarg"):
        return instance
    table: Mapping[str, Callable[[gym.Env, Any], gym.Env]] = (
        WRAPPER_AXES if perturbation.kind == "wrapper" else EDGE_AXES)
    return table[perturbation.axis.partition(":")[0]](instance, perturbation.value)


def _build(env: EnvSpec, perturbation: Perturbation | None,
           watch: Heartbeat | None) -> gym.Env:
    instance = _perturbed(env, perturbation, watch or Heartbeat())
    if watch is None or not isinstance(instance, gym.Env):  # validate_env names a non-Env
        return instance
    return WatchedEnv(instance, watch)


def make_env_fn(env: EnvSpec, perturbation: Perturbation | None = None, *,
                watch: Heartbeat | None = None) -> Callable[[], gym.Env]:
    """A no-arg factory of the protocol's env, optionally perturbed.

    Args:
        env: the protocol's env.
        perturbation: the variant (None: nominal).
        watch: the sandbox heartbeat of the eval child; None outside one.

    Raises (when called):
        RlvetInputError: unknown id, bad factory, unknown attribute.
    """
    return partial(_build, env, perturbation, watch)
