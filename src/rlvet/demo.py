"""``rlvet demo``: the main job end to end on embedded defaults, in under three minutes.

Contents:
    DEMO_FAULT, ENV_ID, HEALTHY_SEEDS, ... -- the embedded defaults, one constant each.
    Step -- what one step did: whether it behaved as expected, a one-line summary, seconds.
    run_demo(out, console) -- run every step into ``out``; 0 when all behaved as expected.

The steps, each writing its result JSON into ``out`` so ``rlvet report`` gathers it:
    1. environment QA of CartPole-v1 (healthy, with its built-in expert) -> ``env/``;
    2. environment QA of a faulty catalog env (a one-step stale observation) -> ``env/``;
    3. three short ``rlvet train`` runs of CartPole-v1 with guardrails on -> ``train/seed*``;
    4. a deliberately broken run (learning rate 4000x too high): the live doctor catches
       the break, the trainer rolls back to the last healthy checkpoint and lowers the
       learning rate; ``rlvet doctor`` on its log names the first break -> ``broken-lr/``;
    5. an evaluation of the trained checkpoints with IQM confidence intervals under one frozen
       protocol, by ``rlvet eval`` (``rlvet.evaluate``) -> ``eval/``;
    6. the environment record and the deployment facts only a person can state;
    7. the stage-gate report -> ``report.html`` and ``report.json``.

"As expected" means: the healthy env passes and the faulty one is caught; the healthy runs
show no error; the broken run is rolled back and its first break is a policy-update or
exploration break; the evaluation beats the random baseline; the report says no-go with
exactly the planted faults as its blockers, plus the one thing the short seeds really
show: their final returns (153, 253 and 500) disagree, so the reproducibility gate fails
by its stated dispersion rule (``rlvet.report.seeds``). The trainer uses the ``sync`` backend (one
in-process actor, bit-reproducible) so the demo's numbers do not depend on scheduling.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rlvet.errors import RlvetInputError
from rlvet.findings import CommandResult, Severity

__all__ = ["BROKEN_LR", "DEMO_FAULT", "ENV_ID", "HEALTHY_SEEDS", "Step", "run_demo"]

ENV_ID = "CartPole-v1"
DEMO_FAULT = "stale_cache_cartpole"  # a bug check_env misses: the observation lags one step
CATALOG_MODULE = "rlvet.envcheck.catalog"
HEALTHY_SEEDS = (0, 1, 2)  # three seeds: the floor for a reproducibility claim
HEALTHY_STEPS = 40 * 512  # 40 updates of one 512-step rollout: well above random, ~15 s
BROKEN_LR = 1.0  # 4000x the default 2.5e-4: KL in the tens from the first update
BROKEN_STEPS = 40 * 512
ROLLBACK_LR_FACTOR = 0.01  # one rollback brings lr to 0.01, where the run recovers
EVAL_SEEDS = (0, 1, 2, 3, 4)
EVAL_EPISODES_PER_SEED = 10
EVAL_MAX_STEPS = 500  # CartPole-v1's own time limit
LATENCY_BUDGET_MS = 20.0  # a 50 Hz control loop: one step every 20 ms
BUDGET_S = 180.0  # the bound on 2 cores
REPRODUCIBLE_CHECK = "report.gate.reproducible"
"""The short seeds end far apart (153 / 253 / 500): the gate's own finding is expected."""
MARKER = ".rlvet-demo"  # marks a directory the demo may clean before it runs again
OWNED = ("env", "train", "broken-lr", "eval", "environment.json", "deployment.toml",
         "report.html", "report.json")
DEPLOYMENT_TOML = f"""\
# Deployment facts only a person can state; `rlvet report` reads them (docs/report.md).
business_metric = "balancing time: the share of a 10 s (500-step) control window the pole stays up"
business_mapping = "episode return / 500 = share of the window balanced; a return of 475 is 95%"
latency_budget_ms = {LATENCY_BUDGET_MS}
# retraining_trigger: rlvet eval writes retrain_trigger.json; without it the report says
# how to get one.
"""


