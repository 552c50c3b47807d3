"""HTML figures of an evaluation: performance profile, per-seed returns, robustness curves.

Contents:
    profile_svg(curves, title) -- fraction of runs above each return, with CI bands.
    robustness_svg(axis, points, nominal, title) -- return vs perturbation with +-2 SE bars.
    eval_figures(outcome) -- the ``Figure`` list ``rlvet eval --html`` embeds.

Performance profiles (Dolan & More 2002; Agarwal et al. 2021) show the whole score
distribution, so a policy that is excellent on most seeds and fails on a few is visible,
which a mean with error bar hides. The CI band comes from the same stratified bootstrap as
the aggregates. SVG only, via matplotlib's svg backend (text escaped by matplotlib).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("svg")  # vector output, no display (as report.plots)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rlvet.report.html import Figure  # noqa: E402
from rlvet.report.plots import histogram_svg  # noqa: E402

if TYPE_CHECKING:
    from rlvet.evaluate.command import EvalOutcome

__all__ = ["eval_figures", "profile_svg", "robustness_svg"]

_FIGSIZE = (6.0, 2.8)
Band = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""taus (k,), fraction (k,), low (k,), high (k,)."""


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def profile_svg(curves: Mapping[str, Band], *, title: str) -> str:
    """Performance profiles: label -> (taus, fraction, low, high), each (k,)."""
    fig, ax = plt.subplots(figsize=_FIGSIZE)
    for label, (taus, frac, low, high) in curves.items():
        line, = ax.plot(taus, frac, linewidth=1.4, label=label)
        ax.fill_between(taus, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("return threshold tau", fontsize=9)
    ax.set_ylabel("fraction of runs > tau", fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _svg(fig)


def robustness_svg(axis: str, points: Sequence[tuple[float, float, float]], *,
                   nominal: tuple[float, float] | None, bound: float, title: str) -> str:
    """Mean return vs the perturbed value: points (value, mean, 2 SE); nominal (value, mean)
    as a star; the dashed line is nominal minus the drop bound."""
    fig, ax = plt.subplots(figsize=_FIGSIZE)
    pts = sorted(points)
    xs, ys, es = (np.array(c) for c in zip(*pts, strict=True))
    ax.errorbar(xs, ys, yerr=es, marker="o", linewidth=1.2, capsize=3, label="perturbed")
    if nominal is not None:
        ax.plot([nominal[0]], [nominal[1]], marker="*", markersize=12, color="tab:green",
                linestyle="none", label="nominal")
        ax.axhline(nominal[1] - bound * abs(nominal[1]), color="tab:red", linestyle="--",
                   linewidth=0.8, label=f"-{bound:.0%} bound")
    ax.set_xlabel(axis, fontsize=9)
    ax.set_ylabel("mean return", fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _svg(fig)


def _two_se(returns: np.ndarray) -> float:
    flat = returns.reshape(-1)
    return float(2 * flat.std(ddof=1) / np.sqrt(flat.size)) if flat.size > 1 else 0.0


def _robustness_figures(outcome: EvalOutcome) -> list[Figure]:
    sweep, spec = outcome.sweep, outcome.sweep_spec
    if sweep is None or spec is None:
        return []
    figures = []
    base = float(sweep.nominal.returns.mean())
    for axis, variants in sweep.by_axis().items():
        if not all(isinstance(v.perturbation.value, float) for v in variants):
            continue  # named initial states have no numeric axis
        points = [(float(v.perturbation.value), v.mean,  # type: ignore[arg-type]
                   _two_se(v.episodes.returns)) for v in variants]
        anchor = sweep.nominal_values.get(axis)
        nominal = None if anchor is None else (anchor, base)
        figures.append(Figure(f"return vs {axis}", robustness_svg(
            axis, points, nominal=nominal, bound=spec.drop_bound, title=f"return vs {axis}")))
    return figures


def eval_figures(outcome: EvalOutcome) -> list[Figure]:
    """Profile (with the compared result's, when given), returns histogram, sweep curves."""
    curves = {"this policy": outcome.profile}
    if outcome.other_profile is not None:
        curves["compared result"] = outcome.other_profile
    level = f"{outcome.protocol.confidence:.0%}"
    figures = [Figure("performance profile",
                      profile_svg(curves, title=f"performance profile ({level} CI band)")),
               Figure("episode returns", histogram_svg(
                   {str(s): outcome.episodes.returns[i] for i, s in
                    enumerate(outcome.episodes.seeds[:8])},
                   title="episode returns by seed", xlabel="return"))]
    return figures + _robustness_figures(outcome)
