"""Repetition: completions loop on the same phrases as training goes on.

Contents:
    REPEAT_RISE, REPEAT_LEVEL -- rise and level of the repeated-3-gram share.
    check_repetition(ctx) -- the share rose over the run or against the baseline.

Why: a reward model that pays for length, keywords or confident phrasing can be satisfied
by repeating them; the policy degenerates into loops ("Let me double-check. Let me
double-check."), a classic failure of likelihood-trained and RL-tuned LMs alike
(Holtzman et al. 2020 on degeneration). The measure is the share of a response's 3-grams
that repeat an earlier one (text.py): prose sits under ~0.05, a loop near 1.
"""

from __future__ import annotations

from rlvet.findings import Category, Finding
from rlvet.reward.context import AuditContext, make_finding, onset_step
from rlvet.reward.drift import (
    hack_severity,
    quality_status,
    reward_up_overall,
    side_drift,
    tracks_reward,
)
from rlvet.reward.table import REPETITION

__all__ = ["REPEAT_LEVEL", "REPEAT_RISE", "check_repetition"]

REPEAT_RISE = 0.1  # 10 more points of repeated 3-grams than at the start (or the baseline)
REPEAT_LEVEL = 0.2  # and at least 20% repeated: prose sits near 0.05, and long template-like
# answers (which repeat 3-grams such as "the sum of" by their structure) stay under ~0.2


def _rise(ctx: AuditContext) -> tuple[float, float, str]:
    """``(rise, start level, against what)``: the larger of run and baseline rises."""
    d = side_drift(ctx, REPETITION)
    options = []
    if d.trend is not None and d.trend.rising:
        options.append((d.trend.change, d.trend.early, "early steps"))
    if d.baseline is not None and d.late is not None:
        options.append((d.late - d.baseline, d.baseline, "baseline"))
    return max(options, default=(0.0, 0.0, "-"))


def check_repetition(ctx: AuditContext) -> list[Finding]:
    """Repeated-3-gram share up ``REPEAT_RISE`` to at least ``REPEAT_LEVEL``; error when the
    reward rose with it and the true objective did not."""
    if not ctx.table.has(REPETITION):
        return []
    rise, start, against = _rise(ctx)
    late = ctx.late_level(REPETITION) or 0.0
    if rise < REPEAT_RISE or late < REPEAT_LEVEL:
        return []
    tracks, rho = tracks_reward(ctx, REPETITION)
    severity = hack_severity(ctx, tracks)
    if severity is None:
        return []
    evidence = {**side_drift(ctx, REPETITION).evidence(), "rise": rise, "against": against,
                "reward_repetition_rho": rho, "reward_up": reward_up_overall(ctx),
                "quality": ctx.quality_name, "quality_direction": quality_status(ctx)}
    message = (
        f"the share of repeated 3-grams per response rose from {start:.0%} ({against}) to "
        f"{late:.0%} while {ctx.quality_name or 'no quality score'} was "
        f"{quality_status(ctx)}: completions are looping on phrases the reward pays for"
    )
    return [make_finding("repetition.ngram", Category.REPETITION, severity, message, evidence,
                         onset_step(ctx.table, REPETITION, start + rise / 2))]
