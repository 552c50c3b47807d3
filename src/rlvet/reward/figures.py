"""HTML figures of a reward audit: the reward's histogram and the per-step side metrics.

Contents:
    reward_figures(outcome) -- figure specs (``rlvet.figures``), drawn by ``report.plots``.

Only numbers go into plots; sample text reaches the HTML report through the metrics'
spot-check preview, which the template escapes.
"""

from __future__ import annotations

from rlvet.figures import FigureSpec, HistogramFigure, LineFigure
from rlvet.reward.audit import RewardOutcome
from rlvet.reward.table import (
    CLAIM,
    COMPONENT_PREFIX,
    DUPLICATE_CALLS,
    EVAL,
    FALSE_CLAIM,
    FINAL_OK,
    FORMAT,
    HUMAN,
    LENGTH,
    REFUSAL,
    REPETITION,
    REWARD,
    TOOL_CALLS,
)

__all__ = ["PANELS", "reward_figures"]

PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("reward and true objective per step", (REWARD, EVAL, HUMAN, FINAL_OK)),
    ("response length per step (whitespace tokens)", (LENGTH,)),
    ("side-metric rates per step", (REPETITION, FORMAT, REFUSAL, CLAIM, FALSE_CLAIM,
                                    DUPLICATE_CALLS)),
    ("tool calls per sample", (TOOL_CALLS,)),
)
"""Line panels: title -> columns drawn together (per-step means)."""


def _histograms(outcome: RewardOutcome) -> list[FigureSpec]:
    ctx = outcome.context
    rewards, steps = ctx.table.get(REWARD), ctx.table.steps
    distinct = ctx.table.distinct_steps()
    k = max(1, distinct.size // 3)
    series = {"all samples": rewards}
    if distinct.size >= 3:
        series = {"first third of steps": rewards[steps <= distinct[k - 1]],
                  "last third of steps": rewards[steps >= distinct[-k]]}
    if ctx.baseline is not None:
        series["baseline"] = ctx.baseline.get(REWARD)
    return [HistogramFigure(title="reward distribution", samples=series, xlabel="reward")]


def reward_figures(outcome: RewardOutcome) -> list[FigureSpec]:
    """The reward histogram (early vs late steps, and the baseline), then one line panel per
    group of side metrics that the run logged, plus the reward components."""
    ctx = outcome.context
    figures = _histograms(outcome)
    panels = list(PANELS)
    if ctx.table.component_names:
        panels.append(("reward components per step",
                       tuple(COMPONENT_PREFIX + c for c in ctx.table.component_names)))
    for title, names in panels:
        curves = {n: ctx.table.per_step(n) for n in names}
        curves = {n: c for n, c in curves.items() if c[0].size}
        if curves:
            figures.append(LineFigure(title=title, curves=curves))
    return figures
