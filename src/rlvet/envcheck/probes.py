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

import contextlib
import copy
import gc
import hashlib
import inspect
import itertools
import os
import random
import time
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlvet.envcheck.experts import load_expert
from rlvet.envcheck.records import (
    FARM_MISSES,
    STEP_AFTER_END,
    ActionOutcome,
    ApiProbe,
    BranchPoint,
    ContractAudit,
    EpisodeRecord,
    FarmPoint,
    SequenceProbe,
)
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
    "probe_farm",
    "probe_sequence",
    "run_episodes",
]

SNAPSHOT_EVERY_STEPS = 50  # spaces are re-read this often inside an episode to catch drift
ACTION_STREAM = 0xAC7  # keeps the random policy's stream apart from the env's own
MAX_BRANCH_ACTIONS = 8  # distinct actions tried per branch point; enough to show sensitivity
MIN_EPISODES_IN_BUDGET = 5  # a time budget never cuts a probe below this many episodes
END_PROBE_CAP = 2000  # steps allowed to reach an episode end before probing step-after-end
END_PROBE_EPISODES = 5  # episodes stepped past their end (a goal end is rarer than a fall)
AFTER_END_STEPS = 3  # steps taken after each end
FOLLOW_UP_STEPS = 4  # after an action-insensitive step: does the action show up later?
FARM_STEPS = 20  # steps repeated in a paying state to see whether the pay goes on
FARM_SECONDS = 8.0  # for the two-action cycles of all points together: an emulator whose
# deep copy and step cost milliseconds (ALE) gets its single actions and what fits
SEQUENCE_CUTS = (1, 2, 3, 2)  # steps before each mid-episode reset: short, so that a
# counter only a finished episode clears cannot reach a limit and clear itself


def _build(factory: Callable[[], gym.Env], hb: Heartbeat) -> gym.Env:
    return hb.call(UserCall.BUILD, factory)


def _close(env: gym.Env, hb: Heartbeat) -> None:
    hb.call(UserCall.CLOSE, env.close)


def probe_build(factory: Callable[[], gym.Env], hb: Heartbeat, *, spec: str) -> None:
    """Build and close the env once; a factory that raises is an ``RlvetInputError``."""
    validate_env(spec, partial(_build, factory, hb))


def flat_obs(obs: Any) -> np.ndarray:
    """A 1-D float64 *copy* of any observation.

    Text leaves (``spaces.Text``, a Dict's free-text entry) become one stable number each
    (a CRC32 of the text), so equality, determinism and leakage checks still compare them;
    ``None`` leaves (a Graph without edge features) are empty; a leaf that is neither
    numeric nor text is dropped (``space_coverage`` says so). NaN only ever comes from a
    numeric leaf that *is* NaN: evidence for ``harness_failure``, never a reading problem.
    """
    if isinstance(obs, Mapping):
        parts = [flat_obs(obs[k]) for k in sorted(obs, key=str)]
        return np.concatenate(parts) if parts else np.zeros(0)
    if isinstance(obs, (tuple, list)) and not _numeric_sequence(obs):
        parts = [flat_obs(o) for o in obs]
        return np.concatenate(parts) if parts else np.zeros(0)
    if obs is None:
        return np.zeros(0)
    if isinstance(obs, (str, bytes)):
        data = obs.encode() if isinstance(obs, str) else obs
        return np.array([float(zlib.crc32(data))])
    try:
        return np.array(obs, dtype=np.float64, copy=True).reshape(-1)
    except (TypeError, ValueError):
        return np.zeros(0)


def _numeric_sequence(obs: tuple[Any, ...] | list[Any]) -> bool:
    return all(isinstance(o, (int, float, np.number, bool, np.bool_)) for o in obs)


def _generator_state(value: Any) -> Any:
    if isinstance(value, np.random.Generator):
        return value.bit_generator.state
    if isinstance(value, np.random.RandomState):
        return value.get_state(legacy=False)
    if isinstance(value, random.Random):
        return value.getstate()
    return None


