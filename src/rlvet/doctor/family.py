"""Which algorithm family wrote a run, read from the names it logged.

Contents:
    Family -- on-policy policy gradient (PPO, A2C), value-based (DQN), off-policy actor-critic
        (SAC, TD3, DDPG), LLM policy optimisation (GRPO, RLOO, PPO on text), unknown.
    WARMUP -- per family: updates and env steps a run must have logged before a detector
        may call anything an error (below it a finding is at most a warning).
    infer_family(run) -- the family, from signature metric names of SB3, CleanRL, TRL,
        verl, OpenRLHF and rlvet's own trainer.

Why: what is normal early in a run depends on the algorithm. An off-policy learner acts at
random for its first ``learning_starts`` steps (SB3 DQN: 10% of the run by default; SAC:
100 steps; CleanRL DQN: 10k steps), a PPO critic starts with an explained variance near 0,
and a GRPO run has no value head at all. Judging them by one clock stops healthy runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from rlvet.signals.series import RunSignals

__all__ = ["WARMUP", "Family", "Warmup", "infer_family"]


class Family(StrEnum):
    """Algorithm families whose early behaviour and remedies differ."""

    ON_POLICY = "on_policy"  # PPO, A2C, TRPO: rollouts, advantages, a critic, entropy bonus
    VALUE_BASED = "value_based"  # DQN and kin: replay, epsilon-greedy, TD loss
    OFF_POLICY_AC = "off_policy_actor_critic"  # SAC, TD3, DDPG: replay, Q critics
    LLM = "llm"  # GRPO, RLOO, PPO on completions: groups of samples, KL to a reference
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Warmup:
    """How much history an error needs in this family.

    Attributes:
        updates: logged points of the signal a detector judges.
        steps: env steps (or optimiser steps for LLM runs) before which nothing is an error.
    """

    updates: int
    steps: int


WARMUP: Mapping[Family, Warmup] = MappingProxyType({
    # 10 PPO updates = 20k steps at SB3's default n_steps=2048 (5k at CleanRL's 4x128):
    # the first updates move a random policy fast and its critic has not fitted yet
    Family.ON_POLICY: Warmup(updates=10, steps=5_000),
    # SB3/CleanRL DQN learn from 10k-50k steps on (learning_starts) and explore with
    # epsilon decaying over the first 10-50% of the run
    Family.VALUE_BASED: Warmup(updates=10, steps=10_000),
    # SAC/TD3 start learning after 100-25k random steps (SB3 100, CleanRL 5k, rl-zoo 10k)
    Family.OFF_POLICY_AC: Warmup(updates=10, steps=5_000),
    # GRPO logs once per optimiser step; its first steps set the group statistics
    Family.LLM: Warmup(updates=10, steps=10),
    # unknown units (env steps? optimiser steps?): judge by the number of updates alone
    Family.UNKNOWN: Warmup(updates=10, steps=0),
})
"""Per family: the least history before a detector may raise an error."""

# Signature names, tried in order; the first family with a hit wins. Raw names as the
# libraries log them (checked against SB3 2.x, CleanRL, TRL, verl and OpenRLHF sources).
_SIGNATURES: tuple[tuple[Family, re.Pattern[str]], ...] = (
    (Family.LLM, re.compile(
        r"(completions?/|completion_length|frac_reward_zero_std|reward_std|rewards/|"
        r"response_length/|actor/pg_clipfrac|actor/ppo_kl|critic/score|objective/rlhf_reward"
        r"|policy/approxkl_avg)")),
    # OpenRLHF, slime, SkyRL, AReaL, prime-rl (their own sources, see signals/aliases.py)
    (Family.LLM, re.compile(
        r"(^train/(ppo_clip_ratio|actor_grad_norm|vllm_kl|pg_clipfrac|train_rollout_logprob)"
        r"|^rollout/(raw_reward|response_len/)|^policy/policy_entropy|^reward/avg_raw_reward"
        r"|^ppo_actor/|^mismatch_kl/|^off_policy/|^train/agg/|^actor/(entropy|pg_loss))")),
    (Family.OFF_POLICY_AC, re.compile(
        r"(train/(actor|critic)_loss|train/ent_coef|losses/qf1_loss|losses/actor_loss"
        r"|losses/alpha)")),
    (Family.VALUE_BASED, re.compile(r"(rollout/exploration_rate|losses/td_loss|losses/q_values)")),
    (Family.ON_POLICY, re.compile(
        r"(train/approx_kl|train/clip_fraction|train/policy_gradient_loss|train/policy_loss"
        r"|train/entropy_loss|losses/approx_kl|losses/clipfrac|losses/policy_loss"
        r"|^policy_lag$)")),  # rlvet's own trainer logs the lag beside canonical names
)


def infer_family(run: RunSignals) -> Family:
    """The algorithm family of ``run`` from the raw names it logged, else ``UNKNOWN``.

    Example:
        >>> from rlvet.signals.series import RunSignals, Series
        >>> run = RunSignals(source="x", series={"kl": Series.from_lists([1], [0.01])},
        ...                  raw_names={"kl": "train/approx_kl"})
        >>> infer_family(run)
        <Family.ON_POLICY: 'on_policy'>
    """
    raw = [*run.raw_names.values(), *run.series]
    for family, pattern in _SIGNATURES:
        if any(pattern.search(name) for name in raw):
            return family
    return Family.UNKNOWN
