"""CleanRL-style PPO and DQN with switchable faults, logging CleanRL's exact TB tags.

Contents:
    Plan -- when a fault switches on (``at``, a global env step; 0 = from the start) and what
        it changes: hyperparameters (learning_rate, update_epochs, ent_coef, vf_coef), a
        value head re-initialised (reset_critic), a done-mask bug (done_bug: "ignore" never
        stops bootstrapping at a terminal, "offbyone" masks with ``dones[t]`` instead of
        ``dones[t + 1]``), stale data (stale_k: learn from the rollout collected k updates
        ago), or an env wrapper (see ``faults.WRAPPERS``).
    train_ppo(args, run_dir, plan) -- ``cleanrl/ppo.py`` semantics (discrete actions).
    DQNArgs, train_dqn(args, run_dir, plan) -- ``cleanrl/dqn.py`` semantics.

The PPO network and the CleanRL argument defaults come from ``tests/data/cleanrl_ppo.py``
(Agent, Args); the loop here is organised around the fault hooks. Tags, keyed by
``global_step``: PPO ``charts/episodic_return``, ``charts/episodic_length``,
``charts/learning_rate``, ``charts/SPS``, ``losses/value_loss``, ``losses/policy_loss``,
``losses/entropy``, ``losses/old_approx_kl``, ``losses/approx_kl``, ``losses/clipfrac``,
``losses/explained_variance``; DQN ``charts/episodic_return``, ``charts/episodic_length``,
``charts/epsilon``, ``losses/td_loss``, ``losses/q_values``, ``charts/SPS`` (every 100
steps, as CleanRL). Runs planted with stale data also log ``policy_lag`` (rlvet's
canonical name: policy versions between the data's behaviour policy and the learner),
which CleanRL itself never logs.
"""

from __future__ import annotations

import random
import sys
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.tensorboard import SummaryWriter

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "tests" / "data")]
from cleanrl_ppo import Agent, Args  # noqa: E402
from faults import make_fault_env  # noqa: E402


@dataclass
class Plan:
    at: int = 0
    changes: dict[str, Any] = field(default_factory=dict)
    wrapper: str | None = None
    wrapper_kwargs: dict[str, Any] = field(default_factory=dict)

    def active(self, global_step: int) -> bool:
        return bool(self.changes) and global_step >= self.at


