"""Shares in findings count like with like: violations at resets over audited resets,
violations at steps over audited steps (FlappyBird once read "1012 of 1008 audited
steps"), and repeated observations are called continuous only when they are."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from rlvet.envcheck.checks.stale_observation import check_stale_observation
from rlvet.envcheck.records import ApiProbe, ContractAudit, EpisodeRecord, ProbeEvidence
from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Severity


class RoundedReset(gym.Env):
    """Box(0, 1) whose reset observation is one float ulp above 1 (FlappyBird's lidar);
    every step's observation lies inside."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(0.0, 1.0, (2,), np.float64)
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        return np.array([1.0000000000000002, 0.5]), {}

    def step(self, action: Any) -> Any:
        obs = self.np_random.uniform(0.0, 1.0, 2)
        return obs, float(action), False, False, {}


def test_reset_violations_are_counted_over_resets_not_steps() -> None:
    outcome = run_env_qa(EnvQAConfig(spec="test", factory=lambda: TimeLimit(RoundedReset(), 20),
                                     episodes=5))
    found = [f for f in outcome.result.findings if f.category == Category.API_CONTRACT
             and f.evidence.get("violation") == "obs_not_in_space"]
    assert len(found) == 1 and found[0].severity == Severity.ERROR
    evidence = found[0].evidence
    assert evidence["count"] == 0 and evidence["steps"] > 0
    assert 0 < evidence["reset_count"] <= evidence["resets"]


def _grid_episode(seed: int) -> EpisodeRecord:
    """A bool 3 x 3 grid that changes every other step (a game's move timer)."""
    frames = np.repeat(np.eye(9, dtype=bool)[:5], 2, axis=0).astype(np.float64)
    n = frames.shape[0]
    return EpisodeRecord(seed=seed, policy="random", reset_obs=frames[0], obs=frames,
                         actions=[0] * n, rewards=np.zeros(n), terminated=np.zeros(n, bool),
                         truncated=np.zeros(n, bool), step_seconds=np.full(n, 1e-4))


def test_a_repeated_bool_grid_is_not_called_continuous() -> None:
    episodes = [_grid_episode(s) for s in range(5)]
    ev = ProbeEvidence(api=ApiProbe(obs_kind="box"), audit=ContractAudit(), random_a=episodes,
                       random_b=[], fresh={}, expert=[], branches=[], failures=[],
                       step_timeout=2.0, expert_name=None)
    found = check_stale_observation(ev)
    assert [(f.category, f.severity) for f in found] == [
        (Category.STALE_OBSERVATION, Severity.WARNING)]
    assert "continuous" not in found[0].message
