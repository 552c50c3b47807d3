"""Done semantics: episodes that never end, end at once or at random, or run past the end.

Termination is the learner's only notion of "this cannot continue": a dropped flag makes
value estimates bootstrap through impossible states; an episode that ends after one step
every time removes the task altogether. Stepping after the end is usually accepted by
Gymnasium's own envs (with a warning), so it is reported as context only.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from rlvet.envcheck.checks.common import box_bounds_violations, env_finding, pooled_rewards
from rlvet.envcheck.records import ActionOutcome, EpisodeRecord, ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_done_semantics", "runaway_episodes"]

CAPPED_SHARE = 0.5  # most random episodes hitting rlvet's cap means no end condition fires
INSTANT_END_SHARE = 0.95  # Blackjack ends at step 1 often, but not for 95% of every policy
MIN_INCONSISTENT_TRANSITIONS = 2  # one odd transition could be a rare terminal branch
AFTER_END_MARGIN = 0.5  # share of the live reward range a post-end reward must stand out by
RUNAWAY_STEPS = 10  # steps spent outside the declared space without the episode ending


def runaway_episodes(ev: ProbeEvidence) -> int:
    """Random episodes whose observations left the declared Box bounds and kept going."""
    api = ev.api
    if api.obs_low is None or api.obs_high is None:
        return 0
    count = 0
    for e in ev.random_a:
        if e.obs.ndim != 2 or not e.length:
            continue
        started_inside = not box_bounds_violations(e.reset_obs[None, :], api.obs_low,
                                                   api.obs_high).any()
        outside = box_bounds_violations(e.obs, api.obs_low, api.obs_high)
        if started_inside and outside.any() and e.length - int(np.argmax(outside)) > RUNAWAY_STEPS:
            count += 1
    return count


def _never_ends(ev: ProbeEvidence) -> Finding | None:
    capped = [e for e in ev.random_a if e.capped]
    if not ev.random_a or len(capped) < CAPPED_SHARE * len(ev.random_a):
        return None
    limit = ev.api.max_episode_steps
    cap = capped[0].length
    if limit is not None and cap > limit:
        return env_finding(
            "done_semantics",
            Category.DONE_SEMANTICS,
            Severity.ERROR,
            f"{len(capped)} of {len(ev.random_a)} random episodes ran {cap} steps, past the "
            f"registered limit of {limit}, without terminated or truncated: done flags are lost",
            evidence={
                "capped": len(capped),
                "episodes": len(ev.random_a),
                "cap": cap,
                "max_episode_steps": limit,
            },
        )
    return env_finding(
        "done_semantics",
        Category.DONE_SEMANTICS,
        Severity.WARNING,
        f"{len(capped)} of {len(ev.random_a)} random episodes did not end within {cap} steps "
        "and the env has no time limit",
        evidence={"capped": len(capped), "cap": cap},
        remedy="wrap the env in gymnasium.wrappers.TimeLimit",
    )


def _runaway(ev: ProbeEvidence) -> Finding | None:
    count = runaway_episodes(ev)
    if count == 0:
        return None
    return env_finding(
        "done_semantics",
        Category.DONE_SEMANTICS,
        Severity.ERROR,
        f"in {count} random episodes the observation left the declared space and the episode "
        f"went on for more than {RUNAWAY_STEPS} steps: a terminal state is not being signalled",
        evidence={"runaway_episodes": count},
    )


def _instant_end(ev: ProbeEvidence) -> Finding | None:
    episodes = [e for e in (*ev.random_a, *ev.expert) if e.error is None]
    if len(episodes) < 5:
        return None
    short = sum(1 for e in episodes if e.length <= 1 and e.ended)
    if short < INSTANT_END_SHARE * len(episodes):
        return None
    # One-step tasks (bandits) and envs that end at the first wrong move end early by
    # design for a random policy; an expert ending at once too is the proof of a defect.
    expert_short = sum(1 for e in ev.expert if e.error is None and e.length <= 1 and e.ended)
    proven = bool(ev.expert) and expert_short >= INSTANT_END_SHARE * len(ev.expert)
    return env_finding(
        "done_semantics",
        Category.DONE_SEMANTICS,
        Severity.ERROR if proven else Severity.WARNING,
        f"{short} of {len(episodes)} episodes ({'random and expert' if ev.expert else 'random'})"
        " ended after a single step: "
        + ("the done flag fires regardless of the state" if proven else
           "a one-step task, or an early termination by design? (pass --expert to tell)"),
        evidence={"one_step_episodes": short, "expert_one_step": expert_short,
                  "expert_episodes": len(ev.expert)},
    )


def _transition_keys(e: EpisodeRecord) -> list[tuple[bytes, bytes, bytes]]:
    if e.obs.ndim != 2 or e.obs.shape[0] != e.length:
        return []
    previous = [e.reset_obs, *e.obs[:-1]]
    return [
        (p.tobytes(), repr(a).encode(), n.tobytes())
        for p, a, n in zip(previous, e.actions, e.obs, strict=False)
    ]


def _inconsistent_termination(ev: ProbeEvidence) -> Finding | None:
    """The same (observation, action, next observation) both ends and does not end episodes.

    In a Markov env termination is a function of the transition; when identical transitions
    disagree, the done flag is random or attached to the wrong step. Exact repeats only occur
    with discrete observations, so continuous envs simply give no evidence here.
    """
    flags: dict[tuple[bytes, bytes, bytes], set[bool]] = defaultdict(set)
    ending_steps: dict[tuple[bytes, bytes, bytes], set[int]] = defaultdict(set)
    for e in ev.random_a:
        for t, (key, done) in enumerate(zip(_transition_keys(e), e.terminated, strict=False)):
            flags[key].add(bool(done))
            if done:
                ending_steps[key].add(t)
    mixed = [key for key, seen in flags.items() if len(seen) == 2]
    if len(mixed) < MIN_INCONSISTENT_TRANSITIONS:
        return None
    # A Discrete observation is the state index by convention (FrozenLake, Taxi): there the
    # flag must be a function of it. Any other observation may be partial (a memory task's
    # corridor looks the same at every step while a hidden counter runs out). So may a
    # Discrete one when every terminated episode ends on the same step: a fixed horizon
    # (popgym's card games end after a deck) the observation does not show.
    horizon = set().union(*(ending_steps[key] for key in mixed))
    ended = {e.length for e in ev.random_a if e.length and bool(e.terminated[-1])}
    fixed_horizon = len(horizon) == 1 and ended == {min(horizon) + 1}
    markov = ev.api.obs_kind == "discrete" and not fixed_horizon
    if markov:
        cause = "termination is not a function of the state"
    elif fixed_horizon:
        cause = (f"every episode ended on step {min(horizon) + 1}: a fixed horizon the "
                 "observation does not show (a step counter), by design?")
    else:
        cause = ("termination depends on something the observation does not show "
                 "(partially observable by design, or a random done flag?)")
    return env_finding(
        "done_semantics",
        Category.DONE_SEMANTICS,
        Severity.ERROR if markov else Severity.WARNING,
        f"{len(mixed)} distinct transitions (same observation, action and next observation) "
        f"ended the episode on some visits and not on others: {cause}",
        evidence={"inconsistent_transitions": len(mixed), "transitions": len(flags),
                  "discrete_state_observation": ev.api.obs_kind == "discrete",
                  "ending_steps": sorted(t + 1 for t in horizon)[:10]},
    )


def _paid_after_end(ev: ProbeEvidence) -> Finding | None:
    """A reward larger than any live step's, paid only after the episode ended.

    Every loop that resets on ``terminated`` never sees it: the task's largest payment (a
    goal bonus deferred one step) is lost to training.
    """
    rewards = [r for r, _, _ in ev.api.after_end if np.isfinite(r)]
    live = pooled_rewards(ev.all_episodes())
    live = live[np.isfinite(live)]
    if ev.api.after_end_live_max is None or not rewards or not live.size:
        return None
    # well above every reward of every live step the rollouts saw (by half their range): not
    # the noise of a continuous reward, nor an env that resets itself and goes on (dm_env)
    live_max = max(float(live.max()), ev.api.after_end_live_max)
    margin = AFTER_END_MARGIN * (live_max - float(live.min()))
    if max(rewards) <= max(live_max, 0.0) + margin:
        return None
    return env_finding(
        "done_semantics",
        Category.DONE_SEMANTICS,
        Severity.ERROR,
        f"a step after terminated/truncated paid {max(rewards):g}, more than any step of the "
        f"live episode (max {live_max:g}): the reward for the end is paid after the end, "
        "where every loop that resets on done loses it",
        evidence={"after_end": [list(x) for x in ev.api.after_end[:12]],
                  "live_max": live_max},
        remedy="return the final reward on the step that sets terminated=True",
    )


def check_done_semantics(ev: ProbeEvidence) -> list[Finding]:
    """Never ending, running past terminal states, ending at once or at random."""
    found = (_never_ends(ev), _runaway(ev), _instant_end(ev), _inconsistent_termination(ev),
             _paid_after_end(ev))
    findings = [f for f in found if f is not None]
    if ev.api.step_after_end is ActionOutcome.ACCEPTED:
        findings.append(
            env_finding(
                "done_semantics",
                Category.DONE_SEMANTICS,
                Severity.INFO,
                "step() after the episode ended was accepted without reset(); harmless if every "
                "caller resets, a silent bug in hand-written loops that do not",
                evidence={"step_after_end": str(ev.api.step_after_end)},
                remedy="",
            )
        )
    return findings
