"""Plots of the stage-gate report: returns of every run side by side, and each first break.

Contents:
    BREAK_SIGNALS -- category -> the signal that shows it.
    inline_svg(svg) -- matplotlib's SVG made fit to sit inside HTML with no URL in it.
    report_figures(evidence) -- the report's figures (``report.html.Figure``).

Why ``inline_svg``: matplotlib writes an RDF ``<metadata>`` block and ``xmlns``
declarations, all ``http://`` URIs. They fetch nothing, but a self-contained report should
not contain a URL a reviewer (or a proxy log) has to reason about; the HTML parser puts
inline ``<svg>`` in the SVG namespace and resolves ``xlink:href`` without them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from rlvet.findings import Category
from rlvet.report.collect import Evidence, TrainingRun
from rlvet.report.html import Figure
from rlvet.report.plots import lines_svg
from rlvet.signals import names

__all__ = ["BREAK_SIGNALS", "inline_svg", "report_figures"]

BREAK_SIGNALS: Mapping[str, tuple[str, ...]] = {
    str(Category.KL_SPIKE): (names.KL,),
    str(Category.CLIP_SATURATION): (names.CLIP_FRACTION,),
    str(Category.ENTROPY_COLLAPSE): (names.ENTROPY,),
    str(Category.ENTROPY_STUCK): (names.ENTROPY,),
    str(Category.CRITIC_FAILURE): (names.EXPLAINED_VARIANCE,),
    str(Category.NUMERICAL_INSTABILITY): (names.GRAD_NORM,),
    str(Category.REWARD_HACKING): (names.REWARD, names.EVAL_RETURN),
    str(Category.STALE_DATA): (names.POLICY_LAG,),
    str(Category.THROUGHPUT_DROP): (names.FPS,),
}
"""The curve that shows each break best; other categories fall back to the return."""
MAX_RUN_CURVES = 12  # beyond this an overlay is unreadable; the runs table still lists all

_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_XMLNS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')


def inline_svg(svg: str) -> str:
    """Drop matplotlib's metadata block and namespace declarations (see module docstring)."""
    return _XMLNS.sub("", _METADATA.sub("", svg))


def _return_series(run: TrainingRun) -> tuple[str, tuple[np.ndarray, np.ndarray]] | None:
    for name in (names.EVAL_RETURN, names.REWARD):
        series = run.signals.get(name)
        if series is not None and len(series):
            return name, (series.steps, series.values)
    return None


def _overlay(ev: Evidence) -> Figure | None:
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    kinds = set()
    for run in ev.runs[:MAX_RUN_CURVES]:
        found = _return_series(run)
        if found is not None:
            kinds.add(found[0])
            curves[run.name] = found[1]
    if not curves:
        return None
    title = f"{' / '.join(sorted(kinds))} by run"
    return Figure(title, inline_svg(lines_svg(curves, title=title)))


def _break_figure(run: TrainingRun) -> Figure | None:
    fb = run.diagnosis.first_break
    if fb is None:
        return None
    wanted = BREAK_SIGNALS.get(str(fb.category), (names.EVAL_RETURN, names.REWARD))
    curves = {n: (s.steps, s.values) for n in wanted if (s := run.signals.get(n)) and len(s)}
    if not curves:
        return None
    title = f"{run.name}: {fb.category}"
    markers = {str(f.category): float(f.step) for f in run.diagnosis.findings
               if f.step is not None and f.severity != "info" and f is not fb}
    svg = lines_svg(curves, title=title, markers=markers,
                    highlight=None if fb.step is None else float(fb.step))
    return Figure(f"first break of {run.name}", inline_svg(svg))


def report_figures(evidence: Evidence) -> list[Figure]:
    """The returns of all runs in one plot, then one plot per run that broke."""
    figures = [_overlay(evidence), *(_break_figure(r) for r in evidence.runs)]
    return [f for f in figures if f is not None]
