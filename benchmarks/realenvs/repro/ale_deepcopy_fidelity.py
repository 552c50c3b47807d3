"""Evidence for a false alarm, not an env defect: copy.deepcopy of an ale-py AtariEnv does
not carry the emulator state, so every "branch" that rlvet steps on a deep copy starts from
the same place whatever the env's state was. On SpaceInvaders-v5 every action then gives
the same next frame (rlvet: stale_observation at 20 of 20 states), while the ALE's own
cloneState/restoreState shows 3 distinct next frames at the same state.
Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/ale_deepcopy_fidelity.py
"""

import copy

import ale_py
import gymnasium as gym
import numpy as np

gym.register_envs(ale_py)
env = gym.make("ALE/SpaceInvaders-v5")
env.reset(seed=0)
rng = np.random.default_rng(0)
for _ in range(100):
    env.step(int(rng.integers(6)))
current = env.unwrapped._get_obs()
copied = [copy.deepcopy(env).step(a)[0] for a in range(6)]
print("deepcopy branches: distinct next frames", len({o.tobytes() for o in copied}),
      "; equal to current frame:", [np.array_equal(o, current) for o in copied])
ale_env = env.unwrapped
state = ale_env.ale.cloneState()
cloned = []
for a in range(6):
    ale_env.ale.restoreState(state)
    cloned.append(ale_env.step(a)[0])
print("cloneState branches: distinct next frames", len({o.tobytes() for o in cloned}))
print("deepcopy step == cloneState step for same action:",
      [np.array_equal(x, y) for x, y in zip(copied, cloned, strict=True)])
print("a fresh copy's frame equals the current one:",
      np.array_equal(copy.deepcopy(env).unwrapped._get_obs(), current))
