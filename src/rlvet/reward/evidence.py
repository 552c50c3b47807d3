"""What the reward audit could not judge, said out loud (as the doctor does).

Contents:
    check_evidence(ctx) -- ``insufficient_evidence`` info findings for every family of
        reward checks the samples are too few to decide, and a ``nothing_judged`` mark when
        no family could run.

Each reward detector returns nothing below its own minimum of evidence (``shape.MIN_SAMPLES``
samples, ``trend.MIN_STEPS`` distinct steps, ``grpo.MIN_GROUPS`` groups): correct for the
detector, but a bare PASS over 16 samples from 2 steps claims what was never checked
(ARCHITECTURE.md section 9). The minimums are the detectors' own constants, so the note
and the silence can never disagree.
"""

from __future__ import annotations

import numpy as np

from rlvet.findings import Category, Finding, Severity, Stage
from rlvet.reward import grpo, shape, trend
from rlvet.reward.context import AuditContext

__all__ = ["check_evidence"]


def _note(message: str, remedy: str, **evidence: object) -> Finding:
    return Finding.of(Category.INSUFFICIENT_EVIDENCE, check="reward.evidence",
                      stage=Stage.REWARD, severity=Severity.INFO, message=message,
                      evidence=dict(evidence), remedy=remedy)


def check_evidence(ctx: AuditContext) -> list[Finding]:
    """One info finding per family of checks the samples cannot support."""
    n = ctx.table.n
    steps = int(np.unique(ctx.table.steps).size)
    g = grpo.group_stats(ctx)
    notes: list[Finding] = []
    few_samples = n < shape.MIN_SAMPLES
    few_steps = steps < trend.MIN_STEPS
    few_groups = g is None or g["groups"] < grpo.MIN_GROUPS
    if few_samples:
        notes.append(_note(
            f"only {n} samples (need {shape.MIN_SAMPLES}): the reward's shape (sparsity, "
            f"too loose, long tail) was not judged",
            "score more samples per step (a few hundred make the shape checks reliable)",
            samples=n, needed=shape.MIN_SAMPLES))
    against = ("; side metrics were compared with the baseline instead"
               if ctx.baseline is not None or ctx.inline_baseline is not None else "")
    if few_steps:
        notes.append(_note(
            f"samples from {steps} training step(s) (need {trend.MIN_STEPS}): changes over "
            f"training (reward up while the true objective falls; length, repetition, format "
            f"and tool use rising) were not judged{against}",
            f"record samples at {trend.MIN_STEPS} or more steps across the run "
            f"(e.g. every logging step)", steps=steps, needed=trend.MIN_STEPS))
    if g is not None and g["groups"] < grpo.MIN_GROUPS:
        zero = g["zero_spread_share"]
        spread = (f"all {g['groups']} have zero reward spread (no learning signal in them), "
                  if zero == 1.0 else f"{zero:.0%} have zero reward spread, ")
        notes.append(_note(
            f"only {g['groups']} prompt groups (need {grpo.MIN_GROUPS}): {spread}too few to "
            f"judge no_learning_signal or the group ranking",
            "record more groups (prompts) per step", groups=g["groups"],
            needed=grpo.MIN_GROUPS, zero_spread_share=zero))
    if notes and few_samples and few_steps and few_groups:
        first = notes[0]
        notes[0] = Finding.of(first.category, check=first.check, stage=first.stage,
                              severity=first.severity, message=first.message,
                              evidence={**first.evidence, "nothing_judged": True},
                              remedy=first.remedy)
    return notes
