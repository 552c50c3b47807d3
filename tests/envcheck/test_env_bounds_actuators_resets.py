"""Legal actions that crash the env, actuators that die late in an episode, resets that
block, each beside its healthy twin:

* a step that raises on an action at the declared bound (which a random policy almost never
  draws exactly, and a squashed-Gaussian policy sends all the time) is a harness failure;
* an action component that stops mattering from some step of the episode on, while the
  others still do, is action drift; a component that matters throughout is not;
* a reset that blocks after some episodes is a silent stall; a reset that is slow every
  time (a scene rebuilt) is not.
"""

from __future__ import annotations

import math
import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Finding, Severity


def _findings(name: str, make: Any) -> list[Finding]:
    return list(run_env_qa(EnvQAConfig(spec=name, factory=make)).result.findings)


class Glider(gym.Env):
    """A glider on a 2-D plane, Box(2) action in [-1, 1]: pitch and trim. ``fault``:
    ``"log_effort"`` logs log(1 - |a|), which raises at the bound; ``"trim_dies"``: the trim
    tab jams from step 10 of a flight; ``"slow_reset"``: every reset rebuilds the wind field
    (about 20 ms, every time); ``"reset_blocks"``: the reset after a crash waits 0.3 s for
    the recovery crew (at most 4 times)."""

    def __init__(self, fault: str = "") -> None:
        self.observation_space = spaces.Box(-50.0, 50.0, (4,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.fault, self.stalls, self.crashed = fault, 0, False
        self.s, self.t = np.zeros(4), 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        if self.fault == "slow_reset":
            deadline = time.perf_counter() + 0.02
            while time.perf_counter() < deadline:
                pass
        if self.fault == "reset_blocks" and self.crashed and self.stalls < 4:
            self.stalls += 1
            time.sleep(0.3)
        self.s = np.array([0.0, 10.0, *self.np_random.uniform(-0.5, 0.5, 2)])
        self.t, self.crashed = 0, False
        return self.s.astype(np.float32), {}

    def step(self, action: Any) -> Any:
        a = np.clip(np.asarray(action, np.float64).reshape(2), -1.0, 1.0)
        if self.fault == "log_effort":
            math.log1p(-float(np.abs(a).max()))
        if self.fault == "trim_dies" and self.t >= 10:
            a[1] = 0.0
        self.t += 1
        x, h, vx, vh = self.s
        vx, vh = 0.95 * vx + 0.2 * a[0], 0.9 * vh + 0.1 * a[0] + 0.05 * a[1] - 0.05
        self.s = np.array([x + vx, h + vh, vx, vh])
        self.crashed = bool(self.s[1] <= 0.0)
        reward = float(vx) - (5.0 if self.crashed else 0.0)
        return np.clip(self.s, -50, 50).astype(np.float32), reward, self.crashed, False, {}


def test_an_action_at_the_declared_bound_that_raises_is_a_harness_failure() -> None:
    found = _findings("glider", lambda: TimeLimit(Glider("log_effort"), 120))
    errors = [f for f in found if f.category == Category.HARNESS_FAILURE]
    assert [f.severity for f in errors] == [Severity.ERROR]
    assert "ValueError" in errors[0].message


def test_the_healthy_glider_has_no_harness_failure() -> None:
    found = _findings("glider", lambda: TimeLimit(Glider(), 120))
    assert not [f for f in found if f.category == Category.HARNESS_FAILURE]


def test_an_actuator_that_dies_late_in_the_episode_is_action_drift() -> None:
    found = _findings("glider", lambda: TimeLimit(Glider("trim_dies"), 120))
    late = [f for f in found if "as the episode ages" in f.message]
    assert [(f.category, f.severity) for f in late] == [(Category.ACTION_SPACE_DRIFT,
                                                          Severity.WARNING)]
    assert late[0].evidence["components_lost"] == [1]


def test_the_healthy_glider_keeps_both_actuators() -> None:
    found = _findings("glider", lambda: TimeLimit(Glider(), 120))
    assert not [f for f in found if "as the episode ages" in f.message]


def test_a_reset_that_blocks_after_crashes_is_a_silent_stall() -> None:
    found = _findings("glider", lambda: TimeLimit(Glider("reset_blocks"), 120))
    stalls = [f for f in found if f.category == Category.SILENT_TIMEOUT]
    assert [f.severity for f in stalls] == [Severity.WARNING]
    assert stalls[0].evidence["call"] == "reset"


def test_a_reset_slow_every_time_is_not_a_stall() -> None:
    found = _findings("glider", lambda: TimeLimit(Glider("slow_reset"), 120))
    assert not [f for f in found if f.category == Category.SILENT_TIMEOUT]
