"""Reading an evaluation by key, and the demo stand-in's statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rlvet.demo_eval import EvalPlan, iqm, iqm_interval, protocol_hash
from rlvet.report.documents import ResultDoc
from rlvet.report.eval_evidence import intervals, latencies, protocol_hashes, seed_count


def _doc(metrics: dict) -> ResultDoc:
    return ResultDoc(path=Path("eval.json"), command="eval", target="CartPole-v1",
                     verdict="pass", version="0", findings=(), metrics=metrics)


def test_keys_are_found_at_any_depth() -> None:
    doc = _doc({"protocol_hash": "h1", "splits": {"dev": {"seeds": [1, 2, 3],
                                                          "iqm": {"point": 5, "low": 4,
                                                                  "high": 6}}},
                "runs": [{"latency": {"p50_ms": 1.0, "p99_ms": 2.0}}], "n_seeds": 2})
    assert protocol_hashes(doc) == ("h1",)
    assert seed_count(doc) == 3
    assert [(i.name, i.low) for i in intervals(doc)] == [("splits.dev.iqm", 4.0)]
    assert latencies(doc)[0]["p99_ms"] == 2.0


def test_iqm_trims_a_quarter_each_side() -> None:
    assert iqm(np.array([0.0, 10, 10, 10, 10, 10, 10, 1000])) == pytest.approx(10.0)


def test_iqm_interval_is_seeded_and_contains_the_point() -> None:
    x = np.random.default_rng(3).normal(100, 20, 50)
    a = iqm_interval(x, confidence=0.95, seed=7)
    assert a == iqm_interval(x, confidence=0.95, seed=7)  # same seed, same bits
    assert a["low"] <= a["point"] <= a["high"]
    flat = iqm_interval([500.0] * 10, confidence=0.95, seed=0)
    assert flat == {"point": 500.0, "low": 500.0, "high": 500.0}


def test_protocol_hash_ignores_the_latency_budget() -> None:
    assert protocol_hash(EvalPlan(latency_budget_ms=1.0)) == protocol_hash(EvalPlan())
    assert protocol_hash(EvalPlan(seeds=(0, 1))) != protocol_hash(EvalPlan())


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, tiny ``rlvet train`` checkpoint (two updates, in-process actor)."""
    from rlvet.pipeline.args import TrainArgs
    from rlvet.pipeline.train import train

    out = tmp_path_factory.mktemp("tiny")
    train(TrainArgs(env_id="CartPole-v1", total_steps=1024, backend="sync", eval_every=0,
                    eval_episodes=2, out=out))
    return out / "checkpoints" / "last.pt"


@pytest.mark.slow
def test_stand_in_writes_what_the_report_reads(tmp_path: Path, checkpoint: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's fallback when ``rlvet.evaluate`` is absent: the gates read its result."""
    import shutil

    from rich.console import Console

    from rlvet import demo
    from rlvet.report.stagegate import run_report

    for seed in demo.HEALTHY_SEEDS:
        target = tmp_path / "train" / f"seed{seed}" / "checkpoints" / "last.pt"
        target.parent.mkdir(parents=True)
        shutil.copy(checkpoint, target)
    monkeypatch.setattr(demo, "_full_eval", lambda out, checkpoints, console: [])
    monkeypatch.setattr(demo, "EVAL_SEEDS", (0, 1))
    monkeypatch.setattr(demo, "EVAL_EPISODES_PER_SEED", 2)
    step = demo.Step("eval")
    demo._eval_step(tmp_path, Console(quiet=True), step)
    assert step.ok and "stand-in" in step.summary
    doc = json.loads((tmp_path / "eval" / "eval.json").read_text())
    assert doc["command"] == "eval" and doc["metrics"]["stand_in"] is True
    gates = {g["gate"]: g for g in run_report([tmp_path / "eval"]).result.metrics["gates"]}
    assert gates["true_objective"]["answer"] == "pass"
    assert "stand-in" in gates["true_objective"]["evidence"]
    assert gates["latency"]["answer"] == "pass"  # p99 of a 64-unit MLP within 20 ms