@dataclass(slots=True)
class Step:
    """What one demo step did."""

    name: str
    ok: bool = True
    summary: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def expect(self, condition: bool, problem: str) -> None:
        """Record an expectation; a false one makes the demo exit 1."""
        if not condition:
            self.ok = False
            self.problems.append(problem)


def _write_json(path: Path, result: CommandResult) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.to_json() + "\n", encoding="utf-8")
    return path


def _prepare(out: Path) -> None:
    """Create ``out``, or clean the demo's own files from an earlier demo run there.

    Raises:
        RlvetInputError: ``out`` holds other files and was not made by the demo.
    """
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise RlvetInputError(f"{out}: exists and was not written by rlvet demo; "
                              "pass an empty or new directory with --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by rlvet demo; safe to delete\n", encoding="utf-8")
    for name in OWNED:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


# --- steps -----------------------------------------------------------------------------


def _env_step(out: Path, console: Console, step: Step, *, fault: bool) -> None:
    from rlvet.envcheck.catalog import CATALOG
    from rlvet.envcheck.report import env_figures
    from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
    from rlvet.report.html import render_html, write_html
    from rlvet.report.terminal import render_terminal

    spec = CATALOG[DEMO_FAULT] if fault else None
    if spec is not None:
        console.print(Text(spec.description, style="dim"))
    # the catalog env's spec is the one `rlvet env` takes, so the report's re-check command runs
    config = (EnvQAConfig(spec=f"{CATALOG_MODULE}:{spec.name}", factory=spec.make)
              if spec is not None else EnvQAConfig(spec=ENV_ID))
    outcome = run_env_qa(config, progress=True)
    render_terminal(outcome.result, console)
    stem = out / "env" / (spec.name if spec is not None else ENV_ID)
    _write_json(stem.with_suffix(".json"), outcome.result)
    write_html(stem.with_suffix(".html"), render_html(outcome.result, env_figures(outcome)))
    errors = {str(f.category) for f in outcome.result.findings if f.severity == Severity.ERROR}
    if spec is not None:
        step.expect(spec.category in errors, f"{spec.name}: {spec.category} was not caught")
        step.summary = f"{spec.name}: {outcome.result.verdict} ({', '.join(sorted(errors))})"
    else:
        step.expect(outcome.result.verdict != "fail", f"{ENV_ID}: env QA failed")
        step.summary = f"{ENV_ID}: {outcome.result.verdict}"


def _train(out: Path, **overrides: Any) -> CommandResult:
    """One ``rlvet train`` run; its result (arguments in its summary) saved as ``train.json``."""
    from rlvet.pipeline.args import TrainArgs
    from rlvet.pipeline.command import run_train

    settings: dict[str, Any] = {"env_id": ENV_ID, "backend": "sync", "on_break": "rollback",
                                "eval_every": 4096, "eval_episodes": 10, **overrides}
    result = run_train(TrainArgs(out=out, **settings), progress=True)
    _write_json(out / "train.json", result)
    return result


def _healthy_step(out: Path, console: Console, step: Step) -> None:
    from rlvet.doctor.command import run_doctor

    finals = []
    for seed in HEALTHY_SEEDS:
        console.print(f"seed {seed}: {HEALTHY_STEPS} steps, guardrails on (rollback)")
        run_dir = out / "train" / f"seed{seed}"
        result = _train(run_dir, total_steps=HEALTHY_STEPS, seed=seed)
        doctor = run_doctor([run_dir]).result
        final = result.metrics.get("final_eval_return")
        finals.append(f"{final:.4g}" if isinstance(final, float) else "?")
        step.expect(doctor.verdict != "fail", f"seed {seed}: the doctor found an error "
                    f"({doctor.first_break.category if doctor.first_break else '?'})")
        step.expect(not result.metrics.get("rollbacks"), f"seed {seed}: a healthy run rolled back")
    step.summary = f"{len(HEALTHY_SEEDS)} seeds, final eval return {', '.join(finals)}"


