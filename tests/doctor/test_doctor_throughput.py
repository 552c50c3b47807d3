"""throughput_drop: a run that gets slower and stays slower."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rlvet.doctor import throughput
from rlvet.doctor.registry import DetectContext
from rlvet.findings import Category, Severity, Stage
from rlvet.signals.series import RunSignals, Series

CTX = DetectContext(reward="reward")


def _cumulative(rates: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """SB3's time/fps: steps so far / time so far, as an int."""
    d_steps = np.diff(np.concatenate([[0], steps]))
    return np.floor(steps / np.cumsum(d_steps / rates))


def _fps(rate_fn):
    def apply(values: np.ndarray) -> np.ndarray:
        steps = 256 * np.arange(1, values.size + 1)
        return _cumulative(rate_fn(np.arange(values.size)), steps)
    return apply


def test_steady_cumulative_fps_has_no_finding(ppo):
    run = ppo(fps=_fps(lambda i: np.full(i.size, 2500.0)))
    assert throughput.detect_throughput_drop(run, CTX) == []


def test_a_slowdown_that_lasts_is_found_from_the_cumulative_series(ppo):
    run = ppo(fps=_fps(lambda i: np.where(i < 100, 2500.0, 250.0)))
    [f] = throughput.detect_throughput_drop(run, CTX)
    assert f.category == Category.THROUGHPUT_DROP and f.stage == Stage.RESOURCES
    assert f.severity == Severity.ERROR  # ends at 10% of the early speed
    assert f.evidence["from_cumulative_fps"] is True
    assert abs(f.step - 256 * 101) <= 3 * 256


def test_a_halving_that_lasts_is_a_warning(ppo):
    run = ppo(fps=_fps(lambda i: np.where(i < 100, 2500.0, 1000.0)))
    [f] = throughput.detect_throughput_drop(run, CTX)
    assert f.severity == Severity.WARNING


def test_contention_that_goes_away_is_not_a_drop(ppo):
    run = ppo(fps=_fps(lambda i: np.where((i > 60) & (i < 90), 1000.0, 2500.0)))
    assert throughput.detect_throughput_drop(run, CTX) == []


def test_dqn_acting_before_learning_starts_is_not_the_baseline(dqn):
    assert throughput.detect_throughput_drop(dqn(), CTX) == []


def test_interval_rates_invert_a_cumulative_average():
    steps = 256 * np.arange(1, 11)
    rates = np.array([1000.0] * 5 + [500.0] * 5)
    out_steps, out, cumulative = throughput.interval_rates(steps, steps / np.cumsum(256 / rates))
    assert cumulative and out_steps.tolist() == steps[1:].tolist()
    assert out.tolist() == pytest.approx(rates[1:].tolist())


def test_interval_rates_keep_an_instantaneous_series():
    steps = 256 * np.arange(1, 11)
    fps = np.array([1000.0, 1200.0, 900.0, 1300.0, 800.0] * 2)
    _, out, cumulative = throughput.interval_rates(steps, fps)
    assert not cumulative and out.tolist() == fps.tolist()


def test_a_drop_the_hosts_load_accounts_for_is_not_the_runs(ppo):
    # the run logs its host's load per core (Monitor, rlvet train): it rose 6x when the
    # throughput fell 5x -- other jobs took the cores, the run itself did not slow down
    run = ppo(fps=_fps(lambda i: np.where(i < 100, 2500.0, 500.0)))
    steps = run.series["fps"].steps

    def with_load(load: np.ndarray) -> RunSignals:
        return dataclasses.replace(run, series={**run.series,
                                                "host_load": Series(steps, load)})

    busy = with_load(np.where(np.arange(steps.size) < 100, 0.5, 6.0))
    [f] = throughput.detect_throughput_drop(busy, CTX)
    assert f.severity == Severity.INFO and f.evidence["explained_by_host_load"] is True
    assert f.evidence["host_contention"] == pytest.approx(6.0)
    idle = with_load(np.full(steps.size, 0.5))  # nothing else ran on the host
    [g] = throughput.detect_throughput_drop(idle, CTX)
    assert g.severity == Severity.ERROR and g.evidence["explained_by_host_load"] is False


def test_monitor_records_the_host_load() -> None:
    from rlvet.monitor import Monitor

    mon = Monitor(None)
    mon.log(1, kl=0.01)
    assert "host_load" in mon.signals().series
