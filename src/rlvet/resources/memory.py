"""Per-GPU memory of an RL fine-tuning setup, by source and by phase.

Contents:
    SOURCES -- weights, optimizer, gradients, activations, logits, kv_cache, rollouts.
    MemoryPlan -- peak bytes per GPU, the phase it happens in, bytes by source there,
        every phase's total, and notes on what could not be counted.
    plan_memory(cfg) -- the estimate.
    parameter_count(model) -- from the shape (or ``params`` when given).

Why phases: PPO-style RLHF never needs everything at once. All models' weights and the
optimizer state stay resident; on top of them come, one at a time, the generation phase
(KV cache), the scoring phase (reference / reward / critic forwards, logits for log-probs)
and the update phase of each trained model (its saved activations and logits at the start
of backward, or its gradients plus the optimizer's step temporaries at the end). Summing
every source, as one-model estimators do, overstates a run that fits; taking only weights
and optimizer state, as ``accelerate estimate-memory`` does, misses what actually OOMs.

Saved activations are counted tensor by tensor for the two block layouts in use (per layer,
per token, in elements; h hidden, f FFN width, a heads, s sequence, h_kv = kv_heads x head
dim). The counts follow what autograd keeps in Hugging Face's GPT-2 and Llama blocks:

* norms: LayerNorm keeps its input, the next linear keeps its output: 2h. Llama's RMSNorm
  is written in Python (pow, mean, rsqrt, two muls): input, normalised input, output: 3h.
* attention, gpt2: fused QKV output (3h) + merged heads for the output projection (h);
  eager adds the softmax output, a*s. sdpa keeps 6h (q, k, v views of the QKV output, the
  kernel's output and its transposed copy for c_proj, measured on PyTorch's SDPA path).
* attention, llama: rotated q and k, v (h + 2 h_kv) + merged heads (h); eager adds the
  probabilities, which Llama computes in fp32 (a*s*4 bytes, plus a cast copy in 16-bit).
* MLP: GELU (fused): fc output + activation output, 2f; ``gelu_new`` (tanh formula in
  Python): fc output, tanh output, 0.5x, 1 + tanh, product: 5f; SwiGLU: gate, silu(gate),
  up, product: 4f.
* gradient checkpointing keeps only each layer's input (h) and recomputes one layer at a
  time during backward.
* the LM head's logits: at the start of backward the log-softmax output, its gradient and
  the logits' gradient are alive together: 3 x V per token in fp32 (plus the 16-bit logits).

Example:
    >>> from rlvet.resources.config import parse_plan_config
    >>> cfg = parse_plan_config({"models": [{"role": "actor", "arch": "gpt2",
    ...     "hidden_size": 768, "layers": 12, "vocab_size": 50257, "dtype": "fp32"}],
    ...     "training": {"micro_batch": 8, "sequence_length": 1024}})
    >>> p = plan_memory(cfg)
    >>> p.peak_phase, round(p.peak_bytes / 2**30, 1)
    ('update actor', 14.5)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from rlvet.resources.config import DTYPE_BYTES, ModelSpec, PlanConfig

__all__ = ["SOURCES", "MemoryPlan", "parameter_count", "plan_memory"]

SOURCES = ("weights", "optimizer", "gradients", "activations", "logits", "kv_cache", "rollouts")
OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "adam8bit": 2, "sgd": 0, "sgd_momentum": 1}
# buffers per trained parameter: Adam's two moments, SGD's momentum. They take the dtype of
# the weights the optimizer updates (PyTorch allocates them with zeros_like): fp32 with
# master weights, else the model dtype; bitsandbytes' 8-bit Adam stores 1 byte each
# (block-wise scales add ~1%)
MASTER_WEIGHT_BYTES = 4.0  # the fp32 copy mixed-precision training updates
ROLLOUT_BYTES_PER_TOKEN = 8 + 7 * 4  # int64 token id + logprob, ref logprob, value, reward,
# advantage, return, mask as fp32
LORA_LINEARS = {"gpt2": 4, "llama": 7}  # qkv, proj, fc, proj / q, k, v, o, gate, up, down
INFERENCE_LIVE_PER_TOKEN = 2  # a no-grad forward holds about the residual stream, its norm and
# the widest intermediate (the FFN) of one layer at a time: (2h + 2f) per token


@dataclass(frozen=True, slots=True)
class MemoryPlan:
    """The estimate for one GPU.

    Attributes:
        peak_bytes: the largest phase total.
        peak_phase: its name (``update actor``, ``generation``, ``scoring``, ...).
        by_source: bytes by SOURCES at the peak phase.
        phases: every phase's total.
        capacity_bytes: the GPU's memory.
        notes: what the plan could not count, and why.
    """

    peak_bytes: float
    peak_phase: str
    by_source: Mapping[str, float]
    phases: Mapping[str, float]
    capacity_bytes: float
    notes: tuple[str, ...] = field(default=())

    @property
    def utilisation(self) -> float:
        """Peak over capacity (1.0 = exactly full)."""
        return self.peak_bytes / self.capacity_bytes


def _layer_linears(m: ModelSpec) -> list[tuple[int, int]]:
    """(in, out) of every linear in one layer."""
    s = m.shape
    h, f = s.hidden_size, s.ffn_size
    kv = h * s.kv_heads // s.heads
    if m.arch == "gpt2":
        return [(h, 3 * h), (h, h), (h, f), (f, h)]
    return [(h, h), (h, kv), (h, kv), (h, h), (h, f), (h, f), (f, h)]


def _parts(m: ModelSpec, positions: int) -> tuple[int, int, int]:
    """Parameters per layer, of the input embeddings, and of the head (0 when tied)."""
    h, v = m.shape.hidden_size, m.shape.vocab_size
    linears = _layer_linears(m)
    weights = sum(i * o for i, o in linears)
    if m.arch == "gpt2":
        per_layer = weights + sum(o for _, o in linears) + 4 * h  # biases, two LayerNorms
        embeddings = v * h + positions * h
    else:
        per_layer = weights + 2 * h
        embeddings = v * h
    final_norm = 2 * h if m.arch == "gpt2" else h
    head = (0 if m.tied_embeddings else v * h) if m.lm_head else h + 1
    return per_layer, embeddings, head + final_norm


def parameter_count(m: ModelSpec, positions: int = 1024) -> float:
    """Parameters of ``m``: ``params`` when given, else counted from the shape.

    ``positions`` is GPT-2's learned position table size (Llama uses rotary embeddings).
    """
    if m.params is not None:
        return float(m.params)
    per_layer, embeddings, top = _parts(m, positions)
    return float(m.shape.layers * per_layer + embeddings + top)


def _trained_count(m: ModelSpec, total: float, positions: int) -> float:
    """Parameters that get gradients and optimizer state."""
    if not m.trainable:
        return 0.0
    if m.lora_rank and m.has_shape:
        return float(m.shape.layers * sum(m.lora_rank * (i + o) for i, o in _layer_linears(m)))
    if m.frozen_layers:
        per_layer, embeddings, _ = _parts(m, positions)
        tied = m.tied_embeddings and m.lm_head  # the shared matrix is the head: still trained
        frozen_embeddings = embeddings - (m.shape.vocab_size * m.shape.hidden_size if tied else 0)
        return total - m.frozen_layers * per_layer - frozen_embeddings
    return total


def _act_bytes(m: ModelSpec) -> float:
    """Activation element size: quantised weights still compute in 16-bit."""
    return max(DTYPE_BYTES[m.dtype], 2.0)


def _attention_probs_bytes(m: ModelSpec, seq: int) -> float:
    """Per token per layer: eager attention's saved probabilities (0 for sdpa)."""
    if m.attention != "eager":
        return 0.0
    e = _act_bytes(m)
    if m.arch == "llama":  # softmax in fp32, then cast back to the model dtype
        return m.shape.heads * seq * (4.0 + (e if e < 4 else 0.0))
    return m.shape.heads * seq * e


