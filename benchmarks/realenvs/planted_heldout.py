"""Held-out planted envs for issue #15: never used to tune a threshold.

Different bases from the tuning set (``tests/envcheck/planted.py``): a 1-D chain with a
Box observation, a continuous point mass, a key-and-door grid. One fault class each, plus
healthy envs whose task properties must not be errors.

Usage: .venv/bin/python benchmarks/realenvs/planted_heldout.py
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Category, Severity


class Chain(gym.Env):
    """A chain of ``N`` cells, Box obs ``[x / N]``; the far end pays 5."""

    N = 8

    def __init__(self, *, fault: str = "") -> None:
        self.observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self.action_space = spaces.Discrete(3)  # left, stay, right
        self.fault = fault
        self.x, self.t, self.owed = 0, 0, 0.0
        self.jitter = np.random.default_rng(7)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.x, self.owed = 0, 0.0
        if self.fault != "steps_kept":
            self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action: Any) -> Any:
        a = int(action)
        if self.fault == "clip_actions":
            a = min(max(a, 0), 2)
        elif not 0 <= a <= 2:
            raise IndexError(a)
        if self.owed:
            owed, self.owed = self.owed, 0.0
            return np.array([1.0], np.float32), owed, True, False, {}
        if self.fault == "jitter" and self.jitter.random() < 0.3:
            a = 2 - a
        self.x = min(max(self.x + a - 1, 0), self.N)
        self.t += 1
        at_end = self.x == self.N
        reward = 5.0 if at_end else -0.1
        terminated = at_end and self.fault != "farm"
        truncated = self.t >= 40 and not terminated
        if (terminated or truncated) and self.fault == "steps_kept":
            self.t = 0
        obs = np.array([self.x / self.N], np.float32)
        if terminated and self.fault == "terminal_float64":
            obs = obs.astype(np.float64)
        if terminated and self.fault == "late_pay":
            self.owed, reward = 50.0, -0.1
        return obs, reward, terminated, truncated, {}


class PointMass(gym.Env):
    """A continuous point mass pushed toward 0; reward -|x| quantised to 0.05 by design."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-5.0, 5.0, (2,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.s = np.zeros(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.s = self.np_random.uniform(-1, 1, 2)
        return self.s.astype(np.float32), {}

    def step(self, action: Any) -> Any:
        u = float(np.clip(np.asarray(action).reshape(-1)[0], -1, 1))
        self.s = np.clip(self.s + 0.05 * np.array([self.s[1], u]), -5, 5)
        return self.s.astype(np.float32), round(-abs(self.s[0]) / 0.05) * 0.05, False, False, {}


class Flicker(gym.Env):
    """Memory task: a Dict with a goal text and an image that is blank on most steps."""

    def __init__(self) -> None:
        self.observation_space = spaces.Dict({
            "frame": spaces.Box(0, 1, (4,), np.uint8),
            "goal": spaces.Text(max_length=12, charset="abcdefghijklmnopqrstuvwxyz "),
        })
        self.action_space = spaces.Discrete(4)
        self.target, self.t = 0, 0

    def _obs(self) -> dict[str, Any]:
        frame = np.zeros(4, np.uint8)
        if self.t == 0:
            frame[self.target] = 1
        return {"frame": frame, "goal": "recall cue"}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.target, self.t = int(self.np_random.integers(4)), 0
        return self._obs(), {}

    def step(self, action: Any) -> Any:
        self.t += 1
        if self.t < 5:
            return self._obs(), 0.0, False, False, {}
        return self._obs(), float(int(action) == self.target), True, False, {}


