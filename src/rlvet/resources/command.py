"""``rlvet resources plan``: the memory plan as a result (its terminal view, a table and a
stacked bar, is ``rlvet.report.plan_terminal.render_plan``).

Contents:
    PlanOutcome -- the CommandResult plus the plan and the suggested changes.
    run_plan(path) -- load, plan, judge against the GPU, suggest changes.

The verdict is a ``memory_budget`` finding: an error when the peak exceeds the GPU, a
warning when it fits only above FIT_UTILISATION (the context and the allocator's
fragmentation live there), nothing when it fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlvet.findings import Category, CommandResult, Finding, Severity
from rlvet.resources.advice import FIT_UTILISATION, Change, suggest_changes
from rlvet.resources.config import PlanConfig, load_plan_config
from rlvet.resources.memory import MemoryPlan, plan_memory

__all__ = ["GIB", "PlanOutcome", "run_plan"]

GIB = 2**30


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
    return [Finding.of(Category.MEMORY_BUDGET, check="resources.memory_plan",
                       severity=Severity.ERROR if over else Severity.WARNING,
                       message=message, remedy=remedy,
                       evidence={"peak_gib": peak, "capacity_gib": cap,
                                 "utilisation": plan.utilisation,
                                 "peak_phase": plan.peak_phase})]


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