def _saved_per_token_layer(m: ModelSpec, seq: int) -> float:
    """Bytes autograd keeps per token per layer (module docstring lists the tensors)."""
    s = m.shape
    h, f, e = s.hidden_size, s.ffn_size, _act_bytes(m)
    kv = h * s.kv_heads // s.heads
    if m.arch == "gpt2":
        norms = 2 * 2 * h
        attention = 6 * h if m.attention == "sdpa" else 4 * h
        mlp = (5 if m.activation == "gelu_new" else 2) * f
    else:
        norms = 2 * 3 * h
        attention = 2 * h + 2 * kv
        mlp = 4 * f
    lora = LORA_LINEARS[m.arch] * m.lora_rank if m.lora_rank else 0
    return (norms + attention + mlp + lora) * e + _attention_probs_bytes(m, seq)


def _saving_layers(m: ModelSpec) -> int:
    """Layers whose activations autograd keeps: frozen bottom layers keep nothing, unless
    the input embedding is the (trained) tied output matrix, whose gradient flows back
    through every layer."""
    if m.tied_embeddings and m.lm_head:
        return m.shape.layers
    return m.shape.layers - m.frozen_layers


def _update_states(m: ModelSpec, cfg: PlanConfig,
                   end: dict[str, float]) -> list[dict[str, float]]:
    """The candidate peaks of one trained model's update, by source; ``end`` is the
    optimizer step's (gradients plus the step's temporaries).

    Without checkpointing the peak is the start of backward (every saved tensor plus the
    logits' gradients) or the optimizer step (all gradients plus its temporaries). With
    checkpointing the layer inputs stay; the logits' gradients are gone before the first
    layer is recomputed, so those two are separate moments.
    """
    t = cfg.training
    tokens = t.micro_batch * t.sequence_length
    per_layer = _saved_per_token_layer(m, t.sequence_length) * tokens
    final_norm = (2 if m.arch == "gpt2" else 3) * m.shape.hidden_size * _act_bytes(m) * tokens
    logits = _logits_bytes(m, tokens, backward=True)
    if not t.gradient_checkpointing:
        return [{"activations": _saving_layers(m) * per_layer + final_norm, "logits": logits},
                end]
    inputs = _saving_layers(m) * m.shape.hidden_size * _act_bytes(m) * tokens
    return [{"activations": inputs + final_norm, "logits": logits},
            {"activations": inputs + per_layer}, end]


