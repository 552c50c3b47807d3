"""The frozen evaluation protocol: what is measured, how, and its hash.

Contents:
    EnvSpec, PolicySpec, Split, DeploySpec, EvalProtocol -- the parsed protocol file.
    load_protocol(path) -- TOML -> EvalProtocol; every mistake is one line naming the field.
    parse_policy_spec(text, base=) -- the ``--policy`` SPEC: ``run.pt``, ``model.zip``,
        ``A2C:model.zip`` or ``module:callable``.
    canonical_json(value), sha256_hex(text) -- the hashing primitives.
    SPLIT_NAMES, DEFAULT_SPLIT, PRIVATE_SPLIT, UNITS, SB3_ALGOS -- the allowed values.

Why a hash: an evaluation number is only comparable to another measured the same way. The
hash is the SHA-256 of the canonical JSON (sorted keys, no whitespace) of everything that
changes the measured returns or their statistics -- env and kwargs, attributes, step cap,
splits and their seeds, deterministic or sampled actions, the bootstrap settings -- and of
nothing else: the *policy* is what is measured, not the ruler, so two policies evaluated
under one protocol share its hash; deployment budgets and retraining thresholds do not
change a return either. A result file carries the hash; ``--compare`` refuses to read two
results with different hashes as a comparison (an ``eval_protocol_change`` finding).

Protocol file (all paths relative to the file)::

    [env]
    id = "CartPole-v1"              # or factory = "package.module:make_env"
    kwargs = {}                     # gymnasium.make / factory keyword arguments
    attributes = {length = 0.5}     # set on env.unwrapped after make (physics parameters)
    max_steps = 500                 # episode cap (replaces the registered TimeLimit)

    [eval]
    seeds = [0, 1, 2, 3, 4]         # shorthand for [splits.dev]
    episodes_per_seed = 10
    deterministic = true            # false: actions sampled from the policy distribution
    unit = "seed"                   # bootstrap unit: "seed" (per-seed mean) or "episode"
    optimal_return = 500.0          # optimality-gap target (default: spec reward_threshold)

    [splits.private]
    seeds = [9001, 9002, 9003]

    [policy]
    path = "model.zip"              # .pt: rlvet checkpoint; .zip: SB3 model
    algo = "PPO"                    # SB3 class for .zip (default PPO)
    # callable = "pkg.mod:policy"   # obs -> action; batched = true for (n, ...) -> (n, ...)

    [deploy]
    latency_budget_ms = 10.0
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvet.errors import RlvetInputError
from rlvet.evaluate.stats import DEFAULT_CONFIDENCE, DEFAULT_REPS
from rlvet.evaluate.tomlfile import Fields, read_toml
from rlvet.limits import (
    MAX_BOOTSTRAP_REPS,
    MAX_EPISODE_STEPS,
    MAX_EPISODES_PER_SEED,
    MAX_LATENCY_CALLS,
    MAX_SEED,
)

__all__ = [
    "DEFAULT_SPLIT",
    "PRIVATE_SPLIT",
    "PROTOCOL_FORMAT",
    "SB3_ALGOS",
    "SPLIT_NAMES",
    "UNITS",
    "DeploySpec",
    "EnvSpec",
    "EvalProtocol",
    "PolicySpec",
    "Split",
    "canonical_json",
    "callable_beside",
    "load_protocol",
    "parse_policy_spec",
    "sha256_hex",
]

PROTOCOL_FORMAT = 1  # part of the hash: a change of meaning of any field bumps it
SPLIT_NAMES = ("smoke", "dev", "public", "private")
"""smoke: a seconds-long sanity run; dev: tune on it; public: report it; private: the
held-out check, touched rarely (every use is logged, repeated use is a finding)."""
DEFAULT_SPLIT = "dev"
PRIVATE_SPLIT = "private"
UNITS = ("seed", "episode")
SB3_ALGOS = ("PPO", "A2C", "DQN", "SAC", "TD3", "DDPG")
DEFAULT_EPISODES_PER_SEED = 10  # enough episodes that a seed's mean is not one lucky start
DEFAULT_LATENCY_BUDGET_MS = 10.0  # one step of a 100 Hz control loop, the usual robot rate
DEFAULT_LATENCY_CALLS = 1000  # p99 then rests on 10 samples above it, not 1
DEFAULT_TRIGGER_RETURN_DROP = 0.2  # retrain once the return falls 20% below this evaluation
DEFAULT_TRIGGER_OBS_KS = 0.2
"""Retrain once some observation dimension's KS distance to this evaluation's exceeds 0.2:
a fifth of the probability mass has moved, beyond sampling noise at a few hundred samples."""


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII: equal content gives equal text, so equal hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False, default=str)


def sha256_hex(text: str) -> str:
    """SHA-256 of UTF-8 text, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvSpec:
    """The environment under evaluation.

    Attributes:
        spec: a registered Gymnasium id or a ``module:callable`` / ``file.py:callable``.
        kwargs: keyword arguments of ``gymnasium.make`` or of the factory.
        attributes: numeric attributes set on ``env.unwrapped`` after construction
            (Gymnasium's classic-control constructors take almost no physics parameters).
        max_steps: episode cap; for registered ids it replaces the registered TimeLimit.
    """

    spec: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, float] = field(default_factory=dict)
    max_steps: int

    def to_dict(self) -> dict[str, Any]:
        """Plain form (hashed)."""
        return {"spec": self.spec, "kwargs": dict(self.kwargs),
                "attributes": dict(self.attributes), "max_steps": self.max_steps}


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicySpec:
    """How to load the policy.

    Attributes:
        kind: ``rlvet`` (checkpoint ``.pt``), ``sb3`` (model ``.zip``) or ``callable``.
        target: the file path, or the ``module:callable`` spec.
        algo: SB3 algorithm class for ``sb3``.
        batched: a callable takes (n, *obs_shape) and returns (n, ...) actions; otherwise
            it is called once per observation (the ``obs -> action`` of ``rlvet env``).
    """

    kind: str
    target: str
    algo: str | None = None
    batched: bool = False

    def describe(self) -> str:
        """``sb3 PPO model.zip`` for messages and the access log."""
        return " ".join(p for p in (self.kind, self.algo, self.target) if p)


