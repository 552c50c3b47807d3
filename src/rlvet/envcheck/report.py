"""Figures of the ``rlvet env`` HTML report, as specs: return and length distributions,
random vs expert (drawn by ``report.plots``; this package never renders)."""

from __future__ import annotations

from rlvet.envcheck.suite import EnvQAOutcome
from rlvet.figures import HistogramFigure

__all__ = ["env_figures"]


def env_figures(outcome: EnvQAOutcome) -> list[HistogramFigure]:
    """Reward histogram (per step), episode returns and episode lengths, random vs expert."""
    ev = outcome.evidence
    policies = {"random": ev.random_a, "expert": ev.expert}
    policies = {k: v for k, v in policies.items() if v}
    per_step = {k: [r for e in v for r in e.rewards] for k, v in policies.items()}
    returns = {k: [e.episode_return for e in v] for k, v in policies.items()}
    lengths = {k: [e.length for e in v] for k, v in policies.items()}
    return [
        HistogramFigure(title="Per-step rewards", samples=per_step, xlabel="reward",
                        plot_title="reward per step"),
        HistogramFigure(title="Episode returns", samples=returns, xlabel="return",
                        plot_title="episode return"),
        HistogramFigure(title="Episode lengths", samples=lengths, xlabel="steps",
                        plot_title="episode length"),
    ]