def _logits_bytes(m: ModelSpec, tokens: int, *, backward: bool) -> float:
    """LM-head logits of ``tokens`` tokens: fp32 log-softmax (+ its gradients in backward)."""
    if not m.lm_head:
        return 0.0
    e = _act_bytes(m)
    upcast = e if e < 4 else 0.0  # the 16-bit logits stay alive beside their fp32 copy
    return m.shape.vocab_size * tokens * ((3 if backward else 2) * 4.0 + upcast)


def _inference_transient(m: ModelSpec, batch: int, seq: int, *,
                         all_logits: bool) -> dict[str, float]:
    """A no-grad forward over batch x seq tokens: one layer's live tensors, plus logits for
    every token (scoring log-probs) or only the last (generation's prefill)."""
    tokens = batch * seq
    s = m.shape
    layer = INFERENCE_LIVE_PER_TOKEN * (s.hidden_size + s.ffn_size) * _act_bytes(m) * tokens
    probs = _attention_probs_bytes(m, seq) * tokens
    logits = _logits_bytes(m, tokens if all_logits else batch, backward=False)
    return {"activations": layer + probs, "logits": logits}


def _kv_cache(m: ModelSpec, cfg: PlanConfig) -> float:
    """Keys and values of every layer for the whole generation batch."""
    g = cfg.generation
    s = m.shape
    kv = s.hidden_size * s.kv_heads // s.heads
    return 2.0 * s.layers * g.batch * (g.prompt_length + g.max_new_tokens) * kv * _act_bytes(m)


@dataclass(frozen=True, slots=True)
class _Resident:
    """Per-GPU bytes that stay allocated for the whole run."""

    weights: float
    optimizer: float
    gradients: dict[str, float]  # per trained model: only alive during its own update
    step_temporaries: dict[str, float]


