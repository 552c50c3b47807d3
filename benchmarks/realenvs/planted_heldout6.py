"""Sixth held-out planted set for issue #15: written blind to rlvet's checks, scored once.

New bases, none in ``tests/envcheck/planted.py``, ``envcheck/catalog.py`` or the earlier
held-out sets: an irrigation network whose three valves form a MultiDiscrete action, a
text adventure (escape a house) with a Dict observation holding a Text description, a
ride-hailing dispatcher with a Dict observation and its own shift horizon, a one-player
paddle game on a small uint8 image, a battery doing energy arbitrage (Box(1) action, a
28-day horizon of its own), and a 3x3 lights-out puzzle with a MultiBinary action (one
healthy variant has a Tuple observation). One planted fault per faulty env, at several
strengths and onsets (from the first step, after N steps of an episode or of the env's
life, on rare or terminal transitions only, only after an episode cut short by reset()),
plus healthy envs whose task properties (a sparse goal, quantised rewards, aliased
observations, early termination by design, a long built-in horizon, seeded stochasticity,
an action that does nothing in some states, Text / Dict / Tuple observations, a
MultiBinary action) must not be errors. Expected categories were fixed before any rlvet
run and chosen from the fault class, not from how rlvet detects it.

Every env has a self-check (``SELF_CHECKS``) that shows, without rlvet, that the fault
exists (faulty envs) or that the property works and the env is otherwise correct (healthy
envs); they run first and the rlvet pass is skipped if one fails. The table and summary
come from ``planted_heldout.run_set`` (the first set's runner), pointed at this set's envs.

Usage: .venv/bin/python benchmarks/realenvs/planted_heldout6.py [--self-check-only]
"""

from __future__ import annotations

import math
import string
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
import planted_heldout2 as second_set  # noqa: E402  (its random-run helper, reused)

CHARSET = string.ascii_letters + string.digits + " .,'"


# --------------------------------------------------------------------------- bases


