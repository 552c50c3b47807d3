"""Run evaluation episodes: many envs in lockstep, one batched policy call per step.

Contents:
    EpisodePlan -- seeds x episodes per seed, the step cap, deterministic or sampled.
    Episodes -- what ran: returns, lengths, terminations (each (n_seeds, episodes_per_seed)),
        and a sample of visited observations.
    episode_seed(seed, j), action_rng(seed, j) -- the per-episode seeds.
    run_episodes(make_env, policy, plan, ...) -- the batched runner.
    run_plain(make_env, policy, plan) -- the reference loop: one env, batch 1.
    DEFAULT_WIDTH, MAX_KEPT_OBS -- the batch width and the observation sample cap.

Why a per-episode seed: episode j of seed s resets with ``episode_seed(s, j)`` and samples
its actions from ``action_rng(s, j)``, so an episode's outcome depends on (s, j) alone --
not on the batch width, not on which env slot ran it, not on the order episodes finished.
``run_episodes`` and ``run_plain`` therefore return the same numbers (tested), and the
throughput gain is pure batching.

Why not ``gymnasium.vector.SyncVectorEnv``: its NEXT_STEP autoreset (the only mode of
Gymnasium 1.0) resets finished envs without a seed, and its DISABLED mode (1.1+) still
steps every sub-env each call, finished or not. A seeded episode schedule needs each env
reset with its own seed at the moment its episode ends; the loop that does that is the
same Python loop over envs SyncVectorEnv runs inside, so nothing is lost by owning it.
The speed comes from the policy: one forward pass for all live envs instead of one each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import cast

import gymnasium as gym
import numpy as np

from rlvet.evaluate.policies import Policy

__all__ = ["DEFAULT_WIDTH", "MAX_KEPT_OBS", "EpisodePlan", "Episodes", "action_rng",
           "episode_seed", "run_episodes", "run_plain"]

DEFAULT_WIDTH = 32
"""Envs stepped together. A small MLP's forward pass costs about the same for 1 and 32
rows on a CPU, so 32 amortises it 32-fold; wider only lengthens the last, partly idle wave."""
MAX_KEPT_OBS = 50_000  # visited observations kept for the distribution-shift test (rows)
_ACTION_STREAM = 1  # second word of the action RNG's seed: never equals an env reset seed


def episode_seed(seed: int, j: int) -> int:
    """The reset seed of episode ``j`` of evaluation seed ``seed`` (a 32-bit hash of both)."""
    return int(np.random.SeedSequence([seed, j]).generate_state(1, np.uint32)[0])


def action_rng(seed: int, j: int) -> np.random.Generator:
    """The Generator that samples episode ``j`` of seed ``seed``'s actions."""
    return np.random.default_rng([seed, j, _ACTION_STREAM])


@dataclass(frozen=True, slots=True)
class EpisodePlan:
    """Which episodes to run and how.

    Attributes:
        seeds: evaluation seeds.
        episodes_per_seed: episodes of each seed.
        max_steps: episode cap (truncation).
        deterministic: greedy actions; False samples from the policy.
    """

    seeds: tuple[int, ...]
    episodes_per_seed: int
    max_steps: int
    deterministic: bool = True

    def episodes(self) -> Iterator[tuple[int, int]]:
        """``(seed index, episode index)`` in order."""
        for i in range(len(self.seeds)):
            for j in range(self.episodes_per_seed):
                yield i, j


@dataclass(frozen=True, slots=True)
class Episodes:
    """Outcomes of a plan.

    Attributes:
        seeds: the plan's seeds.
        returns: (n_seeds, episodes_per_seed) undiscounted returns.
        lengths: (n_seeds, episodes_per_seed) steps.
        terminated: (n_seeds, episodes_per_seed) ended by ``terminated`` (not the cap or a
            truncation).
        observations: (m, *obs_shape) visited observations as the policy saw them (env
            dtype), m <= MAX_KEPT_OBS; empty unless asked for.
        seconds: wall time of the run.
    """

    seeds: tuple[int, ...]
    returns: np.ndarray
    lengths: np.ndarray
    terminated: np.ndarray
    observations: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    seconds: float = 0.0

    @property
    def per_seed(self) -> np.ndarray:
        """(n_seeds,) mean return of each seed."""
        return cast(np.ndarray, self.returns.mean(axis=1))

    def scores(self, unit: str) -> np.ndarray:
        """The (runs, tasks) matrix the statistics bootstrap: ``seed`` -> (n_seeds, 1) seed
        means; ``episode`` -> (episodes_per_seed, n_seeds), every episode a run and every
        seed a stratum."""
        return self.per_seed[:, None] if unit == "seed" else self.returns.T

    @property
    def steps(self) -> int:
        """Env steps taken."""
        return int(self.lengths.sum())


