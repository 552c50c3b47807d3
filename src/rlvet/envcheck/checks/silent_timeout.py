"""Silent timeouts: hangs, stalls, and time limits reported as real terminations.

A time limit must end an episode with ``truncated=True`` so that value targets bootstrap;
reporting it as ``terminated=True`` teaches the critic that the state at step L is terminal
(Pardo et al. 2018, "Time Limits in Reinforcement Learning"). Independently, a step that
blocks past the wall-clock budget or stalls far beyond its usual time stalls every actor.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from rlvet.envcheck.checks.common import env_finding
from rlvet.envcheck.records import EpisodeRecord, ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_silent_timeout"]

SAME_LENGTH_SHARE = 0.8  # a time limit cuts (nearly) every long episode at one length
MIN_CUT_LENGTH = 10  # short fixed lengths are often real (a one-step bandit, a hand of cards)
MIN_TERMINATED_EPISODES = 5
STALL_RATIO = 50.0  # a step 50x slower than the median step is a stall, not jitter
STALL_FLOOR_S = 0.05  # ... and it must cost real time (GC pauses stay well below)
MIN_STALLS = 2  # one slow step can be the machine; two are the env ...
SINGLE_STALL_S = 0.5  # ... unless that one step blocked for half a second
_HANG_REMEDY = (
    "find the blocking call (simulator lock, remote call without timeout); give "
    "the harness a per-step timeout that restarts the env and drops the rollout"
)


def _fixed_termination_length(episodes: list[EpisodeRecord]) -> tuple[int, float, int] | None:
    ended = [e.length for e in episodes if e.length and e.terminated[-1] and not e.truncated[-1]]
    if len(ended) < MIN_TERMINATED_EPISODES:
        return None
    length, count = Counter(ended).most_common(1)[0]
    return length, count / len(ended), len(ended)


def _varied_starts(ev: ProbeEvidence) -> bool:
    rows = {e.reset_obs.tobytes() for e in ev.random_a if e.reset_obs.size}
    return len(rows) > 1


def _timeout_as_termination(ev: ProbeEvidence) -> Finding | None:
    """Every policy terminating at one length, or a deterministic-looking cut at the spec limit."""
    stats = {
        name: _fixed_termination_length(eps)
        for name, eps in (("random", ev.random_a), ("expert", ev.expert))
    }
    cut = [
        (name, s)
        for name, s in stats.items()
        if s is not None and s[0] >= MIN_CUT_LENGTH and s[1] >= SAME_LENGTH_SHARE
    ]
    limit = ev.api.max_episode_steps
    at_limit = [c for c in cut if limit is not None and c[1][0] == limit]
    # One policy alone cutting at L is suspicious only if starts vary (else a fixed route).
    if not cut or (len(cut) == 1 and not at_limit and not _varied_starts(ev)):
        return None
    name, (length, share, n) = cut[0]
    return env_finding(
        "silent_timeout",
        Category.SILENT_TIMEOUT,
        Severity.ERROR,
        f"{share:.0%} of {n} {name}-policy episodes ended with terminated=True at exactly "
        f"{length} steps: a time limit is being reported as a true termination",
        evidence={
            "length": length,
            "share": round(share, 3),
            "episodes": n,
            "policy": name,
            "spec_max_episode_steps": limit,
            "policies_cut": [c[0] for c in cut],
        },
    )


def _stalls(ev: ProbeEvidence) -> Finding | None:
    times = [e.step_seconds for e in ev.all_episodes() if e.step_seconds.size]
    if not times:
        return None
    pooled = np.concatenate(times)
    median = float(np.median(pooled))
    threshold = max(STALL_RATIO * median, STALL_FLOOR_S)
    slow = pooled[pooled > threshold]
    if slow.size < MIN_STALLS and not (slow.size and slow.max() >= SINGLE_STALL_S):
        return None
    return env_finding(
        "silent_timeout",
        Category.SILENT_TIMEOUT,
        Severity.WARNING,
        f"{slow.size} of {pooled.size} steps stalled (max {slow.max():.2f}s vs median "
        f"{median * 1e3:.3f} ms): the env blocks intermittently",
        evidence={
            "stalls": int(slow.size),
            "steps": int(pooled.size),
            "max_step_s": float(slow.max()),
            "median_step_s": median,
            "threshold_s": threshold,
        },
        remedy=_HANG_REMEDY,
    )


def check_silent_timeout(ev: ProbeEvidence) -> list[Finding]:
    """Hangs past the budget (error), timeouts reported as terminations (error), stalls."""
    findings = []
    if ev.hangs:
        first = ev.hangs[0]
        findings.append(
            env_finding(
                "silent_timeout",
                Category.SILENT_TIMEOUT,
                Severity.ERROR,
                f"{len(ev.hangs)} env call(s) blocked longer than the {first.budget_s:g}s budget "
                f"(first in the {first.probe} probe after {first.step} calls); "
                "the process was killed",
                evidence={
                    "hangs": len(ev.hangs),
                    "budget_s": first.budget_s,
                    "probes": sorted({h.probe for h in ev.hangs}),
                },
                remedy=_HANG_REMEDY,
            )
        )
    for finding in (_timeout_as_termination(ev), _stalls(ev)):
        if finding is not None:
            findings.append(finding)
    return findings
