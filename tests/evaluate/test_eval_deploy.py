"""Pre-deployment checks: batch-1 latency against a budget, the retraining trigger."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from rlvet.evaluate.latency import Latency, check_latency, latency_answer, measure_latency
from rlvet.evaluate.policies import Policy
from rlvet.evaluate.trigger import build_trigger, check_trigger, ks_to_quantiles, write_trigger

SLEEP_S = 0.002  # a policy that takes 2 ms per call


def _slow_act(obs: np.ndarray, deterministic: bool, rngs: object) -> np.ndarray:
    time.sleep(SLEEP_S)
    return np.zeros(len(obs), dtype=np.int64)


def _fast_act(obs: np.ndarray, deterministic: bool, rngs: object) -> np.ndarray:
    return (obs[:, 2] > 0).astype(np.int64)


OBS = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)


def test_latency_over_budget_is_an_error_finding() -> None:
    latency = measure_latency(Policy("slow", _slow_act), OBS, calls=30)
    assert latency.p50_ms >= SLEEP_S * 1000 and latency.p99_ms >= latency.p50_ms
    findings = check_latency(latency, budget_ms=1.0)
    assert [(str(f.category), str(f.severity), str(f.stage)) for f in findings] == [
        ("latency_budget", "error", "resources")]
    assert findings[0].evidence["budget_ms"] == 1.0


def test_fast_policy_within_budget() -> None:
    latency = measure_latency(Policy("fast", _fast_act), OBS, calls=200)
    assert latency.calls == 200 and 0 < latency.p50_ms < 5.0
    assert check_latency(latency, budget_ms=50.0) == []


def test_latency_is_timed_in_blocks_with_an_interval_and_the_host_load() -> None:
    latency = measure_latency(Policy("fast", _fast_act), OBS, calls=100, repeats=5)
    assert latency.repeats == 5 and latency.confidence == pytest.approx(0.9375)
    assert latency.p99_low_ms <= latency.p99_ms <= latency.p99_high_ms
    assert latency.host_load is not None and latency.host_load >= 0  # Linux: getloadavg
    d = latency.to_dict()
    assert {"p99_low_ms", "p99_high_ms", "repeats", "host_load", "cpus"} <= set(d)


def _timed(low: float, mid: float, high: float, repeats: int = 5) -> Latency:
    return Latency(mid / 2, mid, mid / 2, high, 1000, p99_low_ms=low, p99_high_ms=high,
                   repeats=repeats, host_load=3.5, cpus=2)


def test_the_budget_is_decided_only_when_the_interval_is_clear_of_it() -> None:
    # the shared host: block p99s from 4.6 to 8.5 ms against a 5 ms budget
    straddling = _timed(4.6, 4.8, 8.5)
    assert latency_answer(straddling, 5.0) == "unknown"
    findings = check_latency(straddling, budget_ms=5.0)
    assert [(str(f.category), str(f.severity), str(f.stage)) for f in findings] == [
        ("insufficient_evidence", "info", "resources")]
    assert findings[0].evidence["host_load"] == 3.5 and findings[0].evidence["p99_high_ms"] == 8.5
    assert latency_answer(_timed(4.6, 4.8, 8.5), 9.0) == "pass"
    over = check_latency(_timed(6.0, 7.0, 8.5), budget_ms=5.0)
    assert [(str(f.category), str(f.severity)) for f in over] == [("latency_budget", "error")]
    # one block has no interval: its p99 decides, as before
    assert latency_answer(_timed(float("nan"), 4.0, float("nan"), repeats=1), 5.0) == "pass"


def _trigger(observations: np.ndarray) -> dict:
    return build_trigger(protocol_hash="h" * 64, split="dev", policy="p",
                         iqm={"point": 400.0, "low": 380.0, "high": 420.0}, return_drop=0.2,
                         observations=observations, names=["a", "b", "c", "d"], obs_ks=0.2,
                         latency_budget_ms=10.0)


def test_trigger_file_round_trip_and_thresholds(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(5000, 4))
    trigger = _trigger(reference)
    path = write_trigger(tmp_path / "out" / "retrain_trigger.json", trigger)
    loaded = json.loads(path.read_text())
    rules = {t["quantity"]: t for t in loaded["triggers"]}
    assert rules["return_iqm"]["threshold"] == pytest.approx(320.0)
    assert set(rules) == {"return_iqm", "obs_ks_max", "latency_p99_ms"}

    same = rng.normal(size=(2000, 4))
    assert check_trigger(loaded, returns=np.full(50, 395.0), observations=same,
                         latency_p99_ms=3.0) == []
    moved = same.copy()
    moved[:, 1] += 1.0  # one dimension shifts by a standard deviation
    fired = check_trigger(loaded, returns=np.full(50, 250.0), observations=moved,
                          latency_p99_ms=30.0)
    quantities = sorted(f.evidence["quantity"] for f in fired)
    assert quantities == ["latency_p99_ms", "obs_ks_max", "return_iqm"]
    assert next(f for f in fired if f.evidence["quantity"] == "obs_ks_max"
                ).evidence["dimension"] == "b"


def test_ks_to_quantiles_matches_scipy_for_a_stored_normal() -> None:
    from scipy import stats as sstats

    probs = np.linspace(0, 1, 101)
    values = np.quantile(np.random.default_rng(1).normal(size=100_000), probs)
    sample = np.random.default_rng(2).normal(0.5, 1.0, size=3000)
    exact = sstats.kstest(sample, "norm").statistic
    assert ks_to_quantiles(sample, probs, values) == pytest.approx(exact, abs=0.02)
