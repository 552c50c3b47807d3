"""Second held-out planted set for issue #15: written after the first was seen, scored once.

New bases, none in ``tests/envcheck/planted.py``, ``envcheck/catalog.py`` or
``planted_heldout.py``: a two-link planar arm (Box action), a two-product inventory MDP
(MultiDiscrete action), a goal-conditioned grid with a Dict observation, and an aliased
tile corridor (a POMDP). One planted fault per faulty env, plus healthy envs whose task
properties (early termination, a sparse goal, quantised rewards, aliased observations) must
not be errors. Expected categories were fixed before any rlvet run.

Every faulty env has a self-check (``SELF_CHECKS``) that shows the fault exists without
rlvet; they run first and the rlvet pass is skipped if one fails. The table and summary
come from ``planted_heldout.main`` (the first set's runner), pointed at this set's envs.

Usage: .venv/bin/python benchmarks/realenvs/planted_heldout2.py [--self-check-only]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from rlvet.findings import Category

sys.path.insert(0, str(Path(__file__).resolve().parent))
import planted_heldout as first_set  # noqa: E402  (the first set's runner, reused)

# A module-level generator nobody seeds: every env in the process draws from it.
_SHARED_DEMAND_RNG = np.random.default_rng()


# --------------------------------------------------------------------------- bases


class Arm2(gym.Env):
    """A two-link planar arm reaching a target; ends (by design) when the tip is close.

    Observation: ``[cos q1, sin q1, cos q2, sin q2, dx, dy]`` with ``(dx, dy)`` the target
    minus the tip. Action: joint-angle increments in ``[-1, 1]^2`` (times 0.4 rad); actions
    outside the box are clipped to it, as Gymnasium's own continuous envs do. Reward: minus
    the distance to the target.
    """

    REACH = 0.2

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(-2.0, 2.0, (6,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.fault = fault
        self.links = np.array([0.5, 0.5])
        self.q = np.zeros(2)
        self.target = np.zeros(2)

    def tip(self, q: np.ndarray | None = None) -> np.ndarray:
        q = self.q if q is None else q
        l1, l2 = self.links
        return np.array([l1 * np.cos(q[0]) + l2 * np.cos(q[0] + q[1]),
                         l1 * np.sin(q[0]) + l2 * np.sin(q[0] + q[1])])

    def _obs(self) -> np.ndarray:
        d = self.target - self.tip()
        q = self.q
        return np.array([np.cos(q[0]), np.sin(q[0]), np.cos(q[1]), np.sin(q[1]), d[0], d[1]],
                        np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.q = self.np_random.uniform(-np.pi, np.pi, 2)
        self.target = self.tip(self.np_random.uniform(-np.pi, np.pi, 2))
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        a = np.asarray(action, np.float64).reshape(2)
        limit = 0.25 if self.fault == "narrow_clip" else 1.0
        a = np.clip(a, -limit, limit)
        before = self._obs()
        self.q = (self.q + 0.4 * a + np.pi) % (2 * np.pi) - np.pi
        dist = float(np.linalg.norm(self.target - self.tip()))
        terminated = dist < self.REACH
        obs = before if self.fault == "lagged_obs" else self._obs()
        if terminated and self.fault == "terminal_shape":
            obs = obs.reshape(2, 3)
        return obs, -dist, terminated, False, {}


class LinkLengthRandomiser(gym.Wrapper):
    """Domain randomisation of the link lengths at every reset, from its own generator.

    The generator is created once from OS entropy and never reseeded by ``reset(seed=...)``.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.rng = np.random.default_rng()

    def reset(self, **kwargs: Any) -> Any:
        self.env.unwrapped.links = self.rng.uniform(0.4, 0.6, 2)
        return self.env.reset(**kwargs)


