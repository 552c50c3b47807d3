"""``rlvet demo`` end to end through the CLI: every step as expected, under 3 minutes, and
the report it writes answers the gates from the evidence the demo produced."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from rlvet.cli import main
from rlvet.demo import BUDGET_S, DEMO_FAULT, HEALTHY_SEEDS
from rlvet.errors import RlvetInputError
from rlvet.report.stagegate import run_report


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, float]:
    out = tmp_path_factory.mktemp("demo") / "rlvet-demo"
    start = time.perf_counter()
    code = main(["demo", "--out", str(out)])
    return out, code, time.perf_counter() - start


@pytest.mark.slow
def test_demo_behaves_as_expected_within_budget(demo: tuple[Path, int, float]) -> None:
    out, code, seconds = demo
    assert code == 0
    assert seconds < BUDGET_S
    assert (out / "report.html").stat().st_size > 10_000


@pytest.mark.slow
def test_each_step_left_its_result(demo: tuple[Path, int, float]) -> None:
    out = demo[0]
    commands = {p.relative_to(out).as_posix(): json.loads(p.read_text())["command"]
                for p in out.rglob("*.json") if "command" in json.loads(p.read_text())}
    assert commands["env/CartPole-v1.json"] == "env"
    assert commands[f"env/{DEMO_FAULT}.json"] == "env"
    for seed in HEALTHY_SEEDS:
        assert commands[f"train/seed{seed}/train.json"] == "train"
    assert commands["broken-lr/train.json"] == "train"
    assert commands["broken-lr/doctor.json"] == "doctor"
    assert [c for name, c in commands.items() if name.startswith("eval/")][0] == "eval"
    assert commands["report.json"] == "report"
    assert (out / "environment.json").exists()


@pytest.mark.slow
def test_report_blocks_on_exactly_the_planted_faults(demo: tuple[Path, int, float]) -> None:
    out = demo[0]
    outcome = run_report([out])  # again, from the files alone
    doc = outcome.result.to_dict()
    assert doc["metrics"]["decision"] == "no-go"
    def planted(source: str) -> str:  # broken-lr/train.json belongs to the broken run
        rel = Path(source).relative_to(out)
        return rel.parts[0] if rel.parts[0] == "broken-lr" else rel.name

    errors = {(f["category"], planted(f["evidence"]["source"])) for f in doc["findings"]
              if f["severity"] == "error" and f["category"] != "gate_failed"}
    gate_failed = [f["evidence"]["gate"] for f in doc["findings"]
                   if f["category"] == "gate_failed"]
    assert gate_failed == ["reproducible"]  # 153 / 253 / 500: the seeds disagree
    assert ("stale_observation", f"{DEMO_FAULT}.json") in errors
    assert {src for _, src in errors} <= {f"{DEMO_FAULT}.json", "broken-lr"}
    runs = {Path(r["run"]).name: r for r in doc["metrics"]["runs"]}
    assert runs["broken-lr"]["rollbacks"] and runs["broken-lr"]["first_break"]
    assert all(runs[f"seed{s}"]["first_break"] is None for s in HEALTHY_SEEDS)
    answers = {g["gate"]: g["answer"] for g in doc["metrics"]["gates"]}
    assert answers["reproducible"] == "fail" and answers["beats_baseline"] == "pass"
    assert answers["latency"] == "pass" and answers["business_metric"] == "pass"


def test_demo_refuses_a_directory_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me", encoding="utf-8")
    from rich.console import Console

    from rlvet.demo import run_demo

    with pytest.raises(RlvetInputError, match="not written by rlvet demo"):
        run_demo(tmp_path, Console(quiet=True))
    assert (tmp_path / "precious.txt").exists()
