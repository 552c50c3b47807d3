"""Terminal rendering of a ``CommandResult`` with rich: first break on top, then findings by stage.

Colour lives here and only here; checks and detectors produce plain data.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from rlvet.documents import reader_warnings
from rlvet.findings import STAGE_ORDER, Category, CommandResult, Finding, Severity

__all__ = ["VERDICT_STYLE", "render_suppressed", "render_terminal"]

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "dim"}
VERDICT_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red"}


def _order_key(f: Finding) -> tuple[int, int, int]:
    return (STAGE_ORDER.index(f.stage), -1 if f.step is None else f.step,
            Severity.rank_of(f.severity))


def _render_runs(result: CommandResult, console: Console) -> None:
    """One line per run (verdict, first break, where) and a summary line."""
    table = Table(show_lines=False, expand=False)
    for col in ("run", "verdict", "first break", "step", "finding"):
        table.add_column(col, overflow="fold")
    for run in result.runs:
        fb = run.first_break
        style = VERDICT_STYLE[run.verdict]
        table.add_row(escape(run.target), f"[{style}]{run.verdict}[/]",
                      "-" if fb is None else str(fb.category),
                      "" if fb is None or fb.step is None else str(fb.step),
                      "" if fb is None else escape(fb.message))
    console.print(table)
    counts = {v: sum(r.verdict == v for r in result.runs) for v in ("fail", "warn", "pass")}
    console.print(f"{len(result.runs)} runs: {counts['fail']} fail, {counts['warn']} warn, "
                  f"{counts['pass']} pass (each judged on its own)")


def _render_unjudged(result: CommandResult, console: Console) -> None:
    """What could not be judged, said out loud (once per message, with its run count)."""
    seen: dict[str, int] = {}
    for f in result.findings:
        if f.category == Category.INSUFFICIENT_EVIDENCE:
            seen[f.message] = seen.get(f.message, 0) + 1
    for message, count in seen.items():
        where = f" ({count} runs)" if count > 1 else ""
        console.print(f"[yellow]not judged{where}:[/] {escape(message)}")


def render_suppressed(result: CommandResult, console: Console) -> None:
    """Findings the project accepted (``rlvet.toml`` ``[ignore]``): one line each, with the
    reason, so an ignored finding is never silently gone."""
    for s in result.suppressed:
        f = s.finding
        run = f.evidence.get("run")
        where = f" [{run}]" if run else ""
        at = "" if f.step is None else f" at step {f.step}"
        console.print(f"[dim]suppressed{escape(where)}:[/] {f.category} ({f.severity}){at}: "
                      f"{escape(f.message)} [dim]-- ignored: {escape(s.reason)}[/]")


def _render_reader_warnings(result: CommandResult, console: Console) -> None:
    """What the log readers could not read (torn lines, skipped columns): shown, never
    silently dropped -- a verdict over a partly read log says less than it seems to."""
    several = len(result.runs) > 1
    for part in (result, *result.runs):
        try:
            notes = reader_warnings(part.metrics)
        except ValueError as exc:
            notes = (str(exc),)
        where = f" [{part.target}]" if several and part is not result else ""
        for note in notes:
            console.print(f"[yellow]read warning{escape(where)}:[/] {escape(note)}")


def _nothing_judged(result: CommandResult) -> bool:
    """True when no finding was possible at all: a PASS would claim what was never checked."""
    return any(f.category == Category.INSUFFICIENT_EVIDENCE and f.evidence.get("nothing_judged")
               for f in result.findings) and not result.runs


def render_terminal(result: CommandResult, console: Console, *, show_info: bool = False) -> None:
    """Print the verdict, the first break and a table of findings grouped by stage."""
    style = VERDICT_STYLE[result.verdict]
    headline = result.verdict.upper()
    if result.verdict == "pass" and _nothing_judged(result):
        style, headline = "bold yellow", "NOT JUDGED (insufficient evidence)"
    console.print(f"[bold]rlvet {result.command}[/] {result.target}: [{style}]{headline}[/]")
    if result.runs:
        _render_runs(result, console)
    fb = result.first_break
    if fb is not None:
        where = "" if fb.step is None else f" at step {fb.step}"
        body = f"[{_STYLE[fb.severity]}]{fb.category}[/] ({fb.stage}){where}\n{fb.message}"
        if fb.remedy:
            body += f"\n[bold]Do:[/] {fb.remedy}"
        console.print(Panel(body, title="first break", expand=False))
    _render_unjudged(result, console)
    shown = [f for f in result.findings if show_info or f.severity != Severity.INFO]
    hidden = len(result.findings) - len(shown)
    if shown:
        table = Table(show_lines=False, expand=False)
        several = bool(result.runs)
        cols = ("run",) * several + ("stage", "severity", "category", "step", "finding")
        for col in cols:
            table.add_column(col, overflow="fold")
        for f in sorted(shown, key=_order_key):
            table.add_row(
                *([escape(str(f.evidence.get("run", "")))] if several else []),
                str(f.stage),
                f"[{_STYLE[f.severity]}]{f.severity}[/]",
                str(f.category),
                "" if f.step is None else str(f.step),
                f.message,
            )
        console.print(table)
    else:
        console.print("[green]no warnings or errors[/]")
    if hidden:
        console.print(f"[dim]+{hidden} info finding(s); see --json or --html[/]")
    render_suppressed(result, console)
    _render_reader_warnings(result, console)
