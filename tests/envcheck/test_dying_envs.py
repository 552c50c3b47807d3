"""Envs that kill, freeze or flood their process are findings, never a PASS or a frozen CLI.

Each env is a real factory in a file, as a user would pass it (``envs.py:exit_step``): it
calls ``os._exit``, ``os.abort()``, dereferences NULL through ctypes, sleeps forever or
allocates without bound in its factory, constructor, module import, ``reset`` or ``step``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from rlvet import sandbox
from rlvet.cli import main
from rlvet.envcheck.suite import EnvQAConfig
from rlvet.errors import RlvetInputError

ENVS = '''
import ctypes
import os
import time

import gymnasium as gym
import numpy as np

ACTIONS = {
    "exit": lambda: os._exit(3),
    "abort": os.abort,
    "segv": lambda: ctypes.string_at(0),
    "sleep": lambda: time.sleep(3600),
}


class Doomed(gym.Wrapper):
    def __init__(self, where, how):
        super().__init__(gym.make("CartPole-v1"))
        self.where, self.how, self.hog = where, how, []

    def _maybe(self, where):
        if where == self.where:
            if self.how == "hog":
                self.hog.append(np.ones(100_000_000))  # 800 MB per call
            else:
                ACTIONS[self.how]()

    def reset(self, **kwargs):
        self._maybe("reset")
        return self.env.reset(**kwargs)

    def step(self, action):
        self._maybe("step")
        return self.env.step(action)


class SleepyConstructor(gym.Env):
    def __init__(self):
        time.sleep(3600)


def exit_step():
    return Doomed("step", "exit")


def abort_step():
    return Doomed("step", "abort")


def segv_step():
    return Doomed("step", "segv")


def exit_reset():
    return Doomed("reset", "exit")


def abort_reset():
    return Doomed("reset", "abort")


def segv_reset():
    return Doomed("reset", "segv")


def exit_factory():
    os._exit(4)


def abort_factory():
    os.abort()


def segv_factory():
    ctypes.string_at(0)


def sleep_step():
    return Doomed("step", "sleep")


def sleep_reset():
    return Doomed("reset", "sleep")


def sleepy_constructor():
    return SleepyConstructor()


def hog_step():
    return Doomed("step", "hog")
'''

SLEEPY_MODULE = "import time\ntime.sleep(3600)\n\ndef make():\n    pass\n"
DYING_MODULE = "import os\nos._exit(5)\n\ndef make():\n    pass\n"
DEATH_BOUND_S = 60.0  # a death is seen at once; the bound only absorbs a loaded machine


@pytest.fixture()
def envs(tmp_path: Path) -> Path:
    path = tmp_path / "envs.py"
    path.write_text(ENVS)
    return path


def _env_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, float]:
    started = time.monotonic()
    code = main(["env", *args, "--episodes", "2", "--json"])
    elapsed = time.monotonic() - started
    return code, json.loads(capsys.readouterr().out), elapsed


@pytest.mark.parametrize(
    ("factory", "call", "exit_code", "signal"),
    [
        ("exit_step", "step", 3, None),
        ("abort_step", "step", -6, "SIGABRT"),
        ("segv_step", "step", -11, "SIGSEGV"),
        ("exit_reset", "reset", 3, None),
        ("abort_reset", "reset", -6, "SIGABRT"),
        ("segv_reset", "reset", -11, "SIGSEGV"),
        ("exit_factory", "build", 4, None),
        ("abort_factory", "build", -6, "SIGABRT"),
        ("segv_factory", "build", -11, "SIGSEGV"),
    ],
)
def test_dying_env_is_a_harness_failure_error_exit_one(
    envs: Path, factory: str, call: str, exit_code: int, signal: str | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, doc, elapsed = _env_json([f"{envs}:{factory}"], capsys)
    assert code == 1 and doc["verdict"] == "fail"
    first = doc["first_break"]
    assert first["category"] == "harness_failure" and first["severity"] == "error"
    evidence = first["evidence"]
    assert evidence["failure"] == "died" and evidence["call"] == call
    assert evidence["exit_code"] == exit_code and evidence.get("signal") == signal
    assert elapsed < DEATH_BOUND_S


def test_module_that_dies_on_import_is_a_harness_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dying.py").write_text(DYING_MODULE)
    code, doc, _ = _env_json([f"{tmp_path / 'dying.py'}:make"], capsys)
    assert code == 1
    assert doc["first_break"]["category"] == "harness_failure"
    assert doc["first_break"]["evidence"]["exit_code"] == 5


@pytest.mark.parametrize("factory", ["sleep_step", "sleep_reset"])
def test_env_call_that_hangs_is_a_silent_timeout_within_its_budget(
    envs: Path, factory: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    budget, setup = 0.5, 3.0
    monkeypatch.setattr(sandbox, "SETUP_BUDGET_S", setup)
    code, doc, elapsed = _env_json([f"{envs}:{factory}", "--step-timeout", str(budget)], capsys)
    assert code == 1
    timeouts = [f for f in doc["findings"] if f["category"] == "silent_timeout"]
    assert timeouts and timeouts[0]["severity"] == "error"
    assert timeouts[0]["evidence"]["budget_s"] == budget
    assert not timeouts[0]["evidence"]["recovered_on_rerun_s"]  # the rerun blocked too
    # every probe that hangs costs one budget, the one rerun of the first the setup budget
    # (a cold start would have finished in it); MAX_HANGS stops after four of them
    assert elapsed < 30 * budget + setup + DEATH_BOUND_S


@pytest.mark.parametrize("spec", ["envs.py:sleepy_constructor", "sleepy.py:make"])
def test_hang_while_building_is_a_harness_failure_within_the_setup_budget(
    envs: Path, spec: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (envs.parent / "sleepy.py").write_text(SLEEPY_MODULE)
    monkeypatch.setattr(sandbox, "SETUP_BUDGET_S", 1.5)
    code, doc, elapsed = _env_json([str(envs.parent / spec)], capsys)
    assert code == 1
    first = doc["first_break"]
    assert first["category"] == "harness_failure" and first["severity"] == "error"
    assert first["evidence"]["failure"] == "hung" and first["evidence"]["call"] == "build"
    assert first["evidence"]["budget_s"] == 1.5
    later = doc["metrics"]["probe_failures"][1:]
    assert later and all(f["failure"] == "skipped" for f in later)  # nothing else waits
    assert elapsed < DEATH_BOUND_S


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA is Linux-only")
def test_memory_hog_is_an_out_of_memory_harness_failure(
    envs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sandbox, "default_memory_mb", lambda: 256)
    code, doc, elapsed = _env_json([f"{envs}:hog_step"], capsys)
    assert code == 1
    first = doc["first_break"]
    assert first["category"] == "harness_failure"
    assert first["evidence"]["failure"] == "out_of_memory" and first["evidence"]["call"] == "step"
    assert doc["metrics"]["memory_limit_mb"] == 256
    assert elapsed < DEATH_BOUND_S


@pytest.mark.parametrize("value", ["inf", "1e9"])
def test_unbounded_step_timeout_is_refused_in_one_line(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["env", "CartPole-v1", f"--step-timeout={value}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--step-timeout" in err and "Traceback" not in err


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -1.0, 1e9])
def test_python_api_refuses_unbounded_budgets(value: float) -> None:
    with pytest.raises(RlvetInputError, match="step-timeout"):
        EnvQAConfig(spec="CartPole-v1", step_timeout=value)


def test_nan_step_timeout_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env", "CartPole-v1", "--step-timeout=nan"]) == 2  # typer's range check
