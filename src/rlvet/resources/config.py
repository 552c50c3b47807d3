"""The memory plan's input: resident models, optimizer, sharding, batch shapes, hardware.

Contents:
    ModelSpec, TrainingSpec, GenerationSpec, Hardware, PlanConfig -- frozen, validated.
    Shape -- a validated model's shape, every field known (``ModelSpec.shape``).
    load_plan_config(path) -- read a TOML file; every mistake is one RlvetInputError line
        naming the file and the field (``plan.toml: models[1].dtype: ...``).
    parse_plan_config(data, source) -- the same from an already-parsed mapping.

Why one strict loader: a plan computed from a misspelt field (``micro_batch_size`` for
``micro_batch``) silently uses a default and says "fits" for a run that will OOM. Unknown
keys are therefore errors, not ignored.

Example:
    >>> cfg = parse_plan_config({"models": [{"role": "actor", "params": 1e9}],
    ...                          "training": {"micro_batch": 1, "sequence_length": 512}},
    ...                         source="inline")
    >>> cfg.models[0].trainable, cfg.training.optimizer
    (True, 'adam')
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rlvet.errors import RlvetInputError
from rlvet.limits import MAX_GPU_MEMORY_GIB

__all__ = [
    "ARCHES",
    "ATTENTIONS",
    "DTYPE_BYTES",
    "OPTIMIZERS",
    "ROLES",
    "SHARDINGS",
    "GenerationSpec",
    "Hardware",
    "ModelSpec",
    "PlanConfig",
    "Shape",
    "TrainingSpec",
    "load_plan_config",
    "parse_plan_config",
]

DTYPE_BYTES: Mapping[str, float] = {"fp32": 4, "float32": 4, "bf16": 2, "bfloat16": 2,
                                  "fp16": 2, "float16": 2, "int8": 1, "int4": 0.5}
ROLES = ("actor", "critic", "reference", "reward", "policy", "model")
ARCHES = ("gpt2", "llama")  # block layouts whose saved activations are counted (memory.py)
ATTENTIONS = ("eager", "sdpa")
OPTIMIZERS = ("adam", "adamw", "adam8bit", "sgd", "sgd_momentum")
SHARDINGS = ("none", "zero1", "zero2", "zero3", "fsdp")
TRAINABLE_BY_DEFAULT = {"actor", "critic", "policy", "model"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec:
    """One resident model.

    Attributes:
        role: actor / critic / reference / reward (policy, model: a single trained model).
        params: parameter count; derived from the shape when not given.
        hidden_size, layers, vocab_size, heads, kv_heads, ffn_size: the shape; needed for
            activations and the KV cache (a model given by ``params`` alone counts only its
            weights and optimizer state, and the plan says so).
        arch: ``gpt2`` (LayerNorm, fused QKV, GELU MLP) or ``llama`` (RMSNorm, rotary,
            SwiGLU MLP): which tensors a layer keeps for backward.
        attention: ``eager`` keeps the heads x seq x seq probabilities; ``sdpa`` (flash /
            memory-efficient kernels) keeps O(seq) per head.
        activation: the GPT-2 MLP's activation, ``gelu_new`` (tanh formula, HF's default)
            or ``gelu`` (one fused kernel).
        dtype: weight and activation dtype.
        trainable: gets gradients and optimizer state (default: actor / critic / policy).
        lora_rank: > 0 trains rank-r adapters on every linear of every layer instead.
        frozen_layers: the bottom layers (and the input embeddings, unless tied to the
            output) stay frozen: no gradients, no optimizer state, no saved activations.
        lm_head: produces vocabulary logits (critic and reward models have a scalar head).
        tied_embeddings: the output projection shares the input embedding matrix
            (default: yes for gpt2, no for llama, as in their reference checkpoints).
    """

    role: str
    params: float | None = None
    hidden_size: int | None = None
    layers: int | None = None
    vocab_size: int | None = None
    heads: int | None = None
    kv_heads: int | None = None
    ffn_size: int | None = None
    arch: str = "llama"
    attention: str = "sdpa"
    activation: str = "gelu_new"
    dtype: str = "bf16"
    trainable: bool = False
    lora_rank: int = 0
    frozen_layers: int = 0
    lm_head: bool = True
    tied_embeddings: bool | None = None

    @property
    def has_shape(self) -> bool:
        """Whether activations and KV cache can be counted."""
        return None not in (self.hidden_size, self.layers, self.vocab_size)

    @property
    def shape(self) -> Shape:
        """The shape fields, all known; only for a validated spec where ``has_shape``."""
        h, n, v = self.hidden_size, self.layers, self.vocab_size
        a, kv, f = self.heads, self.kv_heads, self.ffn_size
        if h is None or n is None or v is None or a is None or kv is None or f is None:
            raise ValueError(f"model {self.role!r}: shape incomplete (parse_plan_config fills "
                             "heads, kv_heads and ffn_size when the shape is given)")
        return Shape(hidden_size=h, layers=n, vocab_size=v, heads=a, kv_heads=kv, ffn_size=f)


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    """A model's shape with every field known (``ModelSpec.shape``)."""

    hidden_size: int
    layers: int
    vocab_size: int
    heads: int
    kv_heads: int
    ffn_size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingSpec:
    """How the trainable models are updated.

    Attributes:
        optimizer: adam / adamw (two fp32 moments), adam8bit (two 1-byte moments),
            sgd (none), sgd_momentum (one buffer).
        master_weights: keep an fp32 copy of 16-bit trainable weights (mixed precision);
            default: yes when the dtype is 16-bit.
        sharding: none, zero1 (optimizer state), zero2 (+ gradients), zero3 / fsdp
            (+ weights) split over ``Hardware.gpus``.
        gradient_checkpointing: keep only each layer's input; recompute the rest.
        micro_batch, sequence_length: one forward/backward's shape.
    """

    optimizer: str = "adam"
    master_weights: bool | None = None
    sharding: str = "none"
    gradient_checkpointing: bool = False
    micro_batch: int = 1
    sequence_length: int = 512


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationSpec:
    """Rollout generation (RLHF): batch x (prompt + new tokens) of KV cache; rollouts held.

    Attributes:
        batch: sequences generated at once.
        prompt_length, max_new_tokens: tokens per sequence.
        rollout_batch: rollouts kept for the update (token ids, log-probs, reference
            log-probs, values, rewards, advantages, returns, masks per token).
    """

    batch: int = 0
    prompt_length: int = 0
    max_new_tokens: int = 0
    rollout_batch: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Hardware:
    """The GPUs the plan is checked against."""

    gpu_memory_gib: float = 80.0
    gpus: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanConfig:
    """Everything the memory plan needs."""

    models: tuple[ModelSpec, ...]
    training: TrainingSpec = field(default_factory=TrainingSpec)
    generation: GenerationSpec = field(default_factory=GenerationSpec)
    hardware: Hardware = field(default_factory=Hardware)
    source: str = "<config>"


