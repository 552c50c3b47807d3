"""Tests for the fault catalog: every fault builds, and each one really carries its bug.

Each behavioural test compares a faulty env with its unmodified base env under the same
seed and the same actions, so the assertion is about the bug itself rather than about
what a detector would report.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from rlvet.envcheck import catalog
from rlvet.envcheck.catalog import CATALOG, Fault, SimulatorCrash, StepStall, make_fault
from rlvet.findings import Category

ENV_CATEGORIES = (
    Category.API_CONTRACT,
    Category.NONDETERMINISTIC_RESET,
    Category.RESET_LEAKAGE,
    Category.STALE_OBSERVATION,
    Category.SILENT_TIMEOUT,
    Category.REWARD_ARTIFACT,
    Category.REWARD_DIRECTION,
    Category.REWARD_SPARSITY,
    Category.ACTION_SPACE_DRIFT,
    Category.HARNESS_FAILURE,
    Category.OBS_SCALE,
    Category.DONE_SEMANTICS,
)
# late_done_cartpole steps CartPole once past its terminal state, which Gymnasium warns about.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*even though this environment has already returned terminated"
)

SEED = 7
ROLLOUT_STEPS = 120
SHORT_STALL_S = (0.0, 0.001)  # keeps stall faults fast where timing is not under test
BASE_SUFFIX = {  # base env name -> the suffix fault names end with
    "CartPole": "cartpole",
    "MountainCar": "mountaincar",
    "MountainCarContinuous": "mountaincarcontinuous",
    "Pendulum": "pendulum",
    "Acrobot": "acrobot",
    "FrozenLake": "frozenlake",
    "Taxi": "taxi",
    "CliffWalking": "cliffwalking",
    "Blackjack": "blackjack",
}

Record = tuple[Any, ...]
Policy = Callable[[Any], Any]


# ---------------------------------------------------------------------------- helpers


def _action(space: gym.Space, rng: np.random.Generator) -> Any:
    """A reproducible action from whatever the env's action space is right now."""
    if isinstance(space, spaces.Discrete):
        return int(space.start + rng.integers(int(space.n)))
    assert isinstance(space, spaces.Box)
    return rng.uniform(space.low, space.high).astype(space.dtype)


def _reset_obs(env: gym.Env, seed: int | None = None) -> Any:
    """The observation of a reset, whether reset returns (obs, info) or obs alone."""
    result = env.reset(seed=seed)
    if isinstance(result, tuple) and len(result) == 2:
        return result[0]
    return result


