"""Guardrails on a broken run (learning rate 4000x too high): rollback restores the healthy
checkpoint and lowers the learning rate, stop stops, warn records and trains on."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlvet.doctor.live import LivePolicy
from rlvet.findings import Category, Severity
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.checkpoints import load_checkpoint, weights_digest
from rlvet.pipeline.guardrails import ROLLBACK_CATEGORIES
from rlvet.pipeline.train import TrainResult, train
from rlvet.signals import names
from rlvet.signals.discover import read_run

pytestmark = pytest.mark.slow

BROKEN_LR = 1.0  # Adam at lr 1 moves every weight by ~1 per step: KL in the tens at once


def _broken(out: Path, on_break: str, **kw: object) -> TrainResult:
    settings: dict = {"total_steps": 40 * 512, **kw}
    return train(TrainArgs(env_id="CartPole-v1", backend="sync", lr=BROKEN_LR,
                           anneal_lr=False, on_break=on_break, eval_every=0, eval_episodes=2,
                           checkpoint_every=2, out=out, **settings))


def test_rollback_restores_checkpoint_and_lowers_lr(tmp_path: Path) -> None:
    result = _broken(tmp_path, "rollback", rollback_lr_factor=0.01, max_rollbacks=2)
    first = result.metrics["rollbacks"][0]
    assert first["category"] in {str(c) for c in ROLLBACK_CATEGORIES}
    assert first["lr_after"] == pytest.approx(first["lr_before"] * 0.01)
    saved = load_checkpoint(first["checkpoint"])  # the weights it restored are that file's
    assert first["restored_weights"] == weights_digest(saved["agent"])
    assert first["checkpoint_step"] < first["step"]
    assert first["step"] >= LivePolicy().warmup_updates * 512
    events = [f for f in result.findings if f.check == "pipeline.guardrails.rollback"]
    assert events and events[0].severity == Severity.WARNING
    assert events[0].evidence["rollback"]["checkpoint_step"] == first["checkpoint_step"]
    assert (tmp_path / "checkpoints" / "failed.pt").exists()
    assert result.metrics["final_eval_return"] > 50.0  # it recovered (sync run: deterministic)
    lr = read_run(tmp_path).get(names.LEARNING_RATE)
    assert lr is not None and lr.values[-1] == pytest.approx(BROKEN_LR * 0.01 ** len(
        result.metrics["rollbacks"]))


def test_stop_saves_failed_checkpoint_and_reports_the_break(tmp_path: Path) -> None:
    result = _broken(tmp_path, "stop")
    assert result.stop_reason == "guardrail_stop"
    assert result.metrics["updates"] < 40
    stop = [f for f in result.findings if f.check == "pipeline.guardrails.guardrail_stop"]
    assert stop and stop[0].severity == Severity.ERROR
    assert stop[0].category in {Category.KL_SPIKE, Category.NUMERICAL_INSTABILITY}
    assert load_checkpoint(tmp_path / "checkpoints" / "failed.pt")["counters"]["update"] > 0


def test_warn_trains_on_and_keeps_the_finding(tmp_path: Path) -> None:
    # guard_budget 1: a verdict at every chance, so the two confirming verdicts come within
    # the run whatever the machine's load (the budget itself is tested in the units)
    result = _broken(tmp_path, "warn", total_steps=24 * 512, guard_budget=1.0)
    assert result.stop_reason is None and result.metrics["updates"] == 24
    assert result.metrics["guard_warnings"]
    assert any(f.severity == Severity.ERROR for f in result.findings)
