"""HTML figures of an evaluation, as specs: performance profile, per-seed returns,
robustness curves (drawn by ``report.plots``; this package never renders).

Contents:
    Band -- a profile curve with its CI band: taus (k,), fraction (k,), low (k,), high (k,).
    eval_figures(outcome) -- the figure specs ``rlvet eval --html`` embeds.

Performance profiles (Dolan & More 2002; Agarwal et al. 2021) show the whole score
distribution, so a policy that is excellent on most seeds and fails on a few is visible,
which a mean with error bar hides. The CI band comes from the same stratified bootstrap as
the aggregates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rlvet.figures import Band, BandFigure, ErrorBarFigure, FigureSpec, HistogramFigure

if TYPE_CHECKING:
    from rlvet.evaluate.command import EvalOutcome

__all__ = ["Band", "eval_figures"]


def _two_se(returns: np.ndarray) -> float:
    flat = returns.reshape(-1)
    return float(2 * flat.std(ddof=1) / np.sqrt(flat.size)) if flat.size > 1 else 0.0


def _robustness_figures(outcome: EvalOutcome) -> list[FigureSpec]:
    """Mean return vs each numeric perturbed value (+-2 SE), the nominal return as a star and
    the dashed line at nominal minus the drop bound."""
    sweep, spec = outcome.sweep, outcome.sweep_spec
    if sweep is None or spec is None:
        return []
    figures: list[FigureSpec] = []
    base = float(sweep.nominal.returns.mean())
    for axis, variants in sweep.by_axis().items():
        if not all(isinstance(v.perturbation.value, float) for v in variants):
            continue  # named initial states have no numeric axis
        points = [(float(v.perturbation.value), v.mean,  # type: ignore[arg-type]
                   _two_se(v.episodes.returns)) for v in variants]
        anchor = sweep.nominal_values.get(axis)
        nominal = None if anchor is None else (anchor, base)
        figures.append(ErrorBarFigure(
            title=f"return vs {axis}", points=points, xlabel=axis, ylabel="mean return",
            label="perturbed", reference=nominal, reference_label="nominal",
            threshold=None if nominal is None else base - spec.drop_bound * abs(base),
            threshold_label=f"-{spec.drop_bound:.0%} bound"))
    return figures


def eval_figures(outcome: EvalOutcome) -> list[FigureSpec]:
    """Profile (with the compared result's, when given), returns histogram, sweep curves;
    none for an evaluation the sandbox ended (nothing was scored)."""
    if outcome.failure is not None:
        return []
    curves = {"this policy": outcome.profile}
    if outcome.other_profile is not None:
        curves["compared result"] = outcome.other_profile
    level = f"{outcome.protocol.confidence:.0%}"
    figures: list[FigureSpec] = [
        BandFigure(title="performance profile", bands=curves,
                   xlabel="return threshold tau", ylabel="fraction of runs > tau",
                   ylim=(-0.02, 1.02), plot_title=f"performance profile ({level} CI band)"),
        HistogramFigure(title="episode returns",
                        samples={str(s): outcome.episodes.returns[i]
                                 for i, s in enumerate(outcome.episodes.seeds[:8])},
                        xlabel="return", plot_title="episode returns by seed")]
    return figures + _robustness_figures(outcome)
