"""Terminal view of ``rlvet resources plan``: bytes by source, a stacked bar, the changes.

Contents:
    render_plan(outcome, console) -- verdict, per-GPU memory at the peak with a stacked bar
        marking the GPU's capacity, phases, and the changes that fit.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from rlvet.report.terminal import VERDICT_STYLE
from rlvet.resources.advice import FIT_UTILISATION
from rlvet.resources.command import GIB, PlanOutcome
from rlvet.resources.memory import SOURCES, MemoryPlan

__all__ = ["render_plan"]

BAR_WIDTH = 60
_COLOURS = {"weights": "blue", "optimizer": "magenta", "gradients": "red",
            "activations": "yellow", "logits": "bright_yellow", "kv_cache": "cyan",
            "rollouts": "green"}


def _bar(plan: MemoryPlan) -> str:
    """One line of blocks, each source's width proportional to its bytes, with the GPU's
    capacity marked by '|' (past the end of the blocks when it fits, inside them if not)."""
    scale = max(plan.peak_bytes, plan.capacity_bytes) / BAR_WIDTH
    cells: list[str] = []
    for source in SOURCES:
        cells += [source] * round(plan.by_source[source] / scale)
    cap = min(round(plan.capacity_bytes / scale), BAR_WIDTH)
    cells += [""] * (cap - len(cells))
    cells.insert(cap, "|")
    return "".join("|" if c == "|" else "·" if not c else f"[{_COLOURS[c]}]█[/]" for c in cells)


def render_plan(outcome: PlanOutcome, console: Console) -> None:
    """Verdict, bytes by source with a stacked bar, phases, and the changes that fit."""
    plan, res = outcome.plan, outcome.result
    colour = VERDICT_STYLE[res.verdict]
    fits = ("fits" if plan.utilisation <= FIT_UTILISATION else
            "tight" if plan.utilisation <= 1 else "does NOT fit")
    console.print(f"[bold]rlvet resources plan[/] {res.target}: [{colour}]{fits.upper()}[/] - "
                  f"peak {plan.peak_bytes / GIB:.2f} GiB per GPU ({plan.utilisation:.0%} of "
                  f"{plan.capacity_bytes / GIB:.0f} GiB x {outcome.config.hardware.gpus}), "
                  f"phase '{plan.peak_phase}'")
    table = Table(title="per-GPU memory at the peak", expand=False)
    for col in ("source", "GiB", "share"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for source in SOURCES:
        b = plan.by_source[source]
        if b:
            table.add_row(f"[{_COLOURS[source]}]{source}[/]", f"{b / GIB:.2f}",
                          f"{b / plan.peak_bytes:.0%}")
    console.print(table)
    console.print(_bar(plan) + f"  (| = {plan.capacity_bytes / GIB:.0f} GiB)")
    console.print("phases: " + ", ".join(f"{k} {v / GIB:.2f} GiB" for k, v in plan.phases.items()))
    for f in res.findings:
        console.print(f"[{colour}]{f.severity}[/] {f.message}\n[bold]Do:[/] {f.remedy}")
    if outcome.changes:
        changes = Table(title="changes, each alone (cheapest that fits first)", expand=False)
        for col in ("change", "trade-off", "saves GiB", "peak GiB", "fits"):
            changes.add_column(col, justify="left" if col in ("change", "trade-off") else "right")
        for ch in outcome.changes:
            changes.add_row(ch.action, ch.tradeoff, f"{ch.saving_bytes / GIB:.2f}",
                            f"{ch.peak_bytes / GIB:.2f}", "yes" if ch.fits else "no")
        console.print(changes)
    if outcome.combined is not None:
        console.print(f"combined: {outcome.combined.action} -> "
                      f"{outcome.combined.peak_bytes / GIB:.2f} GiB (fits)")
    for note in plan.notes:
        console.print(f"[dim]note: {note}[/]")
