"""Inline SVG plots made with matplotlib (Agg-free SVG backend), for self-contained HTML.

Contents:
    histogram_svg, lines_svg, band_svg, errorbar_svg -- one kind of plot each, as SVG text.
    render_figure(spec) -- a ``rlvet.figures`` spec drawn into a report ``Figure``.

Every function returns an ``<svg>`` string; matplotlib escapes the text it embeds (for SVG,
and, with mathtext off, for its own math parser too), and the HTML template inserts nothing
else unescaped. Domain packages describe their figures as
specs (``rlvet.figures``) and never import this module.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("svg")  # no display, no Agg rasterising: plots stay vector and text-escaped
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rlvet.figures import (  # noqa: E402
    Band,
    BandFigure,
    ErrorBarFigure,
    FigureSpec,
    HistogramFigure,
    LineFigure,
)
from rlvet.report.html import Figure  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

__all__ = ["band_svg", "errorbar_svg", "histogram_svg", "lines_svg", "render_figure"]

_FIGSIZE = (6.0, 2.8)


def _literal_text(draw: Callable[..., str]) -> Callable[..., str]:
    """Draw with mathtext off: labels come from user text (run directories, metric names,
    env ids), and ``$x$`` or a lone ``$`` in one made matplotlib's math parser raise.
    Matplotlib reads ``text.parse_math`` when a Text is created, so the whole drawing runs
    inside the context."""
    @functools.wraps(draw)
    def literal(*args: Any, **kwargs: Any) -> str:
        with plt.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)
    return literal


def _to_svg(fig: MplFigure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inline in HTML


@_literal_text
def histogram_svg(
    samples: Mapping[str, Sequence[float] | np.ndarray], *, title: str, xlabel: str
) -> str:
    """Overlaid histograms, one per label (e.g. random vs expert episode returns)."""
    fig, ax = plt.subplots(figsize=_FIGSIZE)
    finite = {k: np.asarray(v, dtype=float) for k, v in samples.items()}
    finite = {k: v[np.isfinite(v)] for k, v in finite.items() if np.isfinite(v).any()}
    if finite:
        lo = min(float(v.min()) for v in finite.values())
        hi = max(float(v.max()) for v in finite.values())
        bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 31).tolist()
        for label, values in finite.items():
            ax.hist(values, bins=bins, alpha=0.55, label=f"{label} (n={values.size})")
        ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel("count", fontsize=9)
    return _to_svg(fig)


@_literal_text
def lines_svg(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    title: str,
    xlabel: str = "step",
    markers: Mapping[str, float] | None = None,
    highlight: float | None = None,
) -> str:
    """Curves ``label -> (x (n,), y (n,))`` with vertical onset markers and one highlighted step."""
    fig, ax = plt.subplots(figsize=_FIGSIZE)
    for label, (x, y) in curves.items():
        ax.plot(x, y, label=label, linewidth=1.2)
    for label, at in (markers or {}).items():
        ax.axvline(at, color="tab:orange", linestyle="--", linewidth=0.8)
        ax.annotate(
            label,
            (at, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            rotation=90,
            va="top",
            ha="right",
        )
    if highlight is not None:
        ax.axvline(highlight, color="tab:red", linewidth=1.6, label="first break")
    if curves or highlight is not None:
        ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=9)
    return _to_svg(fig)


@_literal_text
def band_svg(curves: Mapping[str, Band], *, title: str, xlabel: str, ylabel: str,
             ylim: tuple[float, float] | None = None) -> str:
    """Curves with shaded intervals: label -> (x, y, low, high), each (k,)."""
    fig, ax = plt.subplots(figsize=_FIGSIZE)
    for label, (x, y, low, high) in curves.items():
        line, = ax.plot(x, y, linewidth=1.4, label=label)
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _to_svg(fig)


@_literal_text
def errorbar_svg(spec: ErrorBarFigure) -> str:
    """Points (x, y, error) in x order, a reference star and a dashed threshold line."""
    fig, ax = plt.subplots(figsize=_FIGSIZE)
    xs, ys, es = (np.array(c) for c in zip(*sorted(spec.points), strict=True))
    ax.errorbar(xs, ys, yerr=es, marker="o", linewidth=1.2, capsize=3, label=spec.label)
    if spec.reference is not None:
        ax.plot([spec.reference[0]], [spec.reference[1]], marker="*", markersize=12,
                color="tab:green", linestyle="none", label=spec.reference_label)
    if spec.threshold is not None:
        ax.axhline(spec.threshold, color="tab:red", linestyle="--", linewidth=0.8,
                   label=spec.threshold_label)
    ax.set_xlabel(spec.xlabel, fontsize=9)
    ax.set_ylabel(spec.ylabel, fontsize=9)
    ax.set_title(spec.axes_title, fontsize=10)
    ax.legend(fontsize=8)
    return _to_svg(fig)


_RENDERERS: Mapping[type, Callable[[Any], str]] = {
    LineFigure: lambda s: lines_svg(s.curves, title=s.axes_title, xlabel=s.xlabel,
                                    markers=s.markers, highlight=s.highlight),
    HistogramFigure: lambda s: histogram_svg(s.samples, title=s.axes_title, xlabel=s.xlabel),
    BandFigure: lambda s: band_svg(s.bands, title=s.axes_title, xlabel=s.xlabel,
                                   ylabel=s.ylabel, ylim=s.ylim),
    ErrorBarFigure: errorbar_svg,
}
"""Spec type -> the function drawing it."""


def render_figure(spec: FigureSpec) -> Figure:
    """Draw a figure spec into the report's ``Figure`` (its caption and its SVG)."""
    return Figure(spec.title, _RENDERERS[type(spec)](spec))