def _broken_step(out: Path, console: Console, step: Step) -> None:
    from rlvet.doctor.command import doctor_figures, run_doctor
    from rlvet.pipeline.guardrails import ROLLBACK_CATEGORIES
    from rlvet.report.html import render_html, write_html
    from rlvet.report.terminal import render_terminal

    run_dir = out / "broken-lr"
    console.print(f"learning rate {BROKEN_LR} (default 2.5e-4), --on-break rollback, "
                  f"rollback lr factor {ROLLBACK_LR_FACTOR}")
    result = _train(run_dir, total_steps=BROKEN_STEPS, lr=BROKEN_LR, anneal_lr=False,
                    rollback_lr_factor=ROLLBACK_LR_FACTOR, max_rollbacks=2,
                    checkpoint_every=2, eval_every=0, eval_episodes=5)
    doctor = run_doctor([run_dir])
    _write_json(run_dir / "doctor.json", doctor.result)
    write_html(run_dir / "doctor.html", render_html(doctor.result, doctor_figures(doctor)))
    render_terminal(doctor.result, console)
    rollbacks = result.metrics.get("rollbacks") or []
    for r in rollbacks:
        console.print(f"rolled back at step {r['step']} to {r['checkpoint']} (step "
                      f"{r['checkpoint_step']}): lr {r['lr_before']:g} -> {r['lr_after']:g}",
                      markup=False, highlight=False)
    fb = doctor.result.first_break
    step.expect(bool(rollbacks), "the broken run was not rolled back")
    step.expect(fb is not None and fb.category in ROLLBACK_CATEGORIES,
                f"the doctor's first break is {fb.category if fb else 'none'}")
    step.summary = (f"first break {fb.category if fb else 'none'} at step "
                    f"{fb.step if fb else '-'}; {len(rollbacks)} rollback(s); final eval "
                    f"{result.metrics.get('final_eval_return')}")


