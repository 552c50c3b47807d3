"""Figure specs: what a plot shows, as data, so domain packages never draw.

Contents:
    LineFigure -- curves over steps, with onset markers and one highlighted step.
    HistogramFigure -- overlaid histograms, one per label.
    BandFigure -- curves with a shaded interval each (performance profiles with CI bands).
    ErrorBarFigure -- points with error bars, a reference point and a threshold line.
    FigureSpec -- any of them.

``envcheck``, ``doctor``, ``reward`` and ``evaluate`` return these; ``report.plots`` turns a
spec into SVG and ``report.html.render_html`` embeds it (ARCHITECTURE.md section 4: domain
packages return data, only ``report/`` renders). Arrays are numpy, one-dimensional.

Example:
    >>> import numpy as np
    >>> spec = LineFigure(title="run: return", curves={"reward": (np.arange(3), np.ones(3))},
    ...                   markers={"kl_spike": 2.0}, highlight=2.0)
    >>> spec.axes_title
    'run: return'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BandFigure", "ErrorBarFigure", "FigureSpec", "HistogramFigure", "LineFigure"]

Curve = tuple[np.ndarray, np.ndarray]
"""x (n,), y (n,)."""

Band = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""x (k,), y (k,), low (k,), high (k,)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineFigure:
    """Curves drawn together, e.g. one loop link's signals of one run.

    Attributes:
        title: the figure's caption in the report.
        curves: label -> (x (n,), y (n,)).
        xlabel: the x axis.
        markers: label -> x of a dashed vertical line (a finding's onset).
        highlight: x of the first break (a solid line), or None.
        plot_title: the title drawn on the axes; None means ``title``.
    """

    title: str
    curves: Mapping[str, Curve]
    xlabel: str = "step"
    markers: Mapping[str, float] = field(default_factory=dict)
    highlight: float | None = None
    plot_title: str | None = None

    @property
    def axes_title(self) -> str:
        """The title drawn on the plot."""
        return self.title if self.plot_title is None else self.plot_title


@dataclass(frozen=True, slots=True, kw_only=True)
class HistogramFigure:
    """Overlaid histograms on shared bins, e.g. random vs expert episode returns.

    Attributes:
        title: the figure's caption in the report.
        samples: label -> values (n,) (non-finite values are left out).
        xlabel: what the values are.
        plot_title: the title drawn on the axes; None means ``title``.
    """

    title: str
    samples: Mapping[str, Sequence[float] | np.ndarray]
    xlabel: str
    plot_title: str | None = None

    @property
    def axes_title(self) -> str:
        """The title drawn on the plot."""
        return self.title if self.plot_title is None else self.plot_title


@dataclass(frozen=True, slots=True, kw_only=True)
class BandFigure:
    """Curves each with a shaded interval, e.g. performance profiles with CI bands.

    Attributes:
        title: the figure's caption in the report.
        bands: label -> (x (k,), y (k,), low (k,), high (k,)).
        xlabel, ylabel: the axes.
        ylim: fixed y range, or None to fit the data.
        plot_title: the title drawn on the axes; None means ``title``.
    """

    title: str
    bands: Mapping[str, Band]
    xlabel: str
    ylabel: str
    ylim: tuple[float, float] | None = None
    plot_title: str | None = None

    @property
    def axes_title(self) -> str:
        """The title drawn on the plot."""
        return self.title if self.plot_title is None else self.plot_title


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorBarFigure:
    """Points with error bars against a reference, e.g. return vs a perturbed parameter.

    Attributes:
        title: the figure's caption in the report.
        points: (x, y, error) triples, drawn in x order.
        xlabel, ylabel: the axes.
        label: the legend entry of the points.
        reference: (x, y) of the reference point (drawn as a star), or None.
        reference_label: its legend entry.
        threshold: y of a dashed horizontal line (a bound), or None.
        threshold_label: its legend entry.
        plot_title: the title drawn on the axes; None means ``title``.
    """

    title: str
    points: Sequence[tuple[float, float, float]]
    xlabel: str
    ylabel: str
    label: str = ""
    reference: tuple[float, float] | None = None
    reference_label: str = "reference"
    threshold: float | None = None
    threshold_label: str = ""
    plot_title: str | None = None

    @property
    def axes_title(self) -> str:
        """The title drawn on the plot."""
        return self.title if self.plot_title is None else self.plot_title


FigureSpec = LineFigure | HistogramFigure | BandFigure | ErrorBarFigure
"""Any figure a domain package can hand to ``report/``."""
