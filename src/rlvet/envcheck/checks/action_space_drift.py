"""Action-space drift: spaces that change under the learner, and actions the env ignores.

A policy network is built once from the spaces it saw at start-up; an env whose spaces or
bounds change across resets feeds it actions it was never shaped for. An env that silently
accepts out-of-range actions, or clips well inside its declared bounds, hides exactly the
mismatch between what the policy emits and what the env executes.
"""

from __future__ import annotations

from rlvet.envcheck.checks.common import env_finding
from rlvet.envcheck.records import ActionOutcome, BranchPoint, ProbeEvidence
from rlvet.findings import Category, Finding, Severity, Stage

__all__ = ["check_action_space_drift"]

SATURATED_SHARE = 0.5  # most states must show it: one state near a wall proves nothing
MIN_SATURATED_POINTS = 3
MIN_COMPONENT_POINTS = 8  # faithful saved states where no change of a component ever mattered


def _changed_spaces(ev: ProbeEvidence) -> Finding | None:
    snapshots = ev.api.space_snapshots
    distinct = list(dict.fromkeys(snapshots))
    if len(distinct) <= 1:
        return None
    return env_finding(
        "action_space_drift",
        Category.ACTION_SPACE_DRIFT,
        Severity.ERROR,
        f"the observation/action spaces changed during the probe ({len(distinct)} distinct "
        f"versions over {len(snapshots)} snapshots): first {distinct[0][:120]!r}, "
        f"later {distinct[1][:120]!r}",
        evidence={"versions": distinct[:5], "snapshots": len(snapshots)},
    )


def _dead_components(ev: ProbeEvidence) -> Finding | None:
    """Action components that never change anything, at any saved state, while the others
    do: the declared action space is larger than the one the env executes (a damper the
    thermostat ignores, a second server the scheduler never reads). The policy spends its
    capacity, exploration noise and entropy on them. A warning: a component may matter only
    in states random play never reaches."""
    points = [p.component_effects for p in ev.branches
              if p.faithful_copy and p.component_effects is not None]
    if len(points) < MIN_COMPONENT_POINTS:
        return None
    matters = [any(p[i] for p in points) for i in range(len(points[0]))]
    dead = [i for i, m in enumerate(matters) if not m]
    if not dead or len(dead) == len(matters):
        return None  # nothing matters anywhere: the whole action is ignored (stale checks)
    return env_finding(
        "action_space_drift",
        Category.ACTION_SPACE_DRIFT,
        Severity.WARNING,
        f"action component(s) {dead} of {len(matters)} never changed the next observation "
        f"or reward at any of {len(points)} saved states (changed alone, the others held), "
        "while the others did: the env ignores part of its declared action space; by "
        "design in states random play does not reach?",
        evidence={"dead_components": dead, "components": len(matters),
                  "points": len(points)},
        remedy="wire the ignored component into step(), or drop it from action_space",
    )


def _turns_at_step(before: list[int], after: list[int]) -> int | None:
    """The episode step from which ``after``'s states begin, when every one of them comes
    later than every one of ``before``'s and each side holds ``MIN_SATURATED_POINTS``: a
    change that lines up with the step count, as an actuator that dies or a range that
    shrinks with the episode's age does and a property of the state does not so cleanly."""
    if len(before) < MIN_SATURATED_POINTS or len(after) < MIN_SATURATED_POINTS:
        return None
    return min(after) if max(before) < min(after) else None


def _components_lost_late(ev: ProbeEvidence) -> Finding | None:
    """Components that changed the next step at every saved state before some episode step
    and at none from it on, while another component still mattered from there: an actuator
    that dies as the episode ages (a heater that cuts out)."""
    points = [(p.t, p.component_effects) for p in ev.branches
              if p.faithful_copy and p.component_effects is not None]
    if len(points) < MIN_COMPONENT_POINTS:
        return None
    lost = {}
    for i in range(len(points[0][1])):
        onset = _turns_at_step([t for t, e in points if e[i]], [t for t, e in points if not e[i]])
        if onset is not None:
            lost[i] = onset
    if not lost:
        return None
    i, onset = min(lost.items(), key=lambda kv: kv[0])
    if not any(e[j] for t, e in points if t >= min(lost.values())
               for j in range(len(e)) if j not in lost):
        return None  # every component dies together: the episode's end state, not an actuator
    n_dead = sum(1 for _, e in points if not e[i])
    return env_finding(
        "action_space_drift",
        Category.ACTION_SPACE_DRIFT,
        Severity.WARNING,
        f"action component {i} changed the next observation or reward at all "
        f"{len(points) - n_dead} saved states before step {onset} of an episode and at none "
        f"of the {n_dead} from it on, while other components still mattered there: the "
        "action loses part of its effect as the episode ages (or a phase of the task where "
        "it is moot, by design?)",
        evidence={"components_lost": sorted(lost), "from_step": onset,
                  "points_before": len(points) - n_dead, "points_after": n_dead},
        remedy="keep every declared action component effective for the whole episode",
    )


