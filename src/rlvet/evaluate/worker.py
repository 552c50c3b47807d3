"""The child side of ``rlvet eval``: every call into the user's env and policy runs here.

Contents:
    EvalWorker -- the ``rlvet.sandbox`` handler: ``prepare`` (build the env once, load the
        policy, check the sweep) and ``run`` (episodes, sweep, latency); it keeps the loaded
        policy between the two requests.
    Measured -- what ``run`` sends back.
    watched_policy(policy, hb) -- the same policy, each call timed by the heartbeat.
    failure_finding(failure, phase, limits) -- a dead, hung or memory-hogging evaluation as
        one finding.

Why a child: ``rlvet eval`` used to step envs and call policies in its own process, so a
hang froze it and an ``abort()`` ended it with no output at all. In a sandbox child the
first is a ``worker_hang`` finding after the budget, the second a ``harness_failure`` (the
env died) or ``worker_crash`` (the policy died) with the signal or exit code. The child
starts from a fresh interpreter (forkserver): rlvet may already run torch's OpenMP pool,
and a forked copy of it deadlocks; specs, plans and results all pickle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlvet.envcheck.spec import validate_env
from rlvet.errors import RlvetInputError
from rlvet.evaluate.latency import Latency, measure_latency
from rlvet.evaluate.perturb import make_env_fn
from rlvet.evaluate.policies import Policy, load_policy
from rlvet.evaluate.protocol import EnvSpec, PolicySpec
from rlvet.evaluate.runner import EpisodePlan, Episodes, run_episodes
from rlvet.evaluate.shift import dim_names
from rlvet.evaluate.sweep import SweepResult, SweepSpec, run_sweep, sweep_plan, validate_sweep
from rlvet.findings import Category, Finding, Severity
from rlvet.sandbox import Failure, FailureKind, Heartbeat, Limits, UserCall

__all__ = ["EvalWorker", "Measured", "failure_finding", "watched_policy"]

_ENV_CALLS = frozenset({UserCall.BUILD, UserCall.RESET, UserCall.STEP, UserCall.CLOSE})
_PHASES = {"prepare": "building the env and loading the policy",
           "run": "running the evaluation episodes"}


@dataclass(frozen=True, slots=True)
class Measured:
    """The child's measurements: nominal episodes, the sweep (None without one), latency."""

    episodes: Episodes
    swept: SweepResult | None
    latency: Latency


def watched_policy(policy: Policy, hb: Heartbeat) -> Policy:
    """``policy`` with every call reported to ``hb`` (adds about a microsecond a call)."""
    act = policy.act

    def timed(obs: np.ndarray, deterministic: bool, rngs: Any) -> np.ndarray:
        return hb.call(UserCall.POLICY, act, obs, deterministic, rngs)

    return Policy(policy.name, timed)


class EvalWorker:
    """Sandbox handler for ``rlvet eval``: ``prepare`` once, then ``run``."""

    def __init__(self) -> None:
        self._policy: Policy | None = None

    def __call__(self, hb: Heartbeat, request: str, /, **kwargs: Any) -> Any:
        handlers: dict[str, Callable[..., Any]] = {"prepare": self.prepare, "run": self.run}
        return handlers[request](hb, **kwargs)

    def prepare(self, hb: Heartbeat, *, env: EnvSpec, policy: PolicySpec,
                sweep: SweepSpec | None) -> tuple[str, ...]:
        """Build the env once, load the policy against it, build every sweep variant.

        Returns the observation dimension names. Raises ``RlvetInputError`` for a bad spec,
        a factory that raises, a policy that does not fit the env, an unknown attribute.
        """
        make_env = make_env_fn(env, watch=hb)
        validate_env(env.spec, make_env)
        instance = make_env()
        try:
            loaded = hb.call(UserCall.LOAD, load_policy, policy, instance)
            names = dim_names(instance, int(np.prod(instance.observation_space.shape or (1,))))
        finally:
            instance.close()
        if sweep is not None:
            validate_sweep(sweep, env, watch=hb)
        self._policy = watched_policy(loaded, hb)
        return names

    def run(self, hb: Heartbeat, *, env: EnvSpec, plan: EpisodePlan, keep_obs: int,
            sweep: SweepSpec | None, latency_calls: int, seed: int) -> Measured:
        """The nominal episodes, the sweep's variants, then batch-1 latency; one progress
        item per finished episode."""
        if self._policy is None:
            raise RlvetInputError("rlvet eval: run before prepare")  # rlvet misused
        policy = self._policy

        def tick() -> None:
            hb.emit(None)

        episodes = run_episodes(make_env_fn(env, watch=hb), policy, plan, keep_obs=keep_obs,
                                on_episode=tick)
        swept = None
        if sweep is not None and sweep.perturbations:
            reuse = sweep_plan(sweep, plan) == plan
            swept = run_sweep(sweep, env, policy, plan, nominal=episodes if reuse else None,
                              on_episode=tick, watch=hb)
        latency = measure_latency(policy, episodes.observations, calls=latency_calls,
                                  deterministic=plan.deterministic, seed=seed)
        return Measured(episodes, swept, latency)


def _category(failure: Failure) -> Category:
    if failure.kind is FailureKind.HUNG:
        return Category.WORKER_HANG
    return Category.HARNESS_FAILURE if failure.call in _ENV_CALLS else Category.WORKER_CRASH


def failure_finding(failure: Failure, phase: str, limits: Limits) -> Finding:
    """The one finding for an evaluation the sandbox had to end: ``worker_hang`` (no
    progress within the budget), ``harness_failure`` (the env raised, died or ran out of
    memory) or ``worker_crash`` (the policy did).

    Example:
        >>> f = failure_finding(Failure(FailureKind.DIED, "killed by SIGABRT",
        ...                             call=UserCall.POLICY), "run", Limits(call_s=30.0))
        >>> str(f.category), str(f.severity)
        ('worker_crash', 'error')
    """
    if failure.kind is FailureKind.HUNG:
        what = f"stopped responding in {failure.call}() ({failure.detail})"
    elif failure.kind is FailureKind.RAISED:
        what = f"raised in {failure.call}(): {failure.detail}"
    else:
        what = f"took the evaluation process down in {failure.call}(): {failure.detail}"
    subject = "the env" if failure.call in _ENV_CALLS else "the policy"
    if failure.call is UserCall.OTHER:
        subject = "the evaluation"
    return Finding.of(
        _category(failure),
        check="evaluate.sandbox",
        severity=Severity.ERROR,
        message=(f"{subject} {what} while {_PHASES.get(phase, phase)}, after "
                 f"{failure.calls_done} env and policy calls; no episodes were scored"),
        evidence={**failure.to_evidence(), "phase": phase, "call_budget_s": limits.call_s,
                  "setup_budget_s": limits.setup_s, "memory_limit_mb": limits.memory_mb},
    )
