"""Built-in weak experts for Gymnasium's classic-control and toy-text envs, and expert loading.

Contents:
    builtin_expert -- a policy obs -> action for a known env, or None.
    load_expert -- the user's ``module:callable`` / ``file.py:callable``, or the built-in one.

An expert only has to be clearly better than random under the *true* reward: that is what
lets ``reward_direction`` tell a sign-flipped or mis-specified reward from a healthy one.
Heuristic controllers cover classic control; the toy-text envs expose their transition
table ``P``, so their expert is value iteration on it (an optimal policy, not a guess).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rlvet.envcheck.spec import load_callable

__all__ = ["builtin_expert", "load_expert"]

Policy = Callable[[Any], Any]
VALUE_ITERATION_GAMMA = 0.99  # long enough horizon for Taxi's 200-step limit
VALUE_ITERATION_SWEEPS = 500  # converges for every toy-text table well within this


def _cartpole(obs: Any) -> int:
    """Push toward where the pole is falling (angle plus angular velocity)."""
    _, _, theta, theta_dot = np.asarray(obs, dtype=np.float64)[:4]
    return int(theta + 0.5 * theta_dot > 0)


def _mountain_car(obs: Any) -> int:
    """Push along the velocity: pumps energy until the car crests the hill."""
    return 2 if float(np.asarray(obs, dtype=np.float64)[1]) >= 0 else 0


def _mountain_car_continuous(obs: Any) -> np.ndarray:
    return np.array(
        [1.0 if float(np.asarray(obs, dtype=np.float64)[1]) >= 0 else -1.0], dtype=np.float32
    )


def _acrobot(obs: Any) -> int:
    """Torque along the second joint's angular velocity pumps energy into the swing."""
    return 2 if float(np.asarray(obs, dtype=np.float64)[5]) > 0 else 0


def _pendulum(obs: Any) -> np.ndarray:
    """Energy pumping (torque along the swing) below upright energy, a PD controller near it."""
    cos_t, sin_t, theta_dot = np.asarray(obs, dtype=np.float64)[:3]
    theta = float(np.arctan2(sin_t, cos_t))
    energy_gap = 0.5 * theta_dot**2 - 10.0 * (1.0 - cos_t)  # < 0: not enough energy to reach top
    if cos_t > 0.85:
        torque = -(10.0 * theta + 2.0 * theta_dot)
    elif energy_gap < 0:
        torque = 2.0 if theta_dot >= 0 else -2.0
    else:
        torque = 0.0
    return np.array([np.clip(torque, -2.0, 2.0)], dtype=np.float32)


def _blackjack(obs: Any) -> int:
    """Stick on 17 or more, otherwise hit (the dealer's own rule)."""
    return 0 if int(obs[0]) >= 17 else 1


def _value_iteration(env: gym.Env) -> Policy | None:
    """Greedy policy of value iteration on the env's transition table ``P[s][a]``."""
    table = getattr(env.unwrapped, "P", None)
    if not isinstance(table, dict):
        return None
    n_states, n_actions = len(table), len(table[0])
    rows = [
        (s, a, p, s2, r, float(done))
        for s in range(n_states)
        for a in range(n_actions)
        for p, s2, r, done in table[s][a]
    ]
    s_idx, a_idx, prob, s_next, reward, done = (np.array(col) for col in zip(*rows, strict=True))
    flat = (s_idx * n_actions + a_idx).astype(np.int64)
    values = np.zeros(n_states)
    for _ in range(VALUE_ITERATION_SWEEPS):
        backup = prob * (reward + VALUE_ITERATION_GAMMA * (1.0 - done) * values[s_next.astype(int)])
        q = np.bincount(flat, weights=backup, minlength=n_states * n_actions)
        q = q.reshape(n_states, n_actions)
        new = q.max(axis=1)
        converged = np.max(np.abs(new - values)) < 1e-8
        values = new
        if converged:
            break
    greedy = q.argmax(axis=1)
    return lambda obs: int(greedy[int(obs)])


_HEURISTICS: dict[str, Policy] = {
    "CartPoleEnv": _cartpole,
    "MountainCarEnv": _mountain_car,
    "Continuous_MountainCarEnv": _mountain_car_continuous,
    "AcrobotEnv": _acrobot,
    "PendulumEnv": _pendulum,
    "BlackjackEnv": _blackjack,
}
_TABULAR = frozenset({"FrozenLakeEnv", "TaxiEnv", "CliffWalkingEnv"})


def builtin_expert(env: gym.Env) -> tuple[str, Policy] | None:
    """``(name, policy)`` for a classic-control or toy-text env, looked up by its base class."""
    name = type(env.unwrapped).__name__
    if name in _HEURISTICS:
        return f"builtin:{name}", _HEURISTICS[name]
    if name in _TABULAR:
        policy = _value_iteration(env)
        return None if policy is None else (f"builtin:{name}:value-iteration", policy)
    return None


def load_expert(spec: str | None, env: gym.Env) -> tuple[str, Policy] | None:
    """The expert for ``env``: the user's spec if given, else the built-in one, else None."""
    if spec is None:
        return builtin_expert(env)
    return spec, load_callable(spec)
