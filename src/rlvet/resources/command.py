"""``rlvet resources plan``: the memory plan as a result, a table and a stacked bar.

Contents:
    PlanOutcome -- the CommandResult plus the plan and the suggested changes.
    run_plan(path) -- load, plan, judge against the GPU, suggest changes.
    render_plan(outcome, console) -- the terminal view.

The verdict is a ``memory_budget`` finding: an error when the peak exceeds the GPU, a
warning when it fits only above FIT_UTILISATION (the context and the allocator's
fragmentation live there), nothing when it fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rlvet.findings import Category, CommandResult, Finding, Severity, Stage
from rlvet.report.terminal import VERDICT_STYLE
from rlvet.resources.advice import FIT_UTILISATION, Change, suggest_changes
from rlvet.resources.config import PlanConfig, load_plan_config
from rlvet.resources.memory import SOURCES, MemoryPlan, plan_memory

__all__ = ["PlanOutcome", "render_plan", "run_plan"]

GIB = 2**30
BAR_WIDTH = 60
_COLOURS = {"weights": "blue", "optimizer": "magenta", "gradients": "red",
            "activations": "yellow", "logits": "bright_yellow", "kv_cache": "cyan",
            "rollouts": "green"}


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """What ``rlvet resources plan`` concluded."""

    result: CommandResult
    config: PlanConfig
    plan: MemoryPlan
    changes: tuple[Change, ...]
    combined: Change | None


def _verdict(plan: MemoryPlan, best: Change | None) -> list[Finding]:
    """The memory_budget finding (none when the plan fits with headroom)."""
    if plan.utilisation <= FIT_UTILISATION:
        return []
    over = plan.utilisation > 1.0
    peak, cap = plan.peak_bytes / GIB, plan.capacity_bytes / GIB
    message = (f"peak {peak:.1f} GiB per GPU in phase '{plan.peak_phase}' is "
               f"{plan.utilisation:.0%} of the {cap:.0f} GiB GPU"
               + (": it will run out of memory" if over else
                  f": above the {FIT_UTILISATION:.0%} that leaves room for the CUDA context "
                  "and allocator fragmentation"))
    remedy = (f"cheapest change that fits: {best.action} (saves {best.saving_bytes / GIB:.1f} "
              "GiB)" if best else "no change in the list fits alone or combined: more GPUs or "
              "a smaller model")
    return [Finding(check="resources.memory_plan", category=Category.MEMORY_BUDGET,
                    stage=Stage.RESOURCES, severity=Severity.ERROR if over else Severity.WARNING,
                    message=message, remedy=remedy,
                    evidence={"peak_gib": peak, "capacity_gib": cap,
                              "utilisation": plan.utilisation, "peak_phase": plan.peak_phase})]


def _change_dict(ch: Change) -> dict[str, object]:
    return {"action": ch.action, "cost": ch.cost, "tradeoff": ch.tradeoff,
            "peak_gib": ch.peak_bytes / GIB, "saving_gib": ch.saving_bytes / GIB,
            "fits": ch.fits}


def run_plan(path: str | Path) -> PlanOutcome:
    """Plan ``path``'s setup; raises RlvetInputError (one line, names the field) on bad input."""
    cfg = load_plan_config(path)
    plan = plan_memory(cfg)
    changes, combined = suggest_changes(cfg, plan)
    best = combined or next((ch for ch in changes if ch.fits), None)
    metrics = {
        "peak_gib": plan.peak_bytes / GIB, "peak_phase": plan.peak_phase,
        "capacity_gib": plan.capacity_bytes / GIB, "utilisation": plan.utilisation,
        "gpus": cfg.hardware.gpus, "by_source_gib": {k: v / GIB for k, v in plan.by_source.items()},
        "phases_gib": {k: v / GIB for k, v in plan.phases.items()},
        "changes": [_change_dict(ch) for ch in changes],
        "combined_change": None if combined is None else _change_dict(combined),
        "notes": list(plan.notes),
    }
    result = CommandResult(command="resources plan", target=str(path),
                           findings=tuple(_verdict(plan, best)), metrics=metrics)
    return PlanOutcome(result, cfg, plan, tuple(changes), combined)


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
