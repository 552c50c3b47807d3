"""Does the reward rank samples the way the true objective does?

Contents:
    DIRECTION_RHO, DIRECTION_P -- anti-correlation that means a flipped sign.
    JUDGE_RHO, JUDGE_ERROR_RHO, JUDGE_CI_BOUND -- agreement below which the judge is off.
    reference_associations(ctx) -- reward vs ``human_score`` and ``eval_score`` (within step).
    agreement(ctx) -- the same, taking the better of within-step and pooled correlation.
    check_direction(ctx) -- reward anti-correlated with the reference: sign confusion.
    check_judge_disagreement(ctx) -- reward barely correlated with the reference.

Why: a reward model or LLM judge is a proxy for people (or for a verifier). If it ranks a
step's completions unlike people do, GRPO pushes toward what the judge likes, not what
people like (Gao et al. 2023 on reward-model overoptimisation). Anti-correlation is worse
than noise: a reward that is "lower is better" (a distance, a loss, a rank) used as a gain
trains the opposite of the goal. The sign check uses within-step correlations
(association.py): over a hacked run, reward up and eval down make a pooled correlation
negative even when each step's samples are ranked correctly. Disagreement takes the
better of within-step and pooled agreement: a judge is only called off when neither the
samples of one policy nor the run as a whole show it tracking the reference.
"""

from __future__ import annotations

import math

from rlvet.findings import Category, Finding, Severity
from rlvet.reward.association import (
    Association,
    pooled_rank_corr,
    varies_within_steps,
    within_step_rank_corr,
)
from rlvet.reward.context import AuditContext, make_finding
from rlvet.reward.table import EVAL, HUMAN, REWARD

__all__ = [
    "DIRECTION_P",
    "DIRECTION_RHO",
    "JUDGE_CI_BOUND",
    "JUDGE_ERROR_RHO",
    "JUDGE_RHO",
    "check_direction",
    "agreement",
    "check_judge_disagreement",
    "reference_associations",
]

DIRECTION_RHO = -0.3  # reward ranks samples against the reference, clearly, not by noise
DIRECTION_P = 0.01  # at 1%: a sign error is a blocker, so it must not be a fluke
JUDGE_RHO = 0.3  # rank agreement under 0.3: the reward explains <10% of the reference's order
JUDGE_ERROR_RHO = 0.15  # under 0.15 with the whole 95% CI under JUDGE_CI_BOUND: unrelated
JUDGE_CI_BOUND = 0.3


def reference_associations(ctx: AuditContext) -> dict[str, Association]:
    """Within-step rank correlation of the reward with each logged reference score that
    scores samples (not one value per checkpoint)."""
    out = {}
    for name in (HUMAN, EVAL):
        if not varies_within_steps(ctx.table, name):
            continue
        assoc = within_step_rank_corr(ctx.table, REWARD, name)
        if assoc is not None:
            out[name] = assoc
    return out


def agreement(ctx: AuditContext) -> dict[str, Association]:
    """Per reference score, the higher of the within-step and pooled rank correlations."""
    out = {}
    for name in (HUMAN, EVAL):
        if not varies_within_steps(ctx.table, name):
            continue
        found = [a for a in (within_step_rank_corr(ctx.table, REWARD, name),
                             pooled_rank_corr(ctx.table, REWARD, name)) if a is not None]
        if found:
            out[name] = max(found, key=lambda a: a.rho)
    return out


def _upper_ci(rho: float, n: int) -> float:
    """Upper end of the 95% Fisher-z interval of a rank correlation."""
    if n <= 3:
        return 1.0
    z = math.atanh(max(-0.999999, min(0.999999, rho)))
    return math.tanh(z + 1.96 * 1.06 / math.sqrt(n - 3))  # 1.06: Spearman's variance factor


def check_direction(ctx: AuditContext) -> list[Finding]:
    """Error when the reward's within-step rank correlation with a reference score is at or
    below ``DIRECTION_RHO`` (p <= ``DIRECTION_P``): higher reward, worse sample."""
    assocs = reference_associations(ctx)
    bad = {k: a for k, a in assocs.items() if a.rho <= DIRECTION_RHO and a.p_value <= DIRECTION_P}
    if not bad:
        return []
    name, a = min(bad.items(), key=lambda kv: kv[1].rho)
    evidence = {"reference": name, **a.to_dict(), "bound": DIRECTION_RHO,
                "quality_direction": ctx.quality_direction}
    if ctx.reward is not None:
        evidence |= {"reward_early": ctx.reward.early, "reward_late": ctx.reward.late}
    message = (
        f"reward and {name} rank the same samples in opposite order (rank correlation "
        f"{a.rho:.2f} over {a.n} samples): the reward's sign or scale direction is flipped, "
        f"so maximising it minimises the goal"
    )
    return [make_finding("judge.direction", Category.REWARD_DIRECTION, Severity.ERROR,
                         message, evidence, ctx.first_step)]


def check_judge_disagreement(ctx: AuditContext) -> list[Finding]:
    """Warning when the reward's within-step rank correlation with a reference score is
    under ``JUDGE_RHO``; error under ``JUDGE_ERROR_RHO`` with the 95% CI under
    ``JUDGE_CI_BOUND``. Anti-correlation is left to ``check_direction``."""
    assocs = agreement(ctx)
    weak = {k: a for k, a in assocs.items()
            if a.rho < JUDGE_RHO and not (a.rho <= DIRECTION_RHO and a.p_value <= DIRECTION_P)}
    if not weak:
        return []
    name, a = min(weak.items(), key=lambda kv: kv[1].rho)
    upper = _upper_ci(a.rho, a.n)
    error = a.rho < JUDGE_ERROR_RHO and upper < JUDGE_CI_BOUND
    evidence = {"reference": name, **a.to_dict(), "upper_95": upper, "bound": JUDGE_RHO,
                "others": {k: v.rho for k, v in assocs.items() if k != name}}
    message = (
        f"the reward barely agrees with {name} on which samples are better (rank correlation "
        f"{a.rho:.2f} over {a.n} samples, 95% upper bound {upper:.2f}, expected >= "
        f"{JUDGE_RHO}): the judge or reward model scores something other than what "
        f"{name} measures"
    )
    return [make_finding("judge.disagreement", Category.JUDGE_DISAGREEMENT,
                         Severity.ERROR if error else Severity.WARNING, message, evidence,
                         ctx.first_step)]
