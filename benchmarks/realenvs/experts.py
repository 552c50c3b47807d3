"""Weak experts for the real-env corpus: clearly better than random, nothing more.

Each is a policy ``obs -> action`` for ``EnvQAConfig.expert`` (``experts.py:<name>``); the
manifest names them per env (``experts`` table of an ``[[env]]`` entry). They only have to
beat a random policy under the env's true reward, which is what ``reward_direction`` needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["cartpole_lean", "catch_follow", "minatar_breakout_follow", "minatar_freeway_up",
           "minigrid_forward", "mountain_car_pump", "panda_reach", "pgx_first_legal",
           "point_mass_pd", "point_maze_pd", "xminigrid_forward"]

MINIGRID_WALL = 2  # OBJECT_TO_IDX["wall"] in minigrid.core.constants
MINIGRID_FORWARD, MINIGRID_RIGHT = 2, 1


def minigrid_forward(obs: Any) -> int:
    """Walk forward, turn right at a wall: reaches the far corner of an empty room."""
    ahead = int(np.asarray(obs["image"])[3, 5, 0])  # the cell in front of the agent
    return MINIGRID_RIGHT if ahead == MINIGRID_WALL else MINIGRID_FORWARD


def mountain_car_pump(obs: Any) -> int:
    """Push along the velocity (mo-mountaincar: 0 left, 1 none, 2 right)."""
    return 2 if float(np.asarray(obs, dtype=np.float64)[1]) >= 0 else 0


def panda_reach(obs: Any) -> np.ndarray:
    """Move the end effector straight toward the goal (the first three obs entries)."""
    delta = np.asarray(obs["desired_goal"]) - np.asarray(obs["observation"])[:3]
    return np.clip(10.0 * delta, -1.0, 1.0).astype(np.float32)


def point_mass_pd(obs: Any) -> np.ndarray:
    """dm_control point_mass: a PD controller that drives the mass to the origin."""
    action = -2.0 * np.asarray(obs["position"]) - 0.5 * np.asarray(obs["velocity"])
    return np.clip(action, -1.0, 1.0).astype(np.float32)


def point_maze_pd(obs: Any) -> np.ndarray:
    """gymnasium-robotics PointMaze (open arena): a PD force toward the desired goal."""
    state = np.asarray(obs["observation"], dtype=np.float64)  # x, y, vx, vy
    action = 2.0 * (np.asarray(obs["desired_goal"]) - state[:2]) - 0.5 * state[2:4]
    return np.clip(action, -1.0, 1.0).astype(np.float32)


def cartpole_lean(obs: Any) -> int:
    """gymnax CartPole-v1 (x, x_dot, theta, theta_dot): push toward the way the pole falls."""
    o = np.asarray(obs, dtype=np.float64)
    return 1 if o[2] + 0.5 * o[3] > 0 else 0


def catch_follow(obs: Any) -> int:
    """gymnax Catch-bsuite (rows x columns grid, the paddle in the last row): move the
    paddle under the ball (actions 0 left, 1 stay, 2 right)."""
    grid = np.asarray(obs)
    ball = np.argwhere(grid[:-1] > 0)
    paddle = np.argwhere(grid[-1] > 0)
    if len(ball) == 0 or len(paddle) == 0:
        return 1
    return 1 + int(np.sign(int(ball[0][1]) - int(paddle[0][0])))


def minatar_freeway_up(obs: Any) -> int:
    """MinAtar Freeway-v1 (minimal action set n, u, d): always walk up, the classic weak
    baseline that crosses the road now and then."""
    return 1


def minatar_breakout_follow(obs: Any) -> int:
    """MinAtar Breakout-v1 (10x10 grid, channels paddle, ball, trail, brick; minimal actions
    n, l, r): move the paddle under the ball's column."""
    grid = np.asarray(obs)
    paddle = np.argwhere(grid[..., 0])
    ball = np.argwhere(grid[..., 1])
    if len(ball) == 0 or len(paddle) == 0:
        return 0
    step = int(np.sign(int(ball[0][1]) - int(paddle[0][1])))
    return {0: 0, -1: 1, 1: 2}[step]


XMINIGRID_WALL = 2  # Tiles.WALL in xminigrid.core.constants
XMINIGRID_FORWARD, XMINIGRID_RIGHT = 0, 1


def xminigrid_forward(obs: Any) -> int:
    """XLand-MiniGrid (7x7 view of (tile, colour), the agent at the bottom centre facing up):
    walk forward, turn right at a wall; reaches the far corner of an empty room."""
    ahead = int(np.asarray(obs)[-2, np.asarray(obs).shape[1] // 2, 0])
    return XMINIGRID_RIGHT if ahead == XMINIGRID_WALL else XMINIGRID_FORWARD


def pgx_first_legal(obs: Any) -> int:
    """Pgx games through makers.PgxAdapter: the first legal action of the mask. It never
    loses to an illegal move (2048: slides until stuck; Connect Four: stacks the leftmost
    open column, which a random opponent seldom blocks)."""
    legal = np.flatnonzero(np.asarray(obs["action_mask"]))
    return int(legal[0]) if len(legal) else 0
