"""Declared spaces and ranges of heldout3 envs that their own observations and rewards leave.

flappy-bird-gymnasium 0.4.0: FlappyBird-v0 (lidar, normalised) declares Box(0, 1, (180,))
and divides lidar distances by LIDAR_MAX_DISTANCE; a ray that hits nothing measures the
full length through float arithmetic, 1.0000000000000002 > 1: the reset observation is
already outside the space (Gymnasium's passive checker warns too).
gym-electric-motor 3.0.3: on the step where a state exceeds its limit (the constraint
monitor then terminates the episode) the normalised state lies outside the declared
[-1, 1] Box of the Tuple observation space, and the reward is WeightedSumOfErrors'
violation reward reward_range[0] / (1 - gamma) = -10, outside the env's own
``reward_range`` (-1, 0), documented as "lowest and highest possible rewards".
Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/heldout3_space_contracts.py
"""

from __future__ import annotations

import flappy_bird_gymnasium  # noqa: F401  (registers FlappyBird-v0)
import gym_electric_motor  # noqa: F401  (registers the motor envs)
import gymnasium as gym
import numpy as np

env = gym.make("FlappyBird-v0", disable_env_checker=True).unwrapped
obs, _ = env.reset(seed=0)
space = env.observation_space
print(f"FlappyBird-v0: reset obs max {obs.max()!r}, declared high {space.high.max()!r}, "
      f"in space: {space.contains(obs)}")
if not space.contains(obs):
    print("DEFECT REPRODUCED")

for env_id in ("Cont-SC-ExtExDc-v0", "Finite-TC-PermExDc-v0"):
    env = gym.make(env_id, disable_env_checker=True)
    space, declared = env.unwrapped.observation_space, env.unwrapped.reward_range
    env.action_space.seed(0)
    out = terminal = live_out = 0
    rewards = []
    for episode in range(20):
        env.reset(seed=episode)
        for _ in range(300):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated:
                terminal += 1
                out += not space.contains(obs)
                rewards.append(float(reward))
            else:
                live_out += not space.contains(obs)
            if terminated or truncated:
                break
    print(f"{env_id}: terminal observations outside the space {out}/{terminal}, other steps "
          f"outside {live_out}; terminal rewards {sorted(set(np.round(rewards, 3)))} vs "
          f"reward_range ({float(declared[0])}, {float(declared[1])})")
    if out and min(rewards) < declared[0]:
        print("DEFECT REPRODUCED")