def _thunk(env_id: str, plan: Plan, num_envs: int, seed: int):
    def make():
        env = make_fault_env(env_id, plan.wrapper, plan.wrapper_kwargs,
                             plan.at // num_envs, seed=seed)
        # outside the fault: episodic_return is the reward the agent trains on
        return gym.wrappers.RecordEpisodeStatistics(env)

    return make


def _vector_env(env_id: str, plan: Plan, num_envs: int, seed: int) -> gym.vector.SyncVectorEnv:
    return gym.vector.SyncVectorEnv(
        [_thunk(env_id, plan, num_envs, seed + i) for i in range(num_envs)],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def _log_episodes(writer: SummaryWriter, infos: dict, global_step: int) -> None:
    final = infos.get("final_info", {})
    if "episode" in final:
        for i in np.nonzero(final["_episode"])[0]:
            writer.add_scalar("charts/episodic_return", final["episode"]["r"][i], global_step)
            writer.add_scalar("charts/episodic_length", final["episode"]["l"][i], global_step)


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)


# --------------------------------------------------------------------------------------
# PPO
# --------------------------------------------------------------------------------------


@dataclass
class Rollout:
    obs: torch.Tensor
    actions: torch.Tensor
    logprobs: torch.Tensor
    rewards: torch.Tensor
    dones: torch.Tensor
    values: torch.Tensor
    last_value: torch.Tensor
    last_done: torch.Tensor
    version: int


class PPORunner:
    """One CleanRL PPO run; ``settings`` are the Args, overridden by the plan once active."""

    def __init__(self, args: Args, run_dir: Path, plan: Plan):
        self.args, self.plan = args, plan
        _seed_all(args.seed)
        self.writer = SummaryWriter(str(run_dir))
        self.writer.add_text("hyperparameters", "|param|value|\n|-|-|\n" + "\n".join(
            f"|{k}|{v}|" for k, v in {**vars(args), "fault_plan": plan}.items()))
        self.envs = _vector_env(args.env_id, plan, args.num_envs, args.seed)
        assert isinstance(self.envs.single_action_space, gym.spaces.Discrete)
        self.agent = Agent(self.envs)
        self.optimizer = optim.Adam(self.agent.parameters(), lr=args.learning_rate, eps=1e-5)
        self.version = 0
        self.history: deque[Rollout] = deque(maxlen=1 + int(plan.changes.get("stale_k", 0)))
        self.log_lag = "stale_k" in plan.changes
        self.critic_reset = False

    def settings(self, global_step: int) -> Args:
        if not self.plan.active(global_step):
            return self.args
        known = {k: v for k, v in self.plan.changes.items() if hasattr(self.args, k)}
        return replace(self.args, **known)

    def collect(self, next_obs, next_done, global_step: int):
        n, t = self.args.num_envs, self.args.num_steps
        shape = self.envs.single_observation_space.shape
        obs = torch.zeros((t, n) + shape)
        actions, logprobs, rewards, dones, values = (torch.zeros((t, n)) for _ in range(5))
        for step in range(t):
            global_step += n
            obs[step], dones[step] = next_obs, next_done
            with torch.no_grad():
                action, logprob, _, value = self.agent.get_action_and_value(next_obs)
            values[step], actions[step], logprobs[step] = value.flatten(), action, logprob
            raw_obs, reward, term, trunc, infos = self.envs.step(action.numpy())
            rewards[step] = torch.as_tensor(reward, dtype=torch.float32)
            next_obs = torch.as_tensor(raw_obs, dtype=torch.float32)
            next_done = torch.as_tensor(np.logical_or(term, trunc), dtype=torch.float32)
            _log_episodes(self.writer, infos, global_step)
        with torch.no_grad():
            last_value = self.agent.get_value(next_obs).reshape(1, -1)
        batch = Rollout(obs, actions, logprobs, rewards, dones, values, last_value,
                        next_done, self.version)
        return batch, next_obs, next_done, global_step

    def advantages(self, b: Rollout, s: Args, done_bug: str | None):
        """GAE; ``done_bug`` plants the bootstrapping-through-terminals bugs."""
        t_max = s.num_steps
        adv = torch.zeros_like(b.rewards)
        last = torch.zeros(s.num_envs)
        for t in reversed(range(t_max)):
            if t == t_max - 1:
                next_nonterminal, next_values = 1.0 - b.last_done, b.last_value
            else:
                next_nonterminal, next_values = 1.0 - b.dones[t + 1], b.values[t + 1]
            if done_bug == "ignore":
                next_nonterminal = torch.ones(s.num_envs)
            elif done_bug == "offbyone":
                next_nonterminal = 1.0 - b.dones[t]
            delta = b.rewards[t] + s.gamma * next_values * next_nonterminal - b.values[t]
            adv[t] = last = delta + s.gamma * s.gae_lambda * next_nonterminal * last
        return adv, adv + b.values

    def update(self, b: Rollout, adv, returns, s: Args) -> dict[str, float]:
        shape = self.envs.single_observation_space.shape
        b_obs, b_logp = b.obs.reshape((-1,) + shape), b.logprobs.reshape(-1)
        b_act, b_adv = b.actions.reshape(-1).long(), adv.reshape(-1)
        b_ret, b_val = returns.reshape(-1), b.values.reshape(-1)
        size = b_obs.shape[0]
        mb = size // s.num_minibatches
        idx = np.arange(size)
        clipfracs: list[float] = []
        out: dict[str, float] = {}
        for _epoch in range(s.update_epochs):
            np.random.shuffle(idx)
            for start in range(0, size, mb):
                m = idx[start:start + mb]
                _, newlogp, entropy, newvalue = self.agent.get_action_and_value(b_obs[m],
                                                                               b_act[m])
                logratio = newlogp - b_logp[m]
                ratio = logratio.exp()
                with torch.no_grad():
                    out["old_approx_kl"] = (-logratio).mean().item()
                    out["approx_kl"] = ((ratio - 1) - logratio).mean().item()
                    clipfracs.append(((ratio - 1.0).abs() > s.clip_coef).float().mean().item())
                a = b_adv[m]
                if s.norm_adv:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                pg_loss = torch.max(-a * ratio,
                                    -a * torch.clamp(ratio, 1 - s.clip_coef, 1 + s.clip_coef)
                                    ).mean()
                newvalue = newvalue.view(-1)
                v_unclipped = (newvalue - b_ret[m]) ** 2
                if s.clip_vloss:
                    v_clip = b_val[m] + torch.clamp(newvalue - b_val[m], -s.clip_coef,
                                                    s.clip_coef)
                    v_loss = 0.5 * torch.max(v_unclipped, (v_clip - b_ret[m]) ** 2).mean()
                else:
                    v_loss = 0.5 * v_unclipped.mean()
                ent = entropy.mean()
                loss = pg_loss - s.ent_coef * ent + v_loss * s.vf_coef
                self.optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.agent.parameters(), s.max_grad_norm)
                self.optimizer.step()
                out.update(value_loss=v_loss.item(), policy_loss=pg_loss.item(),
                           entropy=ent.item())
            if s.target_kl is not None and out["approx_kl"] > s.target_kl:
                break
        y_pred, y_true = b_val.numpy(), b_ret.numpy()
        var_y = np.var(y_true)
        out["explained_variance"] = (np.nan if var_y == 0
                                     else 1 - np.var(y_true - y_pred) / var_y)
        out["clipfrac"] = float(np.mean(clipfracs))
        return out

    def run(self) -> None:
        a = self.args
        batch = a.num_envs * a.num_steps
        iterations = a.total_timesteps // batch
        global_step, start = 0, time.time()
        raw, _ = self.envs.reset(seed=a.seed)
        next_obs, next_done = torch.as_tensor(raw, dtype=torch.float32), torch.zeros(a.num_envs)
        try:
            for it in range(1, iterations + 1):
                s = self.settings(global_step)
                active = self.plan.active(global_step)
                if active and self.plan.changes.get("reset_critic") and not self.critic_reset:
                    self.critic_reset = True
                    for m in self.agent.critic.modules():
                        if isinstance(m, nn.Linear):
                            m.reset_parameters()
                # CleanRL anneals the lr; a planted lr is constant from its onset on
                lr = s.learning_rate
                if s.anneal_lr and not (active and "learning_rate" in self.plan.changes):
                    lr = (1.0 - (it - 1.0) / iterations) * a.learning_rate
                self.optimizer.param_groups[0]["lr"] = lr
                fresh, next_obs, next_done, global_step = self.collect(next_obs, next_done,
                                                                       global_step)
                self.history.append(fresh)
                k = int(self.plan.changes.get("stale_k", 0)) if active else 0
                data = self.history[max(0, len(self.history) - 1 - k)]
                bug = self.plan.changes.get("done_bug") if active else None
                adv, ret = self.advantages(data, s, bug)
                st = self.update(data, adv, ret, s)
                lag = self.version - data.version
                self.version += 1
                w = self.writer
                w.add_scalar("charts/learning_rate", lr, global_step)
                for key in ("value_loss", "policy_loss", "entropy", "old_approx_kl",
                            "approx_kl", "explained_variance"):
                    w.add_scalar(f"losses/{key}", st[key], global_step)
                w.add_scalar("losses/clipfrac", st["clipfrac"], global_step)
                w.add_scalar("charts/SPS", int(global_step / (time.time() - start)), global_step)
                if self.log_lag:
                    w.add_scalar("policy_lag", lag, global_step)
        except ValueError as exc:  # NaN logits: torch.distributions refuses them, as in CleanRL
            print(f"  cleanrl ppo stopped at global_step {global_step}: "
                  f"{str(exc).splitlines()[0][:120]}", flush=True)
        finally:
            self.envs.close()
            self.writer.close()


