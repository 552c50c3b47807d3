"""``rlvet doctor PATH...``: read each run, diagnose it, and shape one command result.

Contents:
    DoctorOutcome -- the ``CommandResult`` plus each run's signals and diagnosis (for plots).
    run_doctor -- the Python API behind the CLI command.
    doctor_figures -- the key curves of each run with every onset and the first break marked.

With several runs (seeds of one experiment) every finding carries its run in
``evidence["run"]`` and the JSON ``metrics["runs"]`` lists each run's first break, last
healthy step and rollback checkpoint side by side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvet.doctor.diagnose import Diagnosis, diagnose
from rlvet.findings import CommandResult, Finding
from rlvet.report.html import Figure
from rlvet.report.plots import lines_svg
from rlvet.signals import names
from rlvet.signals.discover import read_run
from rlvet.signals.series import RunSignals

__all__ = ["DoctorOutcome", "doctor_figures", "run_doctor"]

KEY_CURVES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("return", (names.REWARD, names.EVAL_RETURN)),
    ("policy update", (names.KL, names.CLIP_FRACTION)),
    ("exploration", (names.ENTROPY,)),
    ("critic", (names.EXPLAINED_VARIANCE, names.VALUE_LOSS)),
    ("numerics", (names.GRAD_NORM, names.LOSS)),
    ("freshness and throughput", (names.POLICY_LAG, names.FPS)),
)
"""Panels of the HTML report: title -> canonical signals drawn together."""


@dataclass(frozen=True, slots=True)
class DoctorOutcome:
    """The command result and, per run, what was read and concluded."""

    result: CommandResult
    runs: tuple[tuple[RunSignals, Diagnosis], ...]


def _run_summary(run: RunSignals, d: Diagnosis) -> dict[str, Any]:
    fb = d.first_break
    return {
        "run": run.source,
        "formats": list(run.formats),
        "verdict": d.verdict,
        "first_break": None if fb is None else {"category": str(fb.category), "step": fb.step},
        "last_healthy_step": d.last_healthy_step,
        "rollback_checkpoint": None if d.rollback_checkpoint is None
        else dataclasses.asdict(d.rollback_checkpoint),
        **d.metrics,
    }


def _tagged(f: Finding, source: str) -> Finding:
    return dataclasses.replace(f, evidence={**f.evidence, "run": source})


def run_doctor(
    paths: Sequence[str | Path],
    *,
    reward_metric: str | None = None,
    eval_metric: str | None = None,
) -> DoctorOutcome:
    """Read and diagnose every run; raises ``RlvetInputError`` for unreadable input.

    Example:
        >>> outcome = run_doctor(["tests/data/runs/lr_too_high_ppo"])  # doctest: +SKIP
        >>> outcome.result.first_break.category  # doctest: +SKIP
        'kl_spike'
    """
    runs = tuple((run, diagnose(run, reward_metric=reward_metric, eval_metric=eval_metric))
                 for run in (read_run(p) for p in paths))
    several = len(runs) > 1
    findings = tuple(_tagged(f, run.source) if several else f
                     for run, d in runs for f in d.findings)
    # one run: the doctor's onset-ordered first break; several: the generic severity rule
    chosen = None if several else runs[0][1].first_break
    metrics: dict[str, Any] = (_run_summary(*runs[0]) if not several
                               else {"runs": [_run_summary(r, d) for r, d in runs]})
    result = CommandResult(command="doctor", target=", ".join(str(p) for p in paths),
                           findings=findings, metrics=metrics, chosen_first_break=chosen)
    return DoctorOutcome(result=result, runs=runs)


def doctor_figures(outcome: DoctorOutcome) -> list[Figure]:
    """One panel per loop link that the run logged, onsets and the first break marked."""
    figures = []
    for run, d in outcome.runs:
        markers = {str(f.category): float(f.step) for f in d.findings
                   if f.step is not None and f.severity != "info"}
        highlight = None if d.first_break is None or d.first_break.step is None \
            else float(d.first_break.step)
        for title, signal_names in KEY_CURVES:
            curves = {n: (s.steps, s.values) for n in signal_names if (s := run.get(n))}
            if not curves:
                continue
            svg = lines_svg(curves, title=f"{Path(run.source).name}: {title}",
                            markers=markers, highlight=highlight)
            figures.append(Figure(f"{run.source} — {title}", svg))
    return figures
