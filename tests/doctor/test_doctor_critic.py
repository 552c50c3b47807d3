"""critic_failure: a value function that explains nothing, or diverges."""

from __future__ import annotations

import numpy as np

from rlvet.doctor import critic
from rlvet.doctor.registry import DetectContext
from rlvet.findings import Category, Severity, Stage

CTX = DetectContext(reward="reward", eval="eval_return")


def _noise_around(level: float, scale: float, seed: int = 3):
    def apply(values: np.ndarray) -> np.ndarray:
        return level + np.random.default_rng(seed).normal(0, scale, values.size)
    return apply


def test_healthy_ppo_has_no_critic_finding(ppo):
    for seed in range(5):
        assert critic.detect_critic_failure(ppo(seed=seed), CTX) == []


def test_untrained_critic_is_an_error_from_the_start(ppo):
    # vf_coef = 0: the value net stays random, EV sits a little below 0, the loss stays put.
    run = ppo(explained_variance=_noise_around(-0.03, 0.02),
              value_loss=_noise_around(15.0, 1.0))
    [f] = critic.detect_critic_failure(run, CTX)
    assert f.category == Category.CRITIC_FAILURE and f.stage == Stage.CRITIC
    assert f.severity == Severity.ERROR
    assert f.step == int(run.get("explained_variance").steps[0])


def test_ev_near_zero_with_a_falling_value_loss_is_a_fitted_critic(ppo):
    # SB3's A2C logs EV ~0 on near-constant returns while its value loss drops 10x.
    run = ppo(explained_variance=_noise_around(0.0, 0.01),
              value_loss=lambda v: np.geomspace(20.0, 1.0, v.size))
    assert critic.detect_critic_failure(run, CTX) == []


def test_slow_but_learning_critic_is_not_a_failure(ppo):
    # CleanRL at lr 2.5e-4: EV 0.02-0.1 for the whole run, the return still climbs.
    run = ppo(explained_variance=_noise_around(0.04, 0.015),
              value_loss=_noise_around(55.0, 8.0))
    assert critic.detect_critic_failure(run, CTX) == []


def test_frozen_learner_with_modest_value_loss_is_left_to_plateau(ppo):
    run = ppo(explained_variance=_noise_around(0.0, 0.02), value_loss=_noise_around(14.0, 0.5),
              kl=lambda v: np.full_like(v, 1.4e-8))
    assert critic.detect_critic_failure(run, CTX) == []


def test_unscaled_returns_freeze_the_policy_and_are_a_critic_failure(ppo):
    # reward x 1e4: value loss ~1e9, EV ~0, and the clipped gradient leaves the policy KL ~1e-8.
    run = ppo(explained_variance=lambda v: np.zeros_like(v),
              value_loss=_noise_around(1.4e9, 5e7), kl=lambda v: np.full_like(v, 1.5e-8),
              reward=lambda v: v * 1e4)
    [f] = critic.detect_critic_failure(run, CTX)
    assert f.evidence["value_rmse"] > critic.VALUE_RMSE_LIMIT


def test_value_error_larger_than_any_return_is_divergence(ppo):
    def drift_up(values: np.ndarray) -> np.ndarray:
        out = np.full_like(values, 100.0)
        out[100:] = 3e5  # RMSE ~550 > the largest return (~480), 3000x the early level
        return out
    [f] = critic.detect_critic_failure(ppo(value_loss=drift_up), CTX)
    assert f.step == int(ppo().get("value_loss").steps[100])


def test_value_loss_exploding_by_orders_of_magnitude_is_left_to_numerics(ppo):
    def blow_up(values: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[100:] = 1e12
        return out
    assert critic.detect_critic_failure(ppo(value_loss=blow_up), CTX) == []


def test_undefined_explained_variance_is_skipped(ppo):
    # SB3 logs NaN when the returns do not vary (a reward that is always 0).
    run = ppo(explained_variance=lambda v: np.full_like(v, np.nan),
              value_loss=lambda v: np.full_like(v, 1e-5), reward=lambda v: np.zeros_like(v))
    assert critic.detect_critic_failure(run, CTX) == []


def test_a_critic_that_fit_well_at_some_point_is_not_untrained(ppo):
    # CleanRL defaults: EV ~0.01 while returns sit at 500, 0.9 once they vary again.
    def late(values: np.ndarray) -> np.ndarray:
        out = np.full_like(values, 0.01)
        out[-30:] = 0.9
        return out
    run = ppo(explained_variance=late, value_loss=_noise_around(55.0, 8.0))
    assert critic.detect_critic_failure(run, CTX) == []


def test_a_critic_at_chance_level_just_above_the_bar_all_run_is_a_failure(ppo):
    # SB3 PPO with vf_coef 0 on Acrobot: EV 0.03-0.045 on every update, loss 189 -> 149
    run = ppo(explained_variance=_noise_around(0.037, 0.004),
              value_loss=lambda v: np.linspace(189.0, 149.0, v.size))
    [f] = critic.detect_critic_failure(run, CTX)
    assert f.severity >= Severity.WARNING
    assert f.step == int(run.get("explained_variance").steps[0])


def test_a_critic_whose_loss_fell_far_while_the_policy_learned_is_info(ppo):
    # healthy SB3 PPO on LunarLander: EV ~0 throughout, value loss 4570 -> 470, return up
    run = ppo(explained_variance=_noise_around(0.0, 0.01),
              value_loss=lambda v: np.geomspace(4570.0, 800.0, v.size))
    [f] = critic.detect_critic_failure(run, CTX)
    assert f.severity == Severity.INFO
    assert f.evidence["value_loss_over_reference"] < critic.FITTING_LOSS


def test_a_critic_whose_loss_fell_far_on_a_flat_return_is_a_warning_not_an_error(ppo):
    # SB3 PPO on LunarLander with the entropy bonus raised: EV ~0, loss down to 0.27x, the
    # return flat: the critic learns the returns' level, so the held entropy is the cause
    flat = -150.0 + np.random.default_rng(0).normal(0, 8, 200)
    run = ppo(reward=flat, explained_variance=_noise_around(0.0, 0.01),
              value_loss=lambda v: np.geomspace(4000.0, 1000.0, v.size))
    [f] = critic.detect_critic_failure(run, CTX)
    assert f.severity == Severity.WARNING
    assert f.evidence["value_loss_over_reference"] < critic.FITTING_LOSS


def test_an_untrained_critic_on_a_return_at_its_floor_is_an_error_not_a_flat_consequence(ppo):
    # rlvet PPO with vf_coef 0 on Acrobot: every episode hits the -500 time limit, the value
    # head stays random (EV -0.6 and below), its loss never moves: the critic, not the floor
    run = ppo(reward=np.full(200, -500.0), explained_variance=_noise_around(-0.6, 0.3),
              value_loss=_noise_around(0.24, 0.02))
    [f] = critic.detect_critic_failure(run, CTX)
    assert f.severity == Severity.ERROR
    assert not f.evidence["flat_return_consequence"]
    assert f.evidence["median_explained_variance"] <= critic.EV_UNTRAINED


def test_a_critic_near_the_mean_on_a_return_at_its_floor_is_the_floors_consequence(ppo):
    # the same floor with a critic whose predictions sit at the mean (EV ~0, loss idle):
    # nothing between episodes to explain, so the floor is the finding to read
    run = ppo(reward=np.full(200, -500.0), explained_variance=_noise_around(-0.01, 0.02),
              value_loss=_noise_around(0.24, 0.02))
    [f] = critic.detect_critic_failure(run, CTX)
    assert f.severity == Severity.WARNING and f.evidence["flat_return_consequence"]