def _resident(cfg: PlanConfig, counts: dict[int, float], positions: int) -> _Resident:
    """Weights and optimizer state of every model, sharded as configured."""
    t, n = cfg.training, cfg.hardware.gpus
    shard_w = n if t.sharding in ("zero3", "fsdp") else 1
    shard_g = n if t.sharding in ("zero2", "zero3", "fsdp") else 1
    shard_o = n if t.sharding != "none" else 1
    weights = optimizer = 0.0
    grads: dict[str, float] = {}
    step: dict[str, float] = {}
    for i, m in enumerate(cfg.models):
        e_w = DTYPE_BYTES[m.dtype]
        weights += counts[i] * e_w / shard_w
        trained = _trained_count(m, counts[i], positions)
        if not trained:
            continue
        master = t.master_weights if t.master_weights is not None else e_w < 4
        updated = MASTER_WEIGHT_BYTES if master else max(e_w, 2.0)  # dtype the step updates
        state = 1.0 if t.optimizer == "adam8bit" else updated
        per_param = OPTIMIZER_STATES[t.optimizer] * state + (MASTER_WEIGHT_BYTES if master else 0)
        optimizer += trained * per_param / shard_o
        name = _model_name(cfg, i)
        grads[name] = trained * max(e_w, 2.0) / shard_g
        # a foreach optimizer step (PyTorch's CUDA default) materialises one temporary the
        # size of the updated weights (Adam's sqrt of the second moment)
        step[name] = trained * updated / shard_o if OPTIMIZER_STATES[t.optimizer] else 0.0
    return _Resident(weights, optimizer, grads, step)


def _model_name(cfg: PlanConfig, i: int) -> str:
    """The role, numbered when two models share it."""
    role = cfg.models[i].role
    same = [j for j, m in enumerate(cfg.models) if m.role == role]
    return role if len(same) == 1 else f"{role}{same.index(i) + 1}"


def _rollouts(cfg: PlanConfig) -> float:
    """The update's rollout buffer, per token of prompt + completion."""
    g = cfg.generation
    return float(g.rollout_batch * (g.prompt_length + g.max_new_tokens) * ROLLOUT_BYTES_PER_TOKEN)


def plan_memory(cfg: PlanConfig) -> MemoryPlan:
    """Peak per-GPU memory of ``cfg`` and where it goes (see the module docstring)."""
    g, t = cfg.generation, cfg.training
    positions = max(t.sequence_length, g.prompt_length + g.max_new_tokens)
    counts = {i: parameter_count(m, positions) for i, m in enumerate(cfg.models)}
    res = _resident(cfg, counts, positions)
    base = {"weights": res.weights, "optimizer": res.optimizer, "rollouts": _rollouts(cfg)}
    phases: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    for i, m in enumerate(cfg.models):
        name = _model_name(cfg, i)
        if name in res.gradients:
            end = {"gradients": res.gradients[name], "activations": res.step_temporaries[name]}
            states = _update_states(m, cfg, end) if m.has_shape else [end]
            phases[f"update {name}"] = max(states, key=lambda d: sum(d.values()))
        if not m.has_shape:
            notes.append(f"{name}: given by params only, so its activations, logits and KV "
                         "cache are not counted; give hidden_size, layers and vocab_size")
            continue
        if g.batch and m.role in ("actor", "policy", "model") and m.lm_head:
            phases["generation"] = {"kv_cache": _kv_cache(m, cfg), **_inference_transient(
                m, g.batch, g.prompt_length, all_logits=False)}
        if g.batch:
            scoring = _inference_transient(m, g.batch, g.prompt_length + g.max_new_tokens,
                                           all_logits=True)
            if sum(scoring.values()) > sum(phases.get("scoring", {}).values()):
                phases["scoring"] = scoring
    if not phases:
        phases["resident"] = {}
    totals = {k: sum(base.values()) + sum(v.values()) for k, v in phases.items()}
    peak_phase = max(totals, key=totals.__getitem__)
    by_source = dict.fromkeys(SOURCES, 0.0)
    for k, v in (*base.items(), *phases[peak_phase].items()):
        by_source[k] += v
    return MemoryPlan(
        peak_bytes=totals[peak_phase], peak_phase=peak_phase,
        by_source=MappingProxyType(by_source), phases=MappingProxyType(totals),
        capacity_bytes=cfg.hardware.gpu_memory_gib * 2**30, notes=tuple(notes))
