"""Inline SVG plots made with matplotlib (Agg-free SVG backend), for self-contained HTML.

Every function returns an ``<svg>`` string; matplotlib escapes the text it embeds, and the
HTML template inserts nothing else unescaped.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("svg")  # no display, no Agg rasterising: plots stay vector and text-escaped
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["histogram_svg", "lines_svg"]

_FIGSIZE = (6.0, 2.8)


def _to_svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inline in HTML


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
        bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 31)
        for label, values in finite.items():
            ax.hist(values, bins=bins, alpha=0.55, label=f"{label} (n={values.size})")
        ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel("count", fontsize=9)
    return _to_svg(fig)


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
    for label, x in (markers or {}).items():
        ax.axvline(x, color="tab:orange", linestyle="--", linewidth=0.8)
        ax.annotate(
            label,
            (x, 1.0),
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
