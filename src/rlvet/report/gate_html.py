"""The stage-gate report as one self-contained HTML page.

Contents:
    render_report_html(outcome, figures=None) -- the page (``templates/report.html.j2``).

Self-contained: styles inline, plots inline SVG (``gate_figures.inline_svg``), no script,
no font, no image, no link to anything -- the file opens offline and from an archive.
Jinja2 runs with autoescape on, so every string from the evidence (paths, env ids, finding
messages, LLM completions quoted in them) is escaped; only SVG made by matplotlib is
inserted as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from rlvet.findings import Severity
from rlvet.report.gates import GATE_STAGE_TITLES, GateStage
from rlvet.report.html import Figure

if TYPE_CHECKING:
    from rlvet.report.stagegate import ReportOutcome

__all__ = ["render_report_html"]

TEMPLATE = "report.html.j2"


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("rlvet.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report_html(outcome: ReportOutcome, figures: Sequence[Figure] | None = None) -> str:
    """Render the report page.

    Args:
        outcome: what ``run_report`` returned.
        figures: plots to embed; None makes them from the evidence (``report_figures``).
    """
    if figures is None:
        from rlvet.report.gate_figures import report_figures

        figures = report_figures(outcome.evidence)
    doc = outcome.result.to_dict()
    metrics = doc["metrics"]
    stages = [(str(s), GATE_STAGE_TITLES[s],
               [g for g in metrics["gates"] if g["stage"] == str(s)]) for s in GateStage]
    findings = sorted(doc["findings"], key=lambda f: Severity.rank_of(f["severity"]))
    return _environment().get_template(TEMPLATE).render(
        doc=doc, metrics=metrics, stages=stages, findings=findings,
        figures=[(f.title, Markup(f.svg)) for f in figures],
    )
