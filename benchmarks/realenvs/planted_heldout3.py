"""Third held-out planted set for issue #15: written blind to rlvet's checks, scored once.

New bases, none in ``tests/envcheck/planted.py``, ``envcheck/catalog.py``,
``planted_heldout.py`` or ``planted_heldout2.py``: a one-zone HVAC thermostat (2-D Box
action), Pig dice solitaire (Discrete action), a warehouse picker with a Dict observation,
a torque pendulum with its own integrator, a two-server job queue (MultiDiscrete action)
and a pixel maze with a small uint8 HxWxC image observation. One planted fault per faulty
env, at several strengths and onsets (terminal-only, rare, after many steps, only after an
episode cut short), plus healthy envs whose task properties (a sparse goal, quantised
rewards, aliased observations, early termination, a long built-in horizon, seeded
stochasticity) must not be errors. Expected categories were fixed before any rlvet run and
chosen from the fault class, not from how rlvet detects it.

Every env has a self-check (``SELF_CHECKS``) that shows, without rlvet, that the fault
exists (faulty envs) or that the property works (healthy envs); they run first and the
rlvet pass is skipped if one fails. The table and summary come from
``planted_heldout.main`` (the first set's runner), pointed at this set's envs.

Usage: .venv/bin/python benchmarks/realenvs/planted_heldout3.py [--self-check-only]
"""

from __future__ import annotations

import sys
import time
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
import planted_heldout2 as second_set  # noqa: E402  (its random-run helper, reused)

# Process-wide step counter of the stalling job queue: it stalls 0.6 s every 300 steps,
# at most 4 times per process (2.4 s in all), whatever the number of instances.
_STALL = {"steps": 0, "stalls": 0}
STALL_EVERY, STALL_S, STALL_MAX = 300, 0.6, 4


# --------------------------------------------------------------------------- bases


