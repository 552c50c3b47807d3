"""Reward direction: an expert must out-score a random policy under the env's own reward.

If a competent controller earns *less* than random actions, the reward's sign or its target
is wrong and training will optimise the opposite of the task. Tested with a two-sided
Mann-Whitney U test on episode returns (no normality assumption; returns are often bimodal).
"""

from __future__ import annotations

from typing import cast

import numpy as np
from scipy.stats import mannwhitneyu

from rlvet.envcheck.checks.common import env_finding
from rlvet.envcheck.records import EpisodeRecord, ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_reward_direction"]

SIGNIFICANCE = 0.01  # strict: a false "reward is wrong" would send people hunting for nothing
MIN_EPISODES = 5


def _returns(episodes: list[EpisodeRecord]) -> np.ndarray:
    values = np.array([e.episode_return for e in episodes if e.error is None], dtype=float)
    return cast(np.ndarray, values[np.isfinite(values)])


def check_reward_direction(ev: ProbeEvidence) -> list[Finding]:
    """Expert vs random episode returns; error if the expert is significantly worse."""
    if not ev.expert:
        return [
            env_finding(
                "reward_direction",
                Category.REWARD_DIRECTION,
                Severity.INFO,
                "reward direction not tested: no expert policy for this env "
                "(pass --expert module:callable)",
                remedy="",
            )
        ]
    expert, random = _returns(ev.expert), _returns(ev.random_a)
    if expert.size < MIN_EPISODES or random.size < MIN_EPISODES:
        return []
    evidence = {
        "expert_mean": float(expert.mean()),
        "random_mean": float(random.mean()),
        "expert_episodes": int(expert.size),
        "random_episodes": int(random.size),
        "expert": ev.expert_name,
    }
    if np.ptp(np.concatenate([expert, random])) == 0:
        return [
            env_finding(
                "reward_direction",
                Category.REWARD_DIRECTION,
                Severity.WARNING,
                f"expert and random policies earn the identical return {expert[0]:g}: "
                "the reward does not distinguish good behaviour from bad",
                evidence={**evidence, "p_value": 1.0},
            )
        ]
    p = float(mannwhitneyu(expert, random, alternative="two-sided").pvalue)
    evidence["p_value"] = p
    if (
        np.median(expert) <= np.median(random)
        and expert.mean() < random.mean()
        and p < SIGNIFICANCE
    ):
        return [
            env_finding(
                "reward_direction",
                Category.REWARD_DIRECTION,
                Severity.ERROR,
                f"the expert earns less than random (mean return {expert.mean():.3g} vs "
                f"{random.mean():.3g}, Mann-Whitney p={p:.2g}): the reward points the wrong way",
                evidence=evidence,
            )
        ]
    if expert.mean() <= random.mean() or p >= SIGNIFICANCE:
        return [
            env_finding(
                "reward_direction",
                Category.REWARD_DIRECTION,
                Severity.WARNING,
                f"the expert does not clearly beat random (mean return {expert.mean():.3g} vs "
                f"{random.mean():.3g}, p={p:.2g}): the reward may not reward the task",
                evidence=evidence,
            )
        ]
    return []
