"""``rlvet demo``: the main job on embedded defaults, with progress and a pointer to results.

Today it runs environment QA on CartPole-v1 (with its built-in expert) and on one faulty
env from the catalog, writing a JSON and an HTML report for each; later stages (training
with guardrails, the doctor on a broken run, evaluation, the stage-gate report) join as
they land, and the demo says which are not available yet.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from rlvet.envcheck.catalog import CATALOG
from rlvet.envcheck.report import env_figures
from rlvet.envcheck.suite import EnvQAConfig, EnvQAOutcome, run_env_qa
from rlvet.report.html import render_html, write_html
from rlvet.report.terminal import render_terminal

__all__ = ["DEMO_FAULT", "run_demo"]

DEMO_FAULT = "stale_cache_cartpole"  # a bug check_env misses: the observation lags one step
_NOT_YET = ("training with guardrails (rlvet train)", "evaluation with confidence intervals "
            "(rlvet eval)", "the stage-gate report (rlvet report)")


def _save(outcome: EnvQAOutcome, out: Path, stem: str) -> Path:
    (out / f"{stem}.json").write_text(outcome.result.to_json() + "\n", encoding="utf-8")
    html = out / f"{stem}.html"
    write_html(html, render_html(outcome.result, env_figures(outcome)))
    return html


def run_demo(out: Path, console: Console) -> int:
    """Run the demo into ``out``; return 0 when every step behaved as expected."""
    out.mkdir(parents=True, exist_ok=True)
    console.rule("1. environment QA of a healthy env: CartPole-v1")
    healthy = run_env_qa(EnvQAConfig(spec="CartPole-v1"), progress=True)
    render_terminal(healthy.result, console, show_info=False)
    healthy_html = _save(healthy, out, "env-cartpole")
    fault = CATALOG[DEMO_FAULT]
    console.rule(f"2. environment QA of a faulty env: {fault.name} ({fault.category})")
    console.print(fault.description)
    faulty = run_env_qa(EnvQAConfig(spec=fault.name, factory=fault.make), progress=True)
    render_terminal(faulty.result, console, show_info=False)
    faulty_html = _save(faulty, out, f"env-{fault.name}")
    console.rule("summary")
    console.print(f"CartPole-v1: {healthy.result.verdict}  -> {healthy_html}")
    console.print(f"{fault.name}: {faulty.result.verdict}  -> {faulty_html}")
    console.print("not in this demo yet: " + "; ".join(_NOT_YET))
    caught = any(f.category == fault.category for f in faulty.result.findings)
    return 0 if healthy.result.verdict != "fail" and caught else 1
