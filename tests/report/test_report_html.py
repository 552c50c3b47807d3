"""The HTML report is one self-contained file and escapes every string it shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_helpers import BROKEN_RUN, HEALTHY_RUN, copy_run, write_result

from rlvet.findings import CommandResult, Finding, Severity, Stage
from rlvet.report.gate_figures import inline_svg
from rlvet.report.gate_html import render_report_html
from rlvet.report.plots import lines_svg
from rlvet.report.stagegate import emit_report, run_report

SCRIPT = "<script>alert(1)</script>"
RESOURCE = re.compile(r"""(\bsrc\s*=|\bhref\s*=\s*(?!["']?#)|<link\b|@import|"""
                      r"""url\s*\(\s*(?!["']?#)|<iframe|<object|<embed|<img\b)""",
                      re.IGNORECASE)
"""Anything that makes a browser fetch: the page must have none (in-page ``#id``
references, as SVG clip paths and glyphs use, are fine)."""


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory, env_pass: CommandResult) -> Path:
    """Env QA, a reward audit quoting a completion with a script in it, two runs -- one in a
    directory whose name is markup."""
    root = tmp_path_factory.mktemp("report")
    write_result(root / "env.json", env_pass)
    hostile = Finding(check="reward.spot_check", category="format_hacking",  # type: ignore[arg-type]
                      stage=Stage.REWARD, severity=Severity.ERROR,
                      message=f"the top completion is {SCRIPT} & nothing else",
                      remedy=f"reject responses like {SCRIPT}")
    write_result(root / "reward.json", CommandResult(command="reward", target=f"s{SCRIPT}.jsonl",
                                                     findings=(hostile,)))
    copy_run(HEALTHY_RUN, root / "ok")
    copy_run(BROKEN_RUN, root / "<b>broken</b>")
    return root


@pytest.fixture(scope="module")
def html(report_dir: Path) -> str:
    path = report_dir.parent / "report.html"
    assert emit_report(run_report([report_dir]), as_json=True, html=path) == 1
    return path.read_text(encoding="utf-8")


def test_user_text_is_escaped(html: str) -> None:
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()  # no script at all: the page needs none
    assert "&lt;b&gt;broken&lt;/b&gt;" in html and "<b>broken</b>" not in html


def test_page_fetches_nothing(html: str) -> None:
    assert not RESOURCE.search(html), RESOURCE.search(html)
    assert "http://" not in html and "https://" not in html
    assert html.count("<svg") >= 2  # the runs overlay and the broken run's first break


def test_gate_table_and_first_break_are_on_the_page(html: str) -> None:
    for gate in ("env_validated", "reproducible", "latency", "business_metric"):
        assert f'id="gate-{gate}"' in html
    assert html.index("First break of each run") < html.index("Before training")
    assert "kl_spike" in html and "NO-GO" in html


def test_inline_svg_drops_every_url() -> None:
    import numpy as np

    svg = lines_svg({"a": (np.arange(3), np.arange(3.0))}, title="t")
    assert "http" in svg  # matplotlib's metadata and namespaces
    cleaned = inline_svg(svg)
    assert "http" not in cleaned and cleaned.startswith("<svg") and "xlink:href" in cleaned


def test_render_without_figures(report_dir: Path) -> None:
    page = render_report_html(run_report([report_dir]), figures=[])
    assert "<svg" not in page and "Plots" not in page
