"""jumanji 1.1.2 envs accept actions outside their spaces through JumanjiToGymWrapper.

The JAX step functions index with the action unchecked and XLA clamps (or, for -1, wraps)
out-of-bounds indices instead of raising, so Discrete(4) takes 4 and -1, and Minesweeper's
MultiDiscrete([10, 10]) takes [10, 10]. Run:
.venv-realenvs/bin/python benchmarks/realenvs/repro/jumanji_out_of_range_actions.py
"""

from __future__ import annotations

import jumanji
import numpy as np
from jumanji.wrappers import JumanjiToGymWrapper

CASES = [("Snake-v1", 4), ("Snake-v1", -1), ("Game2048-v1", 4), ("Maze-v0", 4),
         ("Minesweeper-v0", np.array([10, 10]))]
for env_id, action in CASES:
    env = JumanjiToGymWrapper(jumanji.make(env_id))
    env.reset(seed=0)
    try:
        env.step(action)
        accepted = True
    except Exception:  # a rejection is the healthy outcome
        accepted = False
    inside = env.action_space.contains(np.asarray(action, dtype=env.action_space.dtype))
    print(f"{env_id}: action {action} (in space: {inside}) accepted: {accepted}")
    print("DEFECT REPRODUCED" if accepted and not inside else "not reproduced")
