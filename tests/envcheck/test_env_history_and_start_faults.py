"""Faults that only show with an env's age, at some starts, late in an episode, or on a
payment made on most steps, each beside its healthy twin:

* a sensor that freezes after N steps of the env's life is a stale observation, and a
  reward spike credited every N-th step of its life, or a reward unit that changes with
  it, a reward artifact (all found by the
  fresh-env replay that finds reset leakage, which stays the name of a state kept across
  reset that changes the dynamics);
* reset() handing out a start every action ends at once, paid alike, is a done-semantics
  warning; a card game whose moves all end some deals, paid differently, is not;
* a click paid again for re-opening what was read is farming even though sessions end at
  random; the honest recommender is not;
* an action range that shrinks after step N of an episode is action drift.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Finding, Severity


def _findings(name: str, make: Any) -> list[Finding]:
    return list(run_env_qa(EnvQAConfig(spec=name, factory=make)).result.findings)


def _named(found: list[Finding], category: Category) -> list[Severity]:
    return [f.severity for f in found if f.category == category]


class Thermostat(gym.Env):
    """A room heated by a Box(1) action; observation: temperature, heater level, outdoor
    temperature. ``fault``: ``"sensor_freeze"`` holds the outdoor reading after 400 steps of
    the env's life; ``"billing_spike"`` credits 300 on every 400th step of its life;
    ``"unit_change"`` pays in cents (x100) after 400 steps of its life;
    ``"drift_kept"`` keeps the room's temperature across reset (a real leak)."""

    def __init__(self, fault: str = "") -> None:
        self.observation_space = spaces.Box(-50.0, 80.0, (3,), np.float32)
        self.action_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self.fault, self.life, self.held = fault, 0, None
        self.temp, self.t = 15.0, 0

    def _outdoor(self) -> float:
        return 10.0 + 5.0 * np.sin(self.t / 7.0) + float(self.np_random.normal(0, 0.5))

    def _obs(self, heat: float) -> np.ndarray:
        out = np.array([self.temp, heat, self._outdoor()], np.float32)
        if self.fault == "sensor_freeze" and self.life > 400:
            if self.held is None:
                self.held = float(out[2])
            out[2] = self.held
        return out

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        if self.fault != "drift_kept" or self.life == 0:
            self.temp = float(self.np_random.uniform(12, 18))
        self.t = 0
        return self._obs(0.0), {}

    def step(self, action: Any) -> Any:
        heat = float(np.clip(np.asarray(action).reshape(-1)[0], 0.0, 1.0))
        self.t += 1
        self.life += 1
        self.temp += 0.5 * heat - 0.05 * (self.temp - 10.0)
        reward = -abs(self.temp - 21.0) - 0.1 * heat
        if self.fault == "billing_spike" and self.life % 400 == 0:
            reward += 300.0
        if self.fault == "unit_change" and self.life > 400:
            reward *= 100.0
        return self._obs(heat), float(reward), False, False, {}


def test_a_sensor_that_freezes_as_the_env_ages_is_a_stale_observation() -> None:
    found = _findings("thermostat", lambda: TimeLimit(Thermostat("sensor_freeze"), 60))
    assert _named(found, Category.STALE_OBSERVATION) == [Severity.ERROR]
    assert _named(found, Category.RESET_LEAKAGE) == []


def test_a_reward_spike_that_follows_the_env_age_is_a_reward_artifact() -> None:
    found = _findings("thermostat", lambda: TimeLimit(Thermostat("billing_spike"), 60))
    assert Severity.ERROR in _named(found, Category.REWARD_ARTIFACT)
    assert _named(found, Category.RESET_LEAKAGE) == []


def test_a_reward_unit_that_changes_as_the_env_ages_is_a_reward_artifact() -> None:
    found = _findings("thermostat", lambda: TimeLimit(Thermostat("unit_change"), 60))
    assert Severity.ERROR in _named(found, Category.REWARD_ARTIFACT)
    assert _named(found, Category.RESET_LEAKAGE) == []


def test_state_kept_across_reset_stays_reset_leakage() -> None:
    found = _findings("thermostat", lambda: TimeLimit(Thermostat("drift_kept"), 60))
    assert _named(found, Category.RESET_LEAKAGE) == [Severity.ERROR]


def test_the_healthy_thermostat_has_no_history_finding() -> None:
    found = _findings("thermostat", lambda: TimeLimit(Thermostat(), 60))
    errors = [f for f in found if f.severity == Severity.ERROR]
    assert errors == []


