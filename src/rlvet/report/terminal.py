"""Terminal rendering of a ``CommandResult`` with rich: first break on top, then findings by stage.

Colour lives here and only here; checks and detectors produce plain data.
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from rlvet.findings import STAGE_ORDER, CommandResult, Finding, Severity

__all__ = ["VERDICT_STYLE", "render_terminal"]

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "dim"}
VERDICT_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red"}


def _order_key(f: Finding) -> tuple[int, int, int]:
    rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}[f.severity]
    return (STAGE_ORDER.index(f.stage), -1 if f.step is None else f.step, rank)


def render_terminal(result: CommandResult, console: Console, *, show_info: bool = False) -> None:
    """Print the verdict, the first break and a table of findings grouped by stage."""
    style = VERDICT_STYLE[result.verdict]
    console.print(
        f"[bold]rlvet {result.command}[/] {result.target}: [{style}]{result.verdict.upper()}[/]"
    )
    fb = result.first_break
    if fb is not None:
        where = "" if fb.step is None else f" at step {fb.step}"
        body = f"[{_STYLE[fb.severity]}]{fb.category}[/] ({fb.stage}){where}\n{fb.message}"
        if fb.remedy:
            body += f"\n[bold]Do:[/] {fb.remedy}"
        console.print(Panel(body, title="first break", expand=False))
    shown = [f for f in result.findings if show_info or f.severity != Severity.INFO]
    hidden = len(result.findings) - len(shown)
    if shown:
        table = Table(show_lines=False, expand=False)
        for col in ("stage", "severity", "category", "step", "finding"):
            table.add_column(col, overflow="fold")
        for f in sorted(shown, key=_order_key):
            table.add_row(
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
