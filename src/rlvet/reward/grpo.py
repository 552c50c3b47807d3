"""GRPO prompt groups: does each group carry a learning signal, and does it point right?

Contents:
    ZERO_SPREAD_WARNING, ZERO_SPREAD_ERROR, ZERO_SPREAD_LATE_* -- zero-spread shares.
    CONTRADICT_SHARE, CONTRADICT_RATIO, MIN_GROUPS -- ranking-contradiction bounds.
    group_stats(ctx) -- zero-spread and ranking-contradiction shares (metrics["groups"]).
    check_zero_spread(ctx) -- groups whose completions all got the same reward.
    check_group_ranking(ctx) -- groups where the reward orders completions against eval.

Why: GRPO's advantage is (r - mean(group)) / std(group). A group whose rewards are all
equal contributes exactly zero gradient (TRL logs this as ``frac_reward_zero_std``; DAPO's
dynamic sampling drops such groups). A group whose reward ranking contradicts the eval
pushes probability toward its worse completions.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from scipy import stats

from rlvet.findings import Category, Finding, Severity
from rlvet.reward.context import AuditContext, make_finding
from rlvet.reward.table import EVAL, HUMAN, REWARD

__all__ = [
    "CONTRADICT_RATIO",
    "CONTRADICT_SHARE",
    "MIN_GROUPS",
    "PROMPT_GROUPED",
    "ZERO_SPREAD_ERROR",
    "ZERO_SPREAD_LATE_WARNING",
    "ZERO_SPREAD_WARNING",
    "check_group_ranking",
    "check_zero_spread",
    "group_stats",
]

ZERO_SPREAD_WARNING = 0.4  # 40% of the run's groups teach nothing (binary reward, p~0.8, k=4)
ZERO_SPREAD_ERROR = 0.7  # 70% of the run's groups with identical rewards: ~no gradient
ZERO_SPREAD_LATE_WARNING = 0.6  # 60% in the last third: the signal is drying up now (a
# warning only: a run that has mastered its prompts ends here too; time for harder ones)
CONTRADICT_SHARE = 0.5  # half the rankable groups order completions against the eval ...
CONTRADICT_RATIO = 2.0  # ... twice as many as agree with it (a random judge splits ~evenly)
MIN_GROUPS = 5  # fewer groups cannot give a share
PROMPT_GROUPED = 0.5  # half the samples share their step's prompt with another: GRPO groups
_SAME = 1e-9  # relative: "the same reward" within a group


def _groups(ctx: AuditContext) -> dict[tuple[int, str], np.ndarray]:
    """(step, group) -> row indices, for groups of 2 or more samples.

    Without a ``group`` field, completions of one step sharing a prompt are a group, when
    at least ``PROMPT_GROUPED`` of the samples have such siblings (GRPO logs without ids).
    """
    keys = ctx.table.groups
    if all(g is None for g in keys):
        keys = ctx.table.prompts
    rows: dict[tuple[int, str], list[int]] = defaultdict(list)
    for i, (step, group) in enumerate(zip(ctx.table.steps.tolist(), keys, strict=True)):
        if group is not None:
            rows[(step, group)].append(i)
    groups = {k: np.array(v) for k, v in rows.items() if len(v) >= 2}
    grouped = sum(v.size for v in groups.values())
    if keys is ctx.table.prompts and grouped < PROMPT_GROUPED * ctx.table.n:
        return {}
    return groups


def _zero_spread(rewards: np.ndarray) -> bool:
    return float(np.ptp(rewards)) <= _SAME * max(1.0, float(np.abs(rewards).max()))


def _ranking(groups: dict[tuple[int, str], np.ndarray], reward: np.ndarray,
             ref: np.ndarray) -> tuple[int, int, int]:
    """``(rankable, contradicting, agreeing)`` groups by Kendall's tau sign."""
    rankable = contra = agree = 0
    for rows in groups.values():
        r, e = reward[rows], ref[rows]
        ok = np.isfinite(e)
        if ok.sum() < 3 or np.ptp(r[ok]) == 0 or np.ptp(e[ok]) == 0:
            continue
        tau = float(stats.kendalltau(r[ok], e[ok]).statistic)
        rankable += 1
        contra += tau < 0
        agree += tau > 0
    return rankable, contra, agree


