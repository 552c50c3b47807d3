"""The demo's stand-in for ``rlvet eval``: per-seed returns of trained checkpoints, IQM CIs.

Contents:
    EvalPlan -- env, evaluation seeds, episodes per seed, bootstrap and latency settings.
    iqm(x) -- the interquartile mean (25% trimmed each side) over the last axis.
    iqm_interval(returns, confidence, seed) -- IQM with a percentile bootstrap CI.
    protocol_hash(plan) -- SHA-256 of the plan's canonical JSON (what makes results comparable).
    evaluate_checkpoints(checkpoints, plan) -- the ``CommandResult`` (command ``eval``).

Used by ``rlvet demo`` only when the full ``rlvet eval`` (issue 6) is not installed. It
writes the keys ``rlvet report`` reads from any evaluation (docs/report.md): intervals as
``{"point", "low", "high"}`` under ``iqm``, ``seeds``, ``protocol_hash``, ``latency`` with
``p50_ms`` / ``p99_ms`` / ``budget_ms``, and ``stand_in: true`` so the report says which one
ran. Greedy actions, fixed seeds, and a seeded bootstrap: the same checkpoints give the
same numbers. The IQM follows Agarwal et al. 2021 (robust to a few failed episodes, less
noisy than the median); here its unit is the episode, pooled over seeds -- ``rlvet eval``
does the stratified bootstrap over seeds.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from rlvet.findings import CommandResult

__all__ = ["EvalPlan", "evaluate_checkpoints", "iqm", "iqm_interval", "protocol_hash"]

TRIM = 0.25  # the interquartile mean drops the lowest and highest quarter
BOOTSTRAP_RESAMPLES = 2000  # percentile CI endpoints stable to ~1% of the spread
LATENCY_WARMUP = 20  # first calls pay allocation and dispatch set-up, not inference


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalPlan:
    """How the checkpoints are evaluated (everything here goes into the protocol hash but
    the latency budget, which judges the result and does not change it)."""

    env_id: str = "CartPole-v1"
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    episodes_per_seed: int = 10
    confidence: float = 0.95
    bootstrap_seed: int = 0
    latency_calls: int = 300
    latency_budget_ms: float | None = None


def iqm(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean over ``axis`` (``scipy.stats.trim_mean`` with 25% each side)."""
    return stats.trim_mean(x, TRIM, axis=axis)


def iqm_interval(returns: Sequence[float], *, confidence: float, seed: int) -> dict[str, float]:
    """IQM of ``returns`` (n,) and its percentile bootstrap CI, as ``{"point","low","high"}``.

    A sample with no spread (every episode 500) has a zero-width interval, which is the
    honest answer; scipy warns that the bootstrap is degenerate and that warning is muted.
    """
    x = np.asarray(returns, dtype=float)
    point = float(iqm(x))
    if x.size < 2 or np.ptp(x) == 0:
        return {"point": point, "low": point, "high": point}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap((x,), iqm, confidence_level=confidence,
                              n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                              random_state=np.random.default_rng(seed))
    return {"point": point, "low": float(res.confidence_interval.low),
            "high": float(res.confidence_interval.high)}


def protocol_hash(plan: EvalPlan) -> str:
    """SHA-256 (hex) of the canonical JSON of what changes a measured return."""
    measured = {k: v for k, v in asdict(plan).items() if k != "latency_budget_ms"}
    text = json.dumps({"format": 1, "stand_in": True, **measured}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Loaded:
    agent: Any
    mean: np.ndarray
    var: np.ndarray
    norm_obs: bool


def _load(checkpoint: Path, env_id: str) -> _Loaded:
    import gymnasium as gym

    from rlvet.pipeline.agent import ActionSpec, Agent, obs_dim
    from rlvet.pipeline.checkpoints import load_checkpoint
    from rlvet.pipeline.normalization import RunningMeanStd

    state = load_checkpoint(checkpoint)
    args = json.loads(state["args"])
    env = gym.make(env_id)
    try:
        n_obs, action = obs_dim(env.observation_space), ActionSpec.of(env.action_space)
    finally:
        env.close()
    agent = Agent(n_obs, action, int(args["hidden"]))
    agent.load_state_dict(state["agent"])
    agent.eval()
    rms = RunningMeanStd((n_obs,))
    rms.load_state_dict(state["obs_rms"])
    return _Loaded(agent, np.asarray(rms.mean), np.asarray(rms.var), bool(args["norm_obs"]))


def _per_seed(policy: _Loaded, plan: EvalPlan) -> list[list[float]]:
    from rlvet.pipeline.evaluation import evaluate_policy

    out = []
    for seed in plan.seeds:
        result = evaluate_policy(policy.agent, policy.mean, policy.var, env_id=plan.env_id,
                                 episodes=plan.episodes_per_seed,
                                 seed=seed * plan.episodes_per_seed, norm_obs=policy.norm_obs)
        out.append(list(result.returns))
    return out


def _latency(policy: _Loaded, plan: EvalPlan) -> dict[str, Any]:
    """Batch-1 greedy inference time (the deployment case: one observation per control step)."""
    import torch

    obs = torch.zeros((1, policy.mean.shape[0]), dtype=torch.float32)
    times = []
    with torch.inference_mode():
        for i in range(LATENCY_WARMUP + plan.latency_calls):
            t0 = time.perf_counter_ns()
            policy.agent.greedy(obs)
            if i >= LATENCY_WARMUP:
                times.append((time.perf_counter_ns() - t0) / 1e6)
    ms = np.asarray(times)
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "calls": int(ms.size), "threads": torch.get_num_threads(),
            "budget_ms": plan.latency_budget_ms}


def evaluate_checkpoints(checkpoints: Sequence[Path], plan: EvalPlan) -> CommandResult:
    """Evaluate each checkpoint on every seed; IQM CIs per checkpoint and pooled.

    Args:
        checkpoints: ``rlvet train`` checkpoints (``last.pt``), one per training seed.
        plan: seeds, episodes, bootstrap and latency settings.

    Raises:
        RlvetInputError: a missing or unreadable checkpoint.
    """
    if not checkpoints:
        raise ValueError("evaluate_checkpoints needs at least one checkpoint")
    policies, pooled = [], []
    loaded = [_load(Path(c), plan.env_id) for c in checkpoints]
    for index, (path, policy) in enumerate(zip(checkpoints, loaded, strict=True)):
        returns = _per_seed(policy, plan)
        flat = [r for seed in returns for r in seed]
        pooled += flat
        policies.append({"checkpoint": str(path), "run": str(Path(path).parent.parent),
                         "per_seed_mean": [float(np.mean(r)) for r in returns],
                         "iqm": iqm_interval(flat, confidence=plan.confidence,
                                             seed=plan.bootstrap_seed + index)})
    aggregate = {"iqm": iqm_interval(pooled, confidence=plan.confidence,
                                     seed=plan.bootstrap_seed),
                 "mean_return": float(np.mean(pooled)), "episodes": len(pooled)}
    metrics = {
        "stand_in": True,
        "note": "demo stand-in for rlvet eval (not installed): greedy episodes, IQM with a "
                "percentile bootstrap over episodes",
        "aggregate": aggregate, "env_id": plan.env_id, "protocol_hash": protocol_hash(plan),
        "protocol": {k: v for k, v in asdict(plan).items() if k != "latency_budget_ms"},
        "seeds": list(plan.seeds), "episodes_per_seed": plan.episodes_per_seed,
        "policies": policies, "latency": _latency(loaded[0], plan),
    }
    return CommandResult(command="eval", target=plan.env_id, findings=(), metrics=metrics)
