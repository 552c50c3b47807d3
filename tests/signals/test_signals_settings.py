"""Recorded settings of runs rlvet did not train: SB3's saved ``data``, CleanRL's text."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from rlvet.signals.discover import read_run_report
from rlvet.signals.settings import RecordedSettings, detect_framework, read_settings

RUNS = Path(__file__).parents[1] / "data" / "runs"


def _read(root: Path) -> RecordedSettings | None:
    signals, _ = read_run_report(root)
    return read_settings(root, signals, sorted(root.glob("*.zip")))


def test_sb3_checkpoint_records_its_hyperparameters(tmp_path: Path) -> None:
    root = tmp_path / "run"
    shutil.copytree(RUNS / "lr_too_high_ppo", root)
    (root / "0.monitor.csv").write_text('#{"t_start": 1.0, "env_id": "CartPole-v1"}\n'
                                        "r,l,t\n10.0,10,0.1\n", encoding="utf-8")
    s = _read(root)
    assert s is not None and s.framework == "sb3"
    assert (s.env_id, s.seed, s.learning_rate) == ("CartPole-v1", 0, 0.05)
    assert s.values["algo"] == "PPO" and s.values["gamma"] == 0.98
    assert "num_timesteps" not in s.values and "_last_obs" not in s.values


def test_cleanrl_hyperparameters_text_is_read() -> None:
    s = _read(RUNS / "cleanrl_healthy_ppo")
    assert s is not None and s.framework == "cleanrl"
    assert (s.env_id, s.seed, s.learning_rate) == ("CartPole-v1", 0, 0.00025)
    assert s.values["anneal_lr"] is True and s.values["target_kl"] is None


def test_logs_alone_record_no_settings_but_name_their_framework() -> None:
    signals, _ = read_run_report(RUNS / "plateau_ppo")
    assert read_settings(RUNS / "plateau_ppo", signals, ()) is None
    assert detect_framework(signals) == "sb3"


def test_a_zip_that_is_not_sb3_or_is_damaged_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "run"
    shutil.copytree(RUNS / "plateau_ppo", root)
    with zipfile.ZipFile(root / "weights.zip", "w") as zf:
        zf.writestr("other.txt", "x")
    (root / "broken.zip").write_bytes(b"PK\x03\x04 not a zip")
    assert _read(root) is None
