"""Terminal view of a ``rlvet report`` result: decision, first breaks, runs, one table per gate.

Contents:
    render_report_terminal(result, console) -- print the stage-gate view with rich.

Reads only the result's JSON form (``result.to_dict()``), so what the terminal shows is
what ``--json`` carries. Every string from the evidence goes through ``Text`` or
``escape``: a finding message may contain ``[bold]`` or worse, and rich would parse it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from rlvet.findings import CommandResult, Severity
from rlvet.report.gates import GATE_STAGE_TITLES, GateStage
from rlvet.report.terminal import render_suppressed

__all__ = ["render_report_terminal"]

_ANSWER_STYLE = {"pass": "bold green", "fail": "bold red", "unknown": "yellow"}
_STATUS_STYLE = {"go": "bold green", "no-go": "bold red", "open": "yellow"}
_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
MAX_CELL_CHARS = 2000
"""Characters of one evidence string shown: rich wraps a cell once to measure it and again
to draw it, at a cost that grew with the square of its length (a 4 MB deployment.toml
value took a minute). The whole text stays in ``--json`` and the HTML report."""


def _cap(value: Any) -> str:
    """``value`` as text of at most ``MAX_CELL_CHARS`` characters, saying what was cut."""
    text = "" if value is None else str(value)
    if len(text) <= MAX_CELL_CHARS:
        return text
    return f"{text[:MAX_CELL_CHARS]}... ({len(text) - MAX_CELL_CHARS:,} more characters in --json)"


def _header(metrics: Mapping[str, Any], target: str, console: Console) -> None:
    decision = str(metrics.get("decision", "no-go"))
    console.print(Text.assemble(("rlvet report ", "bold"), (target, ""), ": ",
                                (decision.upper(), _STATUS_STYLE.get(decision, "bold"))))
    console.print(Text(str(metrics.get("reason", "")), style="dim"))
    stages = metrics.get("stages") or {}
    line = Text()
    for stage in GateStage:
        status = str(stages.get(str(stage), "open"))
        line.append(f"{GATE_STAGE_TITLES[stage]}: ")
        line.append(status, style=_STATUS_STYLE.get(status, ""))
        line.append("   ")
    console.print(line)


def _rollback_line(run: Mapping[str, Any]) -> str:
    rollbacks = run.get("rollbacks") or []
    if rollbacks:
        r = rollbacks[0]
        return (f"rolled back at step {r.get('step')} to the checkpoint of step "
                f"{r.get('checkpoint_step')}, lr {r.get('lr_before')} -> {r.get('lr_after')}"
                + (f" ({len(rollbacks)} rollbacks)" if len(rollbacks) > 1 else ""))
    ckpt = run.get("rollback_checkpoint")
    return f"roll back to {ckpt['path']} (step {ckpt['step']})" if ckpt else ""


def _first_breaks(runs: Sequence[Mapping[str, Any]], console: Console) -> None:
    for run in runs:
        fb = run.get("first_break")
        if not fb:
            continue
        where = "" if fb.get("step") is None else f" at step {fb['step']}"
        body = Text.assemble((str(fb["category"]), _SEVERITY_STYLE.get(fb["severity"], "")),
                             f" ({fb['stage']}){where}\n{_cap(fb['message'])}")
        if fb.get("remedy"):
            body.append("\nDo: ", style="bold")
            body.append(_cap(fb["remedy"]))
        if line := _rollback_line(run):
            body.append(f"\n{line}", style="cyan")
        console.print(Panel(body, title=f"first break: {escape(str(run['run']))}",
                            expand=False))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _runs_table(runs: Sequence[Mapping[str, Any]], console: Console) -> None:
    if not runs:
        return
    table = Table(title="runs side by side", title_justify="left", expand=False)
    for col in ("run", "framework", "env", "seed", "lr", "steps", "verdict", "first break",
                "last healthy", "final eval", "rollbacks"):
        table.add_column(col, overflow="fold")
    for run in runs:
        fb = run.get("first_break")
        table.add_row(Text(_cap(run["run"])), Text(_cap(_fmt(run.get("framework")))),
                      Text(_cap(_fmt(run.get("env_id")))), Text(_cap(_fmt(run.get("seed")))),
                      Text(_cap(_fmt(run.get("learning_rate")))), _fmt(run.get("steps")),
                      Text(str(run.get("verdict")), style=_answer_style(run.get("verdict"))),
                      Text(f"{fb['category']} @ {_fmt(fb['step'])}" if fb else "-"),
                      _fmt(run.get("last_healthy_step")), _fmt(run.get("final_eval_return")),
                      str(len(run.get("rollbacks") or [])))
    console.print(table)


def _answer_style(value: Any) -> str:
    return {"pass": "green", "warn": "yellow", "fail": "bold red"}.get(str(value), "")


def _next_step(gate: Mapping[str, Any]) -> Text:
    if gate.get("command"):
        return Text(_cap(gate["command"]), style="cyan")
    return Text(_cap(gate.get("todo") or ""))


def _gate_tables(gates: Sequence[Mapping[str, Any]], stages: Mapping[str, Any],
                 console: Console) -> None:
    for stage in GateStage:
        rows = [g for g in gates if g.get("stage") == str(stage)]
        if not rows:
            continue
        status = str(stages.get(str(stage), "open"))
        table = Table(title=f"{GATE_STAGE_TITLES[stage]}: {status.upper()}",
                      title_justify="left", title_style=_STATUS_STYLE.get(status, ""),
                      expand=True, show_lines=True)
        table.add_column("question", ratio=2, overflow="fold")
        table.add_column("answer", no_wrap=True)
        table.add_column("evidence", ratio=4, overflow="fold")
        table.add_column("to get or fix it", ratio=3, overflow="fold")
        for g in rows:
            answer = str(g["answer"])
            table.add_row(Text(str(g["question"])),
                          Text(answer.upper(), style=_ANSWER_STYLE.get(answer, "")),
                          Text(_cap(g["evidence"])), _next_step(g))
        console.print(table)


def _findings_table(findings: Sequence[Mapping[str, Any]], console: Console) -> None:
    if not findings:
        console.print(Text("no error or warning finding", style="green"))
        return
    table = Table(title="blocking and warning findings", title_justify="left", expand=True)
    for col, ratio in (("severity", 1), ("category", 2), ("step", 1), ("source", 3),
                       ("finding", 6)):
        table.add_column(col, ratio=ratio, overflow="fold")
    for f in sorted(findings, key=lambda f: Severity.rank_of(f["severity"])):
        table.add_row(Text(f["severity"], style=_SEVERITY_STYLE.get(f["severity"], "")),
                      Text(str(f["category"])), _fmt(f.get("step")),
                      Text(_cap(f.get("evidence", {}).get("source", ""))), Text(_cap(f["message"])))
    console.print(table)


def render_report_terminal(result: CommandResult, console: Console) -> None:
    """Print decision, stage status, each run's first break, runs, gate tables, findings."""
    doc = result.to_dict()
    metrics = doc["metrics"]
    _header(metrics, doc["target"], console)
    _first_breaks(metrics.get("runs") or [], console)
    _runs_table(metrics.get("runs") or [], console)
    _gate_tables(metrics.get("gates") or [], metrics.get("stages") or {}, console)
    _findings_table(doc["findings"], console)
    render_suppressed(result, console)
    for note in metrics.get("notes") or []:
        console.print(Text(f"note: {_cap(note)}", style="dim"))
