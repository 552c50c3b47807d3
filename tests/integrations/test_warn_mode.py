"""Warn mode: ``verbose=1`` without ``stop_on_error`` prints each new finding once, for the
SB3 and the TRL callback (issue 17: a whole run used to print nothing)."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rlvet.doctor.live import LivePolicy
from rlvet.integrations.announce import FindingAnnouncer

EVERY_LOG = LivePolicy(budget=1e9)


def test_sb3_user_script_prints_findings_without_stopping(tmp_path: Path) -> None:
    pytest.importorskip("stable_baselines3")
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import torch
        from stable_baselines3 import PPO
        from rlvet.integrations.sb3 import RlvetCallback
        torch.set_num_threads(1)
        cb = RlvetCallback("rlvet.jsonl", stop_on_error=False, verbose=1)
        model = PPO("MlpPolicy", "CartPole-v1", n_steps=128, batch_size=64, n_epochs=20,
                    learning_rate=0.05, clip_range=100.0, seed=0, device="cpu", verbose=0)
        model.learn(total_timesteps=3072, callback=cb)
        print("steps", model.num_timesteps, "decision", cb.last_decision.action.value)
    """), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("rlvet: step")]
    assert lines, proc.stdout  # something was said
    keys = [ln.split(": ", 2)[2].split(" [")[0] for ln in lines]  # "error kl_spike"
    assert len(keys) == len(set(keys))  # each finding once
    assert "steps 3072" in proc.stdout  # warn mode never stops training


def test_trl_callback_warn_mode_prints_each_finding_once(
        capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("trl")
    from types import SimpleNamespace

    from transformers import TrainerControl, TrainerState

    from rlvet.integrations.trl import RlvetTrlCallback

    args = SimpleNamespace(world_size=1, output_dir="out")
    cb = RlvetTrlCallback(None, verbose=1, policy=EVERY_LOG)
    control = TrainerControl()
    cb.on_train_begin(args, TrainerState(), control)
    for step, kl in enumerate([0.01] * 12 + [2.0] * 12, start=1):
        state = TrainerState()
        state.global_step = step
        cb.on_log(args, state, control, logs={"kl": kl})
    cb.on_train_end(args, state, control)
    out = capsys.readouterr().out
    assert not control.should_training_stop
    assert out.count("kl_spike") == 1, out
    assert "error kl_spike [policy_update]" in out


def test_announcer_is_quiet_at_verbose_0() -> None:
    stream = io.StringIO()
    assert FindingAnnouncer(0, stream).announce(None, 1) == []
    assert stream.getvalue() == ""