class Inventory(gym.Env):
    """Two products, stock 0..9 each; order 0..3 of each per day (MultiDiscrete action).

    Poisson(1.5) demand per product per day. Reward: 2 per unit sold, minus 1 per unit
    ordered, minus 0.5 per unit held overnight (quantised to 0.5 by design). A continuing
    task: the horizon is a TimeLimit (truncation). Out-of-range orders raise.
    """

    HORIZON = 30

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.MultiDiscrete([10, 10])
        self.action_space = spaces.MultiDiscrete([4, 4])
        self.fault = fault
        self.stock: np.ndarray | None = None
        self.day = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        if self.fault != "stock_kept" or self.stock is None:
            self.stock = self.np_random.integers(2, 7, 2)
        self.day = 0
        return self.stock.copy(), {}

    def step(self, action: Any) -> Any:
        assert self.stock is not None
        order = np.asarray(action, np.int64).reshape(2)
        if self.fault == "wrapped_orders":
            order = order % 4
        elif ((order < 0) | (order > 3)).any():
            raise ValueError(f"order {order} outside MultiDiscrete([4, 4])")
        rng = _SHARED_DEMAND_RNG if self.fault == "shared_rng" else self.np_random
        demand = rng.poisson(1.5, 2)
        self.stock = np.minimum(self.stock + order, 9)
        sold = np.minimum(self.stock, demand)
        self.stock = self.stock - sold
        reward = float(2 * sold.sum() - order.sum() - 0.5 * self.stock.sum())
        self.day += 1
        terminated = self.fault == "horizon_terminated" and self.day >= self.HORIZON
        return self.stock.copy(), reward, terminated, False, {}


