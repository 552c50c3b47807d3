"""Reward artifacts: rounding, clipping and values outside a declared range.

A continuous reward rounded to a coarse grid hides the gradient between neighbouring states;
a reward clipped to a narrow band piles mass on the bounds and makes "better" and "much
better" identical. Both leave a signature in the histogram of per-step rewards.

Severity discipline (issue #15): a grid or a saturating bound is also what a reward
*quantised or bounded by design* looks like (game scores, success-rate rewards, tolerance
rewards that cap at 1), so the histogram alone is only ever a warning worded "by design?".
Rewards outside a declared ``reward_range`` break the env's own contract: an error.
"""

from __future__ import annotations

import numpy as np

from rlvet.envcheck.checks.common import env_finding, pooled_rewards
from rlvet.envcheck.records import ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_reward_artifact"]

GRID_STEPS = (1.0, 0.5, 0.25, 0.1, 0.05, 0.01)  # coarse grids a rounding bug produces
GRID_TOLERANCE = 1e-5  # relative; float32 rounding of 0.1 multiples stays far below
MIN_DISTINCT_FOR_GRID = 8  # fewer distinct values is a designed discrete reward (Taxi, Blackjack)
INTEGER_GRID_OCCUPANCY = 0.5  # integer rewards must also fill their range densely to be rounding
MIN_DISTINCT_FOR_CLIP = 10  # a bound mass only means clipping for an otherwise continuous reward
FEW_VALUES = 4  # continuous control with this few reward values has lost its continuous term
MIN_STEPS_FOR_SHAPE = 100
CLIP_MASS_WARNING = 0.1


def _grid(values: np.ndarray) -> float | None:
    for step in GRID_STEPS:
        scaled = values / step
        if np.all(
            np.abs(scaled - np.round(scaled)) <= GRID_TOLERANCE * np.maximum(1.0, np.abs(scaled))
        ):
            return step
    return None


def _rounding(rewards: np.ndarray) -> Finding | None:
    distinct = np.unique(rewards)
    if distinct.size < MIN_DISTINCT_FOR_GRID:
        return None
    step = _grid(distinct)
    if step is None:
        return None
    slots = (distinct.max() - distinct.min()) / step + 1
    occupancy = distinct.size / slots
    if step == 1.0 and occupancy < INTEGER_GRID_OCCUPANCY:
        return None  # sparse integer scores (arcade points) are by design
    return env_finding(
        "reward_artifact",
        Category.REWARD_ARTIFACT,
        Severity.WARNING,
        f"all {rewards.size} rewards lie on a grid of {step:g} ({distinct.size} distinct values "
        f"filling {occupancy:.0%} of the grid): a continuous reward rounded on its way out, "
        "or quantised by design?",
        evidence={
            "grid": step,
            "distinct": int(distinct.size),
            "occupancy": round(occupancy, 3),
            "min": float(distinct.min()),
            "max": float(distinct.max()),
        },
    )


def _coarse_continuous_control(ev: ProbeEvidence, rewards: np.ndarray) -> Finding | None:
    """A reward with only a few grid values although actions and observations are continuous.

    Continuous-control rewards nearly always carry a continuous term (control cost, distance);
    two or three grid values there usually mean rounding ate it. Designed sparse robotics
    rewards ({-1, 0}) look the same, hence a warning.
    """
    if ev.api.action_kind != "box" or ev.api.obs_kind != "box":
        return None
    distinct = np.unique(rewards)
    if not 2 <= distinct.size <= FEW_VALUES or rewards.size < MIN_STEPS_FOR_SHAPE:
        return None
    step = _grid(distinct)
    if step is None:
        return None
    return env_finding(
        "reward_artifact",
        Category.REWARD_ARTIFACT,
        Severity.WARNING,
        f"a continuous-control env gave only {distinct.size} distinct rewards "
        f"({', '.join(f'{v:g}' for v in distinct)}) on a {step:g} grid over {rewards.size} "
        "steps: a continuous reward term rounded away, or an alive bonus / sparse goal "
        "reward by design?",
        evidence={"values": distinct.tolist(), "grid": step, "steps": int(rewards.size)},
    )


def _clipping(rewards: np.ndarray) -> Finding | None:
    if np.unique(rewards).size < MIN_DISTINCT_FOR_CLIP:
        return None
    lo, hi = float(rewards.min()), float(rewards.max())
    masses = {"min": float(np.mean(rewards == lo)), "max": float(np.mean(rewards == hi))}
    side, mass = max(masses.items(), key=lambda kv: kv[1])
    if mass < CLIP_MASS_WARNING:
        return None
    bound = lo if side == "min" else hi
    return env_finding(
        "reward_artifact",
        Category.REWARD_ARTIFACT,
        Severity.WARNING,
        f"{mass:.0%} of random-policy rewards sit exactly at the {side} value {bound:g} of an "
        "otherwise continuous reward: the reward is clipped (or saturates by design?)",
        evidence={"bound": bound, "side": side, "mass": round(mass, 4), "min": lo, "max": hi},
    )


def _outside_declared(ev: ProbeEvidence, rewards: np.ndarray) -> Finding | None:
    declared = ev.api.declared_reward_range
    if declared is None or rewards.size == 0:
        return None
    low, high = declared
    outside = (rewards < low) | (rewards > high)
    if not outside.any():
        return None
    return env_finding(
        "reward_artifact",
        Category.REWARD_ARTIFACT,
        Severity.ERROR,
        f"{int(outside.sum())} rewards fall outside the declared reward_range "
        f"[{low:g}, {high:g}] (seen [{rewards.min():g}, {rewards.max():g}])",
        evidence={
            "declared": [low, high],
            "outside": int(outside.sum()),
            "seen": [float(rewards.min()), float(rewards.max())],
        },
        remedy="fix the reward or the declared reward_range; downstream scaling trusts it",
    )


def check_reward_artifact(ev: ProbeEvidence) -> list[Finding]:
    """Rounding (all episodes), clipping (random policy), declared-range violations."""
    every = pooled_rewards(ev.all_episodes())
    every = every[np.isfinite(every)]
    random = pooled_rewards(ev.random_a)
    random = random[np.isfinite(random)]
    checks = (
        _rounding(every) if every.size else None,
        _clipping(random) if random.size else None,
        _coarse_continuous_control(ev, every),
        _outside_declared(ev, every),
    )
    return [f for f in checks if f is not None]
