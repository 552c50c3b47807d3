"""Plain data that env probes produce in the child process and checks read in the parent.

Contents:
    ActionOutcome, STEP_AFTER_END -- what an env did with an action it should not take:
        rejected, clipped, wrapped, accepted (or not probed).
    EpisodeRecord -- one episode: flattened observations, actions, rewards, flags, step times.
    ContractAudit -- API-contract violations counted over every step of a probe (not only the
        first, as Gymnasium's passive checker does).
    ApiProbe -- one-off API facts: signatures, reset/step return shapes, out-of-bounds actions,
        stepping after the end of an episode, spaces across resets.
    BranchPoint -- next observations after trying different actions from one saved state.
    HangEvent -- a step that blew the wall-clock budget (the child was killed).
    ProbeFailure -- a probe that did not finish: which probe, and the typed sandbox failure.
    ProbeEvidence -- everything one ``rlvet env`` run collected; the only input of the checks.

Probes are data, not printed strings: the checks judge, ``report/`` renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from rlvet.envcheck.load import LoadTrace
from rlvet.sandbox import SETUP_CALLS, Failure, FailureKind

__all__ = [
    "STEP_AFTER_END",
    "ActionOutcome",
    "ApiProbe",
    "BranchPoint",
    "ContractAudit",
    "EpisodeRecord",
    "FarmPoint",
    "HangEvent",
    "ProbeEvidence",
    "ProbeFailure",
    "SequenceProbe",
]


STEP_AFTER_END = "step after end"  # the ``rejections`` key of the step after an episode's end


class ActionOutcome(StrEnum):
    """What an env did with an action it should not take (out of range, or after the end).

    Judged by comparison, never by reading an error message: ``CLIPPED`` and ``WRAPPED``
    mean the next observation equalled that of the nearest valid action or of the action at
    the other end (modulo n); ``ACCEPTED`` means it did something else.
    """

    REJECTED = "rejected"  # the env raised: right
    CLIPPED = "clipped"
    WRAPPED = "wrapped"
    ACCEPTED = "accepted"
    NOT_PROBED = "not probed"


@dataclass(slots=True)
class EpisodeRecord:
    """One episode as the env reported it.

    Attributes:
        seed: the seed passed to ``reset``.
        policy: ``"random"``, ``"replay"`` or ``"expert"``.
        reset_obs: flattened reset observation, shape ``(obs_dim,)``.
        obs: flattened observations after each step, shape ``(n_steps, obs_dim)``.
        actions: the actions taken, in the env's own format (replayable).
        rewards: shape ``(n_steps,)``, NaN where the reward was not a number.
        terminated, truncated: shape ``(n_steps,)`` booleans.
        step_seconds: wall time of each ``step`` call, shape ``(n_steps,)``.
        step_started: ``time.monotonic()`` when each step began, shape ``(n_steps,)``.
        step_wait: seconds of each step the process waited for a CPU (run-queue wait,
            the machine's load), NaN where the platform does not say, shape ``(n_steps,)``.
        nonfinite_obs: per step, whether the observation itself held NaN/inf (read before
            ragged observations are padded with NaN), shape ``(n_steps,)``.
        error: ``"ExcType: message"`` if a step or reset raised, else None.
        error_step: index of the step that raised (``-1`` for reset).
        rng_fingerprint: hashes of every random generator along the wrapper stack right
            after ``reset(seed)`` (``"Layer.attr=hash;..."``), or None if there is none;
            tells "seed not honoured" apart from "state leaks past reset".
        rng_after_reseed: fresh-env replays only: the same hashes after a second
            ``reset(seed)`` at the episode's end. Equal to an env-with-history's
            ``rng_fingerprint`` when reset reseeds every generator and only what reset drew
            depends on state kept across resets (a leak, not an unhonoured seed).
        capped: the episode hit rlvet's step cap without terminating or truncating.
        reset_timing: ``(seconds, started, wait)`` of the episode's ``reset`` call, like the
            per-step fields; None where reset raised or was the first of a fresh env (its
            lazy set-up is not the env's usual reset).
    """

    seed: int
    policy: str
    reset_obs: np.ndarray
    obs: np.ndarray
    actions: list[Any]
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    step_seconds: np.ndarray
    error: str | None = None
    error_step: int | None = None
    rng_fingerprint: str | None = None
    capped: bool = False
    step_started: np.ndarray = field(default_factory=lambda: np.zeros(0))
    step_wait: np.ndarray = field(default_factory=lambda: np.zeros(0))
    nonfinite_obs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    reset_timing: tuple[float, float, float] | None = None
    rng_after_reseed: str | None = None

    @property
    def length(self) -> int:
        """Steps taken."""
        return int(self.rewards.shape[0])

    @property
    def episode_return(self) -> float:
        """Sum of rewards (NaN-propagating: a NaN reward is harness evidence)."""
        return float(np.sum(self.rewards))

    @property
    def ended(self) -> bool:
        """The env itself ended the episode (terminated or truncated on the last step)."""
        return self.length > 0 and bool(self.terminated[-1] or self.truncated[-1])


@dataclass(slots=True)
class ContractAudit:
    """Contract violations counted over every step and reset; examples keep the first
    offending value.

    Steps and resets are counted apart, each with its own violations, so that a share is
    always "violations at steps of audited steps" (FlappyBird's reset observation once
    read "1012 of 1008 audited steps" when both went into one count).
    """

    steps: int = 0
    resets: int = 0
    violations: dict[str, int] = field(default_factory=dict)
    reset_violations: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)

    def record(self, kind: str, example: str, *, at_reset: bool = False) -> None:
        """Count one violation of ``kind`` at a step (or a reset); keep the first example."""
        counts = self.reset_violations if at_reset else self.violations
        counts[kind] = counts.get(kind, 0) + 1
        self.examples.setdefault(kind, example[:200])

    def kinds(self) -> list[str]:
        """Every violated kind, at steps or resets, sorted."""
        return sorted({*self.violations, *self.reset_violations})

    def merge(self, other: ContractAudit) -> None:
        """Add another audit's counts (used across probes)."""
        self.steps += other.steps
        self.resets += other.resets
        for mine, theirs in ((self.violations, other.violations),
                             (self.reset_violations, other.reset_violations)):
            for kind, n in theirs.items():
                mine[kind] = mine.get(kind, 0) + n
        for kind, text in other.examples.items():
            self.examples.setdefault(kind, text)


@dataclass(slots=True)
class ApiProbe:
    """One-off API facts gathered on a fresh env.

    Attributes:
        problems: ``kind -> message`` for contract problems found by direct calls.
        gymnasium_warnings: the messages Gymnasium's own passive checker emitted.
        same_seed_reset_equal: ``reset(seed=s)`` twice in a row gave equal observations.
        same_seed_rng_equal: ... and equal ``np_random`` states (None if no generator).
        oob_actions: ``description -> outcome`` of each out-of-range action.
        step_after_end: outcome of calling ``step`` after the episode ended (``REJECTED``,
            ``ACCEPTED``, or ``NOT_PROBED`` when no episode ended within the probe budget).
        rejections: ``description -> exception type`` of each rejected action (the
            step after the end is ``STEP_AFTER_END``).
        after_end: ``(reward, terminated, truncated)`` of each step taken after an end.
        after_end_live_max: the largest reward of a live step in the same episodes.
        terminal_repeats: per episode that ended with ``terminated``: the reward of its
            terminating step and the rewards of the steps taken after it.
        obs_leaf_kinds: the observation space's leaf space types (``"Text"``, ``"Graph"``,
            ``"Sequence"``, ...) beyond Box/Discrete/MultiDiscrete/MultiBinary.
        space_snapshots: text snapshots of (observation_space, action_space) after each reset
            and at intervals during steps; more than one distinct value is drift.
        declared_reward_range: ``(low, high)`` if the env declares a reward range.
        max_episode_steps: the spec's time limit, if any.
        env_id: the spec id, if any.
        obs_kind: ``"box"``, ``"discrete"``, ``"multi"`` or ``"other"``.
        action_kind: ``"discrete"``, ``"box"`` or ``"other"``.
        obs_space_repr, action_space_repr: for messages.
        obs_low, obs_high: flattened Box bounds (None for other spaces).
    """

    problems: dict[str, str] = field(default_factory=dict)
    gymnasium_warnings: list[str] = field(default_factory=list)
    same_seed_reset_equal: bool = True
    same_seed_rng_equal: bool | None = None
    oob_actions: dict[str, ActionOutcome] = field(default_factory=dict)
    step_after_end: ActionOutcome = ActionOutcome.NOT_PROBED
    rejections: dict[str, str] = field(default_factory=dict)
    after_end: list[tuple[float, bool, bool]] = field(default_factory=list)
    after_end_live_max: float | None = None
    terminal_repeats: list[tuple[float, list[float]]] = field(default_factory=list)
    obs_leaf_kinds: list[str] = field(default_factory=list)
    space_snapshots: list[str] = field(default_factory=list)
    declared_reward_range: tuple[float, float] | None = None
    max_episode_steps: int | None = None
    env_id: str | None = None
    obs_kind: str = "other"
    action_kind: str = "other"
    obs_space_repr: str = ""
    action_space_repr: str = ""
    obs_low: np.ndarray | None = None
    obs_high: np.ndarray | None = None


@dataclass(slots=True)
class BranchPoint:
    """Next observations after trying several distinct actions from one saved state.

    Attributes:
        seed, t: where the state came from (episode seed, step index).
        n_actions: how many distinct actions were tried.
        distinct_next_obs: how many distinct next observations they produced; 1 means the
            observation did not respond to the action at all.
        obs_changed: whether any action changed the observation from the current one.
        delayed_distinct: when every action gave the same next observation, the most
            distinct observations seen over a few further steps with one fixed action
            (> 1: the action shows up late -- lag or sample-and-hold); else None.
        continuous_obs: the observation at this state has non-integer values (an exact
            repeat of a continuous physical state is implausible; of a grid cell, not).
        saturated: for Box actions, whether the declared bound gave the same next observation
            as the half-way point while the midpoint did not (the env clips inside its
            declared space); None where it does not apply.
        faithful_copy: whether a deep copy, stepped with an action, gave the same next
            observation as the env itself stepped with it. False: the copy does not carry
            the env's state (ALE's emulator restarts in a copy), so what the copies showed
            at this state is no evidence about the env.
        component_effects: for an action of several components (a Box of 2+ dimensions, a
            MultiDiscrete), per component, whether changing it alone (the others held)
            changed the next observation or reward here; None where it does not apply.
    """

    seed: int
    t: int
    n_actions: int
    distinct_next_obs: int
    obs_changed: bool
    saturated: bool | None = None
    delayed_distinct: int | None = None
    continuous_obs: bool = False
    component_effects: tuple[bool, ...] | None = None
    faithful_copy: bool = True
    all_terminated: bool = False
    same_reward: bool = False
    raised_on: str | None = None


FARM_MISSES = 2  # repeats not paid back at the start that rule farming out: farming is
# paid on all but one repeat (checks/reward_farming), so the probe drops a cycle at two


@dataclass(slots=True)
class FarmPoint:
    """One action, or a cycle of two, repeated from a state that was just paid a high reward.

    Attributes:
        seed, t: where the state came from (episode seed, steps into it).
        paid: the reward that state was paid.
        action: the candidate action (``"a"``) or cycle (``"a>b"``) that farmed best.
        steps: repeats run (fewer when the episode ended or was cut).
        farmed: of them, repeats paid at least ``paid`` in all that came back to the
            observation they started from (no progress).
        ended: whether the env terminated while the action was repeated.
    """

    seed: int
    t: int
    paid: float
    action: str
    steps: int
    farmed: int
    ended: bool


@dataclass(slots=True)
class SequenceProbe:
    """The multi-episode API run: boundaries crossed, its audit, and a seeded episode after
    mid-episode resets next to the same seed and actions in a brand-new env."""

    boundaries: int = 0
    audit: ContractAudit = field(default_factory=lambda: ContractAudit())
    after_cut: EpisodeRecord | None = None
    fresh: EpisodeRecord | None = None


@dataclass(slots=True)
class HangEvent:
    """A probe step that exceeded the wall-clock budget; the child process was killed."""

    probe: str
    seed: int | None
    step: int
    budget_s: float
    recovered_s: float | None = None  # see ProbeFailure.recovered_s


@dataclass(frozen=True, slots=True)
class ProbeFailure:
    """A probe that did not finish.

    Attributes:
        probe: the probe's label (``"random episodes"``).
        failure: how it failed (raised, died, hung, out_of_memory, skipped), in which user
            call, with the exit code, signal or budget.
        recovered_s: for a hang in a freshly built env's first calls, the seconds the same
            probe took when rerun with a warm-up budget for those calls, if it then
            finished: a slow cold start (JIT compilation), not an env that blocks.
    """

    probe: str
    failure: Failure
    recovered_s: float | None = None

    @property
    def breaks_the_harness(self) -> bool:
        """The env took its process down (a death, the memory cap), or hung outside a
        reset, step or policy call: while being built, loaded or closed. A hanging step is
        a ``silent_timeout``; an env that cannot even be built is a broken harness."""
        kind = self.failure.kind
        if kind in (FailureKind.DIED, FailureKind.OUT_OF_MEMORY):
            return True
        return kind is FailureKind.HUNG and self.failure.call in SETUP_CALLS


@dataclass(slots=True)
class ProbeEvidence:
    """All data one ``rlvet env`` run collected, in the order the probes ran.

    Attributes:
        api: one-off API facts.
        audit: per-step contract audit over the random probe.
        random_a: random-policy episodes in one env, seeds ``seed, seed+1, ...``.
        random_b: the same seeds and actions replayed in a second fresh env (same history).
        fresh: selected episodes of ``random_a`` replayed each in a brand-new env (no history),
            keyed by seed.
        expert: expert-policy episodes, empty without an expert.
        branches: counterfactual branch points for the stale-observation check.
        failures: probes that did not finish (typed: raised, died, hung, out of memory,
            skipped), in the order they ran.
        step_timeout: the per-step budget, seconds.
        expert_name: which expert was used, or None.
        wall_seconds: total wall time of the probes.
        expert_problem: why the built-in expert was not used, if it was not.
        farm: repeated actions from states just paid a high reward.
        first_step_ends: branch points at the reset state of random episodes that ended on
            their first step (kept apart from ``branches``: a state every action ends is no
            evidence about stale observations).
        legal_action_errors: saved states where an action inside the declared space (a
            bound, the midpoint) raised on the env itself (``BranchPoint.raised_on``).
        sequence: the multi-episode API run, if it ran.
        load: the machine's measured load while the probes ran.
        long_run: one random episode run far past the step cap, when episodes hit the cap
            and no time limit is declared (not in ``all_episodes``).
    """

    api: ApiProbe
    audit: ContractAudit
    random_a: list[EpisodeRecord]
    random_b: list[EpisodeRecord]
    fresh: dict[int, EpisodeRecord]
    expert: list[EpisodeRecord]
    branches: list[BranchPoint]
    failures: list[ProbeFailure]
    step_timeout: float
    expert_name: str | None
    wall_seconds: float = 0.0
    expert_problem: str | None = None
    farm: list[FarmPoint] = field(default_factory=list)
    first_step_ends: list[BranchPoint] = field(default_factory=list)
    legal_action_errors: list[BranchPoint] = field(default_factory=list)
    sequence: SequenceProbe | None = None
    load: LoadTrace = field(default_factory=lambda: LoadTrace())
    long_run: EpisodeRecord | None = None

    @property
    def hangs(self) -> list[HangEvent]:
        """Env calls (reset, step, policy) that blew the per-step budget."""
        return [
            HangEvent(probe=f.probe, seed=None, step=f.failure.calls_done,
                      budget_s=float(f.failure.budget_s or self.step_timeout),
                      recovered_s=f.recovered_s)
            for f in self.failures
            if f.failure.kind is FailureKind.HUNG and not f.breaks_the_harness
        ]

    def all_episodes(self) -> list[EpisodeRecord]:
        """Every recorded episode (for step timing and harness-failure rates)."""
        return [*self.random_a, *self.random_b, *self.fresh.values(), *self.expert]
