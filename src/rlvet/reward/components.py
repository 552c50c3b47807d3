"""Reward components: which one drives the reward's growth, and does it serve the goal?

Contents:
    COMPONENT_EFFECT, DRIVER_SHARE, ANTI_RHO -- when a component's rise is suspect.
    component_stats(ctx) -- per component: trend, share of the reward's gain, within-step
        rank correlation with the true objective (metrics["components"]).
    check_component_hacking(ctx) -- a component that rises while the true objective falls.

Why: a composite reward (correctness + format + length bonus + judge) is optimised where
it is cheapest. When the reward's gain comes from one component while eval or human
scores fall, that component is being exploited -- the fix is to that term, so the
finding names it. A component that ranks samples *against* the objective is a trade-off
built into the reward.
"""

from __future__ import annotations

from typing import Any

from rlvet.findings import Category, Finding, Severity
from rlvet.reward.association import within_step_rank_corr
from rlvet.reward.context import AuditContext, make_finding, onset_step
from rlvet.reward.table import COMPONENT_PREFIX

__all__ = ["ANTI_P", "ANTI_RHO", "COMPONENT_EFFECT", "DRIVER_SHARE",
           "check_component_hacking", "component_stats"]

COMPONENT_EFFECT = 0.5  # a component up half a sample-sd: a rise the policy worked for
DRIVER_SHARE = 0.5  # it brought at least half of the reward's gain: it drives the reward
ANTI_RHO = -0.2  # within-step rank correlation with the objective: higher term, worse sample
ANTI_P = 0.01


def component_stats(ctx: AuditContext) -> dict[str, dict[str, Any]]:
    """Per component: trend, share of the reward's early->late gain, agreement with the
    true objective. The driver is the component with the largest gain share."""
    reward_gain = ctx.reward.change if ctx.reward is not None else 0.0
    out: dict[str, dict[str, Any]] = {}
    for name in ctx.table.component_names:
        col = COMPONENT_PREFIX + name
        t = ctx.trend(col)
        assoc = (within_step_rank_corr(ctx.table, col, ctx.quality_name)
                 if ctx.quality_name else None)
        out[name] = {
            "trend": None if t is None else t.to_dict(),
            "gain_share": (t.change / reward_gain) if t is not None and reward_gain > 0
            else None,
            "quality_rho": None if assoc is None else assoc.rho,
            "quality_p": None if assoc is None else assoc.p_value,
            "rising": bool(t is not None and t.rising and t.effect >= COMPONENT_EFFECT),
        }
    shares = {k: v["gain_share"] for k, v in out.items() if v["gain_share"] is not None}
    if shares:
        out[max(shares, key=lambda k: shares[k])]["driver"] = True
    return out


def _severity(stats: dict[str, Any], quality: str) -> Severity | None:
    """Error: the objective fell, or the component ranks against it; warning: the
    objective stalled while this component drove the reward."""
    if not stats["rising"] or quality in ("up", "unknown"):
        return None
    anti = stats["quality_rho"] is not None and stats["quality_rho"] <= ANTI_RHO \
        and stats["quality_p"] <= ANTI_P
    if quality == "down" or anti:
        return Severity.ERROR
    if (stats["gain_share"] or 0.0) >= DRIVER_SHARE:
        return Severity.WARNING
    return None


def check_component_hacking(ctx: AuditContext) -> list[Finding]:
    """One finding for the worst component (errors first, then the largest gain share)."""
    comps = component_stats(ctx)
    quality = ctx.quality_direction
    rated = [(name, s, sev) for name, s in comps.items() if (sev := _severity(s, quality))]
    if not rated:
        return []
    rated.sort(key=lambda x: (x[2] != Severity.ERROR, -(x[1]["gain_share"] or 0.0)))
    name, s, severity = rated[0]
    t = s["trend"]
    evidence = {"component": name, **s, "quality": ctx.quality_name,
                "quality_direction": quality,
                "quality_early": ctx.quality.early if ctx.quality else None,
                "quality_late": ctx.quality.late if ctx.quality else None,
                "suspect_components": [n for n, _, _ in rated]}
    share = "" if s["gain_share"] is None else f", {s['gain_share']:.0%} of the reward's gain"
    message = (
        f"reward component {name!r} rose from {t['early']:.3g} to {t['late']:.3g}{share}, "
        f"while {ctx.quality_name} was {quality}: the policy is exploiting this term of "
        f"the reward instead of the objective"
    )
    return [make_finding("components.hacking", Category.REWARD_HACKING, severity, message,
                         evidence, onset_step(ctx.table, COMPONENT_PREFIX + name,
                                              (t["early"] + t["late"]) / 2))]
