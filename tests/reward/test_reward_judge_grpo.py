"""Reward vs the true objective per sample (sign, judge agreement) and GRPO groups."""

from __future__ import annotations

import numpy as np

from rlvet.findings import Category, Severity
from rlvet.reward import audit_samples


def _categories(records: list[dict]) -> dict[str, str]:
    return {str(f.category): str(f.severity) for f in audit_samples(records).result.findings}


def _scored(reward_of, n_steps: int = 10, per_step: int = 16, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_steps * per_step):
        human = int(rng.integers(1, 6))
        out.append({"id": i, "step": i // per_step, "human_score": human,
                    "reward": float(reward_of(human, rng))})
    return out


def test_agreeing_judge_is_clean() -> None:
    assert _categories(_scored(lambda h, rng: h + rng.normal(0, 0.8))) == {}


def test_negated_reward_is_a_direction_error() -> None:
    found = _categories(_scored(lambda h, rng: -h + rng.normal(0, 0.8)))
    assert found == {"reward_direction": "error"}


def test_random_judge_disagrees() -> None:
    found = _categories(_scored(lambda h, rng: rng.normal(0, 1), per_step=32))
    assert found == {"judge_disagreement": "error"}


def test_weak_judge_is_a_warning() -> None:
    found = _categories(_scored(lambda h, rng: 0.2 * h + rng.normal(0, 1.2), n_steps=6))
    assert found.get("judge_disagreement") == "warning"


def _groups(rewards_of_group, n_steps: int = 8, groups: int = 4, k: int = 4,
            seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for step in range(n_steps):
        for g in range(groups):
            evals = (rng.random(k) < 0.5).astype(float)
            for j, (r, e) in enumerate(zip(rewards_of_group(evals, rng), evals, strict=True)):
                out.append({"id": f"{step}-{g}-{j}", "step": step, "group": f"q{g}",
                            "reward": float(r), "eval_score": float(e)})
    return out


def test_zero_spread_groups_have_no_learning_signal() -> None:
    records = _groups(lambda e, rng: np.full(e.size, float(rng.random() < 0.5)))
    result = audit_samples(records).result
    (f,) = [f for f in result.findings if f.category == Category.NO_LEARNING_SIGNAL]
    assert f.severity == Severity.ERROR
    assert f.evidence["zero_spread_share"] == 1.0


def test_healthy_groups_are_clean_and_counted() -> None:
    records = _groups(lambda e, rng: e + rng.normal(0, 0.05, e.size))
    result = audit_samples(records).result
    assert not [f for f in result.findings if f.severity != Severity.INFO]
    groups = result.metrics["groups"]
    assert groups["groups"] == 32 and groups["contradicting_groups"] == 0


def test_inverted_group_ranking_is_a_direction_error() -> None:
    records = _groups(lambda e, rng: 1 - e + rng.normal(0, 0.05, e.size))
    checks = {f.check for f in audit_samples(records).result.findings
              if f.category == Category.REWARD_DIRECTION}
    assert "reward.grpo.ranking" in checks
