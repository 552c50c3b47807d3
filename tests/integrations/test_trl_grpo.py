"""``RlvetTrlCallback`` and ``SampleRecorder``: unit checks, then real TRL GRPO training.

The slow tests train the tiny CPU runs of ``tests/data/make_trl_runs.py`` (a random
~83k-parameter Llama, a character tokenizer, nothing downloaded): one paid for length, one
paid for the task itself, and check what rlvet says about each.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before huggingface_hub reads it: no downloads
pytest.importorskip("trl")

from transformers import TrainerControl, TrainerState  # noqa: E402

from rlvet import monitor as rlvet_monitor  # noqa: E402
from rlvet.doctor.diagnose import diagnose  # noqa: E402
from rlvet.doctor.live import LivePolicy  # noqa: E402
from rlvet.doctor.registry import Registry  # noqa: E402
from rlvet.doctor.remedies import prescribe  # noqa: E402
from rlvet.errors import RlvetInputError  # noqa: E402
from rlvet.findings import Category, Severity  # noqa: E402
from rlvet.integrations.trl import (  # noqa: E402
    EVAL_METRIC,
    RlvetTrlCallback,
    SampleRecorder,
    record_samples,
)
from rlvet.monitor import Action  # noqa: E402
from rlvet.reward import audit_samples  # noqa: E402
from rlvet.signals.discover import read_run  # noqa: E402
from rlvet.signals.series import RunSignals  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))

import make_trl_runs as runs  # noqa: E402

ARGS = SimpleNamespace(world_size=1, output_dir="out")
EVERY_LOG = LivePolicy(budget=1e9)  # judge at every log, the default warm-up and hysteresis
PLANTED = LivePolicy(budget=1e9, warmup_updates=0, confirmations=1)  # act on the first verdict


def _state(step: int) -> TrainerState:
    state = TrainerState()
    state.global_step = step
    return state


def _feed(cb: RlvetTrlCallback, rows: list[dict[str, Any]]) -> TrainerControl:
    control = TrainerControl()
    cb.on_train_begin(ARGS, _state(0), control)
    for step, row in enumerate(rows, start=1):
        cb.on_log(ARGS, _state(step), control, logs=row)
        if control.should_training_stop:
            break
    return control


# ---------------------------------------------------------------------------- callback


def test_callback_logs_numbers_under_trl_names(tmp_path: Path) -> None:
    cb = RlvetTrlCallback(tmp_path / "rlvet.jsonl")
    rows = [{"kl": 0.01 * i, "entropy": 2.0, "completions/mean_length": 10.0 + i,
             "rewards/acc/mean": 0.1 * i, "reward": 0.1 * i, "note": "text",
             "missing": None, "flag": True} for i in range(6)]
    _feed(cb, rows)
    lines = (tmp_path / "rlvet.jsonl").read_text().splitlines()  # flushed while open
    assert len(lines) == 6
    first = json.loads(lines[0])
    assert first["step"] == 1 and "note" not in first and "missing" not in first
    assert "flag" not in first
    cb.on_train_end(ARGS, _state(6), TrainerControl())
    run = read_run(tmp_path / "rlvet.jsonl")
    assert {"kl_ref", "entropy", "response_length", "reward/acc", "reward"} <= set(run.names())


def test_callback_stops_training_on_an_error(tmp_path: Path) -> None:
    kl = [0.01] * 12 + [2.0] * 12  # a KL far outside any trust region, and staying there
    rows = [{"kl": v, "reward": 1.0 + 0.01 * i} for i, v in enumerate(kl)]
    cb = RlvetTrlCallback(tmp_path / "rlvet.jsonl", stop_on_error=True, policy=EVERY_LOG)
    control = _feed(cb, rows)
    assert control.should_training_stop
    assert cb.last_decision is not None and cb.last_decision.action is Action.STOP
    assert cb.last_decision.finding.category == Category.KL_SPIKE
    assert cb.checks >= 1


def test_callback_without_stop_only_records(tmp_path: Path) -> None:
    rows = [{"kl": v} for v in [0.01] * 12 + [2.0] * 12]
    cb = RlvetTrlCallback(None, policy=EVERY_LOG)
    assert not _feed(cb, rows).should_training_stop
    assert cb.last_decision is not None and cb.last_decision.action is Action.STOP


def test_callback_waits_for_the_named_eval_metric(tmp_path: Path) -> None:
    cb = RlvetTrlCallback(None, eval_metric=EVAL_METRIC, policy=PLANTED)
    _feed(cb, [{"reward": 1.0}])
    assert cb.last_decision is None  # not logged yet: no verdict, no error
    cb.on_log(ARGS, _state(2), TrainerControl(), logs={"reward": 1.0, EVAL_METRIC: 0.5})
    assert cb.last_decision is not None
    never = RlvetTrlCallback(None, eval_metric="eval/never_logged", policy=PLANTED)
    _feed(never, [{"reward": 1.0}])
    with pytest.raises(RlvetInputError):
        never.on_train_end(ARGS, _state(1), TrainerControl())


def test_saved_checkpoints_become_rollback_targets(tmp_path: Path) -> None:
    cb = RlvetTrlCallback(None)
    _feed(cb, [{"reward": 1.0}] * 3)
    cb.on_save(ARGS, _state(3), TrainerControl())
    assert cb.monitor is not None
    [checkpoint] = cb.monitor.signals().checkpoints
    assert checkpoint.step == 3 and checkpoint.path == str(Path("out") / "checkpoint-3")


def test_stop_on_error_refuses_distributed_runs() -> None:
    cb = RlvetTrlCallback(None, stop_on_error=True)
    with pytest.raises(RlvetInputError):
        cb.on_train_begin(SimpleNamespace(world_size=2, output_dir="o"), _state(0),
                          TrainerControl())


def test_only_the_main_process_writes(tmp_path: Path) -> None:
    cb = RlvetTrlCallback(tmp_path / "rlvet.jsonl")
    state = _state(0)
    state.is_world_process_zero = False
    cb.on_train_begin(ARGS, state, TrainerControl())
    cb.on_log(ARGS, state, TrainerControl(), logs={"reward": 1.0})
    assert cb.monitor is None and not (tmp_path / "rlvet.jsonl").exists()


# ---------------------------------------------------------------------------- recorder


def _score_a(completions: list[Any], **kwargs: Any) -> list[float | None]:
    return [None if c == "skip" else float(str(c).startswith("a")) for c in completions]


def _length(completions: list[Any], **kwargs: Any) -> list[float]:
    return [float(len(str(c))) for c in completions]


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_recorder_writes_one_record_per_scored_completion(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    logged: dict[str, float] = {}
    with SampleRecorder(path, eval_func=_score_a, weights=[2.0, 0.5],
                        num_generations=2) as rec:
        funcs = rec.wrap([_score_a, _length])
        assert [f.__name__ for f in funcs] == ["_score_a", "_length"]
        prompts = ["p", "p", "q", "q"]
        completions = ["ab", "b", "skip", "aaa"]
        kwargs = {"trainer_state": _state(7), "log_metric": logged.__setitem__,
                  "completion_ids": [[1]] * 4}
        outs = [f(prompts=prompts, completions=completions, **kwargs) for f in funcs]
    assert outs[0] == [1.0, 0.0, None, 1.0]  # what TRL gets is unchanged
    recs = _records(path)
    assert [r["id"] for r in recs] == ["0:0", "0:1", "0:2", "0:3"]
    assert all(r["step"] == 7 for r in recs)
    assert [r["group"] for r in recs] == ["0:0", "0:0", "0:1", "0:1"]
    assert recs[0]["reward"] == 2.0 * 1.0 + 0.5 * 2.0
    assert recs[2]["components"] == {"_length": 4.0}  # None: left out, as TRL does
    assert "eval_score" not in recs[2] and recs[3]["eval_score"] == 1.0
    assert logged[EVAL_METRIC] == pytest.approx(2 / 3)
    outcome = audit_samples(path)  # the file is valid input for `rlvet reward`
    assert outcome.result.metrics["samples"] == 4


def test_recorder_handles_async_and_conversational_rewards(tmp_path: Path) -> None:
    async def judge(completions: list[Any], **kwargs: Any) -> list[float]:
        return [1.0 for _ in completions]

    path = tmp_path / "samples.jsonl"
    funcs = record_samples(judge, path)
    prompts = [[{"role": "user", "content": "hi"}]] * 2
    completions = [[{"role": "assistant", "content": "hello"}],
                   [{"role": "assistant", "content": "hey"}]]
    assert asyncio.run(funcs[0](prompts=prompts, completions=completions)) == [1.0, 1.0]
    recs = _records(path)
    assert [r["response"] for r in recs] == ["hello", "hey"]
    assert recs[0]["prompt"] == "hi" and recs[0]["group"] == recs[1]["group"]
    assert recs[0]["step"] == 0  # no trainer state: the batch number


def test_recorder_names_functions_as_trl_does(tmp_path: Path) -> None:
    class Judge:
        async def __call__(self, prompts: list[Any], completions: list[Any],
                           **kwargs: Any) -> list[float]:
            return [0.5 for _ in completions]

    def scaled(prompts: list[Any], completions: list[Any], scale: float = 1.0,
               **kwargs: Any) -> list[float]:
        return [scale for _ in completions]

    from trl.trainer.utils import get_callable_name, is_async_callable

    originals = [Judge(), functools.partial(scaled, scale=3.0)]
    funcs = record_samples(originals, tmp_path / "s.jsonl")
    assert [get_callable_name(f) for f in funcs] == [get_callable_name(f) for f in originals]
    assert [is_async_callable(f) for f in funcs] == [True, False]
    asyncio.run(funcs[0](prompts=["p"], completions=["c"]))
    funcs[1](prompts=["p"], completions=["c"])
    [rec] = _records(tmp_path / "s.jsonl")
    assert rec["components"] == {"Judge": 0.5, "scaled": 3.0} and rec["reward"] == 3.5


def test_recorder_passes_reward_models_through(tmp_path: Path) -> None:
    funcs = record_samples(["some/reward-model", _length], tmp_path / "s.jsonl")
    assert funcs[0] == "some/reward-model"
    funcs[1](prompts=["p"], completions=["abc"])
    assert _records(tmp_path / "s.jsonl")[0]["reward"] == 3.0


def test_recorder_refuses_ambiguous_setups(tmp_path: Path) -> None:
    with pytest.raises(RlvetInputError):
        record_samples([_length, _length], tmp_path / "a.jsonl")
    with pytest.raises(RlvetInputError):
        record_samples([_length], tmp_path / "b.jsonl", weights=[1.0, 2.0])

    async def async_eval(completions: list[Any], **kwargs: Any) -> list[float]:
        return [1.0 for _ in completions]

    with pytest.raises(RlvetInputError):
        SampleRecorder(tmp_path / "c.jsonl", eval_func=async_eval)


# ---------------------------------------------------------------------------- real GRPO

TRL_NAMES = {"kl_ref", "entropy", "clip_fraction", "response_length", "reward", "reward_std",
             "frac_reward_zero_std", "grad_norm", "loss"}


def _train(name: str, tmp_path: Path) -> runs.Trained:
    done = runs.train_run(runs.RUNS[name], tmp_path / name)
    assert done.global_step == runs.RUNS[name].steps
    run = read_run(done.run_dir / "rlvet.jsonl")
    assert TRL_NAMES | {f"reward/{runs.RUNS[name].reward.__name__}", EVAL_METRIC} <= set(
        run.names())
    # the callback's JSONL holds what the Trainer put in trainer_state.json
    history = json.loads((done.run_dir / "trainer_state.json").read_text())["log_history"]
    logged = [r for r in history if "reward" in r]
    assert [int(s) for s in run.get("reward").steps] == [r["step"] for r in logged]
    # the guardrail stayed within its budget (the closing verdict comes on top)
    assert done.callback.check_seconds <= 3 * LivePolicy().budget * done.wall_s + 0.5
    return done


def _errors(findings: Any) -> set[str]:
    return {str(f.category) for f in findings if f.severity == Severity.ERROR}


@pytest.mark.slow
def test_grpo_paid_for_length_is_reported(tmp_path: Path) -> None:
    done = _train("length_paid", tmp_path)
    ev = runs.evidence(done.run_dir, done.samples)
    assert runs.shows_behaviour("length_paid", ev), ev  # answers really grew, eval did not
    audit = audit_samples(done.samples).result
    assert Category.LENGTH_INFLATION in _errors(audit.findings)
    doctor = diagnose(read_run(done.run_dir), eval_metric=EVAL_METRIC)
    assert Category.REWARD_HACKING in {f.category for f in doctor.findings}


@pytest.mark.slow
def test_grpo_paid_for_the_task_is_clean(tmp_path: Path) -> None:
    done = _train("sane", tmp_path)
    ev = runs.evidence(done.run_dir, done.samples)
    assert runs.shows_behaviour("sane", ev), ev  # the task was learned
    assert not _errors(audit_samples(done.samples).result.findings)
    doctor = diagnose(read_run(done.run_dir), eval_metric=EVAL_METRIC)
    assert not _errors(doctor.findings)
    assert done.callback.last_decision is not None
    assert done.callback.last_decision.action is Action.CONTINUE


STOP_AFTER = 12  # the planted onset: an error once 12 steps were logged (past the warm-up)


def _planted(run: RunSignals, ctx: Any) -> list[Any]:
    """An error at the 12th logged reward: a detector whose verdict is known in advance."""
    steps = run.get("reward").steps if run.get("reward") is not None else []
    if len(steps) < STOP_AFTER:
        return []
    return [prescribe(Category.REWARD_HACKING, severity=Severity.ERROR, message="planted",
                      evidence={}, step=int(steps[STOP_AFTER - 1]))]


@pytest.mark.slow
def test_stop_on_error_stops_real_grpo_training(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    registry = Registry()
    registry.register("planted", _planted)
    real = rlvet_monitor.diagnose
    monkeypatch.setattr(rlvet_monitor, "diagnose",
                        lambda run, **kw: real(run, registry=registry, **kw))
    done = runs.train_run(runs.RUNS["length_paid"], tmp_path / "stopped", stop_on_error=True,
                          policy=PLANTED)
    # TRL's loop honoured control.should_training_stop set in on_log, right after the log
    assert done.global_step == STOP_AFTER
    decision = done.callback.last_decision
    assert decision.action is Action.STOP and decision.finding.message == "planted"