def _out_of_range(ev: ProbeEvidence) -> Finding | None:
    """What the env did with actions outside its declared space.

    Rejecting is right; clipping a Box action to its bound is common and harmless (info).
    A Discrete index past the end has no meaning, so accepting it in any form means actions
    are remapped behind the policy's back; a Box action whose effect differs from the
    clipped one means the env does something else with it (a hidden rescale, no bound at
    all): both a warning.
    """
    outcomes = ev.api.oob_actions
    if outcomes and all(o is ActionOutcome.NOT_PROBED for o in outcomes.values()):
        return env_finding(
            "action_space_drift",
            Category.INSUFFICIENT_EVIDENCE,
            Severity.INFO,
            "out-of-range actions were not judged: the env does not survive a deep copy "
            "(the comparison with the nearest valid action needs one)",
            evidence={"outcomes": {k: str(v) for k, v in outcomes.items()}},
            remedy="",
            stage=Stage.ENVIRONMENT,
        )
    taken = {label: o for label, o in outcomes.items()
             if o not in (ActionOutcome.REJECTED, ActionOutcome.NOT_PROBED)}
    if not taken:
        return None
    discrete = ev.api.action_kind != "box"
    odd = {label: o for label, o in taken.items() if discrete or o is not ActionOutcome.CLIPPED}
    what = "; ".join(f"{label}: {_WORDS.get(o, o)}" for label, o in taken.items())
    return env_finding(
        "action_space_drift",
        Category.ACTION_SPACE_DRIFT,
        Severity.WARNING if odd else Severity.INFO,
        f"out-of-range actions were silently accepted ({what})",
        evidence={"accepted": sorted(taken), "outcomes": {k: str(v) for k, v in outcomes.items()},
                  "rejected_with": dict(ev.api.rejections)},
        remedy="reject actions outside action_space (assert action_space.contains(action))",
    )


_WORDS = {
    ActionOutcome.CLIPPED: "same effect as the nearest valid action (clipped)",
    ActionOutcome.WRAPPED: "same effect as the action at the other end (wrapped around)",
    ActionOutcome.ACCEPTED: "an effect unlike the clipped action (something else)",
}


def _late_saturation(rated: list[BranchPoint]) -> Finding | None:
    """The bound acts like the half-way point at every state from some episode step on and
    at none before: the action's range shrinks as the episode ages (a sagging battery, an
    actuator that overheats)."""
    late = [b for b in rated if b.saturated]
    early = [b for b in rated if not b.saturated]
    onset = _turns_at_step([b.t for b in early], [b.t for b in late])
    if onset is None:
        return None
    return env_finding(
        "action_space_drift",
        Category.ACTION_SPACE_DRIFT,
        Severity.WARNING,
        f"from step {onset} of an episode on, the declared action bound had the same effect "
        f"as the half-way point at all {len(late)} states tried, and at none of the "
        f"{len(early)} earlier ones: the action's effective range shrinks as the episode "
        "goes on (or a state every episode reaches late, by design?)",
        evidence={"saturated_from_step": onset, "late_saturated_points": len(late),
                  "earlier_points": len(early)},
        remedy="keep the action's effect constant over the episode, or expose what limits "
        "it in the observation",
    )


def _saturated_inside_bounds(ev: ProbeEvidence) -> Finding | None:
    rated = [b for b in ev.branches if b.saturated is not None]
    late = _late_saturation(rated)
    if late is not None:
        return late
    saturated = [b for b in rated if b.saturated]
    if len(saturated) < MIN_SATURATED_POINTS or len(saturated) < SATURATED_SHARE * len(rated):
        return None
    return env_finding(
        "action_space_drift",
        Category.ACTION_SPACE_DRIFT,
        Severity.WARNING,
        f"at {len(saturated)} of {len(rated)} states the declared action bound had the same "
        "effect as the half-way point: the env clips actions well inside its declared space",
        evidence={"saturated_points": len(saturated), "rated_points": len(rated)},
        remedy="declare the action bounds the env actually uses, or rescale actions to them",
    )


def check_action_space_drift(ev: ProbeEvidence) -> list[Finding]:
    """Spaces changing across resets/steps, out-of-bounds acceptance, hidden clipping."""
    found = (_changed_spaces(ev), _out_of_range(ev), _saturated_inside_bounds(ev),
             _dead_components(ev) or _components_lost_late(ev))
    return [f for f in found if f is not None]