class GoalGrid(gym.Env):
    """A goal-conditioned 5x5 grid: Dict observation (position, goal), sparse reward 1 at the
    goal, which ends the episode. Actions: up, down, left, right, stay. Stepping after the
    end is accepted and pays 0 (as CartPole does).
    """

    SIZE = 5
    MOVES = ((0, -1), (0, 1), (-1, 0), (1, 0), (0, 0))

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Dict({
            "position": spaces.MultiDiscrete([self.SIZE, self.SIZE]),
            "goal": spaces.MultiDiscrete([self.SIZE, self.SIZE]),
        })
        self.action_space = spaces.Discrete(5)
        self.fault = fault
        self.pos = np.zeros(2, np.int64)
        self.goal = np.zeros(2, np.int64)
        self.ended = False

    def _obs(self) -> dict[str, np.ndarray]:
        return {"position": self.pos.copy(), "goal": self.goal.copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.goal = self.np_random.integers(0, self.SIZE, 2)
        self.pos = self.goal
        while (self.pos == self.goal).all():
            self.pos = self.np_random.integers(0, self.SIZE, 2)
        self.ended = False
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self._obs(), 1.0 if self.fault == "pays_after_end" else 0.0, True, False, {}
        self.pos = np.clip(self.pos + self.MOVES[int(action)], 0, self.SIZE - 1)
        at_goal = bool((self.pos == self.goal).all())
        terminated = at_goal and self.fault != "farm"
        self.ended = terminated
        return self._obs(), float(at_goal), terminated, False, {}


class TileCorridor(gym.Env):
    """A POMDP: 12 tiles coloured 0,1,2,0,1,2,...; the agent sees the colours of the tiles
    left of, under and right of it (3 = wall). Windows repeat every 3 tiles, and staying
    repeats the observation: aliasing by design. Tile 11 pays 1 and ends the episode.
    """

    N = 12

    def __init__(self) -> None:
        self.observation_space = spaces.MultiDiscrete([4, 4, 4])
        self.action_space = spaces.Discrete(3)  # left, stay, right
        self.x = 0

    def _obs(self) -> np.ndarray:
        return np.array([i % 3 if 0 <= i < self.N else 3 for i in (self.x - 1, self.x, self.x + 1)],
                        np.int64)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.x = int(self.np_random.integers(0, 6))
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        self.x = min(max(self.x + int(action) - 1, 0), self.N - 1)
        done = self.x == self.N - 1
        return self._obs(), float(done), done, False, {}


# --------------------------------------------------------------------------- the set


FAULTS: dict[str, tuple[Callable[[], gym.Env], Category]] = {
    "arm_terminal_shape": (lambda: TimeLimit(Arm2(fault="terminal_shape"), 100),
                           Category.API_CONTRACT),
    "arm_narrow_clip": (lambda: TimeLimit(Arm2(fault="narrow_clip"), 100),
                        Category.ACTION_SPACE_DRIFT),
    "arm_lagged_obs": (lambda: TimeLimit(Arm2(fault="lagged_obs"), 100),
                       Category.STALE_OBSERVATION),
    "arm_link_randomiser_unseeded": (lambda: LinkLengthRandomiser(TimeLimit(Arm2(), 100)),
                                     Category.NONDETERMINISTIC_RESET),
    "inventory_wrapped_orders": (lambda: TimeLimit(Inventory(fault="wrapped_orders"), 30),
                                 Category.ACTION_SPACE_DRIFT),
    "inventory_stock_kept": (lambda: TimeLimit(Inventory(fault="stock_kept"), 30),
                             Category.RESET_LEAKAGE),
    "inventory_shared_rng": (lambda: TimeLimit(Inventory(fault="shared_rng"), 30),
                             Category.NONDETERMINISTIC_RESET),
    "inventory_horizon_terminated": (lambda: Inventory(fault="horizon_terminated"),
                                     Category.SILENT_TIMEOUT),
    "goalgrid_pays_after_end": (lambda: TimeLimit(GoalGrid(fault="pays_after_end"), 50),
                                Category.DONE_SEMANTICS),
    "goalgrid_farm": (lambda: TimeLimit(GoalGrid(fault="farm"), 50), Category.REWARD_HACKING),
}
HEALTHY: dict[str, Callable[[], gym.Env]] = {
    "arm_early_termination": lambda: TimeLimit(Arm2(), 100),
    "inventory_quantised": lambda: TimeLimit(Inventory(), 30),
    "goalgrid_sparse": lambda: TimeLimit(GoalGrid(), 50),
    "tile_corridor_aliased": lambda: TimeLimit(TileCorridor(), 60),
}


# --------------------------------------------------------------------------- self-checks


def _random_run(env: gym.Env, seed: int, steps: int) -> list[tuple[Any, float, bool, bool]]:
    """Random actions from a seeded action space; restarts after each end."""
    env.action_space.seed(seed)
    out = []
    env.reset(seed=seed)
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        out.append((obs, reward, terminated, truncated))
        if terminated or truncated:
            env.reset()
    return out


def check_arm_terminal_shape() -> str:
    steps = _random_run(FAULTS["arm_terminal_shape"][0](), 0, 3000)
    env = FAULTS["arm_terminal_shape"][0]()
    space = env.observation_space
    bad_terminal = [o.shape for o, _, te, _ in steps if te and o not in space]
    bad_other = [o.shape for o, _, te, _ in steps if not te and o not in space]
    assert bad_terminal and not bad_other, (bad_terminal, bad_other)
    return f"{len(bad_terminal)} terminal obs of shape {bad_terminal[0]}, all others in space"


def check_arm_narrow_clip() -> str:
    outs = []
    for a in (0.25, 1.0):
        env = FAULTS["arm_narrow_clip"][0]()
        env.reset(seed=1)
        outs.append(env.step(np.array([a, a], np.float32))[0])
    assert np.array_equal(outs[0], outs[1])
    return "actions 0.25 and 1.0 (both inside the declared box) give the same next obs"


def check_arm_lagged_obs() -> str:
    env = FAULTS["arm_lagged_obs"][0]()
    obs0, _ = env.reset(seed=2)
    obs1 = env.step(np.array([1.0, -1.0], np.float32))[0]
    obs2 = env.step(np.array([0.0, 0.0], np.float32))[0]
    assert np.array_equal(obs0, obs1) and not np.array_equal(obs1, obs2)
    return "first step returns the reset obs; the move shows up one step late"


def check_arm_link_randomiser_unseeded() -> str:
    make = FAULTS["arm_link_randomiser_unseeded"][0]
    a, b = make().reset(seed=3)[0], make().reset(seed=3)[0]
    assert not np.array_equal(a, b)
    return "two fresh envs, reset(seed=3): different first observations"


def check_inventory_wrapped_orders() -> str:
    env = FAULTS["inventory_wrapped_orders"][0]()
    env.reset(seed=4)
    obs = env.step(np.array([5, 7]))[0]  # outside MultiDiscrete([4, 4]); accepted
    healthy = HEALTHY["inventory_quantised"]()
    healthy.reset(seed=4)
    try:
        healthy.step(np.array([5, 7]))
    except ValueError:
        pass
    else:
        raise AssertionError("healthy inventory accepted an out-of-range order")
    ref = FAULTS["inventory_wrapped_orders"][0]()
    ref.reset(seed=4)
    assert np.array_equal(obs, ref.step(np.array([1, 3]))[0])
    return "order [5, 7] silently executed as [1, 3]"


def check_inventory_stock_kept() -> str:
    make = FAULTS["inventory_stock_kept"][0]
    used = make()
    _random_run(used, 5, 40)
    a, b = used.reset(seed=6)[0], make().reset(seed=6)[0]
    assert not np.array_equal(a, b), (a, b)
    return f"reset(seed=6) after history gives stock {a}, a fresh env {b}"


def check_inventory_shared_rng() -> str:
    make = FAULTS["inventory_shared_rng"][0]
    runs = [[o.tolist() for o, *_ in _random_run(make(), 7, 30)] for _ in range(2)]
    assert runs[0] != runs[1]
    return "same seed, same actions, two fresh envs: different stock trajectories"


def check_inventory_horizon_terminated() -> str:
    env = FAULTS["inventory_horizon_terminated"][0]()
    steps = _random_run(env, 8, 90)
    ends = [i + 1 for i, (_, _, te, tr) in enumerate(steps) if te or tr]
    assert ends == [30, 60, 90] and all(s[2] and not s[3] for s in steps if s[2] or s[3])
    return "every episode ends at day 30 with terminated=True (day not in the obs)"


def check_goalgrid_pays_after_end() -> str:
    env = FAULTS["goalgrid_pays_after_end"][0]()
    env.reset(seed=9)
    g = env.unwrapped
    g.pos = g.goal - np.array([1, 0]) if g.goal[0] > 0 else g.goal + np.array([1, 0])
    action = 3 if g.goal[0] > 0 else 2
    _, r0, te, _, _ = env.step(action)
    after = [env.step(4)[1] for _ in range(3)]
    assert te and r0 == 1.0 and after == [1.0, 1.0, 1.0]
    return "goal reached (terminated, +1); three more step() calls pay +1 each"


def check_goalgrid_farm() -> str:
    env = FAULTS["goalgrid_farm"][0]()
    env.reset(seed=10)
    g = env.unwrapped
    g.pos = g.goal.copy()
    rewards, ends = [], []
    for _ in range(10):
        _, r, te, tr, _ = env.step(4)
        rewards.append(r)
        ends.append(te or tr)
    assert rewards == [1.0] * 10 and not any(ends)
    return "staying on the goal pays +1 for 10 steps, episode never ends"


SELF_CHECKS: dict[str, Callable[[], str]] = {
    name: globals()[f"check_{name}"] for name in FAULTS
}


def _healthy_smoke() -> None:
    """The healthy envs run, and the early-ending ones do end under random actions."""
    for name, make in HEALTHY.items():
        steps = _random_run(make(), 11, 2000)
        ends = sum(te for *_, te, _ in steps)
        print(f"  healthy {name}: {ends} terminations in 2000 random steps")


def self_check() -> bool:
    ok = True
    for name, check in SELF_CHECKS.items():
        try:
            print(f"  fault present: {name}: {check()}")
        except AssertionError as exc:
            ok = False
            print(f"  FAULT NOT SHOWN: {name}: {exc!r}")
    _healthy_smoke()
    return ok


def main() -> int:
    return first_set.run_set(FAULTS, HEALTHY, self_check)


if __name__ == "__main__":
    sys.exit(main())
