"""Fifth held-out planted set for issue #15: written blind to rlvet's checks, scored once.

New bases, none in ``tests/envcheck/planted.py``, ``envcheck/catalog.py`` or
``planted_heldout.py`` to ``planted_heldout4.py``: a two-car elevator dispatcher
(MultiDiscrete action), an exothermic batch reactor (Box observation and Box(2) action,
continuous), a three-stock portfolio rebalancer (Box(4) action normalised onto the
simplex), a one-lane tower defense on a small uint8 grey image, a goal-conditioned point
robot with a Dict observation (observation / achieved_goal / desired_goal) and a crop
season with a Tuple observation. One planted fault per faulty env, at several strengths and
onsets (from the first step, after N steps of an episode or of the env's life, on rare or
terminal transitions only, only after an episode cut short by reset(), only on the bounds
of the action box, only for policies that never take some action) and visibilities (some
show only over long action sequences or over several episodes), plus healthy envs whose
task properties (a sparse goal, integer rewards, aliased frames, early termination by
design, a long built-in horizon with truncation, seeded stochasticity, actions that do
nothing in some states, a slow but correct step, Dict and Tuple observations) must not be
errors. Expected categories were fixed before any rlvet run and chosen from the fault
class, not from how rlvet detects it.

Every env has a self-check (``SELF_CHECKS``) that shows, without rlvet, that the fault
exists (faulty envs) or that the property works (healthy envs); they run first and the
rlvet pass is skipped if one fails. The table and summary come from
``planted_heldout.run_set`` (the first set's runner), pointed at this set's envs.

Usage: .venv/bin/python benchmarks/realenvs/planted_heldout5.py [--self-check-only]
"""

from __future__ import annotations

import math
import random
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

# --------------------------------------------------------------------------- bases

# OS-entropy generator of the reactor's lab thermometer calibration: created once at import,
# never reached by any seed.
_LAB_RNG = np.random.default_rng()
# Process-wide budget of the reactor whose drain wait blocks reset(): 0.4 s per stall, at
# most 5 per process (2 s in all), whatever the number of instances.
_DRAIN = {"stalls": 0}
DRAIN_S, DRAIN_MAX = 0.4, 5
# Euler sub-steps a step of the healthy fine-grid reactor (about 5-10 ms of arithmetic).
FINE_SUBSTEPS = 16000


