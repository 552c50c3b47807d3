"""Hand-written CartPole policies for ``module:callable`` loading (``file.py:callable``).

``balance`` pushes the cart toward the side the pole falls to, weighting the angular
velocity: a classic controller that holds the pole for hundreds of steps at no training
cost, which keeps evaluation tests fast. ``balance_batched`` is the same on (n, 4) arrays;
``noisy_balance`` samples (it flips the action with probability 0.1 from its ``rng``).
"""

from __future__ import annotations

import numpy as np

ANGLE_VELOCITY_WEIGHT = 0.5  # how much the pole's angular velocity counts next to its angle


def balance(obs: np.ndarray) -> int:
    """One observation (4,) -> action 0 (left) or 1 (right)."""
    return int(obs[2] + ANGLE_VELOCITY_WEIGHT * obs[3] > 0)


def balance_batched(obs: np.ndarray) -> np.ndarray:
    """(n, 4) -> (n,) actions."""
    return (obs[:, 2] + ANGLE_VELOCITY_WEIGHT * obs[:, 3] > 0).astype(np.int64)


def noisy_balance(obs: np.ndarray, *, deterministic: bool, rng: np.random.Generator) -> int:
    """``balance`` with the action flipped with probability 0.1 unless deterministic."""
    action = balance(obs)
    if not deterministic and rng.random() < 0.1:
        return 1 - action
    return action
