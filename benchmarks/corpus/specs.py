"""The corpus grid: one ``Run`` per training run, and the tuning/held-out split rule.

Contents:
    Run -- what to train (framework, algo, env, seed, steps, hyperparameters) and what is
        planted (fault, expected category, onset, strength) or, for a healthy run, which
        shape that fools naive rules it has.
    ENV_INDEX, split_of(env, seed) -- the split, fixed before any rlvet verdict was seen.
    RUNS -- the grid (built by ``_grid()``), names unique.
    FRESH2_RUNS .. FRESH7_RUNS -- further held-out sets (seeds 30-33, 40-43, ..., 80-83),
        each scored once after the rules it scores were frozen.
    FRESH_RUNS -- a second held-out set (split ``fresh``, seeds 20-23, built by
        ``_fresh_grid()``), fixed on 2026-12-05 after the first held-out half had been looked
        at: it is scored once, after the rules are frozen, so its figures are clean. It leans
        away from CartPole and fills the classes the first grid lacked (late kl_spike and
        reward_direction, mild entropy_stuck, faults on LunarLander, Acrobot, Pendulum).

Split rule (by (env, seed) pair, deterministic): ``tune`` if ``(seed + ENV_INDEX[env]) % 2
== 0`` else ``heldout``. Every run of one (env, seed) pair lands in the same half, so a
detector tuned on a seed's CartPole curves is never scored on that same seed's CartPole.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

ENV_INDEX = {
    "CartPole-v1": 0, "Acrobot-v1": 1, "MountainCar-v0": 2, "MountainCarContinuous-v0": 3,
    "Pendulum-v1": 4, "LunarLander-v3": 5, "Hopper-v5": 6, "HalfCheetah-v5": 7,
}
SHORT = {"CartPole-v1": "cartpole", "Acrobot-v1": "acrobot", "MountainCar-v0": "mcar",
         "MountainCarContinuous-v0": "mcarcont", "Pendulum-v1": "pendulum",
         "LunarLander-v3": "lunar", "Hopper-v5": "hopper", "HalfCheetah-v5": "cheetah"}
ONSET_FRAC = {"start": 0.0, "early": 0.3, "late": 0.7}


def split_of(env: str, seed: int) -> str:
    return "tune" if (seed + ENV_INDEX[env]) % 2 == 0 else "heldout"


@dataclass(frozen=True)
class Run:
    framework: str  # sb3 | cleanrl | rlvet
    algo: str  # ppo | a2c | dqn | sac | td3
    env: str
    seed: int
    steps: int
    hyper: dict[str, Any] = field(default_factory=dict)
    n_envs: int = 1
    fault: str | None = None  # short name of what is planted
    category: str | None = None  # expected first category (rlvet.findings.Category)
    onset: str | None = None  # start | early | late
    strength: str | None = None  # mild | strong
    shape: str | None = None  # healthy shape that fools naive rules
    wrapper: str | None = None  # env fault (faults.WRAPPERS), switched on at the onset
    wrapper_kwargs: dict[str, Any] = field(default_factory=dict)
    wrap_eval: bool = False  # the fault is in the env factory: the eval env has it too
    switch: dict[str, Any] = field(default_factory=dict)  # changes at the onset
    leak_mib_per_1k: float = 0.0  # SB3 memory leak from the onset on
    n_evals: int = 12
    eval_episodes: int = 5
    eval_deterministic: bool = True
    log_interval: int = 1
    max_episode_steps: int | None = None
    learn_min: float | None = None  # healthy: the final return must reach this
    tag: str = ""  # disambiguates names
    note: str = ""
    batch: str = "v1"  # v1: split by (env, seed); fresh, fresh2: further held-out sets

    @property
    def onset_step(self) -> int | None:
        if self.onset in (None, "start"):
            return None
        return int(ONSET_FRAC[self.onset] * self.steps)

    @property
    def at(self) -> int:
        """Env step at which the fault switches on (0 = from the first step)."""
        return self.onset_step or 0

    @property
    def name(self) -> str:
        parts = [self.framework, self.algo, SHORT[self.env]]
        if self.fault:
            parts += [self.fault, self.onset or "", self.strength or ""]
        else:
            parts += ["healthy"] + ([self.shape] if self.shape else [])
        if self.tag:
            parts.append(self.tag)
        return "_".join(p for p in parts if p) + f"_s{self.seed}"

    @property
    def split(self) -> str:
        return self.batch if self.batch != "v1" else split_of(self.env, self.seed)


# --------------------------------------------------------------------------------------
# Configurations (rl-zoo / CleanRL defaults, small nets; see README for sources)
# --------------------------------------------------------------------------------------

SMALL = {"net_arch": {"pi": [64, 64], "vf": [64, 64]}}
Q64 = {"net_arch": [64, 64]}

PPO_CARTPOLE = {"n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98,
                "n_epochs": 20, "ent_coef": 0.0, "learning_rate": "lin_1e-3",
                "clip_range": "lin_0.2", "policy_kwargs": SMALL}  # rl-zoo ppo.yml
PPO_ACROBOT = {"n_steps": 256, "gae_lambda": 0.94, "gamma": 0.99, "n_epochs": 4,
               "ent_coef": 0.0, "policy_kwargs": SMALL}  # rl-zoo, without VecNormalize
PPO_LUNAR = {"n_steps": 256, "batch_size": 64, "gae_lambda": 0.98, "gamma": 0.999,
             "n_epochs": 4, "ent_coef": 0.01, "policy_kwargs": SMALL}  # rl-zoo, fewer steps
PPO_MCAR = {"n_steps": 128, "gae_lambda": 0.98, "gamma": 0.99, "n_epochs": 4,
            "ent_coef": 0.0, "policy_kwargs": SMALL}
PPO_HOPPER = {"n_steps": 512, "batch_size": 64, "n_epochs": 10, "learning_rate": 3e-4,
              "policy_kwargs": SMALL}  # SB3 defaults, smaller rollouts
A2C_DEFAULT = {"ent_coef": 0.0, "policy_kwargs": SMALL}  # SB3 defaults (rl-zoo CartPole)
DQN_CARTPOLE = {"learning_rate": 1e-3, "batch_size": 64, "buffer_size": 100_000,
                "learning_starts": 3500, "gamma": 0.99, "target_update_interval": 10,
                "train_freq": 256, "gradient_steps": 128, "exploration_fraction": 0.16,
                "exploration_final_eps": 0.04, "policy_kwargs": Q64}  # make_runs' DQN
DQN_ACROBOT = {"learning_rate": 6.3e-4, "batch_size": 128, "buffer_size": 50_000,
               "learning_starts": 5000, "gamma": 0.99, "target_update_interval": 250,
               "train_freq": 4, "gradient_steps": 1, "exploration_fraction": 0.12,
               "exploration_final_eps": 0.1, "policy_kwargs": Q64}  # rl-zoo, 1 grad step
DQN_MCAR = {"learning_rate": 4e-3, "batch_size": 128, "buffer_size": 10_000,
            "learning_starts": 1000, "gamma": 0.98, "target_update_interval": 600,
            "train_freq": 16, "gradient_steps": 8, "exploration_fraction": 0.2,
            "exploration_final_eps": 0.07, "policy_kwargs": Q64}  # rl-zoo MountainCar
SAC_PENDULUM = {"learning_rate": 1e-3, "learning_starts": 800, "batch_size": 128,
                "policy_kwargs": {"net_arch": [64, 64]}}
TD3_PENDULUM = {"learning_rate": 1e-3, "learning_starts": 1000, "batch_size": 128,
                "action_noise": 0.1, "policy_kwargs": {"net_arch": [64, 64]}}
SAC_MUJOCO = {"learning_rate": 3e-4, "learning_starts": 2000, "batch_size": 128,
              "policy_kwargs": {"net_arch": [64, 64]}}
CR_PPO: dict[str, Any] = {}  # cleanrl ppo.py defaults
CR_DQN = {"learning_starts": 5000, "exploration_fraction": 0.3, "train_frequency": 4}
RLVET: dict[str, Any] = {}  # rlvet train defaults (sync backend)


def _ppo(**kw: Any) -> dict[str, Any]:
    return {**PPO_CARTPOLE, **kw}


# reward faults switched on mid-run need a policy that can still change after the onset:
# rl-zoo's linearly annealed lr is ~0 by then, so these runs keep it constant
PPO_CONST = _ppo(learning_rate=5e-4, clip_range=0.2)


def _grid() -> list[Run]:  # noqa: C901 - one table
    runs: list[Run] = []
    add = runs.append

    # ------------------------------------------------------------------ healthy
    for s in (0, 1, 2, 3):
        add(Run("sb3", "ppo", "CartPole-v1", s, 50_000, PPO_CARTPOLE, 8, learn_min=300))
    for s in (0, 1, 2, 3):  # the base of the mid-run hyperparameter faults
        add(Run("sb3", "ppo", "CartPole-v1", s, 50_000, PPO_CONST, 8, learn_min=300,
                tag="constlr"))
    for s in (0, 1):
        add(Run("sb3", "ppo", "CartPole-v1", s, 8_000, PPO_CARTPOLE, 8, shape="short",
                n_evals=6, learn_min=60, tag="8k"))
    for s in (1, 2):
        add(Run("sb3", "ppo", "CartPole-v1", s, 40_000, PPO_CARTPOLE, 8, shape="truncation",
                max_episode_steps=100, learn_min=80, tag="tl100"))
    for s in (0, 1, 2):
        add(Run("sb3", "ppo", "Acrobot-v1", s, 80_000, PPO_ACROBOT, 8, shape="slow_start",
                learn_min=-200))
    for s in (0, 1):
        add(Run("sb3", "ppo", "LunarLander-v3", s, 80_000, PPO_LUNAR, 8, shape="noisy_eval",
                eval_episodes=2, eval_deterministic=False, learn_min=-200))
    for s in (0, 1):
        add(Run("sb3", "ppo", "Hopper-v5", s, 60_000, PPO_HOPPER, 4, learn_min=150))
    for s in (0, 1, 2):
        add(Run("sb3", "a2c", "CartPole-v1", s, 100_000, A2C_DEFAULT, 8, log_interval=100,
                shape="low_ev", learn_min=150))
    for s in (0, 1):
        add(Run("sb3", "a2c", "Acrobot-v1", s, 80_000, A2C_DEFAULT, 8, log_interval=50,
                shape="noisy_eval", eval_episodes=2, eval_deterministic=False,
                learn_min=-250))
    for s in (0, 1, 2):
        add(Run("sb3", "dqn", "CartPole-v1", s, 35_000, DQN_CARTPOLE, 1, log_interval=4,
                shape="warmup", learn_min=150))
    for s in (0, 1):
        add(Run("sb3", "dqn", "Acrobot-v1", s, 40_000, DQN_ACROBOT, 1, log_interval=2,
                shape="warmup", learn_min=-250))
    for s in (0, 1, 2):
        add(Run("sb3", "sac", "Pendulum-v1", s, 8_000, SAC_PENDULUM, 1, shape="warmup",
                n_evals=10, learn_min=-500))
    for s in (0, 1):
        add(Run("sb3", "td3", "Pendulum-v1", s, 10_000, TD3_PENDULUM, 1, shape="truncation",
                n_evals=10, learn_min=-500))
    for s in (0, 1):
        add(Run("sb3", "sac", "Hopper-v5", s, 10_000, SAC_MUJOCO, 1, shape="warmup",
                n_evals=10, learn_min=150))
    add(Run("sb3", "sac", "HalfCheetah-v5", 0, 10_000, SAC_MUJOCO, 1, shape="warmup",
            n_evals=10, learn_min=100))  # standing still scores ~0; random ~-280
    add(Run("sb3", "td3", "Hopper-v5", 1, 10_000, {**SAC_MUJOCO, "action_noise": 0.1}, 1,
            shape="warmup", n_evals=10, learn_min=150))
    for s in (0, 1, 2):
        add(Run("cleanrl", "ppo", "CartPole-v1", s, 100_000, CR_PPO, 4, shape="low_ev",
                learn_min=120))
    for s in (0, 1):
        add(Run("cleanrl", "ppo", "Acrobot-v1", s, 80_000, CR_PPO, 4, shape="slow_start",
                learn_min=-250))
    add(Run("cleanrl", "ppo", "LunarLander-v3", 0, 100_000, CR_PPO, 4, learn_min=-200))
    for s in (0, 1, 2):
        add(Run("cleanrl", "dqn", "CartPole-v1", s, 50_000, CR_DQN, 1, shape="warmup",
                learn_min=100))
    for s in (0, 1):
        add(Run("cleanrl", "dqn", "Acrobot-v1", s, 40_000, CR_DQN, 1, shape="warmup",
                learn_min=-250))
    for s in (0, 1, 2, 3):
        add(Run("rlvet", "ppo", "CartPole-v1", s, 50_000, RLVET, 4, learn_min=100))
    for s in (0, 1):
        add(Run("rlvet", "ppo", "Acrobot-v1", s, 80_000, RLVET, 4, shape="slow_start",
                learn_min=-250))
    for s in (0, 1):
        # Box2D envs do not pickle, so no sync-mode snapshots: one actor process instead
        add(Run("rlvet", "ppo", "LunarLander-v3", s, 100_000, {"backend": "local", "actors": 1},
                4, learn_min=-200))

    # ------------------------------------------------------------------ faults
    def sb3_ppo(fault: str, cat: str, onset: str, strength: str, seed: int, steps: int = 50_000,
                **kw: Any) -> None:
        hyper = kw.pop("hyper", PPO_CARTPOLE)
        add(Run("sb3", "ppo", kw.pop("env", "CartPole-v1"), seed, steps, hyper,
                kw.pop("n_envs", 8), fault=fault, category=cat, onset=onset,
                strength=strength, **kw))

    def both(fault: str, cat: str, seeds: tuple[int, ...], start: dict, mild: dict,
             strong: dict, steps: int = 50_000, start_mild: dict | None = None) -> None:
        """start/strong, start/mild, early and late at both strengths (CartPole PPO with a
        constant lr and clip range: under rl-zoo's annealing both are ~0 by a late onset,
        and a hyperparameter switched then changes nothing)."""
        plan = [("start", "strong", start), ("start", "mild", {**start, **(start_mild or mild)}),
                ("early", "strong", strong), ("early", "mild", mild),
                ("late", "strong", strong), ("late", "mild", mild)]
        for (onset, strength, spec), seed in zip(plan, seeds, strict=True):
            spec = {"hyper": PPO_CONST, **spec}
            if onset == "start" and "switch" in spec:
                spec["hyper"] = {**spec["hyper"], **spec.pop("switch")}
            sb3_ppo(fault, cat, onset, strength, seed, steps, **spec)

    # kl_spike: learning rate too high / too many epochs without a trust region
    both("lr_too_high", "kl_spike", (1, 2, 0, 3, 2, 1),
         start={"switch": {"learning_rate": 0.05}},
         mild={"switch": {"learning_rate": 0.02}},
         strong={"switch": {"learning_rate": 0.05}})
    sb3_ppo("many_epochs", "kl_spike", "early", "strong", 0, switch={"n_epochs": 60,
                                                                     "clip_range": 100.0})
    add(Run("cleanrl", "ppo", "Acrobot-v1", 0, 60_000, {"learning_rate": 0.05}, 4,
            fault="lr_too_high", category="kl_spike", onset="start", strength="strong"))
    add(Run("cleanrl", "ppo", "CartPole-v1", 1, 60_000, CR_PPO, 4, fault="lr_too_high",
            category="kl_spike", onset="early", strength="strong",
            switch={"learning_rate": 0.05}))
    add(Run("rlvet", "ppo", "CartPole-v1", 1, 50_000, {"lr": 0.02}, 4, fault="lr_too_high",
            category="kl_spike", onset="start", strength="strong"))
    add(Run("rlvet", "ppo", "CartPole-v1", 2, 50_000, {"update_epochs": 40, "lr": 1e-3}, 4,
            fault="many_epochs", category="kl_spike", onset="start", strength="mild"))

    # entropy_collapse: negative entropy coefficient
    both("neg_ent_coef", "entropy_collapse", (0, 1, 2, 3, 1, 0),
         start={"switch": {"ent_coef": -0.3}}, mild={"switch": {"ent_coef": -0.3}},
         strong={"switch": {"ent_coef": -1.0}}, start_mild={"switch": {"ent_coef": -0.1}})
    add(Run("sb3", "a2c", "CartPole-v1", 2, 60_000, {**A2C_DEFAULT, "ent_coef": -1.0}, 8,
            fault="neg_ent_coef", category="entropy_collapse", onset="start",
            strength="strong", log_interval=50))
    add(Run("cleanrl", "ppo", "Acrobot-v1", 1, 60_000, {"ent_coef": -1.0}, 4,
            fault="neg_ent_coef", category="entropy_collapse", onset="start",
            strength="strong"))
    add(Run("rlvet", "ppo", "CartPole-v1", 0, 50_000, {"ent_coef": -1.0}, 4,
            fault="neg_ent_coef", category="entropy_collapse", onset="start",
            strength="strong"))

    # entropy_stuck: excessive entropy coefficient
    both("high_ent_coef", "entropy_stuck", (1, 0, 3, 2, 0, 1),
         start={"switch": {"ent_coef": 5.0}}, mild={"switch": {"ent_coef": 1.0}},
         strong={"switch": {"ent_coef": 5.0}})
    add(Run("cleanrl", "ppo", "CartPole-v1", 2, 60_000, {"ent_coef": 5.0}, 4,
            fault="high_ent_coef", category="entropy_stuck", onset="start", strength="strong"))
    add(Run("sb3", "a2c", "Acrobot-v1", 1, 60_000, {**A2C_DEFAULT, "ent_coef": 1.0}, 8,
            fault="high_ent_coef", category="entropy_stuck", onset="start", strength="strong",
            log_interval=50))

    # critic_failure: value head detached / vf_coef 0 / huge unnormalised rewards
    # (start: vf_coef 0 from init; mid-run strong: value head re-initialised and detached,
    # as after a checkpoint restore that lost it; mid-run mild: detached, kept as it was)
    sb3_ppo("vf_detached", "critic_failure", "start", "strong", 1,
            hyper={**PPO_CONST, "vf_coef": 0.0})
    for onset, strength, seed in (("early", "strong", 0), ("early", "mild", 2),
                                  ("late", "strong", 3), ("late", "mild", 1)):
        switch = {"vf_coef": 0.0, **({"reset_value_head": True} if strength == "strong"
                                     else {})}
        sb3_ppo("vf_detached", "critic_failure", onset, strength, seed, switch=switch,
                hyper=PPO_CONST)
    sb3_ppo("huge_reward", "critic_failure", "start", "mild", 0, wrapper="scale",
            wrapper_kwargs={"scale": 1e3})
    sb3_ppo("huge_reward", "critic_failure", "start", "strong", 2, wrapper="scale",
            wrapper_kwargs={"scale": 1e4})
    add(Run("cleanrl", "ppo", "CartPole-v1", 3, 80_000, {"vf_coef": 0.0}, 4,
            fault="vf_detached", category="critic_failure", onset="start", strength="strong"))
    add(Run("rlvet", "ppo", "CartPole-v1", 3, 50_000, {"vf_coef": 0.0}, 4,
            fault="vf_detached", category="critic_failure", onset="start", strength="strong"))
    sb3_ppo("vf_detached", "critic_failure", "start", "strong", 0, steps=60_000,
            env="Hopper-v5", hyper={**PPO_HOPPER, "vf_coef": 0.0}, n_envs=4)

    # critic_failure: the done-mask bug (bootstrapping through terminals), CleanRL PPO
    for onset, seed in (("start", 0), ("early", 2), ("late", 1)):
        add(Run("cleanrl", "ppo", "CartPole-v1", seed, 80_000, CR_PPO, 4, fault="done_bug",
                category="critic_failure", onset=onset, strength="strong",
                switch={"done_bug": "ignore"}))
    add(Run("cleanrl", "ppo", "Acrobot-v1", 0, 60_000, CR_PPO, 4, fault="done_bug",
            category="critic_failure", onset="start", strength="strong",
            switch={"done_bug": "ignore"}))

    # reward_direction: sign flip (strong: x -1; mild: a living cost above the +1 reward)
    both("reward_sign", "reward_direction", (0, 1, 2, 3, 1, 0),
         start={"wrapper": "scale", "wrapper_kwargs": {"scale": -1.0}, "hyper": PPO_CONST},
         mild={"wrapper": "living_cost", "wrapper_kwargs": {"cost": 1.05}, "hyper": PPO_CONST},
         strong={"wrapper": "scale", "wrapper_kwargs": {"scale": -1.0}, "hyper": PPO_CONST},
         steps=60_000)
    # a late flip on solved CartPole leaves too few (500-step) episodes to unlearn in:
    # the late flips are on Acrobot, whose solved episodes are short
    runs[:] = [r for r in runs if not (r.fault == "reward_sign" and r.onset == "late")]
    for strength, seed, wrapper, kw in (("strong", 1, "scale", {"scale": -1.0}),
                                        ("mild", 0, "living_cost", {"cost": -1.05})):
        sb3_ppo("reward_sign", "reward_direction", "late", strength, seed, steps=80_000,
                env="Acrobot-v1", hyper=PPO_ACROBOT, wrapper=wrapper, wrapper_kwargs=kw)
    add(Run("sb3", "dqn", "CartPole-v1", 2, 40_000, DQN_CARTPOLE, 1, fault="reward_sign",
            category="reward_direction", onset="start", strength="strong", wrapper="scale",
            wrapper_kwargs={"scale": -1.0}, log_interval=4))
    add(Run("sb3", "a2c", "CartPole-v1", 3, 80_000, A2C_DEFAULT, 8, fault="reward_sign",
            category="reward_direction", onset="early", strength="strong", wrapper="scale",
            wrapper_kwargs={"scale": -1.0}, log_interval=50))
    add(Run("sb3", "sac", "Pendulum-v1", 0, 10_000, SAC_PENDULUM, 1, fault="reward_sign",
            category="reward_direction", onset="early", strength="strong", wrapper="scale",
            wrapper_kwargs={"scale": -1.0}, n_evals=10))

    # reward_hacking: farmable proxy reward, true return in evaluation. CartPole pays a
    # bonus for leaving the track on the right (from the start: a policy that balances
    # never finds the exit); Pendulum pays for angular speed (found by gradient any time)
    for seed, strength, bonus in ((0, "strong", 1000.0), (3, "strong", 1000.0),
                                  (1, "mild", 200.0), (2, "mild", 200.0)):
        sb3_ppo("proxy_exit_bonus", "reward_hacking", "start", strength, seed, steps=80_000,
                wrapper="right_exit_bonus", wrapper_kwargs={"bonus": bonus})
    add(Run("sb3", "dqn", "CartPole-v1", 3, 50_000, DQN_CARTPOLE, 1, fault="proxy_exit_bonus",
            category="reward_hacking", onset="start", strength="strong",
            wrapper="right_exit_bonus", wrapper_kwargs={"bonus": 1000.0}, log_interval=4))
    for onset, seed, bonus, strength in (("early", 1, 3.0, "strong"), ("early", 0, 2.0, "mild"),
                                         ("late", 2, 5.0, "strong"), ("late", 3, 3.0, "mild")):
        add(Run("sb3", "sac", "Pendulum-v1", seed, 12_000, SAC_PENDULUM, 1,
                fault="proxy_spin_bonus", category="reward_hacking", onset=onset,
                strength=strength, wrapper="spin_bonus", wrapper_kwargs={"bonus": bonus},
                n_evals=12))

    # sparse_reward: goal-only reward (from the start: a property of the reward function)
    sparse = {"wrapper": "goal_only", "category": "sparse_reward", "fault": "goal_only",
              "onset": "start", "strength": "strong"}
    add(Run("sb3", "ppo", "MountainCar-v0", 0, 50_000, PPO_MCAR, 8, **sparse))
    add(Run("sb3", "a2c", "MountainCar-v0", 1, 50_000, A2C_DEFAULT, 8, log_interval=20,
            **sparse))
    add(Run("sb3", "dqn", "MountainCar-v0", 2, 40_000, DQN_MCAR, 1, log_interval=1, **sparse))
    add(Run("cleanrl", "ppo", "MountainCar-v0", 3, 50_000, CR_PPO, 4, **sparse))
    add(Run("cleanrl", "dqn", "MountainCar-v0", 1, 40_000, CR_DQN, 1, **sparse))
    add(Run("sb3", "sac", "MountainCarContinuous-v0", 0, 10_000, SAC_PENDULUM, 1,
            n_evals=10, **sparse))

    # numerical_instability: growing SGD lr; observation spikes; reward scale jump
    sb3_ppo("sgd_lr_growth", "numerical_instability", "start", "strong", 1, steps=20_000,
            hyper=_ppo(learning_rate="exp_0.01_1.0", max_grad_norm=1e20,
                       policy_kwargs={**SMALL, "optimizer_class": "torch.optim.SGD"}))
    for onset, strength, seed, prob, scale in (("start", "strong", 2, 0.01, 1e7),
                                               ("early", "strong", 0, 0.01, 1e7),
                                               ("early", "mild", 3, 0.002, 1e5),
                                               ("late", "strong", 3, 0.01, 1e7),
                                               ("late", "mild", 1, 0.002, 1e5)):
        sb3_ppo("reward_spikes", "numerical_instability", onset, strength, seed,
                wrapper="reward_spike", wrapper_kwargs={"prob": prob, "scale": scale})
    add(Run("sb3", "sac", "Pendulum-v1", 3, 10_000, SAC_PENDULUM, 1, fault="reward_scale_jump",
            category="numerical_instability", onset="early", strength="strong",
            wrapper="scale", wrapper_kwargs={"scale": 1e6}, n_evals=10))
    add(Run("cleanrl", "dqn", "CartPole-v1", 0, 40_000, CR_DQN, 1, fault="obs_spikes",
            category="numerical_instability", onset="late", strength="strong",
            wrapper="obs_spike", wrapper_kwargs={"prob": 0.01, "scale": 1e8}))

    # stale_data: learning on rollouts k updates old (CleanRL PPO); rlvet's async actors
    for onset, strength, seed, k in (("start", "strong", 0, 8), ("start", "mild", 1, 3),
                                     ("early", "strong", 2, 8), ("early", "mild", 3, 3),
                                     ("late", "strong", 1, 8), ("late", "mild", 0, 3)):
        add(Run("cleanrl", "ppo", "CartPole-v1", seed, 60_000, CR_PPO, 4, fault="stale_rollouts",
                category="stale_data", onset=onset, strength=strength,
                switch={"stale_k": k}))
    add(Run("cleanrl", "ppo", "Acrobot-v1", 1, 60_000, CR_PPO, 4, fault="stale_rollouts",
            category="stale_data", onset="early", strength="strong", switch={"stale_k": 8}))
    add(Run("rlvet", "ppo", "CartPole-v1", 0, 50_000,
            {"backend": "local", "actors": 2, "actor_inflight": 4, "max_lag": 8,
             "lag_mode": "correct"}, 4, fault="async_lag", category="stale_data",
            onset="start", strength="mild"))

    # throughput_drop: env step time grows (ProgressiveSlowdown from make_runs)
    for onset, strength, seed, cap in (("start", "strong", 1, 3e-3), ("early", "strong", 0, 3e-3),
                                       ("early", "mild", 3, 1e-3), ("late", "strong", 2, 3e-3),
                                       ("late", "mild", 1, 1e-3)):
        sb3_ppo("env_slowdown", "throughput_drop", onset, strength, seed, steps=24_000,
                wrapper="slowdown", wrapper_kwargs={"slope": 2e-6, "max_sleep": cap})
    add(Run("sb3", "dqn", "CartPole-v1", 2, 20_000, DQN_CARTPOLE, 1, fault="env_slowdown",
            category="throughput_drop", onset="early", strength="strong", wrapper="slowdown",
            wrapper_kwargs={"slope": 2e-6, "max_sleep": 3e-3}, log_interval=4))
    add(Run("cleanrl", "ppo", "CartPole-v1", 3, 30_000, CR_PPO, 4, fault="env_slowdown",
            category="throughput_drop", onset="early", strength="strong", wrapper="slowdown",
            wrapper_kwargs={"slope": 2e-6, "max_sleep": 3e-3}))
    add(Run("rlvet", "ppo", "CartPole-v1", 1, 30_000, RLVET, 4, fault="env_slowdown",
            category="throughput_drop", onset="early", strength="strong", wrapper="slowdown",
            wrapper_kwargs={"slope": 2e-6, "max_sleep": 3e-3}))

    # memory_growth: a leak (SB3: a callback keeping arrays; rlvet train: a leaking env)
    for onset, strength, seed, rate in (("start", "strong", 0, 8.0), ("start", "mild", 1, 1.5),
                                        ("early", "strong", 2, 8.0), ("early", "mild", 3, 1.5),
                                        ("late", "strong", 1, 12.0), ("late", "mild", 0, 3.0)):
        sb3_ppo("leak", "memory_growth", onset, strength, seed, steps=40_000,
                leak_mib_per_1k=rate)
    add(Run("sb3", "sac", "Pendulum-v1", 2, 10_000, SAC_PENDULUM, 1, fault="leak",
            category="memory_growth", onset="early", strength="strong", leak_mib_per_1k=20.0,
            n_evals=10))
    add(Run("sb3", "dqn", "CartPole-v1", 3, 40_000, DQN_CARTPOLE, 1, fault="leak",
            category="memory_growth", onset="late", strength="strong", leak_mib_per_1k=12.0,
            log_interval=4))
    for onset, seed in (("start", 0), ("early", 1)):
        add(Run("rlvet", "ppo", "CartPole-v1", seed, 50_000, RLVET, 4, fault="leaky_env",
                category="memory_growth", onset=onset, strength="strong", wrapper="leak",
                wrapper_kwargs={"kib_per_step": 6.0}))

    # plateau: the env ignores the agent's action (harness bug, in training and eval env)
    for seed in (0, 1, 2):
        sb3_ppo("action_ignored", "plateau", "start", "strong", seed,
                hyper=_ppo(ent_coef=0.01), wrapper="action_ignored", wrap_eval=True)
    return runs


def _fresh_grid(offset: int = 0, batch: str = "fresh") -> list[Run]:  # noqa: C901 - a table
    """A further held-out set: other seeds (20-23, plus ``offset``), mostly other envs than
    the first grid, and the classes it lacked."""
    runs: list[Run] = []

    def add(*args: Any, **kw: Any) -> None:
        runs.append(Run(*args[:3], args[3] + offset, *args[4:], batch=batch, **kw))

    def fault(fw: str, algo: str, env: str, seed: int, steps: int, hyper: dict, n_envs: int,
              name: str, cat: str, onset: str, strength: str, **kw: Any) -> None:
        add(fw, algo, env, seed, steps, hyper, n_envs, fault=name, category=cat, onset=onset,
            strength=strength, **kw)

    # ------------------------------------------------------------------ healthy
    for s in (20, 21):
        add("sb3", "ppo", "CartPole-v1", s, 50_000, PPO_CARTPOLE, 8, learn_min=300)
        add("sb3", "ppo", "Acrobot-v1", s, 80_000, PPO_ACROBOT, 8, shape="slow_start",
            learn_min=-200)
        add("sb3", "sac", "Pendulum-v1", s, 8_000, SAC_PENDULUM, 1, shape="warmup", n_evals=10,
            learn_min=-500)
        add("cleanrl", "ppo", "CartPole-v1", s, 100_000, CR_PPO, 4, shape="low_ev",
            learn_min=120)
        add("rlvet", "ppo", "CartPole-v1", s, 50_000, RLVET, 4, learn_min=100)
    add("sb3", "ppo", "LunarLander-v3", 20, 80_000, PPO_LUNAR, 8, shape="noisy_eval",
        eval_episodes=2, eval_deterministic=False, learn_min=-200)
    add("sb3", "ppo", "Hopper-v5", 20, 60_000, PPO_HOPPER, 4, learn_min=150)
    add("sb3", "a2c", "CartPole-v1", 20, 100_000, A2C_DEFAULT, 8, log_interval=100,
        shape="low_ev", learn_min=150)
    add("sb3", "a2c", "Acrobot-v1", 21, 80_000, A2C_DEFAULT, 8, log_interval=50,
        learn_min=-250)
    add("sb3", "dqn", "CartPole-v1", 21, 35_000, DQN_CARTPOLE, 1, log_interval=4,
        shape="warmup", learn_min=150)
    add("sb3", "dqn", "Acrobot-v1", 20, 40_000, DQN_ACROBOT, 1, log_interval=2,
        shape="warmup", learn_min=-250)
    add("sb3", "td3", "Pendulum-v1", 22, 10_000, TD3_PENDULUM, 1, shape="truncation",
        n_evals=10, learn_min=-500)
    add("sb3", "sac", "HalfCheetah-v5", 21, 10_000, SAC_MUJOCO, 1, shape="warmup",
        n_evals=10, learn_min=100)
    add("sb3", "ppo", "CartPole-v1", 22, 8_000, PPO_CARTPOLE, 8, shape="short", n_evals=6,
        learn_min=60, tag="8k")
    add("sb3", "ppo", "CartPole-v1", 23, 40_000, PPO_CARTPOLE, 8, shape="truncation",
        max_episode_steps=100, learn_min=80, tag="tl100")
    add("cleanrl", "ppo", "Acrobot-v1", 22, 80_000, CR_PPO, 4, shape="slow_start",
        learn_min=-250)
    add("cleanrl", "ppo", "LunarLander-v3", 21, 100_000, CR_PPO, 4, learn_min=-200)
    add("cleanrl", "dqn", "CartPole-v1", 22, 50_000, CR_DQN, 1, shape="warmup", learn_min=100)
    add("cleanrl", "dqn", "Acrobot-v1", 21, 40_000, CR_DQN, 1, shape="warmup", learn_min=-250)
    add("rlvet", "ppo", "Acrobot-v1", 22, 80_000, RLVET, 4, shape="slow_start",
        learn_min=-250)
    add("rlvet", "ppo", "LunarLander-v3", 23, 100_000, {"backend": "local", "actors": 1}, 4,
        learn_min=-200)

    # ------------------------------------------------------------------ faults
    # kl_spike: lr too high (from the start, early, late), many epochs without clipping
    fault("sb3", "ppo", "CartPole-v1", 20, 50_000, PPO_CONST, 8, "lr_too_high", "kl_spike",
          "late", "strong", switch={"learning_rate": 0.05})
    fault("sb3", "ppo", "CartPole-v1", 21, 50_000, PPO_CONST, 8, "lr_too_high", "kl_spike",
          "late", "mild", switch={"learning_rate": 0.02})
    fault("sb3", "ppo", "Acrobot-v1", 20, 60_000, {**PPO_ACROBOT, "learning_rate": 0.05}, 8,
          "lr_too_high", "kl_spike", "start", "strong")
    fault("sb3", "ppo", "LunarLander-v3", 21, 80_000, {**PPO_LUNAR, "learning_rate": 3e-4}, 8,
          "lr_too_high", "kl_spike", "early", "mild", switch={"learning_rate": 0.02})
    fault("cleanrl", "ppo", "LunarLander-v3", 22, 80_000, {"learning_rate": 0.05}, 4,
          "lr_too_high", "kl_spike", "start", "strong")
    fault("rlvet", "ppo", "Acrobot-v1", 21, 60_000, {"lr": 0.02}, 4, "lr_too_high",
          "kl_spike", "start", "strong")
    fault("sb3", "ppo", "CartPole-v1", 22, 50_000, PPO_CONST, 8, "many_epochs", "kl_spike",
          "late", "strong", switch={"n_epochs": 60, "clip_range": 100.0})

    # entropy_collapse: negative entropy coefficient
    fault("sb3", "ppo", "CartPole-v1", 23, 50_000, PPO_CONST, 8, "neg_ent_coef",
          "entropy_collapse", "late", "strong", switch={"ent_coef": -1.0})
    fault("cleanrl", "ppo", "CartPole-v1", 20, 60_000, {"ent_coef": -1.0}, 4, "neg_ent_coef",
          "entropy_collapse", "start", "strong")
    fault("sb3", "ppo", "LunarLander-v3", 21, 80_000, PPO_LUNAR, 8, "neg_ent_coef",
          "entropy_collapse", "early", "mild", switch={"ent_coef": -0.5})
    fault("rlvet", "ppo", "Acrobot-v1", 20, 60_000, {"ent_coef": -1.0}, 4, "neg_ent_coef",
          "entropy_collapse", "start", "strong")
    fault("sb3", "a2c", "Acrobot-v1", 22, 60_000, {**A2C_DEFAULT, "ent_coef": -1.0}, 8,
          "neg_ent_coef", "entropy_collapse", "start", "strong", log_interval=50)

    # entropy_stuck: excessive entropy coefficient, including a mild one
    fault("sb3", "ppo", "CartPole-v1", 20, 50_000, {**PPO_CONST, "ent_coef": 0.5}, 8,
          "high_ent_coef", "entropy_stuck", "start", "mild")
    fault("sb3", "ppo", "CartPole-v1", 21, 50_000, PPO_CONST, 8, "high_ent_coef",
          "entropy_stuck", "late", "strong", switch={"ent_coef": 5.0})
    fault("sb3", "ppo", "Acrobot-v1", 22, 60_000, {**PPO_ACROBOT, "ent_coef": 5.0}, 8,
          "high_ent_coef", "entropy_stuck", "start", "strong")
    fault("cleanrl", "ppo", "Acrobot-v1", 23, 60_000, {"ent_coef": 2.0}, 4, "high_ent_coef",
          "entropy_stuck", "start", "strong")
    fault("rlvet", "ppo", "CartPole-v1", 22, 50_000, {"ent_coef": 5.0}, 4, "high_ent_coef",
          "entropy_stuck", "start", "strong")
    fault("sb3", "ppo", "LunarLander-v3", 23, 80_000, PPO_LUNAR, 8, "high_ent_coef",
          "entropy_stuck", "early", "mild", switch={"ent_coef": 1.0})

    # critic_failure: vf_coef 0, value head reset + detached, huge reward, done-mask bug
    fault("sb3", "ppo", "Acrobot-v1", 21, 60_000, {**PPO_ACROBOT, "vf_coef": 0.0}, 8,
          "vf_detached", "critic_failure", "start", "strong")
    fault("sb3", "ppo", "LunarLander-v3", 22, 80_000, PPO_LUNAR, 8, "vf_detached",
          "critic_failure", "early", "strong", switch={"vf_coef": 0.0,
                                                       "reset_value_head": True})
    fault("sb3", "ppo", "Hopper-v5", 21, 60_000, {**PPO_HOPPER, "vf_coef": 0.0}, 4,
          "vf_detached", "critic_failure", "start", "strong")
    fault("rlvet", "ppo", "Acrobot-v1", 23, 60_000, {"vf_coef": 0.0}, 4, "vf_detached",
          "critic_failure", "start", "strong")
    fault("sb3", "ppo", "CartPole-v1", 21, 50_000, PPO_CARTPOLE, 8, "huge_reward",
          "critic_failure", "start", "strong", wrapper="scale", wrapper_kwargs={"scale": 1e4})
    fault("cleanrl", "ppo", "Acrobot-v1", 20, 60_000, CR_PPO, 4, "done_bug",
          "critic_failure", "early", "strong", switch={"done_bug": "ignore"})

    # reward_direction: sign flips at start, early and late; a mild living reward late
    fault("sb3", "ppo", "LunarLander-v3", 20, 80_000, PPO_LUNAR, 8, "reward_sign",
          "reward_direction", "start", "strong", wrapper="scale", wrapper_kwargs={"scale": -1.0})
    fault("sb3", "a2c", "Acrobot-v1", 23, 60_000, A2C_DEFAULT, 8, "reward_sign",
          "reward_direction", "start", "strong", wrapper="scale",
          wrapper_kwargs={"scale": -1.0}, log_interval=50)
    fault("sb3", "td3", "Pendulum-v1", 21, 10_000, TD3_PENDULUM, 1, "reward_sign",
          "reward_direction", "early", "strong", wrapper="scale",
          wrapper_kwargs={"scale": -1.0}, n_evals=10)
    fault("sb3", "ppo", "Acrobot-v1", 23, 80_000, PPO_ACROBOT, 8, "reward_sign",
          "reward_direction", "late", "strong", wrapper="scale", wrapper_kwargs={"scale": -1.0})
    fault("sb3", "ppo", "Acrobot-v1", 22, 80_000, PPO_ACROBOT, 8, "reward_sign",
          "reward_direction", "late", "mild", wrapper="living_cost",
          wrapper_kwargs={"cost": -1.05})

    # reward_hacking: farmable proxies, true return in evaluation
    fault("sb3", "sac", "Pendulum-v1", 20, 12_000, SAC_PENDULUM, 1, "proxy_spin_bonus",
          "reward_hacking", "early", "strong", wrapper="spin_bonus",
          wrapper_kwargs={"bonus": 3.0})
    fault("sb3", "sac", "Pendulum-v1", 21, 12_000, SAC_PENDULUM, 1, "proxy_spin_bonus",
          "reward_hacking", "late", "strong", wrapper="spin_bonus",
          wrapper_kwargs={"bonus": 5.0})
    fault("sb3", "td3", "Pendulum-v1", 22, 12_000, TD3_PENDULUM, 1, "proxy_spin_bonus",
          "reward_hacking", "early", "mild", wrapper="spin_bonus",
          wrapper_kwargs={"bonus": 2.0}, n_evals=12)
    fault("sb3", "ppo", "CartPole-v1", 23, 80_000, PPO_CONST, 8, "proxy_exit_bonus",
          "reward_hacking", "start", "strong", wrapper="right_exit_bonus",
          wrapper_kwargs={"bonus": 1000.0})
    fault("sb3", "dqn", "CartPole-v1", 21, 50_000, DQN_CARTPOLE, 1, "proxy_exit_bonus",
          "reward_hacking", "start", "strong", wrapper="right_exit_bonus",
          wrapper_kwargs={"bonus": 1000.0}, log_interval=4)

    # sparse_reward: goal-only MountainCar(Continuous)
    sparse = {"wrapper": "goal_only"}
    fault("sb3", "ppo", "MountainCar-v0", 21, 50_000, PPO_MCAR, 8, "goal_only",
          "sparse_reward", "start", "strong", **sparse)
    fault("sb3", "sac", "MountainCarContinuous-v0", 22, 10_000, SAC_PENDULUM, 1, "goal_only",
          "sparse_reward", "start", "strong", n_evals=10, **sparse)
    fault("cleanrl", "dqn", "MountainCar-v0", 20, 40_000, CR_DQN, 1, "goal_only",
          "sparse_reward", "start", "strong", **sparse)
    fault("sb3", "dqn", "MountainCar-v0", 23, 40_000, DQN_MCAR, 1, "goal_only",
          "sparse_reward", "start", "strong", **sparse)

    # numerical_instability: reward spikes, reward scale jump, observation spikes
    fault("sb3", "ppo", "CartPole-v1", 22, 50_000, PPO_CARTPOLE, 8, "reward_spikes",
          "numerical_instability", "late", "strong", wrapper="reward_spike",
          wrapper_kwargs={"prob": 0.01, "scale": 1e7})
    fault("sb3", "a2c", "CartPole-v1", 21, 60_000, A2C_DEFAULT, 8, "reward_spikes",
          "numerical_instability", "early", "strong", wrapper="reward_spike",
          wrapper_kwargs={"prob": 0.01, "scale": 1e7}, log_interval=50)
    fault("sb3", "sac", "Pendulum-v1", 20, 10_000, SAC_PENDULUM, 1, "reward_scale_jump",
          "numerical_instability", "late", "strong", wrapper="scale",
          wrapper_kwargs={"scale": 1e6}, n_evals=10)
    fault("cleanrl", "dqn", "Acrobot-v1", 23, 40_000, CR_DQN, 1, "obs_spikes",
          "numerical_instability", "early", "strong", wrapper="obs_spike",
          wrapper_kwargs={"prob": 0.01, "scale": 1e8})

    # stale_data: rollouts k updates old
    for env, seed, onset, k, steps in (("Acrobot-v1", 22, "start", 8, 60_000),
                                       ("LunarLander-v3", 20, "late", 8, 80_000),
                                       ("CartPole-v1", 23, "early", 3, 60_000)):
        fault("cleanrl", "ppo", env, seed, steps, CR_PPO, 4, "stale_rollouts", "stale_data",
              onset, "strong" if k == 8 else "mild", switch={"stale_k": k})

    # throughput_drop: env step time grows
    slow = {"wrapper": "slowdown", "wrapper_kwargs": {"slope": 2e-6, "max_sleep": 3e-3}}
    fault("sb3", "a2c", "CartPole-v1", 20, 24_000, A2C_DEFAULT, 8, "env_slowdown",
          "throughput_drop", "early", "strong", log_interval=20, **slow)
    fault("sb3", "sac", "Pendulum-v1", 23, 10_000, SAC_PENDULUM, 1, "env_slowdown",
          "throughput_drop", "late", "strong", n_evals=10, **slow)
    fault("cleanrl", "ppo", "Acrobot-v1", 21, 30_000, CR_PPO, 4, "env_slowdown",
          "throughput_drop", "late", "strong", **slow)
    fault("sb3", "ppo", "Acrobot-v1", 20, 30_000, PPO_ACROBOT, 8, "env_slowdown",
          "throughput_drop", "start", "mild", wrapper="slowdown",
          wrapper_kwargs={"slope": 2e-6, "max_sleep": 1e-3})

    # memory_growth: leaks
    fault("sb3", "ppo", "Acrobot-v1", 20, 40_000, PPO_ACROBOT, 8, "leak", "memory_growth",
          "early", "strong", leak_mib_per_1k=8.0)
    fault("sb3", "sac", "Pendulum-v1", 21, 10_000, SAC_PENDULUM, 1, "leak", "memory_growth",
          "late", "strong", leak_mib_per_1k=20.0, n_evals=10)
    fault("sb3", "dqn", "Acrobot-v1", 22, 40_000, DQN_ACROBOT, 1, "leak", "memory_growth",
          "early", "mild", leak_mib_per_1k=3.0, log_interval=2)
    fault("rlvet", "ppo", "Acrobot-v1", 20, 60_000, RLVET, 4, "leaky_env", "memory_growth",
          "late", "strong", wrapper="leak", wrapper_kwargs={"kib_per_step": 6.0})

    # plateau: the env ignores the action (harness bug in training and evaluation)
    fault("sb3", "ppo", "Acrobot-v1", 23, 60_000, {**PPO_ACROBOT, "ent_coef": 0.01}, 8,
          "action_ignored", "plateau", "start", "strong", wrapper="action_ignored",
          wrap_eval=True)
    fault("sb3", "ppo", "LunarLander-v3", 22, 60_000, PPO_LUNAR, 8, "action_ignored",
          "plateau", "start", "strong", wrapper="action_ignored", wrap_eval=True)
    return _round_robin(runs)


def _round_robin(runs: list[Run]) -> list[Run]:
    """The runs in category round-robin order (healthy counts as one), so a generation cut
    short by its time budget still holds every category."""
    by_cat: dict[str, list[Run]] = {}
    for r in runs:
        by_cat.setdefault(r.category or "healthy", []).append(r)
    queues = list(by_cat.values())
    out: list[Run] = []
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out


RUNS: list[Run] = _grid()
FRESH_RUNS: list[Run] = _fresh_grid()


def _fresh2_grid() -> list[Run]:
    """The third held-out set (split ``fresh2``), fixed on 2026-12-05 right after the fresh
    set was scored and before any rule was changed on it: the fresh recipe with seeds 30-33,
    plus runs for the categories the fresh set held fewest of."""
    extra = [
        Run("sb3", "ppo", "CartPole-v1", 30, 60_000, PPO_CONST, 8, fault="reward_sign",
            category="reward_direction", onset="early", strength="strong", wrapper="scale",
            wrapper_kwargs={"scale": -1.0}, batch="fresh2"),
        Run("sb3", "ppo", "CartPole-v1", 31, 60_000, PPO_CONST, 8, fault="reward_sign",
            category="reward_direction", onset="early", strength="mild", wrapper="living_cost",
            wrapper_kwargs={"cost": 1.05}, batch="fresh2"),
        Run("sb3", "sac", "Pendulum-v1", 32, 12_000, SAC_PENDULUM, 1, fault="proxy_spin_bonus",
            category="reward_hacking", onset="early", strength="strong", wrapper="spin_bonus",
            wrapper_kwargs={"bonus": 3.0}, batch="fresh2"),
        Run("sb3", "ppo", "CartPole-v1", 33, 80_000, PPO_CARTPOLE, 8, fault="proxy_exit_bonus",
            category="reward_hacking", onset="start", strength="mild",
            wrapper="right_exit_bonus", wrapper_kwargs={"bonus": 200.0}, batch="fresh2"),
        Run("sb3", "a2c", "MountainCar-v0", 32, 50_000, A2C_DEFAULT, 8, fault="goal_only",
            category="sparse_reward", onset="start", strength="strong", wrapper="goal_only",
            log_interval=20, batch="fresh2"),
        Run("cleanrl", "ppo", "MountainCar-v0", 31, 50_000, CR_PPO, 4, fault="goal_only",
            category="sparse_reward", onset="start", strength="strong", wrapper="goal_only",
            batch="fresh2"),
        Run("sb3", "ppo", "CartPole-v1", 30, 50_000, _ppo(ent_coef=0.01), 8,
            fault="action_ignored", category="plateau", onset="start", strength="strong",
            wrapper="action_ignored", wrap_eval=True, batch="fresh2"),
    ]
    return _round_robin(_fresh_grid(10, "fresh2") + extra)


FRESH2_RUNS: list[Run] = _fresh2_grid()


def _fresh3_grid() -> list[Run]:
    """The fourth held-out set (split ``fresh3``), fixed on 2026-12-05 after fresh2 was
    scored and before any rule is changed on fresh2: the fresh2 recipe with seeds 40-43.
    Kept unscored for the next round of rule changes."""
    shifted = [dataclasses.replace(r, seed=r.seed + 10, batch="fresh3") for r in FRESH2_RUNS]
    return _round_robin(shifted)


FRESH3_RUNS: list[Run] = _fresh3_grid()


def _fresh4_grid() -> list[Run]:
    """The fifth held-out set (split ``fresh4``), fixed on 2026-12-05 right after fresh3
    was scored once and before any rule was changed on it: the fresh2 recipe with seeds
    50-53. Kept unscored until the rules tuned on fresh3 are frozen."""
    shifted = [dataclasses.replace(r, seed=r.seed + 20, batch="fresh4") for r in FRESH2_RUNS]
    return _round_robin(shifted)


FRESH4_RUNS: list[Run] = _fresh4_grid()


def _fresh5_grid() -> list[Run]:
    """The sixth held-out set (split ``fresh5``), fixed on 2026-12-05 right after fresh4
    was scored once and before any rule was changed on it: the fresh2 recipe with seeds
    60-63."""
    shifted = [dataclasses.replace(r, seed=r.seed + 30, batch="fresh5") for r in FRESH2_RUNS]
    return _round_robin(shifted)


FRESH5_RUNS: list[Run] = _fresh5_grid()


def _fresh6_grid() -> list[Run]:
    """The seventh held-out set (split ``fresh6``), fixed on 2026-12-06 before any rule was
    changed on fresh5's misses: the fresh2 recipe with seeds 70-73, plus reward-hacking runs
    (the category fresh5 held three of), half of them a farming class no earlier set had: a
    "keep moving" bonus paid every step on MountainCar and Acrobot, where finishing the task
    ends the pay (``velocity_bonus``)."""
    shifted = [dataclasses.replace(r, seed=r.seed + 40, batch="fresh6") for r in FRESH2_RUNS]
    hack = {"category": "reward_hacking", "batch": "fresh6"}
    exit_bonus = {**hack, "fault": "proxy_exit_bonus", "onset": "start",
                  "wrapper": "right_exit_bonus"}
    spin = {**hack, "fault": "proxy_spin_bonus", "wrapper": "spin_bonus", "n_evals": 12}
    velocity = {**hack, "fault": "proxy_velocity_bonus", "onset": "start",
                "wrapper": "velocity_bonus"}
    mcar_kw = {"index": 1, "top": 0.07}
    acro_kw = {"index": 4, "top": 12.566}
    extra = [
        Run("sb3", "ppo", "CartPole-v1", 74, 80_000, PPO_CARTPOLE, 8, strength="strong",
            wrapper_kwargs={"bonus": 1000.0}, **exit_bonus),
        Run("sb3", "ppo", "CartPole-v1", 75, 80_000, PPO_CARTPOLE, 8, strength="mild",
            wrapper_kwargs={"bonus": 200.0}, **exit_bonus),
        Run("sb3", "dqn", "CartPole-v1", 74, 50_000, DQN_CARTPOLE, 1, strength="strong",
            wrapper_kwargs={"bonus": 1000.0}, log_interval=4, **exit_bonus),
        Run("sb3", "sac", "Pendulum-v1", 74, 12_000, SAC_PENDULUM, 1, onset="early",
            strength="strong", wrapper_kwargs={"bonus": 3.0}, **spin),
        Run("sb3", "td3", "Pendulum-v1", 75, 12_000, TD3_PENDULUM, 1, onset="late",
            strength="strong", wrapper_kwargs={"bonus": 5.0}, **spin),
        Run("sb3", "ppo", "MountainCar-v0", 74, 80_000, PPO_MCAR, 8, strength="strong",
            wrapper_kwargs={**mcar_kw, "bonus": 3.0}, **velocity),
        Run("sb3", "ppo", "MountainCar-v0", 75, 80_000, PPO_MCAR, 8, strength="mild",
            wrapper_kwargs={**mcar_kw, "bonus": 1.5}, **velocity),
        Run("sb3", "dqn", "MountainCar-v0", 74, 40_000, DQN_MCAR, 1, strength="strong",
            wrapper_kwargs={**mcar_kw, "bonus": 3.0}, log_interval=1, **velocity),
        Run("sb3", "ppo", "Acrobot-v1", 74, 80_000, PPO_ACROBOT, 8, strength="strong",
            wrapper_kwargs={**acro_kw, "bonus": 3.0}, **velocity),
        Run("sb3", "ppo", "Acrobot-v1", 75, 80_000, PPO_ACROBOT, 8, strength="mild",
            wrapper_kwargs={**acro_kw, "bonus": 1.5}, **velocity),
        Run("cleanrl", "ppo", "Acrobot-v1", 74, 80_000, CR_PPO, 4, strength="strong",
            wrapper_kwargs={**acro_kw, "bonus": 3.0}, **velocity),
    ]
    return _round_robin(shifted + extra)


FRESH6_RUNS: list[Run] = _fresh6_grid()


def _fresh7_grid() -> list[Run]:
    """The eighth held-out set (split ``fresh7``), fixed on 2026-12-06 right after fresh6
    was scored once and before any rule was changed on it: the fresh2 recipe with seeds
    80-83, plus a second draw (seeds 85-88) of the categories fresh6 held four runs or fewer
    of and missed one of (critic_failure, reward_direction, throughput_drop)."""
    shifted = [dataclasses.replace(r, seed=r.seed + 50, batch="fresh7") for r in FRESH2_RUNS]
    thin = ("critic_failure", "reward_direction", "throughput_drop")
    extra = [dataclasses.replace(r, seed=r.seed + 55, batch="fresh7") for r in FRESH2_RUNS
             if r.category in thin]
    return _round_robin(shifted + extra)


FRESH7_RUNS: list[Run] = _fresh7_grid()


def _fresh8_grid() -> list[Run]:
    """The ninth held-out set (split ``fresh8``), fixed on 2026-12-06 right after fresh7
    was scored once and before any rule was changed on it: the fresh2 recipe with seeds
    90-93, plus a second draw (seeds 95-98) of the categories fresh7 held four verified runs
    or fewer of and that fresh2's recipe plants four times or fewer (memory_growth,
    numerical_instability, plateau, stale_data, throughput_drop), so one arguable run does
    not decide a category; a third draw (seeds 100-103) of throughput_drop."""
    shifted = [dataclasses.replace(r, seed=r.seed + 60, batch="fresh8") for r in FRESH2_RUNS]
    thin = ("memory_growth", "numerical_instability", "plateau", "stale_data",
            "throughput_drop")
    extra = [dataclasses.replace(r, seed=r.seed + 65, batch="fresh8") for r in FRESH2_RUNS
             if r.category in thin]
    third = [dataclasses.replace(r, seed=r.seed + 70, batch="fresh8") for r in FRESH2_RUNS
             if r.category == "throughput_drop"]  # half its runs fail verification
    return _round_robin(shifted + extra + third)


FRESH8_RUNS: list[Run] = _fresh8_grid()


def _fresh9_grid() -> list[Run]:
    """The tenth held-out set (split ``fresh9``), fixed on 2026-12-06 right after fresh8
    was scored once and before any rule was changed on it: the fresh2 recipe with seeds
    110-113, plus a second draw (seeds 115-118) of the categories fresh8 held four verified
    runs of or missed one of (critic_failure, entropy_collapse, kl_spike, reward_direction,
    sparse_reward)."""
    shifted = [dataclasses.replace(r, seed=r.seed + 80, batch="fresh9") for r in FRESH2_RUNS]
    thin = ("critic_failure", "entropy_collapse", "kl_spike", "reward_direction",
            "sparse_reward")
    extra = [dataclasses.replace(r, seed=r.seed + 85, batch="fresh9") for r in FRESH2_RUNS
             if r.category in thin]
    return _round_robin(shifted + extra)


FRESH9_RUNS: list[Run] = _fresh9_grid()


def _fresh10_grid() -> list[Run]:
    """The eleventh held-out set (split ``fresh10``), fixed on 2026-12-06 right after fresh9
    was scored once and before any rule was changed on it: the fresh2 recipe with seeds
    120-123, plus a second draw (seeds 125-128) of every faulty category, so that no
    category holds fewer than six planted runs before verification and one arguable run
    cannot decide the per-category bar on its own (on fresh5 .. fresh9 it always did); a
    third draw (seeds 130-133) of plateau and throughput_drop, whose runs most often fail
    verification."""
    shifted = [dataclasses.replace(r, seed=r.seed + 90, batch="fresh10") for r in FRESH2_RUNS]
    extra = [dataclasses.replace(r, seed=r.seed + 95, batch="fresh10") for r in FRESH2_RUNS
             if r.category is not None]
    third = [dataclasses.replace(r, seed=r.seed + 100, batch="fresh10") for r in FRESH2_RUNS
             if r.category in ("plateau", "throughput_drop")]
    return _round_robin(shifted + extra + third)


FRESH10_RUNS: list[Run] = _fresh10_grid()


def _fresh11_grid() -> list[Run]:
    """The twelfth held-out set (split ``fresh11``), fixed on 2026-12-06 right after fresh10
    was scored once and before any rule was changed on it: fresh10's recipe with seeds
    140-143 and a second draw of every faulty category (seeds 145-148), and a third draw
    (seeds 150-153) of the categories under the bar on fresh10 (plateau, reward_direction,
    reward_hacking) and of throughput_drop, whose runs most often fail verification."""
    shifted = [dataclasses.replace(r, seed=r.seed + 110, batch="fresh11") for r in FRESH2_RUNS]
    extra = [dataclasses.replace(r, seed=r.seed + 115, batch="fresh11") for r in FRESH2_RUNS
             if r.category is not None]
    third = [dataclasses.replace(r, seed=r.seed + 120, batch="fresh11") for r in FRESH2_RUNS
             if r.category in ("plateau", "reward_direction", "reward_hacking",
                               "throughput_drop")]
    return _round_robin(shifted + extra + third)


FRESH11_RUNS: list[Run] = _fresh11_grid()
_names = [r.name for r in RUNS + FRESH_RUNS + FRESH2_RUNS + FRESH3_RUNS + FRESH4_RUNS
          + FRESH5_RUNS + FRESH6_RUNS + FRESH7_RUNS + FRESH8_RUNS
          + FRESH9_RUNS + FRESH10_RUNS + FRESH11_RUNS]
assert len(_names) == len(set(_names)), sorted(n for n in _names if _names.count(n) > 1)
