"""What actors send the learner: version-tagged rollouts and fault reports.

Contents:
    EpisodeStat -- one finished episode: bucket, return, length.
    Rollout -- ``rollout_steps`` vector steps of one actor, tagged with the policy version
        that produced them, with the behaviour log-probs and values.
    ActorFailure -- an actor's last word before it exits on an exception.

Why version tags: policy lag (versions between the policy that acted and the policy being
updated) is the freshness link of the loop (ARCHITECTURE.md section 1). Sample Factory
measures it the same way (``curr_policy_version - mb.policy_version``); TRL's async GRPO
drops stale samples without logging how many (anchors.md section 4). Every rollout here
carries its version, so lag is measured, bounded and counted, never guessed.

Autoreset (Gymnasium 1.x ``NEXT_STEP``, the default of every 1.x vector env): the step
that ends an episode returns its final observation, and the next step returns the reset
observation while ignoring the action. That next step is not a transition: ``valid`` marks
it False and the learner masks it out of every loss. The final observation sits in
``obs[t + 1]`` (or ``next_obs``), which is what a truncated episode bootstraps from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlvet.pipeline.normalization import Moments

__all__ = ["ActorFailure", "EpisodeStat", "Rollout"]


@dataclass(frozen=True, slots=True)
class EpisodeStat:
    """One episode that finished inside a rollout (raw, unscaled reward)."""

    bucket: int
    ret: float
    length: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Rollout:
    """One actor's rollout. T = rollout steps, N = envs of the actor.

    Attributes:
        obs: (T, N, n_obs) float32, normalised as the network saw them.
        next_obs: (N, n_obs) float32, the observation after the last step (bootstrap).
        actions: (T, N) int64 or (T, N, act_dim) float32, unclipped samples.
        logprobs: (T, N) float32, behaviour log-probs of ``actions``.
        values: (T, N) float32, behaviour values V_mu(obs).
        rewards: (T, N) float32, raw env rewards.
        terminated, truncated: (T, N) bool.
        valid: (T, N) bool, False for autoreset steps (not transitions).
        policy_version: the learner version whose weights and statistics acted.
        actor_id: the actor slot (stable across restarts).
        incarnation: how many times that slot was restarted before this rollout.
        buckets: (N,) int, domain-randomisation bucket of each env (0 without DR).
        episodes: episodes that ended in this rollout.
        obs_moments: raw-observation moments over valid steps (for the learner's stats).
        ret_moments: discounted-return moments over valid steps (for reward scaling).
        collect_s: wall seconds spent collecting.
        env_s, inference_s: of which in ``envs.step`` and in the policy's forward pass
            (the actor side of where the wall time goes).
    """

    obs: np.ndarray
    next_obs: np.ndarray
    actions: np.ndarray
    logprobs: np.ndarray
    values: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    valid: np.ndarray
    policy_version: int
    actor_id: int
    incarnation: int
    buckets: np.ndarray
    episodes: tuple[EpisodeStat, ...]
    obs_moments: Moments
    ret_moments: Moments
    collect_s: float
    env_s: float = 0.0
    inference_s: float = 0.0

    @property
    def steps(self) -> int:
        """Environment steps in the rollout (T x N, autoreset steps included, as SB3 and
        CleanRL count them)."""
        return int(self.rewards.size)


@dataclass(frozen=True, slots=True)
class ActorFailure:
    """Sent by an actor that caught an exception, just before it exits.

    Attributes:
        actor_id, incarnation: who failed.
        error: ``"ExceptionType: message"`` of the exception.
        at: ``time.monotonic()`` when it was raised (system-wide on Linux and macOS), so
            the learner can measure how long detection took.
    """

    actor_id: int
    incarnation: int
    error: str
    at: float