def _rng_fingerprint(env: gym.Env) -> str | None:
    """Hashes of every random generator along the wrapper stack, ``"Layer.attr=hash;..."``.

    Gymnasium's own check looks at ``env.unwrapped.np_random`` only; a wrapper that keeps a
    generator of its own (action noise, domain randomisation, observation dropout) and
    does not reseed it in ``reset(seed=...)`` breaks seeding just as surely.
    """
    parts = []
    layer: Any = env
    seen: set[int] = set()
    while layer is not None and id(layer) not in seen:
        seen.add(id(layer))
        for name, value in sorted(vars(layer).items()) if hasattr(layer, "__dict__") else ():
            state = _generator_state(value)
            if state is not None:
                digest = hashlib.sha1(repr(state).encode()).hexdigest()[:12]
                parts.append(f"{type(layer).__name__}.{name}={digest}")
        layer = getattr(layer, "env", None)
    return ";".join(parts) if parts else None


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
    shape = np.shape(reward) if isinstance(reward, np.ndarray) else ()
    if len(shape) == 1 and shape[0] > 1 and np.issubdtype(reward.dtype, np.number):
        audit.record("reward_vector", f"reward is a vector of {shape[0]} ({reward!r:.60})")
        return float(np.sum(reward))  # judged as the equal-weight scalarisation
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
        # np.isscalar let complex, str and bytes through: they raise, handled below
        return float(reward)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        audit.record("reward_type", f"reward {reward!r:.60} is not a number")
        return float("nan")


def _audit_obs(env: gym.Env, obs: Any, audit: ContractAudit, source: str) -> None:
    """Count an observation outside the space or of the wrong dtype (``source``: "step" or
    a kind of reset, whose violations are counted apart)."""
    space = env.observation_space
    at_reset = source != "step"
    try:
        inside = space.contains(obs)
    except Exception as exc:  # a malformed obs can make contains() itself raise
        audit.record("obs_not_in_space", f"{source} obs made contains() raise {exc!r:.80}",
                     at_reset=at_reset)
        return
    if not inside:
        audit.record(
            "obs_not_in_space", f"{source} obs {flat_obs(obs)[:6].tolist()} outside {space!r:.80}",
            at_reset=at_reset,
        )
    if isinstance(space, spaces.Box):
        dtype = getattr(obs, "dtype", None)
        if dtype is not None and dtype != space.dtype:
            audit.record("obs_dtype", f"{source} obs dtype {dtype} but space dtype {space.dtype}",
                         at_reset=at_reset)


def _split_reset(result: Any, audit: ContractAudit | None) -> Any:
    """The observation of a reset result; with an ``audit``, the reset is counted there."""
    if audit is not None:
        audit.resets += 1
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
        return result[0]
    if audit is not None:
        audit.record("reset_return", f"reset returned {type(result).__name__}, not (obs, info)",
                     at_reset=True)
    if isinstance(result, tuple) and len(result) == 2:
        return result[0]
    return result