class Corridor(gym.Env):
    """Walk right along a 9-cell corridor to the exit (+1, terminated); walls end nothing.
    ``dead_spawn``: a start in the first two cells is "already out" (terminated at the
    first step whatever the move, paid 0), as an off-by-one spawn check would do."""

    def __init__(self, dead_spawn: bool = False) -> None:
        self.observation_space = spaces.Discrete(9)
        self.action_space = spaces.Discrete(3)  # left, stay, right
        self.dead_spawn, self.cell, self.t = dead_spawn, 0, 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.cell, self.t = int(self.np_random.integers(0, 6)), 0
        return self.cell, {}

    def step(self, action: Any) -> Any:
        self.t += 1
        start = self.cell
        self.cell = int(np.clip(self.cell + int(action) - 1, 0, 8))
        if self.dead_spawn and self.t == 1 and start < 2:
            return self.cell, 0.0, True, False, {}
        done = self.cell == 8
        return self.cell, float(done), done, False, {}


def test_starts_every_action_ends_alike_are_a_done_semantics_warning() -> None:
    found = _findings("corridor", lambda: TimeLimit(Corridor(dead_spawn=True), 50))
    dead = [f for f in found if "already over" in f.message]
    assert [(f.category, f.severity) for f in dead] == [(Category.DONE_SEMANTICS,
                                                          Severity.WARNING)]


def test_the_honest_corridor_and_blackjack_have_no_dead_starts() -> None:
    for name, make in (("corridor", lambda: TimeLimit(Corridor(), 50)),
                       ("Blackjack-v1", lambda: gym.make("Blackjack-v1"))):
        found = _findings(name, make)
        assert not any("already over" in f.message for f in found), name


class Reader(gym.Env):
    """Show one of 6 articles; a first read is clicked with probability 0.7; the session
    ends with probability 0.1 per step. ``reclick``: re-showing an article already read
    pays a click again (the loop)."""

    def __init__(self, reclick: bool = False) -> None:
        self.observation_space = spaces.MultiBinary(6)
        self.action_space = spaces.Discrete(6)
        self.reclick = reclick
        self.seen = np.zeros(6, np.int8)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.seen = np.zeros(6, np.int8)
        return self.seen.copy(), {}

    def step(self, action: Any) -> Any:
        a = int(action)
        if self.seen[a]:
            reward = 1.0 if self.reclick else 0.0
        else:
            reward = float(self.np_random.random() < 0.7)
            self.seen[a] = 1
        terminated = bool(self.np_random.random() < 0.1)
        return self.seen.copy(), reward, terminated, False, {}


def test_a_click_paid_again_for_a_reread_is_farming() -> None:
    found = _findings("reader", lambda: TimeLimit(Reader(reclick=True), 40))
    assert _named(found, Category.REWARD_HACKING) == [Severity.WARNING]


def test_the_honest_reader_is_not_farmed() -> None:
    found = _findings("reader", lambda: TimeLimit(Reader(), 40))
    assert _named(found, Category.REWARD_HACKING) == []


class Winch(gym.Env):
    """Reel a load to height 5 with a Box(1) motor in [-1, 1]. ``overheat``: from step 60
    of an episode the motor delivers at most half its range."""

    def __init__(self, overheat: bool = False) -> None:
        self.observation_space = spaces.Box(-100.0, 100.0, (2,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.overheat, self.h, self.v, self.t = overheat, 0.0, 0.0, 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.h, self.v, self.t = float(self.np_random.uniform(-1, 1)), 0.0, 0
        return np.array([self.h, self.v], np.float32), {}

    def step(self, action: Any) -> Any:
        u = float(np.clip(np.asarray(action).reshape(-1)[0], -1.0, 1.0))
        if self.overheat and self.t >= 60:
            u = float(np.clip(u, -0.5, 0.5))
        self.t += 1
        self.v = 0.9 * self.v + 0.1 * u
        self.h += self.v
        return (np.array([self.h, self.v], np.float32), -abs(self.h - 5.0), False, False, {})


def test_an_action_range_that_shrinks_late_in_the_episode_is_action_drift() -> None:
    found = _findings("winch", lambda: TimeLimit(Winch(overheat=True), 200))
    assert any(f.category == Category.ACTION_SPACE_DRIFT and "shrinks" in f.message
               for f in found)


def test_the_healthy_winch_keeps_its_range() -> None:
    found = _findings("winch", lambda: TimeLimit(Winch(), 200))
    assert not any("shrinks" in f.message for f in found)
