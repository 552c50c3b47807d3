"""Fourth held-out planted set for issue #15: written blind to rlvet's checks, scored once.

New bases, none in ``tests/envcheck/planted.py``, ``envcheck/catalog.py``,
``planted_heldout.py``, ``planted_heldout2.py`` or ``planted_heldout3.py``: a four-approach
traffic-light controller (MultiDiscrete observation), a 1-D lunar descent with a fuel tank
(Box(1) throttle), a blackjack-like card duel with a Tuple observation, a quadrotor hover
with a Box(4) motor action, a news recommender with a Dict observation holding a
MultiBinary history, and a snake game on a small uint8 image. One planted fault per faulty
env, at several strengths and onsets (from the first step, after N steps of an episode or
of the env's life, on rare or terminal transitions only, only after an episode cut short
by reset()), plus healthy envs whose task properties (a sparse goal, quantised rewards,
aliased observations, early termination by design, a long built-in horizon, seeded
stochasticity, an action that does nothing in some states) must not be errors. Expected
categories were fixed before any rlvet run and chosen from the fault class, not from how
rlvet detects it.

Every env has a self-check (``SELF_CHECKS``) that shows, without rlvet, that the fault
exists (faulty envs) or that the property works (healthy envs); they run first and the
rlvet pass is skipped if one fails. The table and summary come from
``planted_heldout.run_set`` (the first set's runner), pointed at this set's envs.

Usage: .venv/bin/python benchmarks/realenvs/planted_heldout4.py [--self-check-only]
"""

from __future__ import annotations

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

# Process-wide stall budget of the snake whose path helper blocks in corners: 0.5 s per
# stall, at most 5 per process (2.5 s in all), whatever the number of instances.
_STALL = {"stalls": 0}
STALL_S, STALL_MAX = 0.5, 5


# --------------------------------------------------------------------------- bases


class TrafficLight(gym.Env):
    """A four-approach intersection (N, S, E, W), one second per step.

    Observation (MultiDiscrete): the four queue lengths (0..20) and the green phase (0:
    north-south, 1: east-west). Action: 0 keep, 1 switch; a switch costs one all-red step in
    which nobody leaves. On a green step each green approach discharges one car. Bernoulli
    arrivals (0.3, 0.3, 0.2, 0.2) from ``self.np_random``; cars arriving at a full queue
    take another route (the queue stays at 20). Reward: cars discharged minus 0.05 per
    queued car (a 0.05 grid by design). The env's own day lasts 2400 steps and ends with
    truncated=True (no TimeLimit needed).
    """

    CAP, DAY = 20, 2400
    RATES = np.array([0.3, 0.3, 0.2, 0.2])
    SHIFT = 300

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.MultiDiscrete([self.CAP + 1] * 4 + [2])
        self.action_space = spaces.Discrete(2)
        self.fault = fault
        self.queue = np.zeros(4, np.int64)
        self.phase, self.t = 0, 0

    def _obs(self) -> np.ndarray:
        return np.array([*self.queue, self.phase], np.int64)

    def _green(self) -> list[int]:
        return [0, 1] if self.phase == 0 else [2, 3]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.queue = self.np_random.integers(0, 4, 4)
        self.phase, self.t = int(self.np_random.integers(2)), 0
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        departed = 0
        if int(action) == 1:
            self.phase = 1 - self.phase
            if self.fault == "switch_counts_queue":
                # the throughput counter reads the newly green queues as served
                departed = int(self.queue[self._green()].sum())
        else:
            for i in self._green():
                if self.queue[i] > 0:
                    self.queue[i] -= 1
                    departed += 1
        self.queue = self.queue + (self.np_random.random(4) < self.RATES)
        if self.fault != "uncapped":
            self.queue = np.minimum(self.queue, self.CAP)
        self.t += 1
        reward = departed - 0.05 * int(self.queue.sum())
        terminated = truncated = False
        if self.fault == "shift_terminated":
            terminated = self.t >= self.SHIFT  # the operator's shift end, time not observed
        else:
            truncated = self.t >= self.DAY
        return self._obs(), float(reward), terminated, truncated, {}


