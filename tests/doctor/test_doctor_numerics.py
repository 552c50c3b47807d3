"""numerical_instability: NaN/inf, exploding losses, saturated policies, grad-norm spikes."""

from __future__ import annotations

import numpy as np

from conftest import to_run
from rlvet.doctor import critic, numerics
from rlvet.doctor.registry import DetectContext
from rlvet.findings import Category, Severity, Stage

CTX = DetectContext(reward="reward", eval="eval_return")


def _set_from(i: int, value: float):
    def apply(values: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[i:] = value
        return out
    return apply


def test_healthy_ppo_has_no_numerics_finding(ppo):
    assert numerics.detect_numerical_instability(ppo(), CTX) == []


def test_first_nan_anywhere_is_an_error_at_its_step(ppo):
    run = ppo(value_loss=_set_from(120, np.nan), loss=_set_from(121, np.inf))
    [f] = numerics.detect_numerical_instability(run, CTX)
    assert f.category == Category.NUMERICAL_INSTABILITY and f.stage == Stage.NUMERICS
    assert f.severity == Severity.ERROR
    assert f.step == int(run.get("value_loss").steps[120])
    assert f.evidence["signal"] == "train/value_loss"


def test_nan_explained_variance_is_sb3s_undefined_not_overflow(ppo):
    run = ppo(explained_variance=lambda v: np.full_like(v, np.nan))
    assert numerics.detect_numerical_instability(run, CTX) == []


def test_nan_count_counts(ppo):
    run = ppo()
    steps = run.get("loss").steps
    counts = np.zeros(steps.size)
    counts[50:] = 3
    data = {k: (s.steps, s.values) for k, s in run.series.items()}
    data["nan_count"] = (steps, counts)
    [f] = numerics.detect_numerical_instability(to_run(data), CTX)
    assert f.step == int(steps[50])


def test_loss_growing_by_orders_of_magnitude_is_an_error(ppo):
    run = ppo(loss=lambda v: np.where(np.arange(v.size) >= 80, 1e8, 1.0))
    [f] = numerics.detect_numerical_instability(run, CTX)
    assert f.step == int(run.get("loss").steps[80])


def test_value_loss_exploding_before_the_nan_is_the_onset(ppo):
    def explode(values: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[100:110] = np.geomspace(1e7, 1e28, 10)
        out[110:] = np.inf
        return out
    run = ppo(value_loss=explode)
    [f] = numerics.detect_numerical_instability(run, CTX)
    assert f.step == int(run.get("value_loss").steps[100])


def test_entropy_at_exactly_zero_is_a_saturated_policy(ppo):
    run = ppo(entropy=lambda v: np.zeros_like(v))
    [f] = numerics.detect_numerical_instability(run, CTX)
    assert f.step == int(run.get("entropy").steps[0])


def test_a_collapsing_but_finite_entropy_is_not_numerics(ppo):
    run = ppo(entropy=lambda v: np.full_like(v, 5e-6))
    assert numerics.detect_numerical_instability(run, CTX) == []


def test_persistent_grad_norm_spikes_are_a_warning(ppo):
    run = ppo()
    steps = run.get("loss").steps
    grad = np.random.default_rng(0).lognormal(0.0, 0.2, steps.size)
    grad[150:] *= 40
    data = {k: (s.steps, s.values) for k, s in run.series.items()}
    data["grad_norm"] = (steps, grad)
    [f] = numerics.detect_numerical_instability(to_run(data), CTX)
    assert f.severity == Severity.WARNING and f.step == int(steps[150])


def test_a_critic_that_worked_and_went_exactly_to_zero_died(ppo):
    def dies(values: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[90:] = 0.0
        return out
    run = ppo(explained_variance=dies)
    [f] = numerics.detect_numerical_instability(run, CTX)
    assert f.step == int(run.get("explained_variance").steps[90])
    assert "died" in f.message
    assert critic.detect_critic_failure(run, CTX) == []


def test_a_critic_at_exactly_zero_from_the_start_is_not_a_dead_network(ppo):
    run = ppo(explained_variance=lambda v: np.zeros_like(v))
    assert numerics.detect_numerical_instability(run, CTX) == []


def test_policy_loss_leaving_its_near_zero_early_level_is_not_an_explosion(ppo):
    run = ppo()
    data = {k: (s.steps, s.values) for k, s in run.series.items()}
    steps = run.get("loss").steps
    data["policy_loss"] = (steps, np.where(np.arange(steps.size) < 40, 2.5e-8, 0.014))
    assert numerics.detect_numerical_instability(to_run(data), CTX) == []
