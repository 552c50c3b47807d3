"""The Finding model, verdicts, first-break ordering and the strict JSON contract."""

from __future__ import annotations

import json

from rlvet.findings import Category, CommandResult, Finding, Severity, Stage, first_break, verdict


def _f(severity: Severity, stage: Stage, step: int | None, category: Category) -> Finding:
    return Finding(check="t", category=category, stage=stage, severity=severity, message="m",
                   step=step)


def test_verdict_and_exit_code() -> None:
    info = _f(Severity.INFO, Stage.REWARD, None, Category.REWARD_SPARSITY)
    warn = _f(Severity.WARNING, Stage.REWARD, None, Category.REWARD_SPARSITY)
    err = _f(Severity.ERROR, Stage.CRITIC, 5, Category.CRITIC_FAILURE)
    assert verdict([]) == "pass" and verdict([info]) == "pass"
    assert verdict([info, warn]) == "warn"
    assert verdict([warn, err]) == "fail"
    assert CommandResult(command="x", target="t", findings=(err,)).exit_code == 1
    assert CommandResult(command="x", target="t", findings=(warn,)).exit_code == 0


def test_first_break_is_earliest_error_then_loop_order() -> None:
    late = _f(Severity.ERROR, Stage.POLICY_UPDATE, 900, Category.KL_SPIKE)
    early = _f(Severity.ERROR, Stage.EXPLORATION, 100, Category.ENTROPY_COLLAPSE)
    tie_outer = _f(Severity.ERROR, Stage.REWARD, 100, Category.REWARD_HACKING)
    assert first_break([late, early]) is early
    assert first_break([late, early, tie_outer]) is tie_outer  # reward precedes exploration
    assert first_break([_f(Severity.INFO, Stage.REWARD, 0, Category.PLATEAU)]) is None


def test_json_is_strict_even_with_nan_evidence() -> None:
    f = Finding(check="t", category=Category.NUMERICAL_INSTABILITY, stage=Stage.NUMERICS,
                severity=Severity.ERROR, message="m", evidence={"v": float("nan"), "x": [1.5]})
    doc = json.loads(CommandResult(command="doctor", target="r", findings=(f,)).to_json())
    assert doc["verdict"] == "fail"
    assert doc["first_break"]["evidence"]["v"] == "nan"
    assert set(doc) == {"rlvet", "command", "target", "verdict", "first_break", "findings",
                        "metrics"}
