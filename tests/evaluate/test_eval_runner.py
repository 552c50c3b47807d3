"""The batched runner equals the plain loop; policies load from every supported source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlvet.errors import RlvetInputError
from rlvet.evaluate.perturb import Perturbation, make_env_fn
from rlvet.evaluate.policies import Policy, load_policy, sample_categorical
from rlvet.evaluate.protocol import EnvSpec, PolicySpec
from rlvet.evaluate.runner import EpisodePlan, episode_seed, run_episodes, run_plain

DATA = Path(__file__).parents[1] / "data"
POLICIES = DATA / "eval" / "cartpole_policies.py"
SB3_MODEL = DATA / "runs" / "healthy_ppo_cartpole" / "rl_model_99984_steps.zip"
CARTPOLE = EnvSpec(spec="CartPole-v1", max_steps=500)
SHORT_POLE = Perturbation("length", "attribute", 0.1)  # returns vary (not all 500)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def sb3_policy() -> Policy:
    return load_policy(PolicySpec(kind="sb3", target=str(SB3_MODEL), algo="PPO"),
                       gym.make("CartPole-v1"))


def _callable(name: str, batched: bool = False) -> Policy:
    spec = PolicySpec(kind="callable", target=f"{POLICIES}:{name}", batched=batched)
    return load_policy(spec, gym.make("CartPole-v1"))


@pytest.mark.parametrize("deterministic", [True, False])
def test_batched_equals_plain_loop_for_sb3(sb3_policy: Policy, deterministic: bool) -> None:
    plan = EpisodePlan((0, 1, 2), 3, 500, deterministic)
    make = make_env_fn(CARTPOLE, SHORT_POLE)
    batched = run_episodes(make, sb3_policy, plan, width=4)
    plain = run_plain(make, sb3_policy, plan)
    assert batched.returns.shape == (3, 3)
    assert np.array_equal(batched.returns, plain.returns)
    assert np.array_equal(batched.lengths, plain.lengths)
    assert len(set(batched.returns.ravel())) > 1  # the short pole makes returns differ


def test_sampled_callable_is_width_independent_and_seeded() -> None:
    policy = _callable("noisy_balance")
    plan = EpisodePlan((0, 1), 4, 500, deterministic=False)
    runs = [run_episodes(make_env_fn(CARTPOLE), policy, plan, width=w) for w in (1, 3, 32)]
    assert all(np.array_equal(runs[0].returns, r.returns) for r in runs[1:])
    other = run_episodes(make_env_fn(CARTPOLE), policy,
                         EpisodePlan((5, 6), 4, 500, deterministic=False))
    assert not np.array_equal(runs[0].returns, other.returns)


def test_batched_callable_and_step_cap() -> None:
    policy = _callable("balance_batched", batched=True)
    capped = EnvSpec(spec="CartPole-v1", max_steps=50)
    eps = run_episodes(make_env_fn(capped), policy, EpisodePlan((0,), 5, 50), keep_obs=100)
    assert (eps.lengths == 50).all() and not eps.terminated.any()
    assert eps.observations.shape == (100, 4)


def test_episode_seeds_are_distinct() -> None:
    seeds = {episode_seed(s, j) for s in range(20) for j in range(20)}
    assert len(seeds) == 400


def test_categorical_sampling_follows_probabilities() -> None:
    rngs = [np.random.default_rng(i) for i in range(4000)]
    probs = np.tile([[0.2, 0.8]], (4000, 1))
    draws = sample_categorical(probs, rngs)
    assert draws.mean() == pytest.approx(0.8, abs=0.03)


def _rlvet_checkpoint(path: Path, n_obs: int, mean: np.ndarray, var: np.ndarray) -> Any:
    from rlvet.pipeline.agent import ActionSpec, Agent
    from rlvet.pipeline.checkpoints import CHECKPOINT_FORMAT, save_atomic

    torch.manual_seed(0)
    agent = Agent(n_obs, ActionSpec(discrete=True, size=2), hidden=16)
    save_atomic({"format": CHECKPOINT_FORMAT,
                 "args": json.dumps({"env_id": "CartPole-v1", "hidden": 16, "norm_obs": True}),
                 "agent": agent.state_dict(),
                 "obs_rms": {"mean": torch.from_numpy(mean), "var": torch.from_numpy(var),
                             "count": 10.0}}, path)
    return agent


def test_rlvet_checkpoint_applies_its_observation_normalisation(tmp_path: Path) -> None:
    mean, var = np.array([0.1, 0.0, -0.02, 0.3]), np.array([0.5, 2.0, 0.01, 1.5])
    agent = _rlvet_checkpoint(tmp_path / "best.pt", 4, mean, var)
    policy = load_policy(PolicySpec(kind="rlvet", target=str(tmp_path / "best.pt")),
                         gym.make("CartPole-v1"))
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    normed = np.clip((obs - mean) / np.sqrt(var + 1e-8), -10, 10).astype(np.float32)
    with torch.inference_mode():
        expected = agent.greedy(torch.from_numpy(normed)).numpy()
    assert np.array_equal(policy(obs, deterministic=True), expected)
    sampled = policy(obs, deterministic=False, rngs=[np.random.default_rng(i) for i in range(64)])
    assert sampled.shape == (64,) and set(sampled.tolist()) <= {0, 1}


def test_mismatched_spaces_and_missing_files_are_input_errors(tmp_path: Path) -> None:
    _rlvet_checkpoint(tmp_path / "pendulum.pt", 3, np.zeros(3), np.ones(3))
    with pytest.raises(RlvetInputError, match="do not fit the env"):
        load_policy(PolicySpec(kind="rlvet", target=str(tmp_path / "pendulum.pt")),
                    gym.make("CartPole-v1"))
    with pytest.raises(RlvetInputError, match="space"):
        load_policy(PolicySpec(kind="sb3", target=str(SB3_MODEL), algo="PPO"),
                    gym.make("MountainCar-v0"))
    with pytest.raises(RlvetInputError, match="not found"):
        load_policy(PolicySpec(kind="sb3", target=str(tmp_path / "no.zip"), algo="PPO"),
                    gym.make("CartPole-v1"))
    with pytest.raises(RlvetInputError, match="not found"):
        load_policy(PolicySpec(kind="rlvet", target=str(tmp_path / "no.pt")),
                    gym.make("CartPole-v1"))