class Thermostat(gym.Env):
    """One thermal zone, 5-minute steps, a daily outdoor temperature cycle.

    Observation (Box [-2, 2]^4): ``[(T_in - 20) / 20, (T_out - 20) / 20, sin h, cos h]`` with
    ``h`` the hour-of-day phase. Action (Box): ``[hvac power in [-1, 1], damper in [0, 1]]``;
    power heats (+) or cools (-) by up to 1.5 degC per step, the damper scales the exchange
    with outside air. Out-of-box actions are clipped. Reward: minus the distance to 21 degC
    (per 10 degC) minus an energy cost. A safety trip ends the episode (by design, with a -10
    penalty) when the room leaves [5, 35] degC. A continuing task otherwise: the horizon is
    a TimeLimit (truncation). Stepping after the trip is accepted and pays 0.
    """

    DAY = 288

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(-2.0, 2.0, (4,), np.float32)
        self.action_space = spaces.Box(np.array([-1.0, 0.0], np.float32),
                                       np.array([1.0, 1.0], np.float32))
        self.fault = fault
        self.temp, self.out_mean, self.t = 20.0, 10.0, 0
        self.lifetime = 0
        self.ended = False
        self.last = np.zeros(4, np.float32)

    def _outdoor(self) -> float:
        return self.out_mean + 6.0 * float(np.sin(2 * np.pi * self.t / self.DAY))

    def _obs(self) -> np.ndarray:
        phase = 2 * np.pi * self.t / self.DAY
        return np.array([(self.temp - 20) / 20, (self._outdoor() - 20) / 20,
                         np.sin(phase), np.cos(phase)], np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.temp = float(self.np_random.uniform(15, 25))
        self.out_mean = float(self.np_random.uniform(-5, 30))
        self.t = int(self.np_random.integers(0, self.DAY))
        self.ended = False
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self.last.copy(), 0.0, True, False, {}
        power, damper = np.asarray(action, np.float64).reshape(2)
        if self.fault == "power_wrapped" and abs(power) > 1:
            power = (power + 1) % 2 - 1  # 1.5 -> -0.5: full heat becomes half cooling
        power = float(np.clip(power, -1, 1))
        damper = float(np.clip(damper, 0, 1))
        if self.fault == "damper_ignored":
            damper = 0.5
        leak = 0.02 * (1 + 4 * damper)
        self.temp += leak * (self._outdoor() - self.temp) + 1.5 * power
        self.t += 1
        self.lifetime += 1
        tripped = not 5.0 <= self.temp <= 35.0
        reward = -abs(self.temp - 21.0) / 10 - 0.05 * abs(power) - (10.0 if tripped else 0.0)
        if self.fault == "units_jump" and self.lifetime > 1000:
            reward *= 100  # after 1000 steps of the env's life, reward in centi-units
        obs = self._obs()
        if tripped and self.fault == "trip_kelvin":
            obs[0] = self.temp + 273.15  # the safety monitor writes the raw sensor, in K
        self.ended, self.last = tripped, obs
        return obs.copy(), float(reward), tripped, False, {}


class PigDice(gym.Env):
    """Pig solitaire: roll a die to grow the turn total (a 1 loses it and ends the turn), or
    hold to bank it. Observation: ``[score, turn total]`` (Box int64). Reward: the points
    banked (integers, by design). The game ends (terminated) at 50 points; stepping after
    the end is accepted and pays 0. Dice come from ``self.np_random``: stochastic, fully
    seeded.
    """

    TARGET = 50
    TURN_CAP = 20

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(0, 1000, (2,), np.int64)
        self.action_space = spaces.Discrete(2)  # roll, hold
        self.fault = fault
        self.score, self.turn_total, self.turns = 0, 0, 0
        self.ended = False

    def _obs(self, dtype: Any = np.int64) -> np.ndarray:
        return np.array([self.score, self.turn_total], dtype)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.score, self.turn_total, self.turns = 0, 0, 0
        self.ended = False
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self._obs(), 0.0, True, False, {}
        reward, pig = 0.0, False
        if int(action) == 0:
            roll = int(self.np_random.integers(1, 7))
            if roll == 1:
                self.turn_total, pig = 0, True
                self.turns += 1
            else:
                self.turn_total += roll
        else:
            reward = float(self.turn_total)
            self.score += self.turn_total
            self.turn_total = 0
            self.turns += 1
        terminated = self.score >= self.TARGET
        if self.fault == "turn_cap" and self.turns >= self.TURN_CAP:
            terminated = True  # a built-in turn limit; the turn count is not observed
        self.ended = terminated
        dtype = np.float64 if pig and self.fault == "pigout_float" else np.int64
        return self._obs(dtype), reward, terminated, False, {}


class HeadStart(gym.Wrapper):
    """Gives the player a random head start of 0..10 points at every reset.

    Its generator is seeded once, in ``__init__``, with a constant: fresh envs agree, but
    ``reset(seed=s)`` does not reseed it, so the same seed gives a different start later.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.rng = np.random.default_rng(2024)

    def reset(self, **kwargs: Any) -> Any:
        _, info = self.env.reset(**kwargs)
        game = self.env.unwrapped
        game.score += int(self.rng.integers(0, 11))
        return game._obs(), info


class Warehouse(gym.Env):
    """A 6x6 floor: walk to the item, pick it, carry it to the depot, drop it there (+1,
    terminated). Dropping elsewhere leaves the item on that cell. Dict observation: agent,
    item and depot cells and a carrying flag. Sparse reward by design. Actions: up, down,
    left, right, pick, drop. Stepping after the end is accepted and pays 0.
    """

    SIZE = 6
    MOVES = ((0, -1), (0, 1), (-1, 0), (1, 0))

    def __init__(self, *, fault: str = "") -> None:
        cell = spaces.MultiDiscrete([self.SIZE, self.SIZE])
        self.observation_space = spaces.Dict({"agent": cell, "item": cell, "depot": cell,
                                              "carrying": spaces.Discrete(2)})
        self.action_space = spaces.Discrete(6)
        self.fault = fault
        self.agent = np.zeros(2, np.int64)
        self.item = np.zeros(2, np.int64)
        self.depot = np.zeros(2, np.int64)
        self.carrying = 0
        self.ended = False

    def _obs(self) -> dict[str, Any]:
        return {"agent": self.agent.copy(), "item": self.item.copy(),
                "depot": self.depot.copy(), "carrying": int(self.carrying)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        if self.fault != "carry_leak":
            self.carrying = 0  # the faulty version clears it only on delivery, in step()
        self.depot = self.np_random.integers(0, self.SIZE, 2)
        self.agent = self.np_random.integers(0, self.SIZE, 2)
        self.item = self.depot
        while (self.item == self.depot).all():
            self.item = self.np_random.integers(0, self.SIZE, 2)
        if self.carrying:
            self.item = self.agent.copy()
        self.ended = False
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            if self.fault == "flag_flips_back":
                return self._obs(), 0.0, False, False, {}
            return self._obs(), 0.0, True, False, {}
        a = int(action)
        reward, terminated = 0.0, False
        if a < 4:
            self.agent = np.clip(self.agent + self.MOVES[a], 0, self.SIZE - 1)
        elif a == 4:
            if not self.carrying and (self.agent == self.item).all():
                self.carrying = 1
                if self.fault == "pick_bonus":
                    reward += 0.25  # shaping for picking up; dropping it again costs nothing
        elif self.carrying:
            self.carrying = 0
            if (self.agent == self.depot).all():
                reward, terminated = 1.0, True
        if self.carrying:
            self.item = self.agent.copy()
        self.ended = terminated
        return self._obs(), reward, terminated, False, {}


class SwingPendulum(gym.Env):
    """A torque-driven pendulum, angle 0 upright, integrated here (semi-implicit Euler).

    Observation: ``[cos q, sin q, w / 8]`` (plus ``2 * charge - 1`` with ``battery=True``).
    Action: torque in [-2, 2] (clipped). Reward: minus a quadratic cost. Without a battery
    it never ends by itself (TimeLimit). With ``battery=True`` every step draws charge
    (more under torque) and the episode ends, terminated, when the battery is flat: after
    1600 to 2400 steps, with the charge observed. Stepping after the end pays 0.
    """

    DT, G, MAX_W, CAPACITY = 0.05, 9.81, 8.0, 2400.0

    def __init__(self, *, fault: str = "", battery: bool = False) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (4 if battery else 3,), np.float32)
        self.action_space = spaces.Box(-2.0, 2.0, (1,), np.float32)
        self.fault = fault
        self.battery = battery
        self.q, self.w, self.t, self.charge = 0.0, 0.0, 0, 1.0
        self.frozen: np.ndarray | None = None
        self.ended = False
        self.last = self._obs()

    def _obs(self) -> np.ndarray:
        parts = [np.cos(self.q), np.sin(self.q), self.w / self.MAX_W]
        if self.battery:
            parts.append(2 * self.charge - 1)
        return np.array(parts, np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.q = float(self.np_random.uniform(-np.pi, np.pi))
        self.w = float(self.np_random.uniform(-1, 1))
        self.t, self.charge, self.frozen, self.ended = 0, 1.0, None, False
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self.last.copy(), 0.0, True, False, {}
        u = float(np.clip(np.asarray(action, np.float64).reshape(-1)[0], -2, 2))
        self.w = float(np.clip(self.w + (self.G * np.sin(self.q) + u) * self.DT,
                               -self.MAX_W, self.MAX_W))
        self.q = (self.q + self.w * self.DT + np.pi) % (2 * np.pi) - np.pi
        self.t += 1
        reward = -(self.q ** 2 + 0.1 * self.w ** 2 + 0.001 * u ** 2)
        terminated = False
        if self.battery:
            self.charge = max(self.charge - (1 + 0.25 * abs(u)) / self.CAPACITY, 0.0)
            terminated = self.charge <= 0.0
        if self.fault == "limit_terminated":
            terminated = self.t >= 200  # the built-in episode limit, reported as an end
        obs = self._obs()
        if self.fault == "encoder_freeze" and self.t >= 60:
            if self.frozen is None:
                self.frozen = obs
            obs = self.frozen.copy()  # the encoder stops updating 60 steps in
        self.ended, self.last = terminated, obs
        return obs.copy(), float(reward), terminated, False, {}


class ActuatorNoise(gym.ActionWrapper):
    """Torque noise (sd 0.3) from the wrapper's own generator, seeded from OS entropy: the
    env's seed never reaches it, so a seeded rollout does not repeat.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.rng = np.random.default_rng()

    def action(self, action: Any) -> Any:
        noisy = np.asarray(action, np.float32) + self.rng.normal(0, 0.3, 1).astype(np.float32)
        return np.clip(noisy, -2.0, 2.0)


class JobQueue(gym.Env):
    """Three job classes queue (capacity 6 each) for two servers. Action (MultiDiscrete
    [3, 3]): the class each server works on this step; a server on a non-empty queue
    finishes a job with probability 0.9. Bernoulli arrivals (0.55, 0.45, 0.35). Jobs arriving
    at a full queue wait in a hidden retry buffer and are admitted when room frees up.
    Observation: the three queue lengths. Reward: jobs finished minus 0.1 per queued job
    (multiples of 0.1 by design). Out-of-range actions raise. All randomness from
    ``self.np_random``. A continuing task: the horizon is a TimeLimit.
    """

    CAP = 6
    RATES = np.array([0.55, 0.45, 0.35])

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.MultiDiscrete([self.CAP + 1] * 3)
        self.action_space = spaces.MultiDiscrete([3, 3])
        self.fault = fault
        self.queue = np.zeros(3, np.int64)
        self.retry = np.zeros(3, np.int64)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.queue = self.np_random.integers(0, 3, 3)
        if self.fault != "retry_kept":
            self.retry = np.zeros(3, np.int64)
        return self.queue.copy(), {}

    def step(self, action: Any) -> Any:
        if self.fault == "stall":
            _STALL["steps"] += 1
            if _STALL["steps"] % STALL_EVERY == 0 and _STALL["stalls"] < STALL_MAX:
                _STALL["stalls"] += 1
                time.sleep(STALL_S)  # a blocking call to a slow scheduler service
        a = np.asarray(action, np.int64).reshape(2)
        if ((a < 0) | (a > 2)).any():
            raise ValueError(f"action {a} outside MultiDiscrete([3, 3])")
        if self.fault == "server2_ignored":
            a = np.array([a[0], a[0]])  # copy-paste bug: server 2 follows server 1
        served = 0
        for cls in a:
            if self.queue[cls] > 0 and self.np_random.random() < 0.9:
                self.queue[cls] -= 1
                served += 1
        self.queue = self.queue + (self.np_random.random(3) < self.RATES)
        excess = np.maximum(self.queue - self.CAP, 0)
        self.retry += excess
        self.queue -= excess
        back = np.minimum(self.CAP - self.queue, self.retry)
        self.queue += back
        self.retry -= back
        reward = served - 0.1 * int(self.queue.sum())
        if self.fault == "idle_nan":
            q = self.queue.astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                # an imbalance penalty relative to the longest queue: 0/0 when all are empty
                reward -= float((q.max() - q.min()) / q.max())
        return self.queue.copy(), float(reward), False, False, {}


class PixelMaze(gym.Env):
    """A 7x9 maze rendered as a uint8 RGB image (walls grey, agent red, goal green).

    Actions: up, down, left, right. Reaching the goal pays 1 and ends the episode (sparse).
    With ``view=3`` the agent sees only the 3x3 window around itself (an aliased POMDP).
    Stepping after the end is accepted and pays 0.
    """

    LAYOUT = ("#########",
              "#.......#",
              "#.......#",
              "#.##.##.#",
              "#.......#",
              "#.......#",
              "#########")
    MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))  # (row, col)

    def __init__(self, *, fault: str = "", view: int = 0) -> None:
        self.walls = np.array([[c == "#" for c in row] for row in self.LAYOUT])
        self.free = [tuple(map(int, rc)) for rc in np.argwhere(~self.walls)]
        shape = (view, view, 3) if view else (*self.walls.shape, 3)
        self.observation_space = spaces.Box(0, 255, shape, np.uint8)
        self.action_space = spaces.Discrete(4)
        self.fault = fault
        self.view = view
        self.pos, self.goal = (1, 1), (5, 5)
        self.t = 0
        self.ended = False
        self.frame = np.zeros(shape, np.uint8)

    def _render(self) -> np.ndarray:
        img = np.zeros((*self.walls.shape, 3), np.uint8)
        img[self.walls] = 128
        img[self.goal] = (0, 255, 0)
        img[self.pos] = (255, 0, 0)
        if self.view:
            r, c, h = *self.pos, self.view // 2
            img = img[r - h:r + h + 1, c - h:c + h + 1].copy()
        return img

    def _place_goal(self) -> None:
        options = [p for p in self.free if p != self.pos]
        self.goal = options[int(self.np_random.integers(len(options)))]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.pos = self.free[int(self.np_random.integers(len(self.free)))]
        self._place_goal()
        self.t, self.ended = 0, False
        self.frame = self._render()
        return self.frame.copy(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self.frame.copy(), 0.0, True, False, {}
        dr, dc = self.MOVES[int(action)]
        nxt = (self.pos[0] + dr, self.pos[1] + dc)
        bumped = bool(self.walls[nxt])
        rows, cols = self.walls.shape
        inner = bumped and 0 < nxt[0] < rows - 1 and 0 < nxt[1] < cols - 1
        if not bumped:
            self.pos = nxt
        self.t += 1
        terminated = self.pos == self.goal
        if terminated and self.fault == "goal_respawns":
            self._place_goal()  # a new goal: the episode goes on after terminated=True
        else:
            self.ended = terminated
        if self.fault != "render_every_4" or self.t % 4 == 0:
            self.frame = self._render()
        if inner and self.fault == "bump_grayscale":  # only bumps into the inner walls
            return self.frame.mean(axis=2).astype(np.uint8), 0.0, False, False, {}
        return self.frame.copy(), float(terminated), terminated, False, {}


# --------------------------------------------------------------------------- the set


FAULTS: dict[str, tuple[Callable[[], gym.Env], Category]] = {
    "thermostat_trip_kelvin": (lambda: TimeLimit(Thermostat(fault="trip_kelvin"), 288),
                               Category.API_CONTRACT),
    "thermostat_power_wrapped": (lambda: TimeLimit(Thermostat(fault="power_wrapped"), 288),
                                 Category.ACTION_SPACE_DRIFT),
    "thermostat_damper_ignored": (lambda: TimeLimit(Thermostat(fault="damper_ignored"), 288),
                                  Category.ACTION_SPACE_DRIFT),
    "thermostat_units_jump_late": (lambda: TimeLimit(Thermostat(fault="units_jump"), 288),
                                   Category.REWARD_ARTIFACT),
    "pig_pigout_float_obs": (lambda: TimeLimit(PigDice(fault="pigout_float"), 200),
                             Category.API_CONTRACT),
    "pig_turn_cap_terminated": (lambda: PigDice(fault="turn_cap"), Category.SILENT_TIMEOUT),
    "pig_headstart_seeded_once": (lambda: HeadStart(TimeLimit(PigDice(), 200)),
                                  Category.NONDETERMINISTIC_RESET),
    "warehouse_pick_drop_farm": (lambda: TimeLimit(Warehouse(fault="pick_bonus"), 200),
                                 Category.REWARD_HACKING),
    "warehouse_carry_leak_on_cut": (lambda: TimeLimit(Warehouse(fault="carry_leak"), 200),
                                    Category.RESET_LEAKAGE),
    "warehouse_flag_flips_back": (lambda: TimeLimit(Warehouse(fault="flag_flips_back"), 200),
                                  Category.DONE_SEMANTICS),
    "pendulum_encoder_freeze": (lambda: TimeLimit(SwingPendulum(fault="encoder_freeze"), 200),
                                Category.STALE_OBSERVATION),
    "pendulum_actuator_noise_unseeded": (lambda: ActuatorNoise(TimeLimit(SwingPendulum(), 200)),
                                         Category.NONDETERMINISTIC_RESET),
    "pendulum_limit_terminated": (lambda: SwingPendulum(fault="limit_terminated"),
                                  Category.SILENT_TIMEOUT),
    "jobqueue_server2_ignored": (lambda: TimeLimit(JobQueue(fault="server2_ignored"), 100),
                                 Category.ACTION_SPACE_DRIFT),
    "jobqueue_retry_kept": (lambda: TimeLimit(JobQueue(fault="retry_kept"), 100),
                            Category.RESET_LEAKAGE),
    "jobqueue_idle_nan": (lambda: TimeLimit(JobQueue(fault="idle_nan"), 100),
                          Category.REWARD_ARTIFACT),
    # written as HARNESS_FAILURE; relabelled before any rlvet run: rlvet's env taxonomy
    # names hangs and intermittent stalls silent_timeout (harness_failure: a dying process)
    "jobqueue_stall": (lambda: TimeLimit(JobQueue(fault="stall"), 100),
                       Category.SILENT_TIMEOUT),
    "pixelmaze_bump_grayscale": (lambda: TimeLimit(PixelMaze(fault="bump_grayscale"), 100),
                                 Category.API_CONTRACT),
    "pixelmaze_goal_respawns": (lambda: TimeLimit(PixelMaze(fault="goal_respawns"), 100),
                                Category.DONE_SEMANTICS),
    "pixelmaze_render_every_4": (lambda: TimeLimit(PixelMaze(fault="render_every_4"), 100),
                                 Category.STALE_OBSERVATION),
}
HEALTHY: dict[str, Callable[[], gym.Env]] = {
    "thermostat_safety_trip": lambda: TimeLimit(Thermostat(), 288),
    "pig_seeded_dice": lambda: TimeLimit(PigDice(), 200),
    "warehouse_sparse": lambda: TimeLimit(Warehouse(), 200),
    "pendulum_battery_long_horizon": lambda: SwingPendulum(battery=True),
    "jobqueue_quantised": lambda: TimeLimit(JobQueue(), 100),
    "pixelmaze_egocentric_aliased": lambda: TimeLimit(PixelMaze(view=3), 100),
}


# --------------------------------------------------------------------------- self-checks


_random_run = second_set._random_run


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return all(_same(a[k], b[k]) for k in a)
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def _same_runs(r1: list, r2: list) -> bool:
    return len(r1) == len(r2) and all(
        _same(x[0], y[0]) and x[1:] == y[1:] for x, y in zip(r1, r2, strict=True))


def _after_end(env: gym.Env, seed: int) -> list[tuple[float, bool]]:
    """Random play until the first termination, then three more steps: (reward, terminated)."""
    env.action_space.seed(seed)
    env.reset(seed=seed)
    while not env.step(env.action_space.sample())[2]:
        pass
    return [tuple(env.step(env.action_space.sample())[1:3]) for _ in range(3)]


def _fixed_actions(env: gym.Env, seed: int, actions: list[Any]) -> list[tuple]:
    env.reset(seed=seed)
    return [env.step(a)[:4] for a in actions]


# ---- thermostat

def check_thermostat_trip_kelvin() -> str:
    make = FAULTS["thermostat_trip_kelvin"][0]
    steps = _random_run(make(), 0, 3000)
    space = make().observation_space
    bad_end = [float(o[0]) for o, _, te, _ in steps if te and o not in space]
    bad_other = [o for o, _, te, _ in steps if not te and o not in space]
    assert bad_end and not bad_other, (len(bad_end), len(bad_other))
    return (f"{len(bad_end)} trip obs with T_in in K (e.g. {bad_end[0]:.1f}) outside [-2, 2]; "
            f"{len(steps) - len(bad_end)} others in space")


def check_thermostat_power_wrapped() -> str:
    nxt = {}
    for name, p in (("over", 1.5), ("max", 1.0), ("cool", -0.5)):
        env = FAULTS["thermostat_power_wrapped"][0]()
        env.reset(seed=1)
        nxt[name] = env.step(np.array([p, 0.5], np.float32))[0]
    assert np.array_equal(nxt["over"], nxt["cool"]) and not np.array_equal(nxt["over"],
                                                                            nxt["max"])
    return "power 1.5 (above the box) acts as -0.5 (cooling), not clipped to 1.0"


def check_thermostat_damper_ignored() -> str:
    outs = {}
    for name, make in (("fault", FAULTS["thermostat_damper_ignored"][0]),
                       ("healthy", HEALTHY["thermostat_safety_trip"])):
        pair = []
        for d in (0.0, 1.0):
            env = make()
            env.reset(seed=2)
            pair.append(env.step(np.array([0.0, d], np.float32))[0])
        outs[name] = np.array_equal(*pair)
    assert outs["fault"] and not outs["healthy"], outs
    return "damper 0 vs 1: identical next obs (healthy env: they differ)"


def check_thermostat_units_jump_late() -> str:
    steps = _random_run(FAULTS["thermostat_units_jump_late"][0](), 3, 2000)
    early = np.abs([r for _, r, _, _ in steps[:1000]])
    late = np.abs([r for _, r, _, _ in steps[1000:]])
    assert np.median(late) > 30 * np.median(early), (np.median(early), np.median(late))
    return (f"median |reward| {np.median(early):.2f} for the first 1000 steps of the env's "
            f"life, {np.median(late):.1f} after")


def check_thermostat_safety_trip() -> str:
    make = HEALTHY["thermostat_safety_trip"]
    r1, r2 = _random_run(make(), 4, 3000), _random_run(make(), 4, 3000)
    trips = sum(te for *_, te, _ in r1)
    cuts = sum(tr for *_, tr in r1)
    space = make().observation_space
    assert _same_runs(r1, r2) and trips and cuts and all(o in space for o, *_ in r1)
    assert _after_end(Thermostat(), 4) == [(0.0, True)] * 3
    return (f"{trips} safety trips (terminated) and {cuts} day ends (truncated) in 3000 "
            f"random steps, obs in space, seeds reproduce, steps after a trip pay 0")


# ---- pig dice

def check_pig_pigout_float_obs() -> str:
    steps = _random_run(FAULTS["pig_pigout_float_obs"][0](), 5, 2000)
    dtypes = {}
    for o, *_ in steps:
        dtypes[o.dtype.name] = dtypes.get(o.dtype.name, 0) + 1
    space = FAULTS["pig_pigout_float_obs"][0]().observation_space
    bad = sum(o not in space for o, *_ in steps)
    assert dtypes.get("float64") and dtypes.get("int64") and bad == dtypes["float64"], dtypes
    return f"obs dtypes over 2000 steps {dtypes} (float64 after each rolled 1, not in space)"


def check_pig_turn_cap_terminated() -> str:
    env = FAULTS["pig_turn_cap_terminated"][0]()
    env.action_space.seed(6)
    env.reset(seed=6)
    capped = won = 0
    while capped + won < 40:
        obs, _, te, tr, _ = env.step(env.action_space.sample())
        assert not tr
        if te:
            game = env.unwrapped
            if game.score < game.TARGET:
                assert game.turns == game.TURN_CAP
                capped += 1
            else:
                won += 1
            env.reset()
    assert capped and won
    return (f"40 games: {capped} end terminated=True at the 20-turn cap below 50 points, "
            f"{won} by winning; turns not in the obs")


def check_pig_headstart_seeded_once() -> str:
    make = FAULTS["pig_headstart_seeded_once"][0]
    env = make()
    starts = [int(env.reset(seed=7)[0][0]) for _ in range(6)]
    fresh = [int(make().reset(seed=7)[0][0]) for _ in range(2)]
    assert len(set(starts)) > 1 and fresh[0] == fresh[1] == starts[0], (starts, fresh)
    return f"reset(seed=7) six times on one env: start scores {starts}; fresh envs agree"


def check_pig_seeded_dice() -> str:
    make = HEALTHY["pig_seeded_dice"]
    r1, r2, r3 = (_random_run(make(), 8, 1000), _random_run(make(), 8, 1000),
                  _random_run(make(), 9, 1000))
    env = make()
    again = [_fixed_actions(env, 10, [0] * 20) for _ in range(2)]
    rewards = {r for _, r, _, _ in r1}
    assert _same_runs(r1, r2) and not _same_runs(r1, r3) and _same_runs(*again)
    assert all(float(r).is_integer() for r in rewards)
    assert _after_end(PigDice(), 8) == [(0.0, True)] * 3
    return (f"same seed -> same dice (fresh env and re-reset), other seed differs; "
            f"{len(rewards)} distinct integer rewards")


# ---- warehouse

def _walk_to(env: gym.Env, target: np.ndarray) -> list[tuple]:
    out = []
    w = env.unwrapped
    while not (w.agent == target).all():
        d = target - w.agent
        a = (3 if d[0] > 0 else 2) if d[0] else (1 if d[1] > 0 else 0)
        out.append(env.step(a)[:4])
    return out


def check_warehouse_pick_drop_farm() -> str:
    env = FAULTS["warehouse_pick_drop_farm"][0]()
    env.reset(seed=11)
    w = env.unwrapped
    _walk_to(env, w.item)
    rewards, ends = [], []
    for a in (4, 5) * 20:
        _, r, te, tr, _ = env.step(a)
        rewards.append(r)
        ends.append(te or tr)
    assert sum(rewards) == 5.0 and not any(ends) and not (w.item == w.depot).all()
    return "pick/drop 20 times on the item's cell: +5.0 (delivery pays 1), no progress"


def check_warehouse_carry_leak_on_cut() -> str:
    make = FAULTS["warehouse_carry_leak_on_cut"][0]
    env = make()
    env.reset(seed=12)
    _walk_to(env, env.unwrapped.item)
    env.step(4)  # picked up; the episode is then cut short by reset()
    cut = env.reset(seed=13)[0]
    fresh = make().reset(seed=13)[0]
    # a full episode that ends by delivery leaves no trace
    env2 = make()
    env2.reset(seed=12)
    w = env2.unwrapped
    _walk_to(env2, w.item)
    env2.step(4)
    _walk_to(env2, w.depot)
    assert env2.step(5)[2]
    after_natural = env2.reset(seed=13)[0]
    assert cut["carrying"] == 1 and fresh["carrying"] == 0 and _same(after_natural, fresh)
    return ("reset(seed=13) after an episode cut while carrying: carrying=1 and item in hand; "
            "fresh env or after a delivered episode: carrying=0")


def check_warehouse_flag_flips_back() -> str:
    env = FAULTS["warehouse_flag_flips_back"][0]()
    env.reset(seed=14)
    w = env.unwrapped
    _walk_to(env, w.item)
    env.step(4)
    _walk_to(env, w.depot)
    _, r, te, _, _ = env.step(5)
    after = [env.step(0)[2] for _ in range(3)]
    assert te and r == 1.0 and after == [False] * 3
    return "delivery returns terminated=True, the next 3 step() calls return terminated=False"


def check_warehouse_sparse() -> str:
    make = HEALTHY["warehouse_sparse"]
    steps = _random_run(make(), 15, 3000)
    paid = [(r, te) for _, r, te, _ in steps if r]
    env = make()
    env.reset(seed=15)
    w = env.unwrapped
    path = _walk_to(env, w.item) + [env.step(4)[:4]] + _walk_to(env, w.depot)
    last = env.step(5)[:4]
    assert all(r == 1.0 and te for r, te in paid) and last[1:3] == (1.0, True)
    assert all(p[1] == 0.0 for p in path)
    return (f"{len(paid)} deliveries in 3000 random steps, each +1 with terminated; scripted "
            f"delivery after {len(path)} zero-reward steps pays 1")


# ---- pendulum

def check_pendulum_encoder_freeze() -> str:
    env = FAULTS["pendulum_encoder_freeze"][0]()
    env.reset(seed=16)
    obs = [env.step(np.array([1.5], np.float32))[0] for _ in range(120)]
    moving = sum(not np.array_equal(a, b) for a, b in zip(obs[:58], obs[1:59], strict=True))
    frozen = all(np.array_equal(o, obs[59]) for o in obs[59:])
    w = env.unwrapped
    assert moving == 58 and frozen and not np.array_equal(obs[-1], w._obs())
    return "obs changes every step for 59 steps, then stays identical while the pole moves"


def check_pendulum_actuator_noise_unseeded() -> str:
    make = FAULTS["pendulum_actuator_noise_unseeded"][0]
    acts = [np.array([0.5], np.float32)] * 30
    a, b = _fixed_actions(make(), 17, acts), _fixed_actions(make(), 17, acts)
    assert not np.array_equal(a[-1][0], b[-1][0])
    healthy = [_fixed_actions(TimeLimit(SwingPendulum(), 200), 17, acts) for _ in range(2)]
    assert np.array_equal(healthy[0][-1][0], healthy[1][-1][0])
    return "reset(seed=17) + 30 identical actions, two fresh envs: different states"


def check_pendulum_limit_terminated() -> str:
    steps = _random_run(FAULTS["pendulum_limit_terminated"][0](), 18, 600)
    ends = [i + 1 for i, (_, _, te, tr) in enumerate(steps) if te or tr]
    assert ends == [200, 400, 600] and all(s[2] and not s[3] for s in steps if s[2] or s[3])
    return "every episode ends at step 200 with terminated=True (no time in the obs)"


def check_pendulum_battery_long_horizon() -> str:
    env = HEALTHY["pendulum_battery_long_horizon"]()
    env.action_space.seed(19)
    lengths = []
    for ep in range(3):
        obs, _ = env.reset(seed=19 + ep)
        charges, n, done = [obs[3]], 0, False
        while not done:
            obs, _, te, tr, _ = env.step(env.action_space.sample())
            charges.append(obs[3])
            n += 1
            done = te or tr
        assert te and not tr and np.all(np.diff(charges) < 0)
        lengths.append(n)
    assert all(1500 <= n <= 3000 for n in lengths), lengths
    assert [env.step(env.action_space.sample())[1:3] for _ in range(2)] == [(0.0, True)] * 2
    return f"episodes end by themselves (flat battery, charge observed) after {lengths} steps"


# ---- job queue

def check_jobqueue_server2_ignored() -> str:
    make = FAULTS["jobqueue_server2_ignored"][0]
    env = make()
    env.reset(seed=20)
    env.unwrapped.queue = np.array([3, 3, 3])
    obs = env.step(np.array([0, 1]))[0]
    ref = make()
    ref.reset(seed=20)
    ref.unwrapped.queue = np.array([3, 3, 3])
    same = np.array_equal(obs, ref.step(np.array([0, 2]))[0])
    healthy = []
    for a in ([0, 1], [0, 2]):
        h = HEALTHY["jobqueue_quantised"]()
        h.reset(seed=20)
        h.unwrapped.queue = np.array([3, 3, 3])
        healthy.append(h.step(np.array(a))[0])
    assert same and not np.array_equal(*healthy), healthy
    return "actions [0, 1] and [0, 2] give the same next queues; server 2's choice is unused"


def check_jobqueue_retry_kept() -> str:
    make = FAULTS["jobqueue_retry_kept"][0]
    env = make()
    env.reset(seed=21)
    for _ in range(60):  # a policy that never serves class 0 fills its retry buffer
        env.step(np.array([2, 2]))
    backlog = int(env.unwrapped.retry.sum())
    acts = [np.array([1, 2])] * 15
    leaked = _fixed_actions(env, 22, acts)
    fresh = _fixed_actions(make(), 22, acts)
    assert backlog and not _same_runs(leaked, fresh)
    return (f"{backlog} jobs in the hidden retry buffer survive reset(seed=22): the next "
            f"episode differs from a fresh env's")


def check_jobqueue_idle_nan() -> str:
    steps = _random_run(FAULTS["jobqueue_idle_nan"][0](), 23, 5000)
    bad = sum(not np.isfinite(r) for _, r, _, _ in steps)
    assert 0 < bad < 0.02 * len(steps), bad
    return f"{bad} NaN rewards in 5000 random steps (system empty: 0/0), all others finite"


def check_jobqueue_stall() -> str:
    env = FAULTS["jobqueue_stall"][0]()
    saved = dict(_STALL)
    _STALL.update(steps=0, stalls=0)
    try:
        env.action_space.seed(24)
        env.reset(seed=24)
        times = []
        for _ in range(STALL_EVERY):
            t0 = time.perf_counter()
            _, _, te, tr, _ = env.step(env.action_space.sample())
            times.append(time.perf_counter() - t0)
            if te or tr:
                env.reset()
    finally:
        _STALL.clear()
        _STALL.update(saved)  # the scoring pass gets the full stall budget
    slow = [i + 1 for i, t in enumerate(times) if t > 0.3]
    assert slow == [STALL_EVERY] and np.median(times) < 1e-3, slow
    return (f"step {STALL_EVERY} blocks {max(times):.2f} s (median step "
            f"{np.median(times) * 1e6:.0f} us); stalls every 300 steps, at most 4 per process")


def check_jobqueue_quantised() -> str:
    make = HEALTHY["jobqueue_quantised"]
    r1, r2 = _random_run(make(), 25, 2000), _random_run(make(), 25, 2000)
    rewards = np.array([r for _, r, _, _ in r1])
    assert _same_runs(r1, r2) and np.allclose(rewards * 10, np.round(rewards * 10))
    return (f"rewards on a 0.1 grid ({len(set(np.round(rewards, 1)))} values), "
            f"seeded arrivals reproduce")


# ---- pixel maze

def check_pixelmaze_bump_grayscale() -> str:
    make = FAULTS["pixelmaze_bump_grayscale"][0]
    steps = _random_run(make(), 26, 2000)
    shapes = {}
    for o, *_ in steps:
        shapes[o.shape] = shapes.get(o.shape, 0) + 1
    assert len(shapes) == 2 and shapes[(7, 9, 3)] > 10 * shapes[(7, 9)], shapes
    return f"obs shapes over 2000 steps {shapes}: (7, 9) after each bump into an inner wall"


def _maze_path(maze: PixelMaze) -> list[int]:
    """Shortest action sequence from the agent to the goal (breadth-first search)."""
    prev: dict[tuple[int, int], tuple[tuple[int, int], int] | None] = {maze.pos: None}
    frontier = [maze.pos]
    while maze.goal not in prev:
        nxt_frontier = []
        for p in frontier:
            for a, (dr, dc) in enumerate(maze.MOVES):
                q = (p[0] + dr, p[1] + dc)
                if not maze.walls[q] and q not in prev:
                    prev[q] = (p, a)
                    nxt_frontier.append(q)
        frontier = nxt_frontier
    path, cell = [], maze.goal
    while prev[cell] is not None:
        cell, a = prev[cell]
        path.append(a)
    return path[::-1]


def check_pixelmaze_goal_respawns() -> str:
    env = FAULTS["pixelmaze_goal_respawns"][0]()
    env.reset(seed=27)
    maze = env.unwrapped
    seen = []
    for _ in range(3):
        for a in _maze_path(maze):
            seen.append(env.step(a)[1:4])
    ends = [i + 1 for i, (_, te, _) in enumerate(seen) if te]
    paid = sum(r for r, _, _ in seen)
    assert len(ends) == 3 and paid == 3.0 and not any(tr for *_, tr in seen)
    assert not all(te for _, te, _ in seen[ends[0]:ends[1]])
    return (f"one episode: terminated=True at steps {ends}, +1 each time, with "
            f"terminated=False steps in between")


def check_pixelmaze_render_every_4() -> str:
    env = FAULTS["pixelmaze_render_every_4"][0]()
    env.reset(seed=28)
    w = env.unwrapped
    w.pos, w.goal = (1, 1), (5, 5)
    obs = [env.step(3)[0] for _ in range(4)]  # right along the top row: moves every step
    assert w.pos == (1, 5) and np.array_equal(obs[0], obs[1]) and np.array_equal(obs[1],
                                                                                obs[2])
    assert not np.array_equal(obs[2], obs[3])
    return "4 moves right: the frame changes only on the 4th; 3 steps repeat a stale frame"


def check_pixelmaze_egocentric_aliased() -> str:
    make = HEALTHY["pixelmaze_egocentric_aliased"]
    steps = _random_run(make(), 29, 3000)
    views: dict[bytes, set] = {}
    env = make()
    w = env.unwrapped
    for p in w.free:
        w.pos, w.goal = p, (5, 5) if p != (5, 5) else (1, 1)
        views.setdefault(w._render().tobytes(), set()).add(p)
    shared = max(len(v) for v in views.values())
    goals = sum(te for *_, te, _ in steps)
    r2 = _random_run(make(), 29, 3000)
    assert shared > 1 and goals and _same_runs(steps, r2)
    return (f"{len(w.free)} cells give {len(views)} distinct 3x3 views (up to {shared} cells "
            f"share one); {goals} goals in 3000 random steps; seeds reproduce")


SELF_CHECKS: dict[str, Callable[[], str]] = {
    name: globals()[f"check_{name}"] for name in (*FAULTS, *HEALTHY)
}


def main() -> int:
    return first_set.run_checked_set(FAULTS, HEALTHY, SELF_CHECKS)


if __name__ == "__main__":
    sys.exit(main())
