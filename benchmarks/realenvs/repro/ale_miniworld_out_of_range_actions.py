"""Discrete envs of the heldout2 split that run actions outside their space silently.

ale-py 0.12.1 (AtariEnv.step): ``action_idx = self._action_set[action]`` with no check, so
action -1 runs the last action of the minimal set (Python negative indexing); n raises
IndexError. The comparison uses the ALE's own cloneState/restoreState with sticky actions
off (a deep copy of an AtariEnv does not carry the emulator state).
miniworld 2.1.0: OneRoom/Hallway/TMaze/FourRooms declare Discrete(3) (turn left, turn
right, forward) but MiniWorldEnv.step dispatches on the full Actions enum: action 3 runs
``move_back``, and -1 matches no branch yet counts as a step (a silent no-op).
Run (repository root):
    MUJOCO_GL=egl .venv-realenvs/bin/python \
        benchmarks/realenvs/repro/ale_miniworld_out_of_range_actions.py
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

hits = []
import ale_py  # noqa: E402

gym.register_envs(ale_py)
for env_id in ("ALE/Pong-v5", "ALE/Breakout-v5"):
    env = gym.make(env_id, repeat_action_probability=0.0, disable_env_checker=True).unwrapped
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    n = env.action_space.n
    same = 0
    for _ in range(10):
        for _ in range(15):
            env.step(int(rng.integers(n)))
        state = env.ale.cloneState()
        out_bad = env.step(-1)[0]
        env.ale.restoreState(state)
        out_last = env.step(n - 1)[0]
        same += bool(np.array_equal(out_bad, out_last))
    print(f"{env_id}: action -1 accepted, same frame as action {n - 1} at {same}/10 states")
    hits.append(same == 10)

import pyglet  # noqa: E402

pyglet.options["headless"] = True  # no display: render through EGL
import miniworld  # noqa: E402,F401

env = gym.make("MiniWorld-OneRoom-v0", disable_env_checker=True).unwrapped
env.reset(seed=0)
start, steps = np.array(env.agent.pos), env.step_count
env.step(3)  # outside Discrete(3): Actions.move_back
moved = float(np.linalg.norm(np.array(env.agent.pos) - start))
pos, dir_ = np.array(env.agent.pos), env.agent.dir
env.step(-1)  # matches no action, still counts
noop = np.array_equal(np.array(env.agent.pos), pos) and env.agent.dir == dir_
print(f"MiniWorld-OneRoom-v0 {env.action_space}: action 3 moved the agent by {moved:.2f} "
      f"(move_back); action -1 a no-op that used a step: {noop and env.step_count == steps + 2}")
hits.append(moved > 0 and noop)
print("DEFECT REPRODUCED" if all(hits) else f"not all reproduced: {hits}")
