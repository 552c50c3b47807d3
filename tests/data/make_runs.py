"""Train small real RL runs (healthy and pathological) whose logs test ``rlvet doctor``.

Every run trains Stable-Baselines3 (or a CleanRL-style PPO, see ``cleanrl_ppo.py``) on a
Gymnasium env and writes, under ``<out>/<name>/``:

* ``progress.csv`` and a TensorBoard events file (SB3 logger, ``["csv", "tensorboard"]``);
* ``eval/mean_reward`` from an ``EvalCallback`` on the TRUE, unmodified env
  (>= 10 evaluations, 5 episodes each, deterministic);
* for a few runs, 3 checkpoints ``rl_model_<steps>_steps.zip``.

After training, each run's log is checked for the pathology it is meant to show: the check
computes the evidence from the log itself and the result goes into ``manifest.json``.
A run whose check fails is reported (exit code 1) instead of being silently kept.

Usage::

    python tests/data/make_runs.py                       # all 18 runs, ~14 min on 1 core
    python tests/data/make_runs.py --only lr_too_high_ppo --only healthy_ppo_cartpole
    python tests/data/make_runs.py --out /tmp/runs --no-train   # re-check existing logs
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "runs"
SEED = 0


# --------------------------------------------------------------------------------------
# Reward / env wrappers that create the pathologies
# --------------------------------------------------------------------------------------


class RightExitBonus(gym.Wrapper):
    """Gameable proxy reward for CartPole: the env's +1 per step plus ``bonus`` for leaving
    the track on the right (x > 2.4).

    Meant as a "reach the right end of the track" goal, it pays more for running off the
    track, which ends the episode and fails the true task (balancing for 500 steps), than
    balancing ever earns. The agent first learns to balance (both rewards rise), then finds
    the exit: the proxy keeps rising while the true return falls.
    """

    def __init__(self, env: gym.Env, bonus: float = 1000.0):
        super().__init__(env)
        self.bonus = bonus

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        proxy = float(reward)
        if terminated and float(obs[0]) > 2.4:
            proxy += self.bonus
        return obs, proxy, terminated, truncated, info


class GoalOnlyReward(gym.Wrapper):
    """Sparse MountainCar: reward 1 on reaching the goal, 0 on every other step."""

    def step(self, action):
        obs, _reward, terminated, truncated, info = self.env.step(action)
        return obs, (1.0 if terminated else 0.0), terminated, truncated, info


class ScaleReward(gym.Wrapper):
    """Multiply the reward by ``scale`` (a sign flip with -1, a huge scale with 1e4)."""

    def __init__(self, env: gym.Env, scale: float = 1.0):
        super().__init__(env)
        self.scale = scale

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float(reward) * self.scale, terminated, truncated, info


class ActionIgnored(gym.Wrapper):
    """Harness bug: the env executes a random action instead of the agent's.

    Nothing the policy does changes the outcome, so the return cannot improve while the
    update mechanics (KL, clipping, critic fit) look normal.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.rng = np.random.default_rng(0)

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed + 7919)
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        return self.env.step(int(self.rng.integers(self.env.action_space.n)))


class ProgressiveSlowdown(gym.Wrapper):
    """After ``start`` steps of this env, sleep ``slope * (steps - start)`` s per step.

    Simulates an env whose step time grows (a leaking simulator, a throttled host).
    The sleep is capped at ``max_sleep`` seconds.
    """

    def __init__(self, env: gym.Env, start: int, slope: float, max_sleep: float):
        super().__init__(env)
        self.start, self.slope, self.max_sleep = start, slope, max_sleep
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if self.steps > self.start:
            time.sleep(min(self.max_sleep, self.slope * (self.steps - self.start)))
        return self.env.step(action)


WRAPPERS: dict[str, Callable[..., gym.Env]] = {
    "right_exit_bonus": RightExitBonus,
    "goal_only": GoalOnlyReward,
    "scale": ScaleReward,
    "action_ignored": ActionIgnored,
    "slowdown": ProgressiveSlowdown,
}


# --------------------------------------------------------------------------------------
# Run specifications
# --------------------------------------------------------------------------------------


