"""Cost of ``Monitor.log`` (and of a live ``verdict()``) relative to one PPO update.

Run:
    .venv/bin/python benchmarks/monitor_overhead.py [--markdown]

One PPO update is SB3's ``model.train()`` on a filled rollout buffer, timed directly, for two
reference sizes: SB3's defaults (n_steps 2048, batch 64, 10 epochs) and rl-zoo's CartPole-v1
config (8 envs x 32 steps, batch 256, 20 epochs). ``Monitor.log`` is timed with the metrics
SB3 logs per update (about 15 keys) appended to a real JSONL file, flushed per record.
``verdict()`` runs every doctor detector over 200 logged updates.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from rlvet.monitor import Monitor

SB3_KEYS = (
    "train/approx_kl", "train/clip_fraction", "train/entropy_loss", "train/explained_variance",
    "train/value_loss", "train/policy_gradient_loss", "train/loss", "train/learning_rate",
    "train/clip_range", "train/n_updates", "rollout/ep_rew_mean", "rollout/ep_len_mean",
    "time/fps", "time/iterations", "time/total_timesteps",
)
CONFIGS = {
    "SB3 default PPO (2048 steps, batch 64, 10 epochs)": dict(n_steps=2048, batch_size=64,
                                                              n_epochs=10, n_envs=1),
    "rl-zoo CartPole PPO (8x32 steps, batch 256, 20 epochs)": dict(n_steps=32, batch_size=256,
                                                                   n_epochs=20, n_envs=8),
}


def _median_seconds(fn: Callable[[], None], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ppo_update_seconds(n_steps: int, batch_size: int, n_epochs: int, n_envs: int) -> float:
    """Median wall time of one ``model.train()`` call on a filled buffer."""
    env = make_vec_env("CartPole-v1", n_envs=n_envs, seed=0)
    model = PPO("MlpPolicy", env, n_steps=n_steps, batch_size=batch_size, n_epochs=n_epochs,
                seed=0, device="cpu", verbose=0)
    model.learn(total_timesteps=n_steps * n_envs)  # fills the rollout buffer once
    return _median_seconds(model.train, repeats=5)


def monitor_log_seconds(folder: Path, calls: int = 5000) -> float:
    """Median per-call time of ``Monitor.log`` over blocks of calls."""
    rng = np.random.default_rng(0)
    values = {k: float(v) for k, v in zip(SB3_KEYS, rng.random(len(SB3_KEYS)), strict=True)}
    with Monitor(folder / "bench.jsonl") as mon:
        block = 500
        step = [0]

        def run_block() -> None:
            for _ in range(block):
                step[0] += 2048
                mon.log(step[0], **values)

        return _median_seconds(run_block, repeats=calls // block) / block


def verdict_seconds(updates: int = 200) -> float:
    """Median time of one live ``verdict()`` after ``updates`` logged updates."""
    rng = np.random.default_rng(1)
    mon = Monitor(None)
    for i in range(updates):
        mon.log((i + 1) * 2048, **{
            "train/approx_kl": float(0.01 + 0.002 * rng.random()),
            "train/clip_fraction": float(0.1 + 0.02 * rng.random()),
            "train/entropy_loss": -0.69 + 0.001 * i,
            "train/explained_variance": float(min(0.95, i / 50)),
            "train/value_loss": float(10 * rng.random()),
            "rollout/ep_rew_mean": float(20 + 2 * i), "time/fps": float(2500 + rng.random()),
        })
    return _median_seconds(lambda: mon.verdict(), repeats=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("command: .venv/bin/python benchmarks/monitor_overhead.py"
          + (" --markdown" if args.markdown else ""))
    with tempfile.TemporaryDirectory() as folder:
        log_s = monitor_log_seconds(Path(folder))
    verdict_s = verdict_seconds()
    rows = []
    for label, cfg in CONFIGS.items():
        update_s = ppo_update_seconds(**cfg)
        rows.append((label, update_s, log_s / update_s, verdict_s / update_s))
    sep = " | "
    print(f"Monitor.log: {log_s * 1e6:.1f} us per call ({len(SB3_KEYS)} metrics, JSONL flushed "
          f"per record); verdict() over 200 updates: {verdict_s * 1e3:.1f} ms")
    header = ("PPO update", "update (median)", "Monitor.log / update", "verdict() / update")
    if args.markdown:
        print("| " + sep.join(header) + " |\n|" + "---|" * len(header))
    else:
        print(sep.join(header))
    for label, update_s, log_ratio, verdict_ratio in rows:
        line = sep.join((label, f"{update_s * 1e3:.1f} ms", f"{log_ratio:.4%}",
                         f"{verdict_ratio:.2%}"))
        print(f"| {line} |" if args.markdown else line)


if __name__ == "__main__":
    main()
