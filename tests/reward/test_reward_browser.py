"""The ``rlvet reward`` HTML in headless Chromium: responses full of markup stay text.

LLM completions contain ``<script>`` and ``<img onerror=...>`` too; the report must show
them, escaped, and the parsed page must hold no script or image element. Skipped where
Chromium is not installed (CI installs Debian's ``chromium``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from rlvet.report.html import render_html, write_html
from rlvet.reward.command import reward_figures, run_reward

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)"> the answer is 4'


def _samples(path: Path) -> None:
    lines = []
    for step in range(6):
        for i in range(12):
            words = " ".join(["padding"] * (5 + 10 * step))  # length inflates with reward
            lines.append({"id": f"{step}-{i}", "step": step, "prompt": "2+2?",
                          "response": f"{HOSTILE} {words}", "reward": 0.1 * step + 0.01 * i,
                          "eval_score": float(i % 2)})
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n")


def test_hostile_responses_never_become_markup(tmp_path: Path) -> None:
    samples = tmp_path / "samples.jsonl"
    _samples(samples)
    outcome = run_reward(samples, spot_check=tmp_path / "spot.jsonl")
    page = tmp_path / "reward.html"
    write_html(page, render_html(outcome.result, reward_figures(outcome)))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
           page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout.lower()
    assert "<body" in dom and "<svg" in dom
    assert "<script" not in dom and "<img" not in dom
    assert "alert(1)" in dom  # the response is shown (as escaped text), not dropped
