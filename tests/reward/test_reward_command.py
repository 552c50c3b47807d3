"""``run_reward`` end to end: JSON contract, exit codes through ``emit``, escaped HTML."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import typer
from rich.console import Console

from rlvet.cli import emit
from rlvet.errors import RlvetInputError
from rlvet.reward.command import reward_figures, run_reward

DATA = Path(__file__).resolve().parents[1] / "data" / "reward"
SCRIPT = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def _emit(outcome, **kw) -> int:
    with pytest.raises(typer.Exit) as stop:
        emit(outcome.result, figures=lambda: reward_figures(outcome), **kw)
    return stop.value.exit_code


def test_json_contract_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_reward(DATA / "tool_hacking.jsonl")
    assert _emit(outcome, as_json=True, html=None) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "reward" and doc["verdict"] == "fail"
    assert doc["first_break"]["category"] == "tool_hacking"
    assert doc["first_break"]["stage"] == "reward"
    steps = doc["metrics"]["per_step"]["step"]
    assert len(doc["metrics"]["per_step"]["tool_calls"]) == len(steps)


def test_clean_run_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_reward(DATA / "clean_math.jsonl")
    assert _emit(outcome, as_json=True, html=None) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "pass"


def test_terminal_output(tmp_path: Path) -> None:
    console = Console(record=True, width=120)
    outcome = run_reward(DATA / "sign_flip.jsonl")
    assert _emit(outcome, as_json=False, html=None, console=console) == 1
    assert "reward_direction" in console.export_text()


def test_html_escapes_responses(tmp_path: Path) -> None:
    records = [json.loads(line) for line in (DATA / "format_hacking.jsonl").open()]
    for r in records:
        r["response"] = SCRIPT + r["response"]
        r["prompt"] = SCRIPT
    samples = tmp_path / "evil.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in records))
    html = tmp_path / "report.html"
    outcome = run_reward(samples)
    _emit(outcome, as_json=False, html=html, console=Console(file=io.StringIO()))
    page = html.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "\\u003cscript\\u003e" in page  # the spot-check preview, escaped by tojson
    assert page.count("<svg") >= 3  # reward histogram and per-step side-metric panels


def test_baseline_file_is_compared(tmp_path: Path) -> None:
    outcome = run_reward(DATA / "length_vs_baseline.jsonl",
                         baseline=DATA / "length_vs_baseline.baseline.jsonl")
    (f,) = [f for f in outcome.result.findings if f.severity != "info"]
    assert f.category == "length_inflation" and f.evidence["against"] == "baseline"
    assert outcome.result.metrics["baseline"]["source"] == "file"
    assert "baseline" in outcome.result.target


def test_bad_input_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "step": 0, "reward": 1}\n{"id": 2, "step": 0}\n'
                   '{"id": 3, "step": 0, "reward": 1}\n')
    with pytest.raises(RlvetInputError, match=r"bad\.jsonl:2: missing required field 'reward'"):
        run_reward(bad)
    with pytest.raises(RlvetInputError, match="no such file"):
        run_reward(DATA / "clean_math.jsonl", baseline=tmp_path / "none.jsonl")
