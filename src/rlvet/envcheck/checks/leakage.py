"""Reset leakage: episode k with seed s must equal a fresh env's episode with seed s.

Run only when the env is deterministic given its history (``determinism.py`` passed): then
a difference between "seed s after k episodes" and "seed s in a brand-new env" can only be
state that survived ``reset`` -- a counter, a drift term, a cache, a velocity.
"""

from __future__ import annotations

from typing import Any

from rlvet.envcheck.checks.common import env_finding, first_divergence
from rlvet.envcheck.checks.determinism import seed_not_honoured
from rlvet.envcheck.records import ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_reset_leakage"]


def _deterministic_given_history(ev: ProbeEvidence) -> bool:
    pairs = zip(ev.random_a, ev.random_b, strict=False)
    return all(first_divergence(a, b) is None for a, b in pairs) and not seed_not_honoured(ev)


def _diverging_replays(ev: ProbeEvidence) -> list[tuple[int, int, dict[str, Any]]]:
    """``(seed, episodes before it, where)`` for every fresh replay that differs from A's run."""
    by_seed = {e.seed: (i, e) for i, e in enumerate(ev.random_a)}
    out = []
    for seed, fresh in sorted(ev.fresh.items()):
        index, ran = by_seed[seed]
        where = first_divergence(ran, fresh)
        if where is not None and ran.error is None and fresh.error is None:
            out.append((seed, index, where))
    return out


def _leak_across_episodes(ev: ProbeEvidence) -> Finding | None:
    """Seeded episodes run after others that differ from the same seed in a fresh env.

    Several seeds are replayed because a leak may matter on some of them only: MinAtar's
    sticky-action memory changes an episode only when its first draw repeats the action.
    """
    diverging = _diverging_replays(ev)
    if not diverging:
        return None
    seed, index, where = diverging[0]
    return env_finding(
        "reset_leakage",
        Category.RESET_LEAKAGE,
        Severity.ERROR,
        f"{len(diverging)} of {len(ev.fresh)} seeded episodes replayed in a fresh env differ "
        f"from the same seed and actions run after earlier episodes; first: episode "
        f"{index + 1} with seed {seed}, at the {where['where']} (step {where['step']}): "
        "state from earlier episodes survives reset()",
        evidence={"seed": seed, "episodes_before": index, **where,
                  "diverging_seeds": [d[0] for d in diverging],
                  "replayed_seeds": sorted(ev.fresh)},
    )


def check_reset_leakage(ev: ProbeEvidence) -> list[Finding]:
    """Compare replays in fresh envs with the same seeds run after other episodes."""
    if not ev.fresh or not _deterministic_given_history(ev):
        return []
    for found in (_leak_across_episodes(ev), _mid_episode_leak(ev)):
        if found is not None:
            return [found]
    if not ev.api.same_seed_reset_equal:
        return [
            env_finding(
                "reset_leakage",
                Category.RESET_LEAKAGE,
                Severity.ERROR,
                "reset(seed=s) twice in a row gave different observations although the env is "
                "reproducible from scratch: reset() depends on how often it was called",
                evidence={"same_seed_reset_equal": False},
            )
        ]
    return []


def _mid_episode_leak(ev: ProbeEvidence) -> Finding | None:
    """After episodes cut short by ``reset()``, a seeded episode must equal a fresh env's.

    Envs often clear counters only when an episode *finishes* (``if done: self.t = 0``);
    every training loop that resets mid-episode (evaluation, a time budget, vector envs)
    then runs with a stale counter or buffer.
    """
    seq = ev.sequence
    if seq is None or seq.after_cut is None or seq.fresh is None:
        return None
    if seq.after_cut.error is not None or seq.fresh.error is not None:
        return None
    where = first_divergence(seq.after_cut, seq.fresh)
    if where is None:
        return None
    return env_finding(
        "reset_leakage",
        Category.RESET_LEAKAGE,
        Severity.ERROR,
        f"after {seq.boundaries} episodes cut short by reset(), reset(seed={seq.fresh.seed}) and "
        f"the same actions differ from a brand-new env at the {where['where']} (step "
        f"{where['step']}): state that only a finished episode clears survives reset()",
        evidence={"seed": seq.fresh.seed, "mid_episode_resets": seq.boundaries, **where},
    )