class BusSurge(gym.Wrapper):
    """A bus unloads 4 cars into a random approach on 5% of steps. Its generator is Python's
    ``random.Random()`` seeded from OS entropy: the env's seed never reaches it.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.rng = random.Random()

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.rng.random() < 0.05:
            light = self.env.unwrapped
            i = self.rng.randrange(4)
            light.queue[i] = min(int(light.queue[i]) + 4, light.CAP)
            obs = light._obs()
        return obs, reward, terminated, truncated, info


class LunarDescent(gym.Env):
    """A 1-D lander: altitude, vertical speed, a fuel tank. 0.2 s steps, lunar gravity.

    Observation (Box, unbounded): ``[altitude / 100 m, speed / 10 m/s, fuel fraction]``.
    Action: throttle in [0, 1] (clipped); full throttle gives 3 m/s^2 and burns 2% of the
    tank per step; an empty tank gives no thrust. Reward: -0.05 per unit of throttle, +10
    for a touchdown at <= 2 m/s, -10 for a crash (or for climbing above 300 m). Touchdown
    ends the episode (terminated, by design). Stepping after the end is accepted and pays 0.
    """

    G, THRUST, DT, BURN = 1.62, 3.0, 0.2, 0.02

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self.fault = fault
        self.alt, self.vel, self.fuel = 100.0, 0.0, 1.0
        self.ended = False
        self.last = self._obs()

    def _obs(self) -> np.ndarray:
        alt = self.alt * 100 if self.fault == "altitude_cm" else self.alt / 100
        return np.array([alt, self.vel / 10, self.fuel], np.float32)

    def _spawn(self) -> None:
        self.alt = float(self.np_random.uniform(80, 120))
        self.vel = float(self.np_random.uniform(-5, 0))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self._spawn()
        if self.fault != "fuel_kept":
            self.fuel = 1.0  # the faulty version refuels only after a touchdown, in step()
        self.ended = False
        self.last = self._obs()
        return self.last.copy(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self.last.copy(), 0.0, True, False, {}
        u = float(np.clip(np.asarray(action, np.float64).reshape(-1)[0], 0.0, 1.0))
        if self.fuel <= 0.0:
            u = 0.0
        u = min(u, self.fuel / self.BURN)
        self.fuel = max(self.fuel - self.BURN * u, 0.0)
        self.vel += (self.THRUST * u - self.G) * self.DT
        self.alt += self.vel * self.DT
        reward = -0.05 * u
        terminated = False
        if self.alt <= 0.0:
            self.alt, impact, terminated = 0.0, abs(self.vel), True
            reward += 10.0 if impact <= 2.0 else -10.0
            if self.fault == "empty_tank_inf" and impact > 2.0:
                with np.errstate(divide="ignore"):
                    # crash severity per unit of reserve fuel: inf with an empty tank
                    reward -= float(10 * np.log1p(np.float64(impact) / np.float64(self.fuel)))
            if self.fault == "fuel_kept":
                self.fuel = 1.0  # refuelled on the pad for the next flight
        elif self.alt > 300.0:
            terminated, reward = True, reward - 10.0
        obs = self._obs()
        if terminated and self.fault == "terminal_is_reset":
            self._spawn()  # the next sortie starts at once; its start is what comes back
            self.fuel = 1.0
            obs = self._obs()
        self.ended, self.last = terminated, obs
        return obs.copy(), float(reward), terminated, False, {}


class CardDuel(gym.Env):
    """A blackjack-like duel against a dealer, infinite deck (ranks 1..13, faces count 10).

    Observation (Tuple): ``(player total 0..31, dealer's shown card 1..10, usable ace)``.
    Actions: 0 stick (the dealer draws to 17, then the hands are compared), 1 hit (above 21
    the player busts). Reward only at the end: +1, 0 or -1 (sparse and quantised by design);
    hands are short (early termination by design). The dealer's hidden card is not
    observed, so one observation stands for many states. Cards come from
    ``self.np_random`` (stochastic, fully seeded). Stepping after the end pays 0.
    """

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Tuple((spaces.Discrete(32), spaces.Discrete(11),
                                               spaces.Discrete(2)))
        self.action_space = spaces.Discrete(2)
        self.fault = fault
        self.rng: np.random.Generator | None = None
        self.player: list[int] = []
        self.dealer: list[int] = []
        self.ended = False
        self.last: tuple[int, int, int] = (0, 1, 0)

    def _draw(self) -> int:
        gen = self.rng if self.fault == "seed_once" else self.np_random
        return min(int(gen.integers(1, 14)), 10)

    @staticmethod
    def value(hand: list[int]) -> tuple[int, bool]:
        total = sum(hand)
        ace = 1 in hand and total + 10 <= 21
        return total + 10 * ace, ace

    def _obs(self, hand: list[int] | None = None) -> tuple[int, int, int]:
        total, ace = self.value(self.player if hand is None else hand)
        return (total, self.dealer[0], int(ace))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        if self.fault == "seed_once" and self.rng is None:
            self.rng = np.random.default_rng(seed)  # the first seed only; later ones ignored
        self.player = [self._draw(), self._draw()]
        self.dealer = [self._draw(), self._draw()]
        self.ended = False
        self.last = self._obs()
        return self.last, {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self.last, 0.0, True, False, {}
        if int(action) == 1:
            before = list(self.player)
            self.player.append(self._draw())
            terminated = self.value(self.player)[0] > 21
            reward = -1.0 if terminated else 0.0
            # the faulty version builds the observation from the hand before the new card
            obs = self._obs(before if self.fault == "sum_lagged" else None)
        else:
            while self.value(self.dealer)[0] < 17:
                self.dealer.append(self._draw())
            mine, theirs = self.value(self.player)[0], self.value(self.dealer)[0]
            reward = 1.0 if theirs > 21 or mine > theirs else (0.0 if mine == theirs else -1.0)
            terminated = True
            obs = self._obs()
            if self.fault == "dealer_total":
                obs = (obs[0], theirs, obs[2])  # the showdown writes the dealer's total there
        self.ended, self.last = terminated, obs
        return obs, reward, terminated, False, {}


class Quadrotor(gym.Env):
    """A quadrotor holding 1 m altitude; an inner attitude loop levels it. 50 Hz steps.

    Action (Box(4), clipped to [0, 1]): the four motor commands (front, right, back, left);
    all at 0.5 hover. Roll follows right - left, pitch front - back. Observation (Box
    [-5, 5]^7): ``[z - 1, vz / 2, roll, roll rate / 5, pitch, pitch rate / 5, thrust
    headroom]`` with headroom ``sqrt((4 - sum of commands) / 4)``. Reward: minus the
    altitude and tilt error. Touching the ground, leaving 3 m or tilting past 1 rad ends the
    episode (terminated, -10; early termination by design). Otherwise a continuing task:
    the horizon is a TimeLimit.
    """

    DT, G = 0.02, 9.81
    K = 9.81 / 2  # thrust per unit of command, summed over motors: 4 x 0.5 hovers
    TORQUE, KP, KD, DRAG = 20.0, 30.0, 8.0, 0.3
    SAG_AFTER, FREEZE_AFTER = 100, 2000

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(-5.0, 5.0, (7,), np.float32)
        self.action_space = spaces.Box(0.0, 1.0, (4,), np.float32)
        self.fault = fault
        self.s = np.zeros(6)  # z, vz, roll, roll rate, pitch, pitch rate
        self.t, self.lifetime = 0, 0
        self.held: np.ndarray | None = None

    def _obs(self, m: np.ndarray) -> np.ndarray:
        z, vz, roll, p, pitch, q = self.s
        total = float(m.sum())
        if self.fault == "headroom_nan":
            with np.errstate(invalid="ignore"):  # a 3.5 saturation constant: NaN above it
                headroom = np.sqrt(np.float64(3.5 - total) / 3.5)
        else:
            headroom = np.sqrt((4.0 - total) / 4.0)
        obs = np.array([z - 1, vz / 2, roll, p / 5, pitch, q / 5, headroom])
        return np.clip(obs, -5, 5).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.s = np.array([1.0 + self.np_random.uniform(-0.2, 0.2), 0.0,
                           self.np_random.uniform(-0.1, 0.1), 0.0,
                           self.np_random.uniform(-0.1, 0.1), 0.0])
        self.t = 0
        return self._obs(np.full(4, 0.5)), {}

    def step(self, action: Any) -> Any:
        m = np.clip(np.asarray(action, np.float64).reshape(4), 0.0, 1.0)
        if self.fault == "sag" and self.t >= self.SAG_AFTER:
            m = np.minimum(m, 0.6)  # the battery sags: no motor gets above 60%
        z, vz, roll, p, pitch, q = self.s
        az = self.K * m.sum() * np.cos(roll) * np.cos(pitch) - self.G - self.DRAG * vz
        p += (self.TORQUE * (m[1] - m[3]) - self.KP * roll - self.KD * p) * self.DT
        q += (self.TORQUE * (m[0] - m[2]) - self.KP * pitch - self.KD * q) * self.DT
        vz += az * self.DT
        roll, pitch, z = roll + p * self.DT, pitch + q * self.DT, z + vz * self.DT
        self.s = np.array([z, vz, roll, p, pitch, q])
        self.t += 1
        self.lifetime += 1
        grounded = z <= 0.0
        if grounded and self.fault == "ground_flaky":
            grounded = bool(self.np_random.random() < 0.5)  # a flaky contact switch
            if not grounded:
                self.s[0], self.s[1] = 0.0, max(vz, 0.0)  # resting on the ground
        crashed = bool(grounded or z >= 3.0 or abs(roll) > 1.0 or abs(pitch) > 1.0)
        reward = -((z - 1) ** 2) - 0.1 * (roll ** 2 + pitch ** 2) - (10.0 if crashed else 0.0)
        obs = self._obs(m)
        if self.fault == "gyro_freeze" and self.lifetime > self.FREEZE_AFTER:
            if self.held is None:
                self.held = obs[[3, 5]].copy()
            obs[[3, 5]] = self.held  # the gyro stops updating 2000 steps into the env's life
        return obs, float(reward), crashed, False, {}


class Recommender(gym.Env):
    """A news recommender: one user per session, 8 articles with fixed embeddings.

    Dict observation: ``user`` (Box(4) in [-1, 1], the user's taste, fixed for the session)
    and ``seen`` (MultiBinary(8), the articles shown so far). Action: the article to show.
    A new article is clicked with probability ``sigmoid(3 * user . item)`` (reward 1,
    else 0); an article already shown pays 0. After each step the user leaves with
    probability 0.1, or when everything was shown (terminated; early termination by
    design). Clicks and departures come from ``self.np_random``: stochastic, fully seeded.
    """

    N = 8
    ITEMS = np.random.default_rng(0).uniform(-1, 1, (8, 4))  # a constant table
    BATCH_EVERY = 500

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Dict({
            "user": spaces.Box(-1.0, 1.0, (4,), np.float32),
            "seen": spaces.MultiBinary(self.N)})
        self.action_space = spaces.Discrete(self.N)
        self.fault = fault
        self.user = np.zeros(4, np.float32)
        self.seen = np.zeros(self.N, np.int8)
        self.lifetime = 0
        self.ended = True

    def _obs(self) -> dict[str, Any]:
        return {"user": self.user.copy(), "seen": self.seen.copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.user = self.np_random.uniform(-1, 1, 4).astype(np.float32)
        if self.fault != "seen_kept" or self.ended:
            self.seen = np.zeros(self.N, np.int8)  # the faulty version: only after a session end
        self.ended = False
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self._obs(), 0.0, True, False, {}
        a = int(action)
        if self.fault == "catalogue_shrunk":
            a %= 6  # two articles were retired; their slots now show articles 0 and 1
        reward = 0.0
        if self.seen[a]:
            if self.fault == "repeat_click":
                reward = 1.0  # a re-open of an article already read counts as a click
        else:
            p = 1.0 / (1.0 + np.exp(-3.0 * float(self.user @ self.ITEMS[a])))
            reward = float(self.np_random.random() < p)
            self.seen[a] = 1
        self.lifetime += 1
        if self.fault == "revenue_batch" and self.lifetime % self.BATCH_EVERY == 0:
            reward += 250.0  # the nightly ad-revenue batch is credited to the current step
        terminated = bool(self.np_random.random() < 0.1 or self.seen.all())
        self.ended = terminated
        return self._obs(), reward, terminated, False, {}


class Snake(gym.Env):
    """Snake on an 8x8 board rendered as a uint8 RGB image (head red, body green, food
    yellow). Actions: up, down, left, right (absolute). Pressing the direction opposite to
    the heading does nothing (the snake keeps going), by design. Food pays 1 and grows the
    snake; hitting a wall or itself pays -1 and ends the episode. Food cells come from
    ``self.np_random``. Stepping after the end is accepted and pays 0.
    """

    SIZE = 8
    MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))  # (row, col)
    OPPOSITE = (1, 0, 3, 2)
    CORNERS = ((0, 0), (0, 7), (7, 0), (7, 7))

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(0, 255, (self.SIZE, self.SIZE, 3), np.uint8)
        self.action_space = spaces.Discrete(4)
        self.fault = fault
        self.body: list[tuple[int, int]] = [(3, 3), (3, 2), (3, 1)]
        self.heading = 3
        self.food = (5, 5)
        self.t = 0
        self.ended = False

    def _render(self) -> np.ndarray:
        img = np.zeros((self.SIZE, self.SIZE, 3), np.uint8)
        img[self.food] = (255, 255, 0)
        for cell in self.body[1:]:
            img[cell] = (0, 160, 0)
        img[self.body[0]] = (255, 0, 0)
        return img

    def _place_food(self) -> None:
        free = [(r, c) for r in range(self.SIZE) for c in range(self.SIZE)
                if (r, c) not in self.body]
        self.food = free[int(self.np_random.integers(len(free)))]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        r = int(self.np_random.integers(1, self.SIZE - 1))
        c = int(self.np_random.integers(2, self.SIZE - 2))
        self.body = [(r, c), (r, c - 1), (r, c - 2)]
        self.heading, self.t, self.ended = 3, 0, False
        self._place_food()
        return self._render(), {}

    def step(self, action: Any) -> Any:
        if self.ended:
            return self._render(), 0.0, True, False, {}
        a = int(action)
        if a != self.OPPOSITE[self.heading]:
            self.heading = a
        dr, dc = self.MOVES[self.heading]
        head = (self.body[0][0] + dr, self.body[0][1] + dc)
        self.t += 1
        eats = head == self.food
        if (not (0 <= head[0] < self.SIZE and 0 <= head[1] < self.SIZE)
                or head in (self.body if eats else self.body[:-1])):
            self.ended = True
            return self._render(), -1.0, True, False, {}
        self.body.insert(0, head)
        reward = 0.0
        if eats:
            reward = float(head[1] + 1) if self.fault == "food_by_column" else 1.0
            if len(self.body) == self.SIZE ** 2:
                self.ended = True
                return self._render(), reward, True, False, {}
            self._place_food()
        else:
            self.body.pop()
        if (self.fault == "corner_stall" and head in self.CORNERS
                and _STALL["stalls"] < STALL_MAX):
            _STALL["stalls"] += 1
            time.sleep(STALL_S)  # the path helper spins in a corner
        terminated = False
        if self.fault == "spawn_instant_end" and self.t == 1 and self.body[-1][0] in (
                1, self.SIZE - 2):
            terminated = True  # an off-by-one spawn check: a start next to a wall "hits" it
        self.ended = terminated
        frame = self._render()
        if eats and self.fault == "eat_frame_float":
            return frame.astype(np.float32) / 255.0, reward, False, False, {}
        return frame, reward, terminated, False, {}


# --------------------------------------------------------------------------- the set


FAULTS: dict[str, tuple[Callable[[], gym.Env], Category]] = {
    "traffic_switch_counts_queue": (
        lambda: TimeLimit(TrafficLight(fault="switch_counts_queue"), 1000),
        Category.REWARD_HACKING),
    "traffic_uncapped_queue": (lambda: TimeLimit(TrafficLight(fault="uncapped"), 1000),
                               Category.API_CONTRACT),
    "traffic_shift_end_terminated": (lambda: TrafficLight(fault="shift_terminated"),
                                     Category.SILENT_TIMEOUT),
    "traffic_bus_surge_unseeded": (lambda: BusSurge(TimeLimit(TrafficLight(), 1000)),
                                   Category.NONDETERMINISTIC_RESET),
    "lunar_terminal_is_reset": (lambda: TimeLimit(LunarDescent(fault="terminal_is_reset"), 1000),
                                Category.DONE_SEMANTICS),
    "lunar_fuel_kept_on_cut": (lambda: TimeLimit(LunarDescent(fault="fuel_kept"), 1000),
                               Category.RESET_LEAKAGE),
    "lunar_altitude_cm": (lambda: TimeLimit(LunarDescent(fault="altitude_cm"), 1000),
                          Category.OBS_SCALE),
    "lunar_empty_tank_inf": (lambda: TimeLimit(LunarDescent(fault="empty_tank_inf"), 1000),
                             Category.HARNESS_FAILURE),
    "card_seed_once": (lambda: TimeLimit(CardDuel(fault="seed_once"), 50),
                       Category.NONDETERMINISTIC_RESET),
    "card_dealer_total_in_obs": (lambda: TimeLimit(CardDuel(fault="dealer_total"), 50),
                                 Category.API_CONTRACT),
    "card_sum_lagged": (lambda: TimeLimit(CardDuel(fault="sum_lagged"), 50),
                        Category.STALE_OBSERVATION),
    "drone_battery_sag": (lambda: TimeLimit(Quadrotor(fault="sag"), 500),
                          Category.ACTION_SPACE_DRIFT),
    "drone_gyro_freeze_late": (lambda: TimeLimit(Quadrotor(fault="gyro_freeze"), 500),
                               Category.STALE_OBSERVATION),
    "drone_headroom_nan": (lambda: TimeLimit(Quadrotor(fault="headroom_nan"), 500),
                           Category.HARNESS_FAILURE),
    "drone_ground_flaky": (lambda: TimeLimit(Quadrotor(fault="ground_flaky"), 500),
                           Category.DONE_SEMANTICS),
    "rec_seen_kept_on_cut": (lambda: TimeLimit(Recommender(fault="seen_kept"), 50),
                             Category.RESET_LEAKAGE),
    "rec_repeat_click_farm": (lambda: TimeLimit(Recommender(fault="repeat_click"), 50),
                              Category.REWARD_HACKING),
    "rec_catalogue_shrunk": (lambda: TimeLimit(Recommender(fault="catalogue_shrunk"), 50),
                             Category.ACTION_SPACE_DRIFT),
    "rec_revenue_batch_spike": (lambda: TimeLimit(Recommender(fault="revenue_batch"), 50),
                                Category.REWARD_ARTIFACT),
    "snake_eat_frame_float": (lambda: TimeLimit(Snake(fault="eat_frame_float"), 200),
                              Category.API_CONTRACT),
    "snake_corner_stall": (lambda: TimeLimit(Snake(fault="corner_stall"), 200),
                           Category.SILENT_TIMEOUT),
    "snake_spawn_instant_end": (lambda: TimeLimit(Snake(fault="spawn_instant_end"), 200),
                                Category.DONE_SEMANTICS),
    "snake_food_reward_by_column": (lambda: TimeLimit(Snake(fault="food_by_column"), 200),
                                    Category.REWARD_ARTIFACT),
}
HEALTHY: dict[str, Callable[[], gym.Env]] = {
    "traffic_long_day_quantised": lambda: TrafficLight(),
    "lunar_early_touchdown": lambda: TimeLimit(LunarDescent(), 1000),
    "card_sparse_aliased": lambda: TimeLimit(CardDuel(), 50),
    "drone_crash_ends_early": lambda: TimeLimit(Quadrotor(), 500),
    "rec_seeded_clicks": lambda: TimeLimit(Recommender(), 50),
    "snake_reverse_does_nothing": lambda: TimeLimit(Snake(), 200),
}


# --------------------------------------------------------------------------- self-checks


_random_run = second_set._random_run
_same, _same_runs = first_set.same, first_set.same_runs
_fixed_actions, _episode_lengths = first_set.fixed_actions, first_set.episode_lengths










# ---- traffic light

def check_traffic_switch_counts_queue() -> str:
    returns = {}
    for name, period in (("switch every step", 1), ("switch every 10", 10)):
        env = FAULTS["traffic_switch_counts_queue"][0]()
        env.reset(seed=0)
        total = 0.0
        for t in range(300):
            total += env.step(int((t + 1) % period == 0))[1]
        returns[name] = (total, int(env.unwrapped.queue.sum()))
    farm, cycle = returns["switch every step"], returns["switch every 10"]
    assert farm[0] > 2 * cycle[0] and farm[1] > 3 * cycle[1], returns
    return (f"300 steps: switching every step (nobody ever leaves, {farm[1]} cars queued at "
            f"the end) returns {farm[0]:.0f}; a 10-step cycle ({cycle[1]} queued) {cycle[0]:.0f}")


def check_traffic_uncapped_queue() -> str:
    make = FAULTS["traffic_uncapped_queue"][0]
    steps = _random_run(make(), 1, 3000)
    space = make().observation_space
    bad = [i for i, (o, *_) in enumerate(steps) if o not in space]
    first = bad[0] if bad else None
    assert bad and first > 100 and max(int(o[:4].max()) for o, *_ in steps) > 20, first
    return (f"{len(bad)} of 3000 random-step obs have a queue above 20 (outside "
            f"MultiDiscrete 21), the first at step {first}; early steps in space")


def check_traffic_shift_end_terminated() -> str:
    steps = _random_run(FAULTS["traffic_shift_end_terminated"][0](), 2, 900)
    eps = _episode_lengths(steps)
    assert eps == [(300, True, False)] * 3, eps
    return "every episode ends at step 300 with terminated=True (time not in the obs)"


def check_traffic_bus_surge_unseeded() -> str:
    make = FAULTS["traffic_bus_surge_unseeded"][0]
    acts = [t % 7 == 0 for t in range(200)]
    a, b = _fixed_actions(make(), 3, acts), _fixed_actions(make(), 3, acts)
    healthy = [_fixed_actions(TimeLimit(TrafficLight(), 1000), 3, acts) for _ in range(2)]
    assert not _same_runs(a, b) and _same_runs(*healthy)
    return "reset(seed=3) + the same 200 actions, two fresh envs: different queues"


def check_traffic_long_day_quantised() -> str:
    make = HEALTHY["traffic_long_day_quantised"]
    r1, r2 = _random_run(make(), 4, 4800), _random_run(make(), 4, 4800)
    eps = _episode_lengths(r1)
    rewards = np.array([r for _, r, _, _ in r1])
    space = make().observation_space
    assert eps == [(2400, False, True)] * 2 and _same_runs(r1, r2)
    assert np.allclose(rewards * 20, np.round(rewards * 20)) and all(o in space for o, *_ in r1)
    return (f"no TimeLimit: the env's own day ends at step 2400 with truncated=True; rewards "
            f"on a 0.05 grid ({len(set(np.round(rewards, 2)))} values); seeded arrivals reproduce")


# ---- lunar descent

def _lander_policy(obs: np.ndarray) -> np.ndarray:
    """Fall freely, then brake so as to reach the pad at about 1 m/s."""
    alt, vel = float(obs[0]) * 100, float(obs[1]) * 10
    target = -max(1.0, 0.8 * np.sqrt(2 * (LunarDescent.THRUST - LunarDescent.G) * alt))
    u = (LunarDescent.G + 3.0 * (target - vel)) / LunarDescent.THRUST
    return np.array([np.clip(u, 0, 1)], np.float32)


def check_lunar_terminal_is_reset() -> str:
    steps = _random_run(FAULTS["lunar_terminal_is_reset"][0](), 5, 3000)
    terminal = [float(o[0]) for o, _, te, _ in steps if te]
    healthy = [float(o[0]) for o, _, te, _ in _random_run(HEALTHY["lunar_early_touchdown"](),
                                                          5, 3000) if te]
    assert terminal and min(terminal) >= 0.8 and healthy and max(healthy) <= 0.0
    return (f"{len(terminal)} touchdowns: the terminal obs shows altitude "
            f"{min(terminal) * 100:.0f}-{max(terminal) * 100:.0f} m (a fresh start); healthy: 0 m")


def check_lunar_fuel_kept_on_cut() -> str:
    make = FAULTS["lunar_fuel_kept_on_cut"][0]
    env = make()
    env.reset(seed=6)
    for _ in range(30):
        env.step(np.array([1.0], np.float32))  # cut short by reset() 30 burns in
    cut = env.reset(seed=7)[0]
    fresh = make().reset(seed=7)[0]
    env2 = make()
    obs, _ = env2.reset(seed=6)
    while True:
        obs, _, te, tr, _ = env2.step(_lander_policy(obs))
        if te or tr:
            break
    natural = env2.reset(seed=7)[0]
    assert cut[2] < 0.5 and fresh[2] == 1.0 and np.array_equal(natural, fresh), (cut, fresh)
    return (f"reset(seed=7) after an episode cut short: fuel {cut[2]:.2f}; fresh env or "
            f"after a landed episode: fuel 1.00")


def check_lunar_altitude_cm() -> str:
    steps = _random_run(FAULTS["lunar_altitude_cm"][0](), 8, 2000)
    obs = np.abs(np.array([o for o, *_ in steps]))
    scale = np.median(obs, axis=0)
    healthy = np.abs(np.array([o for o, *_ in _random_run(HEALTHY["lunar_early_touchdown"](),
                                                          8, 2000)]))
    assert scale[0] > 1000 * max(scale[1:]) and healthy.max() < 2, scale
    return (f"median |obs| per dim {[round(float(x), 2) for x in scale]}: altitude in cm next to "
            f"values near 1 (healthy obs all below 2)")


def check_lunar_empty_tank_inf() -> str:
    steps = _random_run(FAULTS["lunar_empty_tank_inf"][0](), 9, 3000)
    bad = [(o, te) for o, r, te, _ in steps if not np.isfinite(r)]
    ends = sum(te for *_, te, _ in steps)
    assert bad and all(te and o[2] == 0.0 for o, te in bad)
    assert all(np.isfinite(r) for _, r, te, _ in steps if not te)
    return (f"{len(bad)} of {ends} touchdowns pay reward -inf (crash with an empty tank); "
            f"all other rewards finite")


def check_lunar_early_touchdown() -> str:
    make = HEALTHY["lunar_early_touchdown"]
    r1, r2 = _random_run(make(), 10, 3000), _random_run(make(), 10, 3000)
    eps = _episode_lengths(r1)
    env = make()
    obs, _ = env.reset(seed=11)
    rewards, n = [], 0
    while True:
        obs, r, te, tr, _ = env.step(_lander_policy(obs))
        rewards.append(r)
        n += 1
        if te or tr:
            break
    after = [env.step(np.array([0.5], np.float32))[1:3] for _ in range(2)]
    assert te and rewards[-1] > 9 and _same_runs(r1, r2) and after == [(0.0, True)] * 2
    assert all(te and not tr for _, te, tr in eps) and max(n for n, *_ in eps) < 1000
    return (f"{len(eps)} random episodes all end by touchdown (terminated) within "
            f"{max(n for n, *_ in eps)} steps; a braking policy lands softly (+10) after {n}")


# ---- card duel

def check_card_seed_once() -> str:
    make = FAULTS["card_seed_once"][0]
    env = make()
    hands = []
    for _ in range(6):
        env.reset(seed=12)
        duel = env.unwrapped
        hands.append((tuple(duel.player), tuple(duel.dealer)))
    fresh = []
    for _ in range(2):
        e = make()
        e.reset(seed=12)
        fresh.append((tuple(e.unwrapped.player), tuple(e.unwrapped.dealer)))
    assert len(set(hands)) > 1 and fresh[0] == fresh[1] == hands[0], (hands, fresh)
    return (f"reset(seed=12) six times on one env: {len(set(hands))} different deals; "
            f"fresh envs agree")


def check_card_dealer_total_in_obs() -> str:
    make = FAULTS["card_dealer_total_in_obs"][0]
    space = make().observation_space
    env = make()
    env.action_space.seed(13)
    env.reset(seed=13)
    bad, other, sticks = [], 0, 0
    for _ in range(2000):
        a = env.action_space.sample()
        obs, _, te, tr, _ = env.step(a)
        if obs not in space:
            if te and a == 0:
                bad.append(obs[1])
            else:
                other += 1
        sticks += te and a == 0
        if te or tr:
            env.reset()
    assert bad and len(bad) == sticks and not other, (len(bad), sticks, other)
    return (f"all {sticks} stick endings show the dealer's total ({min(bad)}-{max(bad)}) in "
            f"the Discrete(11) card slot; every other obs in space")


def check_card_sum_lagged() -> str:
    env = FAULTS["card_sum_lagged"][0]()
    env.reset(seed=14)
    stale = 0
    for ep in range(200):
        env.reset(seed=100 + ep)
        duel = env.unwrapped
        shown_before = CardDuel.value(duel.player)[0]
        obs, _, te, _, _ = env.step(1)
        real = CardDuel.value(duel.player)[0]
        if not te and real != shown_before:
            assert obs[0] == shown_before
            stale += 1
    assert stale > 50, stale
    return (f"{stale} of 200 first hits: the total moved, the obs still shows the total "
            f"before the card")


def check_card_sparse_aliased() -> str:
    make = HEALTHY["card_sparse_aliased"]
    r1, r2 = _random_run(make(), 15, 3000), _random_run(make(), 15, 3000)
    assert _same_runs(r1, r2)
    assert all((r == 0.0) or te for _, r, te, _ in r1)
    assert {r for _, r, te, _ in r1 if te} <= {-1.0, 0.0, 1.0}
    eps = _episode_lengths(r1)
    hidden: dict[tuple, set] = {}
    env = make()
    for s in range(300):
        obs, _ = env.reset(seed=s)
        hidden.setdefault(obs, set()).add(env.unwrapped.dealer[1])
    aliased = sum(len(v) > 1 for v in hidden.values())
    assert aliased and max(n for n, *_ in eps) <= 12
    return (f"{len(eps)} hands of 1-{max(n for n, *_ in eps)} steps, reward only at the end "
            f"in {{-1, 0, 1}}; {aliased} start obs seen with different hidden cards; seeded")


# ---- quadrotor

def check_drone_battery_sag() -> str:
    def next_obs(make: Callable[[], gym.Env], warmup: int, cmd: float) -> np.ndarray:
        env = make()
        env.reset(seed=16)
        for _ in range(warmup):
            env.step(np.full(4, 0.5, np.float32))
        return env.step(np.full(4, cmd, np.float32))[0]
    make = FAULTS["drone_battery_sag"][0]
    late_same = np.array_equal(next_obs(make, 150, 0.8)[:6], next_obs(make, 150, 0.6)[:6])
    early_same = np.array_equal(next_obs(make, 10, 0.8)[:6], next_obs(make, 10, 0.6)[:6])
    healthy = HEALTHY["drone_crash_ends_early"]
    h_same = np.array_equal(next_obs(healthy, 150, 0.8)[:6], next_obs(healthy, 150, 0.6)[:6])
    assert late_same and not early_same and not h_same
    return ("after 100 steps of an episode, commands 0.8 and 0.6 give the same motion "
            "(before: they differ; healthy: they differ)")


def check_drone_gyro_freeze_late() -> str:
    steps = _random_run(FAULTS["drone_gyro_freeze_late"][0](), 17, 3000)
    rates = np.array([o[[3, 5]] for o, *_ in steps])
    early = len({tuple(r) for r in rates[:2000]})
    late = len({tuple(r) for r in rates[2000:]})
    moving = len({tuple(o[[0, 2, 4]]) for o, *_ in steps[2000:]})
    assert early > 1500 and late == 1 and moving > 900, (early, late, moving)
    return (f"gyro rates take {early} values in the env's first 2000 steps, then one value "
            f"for 1000 steps while the drone keeps moving")


def check_drone_headroom_nan() -> str:
    steps = _random_run(FAULTS["drone_headroom_nan"][0](), 18, 6000)
    bad = sum(not np.isfinite(o).all() for o, *_ in steps)
    assert 0 < bad < 0.01 * len(steps), bad
    return f"{bad} of 6000 random-step obs hold NaN (commands summing above 3.5)"


def check_drone_ground_flaky() -> str:
    ends = {}
    for name, make in (("fault", FAULTS["drone_ground_flaky"][0]),
                       ("healthy", HEALTHY["drone_crash_ends_early"])):
        out = []
        for s in range(20):
            env = make()
            env.reset(seed=s)
            env.unwrapped.s = np.array([0.005, -0.5, 0.0, 0.0, 0.0, 0.0])
            out.append(env.step(np.full(4, 0.5, np.float32))[2])
        ends[name] = out
    assert 0 < sum(ends["fault"]) < 20 and all(ends["healthy"]), ends
    return (f"the same state hitting the ground: terminated in {sum(ends['fault'])} of 20 "
            f"tries (healthy: 20 of 20)")


def check_drone_crash_ends_early() -> str:
    make = HEALTHY["drone_crash_ends_early"]
    r1, r2 = _random_run(make(), 19, 5000), _random_run(make(), 19, 5000)
    eps = _episode_lengths(r1)
    crashes = [n for n, te, _ in eps if te]
    space = make().observation_space
    assert _same_runs(r1, r2) and crashes and all(o in space for o, *_ in r1)
    return (f"{len(crashes)} of {len(eps)} random episodes end in a crash (terminated, "
            f"{min(crashes)}-{max(crashes)} steps), the rest truncated at 500; obs in space")


# ---- recommender

def check_rec_seen_kept_on_cut() -> str:
    make = FAULTS["rec_seen_kept_on_cut"][0]
    for seed in range(20, 60):
        env = make()
        env.reset(seed=seed)
        out = [env.step(a)[2] for a in (0, 1, 2)]
        if not any(out):
            break
    cut = env.reset(seed=61)[0]
    fresh = make().reset(seed=61)[0]
    env2 = make()
    env2.reset(seed=seed)
    while not env2.step(env2.action_space.sample())[2]:
        pass
    natural = env2.reset(seed=61)[0]
    assert cut["seen"].sum() == 3 and fresh["seen"].sum() == 0 and _same(natural, fresh)
    return ("reset(seed=61) after a session cut short: seen has 3 ones; fresh env or after a "
            "session that ended: all zeros")


def check_rec_repeat_click_farm() -> str:
    rets = {}
    for name, make in (("fault", FAULTS["rec_repeat_click_farm"][0]),
                       ("healthy", HEALTHY["rec_seeded_clicks"])):
        env = make()
        env.reset(seed=22)
        total, eps = 0.0, 1
        for _ in range(500):
            _, r, te, tr, _ = env.step(0)
            total += r
            if te or tr:
                env.reset()
                eps += 1
        rets[name] = (total, eps)
    assert rets["fault"][0] > 300 and rets["healthy"][0] <= rets["healthy"][1], rets
    return (f"showing article 0 for 500 steps: {rets['fault'][0]:.0f} reward "
            f"(healthy: {rets['healthy'][0]:.0f} in {rets['healthy'][1]} sessions)")


def check_rec_catalogue_shrunk() -> str:
    outs = {}
    for name, make in (("fault", FAULTS["rec_catalogue_shrunk"][0]),
                       ("healthy", HEALTHY["rec_seeded_clicks"])):
        pair = [_fixed_actions(make(), 23, [a]) for a in (6, 0)]
        outs[name] = _same_runs(*pair)
    assert outs["fault"] and not outs["healthy"], outs
    return "actions 6 and 0 (7 and 1) give identical steps; articles 6 and 7 cannot be shown"


def check_rec_revenue_batch_spike() -> str:
    steps = _random_run(FAULTS["rec_revenue_batch_spike"][0](), 24, 2000)
    spikes = [i + 1 for i, (_, r, _, _) in enumerate(steps) if r >= 250]
    others = {r for _, r, _, _ in steps if r < 250}
    assert spikes == [500, 1000, 1500, 2000] and others <= {0.0, 1.0}, (spikes, others)
    return "rewards in {0, 1} except 250+ at steps 500, 1000, 1500, 2000 of the env's life"


def check_rec_seeded_clicks() -> str:
    make = HEALTHY["rec_seeded_clicks"]
    r1, r2, r3 = (_random_run(make(), 25, 2000), _random_run(make(), 25, 2000),
                  _random_run(make(), 26, 2000))
    space = make().observation_space
    eps = _episode_lengths(r1)
    assert _same_runs(r1, r2) and not _same_runs(r1, r3)
    assert all(o in space for o, *_ in r1) and {r for _, r, _, _ in r1} == {0.0, 1.0}
    assert all(te for _, te, _ in eps)
    return (f"same seed -> same clicks and departures, other seed differs; {len(eps)} "
            f"sessions, mean {np.mean([n for n, *_ in eps]):.1f} steps, all end by departure")


# ---- snake

def _food_ahead(env: gym.Env, seed: int) -> Snake:
    env.reset(seed=seed)
    game = env.unwrapped
    head = game.body[0]
    game.food = (head[0], head[1] + 1)  # right in front of the snake (heading right)
    return game


def check_snake_eat_frame_float() -> str:
    make = FAULTS["snake_eat_frame_float"][0]
    env = make()
    _food_ahead(env, 27)
    eat = env.step(3)[0]
    steps = _random_run(make(), 27, 3000)
    space = make().observation_space
    eats = [o for o, r, _, _ in steps if r > 0]
    other = [o for o, r, _, _ in steps if r <= 0]
    assert eat.dtype == np.float32 and eat not in space and eats
    assert all(o.dtype == np.float32 for o in eats) and all(o in space for o in other)
    return (f"the frame of each eating step is float32 in [0, 1] ({len(eats)} in 3000 random "
            f"steps); all other frames uint8 in space")


def check_snake_corner_stall() -> str:
    env = FAULTS["snake_corner_stall"][0]()
    saved = dict(_STALL)
    _STALL.update(stalls=0)
    try:
        env.reset(seed=28)
        game = env.unwrapped
        game.body, game.heading, game.food = [(0, 3), (1, 3), (2, 3)], 0, (5, 5)
        times = []
        for a in (2, 2, 2, 1):  # left along the top wall into the corner, then down
            t0 = time.perf_counter()
            env.step(a)
            times.append(time.perf_counter() - t0)
    finally:
        _STALL.clear()
        _STALL.update(saved)  # the scoring pass gets the full stall budget
    assert times[2] > 0.4 and max(times[:2] + times[3:]) < 0.01, times
    return (f"the step into corner (0, 0) blocks {times[2]:.2f} s, other steps "
            f"{max(times[:2] + times[3:]) * 1e6:.0f} us; at most 5 stalls per process")


def check_snake_spawn_instant_end() -> str:
    steps = _random_run(FAULTS["snake_spawn_instant_end"][0](), 29, 3000)
    eps = _episode_lengths(steps)
    first = [(steps[sum(n for n, *_ in eps[:i])][1], te)
             for i, (n, te, _) in enumerate(eps) if n == 1]
    instant = sum(1 for r, te in first if te and r == 0.0)
    h_eps = _episode_lengths(_random_run(HEALTHY["snake_reverse_does_nothing"](), 29, 3000))
    assert 0.15 * len(eps) < instant < 0.6 * len(eps) and min(n for n, *_ in h_eps) > 1
    return (f"{instant} of {len(eps)} episodes end terminated=True on their first step with "
            f"reward 0 and no collision (healthy: no episode ends at step 1)")


def check_snake_food_reward_by_column() -> str:
    make = FAULTS["snake_food_reward_by_column"][0]
    paid = []
    for seed in (30, 31, 32, 33):
        env = make()
        game = _food_ahead(env, seed)
        col = game.food[1]
        paid.append((col, env.step(3)[1]))
    assert len({r for _, r in paid}) > 1 and all(r == col + 1 for col, r in paid), paid
    return f"eating pays the food's column + 1: (column, reward) {paid}"


def check_snake_reverse_does_nothing() -> str:
    make = HEALTHY["snake_reverse_does_nothing"]
    pairs = []
    for seed in range(34, 44):
        nxt = []
        for a in (2, 3):  # reverse (left) vs keep going (right)
            env = make()
            env.reset(seed=seed)
            nxt.append(env.step(a)[:4])
        pairs.append(_same_runs([nxt[0]], [nxt[1]]))
    r1, r2 = _random_run(make(), 34, 3000), _random_run(make(), 34, 3000)
    food = sum(r > 0 for _, r, _, _ in r1)
    assert all(pairs) and _same_runs(r1, r2) and {r for _, r, _, _ in r1} <= {-1.0, 0.0, 1.0}
    return (f"pressing reverse = keeping the heading in 10 of 10 starts; {food} foods in 3000 "
            f"random steps (sparse); seeded food reproduces")


SELF_CHECKS: dict[str, Callable[[], str]] = {
    name: globals()[f"check_{name}"] for name in (*FAULTS, *HEALTHY)
}


def main() -> int:
    return first_set.run_checked_set(FAULTS, HEALTHY, SELF_CHECKS)


if __name__ == "__main__":
    sys.exit(main())
