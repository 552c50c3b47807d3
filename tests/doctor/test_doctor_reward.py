"""The reward link: direction, sparsity, GRPO signal, hacking, plateau."""

from __future__ import annotations

import numpy as np

from conftest import healthy_ppo, logistic, to_run
from rlvet.doctor import reward
from rlvet.doctor.registry import DetectContext
from rlvet.findings import Category, Severity, Stage

CTX = DetectContext(reward="reward", eval="eval_return")
E_STEPS = np.arange(5000, 51_201, 5000)  # the synthetic run's evaluation steps


def _flat(level: float, noise: float = 1.0, seed: int = 4):
    def apply(values: np.ndarray) -> np.ndarray:
        return level + np.random.default_rng(seed).normal(0, noise, values.size)
    return apply


# ---------------------------------------------------------------------------- direction


def test_healthy_runs_have_no_reward_finding(ppo, dqn):
    for run in (ppo(seed=0), ppo(seed=1), dqn(seed=0), dqn(seed=1)):
        for detect in (reward.detect_reward_direction, reward.detect_sparse_reward,
                       reward.detect_no_learning_signal, reward.detect_plateau):
            assert detect(run, CTX) == []
        assert all(f.severity == Severity.INFO for f in reward.detect_reward_hacking(run, CTX))


def test_negated_reward_is_a_direction_error_from_the_start(ppo):
    # CartPole trained on -1 per step: the return climbs -20 -> -9, the true return sits at 9.
    run = ppo(reward=lambda v: -logistic(np.arange(v.size), 20.0, 9.0, 5, 2),
              eval_return=_flat(9.0, 0.4))
    [f] = reward.detect_reward_direction(run, CTX)
    assert f.category == Category.REWARD_DIRECTION and f.stage == Stage.REWARD
    assert f.severity == Severity.ERROR and f.step == reward.run_start(run)


def test_negated_reward_with_noisy_evaluations_rising_by_chance_is_a_direction_error(ppo):
    # SB3 PPO on a negated LunarLander (fresh7): the training return climbs +157 -> +490
    # while 5-episode evaluations swing -600 <-> -1650 and end a little above their
    # smoothed start: a "gain" of a quarter of their scale, within their own noise
    evals = np.array([-656.0, -1080, -1060, -595, -1230, -833, -742, -1650, -642, -730,
                      -960, -799])
    run = ppo(reward=lambda v: logistic(np.arange(v.size), 160.0, 490.0, 40, 15),
              eval_return=evals)
    [f] = reward.detect_reward_direction(run, CTX)
    assert f.severity == Severity.ERROR and f.evidence["opposite_sign_share"] == 1.0


def test_a_reward_negated_mid_run_is_a_direction_error_at_the_crossing(ppo):
    # CartPole learned to +150, then its reward is negated: the return drops through zero
    # and stays below while the evaluation falls
    def negated(v: np.ndarray) -> np.ndarray:
        return np.where(np.arange(v.size) < 120, 150.0, -9.0) + _flat(0.0, 3.0)(v)
    evals = np.array([40.0, 150, 300, 420, 480, 60, 20, 12, 10, 9])
    run = ppo(reward=negated, eval_return=evals)
    [f] = reward.detect_reward_direction(run, CTX)
    assert f.severity == Severity.ERROR and f.evidence["proxy_before"] > 100


