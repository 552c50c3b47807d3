"""Terminal view of ``rlvet eval`` beyond the findings: aggregates, latency, sweep rows.

Contents:
    print_summary(outcome, console) -- the aggregates table with confidence intervals, the
        batch-1 latency, the probability of improvement and the robustness sweep.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rlvet.evaluate.command import EvalOutcome
from rlvet.evaluate.latency import latency_answer

__all__ = ["print_summary"]


def print_summary(outcome: EvalOutcome, console: Console) -> None:
    """Aggregates with CIs, latency and sweep rows: what ``render_terminal`` does not show
    (it renders findings only). An evaluation the sandbox ended scored nothing: say so."""
    if outcome.failure is not None:
        console.print("no aggregates: the evaluation was ended before scoring (see the "
                      "finding above)", highlight=False)
        return
    ep = outcome.episodes
    level = f"{outcome.protocol.confidence:.0%} CI"
    table = Table(title=(f"{len(ep.seeds)} seeds x {ep.returns.shape[1]} episodes, "
                         f"protocol {outcome.protocol.hash[:12]}"), expand=False)
    for col in ("aggregate", "point", level):
        table.add_column(col)
    for name, iv in outcome.estimates.items():
        table.add_row(name, f"{iv.point:.4g}", escape(f"[{iv.low:.4g}, {iv.high:.4g}]"))
    console.print(table)
    lat = outcome.latency
    budget = outcome.protocol.deploy.latency_budget_ms
    load = "unknown" if lat.host_load is None else f"{lat.host_load:.2f} on {lat.cpus} CPUs"
    console.print(f"batch-1 latency: p50 {lat.p50_ms:.3g} ms, p99 {lat.p99_ms:.3g} ms "
                  f"({lat.confidence:.1%} interval {lat.p99_low_ms:.3g}-{lat.p99_high_ms:.3g} "
                  f"ms over {lat.repeats} blocks of {lat.calls} calls; host load {load}); "
                  f"budget {budget:g} ms: {latency_answer(lat, budget)}", highlight=False)
    poi = outcome.result.metrics.get("compare", {}).get("probability_of_improvement")
    if poi is not None:
        ci = escape(f"[{poi['low']:.2f}, {poi['high']:.2f}]")
        console.print(f"P(improvement) over the compared result: {poi['point']:.2f} {ci}",
                      highlight=False)
    if outcome.sweep is not None:
        sweep = Table(title="robustness sweep", expand=False)
        for col in ("variant", "mean return", "drop", "failure rate"):
            sweep.add_column(col)
        for v in outcome.sweep.variants:
            sweep.add_row(escape(v.perturbation.label), f"{v.mean:.4g}", f"{v.relative_drop:.0%}",
                          f"{v.failure_rate:.0%}")
        console.print(sweep)