@dataclass(slots=True)
class _Slot:
    """One env and the episode it is running."""

    env: gym.Env
    episode: tuple[int, int] | None = None
    obs: np.ndarray | None = None
    rng: np.random.Generator | None = None
    ret: float = 0.0
    steps: int = 0


class _Recorder:
    """Fills the (n_seeds, episodes_per_seed) outcome arrays and the observation sample."""

    def __init__(self, plan: EpisodePlan, keep_obs: int) -> None:
        shape = (len(plan.seeds), plan.episodes_per_seed)
        self.returns = np.zeros(shape)
        self.lengths = np.zeros(shape, dtype=np.int64)
        self.terminated = np.zeros(shape, dtype=bool)
        self.keep = keep_obs
        self.obs: list[np.ndarray] = []
        self.kept = 0

    def observe(self, batch: np.ndarray) -> None:
        if self.kept < self.keep:
            rows = batch[: self.keep - self.kept]
            self.obs.append(np.array(rows))
            self.kept += len(rows)

    def finish(self, slot: _Slot, terminated: bool) -> None:
        assert slot.episode is not None
        i, j = slot.episode
        self.returns[i, j], self.lengths[i, j], self.terminated[i, j] = (
            slot.ret, slot.steps, terminated)

    def result(self, plan: EpisodePlan, seconds: float) -> Episodes:
        obs = np.concatenate(self.obs) if self.obs else np.zeros((0, 0))
        return Episodes(plan.seeds, self.returns, self.lengths, self.terminated, obs, seconds)


def _start(slot: _Slot, plan: EpisodePlan, episodes: Iterator[tuple[int, int]]) -> bool:
    """Reset ``slot`` into the next episode; False when none is left."""
    nxt = next(episodes, None)
    slot.episode = nxt
    if nxt is None:
        return False
    seed = plan.seeds[nxt[0]]
    slot.obs, _ = slot.env.reset(seed=episode_seed(seed, nxt[1]))
    slot.rng = action_rng(seed, nxt[1])
    slot.ret, slot.steps = 0.0, 0
    return True


def _step_slot(slot: _Slot, action: np.ndarray, plan: EpisodePlan) -> tuple[bool, bool]:
    """Step one env; returns (episode over, ended by termination)."""
    obs, reward, terminated, truncated, _ = slot.env.step(action)
    slot.obs = obs
    slot.ret += float(reward)
    slot.steps += 1
    return bool(terminated or truncated or slot.steps >= plan.max_steps), bool(terminated)


def run_episodes(
    make_env: Callable[[], gym.Env],
    policy: Policy,
    plan: EpisodePlan,
    *,
    width: int = DEFAULT_WIDTH,
    keep_obs: int = 0,
    on_episode: Callable[[], None] | None = None,
) -> Episodes:
    """Run every episode of ``plan``, ``width`` envs at a time, one policy call per step.

    Args:
        make_env: builds one env (called ``min(width, episodes)`` times).
        policy: the batched policy.
        plan: seeds, episodes, cap, action mode.
        width: envs stepped together.
        keep_obs: keep up to this many visited observations (for shift tests).
        on_episode: called after each finished episode (progress bars).

    Example:
        >>> plan = EpisodePlan(seeds=(0, 1), episodes_per_seed=3, max_steps=500)
        >>> make = lambda: gymnasium.make("CartPole-v1")
        >>> run_episodes(make, policy, plan).returns.shape  # doctest: +SKIP
        (2, 3)
    """
    start = time.perf_counter()
    total = len(plan.seeds) * plan.episodes_per_seed
    episodes = plan.episodes()
    slots = [_Slot(make_env()) for _ in range(max(1, min(width, total)))]
    rec = _Recorder(plan, min(keep_obs, MAX_KEPT_OBS))
    try:
        live = [s for s in slots if _start(s, plan, episodes)]
        while live:
            # _start set obs and rng on every live slot
            batch = np.stack([cast(np.ndarray, s.obs) for s in live])
            rec.observe(batch)
            actions = policy(batch, deterministic=plan.deterministic,
                             rngs=[cast(np.random.Generator, s.rng) for s in live])
            still = []
            for slot, action in zip(live, actions, strict=True):
                over, terminated = _step_slot(slot, action, plan)
                if not over:
                    still.append(slot)
                    continue
                rec.finish(slot, terminated)
                if on_episode is not None:
                    on_episode()
                if _start(slot, plan, episodes):
                    still.append(slot)
            live = still
    finally:
        for s in slots:
            s.env.close()
    return rec.result(plan, time.perf_counter() - start)


def run_plain(make_env: Callable[[], gym.Env], policy: Policy, plan: EpisodePlan) -> Episodes:
    """The reference: one env, one episode after another, the policy called per step."""
    return run_episodes(make_env, policy, plan, width=1)