def linear(start: float) -> Callable[[float], float]:
    """rl-zoo's ``lin_<value>`` schedule: decays from ``start`` to 0 over training."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * start

    return schedule


SMALL_NETS = {"net_arch": {"pi": [64, 64], "vf": [64, 64]}}

# rl-zoo hyperparameters for PPO on CartPole-v1 (hyperparams/ppo.yml), small separate nets.
ZOO_PPO_CARTPOLE: dict[str, Any] = {
    "n_steps": 32,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "ent_coef": 0.0,
    "learning_rate": "lin_1e-3",
    "clip_range": "lin_0.2",
    "policy_kwargs": SMALL_NETS,
}


def zoo_ppo(**overrides: Any) -> dict[str, Any]:
    cfg = dict(ZOO_PPO_CARTPOLE)
    cfg.update(overrides)
    return cfg


@dataclass(frozen=True)
class RunSpec:
    name: str
    algo: str  # "ppo" | "a2c" | "dqn" | "cleanrl"
    env_id: str
    total_steps: int
    hyper: dict[str, Any]
    expected: str | None  # first-break category; None for a healthy run
    n_envs: int = 8
    wrapper: str | None = None
    wrapper_kwargs: dict[str, Any] = field(default_factory=dict)
    wrap_eval: bool = False  # the wrapper is a bug in the env factory: eval sees it too
    checkpoints: bool = False
    log_interval: int = 4
    n_evals: int = 12
    healthy_min: float | None = None  # healthy runs: mean of the last 3 evals must reach it
    also_present: tuple[str, ...] = ()  # other categories the log shows (checked, not assumed)
    # healthy runs: what a naive threshold detector would flag, and why it is not a break
    traps: dict[str, str] = field(default_factory=dict)
    note: str = ""


RUNS: list[RunSpec] = [
    # ---------------------------------------------------------------- healthy
    RunSpec(
        "healthy_ppo_cartpole", "ppo", "CartPole-v1", 100_000, zoo_ppo(), None,
        checkpoints=True,
        note="rl-zoo PPO CartPole-v1 hyperparameters. Once solved (episodes of 500 steps) "
        "explained_variance goes negative (below -1 from 32k steps, min -9.9) while "
        "value_loss is ~5e-6: the returns are nearly constant, so EV is meaningless there, "
        "not a critic failure.",
    ),
    RunSpec(
        "healthy_a2c_cartpole", "a2c", "CartPole-v1", 150_000,
        {"ent_coef": 0.0, "policy_kwargs": {"net_arch": [64, 64]}}, None,
        log_interval=100,
        traps={"critic_failure": "not a failure: from 16k to 68k steps explained_variance is "
               "~0 but value_loss falls 5.3 -> 0.34 and the return rises 106 -> 321; SB3's "
               "A2C computes explained_variance over one 40-sample rollout (8 envs x 5 steps) "
               "of nearly constant bootstrapped returns, so EV is noise there"},
        note="rl-zoo A2C CartPole-v1 hyperparameters (SB3 defaults, 8 envs, ent_coef 0). "
        "A transient dip (training return 321 at 72k -> 88 at 84k, eval 84 and 81 at 75k and "
        "87k) recovers: eval 500 from 100k on.",
    ),
    RunSpec(
        "healthy_ppo_acrobot", "ppo", "Acrobot-v1", 100_000,
        {"n_steps": 256, "gae_lambda": 0.94, "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0,
         "policy_kwargs": SMALL_NETS}, None,
        log_interval=1,
        note="rl-zoo PPO Acrobot-v1 hyperparameters without VecNormalize; rewards are "
        "negative (-1 per step), so shorter episodes are better here.",
    ),
    RunSpec(
        "healthy_dqn_cartpole", "dqn", "CartPole-v1", 60_000,
        {"learning_rate": 1e-3, "batch_size": 64, "buffer_size": 100_000,
         "learning_starts": 1000, "gamma": 0.99, "target_update_interval": 10,
         "train_freq": 256, "gradient_steps": 128, "exploration_fraction": 0.16,
         "exploration_final_eps": 0.04, "policy_kwargs": {"net_arch": [64, 64]}}, None,
        n_envs=1, log_interval=4, healthy_min=250.0,
        note="rl-zoo DQN CartPole-v1 hyperparameters except learning_rate 1e-3 (zoo 2.3e-3) "
        "and net_arch [64, 64] (zoo [256, 256]). With the zoo values (seed 0, 50k steps) the "
        "eval return ended at 18 after a peak of 500 (DQN's known instability), so they were "
        "not used. DQN logs train/loss, rollout/exploration_rate, no entropy/KL.",
    ),
    # ---------------------------------------------------------------- pathological
    RunSpec(
        "lr_too_high_ppo", "ppo", "CartPole-v1", 100_000, zoo_ppo(learning_rate=0.05),
        "kl_spike", checkpoints=True, also_present=("entropy_collapse",),
        note="constant learning rate 0.05 (Adam), otherwise the healthy zoo config. The "
        "training return still rises while the deterministic eval swings; train and eval use "
        "the same reward, so that divergence is not reward hacking.",
    ),
    RunSpec(
        "no_clip_many_epochs_ppo", "ppo", "CartPole-v1", 60_000,
        zoo_ppo(clip_range=100.0, n_epochs=50), "kl_spike", also_present=("entropy_collapse",),
        note="clip_range 100 (no trust region) and 50 epochs per rollout; clip_fraction stays "
        "~0 because nothing is ever clipped, so only KL shows the oversized updates.",
    ),
    RunSpec(
        "negative_entropy_coef_ppo", "ppo", "CartPole-v1", 60_000, zoo_ppo(ent_coef=-0.3),
        "entropy_collapse", also_present=("kl_spike",),
        note="ent_coef -0.3 rewards low entropy; the KL excursions (max ~0.08) come later "
        "and are mild.",
    ),
    RunSpec(
        "vf_coef_zero_ppo", "ppo", "CartPole-v1", 60_000, zoo_ppo(vf_coef=0.0),
        "critic_failure",
        note="vf_coef 0 with separate pi/vf nets: the value net never gets a gradient. The "
        "policy still learns a little from GAE advantages on an untrained critic.",
    ),
    RunSpec(
        "reward_hacking_ppo", "ppo", "CartPole-v1", 80_000, zoo_ppo(), "reward_hacking",
        wrapper="right_exit_bonus", wrapper_kwargs={"bonus": 1000.0}, checkpoints=True,
        also_present=("critic_failure",),
        note="trains on a gameable proxy: +1 per step plus 1000 for leaving the track on the "
        "right. Monitor wraps the proxy, so rollout/ep_rew_mean logs the proxy; the "
        "EvalCallback runs on plain CartPole-v1. The critic breaks only after the hack "
        "starts (the rare 1000 bonus makes value_loss ~1e4).",
    ),
    RunSpec(
        "sparse_reward_ppo", "ppo", "MountainCar-v0", 60_000,
        {"n_steps": 128, "gae_lambda": 0.98, "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0,
         "policy_kwargs": SMALL_NETS}, "sparse_reward",
        wrapper="goal_only", log_interval=1,
        note="MountainCar-v0 paying 1 only on reaching the goal, 0 otherwise; the eval "
        "runs on the true MountainCar-v0 (-1 per step). Entropy drifts down (1.1 -> ~0.2) "
        "on zero-signal advantages, which is not yet a collapse (> 10% of max).",
    ),
    RunSpec(
        "reward_sign_flip_ppo", "ppo", "CartPole-v1", 30_000, zoo_ppo(), "reward_direction",
        wrapper="scale", wrapper_kwargs={"scale": -1.0}, log_interval=2, n_evals=15,
        also_present=("entropy_collapse",),
        note="CartPole reward negated (-1 per step alive): the agent learns to fall as fast "
        "as possible. The flaw dates from the first episode, so its step is the first log "
        "row; the entropy collapse (always push one way) follows.",
    ),
    RunSpec(
        "huge_reward_scale_ppo", "ppo", "CartPole-v1", 60_000, zoo_ppo(), "critic_failure",
        wrapper="scale", wrapper_kwargs={"scale": 1e4}, also_present=("entropy_stuck",),
        note="CartPole reward x 1e4 without VecNormalize: value_loss ~1.4e9 from the first "
        "update, explained_variance ~0; the value gradient dominates max_grad_norm 0.5 "
        "clipping, so the policy barely moves (approx_kl ~1e-8) and entropy stays at max. "
        "No inf/NaN appears, so numerical_instability is not claimed.",
    ),
    RunSpec(
        "entropy_stuck_ppo", "ppo", "CartPole-v1", 60_000, zoo_ppo(ent_coef=5.0),
        "entropy_stuck",
        note="ent_coef 5.0 holds the policy near uniform; the stochastic training return "
        "stays ~30 while the deterministic eval (argmax of a slightly biased policy) can "
        "reach 490.",
    ),
    RunSpec(
        "plateau_ppo", "ppo", "CartPole-v1", 60_000, zoo_ppo(ent_coef=0.01), "plateau",
        wrapper="action_ignored", wrap_eval=True,
        note="env factory bug: a random action is executed instead of the agent's (training "
        "and eval env alike); ent_coef 0.01. Mechanics look healthy, nothing is learned. "
        "rlvet env would find the cause; from the training log alone it is a plateau.",
    ),
    RunSpec(
        "throughput_drop_ppo", "ppo", "CartPole-v1", 20_000, zoo_ppo(), "throughput_drop",
        wrapper="slowdown",
        wrapper_kwargs={"start": 1250, "slope": 4e-6, "max_sleep": 5e-3},
        note="after 10k total steps each env step sleeps 4 us longer per step (0 -> 5 ms). "
        "SB3's time/fps is a cumulative average, so it falls slowly; TensorBoard wall_time "
        "shows the drop sharply. Wall-clock numbers vary with machine load.",
    ),
    RunSpec(
        "numerical_instability_ppo", "ppo", "CartPole-v1", 20_000,
        zoo_ppo(learning_rate="exp_0.01_1.0", max_grad_norm=1e20,
                policy_kwargs={**SMALL_NETS, "optimizer_class": "torch.optim.SGD"}),
        "numerical_instability", log_interval=1, also_present=("clip_saturation",),
        note="plain SGD with a learning rate growing 0.01 -> 1.0 (a warm-up that never stops) "
        "and gradient clipping off (max_grad_norm 1e20): the value head diverges, value_loss "
        "goes 1e10 -> 1e28 -> inf and explained_variance NaN. SB3 does not stop and the "
        "policy (separate net, normalised advantages) keeps learning; clip saturation "
        "follows later.",
    ),
    # ---------------------------------------------------------------- CleanRL style
    RunSpec(
        "cleanrl_healthy_ppo", "cleanrl", "CartPole-v1", 150_000,
        {"learning_rate": 2.5e-4}, None, n_envs=4, healthy_min=300.0,
        traps={"critic_failure": "a slow critic, not a failing one: with Adam at lr 2.5e-4 "
               "(16 steps per update) the value output can move at most ~0.25 per update, so "
               "it needs ~70k steps to reach returns of ~100 (gamma 0.99); explained_variance "
               "stays < 0.2 until then while value_loss falls from ~76 to ~35 and the return "
               "rises 19 -> ~350"},
        note="CleanRL ppo.py defaults (4 envs x 128 steps, lr 2.5e-4 annealed, ent_coef 0.01, "
        "value clipping); no eval. healthy_min is on the mean of the last 20 episodes of "
        "the stochastic policy.",
    ),
    RunSpec(
        "cleanrl_lr_too_high", "cleanrl", "CartPole-v1", 60_000,
        {"learning_rate": 0.05}, "kl_spike", n_envs=4,
        also_present=("clip_saturation", "entropy_collapse"),
        note="CleanRL ppo.py defaults with lr 0.05 (annealed). CleanRL logs the last "
        "minibatch's approx_kl; clip saturation starts with the first update too.",
    ),
]


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------


def exponential(start: float, end: float) -> Callable[[float], float]:
    """Learning rate growing geometrically from ``start`` to ``end`` over training."""

    def schedule(progress_remaining: float) -> float:
        return start * (end / start) ** (1.0 - progress_remaining)

    return schedule


def _resolve(hyper: dict[str, Any]) -> dict[str, Any]:
    """Turn the JSON-able config into SB3 arguments (schedules, classes named by path)."""
    import torch

    classes = {"torch.optim.SGD": torch.optim.SGD}
    out: dict[str, Any] = {}
    for k, v in hyper.items():
        if isinstance(v, str) and v.startswith("lin_"):
            out[k] = linear(float(v[4:]))
        elif isinstance(v, str) and v.startswith("exp_"):
            a, b = v[4:].split("_")
            out[k] = exponential(float(a), float(b))
        elif isinstance(v, dict):
            out[k] = {kk: classes.get(vv, vv) if isinstance(vv, str) else vv
                      for kk, vv in v.items()}
        else:
            out[k] = v
    return out


def _make_vec_env(spec: RunSpec, n_envs: int, wrapped: bool):
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    def factory():
        env = gym.make(spec.env_id)
        if wrapped and spec.wrapper is not None:
            env = WRAPPERS[spec.wrapper](env, **spec.wrapper_kwargs)
        # Monitor OUTSIDE the wrapper: rollout/ep_rew_mean logs the reward the agent trains on.
        return Monitor(env)

    return DummyVecEnv([factory for _ in range(n_envs)])


def train_sb3(spec: RunSpec, run_dir: Path) -> None:
    import torch
    from stable_baselines3 import A2C, DQN, PPO
    from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback
    from stable_baselines3.common.logger import configure

    torch.set_num_threads(1)
    algo_cls = {"ppo": PPO, "a2c": A2C, "dqn": DQN}[spec.algo]
    env = _make_vec_env(spec, spec.n_envs, wrapped=True)
    eval_env = _make_vec_env(spec, 1, wrapped=spec.wrap_eval)
    eval_env.seed(SEED + 1000)
    model = algo_cls("MlpPolicy", env, seed=SEED, device="cpu", verbose=0,
                     **_resolve(spec.hyper))
    model.set_logger(configure(str(run_dir), ["csv", "tensorboard"]))
    calls = spec.total_steps // spec.n_envs
    callbacks = [
        EvalCallback(eval_env, n_eval_episodes=5,
                     eval_freq=calls // spec.n_evals, deterministic=True, verbose=0),
    ]
    if spec.checkpoints:
        callbacks.append(CheckpointCallback(save_freq=calls // 3, save_path=str(run_dir),
                                            name_prefix="rl_model"))
    try:
        model.learn(spec.total_steps, callback=callbacks, log_interval=spec.log_interval)
    except ValueError as exc:  # NaN logits make torch.distributions raise
        print(f"  [{spec.name}] training stopped at step {model.num_timesteps}: "
              f"{str(exc).splitlines()[0][:120]}", flush=True)
        # Flush what SB3 had recorded (the train/ metrics of the update that produced NaN).
        model.logger.record("time/total_timesteps", model.num_timesteps, exclude="tensorboard")
        model.logger.dump(step=model.num_timesteps)
    finally:
        model.logger.close()
        env.close()
        eval_env.close()


def train(spec: RunSpec, out: Path) -> float:
    run_dir = out / spec.name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    t0 = time.time()
    if spec.algo == "cleanrl":
        sys.path.insert(0, str(HERE))
        from cleanrl_ppo import Args, train_cleanrl

        args = Args(env_id=spec.env_id, total_timesteps=spec.total_steps,
                    num_envs=spec.n_envs, seed=SEED, **spec.hyper)
        train_cleanrl(args, run_dir)
    else:
        train_sb3(spec, run_dir)
    for junk in ("evaluations.npz", "best_model.zip"):
        (run_dir / junk).unlink(missing_ok=True)
    return time.time() - t0


# --------------------------------------------------------------------------------------
# Reading logs back (plain csv / tensorboard, no rlvet) and checking the pathology
# --------------------------------------------------------------------------------------


Series = dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (steps, values)


def read_sb3_csv(path: Path) -> Series:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: Series = {}
    keys = {k for r in rows for k in r}
    for key in keys:
        steps, vals = [], []
        for r in rows:
            v, s = r.get(key, ""), r.get("time/total_timesteps", "")
            if v not in ("", None) and s not in ("", None):
                steps.append(float(s))
                vals.append(float(v))
        out[key] = (np.asarray(steps), np.asarray(vals))
    return out


def read_tb(run_dir: Path) -> Series:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    out: Series = {}
    for tag in acc.Tags()["scalars"]:
        ev = acc.Scalars(tag)
        out[tag] = (np.array([e.step for e in ev], float), np.array([e.value for e in ev], float))
    return out



def _wall_fps(run_dir: Path, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """Instantaneous env steps per second between logged points, from TB wall_time,
    smoothed over 5 intervals."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    ev = acc.Scalars(tag)
    steps = np.array([e.step for e in ev], float)
    wall = np.array([e.wall_time for e in ev], float)
    k = 5
    if len(steps) <= k:
        return steps[:0], steps[:0]
    rate = (steps[k:] - steps[:-k]) / np.maximum(wall[k:] - wall[:-k], 1e-6)
    return steps[k:], rate


