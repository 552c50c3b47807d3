"""Remedies that fit the run: the family default of ``CATEGORIES``, refined per algorithm.

Contents:
    FAMILY_REMEDIES -- (category, family) -> the remedy in that family's own knobs.
    fit_remedies(findings, family, run) -- findings with their remedy fitted to the run.

Why: "lower the entropy bonus" is no advice for a GRPO run (it has none) or a PPO run that
logged ``ent_coef`` 0, and a DQN whose Q-values diverge is tuned through its target network,
not ``vf_coef``. A remedy the user cannot apply costs the verdict its credibility. The
category table keeps the family-neutral default; this table holds the per-family words, as
data (STYLE.md: a new family is rows, not code).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from rlvet.doctor.family import Family
from rlvet.findings import Category, Finding, remedy_of
from rlvet.signals.series import RunSignals

__all__ = ["FAMILY_REMEDIES", "fit_remedies"]

_C, _F = Category, Family
FAMILY_REMEDIES: Mapping[tuple[Category, Family], str] = MappingProxyType({
    (_C.KL_SPIKE, _F.LLM): (
        "roll back to the last healthy checkpoint; lower the learning rate (1e-6 to 1e-7 for "
        "full fine-tuning), use fewer optimisation passes per generation batch "
        "(num_iterations / ppo_epochs 1), keep the clip range (epsilon 0.2) and, if the policy "
        "drifts from the reference, set or raise beta (the KL coefficient)"),
    (_C.ENTROPY_COLLAPSE, _F.LLM): (
        "the policy's token distribution collapsed: roll back, lower the learning rate, raise "
        "the sampling temperature (0.9-1.0) for generation, use the clip-higher variant "
        "(epsilon_high 0.28, DAPO) and check that the reward does not pay for one fixed answer; "
        "GRPO has no entropy bonus to raise"),
    (_C.ENTROPY_COLLAPSE, _F.VALUE_BASED): (
        "the greedy policy stopped exploring: lengthen exploration (exploration_fraction), "
        "raise exploration_final_eps (0.02-0.1), lower the learning rate and check the reward "
        "scale; DQN has no entropy bonus"),
    (_C.ENTROPY_COLLAPSE, _F.OFF_POLICY_AC): (
        "the policy turned deterministic: use automatic entropy tuning (ent_coef='auto') with a "
        "target entropy of -dim(action), lower the actor learning rate, and check the reward "
        "scale"),
    (_C.ENTROPY_STUCK, _F.LLM): (
        "the token distribution is not sharpening: check that the reward varies within groups "
        "(advantages ~0 do not move the policy), raise the learning rate slightly, and lower "
        "the sampling temperature if it is above 1"),
    (_C.ENTROPY_STUCK, _F.OFF_POLICY_AC): (
        "the policy stays random: with ent_coef='auto' lower the target entropy; with a fixed "
        "ent_coef lower it (0.01-0.1 of the reward scale); check that rewards reach the critic"),
    (_C.CRITIC_FAILURE, _F.ON_POLICY): (
        "check, in this order: vf_coef > 0 and the value head receives gradients (not "
        "detached, its parameters in the optimiser); the done mask -- GAE must not bootstrap "
        "through terminal states (mask the next value with 1 - terminated) and should bootstrap "
        "on truncation; the reward scale (VecNormalize(norm_reward=True) or clip rewards); then "
        "fit the critic alone on a fixed batch of returns"),
    (_C.CRITIC_FAILURE, _F.VALUE_BASED): (
        "the Q-function is not fitting: check the target network update (target_update_interval "
        "or tau), that TD targets mask terminal states (1 - terminated), the reward scale, and "
        "lower the learning rate; use Huber loss and gradient clipping (max_grad_norm 10)"),
    (_C.CRITIC_FAILURE, _F.OFF_POLICY_AC): (
        "the Q critics are not fitting: check the soft target update (tau 0.005), that TD "
        "targets mask terminal states (1 - terminated) but not truncations, the reward scale, "
        "and the critic learning rate"),
    (_C.NUMERICAL_INSTABILITY, _F.LLM): (
        "roll back to the last finite checkpoint; lower the learning rate, clip gradients "
        "(max_grad_norm 1.0), check bf16/fp16 overflow in the logits and log-probabilities "
        "(compute the loss in fp32) and a zero reward std in the group normalisation"),
    (_C.STALE_DATA, _F.LLM): (
        "the learner trains on completions from old policy versions: lower the async/off-policy "
        "depth (staleness bound, rollout queue size), sync weights to the inference engine more "
        "often, or correct with truncated importance sampling"),
})
"""(category, family) -> the remedy in that family's own knobs; absent pairs keep the
category's default."""

_ENT_COEF_NAMES = ("ent_coef", "train/ent_coef", "hparams/ent_coef", "ent_coef_value")
_ZERO_BONUS = (
    "the run logged an entropy coefficient of 0, so there is no bonus to lower: the policy "
    "stays random because the policy gradient carries no signal -- check the reward scale "
    "and that advantages vary (advantage normalisation on a constant reward divides by ~0)")


def _logged_ent_coef(run: RunSignals) -> float | None:
    """The last logged entropy coefficient, when the run logged one."""
    for name in _ENT_COEF_NAMES:
        s = run.get(name)
        if s is not None and len(s) and np.isfinite(s.values[-1]):
            return float(s.values[-1])
    return None


def fit_remedies(findings: Sequence[Finding], family: Family,
                 run: RunSignals) -> list[Finding]:
    """Replace a category's default remedy by the one for ``family`` (and the logged
    hyperparameters, when known); a remedy a detector worded itself is kept."""
    ent_coef = _logged_ent_coef(run)
    out = []
    for f in findings:
        fitted = None
        if f.remedy == remedy_of(f.category):
            fitted = FAMILY_REMEDIES.get((f.category, family))
            if f.category is Category.ENTROPY_STUCK and ent_coef == 0.0:
                fitted = _ZERO_BONUS
        out.append(f if fitted is None else dataclasses.replace(f, remedy=fitted))
    return out
