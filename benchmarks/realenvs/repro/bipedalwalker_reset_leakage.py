"""BipedalWalker-v3: the same reset(seed) and actions give a different episode after an
earlier episode in the same env (gymnasium 1.4.0, box2d 2.3.10).

The Box2D world is built once in ``__init__`` and only emptied by ``reset``; what the
reused world keeps (broad-phase tree, contact order) changes the floating-point results.
Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/bipedalwalker_reset_leakage.py
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


def episode(env: gym.Env, seed: int, steps: int = 1600) -> np.ndarray:
    actions = np.random.default_rng(seed).uniform(-1, 1, (steps, 4)).astype(np.float32)
    obs = [env.reset(seed=seed)[0]]
    for a in actions:
        o, _, terminated, truncated, _ = env.step(a)
        obs.append(o)
        if terminated or truncated:
            break
    return np.array(obs)


used = gym.make("BipedalWalker-v3")
episode(used, seed=0)  # two earlier episodes in the same env
episode(used, seed=1)
after = episode(used, seed=2)
fresh = episode(gym.make("BipedalWalker-v3"), seed=2)
n = min(len(after), len(fresh))
diff = np.flatnonzero(np.any(after[:n] != fresh[:n], axis=1))
print(f"first differing step: {int(diff[0]) if diff.size else None} of {n}; "
      f"max |diff| {np.abs(after[:n] - fresh[:n]).max():.3g}")
print("DEFECT REPRODUCED" if diff.size or len(after) != len(fresh) else "not reproduced")
