"""The report's gate answers match the evidence in the run directories.

Each test builds run directories from real results (env QA probes, recorded SB3 runs) and
asserts on the answers (pass / fail / unknown), the suggested command, the decision and
the blocking findings -- never on message wording.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from report_helpers import BROKEN_RUN, FAULT, HEALTHY_RUN, copy_run, write_result
from rich.console import Console

from rlvet.environment_record import record_environment
from rlvet.errors import RlvetInputError
from rlvet.findings import CommandResult, Finding, Severity, Stage
from rlvet.report.gate_terminal import render_report_terminal
from rlvet.report.gates import GATES
from rlvet.report.stagegate import ReportOutcome, emit_report, run_report


def _answers(outcome: ReportOutcome) -> dict[str, dict]:
    return {g["gate"]: g for g in outcome.result.to_dict()["metrics"]["gates"]}


def _eval_result(*, p99_ms: float, budget_ms: float, latency_error: bool,
                 p99_range: tuple[float, float] | None = None) -> CommandResult:
    """An ``rlvet eval``-shaped result: IQM interval, seeds, protocol hash, latency timed in
    five blocks whose p99s span ``p99_range`` (default: within 10% of ``p99_ms``)."""
    low, high = p99_range or (p99_ms * 0.9, p99_ms * 1.1)
    findings = ()
    if latency_error:
        findings = (Finding(check="evaluate.latency.p99", category="latency_budget",  # type: ignore[arg-type]
                            stage=Stage.RESOURCES, severity=Severity.ERROR,
                            message=f"p99 {p99_ms} ms over {budget_ms} ms"),)
    metrics = {"protocol_hash": "ab" * 32, "seeds": [0, 1, 2, 3, 4], "env_id": "CartPole-v1",
               "aggregates": {"iqm": {"point": 480.0, "low": 455.0, "high": 500.0}},
               "latency": {"p50_ms": p99_ms / 3, "p99_ms": p99_ms, "budget_ms": budget_ms,
                           "p99_low_ms": low, "p99_high_ms": high, "repeats": 5,
                           "host_load": 3.5, "cpus": 2}}
    return CommandResult(command="eval", target="CartPole-v1", findings=findings,
                         metrics=metrics)


def test_env_pass_and_one_healthy_log_without_eval(tmp_path: Path, env_pass: CommandResult
                                                    ) -> None:
    write_result(tmp_path / "env.json", env_pass)
    copy_run(HEALTHY_RUN, tmp_path / "run")
    outcome = run_report([tmp_path])
    a = _answers(outcome)
    for gate in ("env_validated", "documented_baseline", "reward_reviewed",
                 "trajectories_monitored", "throughput", "true_objective", "behaviour_tracked",
                 "beats_baseline"):
        assert a[gate]["answer"] == "pass", (gate, a[gate])
    # nothing recorded these: unknown, each with the exact way to get the evidence
    assert a["software_recorded"]["answer"] == "unknown"
    assert a["software_recorded"]["command"] == f"python -m rlvet.environment_record {tmp_path}"
    # an SB3 run: the advice is SB3's, not rlvet train's
    assert a["policy_lag"]["answer"] == "unknown" and "asynchronous" in a["policy_lag"]["todo"]
    assert a["ood_tested"]["answer"] == "unknown"
    assert a["ood_tested"]["command"].count("rlvet ") == 1
    for gate in ("latency", "retraining_trigger", "business_metric"):
        assert a[gate]["answer"] == "unknown" and "deployment.toml" in a[gate]["todo"]
    # one run is evidence that reproducibility was not shown: fail, with SB3's seed loop
    assert a["reproducible"]["answer"] == "fail"
    assert "seed=s" in a["reproducible"]["todo"] and "EvalCallback" in a["reproducible"]["todo"]
    m = outcome.result.metrics
    assert m["decision"] == "no-go" and m["stages"]["pre_deployment"] == "open"
    gate_failed = [f for f in outcome.result.findings if f.category == "gate_failed"]
    assert [f.evidence["gate"] for f in gate_failed] == ["reproducible"]
    assert outcome.result.exit_code == 1


def test_failing_env_is_a_no_go_with_that_blocking_finding(
        tmp_path: Path, env_pass: CommandResult, env_fail: CommandResult) -> None:
    write_result(tmp_path / "env-ok.json", env_pass)
    bad = write_result(tmp_path / "env-bad.json", env_fail)
    outcome = run_report([tmp_path])
    a = _answers(outcome)
    assert a["env_validated"]["answer"] == "fail"
    assert a["env_validated"]["command"] == f"rlvet env rlvet.envcheck.catalog:{FAULT}"
    blocking = [f for f in outcome.result.findings if f.severity == Severity.ERROR]
    assert [str(f.category) for f in blocking] == ["stale_observation"]
    assert blocking[0].evidence["source"] == str(bad)
    assert outcome.result.first_break.category == "stale_observation"
    assert outcome.result.metrics["decision"] == "no-go"
    assert outcome.result.metrics["stages"]["pre_training"] == "no-go"
    assert outcome.result.exit_code == 1


def test_broken_run_is_on_top_and_fails_the_trajectory_gate(tmp_path: Path) -> None:
    copy_run(HEALTHY_RUN, tmp_path / "a")
    copy_run(BROKEN_RUN, tmp_path / "b")
    outcome = run_report([tmp_path / "a", tmp_path / "b"])
    runs = {Path(r["run"]).name: r for r in outcome.result.metrics["runs"]}
    assert runs["a"]["first_break"] is None and runs["a"]["verdict"] == "pass"
    assert runs["b"]["first_break"]["category"] == "kl_spike"
    gate = _answers(outcome)["trajectories_monitored"]
    assert gate["answer"] == "fail"
    assert any(b.startswith("kl_spike (error)") for b in gate["blocking"])
    assert _answers(outcome)["reproducible"]["answer"] == "fail"  # one of two seeds broke


def test_three_healthy_seeds_are_reproducible(tmp_path: Path) -> None:
    for seed in range(3):
        copy_run(HEALTHY_RUN, tmp_path / f"seed{seed}", with_model=True)  # settings recorded
    outcome = run_report([tmp_path])
    assert len(outcome.result.metrics["runs"]) == 3
    assert _answers(outcome)["reproducible"]["answer"] == "pass"


def test_eval_latency_over_budget_fails_the_latency_gate(tmp_path: Path,
                                                         env_pass: CommandResult) -> None:
    write_result(tmp_path / "env.json", env_pass)
    write_result(tmp_path / "eval.json", _eval_result(p99_ms=12.0, budget_ms=5.0,
                                                      latency_error=True))
    outcome = run_report([tmp_path])
    a = _answers(outcome)
    assert a["latency"]["answer"] == "fail"
    assert a["latency"]["blocking"] and a["latency"]["blocking"][0].startswith("latency_budget")
    assert a["true_objective"]["answer"] == "pass"
    assert a["beats_baseline"]["answer"] == "pass"  # IQM CI 455-500 vs random ~20
    assert outcome.result.metrics["protocol_hashes"] == ["ab" * 32]


def test_latency_interval_straddling_the_budget_decides_nothing(
        tmp_path: Path, env_pass: CommandResult) -> None:
    # the case: p99 4.6 ms then 8.5 ms on one model under a 5 ms budget
    write_result(tmp_path / "eval.json", _eval_result(p99_ms=4.8, budget_ms=5.0,
                                                      latency_error=False,
                                                      p99_range=(4.6, 8.5)))
    proc = subprocess.run([sys.executable, "-m", "rlvet.cli", "report", str(tmp_path), "--json"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr  # unknown is no error: nothing blocks on it
    gate = {g["gate"]: g for g in json.loads(proc.stdout)["metrics"]["gates"]}["latency"]
    assert gate["answer"] == "unknown", gate
    assert "host load 3.50 on 2 CPUs" in gate["evidence"] and "4.6-8.5" in gate["evidence"]


def test_latency_timed_once_by_an_older_rlvet_decides_nothing(tmp_path: Path) -> None:
    result = _eval_result(p99_ms=0.3, budget_ms=5.0, latency_error=False)
    result.metrics["latency"] = {"p50_ms": 0.1, "p99_ms": 0.3, "budget_ms": 5.0}
    write_result(tmp_path / "eval.json", result)
    assert _answers(run_report([tmp_path]))["latency"]["answer"] == "unknown"


def test_eval_within_budget_and_declarations_pass_the_deployment_gates(
        tmp_path: Path, env_pass: CommandResult) -> None:
    write_result(tmp_path / "env.json", env_pass)
    write_result(tmp_path / "eval.json", _eval_result(p99_ms=0.3, budget_ms=5.0,
                                                      latency_error=False))
    (tmp_path / "deployment.toml").write_text(
        'business_metric = "orders shipped on time"\n'
        'business_mapping = "return / 500 = share of on-time picks"\n'
        'retraining_trigger = "IQM below 400 on the weekly evaluation"\n', encoding="utf-8")
    record_environment(tmp_path)
    a = _answers(run_report([tmp_path]))
    for gate in ("latency", "business_metric", "retraining_trigger", "software_recorded"):
        assert a[gate]["answer"] == "pass", (gate, a[gate])


def test_unreadable_result_is_noted_and_earlier_reports_are_skipped(
        tmp_path: Path, env_pass: CommandResult) -> None:
    write_result(tmp_path / "env.json", env_pass)
    broken = json.loads(env_pass.to_json())
    broken["findings"] = [{**broken["findings"][0], "severity": "catastrophic"}]
    (tmp_path / "bad.json").write_text(json.dumps(broken), encoding="utf-8")
    first = run_report([tmp_path])
    write_result(tmp_path / "report.json", first.result)
    again = run_report([tmp_path])
    assert [d.command for d in again.evidence.results] == ["env"]
    assert any("bad.json" in n and "severity" in n for n in again.result.metrics["notes"])


def test_overlapping_paths_are_read_once(tmp_path: Path, env_pass: CommandResult) -> None:
    write_result(tmp_path / "env.json", env_pass)
    copy_run(HEALTHY_RUN, tmp_path / "run")
    outcome = run_report([tmp_path, tmp_path / "run", tmp_path / "env.json"])
    assert len(outcome.evidence.results) == 1 and len(outcome.evidence.runs) == 1


def test_jsonl_without_steps_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "protocol.access.jsonl").write_text(
        '{"policy": "last.pt", "split": "dev", "time": "2026-01-01T00:00:00"}\n',
        encoding="utf-8")
    outcome = run_report([tmp_path])
    assert outcome.evidence.runs == () and outcome.evidence.notes == ()


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(RlvetInputError, match="no such file"):
        run_report([tmp_path / "nope"])


def test_every_gate_is_answered_and_unknowns_say_how(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    gates = run_report([tmp_path / "empty"]).result.metrics["gates"]
    assert [g["gate"] for g in gates] == [g.id for g in GATES]
    assert all(g["answer"] == "unknown" for g in gates)
    assert all(g["command"] or g["todo"] for g in gates)


def test_json_output_is_one_document(tmp_path: Path, env_fail: CommandResult,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    write_result(tmp_path / "env.json", env_fail)
    code = emit_report(run_report([tmp_path]), as_json=True, html=None)
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["command"] == "report" and doc["metrics"]["decision"] == "no-go"


def test_terminal_view_prints_user_text_literally(tmp_path: Path) -> None:
    finding = Finding(check="x", category="reward_hacking",  # type: ignore[arg-type]
                      stage=Stage.REWARD, severity=Severity.ERROR,
                      message="completion said [bold red]hi[/] and <script>alert(1)</script>")
    write_result(tmp_path / "reward.json", CommandResult(command="reward", target="s.jsonl",
                                                         findings=(finding,)))
    buf = io.StringIO()
    render_report_terminal(run_report([tmp_path]).result,
                           Console(file=buf, width=200, color_system=None))
    assert "[bold red]hi[/]" in buf.getvalue()


def test_retraining_rules_repeated_across_trigger_files_are_listed_once(tmp_path: Path) -> None:
    rule = {"quantity": "iqm", "condition": "below", "threshold": 400.0}
    for name in ("a", "b", "c"):  # one trigger file per eval run, the same rule in each
        (tmp_path / f"trigger_{name}.json").write_text(json.dumps(
            {"kind": "rlvet.retraining_trigger", "triggers": [rule]}), encoding="utf-8")
    gate = _answers(run_report([tmp_path]))["retraining_trigger"]
    assert gate["answer"] == "pass" and gate["evidence"].count("iqm below 400") == 1
