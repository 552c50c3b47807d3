"""``RlvetCallback`` inside real Stable-Baselines3 training."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("stable_baselines3")

import torch  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402

from rlvet.integrations.sb3 import RlvetCallback  # noqa: E402
from rlvet.signals.discover import read_run  # noqa: E402


@pytest.mark.slow
def test_callback_records_sb3_metrics_and_stops_a_broken_run(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    path = tmp_path / "rlvet.jsonl"
    callback = RlvetCallback(path, stop_on_error=True)
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=256, batch_size=64, n_epochs=30,
                learning_rate=0.05, clip_range=100.0, seed=0, device="cpu")
    model.learn(total_timesteps=60_000, callback=callback)
    run = read_run(path)
    assert {"kl", "entropy", "reward", "clip_fraction"} <= set(run.names())
    decision = callback.last_decision
    assert decision is not None and decision.finding is not None
    # a learning rate of 0.05 with clipping off breaks the trust region: training stopped
    assert model.num_timesteps < 60_000
    assert decision.finding.stage in {"policy_update", "exploration", "numerics", "critic"}


def test_a_named_eval_metric_is_waited_for_not_a_crash(tmp_path: Path) -> None:
    """EvalCallback logs ``eval/mean_reward`` every eval_freq steps: before the first
    evaluation the callback has nothing to judge reward hacking with, and must train on."""
    import gymnasium
    from stable_baselines3.common.callbacks import CallbackList, EvalCallback

    from rlvet.doctor.live import LivePolicy

    torch.set_num_threads(1)
    callback = RlvetCallback(None, eval_metric="eval/mean_reward",
                             policy=LivePolicy(budget=1e9, warmup_updates=0))
    evaluate = EvalCallback(gymnasium.make("CartPole-v1"), eval_freq=1024,
                            n_eval_episodes=2, verbose=0)
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=128, batch_size=64, n_epochs=1, seed=0,
                device="cpu")
    model.learn(total_timesteps=2048, callback=CallbackList([callback, evaluate]))
    assert model.num_timesteps >= 2048  # trained to the end, verdicts waited for the eval
    assert callback.last_decision is not None
    assert callback.last_decision.diagnosis.metrics["eval_metric"] == "eval_return"
