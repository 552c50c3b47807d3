"""Harness failures: steps that raise, return NaN/inf, or kill the env process.

Above 5% of steps failing, the data a learner sees is shaped more by the harness than by
the task (dropped episodes bias returns toward whatever survives): fix the harness before
the model. Below it, failures are still worth a warning.
"""

from __future__ import annotations

import numpy as np

from rlvet.envcheck.checks.common import env_finding
from rlvet.envcheck.records import EpisodeRecord, ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_harness_failure"]

FAILURE_RATE_ERROR = 0.05  # the project's rule: over 5% of steps failing, fix the harness first
_REMEDY = (
    "fix the failing calls (retry/restart the simulator, validate outputs) before "
    "training; every dropped or NaN step skews the returns the learner sees"
)


def _nonfinite_steps(e: EpisodeRecord) -> int:
    bad = ~np.isfinite(e.rewards)
    if e.obs.ndim == 2 and e.obs.shape[0] == e.rewards.shape[0] and e.obs.shape[1]:
        bad |= ~np.all(np.isfinite(e.obs), axis=1)
    return int(bad.sum())


def check_harness_failure(ev: ProbeEvidence) -> list[Finding]:
    """Failure rate over every probe step: exceptions plus non-finite observations/rewards."""
    episodes = ev.all_episodes()
    steps = sum(e.length for e in episodes) + sum(1 for e in episodes if e.error)
    exceptions = [e.error for e in episodes if e.error]
    nonfinite = sum(_nonfinite_steps(e) for e in episodes)
    crashes = [reason for reason in ev.probe_errors.values() if "died" in reason]
    failures = len(exceptions) + nonfinite + len(crashes)
    if failures == 0 or steps == 0:
        return []
    rate = failures / steps
    severity = Severity.ERROR if rate > FAILURE_RATE_ERROR or crashes else Severity.WARNING
    example = exceptions[0] if exceptions else (crashes[0] if crashes else "NaN/inf values")
    return [
        env_finding(
            "harness_failure",
            Category.HARNESS_FAILURE,
            severity,
            f"{failures} of {steps} env steps failed ({rate:.1%}: {len(exceptions)} exceptions, "
            f"{nonfinite} NaN/inf, {len(crashes)} process deaths); first: {example[:160]}",
            evidence={
                "failure_rate": round(rate, 4),
                "exceptions": len(exceptions),
                "nonfinite_steps": nonfinite,
                "process_deaths": len(crashes),
                "steps": steps,
                "threshold": FAILURE_RATE_ERROR,
            },
            remedy=_REMEDY,
        )
    ]
