"""``Monitor``: live diagnosis that matches the offline doctor on the JSONL it wrote."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rlvet.doctor.diagnose import diagnose
from rlvet.findings import Category
from rlvet.monitor import Action, Monitor
from rlvet.signals.discover import read_run


def _healthy_then_nan(mon: Monitor, n: int = 60, break_at: int = 40) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        step = (i + 1) * 2048
        broken = i >= break_at
        mon.log(step, **{
            "train/approx_kl": float(0.01 + 0.002 * rng.standard_normal()),
            "train/entropy_loss": -0.69 + 0.002 * i,
            "train/value_loss": math.nan if broken else float(5.0 + rng.standard_normal()),
            "rollout/ep_rew_mean": float(20 + 3 * i),
        })
        if i % 10 == 0:
            mon.add_checkpoint(step, f"ckpt_{step}.pt")


def test_monitor_appends_jsonl_and_agrees_with_offline_doctor(tmp_path: Path) -> None:
    path = tmp_path / "run" / "metrics.jsonl"
    with Monitor(path, on_error="rollback") as mon:
        _healthy_then_nan(mon)
        first = mon.verdict()  # the break is seen once: not yet confirmed
        mon.log(61 * 2048, **{"train/value_loss": math.nan})
        decision = mon.verdict()
    assert first.action is Action.CONTINUE
    assert first.diagnosis.first_break is not None
    assert decision.action is Action.ROLLBACK
    assert decision.finding is not None
    assert decision.finding.category == Category.NUMERICAL_INSTABILITY
    assert decision.checkpoint is not None and decision.checkpoint.step < 41 * 2048
    lines = path.read_text().splitlines()
    assert len(lines) == 61  # every record on disk, one line each
    offline = diagnose(read_run(path))
    live = decision.diagnosis
    assert [f.to_dict() for f in offline.findings] == [f.to_dict() for f in live.findings]
    assert offline.first_break is not None and live.first_break is not None
    assert offline.first_break.to_dict() == live.first_break.to_dict()  # NaN-safe


def test_monitor_continues_on_healthy_metrics() -> None:
    mon = Monitor(None)
    rng = np.random.default_rng(1)
    for i in range(40):
        mon.log((i + 1) * 1000, kl=float(0.01 + 0.001 * rng.random()),
                entropy=0.69 - 0.003 * i, reward=float(10 + 5 * i + rng.random()))
    assert mon.verdict().action is Action.CONTINUE