def _same(a: Any, b: Any) -> bool:
    """Deep equality for observations and rewards, NaN equal to NaN."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(
        np.array_equal(
            np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), equal_nan=True
        )
    )


def _shorten_stalls(env: gym.Env) -> gym.Env:
    """Cut any StepStall in the wrapper chain down to milliseconds."""
    layer: Any = env
    while isinstance(layer, gym.Wrapper):
        if isinstance(layer, StepStall):
            layer.stall_s = SHORT_STALL_S
        layer = layer.env
    return env


def _rollout(env: gym.Env, *, seed: int, steps: int, action_seed: int = 0) -> list[Record]:
    """Seeded rollout with random actions; resets on done, records crashes as a marker."""
    rng = np.random.default_rng(action_seed)
    records: list[Record] = [("reset", _reset_obs(env, seed))]
    for _ in range(steps):
        try:
            obs, reward, terminated, truncated, _info = env.step(_action(env.action_space, rng))
        except SimulatorCrash:
            records.append(("crash",))
            continue
        records.append((obs, reward, bool(terminated), bool(truncated)))
        if terminated or truncated:
            records.append(("reset", _reset_obs(env)))
    return records


def _same_rollout(a: list[Record], b: list[Record]) -> bool:
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        if len(ra) != len(rb) or not all(
            x == y if isinstance(x, str) else _same(x, y) for x, y in zip(ra, rb, strict=True)
        ):
            return False
    return True


def _paired(name: str, base_id: str | None = None) -> tuple[gym.Env, gym.Env]:
    """The faulty env and a plain instance of its base env."""
    fault = CATALOG[name]
    return fault.make(), gym.make(base_id or fault.base_id)


def _episode(
    env: gym.Env, policy: Policy, *, seed: int, max_steps: int = 1000
) -> tuple[list[Any], list[float], list[tuple[bool, bool]]]:
    """One episode under a deterministic policy: observations (reset first), rewards, dones."""
    obs = _reset_obs(env, seed)
    observations, rewards, dones = [obs], [], []
    for _ in range(max_steps):
        obs, reward, terminated, truncated, _info = env.step(policy(obs))
        observations.append(obs)
        rewards.append(float(np.asarray(reward).reshape(-1)[0]))
        dones.append((bool(terminated), bool(truncated)))
        if terminated or truncated:
            break
    return observations, rewards, dones


def _random_episode_steps(
    env: gym.Env, *, seed: int, steps: int, action_seed: int = 0
) -> list[tuple[Any, float, bool, bool]]:
    """Random-action steps from one seeded reset, resetting (unseeded) on done."""
    rng = np.random.default_rng(action_seed)
    _reset_obs(env, seed)
    out = []
    for _ in range(steps):
        obs, reward, terminated, truncated, _info = env.step(_action(env.action_space, rng))
        out.append((obs, float(np.asarray(reward).reshape(-1)[0]), terminated, truncated))
        if terminated or truncated:
            _reset_obs(env)
    return out


def _cartpole_balance(obs: Any) -> int:
    """Push towards the side the pole is falling to: balances CartPole for a long time."""
    return int(obs[2] + obs[3] > 0)


def _mountaincar_pump(obs: Any) -> int:
    """Push in the direction of motion: pumps energy and reaches the flag in ~100 steps."""
    return 2 if obs[1] >= 0 else 0


def _fixed_actions(n: int = 2, seed: int = 0) -> Policy:
    """A policy that ignores observations: the same seeded action sequence every time."""
    rng = np.random.default_rng(seed)
    return lambda _obs: int(rng.integers(n))


def _mountaincar_continuous_pump(obs: Any) -> np.ndarray:
    return np.array([1.0 if obs[1] >= 0 else -1.0], dtype=np.float32)


# ----------------------------------------------------------------- catalog structure


def test_catalog_is_a_read_only_mapping_of_faults() -> None:
    assert isinstance(CATALOG, MappingProxyType)
    with pytest.raises(TypeError):
        CATALOG["new"] = CATALOG["stale_cache_cartpole"]  # type: ignore[index]
    for name, fault in CATALOG.items():
        assert isinstance(fault, Fault)
        assert fault.name == name
        assert fault.description.strip()


def test_names_are_snake_case_factories_exported_for_module_callable_specs() -> None:
    for name, fault in CATALOG.items():
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", name), name
        assert getattr(catalog, name) is fault.make, name
        assert name in catalog.__all__, name
        env_name = fault.base_id.split("-")[0]
        assert name.endswith("_" + BASE_SUFFIX[env_name]), name


def test_every_env_category_has_two_faults_on_different_base_envs() -> None:
    for category in ENV_CATEGORIES:
        faults = [f for f in CATALOG.values() if f.category == category]
        assert len(faults) >= 2, category
        base_ids = [f.base_id for f in faults]
        assert len(set(base_ids)) == len(base_ids), (category, base_ids)
    assert {f.category for f in CATALOG.values()} <= set(ENV_CATEGORIES)


def test_make_fault_builds_a_fresh_env_and_names_the_known_faults_on_a_typo() -> None:
    first, second = make_fault("zero_reward_cartpole"), make_fault("zero_reward_cartpole")
    assert first is not second
    with pytest.raises(KeyError, match="stale_cache_cartpole"):
        make_fault("stale_cahce_cartpole")


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_fault_builds_resets_with_a_seed_and_steps(name: str) -> None:
    env = _shorten_stalls(make_fault(name))
    assert isinstance(env, gym.Env)
    _reset_obs(env, SEED)
    try:
        result = env.step(_action(env.action_space, np.random.default_rng(0)))
    except SimulatorCrash:
        assert CATALOG[name].category == Category.HARNESS_FAILURE
    else:
        assert len(result) == 5
    env.close()


_REPRODUCIBLE = sorted(
    n for n, f in CATALOG.items() if f.category != Category.NONDETERMINISTIC_RESET
)


@pytest.mark.parametrize("name", _REPRODUCIBLE)
def test_faults_outside_nondeterminism_replay_exactly_under_a_seed(name: str) -> None:
    first = _rollout(_shorten_stalls(make_fault(name)), seed=SEED, steps=ROLLOUT_STEPS)
    second = _rollout(_shorten_stalls(make_fault(name)), seed=SEED, steps=ROLLOUT_STEPS)
    assert _same_rollout(first, second)


_SPACE_CONSISTENT = sorted(
    n
    for n, f in CATALOG.items()
    if f.category not in (Category.API_CONTRACT, Category.HARNESS_FAILURE)
)


@pytest.mark.parametrize("name", _SPACE_CONSISTENT)
def test_faults_outside_api_and_harness_keep_observations_in_the_declared_space(
    name: str,
) -> None:
    env = _shorten_stalls(make_fault(name))
    for record in _rollout(env, seed=SEED, steps=ROLLOUT_STEPS):
        if isinstance(record[0], str):  # ("reset", obs)
            assert env.observation_space.contains(record[1]), record
        else:
            assert env.observation_space.contains(record[0]), record


# ---------------------------------------------------------------------- api_contract


def test_float64_obs_pendulum_returns_float64_under_a_float32_space() -> None:
    env, base = _paired("float64_obs_pendulum")
    obs = _reset_obs(env, SEED)
    assert obs.dtype == np.float64 and env.observation_space.dtype == np.float32
    assert not env.observation_space.contains(obs)
    assert np.allclose(obs, _reset_obs(base, SEED))


def test_array_reward_cartpole_returns_a_shape_1_array() -> None:
    env, base = _paired("array_reward_cartpole")
    _reset_obs(env, SEED)
    _reset_obs(base, SEED)
    reward = env.step(0)[1]
    assert isinstance(reward, np.ndarray) and reward.shape == (1,)
    assert float(reward[0]) == base.step(0)[1]


def test_int_terminated_frozenlake_returns_int_flags() -> None:
    env, base = _paired("int_terminated_frozenlake")
    for e, flag_type in ((env, int), (base, bool)):
        _reset_obs(e, SEED)
        for _ in range(20):
            _obs, _r, terminated, truncated, _info = e.step(1)
            assert type(terminated) is flag_type and type(truncated) is flag_type
            if terminated or truncated:
                _reset_obs(e)


def test_reset_without_info_mountaincar_returns_obs_only_and_unpacks_silently() -> None:
    env, base = _paired("reset_without_info_mountaincar")
    result = env.reset(seed=SEED)
    assert isinstance(result, np.ndarray) and result.shape == (2,)
    assert np.array_equal(result, base.reset(seed=SEED)[0])
    obs, info = env.reset(seed=SEED)  # the silent mis-unpacking real code does
    assert np.ndim(obs) == 0 and np.ndim(info) == 0


def test_narrow_obs_space_acrobot_observations_leave_the_declared_space_at_reset() -> None:
    env, base = _paired("narrow_obs_space_acrobot")
    assert float(env.observation_space.low.min()) == 0.0
    assert float(env.observation_space.high.max()) == 1.0
    outside = sum(not env.observation_space.contains(_reset_obs(env, s)) for s in range(10))
    assert outside >= 5
    assert all(base.observation_space.contains(_reset_obs(base, s)) for s in range(10))


def test_none_info_blackjack_returns_none_info() -> None:
    env = make_fault("none_info_blackjack")
    assert env.reset(seed=SEED)[1] is None
    assert env.step(0)[4] is None


# ------------------------------------------------------------- nondeterministic_reset


def test_unseeded_reset_cartpole_ignores_the_seed() -> None:
    env_a, base_a = _paired("unseeded_reset_cartpole")
    env_b, base_b = _paired("unseeded_reset_cartpole")
    assert not _same(_reset_obs(env_a, SEED), _reset_obs(env_b, SEED))
    assert _same(_reset_obs(base_a, SEED), _reset_obs(base_b, SEED))


def test_clock_seeded_reset_mountaincar_differs_between_resets_with_one_seed() -> None:
    env = make_fault("clock_seeded_reset_mountaincar")
    observations = []
    for _ in range(3):
        observations.append(_reset_obs(env, SEED))
        time.sleep(0.001)
    assert not _same(observations[0], observations[1]) or not _same(
        observations[1], observations[2]
    )


def test_first_seed_only_acrobot_honours_only_the_first_seed() -> None:
    env_a, env_b = make_fault("first_seed_only_acrobot"), make_fault("first_seed_only_acrobot")
    first_a, first_b = _reset_obs(env_a, SEED), _reset_obs(env_b, SEED)
    assert _same(first_a, first_b)  # a fresh env per replay looks deterministic
    assert not _same(_reset_obs(env_a, SEED), first_a)  # reusing the env does not
    base = gym.make("Acrobot-v1")
    assert _same(_reset_obs(base, SEED), _reset_obs(base, SEED))


def test_global_random_start_taxi_follows_the_global_numpy_state() -> None:
    env, base = _paired("global_random_start_taxi")
    starts = {_reset_obs(env, SEED) for _ in range(6)}
    assert len(starts) > 1
    assert len({_reset_obs(base, SEED) for _ in range(6)}) == 1
    saved = np.random.get_state()
    try:
        replays = set()
        for _ in range(3):
            np.random.seed(123)
            replays.add(_reset_obs(env, SEED))
        assert len(replays) == 1
    finally:
        np.random.set_state(saved)


def test_global_noise_pendulum_diverges_under_one_seed_and_one_action_sequence() -> None:
    def run(env: gym.Env) -> tuple[Any, list[Any]]:
        obs0 = _reset_obs(env, SEED)
        return obs0, [env.step(np.array([0.5], dtype=np.float32))[0] for _ in range(20)]

    reset_a, traj_a = run(make_fault("global_noise_pendulum"))
    reset_b, traj_b = run(make_fault("global_noise_pendulum"))
    assert _same(reset_a, reset_b)  # resets replay ...
    assert not _same(tuple(traj_a), tuple(traj_b))  # ... the dynamics do not
    base_a, base_b = run(gym.make("Pendulum-v1")), run(gym.make("Pendulum-v1"))
    assert _same(tuple(base_a[1]), tuple(base_b[1]))


# --------------------------------------------------------------------- reset_leakage


def test_velocity_carryover_cartpole_starts_episode_two_with_old_velocities() -> None:
    env, base = _paired("velocity_carryover_cartpole")
    fresh_start = _reset_obs(base, SEED)
    observations, _rewards, _dones = _episode(env, lambda _obs: 1, seed=SEED)
    assert _same(observations[0], fresh_start)  # the first episode is clean
    second_start = _reset_obs(env, SEED)
    assert np.allclose(second_start[[0, 2]], fresh_start[[0, 2]])  # positions reset
    assert np.allclose(second_start[[1, 3]], observations[-1][[1, 3]])  # velocities carried
    assert not np.allclose(second_start[[1, 3]], fresh_start[[1, 3]], atol=0.1)


def test_shaping_potential_leak_mountaincar_first_reward_depends_on_last_episode() -> None:
    env = make_fault("shaping_potential_leak_mountaincar")
    fresh = make_fault("shaping_potential_leak_mountaincar")
    _episode(env, _mountaincar_pump, seed=SEED)  # ends near the flag
    _reset_obs(env, SEED)
    _reset_obs(fresh, SEED)
    leaked, clean = env.step(1)[1], fresh.step(1)[1]
    assert abs(float(leaked) - float(clean)) > 1.0


def test_gravity_random_walk_pendulum_changes_dynamics_for_a_repeated_seed() -> None:
    env = make_fault("gravity_random_walk_pendulum")
    action = np.array([0.0], dtype=np.float32)
    first = _episode(env, lambda _obs: action, seed=SEED, max_steps=30)[0]
    second = _episode(env, lambda _obs: action, seed=SEED, max_steps=30)[0]
    replay = _episode(make_fault("gravity_random_walk_pendulum"), lambda _o: action, seed=SEED,
                      max_steps=30)[0]  # fmt: skip
    assert _same(first[0], second[0])  # same start state ...
    assert not _same(tuple(first), tuple(second))  # ... different physics
    assert _same(tuple(first), tuple(replay))  # and a fresh env replays episode one
    assert env.unwrapped.g != 10.0


# ----------------------------------------------------------------- stale_observation


def test_stale_cache_cartpole_observation_lags_one_step() -> None:
    env, base = _paired("stale_cache_cartpole")
    stale = _episode(env, _fixed_actions(), seed=SEED)[0]
    true = _episode(base, _fixed_actions(), seed=SEED)[0]
    assert len(stale) == len(true) > 5
    assert _same(stale[0], true[0])
    for t in range(1, len(stale)):
        assert _same(stale[t], true[t - 1])
    assert not _same(stale[5], true[5])


def test_sample_and_hold_pendulum_refreshes_every_fourth_step() -> None:
    env, base = _paired("sample_and_hold_pendulum")
    action = np.array([1.0], dtype=np.float32)
    held = _episode(env, lambda _obs: action, seed=SEED, max_steps=40)[0]
    true = _episode(base, lambda _obs: action, seed=SEED, max_steps=40)[0]
    for t in range(len(held)):
        assert _same(held[t], true[(t // 4) * 4])
    assert not _same(held[3], true[3])


def test_frozen_camera_acrobot_stops_updating_after_100_steps() -> None:
    env, base = _paired("frozen_camera_acrobot")
    frozen = _episode(env, lambda _obs: 0, seed=SEED, max_steps=150)[0]
    true = _episode(base, lambda _obs: 0, seed=SEED, max_steps=150)[0]
    assert len(frozen) == len(true) == 151
    assert _same(tuple(frozen[:101]), tuple(true[:101]))
    assert all(_same(obs, true[100]) for obs in frozen[101:])
    assert not _same(true[150], true[100])


# -------------------------------------------------------------------- silent_timeout


def test_timeout_as_terminal_mountaincar_reports_the_time_limit_as_termination() -> None:
    env, base = _paired("timeout_as_terminal_mountaincar")
    faulty_dones = _episode(env, lambda _obs: 1, seed=SEED)[2]
    base_dones = _episode(base, lambda _obs: 1, seed=SEED)[2]
    assert len(faulty_dones) == len(base_dones) == 200
    assert base_dones[-1] == (False, True)
    assert faulty_dones[-1] == (True, False)


def _stall_schedule(
    env: gym.Env, monkeypatch: pytest.MonkeyPatch, *, steps: int
) -> list[tuple[int, float]]:
    """(step index, seconds) of every stall over a seeded random rollout, without sleeping."""
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    rng = np.random.default_rng(0)
    _reset_obs(env, SEED)
    schedule = []
    for t in range(steps):
        before = len(sleeps)
        _obs, _r, terminated, truncated, _info = env.step(_action(env.action_space, rng))
        schedule.extend((t, seconds) for seconds in sleeps[before:])
        if terminated or truncated:
            _reset_obs(env)
    return schedule


def test_rare_hang_cartpole_stalls_for_seconds_on_rare_reproducible_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schedule = _stall_schedule(make_fault("rare_hang_cartpole"), monkeypatch, steps=4000)
    assert 2 <= len(schedule) <= 30  # about one step in 400
    assert all(3.0 <= seconds <= 5.0 for _t, seconds in schedule)
    again = _stall_schedule(make_fault("rare_hang_cartpole"), monkeypatch, steps=4000)
    assert schedule == again


def test_slow_step_outliers_acrobot_stalls_a_few_percent_of_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schedule = _stall_schedule(make_fault("slow_step_outliers_acrobot"), monkeypatch, steps=1000)
    assert 5 <= len(schedule) <= 60  # about 2% of steps
    assert all(0.05 <= seconds <= 0.2 for _t, seconds in schedule)


def test_step_stall_really_blocks_the_step() -> None:
    env = StepStall(gym.make("CartPole-v1"), probability=1.0, stall_s=(0.02, 0.03))
    _reset_obs(env, SEED)
    start = time.perf_counter()
    env.step(0)
    assert time.perf_counter() - start >= 0.02


# ------------------------------------------------------------------- reward_artifact


def test_rounded_reward_pendulum_pays_integers_where_the_base_does_not() -> None:
    env, base = _paired("rounded_reward_pendulum")
    faulty = [r for _o, r, *_ in _random_episode_steps(env, seed=SEED, steps=100)]
    true = [r for _o, r, *_ in _random_episode_steps(base, seed=SEED, steps=100)]
    assert all(r == round(r) for r in faulty)
    assert not all(r == round(r) for r in true)
    assert np.allclose(faulty, true, atol=0.5 + 1e-9)


def test_coarse_reward_mountaincarcontinuous_pays_on_a_tenth_grid() -> None:
    env, base = _paired("coarse_reward_mountaincarcontinuous")
    faulty = np.array([r for _o, r, *_ in _random_episode_steps(env, seed=SEED, steps=100)])
    true = np.array([r for _o, r, *_ in _random_episode_steps(base, seed=SEED, steps=100)])
    assert np.allclose(faulty * 10, np.round(faulty * 10))
    assert not np.allclose(true * 10, np.round(true * 10))
    assert set(np.round(faulty, 1)) <= {-0.1, 0.0}


def test_clipped_reward_cliffwalking_makes_the_cliff_cost_one_step() -> None:
    env, base = _paired("clipped_reward_cliffwalking")
    faulty = [r for _o, r, *_ in _random_episode_steps(env, seed=SEED, steps=300)]
    true = [r for _o, r, *_ in _random_episode_steps(base, seed=SEED, steps=300)]
    assert min(true) == -100.0
    assert set(faulty) == {-1.0}  # the whole reward mass sits at the lower bound


def test_reward_range_violation_taxi_pays_outside_its_declared_range() -> None:
    env = make_fault("reward_range_violation_taxi")
    low, high = env.get_wrapper_attr("reward_range")
    assert (low, high) == (-1.0, 1.0)
    rewards = [r for _o, r, *_ in _random_episode_steps(env, seed=SEED, steps=200)]
    assert any(not low <= r <= high for r in rewards)


# ------------------------------------------------------------------ reward_direction


def test_tilt_reward_cartpole_pays_more_for_dropping_the_pole_than_balancing() -> None:
    env, base = _paired("tilt_reward_cartpole")
    balanced = _episode(env, _cartpole_balance, seed=SEED)[1]
    dropped = _episode(env, lambda _obs: 0, seed=SEED)[1]
    assert np.mean(balanced) < np.mean(dropped)
    assert len(balanced) > len(dropped)
    assert sum(_episode(base, _cartpole_balance, seed=SEED)[1]) > sum(
        _episode(base, lambda _obs: 0, seed=SEED)[1]
    )


def test_valley_reward_mountaincar_prefers_sitting_in_the_valley() -> None:
    env, base = _paired("valley_reward_mountaincar")
    pump, idle = _mountaincar_pump, (lambda _obs: 1)
    assert sum(_episode(env, idle, seed=SEED)[1]) > sum(_episode(env, pump, seed=SEED)[1])
    assert sum(_episode(base, pump, seed=SEED)[1]) > sum(_episode(base, idle, seed=SEED)[1])


def test_sign_flipped_cliffwalking_pays_for_the_cliff() -> None:
    env, base = _paired("sign_flipped_cliffwalking")
    faulty = [r for _o, r, *_ in _random_episode_steps(env, seed=SEED, steps=300)]
    true = [r for _o, r, *_ in _random_episode_steps(base, seed=SEED, steps=300)]
    assert faulty == [-r for r in true]
    assert max(faulty) == 100.0 and min(true) < 0 <= min(faulty)


# ------------------------------------------------------------------- reward_sparsity


def test_zero_reward_cartpole_pays_nothing_where_the_base_pays_every_step() -> None:
    env, base = _paired("zero_reward_cartpole")
    assert {r for _o, r, *_ in _random_episode_steps(env, seed=SEED, steps=200)} == {0.0}
    assert {r for _o, r, *_ in _random_episode_steps(base, seed=SEED, steps=200)} == {1.0}


def test_rare_bonus_pendulum_is_zero_for_random_play_but_reachable() -> None:
    env, base = _paired("rare_bonus_pendulum")
    faulty = [r for _o, r, *_ in _random_episode_steps(env, seed=SEED, steps=1000)]
    true = [r for _o, r, *_ in _random_episode_steps(base, seed=SEED, steps=1000)]
    assert set(faulty) == {0.0}
    assert np.std(true) > 1.0  # the real reward is informative
    _reset_obs(env, SEED)
    env.unwrapped.state = np.array([0.0, 0.0])  # upright and at rest: the bonus exists
    assert env.step(np.array([0.0], dtype=np.float32))[1] == 1.0


def test_constant_reward_mountaincarcontinuous_ignores_actions_and_the_goal() -> None:
    env, base = _paired("constant_reward_mountaincarcontinuous")
    faulty_random = [r for _o, r, *_ in _random_episode_steps(env, seed=SEED, steps=200)]
    faulty_goal = _episode(env, _mountaincar_continuous_pump, seed=SEED)
    base_goal = _episode(base, _mountaincar_continuous_pump, seed=SEED)
    assert base_goal[2][-1][0] and base_goal[1][-1] > 50  # the pump reaches the flag
    assert faulty_goal[2][-1][0]
    assert set(faulty_random) | set(faulty_goal[1]) == {-1.0}


# ---------------------------------------------------------------- action_space_drift


def test_modulo_actions_cartpole_accepts_out_of_range_actions_silently() -> None:
    env, base = _paired("modulo_actions_cartpole")
    reference = gym.make("CartPole-v1")
    _reset_obs(env, SEED)
    _reset_obs(base, SEED)
    _reset_obs(reference, SEED)
    assert env.action_space == spaces.Discrete(2)
    with pytest.raises(AssertionError):
        base.step(5)
    assert _same(env.step(5)[0], reference.step(1)[0])


def test_widened_box_pendulum_declares_bounds_the_env_clips() -> None:
    env, base = _paired("widened_box_pendulum")
    big = np.array([10.0], dtype=np.float32)
    assert env.action_space.contains(big) and not base.action_space.contains(big)
    _reset_obs(env, SEED)
    _reset_obs(base, SEED)
    assert _same(env.step(big)[0], base.step(np.array([2.0], dtype=np.float32))[0])


def test_resized_box_mountaincarcontinuous_changes_bounds_across_resets() -> None:
    env = make_fault("resized_box_mountaincarcontinuous")
    highs = []
    for seed in range(5):
        _reset_obs(env, seed)
        highs.append(float(env.action_space.high[0]))
    assert len(set(highs)) == 5
    _reset_obs(env, 2)
    assert float(env.action_space.high[0]) == highs[2]  # the drift replays under a seed


def test_legal_subset_taxi_changes_action_space_size_within_an_episode() -> None:
    env = make_fault("legal_subset_taxi")
    rng = np.random.default_rng(0)
    _reset_obs(env, SEED)
    sizes = {int(env.action_space.n)}
    for _ in range(60):
        _obs, _r, terminated, truncated, _info = env.step(_action(env.action_space, rng))
        sizes.add(int(env.action_space.n))
        if terminated or truncated:
            break
    assert len(sizes) > 1 and max(sizes) < 6


# ------------------------------------------------------------------- harness_failure


def _crash_steps(env: gym.Env, steps: int) -> list[int]:
    rng = np.random.default_rng(0)
    _reset_obs(env, SEED)
    crashed = []
    for t in range(steps):
        try:
            _obs, _r, terminated, truncated, _info = env.step(_action(env.action_space, rng))
        except SimulatorCrash:
            crashed.append(t)
            continue
        if terminated or truncated:
            _reset_obs(env)
    return crashed


def test_flaky_rpc_cartpole_raises_on_a_few_reproducible_steps() -> None:
    crashed = _crash_steps(make_fault("flaky_rpc_cartpole"), 300)
    assert 3 <= len(crashed) <= 50
    assert crashed == _crash_steps(make_fault("flaky_rpc_cartpole"), 300)
    assert _crash_steps(gym.make("CartPole-v1"), 300) == []


def test_nan_obs_pendulum_returns_nan_observations_on_some_steps_only() -> None:
    env, base = _paired("nan_obs_pendulum")
    faulty = _random_episode_steps(env, seed=SEED, steps=300)
    true = _random_episode_steps(base, seed=SEED, steps=300)
    nan_steps = [t for t, (obs, *_r) in enumerate(faulty) if np.isnan(obs).all()]
    assert 1 <= len(nan_steps) <= 30
    for t, ((obs, *_r), (true_obs, *_s)) in enumerate(zip(faulty, true, strict=True)):
        assert not np.isnan(true_obs).any()
        if t not in nan_steps:
            assert _same(obs, true_obs)  # the simulator state itself is untouched


def test_nan_reward_acrobot_returns_nan_rewards_on_some_steps_only() -> None:
    env, base = _paired("nan_reward_acrobot")
    faulty = [r for _o, r, *_ in _random_episode_steps(env, seed=SEED, steps=300)]
    true = [r for _o, r, *_ in _random_episode_steps(base, seed=SEED, steps=300)]
    nan_steps = [t for t, r in enumerate(faulty) if math.isnan(r)]
    assert 1 <= len(nan_steps) <= 30
    assert all(faulty[t] == true[t] for t in range(300) if t not in nan_steps)


# ------------------------------------------------------------------------ obs_scale


def test_millimetre_position_cartpole_reports_position_times_1000() -> None:
    env, base = _paired("millimetre_position_cartpole")
    faulty = np.array([o for o, *_ in _random_episode_steps(env, seed=SEED, steps=50)])
    true = np.array([o for o, *_ in _random_episode_steps(base, seed=SEED, steps=50)])
    assert np.allclose(faulty[:, 0], 1000.0 * true[:, 0], rtol=1e-5)
    assert np.array_equal(faulty[:, 1:], true[:, 1:])
    assert float(env.observation_space.high[0]) == pytest.approx(4800.0)


def test_scaled_velocity_mountaincar_reports_velocity_times_1e4() -> None:
    env, base = _paired("scaled_velocity_mountaincar")
    faulty = np.array([o for o, *_ in _random_episode_steps(env, seed=SEED, steps=50)])
    true = np.array([o for o, *_ in _random_episode_steps(base, seed=SEED, steps=50)])
    assert np.allclose(faulty[:, 1], 1e4 * true[:, 1], rtol=1e-5)
    assert np.array_equal(faulty[:, 0], true[:, 0])
    assert float(env.observation_space.high[1]) == pytest.approx(700.0)


def test_raw_units_pendulum_maps_observations_to_16_bit_counts() -> None:
    env, base = _paired("raw_units_pendulum")
    faulty = np.array([o for o, *_ in _random_episode_steps(env, seed=SEED, steps=50)])
    true = np.array([o for o, *_ in _random_episode_steps(base, seed=SEED, steps=50)])
    low, high = base.observation_space.low, base.observation_space.high
    assert np.allclose(faulty, (true - low) / (high - low) * 65535.0, rtol=1e-5, atol=0.05)
    assert faulty.max() > 1e4


# ------------------------------------------------------------------- done_semantics


def test_never_done_mountaincar_runs_past_the_goal_and_the_time_limit() -> None:
    env, base = _paired("never_done_mountaincar")
    base_dones = _episode(base, _mountaincar_pump, seed=SEED)[2]
    assert base_dones[-1] == (True, False) and len(base_dones) < 200
    faulty_dones = _episode(env, _mountaincar_pump, seed=SEED, max_steps=400)[2]
    assert len(faulty_dones) == 400 and not any(any(d) for d in faulty_dones)


def test_late_done_cartpole_signals_termination_one_step_late() -> None:
    env, base = _paired("late_done_cartpole")
    base_obs, _r, base_dones = _episode(base, lambda _obs: 0, seed=SEED)
    obs, _r, dones = _episode(env, lambda _obs: 0, seed=SEED)
    assert base_dones[-1] == (True, False)
    assert len(dones) == len(base_dones) + 1
    assert dones[-2] == (False, False) and dones[-1] == (True, False)
    assert _same(tuple(obs[: len(base_obs)]), tuple(base_obs))


def test_instant_done_acrobot_ends_every_episode_after_one_step() -> None:
    env, base = _paired("instant_done_acrobot")
    dones = [t for _o, _r, t, _tr in _random_episode_steps(env, seed=SEED, steps=20)]
    assert all(dones)
    assert not any(t for _o, _r, t, _tr in _random_episode_steps(base, seed=SEED, steps=20))


def test_random_done_frozenlake_terminates_on_non_terminal_states() -> None:
    env, base = _paired("random_done_frozenlake")
    rng = np.random.default_rng(0)
    _reset_obs(env, SEED)
    _reset_obs(base, SEED)
    spurious = 0
    for _ in range(300):
        action = _action(env.action_space, rng)
        obs, _r, terminated, truncated, _i = env.step(action)
        base_obs, _r, base_terminated, base_truncated, _i = base.step(action)
        assert obs == base_obs  # the dynamics are the base env's
        spurious += bool(terminated and not base_terminated)
        if terminated or truncated or base_terminated or base_truncated:
            _reset_obs(env)
            _reset_obs(base)
    assert spurious >= 5