@dataclass(frozen=True, slots=True)
class Split:
    """A named set of evaluation seeds (each seed runs ``episodes_per_seed`` episodes)."""

    name: str
    seeds: tuple[int, ...]
    episodes_per_seed: int

    def to_dict(self) -> dict[str, Any]:
        """Plain form (hashed)."""
        return {"seeds": list(self.seeds), "episodes_per_seed": self.episodes_per_seed}


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploySpec:
    """Pre-deployment budgets and retraining thresholds (not part of the hash)."""

    latency_budget_ms: float = DEFAULT_LATENCY_BUDGET_MS
    latency_calls: int = DEFAULT_LATENCY_CALLS
    trigger_return_drop: float = DEFAULT_TRIGGER_RETURN_DROP
    trigger_obs_ks: float = DEFAULT_TRIGGER_OBS_KS


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalProtocol:
    """A parsed protocol file; ``hash`` identifies the measurement."""

    env: EnvSpec
    splits: Mapping[str, Split]
    deterministic: bool = True
    unit: str = "seed"
    optimal_return: float | None = None
    confidence: float = DEFAULT_CONFIDENCE
    bootstrap_reps: int = DEFAULT_REPS
    bootstrap_seed: int = 0
    policy: PolicySpec | None = None
    deploy: DeploySpec = field(default_factory=DeploySpec)
    source: Path | None = None

    def split(self, name: str | None = None) -> Split:
        """The named split (default ``dev``).

        Raises:
            RlvetInputError: the protocol defines no such split.
        """
        key = name or DEFAULT_SPLIT
        if key not in self.splits:
            where = self.source or "protocol"
            raise RlvetInputError(f"{where}: split {key!r} is not defined; defined: "
                                  f"{', '.join(self.splits) or 'none'}")
        return self.splits[key]

    def to_canonical(self) -> dict[str, Any]:
        """Everything that changes the measurement, as plain data (policy, deployment
        budgets and the file's location excluded; see the module docstring)."""
        return {
            "format": PROTOCOL_FORMAT,
            "env": self.env.to_dict(),
            "splits": {k: s.to_dict() for k, s in sorted(self.splits.items())},
            "eval": {"deterministic": self.deterministic, "unit": self.unit,
                     "optimal_return": self.optimal_return, "confidence": self.confidence,
                     "bootstrap_reps": self.bootstrap_reps,
                     "bootstrap_seed": self.bootstrap_seed},
        }

    @property
    def hash(self) -> str:
        """SHA-256 of ``canonical_json(to_canonical())``."""
        return sha256_hex(canonical_json(self.to_canonical()))


# --- parsing ---------------------------------------------------------------------------


