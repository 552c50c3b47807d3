"""entropy_collapse and entropy_stuck: the pace at which a policy loses its randomness."""

from __future__ import annotations

import numpy as np

from rlvet.doctor import exploration
from rlvet.doctor.registry import DetectContext
from rlvet.findings import Category, Severity, Stage

CTX = DetectContext(reward="reward", eval="eval_return")
NO_REWARD = DetectContext()


def _collapse_at(i: int, floor: float = 0.02):
    def apply(values: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[i:] = floor
        return out
    return apply


def _flat_reward(values: np.ndarray) -> np.ndarray:
    return 22.0 + np.random.default_rng(2).normal(0, 1.0, values.size)


def test_healthy_ppo_has_no_exploration_finding(ppo):
    for seed in range(5):
        run = ppo(seed=seed)
        assert exploration.detect_entropy_collapse(run, CTX) == []
        assert exploration.detect_entropy_stuck(run, CTX) == []


def test_early_collapse_is_an_error_at_the_collapse(ppo):
    run = ppo(entropy=_collapse_at(20), reward=_flat_reward)
    [f] = exploration.detect_entropy_collapse(run, CTX)
    assert f.category == Category.ENTROPY_COLLAPSE and f.stage == Stage.EXPLORATION
    assert f.severity == Severity.ERROR
    assert f.step == int(run.get("entropy").steps[20])


def test_gradual_decline_after_the_return_peaked_is_convergence(ppo):
    # the healthy return is at its top by update 180; entropy then halves over 20 updates
    def converge(values: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[180:] = np.linspace(out[180], 0.5 * out[180], out.size - 180)
        return out
    assert exploration.detect_entropy_collapse(ppo(entropy=converge), CTX) == []


def test_abrupt_collapse_after_the_return_peaked_is_a_warning(ppo):
    # a negative bonus switched on late: entropy falls to 0.02 within one update
    run = ppo(entropy=_collapse_at(180))
    [f] = exploration.detect_entropy_collapse(run, CTX)
    assert f.severity == Severity.WARNING and f.evidence["ratio"] < exploration.ABRUPT_DROP


def test_collapse_without_a_return_to_judge_is_a_warning(ppo):
    run = ppo(entropy=_collapse_at(20))
    [f] = exploration.detect_entropy_collapse(run, NO_REWARD)
    assert f.severity == Severity.WARNING


def test_collapse_under_way_by_the_first_log_row_still_counts_from_the_max(ppo):
    def fast(values: np.ndarray) -> np.ndarray:
        out = np.full_like(values, 0.01)
        out[0] = 0.6
        return out
    run = ppo(entropy=fast, reward=_flat_reward)
    [f] = exploration.detect_entropy_collapse(run, CTX)
    assert f.evidence["start"] == 0.6


def test_entropy_declining_slowly_while_learning_is_healthy(ppo):
    # rl-zoo PPO on CartPole a third of the way in: still at ~85% of ln 2, return climbing.
    run = ppo(entropy=lambda v: np.maximum(0.69 - 0.01 * np.arange(v.size), 0.59)
              + 0.005 * np.sin(np.arange(v.size)))
    assert exploration.detect_entropy_stuck(run, CTX) == []


def test_entropy_pinned_at_its_start_without_learning_is_an_error(ppo):
    # ent_coef 5 on CartPole: uniform policy, return stays at the random level (~22)
    run = ppo(entropy=lambda v: np.full_like(v, 0.693) + 1e-4 * np.sin(np.arange(v.size)),
              reward=_flat_reward)
    [f] = exploration.detect_entropy_stuck(run, CTX)
    assert f.severity == Severity.ERROR and f.step == int(run.get("entropy").steps[0])


def test_entropy_drifting_from_uniform_while_the_return_sits_at_its_floor_is_a_warning(ppo):
    # goal-only reward never reached: no gradient for a bonus to outweigh (sparse_reward's);
    # the policy drifts down from the maximum as a random walk must (SB3 A2C on goal-only
    # MountainCar ends at 99.65% of its start)
    run = ppo(entropy=lambda v: np.linspace(1.0986, 1.0946, v.size)
              + 1e-4 * np.sin(np.arange(v.size)), reward=lambda v: np.zeros_like(v))
    [f] = exploration.detect_entropy_stuck(run, CTX)
    assert f.severity == Severity.WARNING and not f.evidence["held_at_start"]


def test_entropy_held_at_uniform_after_the_policy_moved_is_an_error_even_at_the_floor(ppo):
    # CleanRL PPO, ent_coef 0.5 on Acrobot: the KL moves (1e-4) then sinks to ~0 at the
    # uniform fixed point, the entropy ends where it started, every episode times out at -500
    run = ppo(entropy=lambda v: np.full_like(v, 1.0986) - 1e-4 * np.abs(np.sin(np.arange(v.size))),
              kl=lambda v: np.geomspace(1e-4, 1e-9, v.size),
              reward=lambda v: np.full_like(v, -500.0))
    [f] = exploration.detect_entropy_stuck(run, CTX)
    assert f.severity == Severity.ERROR and f.evidence["held_at_start"]
    assert not f.evidence["flat_return_consequence"]


def test_entropy_drifting_down_slowly_while_learning_is_a_warning(ppo):
    # a Gaussian policy's log-std in a short run: 96% of its start, return climbing
    run = ppo(entropy=lambda v: np.linspace(4.25, 4.08, v.size),
              reward=lambda v: np.linspace(12.0, 350.0, v.size))
    [f] = exploration.detect_entropy_stuck(run, CTX)
    assert f.severity == Severity.WARNING


def test_entropy_climbing_back_to_uniform_while_the_return_falls_is_an_error(ppo):
    # ent_coef raised to 5 at 30%: entropy 0.69 -> 0.42 -> 0.69, return 300 -> 28
    def rebound(values: np.ndarray) -> np.ndarray:
        n = values.size
        return np.concatenate([np.linspace(0.693, 0.42, n // 3),
                               np.linspace(0.42, 0.692, n // 6),
                               np.full(n - n // 3 - n // 6, 0.692)])
    def rise_fall(values: np.ndarray) -> np.ndarray:
        n = values.size
        return np.concatenate([np.linspace(20.0, 300.0, n // 3), np.full(n - n // 3, 28.0)])
    run = ppo(entropy=rebound, reward=rise_fall)
    [f] = exploration.detect_entropy_stuck(run, CTX)
    assert f.severity == Severity.ERROR and f.evidence["rebound"]


def test_a_frozen_policy_is_not_stuck_entropy(ppo):
    run = ppo(entropy=lambda v: np.full_like(v, 0.6931), kl=lambda v: np.full_like(v, 1e-8),
              reward=_flat_reward)
    assert exploration.detect_entropy_stuck(run, CTX) == []


def test_not_learned_yet_and_not_pinned_is_left_to_plateau(ppo):
    run = ppo(entropy=lambda v: np.linspace(0.69, 0.6, v.size), reward=_flat_reward)
    assert exploration.detect_entropy_stuck(run, CTX) == []


def test_gaussian_entropy_below_zero_is_left_alone(ppo):
    run = ppo(entropy=lambda v: np.linspace(-0.5, -3.0, v.size), reward=_flat_reward)
    assert exploration.detect_entropy_collapse(run, CTX) == []
    assert exploration.detect_entropy_stuck(run, CTX) == []


def test_entropy_pinned_while_the_return_rises_steadily_is_a_warning(ppo):
    # entropy within 1% of its start while the return rises 20 -> 32 steadily: a huge bonus
    # or a slow learner (CleanRL's PPO holds 99% of ln 3 on Acrobot for 30k steps while it
    # learns); the logs cannot tell, so it is not an error
    run = ppo(entropy=lambda v: 0.686 + 0.001 * np.sin(np.arange(v.size)),
              kl=lambda v: np.full_like(v, 2e-4),
              reward=lambda v: np.linspace(20.0, 32.0, v.size))
    [f] = exploration.detect_entropy_stuck(run, CTX)
    assert f.severity == Severity.WARNING and f.evidence["return_improved"]
