"""Sweeps over dynamics, noise and edge cases; real-vs-sim observation shift; wrappers."""

from __future__ import annotations

import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlvet.errors import RlvetInputError
from rlvet.evaluate.perturb import ActionDelay, InitialState, ObservationNoise, make_env_fn
from rlvet.evaluate.policies import Policy, load_policy
from rlvet.evaluate.protocol import EnvSpec, PolicySpec
from rlvet.evaluate.runner import EpisodePlan
from rlvet.evaluate.shift import check_shift, distribution_shift, load_observations
from rlvet.evaluate.sweep import load_sweep, run_sweep, sweep_findings
from rlvet.findings import Category

DATA = Path(__file__).parents[1] / "data"
SB3_MODEL = DATA / "runs" / "healthy_ppo_cartpole" / "rl_model_99984_steps.zip"
CARTPOLE = EnvSpec(spec="CartPole-v1", max_steps=500)
PLAN = EpisodePlan((0, 1), 3, 500, deterministic=True)


@pytest.fixture(scope="module")
def sb3_policy() -> Policy:
    torch.set_num_threads(1)
    return load_policy(PolicySpec(kind="sb3", target=str(SB3_MODEL), algo="PPO"),
                       gym.make("CartPole-v1"))


def _sweep(tmp_path: Path, text: str):
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return load_sweep(path)


def test_long_pole_is_a_sim_to_real_gap_small_change_is_not(sb3_policy: Policy,
                                                            tmp_path: Path) -> None:
    spec = _sweep(tmp_path, "[attributes]\nlength = [0.45, 2.0]\n")
    result = run_sweep(spec, CARTPOLE, sb3_policy, PLAN)
    assert result.nominal.returns.mean() == 500.0  # the policy solves nominal CartPole
    drops = {v.perturbation.value: v.relative_drop for v in result.variants}
    assert drops[0.45] < 0.05 and drops[2.0] > 0.5
    findings = sweep_findings(result, spec)
    assert [(str(f.category), str(f.severity)) for f in findings] == [
        ("sim_to_real_gap", "warning")]
    assert findings[0].evidence["axis"] == "length"
    assert findings[0].evidence["exceeded_at"] == [2.0]
    assert result.nominal_values["length"] == 0.5


def test_example_sweep_reports_noise_edge_cases_and_errors_when_asked(
        sb3_policy: Policy, tmp_path: Path) -> None:
    spec = load_sweep(DATA / "eval" / "sweep_cartpole.toml")
    result = run_sweep(spec, CARTPOLE, sb3_policy, PLAN)
    by_check = {}
    for f in sweep_findings(result, spec):
        by_check.setdefault(f.check, []).append(f)
    assert by_check["evaluate.sweep.noise"][0].evidence["axis"] == "obs_noise_std"
    failed_cases = {f.evidence["case"] for f in by_check["evaluate.sweep.edge_case"]}
    assert "initial_state:spin" in failed_cases and "initial_state_scale=4" not in failed_cases
    assert all(str(f.category) == "ood_failure" for f in by_check["evaluate.sweep.edge_case"])
    strict = _sweep(tmp_path, "[sweep]\nseverity = 'error'\n[attributes]\nlength = [2.0]\n")
    assert {str(f.severity) for f in sweep_findings(
        run_sweep(strict, CARTPOLE, sb3_policy, PLAN), strict)} == {"error"}


def test_real_observations_shift_names_the_moved_dimensions(sb3_policy: Policy) -> None:
    from rlvet.evaluate.runner import run_episodes

    nominal = run_episodes(make_env_fn(CARTPOLE), sb3_policy, PLAN, keep_obs=50_000)
    real = load_observations(DATA / "eval" / "real_cartpole.jsonl")
    names = ("cart_position", "cart_velocity", "pole_angle", "pole_angular_velocity")
    shift = distribution_shift(nominal.observations.astype(np.float64), real, names)
    findings = check_shift(shift)
    assert [f.category for f in findings] == [Category.SIM_TO_REAL_GAP]
    assert findings[0].evidence["moved"][0]["name"] in names
    rows = np.random.default_rng(0).permutation(len(nominal.observations))
    sim = nominal.observations.astype(np.float64)
    same = distribution_shift(sim[rows[::2]], sim[rows[1::2]], names)
    assert check_shift(same) == []  # the simulator against itself does not move


def test_bad_sweep_files_and_trajectories(tmp_path: Path) -> None:
    with pytest.raises(RlvetInputError, match=r"sweep\.toml: noise\.obs_noise: unknown field"):
        _sweep(tmp_path, "[noise]\nobs_noise = [0.1]\n")
    with pytest.raises(RlvetInputError, match=r"attributes\.length\[1\]: expected a number"):
        _sweep(tmp_path, "[attributes]\nlength = [0.1, 'long']\n")
    with pytest.raises(RlvetInputError, match="nothing to evaluate"):
        _sweep(tmp_path, "[sweep]\nrelative_drop_bound = 0.3\n")
    bad = tmp_path / "real.jsonl"
    shutil.copy(DATA / "eval" / "real_cartpole.jsonl", bad)
    with bad.open("a") as fh:
        fh.write("{not json\n")
    with pytest.raises(RlvetInputError, match=r"real\.jsonl:401: not valid JSON"):
        load_observations(bad)
    spec = _sweep(tmp_path, "[attributes]\nwingspan = [2.0]\n")
    with pytest.raises(RlvetInputError, match="no numeric parameter 'wingspan'"):
        # every variant is built before any episode runs, so this policy is never called
        run_sweep(spec, CARTPOLE, None, PLAN)  # type: ignore[arg-type]


def test_wrappers_are_seeded_and_behave() -> None:
    def noisy_obs(seed: int) -> np.ndarray:
        env = ObservationNoise(gym.make("CartPole-v1"), 0.5)
        return env.reset(seed=seed)[0]

    assert np.array_equal(noisy_obs(3), noisy_obs(3))
    assert not np.array_equal(noisy_obs(3), noisy_obs(4))
    plain = gym.make("CartPole-v1").reset(seed=3)[0]
    assert not np.array_equal(noisy_obs(3), plain)

    delayed = ActionDelay(gym.make("CartPole-v1"), 2)
    delayed.reset(seed=0)
    reference = gym.make("CartPole-v1")
    reference.reset(seed=0)
    actions = [1, 0, 0, 1, 1]
    applied = [1, 1] + actions[:3]  # queue starts with the first action, two steps late
    for a, b in zip(actions, applied, strict=True):
        assert np.array_equal(delayed.step(a)[0], reference.step(b)[0])

    tilted = InitialState(gym.make("CartPole-v1"), state=[0.0, 0.0, 0.15, 0.0])
    obs, _ = tilted.reset(seed=0)
    assert obs[2] == pytest.approx(0.15) and tilted.unwrapped.state[2] == pytest.approx(0.15)
    with pytest.raises(RlvetInputError, match="shape"):
        InitialState(gym.make("CartPole-v1"), state=[0.1]).reset(seed=0)