def train_ppo(args: Args, run_dir: Path, plan: Plan) -> None:
    PPORunner(args, run_dir, plan).run()


# --------------------------------------------------------------------------------------
# DQN
# --------------------------------------------------------------------------------------


@dataclass
class DQNArgs:
    env_id: str = "CartPole-v1"
    seed: int = 1
    total_timesteps: int = 500_000
    learning_rate: float = 2.5e-4
    buffer_size: int = 10_000
    gamma: float = 0.99
    tau: float = 1.0
    target_network_frequency: int = 500
    batch_size: int = 128
    start_e: float = 1.0
    end_e: float = 0.05
    exploration_fraction: float = 0.5
    learning_starts: int = 10_000
    train_frequency: int = 10


class QNetwork(nn.Module):
    def __init__(self, env: gym.vector.VectorEnv):
        super().__init__()
        self.network = nn.Sequential(
            nn.Linear(int(np.array(env.single_observation_space.shape).prod()), 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, env.single_action_space.n),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)


def _epsilon(a: DQNArgs, t: int) -> float:
    duration = a.exploration_fraction * a.total_timesteps
    return max((a.end_e - a.start_e) / duration * t + a.start_e, a.end_e)


def train_dqn(args: DQNArgs, run_dir: Path, plan: Plan) -> None:  # noqa: C901 - CleanRL's loop
    from stable_baselines3.common.buffers import ReplayBuffer

    _seed_all(args.seed)
    writer = SummaryWriter(str(run_dir))
    writer.add_text("hyperparameters", "|param|value|\n|-|-|\n" + "\n".join(
        f"|{k}|{v}|" for k, v in {**vars(args), "fault_plan": plan}.items()))
    envs = _vector_env(args.env_id, plan, 1, args.seed)
    q_network = QNetwork(envs)
    optimizer = optim.Adam(q_network.parameters(), lr=args.learning_rate)
    target_network = QNetwork(envs)
    target_network.load_state_dict(q_network.state_dict())
    rb = ReplayBuffer(args.buffer_size, envs.single_observation_space,
                      envs.single_action_space, "cpu", handle_timeout_termination=False)
    start_time = time.time()
    obs, _ = envs.reset(seed=args.seed)
    envs.single_action_space.seed(args.seed)
    try:
        for global_step in range(args.total_timesteps):
            if plan.active(global_step) and "learning_rate" in plan.changes:
                optimizer.param_groups[0]["lr"] = plan.changes["learning_rate"]
            epsilon = _epsilon(args, global_step)
            if random.random() < epsilon:
                actions = np.array([envs.single_action_space.sample()
                                    for _ in range(envs.num_envs)])
            else:
                q_values = q_network(torch.as_tensor(obs, dtype=torch.float32))
                actions = torch.argmax(q_values, dim=1).numpy()
            next_obs, rewards, terminations, truncations, infos = envs.step(actions)
            final = infos.get("final_info", {})
            if "episode" in final:
                for i in np.nonzero(final["_episode"])[0]:
                    writer.add_scalar("charts/episodic_return", final["episode"]["r"][i],
                                      global_step)
                    writer.add_scalar("charts/episodic_length", final["episode"]["l"][i],
                                      global_step)
                    writer.add_scalar("charts/epsilon", epsilon, global_step)
            real_next_obs = next_obs.copy()
            for idx, trunc in enumerate(truncations):
                if trunc or terminations[idx]:
                    real_next_obs[idx] = infos["final_obs"][idx]
            rb.add(obs, real_next_obs, actions, rewards, terminations, infos)
            obs = next_obs
            if global_step > args.learning_starts:
                if global_step % args.train_frequency == 0:
                    data = rb.sample(args.batch_size)
                    with torch.no_grad():
                        target_max, _ = target_network(data.next_observations).max(dim=1)
                        td_target = (data.rewards.flatten() + args.gamma * target_max
                                     * (1 - data.dones.flatten()))
                    old_val = q_network(data.observations).gather(1, data.actions).squeeze()
                    loss = F.mse_loss(td_target, old_val)
                    if global_step % 100 == 0:
                        writer.add_scalar("losses/td_loss", loss, global_step)
                        writer.add_scalar("losses/q_values", old_val.mean().item(), global_step)
                        writer.add_scalar("charts/SPS",
                                          int(global_step / (time.time() - start_time)),
                                          global_step)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                if global_step % args.target_network_frequency == 0:
                    for tp, qp in zip(target_network.parameters(), q_network.parameters(),
                                      strict=True):
                        tp.data.copy_(args.tau * qp.data + (1.0 - args.tau) * tp.data)
    finally:
        envs.close()
        writer.close()
