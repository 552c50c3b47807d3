"""crafter 1.8.3: two envs with the same seed and the same actions diverge.

``engine.World`` keeps the objects of each chunk in a ``set``; sets of objects iterate in
memory-address order, and ``Env._balance_object`` picks the creature to despawn by index
into that order with the seeded RNG. Same seed, different addresses, different world.
Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/crafter_nondeterministic.py
"""

from __future__ import annotations

import crafter
import numpy as np


def episode(steps: int = 300) -> np.ndarray:
    env = crafter.Env(seed=0)
    frames = [env.reset()]
    for action in np.random.default_rng(5).integers(0, env.action_space.n, steps):
        obs, _, done, _ = env.step(int(action))
        frames.append(obs)
        if done:
            break
    return np.array(frames)


padding = [bytearray(64 * i) for i in range(1, 50)]  # move later allocations elsewhere
first, second = episode(), episode()
n = min(len(first), len(second))
diff = np.flatnonzero(np.any((first[:n] != second[:n]).reshape(n, -1), axis=1))
print(f"first differing frame: {int(diff[0]) if diff.size else None} of {n}")
print("DEFECT REPRODUCED" if diff.size or len(first) != len(second) else "not reproduced")
