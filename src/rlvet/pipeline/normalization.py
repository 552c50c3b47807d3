"""Running observation and reward normalisation, split between actors and the learner.

Contents:
    Moments -- count, mean and variance of a batch: what an actor sends, not its samples.
    RunningMeanStd -- the learner's running statistics, merged from Moments (Chan et al.
        1979's parallel update), with ``normalize`` and a tensor ``state_dict``.
    DiscountedReturn -- an actor's per-env discounted-return accumulator for reward scaling.
    OBS_CLIP, EPSILON -- the clip and variance floor of SB3's VecNormalize / CleanRL.

Why split: in CleanRL and SB3 the statistics live in an env wrapper and change at every
step. With actors in other processes the learner owns them: each actor normalises with the
statistics of the weights version it holds (they are part of the policy, broadcast with the
weights), records the normalised observation the network saw, and reports the raw batch's
Moments; the learner merges them and broadcasts the new statistics with the next version.
Reward scaling divides by the running std of the discounted return (Engstrom et al. 2020
list it among PPO's code-level details); rewards are scaled by the learner at update time,
which does not change the behaviour policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np

__all__ = ["EPSILON", "OBS_CLIP", "DiscountedReturn", "Moments", "RunningMeanStd"]

OBS_CLIP = 10.0  # normalised observations beyond 10 std are outliers, clipped (VecNormalize)
EPSILON = 1e-8  # variance floor, so a constant feature does not divide by zero
INITIAL_COUNT = 1e-4  # SB3's starting count: the first batch's moments dominate at once


@dataclass(frozen=True, slots=True)
class Moments:
    """Count, mean and (population) variance of a batch of samples.

    Attributes:
        count: number of samples.
        mean: shape (*feature_shape,), float64.
        var: shape (*feature_shape,), float64.
    """

    count: int
    mean: np.ndarray
    var: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> Moments:
        """Moments of ``x`` of shape (n, *feature_shape) (n may be 0)."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape[0] == 0:
            zeros = np.zeros(x.shape[1:])
            return cls(0, zeros, zeros.copy())
        return cls(int(x.shape[0]), x.mean(axis=0), x.var(axis=0))


class RunningMeanStd:
    """Mean and variance over everything merged so far.

    Args:
        shape: feature shape (``()`` for a scalar like the return).
    """

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = INITIAL_COUNT

    def update(self, m: Moments) -> None:
        """Merge a batch's moments (Chan et al.'s parallel formula, as in VecNormalize)."""
        if m.count == 0:
            return
        delta = m.mean - self.mean
        total = self.count + m.count
        self.mean = np.asarray(self.mean + delta * m.count / total, dtype=np.float64)
        m2 = self.var * self.count + m.var * m.count + delta**2 * self.count * m.count / total
        self.var = np.asarray(m2 / total, dtype=np.float64)
        self.count = total

    @property
    def std(self) -> np.ndarray:
        """Standard deviation with the ``EPSILON`` variance floor."""
        return np.sqrt(self.var + EPSILON)

    def normalize(self, x: np.ndarray, clip: float = OBS_CLIP) -> np.ndarray:
        """``(x - mean) / std``, clipped to ``[-clip, clip]``, as float32."""
        return cast(np.ndarray, np.clip((x - self.mean) / self.std, -clip, clip).astype(np.float32))

    def state_dict(self) -> dict[str, Any]:
        """Tensors and floats only, so checkpoints load with ``weights_only=True``."""
        import torch  # here, not at the top: actor processes use this module without torch

        return {"mean": torch.from_numpy(self.mean.copy()),
                "var": torch.from_numpy(self.var.copy()), "count": float(self.count)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore exactly what ``state_dict`` saved."""
        self.mean = state["mean"].numpy().astype(np.float64).copy()
        self.var = state["var"].numpy().astype(np.float64).copy()
        self.count = float(state["count"])


class DiscountedReturn:
    """Per-env discounted return ``R <- gamma * R + r``, reset when an episode ends.

    Gymnasium's ``NormalizeReward`` resets only on termination; this one resets on
    truncation too, since the next step belongs to a new episode either way.

    Args:
        num_envs: envs of the actor's vector env.
        gamma: the discount of the return whose spread scales the rewards.
    """

    def __init__(self, num_envs: int, gamma: float) -> None:
        self.gamma = gamma
        self.returns = np.zeros(num_envs, dtype=np.float64)

    def step(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        """Add this step's rewards; returns the accumulators (a copy), then resets done envs."""
        self.returns = self.returns * self.gamma + rewards
        out = self.returns.copy()
        self.returns[dones] = 0.0
        return out
