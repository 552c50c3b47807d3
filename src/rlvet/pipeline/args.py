"""The reference trainer's arguments: one frozen dataclass, a docstring per field.

Contents:
    TrainArgs -- every knob of ``rlvet train``; derived values (batch size, number of
        updates, parsed chaos spec) are properties, never fields overwritten at run time.
    ChaosSpec -- the parsed ``--chaos crash=P,kill=P,hang=P`` fault-injection rates.
    parse_chaos(text) -- ``"crash=0.05,hang=0.02"`` -> ChaosSpec.
    load_toml(path, **overrides) -- TrainArgs from a TOML file (keys are field names).
    args_from_mapping(data, **overrides) -- TrainArgs from TOML-shaped values.

Like CleanRL's ``Args`` (the algorithm's settings in one place, one docstring each), but
frozen: CleanRL overwrites ``batch_size`` and ``num_iterations`` at run time, so the object
a run logs is not the one it was given. Here they are ``@property``.

Defaults follow CleanRL's ``ppo.py`` / ``ppo_continuous_action.py`` and the studies they
cite (Engstrom et al. 2020, "Implementation Matters"; Andrychowicz et al. 2021, "What
Matters in On-Policy RL"), except where a field says otherwise and why.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from rlvet.errors import RlvetInputError
from rlvet.limits import (
    MAX_ACTORS,
    MAX_BUCKETS,
    MAX_ENVS_PER_ACTOR,
    MAX_SEED,
    MAX_TOTAL_STEPS,
    check_range,
)
from rlvet.toml_input import read_toml_text

__all__ = ["Backend", "ChaosSpec", "LagMode", "OnBreak", "TrainArgs", "args_from_mapping",
           "load_toml", "parse_chaos"]


class Backend(StrEnum):
    """Where actors run: ``local`` actor processes (multiprocessing); ``sync`` one
    in-process actor, collect then update, bit-reproducible; ``ray`` Ray actors
    (needs ``rlvet[ray]``)."""

    LOCAL = "local"
    SYNC = "sync"
    RAY = "ray"


class LagMode(StrEnum):
    """What happens to rollouts older than ``max_lag``: dropped, or kept and corrected."""

    DROP = "drop"
    CORRECT = "correct"


class OnBreak(StrEnum):
    """What the trainer does on an error first break from the live doctor."""

    WARN = "warn"
    STOP = "stop"
    ROLLBACK = "rollback"


_CHOICES: dict[str, type[StrEnum]] = {"backend": Backend, "lag_mode": LagMode,
                                      "on_break": OnBreak}
_MAXIMA = {"seed": MAX_SEED, "total_steps": MAX_TOTAL_STEPS, "actors": MAX_ACTORS,
           "envs_per_actor": MAX_ENVS_PER_ACTOR, "buckets": MAX_BUCKETS}
"""Upper bounds (rlvet.limits says why each sits where it does); seeds start at 0."""


@dataclass(frozen=True, slots=True)
class ChaosSpec:
    """Fault-injection rates, each the probability that one rollout suffers that fault.

    The fault strikes at a random step inside the rollout, so the rollout in progress is
    partial and must be discarded (the property the fault-isolation tests check).
    """

    crash: float = 0.0
    """The actor raises an exception (a bug in env or policy code)."""
    kill: float = 0.0
    """The actor process is killed with SIGKILL (OOM killer, preempted node)."""
    hang: float = 0.0
    """The actor blocks forever inside ``env.step`` (a deadlocked simulator)."""

    @property
    def active(self) -> bool:
        """Whether any fault is injected."""
        return self.crash + self.kill + self.hang > 0


def parse_chaos(text: str) -> ChaosSpec:
    """Parse ``"crash=0.05,kill=0.01,hang=0.02"`` (any subset; empty string: no chaos).

    Example:
        >>> parse_chaos("crash=0.1,hang=0.05")
        ChaosSpec(crash=0.1, kill=0.0, hang=0.05)
    """
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or key not in {f.name for f in dataclasses.fields(ChaosSpec)}:
            raise RlvetInputError(
                f"--chaos: {part!r} is not KIND=P with KIND one of crash, kill, hang")
        try:
            rate = float(value)
        except ValueError:
            raise RlvetInputError(f"--chaos: {key}={value!r} is not a number") from None
        if not 0.0 <= rate <= 1.0:
            raise RlvetInputError(f"--chaos: {key}={rate} is not a probability in [0, 1]")
        rates[key] = rate
    spec = ChaosSpec(**rates)
    if spec.crash + spec.kill + spec.hang > 1.0:
        raise RlvetInputError("--chaos: the fault probabilities add up to more than 1")
    return spec


@dataclass(frozen=True, kw_only=True)
class TrainArgs:
    """Arguments of one ``rlvet train`` run.

    Example:
        >>> args = TrainArgs(env_id="CartPole-v1", actors=2, envs_per_actor=4, total_steps=50_000)
        >>> args.batch_size, args.num_updates
        (1024, 48)
    """

    # --- run -------------------------------------------------------------------------
    env_id: str = "CartPole-v1"
    """Gymnasium id of the environment (Box observations; Discrete or Box actions)."""
    total_steps: int = 100_000
    """Environment steps (all actors together) to train for."""
    seed: int = 0
    """Base seed: network init, learner minibatch order, each actor's env and sampling seeds
    (derived from it, the actor slot and the actor's restart count), evaluation seeds."""
    out: Path = Path("runs/train")
    """Run directory: ``metrics.jsonl``, ``checkpoints/``, optional ``tb/``."""
    resume: bool = False
    """Continue the run in ``out`` from ``checkpoints/last.pt`` (or ``resume_from``)."""
    resume_from: Path | None = None
    """A specific checkpoint to resume from (implies ``resume``)."""
    tensorboard: bool = False
    """Also write TensorBoard scalars to ``out/tb`` (needs the ``tensorboard`` package)."""
    target_return: float | None = None
    """Stop once the nominal evaluation return reaches this (None: train to total_steps)."""

    # --- actors and lag ----------------------------------------------------------------
    backend: Backend = Backend.LOCAL
    """``local`` (actor processes), ``sync`` (one in-process actor, bit-reproducible) or
    ``ray`` (Ray actors; ``ray_address`` picks a cluster)."""
    ray_address: str | None = None
    """Ray cluster address for ``backend="ray"``; None starts Ray locally."""
    actors: int = 2
    """Actor processes, each stepping its own vector env."""
    envs_per_actor: int = 4
    """Environments per actor, stepped together with one batched policy forward pass."""
    rollout_steps: int = 128
    """Vector steps per rollout; a rollout is the unit that is version-tagged and sent."""
    rollouts_per_update: int | None = None
    """Rollouts in one learner batch; None: one per actor."""
    actor_inflight: int = 1
    """Rollouts an actor may have sent that the learner has not received yet. The bound on
    the queue, and so on lag. The learner receives (drains) at the start of an update, so
    with 1 an actor already collects its next rollout while the learner updates on the last
    one: lag 1, and an actor idles only when its rollout is faster than the update. 2 adds a
    second rollout that waits through a whole update and arrives 2 versions old, or 3 and is
    dropped: measured on CartPole (benchmarks/train_cartpole.py, learner-bound), 2 trained
    at lag 2 and dropped 24% of all rollouts as stale, collection paid for on 2 shared
    cores and thrown away; 1 dropped none. Raise it when rollouts are much slower than
    updates and vary (many actors, slow envs)."""
    max_lag: int = 2
    """Oldest data the learner trains on, in policy versions (one version per update).
    Sample Factory's ``max_policy_lag`` counts SGD steps; rlvet counts updates."""
    lag_mode: LagMode = LagMode.DROP
    """What happens to rollouts older than ``max_lag``: ``drop`` (discarded and counted) or
    ``correct`` (kept; value targets recomputed with V-trace, rho and c truncated at 1)."""

    # --- PPO ---------------------------------------------------------------------------
    lr: float = 2.5e-4
    """Adam learning rate (annealed linearly to 0 with ``anneal_lr``)."""
    anneal_lr: bool = True
    """Linear learning-rate decay: Engstrom et al. 2020 count it among the code-level
    details behind PPO's reported results."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE lambda (Schulman et al. 2016); also the trace coefficient of V-trace."""
    update_epochs: int = 4
    """Passes over each batch."""
    minibatches: int = 4
    """Minibatches per epoch."""
    clip_coef: float = 0.2
    """PPO's surrogate clip range."""
    clip_vloss: bool = False
    """Clip the value update like the policy's. Off by default: Andrychowicz et al. 2021
    found value clipping does not help and can hurt; CleanRL turns it on."""
    ent_coef: float = 0.0
    """Entropy bonus; 0 as Andrychowicz et al. 2021 recommend for continuous control."""
    vf_coef: float = 0.5
    """Value-loss weight in the joint loss."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip."""
    target_kl: float | None = None
    """Stop an update's epochs early once the minibatch KL exceeds 1.5 x this (SB3's rule);
    None: never (CleanRL's default)."""
    hidden: int = 64
    """Width of the two tanh hidden layers of the policy and value networks."""
    norm_obs: bool = True
    """Normalise observations with running statistics (saved with each checkpoint)."""
    norm_reward: bool = True
    """Scale rewards by the running std of the discounted return (saved with checkpoints)."""

    # --- fault tolerance ---------------------------------------------------------------
    chaos: str = ""
    """Fault injection for testing: ``crash=P,kill=P,hang=P`` per rollout."""
    step_timeout: float = 5.0
    """Seconds an actor may spend in one vector step before it counts as hung."""
    startup_timeout: float = 60.0
    """Seconds an actor may take to start (imports, env construction) before it is hung."""
    max_restarts: int = 100
    """Actor restarts after which the run stops: the infrastructure is broken, not noisy."""

    # --- guardrails --------------------------------------------------------------------
    on_break: OnBreak = OnBreak.WARN
    """What to do when the live doctor finds an error first break: ``warn`` (record the
    finding, keep training), ``stop`` (save ``failed.pt``, stop), ``rollback`` (save
    ``failed.pt``, restore the last healthy checkpoint, scale the learning rate)."""
    rollback_lr_factor: float = 0.5
    """Learning-rate multiplier applied at each rollback."""
    max_rollbacks: int = 3
    """Rollbacks after which the run stops: lowering the lr did not fix the break."""
    guard_budget: float = 0.01
    """Share of wall time the live detectors may cost (the verdict is taken when enough
    training time has passed to pay for the last one)."""

    # --- domain randomisation ----------------------------------------------------------
    randomize: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """Env parameter ranges, e.g. ``{"length": (0.25, 1.0)}``: attributes of the unwrapped
    env, resampled at every reset within the env's bucket."""
    buckets: int = 2
    """Buckets each range is split into (jointly: bucket b takes the b-th slice of every
    range), each env being tied to one bucket."""

    # --- evaluation and checkpoints ----------------------------------------------------
    eval_every: int = 10_000
    """Environment steps between evaluations (0: only at the start and the end)."""
    eval_episodes: int = 10
    """Episodes per evaluation, one per env of an evaluation vector env, greedy actions."""
    real_env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """A shifted-dynamics "real" variant evaluated beside the nominal env, e.g.
    ``{"length": 0.8}``: constructor kwargs or attributes of the unwrapped env."""
    checkpoint_every: int = 10
    """Updates between ``checkpoint_<step>.pt`` files (the rollback targets)."""
    keep_checkpoints: int = 3
    """Periodic checkpoints kept (older ones are deleted); 0 keeps all."""

    def __post_init__(self) -> None:
        for name, enum in _CHOICES.items():  # a string from the CLI or a TOML file
            value = getattr(self, name)
            if value not in enum._value2member_map_:
                allowed = ", ".join(e.value for e in enum)
                raise RlvetInputError(
                    f"--{name.replace('_', '-')}: {value!r} is not one of {allowed}")
            object.__setattr__(self, name, enum(value))
        self._validate()

    def _validate(self) -> None:
        """Reject settings that cannot run, with the option name in the message."""
        positive = {"total_steps": self.total_steps, "actors": self.actors,
                    "envs_per_actor": self.envs_per_actor, "rollout_steps": self.rollout_steps,
                    "actor_inflight": self.actor_inflight, "update_epochs": self.update_epochs,
                    "minibatches": self.minibatches, "buckets": self.buckets,
                    "eval_episodes": self.eval_episodes, "hidden": self.hidden,
                    "checkpoint_every": self.checkpoint_every}
        for name, value in positive.items():
            if value < 1:
                raise RlvetInputError(f"--{name.replace('_', '-')}: must be >= 1, got {value}")
        if self.max_lag < 0:
            raise RlvetInputError(f"--max-lag: must be >= 0, got {self.max_lag}")
        for name, high in _MAXIMA.items():
            check_range(f"--{name.replace('_', '-')}", getattr(self, name), low=0, high=high)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise RlvetInputError(f"--lr: must be a positive number, got {self.lr}")
        if self.batch_size < self.minibatches:
            raise RlvetInputError(
                f"batch of {self.batch_size} steps cannot be split into {self.minibatches} "
                f"minibatches")
        self._validate_ranges()
        spec = self.chaos_spec  # parses, raising on a bad spec
        if self.backend == "sync" and (spec.hang > 0 or spec.kill > 0):
            raise RlvetInputError("--chaos hang/kill need actor processes: an in-process "
                                  "(sync) actor cannot be contained; use --backend local")

    def _validate_ranges(self) -> None:
        for key, bounds in self.randomize.items():
            if (not isinstance(bounds, (tuple, list)) or len(bounds) != 2
                    or not all(isinstance(b, (int, float)) for b in bounds)
                    or bounds[0] > bounds[1]):
                raise RlvetInputError(
                    f"--randomize: {key!r} must map to [low, high] numbers, got {bounds!r}")

    # --- derived values ----------------------------------------------------------------
    @property
    def updates_rollouts(self) -> int:
        """Rollouts per learner batch."""
        if self.rollouts_per_update is not None:
            return self.rollouts_per_update
        return 1 if self.backend == "sync" else self.actors

    @property
    def steps_per_rollout(self) -> int:
        """Environment steps in one rollout (vector steps x envs)."""
        return self.rollout_steps * self.envs_per_actor

    @property
    def batch_size(self) -> int:
        """Environment steps in one learner batch."""
        return self.steps_per_rollout * self.updates_rollouts

    @property
    def minibatch_size(self) -> int:
        """Samples per minibatch."""
        return self.batch_size // self.minibatches

    @property
    def num_updates(self) -> int:
        """Learner updates in the run (the lr annealing horizon)."""
        return max(1, self.total_steps // self.batch_size)

    @property
    def chaos_spec(self) -> ChaosSpec:
        """The parsed ``chaos`` string."""
        return parse_chaos(self.chaos)

    @property
    def num_actors(self) -> int:
        """Actor processes actually started (sync mode has exactly one, in-process)."""
        return 1 if self.backend == "sync" else self.actors

    @property
    def checkpoint_dir(self) -> Path:
        """Where checkpoints go."""
        return Path(self.out) / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        """The run's rlvet JSONL metrics log (what ``rlvet doctor`` reads)."""
        return Path(self.out) / "metrics.jsonl"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy of the fields (saved in every checkpoint)."""
        out = dataclasses.asdict(self)
        out["out"] = str(self.out)
        out["resume_from"] = None if self.resume_from is None else str(self.resume_from)
        out["randomize"] = {k: list(v) for k, v in self.randomize.items()}
        out["real_env_kwargs"] = dict(self.real_env_kwargs)
        return out


def load_toml(path: str | Path, **overrides: Any) -> TrainArgs:
    """TrainArgs from a TOML file whose keys are field names; ``overrides`` win.

    Raises:
        RlvetInputError: unreadable file, unknown key, or invalid value.
    """
    data = read_toml_text(path)[1]
    known = {f.name for f in dataclasses.fields(TrainArgs)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RlvetInputError(f"{path}: unknown key(s) {', '.join(unknown)}")
    return args_from_mapping(data, **overrides)


def args_from_mapping(data: Mapping[str, Any], **overrides: Any) -> TrainArgs:
    """TrainArgs from TOML-shaped values (paths as strings, ranges as lists); ``overrides``
    win. Keys must be field names (``load_toml``, ``rlvet.toml``'s ``[train]``)."""
    merged = {**data, **overrides}
    for key in ("out", "resume_from"):
        if merged.get(key) is not None:
            merged[key] = Path(merged[key])
    if "randomize" in merged:
        merged["randomize"] = {k: tuple(v) for k, v in merged["randomize"].items()}
    return TrainArgs(**merged)
