"""Harness failures: envs that kill their process, steps that raise or return NaN/inf.

An env that takes its process down (``os._exit``, ``abort()``, a segfault in a C
extension, the memory cap) or cannot be built within the setup budget is an error on its
own: every actor running it would die the same way, and no other check has evidence to
judge. Above 5% of steps failing, the data a learner sees is shaped more by the harness
than by the task (dropped episodes bias returns toward whatever survives): fix the harness
before the model. Below it, failures are still worth a warning.
"""

from __future__ import annotations

import numpy as np

from rlvet.envcheck.checks.common import env_finding
from rlvet.envcheck.records import EpisodeRecord, ProbeEvidence
from rlvet.findings import Category, Finding, Severity
from rlvet.sandbox import Failure, FailureKind, UserCall

__all__ = ["check_harness_failure"]

FAILURE_RATE_ERROR = 0.05  # the project's rule: over 5% of steps failing, fix the harness first


def _nonfinite_steps(e: EpisodeRecord) -> int:
    bad = ~np.isfinite(e.rewards)
    if e.nonfinite_obs.shape == bad.shape:
        bad |= e.nonfinite_obs  # the padding of ragged observations is not the env's NaN
    elif e.obs.ndim == 2 and e.obs.shape[0] == e.rewards.shape[0] and e.obs.shape[1]:
        bad |= ~np.all(np.isfinite(e.obs), axis=1)
    return int(bad.sum())


def _what_happened(failure: Failure) -> str:
    if failure.kind is not FailureKind.HUNG:
        return f"the env took its process down in {failure.call}(): {failure.detail}"
    if failure.call is UserCall.BUILD:
        return (f"building the env did not finish within the {failure.budget_s:g} s setup "
                f"budget: the factory, its module or the env's constructor hangs")
    if failure.call is UserCall.LOAD:
        return f"loading the expert did not finish within the {failure.budget_s:g} s budget"
    return f"the env stopped responding in {failure.call}() ({failure.detail})"


def _process_failures(ev: ProbeEvidence) -> list[Finding]:
    """One error when the env killed its process (or could not be built) in any probe."""
    fatal = [f for f in ev.failures if f.breaks_the_harness]
    if not fatal:
        return []
    first = fatal[0]
    return [
        env_finding(
            "harness_failure",
            Category.HARNESS_FAILURE,
            Severity.ERROR,
            f"{_what_happened(first.failure)} (first in the {first.probe} probe; "
            f"{len(fatal)} probe(s) failed so)",
            evidence={
                "probe": first.probe,
                **first.failure.to_evidence(),
                "process_failures": len(fatal),
                "probes": [f.probe for f in fatal],
            },
        )
    ]


def _step_failures(ev: ProbeEvidence) -> list[Finding]:
    """Failure rate over every probe step: exceptions plus non-finite observations/rewards."""
    episodes = ev.all_episodes()
    steps = sum(e.length for e in episodes) + sum(1 for e in episodes if e.error)
    exceptions = [e.error for e in episodes if e.error]
    nonfinite = sum(_nonfinite_steps(e) for e in episodes)
    failures = len(exceptions) + nonfinite
    if failures == 0 or steps == 0:
        return []
    rate = failures / steps
    severity = Severity.ERROR if rate > FAILURE_RATE_ERROR else Severity.WARNING
    example = exceptions[0] if exceptions else "NaN/inf values"
    return [
        env_finding(
            "harness_failure",
            Category.HARNESS_FAILURE,
            severity,
            f"{failures} of {steps} env steps failed ({rate:.1%}: {len(exceptions)} exceptions, "
            f"{nonfinite} NaN/inf); first: {example[:160]}",
            evidence={
                "failure_rate": round(rate, 4),
                "exceptions": len(exceptions),
                "nonfinite_steps": nonfinite,
                "steps": steps,
                "threshold": FAILURE_RATE_ERROR,
            },
        )
    ]


def _legal_actions_raising(ev: ProbeEvidence) -> list[Finding]:
    """A step that raises on an action inside the declared space, at a state the random
    policy reached: a learner's policy puts mass on the bounds (a squashed Gaussian
    saturates, a clipped one sits there), so it will send that action; the random probe
    rarely draws a bound exactly, the counterfactual probe always tries them."""
    if not ev.legal_action_errors:
        return []
    first = ev.legal_action_errors[0]
    return [
        env_finding(
            "harness_failure",
            Category.HARNESS_FAILURE,
            Severity.ERROR,
            f"step() raised on an action inside the declared action space at "
            f"{len(ev.legal_action_errors)} of "
            f"{len(ev.legal_action_errors) + len(ev.branches)} saved states (first: seed "
            f"{first.seed}, step {first.t}, {first.raised_on}): legal input crashes the env",
            evidence={"states": len(ev.legal_action_errors), "seed": first.seed,
                      "step": first.t, "raised_on": first.raised_on},
            remedy="handle every action the action space declares (bounds included), or "
            "declare the space the env really accepts",
        )
    ]


def check_harness_failure(ev: ProbeEvidence) -> list[Finding]:
    """Process deaths and build failures (error), legal actions that raise (error), then
    the per-step failure rate."""
    return _process_failures(ev) + _legal_actions_raising(ev) + _step_failures(ev)
