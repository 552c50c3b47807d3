"""Periodic evaluation on the nominal env and a shifted-dynamics "real" variant.

Contents:
    EvalResult -- the returns of one evaluation.
    evaluate_policy(...) -- greedy episodes on a vector env, one episode per env.
    GapTracker -- nominal vs real returns over training; ``finding`` reports the gap.
    SIM_TO_REAL_REL -- how large a gap is worth a finding.

Why the unrandomised env: training returns under domain randomisation average over the
buckets and over exploration noise; the nominal env with greedy actions is the number to
compare across runs (and the one ``eval_return`` means). The "real" variant has dynamics
the policy was not trained on (``--real-env-kwargs``): the gap between the two is the
sim-to-real gap, tracked over training, since randomisation should shrink it.

Evaluation seeds are fixed (``seed + 10_000 + i`` for episode i) and independent of the
training RNGs, so evaluating never changes what training does, and two evaluations of the
same weights give the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlvet.findings import Category, Finding, Severity
from rlvet.pipeline.agent import Agent
from rlvet.pipeline.domain_rand import make_env
from rlvet.pipeline.normalization import EPSILON, OBS_CLIP

__all__ = ["EVAL_SEED_OFFSET", "SIM_TO_REAL_REL", "EvalResult", "GapTracker",
           "evaluate_policy"]

EVAL_SEED_OFFSET = 10_000  # evaluation env seeds never coincide with training actors'
MAX_EVAL_STEPS = 10_000  # vector steps: a bound for envs without a time limit
SIM_TO_REAL_REL = 0.2  # the real variant scores 20% (of the nominal return's magnitude)
# below nominal: well beyond evaluation noise of 10 greedy episodes on a trained policy
GAP_SE_MULTIPLE = 2.0  # and the gap exceeds 2 standard errors of the difference


@dataclass(frozen=True, slots=True)
class EvalResult:
    """Returns and lengths of the evaluation episodes (one per env)."""

    returns: tuple[float, ...]
    lengths: tuple[int, ...]

    @property
    def mean(self) -> float:
        """Mean return."""
        return float(np.mean(self.returns))

    @property
    def stderr(self) -> float:
        """Standard error of the mean return."""
        n = len(self.returns)
        return float(np.std(self.returns, ddof=1) / np.sqrt(n)) if n > 1 else 0.0


def evaluate_policy(agent: Agent, obs_mean: np.ndarray, obs_var: np.ndarray, *, env_id: str,
                    episodes: int, seed: int, norm_obs: bool = True,
                    fixed: Mapping[str, Any] | None = None) -> EvalResult:
    """Run ``episodes`` greedy episodes in parallel (one per env) and return their returns.

    The envs are stepped one by one in a loop, not through a ``SyncVectorEnv``: an env
    whose episode ended is not stepped again (a vector env autoresets it and keeps stepping
    it until the last episode ends), and there are no infos to merge. Same episodes, same
    seeds, same greedy actions (tested equal), less overhead: 36 -> 29 ms measured for 10
    CartPole episodes of 121-152 steps.

    Args:
        agent: the policy (not modified).
        obs_mean, obs_var: (n_obs,) normalisation statistics of these weights.
        env_id: Gymnasium id.
        episodes: episodes (= envs of the evaluation vector env).
        seed: base seed of the evaluation (``EVAL_SEED_OFFSET`` is added).
        norm_obs: normalise observations like training did.
        fixed: parameter overrides (the "real" variant); None for the nominal env.
    """
    envs = [make_env(env_id, fixed=fixed) for _ in range(episodes)]
    try:
        obs = np.stack([np.asarray(env.reset(seed=seed + EVAL_SEED_OFFSET + i)[0],
                                   dtype=np.float64).reshape(-1)
                        for i, env in enumerate(envs)])
        returns, lengths = np.zeros(episodes), np.zeros(episodes, dtype=np.int64)
        running = list(range(episodes))
        spec, policy = agent.action, agent.numpy_policy()  # see NumpyPolicy
        for _ in range(MAX_EVAL_STEPS):
            if not running:
                break
            x = obs[running]
            if norm_obs:
                x = np.clip((x - obs_mean) / np.sqrt(obs_var + EPSILON), -OBS_CLIP, OBS_CLIP)
            actions = spec.to_env(policy.greedy(x.astype(np.float32)))
            still = []
            for j, action in zip(running, actions, strict=True):
                o, r, term, trunc, _ = envs[j].step(action)
                obs[j] = np.asarray(o, dtype=np.float64).reshape(-1)
                returns[j] += float(r)
                lengths[j] += 1
                if not (term or trunc):
                    still.append(j)
            running = still
    finally:
        for env in envs:
            env.close()
    return EvalResult(tuple(float(x) for x in returns), tuple(int(x) for x in lengths))


@dataclass(slots=True)
class GapTracker:
    """Nominal and real evaluation returns over training: ``(step, nominal, real)``."""

    history: list[tuple[int, EvalResult, EvalResult]] = field(default_factory=list)

    def add(self, step: int, nominal: EvalResult, real: EvalResult) -> float:
        """Record one pair; returns the gap nominal - real."""
        self.history.append((step, nominal, real))
        return nominal.mean - real.mean

    @staticmethod
    def _exceeds(nominal: EvalResult, real: EvalResult) -> bool:
        gap = nominal.mean - real.mean
        noise = GAP_SE_MULTIPLE * float(np.hypot(nominal.stderr, real.stderr))
        return gap > max(SIM_TO_REAL_REL * abs(nominal.mean), noise)

    def finding(self, real_kwargs: Mapping[str, Any]) -> list[Finding]:
        """``sim_to_real_gap`` when the last evaluation's real return is materially lower."""
        if not self.history:
            return []
        step, nominal, real = self.history[-1]
        if not self._exceeds(nominal, real):
            return []
        first = next(s for s, n, r in self.history if self._exceeds(n, r))
        gap = nominal.mean - real.mean
        message = (
            f"the shifted-dynamics variant ({_describe(real_kwargs)}) returns {real.mean:.3g} "
            f"against {nominal.mean:.3g} on the nominal env at step {step} (gap {gap:.3g}, "
            f"{gap / max(abs(nominal.mean), 1e-12):.0%}): the policy relies on the nominal "
            f"dynamics")
        return [Finding.of(
            check="pipeline.evaluation.sim_to_real_gap", category=Category.SIM_TO_REAL_GAP,
            severity=Severity.WARNING, message=message,
            evidence={"nominal_return": nominal.mean, "real_return": real.mean, "gap": gap,
                      "relative_gap": gap / max(abs(nominal.mean), 1e-12),
                      "first_exceeded_step": first, "real_env_kwargs": dict(real_kwargs),
                      "history": [[s, n.mean, r.mean] for s, n, r in self.history]},
            step=step,
            remedy=("randomise the parameters that differ (--randomize with a range covering "
                    "the real value), or identify the real parameters and train on them; "
                    "check the gap shrinks as randomisation widens"))]


def _describe(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "no overrides"
