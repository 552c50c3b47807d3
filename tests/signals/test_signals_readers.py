"""Readers on real logs: an SB3 PPO run (csv + tensorboard), a CleanRL-style run, TF2-style
tensor scalars, and an HF/TRL GRPO trainer_state.json (see tests/data/make_reader_fixtures.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rlvet.signals import names as n
from rlvet.signals.checkpoints import checkpoint_step, find_checkpoints
from rlvet.signals.discover import find_logs, read_run, read_run_report, read_runs
from rlvet.signals.jsonl_writer import JsonlWriter
from rlvet.signals.sb3_csv import read_sb3_csv
from rlvet.signals.tensorboard import read_tensorboard
from rlvet.signals.trainer_state import rank_trainer_states

DATA = Path(__file__).resolve().parents[1] / "data" / "readers"
SB3 = DATA / "sb3_ppo_cartpole"
CLEANRL = DATA / "cleanrl_ppo_cartpole"
TENSORS = DATA / "tb_tensor_scalars"
HF = DATA / "hf_grpo"


def _events(folder: Path) -> Path:
    return next(folder.rglob("*tfevents*"))


def test_sb3_run_reads_csv_first_and_maps_every_sb3_name():
    run, report = read_run_report(SB3)
    assert run.formats == ("sb3_csv", "tensorboard")
    expected = {
        n.REWARD: "rollout/ep_rew_mean", n.EPISODE_LENGTH: "rollout/ep_len_mean",
        n.EVAL_RETURN: "eval/mean_reward", n.KL: "train/approx_kl",
        n.CLIP_FRACTION: "train/clip_fraction", n.ENTROPY: "train/entropy_loss",
        n.VALUE_LOSS: "train/value_loss", n.EXPLAINED_VARIANCE: "train/explained_variance",
        n.POLICY_LOSS: "train/policy_gradient_loss", n.LEARNING_RATE: "train/learning_rate",
        n.FPS: "time/fps", n.LOSS: "train/loss",
    }
    for key, raw in expected.items():
        assert run.raw_names[key] == raw
        assert report.sources[key] == f"sb3_csv:{raw}"  # CSV wins over the TB duplicate
    assert not report.warnings


def test_sb3_entropy_is_sign_flipped_entropy_loss():
    run = read_run(SB3)
    raw_steps, raw_values = read_sb3_csv(SB3 / "progress.csv").columns["train/entropy_loss"]
    entropy = run.get(n.ENTROPY)
    np.testing.assert_array_equal(entropy.steps, raw_steps)
    np.testing.assert_array_equal(entropy.values, -raw_values)
    assert np.all(entropy.values > 0)
    assert np.all(entropy.values <= np.log(2) + 1e-6)  # CartPole: 2 actions


def test_sb3_csv_and_tensorboard_agree_on_every_shared_tag():
    csv = read_sb3_csv(SB3 / "progress.csv").columns
    tb = read_tensorboard(_events(SB3)).columns
    assert set(tb) <= set(csv)  # SB3 leaves time/iterations etc. out of TensorBoard
    for tag, (steps, values) in tb.items():
        np.testing.assert_array_equal(steps, csv[tag][0], err_msg=tag)
        np.testing.assert_allclose(values, csv[tag][1], rtol=1e-6, err_msg=tag)  # float32


def test_sb3_steps_are_total_timesteps():
    run = read_run(SB3)
    np.testing.assert_array_equal(run.get(n.REWARD).steps, np.arange(256, 5121, 256))
    assert set(run.get(n.EVAL_RETURN).steps.tolist()) == {1024, 2048, 3072, 4096, 5120}


def test_a_single_event_file_is_a_run_too():
    run = read_run(_events(SB3))
    assert run.formats == ("tensorboard",)
    assert np.all(run.get(n.ENTROPY).values > 0)


def test_cleanrl_tags_map_to_canonical_names():
    run = read_run(CLEANRL)
    expected = {
        n.REWARD: "charts/episodic_return", n.EPISODE_LENGTH: "charts/episodic_length",
        n.LEARNING_RATE: "charts/learning_rate", n.FPS: "charts/SPS",
        n.VALUE_LOSS: "losses/value_loss", n.POLICY_LOSS: "losses/policy_loss",
        n.ENTROPY: "losses/entropy", n.KL: "losses/approx_kl",
        n.CLIP_FRACTION: "losses/clipfrac", n.EXPLAINED_VARIANCE: "losses/explained_variance",
    }
    for key, raw in expected.items():
        assert run.raw_names[key] == raw
    assert "losses/old_approx_kl" in run.series  # k1 estimator: kept under its own name
    assert np.all(run.get(n.ENTROPY).values > 0)  # CleanRL logs +entropy: no flip
    assert "hyperparameters/text_summary" in run.text


def test_tensor_encoded_scalars_and_text():
    log = read_tensorboard(_events(TENSORS))
    steps, kl = log.columns["tf2/kl"]  # float_val, plugin metadata on the first event only
    np.testing.assert_array_equal(steps, np.arange(0, 1000, 100))
    np.testing.assert_allclose(kl, 0.01 * np.arange(1, 11), rtol=1e-6)
    _, entropy = log.columns["tf2/entropy"]  # tensor_content, float64
    np.testing.assert_array_equal(entropy, 1.5 - 0.1 * np.arange(10))
    np.testing.assert_array_equal(log.columns["legacy/reward"][1], np.arange(10.0))
    assert "tf2/weights" not in log.columns  # a histogram is not a scalar
    assert log.text["eval_protocol/text_summary"][0] == (0, "greedy-T0-max512")


def test_trainer_state_prefers_largest_global_step_and_top_level_on_ties():
    ranked = rank_trainer_states(HF.rglob("trainer_state.json"))
    assert ranked[0] == HF / "trainer_state.json"
    assert ranked[-1] == HF / "checkpoint-20" / "trainer_state.json"
    run, report = read_run_report(HF)
    trainer_files = [path for fmt, path in report.files if fmt == "trainer_state"]
    assert trainer_files == [str(HF / "trainer_state.json")]
    assert "train_runtime" in run.series  # the final summary row: only the top-level file


def test_trl_grpo_names_and_hf_eval_keys():
    run, report = read_run_report(HF)
    for key in (n.REWARD, n.REWARD_STD, n.ZERO_STD_FRACTION, n.KL_REF, n.ENTROPY, n.LOSS,
                n.GRAD_NORM, n.LEARNING_RATE, n.CLIP_FRACTION, n.RESPONSE_LENGTH,
                "reward/accuracy_reward", "reward/format_reward", n.EVAL_RETURN,
                "eval/loss", "eval/response_length"):
        assert report.sources[key].startswith("trainer_state:"), key
    assert run.raw_names[n.RESPONSE_LENGTH] == "completions/mean_length"
    assert run.raw_names[n.CLIP_FRACTION] == "clip_ratio/region_mean"
    np.testing.assert_array_equal(run.get(n.EVAL_RETURN).steps, [20, 40])
    np.testing.assert_array_equal(run.get(n.REWARD).steps, np.arange(5, 41, 5))


def test_hf_tensorboard_duplicates_are_dropped_not_kept_twice():
    run, report = read_run_report(HF)
    assert run.formats == ("trainer_state", "tensorboard")
    assert not [key for key in run.series if key.startswith("train/")]
    assert not [src for src in report.sources.values() if src.startswith("tensorboard:")]


def test_hf_tensorboard_alone_maps_rewritten_names():
    run = read_run(_events(HF))
    assert run.raw_names[n.REWARD] == "train/reward"
    assert run.raw_names[n.EVAL_RETURN] == "eval/reward"
    assert run.raw_names["reward/accuracy_reward"] == "train/rewards/accuracy_reward/mean"


def test_checkpoints_found_in_the_run_directory():
    run = read_run(HF)
    assert [(c.step, Path(c.path).name) for c in run.checkpoints] == [
        (20, "checkpoint-20"), (40, "checkpoint-40")]


def test_checkpoint_names(tmp_path):
    for name in ("rl_model_1000_steps.zip", "rl_model_500_steps.zip", "best_model.zip",
                 "checkpoint_200.pt", "epoch=1-step=300.ckpt", "model-7.ckpt",
                 "rl_model_vecnormalize_1000_steps.pkl", "notes.txt"):
        (tmp_path / name).touch()
    (tmp_path / "checkpoint-30").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "rl_model_9_steps.zip").touch()
    found = find_checkpoints(tmp_path)
    assert [c.step for c in found] == [7, 30, 200, 300, 500, 1000]
    assert checkpoint_step("best_model.zip") is None
    assert checkpoint_step("checkpoint-30") is None  # only as a directory
    assert checkpoint_step("checkpoint-30", is_dir=True) == 30


def test_rlvet_jsonl_round_trip_with_text_and_nan(tmp_path):
    path = tmp_path / "run" / "metrics.jsonl"
    with JsonlWriter(path) as log:
        for step in range(0, 500, 100):
            log.write(step, {"reward": step / 100, "kl": float("nan") if step == 200 else 0.01,
                             "eval_protocol": "T0-max512" if step < 300 else "T1-max256",
                             "policy_lag": np.int64(2), "entropy": np.float32(1.0)})
    run = read_run(path.parent)
    assert run.formats == ("jsonl",)
    np.testing.assert_array_equal(run.get(n.REWARD).values, [0, 1, 2, 3, 4])
    assert np.isnan(run.get(n.KL).values[2])
    assert run.get(n.POLICY_LAG).values.tolist() == [2.0] * 5
    assert run.text["eval_protocol"] == ((0, "T0-max512"), (100, "T0-max512"),
                                         (200, "T0-max512"), (300, "T1-max256"),
                                         (400, "T1-max256"))


def test_jsonl_nested_records_and_other_step_keys(tmp_path):
    path = tmp_path / "result.json"  # Ray Tune: one nested JSON object per line
    path.write_text(
        '{"training_iteration": 1, "num_env_steps_sampled_lifetime": 4000, "env_runners": '
        '{"episode_return_mean": 20.5, "episode_len_mean": 20.5}, "learners": '
        '{"default_policy": {"entropy": 0.68, "mean_kl_loss": 0.01}}, "hist": [1, 2]}\n'
        '{"training_iteration": 2, "num_env_steps_sampled_lifetime": 8000, "env_runners": '
        '{"episode_return_mean": 31.0, "episode_len_mean": 31.0}, "learners": '
        '{"default_policy": {"entropy": 0.66, "mean_kl_loss": 0.02}}, "hist": [3]}\n')
    run, report = read_run_report(tmp_path)
    np.testing.assert_array_equal(run.get(n.REWARD).steps, [4000, 8000])
    np.testing.assert_array_equal(run.get(n.ENTROPY).values, [0.68, 0.66])
    assert run.raw_names[n.KL] == "learners/default_policy/mean_kl_loss"
    assert any("non-scalar" in w for w in report.warnings)


def test_jsonl_wins_over_tensorboard_for_the_same_name(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "tb").mkdir(parents=True)
    for src in CLEANRL.iterdir():
        (run_dir / "tb" / src.name).write_bytes(src.read_bytes())
    with JsonlWriter(run_dir / "metrics.jsonl") as log:
        log.write(0, {"reward": 123.0})
    run, report = read_run_report(run_dir)
    assert report.sources[n.REWARD] == "jsonl:reward"
    assert run.get(n.REWARD).values.tolist() == [123.0]
    assert report.sources[n.KL] == "tensorboard:losses/approx_kl"
    assert "charts/episodic_return" not in run.series  # same metric, lower format: dropped


def test_find_logs_and_read_runs():
    formats = sorted(log.format for log in find_logs(DATA))
    assert formats.count("tensorboard") == 4
    assert formats.count("trainer_state") == 3
    runs = read_runs([SB3, CLEANRL])
    assert [r.source for r in runs] == [str(SB3), str(CLEANRL)]


def test_series_are_sorted_and_read_only():
    run = read_run(CLEANRL)
    for series in run.series.values():
        assert np.all(np.diff(series.steps) >= 0)
        assert series.steps.dtype == np.int64 and series.values.dtype == np.float64
        with pytest.raises(ValueError):
            series.values[0] = 0.0