class _RunQueueClock:
    """Seconds this thread has waited on a CPU run queue (Linux schedstat), or NaN.

    A step's wall time minus the run-queue wait it contains is the env's own time: a slow
    step the process spent *waiting for a CPU* is the machine's load, one it spent running
    or blocked (a lock, a sleep, a remote call) is the env (issue #15). One ``pread`` per
    step, about 3 microseconds.
    """

    PATH = "/proc/thread-self/schedstat"

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open(self.PATH, os.O_RDONLY)
        except OSError:
            self._fd = None

    def wait_s(self) -> float:
        if self._fd is None:
            return float("nan")
        try:
            return int(os.pread(self._fd, 96, 0).split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            return float("nan")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def action_seed(seed: int) -> int:
    """The seed of the random policy's action space for an episode seeded ``seed``.

    Not ``seed`` itself: Gymnasium seeds ``env.np_random`` and ``space.np_random`` the
    same way, so an env drawing ``integers(n)`` from its generator and a ``Discrete(n)``
    sampled with the same seed draw the *same* numbers -- the "random" policy then reads
    the env's hidden draws (issue #15: a letter-typing task scored 100% at random).
    """
    return int(np.random.SeedSequence([seed, ACTION_STREAM]).generate_state(1)[0])


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
    space.seed(action_seed(seed))
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
    started: list[float] = []
    waits: list[float] = []
    nonfinite: list[bool] = []
    clock = _RunQueueClock()
    error = error_step = None
    reset_flat = np.zeros(0)
    fingerprint = reset_timing = None
    try:
        warm = hb.returned_since_build(UserCall.RESET) > 0  # a first reset sets up
        waited, start = clock.wait_s(), time.monotonic()
        result = hb.call(UserCall.RESET, env.reset, seed=seed)
        if warm:
            reset_timing = (time.monotonic() - start, start, clock.wait_s() - waited)
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
            waited = clock.wait_s()
            start = time.monotonic()
            raw = hb.call(UserCall.STEP, env.step, action)
            elapsed = time.monotonic() - start
            waited = clock.wait_s() - waited
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
        row = flat_obs(obs)
        obs_rows.append(row)
        nonfinite.append(not bool(np.all(np.isfinite(row))))
        rewards.append(reward)
        term.append(terminated)
        trunc.append(truncated)
        seconds.append(elapsed)
        started.append(start)
        waits.append(waited)
        t += 1
        if snapshots is not None and t % SNAPSHOT_EVERY_STEPS == 0:
            snapshots.append(_space_snapshot(env))
        if terminated or truncated:
            break
    clock.close()
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
        step_started=np.asarray(started),
        step_wait=np.asarray(waits, dtype=np.float64),
        nonfinite_obs=np.asarray(nonfinite, dtype=bool),
        error=error,
        error_step=error_step,
        rng_fingerprint=fingerprint,
        capped=capped,
        reset_timing=reset_timing,
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
            if fresh_each and record.rng_fingerprint is not None:
                record.rng_after_reseed = _fingerprint_after_reseed(env, seed, hb)
            taken.append(record.length)
            yield EpisodeUpdate(record, contract, tuple(snapshots))
    finally:
        if env is not None:
            _close(env, hb)


def _fingerprint_after_reseed(env: gym.Env, seed: int, hb: Heartbeat) -> str | None:
    """The generators' hashes after ``reset(seed)`` in an env that just ran an episode;
    None if that reset raised (the replay itself is the evidence then)."""
    try:
        hb.call(UserCall.RESET, env.reset, seed=seed)
    except MemoryError:
        raise
    except Exception:
        return None
    return _rng_fingerprint(env)


def _oob_candidates(space: gym.Space[Any]) -> dict[str, tuple[Any, Any, Any]]:
    """label -> (out-of-range action, the nearest valid action, the wrapped-around action)."""
    if isinstance(space, spaces.Discrete):
        start, n = int(space.start), int(space.n)
        return {
            f"Discrete action {start + n} (one past the end)":
                (np.int64(start + n), np.int64(start + n - 1), np.int64(start)),
            f"Discrete action {start - 1} (below start)":
                (np.int64(start - 1), np.int64(start), np.int64(start + n - 1)),
        }
    if isinstance(space, spaces.Box):
        if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
            return {}  # an unbounded Box has no "outside" to probe
        span = np.maximum(space.high - space.low, 1.0)
        return {
            "Box action 10x span above high":
                ((space.high + 10 * span).astype(space.dtype), space.high, None),
            "Box action 10x span below low":
                ((space.low - 10 * span).astype(space.dtype), space.low, None),
        }
    if isinstance(space, spaces.MultiDiscrete):
        nvec = np.asarray(space.nvec)
        return {"MultiDiscrete action = nvec (one past the end)":
                (nvec, nvec - 1, np.zeros_like(nvec))}
    return {}


def _same_next(env: gym.Env, hb: Heartbeat, action: Any, reference: np.ndarray) -> bool | None:
    try:
        clone = copy.deepcopy(env)
        obs = hb.call(UserCall.STEP, clone.step, action)[0]
    except MemoryError:
        raise
    except Exception:
        return None
    nxt = flat_obs(obs)
    return nxt.shape == reference.shape and bool(np.array_equal(nxt, reference, equal_nan=True))


def _survives_copy(env: gym.Env, hb: Heartbeat, seed: int, action: Any) -> bool:
    """Whether a deep copy steps and, once dropped, leaves the original working.

    The comparisons below step copies; PyBullet envs (panda-gym) disconnect the original's
    physics server when a copy is collected, so every later step raises and an action the
    env would clip looks rejected or "something else".
    """
    try:
        hb.call(UserCall.RESET, env.reset, seed=seed)
        clone = copy.deepcopy(env)
        hb.call(UserCall.STEP, clone.step, action)
        del clone
        gc.collect()
        hb.call(UserCall.RESET, env.reset, seed=seed)
        hb.call(UserCall.STEP, env.step, action)
    except MemoryError:
        raise
    except Exception:
        return False
    return True


def _probe_oob(factory: Callable[[], gym.Env], hb: Heartbeat, seed: int
               ) -> tuple[dict[str, ActionOutcome], dict[str, str]]:
    """What the env does with actions outside the declared space, judged by comparison.

    From one state, the out-of-range action's next observation is compared with that of
    the nearest valid action (clipping) and, for discrete spaces, the wrapped-around one
    (modulo): rejected, clipped, wrapped, or accepted when it did something else (or the
    env could not be copied to tell). Returns the outcomes and, for each rejected action,
    the exception type it raised.
    """
    outcomes: dict[str, ActionOutcome] = {}
    errors: dict[str, str] = {}
    env = _build(factory, hb)
    candidates = _oob_candidates(env.action_space)
    valid = next(iter(candidates.values()))[1] if candidates else None
    if candidates and not _survives_copy(env, hb, seed, valid):
        _close(env, hb)
        return {label: ActionOutcome.NOT_PROBED for label in candidates}, errors
    for label, (action, nearest, wrapped) in candidates.items():
        try:
            hb.call(UserCall.RESET, env.reset, seed=seed)
            probe = copy.deepcopy(env)
            obs = hb.call(UserCall.STEP, probe.step, action)[0]
        except MemoryError:
            raise
        except Exception as exc:
            outcomes[label], errors[label] = ActionOutcome.REJECTED, type(exc).__name__
            continue
        reference = flat_obs(obs)
        if _same_next(env, hb, nearest, reference):
            outcomes[label] = ActionOutcome.CLIPPED
        elif wrapped is not None and _same_next(env, hb, wrapped, reference):
            outcomes[label] = ActionOutcome.WRAPPED
        else:
            outcomes[label] = ActionOutcome.ACCEPTED
    _close(env, hb)
    return outcomes, errors


def _probe_step_after_end(factory: Callable[[], gym.Env], hb: Heartbeat, seed: int,
                          api: ApiProbe) -> str | None:
    """Step on past the first end of a few episodes without ``reset``.

    Fills ``api``'s outcome (accepted, rejected, or not probed: no episode ended within the
    budget), ``(reward, terminated, truncated)`` of every step taken after an end, the
    largest reward seen on a live step of the same episodes (a reward paid only after the
    end is lost to every loop that resets on done) and, per episode ended by termination,
    its terminating reward and what the steps after it paid (a goal paid again and again).
    Returns the exception type of a rejection.
    """
    env = _build(factory, hb)
    after: list[tuple[float, bool, bool]] = []
    live_max: float | None = None
    outcome, error = ActionOutcome.NOT_PROBED, None
    budget = END_PROBE_CAP
    past_end = False
    try:
        env.action_space.seed(action_seed(seed))
        for episode in range(END_PROBE_EPISODES):
            hb.call(UserCall.RESET, env.reset, seed=seed + episode)
            ended = False
            while budget > 0:
                budget -= 1
                result = hb.call(UserCall.STEP, env.step, env.action_space.sample())
                reward = _scalar(result[1])
                live_max = reward if live_max is None else max(live_max, reward)
                if result[2] or result[3]:
                    ended = True
                    break
            if not ended:
                break
            past_end = True
            repeats: list[float] = []
            if bool(result[2]):
                api.terminal_repeats.append((reward, repeats))
            for _ in range(AFTER_END_STEPS):
                result = hb.call(UserCall.STEP, env.step, env.action_space.sample())
                after.append((_scalar(result[1]), bool(result[2]), bool(result[3])))
                repeats.append(after[-1][0])
                outcome = ActionOutcome.ACCEPTED
            past_end = False
    except MemoryError:
        raise
    except Exception as exc:
        if past_end:
            outcome, error = ActionOutcome.REJECTED, type(exc).__name__
    finally:
        _close(env, hb)
    api.step_after_end, api.after_end, api.after_end_live_max = outcome, after, live_max
    return error


def _scalar(value: Any) -> float:
    try:
        return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return float("nan")


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
            env.action_space.seed(action_seed(seed))
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


def _space_kind(space: gym.Space[Any], *, obs: bool) -> str:
    if isinstance(space, spaces.Box):
        return "box"
    if isinstance(space, spaces.Discrete):
        return "discrete"
    if obs and isinstance(
        space, (spaces.Dict, spaces.Tuple, spaces.MultiDiscrete, spaces.MultiBinary)
    ):
        return "multi"
    return "other"


_PLAIN_LEAVES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


def _leaf_kinds(space: gym.Space[Any]) -> list[str]:
    """Leaf space types a numeric check cannot read as a fixed vector (Text, Graph, ...)."""
    if isinstance(space, spaces.Dict):
        return [k for sub in space.spaces.values() for k in _leaf_kinds(sub)]
    if isinstance(space, spaces.Tuple):
        return [k for sub in space.spaces for k in _leaf_kinds(sub)]
    if isinstance(space, _PLAIN_LEAVES):
        return []
    return [type(space).__name__]


def _describe(api: ApiProbe, env: gym.Env) -> None:
    api.env_id = env.spec.id if env.spec is not None else None
    api.max_episode_steps = env.spec.max_episode_steps if env.spec is not None else None
    api.obs_kind = _space_kind(env.observation_space, obs=True)
    api.action_kind = _space_kind(env.action_space, obs=False)
    api.obs_space_repr = repr(env.observation_space)
    api.obs_leaf_kinds = sorted(set(_leaf_kinds(env.observation_space)))
    api.action_space_repr = repr(env.action_space)
    if isinstance(env.observation_space, spaces.Box):
        api.obs_low = np.asarray(env.observation_space.low, dtype=np.float64).reshape(-1)
        api.obs_high = np.asarray(env.observation_space.high, dtype=np.float64).reshape(-1)
    api.declared_reward_range = _declared_reward_range(env)


def _innermost_env(env: gym.Env) -> gym.Env:
    """The innermost ``gymnasium.Env`` under the wrappers.

    ``env.unwrapped`` is not enough: adapters to other APIs (jumanji's
    ``JumanjiToGymWrapper``) return the foreign env there, whose ``reset`` takes a PRNG key.
    """
    inner = env
    while isinstance(inner, gym.Wrapper):
        inner = inner.env
    unwrapped = getattr(inner, "unwrapped", inner)
    return unwrapped if isinstance(unwrapped, gym.Env) else inner


def _check_signature(api: ApiProbe, env: gym.Env) -> None:
    params = inspect.signature(_innermost_env(env).reset).parameters
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
    api.oob_actions, api.rejections = _probe_oob(factory, hb, seed)
    error = _probe_step_after_end(factory, hb, seed, api)
    if error is not None:
        api.rejections[STEP_AFTER_END] = error
    return api


def _candidate_actions(space: gym.Space[Any], rng_seed: int) -> dict[str, Any]:
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
    def same(a: str, b: str) -> bool:
        return bool(np.array_equal(nexts[a], nexts[b], equal_nan=True))

    if same("mid", "high") and same("mid", "low"):
        return None  # the action has no effect at all here: not a bounds question
    return (same("high", "half_high") and not same("mid", "half_high")) or (
        same("low", "half_low") and not same("mid", "half_low")
    )


def _branch_once(
    env: gym.Env, candidates: Mapping[str, Any], hb: Heartbeat, current: np.ndarray
) -> tuple[int, bool, bool | None, int | None, bool, bool]:
    """Distinct next observations over the candidate actions, whether any changed the
    observation, saturation, and -- only when every action gave the same next observation --
    the most distinct observations seen over ``FOLLOW_UP_STEPS`` further steps taken with
    one fixed action (an action that shows up later is a lagged or held observation; one
    that never shows up is an observation that does not depend on the action); last,
    whether every action terminated the episode, and whether every one was paid alike."""
    nexts, clones = {}, {}
    terminated, rewards = [], set()
    for label, action in candidates.items():
        clone = copy.deepcopy(env)
        result = hb.call(UserCall.STEP, clone.step, action)
        nexts[label] = flat_obs(result[0])
        clones[label] = (clone, bool(result[2] or result[3]))
        terminated.append(bool(result[2]))
        rewards.add(_scalar(result[1]))
    distinct = {n.tobytes() for n in nexts.values()}
    changed = any(
        n.shape != current.shape or not np.array_equal(n, current, equal_nan=True)
        for n in nexts.values()
    )
    delayed = None
    if len(distinct) == 1:
        delayed = 1
        follow = next(iter(candidates.values()))
        for _ in range(FOLLOW_UP_STEPS):
            seen = set()
            for label, (clone, done) in list(clones.items()):
                if done:
                    continue
                result = hb.call(UserCall.STEP, clone.step, follow)
                seen.add(flat_obs(result[0]).tobytes())
                clones[label] = (clone, bool(result[2] or result[3]))
            delayed = max(delayed, len(seen))
    return (len(distinct), changed, _saturated(nexts), delayed, all(terminated),
            len(rewards) == 1)


def _component_variants(space: gym.Space[Any]) -> list[list[Any]] | None:
    """Per action component, actions that differ in that component alone (the others held
    at a middle value): a Box's low and high, a MultiDiscrete's values (up to
    ``MAX_BRANCH_ACTIONS``). None for a single-component action."""
    if isinstance(space, spaces.Box) and space.shape is not None and len(space.shape) == 1 \
            and space.shape[0] >= 2:
        low = np.where(np.isfinite(space.low), space.low, -1.0)
        high = np.where(np.isfinite(space.high), space.high, 1.0)
        base = (low + high) / 2
        out = []
        for i in range(space.shape[0]):
            ends = []
            for end in (low, high):
                action = base.copy()
                action[i] = end[i]
                ends.append(action.astype(space.dtype))
            out.append(ends)
        return out
    if isinstance(space, spaces.MultiDiscrete) and space.nvec.ndim == 1 and space.nvec.size >= 2:
        base = space.start + space.nvec // 2
        out = []
        for i, n in enumerate(space.nvec):
            values = []
            for v in range(min(int(n), MAX_BRANCH_ACTIONS)):
                action = base.copy()
                action[i] = space.start[i] + v
                values.append(action.astype(space.dtype))
            out.append(values)
        return out
    return None


def _component_effects(env: gym.Env, variants: list[list[Any]],
                       hb: Heartbeat) -> tuple[bool, ...]:
    """Per component: did any of its variants give another next observation or reward?"""
    effects = []
    for actions in variants:
        outcomes = set()
        for action in actions:
            clone = copy.deepcopy(env)
            result = hb.call(UserCall.STEP, clone.step, action)
            outcomes.add((flat_obs(result[0]).tobytes(), _scalar(result[1])))
        effects.append(len(outcomes) > 1)
    return tuple(effects)


def _continuous(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return bool(finite.size) and bool(np.any(finite != np.round(finite)))


def probe_branches(
    factory: Callable[[], gym.Env],
    hb: Heartbeat,
    *,
    points: Sequence[tuple[int, int, Sequence[Any]]],
) -> list[BranchPoint]:
    """For each ``(seed, t, prefix_actions)``: restore the state after ``t`` steps, try distinct
    actions on copies of the env, and count distinct next observations.

    A copy (``copy.deepcopy``) carries the env's RNG, so every branch sees the same
    randomness and only the action differs; whether a copy really carries the env's state
    is checked at each point (``BranchPoint.faithful_copy``).
    """
    env = _build(factory, hb)
    candidates = _candidate_actions(env.action_space, 0)
    variants = _component_variants(env.action_space)
    out = []
    for seed, t, prefix in points:
        obs = _split_reset(hb.call(UserCall.RESET, env.reset, seed=seed), None)
        for action in prefix[:t]:
            obs = hb.call(UserCall.STEP, env.step, action)[0]
        current = flat_obs(obs)
        try:
            distinct, changed, saturated, delayed, ended, alike = _branch_once(
                env, candidates, hb, current)
            effects = None if variants is None else _component_effects(env, variants, hb)
            faithful = _copy_is_faithful(env, next(iter(candidates.values())), hb)
        except MemoryError:
            raise
        except Exception:  # an env that cannot be copied gives no counterfactual evidence,
            raised = _legal_action_raises(env, candidates, hb)  # unless the env itself fails
            if raised is not None:
                out.append(BranchPoint(seed=seed, t=t, n_actions=len(candidates),
                                       distinct_next_obs=0, obs_changed=False,
                                       raised_on=raised))
                with contextlib.suppress(Exception):  # a broken env may not close cleanly
                    _close(env, hb)
                env = _build(factory, hb)  # the failed env's state is unknown now
            continue
        out.append(
            BranchPoint(
                seed=seed,
                t=t,
                n_actions=len(candidates),
                distinct_next_obs=distinct,
                obs_changed=changed,
                saturated=saturated,
                delayed_distinct=delayed,
                continuous_obs=_continuous(current),
                faithful_copy=faithful,
                component_effects=effects,
                all_terminated=ended,
                same_reward=alike,
            )
        )
    _close(env, hb)
    return out


def _legal_action_raises(env: gym.Env, candidates: Mapping[str, Any],
                         hb: Heartbeat) -> str | None:
    """After a branch failed on a copy: the candidate action (inside the declared space:
    a bound, the midpoint) that raises when the env itself is stepped with it, described,
    or None when none does (the copy, not the env, failed). Each action is tried on a copy
    first; only the one that raised there is confirmed on the env itself, its last call
    here."""
    for label, action in candidates.items():
        try:
            hb.call(UserCall.STEP, copy.deepcopy(env).step, action)
        except MemoryError:
            raise
        except Exception:
            try:
                hb.call(UserCall.STEP, env.step, action)
            except MemoryError:
                raise
            except Exception as exc:
                return f"action {label} {_short(action)}: {type(exc).__name__}: {exc}"[:240]
            return None
    return None


def _short(action: Any) -> str:
    return np.array2string(np.asarray(action), precision=4, threshold=8)


def _copy_is_faithful(env: gym.Env, action: Any, hb: Heartbeat) -> bool:
    """Whether a deep copy stepped with ``action`` gives the next observation the env itself
    gives (the env is stepped: call it last at a saved state).

    A copy carries the env's RNG, so a faithful copy reproduces the step exactly; one that
    does not carry the state (``copy.deepcopy`` of an ALE env starts a new emulator: every
    action on a copy of SpaceInvaders gives the same frame) makes every comparison between
    copies evidence about rlvet's reach, not about the env.
    """
    clone = copy.deepcopy(env)
    copied = flat_obs(hb.call(UserCall.STEP, clone.step, action)[0])
    real = flat_obs(hb.call(UserCall.STEP, env.step, action)[0])
    return copied.shape == real.shape and bool(np.array_equal(copied, real, equal_nan=True))


def _replay(env: gym.Env, hb: Heartbeat, seed: int, prefix: Sequence[Any]) -> Any:
    obs = _split_reset(hb.call(UserCall.RESET, env.reset, seed=seed), None)
    for action in prefix:
        obs = hb.call(UserCall.STEP, env.step, action)[0]
    return obs


def _farm_once(env: gym.Env, hb: Heartbeat, cycle: Sequence[Any], start: np.ndarray,
               paid: float) -> tuple[int, int, bool]:
    """Repeat one action, or a cycle of actions, from a paying state: (repeats, repeats
    paid ``paid`` that came back to the start observation, ended)."""
    clone = copy.deepcopy(env)
    repeats = farmed = 0
    for _ in range(FARM_STEPS):
        earned = 0.0
        for action in cycle:
            obs, reward, terminated, truncated = hb.call(UserCall.STEP, clone.step, action)[:4]
            earned += _scalar(reward)
            if terminated or truncated:
                break
        repeats += 1
        if np.array_equal(flat_obs(obs), start, equal_nan=True) and earned >= paid:
            farmed += 1
        if terminated:
            return repeats, farmed, True
        if truncated or repeats - farmed >= FARM_MISSES:
            break
    return repeats, farmed, False


def _farm_cycles(candidates: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Every candidate action alone, and every ordered pair of two as a cycle: a pick and a
    free drop paid per pick farm as a loop of two, never as one action repeated."""
    cycles: dict[str, tuple[Any, ...]] = {label: (a,) for label, a in candidates.items()}
    for (la, a), (lb, b) in itertools.permutations(candidates.items(), 2):
        cycles[f"{la}>{lb}"] = (a, b)
    return cycles


def probe_farm(
    factory: Callable[[], gym.Env],
    hb: Heartbeat,
    *,
    points: Sequence[tuple[int, Sequence[Any], float]],
) -> list[FarmPoint]:
    """From states just paid a high reward, repeat each candidate action, and each cycle of
    two, ``FARM_STEPS`` times on a copy: does the env keep paying while the observation
    comes back unchanged and the episode does not end? (A goal that pays every step and
    never ends the episode; a pick paid each time that can be undone for free.)"""
    env = _build(factory, hb)
    cycles = _farm_cycles(_candidate_actions(env.action_space, 0))
    out = []
    deadline = time.monotonic() + FARM_SECONDS
    for seed, prefix, paid in points:
        start = flat_obs(_replay(env, hb, seed, prefix))
        best = (0, 0, False, "")
        for label, cycle in cycles.items():
            if len(cycle) > 1 and time.monotonic() > deadline:
                break  # single actions always run; cycles while the time lasts (slow envs)
            try:
                steps, farmed, ended = _farm_once(env, hb, cycle, start, paid)
            except MemoryError:
                raise
            except Exception:
                continue
            if farmed > best[1]:
                best = (steps, farmed, ended, label)
        out.append(FarmPoint(seed=seed, t=len(prefix), paid=paid, steps=best[0],
                             farmed=best[1], ended=best[2], action=best[3]))
    _close(env, hb)
    return out


def probe_sequence(
    factory: Callable[[], gym.Env], hb: Heartbeat, *, seed: int, cap: int
) -> SequenceProbe:
    """A multi-episode API run in the style of dm_env's test mixin and PettingZoo's
    api_test: episodes cut short by ``reset`` mid-episode, unseeded resets between them,
    every boundary checked; then ``reset(seed)`` and a fixed action sequence, compared with
    the same seed and actions in a brand-new env (state that only a *finished* episode
    clears -- a step counter, a buffer -- survives a mid-episode reset)."""
    result = SequenceProbe()
    env = _build(factory, hb)
    space = env.action_space
    space.seed(action_seed(seed))
    audit = ContractAudit()
    for episode, cut in enumerate(SEQUENCE_CUTS):
        reset = hb.call(UserCall.RESET, env.reset, seed=None if episode else seed)
        _audit_obs(env, _split_reset(reset, audit), audit, "reset (between episodes)")
        for _ in range(cut):
            raw = hb.call(UserCall.STEP, env.step, space.sample())
            unpacked = _audit_step(env, raw, audit)
            if unpacked is None or unpacked[2] or unpacked[3]:
                break
        result.boundaries += 1
    result.audit = audit
    plan = [space.sample() for _ in range(min(cap, 200))]
    with_history = _fixed_run(env, hb, seed + 1, plan)
    _close(env, hb)
    fresh_env = _build(factory, hb)
    fresh = _fixed_run(fresh_env, hb, seed + 1, plan)
    _close(fresh_env, hb)
    result.after_cut, result.fresh = with_history, fresh
    return result


def _fixed_run(env: gym.Env, hb: Heartbeat, seed: int, plan: Sequence[Any]) -> EpisodeRecord:
    return _episode(env, seed, "replay", lambda obs, t: plan[t] if t < len(plan)
                    else env.action_space.sample(), len(plan), hb, None, None)


PROBES: dict[str, Callable[..., Any]] = {
    "build": probe_build,
    "api": probe_api,
    "expert": check_expert,
    "episodes": run_episodes,
    "branches": probe_branches,
    "farm": probe_farm,
    "sequence": probe_sequence,
}