class Signals:
    """Canonical signals of one run, read back from its own log files."""

    def __init__(self, spec: RunSpec, run_dir: Path):
        self.spec = spec
        env = gym.make(spec.env_id)
        self.h_max = math.log(env.action_space.n)
        env.close()
        self.total = spec.total_steps
        self.s: Series = {}
        if spec.algo == "cleanrl":
            tb = read_tb(run_dir)
            names = {"kl": "losses/approx_kl", "clip_fraction": "losses/clipfrac",
                     "entropy": "losses/entropy", "value_loss": "losses/value_loss",
                     "explained_variance": "losses/explained_variance",
                     "policy_loss": "losses/policy_loss", "fps": "charts/SPS"}
            self.s = {k: tb[v] for k, v in names.items() if v in tb}
            for key, tag in (("reward", "charts/episodic_return"),
                             ("episode_length", "charts/episodic_length")):
                steps, vals = tb[tag]
                # the raw per-episode values, smoothed like SB3's 100-episode window
                win = np.convolve(vals, np.ones(20) / 20, mode="valid")
                self.s[key] = (steps[19:], win)
            self.tags = set(tb)
        else:
            csv_s = read_sb3_csv(run_dir / "progress.csv")
            names = {"reward": "rollout/ep_rew_mean", "episode_length": "rollout/ep_len_mean",
                     "eval_return": "eval/mean_reward", "kl": "train/approx_kl",
                     "clip_fraction": "train/clip_fraction",
                     "value_loss": "train/value_loss",
                     "explained_variance": "train/explained_variance",
                     "policy_loss": "train/policy_gradient_loss", "loss": "train/loss",
                     "fps": "time/fps", "time_elapsed": "time/time_elapsed"}
            self.s = {k: csv_s[v] for k, v in names.items() if v in csv_s and len(csv_s[v][0])}
            if "train/entropy_loss" in csv_s:
                st, v = csv_s["train/entropy_loss"]
                self.s["entropy"] = (st, -v)
            self.tags = set(read_tb(run_dir))
        self.s["fps_wall"] = _wall_fps(run_dir, "charts/SPS" if spec.algo == "cleanrl"
                                       else "time/fps")

    def __contains__(self, key: str) -> bool:
        return key in self.s and len(self.s[key][0]) > 0

    def __getitem__(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        return self.s[key]


def _first(steps: np.ndarray, mask: np.ndarray) -> int | None:
    idx = np.nonzero(mask)[0]
    return int(steps[idx[0]]) if len(idx) else None


def _g(x: float) -> str:
    return f"{x:.3g}"


def _quarter_means(sig: Signals, key: str) -> tuple[float, float]:
    st, v = sig[key]
    n = max(1, len(v) // 4)
    return float(np.mean(v[:n])), float(np.mean(v[-n:]))


def _eval_story(sig: Signals) -> str:
    rst, r = sig["reward"]
    name = ("20-episode mean of charts/episodic_return" if sig.spec.algo == "cleanrl"
            else "ep_rew_mean")
    out = f"training return ({name}) {_g(r[0])} -> {_g(r[-1])}"
    if "eval_return" not in sig:
        return out
    st, v = sig["eval_return"]
    k = int(np.argmax(v))
    out += (f"; eval return (true env) {_g(v[0])} at {int(st[0])} -> peak {_g(v[k])} at "
            f"{int(st[k])} -> {_g(v[-1])} at {int(st[-1])}")
    if k < len(v) - 1:
        out += f" (min after the peak {_g(v[k + 1:].min())})"
    return out


Check = dict[str, Any]
KL_LIMIT = 0.05  # above the usual target_kl range (0.01-0.03); healthy runs here stay < 0.04


def check_kl_spike(sig: Signals) -> Check:
    st, kl = sig["kl"]
    s = _first(st, kl > KL_LIMIT)
    ev = (f"approx_kl first > {KL_LIMIT} at step {s} ({_g(kl[st == s][0]) if s else '-'}); "
          f"median {_g(np.median(kl))}, max {_g(kl.max())} over {len(kl)} updates")
    if "clip_fraction" in sig:
        cst, cf = sig["clip_fraction"]
        ev += f"; clip_fraction first {_g(cf[0])}, max {_g(cf.max())}"
    return {"ok": s is not None, "first_step": s, "evidence": ev}


def check_clip_saturation(sig: Signals) -> Check:
    st, cf = sig["clip_fraction"]
    # sustained: the mean over 5 consecutive updates above 0.3 (single blips are common)
    roll = np.convolve(cf, np.ones(5) / 5, mode="valid") if len(cf) >= 5 else np.zeros(0)
    s = _first(st[: len(roll)], roll > 0.3)
    return {"ok": s is not None, "first_step": s,
            "evidence": f"clip_fraction mean over 5 updates > 0.3 from step {s}; "
                        f"max {_g(cf.max())}, median {_g(np.median(cf))}"}


def check_entropy_collapse(sig: Signals) -> Check:
    st, h = sig["entropy"]
    deep = _first(st, h < 0.1 * sig.h_max)
    # onset: the last time entropy crossed half its max on the way down to the deep collapse
    s = None
    if deep is not None:
        above = np.nonzero((h >= 0.5 * sig.h_max) & (st < deep))[0]
        s = int(st[above[-1] + 1]) if len(above) else int(st[0])
    ev = (f"entropy {_g(h[0])} at step {int(st[0])} (max ln|A| = {_g(sig.h_max)}) falls below "
          f"half of max at step {s} and below 10% of max at step {deep}; min {_g(h.min())}")
    return {"ok": deep is not None, "first_step": s, "evidence": ev}


def check_entropy_stuck(sig: Signals) -> Check:
    st, h = sig["entropy"]
    high = h >= 0.97 * sig.h_max
    # earliest step from which entropy stays >= 97% of max until the end
    tail = np.logical_and.accumulate(high[::-1])[::-1]
    s = _first(st, tail)
    ok = s is not None and (st[-1] - s) >= 0.5 * sig.total
    if ok:  # a persisting condition can be claimed only after the warm-up (10% of the run)
        s = _after_warmup(sig, st, s)
    ev = (f"entropy stays within 3% of its max ({_g(sig.h_max)}) from step {s} to the end: "
          f"min {_g(h[1:].min())}, median {_g(np.median(h))}")
    return {"ok": ok, "first_step": s if ok else None, "evidence": ev}


def _after_warmup(sig: Signals, st: np.ndarray, s: int) -> int:
    later = st[st >= max(s, 0.1 * sig.total)]
    return int(later[0]) if len(later) else s


def check_critic_failure(sig: Signals) -> Check:
    st, ev_ = sig["explained_variance"]
    _, vl = sig["value_loss"]
    ok_vals = np.isfinite(ev_) & np.isfinite(vl)
    window = max(10, len(st) // 5)
    # after a warm-up of 10% of the run, the first update that starts a stretch of `window`
    # updates (>= 20% of the run) whose median explained variance is < 0.2 while the value
    # loss is not negligible (near-constant returns make EV meaningless)
    s = None
    for i in range(max(0, len(st) - window + 1)):
        e, v = ev_[i: i + window], vl[i: i + window]
        if st[i] < 0.1 * sig.total or not ok_vals[i: i + window].all():
            continue
        if ev_[i] < 0.2 and np.median(e) < 0.2 and np.median(v) > 1e-2:
            s = int(st[i])
            break
    fin = ev_[ok_vals]
    ev = (f"explained_variance median {_g(np.median(fin))} (range {_g(fin.min())}.."
          f"{_g(fin.max())}) over {len(fin)} updates; {window} consecutive updates with median "
          f"< 0.2 from step {s}; value_loss median {_g(np.median(vl[ok_vals]))}, first "
          f"{_g(vl[0])} last {_g(vl[-1])}")
    return {"ok": s is not None, "first_step": s, "evidence": ev}


def check_numerical_instability(sig: Signals) -> Check:
    first, which, what = None, "", ""
    for key in ("value_loss", "loss", "kl", "explained_variance", "entropy", "policy_loss"):
        if key not in sig:
            continue
        st, v = sig[key]
        finite = np.isfinite(v)
        s = _first(st, ~finite)
        if s is not None and (first is None or s < first):
            first, which, what = s, key, "first non-finite (inf/NaN)"
        # explosion: a value 1e6 x larger than the median magnitude of all earlier values
        for i in range(5, len(v)):
            prev = np.abs(v[:i][finite[:i]])
            if finite[i] and len(prev) and abs(v[i]) > 1e6 * max(np.median(prev), 1e-8):
                if first is None or st[i] < first:
                    first, which, what = int(st[i]), key, "explodes (> 1e6 x its median)"
                break
    ev = f"{which} {what} at step {first}"
    if first is not None and "value_loss" in sig:
        st, vl = sig["value_loss"]
        fin = np.isfinite(vl)
        ev += (f"; value_loss median before {_g(np.median(vl[(st < first) & fin]))}, then "
               f"{', '.join(_g(x) for x in vl[st >= first][:4])}; "
               f"{int((~fin).sum())}/{len(vl)} value_loss values non-finite")
        if "explained_variance" in sig:
            ev += (f"; explained_variance NaN in "
                   f"{int(np.isnan(sig['explained_variance'][1]).sum())} updates")
    return {"ok": first is not None, "first_step": first, "evidence": ev}


def check_reward_hacking(sig: Signals) -> Check:
    est, ev_ = sig["eval_return"]
    rst, r = sig["reward"]
    k = int(np.argmax(ev_))
    peak, peak_step = float(ev_[k]), int(est[k])
    gain = peak - float(ev_[: k + 1].min())
    r_at_peak = float(np.interp(peak_step, rst, r))
    # the true return gives back more than half of what it had gained ...
    lost = (est > peak_step) & (ev_ < peak - 0.5 * gain)
    s = _first(est, lost)
    _, r1 = _quarter_means(sig, "reward")
    e_last = float(np.mean(ev_[-3:]))
    # ... and stays down, while the training (proxy) reward at least doubles. A weaker
    # divergence (stochastic training return up, deterministic eval down) happens in runs
    # whose train and eval reward are the same function; it is not hacking.
    ok = (s is not None and gain > 0 and e_last < peak - 0.5 * gain
          and peak - e_last > 0.3 * abs(peak) and r1 > r_at_peak + abs(r_at_peak))
    ev = (f"eval return (true env) {_g(ev_[0])} at {int(est[0])} -> peak {_g(peak)} at "
          f"{peak_step} -> {_g(e_last)} (mean of last 3 evals), first below half the gain at "
          f"step {s}; training (proxy) ep_rew_mean {_g(r[0])} -> {_g(r_at_peak)} at the eval "
          f"peak -> {_g(r1)} (last-quarter mean)")
    if "episode_length" in sig:
        lst, ln = sig["episode_length"]
        ev += (f"; ep_len_mean {_g(float(np.interp(peak_step, lst, ln)))} at the peak -> "
               f"{_g(ln[-1])}")
    return {"ok": ok, "first_step": s if ok else None, "evidence": ev}


def check_sparse_reward(sig: Signals) -> Check:
    st, r = sig["reward"]
    nonzero = int(np.count_nonzero(r))
    ok = nonzero <= 0.05 * len(r)
    ev = (f"rollout/ep_rew_mean is exactly 0 in {len(r) - nonzero}/{len(r)} rows over "
          f"{int(st[-1])} steps (no episode reached the goal)")
    if "episode_length" in sig:
        ev += f"; ep_len_mean {_g(np.min(sig['episode_length'][1]))} (time limit)"
    if "eval_return" in sig:
        e = sig["eval_return"][1]
        ev += f"; eval return {_g(e.min())}..{_g(e.max())} in all {len(e)} evals"
    return {"ok": ok, "first_step": int(st[0]) if ok else None, "evidence": ev}


def check_reward_direction(sig: Signals) -> Check:
    rst, r = sig["reward"]
    lst, ln = sig["episode_length"]
    est, ev_ = sig["eval_return"]
    _, r1 = _quarter_means(sig, "reward")
    _, l1 = _quarter_means(sig, "episode_length")
    rises = r1 > r[0] + 0.25 * abs(r[0])
    shorter = l1 < 0.7 * ln[0]
    eval_flat_low = ev_.max() <= 1.2 * ev_.min() + 1.0
    ratio = r / np.where(ln == 0, np.nan, ln)
    ok = rises and shorter and eval_flat_low
    # the reward is wrong from the first step on: the flaw dates from the first logged episode
    s = int(rst[0])
    ev = (f"training ep_rew_mean rises {_g(r[0])} -> {_g(r1)} while ep_len_mean falls "
          f"{_g(ln[0])} -> {_g(l1)} (reward/length = {_g(np.nanmedian(ratio))} per step); "
          f"true eval return stays {_g(ev_.min())}..{_g(ev_.max())} over {len(ev_)} evals "
          f"(a uniform-random CartPole policy lasts ~22 steps)")
    return {"ok": ok, "first_step": s if ok else None, "evidence": ev}


def check_throughput_drop(sig: Signals) -> Check:
    st, fps = sig["fps"]
    wst, inst = sig["fps_wall"]
    n = len(inst)
    if n < 10:
        return {"ok": False, "first_step": None, "evidence": "too few points"}
    base = float(np.median(inst[n // 10: n // 3]))
    low = inst < 0.5 * base
    # earliest point from which throughput stays below half of the early rate until the end
    tail = np.logical_and.accumulate(low[::-1])[::-1]
    s = _first(wst, tail)
    late = float(np.median(inst[-max(1, n // 10):]))
    ok = s is not None and (wst[-1] - s) >= 0.2 * sig.total and late < 0.25 * base
    ev = (f"env steps per wall-clock second (from TensorBoard wall_time) {_g(base)} early vs "
          f"{_g(late)} in the last 10% of the run, below half from step {s} to the end; the "
          f"logged time/fps (SB3: a cumulative average) goes {_g(fps[0])} at {int(st[0])} -> "
          f"{_g(fps[-1])} at {int(st[-1])}")
    return {"ok": ok, "first_step": s if ok else None, "evidence": ev}


def check_plateau(sig: Signals) -> Check:
    r0, r1 = _quarter_means(sig, "reward")
    st, kl = sig["kl"]
    ev_ = sig["explained_variance"][1]
    h = sig["entropy"][1]
    e = sig["eval_return"][1]
    flat = 0.75 * r0 <= r1 <= 1.33 * r0 and e[-3:].mean() < 2.0 * r0
    mech = (1e-4 < float(np.median(kl)) < 0.05 and float(np.median(ev_)) > 0.5
            and float(h.min()) > 0.5 * sig.h_max)
    ok = flat and mech
    ev = (f"training ep_rew_mean {_g(r0)} (first quarter) -> {_g(r1)} (last quarter); true "
          f"eval {_g(e.min())}..{_g(e.max())}; mechanics look healthy: approx_kl median "
          f"{_g(np.median(kl))} (max {_g(kl.max())}), explained_variance median "
          f"{_g(np.median(ev_))}, entropy min {_g(h.min())} of max {_g(sig.h_max)}")
    rst = sig["reward"][0]
    first = _after_warmup(sig, rst, int(rst[0]))
    return {"ok": ok, "first_step": first if ok else None, "evidence": ev}


HEALTHY_TARGET = {"CartPole-v1": 475.0, "Acrobot-v1": -100.0}


def check_healthy(sig: Signals) -> Check:
    problems = []
    nan = check_numerical_instability(sig)
    if nan["ok"]:
        problems.append(nan["evidence"])
    parts = []
    if "kl" in sig:
        kl = sig["kl"][1]
        parts.append(f"approx_kl max {_g(kl.max())}")
        if kl.max() > KL_LIMIT:
            problems.append(f"kl > {KL_LIMIT}")
    if "clip_fraction" in sig:
        cf = sig["clip_fraction"][1]
        parts.append(f"clip_fraction max {_g(cf.max())}")
    if "entropy" in sig:
        h = sig["entropy"][1]
        parts.append(f"entropy {_g(h[0])} -> min {_g(h.min())} (max {_g(sig.h_max)})")
        if h.min() < 0.1 * sig.h_max:
            problems.append("entropy < 10% of max")
    r = sig["reward"][1]
    target = sig.spec.healthy_min
    if target is None:
        target = HEALTHY_TARGET[sig.spec.env_id]
    parts.insert(0, _eval_story(sig))
    if "eval_return" in sig:
        final = float(np.mean(sig["eval_return"][1][-3:]))
        parts.insert(1, f"mean of the last 3 evals {_g(final)}")
    else:
        final = float(r[-1])
    if final < target:
        problems.append(f"final return {_g(final)} below target {_g(target)}")
    ev = "; ".join(parts)
    if problems:
        ev += " | PROBLEMS: " + "; ".join(problems)
    return {"ok": not problems, "first_step": None, "evidence": ev}


CHECKS: dict[str, Callable[[Signals], Check]] = {
    "kl_spike": check_kl_spike,
    "clip_saturation": check_clip_saturation,
    "entropy_collapse": check_entropy_collapse,
    "entropy_stuck": check_entropy_stuck,
    "critic_failure": check_critic_failure,
    "numerical_instability": check_numerical_instability,
    "reward_hacking": check_reward_hacking,
    "sparse_reward": check_sparse_reward,
    "reward_direction": check_reward_direction,
    "throughput_drop": check_throughput_drop,
    "plateau": check_plateau,
}

# Diagnostic order (ARCHITECTURE.md section 1): earlier stage wins a tie in time.
STAGE_ORDER = ["reward_hacking", "sparse_reward", "reward_direction", "kl_spike",
               "clip_saturation", "critic_failure", "entropy_collapse", "entropy_stuck",
               "numerical_instability", "plateau", "throughput_drop"]


def verify(spec: RunSpec, run_dir: Path) -> dict[str, Any]:
    """Read the run's own logs back and check its claims; return its manifest entry."""
    sig = Signals(spec, run_dir)
    problems: list[str] = []
    found: dict[str, Check] = {}
    for cat in CHECKS:
        try:
            res = CHECKS[cat](sig)
        except KeyError:  # the run does not log the metric this check needs
            continue
        if res["ok"]:
            found[cat] = res
    if spec.expected is None:
        res = check_healthy(sig)
        evidence = res["evidence"]
        if not res["ok"]:
            problems.append(evidence)
        unexpected = sorted(set(found) - set(spec.also_present) - set(spec.traps))
        if unexpected:
            problems.append(f"healthy run shows {unexpected}")
        missing = sorted(set(spec.traps) - set(found))
        if missing:
            problems.append(f"traps {missing} are not in the log")
        first = None
    else:
        if spec.expected not in found:
            problems.append(f"{spec.expected} not shown: {CHECKS[spec.expected](sig)['evidence']}")
            entry = _entry(spec, None, problems, "")
            entry["files"] = sorted(p.name for p in run_dir.iterdir())
            return entry
        ordered = sorted(found, key=lambda c: (found[c]["first_step"], STAGE_ORDER.index(c)))
        first = ordered[0]
        if first != spec.expected:
            problems.append(f"first break is {first} at {found[first]['first_step']}, "
                            f"not {spec.expected} at {found[spec.expected]['first_step']}")
        evidence = f"[{spec.expected} from step {found[spec.expected]['first_step']}] "
        evidence += found[spec.expected]["evidence"]
        if spec.expected not in ("reward_hacking", "reward_direction", "plateau"):
            evidence += "; " + _eval_story(sig)
    also = [c for c in STAGE_ORDER
            if c in found and c != spec.expected and c not in spec.traps]
    if sorted(also) != sorted(spec.also_present):
        problems.append(f"also_present is {spec.also_present} but the log shows {also}")
    extra = {c: found[c]["evidence"] for c in also}
    entry = _entry(spec, first, problems, evidence)
    entry["also_present_evidence"] = {
        c: f"[from step {found[c]['first_step']}] {extra[c]}" for c in also}
    entry["files"] = sorted(p.name for p in run_dir.iterdir())
    if spec.traps:
        entry["traps"] = {c: f"{why} [check: from step {found[c]['first_step']}: "
                             f"{found[c]['evidence']}]"
                          for c, why in spec.traps.items() if c in found}
    return entry


def _entry(spec: RunSpec, first: str | None, problems: list[str], evidence: str) -> dict:
    return {
        "name": spec.name,
        "algo": "PPO (CleanRL-style)" if spec.algo == "cleanrl" else spec.algo.upper(),
        "env": spec.env_id,
        "total_timesteps": spec.total_steps,
        "config": _config(spec),
        "expected_first_category": spec.expected,
        "computed_first_category": first,
        "also_present": list(spec.also_present),
        "evidence": evidence,
        "notes": spec.note,
        "verified": not problems,
        "problems": problems,
    }


def _config(spec: RunSpec) -> dict[str, Any]:
    cfg: dict[str, Any] = {"n_envs": spec.n_envs, "seed": SEED, **spec.hyper}
    if spec.wrapper:
        cfg["wrapper"] = {"name": spec.wrapper, **spec.wrapper_kwargs,
                          "applies_to_eval": spec.wrap_eval}
    if spec.algo != "cleanrl":
        cfg["log_interval"] = spec.log_interval
        cfg["eval"] = {"n_eval_episodes": 5, "deterministic": True, "n_evals": spec.n_evals,
                       "env": spec.env_id + (" (with the wrapper)" if spec.wrap_eval else "")}
    return cfg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="run name (repeatable)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-train", action="store_true", help="only re-check existing logs")
    args = parser.parse_args(argv)
    names = [r.name for r in RUNS]
    unknown = set(args.only) - set(names)
    if unknown:
        parser.error(f"unknown run(s): {sorted(unknown)}; known: {names}")
    specs = [r for r in RUNS if not args.only or r.name in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else []
    entries = {e["name"]: e for e in old if e["name"] in names}
    t_all = time.time()
    for spec in specs:
        if not args.no_train:
            print(f"training {spec.name} ({spec.algo}, {spec.env_id}, {spec.total_steps} steps)",
                  flush=True)
            dt = train(spec, args.out)
            print(f"  trained in {dt:.0f}s", flush=True)
        entry = verify(spec, args.out / spec.name)
        entries[spec.name] = entry
        status = "ok" if entry["verified"] else "NOT VERIFIED: " + " | ".join(entry["problems"])
        print(f"  {spec.name}: first={entry['computed_first_category']} "
              f"also={entry['also_present']} -> {status}", flush=True)
    manifest = [entries[n] for n in names if n in entries]
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    bad = [e["name"] for e in manifest if not e["verified"]]
    print(f"total {time.time() - t_all:.0f}s; manifest: {manifest_path}; "
          f"unverified: {bad or 'none'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