class OwnRngWrapper(gym.ObservationWrapper):
    """Observation dropout from a ``random.Random`` seeded once, never by reset."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        import random

        self.dropout = random.Random(3)

    def observation(self, observation: Any) -> Any:
        return observation * 0 if self.dropout.random() < 0.1 else observation


FAULTS: dict[str, tuple[Callable[[], gym.Env], Category]] = {
    "chain_terminal_float64": (lambda: Chain(fault="terminal_float64"), Category.API_CONTRACT),
    "chain_clipped_discrete": (lambda: Chain(fault="clip_actions"), Category.ACTION_SPACE_DRIFT),
    "chain_late_pay": (lambda: Chain(fault="late_pay"), Category.DONE_SEMANTICS),
    "chain_farm": (lambda: Chain(fault="farm"), Category.REWARD_HACKING),
    "chain_dropout_rng": (lambda: OwnRngWrapper(Chain()), Category.NONDETERMINISTIC_RESET),
    "chain_steps_kept": (lambda: Chain(fault="steps_kept"), Category.RESET_LEAKAGE),
}
HEALTHY: dict[str, Callable[[], gym.Env]] = {
    "chain": Chain,
    "point_mass_quantised": lambda: TimeLimit(PointMass(), 200),
    "flicker_memory": Flicker,
}


def same(a: Any, b: Any) -> bool:
    """Two observations (or any step outputs) equal: arrays elementwise, Dict and Tuple
    observations entry by entry."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def same_runs(r1: list[Any], r2: list[Any]) -> bool:
    """Two runs of ``(obs, reward, terminated, truncated)`` steps equal step by step."""
    return len(r1) == len(r2) and all(
        same(x[0], y[0]) and same(x[1:], y[1:]) for x, y in zip(r1, r2, strict=True))


def fixed_actions(env: gym.Env, seed: int, actions: list[Any]) -> list[tuple[Any, ...]]:
    """``reset(seed)`` then ``actions``: each step's ``(obs, reward, terminated, truncated)``."""
    env.reset(seed=seed)
    return [env.step(a)[:4] for a in actions]


def episode_lengths(steps: list[tuple[Any, ...]]) -> list[tuple[int, bool, bool]]:
    """(length, terminated, truncated) of each finished episode of a run of steps."""
    out, n = [], 0
    for _, _, te, tr in steps:
        n += 1
        if te or tr:
            out.append((n, bool(te), bool(tr)))
            n = 0
    return out


def score(faults: dict[str, tuple[Callable[[], gym.Env], Category]],
          healthy: dict[str, Callable[[], gym.Env]]) -> int:
    """Run rlvet's env QA on every env and print the table and the summary line."""
    named = 0
    false_errors = 0
    print("| planted env | expected | named | error findings |")
    print("|---|---|---|---|")
    for name, (make, category) in faults.items():
        found = run_env_qa(EnvQAConfig(spec=name, factory=make)).result.findings
        hit = any(f.category == category and f.severity != Severity.INFO for f in found)
        named += hit
        errors = sorted({str(f.category) for f in found if f.severity == Severity.ERROR})
        print(f"| `{name}` | {category} | {'yes' if hit else 'NO'} | {', '.join(errors) or '-'} |")
    for name, make in healthy.items():
        found = run_env_qa(EnvQAConfig(spec=name, factory=make)).result.findings
        errors = sorted({str(f.category) for f in found if f.severity == Severity.ERROR})
        false_errors += bool(errors)
        print(f"| `{name}` (healthy) | none | - | {', '.join(errors) or '-'} |")
    print(f"\nnamed {named}/{len(faults)}; "
          f"healthy envs with an error: {false_errors}/{len(healthy)}")
    return 0


def run_set(faults: dict[str, tuple[Callable[[], gym.Env], Category]],
            healthy: dict[str, Callable[[], gym.Env]], self_check: Callable[[], bool]) -> int:
    """A later held-out set's command line: its self-checks first (no rlvet; the set is not
    scored if one fails), then, without ``--self-check-only``, the table."""
    parser = argparse.ArgumentParser(description="a held-out planted env set: self-checks, "
                                     "then rlvet's verdict on every env")
    parser.add_argument("--self-check-only", action="store_true",
                        help="run the self-checks (no rlvet) and stop")
    args = parser.parse_args()  # an unknown argument: one line, exit 2
    print("self-checks (no rlvet):")
    if not self_check():
        return 1
    if args.self_check_only:
        return 0
    print()
    return score(faults, healthy)


def run_checked_set(faults: dict[str, tuple[Callable[[], gym.Env], Category]],
                    healthy: dict[str, Callable[[], gym.Env]],
                    checks: dict[str, Callable[[], str]]) -> int:
    """``run_set`` for a set whose every env, healthy ones included, has a self-check
    returning a one-line description (an AssertionError when the fault or property does not
    show)."""
    def self_check() -> bool:
        ok = True
        for name, check in checks.items():
            label = "healthy" if name in healthy else "fault present"
            try:
                print(f"  {label}: {name}: {check()}")
            except AssertionError as exc:
                ok = False
                print(f"  CHECK FAILED: {name}: {exc!r}")
        return ok
    return run_set(faults, healthy, self_check)


def main() -> int:
    return score(FAULTS, HEALTHY)


if __name__ == "__main__":
    sys.exit(main())
