"""The evaluation link: is every evaluation of the run measured the same way?

Contents:
    PROTOCOL_KEYS -- text signals that identify the evaluation protocol.
    detect_eval_protocol_change(run, ctx) -- the protocol identifier changes mid-run.

Why: an evaluation curve is a comparison across time; if the temperature, max tokens, seed
set or env kwargs change halfway, the curve's jump is the protocol, not the policy
(Henderson et al. 2018, "Deep RL that matters", on evaluation details moving results more
than algorithms). rlvet's evaluator and Monitor log a protocol hash beside each
evaluation; any other logger can write one as a text column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = ["PROTOCOL_KEYS", "detect_eval_protocol_change"]

PROTOCOL_KEYS = ("eval_protocol", "protocol_hash", "eval/protocol", "eval/protocol_hash")


def _changes(values: tuple[tuple[int, str], ...]) -> list[tuple[int, str, str]]:
    """``(step, before, after)`` for each point where the value differs from the previous."""
    ordered = sorted(values, key=lambda sv: sv[0])
    return [(step, prev, cur) for (_, prev), (step, cur) in zip(ordered, ordered[1:], strict=False)
            if cur != prev]


def detect_eval_protocol_change(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """The first change of any ``PROTOCOL_KEYS`` text signal (an error: curves mix protocols)."""
    found: list[Finding] = []
    for key in PROTOCOL_KEYS:
        changes = _changes(run.text.get(key, ()))
        if not changes:
            continue
        step, before, after = changes[0]
        message = (
            f"{key} changed from {before!r} to {after!r} at step {step} ({len(changes)} "
            f"change(s) in all): evaluations before and after it are not comparable"
        )
        evidence = {"onset_step": step, "key": key, "before": before, "after": after,
                    "changes": len(changes)}
        found.append(prescribe(Category.EVAL_PROTOCOL_CHANGE, severity=Severity.ERROR,
                               message=message, evidence=evidence, step=step))
    return sorted(found, key=lambda f: f.step or 0)[:1]
