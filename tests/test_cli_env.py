"""``rlvet env`` through the CLI, in-process: exit codes, JSON on stdout, HTML, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlvet.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("rlvet ")


def test_env_json_is_one_document_and_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["env", "CartPole-v1", "--episodes", "4", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["command"] == "env" and doc["verdict"] in {"pass", "warn"}
    assert doc["metrics"]["expert"].startswith("builtin:")


def test_faulty_env_exits_one_and_writes_escaped_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "r.html"
    code = main(["env", "rlvet.envcheck.catalog:unseeded_reset_cartpole", "--episodes", "4",
                 "--html", str(html)])
    out = capsys.readouterr().out
    assert code == 1
    assert "nondeterministic_reset" in out
    page = html.read_text()
    assert "<svg" in page and "<script" not in page and "http://" not in page.split("<svg")[0]


def _factory_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "envs.py"
    path.write_text(body)
    return str(path)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["env", "NoSuchEnv-v9"], "not a registered Gymnasium id"),
        (["env", "CartPol-v1"], "did you mean"),
        (["env", "no_such_module_xyz:make"], "cannot import module"),
        (["env", "rlvet.envcheck.catalog:nope"], "has no attribute"),
        (["env", "CartPole-v1", "--env-kwargs", "{bad"], "--env-kwargs"),
    ],
)
def test_bad_input_is_one_line_exit_two(
    args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_factory_that_raises_and_bad_expert(tmp_path: Path, capsys) -> None:
    spec_file = _factory_file(tmp_path, (
        "import gymnasium as gym\n"
        "def broken():\n    raise RuntimeError('simulator licence missing')\n"
        "def expert(obs):\n    return 'left'\n"))
    assert main(["env", f"{spec_file}:broken"]) == 2
    err = capsys.readouterr().err
    assert "simulator licence missing" in err and len(err.strip().splitlines()) == 1
    assert main(["env", "CartPole-v1", "--expert", f"{spec_file}:expert"]) == 2
    err = capsys.readouterr().err
    assert "not an action" in err and len(err.strip().splitlines()) == 1


def test_old_gym_style_env_names_shimmy(tmp_path: Path, capsys) -> None:
    spec_file = _factory_file(tmp_path, (
        "class OldEnv:\n    def seed(self, s=None):\n        pass\n"
        "    def close(self):\n        pass\n"
        "def make():\n    return OldEnv()\n"))
    assert main(["env", f"{spec_file}:make"]) == 2
    assert "shimmy" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["doctor"], ["env", "CartPole-v1", "--bogus"], ["nope"]])
def test_usage_errors_exit_two_without_traceback(args: list[str], capsys) -> None:
    assert main(args) == 2
    assert "Traceback" not in capsys.readouterr().err
