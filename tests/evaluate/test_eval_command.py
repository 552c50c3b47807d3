"""``run_eval`` end to end: result and trigger files, comparisons, the split access log,
the HTML report, and the CLI's exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from rlvet.cli import app, main
from rlvet.errors import RlvetInputError
from rlvet.evaluate.command import RESULT_NAME, TRIGGER_NAME, eval_figures, run_eval
from rlvet.report.html import render_html

DATA = Path(__file__).parents[1] / "data"
POLICIES = DATA / "eval" / "cartpole_policies.py"
SB3_MODEL = DATA / "runs" / "healthy_ppo_cartpole" / "rl_model_99984_steps.zip"

PROTOCOL = f"""
[env]
id = "CartPole-v1"
attributes = {{ length = 0.1 }}
max_steps = 300

[eval]
seeds = [0, 1, 2, 3]
episodes_per_seed = 3
deterministic = false
bootstrap_reps = 500

[splits.private]
seeds = [9001, 9002]
episodes_per_seed = 2

[policy]
callable = "{POLICIES}:noisy_balance"

[deploy]
latency_calls = 50
latency_budget_ms = 1000.0  # a loaded shared CPU must not make these tests flaky
"""

CLI_REGISTERED = "eval" in {c.name for c in app.registered_commands}
needs_cli = pytest.mark.skipif(not CLI_REGISTERED, reason="rlvet.cli has no eval command yet")


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _protocol(tmp_path: Path, text: str = PROTOCOL, name: str = "protocol.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_result_and_trigger_files_and_bitwise_reproducible(tmp_path: Path) -> None:
    protocol = _protocol(tmp_path)
    first = run_eval(protocol, out=tmp_path / "a")
    second = run_eval(protocol, out=tmp_path / "b")
    m = first.result.metrics
    assert first.result.command == "eval" and first.result.verdict == "pass"
    assert m["aggregates"] == second.result.metrics["aggregates"]  # same bits, same CIs
    assert m["protocol_hash"] == first.protocol.hash and len(m["per_seed_returns"]) == 4
    assert len(m["scores"]) == 4
    assert set(m["aggregates"]) >= {"mean", "median", "pooled_median", "iqm"}
    doc = json.loads((tmp_path / "a" / RESULT_NAME).read_text())
    assert doc["metrics"]["protocol_hash"] == m["protocol_hash"]
    latency = doc["metrics"]["summary"]["latency"]  # what rlvet report reads
    assert latency["repeats"] >= 2 and latency["p99_low_ms"] <= latency["p99_high_ms"]
    assert "host_load" in latency and "cpus" in latency
    trigger = json.loads((tmp_path / "a" / TRIGGER_NAME).read_text())
    assert trigger["protocol_hash"] == m["protocol_hash"]
    assert len(trigger["baseline"]["obs_quantiles"]["values"]) == 4


def test_compare_same_protocol_gives_probability_of_improvement(tmp_path: Path) -> None:
    protocol = _protocol(tmp_path)
    run_eval(protocol, out=tmp_path / "a")
    greedy = run_eval(protocol, policy=f"{POLICIES}:balance",
                      compare=tmp_path / "a" / RESULT_NAME)
    cmp = greedy.result.metrics["compare"]
    assert cmp["comparable"] and 0.0 <= cmp["probability_of_improvement"]["point"] <= 1.0
    assert not [f for f in greedy.result.findings if f.category == "eval_protocol_change"]
    assert greedy.other_profile is not None


def test_compare_across_protocols_is_an_eval_protocol_change(tmp_path: Path) -> None:
    run_eval(_protocol(tmp_path), out=tmp_path / "a")
    changed = _protocol(tmp_path, PROTOCOL.replace("deterministic = false",
                                                   "deterministic = true"), "greedy.toml")
    outcome = run_eval(changed, compare=tmp_path / "a" / RESULT_NAME)
    found = [f for f in outcome.result.findings if f.category == "eval_protocol_change"]
    assert len(found) == 1 and found[0].severity == "error"
    assert "eval.deterministic" in found[0].evidence["changed_fields"]
    assert outcome.result.exit_code == 1
    other_split = run_eval(_protocol(tmp_path), split="private",
                           compare=tmp_path / "a" / RESULT_NAME)
    assert any(f.category == "eval_protocol_change" for f in other_split.result.findings)


def test_private_split_reuse_is_reported(tmp_path: Path) -> None:
    protocol = _protocol(tmp_path)
    for _ in range(2):
        assert not run_eval(protocol).result.findings  # dev may be read at will
    first = run_eval(protocol, split="private")
    assert not [f for f in first.result.findings if f.category == "split_overuse"]
    second = run_eval(protocol, split="private")
    found = [f for f in second.result.findings if f.category == "split_overuse"]
    assert len(found) == 1 and found[0].severity == "warning" and found[0].evidence["uses"] == 2
    log = (tmp_path / "protocol.access.jsonl").read_text().splitlines()
    assert [json.loads(x)["split"] for x in log] == ["dev", "dev", "private", "private"]


def test_sb3_policy_with_sweep_and_html(tmp_path: Path) -> None:
    for name in ("cartpole_nominal.toml", "sweep_cartpole.toml", "real_cartpole.jsonl"):
        shutil.copy(DATA / "eval" / name, tmp_path / name)
    protocol = tmp_path / "cartpole_nominal.toml"
    protocol.write_text(protocol.read_text().replace("../runs/", f"{DATA}/runs/"))
    outcome = run_eval(protocol, sweep=tmp_path / "sweep_cartpole.toml")
    categories = {str(f.category) for f in outcome.result.findings}
    assert {"sim_to_real_gap", "ood_failure"} <= categories
    assert outcome.estimates["iqm"].point == 500.0
    assert "sweep" in outcome.result.metrics and "shift" in outcome.result.metrics
    page = render_html(outcome.result, eval_figures(outcome))
    assert page.count("<svg") >= 4 and "<script" not in page


def test_missing_policy_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(RlvetInputError, match="policy"):
        run_eval(_protocol(tmp_path, PROTOCOL.split("[policy]")[0]))
    with pytest.raises(RlvetInputError, match="not found"):
        run_eval(_protocol(tmp_path), policy=str(tmp_path / "missing.zip"))


@needs_cli
def test_cli_bad_protocol_exits_2_with_one_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad_protocol.toml"
    shutil.copy(DATA / "eval" / "bad_protocol.toml", bad)
    assert main(["eval", str(bad), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(bad) in err and "eval.episodes_per_sed" in err


@needs_cli
def test_cli_json_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    protocol = _protocol(tmp_path)
    assert main(["eval", str(protocol), "--json", "--out", str(tmp_path / "o")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "eval" and doc["metrics"]["protocol_hash"]
    changed = _protocol(tmp_path, PROTOCOL.replace("max_steps = 300", "max_steps = 200"), "b.toml")
    code = main(["eval", str(changed), "--json", "--compare", str(tmp_path / "o" / RESULT_NAME)])
    assert code == 1
    assert json.loads(capsys.readouterr().out)["first_break"]["category"] == "eval_protocol_change"
    assert main(["eval", str(protocol), "--policy", str(tmp_path / "nope.pt")]) == 2


def test_episode_unit_bootstraps_episodes_within_seeds(tmp_path: Path) -> None:
    protocol = _protocol(tmp_path, PROTOCOL.replace("deterministic = false",
                                                    "deterministic = false\nunit = \"episode\""))
    outcome = run_eval(protocol)
    assert len(outcome.result.metrics["scores"]) == 3  # (episodes_per_seed, seeds)
    assert len(outcome.result.metrics["scores"][0]) == 4
    iqm = outcome.estimates["iqm"]
    assert iqm.low <= iqm.point <= iqm.high
