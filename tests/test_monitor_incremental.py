"""``Monitor.signals()`` kept incrementally equals the full merge (``signals_from_raws``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlvet.monitor import Monitor
from rlvet.signals.discover import signals_from_raws
from rlvet.signals.growing import GrowingLog
from rlvet.signals.series import Checkpoint, RunSignals


def _rebuilt(log: GrowingLog, aliases: dict[str, str] | None = None) -> RunSignals:
    return signals_from_raws([log.raw()], source="<monitor>", checkpoints=log.checkpoints,
                             aliases=aliases)[0]


def _assert_same(live: RunSignals, full: RunSignals) -> None:
    assert list(live.series) == list(full.series)  # same keys, same (sorted) order
    for key, series in full.series.items():
        got = live.series[key]
        assert got.steps.dtype == series.steps.dtype and got.values.dtype == series.values.dtype
        np.testing.assert_array_equal(got.steps, series.steps, err_msg=key)
        np.testing.assert_array_equal(got.values, series.values, err_msg=key)  # NaN == NaN
        assert not got.steps.flags.writeable and not got.values.flags.writeable
    assert dict(live.raw_names) == dict(full.raw_names)
    assert dict(live.text) == dict(full.text)
    assert (live.source, live.formats, live.checkpoints) == (
        full.source, full.formats, full.checkpoints)


def _record(rng: np.random.Generator, i: int) -> dict[str, float | str]:
    rec: dict[str, float | str] = {
        "train/approx_kl": float(0.01 + 0.002 * rng.standard_normal()),
        "train/entropy_loss": -0.69 + 0.001 * i,  # negated into `entropy`
        "train/value_loss": math.nan if i % 97 == 13 else float(rng.random()),
        "rollout/ep_rew_mean": float(20 + i),
    }
    if i % 7 == 0:
        rec["eval/mean_reward"] = float(i)
    if i % 11 == 0:
        rec["eval/protocol"] = f"hash{i // 50}"
    return rec


def test_signals_equal_a_full_rebuild_after_every_record() -> None:
    rng = np.random.default_rng(0)
    log = GrowingLog("<monitor>")
    for i in range(300):
        log.add((i + 1) * 100, _record(rng, i))
        if i == 120:  # new names mid-run: kl from a second source, an unknown metric
            log.add((i + 1) * 100, {"kl": 0.5, "my metric\twith tab": 1.0})
        if i % 50 == 0:
            log.add_checkpoint(Checkpoint((i + 1) * 100, f"ckpt_{i}.pt"))
        if i % 3 == 0 or i > 280:  # verdicts after one record and after several
            _assert_same(log.signals(), _rebuilt(log))


def test_restart_and_repeated_steps_follow_the_readers_rule() -> None:
    log = GrowingLog("<monitor>")
    for step in (1, 2, 3, 4, 5):
        log.add(step * 10, {"kl": float(step), "entropy": float(step)})
    _assert_same(log.signals(), _rebuilt(log))
    for step in (5, 5, 3, 4):  # a repeated step, then a resume from an earlier checkpoint
        log.add(step * 10, {"kl": 100.0 + step})
    live = log.signals()
    _assert_same(live, _rebuilt(log))
    assert live.series["kl"].steps.tolist() == [10, 20, 30, 40]  # superseded points dropped
    for step in (5, 6, 2, 7, 8):  # a second restart inside one batch of new records
        log.add(step * 10, {"kl": 200.0 + step, "entropy": -1.0})
        _assert_same(log.signals(), _rebuilt(log))
    log.add(90, {"kl": 1.0})
    log.add(95, {"kl": 2.0})
    _assert_same(log.signals(), _rebuilt(log))


def test_earlier_signals_stay_unchanged_as_the_log_grows() -> None:
    log = GrowingLog("<monitor>")
    log.add(1, {"kl": 1.0})
    first = log.signals()
    for step in range(2, 200):
        log.add(step, {"kl": float(step)})
    later = log.signals()
    assert first.series["kl"].values.tolist() == [1.0]
    assert len(later.series["kl"]) == 199
    again = log.signals()
    assert again.series["kl"] is later.series["kl"]  # nothing new: nothing converted


def test_user_aliases_and_dialect_change_when_names_arrive() -> None:
    aliases = {"my/kl": "kl", "my/ent_loss": "-entropy"}
    log = GrowingLog("<monitor>", aliases=aliases)
    for i in range(20):
        log.add(i, {"my/kl": 0.01 * i, "my/ent_loss": -0.5, "kl": 0.2})
    _assert_same(log.signals(), _rebuilt(log, aliases))
    # a TRL name arriving later turns `kl` into KL to the reference for the whole run
    log.add(20, {"completions/mean_length": 100.0, "kl": 0.3})
    _assert_same(log.signals(), _rebuilt(log, aliases))


@pytest.mark.parametrize("resources", [True, False])
def test_monitor_signals_equal_a_full_rebuild(resources: bool) -> None:
    rng = np.random.default_rng(1)
    mon = Monitor(None, resources=resources)
    for i in range(120):
        mon.log((i + 1) * 2048, **_record(rng, i))
        if i % 40 == 0:
            mon.add_checkpoint((i + 1) * 2048, f"ckpt_{i}.pt")
            mon.add_checkpoint((i + 1) * 2048, f"ckpt_{i}.pt")  # a duplicate is listed once
        if i % 10 == 9:
            _assert_same(mon.signals(), _rebuilt(mon._log))


def test_points_a_restart_superseded_are_read_warnings_as_the_readers_word_them() -> None:
    from rlvet.monitor import Monitor
    from rlvet.signals.discover import signals_from_raws

    mon = Monitor(None, resources=False, throughput=False)
    for step in range(1, 11):
        mon.log(step, **{"train/approx_kl": 0.01 * step})
    for step in range(5, 9):  # resumed from an earlier checkpoint: steps 5-8 logged again
        mon.log(step, **{"train/approx_kl": 0.5})
    mon.signals()
    [warning] = mon.read_warnings
    assert "superseded by a restart" in warning and "6 point(s)" in warning
    _, report = signals_from_raws([mon._log.raw()], source="<monitor>")
    assert list(report.warnings) == [warning]  # one wording for files and the live path
