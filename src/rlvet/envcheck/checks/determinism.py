"""Seeded determinism: same seed + same actions must give the same trajectory, every episode.

Two fresh envs run the same sequence of ``reset(seed=s_k)`` episodes with the same actions
(same history). Any difference is nondeterminism: an unseeded RNG (global ``np.random``,
``random``, time) in reset or step. It is also nondeterminism when ``reset(seed=s)`` leaves
the env's ``np_random`` in a state that depends on history -- the seed is not honoured after
the first reset (Gymnasium's checker compares the generator state for this reason).
History-dependent but reproducible differences are reset *leakage* (``leakage.py``).
"""

from __future__ import annotations

from rlvet.envcheck.checks.common import env_finding, first_divergence
from rlvet.envcheck.records import EpisodeRecord, ProbeEvidence
from rlvet.findings import Category, Finding, Severity

__all__ = ["check_reset_determinism", "seed_not_honoured"]


def _reseeded_elsewhere(ran: EpisodeRecord, fresh: EpisodeRecord) -> bool:
    """The fresh env, reset with the seed once more after its episode, holds the generators
    of the env with history: reset does reseed them, only what reset drew after seeding
    differs (state kept across reset decides how much it draws: reset leakage)."""
    return fresh.rng_after_reseed is not None and fresh.rng_after_reseed == ran.rng_fingerprint


def seed_not_honoured(ev: ProbeEvidence) -> list[int]:
    """Seeds whose post-reset RNG state differs between a fresh env and one with history
    because reset(seed) does not reseed every generator (-1: two back-to-back
    ``reset(seed)`` calls left different states, and no seed showed reseeding)."""
    bad = []
    reseeded = False
    by_seed = {e.seed: e for e in ev.random_a}
    for seed, fresh in ev.fresh.items():
        ran = by_seed.get(seed)
        if (
            ran
            and ran.rng_fingerprint
            and fresh.rng_fingerprint
            and ran.rng_fingerprint != fresh.rng_fingerprint
        ):
            if _reseeded_elsewhere(ran, fresh):
                reseeded = True
            else:
                bad.append(seed)
    if ev.api.same_seed_rng_equal is False and not reseeded:
        bad.append(-1)
    return bad


def check_reset_determinism(ev: ProbeEvidence) -> list[Finding]:
    """Same history, same seeds, same actions -> identical trajectories; seeds honoured."""
    for index, (a, b) in enumerate(zip(ev.random_a, ev.random_b, strict=False)):
        where = first_divergence(a, b)
        if where is not None and a.error is None and b.error is None:
            return [
                env_finding(
                    "reset_determinism",
                    Category.NONDETERMINISTIC_RESET,
                    Severity.ERROR,
                    f"two fresh envs given reset(seed={a.seed}) and the same actions diverged at "
                    f"the {where['where']} (step {where['step']}) of episode {index + 1}: "
                    "the env uses an unseeded source of randomness",
                    evidence={"seed": a.seed, "episode_index": index, **where},
                )
            ]
    unhonoured = seed_not_honoured(ev)
    if unhonoured:
        layers = _differing_generators(ev)
        named = f" ({', '.join(layers)})" if layers else ""
        return [
            env_finding(
                "reset_determinism",
                Category.NONDETERMINISTIC_RESET,
                Severity.ERROR,
                f"reset(seed=s) left a random generator of the wrapper stack{named} in a "
                "different state depending on what ran before: the seed is not honoured on "
                "every reset, by every layer",
                evidence={"seeds": unhonoured, "generators": layers},
                remedy="reseed every generator in reset(seed=...): call super().reset(seed=seed) "
                "and derive wrapper generators from self.np_random or the seed",
            )
        ]
    return []


def _differing_generators(ev: ProbeEvidence) -> list[str]:
    """``Layer.attr`` of the generators whose post-reset state depends on history."""
    by_seed = {e.seed: e for e in ev.random_a}
    names: set[str] = set()
    for seed, fresh in ev.fresh.items():
        ran = by_seed.get(seed)
        if ran is None or not ran.rng_fingerprint or not fresh.rng_fingerprint:
            continue
        mine = set(ran.rng_fingerprint.split(";"))
        names |= {part.split("=")[0] for part in mine ^ set(fresh.rng_fingerprint.split(";"))}
    return sorted(names)