def test_a_noisy_return_wandering_across_zero_is_not_a_negation(ppo):
    # rlvet PPO on LunarLander: a training return swinging across zero (+30 / -60 every few
    # points, point-to-point noise ~34) ends on a stretch a little below zero while a noisy
    # evaluation happens to end lower: no clear sign to lose
    def wandering(v: np.ndarray) -> np.ndarray:
        swings = np.where((np.arange(v.size) // 3) % 2 == 0, 30.0, -60.0)
        return np.where(np.arange(v.size) < v.size - 24, swings, -13.0)
    evals = np.array([-77.0, 19, -41, -147, -150, -137, -181, -122, -201, -196])
    run = ppo(reward=wandering, eval_return=evals)
    assert reward.detect_reward_direction(run, CTX) == []


def test_shaped_reward_with_a_negative_offset_is_not_a_direction_error(ppo):
    # reward = true return - time penalty: opposite sign, but the true metric improves.
    run = ppo(reward=lambda v: v - 600.0)
    assert reward.detect_reward_direction(run, CTX) == []


# ---------------------------------------------------------------------------- sparse


def test_return_stuck_at_zero_is_a_sparse_reward_error(ppo):
    run = ppo(reward=lambda v: np.zeros_like(v),
              explained_variance=lambda v: np.full_like(v, np.nan))
    [f] = reward.detect_sparse_reward(run, CTX)
    assert f.category == Category.SPARSE_REWARD and f.severity == Severity.ERROR
    assert f.evidence["explained_variance_undefined"] is True


def test_a_long_sparse_phase_that_ends_is_a_warning(ppo):
    def late(values: np.ndarray) -> np.ndarray:
        out = np.full_like(values, -200.0)
        out[130:] = np.linspace(-190.0, -110.0, values.size - 130)
        return out
    [f] = reward.detect_sparse_reward(ppo(reward=late), CTX)
    assert f.severity == Severity.WARNING


def test_return_pinned_at_its_maximum_is_not_sparse(ppo):
    def solved(values: np.ndarray) -> np.ndarray:
        out = np.full_like(values, 500.0)
        out[:10] = np.linspace(20.0, 480.0, 10)
        return out
    assert reward.detect_sparse_reward(ppo(reward=solved), CTX) == []


# ---------------------------------------------------------------------------- GRPO


def _grpo(**extra: np.ndarray):
    steps = np.arange(1, 101)
    data = {"reward": (steps, np.linspace(0.1, 0.3, 100))}
    data |= {k: (steps, v) for k, v in extra.items()}
    return to_run(data), steps


def test_groups_without_reward_spread_are_no_learning_signal():
    frac = np.full(100, 0.2)
    frac[30:] = 0.95
    run, steps = _grpo(frac_reward_zero_std=frac)
    [f] = reward.detect_no_learning_signal(run, CTX)
    assert f.category == Category.NO_LEARNING_SIGNAL and f.severity == Severity.ERROR
    assert f.step == int(steps[30])


def test_half_the_groups_flat_is_a_warning():
    run, _ = _grpo(frac_reward_zero_std=np.full(100, 0.6))
    [f] = reward.detect_no_learning_signal(run, CTX)
    assert f.severity == Severity.WARNING


def test_zero_reward_std_is_no_learning_signal():
    std = np.full(100, 0.3)
    std[50:] = 0.0
    run, steps = _grpo(reward_std=std)
    [f] = reward.detect_no_learning_signal(run, CTX)
    assert f.step == int(steps[50]) and f.severity == Severity.ERROR


def test_a_cold_start_without_spread_that_ends_is_not_no_learning_signal():
    # TRL GRPO on a tiny model: the first batches all score 0, then the rewards differ
    std = np.full(100, 0.3)
    std[[0, 1, 2, 6, 30]] = 0.0
    run, _ = _grpo(reward_std=std)
    assert reward.detect_no_learning_signal(run, CTX) == []


def test_spread_missing_on_most_but_not_nearly_all_steps_is_a_warning():
    std = np.full(100, 0.3)
    std[40:] = np.where(np.arange(60) % 3 == 2, 0.3, 0.0)  # 2 in 3 flat from step 40
    run, steps = _grpo(reward_std=std)
    [f] = reward.detect_no_learning_signal(run, CTX)
    assert f.severity == Severity.WARNING and f.step == int(steps[40])


def test_healthy_grpo_spread_is_fine():
    run, _ = _grpo(frac_reward_zero_std=np.full(100, 0.1), reward_std=np.full(100, 0.3))
    assert reward.detect_no_learning_signal(run, CTX) == []


# ---------------------------------------------------------------------------- hacking


def test_true_metric_falling_while_proxy_climbs_is_hacking(ppo):
    # The exploit is found before the first evaluation: the true return only falls.
    def true(values: np.ndarray) -> np.ndarray:
        return np.maximum(110.0, 310.0 - 70.0 * np.arange(values.size)) + np.sin(
            np.arange(values.size))
    run = ppo(eval_return=true, reward=lambda v: v * 3)
    [f] = reward.detect_reward_hacking(run, CTX)
    assert f.category == Category.REWARD_HACKING and f.severity == Severity.ERROR
    assert f.step in E_STEPS and f.step > E_STEPS[0]


def test_true_metric_giving_back_its_gains_while_proxy_holds_is_hacking(ppo):
    rise_fall = np.array([30.0, 150, 320, 480, 500, 490, 300, 180, 120, 100])
    run = ppo(eval_return=rise_fall)
    [f] = reward.detect_reward_hacking(run, CTX)
    assert f.severity == Severity.ERROR and f.step == int(E_STEPS[6])


def test_both_curves_collapsing_is_not_hacking(ppo):
    rise_fall = np.array([30.0, 150, 320, 480, 500, 490, 300, 180, 120, 100])
    run = ppo(eval_return=rise_fall,
              reward=lambda v: np.concatenate([v[:120], np.full(v.size - 120, 40.0)]))
    assert all(f.severity == Severity.INFO for f in reward.detect_reward_hacking(run, CTX))


def test_noisy_dqn_evaluations_are_not_hacking(dqn):
    errors = [seed for seed in range(40) if any(
        f.severity == Severity.ERROR for f in reward.detect_reward_hacking(dqn(seed=seed), CTX))]
    assert len(errors) <= 1  # i.i.d. 16..500 evaluations: a decline by chance, at most


def test_response_length_inflation_tracked_by_reward_is_a_warning():
    steps = np.arange(1, 101)
    length = np.linspace(120.0, 600.0, 100)
    run = to_run({"reward": (steps, np.linspace(0.2, 0.9, 100)),
                  "response_length": (steps, length)})
    [f] = reward.detect_reward_hacking(run, DetectContext(reward="reward"))
    assert f.severity == Severity.WARNING and "length" in f.message


def test_one_component_rising_at_anothers_expense_is_a_warning():
    steps = np.arange(1, 101)
    run = to_run({"reward": (steps, np.linspace(0.5, 1.2, 100)),
                  "reward/format": (steps, np.linspace(0.1, 1.0, 100)),
                  "reward/accuracy": (steps, np.linspace(0.4, 0.2, 100))})
    [f] = reward.detect_reward_hacking(run, DetectContext(reward="reward"))
    assert f.evidence["rising"] == "reward/format" and f.evidence["falling"] == "reward/accuracy"


# ---------------------------------------------------------------------------- plateau


def test_flat_return_is_a_plateau_warning(ppo):
    run = ppo(reward=_flat(22.0), kl=lambda v: np.full_like(v, 1e-8))
    [f] = reward.detect_plateau(run, CTX)
    assert f.category == Category.PLATEAU and f.severity == Severity.WARNING
    assert "KL ~0" in f.message


def test_negative_return_that_improves_is_not_a_plateau():
    data = healthy_ppo(200, 0)
    steps = data["reward"][0]
    data["reward"] = (steps, np.linspace(-500.0, -90.0, steps.size))
    assert reward.detect_plateau(to_run(data), CTX) == []


def test_lucky_early_evaluations_of_an_unwrapped_env_are_not_hacking(ppo):
    # A near-uniform CartPole policy's deterministic evaluation scores 500 by luck; training
    # (same env, no proxy) then pulls it to where the training return is.
    evals = np.array([142.0, 500, 450, 219, 166, 270, 118, 129, 141, 107])
    run = ppo(eval_return=evals,
              reward=lambda v: np.linspace(17.0, 120.0, v.size))
    assert all(f.severity == Severity.INFO for f in reward.detect_reward_hacking(run, CTX))


def test_true_metric_sinking_by_rank_while_proxy_climbs_after_its_peak_is_hacking(ppo):
    # SAC on Pendulum with a spin bonus: the fall swings on its way down, so its size is
    # within the noise from the peak on, but the two curves trend apart from the peak
    swinging = np.array([-1553.0, -1443, -949, -220, -321, -452, -780, -392, -1003, -410,
                         -1612, -1579])
    run = ppo(n_rows=240, eval_return=swinging,
              reward=lambda v: np.linspace(-1400.0, 470.0, v.size))
    [f] = [f for f in reward.detect_reward_hacking(run, CTX) if f.severity == Severity.ERROR]
    assert f.category == Category.REWARD_HACKING
    assert f.evidence["true_peak"] > -400 and f.evidence["true_end"] < -1000


def _exit_bonus_proxy(v: np.ndarray) -> np.ndarray:
    """CartPole paying for the exit from step 0: the proxy climbs to 344, then sags to 297
    as the exploit replaces balancing (the evaluation falls 430 -> 100 meanwhile)."""
    rise = logistic(np.arange(v.size), 21.0, 344.0, 0.15 * v.size, 0.04 * v.size)
    return rise - np.clip(np.arange(v.size) - 0.4 * v.size, 0, None) * 47.0 / (0.6 * v.size)


def test_true_metric_sinking_steadily_while_a_farmed_proxy_sags_a_little_is_hacking(ppo):
    # a bonus farmed from the start: proxy and objective rise together, then the objective
    # sinks evaluation after evaluation while the proxy keeps 86% of its gain
    sinking = np.array([121.0, 128, 430, 203, 138, 130, 125, 115, 110, 99, 97, 100])
    run = ppo(n_rows=240, eval_return=sinking, reward=_exit_bonus_proxy)
    [f] = [f for f in reward.detect_reward_hacking(run, CTX) if f.severity == Severity.ERROR]
    assert f.category == Category.REWARD_HACKING and f.evidence["true_end"] < 130


def test_a_steady_sink_that_keeps_most_of_the_gain_is_not_hacking(ppo):
    # the same shapes, but the objective ends with most of its gain: not given back
    sinking = np.array([121.0, 128, 430, 420, 410, 400, 395, 390, 385, 380, 375, 370])
    run = ppo(n_rows=240, eval_return=sinking, reward=_exit_bonus_proxy)
    assert all(f.severity != Severity.ERROR for f in reward.detect_reward_hacking(run, CTX))


def test_a_cost_negated_early_climbing_through_zero_is_hacking_that_says_check_the_sign(ppo):
    # TD3 on Pendulum with the cost paid as reward from 30% of the run: the training return
    # climbs -1400 -> +500 while the evaluation never improves and sinks to -1640; a spin
    # bonus exploited before the task is learned logs the same, so one category, both named
    sinking = np.array([-1315.0, -1882, -1312, -1454, -1290, -1402, -1513, -1583, -1585,
                        -1636])

    def climb(v: np.ndarray) -> np.ndarray:
        return np.concatenate([np.full(60, -1450.0), np.linspace(-1400.0, 530.0, v.size - 60)])
    run = ppo(eval_return=sinking, reward=climb)
    assert reward.detect_reward_direction(run, CTX) == []
    [f] = reward.detect_reward_hacking(run, CTX)
    assert f.evidence["proxy_changed_sign"] and "check its sign" in f.message


def test_a_bonus_exploited_after_the_task_was_learned_is_not_a_direction_error(ppo):
    # SAC on Pendulum with a spin bonus: the evaluation rose to -150 before it fell
    rise_fall = np.array([-1450.0, -1390, -646, -220, -180, -300, -900, -1400, -1580,
                          -1600])
    run = ppo(eval_return=rise_fall, reward=lambda v: np.linspace(-1300.0, 900.0, v.size))
    assert reward.detect_reward_direction(run, CTX) == []
