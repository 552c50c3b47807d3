"""deep-sea-treasure-v0 (mo-gymnasium): a step after the episode ended pays the treasure
again, with terminated=True each time.

The env has no end-of-episode guard: the submarine stays on the treasure cell and every
further ``step`` returns the treasure reward. Any loop that steps once more without
``reset`` (a hand-written evaluation, a vector env wrapper with a bug) collects it again.
Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/deep_sea_treasure_repays_after_end.py
"""

from __future__ import annotations

import mo_gymnasium as mo
import numpy as np

env = mo.make("deep-sea-treasure-v0")
env.reset(seed=0)
rewards = []
for _ in range(4):  # action 1 (down) from the start reaches the first treasure at once
    _, reward, terminated, _, _ = env.step(1)
    assert terminated
    rewards.append(np.asarray(reward, dtype=float))
print("treasure paid at the end and on 3 steps after it:", [r.tolist() for r in rewards])
if all(r[0] > 0 for r in rewards):
    print("DEFECT REPRODUCED")
