"""Synthetic runs shaped like real SB3 logs, for the doctor's unit tests.

``ppo_run`` mimics SB3 PPO on CartPole with the rl-zoo settings: 8 envs x 32 steps, so one
row every 256 env steps; train/* from the second row on; an EvalCallback every 5000 steps;
a cumulative ``time/fps``. Healthy values follow what a real run logs: approx_kl ~0.01,
clip_fraction ~0.1, entropy 0.69 -> 0.2, explained variance rising to ~0.9, the return
20 -> 480. Tests break one signal at a time through ``overrides``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pytest

from rlvet.signals.series import Checkpoint, RunSignals, Series

ROW = 256  # env steps between SB3 PPO log rows (n_steps 32 x 8 envs)
EVAL_EVERY = 5000

RAW = {
    "reward": "rollout/ep_rew_mean", "episode_length": "rollout/ep_len_mean",
    "eval_return": "eval/mean_reward", "kl": "train/approx_kl",
    "clip_fraction": "train/clip_fraction", "entropy": "train/entropy_loss",
    "explained_variance": "train/explained_variance", "value_loss": "train/value_loss",
    "loss": "train/loss", "fps": "time/fps",
}

Override = np.ndarray | Callable[[np.ndarray], np.ndarray] | None


def logistic(x: np.ndarray, lo: float, hi: float, mid: float, width: float) -> np.ndarray:
    """A learning curve from ``lo`` to ``hi``, half-way at ``mid`` (same units as ``x``)."""
    return lo + (hi - lo) / (1.0 + np.exp(-(x - mid) / width))


def healthy_ppo(n_rows: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Healthy SB3-PPO-like signals: name -> (steps, values)."""
    rng = np.random.default_rng(seed)
    steps = ROW * np.arange(1, n_rows + 1)
    total = steps[-1]
    t = steps[1:]  # train/* appears from the second row
    m = t.size
    reward = logistic(steps, 20.0, 480.0, 0.35 * total, 0.08 * total) + rng.normal(0, 2, n_rows)
    ent = logistic(t, 0.69, 0.2, 0.4 * total, 0.12 * total) + rng.normal(0, 0.02, m)
    e_steps = np.arange(EVAL_EVERY, total + 1, EVAL_EVERY)
    eval_ret = np.clip(logistic(e_steps, 20.0, 500.0, 0.3 * total, 0.06 * total)
                       + rng.normal(0, 25, e_steps.size), 9, 500)
    return {
        "reward": (steps, reward),
        "episode_length": (steps, reward.copy()),
        "eval_return": (e_steps, eval_ret),
        "kl": (t, rng.lognormal(np.log(0.008), 0.6, m)),
        "clip_fraction": (t, np.clip(rng.normal(0.1, 0.04, m), 0, 1)),
        "entropy": (t, ent),
        "explained_variance": (t, np.clip(logistic(t, 0.0, 0.92, 0.05 * total, 0.02 * total)
                                          + rng.normal(0, 0.05, m), -1, 1)),
        "value_loss": (t, logistic(t, 15.0, 0.5, 0.3 * total, 0.1 * total)
                       * rng.lognormal(0, 0.3, m)),
        "loss": (t, rng.normal(1.0, 0.5, m)),
        "fps": (steps, 2500.0 + rng.normal(0, 30, n_rows)),
    }


def to_run(
    data: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    checkpoints: tuple[Checkpoint, ...] = (),
    text: Mapping[str, tuple[tuple[int, str], ...]] | None = None,
) -> RunSignals:
    """RunSignals from name -> (steps, values), with SB3's raw names where known."""
    series = {k: Series.from_lists(s, v) for k, (s, v) in data.items()}
    return RunSignals(source="synthetic", series=series,
                      raw_names={k: RAW.get(k, k) for k in series}, formats=("synthetic",),
                      checkpoints=checkpoints, text=dict(text or {}))


def build_ppo(
    n_rows: int = 200,
    seed: int = 0,
    checkpoints: tuple[Checkpoint, ...] = (),
    text: Mapping[str, tuple[tuple[int, str], ...]] | None = None,
    **overrides: Override,
) -> RunSignals:
    """A healthy PPO run with some signals replaced.

    An override is an array (new values on the same steps), a function of the healthy
    values, or None to drop the signal.
    """
    data = healthy_ppo(n_rows, seed)
    for name, new in overrides.items():
        if new is None:
            data.pop(name, None)
            continue
        steps, values = data[name]
        data[name] = (steps, new(values) if callable(new) else np.asarray(new, dtype=float))
    return to_run(data, checkpoints=checkpoints, text=text)


def build_dqn(n_rows: int = 150, seed: int = 0) -> RunSignals:
    """A healthy SB3-DQN-like run: only loss, reward, episode length, eval and fps.

    ``learning_starts`` at step 1000: before it the agent only acts, at ~10x the speed, and
    ``time/fps`` is SB3's cumulative average.
    """
    rng = np.random.default_rng(seed)
    steps = np.sort(rng.choice(np.arange(50, 50_000), n_rows, replace=False))
    total = steps[-1]
    reward = logistic(steps, 20.0, 200.0, 0.4 * total, 0.1 * total) + rng.normal(0, 3, n_rows)
    start = 1000
    elapsed = np.where(steps < start, steps / 10_000.0, start / 10_000.0 + (steps - start) / 600.0)
    fps = np.floor(steps / elapsed)
    train = steps >= start + 500
    e_steps = np.arange(5000, 50_001, 5000)
    eval_ret = rng.choice([16.0, 93.0, 130.0, 145.0, 352.0, 500.0], e_steps.size)
    return to_run({
        "reward": (steps, reward),
        "episode_length": (steps, reward.copy()),
        "eval_return": (e_steps, eval_ret),
        "loss": (steps[train], rng.lognormal(np.log(0.5), 0.3, int(train.sum()))),
        "fps": (steps, fps),
    })


@pytest.fixture
def ppo() -> Callable[..., RunSignals]:
    """Builder of SB3-PPO-like runs (see ``build_ppo``)."""
    return build_ppo


@pytest.fixture
def dqn() -> Callable[..., RunSignals]:
    """Builder of SB3-DQN-like runs (see ``build_dqn``)."""
    return build_dqn
