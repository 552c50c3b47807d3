"""Policies under evaluation: one batched call shape for every loader.

Contents:
    Policy -- ``policy(obs, deterministic=..., rngs=...) -> actions``, batched.
    load_policy(spec, env) -- from an rlvet checkpoint (``.pt``), an SB3 model (``.zip``) or
        a ``module:callable``; spaces are checked against the env.
    sample_categorical(probs, rngs), sample_gaussian(mean, std, rngs) -- row-wise sampling,
        each row from its own episode's Generator.

Why one Generator per row: an episode's sampled actions then depend on that episode's seed
only, not on which other episodes share its batch -- so batched evaluation gives the same
returns as a one-episode-at-a-time loop (tested), and the same seed the same bits. Torch's
``Categorical.sample`` would draw from the process-global RNG instead.

Observation normalisation travels with the policy: an rlvet checkpoint carries the running
mean and variance its weights were trained with (``obs_rms``) and they are applied here
exactly as the trainer's evaluator does. SB3's ``VecNormalize`` statistics live in a
separate file and are not read (a model trained with them needs a callable wrapper).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np

from rlvet.envcheck.spec import load_callable
from rlvet.errors import RlvetInputError
from rlvet.evaluate.protocol import PolicySpec

__all__ = ["Policy", "load_policy", "sample_categorical", "sample_gaussian"]

ActFn = Callable[[np.ndarray, bool, Sequence[np.random.Generator]], np.ndarray]


@dataclass(frozen=True, slots=True)
class Policy:
    """A loaded policy.

    Attributes:
        name: what it is, for messages (``sb3 PPO model.zip``).
        act: ``act(obs, deterministic, rngs)``: obs (n, *obs_shape) -> actions (n, ...)
            as the env takes them; ``rngs`` holds n Generators, one per row.
    """

    name: str
    act: ActFn

    def __call__(self, obs: np.ndarray, *, deterministic: bool = True,
                 rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
        """Actions for a batch of observations (n, *obs_shape)."""
        if rngs is None:
            rngs = [np.random.default_rng(0) for _ in range(len(obs))]
        return self.act(obs, deterministic, rngs)


def sample_categorical(probs: np.ndarray, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """Inverse-CDF sampling: probs (n, k) -> indices (n,), row i from ``rngs[i]``."""
    u = np.array([r.random() for r in rngs])
    cdf = np.cumsum(probs, axis=-1)
    idx = (cdf < (u * cdf[:, -1])[:, None]).sum(axis=-1)
    return cast(np.ndarray, np.minimum(idx, probs.shape[-1] - 1).astype(np.int64))


def sample_gaussian(mean: np.ndarray, std: np.ndarray,
                    rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """mean, std (n, d) -> samples (n, d), row i from ``rngs[i]``."""
    noise = np.stack([r.standard_normal(mean.shape[-1]) for r in rngs])
    return cast(np.ndarray, (mean + std * noise).astype(mean.dtype))


def _mismatch(spec: PolicySpec, what: str, policy_space: Any, env_space: Any) -> None:
    if policy_space != env_space:
        raise RlvetInputError(f"{spec.target}: the policy's {what} space {policy_space} does not "
                              f"match the env's {env_space}")


# --- rlvet checkpoints -----------------------------------------------------------------


def _load_rlvet(spec: PolicySpec, env: gym.Env) -> Policy:
    """An rlvet ``train`` checkpoint: Agent weights, hidden size and observation stats."""
    import torch

    from rlvet.pipeline.agent import ActionSpec, Agent, obs_dim
    from rlvet.pipeline.checkpoints import load_checkpoint
    from rlvet.pipeline.normalization import EPSILON, OBS_CLIP

    if not Path(spec.target).is_file():
        raise RlvetInputError(f"{spec.target}: checkpoint not found")
    state = load_checkpoint(spec.target)
    args = json.loads(state["args"])
    action = ActionSpec.of(env.action_space)
    agent = Agent(obs_dim(env.observation_space), action, int(args.get("hidden", 64)))
    try:
        agent.load_state_dict(state["agent"])
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise RlvetInputError(f"{spec.target}: weights do not fit the env's spaces "
                              f"(trained on {args.get('env_id')}?): {first}") from None
    agent.eval()
    norm = bool(args.get("norm_obs", True))
    mean = state["obs_rms"]["mean"].numpy().astype(np.float64)
    std = np.sqrt(state["obs_rms"]["var"].numpy().astype(np.float64) + EPSILON)

    def act(obs: np.ndarray, deterministic: bool, rngs: Sequence[np.random.Generator]
            ) -> np.ndarray:
        x = obs.reshape(len(obs), -1).astype(np.float64)
        if norm:
            x = np.clip((x - mean) / std, -OBS_CLIP, OBS_CLIP)
        with torch.inference_mode():
            out = agent.actor(torch.from_numpy(x.astype(np.float32))).numpy()
        if action.discrete:
            if deterministic:
                return cast(np.ndarray, out.argmax(-1))
            z = np.exp(out - out.max(-1, keepdims=True))
            return sample_categorical(z / z.sum(-1, keepdims=True), rngs)
        if deterministic:
            return action.to_env(out)
        log_std = agent.log_std.detach().numpy()
        return action.to_env(sample_gaussian(out, np.exp(log_std), rngs))

    return Policy(spec.describe(), act)


# --- Stable-Baselines3 models ------------------------------------------------------------


def _sb3_model(spec: PolicySpec) -> Any:
    try:
        import stable_baselines3 as sb3
    except ImportError:
        raise RlvetInputError(f"{spec.target}: loading an SB3 model needs stable-baselines3 "
                              f"(pip install 'rlvet[train]')") from None
    if not Path(spec.target).is_file():
        raise RlvetInputError(f"{spec.target}: SB3 model not found")
    cls = getattr(sb3, spec.algo or "PPO")
    try:
        return cls.load(spec.target, device="cpu")
    except Exception as exc:  # a zip of another algo or version raises many types
        raise RlvetInputError(f"{spec.target}: not a loadable SB3 {spec.algo} model "
                              f"({type(exc).__name__}: {exc})") from None


def _sb3_distribution_act(model: Any, env: gym.Env) -> ActFn:
    """Batched actions from an actor-critic policy's distribution (PPO, A2C)."""
    import torch
    from stable_baselines3.common.distributions import (
        CategoricalDistribution,
        DiagGaussianDistribution,
    )

    policy = model.policy
    space = env.action_space

    def act(obs: np.ndarray, deterministic: bool, rngs: Sequence[np.random.Generator]
            ) -> np.ndarray:
        with torch.no_grad():
            tensor = policy.obs_to_tensor(obs)[0]
            dist = policy.get_distribution(tensor)
            if deterministic:
                out = dist.get_actions(deterministic=True).numpy()
            elif isinstance(dist, CategoricalDistribution):
                out = sample_categorical(dist.distribution.probs.numpy(), rngs)
            elif isinstance(dist, DiagGaussianDistribution):
                d = dist.distribution
                out = sample_gaussian(d.mean.numpy(), d.stddev.numpy(), rngs)
            else:
                return _sb3_predict_rows(model, obs, rngs)
        return cast(np.ndarray, np.clip(out, space.low, space.high)
                    if isinstance(space, gym.spaces.Box) else out)

    return act


