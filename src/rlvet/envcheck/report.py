"""Plots for the ``rlvet env`` HTML report: return and length distributions, random vs expert."""

from __future__ import annotations

from rlvet.envcheck.suite import EnvQAOutcome
from rlvet.report.html import Figure
from rlvet.report.plots import histogram_svg

__all__ = ["env_figures"]


def env_figures(outcome: EnvQAOutcome) -> list[Figure]:
    """Reward histogram (per step), episode returns and episode lengths, random vs expert."""
    ev = outcome.evidence
    policies = {"random": ev.random_a, "expert": ev.expert}
    policies = {k: v for k, v in policies.items() if v}
    per_step = {k: [r for e in v for r in e.rewards] for k, v in policies.items()}
    returns = {k: [e.episode_return for e in v] for k, v in policies.items()}
    lengths = {k: [e.length for e in v] for k, v in policies.items()}
    return [
        Figure(
            "Per-step rewards", histogram_svg(per_step, title="reward per step", xlabel="reward")
        ),
        Figure("Episode returns", histogram_svg(returns, title="episode return", xlabel="return")),
        Figure("Episode lengths", histogram_svg(lengths, title="episode length", xlabel="steps")),
    ]
