"""Stale observations: the observation does not respond to the action just taken.

A caching layer that returns the previous frame, a sensor refreshed every k steps, or an
observation frozen after a crash all look like valid observations. The decisive test is a
counterfactual: from one saved state, step with several distinct actions; in a healthy env
at least two of them lead to different next observations. Exact repeats of continuous
observations between consecutive steps are reported as supporting evidence.
"""

from __future__ import annotations

import numpy as np

from rlvet.envcheck.checks.common import env_finding
from rlvet.envcheck.records import BranchPoint, ProbeEvidence
from rlvet.findings import Category, Finding, Severity, Stage

__all__ = ["check_stale_observation"]

INSENSITIVE_SHARE_ERROR = 0.15  # healthy envs: 0 of 24 points; a k-step cache: 1-1/k of them
MIN_INSENSITIVE_POINTS = 3  # one wall-bump is not a pattern
REPEAT_SHARE_WARNING = 0.2  # continuous observations repeating exactly this often are frozen
MIN_PROOF_POINTS = 2  # states showing a late or frozen observation: proof, not a POMDP
# A lagged observation (a cache, or an obs computed before the physics step) hands back the
# reset observation unchanged on the first step of nearly every episode; an observation that
# hides velocities (position-only CartPole) also shows the action one step late, but moves
# on the first step.
LAG_FIRST_STEP_SHARE = 0.8
FAITHFUL_SHARE = 0.5  # at least half the saved states must have a deep copy that reproduces
# the env's own step: where copies do not carry the state (ALE's emulator), comparing
# them is evidence about copy.deepcopy, not about the observation


def _repeat_share(ev: ProbeEvidence) -> tuple[float, int]:
    """Share of non-terminal steps whose Box observation equals the previous one."""
    repeats = total = 0
    for e in ev.random_a:
        if e.length < 2 or e.obs.ndim != 2:
            continue
        rows = (
            np.vstack([e.reset_obs[None, :], e.obs])
            if e.reset_obs.shape[0] == e.obs.shape[1]
            else e.obs
        )
        same = np.all(rows[1:] == rows[:-1], axis=1)
        live = ~(e.terminated | e.truncated)[-same.shape[0] :]
        repeats += int(np.sum(same & live))
        total += int(np.sum(live))
    return (repeats / total if total else 0.0), total


def _whole_valued(ev: ProbeEvidence) -> bool:
    """Every observed value is a whole number: a bool or integer grid (MinAtar's bool
    image), not a continuous reading, whatever the Box's dtype."""
    rows = [e.obs[np.isfinite(e.obs)] for e in ev.random_a if e.obs.size]
    values = np.concatenate(rows) if rows else np.zeros(0)
    return bool(values.size) and bool(np.all(values == np.round(values)))


def _repeat_message(ev: ProbeEvidence, repeat_share: float) -> str:
    """The exact-repeat warning, worded for the kind of values the observation holds."""
    if _whole_valued(ev):
        return (f"{repeat_share:.0%} of live steps returned exactly the previous observation "
                "(whole-valued, a grid or board): frozen or refreshed less often than steps, "
                "or a frame in which nothing moved (game timers) by design?")
    return (f"{repeat_share:.0%} of live steps returned exactly the previous continuous "
            "observation: frozen or refreshed less often than steps, or a position that "
            "stays put against a wall by design?")


def _lag_evidence(insensitive: list[BranchPoint]) -> tuple[int, int]:
    """(points where the action showed up a few steps later, points with a continuous
    observation that did not change at all whatever the action)."""
    delayed = sum(1 for b in insensitive if (b.delayed_distinct or 1) > 1)
    frozen = sum(1 for b in insensitive if b.continuous_obs and not b.obs_changed)
    return delayed, frozen


def _first_step_repeat_share(ev: ProbeEvidence) -> float:
    """Share of random episodes whose first observation equals the reset one exactly."""
    episodes = [e for e in ev.random_a
                if e.length and e.obs.ndim == 2 and e.reset_obs.shape == e.obs[0].shape]
    if not episodes:
        return 0.0
    return sum(bool(np.array_equal(e.obs[0], e.reset_obs)) for e in episodes) / len(episodes)