class Irrigation(gym.Env):
    """A reservoir feeding three fields through three valves, one step per hour.

    Action (MultiDiscrete [3, 3, 3]): each valve closed, half or fully open (0, 0.03, 0.06
    of the reservoir per step; a low reservoir shares what is left pro rata). Observation
    (Box, float32): ``[reservoir fill fraction, moisture of fields 1..3]`` (fractions; the
    reservoir bound is open above). Fields lose 0.02 per step to the crop; rain (20% of
    steps, 0.05-0.25) refills the reservoir, from ``self.np_random``. Reward: the share of
    fields inside the 0.4-0.8 moisture band, on a 1/3 grid by design. A continuing task:
    the horizon is a TimeLimit.
    """

    FLOW = np.array([0.0, 0.03, 0.06])
    EVAP, LITRES = 0.02, 200_000.0

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(
            np.zeros(4, np.float32), np.array([np.inf, 1, 1, 1], np.float32), dtype=np.float32)
        self.action_space = spaces.MultiDiscrete([3, 3, 3])
        self.fault = fault
        self.res = 1.0
        self.moist = np.full(3, 0.5)

    def _obs(self) -> np.ndarray:
        res = self.res * self.LITRES if self.fault == "litres" else self.res
        return np.array([res, *self.moist], np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        if self.fault == "seed_zero":
            seed = seed or None  # a truthiness test: seed=0 reads as "no seed"
        super().reset(seed=seed)
        self.res = float(self.np_random.uniform(0.5, 1.0))
        self.moist = self.np_random.uniform(0.3, 0.7, 3)
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        a = np.asarray(action, np.int64).reshape(3).copy()
        if self.fault == "valve_dead":
            a[2] = 0  # valve 3's actuator is not wired: the field gets nothing
        if self.fault == "solver" and (a == 2).all() and self.res < 0.1:
            raise FloatingPointError("pressure solver: singular head matrix")
        want = self.FLOW[a]
        total = float(want.sum())
        flow = want * min(1.0, self.res / total) if total > 0 else want
        self.res = max(self.res - float(flow.sum()), 0.0)
        wet, amount = self.np_random.random(), self.np_random.uniform(0.05, 0.25)
        if wet < 0.2:
            self.res = min(self.res + float(amount), 1.0)
        self.moist = np.clip(self.moist + flow - self.EVAP, 0.0, 1.0)
        in_band = int(((self.moist >= 0.4) & (self.moist <= 0.8)).sum())
        return self._obs(), in_band / 3.0, False, False, {}


class Escape(gym.Env):
    """A text adventure: escape a six-room house (two rows of three rooms).

    Rooms: 0 hall (with the front door), 3 kitchen, 5 study, 1, 2 and 4 identical bare
    corridors. A brass key lies in a random room (``self.np_random``). Actions: north,
    south, east, west, take, drop, open; walking into a wall, taking where no key is, or
    opening anywhere but the hall without the key does nothing (by design). Observation
    (Dict): ``text``, the room's description (Text over letters, digits and `` .,'``), and
    ``carrying`` (Discrete(2)). Reward: +0.1 the first time the key is taken in an episode,
    +1 for leaving the hall westward through the opened door, which ends the episode
    (terminated; sparse goal by design). The corridors read alike (aliased by design). With
    ``dark=True`` every room but the hall reads "It is too dark to see." Stepping after the
    end is accepted and pays 0.
    """

    TEXT = ("You are in the hall.", "A bare corridor.", "A bare corridor.",
            "A cold kitchen.", "A bare corridor.", "A dusty study.")
    MOVES = ((-1, 0), (1, 0), (0, 1), (0, -1))  # north, south, east, west as (row, col)
    TAKE, DROP, OPEN = 4, 5, 6
    FREEZE_AFTER = 500

    def __init__(self, *, fault: str = "", dark: bool = False) -> None:
        self.observation_space = spaces.Dict({
            "text": spaces.Text(120, min_length=1, charset=CHARSET),
            "carrying": spaces.Discrete(2)})
        self.action_space = spaces.Discrete(7)
        self.fault, self.dark = fault, dark
        self.room, self.key_room = 0, 1
        self.carrying = self.taken = self.unlocked = self.outside = False
        self.ended = self.pending = False
        self.lifetime = 0
        self.cache: str | None = None

    def describe(self) -> str:
        if self.outside:
            return "You are outside. The air is fresh."
        if self.dark and self.room != 0:
            return "It is too dark to see."
        text = self.TEXT[self.room]
        if self.room == 0:
            text += " The front door is open." if self.unlocked else " The front door is locked."
        if self.key_room == self.room:
            text += " A brass key lies here."
        return text

    def _obs(self, note: str = "") -> dict[str, Any]:
        text = self.describe() + note
        if self.fault == "text_cache" and self.lifetime > self.FREEZE_AFTER:
            if self.cache is None:
                self.cache = text
            text = self.cache  # the description cache stops refreshing
        return {"text": text, "carrying": int(self.carrying)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.room = 0
        self.key_room = int(self.np_random.integers(1, 6))
        self.carrying = self.taken = self.outside = self.ended = self.pending = False
        if self.fault != "door_kept":
            self.unlocked = False  # the faulty version never locks the door again
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self._obs(), 0.0, True, False, {}
        if self.pending:  # the faulty version: the escape is reported one step late
            self.ended = True
            return self._obs(), 0.0, True, False, {}
        a = int(action)
        self.lifetime += 1
        reward, terminated, note = 0.0, False, ""
        if a < 4:
            if a == 3 and self.room == 0 and self.unlocked:
                self.outside, reward, terminated = True, 1.0, True
            else:
                row, col = divmod(self.room, 3)
                row, col = row + self.MOVES[a][0], col + self.MOVES[a][1]
                if 0 <= row < 2 and 0 <= col < 3:
                    self.room = 3 * row + col
        elif a == self.TAKE:
            if self.key_room == self.room:
                self.carrying, self.key_room = True, -1
                if not self.taken or self.fault == "take_farm":
                    reward = 0.1  # the faulty version pays every pick-up
                self.taken = True
        elif a == self.DROP:
            if self.carrying:
                self.carrying, self.key_room = False, self.room
                if self.fault == "em_dash":
                    note = " You drop the key \u2014 it clatters."
        elif self.room == 0 and self.carrying:
            self.unlocked = True
        if terminated and self.fault == "exit_late":
            terminated, self.pending = False, True
        self.ended = terminated
        return self._obs(note), reward, terminated, False, {}


class Dispatch(gym.Env):
    """A ride-hailing dispatcher: four drivers in a unit-square city, one request per step.

    Dict observation: ``drivers`` (Box(4, 2) positions), ``busy`` (MultiBinary(4)),
    ``request`` (Box(4): pickup x, y, dropoff x, y) and ``time_of_day`` (Box(1), fraction
    of the day; the shift starts at 06:00). Action: 0-3 give the request to that driver, 4
    rejects it; giving it to a busy driver loses it (does nothing, by design). A served
    request pays ``0.5 + 2 * trip length - pickup distance``; the driver is then busy for
    ``ceil(30 * (pickup + trip))`` minutes and ends at the dropoff. Requests arrive every 1-3
    minutes; requests and gaps come from ``self.np_random``. The shift lasts 480 minutes and
    ends with truncated=True (the env's own horizon, no TimeLimit).
    """

    K, SHIFT, START = 4, 480, 360
    ROTATE_AFTER = 1000

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Dict({
            "drivers": spaces.Box(0.0, 1.0, (self.K, 2), np.float32),
            "busy": spaces.MultiBinary(self.K),
            "request": spaces.Box(0.0, 1.0, (4,), np.float32),
            "time_of_day": spaces.Box(0.0, 1.0, (1,), np.float32)})
        self.action_space = spaces.Discrete(self.K + 1)
        self.fault = fault
        self.pos = np.zeros((self.K, 2))
        self.free_at = np.zeros(self.K)
        self.shown = np.zeros(self.K, np.int8)
        self.req = np.zeros(4)
        self.clock, self.lifetime = 0, 0

    def _obs(self) -> dict[str, Any]:
        busy = self.shown if self.fault == "busy_stale" else (self.free_at > self.clock)
        tod = ((self.START + self.clock) % 1440) / 1440
        return {"drivers": self.pos.astype(np.float32), "busy": busy.astype(np.int8),
                "request": self.req.astype(np.float32),
                "time_of_day": np.array([tod], np.float32)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(0, 1, (self.K, 2))
        self.free_at = np.zeros(self.K)
        self.shown = np.zeros(self.K, np.int8)
        self.clock = 0
        self.req = self.np_random.uniform(0, 1, 4)
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        a = int(action)
        self.lifetime += 1
        if self.fault == "roster" and self.lifetime > self.ROTATE_AFTER and a < self.K:
            a = (a + 1) % self.K  # the roster was re-sorted: slot i is now driver i + 1
        reward = 0.0
        if a < self.K and self.free_at[a] <= self.clock:
            pick, drop = self.req[:2], self.req[2:]
            d1 = float(np.linalg.norm(self.pos[a] - pick))
            d2 = float(np.linalg.norm(drop - pick))
            fare = 0.5 + 2.0 * d2
            if self.fault == "short_trip" and d2 < 0.1:
                fare += 2.0 / max(d2, 1e-9)  # a flat 2.0 short-trip surcharge, divided by length
            reward = fare - d1
            self.free_at[a] = self.clock + math.ceil(30 * (d1 + d2))
            self.pos[a] = drop
            self.shown[a] = 1  # what the faulty version shows: set here, never cleared
        self.clock += int(self.np_random.integers(1, 4))
        self.req = self.np_random.uniform(0, 1, 4)
        if self.fault == "never_ends":
            truncated = self.clock == self.SHIFT  # the clock jumps 1-3 minutes: often missed
        else:
            truncated = self.clock >= self.SHIFT
        return self._obs(), float(reward), False, bool(truncated), {}


class Paddle(gym.Env):
    """One-player paddle game (squash against the left wall) on a 16x16x1 uint8 image.

    The ball (grey, 160) moves one cell diagonally per step and bounces off the top, bottom
    and left walls; the paddle (white, 255) is three cells tall in column 15. Actions: 0
    stay, 1 up, 2 down; moving past the edge does nothing (by design). Returning the ball
    pays +1; missing it pays -1 and ends the episode (terminated; early termination by
    design). The start (ball row and column, vertical direction, paddle row) comes from
    ``self.np_random``. Stepping after the end is accepted and pays 0.
    """

    SIZE, PAD = 16, 3
    SWAP_AFTER = 1000

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(0, 255, (self.SIZE, self.SIZE, 1), np.uint8)
        self.action_space = spaces.Discrete(3)
        self.fault = fault
        self.r, self.c, self.vr, self.vc = 8, 4, 1, 1
        self.p = self.drawn = 6
        self.lifetime = 0
        self.ended = False

    def render_frame(self) -> np.ndarray:
        img = np.zeros((self.SIZE, self.SIZE, 1), np.uint8)
        img[self.drawn:self.drawn + self.PAD, self.SIZE - 1, 0] = 255
        img[self.r, self.c, 0] = 160
        return img

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.r = int(self.np_random.integers(1, self.SIZE - 1))
        self.c = int(self.np_random.integers(2, 8))
        self.vr = 1 if self.np_random.random() < 0.5 else -1
        self.vc = 1
        self.p = self.drawn = int(self.np_random.integers(0, self.SIZE - self.PAD + 1))
        self.ended = False
        return self.render_frame(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self.render_frame(), 0.0, True, False, {}
        a = int(action)
        self.lifetime += 1
        if self.fault == "swap" and self.lifetime > self.SWAP_AFTER and a:
            a = 3 - a  # a firmware update swapped the up and down lines
        if a == 1:
            self.p = max(self.p - 1, 0)
        elif a == 2:
            self.p = min(self.p + 1, self.SIZE - self.PAD)
        if not 0 <= self.r + self.vr < self.SIZE:
            self.vr = -self.vr
        self.r += self.vr
        reward: Any = 0.0
        terminated = False
        if self.vc < 0 and self.c == 0:
            self.vc = 1
            if self.fault == "corner" and self.r in (0, self.SIZE - 1):
                reward, terminated = -1.0, True  # a corner bounce is scored as a miss
        if not terminated and self.vc > 0 and self.c == self.SIZE - 2:
            if self.p <= self.r < self.p + self.PAD:
                self.vc = -1
                reward = np.array([1.0]) if self.fault == "reward_array" else 1.0
            else:
                reward, terminated = -1.0, True
                self.c = self.SIZE - 1
        if not terminated:
            self.c += self.vc
        if self.fault != "sprite" or self.vc > 0:
            self.drawn = self.p  # the faulty version redraws the paddle only on approach
        self.ended = terminated
        return self.render_frame(), reward, terminated, False, {}


class Battery(gym.Env):
    """A 1 MWh grid battery doing price arbitrage, one step per hour.

    Action (Box(1), clipped to [-1, 1]): the power as a fraction of 0.25 MW, positive to
    charge. Charging stores 90% of what is bought, discharging sells 90% of what is drawn
    (charging a full or discharging an empty battery does nothing, by design). Prices
    ($/MWh) follow a daily cycle plus seeded noise (``self.np_random``). Observation (Box,
    float32): ``[state of charge, price / 100, sin(hour), cos(hour)]``. Reward: the money
    made, ``(sold - bought) * price / 100``. A 28-day horizon of its own (672 steps, ends
    with truncated=True; no TimeLimit).
    """

    ETA, RATE = 0.9, 0.25
    HORIZON = 24 * 28

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(np.array([0, -np.inf, -1, -1], np.float32),
                                            np.array([1, np.inf, 1, 1], np.float32),
                                            dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.fault = fault
        self.soc, self.t = 0.5, 0
        self.last_sign = 0
        self.prices = np.zeros(self.HORIZON + 1)

    def _obs(self) -> np.ndarray:
        price = self.prices[self.t]
        price = price * 100 if self.fault == "price_cents" else price / 100
        angle = 2 * np.pi * (self.t % 24) / 24
        return np.array([self.soc, price, np.sin(angle), np.cos(angle)], np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        hours = np.arange(self.HORIZON + 1)
        self.prices = (40 + 25 * np.sin(2 * np.pi * (hours - 10) / 24)
                       + self.np_random.normal(0, 8, self.HORIZON + 1))
        soc = float(self.np_random.uniform(0.2, 0.8))
        if self.fault != "soc_kept" or self.t in (0, self.HORIZON):
            self.soc = soc  # the faulty version keeps the charge of an episode cut short
        self.t, self.last_sign = 0, 0
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        u = float(np.clip(np.asarray(action, np.float64).reshape(-1)[0], -1.0, 1.0))
        e = u * self.RATE
        bought = sold = 0.0
        if e > 0:
            if self.fault == "full_nan" and self.soc >= 1.0:
                with np.errstate(invalid="ignore"):  # taper = headroom / headroom: 0 / 0
                    e *= float(np.float64(1.0 - self.soc) / np.float64(1.0 - self.soc))
            bought = min(e, (1.0 - self.soc) / self.ETA)
            self.soc += bought * self.ETA
            if self.soc > 1.0 - 1e-9:
                self.soc = 1.0
        elif e < 0:
            drawn = min(-e, self.soc)
            self.soc = max(self.soc - drawn, 0.0)
            sold = drawn * self.ETA
        price = self.prices[self.t]
        reward = (sold - bought) * price / 100
        if self.fault == "midnight" and self.t % 24 == 0:
            reward = (sold - bought) * price  # the day-ahead settlement is booked unscaled
        sign = int(np.sign(u)) if abs(u) > 0.1 else 0
        if self.fault == "flip_bonus" and sign and self.last_sign and sign != self.last_sign:
            reward += 0.1  # a "regulation response" bonus paid for any reversal
        if sign:
            self.last_sign = sign
        self.t += 1
        return self._obs(), float(reward), False, self.t >= self.HORIZON, {}


class LightsOut(gym.Env):
    """3x3 lights-out: pressing a switch toggles its light and the orthogonal neighbours.

    Action (MultiBinary(9)): the switches pressed this step, applied together (their
    toggles add up modulo 2; all zeros does nothing). Observation: the lights
    (MultiBinary(9)), or with ``tuple_obs=True`` a Tuple of the lights and the number lit
    (Discrete(10)). The start is the lights left by random presses (``self.np_random``),
    never all off. Reward: +1 when every light is off, which ends the episode (terminated);
    0 otherwise (sparse by design). Stepping after the end is accepted and pays 0.
    """

    PRESS = np.array([[int(abs(i // 3 - j // 3) + abs(i % 3 - j % 3) <= 1) for j in range(9)]
                      for i in range(9)], np.int64)
    BUS, BUDGET = 4, 30

    def __init__(self, *, fault: str = "", tuple_obs: bool = False) -> None:
        lights = spaces.MultiBinary(9)
        self.observation_space = (spaces.Tuple((lights, spaces.Discrete(10))) if tuple_obs
                                  else lights)
        self.action_space = spaces.MultiBinary(9)
        self.fault, self.tuple_obs = fault, tuple_obs
        self.lights = np.ones(9, np.int8)
        self.plan = np.zeros(9, np.int8)
        self.t = 0
        self.ended = False

    def _obs(self) -> Any:
        lights = self.lights.copy()
        return (lights, int(lights.sum())) if self.tuple_obs else lights

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        while True:
            if self.fault == "space_rng":
                plan = np.asarray(self.action_space.sample(), np.int64)  # not the env's rng
            else:
                plan = self.np_random.integers(0, 2, 9)
            lights = self.PRESS @ plan % 2
            if lights.any():
                break
        self.plan, self.lights = plan.astype(np.int8), lights.astype(np.int8)
        self.t, self.ended = 0, False
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self._obs(), 1.0 if self.fault == "keeps_paying" else 0.0, True, False, {}
        press = (np.asarray(action).reshape(9) != 0).astype(np.int64)
        if self.fault == "bus":
            press[np.flatnonzero(press)[self.BUS:]] = 0  # the switch bus takes 4 per frame
        self.lights = ((self.lights + self.PRESS @ press) % 2).astype(np.int8)
        self.t += 1
        solved = not self.lights.any()
        terminated = solved
        if self.fault == "budget" and self.t >= self.BUDGET:
            terminated = True  # a hidden move budget, reported as the puzzle's end
        self.ended = terminated
        return self._obs(), 1.0 if solved else 0.0, terminated, False, {}


# --------------------------------------------------------------------------- the set


FAULTS: dict[str, tuple[Callable[[], gym.Env], Category]] = {
    "irr_valve3_dead": (lambda: TimeLimit(Irrigation(fault="valve_dead"), 200),
                        Category.ACTION_SPACE_DRIFT),
    "irr_seed_zero_ignored": (lambda: TimeLimit(Irrigation(fault="seed_zero"), 200),
                              Category.NONDETERMINISTIC_RESET),
    "irr_solver_raises": (lambda: TimeLimit(Irrigation(fault="solver"), 200),
                          Category.HARNESS_FAILURE),
    "irr_reservoir_litres": (lambda: TimeLimit(Irrigation(fault="litres"), 200),
                             Category.OBS_SCALE),
    "text_door_kept": (lambda: TimeLimit(Escape(fault="door_kept"), 100),
                       Category.RESET_LEAKAGE),
    "text_cache_freeze": (lambda: TimeLimit(Escape(fault="text_cache"), 100),
                          Category.STALE_OBSERVATION),
    "text_drop_em_dash": (lambda: TimeLimit(Escape(fault="em_dash"), 100),
                          Category.API_CONTRACT),
    "text_exit_late": (lambda: TimeLimit(Escape(fault="exit_late"), 100),
                       Category.DONE_SEMANTICS),
    "text_take_drop_farm": (lambda: TimeLimit(Escape(fault="take_farm"), 100),
                            Category.REWARD_HACKING),
    "ride_short_trip_spike": (lambda: Dispatch(fault="short_trip"), Category.REWARD_ARTIFACT),
    "ride_roster_rotated": (lambda: Dispatch(fault="roster"), Category.ACTION_SPACE_DRIFT),
    "ride_busy_stale": (lambda: Dispatch(fault="busy_stale"), Category.STALE_OBSERVATION),
    "ride_shift_never_ends": (lambda: Dispatch(fault="never_ends"), Category.SILENT_TIMEOUT),
    "paddle_sprite_lag": (lambda: TimeLimit(Paddle(fault="sprite"), 500),
                          Category.STALE_OBSERVATION),
    "paddle_reward_array": (lambda: TimeLimit(Paddle(fault="reward_array"), 500),
                            Category.API_CONTRACT),
    "paddle_controls_swap": (lambda: TimeLimit(Paddle(fault="swap"), 500),
                             Category.ACTION_SPACE_DRIFT),
    "paddle_corner_false_miss": (lambda: TimeLimit(Paddle(fault="corner"), 500),
                                 Category.DONE_SEMANTICS),
    "battery_flip_bonus_farm": (lambda: Battery(fault="flip_bonus"), Category.REWARD_HACKING),
    "battery_price_cents": (lambda: Battery(fault="price_cents"), Category.OBS_SCALE),
    "battery_midnight_spike": (lambda: Battery(fault="midnight"), Category.REWARD_ARTIFACT),
    "battery_soc_kept_on_cut": (lambda: Battery(fault="soc_kept"), Category.RESET_LEAKAGE),
    "battery_full_nan": (lambda: Battery(fault="full_nan"), Category.HARNESS_FAILURE),
    "lights_bus_limit": (lambda: TimeLimit(LightsOut(fault="bus"), 50),
                         Category.ACTION_SPACE_DRIFT),
    "lights_space_rng": (lambda: TimeLimit(LightsOut(fault="space_rng"), 50),
                         Category.NONDETERMINISTIC_RESET),
    "lights_solved_keeps_paying": (lambda: TimeLimit(LightsOut(fault="keeps_paying"), 50),
                                   Category.DONE_SEMANTICS),
    "lights_budget_terminated": (lambda: TimeLimit(LightsOut(fault="budget"), 50),
                                 Category.SILENT_TIMEOUT),
}
HEALTHY: dict[str, Callable[[], gym.Env]] = {
    "irr_seeded_rain_quantised": lambda: TimeLimit(Irrigation(), 200),
    "text_sparse_goal": lambda: TimeLimit(Escape(), 100),
    "text_dark_aliased": lambda: TimeLimit(Escape(dark=True), 100),
    "ride_long_shift": lambda: Dispatch(),
    "paddle_early_miss": lambda: TimeLimit(Paddle(), 500),
    "battery_long_horizon": lambda: Battery(),
    "lights_multibinary_sparse": lambda: TimeLimit(LightsOut(), 50),
    "lights_tuple_count": lambda: TimeLimit(LightsOut(tuple_obs=True), 50),
}


# --------------------------------------------------------------------------- self-checks


_random_run = second_set._random_run
_same, _same_runs = first_set.same, first_set.same_runs
_fixed_actions, _episode_lengths = first_set.fixed_actions, first_set.episode_lengths










def _healthy_props(make: Callable[[], gym.Env], seed: int, steps: int) -> list[tuple]:
    """A seeded random run that reproduces, differs under another seed, stays in its
    space and returns float rewards."""
    r1, r2 = _random_run(make(), seed, steps), _random_run(make(), seed, steps)
    r3 = _random_run(make(), seed + 1, steps)
    space = make().observation_space
    assert _same_runs(r1, r2) and not _same_runs(r1, r3), "seeding"
    bad = [o for o, *_ in r1 if o not in space]
    assert not bad, bad[:2]
    assert all(type(r) is float and np.isfinite(r) for _, r, _, _ in r1), "rewards"
    return r1


# ---- irrigation

def check_irr_valve3_dead() -> str:
    outs = {}
    for name, make in (("fault", FAULTS["irr_valve3_dead"][0]),
                       ("healthy", HEALTHY["irr_seeded_rain_quantised"])):
        runs = [_fixed_actions(make(), 0, [np.array([0, 0, v])] * 5) for v in (0, 2)]
        outs[name] = _same_runs(*runs)
    assert outs["fault"] and not outs["healthy"], outs
    return "valve 3 closed or fully open: identical steps (healthy: field 3 gets water)"


def check_irr_seed_zero_ignored() -> str:
    make = FAULTS["irr_seed_zero_ignored"][0]
    zero = [make().reset(seed=0)[0] for _ in range(2)]
    one = [make().reset(seed=1)[0] for _ in range(2)]
    h_zero = [HEALTHY["irr_seeded_rain_quantised"]().reset(seed=0)[0] for _ in range(2)]
    assert not _same(*zero) and _same(*one) and _same(*h_zero), (zero, one)
    return "reset(seed=0) on two fresh envs: different starts; seed=1 (or healthy seed=0) agree"


def check_irr_solver_raises() -> str:
    env = FAULTS["irr_solver_raises"][0]()
    space = env.action_space
    space.seed(1)
    env.reset(seed=1)
    raised, n = None, 0
    while raised is None and n < 3000:
        a, res, n = space.sample(), env.unwrapped.res, n + 1
        try:
            if any(env.step(a)[2:4]):
                env.reset()
        except FloatingPointError as exc:
            raised = (a.tolist(), res, exc)
    h = _random_run(HEALTHY["irr_seeded_rain_quantised"](), 1, 3000)
    assert raised and raised[0] == [2, 2, 2] and raised[1] < 0.1 and len(h) == 3000, raised
    return (f"step {n} of a random run: valves {raised[0]} (legal) with the reservoir at "
            f"{raised[1]:.2f} raise FloatingPointError; healthy runs 3000 steps")


def check_irr_reservoir_litres() -> str:
    steps = _random_run(FAULTS["irr_reservoir_litres"][0](), 2, 2000)
    obs = np.abs(np.array([o for o, *_ in steps]))
    big = obs[:, 0][obs[:, 0] > 0]
    assert np.median(big) > 1000 and obs[:, 1:].max() <= 1.0, np.median(big)
    return (f"reservoir reads a median {np.median(big):.0f} (litres) next to moistures in "
            f"[0, 1]; healthy fill fraction is in [0, 1]")


def check_irr_seeded_rain_quantised() -> str:
    make = HEALTHY["irr_seeded_rain_quantised"]
    r1 = _healthy_props(make, 3, 2000)
    rewards = {round(r * 3) for _, r, _, _ in r1}
    eps = _episode_lengths(r1)
    assert rewards <= {0, 1, 2, 3} and len(rewards) > 1 and eps == [(200, False, True)] * 10
    return (f"rewards on a 1/3 grid ({sorted(rewards)} thirds); seeded rain reproduces, other "
            f"seeds differ; obs in space; TimeLimit 200 truncates")


# ---- text adventure

def _escape_route(key_room: int) -> list[int]:
    """Actions from the hall to the key, back, open the door, leave."""
    row, col = divmod(key_room, 3)
    there = [2] * col + [1] * row
    back = [0] * row + [3] * col
    return [*there, Escape.TAKE, *back, Escape.OPEN, 3]


def _play_escape(env: gym.Env, seed: int) -> list[tuple]:
    env.reset(seed=seed)
    return [env.step(a)[:4] for a in _escape_route(env.unwrapped.key_room)]


def check_text_door_kept() -> str:
    make = FAULTS["text_door_kept"][0]
    env = make()
    steps = _play_escape(env, 10)
    after = env.reset(seed=11)[0]
    fresh = make().reset(seed=11)[0]
    leave = env.step(3)
    assert steps[-1][1:3] == (1.0, True) and "locked" in fresh["text"], steps[-1]
    assert "open" in after["text"] and leave[1:3] == (1.0, True), after
    return ("after one escape, reset(seed=11) starts with the front door open and a single "
            "'west' pays +1 (fresh env: the door is locked)")


def check_text_cache_freeze() -> str:
    steps = _random_run(FAULTS["text_cache_freeze"][0](), 12, 1500)
    early = {o["text"] for o, *_ in steps[:500]}
    late = {o["text"] for o, *_ in steps[501:]}
    h_late = {o["text"] for o, *_ in _random_run(HEALTHY["text_sparse_goal"](), 12, 1500)[501:]}
    assert len(early) > 5 and len(late) == 1 and len(h_late) > 5, (early, late)
    return (f"{len(early)} different descriptions in the env's first 500 steps, then one for "
            f"1000 steps across episodes (healthy: {len(h_late)})")


def check_text_drop_em_dash() -> str:
    make = FAULTS["text_drop_em_dash"][0]
    steps = _random_run(make(), 13, 3000)
    space = make().observation_space
    bad = [o["text"] for o, *_ in steps if o not in space]
    assert bad and all("\u2014" in t for t in bad) and len(bad) < 0.05 * len(steps), len(bad)
    return (f"{len(bad)} of 3000 random-step obs (the key drops) carry an em dash outside "
            f"the Text charset; all others in space")


def check_text_exit_late() -> str:
    env = FAULTS["text_exit_late"][0]()
    steps = _play_escape(env, 14)
    nxt = env.step(0)
    h_steps = _play_escape(HEALTHY["text_sparse_goal"](), 14)
    assert steps[-1][1:3] == (1.0, False) and nxt[1:3] == (0.0, True), (steps[-1], nxt)
    assert "outside" in steps[-1][0]["text"] and h_steps[-1][1:3] == (1.0, True)
    return ("the escape step pays +1 with terminated=False (the obs says outside); the next "
            "step, whatever the action, ends with terminated=True (healthy: ends at once)")


def check_text_take_drop_farm() -> str:
    rets = {}
    for name, make in (("fault", FAULTS["text_take_drop_farm"][0]),
                       ("healthy", HEALTHY["text_sparse_goal"])):
        env = make()
        env.reset(seed=15)
        env.unwrapped.key_room = 0  # the key in the hall, where the agent starts
        rets[name] = sum(env.step(a)[1] for a in [Escape.TAKE, Escape.DROP] * 49)
    assert rets["fault"] > 4.5 and abs(rets["healthy"] - 0.1) < 1e-9, rets
    return (f"take/drop in the hall for 98 steps: {rets['fault']:.1f} reward without leaving "
            f"(healthy: {rets['healthy']:.1f})")


def check_text_sparse_goal() -> str:
    make = HEALTHY["text_sparse_goal"]
    r1 = _healthy_props(make, 16, 3000)
    assert {r for _, r, _, _ in r1} <= {0.0, 0.1, 1.0}
    won = [_play_escape(make(), s)[-1][1:4] for s in range(16, 26)]
    texts = {o["text"] for o, *_ in r1}
    assert won == [(1.0, True, False)] * 10 and "A bare corridor." in texts
    eps = _episode_lengths(r1)
    return (f"{len(eps)} random episodes, rewards in {{0, 0.1, 1}}; scripted escapes pay +1 "
            f"and terminate; Text obs in space, seeded key placement reproduces")


def check_text_dark_aliased() -> str:
    make = HEALTHY["text_dark_aliased"]
    r1 = _healthy_props(make, 17, 3000)
    env = make()
    rooms: set[int] = set()
    env.reset(seed=17)
    for a in [2, 2, 1, 3, 3]:
        obs = env.step(a)[0]
        assert obs["text"] == "It is too dark to see."
        rooms.add(env.unwrapped.room)
    won = _play_escape(make(), 18)[-1][1:3]
    assert len(rooms) == 5 and won == (1.0, True)
    dark = sum(o["text"] == "It is too dark to see." for o, *_ in r1)
    return (f"five rooms read 'It is too dark to see.' ({dark} of 3000 random obs); the "
            f"escape still pays +1 and terminates; seeded, obs in space")


# ---- ride dispatch

def check_ride_short_trip_spike() -> str:
    steps = _random_run(FAULTS["ride_short_trip_spike"][0](), 20, 5000)
    h = _random_run(HEALTHY["ride_long_shift"](), 20, 5000)
    rewards = np.array([r for _, r, _, _ in steps])
    h_max = max(abs(r) for _, r, _, _ in h)
    assert rewards.max() > 50 and h_max < 4 and (rewards > 10).sum() < 0.02 * len(rewards)
    return (f"{int((rewards > 10).sum())} of 5000 random rewards above 10 (max "
            f"{rewards.max():.0f}) on short trips; healthy |reward| <= {h_max:.1f}")


def _served(make: Callable[[], gym.Env], warmup: int, action: int) -> int:
    """Which driver moved when ``action`` is taken after ``warmup`` rejects."""
    env = make()
    env.reset(seed=21)
    for _ in range(warmup):
        env.step(4)
    disp = env.unwrapped
    disp.free_at[:] = 0
    before = disp.pos.copy()
    env.step(action)
    moved = np.flatnonzero(np.any(disp.pos != before, axis=1))
    assert len(moved) == 1
    return int(moved[0])


def check_ride_roster_rotated() -> str:
    make = FAULTS["ride_roster_rotated"][0]
    early = [_served(make, 10, a) for a in range(4)]
    late = [_served(make, 1200, a) for a in range(4)]
    healthy = [_served(HEALTHY["ride_long_shift"], 1200, a) for a in range(4)]
    assert early == healthy == [0, 1, 2, 3] and late == [1, 2, 3, 0], (early, late)
    return f"after 1000 steps of the env's life actions 0-3 serve drivers {late} (before: 0-3)"


def check_ride_busy_stale() -> str:
    shown = {}
    for name, make in (("fault", FAULTS["ride_busy_stale"][0]),
                       ("healthy", HEALTHY["ride_long_shift"])):
        env = make()
        env.reset(seed=22)
        env.step(0)
        disp = env.unwrapped
        n = 0
        while disp.free_at[0] > disp.clock:
            obs = env.step(4)[0]
            n += 1
        obs = env.step(4)[0]
        shown[name] = (int(obs["busy"][0]), n)
    assert shown["fault"][0] == 1 and shown["healthy"][0] == 0, shown
    return (f"driver 0 finishes its trip after {shown['fault'][1]} steps but still shows busy "
            f"(healthy: shows free)")


def check_ride_shift_never_ends() -> str:
    steps = _random_run(FAULTS["ride_shift_never_ends"][0](), 23, 6000)
    eps = _episode_lengths(steps)
    ended = sum(n for n, *_ in eps)
    h_eps = _episode_lengths(_random_run(HEALTHY["ride_long_shift"](), 23, 6000))
    assert 6000 - ended > 3000 and max(n for n, *_ in h_eps) < 300, (eps, ended)
    return (f"{len(eps)} shifts ended, then one ran {6000 - ended}+ steps without end (the "
            f"clock stepped past minute 480); healthy shifts end by {max(n for n, *_ in h_eps)}")


def check_ride_long_shift() -> str:
    make = HEALTHY["ride_long_shift"]
    r1 = _healthy_props(make, 24, 3000)
    eps = _episode_lengths(r1)
    env = make()
    env.reset(seed=25)
    env.step(0)
    disp = env.unwrapped
    before = disp.pos.copy()
    _, r, *_ = env.step(0)  # driver 0 is busy: the request is lost
    assert all(tr and not te for _, te, tr in eps) and 200 < min(n for n, *_ in eps)
    assert r == 0.0 and np.array_equal(before, disp.pos)
    return (f"{len(eps)} shifts of {min(n for n, *_ in eps)}-{max(n for n, *_ in eps)} steps "
            f"end truncated by the env's own clock; a busy driver's action does nothing; seeded")


# ---- paddle

def _track(obs: np.ndarray, env: gym.Env) -> int:
    game = env.unwrapped
    centre = game.p + 1
    return 1 if centre > game.r else (2 if centre < game.r else 0)


def check_paddle_sprite_lag() -> str:
    env = FAULTS["paddle_sprite_lag"][0]()
    env.action_space.seed(30)
    env.reset(seed=30)
    wrong, away = 0, 0
    for _ in range(3000):
        obs, _, te, tr, _ = env.step(env.action_space.sample())
        game = env.unwrapped
        rows = np.flatnonzero(obs[:, 15, 0] == 255)
        if len(rows) and rows[0] != game.p:
            wrong += 1
            away += game.vc < 0
        if te or tr:
            env.reset()
    assert wrong > 50 and away == wrong, (wrong, away)
    return (f"{wrong} of 3000 random frames draw the paddle where it was, all while the ball "
            f"moves away from it")


def check_paddle_reward_array() -> str:
    env = FAULTS["paddle_reward_array"][0]()
    env.reset(seed=31)
    kinds = set()
    for _ in range(400):
        obs, r, te, tr, _ = env.step(_track(None, env))
        kinds.add(type(r).__name__ + str(np.shape(r)))
        if te or tr:
            env.reset()
    assert "ndarray(1,)" in kinds and "float()" in kinds, kinds
    return f"reward types seen while rallying: {sorted(kinds)} (returns pay a shape-(1,) array)"


def check_paddle_controls_swap() -> str:
    make = FAULTS["paddle_controls_swap"][0]
    moves = {}
    for warm in (5, 1100):
        env = make()
        env.reset(seed=32)
        for _ in range(warm):
            env.step(0)
            if env.unwrapped.ended:
                env.reset(seed=32)
        game = env.unwrapped
        game.p = 6
        env.step(1)  # up
        moves[warm] = game.p - 6
    assert moves == {5: -1, 1100: 1}, moves
    return "'up' moves the paddle up for the env's first 1000 steps, down afterwards"


def check_paddle_corner_false_miss() -> str:
    ends = {}
    for name, make in (("fault", FAULTS["paddle_corner_false_miss"][0]),
                       ("healthy", HEALTHY["paddle_early_miss"])):
        far, total = 0, 0
        for s in range(40):
            env = make()
            env.reset(seed=s)
            for _ in range(500):
                _, r, te, tr, _ = env.step(_track(None, env))
                if te:
                    total += 1
                    far += env.unwrapped.c <= 1
                if te or tr:
                    break
        ends[name] = (far, total)
    assert ends["fault"][0] > 0 and ends["healthy"][0] == 0, ends
    return (f"a tracking paddle: {ends['fault'][0]} of 40 rallies end terminated=True, -1 with "
            f"the ball at the far wall (healthy: {ends['healthy'][0]})")


def check_paddle_early_miss() -> str:
    make = HEALTHY["paddle_early_miss"]
    r1 = _healthy_props(make, 33, 3000)
    eps = _episode_lengths(r1)
    env = make()
    env.reset(seed=34)
    env.unwrapped.p = 0
    env.step(1)
    at_top = env.unwrapped.p
    assert all(te for _, te, _ in eps) and at_top == 0
    assert {r for _, r, _, _ in r1} <= {-1.0, 0.0, 1.0}
    return (f"{len(eps)} random episodes all end by a miss (terminated, "
            f"{min(n for n, *_ in eps)}-{max(n for n, *_ in eps)} steps); 'up' at the top does "
            f"nothing; uint8 frames in space, seeded")


# ---- battery

def _battery_return(make: Callable[[], gym.Env], actions: Callable[[int], float],
                    seed: int) -> float:
    env = make()
    env.reset(seed=seed)
    total, t = 0.0, 0
    while True:
        _, r, te, tr, _ = env.step(np.array([actions(t)], np.float32))
        total, t = total + r, t + 1
        if te or tr:
            return total


def check_battery_flip_bonus_farm() -> str:
    def flip(t: int) -> float:
        return 1.0 if t % 2 == 0 else -1.0

    def arbitrage(t: int) -> float:
        return 1.0 if 0 <= t % 24 < 6 else (-1.0 if 12 <= t % 24 < 18 else 0.0)
    farm = _battery_return(FAULTS["battery_flip_bonus_farm"][0], flip, 40)
    smart = _battery_return(FAULTS["battery_flip_bonus_farm"][0], arbitrage, 40)
    h_farm = _battery_return(HEALTHY["battery_long_horizon"], flip, 40)
    h_smart = _battery_return(HEALTHY["battery_long_horizon"], arbitrage, 40)
    assert farm > 3 * smart and h_farm < 0 < h_smart, (farm, smart, h_farm, h_smart)
    return (f"flip-flopping charge/discharge returns {farm:.1f} vs {smart:.1f} for price "
            f"arbitrage (healthy: {h_farm:.1f} vs {h_smart:.1f})")


def check_battery_price_cents() -> str:
    steps = _random_run(FAULTS["battery_price_cents"][0](), 41, 1344)
    obs = np.abs(np.array([o for o, *_ in steps]))
    med = np.median(obs, axis=0)
    assert med[1] > 1000 and obs[:, [0, 2, 3]].max() <= 1.0, med
    return (f"median |obs| {[round(float(x), 2) for x in med]}: the price in cents next to "
            f"values within [0, 1] (healthy price / 100 is below 1)")


def check_battery_midnight_spike() -> str:
    steps = _random_run(FAULTS["battery_midnight_spike"][0](), 42, 1344)
    mags = np.array([abs(r) for _, r, _, _ in steps])
    hours = np.arange(len(mags)) % 24
    night = mags[hours == 0]
    assert night.max() > 5 and mags[hours != 0].max() < 0.5, (night.max(), mags[hours != 0].max())
    return (f"|reward| up to {night.max():.1f} on the midnight step, at most "
            f"{mags[hours != 0].max():.2f} on all other hours")


def check_battery_soc_kept_on_cut() -> str:
    make = FAULTS["battery_soc_kept_on_cut"][0]
    env = make()
    env.reset(seed=43)
    for _ in range(10):
        env.step(np.array([1.0], np.float32))
    cut = env.reset(seed=44)[0]
    fresh = make().reset(seed=44)[0]
    env2 = make()
    env2.reset(seed=43)
    for _ in range(Battery.HORIZON):
        env2.step(np.array([1.0], np.float32))
    natural = env2.reset(seed=44)[0]
    assert cut[0] == 1.0 and fresh[0] < 0.9 and np.array_equal(natural, fresh), (cut, fresh)
    return (f"reset(seed=44) after an episode cut short starts full (soc {cut[0]:.2f}); a "
            f"fresh env or one after a finished episode starts at {fresh[0]:.2f}")


def check_battery_full_nan() -> str:
    steps = _random_run(FAULTS["battery_full_nan"][0](), 45, 2000)
    first = next(i for i, (o, *_) in enumerate(steps) if not np.isfinite(o).all())
    nan_r = sum(not np.isfinite(r) for _, r, _, _ in steps)
    assert first > 0 and nan_r > 0 and np.isfinite(steps[first - 1][0]).all()
    return (f"charging a full battery: NaN reward and state of charge from step {first} "
            f"({nan_r} NaN rewards in 2000 random steps)")


def check_battery_long_horizon() -> str:
    make = HEALTHY["battery_long_horizon"]
    r1 = _healthy_props(make, 46, 2016)
    eps = _episode_lengths(r1)
    env = make()
    env.reset(seed=47)
    for _ in range(10):
        env.step(np.array([1.0], np.float32))
    full = env.unwrapped.soc
    _, r, *_ = env.step(np.array([1.0], np.float32))
    assert eps == [(Battery.HORIZON, False, True)] * 3 and full == 1.0 and r == 0.0, eps
    return ("no TimeLimit: the 28-day horizon (672 steps) ends with truncated=True; charging "
            "a full battery does nothing; seeded prices, obs in space")


# ---- lights out

def check_lights_bus_limit() -> str:
    six = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0], np.int8)
    four = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0], np.int8)
    outs = {}
    for name, make in (("fault", FAULTS["lights_bus_limit"][0]),
                       ("healthy", HEALTHY["lights_multibinary_sparse"])):
        outs[name] = _same_runs(_fixed_actions(make(), 50, [six]),
                                _fixed_actions(make(), 50, [four]))
    assert outs["fault"] and not outs["healthy"], outs
    return "pressing six switches = pressing the first four (healthy: they differ)"


def check_lights_space_rng() -> str:
    make = FAULTS["lights_space_rng"][0]
    env = make()
    starts = {tuple(env.reset(seed=51)[0]) for _ in range(6)}
    h_env = HEALTHY["lights_multibinary_sparse"]()
    h_starts = {tuple(h_env.reset(seed=51)[0]) for _ in range(6)}
    assert len(starts) > 1 and len(h_starts) == 1, (starts, h_starts)
    return (f"reset(seed=51) six times on one env: {len(starts)} different puzzles (drawn from "
            f"the action space's generator); healthy: one")


def _solve(env: gym.Env, seed: int) -> list[tuple]:
    env.reset(seed=seed)
    plan = env.unwrapped.plan.copy()
    return [env.step(plan)[1:3] for _ in range(4)]


def check_lights_solved_keeps_paying() -> str:
    out = _solve(FAULTS["lights_solved_keeps_paying"][0](), 52)
    h_out = _solve(HEALTHY["lights_multibinary_sparse"](), 52)
    assert out == [(1.0, True)] * 4 and h_out == [(1.0, True)] + [(0.0, True)] * 3, out
    return "after the solving step, each further step pays +1 again (healthy: 0)"


def check_lights_budget_terminated() -> str:
    steps = _random_run(FAULTS["lights_budget_terminated"][0](), 53, 3000)
    eps = _episode_lengths(steps)
    unsolved = [n for n, te, _ in eps if te and n == 30]
    ends = [(o, r) for o, r, te, _ in steps if te]
    assert len(unsolved) > 0.8 * len(eps) and all(n <= 30 for n, *_ in eps)
    assert sum(r == 0.0 and o.any() for o, r in ends) == len(unsolved)
    return (f"{len(unsolved)} of {len(eps)} random episodes end terminated=True at step 30 "
            f"with lights still on and no step counter in the obs")


def check_lights_multibinary_sparse() -> str:
    make = HEALTHY["lights_multibinary_sparse"]
    r1 = _healthy_props(make, 54, 3000)
    eps = _episode_lengths(r1)
    solved = [_solve(make(), s)[0] for s in range(54, 64)]
    noop = _fixed_actions(make(), 55, [np.zeros(9, np.int8)])[0]
    start = make().reset(seed=55)[0]
    assert solved == [(1.0, True)] * 10 and _same(noop[0], start) and noop[1] == 0.0
    assert {r for _, r, _, _ in r1} <= {0.0, 1.0}
    return (f"{len(eps)} random episodes ({sum(te for _, te, _ in eps)} solved by chance); the "
            f"MultiBinary plan solves it (+1, terminated); pressing nothing does nothing")


def check_lights_tuple_count() -> str:
    make = HEALTHY["lights_tuple_count"]
    r1 = _healthy_props(make, 56, 3000)
    assert all(o[1] == int(o[0].sum()) for o, *_ in r1)
    solved = [_solve(make(), s)[0] for s in range(56, 60)]
    assert solved == [(1.0, True)] * 4
    return "Tuple obs (lights, number lit) consistent and in space; solvable; seeded"


SELF_CHECKS: dict[str, Callable[[], str]] = {
    name: globals()[f"check_{name}"] for name in (*FAULTS, *HEALTHY)
}


def main() -> int:
    return first_set.run_checked_set(FAULTS, HEALTHY, SELF_CHECKS)


if __name__ == "__main__":
    sys.exit(main())
