"""``rlvet env``: run the probes once in a child process, then every check over the evidence.

Contents:
    EnvQAConfig -- what to test and how hard (episodes, seed, per-step budget).
    EnvQAOutcome -- the ``CommandResult`` plus the raw evidence (for plots and tests).
    run_env_qa -- the Python API behind the CLI command.

Probe plan (each in a sandbox child process under the per-step budget):
    0. build -- construct the env once (a factory that raises is bad input: exit 2; one
       that dies, hangs or hogs memory is a ``harness_failure`` and nothing else runs).
    1. expert check -- does the expert return valid actions?
    2. api -- signatures, same-seed resets, out-of-bounds actions, step after the end.
    3. random A -- episodes with seeds ``seed, seed+1, ...`` in one env, every step audited.
    4. random B -- the same seeds and actions in a second fresh env (same history).
    5. fresh -- a few of A's episodes replayed, each in a brand-new env (no history).
    6. expert -- expert episodes on other seeds.
    7. branches -- counterfactual actions from saved states along A's episodes.
    8. farm -- from states just paid the top reward, repeat actions: does the pay go on
       without progress and without the episode ending?
    The multi-episode API run (mid-episode resets, boundaries audited) runs after 5, and a
    load gauge (``load.py``) measures the machine beside all of them for timing verdicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.progress import Progress

from rlvet.documents import SUMMARY_KEY, EnvSummary, EpisodeStats
from rlvet.envcheck.checks import CHECKS
from rlvet.envcheck.harness import EnvHarness
from rlvet.envcheck.load import LoadGauge
from rlvet.envcheck.probes import EpisodeUpdate
from rlvet.envcheck.records import (
    ApiProbe,
    BranchPoint,
    ContractAudit,
    EpisodeRecord,
    FarmPoint,
    ProbeEvidence,
    ProbeFailure,
    SequenceProbe,
)
from rlvet.envcheck.spec import env_factory
from rlvet.errors import RlvetInputError
from rlvet.findings import CommandResult
from rlvet.sandbox import (
    SETUP_CALLS,
    Failure,
    FailureKind,
    Outcome,
    UserCall,
    WarmUp,
    bounded_seconds,
)

__all__ = ["EnvQAConfig", "EnvQAOutcome", "run_env_qa"]

DEFAULT_EPISODE_CAP = 1000  # envs without a time limit: enough for any classic task to end
FIRST_ENV_CALLS = 2  # a fresh env's first two resets and steps: where jitted envs compile
# (Craftax: reset, the first step, and a recompile on the second, seconds each)
LONG_RUN_MAX_STEPS = 50 * DEFAULT_EPISODE_CAP  # one episode past the cap, to find a built-in
LONG_RUN_SECONDS = 30.0  # horizon (ALE Freeway's game clock: ~2700 steps), in this much time
MIN_PROBE_STEPS = 1000  # random/expert probes extend short-episode envs to this many steps
MAX_PROBE_EPISODES = 300  # ... but never beyond this many episodes
FRESH_REPLAYS = 5  # episodes of A always replayed in brand-new envs to expose leakage ...
# ... and more, up to MAX_FRESH_REPLAYS, while their steps fit FRESH_REPLAY_STEPS: MinAtar's
# sticky-action memory leaks across reset() on only 5-9 of 40 seeds (heldout3,
# repro/minatar_sticky_action_leak.py); 5 seeds miss a leak on 15% of seeds with
# probability 0.85^5 = 44%, 16 seeds with 7%
MAX_FRESH_REPLAYS = 16
FRESH_REPLAY_STEPS = 1000  # the random probe's own floor (MIN_PROBE_STEPS): short-episode
# envs get the extra seeds almost free, long-episode ones keep the 5 replays they had
BRANCH_POINTS = 24  # saved states for the counterfactual stale-observation test
ALWAYS_PAID_SHARE = 0.95  # a top reward on this share of live steps is paid for being alive
FIRST_STEP_POINTS = 12  # reset states of one-step episodes tried with every candidate action
MAX_HANGS = 4  # after this many hangs or deaths the remaining probes are skipped
PROBE_SECONDS = 8.0  # per episode probe: slow envs get fewer episodes, not minutes of probing
MAX_FARM_POINTS = 6  # paying states tried for reward farming
EXPERT_SEED_OFFSET = 10_000  # expert episodes use seeds disjoint from the random probes
_FATAL = frozenset({FailureKind.HUNG, FailureKind.DIED, FailureKind.OUT_OF_MEMORY})


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvQAConfig:
    """What ``rlvet env`` tests.

    Attributes:
        spec: a registered Gymnasium id or ``module:factory`` / ``file.py:factory``.
        expert: ``module:callable`` policy obs -> action; None uses the built-in one if any.
        episodes: episodes per random/expert probe (short envs get more, see MIN_PROBE_STEPS).
        seed: base seed; every probe derives its seeds from it.
        step_timeout: wall-clock budget per env call (reset, step, expert), seconds; at
            most ``rlvet.sandbox.MAX_BUDGET_S``.
        env_kwargs: keyword arguments for the env.
        factory: a ready no-arg env factory (Python API); overrides ``spec`` resolution.
        setup_timeout: budget for building the env (and importing its module), seconds;
            None is ``rlvet.sandbox.SETUP_BUDGET_S``.
        memory_mb: memory the probe process may add, MiB; None is half the machine's RAM.

    Raises:
        RlvetInputError: a budget that is not a finite positive number below the maximum.
    """

    spec: str
    expert: str | None = None
    episodes: int = 20
    seed: int = 0
    step_timeout: float = 2.0
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    factory: Callable[[], gym.Env] | None = None
    setup_timeout: float | None = None
    memory_mb: int | None = None

    def __post_init__(self) -> None:
        bounded_seconds(self.step_timeout, name="--step-timeout")
        if self.setup_timeout is not None:
            bounded_seconds(self.setup_timeout, name="setup_timeout")
        if self.memory_mb is not None and (not isinstance(self.memory_mb, int)
                                           or self.memory_mb <= 0):
            raise RlvetInputError(f"memory_mb: expected a positive number of MiB, "
                                  f"got {self.memory_mb!r}")


@dataclass(frozen=True, slots=True)
class EnvQAOutcome:
    """The verdict and the evidence behind it."""

    result: CommandResult
    evidence: ProbeEvidence


class _Collector:
    """Runs probes through the harness, keeping every failure as typed evidence.

    A hang in one of a freshly built env's first ``FIRST_ENV_CALLS`` resets or steps (where
    a JIT-compiled env compiles) gets one rerun of its probe with the setup budget for
    each fresh env's first calls: compiling on first use is setup work (a jitted env on a
    loaded machine overruns the step budget on its first call every time: jumanji Maze
    under a CPU hog), a blocking env blocks again. If the rerun finishes, the hang is kept
    as a recovered cold start and every later probe gets the warm-up budget. A hang later
    in an env's life is judged as it is.
    """

    def __init__(self, harness: EnvHarness, config: EnvQAConfig, progress: Callable[[str], None]):
        self.harness = harness
        self.config = config
        self.progress = progress
        self.failures: list[ProbeFailure] = []
        self.expert_problem: str | None = None
        self.warm_up: WarmUp | None = None
        self.rerun_spent = False

    def _skip_reason(self) -> str | None:
        """Why the next probe is not worth running, if it is not."""
        if any(f.probe == "build" for f in self.failures):
            return "skipped: the env could not be built"
        fatal = [f for f in self.failures
                 if f.failure.kind in _FATAL and f.recovered_s is None]
        if len(fatal) >= MAX_HANGS:
            return f"skipped after {len(fatal)} hung or dead probes"
        return None

    def run(self, label: str, probe: str, **kwargs: Any) -> Outcome:
        self.progress(label)
        reason = self._skip_reason()
        if reason is not None:
            self.failures.append(ProbeFailure(label, Failure(FailureKind.SKIPPED, reason)))
            return Outcome()
        outcome = self.harness.call(probe, warm_up=self.warm_up, **kwargs)
        if outcome.failure is not None and self._cold_hang(outcome.failure):
            return self._rerun_warm(label, probe, outcome.failure, **kwargs)
        if outcome.failure is not None:
            self.failures.append(ProbeFailure(label, outcome.failure))
        return outcome

    def _cold_hang(self, failure: Failure) -> bool:
        return (failure.kind is FailureKind.HUNG and failure.call not in SETUP_CALLS
                and failure.env_calls is not None and failure.env_calls < FIRST_ENV_CALLS
                and not self.rerun_spent)

    def _rerun_warm(self, label: str, probe: str, hang: Failure, **kwargs: Any) -> Outcome:
        self.rerun_spent = True
        warm_up = WarmUp(FIRST_ENV_CALLS, self.harness.limits.budget(UserCall.BUILD))
        started = time.monotonic()
        rerun = self.harness.call(probe, warm_up=warm_up, **kwargs)
        if rerun.failure is not None:  # it blocks again with the long budget: a real hang
            self.failures += [ProbeFailure(label, hang), ProbeFailure(label, rerun.failure)]
            return rerun
        self.warm_up = warm_up
        self.failures.append(ProbeFailure(label, hang, recovered_s=time.monotonic() - started))
        return rerun

    def episodes(
        self, label: str, **kwargs: Any
    ) -> tuple[list[EpisodeRecord], ContractAudit, tuple[str, ...]]:
        outcome = self.run(label, "episodes", max_seconds=PROBE_SECONDS, **kwargs)
        updates: list[EpisodeUpdate] = outcome.items
        if not updates:
            return [], ContractAudit(), ()
        return [u.record for u in updates], updates[-1].audit, updates[-1].snapshots


def _episode_cap(api: ApiProbe) -> int:
    if api.max_episode_steps is None:
        return DEFAULT_EPISODE_CAP
    return int(api.max_episode_steps) + max(10, int(api.max_episode_steps) // 10)


def _branch_plan(records: list[EpisodeRecord], seed: int) -> list[tuple[int, int, list[Any]]]:
    rng = np.random.default_rng(seed)
    usable = [r for r in records if r.length >= 2 and r.error is None]
    if not usable:
        return []
    picks = rng.choice(len(usable), size=min(BRANCH_POINTS, len(usable) * 4), replace=True)
    plan = []
    for index in picks[:BRANCH_POINTS]:
        r = usable[int(index)]
        t = int(rng.integers(0, r.length - 1))
        plan.append((r.seed, t, r.actions[:t]))
    return plan


def _first_step_plan(records: list[EpisodeRecord]) -> list[tuple[int, int, list[Any]]]:
    """The reset states of random episodes that terminated on their first step, to try
    every candidate action there (``FIRST_STEP_POINTS`` at most)."""
    instant = [r for r in records if r.error is None and r.length == 1 and r.terminated[0]]
    return [(r.seed, 0, []) for r in instant[:FIRST_STEP_POINTS]]


def _farm_plan(records: list[EpisodeRecord]) -> list[tuple[int, list[Any], float]]:
    """States just paid the largest positive reward of a step that did not end the episode
    (a payment that ends the episode cannot be farmed; a sparse delivery bonus must not hide
    the pick bonus paid on the way), unless nearly every step is paid it: a reward for being
    alive (CartPole's +1) is the task's clock. A payment on most steps can still be farmed
    (a click paid again for re-opening what was read).

    Only replayable episodes qualify (random ones: their actions replay from the seed).
    """
    usable = [r for r in records if r.error is None and r.length and r.policy != "expert"]
    if not usable:
        return []
    rewards = np.concatenate([r.rewards[~r.terminated & ~r.truncated] for r in usable])
    rewards = rewards[np.isfinite(rewards)]
    if not rewards.size:
        return []
    top = float(rewards.max())
    if top <= 0 or np.mean(rewards >= top) >= ALWAYS_PAID_SHARE:
        return []
    plan = []
    for r in usable:
        hits = np.flatnonzero((r.rewards >= top) & ~r.terminated & ~r.truncated)
        if hits.size:
            t = int(hits[0])
            plan.append((r.seed, list(r.actions[: t + 1]), top))
        if len(plan) >= MAX_FARM_POINTS:
            break
    return plan


def _spread(n: int, k: int) -> list[int]:
    """Up to ``k`` indices spread evenly over ``range(n)``, first and last included."""
    if n == 0:
        return []
    return [int(i) for i in np.unique(np.linspace(0, n - 1, num=min(k, n)).round())]


def _fresh_plan(records: list[EpisodeRecord]) -> list[int]:
    """Episodes of A (after the first) to replay in brand-new envs.

    Up to ``MAX_FRESH_REPLAYS`` spread over A; ``FRESH_REPLAYS`` of them, spread too, come
    first and always run (a time budget that stops the replays early still has them); the
    others follow while the replayed steps stay within ``FRESH_REPLAY_STEPS``, because a
    leak may show on some seeds only (a sticky action repeated when a seed's first draw
    says so).
    """
    later = [i for i in range(1, len(records)) if records[i].error is None]
    picks = [later[i] for i in _spread(len(later), MAX_FRESH_REPLAYS)]
    chosen = [picks[i] for i in _spread(len(picks), FRESH_REPLAYS)]
    steps = sum(records[i].length for i in chosen)
    for index in picks:
        if index not in chosen and steps + records[index].length <= FRESH_REPLAY_STEPS:
            chosen.append(index)
            steps += records[index].length
    return chosen


def _check_expert(c: _Collector) -> str | None:
    outcome = c.run("expert check", "expert", expert_spec=c.config.expert, seed=c.config.seed)
    if outcome.failure is not None or outcome.value is None:
        return None
    name, problem = cast("tuple[str | None, str | None]", outcome.value)
    if problem is not None:
        if c.config.expert is not None:
            raise RlvetInputError(problem)
        c.expert_problem = problem
        return None
    return name


def _collect(c: _Collector) -> ProbeEvidence:
    cfg = c.config
    started = time.perf_counter()
    c.run("build", "build", spec=cfg.spec)
    expert_name = _check_expert(c)
    api_outcome = c.run("API contract", "api", seed=cfg.seed)
    api = api_outcome.value if isinstance(api_outcome.value, ApiProbe) else ApiProbe()
    cap = _episode_cap(api)
    seeds = [cfg.seed + i for i in range(cfg.episodes)]
    random_a, audit, snapshots = c.episodes(
        "random episodes",
        seeds=seeds,
        cap=cap,
        audit=True,
        min_steps=MIN_PROBE_STEPS,
        max_episodes=MAX_PROBE_EPISODES,
    )
    api.space_snapshots.extend(snapshots)
    plan = {r.seed: r.actions for r in random_a}
    random_b, _, _ = c.episodes("replay, same history", seeds=list(plan), actions=plan, cap=cap)
    fresh_idx = _fresh_plan(random_a)
    fresh_seeds = [random_a[i].seed for i in fresh_idx]
    fresh, _, _ = c.episodes(
        "replay, fresh envs",
        seeds=fresh_seeds,
        cap=cap,
        fresh_each=True,
        actions={s: plan[s] for s in fresh_seeds},
    )
    long_run = _long_run(c, api, random_a, cap)
    sequence_outcome = c.run("multi-episode API run", "sequence", seed=cfg.seed, cap=cap)
    sequence = sequence_outcome.value if isinstance(sequence_outcome.value,
                                                     SequenceProbe) else None
    if sequence is not None:
        audit.merge(sequence.audit)
    expert: list[EpisodeRecord] = []
    if expert_name is not None:
        expert, expert_audit, _ = c.episodes(
            "expert episodes",
            seeds=[cfg.seed + EXPERT_SEED_OFFSET + i for i in range(cfg.episodes)],
            policy="expert",
            expert_spec=cfg.expert,
            cap=cap,
            min_steps=MIN_PROBE_STEPS,
            max_episodes=MAX_PROBE_EPISODES,
            audit=True,
        )
        audit.merge(expert_audit)  # terminal states the random policy never reaches
    branch_outcome = c.run(
        "counterfactual actions", "branches", points=_branch_plan(random_a, cfg.seed)
    )
    tried: list[BranchPoint] = branch_outcome.value or []
    branches = [b for b in tried if b.raised_on is None]
    legal_action_errors = [b for b in tried if b.raised_on is not None]
    first_step_plan = _first_step_plan(random_a)
    first_step_ends: list[BranchPoint] = []
    if first_step_plan:
        first_step_ends = [b for b in c.run("episodes ended at their first step", "branches",
                                             points=first_step_plan).value or []
                           if b.raised_on is None]
    farm_plan = _farm_plan([*random_a, *expert])
    farm: list[FarmPoint] = []
    if farm_plan:
        farm = c.run("reward farming", "farm", points=farm_plan).value or []
    return ProbeEvidence(
        api=api,
        audit=audit,
        random_a=random_a,
        random_b=random_b,
        fresh={r.seed: r for r in fresh},
        expert=expert,
        branches=branches,
        failures=c.failures,
        step_timeout=cfg.step_timeout,
        expert_name=expert_name,
        wall_seconds=time.perf_counter() - started,
        expert_problem=c.expert_problem,
        farm=farm,
        first_step_ends=first_step_ends,
        legal_action_errors=legal_action_errors,
        sequence=sequence,
        long_run=long_run,
    )


def _long_run(c: _Collector, api: ApiProbe, random_a: list[EpisodeRecord],
              cap: int) -> EpisodeRecord | None:
    """One more random episode far past the cap, when episodes hit it and the env declares
    no time limit: a built-in horizon longer than the cap (an Atari game clock, a price
    series, MinAtar's 2500 frames) ends it; an env with no end does not."""
    capped = [e for e in random_a if e.capped and e.step_seconds.size]
    if api.max_episode_steps is not None or not capped:
        return None
    per_step = float(np.median(np.concatenate([e.step_seconds for e in capped])))
    steps = int(min(LONG_RUN_MAX_STEPS, LONG_RUN_SECONDS / max(per_step, 1e-7)))
    if steps <= cap:
        return None
    records, _, _ = c.episodes("one long episode", seeds=[capped[0].seed], cap=steps)
    return records[0] if records else None


def _episode_stats(episodes: list[EpisodeRecord]) -> EpisodeStats:
    returns = [e.episode_return for e in episodes]
    return EpisodeStats(
        episodes=len(episodes), steps=int(sum(e.length for e in episodes)),
        mean_return=float(np.mean(returns)) if returns else None,
        mean_length=float(np.mean([e.length for e in episodes])) if episodes else None)


def _summary(ev: ProbeEvidence) -> EnvSummary:
    """The summary document ``rlvet report`` reads (``rlvet.documents``)."""
    return EnvSummary(env_id=ev.api.env_id, expert=ev.expert_name,
                      random=_episode_stats(ev.random_a),
                      expert_policy=_episode_stats(ev.expert))


def _metrics(ev: ProbeEvidence) -> dict[str, Any]:
    steps = sum(e.length for e in ev.all_episodes())
    summary = _summary(ev)
    return {
        **summary.fields(),
        SUMMARY_KEY: summary.to_json(),
        "probe_steps": int(steps),
        "wall_seconds": round(ev.wall_seconds, 3),
        "hangs": len(ev.hangs),
        "probe_failures": [{"probe": f.probe, **f.failure.to_evidence()} for f in ev.failures],
        "step_timeout_s": ev.step_timeout,
        "machine_load": ev.load.summary(),
    }


@contextmanager
def _progress_reporter(enabled: bool, total: int) -> Iterator[Callable[[str], None]]:
    if not enabled:
        yield lambda label: None
        return
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("probing", total=total)

        def advance(label: str) -> None:
            bar.update(task, advance=1, description=label)

        yield advance


def run_env_qa(config: EnvQAConfig, *, progress: bool = False) -> EnvQAOutcome:
    """Probe an env in a child process and run every check.

    A factory or env that dies (``os._exit``, abort, segfault), hangs past its budget or
    runs past the memory cap is a ``harness_failure`` / ``silent_timeout`` finding.

    Raises:
        RlvetInputError: unknown id, unimportable module, a factory that raises, an
            expert that returns invalid actions, or a budget out of bounds.

    Example:
        >>> outcome = run_env_qa(EnvQAConfig(spec="CartPole-v1", episodes=5))
        >>> outcome.result.verdict in {"pass", "warn"}
        True
    """
    factory = config.factory or env_factory(config.spec, dict(config.env_kwargs))
    harness = EnvHarness(factory, step_timeout=config.step_timeout,
                         setup_timeout=config.setup_timeout, memory_mb=config.memory_mb)
    with harness, _progress_reporter(progress, total=10) as advance, LoadGauge() as gauge:
        evidence = _collect(_Collector(harness, config, advance))
    evidence.load = gauge.trace
    findings = tuple(f for check in CHECKS for f in check(evidence))
    metrics = _metrics(evidence)
    metrics["setup_timeout_s"] = harness.limits.setup_s
    metrics["memory_limit_mb"] = harness.limits.memory_mb
    result = CommandResult(command="env", target=config.spec, findings=findings, metrics=metrics)
    return EnvQAOutcome(result=result, evidence=evidence)
