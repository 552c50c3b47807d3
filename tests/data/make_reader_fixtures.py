"""Record the log fixtures of the ``signals/`` reader tests into tests/data/readers/.

Run from the repository root (about a minute on one core):

    .venv/bin/python tests/data/make_reader_fixtures.py

It writes, replacing what is there:

``sb3_ppo_cartpole/``
    A real SB3 PPO run on CartPole-v1 (5120 steps, ``n_steps=256``) whose logger writes
    ``progress.csv`` and a TensorBoard event file into the same directory, plus an
    ``EvalCallback`` every 1024 steps (``eval/mean_reward``). Same values in both files.
``cleanrl_ppo_cartpole/``
    A real CleanRL-style PPO run (tests/data/cleanrl_ppo.py, CleanRL's exact tags,
    written with torch's ``SummaryWriter``), 5120 steps.
``tb_tensor_scalars/``
    An event file written with tensorboard's own ``EventFileWriter``: TF2-style
    tensor-encoded scalars (``float_val`` and ``tensor_content``, plugin metadata on a
    tag's first event only), a text summary, a histogram (to be skipped) and one
    ``simple_value`` tag.
``hf_grpo/``
    A TRL-GRPO-shaped ``trainer_state.json`` written by hand to the HF format
    (``json.dumps(asdict(state), indent=2, sort_keys=True)``): ``checkpoint-20/``,
    ``checkpoint-40/`` and the top-level file ``save_state()`` writes, plus the
    TensorBoard file HF's ``TensorBoardCallback`` would write beside it (keys rewritten by
    ``rewrite_logs``: ``x`` -> ``train/x``, ``eval_x`` -> ``eval/x``). Replace it with a real
    TRL run when one is affordable in CI.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "readers"
SEED = 0


def make_sb3(out: Path) -> None:
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.monitor import Monitor

    torch.set_num_threads(1)
    model = PPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=256, batch_size=64, n_epochs=4,
                seed=SEED, device="cpu", verbose=0)
    model.set_logger(configure(str(out), ["csv", "tensorboard"]))
    evaluate = EvalCallback(Monitor(gym.make("CartPole-v1")), eval_freq=1024, n_eval_episodes=3,
                            deterministic=True, verbose=0)
    model.learn(total_timesteps=5120, callback=evaluate)


def make_cleanrl(out: Path) -> None:
    sys.path.insert(0, str(HERE))
    from cleanrl_ppo import Args, train_cleanrl  # the project's CleanRL transcription

    train_cleanrl(Args(total_timesteps=5120, seed=SEED), out)


def make_tensor_scalars(out: Path) -> None:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.types_pb2 import DT_DOUBLE
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util.tensor_util import make_tensor_proto

    def meta(plugin: str) -> SummaryMetadata:
        return SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=plugin))

    writer = EventFileWriter(str(out))
    for i, step in enumerate(range(0, 1000, 100)):
        first = i == 0
        kl = Summary.Value(tag="tf2/kl", tensor=make_tensor_proto(np.float32(0.01 * (i + 1))))
        ent = Summary.Value(tag="tf2/entropy", tensor=TensorProto(
            dtype=DT_DOUBLE, tensor_shape=make_tensor_proto(0.0).tensor_shape,
            tensor_content=np.float64(1.5 - 0.1 * i).tobytes()))
        hist = Summary.Value(tag="tf2/weights", tensor=make_tensor_proto(
            np.array([[0.0, 1.0, 3.0], [1.0, 2.0, 5.0]])))
        text = Summary.Value(tag="eval_protocol/text_summary",
                             tensor=make_tensor_proto(np.array([b"greedy-T0-max512"])))
        if first:
            for value, plugin in ((kl, "scalars"), (ent, "scalars"), (hist, "histograms"),
                                  (text, "text")):
                value.metadata.CopyFrom(meta(plugin))
        simple = Summary.Value(tag="legacy/reward", simple_value=float(i))
        summary = Summary(value=[kl, ent, hist, text, simple])
        writer.add_event(Event(wall_time=1.7e9 + i, step=step, summary=summary))
    writer.close()


def _grpo_row(step: int, rng: np.random.Generator) -> dict[str, float | int]:
    """One TRL GRPOTrainer log row (logging_steps=5, 2 reward functions, beta=0.04)."""
    progress = step / 40
    acc, fmt = 0.2 + 0.5 * progress + 0.05 * rng.standard_normal(), 0.6 + 0.3 * progress
    mean_len = 180.0 - 60.0 * progress + 5 * rng.standard_normal()
    return {
        "clip_ratio/high_max": 0.0, "clip_ratio/high_mean": 0.0, "clip_ratio/low_mean": 0.0,
        "clip_ratio/low_min": 0.0, "clip_ratio/region_mean": float(0.002 * rng.random()),
        "completions/clipped_ratio": round(0.1 * (1 - progress), 4),
        "completions/max_length": 256.0, "completions/max_terminated_length": 240.0,
        "completions/mean_length": mean_len, "completions/mean_terminated_length": mean_len,
        "completions/min_length": 31.0, "completions/min_terminated_length": 31.0,
        "entropy": 0.9 - 0.3 * progress, "epoch": round(step / 40, 4),
        "frac_reward_zero_std": round(0.5 - 0.3 * progress, 4),
        "grad_norm": float(0.5 + rng.random()), "kl": 0.0005 * step,
        "learning_rate": 1e-06 * (1 - (step - 1) / 40), "loss": round(0.01 * rng.random(), 4),
        "num_tokens": 4096.0 * step, "reward": acc + fmt, "reward_std": 0.4 - 0.1 * progress,
        "rewards/accuracy_reward/mean": acc, "rewards/accuracy_reward/std": 0.45,
        "rewards/format_reward/mean": fmt, "rewards/format_reward/std": 0.3,
        "step": step, "step_time": 1.9 + 0.1 * rng.random(),
    }


def _eval_row(step: int) -> dict[str, float | int]:
    return {"epoch": step / 40, "eval_completions/mean_length": 170.0 - step,
            "eval_loss": 0.004, "eval_reward": 0.7 + step / 100,
            "eval_rewards/accuracy_reward/mean": 0.2 + step / 100, "eval_runtime": 12.5,
            "eval_samples_per_second": 1.28, "eval_steps_per_second": 0.16, "step": step}


def _trainer_state(history: list[dict], global_step: int) -> dict:
    return {
        "best_global_step": None, "best_metric": None, "best_model_checkpoint": None,
        "epoch": global_step / 40, "eval_steps": 20, "global_step": global_step,
        "is_hyper_param_search": False, "is_local_process_zero": True,
        "is_world_process_zero": True, "log_history": history, "logging_steps": 5,
        "max_steps": 40, "num_input_tokens_seen": 0, "num_train_epochs": 1, "save_steps": 20,
        "stateful_callbacks": {"TrainerControl": {"args": {
            "should_epoch_stop": False, "should_evaluate": False, "should_log": False,
            "should_save": True, "should_training_stop": global_step == 40},
            "attributes": {}}},
        "total_flos": 0.0, "train_batch_size": 8, "trial_name": None, "trial_params": None,
    }


def _write_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


def _rewrite_logs(row: dict) -> dict:
    """transformers.integrations.integration_utils.rewrite_logs, minus the step."""
    out = {}
    for key, value in row.items():
        if key == "step":
            continue
        if key.startswith("eval_"):
            out["eval/" + key[len("eval_"):]] = value
        elif key.startswith("test_"):
            out["test/" + key[len("test_"):]] = value
        else:
            out["train/" + key] = value
    return out


def make_hf_grpo(out: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    rng = np.random.default_rng(SEED)
    history: list[dict] = []
    for step in range(5, 41, 5):
        history.append(_grpo_row(step, rng))
        if step % 20 == 0:
            history.append(_eval_row(step))
            _write_state(out / f"checkpoint-{step}" / "trainer_state.json",
                         _trainer_state(list(history), step))
    history.append({"epoch": 1.0, "step": 40, "total_flos": 0.0, "train_loss": 0.0041,
                    "train_runtime": 95.21, "train_samples_per_second": 3.361,
                    "train_steps_per_second": 0.42})
    _write_state(out / "trainer_state.json", _trainer_state(history, 40))
    writer = SummaryWriter(str(out / "runs" / "Nov23_07-00-00_host"))
    for row in history:
        for key, value in _rewrite_logs(row).items():
            if isinstance(value, int | float):
                writer.add_scalar(key, value, row["step"])
    writer.close()


def main() -> None:
    makers = {"sb3_ppo_cartpole": make_sb3, "cleanrl_ppo_cartpole": make_cleanrl,
              "tb_tensor_scalars": make_tensor_scalars, "hf_grpo": make_hf_grpo}
    for name, make in makers.items():
        target = OUT / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        start = time.perf_counter()
        make(target)
        size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
        print(f"{name}: {size / 1024:.0f} KiB in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
