"""Write ``real_cartpole.jsonl``: a stand-in for observations logged on a "real" cart-pole.

Run from the repository root:
    .venv/bin/python tests/data/eval/make_real_trajectory.py

The recorded SB3 PPO CartPole policy acts greedily on a CartPole whose pole is longer and
twice as heavy as the simulator's (length 0.6, masspole 0.2) and whose sensors add Gaussian
noise (std 0.03): the dynamics and the sensing both differ, as on hardware. Two episodes of
seeds 0 and 1, 200 steps each, observations rounded to 4 decimals (a logger's precision).
"""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from rlvet.evaluate.perturb import ObservationNoise
from rlvet.evaluate.policies import load_policy
from rlvet.evaluate.protocol import PolicySpec
from rlvet.pipeline.domain_rand import apply_params

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent / "runs" / "healthy_ppo_cartpole" / "rl_model_99984_steps.zip"
REAL = {"length": 0.6, "masspole": 0.2}
SENSOR_STD = 0.03
STEPS = 200


def main() -> None:
    torch.set_num_threads(1)
    env = ObservationNoise(gym.make("CartPole-v1", max_episode_steps=STEPS), SENSOR_STD)
    apply_params(env, REAL)
    policy = load_policy(PolicySpec(kind="sb3", target=str(MODEL), algo="PPO"), env)
    rows = []
    for episode, seed in enumerate((0, 1)):
        obs, _ = env.reset(seed=seed)
        for t in range(STEPS):
            rows.append({"episode": episode, "t": t,
                         "obs": np.round(obs.astype(np.float64), 4).tolist()})
            obs, _, terminated, truncated, _ = env.step(int(policy(obs[None])[0]))
            if terminated or truncated:
                break
    out = HERE / "real_cartpole.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{out}: {len(rows)} observations")


if __name__ == "__main__":
    main()
