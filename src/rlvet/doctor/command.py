"""``rlvet doctor PATH...``: read each run, diagnose it, and shape one command result.

Contents:
    DoctorOutcome -- the ``CommandResult`` plus each run's signals and diagnosis (for plots).
    run_doctor -- the Python API behind the CLI command.
    doctor_figures -- the key curves of each run with every onset and the first break marked.

Several runs -- given as several paths, or found as sibling log directories under one path
(seeds of a sweep) -- are each read and judged on their own: ``result.runs`` holds one
result per run (terminal and JSON show a verdict per run and a summary line), every merged
finding carries its run in ``evidence["run"]``, and ``metrics["runs"]`` lists each run's
first break, last healthy step and rollback checkpoint side by side. Reader warnings
(dropped records, restarts, torn tails) are kept in each run's ``reader_warnings``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvet.doctor.diagnose import Diagnosis, diagnose
from rlvet.documents import SUMMARY_KEY, DoctorSummary
from rlvet.figures import LineFigure
from rlvet.findings import CommandResult, Finding
from rlvet.signals import names
from rlvet.signals.discover import read_run_report, split_runs
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


def _run_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Each path split into the runs it holds (``split_runs``), duplicates dropped."""
    out: dict[Path, None] = {}
    for p in paths:
        out.update(dict.fromkeys(split_runs(p)))
    return list(out)


def _one(path: Path, reward_metric: str | None, eval_metric: str | None,
         aliases: Mapping[str, str] | None) -> tuple[RunSignals, Diagnosis, tuple[str, ...]]:
    run, report = read_run_report(path, aliases=aliases)
    d = diagnose(run, reward_metric=reward_metric, eval_metric=eval_metric)
    return run, d, report.warnings


def _summary(verdicts: Sequence[str], warnings: Sequence[str]) -> dict[str, Any]:
    """The typed summary of one or several runs' verdicts, as JSON."""
    return DoctorSummary(runs=len(verdicts), fail=verdicts.count("fail"),
                         warn=verdicts.count("warn"), passed=verdicts.count("pass"),
                         reader_warnings=tuple(warnings)).to_json()


def _run_result(run: RunSignals, d: Diagnosis, warnings: tuple[str, ...]) -> CommandResult:
    return CommandResult(command="doctor", target=run.source, findings=d.findings,
                         metrics={**_run_summary(run, d), "reader_warnings": list(warnings),
                                  SUMMARY_KEY: _summary([d.verdict], warnings)},
                         chosen_first_break=d.first_break)


_VERDICT_RANK = {"fail": 0, "warn": 1, "pass": 2}


def run_doctor(
    paths: Sequence[str | Path],
    *,
    reward_metric: str | None = None,
    eval_metric: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> DoctorOutcome:
    """Read and diagnose every run; raises ``RlvetInputError`` for unreadable input.

    A directory holding several runs (``sweep/seed0``, ``sweep/seed1``: see
    ``rlvet.signals.discover.split_runs``) gets one verdict per run, in ``result.runs``;
    the overall first break is that of the first run with the worst verdict.

    Example:
        >>> outcome = run_doctor(["tests/data/runs/lr_too_high_ppo"])  # doctest: +SKIP
        >>> outcome.result.first_break.category  # doctest: +SKIP
        'kl_spike'
    """
    read = [_one(p, reward_metric, eval_metric, aliases) for p in _run_paths(paths)]
    runs = tuple((run, d) for run, d, _ in read)
    parts = tuple(_run_result(*r) for r in read)
    target = ", ".join(str(p) for p in paths)
    if len(parts) == 1:
        result = dataclasses.replace(parts[0], target=target)
        return DoctorOutcome(result=result, runs=runs)
    findings = tuple(_tagged(f, run.source) for run, d in runs for f in d.findings)
    worst = min(parts, key=lambda r: _VERDICT_RANK[r.verdict])
    metrics: dict[str, Any] = {
        "runs": [{**_run_summary(run, d), "reader_warnings": list(w)} for run, d, w in read],
        SUMMARY_KEY: _summary([r.verdict for r in parts], [x for _, _, w in read for x in w]),
    }
    result = CommandResult(command="doctor", target=target, findings=findings,
                           metrics=metrics, chosen_first_break=worst.first_break, runs=parts)
    return DoctorOutcome(result=result, runs=runs)


def doctor_figures(outcome: DoctorOutcome) -> list[LineFigure]:
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
            figures.append(LineFigure(title=f"{run.source} — {title}", curves=curves,
                                      markers=markers, highlight=highlight,
                                      plot_title=f"{Path(run.source).name}: {title}"))
    return figures
