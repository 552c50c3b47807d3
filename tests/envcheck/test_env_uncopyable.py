"""Envs that do not survive a deep copy: out-of-range actions are not judged, not accused.

PyBullet envs (panda-gym) share a physics-server connection with their copies; when a copy
is collected the connection closes and the original's next step raises. rlvet's
out-of-range action probe compares copies, so on the real-env corpus's held-out half it
called panda-gym's clipping "an effect unlike the clipped action" (a warning the env did
not deserve). ``SharedServer`` reproduces the mechanism on Gymnasium's Pendulum.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import pytest

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Severity


class Server:
    """A physics server: one simulation, shared by every copy of the env that connects."""

    def __init__(self) -> None:
        self.sim = gym.make("Pendulum-v1")
        self.open = True

    def __deepcopy__(self, memo: dict[int, Any]) -> Server:
        return self  # a copy holds the same client id, so it drives the same simulation


class SharedServer(gym.Env):
    """Pendulum (which clips its actions) run on a ``Server``; a dropped copy disconnects."""

    def __init__(self) -> None:
        self.server = Server()
        self.observation_space = self.server.sim.observation_space
        self.action_space = self.server.sim.action_space
        self.is_copy = False

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedServer:
        twin = object.__new__(SharedServer)
        twin.__dict__.update(self.__dict__, is_copy=True)
        return twin

    def __del__(self) -> None:
        if self.is_copy:
            self.server.open = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        return self.server.sim.reset(seed=seed, options=options)

    def step(self, action: Any) -> Any:
        if not self.server.open:
            raise RuntimeError("Not connected to physics server.")
        return self.server.sim.step(action)


def _drift(factory: Any) -> list[tuple[Category, Severity]]:
    findings = run_env_qa(EnvQAConfig(spec="test", factory=factory, episodes=3)).result.findings
    return [(f.category, f.severity) for f in findings
            if f.category in (Category.ACTION_SPACE_DRIFT, Category.INSUFFICIENT_EVIDENCE)
            and "out-of-range" in f.message]


@pytest.mark.slow
def test_uncopyable_env_gets_no_out_of_range_warning() -> None:
    assert _drift(SharedServer) == [(Category.INSUFFICIENT_EVIDENCE, Severity.INFO)]


@pytest.mark.slow
def test_copyable_clipping_env_is_still_judged() -> None:
    assert _drift(lambda: gym.make("Pendulum-v1")) == [(Category.ACTION_SPACE_DRIFT,
                                                        Severity.INFO)]


@pytest.mark.slow
def test_panda_gym_clipping_is_not_an_out_of_range_warning() -> None:
    pytest.importorskip("panda_gym")
    assert (Category.ACTION_SPACE_DRIFT, Severity.WARNING) not in _drift(
        lambda: gym.make("PandaReach-v3"))


class Emulator(gym.Env):
    """A game whose deep copy restarts the cartridge: ``copy.deepcopy`` of an ALE env builds
    a new emulator at power-on, where the first frames ignore the joystick. The real game
    moves the player 1, 2 or 3 cells per step (by action) once its intro is over."""

    INTRO = 5  # power-on frames that ignore the action

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-1000.0, 1000.0, (1,))
        self.action_space = gym.spaces.Discrete(3)
        self.t, self.x = 0, 0.0

    def __deepcopy__(self, memo: dict[int, Any]) -> Emulator:
        return Emulator()  # the state is not carried: a copy is a fresh power-on

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.t, self.x = 0, 0.0
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        self.t += 1
        if self.t > self.INTRO:
            self.x += float(action) + 1.0
        return self._obs(), 0.0, False, self.t >= 200, {}

    def _obs(self) -> Any:
        import numpy as np

        return np.array([self.x], dtype=np.float32)


@pytest.mark.slow
def test_copies_that_do_not_carry_the_state_are_not_evidence_of_a_stale_observation() -> None:
    findings = run_env_qa(EnvQAConfig(spec="test", factory=Emulator, episodes=3)).result.findings
    stale = [(f.category, f.severity) for f in findings if f.check == "envcheck.stale_observation"]
    assert stale == [(Category.INSUFFICIENT_EVIDENCE, Severity.INFO)]