def check_stale_observation(ev: ProbeEvidence) -> list[Finding]:
    """Counterfactual action sensitivity, plus exact-repeat share for continuous observations.

    An observation that ignores the action at many states is an error only with proof of a
    defect: the action shows up in a *later* observation and the first step of the episodes
    repeats the reset observation (a lagged or sample-and-hold observation), or a continuous
    physical state stays bit-identical whatever the action (a frozen sensor). A late effect
    alone is what a position-only view of second-order dynamics shows (popgym's
    PositionOnlyCartPole): velocity carries the action into the next position.
    Without that proof it may be the task: partially observable and
    memory envs legitimately show the same observation (a corridor, a blank cue screen) or
    observations independent of the action (a card drawn each step): a "by design?" warning.
    Only states where a copy reproduced the env's own step count; when fewer than
    ``FAITHFUL_SHARE`` of them did, the check says it could not judge
    (``insufficient_evidence``).
    """
    tried = [b for b in ev.branches if b.n_actions >= 2]
    points = [b for b in tried if b.faithful_copy]
    if tried and len(points) < FAITHFUL_SHARE * len(tried):
        return [env_finding(
            "stale_observation", Category.INSUFFICIENT_EVIDENCE, Severity.INFO,
            f"action sensitivity was not judged: at {len(tried) - len(points)} of {len(tried)} "
            "saved states a deep copy of the env, stepped with an action, did not give the "
            "env's own next observation (copy.deepcopy does not carry its state, e.g. an "
            "emulator), so comparing copies says little about the env",
            evidence={"branch_points": len(tried), "faithful_copies": len(points)}, remedy="",
            stage=Stage.ENVIRONMENT)]
    insensitive = [b for b in points if b.distinct_next_obs == 1]
    share = len(insensitive) / len(points) if points else 0.0
    repeat_share, live_steps = _repeat_share(ev) if ev.api.obs_kind == "box" else (0.0, 0)
    delayed, frozen = _lag_evidence(insensitive)
    first_repeat = _first_step_repeat_share(ev)
    evidence = {
        "branch_points": len(points),
        "unfaithful_copy_points": len(tried) - len(points),
        "insensitive_points": len(insensitive),
        "insensitive_share": round(share, 3),
        "delayed_effect_points": delayed,
        "frozen_continuous_points": frozen,
        "exact_repeat_share": round(repeat_share, 3),
        "live_steps": live_steps,
        "first_step_repeat_share": round(first_repeat, 3),
    }
    if len(insensitive) >= MIN_INSENSITIVE_POINTS and share >= INSENSITIVE_SHARE_ERROR:
        # a late effect alone may be hidden dynamics (a velocity the observation omits); a
        # lag also repeats the reset observation on the first step
        lagged = delayed >= MIN_PROOF_POINTS and first_repeat >= LAG_FIRST_STEP_SHARE
        proven = lagged or frozen >= MIN_PROOF_POINTS
        why = ("the action shows up only in a later observation and the first step repeats "
               "the reset observation" if lagged
               else "a continuous observation stayed bit-identical whatever the action")
        message = (
            f"at {len(insensitive)} of {len(points)} saved states every one of "
            f"{insensitive[0].n_actions} different actions produced the same next observation"
        )
        if proven:
            message += f" and {why}: the observation does not reflect the step just taken " \
                       "(stale cache, lag or frozen sensor)"
        else:
            message += (": the observation does not depend on the action there -- partially "
                        "observable or action-independent by design?")
            if delayed >= MIN_PROOF_POINTS:
                message += (" (the action shows up a step later: hidden velocities, by "
                            "design?)")
        return [
            env_finding(
                "stale_observation",
                Category.STALE_OBSERVATION,
                Severity.ERROR if proven else Severity.WARNING,
                message,
                evidence=evidence,
            )
        ]
    if repeat_share >= REPEAT_SHARE_WARNING:
        return [
            env_finding(
                "stale_observation",
                Category.STALE_OBSERVATION,
                Severity.WARNING,
                _repeat_message(ev, repeat_share),
                evidence=evidence,
            )
        ]
    return []