def _env(top: Fields) -> EnvSpec:
    t = top.table("env", required=True)
    t.refuse_unknown(("id", "factory", "kwargs", "attributes", "max_steps"))
    if t.has("id") == t.has("factory"):
        raise t.error("id", "give exactly one of id (a Gymnasium id) and factory "
                            "(module:callable)")
    spec = t.text("id") if t.has("id") else t.text("factory")
    kwargs = t.mapping("kwargs")
    if "max_episode_steps" in kwargs:
        raise t.error("kwargs.max_episode_steps", "set the episode cap with env.max_steps")
    attrs_t = t.table("attributes")
    attributes = {k: attrs_t.number(k) for k in attrs_t.data}
    return EnvSpec(spec=spec, kwargs=kwargs, attributes=attributes,
                   max_steps=t.integer("max_steps", minimum=1,
                                                  maximum=MAX_EPISODE_STEPS))


def _split(t: Fields, name: str, default_episodes: int) -> Split:
    t.refuse_unknown(("seeds", "episodes_per_seed"))
    seeds = t.integers("seeds", minimum=0, maximum=MAX_SEED)
    if len(set(seeds)) != len(seeds):
        raise t.error("seeds", f"seeds repeat ({list(seeds)}): repeated seeds are repeated "
                               f"episodes, not more evidence")
    return Split(name, seeds, t.integer("episodes_per_seed", default_episodes, minimum=1,
                                        maximum=MAX_EPISODES_PER_SEED))


def _splits(top: Fields, ev: Fields, episodes: int) -> dict[str, Split]:
    tables = top.table("splits")
    tables.refuse_unknown(SPLIT_NAMES)
    splits = {name: _split(tables.table(name), name, episodes) for name in tables.data}
    if ev.has("seeds"):
        if DEFAULT_SPLIT in splits:
            raise ev.error("seeds", f"eval.seeds is shorthand for [splits.{DEFAULT_SPLIT}], "
                                    f"which is also defined; keep one")
        seeds = ev.integers("seeds", minimum=0, maximum=MAX_SEED)
        splits[DEFAULT_SPLIT] = _split(Fields(ev.file, ev.where, {"seeds": list(seeds)}),
                                       DEFAULT_SPLIT, episodes)
    if not splits:
        raise ev.error("seeds", "no seeds: give eval.seeds or at least one [splits.NAME]")
    return splits


def callable_beside(spec: str, toml_file: Path) -> str:
    """``module:attr`` / ``file.py:attr`` resolved against the TOML file's folder, as paths are.

    ``cp_policy:act`` with ``cp_policy.py`` beside the protocol becomes
    ``/abs/dir/cp_policy.py:act`` (``pkg.mod`` looks for ``pkg/mod.py``); a relative
    ``file.py`` is made absolute. The callable is
    imported later, in a child process whose working directory is not the protocol's, so the
    path is settled here. A module found nowhere beside the file stays a module name (an
    installed package).

    Example:
        >>> callable_beside("math:sqrt", Path("/nonexistent/protocol.toml"))
        'math:sqrt'
    """
    module, sep, attr = spec.rpartition(":")
    if not sep or not module:
        return spec
    folder = Path(toml_file).parent
    if module.endswith(".py"):
        path = Path(module).expanduser()
        return spec if path.is_absolute() else f"{(folder / path).resolve()}:{attr}"
    if not all(part.isidentifier() for part in module.split(".")):
        return spec
    candidate = folder.joinpath(*module.split(".")).with_suffix(".py")
    return f"{candidate.resolve()}:{attr}" if candidate.is_file() else spec


def _policy(top: Fields) -> PolicySpec | None:
    if not top.has("policy"):
        return None
    t = top.table("policy")
    t.refuse_unknown(("path", "algo", "callable", "batched"))
    if t.has("path") == t.has("callable"):
        raise t.error("path", "give exactly one of path (.pt or .zip) and callable")
    if t.has("callable"):
        return PolicySpec(kind="callable", target=callable_beside(t.text("callable"), t.file),
                          batched=t.boolean("batched", False))
    path = t.path("path")
    algo = t.text("algo", None)
    if algo is not None and algo.upper() not in SB3_ALGOS:
        raise t.error("algo", f"expected one of {', '.join(SB3_ALGOS)}, got {algo!r}")
    return _policy_from_path(str(path), algo, lambda p: t.error("path", p))


