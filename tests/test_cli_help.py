"""Every command's ``--help`` shows its text as written: rich markup must not swallow
``[[models]]`` / ``[policy]``, flags take no ``<bool>``, exit codes are listed."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import typer

from rlvet.cli import _plain_help, app, main

BRACKETED = re.compile(r"\[\[?[a-z_]+\]?\]")


Path_ = tuple[str, ...]


def _commands(command: object, path: Path_ = ()) -> Iterator[tuple[Path_, object]]:
    subs = getattr(command, "commands", None)
    if subs:
        for name, sub in subs.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path, command


COMMANDS = list(_commands(_plain_help(typer.main.get_command(app))))


def _help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    assert main([*path, "--help"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_keeps_brackets_and_lists_exit_codes(path: tuple[str, ...], command: object,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one line per option: the text is not wrapped
    text = _help(path, capsys)
    flat = " ".join(text.split())
    written = [getattr(p, "help", "") or "" for p in command.params]  # type: ignore[attr-defined]
    for help_text in written:
        for token in BRACKETED.findall(help_text.replace("\\[", "[")):
            assert token in flat, f"{' '.join(path)}: {token} swallowed from --help"
    assert "<bool>" not in text
    assert "Exit codes" in text


def test_the_reported_cases_in_a_subprocess() -> None:
    env = {"COLUMNS": "400", "PATH": "/usr/bin:/bin"}
    plan = subprocess.run([sys.executable, "-m", "rlvet.cli", "resources", "plan", "--help"],
                          capture_output=True, text=True, env=env, timeout=120).stdout
    assert "TOML: [[models]] (role," in plan and "[training], [generation], [hardware]" in plan
    ev = subprocess.run([sys.executable, "-m", "rlvet.cli", "eval", "--help"],
                        capture_output=True, text=True, env=env, timeout=120).stdout
    assert "overriding the protocol's [policy]: run.pt" in ev
    assert "<bool>" not in plan + ev and "Exit codes: 0" in ev