def group_stats(ctx: AuditContext) -> dict[str, Any] | None:
    """Zero-spread shares (whole run, last third) and ranking contradiction; None without
    groups."""
    groups = _groups(ctx)
    if not groups:
        return None
    reward = ctx.table.get(REWARD)
    zero = {k: _zero_spread(reward[rows]) for k, rows in groups.items()}
    steps = np.unique([k[0] for k in groups])
    late_steps = set(steps[-max(1, steps.size // 3):].tolist())
    late = [z for k, z in zero.items() if k[0] in late_steps]
    out: dict[str, Any] = {
        "groups": len(groups), "mean_size": float(np.mean([len(r) for r in groups.values()])),
        "zero_spread_share": float(np.mean(list(zero.values()))),
        "zero_spread_share_late": float(np.mean(late)),
        "first_zero_step": min((k[0] for k, z in zero.items() if z), default=None),
    }
    ref_name = next((n for n in (EVAL, HUMAN) if ctx.table.has(n)), None)
    if ref_name is not None:
        rankable, contra, agree = _ranking(groups, reward, ctx.table.get(ref_name))
        out |= {"reference": ref_name, "rankable_groups": rankable,
                "contradicting_groups": contra, "agreeing_groups": agree,
                "contradicting_share": contra / rankable if rankable else 0.0}
    return out


def check_zero_spread(ctx: AuditContext) -> list[Finding]:
    """Share of groups with zero reward spread over the run or its last third."""
    g = group_stats(ctx)
    if g is None or g["groups"] < MIN_GROUPS:
        return []
    share, late = g["zero_spread_share"], g["zero_spread_share_late"]
    error = share >= ZERO_SPREAD_ERROR
    if not error and share < ZERO_SPREAD_WARNING and late < ZERO_SPREAD_LATE_WARNING:
        return []
    evidence = {k: g[k] for k in ("groups", "mean_size", "zero_spread_share",
                                  "zero_spread_share_late")}
    message = (
        f"{share:.0%} of {g['groups']} prompt groups ({late:.0%} in the last third) gave "
        f"every completion the same reward: their group-relative advantages are exactly 0, "
        f"so those prompts teach the policy nothing"
    )
    step = g["first_zero_step"]
    return [make_finding("grpo.zero_spread", Category.NO_LEARNING_SIGNAL,
                         Severity.ERROR if error else Severity.WARNING, message, evidence,
                         ctx.first_step if step is None else int(step))]


def check_group_ranking(ctx: AuditContext) -> list[Finding]:
    """Error when ``CONTRADICT_SHARE`` of the rankable groups order their completions
    against the reference and contradictions outnumber agreements ``CONTRADICT_RATIO``:1."""
    g = group_stats(ctx)
    if g is None or g.get("rankable_groups", 0) < MIN_GROUPS:
        return []
    contra, agree, share = g["contradicting_groups"], g["agreeing_groups"], \
        g["contradicting_share"]
    if share < CONTRADICT_SHARE or contra < CONTRADICT_RATIO * agree:
        return []
    evidence = {k: g[k] for k in ("reference", "rankable_groups", "contradicting_groups",
                                  "agreeing_groups", "contradicting_share")}
    message = (
        f"in {contra} of {g['rankable_groups']} prompt groups the reward orders completions "
        f"against {g['reference']} (only {agree} agree): GRPO's advantages push toward the "
        f"worse completion of each group, a flipped or inverted reward"
    )
    return [make_finding("grpo.ranking", Category.REWARD_DIRECTION, Severity.ERROR, message,
                         evidence, ctx.first_step)]