def _protocol_toml(path: Path, checkpoint: Path) -> Path:
    """The frozen evaluation protocol (issue 6's TOML): env, seeds, episodes, budget."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[env]\nid = "{ENV_ID}"\nmax_steps = {EVAL_MAX_STEPS}\n\n'
        f"[eval]\nseeds = {list(EVAL_SEEDS)}\nepisodes_per_seed = {EVAL_EPISODES_PER_SEED}\n"
        f"deterministic = true\n\n[policy]\npath = {json.dumps(str(checkpoint.resolve()))}\n\n"
        f"[deploy]\nlatency_budget_ms = {LATENCY_BUDGET_MS}\n", encoding="utf-8")
    return path


def _full_eval(out: Path, checkpoints: list[Path], console: Console) -> list[CommandResult]:
    """``rlvet eval`` of every checkpoint under one protocol; [] (a failed step) when the
    protocol or a checkpoint is refused."""
    from rlvet.evaluate.command import run_eval

    protocol = _protocol_toml(out / "eval" / "protocol.toml", checkpoints[0])
    results = []
    for seed, checkpoint in zip(HEALTHY_SEEDS, checkpoints, strict=True):
        try:
            outcome = run_eval(protocol, policy=str(checkpoint.resolve()),
                               out=out / "eval" / f"seed{seed}", progress=True)
        except RlvetInputError as exc:
            console.print(f"rlvet eval could not run here ({exc})", markup=False)
            return []
        results.append(outcome.result)
    return results


def _eval_step(out: Path, console: Console, step: Step) -> None:
    from rlvet.documents import EvalSummary, read_summary

    checkpoints = [out / "train" / f"seed{s}" / "checkpoints" / "last.pt" for s in HEALTHY_SEEDS]
    results = _full_eval(out, checkpoints, console)
    step.expect(bool(results), "rlvet eval produced no result")
    lines = []
    for result in results:
        summary = read_summary("eval", result.to_dict()["metrics"])
        iqm = summary.aggregates.get("iqm") if isinstance(summary, EvalSummary) else None
        step.expect(iqm is not None, f"{result.target}: the evaluation reported no IQM interval")
        lines.append(iqm.describe() if iqm is not None else "no interval")
    step.summary = f"{'; '.join(lines)} (rlvet eval)"
    console.print(step.summary, markup=False, highlight=False)


def _records_step(out: Path, console: Console, step: Step) -> None:
    from rlvet.environment_record import record_environment

    path = record_environment(out)
    (out / "deployment.toml").write_text(DEPLOYMENT_TOML, encoding="utf-8")
    step.summary = f"{path.name} and deployment.toml written"
    console.print(step.summary)


def _report_step(out: Path, console: Console, step: Step) -> None:
    from rlvet.report.gate_html import render_report_html
    from rlvet.report.gate_terminal import render_report_terminal
    from rlvet.report.html import write_html
    from rlvet.report.stagegate import run_report

    outcome = run_report([out])
    _write_json(out / "report.json", outcome.result)
    write_html(out / "report.html", render_report_html(outcome))
    render_report_terminal(outcome.result, console)
    _expect_report(outcome.result.to_dict(), out, step)
    step.summary = f"{outcome.decision.decision}: {outcome.decision.reason}"


def _expect_report(doc: dict[str, Any], out: Path, step: Step) -> None:
    """The report must block on the planted faults, and on nothing else."""
    metrics = doc["metrics"]
    answers = {g["gate"]: g["answer"] for g in metrics["gates"]}
    planted = (str(out / "env" / f"{DEMO_FAULT}.json"), str(out / "broken-lr"))
    sources = {str(f["evidence"].get("source", "")) for f in doc["findings"]
               if f["severity"] == "error" and f["check"] != REPRODUCIBLE_CHECK}
    step.expect(metrics["decision"] == "no-go", "the report did not say no-go")
    step.expect(all(s.startswith(planted) for s in sources),
                f"blocking findings outside the planted faults: {sorted(sources)}")
    step.expect(any(s.startswith(planted[0]) for s in sources), "the faulty env does not block")
    step.expect(any(s.startswith(planted[1]) for s in sources), "the broken run does not block")
    for gate, expected in (("env_validated", "fail"), ("reproducible", "fail"),
                           ("beats_baseline", "pass"), ("software_recorded", "pass")):
        step.expect(answers.get(gate) == expected,
                    f"gate {gate}: {answers.get(gate)}, expected {expected}")


STEPS: tuple[tuple[str, Callable[[Path, Console, Step], None]], ...] = (
    (f"1. environment QA of a healthy env: {ENV_ID}",
     lambda o, c, s: _env_step(o, c, s, fault=False)),
    (f"2. environment QA of a faulty env: {DEMO_FAULT}",
     lambda o, c, s: _env_step(o, c, s, fault=True)),
    ("3. training with guardrails: rlvet train, 3 seeds", _healthy_step),
    ("4. a deliberately broken run: learning rate far too high", _broken_step),
    ("5. evaluation with confidence intervals", _eval_step),
    ("6. software environment and deployment facts", _records_step),
    ("7. the stage-gate report: rlvet report", _report_step),
)


def _summary(steps: list[Step], total: float, out: Path, console: Console) -> None:
    table = Table(title="rlvet demo", title_justify="left")
    for col in ("step", "as expected", "seconds", "result"):
        table.add_column(col, overflow="fold")
    for s in steps:
        table.add_row(Text(s.name), Text("yes" if s.ok else "NO", style="green" if s.ok
                                         else "bold red"), f"{s.seconds:.1f}",
                      Text("; ".join([s.summary, *s.problems]).strip("; ")))
    console.print(table)
    within = "within" if total <= BUDGET_S else "OVER"
    console.print(f"total {total:.0f} s ({within} the {BUDGET_S:.0f} s budget)")
    console.print(Text.assemble(("stage-gate report: ", "bold"), str(out / "report.html")))


def run_demo(out: Path, console: Console) -> int:
    """Run the demo into ``out``; return 0 when every step behaved as expected.

    Raises:
        RlvetInputError: ``out`` holds files the demo did not write.
    """
    out = Path(out)
    _prepare(out)
    started = time.perf_counter()
    steps: list[Step] = []
    for title, run in STEPS:
        console.rule(title)
        step = Step(title.split(":")[0])
        t0 = time.perf_counter()
        run(out, console, step)
        step.seconds = time.perf_counter() - t0
        steps.append(step)
    console.rule("summary")
    _summary(steps, time.perf_counter() - started, out, console)
    return 0 if all(s.ok for s in steps) else 1
