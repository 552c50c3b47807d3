"""Format hacking: the answer format is satisfied more and more, the answers are not better.

Contents:
    FORMAT_RISE, FORMAT_LEVEL, FORMAT_BASELINE_RISE -- rise and level of format compliance.
    FORMAT_COMPONENT_WORDS -- component names that measure format.
    format_sources(ctx) -- the format measures logged: text markers, format components.
    check_format_hacking(ctx) -- compliance rose while the true objective stayed or fell.

Why: rule-based rewards (R1-style ``<answer>`` tags, ``\\boxed{}``, "Final answer:") pay
for the format separately from correctness; a policy learns the cheap part first and can
stop there -- the right format around wrong reasoning. Learning the format *while* getting
more answers right is healthy, so the true objective decides.
"""

from __future__ import annotations

import numpy as np

from rlvet.findings import Category, Finding
from rlvet.reward.context import AuditContext, make_finding, onset_step
from rlvet.reward.drift import (
    hack_severity,
    quality_status,
    reward_up_overall,
    side_drift,
    tracks_reward,
)
from rlvet.reward.table import COMPONENT_PREFIX, FORMAT

__all__ = ["FORMAT_BASELINE_RISE", "FORMAT_COMPONENT_WORDS", "FORMAT_LEVEL", "FORMAT_RISE",
           "check_format_hacking", "format_sources"]

FORMAT_RISE = 0.2  # compliance up 20 points over the run (of a 0..1 score) ...
FORMAT_LEVEL = 0.4  # ... to 40% of the samples at least: the policy now targets the format
FORMAT_BASELINE_RISE = 0.3  # against a baseline run: 30 points more formatted answers
FORMAT_COMPONENT_WORDS: tuple[str, ...] = ("format", "fmt", "tag", "structure", "template",
                                           "schema", "syntax")
"""A reward component whose name contains one of these scores the answer's form."""


def format_sources(ctx: AuditContext) -> list[str]:
    """Columns measuring format: the text markers and every component whose name contains
    one of ``FORMAT_COMPONENT_WORDS``."""
    comps = [COMPONENT_PREFIX + c for c in ctx.table.component_names
             if any(w in c.lower() for w in FORMAT_COMPONENT_WORDS)]
    return [c for c in [FORMAT, *comps] if ctx.table.has(c)]


def _range(ctx: AuditContext, name: str) -> tuple[float, float]:
    """``(low, span)``: markers are 0..1; a component is put on its observed range."""
    if name == FORMAT:
        return 0.0, 1.0
    col = ctx.table.get(name)
    lo, hi = float(np.nanmin(col)), float(np.nanmax(col))
    return lo, (hi - lo) or 1.0


def _rise(ctx: AuditContext, name: str) -> tuple[float, float, str]:
    """``(rise, start, against what)`` in units of the source's range."""
    d = side_drift(ctx, name)
    lo, span = _range(ctx, name)
    options = []
    if d.trend is not None and d.trend.rising and d.trend.change / span >= FORMAT_RISE:
        options.append((d.trend.change / span, (d.trend.early - lo) / span, "early steps"))
    if d.baseline is not None and d.late is not None and \
            (d.late - d.baseline) / span >= FORMAT_BASELINE_RISE:
        options.append(((d.late - d.baseline) / span, (d.baseline - lo) / span, "baseline"))
    return max(options, default=(0.0, 0.0, "-"))


def _check_source(ctx: AuditContext, name: str) -> Finding | None:
    rise, start, against = _rise(ctx, name)
    lo, span = _range(ctx, name)
    late_raw = ctx.late_level(name)
    late = None if late_raw is None else (late_raw - lo) / span
    if rise <= 0 or late is None or late < FORMAT_LEVEL:
        return None
    tracks, rho = tracks_reward(ctx, name)
    severity = hack_severity(ctx, tracks)
    if severity is None:
        return None
    label = ("share of answers with format markers" if name == FORMAT
             else f"reward component {name[len(COMPONENT_PREFIX):]!r} (0..1 of its range)")
    evidence = {**side_drift(ctx, name).evidence(), "rise": rise, "against": against,
                "reward_format_rho": rho, "reward_up": reward_up_overall(ctx),
                "quality": ctx.quality_name, "quality_direction": quality_status(ctx)}
    message = (
        f"{label} went from {start:.2f} ({against}) to {late:.2f} while "
        f"{ctx.quality_name or 'no quality score'} was {quality_status(ctx)}: the policy "
        f"learned the format the reward checks, not the answer"
    )
    return make_finding("format.hacking", Category.FORMAT_HACKING, severity, message, evidence,
                        onset_step(ctx.table, name, lo + span * (start + rise / 2)))


def check_format_hacking(ctx: AuditContext) -> list[Finding]:
    """At most one finding: the strongest format source (errors first)."""
    found = [f for f in (_check_source(ctx, n) for n in format_sources(ctx)) if f]
    found.sort(key=lambda f: (f.severity != "error", -float(f.evidence["rise"])))
    return found[:1]
