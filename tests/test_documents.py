"""Typed result summaries (``rlvet.documents``): round trips, versions, field errors, the
layout before summaries, and the report reading what a command wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rlvet.documents import (
    SUMMARY_KEY,
    DoctorSummary,
    EnvSummary,
    EpisodeStats,
    EvalSummary,
    Interval,
    Latency,
    Rollback,
    TrainSummary,
    read_summary,
    reader_warnings,
)
from rlvet.errors import RlvetInputError
from rlvet.findings import CommandResult
from rlvet.report.collect import collect
from rlvet.report.documents import result_from_json

TRAIN = TrainSummary(
    env_id="CartPole-v1", args={"seed": 3, "lr": 2.5e-4}, final_eval_return=480.0,
    best_eval_return=500.0, stop_reason="solved",
    rollbacks=(Rollback(step=4096, checkpoint_step=2048, checkpoint="c/checkpoint_2048.pt",
                        lr_before=1.0, lr_after=0.01, category="kl_spike"),),
    sim_to_real=((0.0, 20.0, 18.0), (4096.0, 480.0, 300.0)))
ENV = EnvSummary(env_id="CartPole-v1", expert="builtin:cartpole",
                 random=EpisodeStats(episodes=5, steps=110, mean_return=22.0, mean_length=22.0),
                 expert_policy=EpisodeStats(episodes=5, steps=2500, mean_return=500.0,
                                            mean_length=500.0))
EVAL = EvalSummary(env_id="CartPole-v1", protocol_hash="ab" * 32, seeds=(0, 1, 2),
                   aggregates={"iqm": Interval("iqm", 480.0, 455.0, 500.0)},
                   latency=Latency(p50_ms=0.1, p99_ms=0.3, budget_ms=5.0), sweep=True,
                   retraining_trigger=True)
DOCTOR = DoctorSummary(reader_warnings=("run/progress.csv:17: torn last line dropped",))


@pytest.mark.parametrize("doc", [TRAIN, ENV, EVAL, DOCTOR], ids=lambda d: type(d).__name__)
def test_round_trip_through_strict_json(doc: object) -> None:
    kind = type(doc)
    text = json.dumps(doc.to_json(), allow_nan=False)  # type: ignore[attr-defined]
    assert kind.from_json(json.loads(text)) == doc  # type: ignore[attr-defined]


def test_another_version_is_a_clear_error() -> None:
    future = {**TRAIN.to_json(), "version": TrainSummary.SCHEMA_VERSION + 1}
    with pytest.raises(ValueError, match=r"rlvet\.train: field 'version' is 2; this rlvet "
                                         r"reads version 1"):
        TrainSummary.from_json(future)


def test_another_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="field 'schema'"):
        TrainSummary.from_json(ENV.to_json())


@pytest.mark.parametrize(("kind", "obj", "field"), [
    (TrainSummary, {**TRAIN.to_json(), "final_eval_return": "high"}, "final_eval_return"),
    (TrainSummary, {**TRAIN.to_json(), "rollbacks": [{"step": 1.5}]}, "step"),
    (EvalSummary, {**EVAL.to_json(), "seeds": ["a"]}, "seeds"),
    (EvalSummary, {**EVAL.to_json(), "aggregates": {"iqm": {"point": 1, "low": 0}}}, "high"),
    (EnvSummary, {**ENV.to_json(), "random": [1, 2]}, "random"),
    (DoctorSummary, {**DOCTOR.to_json(), "reader_warnings": "torn"}, "reader_warnings"),
])
def test_a_wrong_field_is_named(kind: type, obj: dict, field: str) -> None:
    with pytest.raises(ValueError, match=f"field '{field}'"):
        kind.from_json(obj)


def test_non_finite_numbers_as_strict_json_writes_them_are_gaps() -> None:
    obj = {**TRAIN.to_json(), "final_eval_return": "nan", "best_eval_return": "-inf"}
    got = TrainSummary.from_json(obj)
    assert got.final_eval_return is None and got.best_eval_return is None


def test_results_written_before_summaries_are_read_from_the_same_keys() -> None:
    legacy = {"env_id": "CartPole-v1", "expert": "builtin:cartpole",
              "random": {"episodes": 5, "steps": 100, "mean_return": 20.0, "mean_length": 20.0},
              "expert_policy": {"episodes": 5, "steps": 2500, "mean_return": 500.0,
                                "mean_length": 500.0}, "probe_steps": 2600}
    env = read_summary("env", legacy)
    assert isinstance(env, EnvSummary) and env.random is not None
    assert env.random.mean_return == 20.0
    assert read_summary("reward", legacy) is None  # no summary for that command
    assert reader_warnings({"reader_warnings": ["a"]}) == ("a",)


def test_report_reads_the_summary_a_command_wrote(tmp_path: Path) -> None:
    result = CommandResult(command="train", target="CartPole-v1", findings=(),
                           metrics={"env_id": "decoy", SUMMARY_KEY: TRAIN.to_json()})
    (tmp_path / "train.json").write_text(result.to_json(), encoding="utf-8")
    [doc] = collect([tmp_path]).results
    assert doc.train == TRAIN and doc.env is None
    assert doc.train.env_id == "CartPole-v1"  # the summary, not a key found elsewhere


def test_report_notes_a_summary_it_cannot_read(tmp_path: Path) -> None:
    bad = {**EVAL.to_json(), "version": 99}
    result = CommandResult(command="eval", target="x", findings=(), metrics={SUMMARY_KEY: bad})
    with pytest.raises(RlvetInputError, match=r"eval.json: metrics.summary: rlvet\.eval"):
        result_from_json(result.to_dict(), tmp_path / "eval.json")
    (tmp_path / "eval.json").write_text(result.to_json(), encoding="utf-8")
    ev = collect([tmp_path])
    assert not ev.results and any("field 'version'" in n for n in ev.notes)


def test_stored_doctor_warnings_reach_the_report_notes(tmp_path: Path) -> None:
    result = CommandResult(command="doctor", target="run", findings=(),
                           metrics={"reader_warnings": list(DOCTOR.reader_warnings)})
    (tmp_path / "doctor.json").write_text(result.to_json(), encoding="utf-8")
    notes = collect([tmp_path]).notes
    assert any(n.endswith(DOCTOR.reader_warnings[0]) for n in notes)


def test_report_reads_a_doctor_result_over_a_directory_of_runs(tmp_path: Path) -> None:
    # `rlvet doctor SWEEP --json` over three real runs: one summary for all, read back
    from rlvet.doctor.command import run_doctor

    data = Path(__file__).resolve().parent / "data" / "runs"
    sweep = tmp_path / "sweep"
    for name in ("healthy_ppo_cartpole", "lr_too_high_ppo"):
        shutil.copytree(data / name, sweep / name)
    result = run_doctor([sweep]).result
    (tmp_path / "doctor.json").write_text(result.to_json(), encoding="utf-8")
    [doc] = collect([tmp_path / "doctor.json"]).results
    assert doc.doctor is not None
    assert (doc.doctor.runs, doc.doctor.fail, doc.doctor.passed) == (2, 1, 1)
