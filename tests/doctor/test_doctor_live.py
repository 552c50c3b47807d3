"""The one live policy: warm-up, confirmations, latching, and replay of real runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlvet.doctor.diagnose import Diagnosis
from rlvet.doctor.live import ACUTE, LiveGate, LivePolicy
from rlvet.doctor.remedies import prescribe
from rlvet.doctor.replay import records, replay
from rlvet.findings import Category, Finding, Severity
from rlvet.monitor import Monitor
from rlvet.signals.discover import read_run

RUNS = Path(__file__).resolve().parents[1] / "data" / "runs"
MANIFEST = json.loads((RUNS / "manifest.json").read_text())


def _diagnosis(first: Finding | None) -> Diagnosis:
    return Diagnosis(findings=() if first is None else (first,), first_break=first,
                     last_healthy_step=None, rollback_checkpoint=None)


def _error(category: Category = Category.KL_SPIKE) -> Finding:
    return prescribe(category, severity=Severity.ERROR, message="x", evidence={}, step=1)


def test_an_error_must_stand_on_consecutive_verdicts_then_latches() -> None:
    gate = LiveGate(LivePolicy(confirmations=2))
    assert gate.act(_diagnosis(_error())) is None  # seen once
    assert gate.act(_diagnosis(None)) is None  # gone again: the streak resets
    assert gate.act(_diagnosis(_error())) is None
    assert gate.act(_diagnosis(_error(Category.ENTROPY_COLLAPSE))) is None  # another break
    assert gate.act(_diagnosis(_error(Category.ENTROPY_COLLAPSE))) is not None
    assert gate.act(_diagnosis(None)) is not None  # latched: no stop/continue flapping


@pytest.mark.parametrize("chronic", sorted(set(Category) - ACUTE
                                            - {Category.INSUFFICIENT_EVIDENCE}))
def test_a_chronic_break_is_reported_live_but_never_acted_on(chronic: Category) -> None:
    gate = LiveGate(LivePolicy(confirmations=1))
    assert all(gate.act(_diagnosis(_error(chronic))) is None for _ in range(3))


def test_the_same_prefix_judged_twice_is_not_a_confirmation() -> None:
    gate = LiveGate(LivePolicy(confirmations=2))
    assert gate.act(_diagnosis(_error())) is None
    assert gate.act(_diagnosis(_error()), new_data=False) is None
    assert gate.act(_diagnosis(_error()), new_data=True) is not None


def test_a_warning_first_break_never_stops_even_with_a_later_error() -> None:
    gate = LiveGate(LivePolicy(confirmations=1))
    warn = prescribe(Category.CLIP_SATURATION, severity=Severity.WARNING, message="x",
                     evidence={}, step=1)
    later = prescribe(Category.CRITIC_FAILURE, severity=Severity.ERROR, message="y",
                      evidence={}, step=5)
    d = Diagnosis(findings=(warn, later), first_break=warn, last_healthy_step=None,
                  rollback_checkpoint=None)
    assert all(gate.act(d) is None for _ in range(5))  # the first break is what is acted on


@pytest.mark.parametrize("bad", [{"budget": 0.0}, {"budget": float("nan")},
                                 {"confirmations": 0}, {"warmup_updates": -1}])
def test_policy_refuses_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LivePolicy(**bad)  # type: ignore[arg-type]


def test_monitor_waits_for_warmup_in_update_records() -> None:
    mon = Monitor(None, resources=False, policy=LivePolicy(budget=1e9, confirmations=1))
    for i in range(9):  # episode returns and evaluations alone are not updates
        mon.log(i * 100, **{"charts/episodic_return": 10.0, "eval/mean_reward": 5.0})
        mon.log(i * 100 + 50, **{"train/approx_kl": 3.0})
    assert not mon.due()
    mon.log(1000, **{"train/approx_kl": 3.0})
    assert mon.due()


def test_replayed_records_are_what_the_loop_logged() -> None:
    run = read_run(RUNS / "healthy_ppo_cartpole")
    recs = list(records(run))
    steps = [s for s, _ in recs]
    assert steps == sorted(steps)
    first_update = next(r for _, r in recs if "train/entropy_loss" in r)
    assert first_update["train/entropy_loss"] < 0  # SB3's sign, as it logged it
    assert sum(len(r) for _, r in recs) == sum(len(s) for s in run.series.values())


@pytest.mark.parametrize("entry", [e for e in MANIFEST if e["expected_first_category"] is None],
                         ids=lambda e: e["name"])
def test_replay_never_stops_a_recorded_healthy_run(entry: dict[str, object]) -> None:
    r = replay(read_run(RUNS / str(entry["name"])))
    assert r.stopped_at is None, (r.stopped_at, r.finding)
    assert r.verdicts > 0


def test_replay_stops_a_kl_spike_run_after_warmup() -> None:
    r = replay(read_run(RUNS / "lr_too_high_ppo"))
    assert r.finding is not None and r.finding.category == Category.KL_SPIKE
    assert r.stopped_at is not None and r.stopped_at >= LivePolicy().warmup_updates * 1024


def _judged_on(first: Finding, evaluations: int) -> Diagnosis:
    return Diagnosis(findings=(first,), first_break=first, last_healthy_step=None,
                     rollback_checkpoint=None,
                     metrics={"eval_metric": "eval_return",
                              "signals": {"eval_return": {"points": evaluations}}})


def test_a_break_judged_on_evaluations_is_confirmed_only_by_a_further_evaluation() -> None:
    # fresh4's healthy rlvet LunarLander run: one evaluation fell, hacking was named on the
    # update records after it, and gone before the next evaluation
    gate = LiveGate(LivePolicy(confirmations=2))
    hack = _error(Category.REWARD_HACKING)
    assert gate.act(_judged_on(hack, 7)) is None
    assert all(gate.act(_judged_on(hack, 7)) is None for _ in range(5))  # new updates only
    assert gate.act(_judged_on(hack, 8)) is not None


def test_a_break_judged_on_updates_is_confirmed_by_new_records_alone() -> None:
    gate = LiveGate(LivePolicy(confirmations=2))
    assert gate.act(_judged_on(_error(), 7)) is None
    assert gate.act(_judged_on(_error(), 7)) is not None


def test_hacking_without_an_evaluation_metric_is_confirmed_by_new_records() -> None:
    gate = LiveGate(LivePolicy(confirmations=2))
    assert gate.act(_diagnosis(_error(Category.REWARD_HACKING))) is None
    assert gate.act(_diagnosis(_error(Category.REWARD_HACKING))) is not None
