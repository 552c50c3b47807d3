"""The HTML report in headless Chromium: it loads with no console error, contains no
script element after parsing (the escaped ``<script>`` stayed text), and a screenshot is
taken. Skipped where Chromium is not installed (``apt-get install -y chromium``)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_helpers import BROKEN_RUN, HEALTHY_RUN, copy_run, write_result

from rlvet.findings import CommandResult, Finding, Severity, Stage
from rlvet.report.stagegate import emit_report, run_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
TIMEOUT_S = 90
CONSOLE_ERROR = re.compile(r"Uncaught|CONSOLE\(\d+\).*(error|Error)|:ERROR:CONSOLE")


def _chromium(tmp: Path, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr",
           "--v=0", "--window-size=1280,900", *extra, page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, env_pass: CommandResult) -> Path:
    root = tmp_path_factory.mktemp("browser")
    write_result(root / "env.json", env_pass)
    hostile = Finding(check="reward.spot_check", category="format_hacking",  # type: ignore[arg-type]
                      stage=Stage.REWARD, severity=Severity.ERROR,
                      message="response: <script>alert(1)</script><img src=x onerror=alert(2)>")
    write_result(root / "reward.json", CommandResult(command="reward", target="s.jsonl",
                                                     findings=(hostile,)))
    copy_run(HEALTHY_RUN, root / "ok")
    copy_run(BROKEN_RUN, root / "broken")
    path = root / "report.html"
    emit_report(run_report([root]), as_json=True, html=path)
    return path


def test_screenshot_without_console_errors(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = _chromium(tmp_path, page, f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 10_000
    errors = [line for line in done.stderr.splitlines() if CONSOLE_ERROR.search(line)]
    assert not errors, errors


def test_parsed_page_has_no_script_or_image(page: Path, tmp_path: Path) -> None:
    done = _chromium(tmp_path, page, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout.lower()
    assert "<body" in dom and "stage-gate report" in dom
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
