"""``rlvet eval PROTOCOL.toml``: evaluate, sweep, check, and shape the result.

Contents:
    EvalOutcome -- the result and the data behind it (episodes, intervals, sweep, ...).
    run_eval(protocol, policy=, compare=, sweep=, split=, out=, progress=) -- the Python API
        behind the CLI.
    RESULT_NAME, TRIGGER_NAME, PROFILE_POINTS -- output file names, profile resolution.

Order of work: every input is parsed and validated first (protocol, sweep, compared result,
env, policy), so a typo fails in a second with exit 2, not after a ten-minute sweep. The
split access is logged before the first episode: reading the split is the access,
whether or not the run finishes.

Isolation: the env and the policy run only in a sandbox child (``evaluate.worker``), under
``EVAL_CALL_BUDGET_S`` per env step or policy call, ``rlvet.sandbox.SETUP_BUDGET_S`` for
building and loading, and a memory cap. A hang, a death (``os._exit``, abort, segfault) or
an exception there is one error finding (``worker_hang``, ``harness_failure``,
``worker_crash``) and exit 1, with no aggregates and no output files.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from rich.console import Console

from rlvet.atomic import write_text_atomic
from rlvet.documents import SUMMARY_KEY, EvalSummary
from rlvet.documents import Interval as DocInterval
from rlvet.documents import Latency as DocLatency
from rlvet.errors import RlvetInputError
from rlvet.evaluate.compare import compare_results, load_result
from rlvet.evaluate.figures import Band, eval_figures
from rlvet.evaluate.latency import Latency, check_latency
from rlvet.evaluate.protocol import (
    EvalProtocol,
    PolicySpec,
    Split,
    load_protocol,
    parse_policy_spec,
)
from rlvet.evaluate.runner import MAX_KEPT_OBS, EpisodePlan, Episodes
from rlvet.evaluate.shift import Shift, check_shift, distribution_shift, load_observations
from rlvet.evaluate.splits import AccessLog, access_log_path, check_private_reuse, split_key
from rlvet.evaluate.stats import Interval, interval_estimates, performance_profile
from rlvet.evaluate.sweep import (
    SweepResult,
    SweepSpec,
    load_sweep,
    sweep_episodes,
    sweep_findings,
    sweep_metrics,
    sweep_plan,
)
from rlvet.evaluate.trigger import build_trigger, write_trigger
from rlvet.evaluate.worker import EvalWorker, Measured, failure_finding
from rlvet.findings import CommandResult, Finding
from rlvet.sandbox import Failure, Limits, Sandbox

__all__ = ["PROFILE_POINTS", "RESULT_NAME", "TRIGGER_NAME", "EvalOutcome", "eval_figures",
           "run_eval"]

RESULT_NAME = "eval_result.json"  # in --out; pass it to a later --compare
TRIGGER_NAME = "retrain_trigger.json"
PROFILE_POINTS = 41  # thresholds of the performance profile: a smooth curve, cheap bootstrap
EVAL_CALL_BUDGET_S = 30.0
"""Seconds one env step or one batched policy call may take before the evaluation counts as
hung: generous for a large network on a CPU, short next to a frozen CI job."""
_WORKER_MODULES = ("rlvet.evaluate.worker",)  # imported once by the forkserver ...
_HEAVY_MODULES = ("torch", "stable_baselines3")  # ... with these if this process uses them


@dataclass(frozen=True, slots=True)
class EvalOutcome:
    """What one ``rlvet eval`` measured.

    Attributes:
        result: findings, verdict and metrics (the JSON contract).
        protocol, split, policy: what was evaluated.
        episodes: the split's episodes.
        estimates: aggregate name -> Interval.
        profile: this result's performance profile (taus, fraction, low, high).
        other_profile: the compared result's, on the same taus (None without --compare).
        sweep, sweep_spec: the robustness sweep (None without --sweep).
        shift: the real-vs-sim observation test (None without real observations).
        latency: batch-1 inference time.
        files: written files by role (result, trigger, access_log).
        failure: why the sandbox ended the evaluation, if it did; then ``episodes`` holds
            no episodes, ``estimates`` is empty and ``latency`` is NaN (nothing measured).
    """

    result: CommandResult
    protocol: EvalProtocol
    split: Split
    policy: str
    episodes: Episodes
    estimates: dict[str, Interval]
    profile: Band
    other_profile: Band | None
    sweep: SweepResult | None
    sweep_spec: SweepSpec | None
    shift: Shift | None
    latency: Latency
    files: dict[str, str]
    failure: Failure | None = None


@dataclass(slots=True)
class _Inputs:
    """Everything parsed and validated before the first episode (``names``: after the
    sandbox built the env)."""

    protocol: EvalProtocol
    split: Split
    policy_spec: PolicySpec
    sweep: SweepSpec | None
    other: dict[str, Any] | None
    compare_path: str | None
    names: tuple[str, ...] = ()


def _policy_spec(protocol: EvalProtocol, policy: str | None) -> PolicySpec:
    if policy is not None:
        return parse_policy_spec(policy, protocol.policy)
    if protocol.policy is None:
        raise RlvetInputError(f"{protocol.source}: policy: no [policy] table and no --policy "
                              f"given: nothing to evaluate")
    return protocol.policy


def _parse(protocol_path: str | Path, policy: str | None, compare: str | Path | None,
           sweep: str | Path | None, split: str | None) -> _Inputs:
    """The files and options; no user code runs here (that is the sandbox's ``prepare``)."""
    protocol = load_protocol(protocol_path)
    chosen = protocol.split(split)
    spec = _policy_spec(protocol, policy)
    sweep_spec = load_sweep(sweep) if sweep is not None else None
    other = load_result(compare) if compare is not None else None
    return _Inputs(protocol, chosen, spec, sweep_spec, other,
                   None if compare is None else str(compare))


def _log_access(inputs: _Inputs, out: Path | None) -> tuple[list[Finding], Path]:
    log = AccessLog(access_log_path(inputs.protocol.source, None))
    if not _writable(log.path.parent) and out is not None:
        log = AccessLog(access_log_path(inputs.protocol.source, out))
    key = split_key(inputs.protocol, inputs.split.name)
    log.record({"split": inputs.split.name, "split_key": key,
                "protocol_hash": inputs.protocol.hash, "policy": inputs.policy_spec.describe(),
                "protocol": str(inputs.protocol.source)})
    return check_private_reuse(log.entries(), key), log.path


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


@contextlib.contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[], None] | None]:
    """A rich bar on stderr advancing per episode; None when disabled (``--json``, tests)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("rlvet eval: episodes", total=total)
        yield lambda: bar.advance(task)


def _optimal(protocol: EvalProtocol) -> float | None:
    if protocol.optimal_return is not None:
        return protocol.optimal_return
    if protocol.env.spec in gym.registry:
        threshold = gym.spec(protocol.env.spec).reward_threshold
        return None if threshold is None else float(threshold)
    return None


def _profiles(protocol: EvalProtocol, scores: np.ndarray, other: dict[str, Any] | None
              ) -> tuple[Band, Band | None]:
    other_scores = None if other is None else np.asarray(other["scores"], dtype=np.float64)
    pool = scores if other_scores is None else np.concatenate([scores.ravel(),
                                                                other_scores.ravel()])
    lo, hi = float(np.min(pool)), float(np.max(pool))
    taus = np.linspace(lo - 1e-9, hi if hi > lo else lo + 1.0, PROFILE_POINTS)

    def band(x: np.ndarray) -> Band:
        frac, low, high = performance_profile(x, taus, reps=protocol.bootstrap_reps,
                                              confidence=protocol.confidence,
                                              rng=protocol.bootstrap_seed)
        return taus, frac, low, high

    return band(scores), None if other_scores is None else band(other_scores)


def _shift(inputs: _Inputs, nominal: Episodes) -> Shift | None:
    """The real-vs-sim observation test of the sweep file, if it names real observations."""
    spec = inputs.sweep
    if spec is None or spec.real_observations is None:
        return None
    sim = nominal.observations.reshape(len(nominal.observations), -1).astype(np.float64)
    return distribution_shift(sim, load_observations(spec.real_observations), inputs.names)


def _measure(box: Sandbox, inputs: _Inputs, plan: EpisodePlan, progress: bool
             ) -> Measured | Failure:
    """Episodes, sweep and latency from the sandbox child, or why it had to stop."""
    p = inputs.protocol
    with _progress(progress, _episode_total(inputs, plan)) as tick:
        outcome = box.call("run", env=p.env, plan=plan, keep_obs=MAX_KEPT_OBS,
                           sweep=inputs.sweep, latency_calls=p.deploy.latency_calls,
                           seed=p.bootstrap_seed,
                           on_item=None if tick is None else (lambda _: tick()))
    return outcome.failure if outcome.failure is not None else outcome.value


def _failed(inputs: _Inputs, failure: Failure, phase: str, limits: Limits,
            findings: list[Finding]) -> EvalOutcome:
    """The outcome of an evaluation the sandbox ended: the failure finding, nothing scored."""
    p, split = inputs.protocol, inputs.split
    n = len(split.seeds)
    none = Episodes(split.seeds, np.zeros((n, 0)), np.zeros((n, 0), dtype=np.int64),
                    np.zeros((n, 0), dtype=bool))
    empty = np.zeros(0)
    nan = float("nan")
    metrics = {"protocol_hash": p.hash, "split": split.name, "env_id": p.env.spec,
               "policy": inputs.policy_spec.describe(), "seeds": list(split.seeds),
               "sandbox": {"phase": phase, **failure.to_evidence(),
                           "call_budget_s": limits.call_s, "setup_budget_s": limits.setup_s,
                           "memory_limit_mb": limits.memory_mb},
               SUMMARY_KEY: EvalSummary(env_id=p.env.spec, protocol_hash=p.hash,
                                        seeds=tuple(split.seeds)).to_json()}
    target = f"{p.env.spec} (split {split.name}) {inputs.policy_spec.describe()}"
    result = CommandResult(command="eval", target=target, metrics=metrics,
                           findings=(*findings, failure_finding(failure, phase, limits)))
    return EvalOutcome(result, p, split, inputs.policy_spec.describe(), none, {},
                       (empty, empty, empty, empty), None, None, inputs.sweep, None,
                       Latency(nan, nan, nan, nan, 0), {}, failure)


def _episode_total(inputs: _Inputs, plan: EpisodePlan) -> int:
    total = len(plan.seeds) * plan.episodes_per_seed
    if inputs.sweep is not None:
        total += sweep_episodes(inputs.sweep, plan, sweep_plan(inputs.sweep, plan) != plan)
    return total


def _metrics(inputs: _Inputs, episodes: Episodes, estimates: dict[str, Interval],
             profile: Band, latency: Latency) -> dict[str, Any]:
    p, split = inputs.protocol, inputs.split
    taus, frac, low, high = profile
    return {
        "protocol_hash": p.hash, "protocol": p.to_canonical(), "split": split.name,
        "env_id": p.env.spec,
        "policy": inputs.policy_spec.describe(), "unit": p.unit,
        "deterministic": p.deterministic, "seeds": list(split.seeds),
        "episodes_per_seed": split.episodes_per_seed,
        "per_seed_returns": {str(s): episodes.returns[i].tolist()
                             for i, s in enumerate(split.seeds)},
        "per_seed_mean": episodes.per_seed.tolist(),
        "mean_episode_length": float(episodes.lengths.mean()),
        "scores": episodes.scores(p.unit).tolist(), "confidence": p.confidence,
        "aggregates": {k: v.to_dict() for k, v in estimates.items()},
        "performance_profile": {"taus": taus.tolist(), "fraction": frac.tolist(),
                                "low": low.tolist(), "high": high.tolist()},
        "latency": {**latency.to_dict(), "budget_ms": p.deploy.latency_budget_ms},
        "episodes_per_second": episodes.returns.size / max(episodes.seconds, 1e-9),
        "env_steps": episodes.steps,
    }


def _shift_metrics(shift: Shift | None) -> dict[str, Any]:
    if shift is None:
        return {}
    return {"shift": {"n_sim": shift.n_sim, "n_real": shift.n_real,
                      "dims": [d.to_dict() for d in shift.dims]}}


def _robustness(inputs: _Inputs, swept: SweepResult | None, shift: Shift | None,
                metrics: dict[str, Any]) -> list[Finding]:
    """Sweep and shift findings; their tables go into ``metrics``."""
    spec = inputs.sweep
    if spec is None:
        return []
    found: list[Finding] = []
    if swept is not None:
        found += sweep_findings(swept, spec)
        metrics["sweep"] = {"hash": spec.hash, **sweep_metrics(swept)}
    if shift is not None:
        found += check_shift(shift, ks_bound=spec.ks_bound)
        metrics.update(_shift_metrics(shift))
    return found


def _comparison(inputs: _Inputs, metrics: dict[str, Any]) -> list[Finding]:
    """``--compare``: the protocol check, and P(improvement) into ``metrics["compare"]``."""
    if inputs.other is None:
        return []
    p = inputs.protocol
    found, cmp = compare_results(metrics, inputs.other, source=str(inputs.compare_path),
                                 reps=p.bootstrap_reps, confidence=p.confidence,
                                 seed=p.bootstrap_seed)
    metrics["compare"] = cmp
    return found


def _finite(x: float) -> float | None:
    return x if np.isfinite(x) else None


def _summary(inputs: _Inputs, estimates: dict[str, Interval], latency: Latency, *,
             measured_sweep: bool, measured_shift: bool) -> EvalSummary:
    """The summary document ``rlvet report`` reads (``rlvet.documents``)."""
    p = inputs.protocol
    return EvalSummary(
        env_id=p.env.spec, protocol_hash=p.hash, seeds=tuple(inputs.split.seeds),
        aggregates={k: DocInterval(k, v.point, v.low, v.high) for k, v in estimates.items()
                    if np.isfinite([v.point, v.low, v.high]).all()},
        latency=DocLatency(p50_ms=latency.p50_ms, p99_ms=latency.p99_ms,
                           budget_ms=p.deploy.latency_budget_ms,
                           p99_low_ms=_finite(latency.p99_low_ms),
                           p99_high_ms=_finite(latency.p99_high_ms),
                           repeats=latency.repeats, host_load=latency.host_load,
                           cpus=latency.cpus),
        sweep=measured_sweep, shift=measured_shift, retraining_trigger=True)


def _write_outputs(out: Path, result: CommandResult, trigger: dict[str, Any]) -> None:
    """``eval_result.json`` and ``retrain_trigger.json``, each via a temp file and rename."""
    write_text_atomic(out / RESULT_NAME, result.to_json() + "\n", what="result")
    write_trigger(out / TRIGGER_NAME, trigger)


def _trigger(inputs: _Inputs, episodes: Episodes, estimates: dict[str, Interval]
             ) -> dict[str, Any]:
    d = inputs.protocol.deploy
    obs = episodes.observations.reshape(len(episodes.observations), -1).astype(np.float64)
    return build_trigger(protocol_hash=inputs.protocol.hash, split=inputs.split.name,
                         policy=inputs.policy_spec.describe(),
                         iqm=estimates["iqm"].to_dict(), return_drop=d.trigger_return_drop,
                         observations=obs, names=inputs.names, obs_ks=d.trigger_obs_ks,
                         latency_budget_ms=d.latency_budget_ms)


def run_eval(
    protocol: str | Path,
    *,
    policy: str | None = None,
    compare: str | Path | None = None,
    sweep: str | Path | None = None,
    split: str | None = None,
    out: str | Path | None = None,
    progress: bool = False,
    limits: Limits | None = None,
) -> EvalOutcome:
    """Evaluate a policy under a frozen protocol, with optional sweep and comparison.

    Args:
        protocol: the protocol TOML.
        policy: a ``--policy`` SPEC overriding the protocol's ``[policy]``.
        compare: an earlier ``eval_result.json`` to compare with.
        sweep: a sweep TOML (dynamics, noise, edge cases, real observations).
        split: split name (default ``dev``).
        out: folder for ``eval_result.json`` and ``retrain_trigger.json``.
        progress: a rich progress bar on stderr.
        limits: budgets and memory cap of the sandbox child that runs the env and the
            policy (None: ``EVAL_CALL_BUDGET_S`` per call, the sandbox's defaults).

    A hang, death or exception of the env or the policy is an error finding in the
    result (see the module docstring), not an exception.

    Raises:
        RlvetInputError: any unreadable or invalid input (exit 2 in the CLI).

    Example:
        >>> outcome = run_eval("cartpole.toml", out="eval-out")  # doctest: +SKIP
        >>> outcome.estimates["iqm"].point, outcome.result.verdict  # doctest: +SKIP
        (500.0, 'pass')
    """
    inputs = _parse(protocol, policy, compare, sweep, split)
    out_dir = None if out is None else Path(out)
    p = inputs.protocol
    preload = _WORKER_MODULES + tuple(m for m in _HEAVY_MODULES if m in sys.modules)
    box = Sandbox(EvalWorker(), limits=limits or Limits(call_s=EVAL_CALL_BUDGET_S),
                  clean=True, preload=preload)
    with box:
        prepared = box.call("prepare", env=p.env, policy=inputs.policy_spec,
                            sweep=inputs.sweep)
        if prepared.failure is not None:
            return _failed(inputs, prepared.failure, "prepare", box.limits, [])
        inputs.names = prepared.value
        findings, log_path = _log_access(inputs, out_dir)
        plan = EpisodePlan(inputs.split.seeds, inputs.split.episodes_per_seed, p.env.max_steps,
                           p.deterministic)
        measured = _measure(box, inputs, plan, progress)
    if isinstance(measured, Failure):
        return _failed(inputs, measured, "run", box.limits, findings)
    episodes, swept, latency = measured.episodes, measured.swept, measured.latency
    shift = _shift(inputs, episodes)
    scores = episodes.scores(p.unit)
    estimates = interval_estimates(scores, optimal=_optimal(p), reps=p.bootstrap_reps,
                                   confidence=p.confidence, rng=p.bootstrap_seed)
    profile, other_profile = _profiles(p, scores, inputs.other)
    metrics = _metrics(inputs, episodes, estimates, profile, latency)
    findings += check_latency(latency, p.deploy.latency_budget_ms)
    findings += _robustness(inputs, swept, shift, metrics)
    findings += _comparison(inputs, metrics)
    trigger = _trigger(inputs, episodes, estimates)
    metrics["retraining_trigger"] = {"triggers": trigger["triggers"],
                                     "file": str(out_dir / TRIGGER_NAME) if out_dir else None}
    metrics[SUMMARY_KEY] = _summary(inputs, estimates, latency, measured_sweep=swept is not None,
                                    measured_shift=shift is not None).to_json()
    files = {"access_log": str(log_path)}
    if out_dir is not None:
        files.update({"result": str(out_dir / RESULT_NAME), "trigger": str(out_dir / TRIGGER_NAME)})
    metrics["files"] = files
    target = f"{p.env.spec} (split {inputs.split.name}) {inputs.policy_spec.describe()}"
    result = CommandResult(command="eval", target=target, findings=tuple(findings),
                           metrics=metrics)
    if out_dir is not None:
        _write_outputs(out_dir, result, trigger)
    return EvalOutcome(result, p, inputs.split, inputs.policy_spec.describe(), episodes,
                       estimates, profile, other_profile, swept, inputs.sweep, shift, latency,
                       files)