def _policy_from_path(path: str, algo: str | None, error: Any) -> PolicySpec:
    if path.endswith(".pt"):
        return PolicySpec(kind="rlvet", target=path)
    if path.endswith(".zip"):
        return PolicySpec(kind="sb3", target=path, algo=(algo or "PPO").upper())
    raise error(f"{path}: expected an rlvet checkpoint (.pt) or an SB3 model (.zip)")


def _deploy(top: Fields) -> DeploySpec:
    t = top.table("deploy")
    t.refuse_unknown(("latency_budget_ms", "latency_calls", "trigger_return_drop",
                      "trigger_obs_ks"))
    return DeploySpec(
        latency_budget_ms=t.number("latency_budget_ms", DEFAULT_LATENCY_BUDGET_MS,
                                   positive=True),
        latency_calls=t.integer("latency_calls", DEFAULT_LATENCY_CALLS, minimum=10,
                                maximum=MAX_LATENCY_CALLS),
        trigger_return_drop=t.number("trigger_return_drop", DEFAULT_TRIGGER_RETURN_DROP,
                                     positive=True),
        trigger_obs_ks=t.number("trigger_obs_ks", DEFAULT_TRIGGER_OBS_KS, positive=True))


def _eval_settings(ev: Fields) -> dict[str, Any]:
    unit = ev.text("unit", "seed")
    if unit not in UNITS:
        raise ev.error("unit", f"expected one of {', '.join(UNITS)}, got {unit!r}")
    confidence = ev.number("confidence", DEFAULT_CONFIDENCE, positive=True)
    if confidence >= 1.0:
        raise ev.error("confidence", f"expected a level in (0, 1), got {confidence}")
    return {"deterministic": ev.boolean("deterministic", True), "unit": unit,
            "optimal_return": ev.number("optimal_return", None), "confidence": confidence,
            "bootstrap_reps": ev.integer("bootstrap_reps", DEFAULT_REPS, minimum=100,
                                         maximum=MAX_BOOTSTRAP_REPS),
            "bootstrap_seed": ev.integer("bootstrap_seed", 0, minimum=0, maximum=MAX_SEED)}


def load_protocol(path: str | Path) -> EvalProtocol:
    """Read and validate a protocol file.

    Raises:
        RlvetInputError: unreadable TOML, or one line ``<file>: <field>: <problem>``.

    Example:
        >>> p = load_protocol("tests/data/eval/cartpole.toml")  # doctest: +SKIP
        >>> p.split("dev").seeds, len(p.hash)  # doctest: +SKIP
        ((0, 1, 2, 3, 4), 64)
    """
    path = Path(path)
    top = Fields(path, "", read_toml(path))
    top.refuse_unknown(("env", "eval", "splits", "policy", "deploy"))
    ev = top.table("eval")
    ev.refuse_unknown(("seeds", "episodes_per_seed", "deterministic", "unit", "optimal_return",
                       "confidence", "bootstrap_reps", "bootstrap_seed"))
    episodes = ev.integer("episodes_per_seed", DEFAULT_EPISODES_PER_SEED, minimum=1,
                          maximum=MAX_EPISODES_PER_SEED)
    return EvalProtocol(env=_env(top), splits=_splits(top, ev, episodes), **_eval_settings(ev),
                        policy=_policy(top), deploy=_deploy(top), source=path)


def parse_policy_spec(text: str, base: PolicySpec | None = None) -> PolicySpec:
    """The ``--policy`` SPEC (paths relative to the working directory).

    ``run/checkpoints/best.pt`` -> rlvet checkpoint; ``model.zip`` -> SB3 with the
    protocol's algo (default PPO); ``A2C:model.zip`` names the algo; anything else with a
    colon is ``module:callable`` (per observation unless the protocol says batched).

    Raises:
        RlvetInputError: none of these forms.
    """
    head, sep, tail = text.partition(":")
    if text.endswith(".zip") and sep and head.upper() in SB3_ALGOS:
        return PolicySpec(kind="sb3", target=tail, algo=head.upper())
    if text.endswith((".pt", ".zip")):
        algo = base.algo if base is not None and base.kind == "sb3" else None

        def error(problem: str) -> RlvetInputError:
            return RlvetInputError(f"--policy: {problem}")

        return _policy_from_path(text, algo, error)
    if sep and head and tail:
        batched = base.batched if base is not None and base.kind == "callable" else False
        return PolicySpec(kind="callable", target=text, batched=batched)
    raise RlvetInputError(f"--policy {text}: expected a checkpoint (.pt), an SB3 model "
                          f"(.zip or ALGO:model.zip) or module:callable")
