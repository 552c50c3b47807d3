"""Reward farming: a state that keeps paying while nothing changes and nothing ends.

A goal that pays every step it is held, without ending the episode, turns "reach the
goal" into "reach it and sit there": returns grow with the time limit, every episode runs
to the limit, and a learner that loiters looks as good as one that solves the task faster.
The probe (``probes.probe_farm``) starts from states the rollouts were paid the top
reward in and repeats each candidate action on a copy of the env; here it is farming when
one action (or a cycle of two) is paid that reward on at least ``MIN_FARMED_STEPS``
repeats in a row with the observation bit-identical (no progress). An episode that ends
later does not make the loop fair: a session that ends at random (a user leaving) still
pays the loop on every step until then. Continuing tasks that pay for *holding* a pose
(dm_control) do this by design, hence a warning worded "by design?".
"""

from __future__ import annotations

from rlvet.envcheck.checks.common import env_finding
from rlvet.envcheck.records import FARM_MISSES, ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_reward_farming"]

MIN_FARMED_STEPS = 5  # paid this many times in a row without change: not a coincidence


def check_reward_farming(ev: ProbeEvidence) -> list[Finding]:
    """Warn when a paying state can be held for reward without progress."""
    farmed = [p for p in ev.farm if p.farmed >= MIN_FARMED_STEPS
              and p.steps - p.farmed < FARM_MISSES]
    if not farmed:
        return []
    ran = [e for e in ev.random_a if e.error is None]
    to_limit = sum(1 for e in ran if e.length and not e.terminated[-1])
    best = max(farmed, key=lambda p: p.farmed)
    return [
        env_finding(
            "reward_farming",
            Category.REWARD_HACKING,
            Severity.WARNING,
            f"from {len(farmed)} of {len(ev.farm)} states paid the top reward {best.paid:g}, "
            f"repeating {'cycle' if '>' in best.action else 'action'} {best.action} was "
            f"paid it again {best.farmed} times in a row, back at the same observation each "
            f"time{', before the episode ended' if best.ended else ', with no termination'} "
            f"({to_limit} of {len(ran)} "
            "random episodes ran to the limit): the reward can be farmed without progress; "
            "a continuing task by design?",
            evidence={"farmed_points": len(farmed), "probed_points": len(ev.farm),
                      "paid": best.paid, "repeats": best.farmed, "action": best.action,
                      "ended_after_repeats": best.ended,
                      "episodes_not_terminated": to_limit, "episodes": len(ran)},
            remedy="end the episode (terminated=True) when the goal is reached, or pay the "
            "goal reward once; if holding the goal is the task, cap the return",
        )
    ]
