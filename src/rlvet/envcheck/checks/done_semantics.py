"""Done semantics: episodes that never end, end at once or at random, run past the end, or
hand back a fresh reset observation in place of the final one.

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
MIN_DEAD_STARTS = 2  # reset states from which every action terminates at once: not a fluke
DEAD_START_SHARE = 0.8  # ... alike for every action, among the starts every action ends
MIN_INCONSISTENT_TRANSITIONS = 2  # one odd transition could be a rare terminal branch
# A hidden draw per episode (gym-simplegrid's goal, redrawn at every reset) ends an episode
# the first time the deciding transition is taken, so it never ends an episode on a
# transition taken earlier in that same episode; a random done flag does (FrozenLake with a
# 10% random flag: see tests/envcheck/test_env_partial_observation.py). One such repeat is
# proof the flag is not a function of the observed state *within* an episode.
MIN_WITHIN_EPISODE_REPEATS = 1
AFTER_END_MARGIN = 0.5  # share of the live reward range a post-end reward must stand out by
TERMINAL_QUANTILE = 0.9  # a terminal reward above 90% of live steps' is a goal payment ...
REPAID_SHARE = 2 / 3  # ... repaid when most steps after the end pay it again
RUNAWAY_STEPS = 10  # steps spent outside the declared space without the episode ending
RESET_LIKE_TERMINAL = 0.8  # terminal observations inside the box of reset observations ...
RESET_LIKE_MID = 0.2  # ... while mid-episode ones rarely are: the env returned a new reset
MIN_TERMINATIONS = 5  # terminated random episodes needed to judge it
MIN_MID_LENGTH = 4  # an episode's middle is only "mid-episode" from 4 steps on
RESET_RANGE_PAD = 0.5  # the reset range widened by half its width on each side: 10 draws of
# CartPole's uniform(-0.05, 0.05) start cover about 82% of each dimension, 45% of the 4-D box


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
    long = ev.long_run
    if limit is None and long is not None and long.error is None and not long.capped:
        how = "terminated" if long.terminated[-1] else "truncated"
        return env_finding(
            "done_semantics",
            Category.DONE_SEMANTICS,
            Severity.INFO,
            f"{len(capped)} of {len(ev.random_a)} random episodes ran past rlvet's {cap}-step "
            f"cap; one run on {how} at step {long.length}: a built-in horizon longer than the "
            "cap, not an episode without end",
            evidence={"capped": len(capped), "cap": cap, "long_run_length": long.length,
                      "long_run_end": how},
            remedy="",
        )
    ran = "" if long is None else f"; one run on for {long.length} steps did not end either"
    return env_finding(
        "done_semantics",
        Category.DONE_SEMANTICS,
        Severity.WARNING,
        f"{len(capped)} of {len(ev.random_a)} random episodes did not end within {cap} steps "
        f"and the env has no time limit{ran}",
        evidence={"capped": len(capped), "cap": cap,
                  "long_run_length": None if long is None else long.length},
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
        return _dead_starts(ev, short, len(episodes))
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


def _dead_starts(ev: ProbeEvidence, short: int, episodes: int) -> Finding | None:
    """Some episodes end at their first step whatever the action: reset() handed out a
    state that was already over.

    A random policy also ends episodes at once where one action is a losing move (a stick in
    a card game, a step into a pit), and in a card game every move may end a deal (stick,
    or a hit that busts), but the moves are paid differently on most of those deals. A
    start where every tried action terminates *and* is paid the same is one the agent's
    choice cannot touch; most dead starts must be of that kind. A game may still deal
    decided hands by design: a warning.
    """
    ended = [b for b in ev.first_step_ends if b.all_terminated]
    dead = [b for b in ended if b.same_reward]
    if len(dead) < MIN_DEAD_STARTS or len(dead) < DEAD_START_SHARE * len(ended):
        return None
    return env_finding(
        "done_semantics",
        Category.DONE_SEMANTICS,
        Severity.WARNING,
        f"{short} of {episodes} random episodes ended at their first step, and from "
        f"{len(dead)} of the {len(ev.first_step_ends)} reset states tried every one of "
        f"{dead[0].n_actions} distinct actions terminated the episode with the same reward: "
        "reset() starts some episodes in a state that is already over (a spawn or start "
        "check gone wrong, or decided deals by design?)",
        evidence={"one_step_episodes": short, "episodes": episodes, "dead_starts": len(dead),
                  "all_actions_ended": len(ended), "starts_tried": len(ev.first_step_ends),
                  "dead_seeds": [b.seed for b in dead][:10]},
    )


def _transition_keys(e: EpisodeRecord) -> list[tuple[bytes, bytes, bytes]]:
    if e.obs.ndim != 2 or e.obs.shape[0] != e.length:
        return []
    previous = [e.reset_obs, *e.obs[:-1]]
    return [
        (p.tobytes(), repr(a).encode(), n.tobytes())
        for p, a, n in zip(previous, e.actions, e.obs, strict=False)
    ]


def _within_episode_repeats(episodes: list[EpisodeRecord],
                            mixed: set[tuple[bytes, bytes, bytes]]) -> int:
    """Inconsistent transitions that ended an episode in which they had been taken before.

    Within one episode a hidden per-episode variable (a goal drawn at reset) is constant, so
    it cannot make the same observed transition first go on and then end: only a flag that
    is random, or driven by something that changes within the episode, can.
    """
    repeated: set[tuple[bytes, bytes, bytes]] = set()
    for e in episodes:
        keys = _transition_keys(e)
        if keys and bool(e.terminated[-1]) and keys[-1] in mixed and keys[-1] in keys[:-1]:
            repeated.add(keys[-1])
    return len(repeated)


def _inconsistent_cause(ev: ProbeEvidence, fixed_horizon: bool, horizon: set[int],
                        repeats: int) -> tuple[Severity, str]:
    """Severity and cause of inconsistent termination, from what the evidence can prove.

    A Discrete observation is the state index by convention (FrozenLake, Taxi): there the
    flag must be a function of it, and a flag that ends an episode on a transition the same
    episode already took without ending is an error. Any other observation may be partial
    (a memory task's corridor looks the same at every step while a hidden counter runs out).
    So may a Discrete one when every terminated episode ends on the same step (popgym's card
    games end after a deck), or when the inconsistency is only *across* episodes: a goal
    redrawn at every reset that the observation does not show (gym-simplegrid).
    """
    if fixed_horizon:
        return Severity.WARNING, (
            f"every episode ended on step {min(horizon) + 1}: a fixed horizon the "
            "observation does not show (a step counter), by design?")
    if ev.api.obs_kind != "discrete":
        return Severity.WARNING, (
            "termination depends on something the observation does not show "
            "(partially observable by design, or a random done flag?)")
    if repeats >= MIN_WITHIN_EPISODE_REPEATS:
        return Severity.ERROR, (
            f"termination is not a function of the state ({repeats} of them ended an "
            "episode that had already taken them without ending)")
    return Severity.WARNING, (
        "each of them ended only episodes that had not taken it before, so something drawn "
        "per episode that the observation does not show decides the end (a goal redrawn at "
        "reset?): partially observable by design?")


def _inconsistent_termination(ev: ProbeEvidence) -> Finding | None:
    """The same (observation, action, next observation) both ends and does not end episodes.

    In a Markov env termination is a function of the transition; when identical transitions
    disagree, the done flag is random or attached to the wrong step, or the observation is
    not the full state. Exact repeats only occur with discrete observations, so continuous
    envs simply give no evidence here.
    """
    flags: dict[tuple[bytes, bytes, bytes], set[bool]] = defaultdict(set)
    ending_steps: dict[tuple[bytes, bytes, bytes], set[int]] = defaultdict(set)
    for e in ev.random_a:
        for t, (key, done) in enumerate(zip(_transition_keys(e), e.terminated, strict=False)):
            flags[key].add(bool(done))
            if done:
                ending_steps[key].add(t)
    mixed = {key for key, seen in flags.items() if len(seen) == 2}
    if len(mixed) < MIN_INCONSISTENT_TRANSITIONS:
        return None
    horizon = set().union(*(ending_steps[key] for key in mixed))
    ended = {e.length for e in ev.random_a if e.length and bool(e.terminated[-1])}
    fixed_horizon = len(horizon) == 1 and ended == {min(horizon) + 1}
    repeats = _within_episode_repeats(ev.random_a, mixed)
    severity, cause = _inconsistent_cause(ev, fixed_horizon, horizon, repeats)
    return env_finding(
        "done_semantics",
        Category.DONE_SEMANTICS,
        severity,
        f"{len(mixed)} distinct transitions (same observation, action and next observation) "
        f"ended the episode on some visits and not on others: {cause}",
        evidence={"inconsistent_transitions": len(mixed), "transitions": len(flags),
                  "discrete_state_observation": ev.api.obs_kind == "discrete",
                  "ended_after_earlier_visit_same_episode": repeats,
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


def _terminal_reward_repaid(ev: ProbeEvidence) -> Finding | None:
    """A terminal reward that stands out from the live steps' and is paid again on the
    steps after ``terminated``: the goal keeps paying to any caller that does not reset.

    A warning: every correct loop resets on ``terminated`` and never collects it, but a
    hand-written loop or an autoreset wrapper that steps once more farms the goal, and the
    env's own end is not an end. An end paid once (CartPole's 0 after the fall, Acrobot's
    0 while the tip stays up, MountainCar's -1) does not stand out or is not a payment.
    """
    live = pooled_rewards(ev.all_episodes())
    live = live[np.isfinite(live)]
    if not live.size:
        return None
    typical = float(np.quantile(live, TERMINAL_QUANTILE))
    repaid = [(end, after) for end, after in ev.api.terminal_repeats
              if end > 0 and end > typical and after
              and sum(r >= end for r in after) >= REPAID_SHARE * len(after)]
    if not repaid:
        return None
    end, after = repaid[0]
    return env_finding(
        "done_semantics",
        Category.DONE_SEMANTICS,
        Severity.WARNING,
        f"after terminated=True the env paid its terminal reward {end:g} again on "
        f"{sum(r >= end for r in after)} of {len(after)} further steps (live steps pay "
        f"{typical:g} or less on {TERMINAL_QUANTILE:.0%} of steps; {len(repaid)} of "
        f"{len(ev.api.terminal_repeats)} terminated episodes so): the end is not an end, "
        "and a loop that steps once more without reset farms it",
        evidence={"terminal_reward": end, "after_end_rewards": after,
                  "live_quantile": typical, "episodes_repaid": len(repaid),
                  "terminated_episodes_probed": len(ev.api.terminal_repeats)},
        remedy="stop paying once the episode has terminated (return 0, or raise until reset)",
    )


def _inside(box: tuple[np.ndarray, np.ndarray], obs: np.ndarray) -> bool:
    low, high = box
    return obs.shape == low.shape and bool(np.all((obs >= low) & (obs <= high)))


def _terminal_is_a_reset(ev: ProbeEvidence) -> Finding | None:
    """The observation returned with ``terminated`` looks like the next episode's first one.

    An env (or a wrapper) that resets itself on termination and returns the new episode's
    first observation in place of the final one (gymnax's ``GymnaxToGymWrapper``; the final
    one is only in ``info``) hides the terminal state: logged final states and any value
    computed from it are wrong. Judged against the env's own resets: terminal observations
    fall inside the per-dimension range of the reset observations (widened by
    ``RESET_RANGE_PAD``) on ``RESET_LIKE_TERMINAL``
    of terminations, while observations from the middle of episodes rarely do
    (``RESET_LIKE_MID``); an env whose resets span its whole space (Blackjack's opening
    hands) fails the second test and is left alone. A warning: the logs alone cannot tell
    a reset from a terminal state that truly resembles the start.
    """
    episodes = [e for e in ev.random_a if e.error is None and e.length and e.obs.ndim == 2]
    resets = [e.reset_obs for e in episodes if e.reset_obs.ndim == 1]
    ended = [e.obs[-1] for e in episodes if bool(e.terminated[-1]) and e.length >= 2]
    middles = [e.obs[e.length // 2] for e in episodes if e.length >= MIN_MID_LENGTH]
    if (min(len(resets), len(ended), len(middles)) < MIN_TERMINATIONS
            or len({r.shape for r in resets}) != 1):
        return None
    stack = np.stack(resets)
    if not np.all(np.isfinite(stack)):
        return None
    low, high = stack.min(axis=0), stack.max(axis=0)
    pad = RESET_RANGE_PAD * (high - low)  # a few samples under-cover the reset distribution
    box = (low - pad, high + pad)
    terminal_share = float(np.mean([_inside(box, o) for o in ended]))
    mid_share = float(np.mean([_inside(box, o) for o in middles]))
    if terminal_share < RESET_LIKE_TERMINAL or mid_share > RESET_LIKE_MID:
        return None
    return env_finding(
        "done_semantics",
        Category.DONE_SEMANTICS,
        Severity.WARNING,
        f"the observation returned with terminated=True lay inside the range of reset "
        f"observations on {terminal_share:.0%} of {len(ended)} terminations, against "
        f"{mid_share:.0%} of mid-episode observations: the env (or a wrapper) most likely "
        "resets itself and returns the next episode's first observation instead of the "
        "final one",
        evidence={"terminal_inside_reset_range": terminal_share,
                  "mid_episode_inside_reset_range": mid_share,
                  "terminations": len(ended), "resets": len(resets)},
        remedy="return the final observation with terminated=True (keep any automatic reset "
               "for the next step, or put the new first observation in info)",
    )


def check_done_semantics(ev: ProbeEvidence) -> list[Finding]:
    """Never ending, running past terminal states, ending at once or at random, or a reset
    observation returned in place of the final one."""
    found = (_never_ends(ev), _runaway(ev), _instant_end(ev), _inconsistent_termination(ev),
             _paid_after_end(ev), _terminal_reward_repaid(ev), _terminal_is_a_reset(ev))
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