_CHOICES: Mapping[str, tuple[str, ...]] = {
    "role": ROLES, "arch": ARCHES, "attention": ATTENTIONS, "activation": ("gelu_new", "gelu"),
    "dtype": tuple(DTYPE_BYTES), "optimizer": OPTIMIZERS, "sharding": SHARDINGS,
}
_POSITIVE_INTS = {"hidden_size", "layers", "vocab_size", "heads", "kv_heads", "ffn_size",
                  "micro_batch", "sequence_length", "gpus"}
MAX_PLAN_NUMBER = 1e18
"""Any size in a plan (params, tokens, batch): 10^18 is past every model and keeps the
byte arithmetic finite."""
_MAXIMA = {"gpu_memory_gib": MAX_GPU_MEMORY_GIB}
_NON_NEGATIVE_INTS = {"lora_rank", "frozen_layers", "batch", "prompt_length", "max_new_tokens",
                      "rollout_batch"}


def _check_value(where: str, name: str, value: Any, annotation: str) -> Any:
    """One field's value, type-checked; raises with ``where.name`` in the message."""
    label = f"{where}.{name}"
    if name in _CHOICES:
        if not isinstance(value, str) or value.lower() not in _CHOICES[name]:
            raise RlvetInputError(f"{label}: {value!r} is not one of {', '.join(_CHOICES[name])}")
        return value.lower()
    if "bool" in annotation:
        if not isinstance(value, bool):
            raise RlvetInputError(f"{label}: expected true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RlvetInputError(f"{label}: expected a number, got {value!r}")
    if not math.isfinite(value) or abs(value) > _MAXIMA.get(name, MAX_PLAN_NUMBER):
        high = _MAXIMA.get(name, MAX_PLAN_NUMBER)
        raise RlvetInputError(f"{label}: expected a finite number <= {high:g}, got {value!r}")
    if name in _POSITIVE_INTS | _NON_NEGATIVE_INTS:
        if value != int(value):
            raise RlvetInputError(f"{label}: expected a whole number, got {value!r}")
        value = int(value)
    floor_ok = value >= 0 if name in _NON_NEGATIVE_INTS else value > 0
    if not floor_ok:
        raise RlvetInputError(f"{label}: must be {'>= 0' if name in _NON_NEGATIVE_INTS else '> 0'},"
                              f" got {value!r}")
    return value


def _build(cls: type, data: Any, where: str, **extra: Any) -> Any:
    """``cls(**data)`` with unknown keys, wrong types and bad choices reported by name."""
    if not isinstance(data, Mapping):
        raise RlvetInputError(f"{where}: expected a table, got {type(data).__name__}")
    known = {f.name: str(f.type) for f in fields(cls)}
    for key in data:
        if key not in known or key in extra:
            raise RlvetInputError(f"{where}.{key}: unknown field (known: "
                                  f"{', '.join(k for k in known if k not in extra)})")
    values = {k: _check_value(where, k, v, known[k]) for k, v in data.items()}
    return cls(**values, **extra)


def _model(data: Any, where: str) -> ModelSpec:
    """A validated ModelSpec: role given, params or shape given, heads consistent."""
    if not isinstance(data, Mapping) or "role" not in data:
        raise RlvetInputError(f"{where}.role: missing (actor, critic, reference or reward)")
    spec: ModelSpec = _build(ModelSpec, data, where)
    if "trainable" not in data:
        spec = replace(spec, trainable=spec.role in TRAINABLE_BY_DEFAULT)
    if spec.params is None and not spec.has_shape:
        missing = [k for k in ("hidden_size", "layers", "vocab_size") if getattr(spec, k) is None]
        raise RlvetInputError(f"{where}: give params, or the shape ({', '.join(missing)} missing)")
    hidden = spec.hidden_size
    if spec.has_shape and hidden is not None:
        heads = spec.heads or max(1, hidden // 64)
        kv_heads = spec.kv_heads or heads
        if hidden % heads:
            raise RlvetInputError(f"{where}.heads: {heads} does not divide hidden_size "
                                  f"{hidden}")
        if heads % kv_heads:
            raise RlvetInputError(f"{where}.kv_heads: {kv_heads} does not divide heads {heads}")
        spec = replace(spec, heads=heads, kv_heads=kv_heads,
                       ffn_size=spec.ffn_size or 4 * hidden)
    if spec.tied_embeddings is None:
        spec = replace(spec, tied_embeddings=spec.arch == "gpt2")
    if spec.frozen_layers and not (spec.has_shape and spec.trainable):
        raise RlvetInputError(f"{where}.frozen_layers: needs a trained model given by its shape")
    if spec.frozen_layers and spec.frozen_layers >= spec.shape.layers:
        raise RlvetInputError(f"{where}.frozen_layers: {spec.frozen_layers} leaves none of the "
                              f"{spec.layers} layers to train (set trainable = false instead)")
    if spec.lora_rank and not spec.trainable:
        raise RlvetInputError(f"{where}.lora_rank: a frozen model has no adapters to train")
    return spec


def parse_plan_config(data: Mapping[str, Any], *, source: str = "<config>") -> PlanConfig:
    """A PlanConfig from parsed TOML; raises RlvetInputError naming ``source`` and the field."""
    try:
        allowed = {"models", "training", "generation", "hardware"}
        for key in data:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise RlvetInputError(f"{key}: unknown section (known: {known})")
        raw_models = data.get("models")
        if raw_models is None or raw_models == []:
            raise RlvetInputError("models: missing; add at least one [[models]] table")
        if not isinstance(raw_models, list):
            raise RlvetInputError(f"models: expected [[models]] tables, got "
                                  f"{type(raw_models).__name__}")
        models = tuple(_model(m, f"models[{i}]") for i, m in enumerate(raw_models))
        training = _build(TrainingSpec, data.get("training", {}), "training")
        generation = _build(GenerationSpec, data.get("generation", {}), "generation")
        hardware = _build(Hardware, data.get("hardware", {}), "hardware")
        if generation.batch and not (generation.prompt_length + generation.max_new_tokens):
            raise RlvetInputError("generation.max_new_tokens: generation.batch is set but no "
                                  "prompt_length or max_new_tokens")
    except RlvetInputError as exc:
        raise RlvetInputError(f"{source}: {exc}") from None
    return PlanConfig(models=models, training=training, generation=generation,
                      hardware=hardware, source=source)


def load_plan_config(path: str | Path) -> PlanConfig:
    """Read and validate a plan TOML file (see docs/resources.md for every field)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RlvetInputError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RlvetInputError(f"{p}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RlvetInputError(f"{p}: not valid TOML: {exc}") from None
    except RecursionError:
        raise RlvetInputError(f"{p}: not valid TOML (nested too deeply)") from None
    return parse_plan_config(data, source=str(p))
