"""The reward audit: read the samples, run every detector, shape one command result.

Contents:
    DETECTORS -- the detector table, (name, function) in report order.
    choose_first_break(findings) -- which reward finding to read first when several fire
        (``rlvet.findings.first_break`` with ``BreakPolicy.CAUSE``).
    RewardOutcome -- the CommandResult plus what the figures and the spot-check file need.
    audit_samples(path_or_records, baseline=, seed=) -- the Python API.
    audit_metrics(ctx, ...) -- shape stats, per-step side metrics, trends, groups, spot check.

A detector is ``def check_x(ctx: AuditContext) -> list[Finding]``: it reads columns and
trends from the context, never files, and returns findings instead of raising. Adding one
is adding a function and a row here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvet.findings import BreakPolicy, CommandResult, Finding, first_break
from rlvet.reward import (
    components,
    evidence,
    format_hacking,
    grpo,
    hacking,
    judge,
    length,
    pseudo_success,
    repetition,
    shape,
    spot_check,
    tools,
)
from rlvet.reward.context import AuditContext, build_context
from rlvet.reward.drift import quality_status
from rlvet.reward.samples import Sample, load_samples
from rlvet.reward.table import (
    COMPONENT_PREFIX,
    EVAL,
    FINAL_OK,
    HUMAN,
    REWARD,
    SIDE_METRICS,
)

__all__ = ["DETECTORS", "RewardOutcome", "audit_metrics",
           "audit_samples", "choose_first_break"]

Detector = Callable[[AuditContext], list[Finding]]

DETECTORS: tuple[tuple[str, Detector], ...] = (
    ("sparsity", shape.check_sparsity),
    ("too_loose", shape.check_too_loose),
    ("long_tail", shape.check_long_tail),
    ("direction", judge.check_direction),
    ("group_ranking", grpo.check_group_ranking),
    ("judge_disagreement", judge.check_judge_disagreement),
    ("zero_spread", grpo.check_zero_spread),
    ("divergence", hacking.check_divergence),
    ("components", components.check_component_hacking),
    ("refusal", hacking.check_refusal_drift),
    ("length", length.check_length_inflation),
    ("repetition", repetition.check_repetition),
    ("format", format_hacking.check_format_hacking),
    ("tools", tools.check_tool_hacking),
    ("pseudo_success", pseudo_success.check_pseudo_success),
    ("evidence", evidence.check_evidence),  # what the rows above could not judge
)
"""Every reward detector, in the order its findings are listed."""

Source = str | Path | Iterable[Mapping[str, Any] | Sample]


@dataclass(frozen=True, slots=True)
class RewardOutcome:
    """What one audit concluded and the data behind it.

    Attributes:
        result: the command result (findings, verdict, metrics).
        context: the audited columns and trends (for figures).
        samples: the run's samples, in file order.
        spot_check: the full spot-check records (the file's content).
    """

    result: CommandResult
    context: AuditContext
    samples: tuple[Sample, ...]
    spot_check: tuple[dict[str, Any], ...]


def _per_step(ctx: AuditContext) -> dict[str, list[float | None]]:
    """Per-step means of every known column, aligned on the run's distinct steps."""
    steps = ctx.table.distinct_steps()
    names = [REWARD, EVAL, HUMAN, *SIDE_METRICS, FINAL_OK,
             *(COMPONENT_PREFIX + c for c in ctx.table.component_names)]
    out: dict[str, list[float | None]] = {"step": steps.tolist()}
    for name in names:
        s, means = ctx.table.per_step(name)
        if s.size == 0:
            continue
        aligned = dict(zip(s.tolist(), means.tolist(), strict=True))
        out[name] = [aligned.get(step) for step in steps.tolist()]
    return out


def _trends(ctx: AuditContext) -> dict[str, Any]:
    out = {}
    for name in (REWARD, EVAL, HUMAN, *SIDE_METRICS, FINAL_OK):
        t = ctx.trend(name)
        if t is not None:
            out[name] = t.to_dict()
    return out


def _baseline(ctx: AuditContext) -> dict[str, Any] | None:
    if ctx.baseline is None and ctx.inline_baseline is None:
        return None
    names = (REWARD, EVAL, HUMAN, *SIDE_METRICS)
    levels = {n: ctx.baseline_level(n) for n in names}
    return {"source": "file" if ctx.baseline is not None else "baseline_response",
            "levels": {k: v for k, v in levels.items() if v is not None},
            "late": {n: ctx.late_level(n) for n in levels if levels[n] is not None}}


def audit_metrics(ctx: AuditContext, spot: Sequence[dict[str, Any]],
                  warnings: Sequence[str] = ()) -> dict[str, Any]:
    """The ``metrics`` object of the command's JSON: numbers a reviewer or a CI gate reads."""
    return {
        "samples": ctx.table.n,
        "steps": int(ctx.table.distinct_steps().size),
        "first_step": ctx.first_step,
        "latest_step": int(ctx.table.steps.max()),
        "quality_reference": ctx.quality_name,
        "quality_direction": quality_status(ctx),
        "reward_up": ctx.reward_up,
        "shape": shape.shape_stats(ctx.table.get(REWARD), ctx.table.steps),
        "trends": _trends(ctx),
        "reward_vs_reference": {k: a.to_dict()
                                for k, a in judge.reference_associations(ctx).items()},
        "drifting_side_metrics": hacking.drifting_side_metrics(ctx),
        "components": components.component_stats(ctx),
        "groups": grpo.group_stats(ctx),
        "baseline": _baseline(ctx),
        "per_step": _per_step(ctx),
        "spot_check": spot_check.preview(spot),
        "warnings": list(warnings),
    }


def choose_first_break(findings: Sequence[Finding]) -> Finding | None:
    """The finding to read first: errors before warnings, then the reward finding that
    explains the others (``rlvet.findings.CAUSE_ORDER``), then the earliest step."""
    return first_break(findings, BreakPolicy.CAUSE)


def _load(source: Source, warnings: list[str]) -> list[Sample]:
    return load_samples(source, on_warning=warnings.append)


def _target(source: Source) -> str:
    return str(source) if isinstance(source, (str, Path)) else "<records>"


def audit_samples(path_or_records: Source, *, baseline: Source | None = None,
                  seed: int = 0) -> RewardOutcome:
    """Audit a run's scored samples; raises ``RlvetInputError`` for unreadable input.

    Args:
        path_or_records: a samples JSONL file, or records (mappings or ``Sample``s).
        baseline: a baseline run's samples (file or records) to compare side metrics with.
        seed: seeds the random part of the spot-check set.

    Example:
        >>> outcome = audit_samples("tests/data/reward/length_inflation.jsonl")
        >>> sorted({f.category for f in outcome.result.findings})  # doctest: +SKIP
        ['length_inflation']
    """
    warnings: list[str] = []
    samples = _load(path_or_records, warnings)
    base = _load(baseline, warnings) if baseline is not None else None
    ctx = build_context(samples, base)
    findings = tuple(f for _, detect in DETECTORS for f in detect(ctx))
    spot = tuple(spot_check.select_spot_check(samples, ctx.table, seed=seed))
    target = _target(path_or_records)
    if baseline is not None:
        target += f" (baseline {_target(baseline)})"
    result = CommandResult(command="reward", target=target, findings=findings,
                           metrics=audit_metrics(ctx, spot, warnings),
                           chosen_first_break=choose_first_break(findings))
    return RewardOutcome(result=result, context=ctx, samples=tuple(samples), spot_check=spot)
