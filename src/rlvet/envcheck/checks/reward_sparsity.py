"""Reward sparsity and shape: all-zero, uninformative, or too rare to learn from.

A reward that is zero everywhere (or identical for every policy) gives the learner no
signal; one that random exploration almost never sees makes on-policy methods stall
before the first success. The first is a bug, the second a design risk worth knowing.

Severity discipline (issue #15): benchmarks are often sparse on purpose (a maze goal a
random walk never finds). Zero reward is an error only when an expert ran and earned
nothing either; from the random policy alone it is a "sparse by design?" warning.
"""

from __future__ import annotations

import numpy as np

from rlvet.envcheck.checks.common import env_finding, pooled_rewards
from rlvet.envcheck.records import ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_reward_sparsity"]

SPARSE_NONZERO_SHARE = 0.05  # random exploration sees a reward on under 5% of steps
TAIL_SHARE = 0.5  # top 1% of steps carrying half the reward mass: a few samples dominate


def _constant_returns(ev: ProbeEvidence) -> bool:
    """Every episode of both policies alike; never judged without random episodes (a probe
    lost to a hang or a crash leaves the expert's alone, alike because it is good)."""
    if not ev.random_a:
        return False
    returns = [e.episode_return for e in (*ev.random_a, *ev.expert) if e.error is None]
    lengths = {e.length for e in (*ev.random_a, *ev.expert)}
    return len(returns) > 1 and np.ptp(returns) == 0 and len(lengths) == 1


def _tail_share(rewards: np.ndarray) -> float:
    mass = np.abs(rewards)
    total = mass.sum()
    if total == 0 or rewards.size < 100:
        return 0.0
    top = np.sort(mass)[::-1][: max(1, rewards.size // 100)]
    return float(top.sum() / total)


def check_reward_sparsity(ev: ProbeEvidence) -> list[Finding]:
    """All-zero reward (error), uninformative constant returns (error), rare reward (warning)."""
    random = pooled_rewards(ev.random_a)
    every = pooled_rewards([*ev.random_a, *ev.expert])
    every = every[np.isfinite(every)]
    if every.size == 0:
        return []
    nonzero = float(np.mean(random[np.isfinite(random)] != 0)) if random.size else 0.0
    evidence = {
        "random_nonzero_share": round(nonzero, 4),
        "steps": int(every.size),
        "distinct_values": int(np.unique(every).size),
    }
    proven = bool(ev.expert)  # an expert that also earns nothing proves it; random alone not
    evidence["expert_episodes"] = len(ev.expert)
    if not np.any(every != 0):
        who = "random and expert" if proven else "random policy only"
        return [
            env_finding(
                "reward_sparsity",
                Category.REWARD_SPARSITY,
                Severity.ERROR if proven else Severity.WARNING,
                f"all {every.size} rewards ({who}) are exactly 0: "
                + ("there is no learning signal" if proven else
                   "a goal random actions never reach, sparse by design? pass --expert to "
                   "tell a silent reward from a hard task"),
                evidence=evidence,
            )
        ]
    if _constant_returns(ev):
        return [
            env_finding(
                "reward_sparsity",
                Category.REWARD_SPARSITY,
                Severity.ERROR if proven else Severity.WARNING,
                "every episode of every policy has the same length and the same return: the reward "
                "carries no information about behaviour"
                + ("" if proven else " the random policy can find (sparse by design? "
                   "pass --expert)"),
                evidence=evidence,
            )
        ]
    findings = []
    if np.unique(every).size == 1 and ev.api.action_kind == "box":
        findings.append(
            env_finding(
                "reward_sparsity",
                Category.REWARD_SPARSITY,
                Severity.WARNING,
                f"every step of every policy earned the same reward {every[0]:g} in a "
                "continuous-control env: the reward encodes nothing but episode length",
                evidence=evidence,
            )
        )
    if nonzero < SPARSE_NONZERO_SHARE:
        findings.append(
            env_finding(
                "reward_sparsity",
                Category.REWARD_SPARSITY,
                Severity.WARNING,
                f"a random policy sees a nonzero reward on only {nonzero:.1%} of steps: "
                "exploration alone will rarely find the signal (sparse by design?)",
                evidence=evidence,
            )
        )
    tail = _tail_share(every)
    if tail >= TAIL_SHARE:
        findings.append(
            env_finding(
                "reward_sparsity",
                Category.REWARD_SPARSITY,
                Severity.INFO,
                f"the top 1% of steps carry {tail:.0%} of the absolute reward: a long-tailed "
                "reward where a few samples dominate the gradient",
                evidence={**evidence, "tail_share": tail},
                remedy="scale or normalise rewards so rare large ones do not dominate",
            )
        )
    return findings
