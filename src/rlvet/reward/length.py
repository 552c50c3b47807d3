"""Length inflation: answers grow longer as the reward rises, and no better.

Contents:
    LENGTH_RATIO_WARNING, LENGTH_RATIO_ERROR -- growth of the mean response length.
    check_length_inflation(ctx) -- growth over the run or against the baseline, judged by
        the hacking triad (drift.py).

Why: reward models prefer longer answers regardless of content, and RLHF runs exploit it;
much of the reward gain of RLHF can be reproduced by optimising length alone (Singhal et
al. 2023, "A long way to go: investigating length correlations in RLHF"). Length that
grows *with* correctness (longer reasoning chains, as in R1-style training) is left alone.
"""

from __future__ import annotations

from rlvet.findings import Category, Finding, Severity
from rlvet.reward.context import AuditContext, make_finding, onset_step
from rlvet.reward.drift import (
    hack_severity,
    quality_status,
    reward_up_overall,
    side_drift,
    tracks_reward,
)
from rlvet.reward.table import LENGTH

__all__ = ["LENGTH_RATIO_ERROR", "LENGTH_RATIO_WARNING", "check_length_inflation"]

LENGTH_RATIO_WARNING = 1.3  # +30%: beyond the drift of a healthy run's answer length
LENGTH_RATIO_ERROR = 1.5  # +50%: answers half again as long, with nothing to show for it


def _growth(ctx: AuditContext) -> tuple[float, float, str]:
    """``(largest growth ratio, start length, against what)`` over the run and against the
    baseline."""
    d = side_drift(ctx, LENGTH)
    options = []
    if d.trend is not None and d.trend.rising:
        options.append((d.trend.ratio, d.trend.early, "early steps"))
    if d.baseline is not None and d.baseline > 0 and d.late is not None:
        options.append((d.late / d.baseline, d.baseline, "baseline"))
    return max(options, default=(1.0, 0.0, "-"))


def check_length_inflation(ctx: AuditContext) -> list[Finding]:
    """Mean response length up ``LENGTH_RATIO_WARNING`` (error at ``LENGTH_RATIO_ERROR``)
    while the reward tracks it and the eval or human score does not rise."""
    if not ctx.table.has(LENGTH):
        return []
    ratio, start, against = _growth(ctx)
    if ratio < LENGTH_RATIO_WARNING:
        return []
    tracks, rho = tracks_reward(ctx, LENGTH)
    severity = hack_severity(ctx, tracks)
    if severity is None:
        return []
    if ratio < LENGTH_RATIO_ERROR:
        severity = Severity.WARNING
    d = side_drift(ctx, LENGTH)
    late = d.late if d.late is not None else start
    evidence = {**d.evidence(), "growth": ratio, "against": against,
                "reward_length_rho": rho, "reward_up": reward_up_overall(ctx),
                "quality": ctx.quality_name, "quality_direction": quality_status(ctx)}
    message = (
        f"mean response length grew {ratio:.1f}x against the {against} ({start:.0f} -> "
        f"{late:.0f} tokens) while {ctx.quality_name or 'no quality score'} was "
        f"{quality_status(ctx)}: the reward pays for length, not for better answers"
    )
    return [make_finding("length.inflation", Category.LENGTH_INFLATION, severity, message,
                         evidence, onset_step(ctx.table, LENGTH, (start + late) / 2))]
