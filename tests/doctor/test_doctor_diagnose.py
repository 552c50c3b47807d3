"""diagnose(): first break, last healthy step, rollback checkpoint, metric resolution."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rlvet.doctor import Registry, diagnose
from rlvet.doctor.diagnose import pick_first_break
from rlvet.doctor.remedies import prescribe
from rlvet.errors import RlvetInputError
from rlvet.findings import Category, Finding, Severity
from rlvet.signals.series import Checkpoint


def _finding(category: Category, step: int | None, severity=Severity.ERROR) -> Finding:
    return prescribe(category, severity=severity, message=str(category), evidence={}, step=step)


def test_a_healthy_run_has_no_error_and_no_first_break(ppo, dqn):
    for run in (ppo(seed=0), ppo(seed=3), dqn(seed=0)):
        d = diagnose(run)
        assert not [f for f in d.findings if f.severity == Severity.ERROR]
        assert d.first_break is None and d.verdict == "pass" and d.exit_code == 0
        assert d.last_healthy_step is None and d.rollback_checkpoint is None


def test_first_break_is_the_earliest_error_then_the_earliest_warning():
    found = (_finding(Category.ENTROPY_COLLAPSE, 500), _finding(Category.KL_SPIKE, 900),
             _finding(Category.THROUGHPUT_DROP, 100, Severity.WARNING),
             _finding(Category.PLATEAU, 0, Severity.INFO))
    assert pick_first_break(found).category == Category.ENTROPY_COLLAPSE  # a symptom's
    warnings = (_finding(Category.CLIP_SATURATION, 700, Severity.WARNING),  # warning never
                _finding(Category.THROUGHPUT_DROP, 100, Severity.WARNING))  # outranks evidence
    assert pick_first_break(warnings).category == Category.THROUGHPUT_DROP


def test_ties_go_outside_in_then_to_registry_order():
    tie = (_finding(Category.NUMERICAL_INSTABILITY, 100), _finding(Category.KL_SPIKE, 100),
           _finding(Category.REWARD_HACKING, 100))
    assert pick_first_break(tie).category == Category.REWARD_HACKING
    same_stage = (_finding(Category.KL_SPIKE, 100), _finding(Category.CLIP_SATURATION, 100))
    assert pick_first_break(same_stage).category == Category.KL_SPIKE
    static = (_finding(Category.KL_SPIKE, 0), _finding(Category.NUMERICAL_INSTABILITY, None))
    assert pick_first_break(static).category == Category.NUMERICAL_INSTABILITY


def test_kl_spike_run_names_the_break_the_last_healthy_step_and_the_checkpoint(ppo):
    def spike(values: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[80:] = 0.6
        return out
    ckpts = (Checkpoint(5000, "a.zip"), Checkpoint(15_000, "b.zip"), Checkpoint(30_000, "c.zip"))
    run = ppo(kl=spike, checkpoints=ckpts)
    d = diagnose(run)
    onset = int(run.get("kl").steps[80])
    assert d.first_break.category == Category.KL_SPIKE and d.first_break.step == onset
    assert d.last_healthy_step == onset - 256  # the previous log row
    assert d.rollback_checkpoint == Checkpoint(15_000, "b.zip")
    assert d.verdict == "fail" and d.exit_code == 1


def test_a_plateau_explained_by_a_mechanical_break_becomes_info(ppo):
    flat = 22.0 + np.random.default_rng(0).normal(0, 1, 200)
    run = ppo(reward=flat, explained_variance=lambda v: -0.03 + 0 * v,
              value_loss=lambda v: 15.0 + 0 * v)
    d = diagnose(run)
    assert d.first_break.category == Category.CRITIC_FAILURE
    [plateau] = [f for f in d.findings if f.category == Category.PLATEAU]
    assert plateau.severity == Severity.INFO


def test_a_run_that_has_not_learned_is_a_plateau_not_a_pathology(ppo):
    flat = 22.0 + np.random.default_rng(0).normal(0, 1, 200)
    d = diagnose(ppo(reward=flat, kl=lambda v: np.full_like(v, 1.3e-8),
                     entropy=lambda v: np.full_like(v, 0.6931),
                     explained_variance=lambda v: np.random.default_rng(1).normal(0, .02, v.size),
                     value_loss=lambda v: 14.0 + 0 * v))
    assert d.first_break.category == Category.PLATEAU
    assert d.first_break.severity == Severity.WARNING and d.exit_code == 0


def test_reward_and_eval_metrics_resolve_raw_and_canonical_names(ppo):
    run = ppo()
    d = diagnose(run, reward_metric="rollout/ep_rew_mean", eval_metric="eval_return")
    assert d.metrics["reward_metric"] == "reward" and d.metrics["eval_metric"] == "eval_return"
    with pytest.raises(RlvetInputError, match="no metric 'nope'"):
        diagnose(run, reward_metric="nope")


def test_eval_metric_may_be_any_logged_series(ppo):
    # Point the true metric at the episode length: the doctor just reads that series.
    d = diagnose(ppo(), eval_metric="episode_length")
    assert d.metrics["eval_metric"] == "episode_length"


def test_metrics_summarise_every_signal_and_everything_serialises(ppo):
    run = ppo(value_loss=lambda v: np.where(np.arange(v.size) > 150, np.nan, v))
    d = diagnose(run)
    summary = d.metrics["signals"]["value_loss"]
    assert summary["nonfinite"] > 0 and summary["raw_name"] == "train/value_loss"
    assert set(d.metrics["signals"]) == set(run.names())
    json.dumps({"findings": [f.to_dict() for f in d.findings], "metrics": d.metrics},
               allow_nan=False)


def test_a_custom_registry_is_used(ppo):
    reg = Registry()
    reg.register("always", lambda run, ctx: [_finding(Category.STALE_DATA, 42)])
    d = diagnose(ppo(), registry=reg)
    assert [f.category for f in d.findings] == [Category.STALE_DATA]
    assert d.metrics["detectors"] == ["always"]


def _critic_at_chance(step: int) -> Finding:
    return prescribe(Category.CRITIC_FAILURE, severity=Severity.ERROR, message="critic",
                     evidence={"median_explained_variance": 0.0}, step=step)


def test_a_critic_the_return_learned_past_yields_to_the_later_error(ppo):
    # SB3 PPO on LunarLander: EV ~0 from the first update while the return climbs; a
    # negative entropy bonus then collapses the policy. The collapse broke the loop.
    run = ppo()  # the healthy return climbs 20 -> 480 over the first 40% of the run
    later = int(run.get("reward").steps[150])
    reg = Registry()
    reg.register("critic", lambda run, ctx: [_critic_at_chance(512)])
    reg.register("collapse", lambda run, ctx: [_finding(Category.ENTROPY_COLLAPSE, later)])
    d = diagnose(run, registry=reg)
    assert d.first_break.category == Category.ENTROPY_COLLAPSE
    [critic] = [f for f in d.findings if f.category == Category.CRITIC_FAILURE]
    assert critic.severity == Severity.WARNING and str(later) in critic.message


def test_a_critic_before_a_flat_return_stays_the_first_break(ppo):
    flat = 22.0 + np.random.default_rng(0).normal(0, 1, 200)
    run = ppo(reward=flat)
    later = int(run.get("reward").steps[150])
    reg = Registry()
    reg.register("critic", lambda run, ctx: [_critic_at_chance(512)])
    reg.register("collapse", lambda run, ctx: [_finding(Category.ENTROPY_COLLAPSE, later)])
    assert diagnose(run, registry=reg).first_break.category == Category.CRITIC_FAILURE
