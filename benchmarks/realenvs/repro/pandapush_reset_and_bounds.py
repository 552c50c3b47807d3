"""PandaPush-v3 (panda-gym 3.0.7, pybullet 3.2.7): two defects.

1. Reset leakage: reset(seed=1) after an earlier episode in the same env differs from a
   fresh env's reset(seed=1) once stepped with the same actions (PyBullet keeps solver and
   contact state across ``resetBasePositionAndOrientation``).
2. Observations outside the declared space: with random actions the observation leaves its
   Box on some steps.
Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/pandapush_reset_and_bounds.py
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import panda_gym  # noqa: F401  (registers the Panda ids)


def episode(env: gym.Env, seed: int, outside: list[str]) -> np.ndarray:
    actions = np.random.default_rng(seed).uniform(-1, 1, (50, 3)).astype(np.float32)
    obs, _ = env.reset(seed=seed)
    rows = [obs["observation"]]
    for a in actions:
        obs, _, terminated, truncated, _ = env.step(a)
        for key, space in env.observation_space.spaces.items():
            if not space.contains(obs[key]):
                outside.append(key)
        rows.append(obs["observation"])
        if terminated or truncated:
            break
    return np.array(rows)


outside: list[str] = []
used = gym.make("PandaPush-v3")
for seed in range(20):
    episode(used, seed, outside)
after = episode(used, 1, outside)
fresh = episode(gym.make("PandaPush-v3"), 1, outside)
n = min(len(after), len(fresh))
diff = np.flatnonzero(np.any(after[:n] != fresh[:n], axis=1))
gap = float(np.abs(after[:n] - fresh[:n]).max())
print(f"1. seed 1 after 20 episodes vs a fresh env: first differing step "
      f"{int(diff[0]) if diff.size else None}, max |diff| {gap:.3g}")
print(f"2. observations outside the space: {len(outside)} (keys {sorted(set(outside))})")
print("DEFECT REPRODUCED" if diff.size or outside else "not reproduced")