def _sb3_predict_rows(model: Any, obs: np.ndarray, rngs: Sequence[np.random.Generator]
                      ) -> np.ndarray:
    """Sampled actions through ``model.predict``, one row at a time under a torch RNG
    seeded from that row's Generator (DQN, SAC, TD3 and exotic distributions)."""
    import torch

    rows = []
    for i, r in enumerate(rngs):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(r.integers(0, 2**63 - 1)))
            np_state = np.random.get_state()  # DQN's epsilon-greedy draws from numpy's
            np.random.seed(int(r.integers(0, 2**32 - 1)))
            try:
                rows.append(model.predict(obs[i : i + 1], deterministic=False)[0][0])
            finally:
                np.random.set_state(np_state)
    return np.stack(rows)


def _load_sb3(spec: PolicySpec, env: gym.Env) -> Policy:
    model = _sb3_model(spec)
    _mismatch(spec, "observation", model.observation_space, env.observation_space)
    _mismatch(spec, "action", model.action_space, env.action_space)
    if hasattr(model.policy, "get_distribution"):
        return Policy(spec.describe(), _sb3_distribution_act(model, env))

    def act(obs: np.ndarray, deterministic: bool, rngs: Sequence[np.random.Generator]
            ) -> np.ndarray:
        if deterministic:
            return cast(np.ndarray, model.predict(obs, deterministic=True)[0])
        return _sb3_predict_rows(model, obs, rngs)

    return Policy(spec.describe(), act)


# --- plain callables --------------------------------------------------------------------


def _keywords(fn: Callable[..., Any]) -> set[str]:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return set()
    return {k for k in ("deterministic", "rng", "rngs") if k in params}


def _load_callable(spec: PolicySpec) -> Policy:
    fn = load_callable(spec.target)
    accepted = _keywords(fn)

    def act(obs: np.ndarray, deterministic: bool, rngs: Sequence[np.random.Generator]
            ) -> np.ndarray:
        kw: dict[str, Any] = {"deterministic": deterministic} if "deterministic" in accepted \
            else {}
        if spec.batched:
            if "rngs" in accepted:
                kw["rngs"] = rngs
            return np.asarray(fn(obs, **kw))
        rows = []
        for o, r in zip(obs, rngs, strict=True):
            rows.append(fn(o, **kw, **({"rng": r} if "rng" in accepted else {})))
        return np.asarray(rows)

    return Policy(spec.describe(), act)


_LOADERS: dict[str, Callable[[PolicySpec, gym.Env], Policy]] = {
    "rlvet": _load_rlvet,
    "sb3": _load_sb3,
    "callable": lambda spec, env: _load_callable(spec),
}


def load_policy(spec: PolicySpec, env: gym.Env) -> Policy:
    """Load the policy ``spec`` names, checked against ``env``'s spaces.

    Raises:
        RlvetInputError: missing file, unloadable model, or spaces that do not match.

    Example:
        >>> env = gymnasium.make("CartPole-v1")  # doctest: +SKIP
        >>> spec = PolicySpec(kind="sb3", target="m.zip", algo="PPO")
        >>> policy = load_policy(spec, env)  # doctest: +SKIP
        >>> policy(np.zeros((3, 4), np.float32)).shape  # doctest: +SKIP
        (3,)
    """
    return _LOADERS[spec.kind](spec, env)
