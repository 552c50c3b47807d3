"""Faults that switch on mid-run, for the calibration corpus.

Contents:
    FaultAfter -- env wrapper: the env behaves normally for ``after`` of its own steps, then
        every step goes through a fault wrapper (a reward transform, observation spikes, a
        memory leak). ``after=0`` is a fault from the first step.
    ObsSpike, SpinBonus, VelocityBonus, LivingCost, LeakOnStep -- fault wrappers added to
        the ones of ``tests/data/make_runs.py`` (RightExitBonus, GoalOnlyReward, ScaleReward,
        ActionIgnored, ProgressiveSlowdown), all reachable through ``WRAPPERS``.
    make_fault_env(env_id, wrapper, kwargs, after, max_episode_steps) -- one env.
    SwitchAt -- SB3 callback: change hyperparameters at an env step (learning rate, entropy
        and value coefficients, epochs, clip range; re-initialise the value head).
    RssLogger -- SB3 callback: record the process RSS as ``rss_mib`` (SB3 does not log
        memory; the key is rlvet's canonical name, written through SB3's own logger).
    MemoryLeak -- SB3 callback: keep ``mib_per_1k`` MiB per 1000 env steps alive after a
        step (a history that is never cleared).
    register_rlvet_env(...) -- a Gymnasium id whose env carries a fault, so that
        ``rlvet train --backend sync`` (in-process actor) steps it.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "data"))
import make_runs  # noqa: E402  (tests/data is not a package)

MIB = 1024 * 1024


class ObsSpike(gym.Wrapper):
    """Sensor glitch: with probability ``prob`` per step the observation is scaled by ``scale``."""

    def __init__(self, env: gym.Env, prob: float = 0.01, scale: float = 1e6, seed: int = 0):
        super().__init__(env)
        self.prob, self.scale = prob, scale
        self.rng = np.random.default_rng(seed + 104729)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.rng.random() < self.prob:
            obs = (np.asarray(obs) * self.scale).astype(np.asarray(obs).dtype)
        return obs, reward, terminated, truncated, info


class SpinBonus(gym.Wrapper):
    """Farmable Pendulum proxy: the true reward plus ``bonus * |angular velocity|``.

    Meant to reward "swinging up with energy", it pays more for spinning the pendulum round
    and round (|theta_dot| up to 8) than balancing upright earns; the true return falls.
    """

    def __init__(self, env: gym.Env, bonus: float = 2.0):
        super().__init__(env)
        self.bonus = bonus

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float(reward) + self.bonus * abs(float(obs[2])), terminated, truncated, info


class VelocityBonus(gym.Wrapper):
    """A farmable "keep moving" shaping term: the true reward plus ``bonus * |obs[index]| /
    top`` on every step (a velocity entry of the observation, ``top`` its bound).

    Meant to encourage momentum on the way to a goal (MountainCar, Acrobot), it pays every
    step the episode lasts, so with ``bonus`` above the true per-step cost a policy that
    keeps moving and never reaches the goal earns more than one that finishes: the proxy
    rises while the true return stays at its floor or falls.
    """

    def __init__(self, env: gym.Env, index: int, top: float, bonus: float = 2.0):
        super().__init__(env)
        self.index, self.top, self.bonus = index, top, bonus

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        shaping = self.bonus * abs(float(obs[self.index])) / self.top
        return obs, float(reward) + shaping, terminated, truncated, info


class RewardSpike(gym.Wrapper):
    """Glitched reward channel: with probability ``prob`` per step the reward is multiplied
    by ``scale`` (an unnormalised outlier, e.g. a unit or overflow bug in a reward term)."""

    def __init__(self, env: gym.Env, prob: float = 0.01, scale: float = 1e6, seed: int = 0):
        super().__init__(env)
        self.prob, self.scale = prob, scale
        self.rng = np.random.default_rng(seed + 130363)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.rng.random() < self.prob:
            reward = float(reward) * self.scale
        return obs, reward, terminated, truncated, info


class LivingCost(gym.Wrapper):
    """Reward minus a constant per step: with ``cost`` above CartPole's +1 the sign flips
    (a mis-set baseline), milder than negating the reward."""

    def __init__(self, env: gym.Env, cost: float = 1.05):
        super().__init__(env)
        self.cost = cost

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float(reward) - self.cost, terminated, truncated, info


class LeakOnStep(gym.Wrapper):
    """An env that never frees something it allocates each step (``kib_per_step`` KiB)."""

    def __init__(self, env: gym.Env, kib_per_step: float = 4.0):
        super().__init__(env)
        self.bytes = int(kib_per_step * 1024)
        self.kept: list[np.ndarray] = []
        self.pending = 0

    def step(self, action):
        self.pending += self.bytes
        if self.pending >= 256 * 1024:  # allocate in 256 KiB chunks, written so RSS grows
            self.kept.append(np.ones(self.pending // 8))
            self.pending = 0
        return self.env.step(action)

    def __getstate__(self) -> dict[str, Any]:  # rlvet's sync checkpoints pickle the envs
        return {**self.__dict__, "kept": []}


WRAPPERS: dict[str, Any] = {
    **make_runs.WRAPPERS,
    "obs_spike": ObsSpike,
    "reward_spike": RewardSpike,
    "spin_bonus": SpinBonus,
    "velocity_bonus": VelocityBonus,
    "living_cost": LivingCost,
    "leak": LeakOnStep,
}


class FaultAfter(gym.Wrapper):
    """Route steps through ``fault`` (a wrapper around the same env) after ``after`` steps.

    Both paths step the same underlying env, so switching mid-episode is seamless. The
    counter is this env's own steps: with N lock-step vector envs, a global onset step S is
    ``after = S // N``.
    """

    def __init__(self, env: gym.Env, fault: gym.Wrapper, after: int):
        super().__init__(fault)
        self.plain, self.after, self.count = env, after, 0

    def step(self, action):
        self.count += 1
        return (self.env if self.count > self.after else self.plain).step(action)


def make_fault_env(env_id: str, wrapper: str | None, kwargs: dict[str, Any], after: int,
                   max_episode_steps: int | None = None, seed: int = 0) -> gym.Env:
    """``env_id`` with ``wrapper`` switched on after ``after`` steps (None: no fault)."""
    env = gym.make(env_id, max_episode_steps=max_episode_steps) if max_episode_steps \
        else gym.make(env_id)
    if wrapper is None:
        return env
    kw = dict(kwargs)
    if wrapper == "slowdown":  # ProgressiveSlowdown counts its own steps: start = onset
        kw.setdefault("start", after)
        return WRAPPERS[wrapper](env, **kw)
    if wrapper in ("obs_spike", "reward_spike"):
        kw.setdefault("seed", seed)
    fault = WRAPPERS[wrapper](env, **kw)
    return fault if after <= 0 else FaultAfter(env, fault, after)


def register_rlvet_env(env_id: str, wrapper: str, kwargs: dict[str, Any], after: int) -> str:
    """Register ``corpus/<env>-<wrapper>`` so ``rlvet train`` (sync backend) builds it."""
    new_id = f"corpus/{env_id.split('-')[0]}-{wrapper}-v0"
    if new_id not in gym.registry:  # a partial of a module-level function: picklable
        gym.register(id=new_id, entry_point=functools.partial(
            make_fault_env, env_id, wrapper, dict(kwargs), after),
            max_episode_steps=None, disable_env_checker=True)
    return new_id


# --------------------------------------------------------------------------------------
# SB3 callbacks (imported lazily: stable_baselines3 is only needed by SB3 runs)
# --------------------------------------------------------------------------------------


def sb3_callbacks() -> tuple[type, type, type]:
    """(SwitchAt, RssLogger, MemoryLeak), built on SB3's BaseCallback."""
    import psutil
    from stable_baselines3.common.callbacks import BaseCallback

    class SwitchAt(BaseCallback):
        """At env step ``at``, apply ``changes`` to the model (takes effect next update).

        Keys: learning_rate (constant from then on), ent_coef, vf_coef, n_epochs,
        clip_range (constant), reset_value_head (re-initialise the value network, as a
        checkpoint restore that loses it would).
        """

        def __init__(self, at: int, changes: dict[str, Any]):
            super().__init__()
            self.at, self.changes, self.done = at, changes, False

        def _on_step(self) -> bool:
            if not self.done and self.num_timesteps >= self.at:
                self.done = True
                apply_sb3_changes(self.model, self.changes)
            return True

    class RssLogger(BaseCallback):
        """Record RSS (MiB) as ``rss_mib`` every ``every`` callback calls."""

        def __init__(self, every: int = 16):
            super().__init__()
            self.every, self.proc = every, psutil.Process()

        def _on_step(self) -> bool:
            if self.n_calls % self.every == 1 or self.every == 1:
                self.logger.record("rss_mib", self.proc.memory_info().rss / MIB)
            return True

    class MemoryLeak(BaseCallback):
        """Keep ``mib_per_1k`` MiB per 1000 env steps alive from env step ``after`` on."""

        def __init__(self, after: int, mib_per_1k: float):
            super().__init__()
            self.after, self.rate = after, mib_per_1k
            self.kept: list[np.ndarray] = []
            self.last: int | None = None

        def _on_step(self) -> bool:
            t = self.num_timesteps
            if t < self.after:
                return True
            if self.last is None:
                self.last = t
            owed = (t - self.last) * self.rate * MIB / 1000
            if owed >= 256 * 1024:
                self.kept.append(np.ones(int(owed) // 8))
                self.last = t
            return True

    return SwitchAt, RssLogger, MemoryLeak


def apply_sb3_changes(model: Any, changes: dict[str, Any]) -> None:
    """Apply ``SwitchAt``'s changes to an SB3 model (they take effect at its next update)."""
    import torch

    for key, value in changes.items():
        if key == "learning_rate":
            model.learning_rate = value
            model.lr_schedule = _const(value)
        elif key == "clip_range":
            model.clip_range = _const(value)
        elif key in ("ent_coef", "vf_coef", "n_epochs"):
            setattr(model, key, value)
        elif key == "reset_value_head":
            # the value head and the value branch of the MLP (separate pi/vf nets)
            for net in (model.policy.value_net, model.policy.mlp_extractor.value_net):
                for m in net.modules():
                    if isinstance(m, torch.nn.Linear):
                        m.reset_parameters()
        else:
            raise KeyError(f"unknown switch {key!r}")


def _const(value: float):
    def schedule(_progress_remaining: float) -> float:
        return value

    return schedule
