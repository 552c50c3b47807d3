"""Probes that run *inside* the child process: they step the env and return plain records.

Contents:
    probe_build -- build the env once, so a bad spec fails before any probe (exit 2).
    flat_obs -- any observation (array, scalar, dict, tuple) as a 1-D float64 copy.
    run_episodes -- episodes with a random, replayed or expert policy, audited per step.
    probe_api -- one-off API facts (signatures, same-seed resets, out-of-bounds actions,
        stepping after the end, Gymnasium's own passive-checker warnings).
    probe_branches -- from saved states, try distinct actions and count distinct next
        observations (an observation that ignores the action is stale).
    PROBES -- name -> probe, the child's dispatch table.

Every call into the env or an expert goes through the sandbox ``Heartbeat`` (``hb.call``),
so the parent's watchdog knows which call hung or died. A ``MemoryError`` is never recorded
as an episode's error: it ends the probe as an ``out_of_memory`` failure.

Observations are copied at once (Gymnasium issue #1681: envs that reuse buffers pass
equality checks falsely). Nothing here judges; ``checks/`` does.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlvet.envcheck.experts import load_expert
from rlvet.envcheck.records import ApiProbe, BranchPoint, ContractAudit, EpisodeRecord
from rlvet.envcheck.spec import validate_env
from rlvet.sandbox import Heartbeat, UserCall

__all__ = [
    "PROBES",
    "EpisodeUpdate",
    "check_expert",
    "flat_obs",
    "probe_api",
    "probe_branches",
    "probe_build",
    "run_episodes",
]

SNAPSHOT_EVERY_STEPS = 50  # spaces are re-read this often inside an episode to catch drift
MAX_BRANCH_ACTIONS = 8  # distinct actions tried per branch point; enough to show sensitivity
MIN_EPISODES_IN_BUDGET = 5  # a time budget never cuts a probe below this many episodes
END_PROBE_CAP = 2000  # steps allowed to reach an episode end before probing step-after-end


def _build(factory: Callable[[], gym.Env], hb: Heartbeat) -> gym.Env:
    return hb.call(UserCall.BUILD, factory)


def _close(env: gym.Env, hb: Heartbeat) -> None:
    hb.call(UserCall.CLOSE, env.close)


def probe_build(factory: Callable[[], gym.Env], hb: Heartbeat, *, spec: str) -> None:
    """Build and close the env once; a factory that raises is an ``RlvetInputError``."""
    validate_env(spec, partial(_build, factory, hb))


def flat_obs(obs: Any) -> np.ndarray:
    """A 1-D float64 *copy* of any observation; NaN where a leaf is not numeric."""
    if isinstance(obs, Mapping):
        parts = [flat_obs(obs[k]) for k in sorted(obs, key=str)]
        return np.concatenate(parts) if parts else np.zeros(0)
    if isinstance(obs, tuple):
        parts = [flat_obs(o) for o in obs]
        return np.concatenate(parts) if parts else np.zeros(0)
    try:
        return np.array(obs, dtype=np.float64, copy=True).reshape(-1)
    except (TypeError, ValueError):
        return np.full(1, np.nan)


def _rng_fingerprint(env: gym.Env) -> str | None:
    rng = getattr(env.unwrapped, "_np_random", None)
    if rng is None:
        return None
    state = repr(rng.bit_generator.state).encode()
    return hashlib.sha1(state).hexdigest()[:16]


def _space_snapshot(env: gym.Env) -> str:
    """Text of both spaces including Box bounds (repr alone rounds the bounds)."""
    parts = []
    for space in (env.observation_space, env.action_space):
        text = repr(space)
        if isinstance(space, spaces.Box):
            text += f" low={np.asarray(space.low).tolist()} high={np.asarray(space.high).tolist()}"
        parts.append(text)
    return " | ".join(parts)


def _audit_step(
    env: gym.Env, result: Any, audit: ContractAudit
) -> tuple[Any, float, bool, bool, Any] | None:
    """Unpack a step result, counting every contract violation; None if unusable."""
    audit.steps += 1
    if not isinstance(result, tuple) or len(result) not in (4, 5):
        audit.record(
            "step_return",
            f"step returned {type(result).__name__} of length "
            f"{len(result) if isinstance(result, tuple) else 'n/a'}",
        )
        return None
    if len(result) == 4:
        audit.record("step_return", "step returned the old 4-tuple (obs, reward, done, info)")
        obs, reward, done, info = result
        terminated, truncated = done, False
    else:
        obs, reward, terminated, truncated, info = result
    _audit_obs(env, obs, audit, "step")
    value = _audit_reward(reward, audit)
    for name, flag in (("terminated", terminated), ("truncated", truncated)):
        if not isinstance(flag, (bool, np.bool_)):
            audit.record(f"{name}_type", f"`{name}` is {type(flag).__name__} ({flag!r}), not bool")
    if not isinstance(info, dict):
        audit.record("info_type", f"step info is {type(info).__name__}, not dict")
    return obs, value, bool(terminated), bool(truncated), info


def _audit_reward(reward: Any, audit: ContractAudit) -> float:
    if isinstance(reward, (bool, np.bool_)) or not np.isscalar(reward):
        audit.record(
            "reward_type",
            f"reward is {type(reward).__name__} ({reward!r:.60}), not a scalar number",
        )
        try:
            return float(np.asarray(reward, dtype=np.float64).reshape(-1)[0])
        except (TypeError, ValueError, IndexError):
            return float("nan")
    try:
        return float(reward)
    except (TypeError, ValueError):
        audit.record("reward_type", f"reward {reward!r:.60} is not a number")
        return float("nan")


def _audit_obs(env: gym.Env, obs: Any, audit: ContractAudit, source: str) -> None:
    space = env.observation_space
    try:
        inside = space.contains(obs)
    except Exception as exc:  # a malformed obs can make contains() itself raise
        audit.record("obs_not_in_space", f"{source} obs made contains() raise {exc!r:.80}")
        return
    if not inside:
        audit.record(
            "obs_not_in_space", f"{source} obs {flat_obs(obs)[:6].tolist()} outside {space!r:.80}"
        )
    if isinstance(space, spaces.Box):
        dtype = getattr(obs, "dtype", None)
        if dtype is not None and dtype != space.dtype:
            audit.record("obs_dtype", f"{source} obs dtype {dtype} but space dtype {space.dtype}")


def _split_reset(result: Any, audit: ContractAudit | None) -> Any:
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
        return result[0]
    if audit is not None:
        audit.record("reset_return", f"reset returned {type(result).__name__}, not (obs, info)")
    if isinstance(result, tuple) and len(result) == 2:
        return result[0]
    return result


Policy = Callable[[Any, int], Any]


def _make_policy(
    env: gym.Env,
    seed: int,
    policy: str,
    actions: Sequence[Any] | None,
    expert: Callable[[Any], Any] | None,
    hb: Heartbeat,
) -> Policy:
    if policy == "expert":
        if expert is None:
            raise ValueError("no expert available for this env")
        return lambda obs, t: hb.call(UserCall.POLICY, expert, obs)
    space = env.action_space
    space.seed(seed)
    if actions is None:
        return lambda obs, t: space.sample()
    planned = list(actions)
    return lambda obs, t: planned[t] if t < len(planned) else space.sample()


def _episode(
    env: gym.Env,
    seed: int,
    policy_name: str,
    policy_fn: Policy,
    cap: int,
    hb: Heartbeat,
    audit: ContractAudit | None,
    snapshots: list[str] | None,
) -> EpisodeRecord:
    """One episode, never raising: an exception ends the episode and is recorded."""
    obs_rows: list[np.ndarray] = []
    actions: list[Any] = []
    rewards: list[float] = []
    term: list[bool] = []
    trunc: list[bool] = []
    seconds: list[float] = []
    error = error_step = None
    reset_flat = np.zeros(0)
    fingerprint = None
    try:
        result = hb.call(UserCall.RESET, env.reset, seed=seed)
        obs = _split_reset(result, audit)
        fingerprint = _rng_fingerprint(env)
        reset_flat = flat_obs(obs)
        if audit is not None:
            _audit_obs(env, obs, audit, "reset")
        if snapshots is not None:
            snapshots.append(_space_snapshot(env))
    except MemoryError:
        raise
    except Exception as exc:
        error, error_step = f"{type(exc).__name__}: {exc}"[:300], -1
        obs = None
    local_audit = audit if audit is not None else ContractAudit()
    t = 0
    while error is None and t < cap:
        try:
            action = policy_fn(obs, t)
            start = time.perf_counter()
            raw = hb.call(UserCall.STEP, env.step, action)
            elapsed = time.perf_counter() - start
        except MemoryError:
            raise
        except Exception as exc:
            error, error_step = f"{type(exc).__name__}: {exc}"[:300], t
            break
        unpacked = _audit_step(env, raw, local_audit)
        if unpacked is None:
            error, error_step = "step returned an unusable value", t
            break
        obs, reward, terminated, truncated, _ = unpacked
        actions.append(copy.deepcopy(action))
        obs_rows.append(flat_obs(obs))
        rewards.append(reward)
        term.append(terminated)
        trunc.append(truncated)
        seconds.append(elapsed)
        t += 1
        if snapshots is not None and t % SNAPSHOT_EVERY_STEPS == 0:
            snapshots.append(_space_snapshot(env))
        if terminated or truncated:
            break
    width = reset_flat.shape[0]
    obs_arr = np.stack(obs_rows) if obs_rows and _same_width(obs_rows) else _ragged(obs_rows, width)
    capped = error is None and t >= cap and not (term and (term[-1] or trunc[-1]))
    return EpisodeRecord(
        seed=seed,
        policy=policy_name,
        reset_obs=reset_flat,
        obs=obs_arr,
        actions=actions,
        rewards=np.asarray(rewards, dtype=np.float64),
        terminated=np.asarray(term, dtype=bool),
        truncated=np.asarray(trunc, dtype=bool),
        step_seconds=np.asarray(seconds),
        error=error,
        error_step=error_step,
        rng_fingerprint=fingerprint,
        capped=capped,
    )


def _same_width(rows: list[np.ndarray]) -> bool:
    return len({r.shape[0] for r in rows}) == 1


def _ragged(rows: list[np.ndarray], width: int) -> np.ndarray:
    """Observations whose size changes between steps: pad with NaN to the widest row."""
    if not rows:
        return np.zeros((0, width))
    wide = max(r.shape[0] for r in rows)
    out = np.full((len(rows), wide), np.nan)
    for i, r in enumerate(rows):
        out[i, : r.shape[0]] = r
    return out


def _seed_stream(
    seeds: Sequence[int],
    taken: list[int],
    min_steps: int,
    max_episodes: int | None,
    max_seconds: float | None,
) -> Any:
    """``seeds``, then further seeds while fewer than ``min_steps`` steps were ``taken``.

    Stops early once ``max_seconds`` have passed and ``MIN_EPISODES_IN_BUDGET`` episodes ran,
    so a slow env costs a bounded wall time instead of a fixed number of steps.
    """
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    for seed in seeds:
        if deadline and len(taken) >= MIN_EPISODES_IN_BUDGET and time.monotonic() > deadline:
            return
        yield seed
    limit = max_episodes if max_episodes is not None else len(seeds)
    next_seed = (max(seeds) + 1) if seeds else 0
    while sum(taken) < min_steps and len(taken) < limit:
        if deadline and time.monotonic() > deadline:
            return
        yield next_seed
        next_seed += 1


def check_expert(
    factory: Callable[[], gym.Env], hb: Heartbeat, *, expert_spec: str | None, seed: int
) -> tuple[str | None, str | None]:
    """``(expert name, problem)``: does the expert return an action inside the action space?"""
    env = _build(factory, hb)
    try:
        loaded = hb.call(UserCall.LOAD, load_expert, expert_spec, env)
        if loaded is None:
            return None, None
        name, expert = loaded
        obs = _split_reset(hb.call(UserCall.RESET, env.reset, seed=seed), None)
        action = hb.call(UserCall.POLICY, expert, obs)
        if not env.action_space.contains(action):
            return name, (
                f"expert {name} returned {action!r:.60} ({type(action).__name__}), "
                f"not an action in {env.action_space!r:.80}"
            )
        return name, None
    except MemoryError:
        raise
    except Exception as exc:
        return expert_spec, f"expert {expert_spec} failed: {type(exc).__name__}: {exc}"[:300]
    finally:
        _close(env, hb)


@dataclass(frozen=True, slots=True)
class EpisodeUpdate:
    """One streamed episode with the audit and space snapshots accumulated so far."""

    record: EpisodeRecord
    audit: ContractAudit
    snapshots: tuple[str, ...]


def run_episodes(
    factory: Callable[[], gym.Env],
    hb: Heartbeat,
    *,
    seeds: Sequence[int],
    policy: str = "random",
    actions: Mapping[int, Sequence[Any]] | None = None,
    expert_spec: str | None = None,
    cap: int,
    min_steps: int = 0,
    max_episodes: int | None = None,
    max_seconds: float | None = None,
    fresh_each: bool = False,
    audit: bool = False,
) -> Iterator[EpisodeUpdate]:
    """Episodes for ``seeds`` in one env (or a fresh env each when ``fresh_each``), streamed.

    With ``min_steps``, episodes continue past ``seeds`` (seed after seed) until that many
    steps were taken or ``max_episodes`` ran: short-episode envs (Blackjack) need hundreds of
    episodes for a statistical test, long ones (CartPole's expert) need few. Each episode is
    yielded as soon as it ends, so a later hang loses nothing already collected.
    """
    contract = ContractAudit()
    snapshots: list[str] = []
    taken: list[int] = []
    env = None
    try:
        for seed in _seed_stream(seeds, taken, min_steps, max_episodes, max_seconds):
            if env is None or fresh_each:
                if env is not None:
                    _close(env, hb)
                env = _build(factory, hb)
                # built once per env: value iteration for toy text is not per-episode work
                loaded = (hb.call(UserCall.LOAD, load_expert, expert_spec, env)
                          if policy == "expert" else None)
                expert = None if loaded is None else loaded[1]
            plan = None if actions is None else actions.get(seed)
            policy_fn = _make_policy(env, seed, policy, plan, expert, hb)
            name = "replay" if plan is not None else policy
            record = _episode(
                env, seed, name, policy_fn, cap, hb, contract if audit else None, snapshots
            )
            taken.append(record.length)
            yield EpisodeUpdate(record, contract, tuple(snapshots))
    finally:
        if env is not None:
            _close(env, hb)


def _oob_candidates(space: gym.Space) -> dict[str, Any]:
    if isinstance(space, spaces.Discrete):
        return {
            f"Discrete action {int(space.start + space.n)} (one past the end)": np.int64(
                space.start + space.n
            ),
            f"Discrete action {int(space.start) - 1} (below start)": np.int64(space.start - 1),
        }
    if isinstance(space, spaces.Box):
        low = np.where(np.isfinite(space.low), space.low, -1.0)
        high = np.where(np.isfinite(space.high), space.high, 1.0)
        span = np.maximum(high - low, 1.0)
        return {
            "Box action 10x span above high": (high + 10 * span).astype(space.dtype),
            "Box action 10x span below low": (low - 10 * span).astype(space.dtype),
        }
    if isinstance(space, spaces.MultiDiscrete):
        return {"MultiDiscrete action = nvec (one past the end)": np.asarray(space.nvec)}
    return {}


def _probe_oob(factory: Callable[[], gym.Env], hb: Heartbeat, seed: int) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    env = _build(factory, hb)
    for label, action in _oob_candidates(env.action_space).items():
        try:
            hb.call(UserCall.RESET, env.reset, seed=seed)
            hb.call(UserCall.STEP, env.step, action)
            outcomes[label] = "accepted"
        except MemoryError:
            raise
        except Exception as exc:
            outcomes[label] = f"rejected: {type(exc).__name__}"
    _close(env, hb)
    return outcomes


def _probe_step_after_end(factory: Callable[[], gym.Env], hb: Heartbeat, seed: int) -> str:
    env = _build(factory, hb)
    try:
        hb.call(UserCall.RESET, env.reset, seed=seed)
        env.action_space.seed(seed)
        for _ in range(END_PROBE_CAP):
            result = hb.call(UserCall.STEP, env.step, env.action_space.sample())
            if result[2] or result[3]:
                break
        else:
            return "no episode end within the probe budget"
        hb.call(UserCall.STEP, env.step, env.action_space.sample())
        return "accepted"
    except MemoryError:
        raise
    except Exception as exc:
        return f"rejected: {type(exc).__name__}"
    finally:
        _close(env, hb)


def _gymnasium_passive_warnings(
    factory: Callable[[], gym.Env], hb: Heartbeat, seed: int
) -> tuple[list[str], str | None]:
    """Run Gymnasium's own passive checks; return their warnings and any assertion."""
    from gymnasium.utils import passive_env_checker as pec

    env = _build(factory, hb)
    failure = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pec.check_space(env.observation_space, "observation", pec._check_box_observation_space)
            pec.check_space(env.action_space, "action", pec._check_box_action_space)
            hb.call(UserCall.RESET, pec.env_reset_passive_checker, env, seed=seed)
            env.action_space.seed(seed)
            hb.call(UserCall.STEP, pec.env_step_passive_checker, env, env.action_space.sample())
        except MemoryError:
            raise
        except Exception as exc:
            failure = f"{type(exc).__name__}: {exc}"[:300]
    _close(env, hb)
    texts = [str(w.message) for w in caught]
    return [t for t in texts if "render" not in t.lower()], failure


def _declared_reward_range(env: gym.Env) -> tuple[float, float] | None:
    layer: Any = env
    while layer is not None:
        declared = vars(layer).get("reward_range", None) or getattr(
            type(layer), "reward_range", None
        )
        if declared is not None:
            low, high = float(declared[0]), float(declared[1])
            if np.isfinite(low) or np.isfinite(high):
                return (low, high)
        layer = getattr(layer, "env", None)
    return None


def _space_kind(space: gym.Space, *, obs: bool) -> str:
    if isinstance(space, spaces.Box):
        return "box"
    if isinstance(space, spaces.Discrete):
        return "discrete"
    if obs and isinstance(
        space, (spaces.Dict, spaces.Tuple, spaces.MultiDiscrete, spaces.MultiBinary)
    ):
        return "multi"
    return "other"


def _describe(api: ApiProbe, env: gym.Env) -> None:
    api.env_id = env.spec.id if env.spec is not None else None
    api.max_episode_steps = env.spec.max_episode_steps if env.spec is not None else None
    api.obs_kind = _space_kind(env.observation_space, obs=True)
    api.action_kind = _space_kind(env.action_space, obs=False)
    api.obs_space_repr = repr(env.observation_space)
    api.action_space_repr = repr(env.action_space)
    if isinstance(env.observation_space, spaces.Box):
        api.obs_low = np.asarray(env.observation_space.low, dtype=np.float64).reshape(-1)
        api.obs_high = np.asarray(env.observation_space.high, dtype=np.float64).reshape(-1)
    api.declared_reward_range = _declared_reward_range(env)


def _check_signature(api: ApiProbe, env: gym.Env) -> None:
    params = inspect.signature(env.unwrapped.reset).parameters
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for name in ("seed", "options"):
        if name not in params and not var_kw:
            api.problems[f"reset_{name}"] = f"`reset` does not accept `{name}=`"
    seed_param = params.get("seed")
    if seed_param is not None and seed_param.default is not None:
        api.problems["reset_seed_default"] = (
            f"`reset` seed defaults to {seed_param.default!r}, not None: every reset is seeded"
        )


def _same_seed_resets(api: ApiProbe, env: gym.Env, hb: Heartbeat, seed: int) -> None:
    first = flat_obs(_split_reset(hb.call(UserCall.RESET, env.reset, seed=seed), None))
    rng_first = _rng_fingerprint(env)
    second = flat_obs(_split_reset(hb.call(UserCall.RESET, env.reset, seed=seed), None))
    rng_second = _rng_fingerprint(env)
    api.same_seed_reset_equal = first.shape == second.shape and bool(
        np.array_equal(first, second, equal_nan=True)
    )
    if rng_first is not None and rng_second is not None:
        api.same_seed_rng_equal = rng_first == rng_second
    try:
        hb.call(UserCall.RESET, env.reset, seed=seed, options={})
    except TypeError as exc:
        api.problems["reset_options"] = f"`reset(options={{}})` raised TypeError: {exc}"


def probe_api(factory: Callable[[], gym.Env], hb: Heartbeat, *, seed: int) -> ApiProbe:
    """Collect one-off API facts on fresh envs (see ``ApiProbe``)."""
    api = ApiProbe()
    env = _build(factory, hb)
    _describe(api, env)
    _check_signature(api, env)
    try:
        _same_seed_resets(api, env, hb, seed)
    except MemoryError:
        raise
    except Exception as exc:
        api.problems["reset_raises"] = f"`reset(seed={seed})` raised {type(exc).__name__}: {exc}"
    try:
        _close(env, hb)
        _close(env, hb)
    except MemoryError:
        raise
    except Exception as exc:
        api.problems["close_twice"] = f"closing twice raised {type(exc).__name__}: {exc}"
    api.gymnasium_warnings, failure = _gymnasium_passive_warnings(factory, hb, seed)
    if failure is not None:
        api.problems["gymnasium_passive_checker"] = f"Gymnasium's passive checker failed: {failure}"
    api.oob_actions = _probe_oob(factory, hb, seed)
    api.step_after_end = _probe_step_after_end(factory, hb, seed)
    return api


def _candidate_actions(space: gym.Space, rng_seed: int) -> dict[str, Any]:
    """Distinct actions to branch on, by label; Box gets bounds, midpoint and quarter points."""
    if isinstance(space, spaces.Discrete):
        n = min(int(space.n), MAX_BRANCH_ACTIONS)
        return {str(i): np.int64(space.start + i) for i in range(n)}
    if isinstance(space, spaces.Box):
        low = np.where(np.isfinite(space.low), space.low, -1.0)
        high = np.where(np.isfinite(space.high), space.high, 1.0)
        mid = (low + high) / 2
        points = {
            "low": low,
            "high": high,
            "mid": mid,
            "half_low": mid + (low - mid) / 2,
            "half_high": mid + (high - mid) / 2,
        }
        return {k: v.astype(space.dtype) for k, v in points.items()}
    space.seed(rng_seed)
    return {str(i): space.sample() for i in range(4)}


def _saturated(nexts: Mapping[str, np.ndarray]) -> bool | None:
    """True if the declared bound acts like the half-way point (the env clips inside its space)."""
    if "half_high" not in nexts:
        return None
    same = lambda a, b: bool(np.array_equal(nexts[a], nexts[b], equal_nan=True))  # noqa: E731
    if same("mid", "high") and same("mid", "low"):
        return None  # the action has no effect at all here: not a bounds question
    return (same("high", "half_high") and not same("mid", "half_high")) or (
        same("low", "half_low") and not same("mid", "half_low")
    )


def _branch_once(
    env: gym.Env, candidates: Mapping[str, Any], hb: Heartbeat, current: np.ndarray
) -> tuple[int, bool, bool | None]:
    nexts = {}
    for label, action in candidates.items():
        clone = copy.deepcopy(env)
        result = hb.call(UserCall.STEP, clone.step, action)
        nexts[label] = flat_obs(result[0])
    distinct = {n.tobytes() for n in nexts.values()}
    changed = any(
        n.shape != current.shape or not np.array_equal(n, current, equal_nan=True)
        for n in nexts.values()
    )
    return len(distinct), changed, _saturated(nexts)


def probe_branches(
    factory: Callable[[], gym.Env],
    hb: Heartbeat,
    *,
    points: Sequence[tuple[int, int, Sequence[Any]]],
) -> list[BranchPoint]:
    """For each ``(seed, t, prefix_actions)``: restore the state after ``t`` steps, try distinct
    actions on copies of the env, and count distinct next observations.

    A copy (``copy.deepcopy``) carries the env's RNG, so every branch sees the same
    randomness and only the action differs.
    """
    env = _build(factory, hb)
    candidates = _candidate_actions(env.action_space, 0)
    out = []
    for seed, t, prefix in points:
        obs = _split_reset(hb.call(UserCall.RESET, env.reset, seed=seed), None)
        for action in prefix[:t]:
            obs = hb.call(UserCall.STEP, env.step, action)[0]
        try:
            distinct, changed, saturated = _branch_once(env, candidates, hb, flat_obs(obs))
        except MemoryError:
            raise
        except Exception:  # an env that cannot be copied gives no counterfactual evidence
            continue
        out.append(
            BranchPoint(
                seed=seed,
                t=t,
                n_actions=len(candidates),
                distinct_next_obs=distinct,
                obs_changed=changed,
                saturated=saturated,
            )
        )
    _close(env, hb)
    return out


PROBES: dict[str, Callable[..., Any]] = {
    "build": probe_build,
    "api": probe_api,
    "expert": check_expert,
    "episodes": run_episodes,
    "branches": probe_branches,
}