class Elevator(gym.Env):
    """Two elevator cars serving six floors; one step is a minute of a 1440-minute day.

    Observation (Box [0, 1]^8): the two cars' floors / 5 and the waiting passengers per floor
    / 10 (a floor holds at most 10; later arrivals take the stairs). Action (MultiDiscrete
    [3, 3]), per car: 0 down, 1 stop and open the doors (up to 4 waiting passengers board),
    2 up; moving past the bottom or top floor does nothing, by design. Bernoulli arrivals
    (0.04 per floor per minute) from ``self.np_random``. Reward: passengers boarded minus
    0.01 per waiting passenger. The env's own day ends with truncated=True at step 1440 (no
    TimeLimit needed); stepping on after it is accepted.
    """

    FLOORS, CAP, BOARD, DAY, RATE = 6, 10, 4, 1440, 0.04
    FREEZE_AFTER = 4000

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(0.0, 1.0, (2 + self.FLOORS,), np.float32)
        self.action_space = spaces.MultiDiscrete([3, 3])
        self.fault = fault
        self.cars = np.zeros(2, np.int64)
        self.waiting = np.zeros(self.FLOORS, np.int64)
        self.t, self.life, self.dirty = 0, 0, False
        self.shown = np.zeros(self.FLOORS)

    def _obs(self) -> np.ndarray:
        if not (self.fault == "display_freeze" and self.life > self.FREEZE_AFTER):
            self.shown = self.waiting / self.CAP  # the faulty hall display stops refreshing
        return np.concatenate([self.cars / (self.FLOORS - 1), self.shown]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.cars = self.np_random.integers(0, self.FLOORS, 2)
        fresh = self.np_random.integers(0, 3, self.FLOORS)
        if not (self.fault == "kept_on_cut" and self.dirty):
            self.waiting = fresh  # the faulty version clears the halls only at the day's end
        self.t, self.dirty = 0, False
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        act = np.asarray(action).reshape(-1)
        cmds = [int(act[0]), int(act[0] if self.fault == "car1_mirrors" else act[1])]
        served, bonus = 0, 0.0
        snapshot = self.waiting.copy()
        for i, a in enumerate(cmds):
            f = int(self.cars[i])
            if a == 1:
                # the faulty version reads the queue from before the other car boarded
                queue = snapshot[f] if self.fault == "double_board" else self.waiting[f]
                board = min(self.BOARD, int(queue))
                self.waiting[f] -= board
                served += board
            else:
                nf = min(max(f + a - 1, 0), self.FLOORS - 1)
                if self.fault == "arrival_bonus" and nf != f and self.waiting[nf] > 0:
                    bonus += 1.0  # "responsiveness" bonus for reaching a floor with a call
                self.cars[i] = nf
        arrivals = self.np_random.random(self.FLOORS) < self.RATE
        self.waiting = np.minimum(self.waiting + arrivals, self.CAP)
        self.t += 1
        self.life += 1
        self.dirty = True
        reward = served + bonus - 0.01 * float(self.waiting.sum())
        truncated = self.t >= self.DAY
        if truncated:
            self.dirty = False
        return self._obs(), float(reward), False, truncated, {}


class Reactor(gym.Env):
    """An exothermic batch reactor A -> B with a cooling jacket and an electric heater.

    10 s steps (Euler sub-steps inside), a 200-step batch. Observation (Box, unbounded):
    ``[T / 400 K, c_A, c_B, batch time fraction]``. Action (Box [0, 1]^2): coolant valve,
    heater. Arrhenius kinetics; the reaction heats the vessel. Reward: 10 per mol/L of B
    made, minus 0.02 per unit of coolant and of heat. Above 440 K the batch runs away: -20
    and the episode ends (terminated; early termination by design). The batch's end is the
    env's own horizon, reported as truncated. Stepping after a runaway pays 0.
    """

    DT, HORIZON, T_MAX = 10.0, 200, 440.0
    LN_K0, E, DH, HEAT, COOL, LOSS = 13.4, 6300.0, 130.0, 0.5, 0.01, 0.001
    T_COOL, T_AMB, T_GEL = 290.0, 300.0, 301.0
    HEATER_LOST_AFTER = 60

    def __init__(self, *, fault: str = "", substeps: int = 10) -> None:
        self.observation_space = spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self.action_space = spaces.Box(0.0, 1.0, (2,), np.float32)
        self.fault = fault
        self.substeps = substeps
        self.temp, self.ca, self.cb, self.t = 300.0, 1.0, 0.0, 0
        self.ended = self.ran_away = False

    def _obs(self) -> np.ndarray:
        temp = self.temp * 1000 if self.fault == "millikelvin" else self.temp / 400
        return np.array([temp, self.ca, self.cb, self.t / self.HORIZON], np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        if self.fault == "drain_hang" and self.ran_away and _DRAIN["stalls"] < DRAIN_MAX:
            _DRAIN["stalls"] += 1
            time.sleep(DRAIN_S)  # waits for the vessel to drain after a runaway
        self.temp = float(self.np_random.uniform(300, 310))
        if self.fault == "lab_rng":
            self.temp += float(_LAB_RNG.uniform(-2, 2))  # thermometer calibration offset
        self.ca, self.cb, self.t = float(self.np_random.uniform(0.9, 1.1)), 0.0, 0
        self.ended = self.ran_away = False
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self._obs(), 0.0, True, False, {}
        cool, heat = (float(x) for x in np.clip(np.asarray(action, np.float64).reshape(-1)[:2],
                                                0.0, 1.0))
        if self.fault == "heater_lost" and self.t >= self.HEATER_LOST_AFTER:
            heat = 0.0  # the heater relay trips an hour into the batch
        h = self.DT / self.substeps
        temp, ca, cb = self.temp, self.ca, self.cb
        for _ in range(self.substeps):
            k = math.exp(self.LN_K0 - self.E / temp)
            if self.fault == "cold_nan" and temp < self.T_GEL + 5:
                with np.errstate(invalid="ignore"):  # a viscosity fit, NaN below its range
                    k *= float(np.sqrt(np.float64(temp - self.T_GEL) / 5.0))
            r = min(k * ca, ca / h)
            dtemp = (self.DH * r + self.HEAT * heat - self.COOL * cool * (temp - self.T_COOL)
                     - self.LOSS * (temp - self.T_AMB))
            ca, cb, temp = ca - r * h, cb + r * h, temp + dtemp * h
        reward = 10.0 * (cb - self.cb) - 0.02 * (cool + heat)
        self.temp, self.ca, self.cb = temp, ca, cb
        self.t += 1
        terminated = bool(temp > self.T_MAX)
        if terminated:
            reward -= 20.0
        self.ended = self.ran_away = terminated
        truncated = self.t >= self.HORIZON and not terminated
        return self._obs(), float(reward), terminated, truncated, {}


class Portfolio(gym.Env):
    """A daily rebalancer over three stocks and cash, a 252-day trading year.

    Action (Box [0, 1]^4): target weights of the three stocks and cash, normalised onto the
    simplex (all zeros: all cash). Rebalancing costs 0.25% of the turnover. Daily stock
    returns are Gaussian from ``self.np_random`` (stochastic, fully seeded); stock 1 pays a
    0.5% dividend every 63rd day. Observation (Box [-1, 1]^8): today's returns x 10
    (clipped), the weights after the day's drift, tanh(log wealth). Reward: 100 x the
    day's log wealth growth. The year's end is the env's own horizon (truncated; the day is
    not observed); stepping on after it is accepted.
    """

    MU = np.array([0.0005, 0.0003, 0.0008])
    SIGMA = np.array([0.01, 0.005, 0.02])
    YEAR, COST, DIV_EVERY, DIV = 252, 0.0025, 63, 0.005
    REMAP_AFTER = 3000

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (8,), np.float32)
        self.action_space = spaces.Box(0.0, 1.0, (4,), np.float32)
        self.fault = fault
        self.w = np.array([0.0, 0.0, 0.0, 1.0])
        self.ret = np.zeros(3)
        self.prev_ret = np.zeros(3)
        self.wealth, self.t, self.life = 1.0, 0, 0

    def _obs(self) -> np.ndarray:
        ret = self.prev_ret if self.fault == "returns_lag" else self.ret
        return np.concatenate([np.clip(10 * ret, -1, 1), self.w,
                               [np.tanh(np.log(self.wealth))]]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.w = self.np_random.dirichlet(np.ones(4))
        self.ret, self.prev_ret = np.zeros(3), np.zeros(3)
        self.wealth, self.t = 1.0, 0
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        a = np.clip(np.asarray(action, np.float64).reshape(-1)[:4], 0.0, 1.0)
        total = float(a.sum())
        target = a / total if total > 1e-8 else np.array([0.0, 0.0, 0.0, 1.0])
        cost = self.COST * float(np.abs(target - self.w).sum())
        held = target.copy()
        if self.fault == "remap" and self.life >= self.REMAP_AFTER:
            held[:3] = np.roll(target[:3], 1)  # the broker's new ticker table, one slot off
        ret = self.np_random.normal(self.MU, self.SIGMA)
        self.t += 1
        self.life += 1
        div = self.DIV * held[1] if self.t % self.DIV_EVERY == 0 else 0.0
        factor = (1 + cost) if self.fault == "rebate" else (1 - cost)  # sign slip: a rebate
        new_wealth = self.wealth * factor * (1 + float(held[:3] @ ret) + div)
        reward = 100 * float(np.log(new_wealth / self.wealth))
        if self.fault == "dividend_bp" and div:
            reward += div * 1e6  # the dividend credited in hundredths of a basis point
        values = held * np.append(1 + ret, 1.0)
        self.w = values / values.sum()
        self.wealth = new_wealth
        self.prev_ret, self.ret = self.ret, ret
        end = self.t >= self.YEAR
        terminated, truncated = False, end
        if self.fault == "year_end_terminated":
            terminated, truncated = end, False  # the year's end filed as a terminal state
        return self._obs(), reward, terminated, truncated, {}


class TowerDefense(gym.Env):
    """A one-lane tower defense on a 12x12 uint8 grey image (12, 12, 1).

    Enemies walk the lane (row 6) left to right, one cell a step; eight waves (k = 0..7),
    25 steps apart, the k-th of 3 + k enemies entering one a step, with 2 to 2 + k hit points
    (from ``self.np_random``). Actions: 0 wait, 1-4 build a tower on slot 1-4 (4
    gold); building on a taken slot or without the gold does nothing, by design. A tower
    hits the leading enemy within 2 columns for 1 point a step. A kill pays 1 and 1 gold, a
    leak costs 1 and a life (5 lives); the game ends (terminated) at 0 lives or once the
    last wave is cleared (+10). Integer rewards by design. The image shows the lane,
    slots/towers, enemies (brighter: more hit points), lives (row 0) and gold (row 11); not
    the wave number, so quiet frames repeat. Stepping after the end pays 0.
    """

    SIZE, LANE, WAVES, GAP, COST, LIVES = 12, 6, 8, 25, 4, 5
    SLOTS = ((4, 2), (8, 4), (4, 7), (8, 9))
    GLOBAL_RNG_FROM_WAVE = 3

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(0, 255, (self.SIZE, self.SIZE, 1), np.uint8)
        self.action_space = spaces.Discrete(5)
        self.fault = fault
        self.towers = [False] * 4
        self.enemies: list[list[int]] = []
        self.gold, self.lives = self.COST, self.LIVES
        self.t, self.wave, self.to_spawn, self.next_spawn = 0, 0, 0, 0
        self.ended = False

    def _render(self) -> np.ndarray:
        img = np.zeros((self.SIZE, self.SIZE, 1), np.uint8)
        img[self.LANE, :, 0] = 30
        for (r, c), built in zip(self.SLOTS, self.towers, strict=True):
            img[r, c, 0] = 200 if built else 60
        for col, hp in self.enemies:
            img[self.LANE, col, 0] = 80 + 40 * min(hp, 4)
        img[0, :max(self.lives, 0), 0] = 255
        img[11, :min(self.gold, self.SIZE), 0] = 150
        return img

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.towers = [False] * 4
        self.enemies = []
        self.gold = self.COST
        if self.fault != "lives_kept":
            self.lives = self.LIVES  # the faulty version refills lives only in __init__
        self.t, self.wave, self.to_spawn, self.next_spawn = 0, 0, 0, 0
        self.ended = False
        self._spawn()
        return self._render(), {}

    def _spawn(self) -> None:
        if self.wave < self.WAVES and self.t == self.GAP * self.wave + 3:
            self.to_spawn = 3 + self.wave
            self.wave += 1
            self.next_spawn = self.t
        if self.to_spawn and self.t >= self.next_spawn:
            top = 1 + self.wave
            if self.fault == "global_random" and self.wave > self.GLOBAL_RNG_FROM_WAVE:
                hp = random.randint(2, top)  # the module-level generator: never seeded
            else:
                hp = int(self.np_random.integers(2, top + 1))
            self.enemies.append([0, hp])
            self.to_spawn -= 1
            self.next_spawn = self.t + 1

    def step(self, action: Any) -> Any:
        if self.ended and self.fault != "no_latch":
            return self._render(), 0.0, True, False, {}
        a = int(action)
        reward = 0.0
        if 1 <= a <= 4:
            if self.towers[a - 1]:
                if self.fault == "rebuild_bonus":
                    reward += 1.0  # an "upgrade" that changes nothing still pays
            elif self.gold >= self.COST:
                self.towers[a - 1] = True
                self.gold -= self.COST
        for (_, c), built in zip(self.SLOTS, self.towers, strict=True):
            near = [e for e in self.enemies if built and abs(e[0] - c) <= 2 and e[1] > 0]
            if near:
                max(near, key=lambda e: e[0])[1] -= 1
        kills = sum(e[1] <= 0 for e in self.enemies)
        reward += kills
        self.gold += kills
        self.enemies = [[c + 1, hp] for c, hp in self.enemies if hp > 0]
        leaks = sum(c >= self.SIZE for c, _ in self.enemies)
        self.enemies = [e for e in self.enemies if e[0] < self.SIZE]
        self.lives -= leaks
        reward -= leaks
        self.t += 1
        self._spawn()
        won = self.wave == self.WAVES and not self.to_spawn and not self.enemies
        terminated = bool(won or self.lives <= 0)
        if won:
            reward += 10.0
        self.ended = terminated
        frame = self._render()
        if terminated and self.fault == "chw":
            frame = frame.transpose(2, 0, 1)  # the game-over screen is built channels-first
        return frame, reward, terminated, False, {}


class GoalReach(gym.Env):
    """A goal-conditioned point robot in the square [-1, 1]^2 (Gymnasium-robotics style).

    Dict observation: ``observation`` (Box(4), unbounded: position and velocity per step),
    ``achieved_goal`` (the position) and ``desired_goal`` (the target), both Box [-1, 1]^2.
    Action (Box [-1, 1]^2): acceleration; velocity decays by 0.8 a step; the walls stop
    the robot. Start and goal from ``self.np_random`` (at least 0.5 apart). Reward 1 when
    the robot comes within 0.1 of the goal, which ends the episode (terminated), else 0:
    sparse by design. The horizon is a TimeLimit. Stepping after the end pays 0.
    """

    RADIUS = 0.1

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Dict({
            "observation": spaces.Box(-np.inf, np.inf, (4,), np.float32),
            "achieved_goal": spaces.Box(-1.0, 1.0, (2,), np.float32),
            "desired_goal": spaces.Box(-1.0, 1.0, (2,), np.float32)})
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.fault = fault
        self.pos, self.vel = np.zeros(2), np.zeros(2)
        self.goal, self.start = np.ones(2) * 0.5, np.zeros(2)
        self.ended = self.pending = False

    def _obs(self) -> dict[str, np.ndarray]:
        vel = self.vel * 1000 if self.fault == "vel_mm" else self.vel
        achieved = self.start if self.fault == "achieved_stale" else self.pos
        return {"observation": np.concatenate([self.pos, vel]).astype(np.float32),
                "achieved_goal": achieved.astype(np.float32),
                "desired_goal": self.goal.astype(np.float32)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-0.9, 0.9, 2)
        self.goal = self.np_random.uniform(-0.9, 0.9, 2)
        while np.linalg.norm(self.goal - self.pos) < 0.5:
            self.goal = self.np_random.uniform(-0.9, 0.9, 2)
        self.vel, self.start = np.zeros(2), self.pos.copy()
        self.ended = self.pending = False
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self._obs(), 0.0, True, False, {}
        if self.pending:  # the faulty version: the success flag is read one step late
            self.ended = True
            return self._obs(), 0.0, True, False, {}
        a = np.clip(np.asarray(action, np.float64).reshape(-1)[:2], -1.0, 1.0)
        if self.fault == "log_effort":
            _ = math.log1p(-float(np.abs(a).max()))  # effort telemetry: log(0) at the bound
        self.vel = 0.8 * self.vel + 0.05 * a
        self.pos = self.pos + self.vel
        hit = np.abs(self.pos) > 1.0
        self.pos, self.vel[hit] = np.clip(self.pos, -1.0, 1.0), 0.0
        dist = float(np.linalg.norm(self.pos - self.goal))
        success = dist < self.RADIUS
        reward = 1.0 if success else 0.0
        if success and self.fault == "inverse_distance":
            reward = 1e-3 / dist ** 2  # a "precision" bonus without a cap
        terminated = success
        if success and self.fault == "late_terminal":
            terminated, self.pending = False, True
        self.ended = terminated
        return self._obs(), reward, terminated, False, {}


class CropSeason(gym.Env):
    """A 120-day growing season on one field, a step a day.

    Tuple observation: ``(day 0..120, soil moisture Box [0, 1], growth stage 0..4)``
    (seed, sprout, growing, mature, overripe; ten growth points a stage). Actions: 0 wait,
    1 irrigate (+0.3 moisture, -0.1), 2 fertilise (-0.2, growth x 1.5 for the season; a
    second dose does nothing, by design), 3 harvest: pays the stage's yield (0, 0, 2, 10, 3)
    and ends the episode (terminated; early termination by design). Rain (30% of days,
    +0.2) from ``self.np_random``; 0.05 evaporation a day; the crop grows on days with
    moisture in [0.3, 0.85]. The season's end is the env's own horizon (truncated).
    Stepping after a harvest pays 0.
    """

    SEASON, STAGE_LEN = 120, 10
    YIELD = (0.0, 0.0, 2.0, 10.0, 3.0)

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Tuple((
            spaces.Discrete(self.SEASON + 1), spaces.Box(0.0, 1.0, (1,), np.float32),
            spaces.Discrete(5)))
        self.action_space = spaces.Discrete(4)
        self.fault = fault
        self.day, self.moist, self.progress = 0, 0.5, 0.0
        self.fertilised = self.ended = self.dead = False

    def _stage(self) -> int:
        top = 5 if self.fault == "stage_overflow" else 4  # an "expired" stage never declared
        return min(int(self.progress // self.STAGE_LEN), top)

    def _obs(self) -> tuple[int, np.ndarray, int]:
        return (min(self.day, self.SEASON), np.array([self.moist], np.float32), self._stage())

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.day, self.moist, self.progress = 0, float(self.np_random.uniform(0.4, 0.6)), 0.0
        self.fertilised = self.ended = self.dead = False
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self._obs(), 0.0, True, False, {}
        a = int(action)
        reward = 0.0
        if a == 3:
            stage = self._stage()
            if not (self.fault == "unripe_not_terminal" and stage < 2):
                self.ended = True
                return self._obs(), self.YIELD[min(stage, 4)], True, False, {}
            self.dead, self.progress = True, 0.0  # ploughed under, but the season goes on
        elif a == 1:
            self.moist = min(1.0, self.moist + 0.3)
            reward -= 0.1
        elif a == 2 and not self.fertilised:
            self.fertilised = True
            reward -= 0.2
        rain = self.np_random.random() < 0.3
        self.moist = float(np.clip(self.moist + 0.2 * rain - 0.05, 0.0, 1.0))
        if not self.dead and 0.3 <= self.moist <= 0.85:
            self.progress += 1.5 if self.fertilised else 1.0
        if self.fault == "calendar_wraps":
            self.day = (self.day + 1) % self.SEASON  # the calendar rolls over instead
        else:
            self.day += 1
        truncated = self.day >= self.SEASON
        return self._obs(), reward, False, truncated, {}


# --------------------------------------------------------------------------- the set


FAULTS: dict[str, tuple[Callable[[], gym.Env], Category]] = {
    "elevator_car1_mirrors_car0": (lambda: Elevator(fault="car1_mirrors"),
                                   Category.ACTION_SPACE_DRIFT),
    "elevator_arrival_bonus_farm": (lambda: Elevator(fault="arrival_bonus"),
                                    Category.REWARD_HACKING),
    "elevator_queues_kept_on_cut": (lambda: Elevator(fault="kept_on_cut"),
                                    Category.RESET_LEAKAGE),
    "elevator_hall_display_freeze": (lambda: Elevator(fault="display_freeze"),
                                     Category.STALE_OBSERVATION),
    "elevator_double_board_negative": (lambda: Elevator(fault="double_board"),
                                       Category.API_CONTRACT),
    "reactor_temp_millikelvin": (lambda: Reactor(fault="millikelvin"), Category.OBS_SCALE),
    "reactor_lab_rng_offset": (lambda: Reactor(fault="lab_rng"),
                               Category.NONDETERMINISTIC_RESET),
    "reactor_cold_start_nan": (lambda: Reactor(fault="cold_nan"), Category.HARNESS_FAILURE),
    "reactor_drain_hang_after_runaway": (lambda: Reactor(fault="drain_hang"),
                                         Category.SILENT_TIMEOUT),
    "reactor_heater_lost_late": (lambda: Reactor(fault="heater_lost"),
                                 Category.ACTION_SPACE_DRIFT),
    "portfolio_year_end_terminated": (lambda: Portfolio(fault="year_end_terminated"),
                                      Category.SILENT_TIMEOUT),
    "portfolio_turnover_rebate_farm": (lambda: Portfolio(fault="rebate"),
                                       Category.REWARD_HACKING),
    "portfolio_broker_remap_late": (lambda: Portfolio(fault="remap"),
                                    Category.ACTION_SPACE_DRIFT),
    "portfolio_dividend_spike": (lambda: Portfolio(fault="dividend_bp"),
                                 Category.REWARD_ARTIFACT),
    "portfolio_returns_lagged": (lambda: Portfolio(fault="returns_lag"),
                                 Category.STALE_OBSERVATION),
    "tower_rebuild_bonus_farm": (lambda: TimeLimit(TowerDefense(fault="rebuild_bonus"), 400),
                                 Category.REWARD_HACKING),
    "tower_game_over_frame_chw": (lambda: TimeLimit(TowerDefense(fault="chw"), 400),
                                  Category.API_CONTRACT),
    "tower_lives_kept": (lambda: TimeLimit(TowerDefense(fault="lives_kept"), 400),
                         Category.RESET_LEAKAGE),
    "tower_no_end_latch": (lambda: TimeLimit(TowerDefense(fault="no_latch"), 400),
                           Category.DONE_SEMANTICS),
    "tower_global_random_hp": (lambda: TimeLimit(TowerDefense(fault="global_random"), 400),
                               Category.NONDETERMINISTIC_RESET),
    "goal_achieved_goal_stale": (lambda: TimeLimit(GoalReach(fault="achieved_stale"), 100),
                                 Category.STALE_OBSERVATION),
    "goal_terminal_one_step_late": (lambda: TimeLimit(GoalReach(fault="late_terminal"), 100),
                                    Category.DONE_SEMANTICS),
    "goal_effort_log_raises": (lambda: TimeLimit(GoalReach(fault="log_effort"), 100),
                               Category.HARNESS_FAILURE),
    "goal_inverse_distance_spike": (
        lambda: TimeLimit(GoalReach(fault="inverse_distance"), 100), Category.REWARD_ARTIFACT),
    "goal_velocity_mm": (lambda: TimeLimit(GoalReach(fault="vel_mm"), 100),
                         Category.OBS_SCALE),
    "crop_calendar_wraps": (lambda: CropSeason(fault="calendar_wraps"),
                            Category.SILENT_TIMEOUT),
    "crop_unripe_harvest_not_terminal": (lambda: CropSeason(fault="unripe_not_terminal"),
                                         Category.DONE_SEMANTICS),
    "crop_stage_overflow": (lambda: CropSeason(fault="stage_overflow"), Category.API_CONTRACT),
}
HEALTHY: dict[str, Callable[[], gym.Env]] = {
    "elevator_long_day_edges": lambda: Elevator(),
    "reactor_runaway_ends_early": lambda: Reactor(),
    "reactor_fine_grid_slow": lambda: Reactor(substeps=FINE_SUBSTEPS),
    "portfolio_seeded_market": lambda: Portfolio(),
    "tower_quantised_aliased": lambda: TimeLimit(TowerDefense(), 400),
    "tower_build_noop": lambda: TimeLimit(TowerDefense(), 400),
    "goal_sparse_dict": lambda: TimeLimit(GoalReach(), 100),
    "crop_harvest_early_tuple": lambda: CropSeason(),
}


# --------------------------------------------------------------------------- self-checks


_random_run = second_set._random_run
_same, _same_runs = first_set.same, first_set.same_runs
_fixed_actions, _episode_lengths = first_set.fixed_actions, first_set.episode_lengths










# ---- elevator

def _serve(lift: Elevator) -> np.ndarray:
    """Each car stops where people wait, else heads for the nearest call."""
    acts = []
    for f in lift.cars:
        calls = np.flatnonzero(lift.waiting > 0)
        if lift.waiting[f] > 0 or not len(calls):
            acts.append(1)
        else:
            target = calls[np.argmin(np.abs(calls - f))]
            acts.append(2 if target > f else 0)
    return np.array(acts)


def check_elevator_car1_mirrors_car0() -> str:
    outs = {}
    for name, make in (("fault", FAULTS["elevator_car1_mirrors_car0"][0]),
                       ("healthy", HEALTHY["elevator_long_day_edges"])):
        down = _fixed_actions(make(), 1, [np.array([1, 0])] * 6)
        up = _fixed_actions(make(), 1, [np.array([1, 2])] * 6)
        outs[name] = _same_runs(down, up)
    env = FAULTS["elevator_car1_mirrors_car0"][0]()
    env.reset(seed=1)
    env.unwrapped.cars = np.array([2, 2])
    follows = env.step(np.array([2, 0]))[0][:2] * 5
    assert outs["fault"] and not outs["healthy"] and list(follows) == [3, 3], (outs, follows)
    return ("car 1 commanded down or up for 6 steps: identical steps (healthy: they differ); "
            "car 1 follows car 0's command")


def check_elevator_arrival_bonus_farm() -> str:
    rets = {}
    for name, make in (("fault", FAULTS["elevator_arrival_bonus_farm"][0]),
                       ("healthy", HEALTHY["elevator_long_day_edges"])):
        for policy in ("bounce", "serve"):
            env = make()
            env.reset(seed=2)
            total = 0.0
            for t in range(1000):
                act = (np.array([2, 0]) if t % 2 == 0 else np.array([0, 2])) \
                    if policy == "bounce" else _serve(env.unwrapped)
                total += env.step(act)[1]
            rets[name, policy] = (total, int(env.unwrapped.waiting.sum()))
    farm, serve = rets["fault", "bounce"], rets["fault", "serve"]
    assert farm[0] > 2 * abs(serve[0]) + 200 and farm[1] > 5 * max(serve[1], 1), rets
    assert rets["healthy", "bounce"][0] < rets["healthy", "serve"][0], rets
    return (f"1000 steps of shuttling both cars without ever opening the doors (nobody boards, "
            f"{farm[1]} waiting at the end) return {farm[0]:.0f}; serving the calls "
            f"{serve[0]:.0f} (healthy shuttling: {rets['healthy', 'bounce'][0]:.0f})")


def check_elevator_queues_kept_on_cut() -> str:
    make = FAULTS["elevator_queues_kept_on_cut"][0]
    env = make()
    env.reset(seed=3)
    for _ in range(300):
        env.step(np.array([0, 0]))  # nobody boards; cut short by reset() 300 minutes in
    before = env.unwrapped.waiting.copy()
    cut = env.reset(seed=4)[0]
    fresh = make().reset(seed=4)[0]
    env2 = make()
    env2.reset(seed=3)
    for _ in range(Elevator.DAY):
        env2.step(np.array([0, 0]))
    natural = env2.reset(seed=4)[0]
    assert np.array_equal(cut[2:] * 10, before) and not np.array_equal(cut, fresh)
    assert np.array_equal(natural, fresh) and before.sum() > 3 * np.round(fresh[2:] * 10).sum()
    return (f"reset(seed=4) after a day cut short: the halls still hold {before.sum()} "
            f"waiting; a fresh env or after a full day: {np.round(fresh[2:] * 10).sum():.0f}")


def check_elevator_hall_display_freeze() -> str:
    env = FAULTS["elevator_hall_display_freeze"][0]()
    env.action_space.seed(5)
    env.reset(seed=5)
    shown, true, cars = [], [], []
    for _ in range(6000):
        obs, _, te, tr, _ = env.step(env.action_space.sample())
        shown.append(tuple(obs[2:]))
        true.append(tuple(env.unwrapped.waiting))
        cars.append(tuple(obs[:2]))
        if te or tr:
            env.reset()
    early, late = len(set(shown[:4000])), len(set(shown[4000:]))
    assert early > 50 and late == 1 and len(set(true[4000:])) > 50 and len(set(cars[4000:])) > 20
    return (f"the hall part of the obs takes {early} values in the env's first 4000 steps, then "
            f"one value for 2000 steps (true queues: {len(set(true[4000:]))} values); cars move")


def check_elevator_double_board_negative() -> str:
    make = FAULTS["elevator_double_board_negative"][0]
    space = make().observation_space
    steps = _random_run(make(), 6, 6000)
    bad = [i for i, (o, *_) in enumerate(steps) if o not in space]
    neg = all(steps[i][0][2:].min() < 0 for i in bad)
    healthy = _random_run(HEALTHY["elevator_long_day_edges"](), 6, 6000)
    assert 0 < len(bad) < 0.05 * len(steps) and neg and all(o in space for o, *_ in healthy)
    return (f"{len(bad)} of 6000 random-step obs have a negative queue (both cars boarding the "
            f"same floor), outside Box [0, 1]; the first at step {bad[0]}; healthy all in space")


# ---- reactor

def check_reactor_temp_millikelvin() -> str:
    steps = _random_run(FAULTS["reactor_temp_millikelvin"][0](), 7, 2000)
    scale = np.median(np.abs(np.array([o for o, *_ in steps])), axis=0)
    healthy = np.abs(np.array([o for o, *_ in _random_run(HEALTHY["reactor_runaway_ends_early"](),
                                                          7, 2000)]))
    assert scale[0] > 1e5 and max(scale[1:]) < 2 and healthy.max() < 2, scale
    return (f"median |obs| per dim {[round(float(x), 2) for x in scale]}: temperature in mK "
            f"next to values near 1 (healthy obs all below 2)")


def check_reactor_lab_rng_offset() -> str:
    make = FAULTS["reactor_lab_rng_offset"][0]
    acts = [np.array([0.3, 0.6], np.float32)] * 20
    a, b = _fixed_actions(make(), 8, acts), _fixed_actions(make(), 8, acts)
    starts = {float(make().reset(seed=8)[0][0]) for _ in range(5)}
    healthy = [_fixed_actions(HEALTHY["reactor_runaway_ends_early"](), 8, acts) for _ in range(2)]
    assert not _same_runs(a, b) and _same_runs(*healthy) and len(starts) == 5
    spread = (max(starts) - min(starts)) * 400
    return (f"reset(seed=8) on 5 fresh envs: 5 start temperatures ({spread:.1f} K apart); the "
            f"same 20 actions then differ; healthy runs agree")


def check_reactor_cold_start_nan() -> str:
    make = FAULTS["reactor_cold_start_nan"][0]
    cold, nan_cold, nan_warm = 0, 0, 0
    for seed in range(100):
        env = make()
        start = float(env.reset(seed=seed)[0][0]) * 400
        nan = not np.isfinite(env.step(np.array([0.5, 0.5], np.float32))[0]).all()
        cold += start < Reactor.T_GEL
        nan_cold += nan and start < Reactor.T_GEL
        nan_warm += nan and start >= Reactor.T_GEL + 1
    env = make()
    env.reset(seed=9)
    cooled = [env.step(np.array([1.0, 0.0], np.float32))[0] for _ in range(60)]
    first = next(i for i, o in enumerate(cooled) if not np.isfinite(o).all())
    h = HEALTHY["reactor_runaway_ends_early"]()
    h_ok = all(np.isfinite(h.reset(seed=s)[0]).all() and
               np.isfinite(h.step(np.array([1.0, 0.0], np.float32))[0]).all()
               for s in range(100))
    assert cold and nan_cold == cold and not nan_warm and first > 3 and h_ok
    return (f"{nan_cold} of 100 batches start below 301 K and return NaN obs on their first "
            f"step; full cooling from a warm start gives NaN at step {first + 1}; healthy finite")


def check_reactor_drain_hang_after_runaway() -> str:
    env = FAULTS["reactor_drain_hang_after_runaway"][0]()
    saved = dict(_DRAIN)
    _DRAIN.update(stalls=0)
    try:
        env.reset(seed=10)
        n = 0
        while not env.step(np.array([0.0, 1.0], np.float32))[2]:  # heater only: runaway
            n += 1
        t0 = time.perf_counter()
        env.reset(seed=11)
        hang = time.perf_counter() - t0
        for _ in range(Reactor.HORIZON):
            env.step(np.array([1.0, 1.0], np.float32))  # a batch that runs to its end
        t0 = time.perf_counter()
        env.reset(seed=12)
        calm = time.perf_counter() - t0
    finally:
        _DRAIN.clear()
        _DRAIN.update(saved)  # the scoring pass gets the full stall budget
    assert hang > 0.35 and calm < 0.01, (hang, calm)
    return (f"reset() after a runaway (step {n + 1}) blocks {hang:.2f} s, after a batch that ran "
            f"to its end {calm * 1e6:.0f} us; at most 5 stalls per process, nothing reported")


def check_reactor_heater_lost_late() -> str:
    def next_obs(make: Callable[[], gym.Env], warmup: int, heat: float) -> np.ndarray:
        env = make()
        env.reset(seed=13)
        for _ in range(warmup):
            assert not env.step(np.array([0.8, 0.2], np.float32))[2]
        return env.step(np.array([0.5, heat], np.float32))[0]
    make = FAULTS["reactor_heater_lost_late"][0]
    healthy = HEALTHY["reactor_runaway_ends_early"]
    late_same = np.array_equal(next_obs(make, 80, 1.0), next_obs(make, 80, 0.0))
    early_same = np.array_equal(next_obs(make, 20, 1.0), next_obs(make, 20, 0.0))
    h_same = np.array_equal(next_obs(healthy, 80, 1.0), next_obs(healthy, 80, 0.0))
    assert late_same and not early_same and not h_same
    return ("from step 60 of a batch, heater 1.0 and 0.0 give the same next obs (before: they "
            "differ; healthy: they differ)")


# ---- portfolio

def check_portfolio_year_end_terminated() -> str:
    eps = _episode_lengths(_random_run(FAULTS["portfolio_year_end_terminated"][0](), 14, 756))
    h_eps = _episode_lengths(_random_run(HEALTHY["portfolio_seeded_market"](), 14, 756))
    assert eps == [(252, True, False)] * 3 and h_eps == [(252, False, True)] * 3, eps
    return "every year ends at step 252 with terminated=True (the day is not observed)"


def check_portfolio_turnover_rebate_farm() -> str:
    rets = {}
    for name, make in (("fault", FAULTS["portfolio_turnover_rebate_farm"][0]),
                       ("healthy", HEALTHY["portfolio_seeded_market"])):
        for policy in ("churn", "hold"):
            env = make()
            env.reset(seed=15)
            total = 0.0
            for t in range(Portfolio.YEAR):
                a = [1, 0, 0, 0] if policy == "churn" and t % 2 else [0, 0, 1, 0]
                if policy == "churn" and not t % 2:
                    a = [0, 0, 0, 1]
                total += env.step(np.array(a, np.float32))[1]
            rets[name, policy] = total
    assert rets["fault", "churn"] > 80 and rets["fault", "churn"] > 2 * abs(rets["fault", "hold"])
    assert rets["healthy", "churn"] < -80, rets
    return (f"a year of switching all-in / all-cash every day returns "
            f"{rets['fault', 'churn']:.0f} (holding the best stock {rets['fault', 'hold']:.0f}; "
            f"healthy churning {rets['healthy', 'churn']:.0f})")


def _weights_after(make: Callable[[], gym.Env], warmup: int) -> np.ndarray:
    env = make()
    env.action_space.seed(16)
    env.reset(seed=16)
    for _ in range(warmup):
        if env.step(env.action_space.sample())[3]:
            env.reset()
    return env.step(np.array([1, 0, 0, 0], np.float32))[0][3:7]


def check_portfolio_broker_remap_late() -> str:
    make = FAULTS["portfolio_broker_remap_late"][0]
    early, late = _weights_after(make, 2000), _weights_after(make, 3100)
    healthy = _weights_after(HEALTHY["portfolio_seeded_market"], 3100)
    assert early[0] > 0.95 and late[1] > 0.95 and healthy[0] > 0.95, (early, late, healthy)
    return ("all-in on stock 0: held as stock 0 for the env's first 3000 steps, as stock 1 "
            f"after (weights {np.round(late, 2).tolist()}); healthy keeps stock 0")


def check_portfolio_dividend_spike() -> str:
    steps = _random_run(FAULTS["portfolio_dividend_spike"][0](), 17, 1008)
    big = [i + 1 for i, (_, r, _, _) in enumerate(steps) if abs(r) > 10]
    healthy = _random_run(HEALTHY["portfolio_seeded_market"](), 17, 1008)
    h_max = max(abs(r) for _, r, _, _ in healthy)
    assert big and all(i % 63 == 0 for i in big) and len(big) >= 12 and h_max < 10, big
    peak = max(r for _, r, _, _ in steps)
    return (f"{len(big)} of 16 dividend days pay up to {peak:.0f} (other days and healthy: "
            f"|r| < {h_max:.1f})")


def check_portfolio_returns_lagged() -> str:
    fits = {}
    for name, make in (("fault", FAULTS["portfolio_returns_lagged"][0]),
                       ("healthy", HEALTHY["portfolio_seeded_market"])):
        env = make()
        env.action_space.seed(18)
        env.reset(seed=18)
        lag = now = 0
        prev = np.zeros(3)
        for _ in range(200):
            obs = env.step(env.action_space.sample())[0]
            ret = env.unwrapped.ret
            now += np.allclose(obs[:3], np.clip(10 * ret, -1, 1), atol=1e-6)
            lag += np.allclose(obs[:3], np.clip(10 * prev, -1, 1), atol=1e-6)
            prev = ret
        fits[name] = (now, lag)
    assert fits["fault"] == (0, 200) and fits["healthy"] == (200, 0), fits
    return ("200 steps: the returns in the obs are the previous day's every time (healthy: "
            "today's); the weights part is current")


# ---- tower defense

def _play(env: gym.Env, seed: int) -> tuple[float, int, bool]:
    """Random play to the end of one episode: (return, length, won)."""
    env.action_space.seed(seed)
    env.reset(seed=seed)
    total, n = 0.0, 0
    while True:
        _, r, te, tr, _ = env.step(env.action_space.sample())
        total, n = total + r, n + 1
        if te or tr:
            return total, n, bool(env.unwrapped.lives > 0)


def check_tower_rebuild_bonus_farm() -> str:
    runs = {}
    for name, make in (("fault", FAULTS["tower_rebuild_bonus_farm"][0]),
                       ("healthy", HEALTHY["tower_build_noop"])):
        env = make()
        env.reset(seed=19)
        out = []
        while True:
            step = env.step(1)  # build on slot 1, then keep pressing it
            out.append(step[:4])
            if step[2] or step[3]:
                break
        runs[name] = out
    frames = all(_same(a[0], b[0]) for a, b in zip(runs["fault"], runs["healthy"], strict=True))
    diff = [a[1] - b[1] for a, b in zip(runs["fault"], runs["healthy"], strict=True)]
    assert frames and diff[0] == 0 and all(d == 1.0 for d in diff[1:]), diff[:5]
    return (f"pressing 'build on slot 1' each step of a {len(diff)}-step game: the same frames "
            f"as the healthy game, +1 reward on every step after the first (+{sum(diff):.0f})")


def check_tower_game_over_frame_chw() -> str:
    make = FAULTS["tower_game_over_frame_chw"][0]
    steps = _random_run(make(), 20, 6000)
    space = make().observation_space
    term = [o.shape for o, _, te, _ in steps if te]
    other = [o for o, _, te, _ in steps if not te]
    wins = sum(r >= 10 for _, r, _, _ in steps)
    assert term and all(s == (1, 12, 12) for s in term) and all(o in space for o in other)
    return (f"all {len(term)} game-over frames ({wins} wins, {len(term) - wins} losses) have "
            f"shape (1, 12, 12); every other frame (12, 12, 1) in space")


def check_tower_lives_kept() -> str:
    eps = _episode_lengths(_random_run(FAULTS["tower_lives_kept"][0](), 21, 2000))
    h_eps = _episode_lengths(_random_run(HEALTHY["tower_quantised_aliased"](), 21, 2000))
    first_one = next(i for i, (n, *_) in enumerate(eps) if n == 1)
    assert first_one >= 1 and all(n == 1 for n, *_ in eps[first_one:]) and len(eps) > 20
    assert min(n for n, *_ in h_eps) > 100
    return (f"after the first lost game (episode {first_one}), every episode ends on its first "
            f"step with lives still at 0 ({len(eps) - first_one} of them); healthy episodes "
            f"last {min(n for n, *_ in h_eps)}+ steps")


def check_tower_no_end_latch() -> str:
    after = {}
    for name, make in (("fault", FAULTS["tower_no_end_latch"][0]),
                       ("healthy", HEALTHY["tower_quantised_aliased"])):
        rewards = []
        for seed in (22, 23, 24, 25, 26, 27):
            env = make()
            _play(env, seed)
            rewards += [env.step(0)[1] for _ in range(20)]
        after[name] = rewards
    assert any(after["fault"]) and not any(after["healthy"]), after
    paid = sum(r != 0 for r in after["fault"])
    return (f"20 steps after each of 6 game ends: {paid} of 120 pay (total "
            f"{sum(after['fault']):.0f}, won games pay +10 again each step); healthy pay 0")


def check_tower_global_random_hp() -> str:
    make = FAULTS["tower_global_random_hp"][0]
    acts = [t % 5 for t in range(190)]
    a, b = _fixed_actions(make(), 28, acts), _fixed_actions(make(), 28, acts)
    first = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if not _same_runs([x], [y]))
    healthy = [_fixed_actions(HEALTHY["tower_quantised_aliased"](), 28, acts) for _ in range(2)]
    assert first >= 70 and _same_runs(*healthy), first
    return (f"reset(seed=28) + the same actions on two fresh envs: identical through three "
            f"waves, different from step {first + 1} (wave 4's hit points); healthy runs agree")


def check_tower_quantised_aliased() -> str:
    make = HEALTHY["tower_quantised_aliased"]
    r1, r2 = _random_run(make(), 29, 4000), _random_run(make(), 29, 4000)
    space = make().observation_space
    rewards = {r for _, r, _, _ in r1}
    assert _same_runs(r1, r2) and all(o in space for o, *_ in r1)
    assert all(float(r).is_integer() for r in rewards)
    env = make()
    env.reset(seed=29)
    seen: dict[bytes, set] = {}
    for _ in range(150):
        obs = env.step(0 if env.unwrapped.gold < 4 else 1)[0]
        seen.setdefault(obs.tobytes(), set()).add((env.unwrapped.t, env.unwrapped.wave))
    aliased = sum(len(v) > 1 for v in seen.values())
    eps = _episode_lengths(r1)
    assert aliased
    return (f"rewards are integers {sorted(rewards)}; {aliased} frames seen at different "
            f"(step, wave) states; {len(eps)} games; seeded waves reproduce; frames in space")


def check_tower_build_noop() -> str:
    make = HEALTHY["tower_build_noop"]
    same = 0
    for seed in range(30, 40):
        runs = []
        for second in (0, 1, 2):  # wait; build on the taken slot; build with no gold left
            runs.append(_fixed_actions(make(), seed, [1, second, 0, 0]))
        same += _same_runs(runs[0], runs[1]) and _same_runs(runs[0], runs[2])
    r1 = _random_run(make(), 30, 2000)
    assert same == 10 and _same_runs(r1, _random_run(make(), 30, 2000))
    return ("after building on slot 1 (gold 0), 'build slot 1' and 'build slot 2' equal "
            "'wait' in 10 of 10 games; seeded games reproduce")


# ---- goal reach

def _homing(obs: dict[str, np.ndarray]) -> np.ndarray:
    pos, vel, goal = obs["observation"][:2], obs["observation"][2:], obs["desired_goal"]
    return np.clip(4 * (goal - pos) - 8 * vel, -0.99, 0.99).astype(np.float32)


def _homing_episodes(env: gym.Env, seeds: range) -> list[list[tuple]]:
    out = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        ep = []
        while True:
            obs, r, te, tr, _ = env.step(_homing(obs))
            ep.append((obs, r, te, tr))
            if te or tr:
                break
        out.append(ep)
    return out


def check_goal_achieved_goal_stale() -> str:
    env = FAULTS["goal_achieved_goal_stale"][0]()
    stuck = moved = 0
    for ep in _homing_episodes(env, range(40, 50)):
        ach = {o["achieved_goal"].tobytes() for o, *_ in ep}
        stuck += len(ach) == 1
        moved += len({o["observation"][:2].tobytes() for o, *_ in ep}) > 5
    h = _homing_episodes(HEALTHY["goal_sparse_dict"](), range(40, 50))
    h_ok = all(np.array_equal(o["achieved_goal"], o["observation"][:2]) for ep in h
               for o, *_ in ep)
    assert stuck == 10 and moved == 10 and h_ok
    return ("10 of 10 episodes: achieved_goal keeps the start position while the robot "
            "moves; healthy achieved_goal = position")


def check_goal_terminal_one_step_late() -> str:
    env = FAULTS["goal_terminal_one_step_late"][0]()
    late = 0
    for seed in range(50, 70):
        obs, _ = env.reset(seed=seed)
        hist = []
        while True:
            obs, r, te, tr, _ = env.step(_homing(obs))
            hist.append((r, te))
            if te or tr:
                break
        if any(r == 1.0 for r, _ in hist):
            assert hist[-2] == (1.0, False) and hist[-1] == (0.0, True), hist[-3:]
            late += 1
    h = _homing_episodes(HEALTHY["goal_sparse_dict"](), range(50, 70))
    assert late >= 15 and all(ep[-1][1] == 1.0 and ep[-1][2] for ep in h if ep[-1][1])
    return (f"{late} of 20 homing episodes: the goal step pays 1 with terminated=False, the "
            f"next step ends the episode with 0 whatever the action; healthy ends on the goal")


def check_goal_effort_log_raises() -> str:
    make = FAULTS["goal_effort_log_raises"][0]
    env = make()
    env.reset(seed=60)
    env.step(np.array([0.999, -0.5], np.float32))
    try:
        env.step(np.array([1.0, 0.0], np.float32))
        raised = ""
    except ValueError as exc:
        raised = str(exc)
    h = HEALTHY["goal_sparse_dict"]()
    h.reset(seed=60)
    h.step(np.array([1.0, -1.0], np.float32))
    steps = _random_run(make(), 60, 2000)
    assert raised and len(steps) == 2000
    return (f"the in-bounds action [1, 0] raises ValueError('{raised}'); 2000 random "
            f"(interior) actions and the healthy env's bound actions step fine")


def check_goal_inverse_distance_spike() -> str:
    def near_goal(make: Callable[[], gym.Env], offset: float) -> float:
        env = make()
        env.reset(seed=61)
        bot = env.unwrapped
        bot.pos, bot.vel = bot.goal + np.array([offset, 0.0]), np.zeros(2)
        return env.step(np.zeros(2, np.float32))[1]
    spike = near_goal(FAULTS["goal_inverse_distance_spike"][0], 0.001)
    edge = near_goal(FAULTS["goal_inverse_distance_spike"][0], 0.09)
    healthy = {near_goal(HEALTHY["goal_sparse_dict"], d) for d in (0.001, 0.09)}
    eps = _homing_episodes(FAULTS["goal_inverse_distance_spike"][0](), range(70, 110))
    paid = [ep[-1][1] for ep in eps if ep[-1][2]]
    assert spike > 500 and edge < 0.2 and healthy == {1.0} and len(set(paid)) > 5
    return (f"reaching the goal pays 1e-3 / distance^2: {edge:.2f} at 0.09, {spike:.0f} at "
            f"0.001 (healthy: 1); homing successes pay {min(paid):.2f}-{max(paid):.1f}")


def check_goal_velocity_mm() -> str:
    steps = _random_run(FAULTS["goal_velocity_mm"][0](), 62, 2000)
    obs = np.abs(np.array([o["observation"] for o, *_ in steps]))
    scale = np.median(obs, axis=0)
    h = _random_run(HEALTHY["goal_sparse_dict"](), 62, 2000)
    h_max = np.abs(np.array([o["observation"] for o, *_ in h])).max()
    assert min(scale[2:]) > 20 * max(scale[:2]) and h_max <= 1.0, scale
    return (f"median |observation| per dim {[round(float(x), 2) for x in scale]}: velocity in "
            f"mm/step next to positions in m (healthy all within 1)")


def check_goal_sparse_dict() -> str:
    make = HEALTHY["goal_sparse_dict"]
    r1, r2 = _random_run(make(), 63, 5000), _random_run(make(), 63, 5000)
    space = make().observation_space
    eps = _episode_lengths(r1)
    wins = [r for _, r, te, _ in r1 if te]
    assert _same_runs(r1, r2) and all(o in space for o, *_ in r1)
    assert all(r == 0.0 for _, r, te, _ in r1 if not te) and wins and set(wins) == {1.0}
    homed = _homing_episodes(make(), range(63, 73))
    assert all(ep[-1][2] and ep[-1][1] == 1.0 for ep in homed)
    return (f"random play: {len(wins)} successes in {len(eps)} episodes (reward 1 only there, "
            f"0 elsewhere); a homing policy succeeds 10 of 10; Dict obs in space; seeded")


# ---- crop season

def check_crop_calendar_wraps() -> str:
    env = FAULTS["crop_calendar_wraps"][0]()
    env.reset(seed=64)
    days, ends = [], 0
    for _ in range(1000):
        obs, _, te, tr, _ = env.step(0)  # wait, never harvest
        days.append(obs[0])
        ends += te or tr
    h = HEALTHY["crop_harvest_early_tuple"]()
    h.reset(seed=64)
    h_end = next(i for i in range(1000) if h.step(0)[3]) + 1
    assert ends == 0 and max(days) == 119 and days.count(0) >= 8 and h_end == 120
    return ("1000 days of waiting: no end reported, the day counter rolls 119 -> 0 "
            f"({days.count(0)} times); healthy season truncates at day {h_end}")


def check_crop_unripe_harvest_not_terminal() -> str:
    env = FAULTS["crop_unripe_harvest_not_terminal"][0]()
    env.reset(seed=65)
    first = env.step(3)
    rest = []
    while True:
        step = env.step(0 if len(rest) % 3 else 1)
        rest.append(step)
        if step[2] or step[3]:
            break
    stages = {s[0][2] for s in rest}
    h = HEALTHY["crop_harvest_early_tuple"]()
    h.reset(seed=65)
    assert not first[2] and first[1] == 0.0 and stages == {0} and h.step(3)[2]
    assert all(s[1] <= 0 for s in rest) and rest[-1][3] and len(rest) == 119
    return ("harvesting a seedling clears the field with terminated=False; 119 more days "
            "follow in which nothing grows (stage 0, no reward); healthy: terminated")


def check_crop_stage_overflow() -> str:
    make = FAULTS["crop_stage_overflow"][0]
    space = make().observation_space
    env = make()
    env.reset(seed=66)
    bad = [i for i in range(120) if env.step(0)[0] not in space]
    steps = _random_run(make(), 66, 3000)
    h = HEALTHY["crop_harvest_early_tuple"]()
    h.reset(seed=66)
    h_ok = all(h.step(0)[0] in space for _ in range(120))
    assert bad and bad[0] > 30 and all(o in space for o, *_ in steps) and h_ok
    return (f"a crop left unharvested reaches stage 5 (outside Discrete(5)) on day {bad[0] + 1}"
            f" and stays there; random play (early harvests) and healthy stay in space")


def check_crop_harvest_early_tuple() -> str:
    make = HEALTHY["crop_harvest_early_tuple"]
    r1, r2, r3 = (_random_run(make(), 67, 3000), _random_run(make(), 67, 3000),
                  _random_run(make(), 68, 3000))
    space = make().observation_space
    eps = _episode_lengths(r1)
    assert _same_runs(r1, r2) and not _same_runs(r1, r3) and all(o in space for o, *_ in r1)
    assert all(te and not tr for _, te, tr in eps) and max(n for n, *_ in eps) < 120
    twice = [_fixed_actions(make(), 69, [2, a, 0]) for a in (2, 0)]
    assert _same_runs(*twice)
    env = make()
    obs, _ = env.reset(seed=69)
    while obs[2] < 3:
        obs = env.step(0)[0]  # wait for a mature crop, then harvest it
    mature = env.step(3)[1:3]
    assert mature == (10.0, True)
    return (f"{len(eps)} random seasons all end by an early harvest (terminated) within "
            f"{max(n for n, *_ in eps)} days; waiting to maturity (day {obs[0]}) pays 10; a "
            f"second fertilise = wait; Tuple obs in space; seeded rain reproduces")


def check_elevator_long_day_edges() -> str:
    make = HEALTHY["elevator_long_day_edges"]
    r1, r2 = _random_run(make(), 70, 3000), _random_run(make(), 70, 3000)
    space = make().observation_space
    eps = _episode_lengths(r1)
    assert eps == [(1440, False, True)] * 2 and _same_runs(r1, r2)
    assert all(o in space for o, *_ in r1)
    env = make()
    env.reset(seed=71)
    lift = env.unwrapped
    lift.cars = np.array([5, 0])
    before = lift.waiting.copy()
    obs, r, *_ = env.step(np.array([2, 0]))  # up at the top, down at the bottom
    assert list(lift.cars) == [5, 0] and (lift.waiting >= before).all()
    assert math.isclose(r, -0.01 * lift.waiting.sum())
    return ("no TimeLimit: the env's own day ends at step 1440 with truncated=True; up at the "
            "top floor and down at the bottom do nothing; seeded arrivals reproduce")


def check_reactor_runaway_ends_early() -> str:
    make = HEALTHY["reactor_runaway_ends_early"]
    r1, r2 = _random_run(make(), 72, 6000), _random_run(make(), 72, 6000)
    eps = _episode_lengths(r1)
    runaways = [n for n, te, _ in eps if te]
    assert _same_runs(r1, r2) and runaways and all(np.isfinite(o).all() for o, *_ in r1)
    assert all(n == Reactor.HORIZON for n, te, _ in eps if not te)
    assert all(r < -10 for _, r, te, _ in r1 if te)
    env = make()
    env.reset(seed=73)
    while not env.step(np.array([0.0, 1.0], np.float32))[2]:
        pass
    after = [env.step(np.array([0.5, 0.5], np.float32))[1:3] for _ in range(2)]
    assert after == [(0.0, True)] * 2
    return (f"{len(runaways)} of {len(eps)} random batches run away (terminated, -20, "
            f"{min(runaways)}-{max(runaways)} steps), the rest truncated at 200; seeded")


def check_reactor_fine_grid_slow() -> str:
    make = HEALTHY["reactor_fine_grid_slow"]
    acts = [np.array([0.8, 0.2], np.float32)] * 12
    env = make()
    env.reset(seed=74)
    t0 = time.perf_counter()
    fine = [env.step(a)[:4] for a in acts]
    per_step = (time.perf_counter() - t0) / len(acts)
    again = _fixed_actions(make(), 74, acts)
    coarse = _fixed_actions(HEALTHY["reactor_runaway_ends_early"](), 74, acts)
    close = max(float(np.abs(f[0] - c[0]).max()) for f, c in zip(fine, coarse, strict=True))
    assert 0.002 < per_step < 0.05 and _same_runs(fine, again) and close < 0.01, per_step
    return (f"{per_step * 1e3:.1f} ms a step ({FINE_SUBSTEPS} Euler sub-steps, no sleep); "
            f"agrees with the 10-sub-step model within {close:.4f}; seeded, finite")


def check_portfolio_seeded_market() -> str:
    make = HEALTHY["portfolio_seeded_market"]
    r1, r2, r3 = (_random_run(make(), 75, 1000), _random_run(make(), 75, 1000),
                  _random_run(make(), 76, 1000))
    space = make().observation_space
    assert _same_runs(r1, r2) and not _same_runs(r1, r3) and all(o in space for o, *_ in r1)
    rewards = np.array([r for _, r, _, _ in r1])
    return (f"same seed -> same market, another seed differs; rewards {rewards.min():.1f} to "
            f"{rewards.max():.1f}, obs in space; years truncate at 252")


SELF_CHECKS: dict[str, Callable[[], str]] = {
    name: globals()[f"check_{name}"] for name in (*FAULTS, *HEALTHY)
}


def main() -> int:
    return first_set.run_checked_set(FAULTS, HEALTHY, SELF_CHECKS)


if __name__ == "__main__":
    sys.exit(main())
