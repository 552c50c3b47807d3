"""``rlvet eval`` runs the user's env and policy in a sandbox child: a policy or env that
aborts, segfaults, exits, raises or hangs is one error finding and exit 1 -- never a silent
rc -6 or a frozen CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from rlvet import sandbox
from rlvet.cli import main
from rlvet.evaluate import command

USER_CODE = '''
import ctypes
import os
import time

import gymnasium as gym


def fine(obs):
    return 0


def abort_policy(obs):
    os.abort()


def segv_policy(obs):
    ctypes.string_at(0)


def raise_policy(obs):
    raise ValueError("policy bug")


def hang_policy(obs):
    time.sleep(3600)


class _StepDies(gym.Wrapper):
    def step(self, action):
        os._exit(3)


def exit_step(max_episode_steps=None):
    return _StepDies(gym.make("CartPole-v1"))


def sleepy_factory(max_episode_steps=None):
    time.sleep(3600)
'''

PROTOCOL = """
[env]
{env}
max_steps = 50

[eval]
seeds = [0, 1]
episodes_per_seed = 2
bootstrap_reps = 200

[deploy]
latency_calls = 20
latency_budget_ms = 1000.0
"""
BOUND_S = 90.0  # a clean child starts in seconds; the bound absorbs a loaded machine


@pytest.fixture()
def code_file(tmp_path: Path) -> Path:
    path = tmp_path / "user_code.py"
    path.write_text(USER_CODE)
    return path


def _protocol(tmp_path: Path, env: str = 'id = "CartPole-v1"') -> Path:
    path = tmp_path / "protocol.toml"
    path.write_text(PROTOCOL.format(env=env))
    return path


def _eval_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, float]:
    started = time.monotonic()
    code = main(["eval", *args, "--json"])
    elapsed = time.monotonic() - started
    return code, json.loads(capsys.readouterr().out), elapsed


@pytest.mark.parametrize(
    ("policy", "failure", "signal"),
    [("abort_policy", "died", "SIGABRT"), ("segv_policy", "died", "SIGSEGV"),
     ("raise_policy", "raised", None)],
)
def test_policy_that_dies_or_raises_is_a_worker_crash(
    tmp_path: Path, code_file: Path, policy: str, failure: str, signal: str | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, doc, elapsed = _eval_json(
        [str(_protocol(tmp_path)), "--policy", f"{code_file}:{policy}"], capsys)
    assert code == 1 and doc["verdict"] == "fail"
    first = doc["first_break"]
    assert first["category"] == "worker_crash" and first["severity"] == "error"
    assert first["evidence"]["failure"] == failure and first["evidence"]["call"] == "policy"
    assert first["evidence"].get("signal") == signal
    assert first["evidence"]["phase"] == "run"
    assert elapsed < BOUND_S


def test_env_that_dies_in_step_is_a_harness_failure(
    tmp_path: Path, code_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    protocol = _protocol(tmp_path, f'factory = "{code_file}:exit_step"')
    code, doc, _ = _eval_json([str(protocol), "--policy", f"{code_file}:fine"], capsys)
    assert code == 1
    first = doc["first_break"]
    assert first["category"] == "harness_failure" and first["severity"] == "error"
    assert first["evidence"]["call"] == "step" and first["evidence"]["exit_code"] == 3


def test_hanging_policy_is_a_worker_hang_within_its_budget(
    tmp_path: Path, code_file: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(command, "EVAL_CALL_BUDGET_S", 1.0)
    code, doc, elapsed = _eval_json(
        [str(_protocol(tmp_path)), "--policy", f"{code_file}:hang_policy"], capsys)
    assert code == 1
    first = doc["first_break"]
    assert first["category"] == "worker_hang" and first["severity"] == "error"
    assert first["evidence"]["call"] == "policy" and first["evidence"]["budget_s"] == 1.0
    assert elapsed < BOUND_S


def test_factory_that_hangs_is_a_worker_hang_before_any_episode(
    tmp_path: Path, code_file: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sandbox, "SETUP_BUDGET_S", 1.5)
    protocol = _protocol(tmp_path, f'factory = "{code_file}:sleepy_factory"')
    code, doc, elapsed = _eval_json([str(protocol), "--policy", f"{code_file}:fine"], capsys)
    assert code == 1
    first = doc["first_break"]
    assert first["category"] == "worker_hang"
    assert first["evidence"]["call"] == "build" and first["evidence"]["phase"] == "prepare"
    assert elapsed < BOUND_S


def test_policy_module_that_hangs_on_import_is_a_worker_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sandbox, "SETUP_BUDGET_S", 1.5)
    (tmp_path / "slow_policy.py").write_text("import time\ntime.sleep(3600)\n"
                                             "def act(obs):\n    return 0\n")
    code, doc, elapsed = _eval_json(
        [str(_protocol(tmp_path)), "--policy", f"{tmp_path / 'slow_policy.py'}:act"], capsys)
    assert code == 1
    first = doc["first_break"]
    assert first["category"] == "worker_hang"
    assert first["evidence"]["call"] == "load" and first["evidence"]["budget_s"] == 1.5
    assert elapsed < BOUND_S


def test_unknown_policy_function_is_still_bad_input(
    tmp_path: Path, code_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(_protocol(tmp_path)), "--policy", f"{code_file}:nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "has no attribute" in err and len(err.splitlines()) == 1


def test_failed_eval_renders_in_the_terminal_and_html(
    tmp_path: Path, code_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "r.html"
    code = main(["eval", str(_protocol(tmp_path)), "--policy", f"{code_file}:abort_policy",
                 "--html", str(html)])
    out = capsys.readouterr().out
    assert code == 1 and "worker_crash" in out
    assert html.is_file()


def test_healthy_callable_still_passes(
    tmp_path: Path, code_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, _ = _eval_json([str(_protocol(tmp_path)), "--policy", f"{code_file}:fine"],
                              capsys)
    assert code == 0 and doc["metrics"]["per_seed_mean"]
