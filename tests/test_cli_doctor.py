"""``rlvet doctor`` through the CLI, in-process, on the recorded real runs."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from rlvet.cli import main

RUNS = Path(__file__).parent / "data" / "runs"


def _digest(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_broken_run_json_names_first_break(capsys: pytest.CaptureFixture) -> None:
    run = RUNS / "lr_too_high_ppo"
    before = _digest(run)
    code = main(["doctor", str(run), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["command"] == "doctor" and doc["verdict"] == "fail"
    assert doc["first_break"]["category"] == "kl_spike"
    assert _digest(run) == before  # inputs are never modified


def test_rollback_checkpoint_is_the_last_one_before_the_break(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "hacked"
    shutil.copytree(RUNS / "reward_hacking_ppo", run)
    (run / "rl_model_20000_steps.zip").write_bytes(b"")  # an earlier save, found by name
    (run / "rl_model_10000_steps.zip").write_bytes(b"")
    main(["doctor", str(run), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["first_break"]["category"] == "reward_hacking"
    assert doc["metrics"]["last_healthy_step"] < doc["first_break"]["step"]
    assert doc["metrics"]["rollback_checkpoint"]["step"] == 20000


def test_healthy_run_exits_zero_and_html_marks_curves(tmp_path: Path, capsys) -> None:
    html = tmp_path / "doctor.html"
    assert main(["doctor", str(RUNS / "healthy_ppo_cartpole"), "--html", str(html)]) == 0
    page = html.read_text()
    assert page.count("<svg") >= 3 and "<script" not in page


def test_several_runs_side_by_side(capsys: pytest.CaptureFixture) -> None:
    code = main(["doctor", str(RUNS / "healthy_ppo_cartpole"), str(RUNS / "lr_too_high_ppo"),
                 "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [r["verdict"] for r in doc["metrics"]["runs"]] == ["pass", "fail"]
    assert all("run" in f["evidence"] for f in doc["findings"])


def test_bad_input_one_line_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "progress.csv").write_text(
        "time/total_timesteps,train/approx_kl\n100,0.01\n200,abc\n300,0.02\n")
    for args, fragment in (([str(empty)], "no training log found"),
                           ([str(corrupt)], "progress.csv:3"),
                           ([str(tmp_path / "missing")], "no such file"),
                           ([str(RUNS / "healthy_ppo_cartpole"), "--eval-metric", "nope"],
                            "no metric")):
        assert main(["doctor", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_html_over_a_log_it_reads_is_refused(tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUNS / "healthy_a2c_cartpole", run)
    before = _digest(run)
    for target in (run, run / "progress.csv"):
        assert main(["doctor", str(target), "--html", str(run / "progress.csv")]) == 2
        err = capsys.readouterr().err.strip()
        assert "refusing to overwrite" in err and "\n" not in err
    assert _digest(run) == before
