"""Every Gymnasium classic-control and toy-text env passes ``rlvet env`` without an error."""

from __future__ import annotations

import pytest

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Severity

HEALTHY_IDS = [
    "CartPole-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Acrobot-v1",
    "Pendulum-v1",
    "FrozenLake-v1",
    "FrozenLake8x8-v1",
    "Taxi-v4",
    "CliffWalking-v1",
    "Blackjack-v1",
]


@pytest.mark.slow
@pytest.mark.parametrize("env_id", HEALTHY_IDS)
def test_healthy_env_has_no_error_finding(env_id: str) -> None:
    outcome = run_env_qa(EnvQAConfig(spec=env_id, episodes=10))
    errors = [f for f in outcome.result.findings if f.severity == Severity.ERROR]
    assert errors == []
    assert outcome.evidence.random_a and outcome.evidence.expert, "both probes must have run"
    assert not outcome.evidence.failures


def test_cartpole_expert_beats_random_and_is_deterministic() -> None:
    first = run_env_qa(EnvQAConfig(spec="CartPole-v1", episodes=6, seed=3))
    second = run_env_qa(EnvQAConfig(spec="CartPole-v1", episodes=6, seed=3))
    assert first.result.metrics["expert_policy"]["mean_return"] > 400
    assert first.result.metrics["random"]["mean_return"] < 60
    # same seed, same evidence: the random returns are bit-identical
    returns = [e.episode_return for e in first.evidence.random_a]
    assert returns == [e.episode_return for e in second.evidence.random_a]
    assert [f.to_dict() for f in first.result.findings] == [
        f.to_dict() for f in second.result.findings
    ]
