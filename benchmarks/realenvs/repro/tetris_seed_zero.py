"""tetris-gymnasium 0.3.1: reset(seed=0) is not seeded.

``Randomizer.reset`` (components/tetromino_randomizer.py) only seeds its RNG when
``if seed and seed > 0``: seed 0 is falsy, so a fresh env falls back to an unseeded
``np.random.default_rng()`` (and an env that was already used keeps its old RNG). The piece
order, hence the first observation and the whole episode, differs between two fresh envs
given reset(seed=0); seeds 1, 2, ... are reproducible. The randomizer never uses the env's
own ``np_random`` either.
Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/tetris_seed_zero.py
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import tetris_gymnasium.envs  # noqa: F401  (registers tetris_gymnasium/Tetris)


def first_observation(seed: int) -> dict[str, np.ndarray]:
    env = gym.make("tetris_gymnasium/Tetris")
    obs, _ = env.reset(seed=seed)
    return obs


for seed in (0, 1):
    runs = [first_observation(seed) for _ in range(8)]
    queues = {o["queue"].tobytes() for o in runs}
    boards = {o["board"].tobytes() for o in runs}
    print(f"seed {seed}: 8 fresh envs, distinct reset observations: queue {len(queues)}, "
          f"board {len(boards)}")
env = gym.make("tetris_gymnasium/Tetris")
env.reset(seed=0)
print("RNG behind seed 0:", env.unwrapped.queue.randomizer.rng.bit_generator.seed_seq)
distinct = len({first_observation(0)["queue"].tobytes() for _ in range(8)})
print("DEFECT REPRODUCED" if distinct > 1 else "not reproduced")
