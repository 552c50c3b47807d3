"""Self-contained HTML rendering of a ``CommandResult``: no CDN, no script, inline SVG plots.

Jinja2 runs with autoescape on, so every user string (env ids, metric names, LLM
completions with ``<script>`` in them) is escaped; only SVG produced by ``report.plots``
is inserted as markup.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from rlvet.atomic import write_text_atomic
from rlvet.findings import STAGE_ORDER, CommandResult, Severity

__all__ = ["Figure", "render_html", "write_html"]


@dataclass(frozen=True, slots=True)
class Figure:
    """A titled SVG plot for the report; ``svg`` must come from ``rlvet.report.plots``."""

    title: str
    svg: str


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("rlvet.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def render_html(result: CommandResult, figures: Sequence[Figure] = ()) -> str:
    """The report page as one string."""
    rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    findings = sorted(
        result.findings,
        key=lambda f: (
            STAGE_ORDER.index(f.stage),
            -1 if f.step is None else f.step,
            rank[f.severity],
        ),
    )
    template = _environment().get_template("result.html.j2")
    return template.render(
        result=result,
        first_break=result.first_break,
        findings=findings,
        figures=[(f.title, Markup(f.svg)) for f in figures],
        metrics=result.to_dict()["metrics"],
    )


def write_html(path: str | os.PathLike[str], html: str) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a report."""
    write_text_atomic(path, html, what="HTML report")
