"""The env interface the networks must fit: observation size and action head, torch-free.

Contents:
    ActionSpec -- what the policy head must produce, read from a Gymnasium action space.
    obs_dim(space) -- flat observation size of a Box space.

Torch-free so that actor processes, which receive an ``ActionSpec`` in their configuration,
never import torch (see ``numpy_policy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import gymnasium as gym
import numpy as np

from rlvet.errors import RlvetInputError

__all__ = ["ActionSpec", "obs_dim"]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """The action interface of an env.

    Attributes:
        discrete: a Discrete space (categorical head) or a Box (Gaussian head).
        size: number of actions (discrete) or action dimensions (continuous).
        low, high: Box bounds, shape (size,); None for discrete. Sampled actions are
            clipped to them when sent to the env, and stored unclipped (the log-prob is
            of the unclipped sample, as in CleanRL and SB3).
    """

    discrete: bool
    size: int
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    @classmethod
    def of(cls, space: gym.Space[Any]) -> ActionSpec:
        """Read a Discrete or 1-D Box action space.

        Raises:
            RlvetInputError: any other space (MultiDiscrete, Dict, ...).
        """
        if isinstance(space, gym.spaces.Discrete):
            return cls(discrete=True, size=int(space.n))
        if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            return cls(discrete=False, size=int(space.shape[0]),
                       low=space.low.astype(np.float32), high=space.high.astype(np.float32))
        raise RlvetInputError(
            f"rlvet train supports Discrete and 1-D Box action spaces, got {space}")

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        """Actions as the env takes them: ints, or floats clipped to the Box."""
        if self.discrete:
            return actions.astype(np.int64)
        return cast(np.ndarray, np.clip(actions, self.low, self.high))


def obs_dim(space: gym.Space[Any]) -> int:
    """Flat size of a Box observation space.

    Raises:
        RlvetInputError: a non-Box observation space.
    """
    if not isinstance(space, gym.spaces.Box):
        raise RlvetInputError(
            f"rlvet train supports Box observation spaces, got {space}; flatten it first "
            f"(gymnasium.wrappers.FlattenObservation)")
    return int(np.prod(space.shape))
