"""rware 2.0.0: the 500-step time limit is reported as a termination.

``Warehouse.step`` sets ``done = True`` when ``_cur_steps >= max_steps`` (500 in every
registered id, also the inactivity limit) and always returns ``truncated = False``; the
spec has no ``max_episode_steps``. The warehouse has no terminal state, so every episode
"terminates" at step 500 with an observation that does not show the step count: value
bootstrapping treats the time limit as the end of the task. rware's README documents the
Gymnasium 5-tuple ``done, truncated``.
Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/rware_time_limit_as_termination.py
"""

from __future__ import annotations

import gymnasium as gym
import rware  # noqa: F401  (registers the rware-* ids)

env = gym.make("rware-tiny-1ag-easy-v2", disable_env_checker=True)
print("spec.max_episode_steps:", env.spec.max_episode_steps,
      "| Warehouse.max_steps:", env.unwrapped.max_steps)
ends = []
for episode in range(3):
    env.reset(seed=episode)
    env.action_space.seed(episode)
    for t in range(1, 2001):
        _, _, done, truncated, _ = env.step(env.action_space.sample())
        if done or truncated:
            ends.append((t, done, truncated))
            break
for t, done, truncated in ends:
    print(f"episode ended at step {t}: done(terminated)={done} truncated={truncated}")
hit = all(t == 500 and done and not truncated for t, done, truncated in ends)
print("DEFECT REPRODUCED" if hit else "not reproduced")
