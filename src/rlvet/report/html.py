"""Self-contained HTML rendering of a ``CommandResult``: no CDN, no script, inline SVG plots.

Jinja2 runs with autoescape on, so every user string (env ids, metric names, LLM
completions with ``<script>`` in them) is escaped; only SVG produced by ``report.plots``
is inserted as markup. Figures arrive as specs (``rlvet.figures``) from the domain packages
and are drawn here, through ``report.plots.render_figure``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from rlvet.atomic import write_text_atomic
from rlvet.findings import STAGE_ORDER, CommandResult, Severity

if TYPE_CHECKING:
    from rlvet.figures import FigureSpec

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


def _drawn(figures: Sequence[Figure | FigureSpec]) -> list[Figure]:
    """Specs (``rlvet.figures``) drawn with ``report.plots``; drawn figures kept as they are."""
    if all(isinstance(f, Figure) for f in figures):
        return list(figures)  # type: ignore[arg-type]
    from rlvet.report.plots import render_figure  # matplotlib only when a page has plots

    return [f if isinstance(f, Figure) else render_figure(f) for f in figures]


def render_html(result: CommandResult, figures: Sequence[Figure | FigureSpec] = ()) -> str:
    """The report page as one string; ``figures`` are specs (``rlvet.figures``) or already
    drawn ``Figure``s."""
    findings = sorted(
        result.findings,
        key=lambda f: (
            STAGE_ORDER.index(f.stage),
            -1 if f.step is None else f.step,
            Severity.rank_of(f.severity),
        ),
    )
    template = _environment().get_template("result.html.j2")
    return template.render(
        result=result,
        first_break=result.first_break,
        findings=findings,
        figures=[(f.title, Markup(f.svg)) for f in _drawn(figures)],
        metrics=result.to_dict()["metrics"],
    )


def write_html(path: str | os.PathLike[str], html: str) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a report."""
    write_text_atomic(path, html, what="HTML report")
