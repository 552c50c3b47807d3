"""Discrete envs of the heldout3 split that run actions outside their space silently.

flappy-bird-gymnasium 0.4.0 (FlappyBirdEnv.step): ``if action == Actions.FLAP`` and nothing
else, so any action but 1 (2, -1, ...) is "do not flap".
gym-anytrading 2.0.0 (TradingEnv.step, StocksEnv/ForexEnv._calculate_reward): a trade
happens only on ``action == Buy.value`` while short or ``action == Sell.value`` while long,
so 2 or -1 is a silent "hold" (the same as Sell while short, as Buy while long).
MinAtar 1.0.15 (minatar.gym.BaseEnv.step): ``self.action_set[action]`` on a Python list,
so -1 runs the last action of the minimal set; n raises IndexError.
Each check steps a deep copy with the bad action and another with the valid one it stands
for (deep copies of these envs reproduce their own steps: checked).
Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/heldout3_out_of_range_actions.py
"""

from __future__ import annotations

import copy

import flappy_bird_gymnasium  # noqa: F401  (registers FlappyBird-v0)
import gym_anytrading  # noqa: F401  (registers stocks-v0, forex-v0)
import gymnasium as gym
import minatar.gym
import numpy as np

minatar.gym.register_envs()


def remapped(env: gym.Env, bad: int, good: int) -> bool:
    """True when ``step(bad)`` runs and gives what ``step(good)`` gives (observation, reward
    and gym-anytrading's position: its observation and most rewards ignore the action)."""
    twin = copy.deepcopy(env)
    try:
        out_bad = copy.deepcopy(env).step(bad)
    except Exception:  # rejected: the healthy outcome
        return False
    out_good = twin.step(good)
    return (bool(np.array_equal(out_bad[0], out_good[0])) and out_bad[1] == out_good[1]
            and out_bad[4].get("position") == out_good[4].get("position"))


def at_state(env_id: str, steps: int, seed: int = 0) -> gym.Env:
    env = gym.make(env_id, disable_env_checker=True).unwrapped
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        if env.step(int(rng.integers(env.action_space.n)))[2]:
            env.reset(seed=seed)
    return env


CASES = [("FlappyBird-v0", 3, 2, 0), ("FlappyBird-v0", 3, -1, 0),
         ("stocks-v0", 0, 2, 0), ("stocks-v0", 0, -1, 0), ("forex-v0", 0, 2, 0)]
CASES += [(f"MinAtar/{g}-v1", 20, -1, n - 1) for g, n in
          (("Breakout", 3), ("Asterix", 5), ("Seaquest", 6), ("SpaceInvaders", 4), ("Freeway", 3))]
for env_id, steps, bad, good in CASES:
    hit = remapped(at_state(env_id, steps), bad, good)
    print(f"{env_id}: action {bad} accepted as {good}: {hit}")
    print("DEFECT REPRODUCED" if hit else "not reproduced")
# gym-anytrading while long: 2 is Buy's "hold", not a sale
env = at_state("stocks-v0", 0)
env.step(1)  # buy: now long
print("stocks-v0 while long: action 2 accepted as 1 (hold):", remapped(env, 2, 1),
      "; as 0 (sell):", remapped(env, 2, 0))
