"""Reset leakage: episode k with seed s must equal a fresh env's episode with seed s.

Run only when the env is deterministic given its history (``determinism.py`` passed): then
a difference between "seed s after k episodes" and "seed s in a brand-new env" can only be
state that survived ``reset`` -- a counter, a drift term, a cache, a velocity.

The same replay also shows *what* the history changed, and two symptoms have their own name
in the taxonomy: observation components the env with a history holds fixed to the
episode's end while the fresh env's move, nothing else differing (a reading that froze as
the env aged: a stale observation), and rewards far out of the fresh episode's scale with
identical observations (a spike or a change of unit the state does not explain: a reward
artifact).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlvet.envcheck.checks.common import env_finding, first_divergence
from rlvet.envcheck.checks.determinism import seed_not_honoured
from rlvet.envcheck.records import EpisodeRecord, ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_reset_leakage"]

FROZEN_MIN_STEPS = 5  # a reading held this long while the fresh env's moves: frozen
SPIKE_RATIO = 10.0  # history-only rewards this far out of the fresh episode's scale


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
    category, symptom = _symptom(ev.random_a[index], ev.fresh[seed])
    return env_finding(
        "reset_leakage",
        category,
        Severity.ERROR,
        f"{len(diverging)} of {len(ev.fresh)} seeded episodes replayed in a fresh env differ "
        f"from the same seed and actions run after earlier episodes; first: episode "
        f"{index + 1} with seed {seed}, at the {where['where']} (step {where['step']}): "
        + (symptom or "state from earlier episodes survives reset()"),
        evidence={"seed": seed, "episodes_before": index, **where,
                  "diverging_seeds": [d[0] for d in diverging],
                  "replayed_seeds": sorted(ev.fresh)},
    )


def _rows(e: EpisodeRecord, n: int) -> np.ndarray | None:
    """Reset observation and the first ``n`` step observations, ``(n + 1, dim)``."""
    if e.obs.ndim != 2 or e.obs.shape[0] < n or e.reset_obs.shape != e.obs.shape[1:]:
        return None
    return np.vstack([e.reset_obs[None, :], e.obs[:n]])


def _frozen_components(ran: EpisodeRecord, fresh: EpisodeRecord) -> list[int]:
    """Components on which alone the two episodes' steps differ, held fixed by the env with
    a history from the first differing step to the end while the fresh env's move.

    A quantity that ran out (an empty tank at zero) is also fixed, but at the extreme of
    what the two episodes show, and it changes the dynamics, so other components differ
    too; frozen readings change nothing else, and at least one of them sits inside the
    episodes' range (a display frozen while showing an empty queue holds a floor too).
    """
    n = min(ran.length, fresh.length)
    a, b = _rows(ran, n), _rows(fresh, n)
    if a is None or b is None or a.shape != b.shape:
        return []
    a, b = a[1:], b[1:]  # reset() may write the reading afresh; the steps must not hold it
    with np.errstate(invalid="ignore"):
        unequal = a != b
        differ = np.any(unequal, axis=0)
        rows = np.flatnonzero(np.any(unequal, axis=1))
        if not rows.size or n - rows[0] < FROZEN_MIN_STEPS:
            return []
        both = np.vstack([a, b])
        low, high = np.min(both, axis=0), np.max(both, axis=0)
        a, b = a[rows[0]:], b[rows[0]:]
        held = np.all(a == a[0], axis=0)
        moving = ~np.all(b == b[0], axis=0)
        inside = (a[0] > low) & (a[0] < high)
    frozen = held & moving
    if np.any(differ & ~frozen) or not np.any(differ & inside):
        return []
    return [int(i) for i in np.flatnonzero(frozen & differ)]


def _reward_out_of_scale(ran: EpisodeRecord, fresh: EpisodeRecord) -> float | None:
    """How far out of the fresh episode's scale the history-only rewards are, when the two
    episodes see identical observations and the factor is at least ``SPIKE_RATIO``: the
    median difference over the fresh episode's largest reward magnitude (a spike credited
    by the env's age), or the median magnitude over the fresh one's on the same steps (a
    reward whose unit changed as the env aged)."""
    n = min(ran.length, fresh.length)
    a, b = _rows(ran, n), _rows(fresh, n)
    if a is None or b is None or a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
        return None
    ra, rb = ran.rewards[:n], fresh.rewards[:n]
    differ = ra != rb
    if not np.any(differ) or not np.all(np.isfinite(ra)) or not np.all(np.isfinite(rb)):
        return None
    spike = float(np.median(np.abs(ra[differ] - rb[differ]))) / max(
        float(np.max(np.abs(rb))), 1e-8)
    base = float(np.median(np.abs(rb[differ])))  # zero: a payment where none was due, no unit
    scale = float(np.median(np.abs(ra[differ]))) / base if base > 0 else 0.0
    ratio = max(spike, scale)
    return ratio if ratio >= SPIKE_RATIO else None


def _symptom(ran: EpisodeRecord, fresh: EpisodeRecord) -> tuple[Category, str | None]:
    """The category a history-dependent difference belongs to, and its wording."""
    frozen = _frozen_components(ran, fresh)
    if frozen:
        return Category.STALE_OBSERVATION, (
            f"observation component(s) {frozen[:8]} stay fixed to the episode's end in the "
            "env that ran before, while they move in a fresh env: a reading that stopped "
            "updating as the env aged")
    factor = _reward_out_of_scale(ran, fresh)
    if factor is not None:
        return Category.REWARD_ARTIFACT, (
            f"with identical observations, the env that ran before paid rewards {factor:.0f}x "
            "out of the fresh episode's scale: a spike or a change of unit that neither the "
            "state nor the action explains (it follows the env's age)")
    return Category.RESET_LEAKAGE, None


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
