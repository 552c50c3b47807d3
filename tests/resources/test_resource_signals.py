"""Resource signals in real loops: a leaking loop gets memory_growth, a healthy one none;
where the wall time goes (env_bound / learner_bound); fragmentation from CUDA counters."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rlvet.doctor.diagnose import diagnose
from rlvet.doctor.memory import (
    GROWTH_MIN_FRACTION,
    GROWTH_MIN_MIB,
    MIN_TREND_POINTS,
    WARMUP_FRACTION,
)
from rlvet.monitor import Monitor
from rlvet.resources.sampler import PhaseTimer
from rlvet.signals.discover import read_run

torch = pytest.importorskip("torch")

LOOP = Path(__file__).with_name("leaky_training_loop.py")


def _categories(mon: Monitor) -> set[str]:
    return {str(f.category) for f in diagnose(mon.signals()).findings}


def _run_loop(jsonl: Path, *flags: str) -> dict:
    """The training loop in its own interpreter, as a training job runs."""
    out = subprocess.run([sys.executable, str(LOOP), str(jsonl), *flags], capture_output=True,
                         text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_leaking_loop_gets_memory_growth_within_the_bound(tmp_path: Path) -> None:
    result = _run_loop(tmp_path / "leak.jsonl", "--leak")
    assert result["found_at"] is not None
    # detection needs MIN_TREND_POINTS after warm-up and the growth threshold crossed
    need_mib = max(GROWTH_MIN_MIB, GROWTH_MIN_FRACTION * result["rss_mib"])
    bound = max(MIN_TREND_POINTS, need_mib / 1.0) / (1 - WARMUP_FRACTION)  # 1 MiB leaked/it
    assert result["found_at"] <= 1.5 * bound + 10, (result, bound)
    # the same finding offline, from the JSONL the loop wrote
    offline = diagnose(read_run(tmp_path / "leak.jsonl"))
    assert "memory_growth" in {str(f.category) for f in offline.findings}


def test_leak_in_a_long_lived_process_is_seen_in_the_heap(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("leaky_training_loop", LOOP)
    loop = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loop)
    scratch = [torch.ones(2**20) for _ in range(200)]  # 800 MiB, then freed: RSS stays up
    del scratch
    assert loop.run_loop(str(tmp_path / "leak.jsonl"), 400, leak=True) is not None
    run = read_run(tmp_path / "leak.jsonl")
    found = [f for f in diagnose(run).findings if str(f.category) == "memory_growth"]
    assert found and found[0].evidence["signal"] in ("heap_mib", "rss_mib")


def test_healthy_loop_gets_no_memory_growth(tmp_path: Path) -> None:
    result = _run_loop(tmp_path / "ok.jsonl", "--iterations", "300")
    assert result["found_at"] is None
    assert len(read_run(tmp_path / "ok.jsonl").get("rss_mib").values) == 300


class SlowEnv(gym.Wrapper):
    """A simulator that costs 2 ms a step, like a physics engine or a remote harness."""

    def step(self, action):
        time.sleep(0.002)
        return super().step(action)


def test_env_bound_and_learner_bound_from_phase_shares(tmp_path: Path) -> None:
    env = SlowEnv(gym.make("CartPole-v1"))
    env.reset(seed=0)
    net = torch.nn.Linear(4, 2)
    for heavy_learner, expected, other in ((False, "env_bound", "learner_bound"),
                                           (True, "learner_bound", "env_bound")):
        mon = Monitor(None)
        big = torch.randn(700, 700)
        for it in range(16):
            with mon.phase("env"):
                for _ in range(20):
                    obs, _, term, trunc, _ = env.step(env.action_space.sample())
                    if term or trunc:
                        env.reset()
            with mon.phase("learner"):
                loss = net(torch.as_tensor(obs)).sum()
                loss.backward()
                if heavy_learner:
                    for _ in range(40):
                        big = torch.tanh(big @ big)
            mon.log(it * 20, loss=loss.item())
        cats = _categories(mon)
        assert expected in cats and other not in cats


def test_phase_timer_shares_sum_to_at_most_one() -> None:
    timer = PhaseTimer()
    with timer.phase("env"):
        time.sleep(0.01)
    with timer.phase("learner"):
        time.sleep(0.01)
    shares = timer.shares()
    assert set(shares) == {"time_share/env", "time_share/learner"}
    assert 0.3 < shares["time_share/env"] < 0.7 and sum(shares.values()) <= 1.0
    assert timer.shares() == {}  # reset by the call


def _cuda_run(reserved_extra: np.ndarray) -> Monitor:
    mon = Monitor(None, resources=False)
    for i, extra in enumerate(reserved_extra):
        allocated = 2000.0 + 10 * np.sin(i)
        mon.log(i * 100, cuda_allocated_mib=allocated, cuda_reserved_mib=allocated + extra)
    return mon


def test_fragmentation_when_the_cache_holds_far_more_than_tensors() -> None:
    growing_cache = np.concatenate([np.full(20, 200.0), np.full(30, 3000.0)])
    assert "fragmentation" in _categories(_cuda_run(growing_cache))
    assert "fragmentation" not in _categories(_cuda_run(np.full(50, 300.0)))


def _rss_run(values: np.ndarray) -> set[str]:
    mon = Monitor(None, resources=False)
    for i, v in enumerate(values):
        mon.log(i, rss_mib=float(v), loss=1.0)
    return _categories(mon)


@pytest.mark.parametrize(("shape", "leak"), [
    ("steady 1 MiB per iteration", True),
    ("steady 0.3 MiB per iteration", True),
    ("one jump mid-run (an eval env built once)", False),
    ("one jump late", False),
    ("warm-up growth, then flat", False),
    ("garbage-collector sawtooth", False),
    ("grew, then stopped growing", False),
])
def test_memory_growth_needs_growth_spread_over_the_run(shape: str, leak: bool) -> None:
    n, i = 200, np.arange(200)
    noise = 400 + np.random.default_rng(0).normal(0, 1.5, n)
    curves = {
        "steady 1 MiB per iteration": noise + i,
        "steady 0.3 MiB per iteration": noise + 0.3 * i,
        "one jump mid-run (an eval env built once)": noise + 80 * (i >= 100),
        "one jump late": noise + 80 * (i >= 170),
        "warm-up growth, then flat": noise + 2 * np.minimum(i, 40),
        "garbage-collector sawtooth": noise + 3 * (i % 20),
        "grew, then stopped growing": noise + np.minimum(i, 150),
    }
    assert ("memory_growth" in _rss_run(curves[shape])) is leak


def test_monitor_records_throughput_unless_the_loop_does(tmp_path: Path) -> None:
    with Monitor(tmp_path / "own.jsonl") as mon:
        for i in range(6):
            time.sleep(0.06)
            mon.log(i * 100, loss=1.0)
        mon.verdict()  # its cost is not the loop's
        time.sleep(0.06)
        mon.log(600, loss=1.0)
        for i in range(20):  # records microseconds apart: too little time for a rate
            mon.log(601 + i, loss=1.0)
    rates = [r["fps"] for r in map(json.loads, (tmp_path / "own.jsonl").open()) if "fps" in r]
    assert len(rates) == 6 and all(700 < r < 1700 for r in rates)  # 100 steps / ~60 ms
    with Monitor(tmp_path / "sb3.jsonl") as mon:
        for i in range(3):
            time.sleep(0.06)
            mon.log(i * 100, **{"time/fps": 123.0})
    assert not any("fps" in r for r in map(json.loads, (tmp_path / "sb3.jsonl").open()))


def test_a_loop_that_slows_down_gets_throughput_drop() -> None:
    mon = Monitor(None)
    for i in range(45):
        time.sleep(0.02 if i < 20 else 0.1)  # the env got 5x slower and stayed so
        mon.log(i * 64, loss=1.0)
    assert "throughput_drop" in _categories(mon)
