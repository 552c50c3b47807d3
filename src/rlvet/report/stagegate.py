"""``rlvet report RUN_DIR...``: gather, answer the gates, decide, and shape one result.

Contents:
    ReportOutcome -- the ``CommandResult`` plus the evidence, gate answers and decision.
    run_summary(run) -- one training run's column of the side-by-side table.
    run_report(paths) -- the Python API behind the CLI command.
    emit_report(outcome, as_json=, html=, console=) -- HTML file, then JSON or terminal;
        returns the exit code (the report's own ``emit``: its views are not the generic ones).

The result's findings are every error and warning gathered (the doctor's fresh diagnosis of
each run, then the stored results' findings, duplicates dropped), then a ``gate_failed``
error for each gate that fails on evidence alone; its metrics hold the decision, the gate
table (``metrics["gates"]``), the runs side by side (``metrics["runs"]``, each with its
first break) and what was read. Exit code 1 means an error finding blocks go; a no-go for
missing evidence alone exits 0 -- gate deployment on ``metrics.decision``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from rlvet.findings import Category, CommandResult, Finding, Severity, Suppressed
from rlvet.paths import refuse_output_over_input
from rlvet.report.collect import Evidence, TrainingRun, collect
from rlvet.report.documents import ResultDoc
from rlvet.report.gates import Decision, GateAnswer, answer_gates, decide, gate_findings

__all__ = ["ReportOutcome", "emit_report", "run_report", "run_summary"]


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    """What ``rlvet report`` concluded, and from what."""

    result: CommandResult
    evidence: Evidence
    answers: tuple[GateAnswer, ...]
    decision: Decision


def _finding_brief(f: Finding | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {"category": str(f.category), "stage": str(f.stage), "severity": str(f.severity),
            "step": f.step, "message": f.message, "remedy": f.remedy}


def _last_step(run: TrainingRun) -> int | None:
    ends = [int(s.steps[-1]) for s in run.signals.series.values() if len(s)]
    return max(ends) if ends else None


def _train_facts(run: TrainingRun) -> dict[str, Any]:
    doc, train = run.train_doc, run.train
    recorded = run.settings
    return {"seed": run.seed, "learning_rate": run.learning_rate, "framework": run.framework,
            "settings_source": None if recorded is None else recorded.source,
            "stop_reason": None if train is None else train.stop_reason,
            "best_eval_return": None if train is None else train.best_eval_return,
            "rollbacks": [] if train is None else [r.to_json() for r in train.rollbacks],
            "train_result": None if doc is None else str(doc.path)}


def run_summary(run: TrainingRun) -> dict[str, Any]:
    """One run's column: what it is, where it broke first, where to roll back to."""
    d = run.diagnosis
    ckpt = d.rollback_checkpoint
    return {
        "run": run.name, "env_id": run.env_id, "formats": list(run.signals.formats),
        "steps": _last_step(run), "verdict": d.verdict,
        "first_break": _finding_brief(d.first_break),
        "last_healthy_step": d.last_healthy_step,
        "rollback_checkpoint": None if ckpt is None else {"step": ckpt.step, "path": ckpt.path},
        "final_eval_return": run.final_eval,
        "checkpoints": [str(p) for p in run.models],
        **_train_facts(run),
    }


def _result_summary(doc: ResultDoc) -> dict[str, Any]:
    return {"file": str(doc.path), "command": doc.command, "target": doc.target,
            "verdict": doc.verdict, "first_break": _finding_brief(doc.first_break),
            "protocol_hash": None if doc.eval is None else doc.eval.protocol_hash}


def _environment(ev: Evidence) -> dict[str, Any] | None:
    if not ev.environments:
        return None
    path, record = ev.environments[0]
    return {"file": str(path), "python": record.get("python"),
            "platform": record.get("platform"), "key_packages": record.get("key_packages"),
            "packages": len(record.get("packages") or {})}


def _metrics(ev: Evidence, answers: tuple[GateAnswer, ...], decision: Decision
             ) -> dict[str, Any]:
    hashes = [d.eval.protocol_hash for d in ev.results
              if d.eval is not None and d.eval.protocol_hash]
    return {
        **decision.to_dict(),
        "gates": [a.to_dict() for a in answers],
        "runs": [run_summary(r) for r in ev.runs],
        "results": [_result_summary(d) for d in ev.results],
        "protocol_hashes": list(dict.fromkeys(hashes)),
        "environment": _environment(ev),
        "deployment": {str(p): dict(v) for p, v in ev.deployment},
        "notes": list(ev.notes),
    }


def run_report(paths: Iterable[str | os.PathLike[str]],
               ignore: Mapping[Category, str] | None = None) -> ReportOutcome:
    """Gather the evidence under ``paths``, answer every gate, and decide.

    ``ignore`` (category -> reason, ``rlvet.toml`` ``[ignore]``): those findings are
    listed as suppressed and answer no gate.

    Raises:
        RlvetInputError: a path that does not exist (damaged files inside are listed in
            ``metrics["notes"]`` instead).

    Example:
        >>> outcome = run_report(["rlvet-demo"])  # doctest: +SKIP
        >>> outcome.result.metrics["decision"], outcome.result.metrics["stages"]  # doctest: +SKIP
        ('no-go', {'pre_training': 'no-go', ...})
    """
    ev = collect(paths)
    gathered = tuple(f for f in ev.findings() if f.severity != Severity.INFO)
    suppressed = tuple(Suppressed(finding=f, reason=(ignore or {})[f.category])
                       for f in gathered if f.category in (ignore or {}))
    gathered = tuple(f for f in gathered if f.category not in (ignore or {}))
    answers = answer_gates(ev, gathered)
    findings = (*gathered, *gate_findings(answers, gathered))
    decision = decide(answers, findings)
    result = CommandResult(command="report", target=", ".join(str(p) for p in ev.roots),
                           findings=findings, metrics=_metrics(ev, answers, decision),
                           suppressed=suppressed)
    return ReportOutcome(result=result, evidence=ev, answers=answers, decision=decision)


def emit_report(outcome: ReportOutcome, *, as_json: bool, html: Path | None,
                console: Console | None = None) -> int:
    """Write the HTML report if asked, then print JSON or the terminal view.

    Returns:
        The exit code: 1 with an error finding, else 0 (ARCHITECTURE.md section 2).
    """
    from rlvet.report.gate_html import render_report_html
    from rlvet.report.gate_terminal import render_report_terminal
    from rlvet.report.html import write_html

    if html is not None:
        refuse_output_over_input(html, outcome.evidence.inputs, option="--html")
        write_html(html, render_report_html(outcome))
    if as_json:
        sys.stdout.write(outcome.result.to_json() + "\n")
    else:
        out = console or Console()
        render_report_terminal(outcome.result, out)
        if html is not None:
            out.print(f"HTML report: {html}", markup=False, highlight=False)
    return outcome.result.exit_code
