"""Discrete envs that accept actions outside their space and remap them silently.

Acrobot-v1 (gymnasium 1.4.0) indexes ``AVAIL_TORQUE[a]``: action -1 becomes action 2.
popgym 1.0.7 (RepeatPrevious, CountRecall, MultiarmedBandit) clips: -1 becomes 0, n
becomes n-1. A policy head with an off-by-one then trains on remapped actions and nothing
fails. Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/discrete_out_of_range_actions.py
"""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np


def _same(a: object, b: object) -> bool:
    return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)))


def remapped(env_id: str, bad: int, good: int) -> bool:
    """True when ``step(bad)`` runs and gives what ``step(good)`` gives."""
    env = gym.make(env_id, disable_env_checker=True).unwrapped
    env.reset(seed=0)
    twin = copy.deepcopy(env)
    try:
        out_bad = env.step(bad)
    except Exception:  # rejected: the healthy outcome
        return False
    out_good = twin.step(good)
    return _same(out_bad[0], out_good[0]) and out_bad[1] == out_good[1]


CASES = [("Acrobot-v1", -1, 2)]
try:
    import popgym  # noqa: F401  (registers the popgym-* ids)

    CASES += [("popgym-RepeatPreviousEasy-v0", -1, 0), ("popgym-RepeatPreviousEasy-v0", 4, 3),
              ("popgym-MultiarmedBanditEasy-v0", -1, 0)]
except ImportError:
    pass
for env_id, bad, good in CASES:
    hit = remapped(env_id, bad, good)
    print(f"{env_id}: action {bad} accepted as {good}: {hit}")
    print("DEFECT REPRODUCED" if hit else "not reproduced")

try:
    import crafter

    env = crafter.Env(seed=0)
    env.reset()
    env.step(-1)  # crafter.Env has no gymnasium id; -1 indexes its last action
    print("crafter: action -1 accepted: True\nDEFECT REPRODUCED")
except ImportError:
    pass
