"""An action component the env never reads is named; components that matter are not."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Finding, Severity


class Sprinkler(gym.Env):
    """A garden with two soil-moisture zones, each watered by its own valve. ``wired``:
    whether valve 2 is connected (the bug: it is declared but never read)."""

    def __init__(self, *, kind: str, wired: bool) -> None:
        self.observation_space = spaces.Box(0.0, 1.0, (2,), np.float64)
        self.action_space = (spaces.Box(0.0, 1.0, (2,), np.float32) if kind == "box"
                             else spaces.MultiDiscrete([3, 3]))
        self.kind, self.wired = kind, wired
        self.moisture = np.zeros(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.moisture = self.np_random.uniform(0.2, 0.8, 2)
        return self.moisture.copy(), {}

    def step(self, action: Any) -> Any:
        valves = np.asarray(action, np.float64) / (1.0 if self.kind == "box" else 2.0)
        if not self.wired:
            valves[1] = 0.0
        self.moisture = np.clip(0.97 * self.moisture + 0.05 * valves
                                + self.np_random.normal(0, 0.005, 2), 0.0, 1.0)
        reward = -float(np.abs(self.moisture - 0.5).sum())
        return self.moisture.copy(), reward, False, False, {}


def _drift(kind: str, wired: bool) -> list[Finding]:
    outcome = run_env_qa(EnvQAConfig(
        spec="sprinkler", factory=lambda: TimeLimit(Sprinkler(kind=kind, wired=wired), 50)))
    return [f for f in outcome.result.findings if f.category == Category.ACTION_SPACE_DRIFT
            and "never changed" in f.message]


@pytest.mark.parametrize("kind", ["box", "multidiscrete"])
def test_a_declared_component_the_env_never_reads_is_a_warning(kind: str) -> None:
    [found] = _drift(kind, wired=False)
    assert found.severity == Severity.WARNING and found.evidence["dead_components"] == [1]


@pytest.mark.parametrize("kind", ["box", "multidiscrete"])
def test_every_component_read_is_not_named(kind: str) -> None:
    assert _drift(kind, wired=True) == []
