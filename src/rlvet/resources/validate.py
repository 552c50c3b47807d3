"""Check the memory plan against measured peaks of real Hugging Face models.

Contents:
    CASES -- small transformer setups (GPT-2 and Llama blocks, eager and SDPA attention,
        gradient checkpointing, SGD, a frozen reference, a critic, generation with a KV
        cache) as plan configs.
    run_case(config, device, steps) -- build the models with random weights and run
        ``steps`` PPO-shaped iterations.
    measure_case(config, device, steps) -- the peak tensor bytes of ``run_case``.
    validate(cases, device, steps) -- plan vs measured, one row per case.

Why HF models rather than a block written here: the plan claims to count what autograd
keeps in the models people fine-tune; a block written to match the formula could only
confirm the formula. Dropout is off (RLHF fine-tuning turns it off: it breaks the
log-prob ratio), and the optimizer uses foreach kernels, PyTorch's default on CUDA.
Needs the ``llm`` and ``train`` extras (transformers, peft, torch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rlvet.resources.config import ModelSpec, PlanConfig, parse_plan_config
from rlvet.resources.measure import peak_tensor_bytes
from rlvet.resources.memory import plan_memory

__all__ = ["CASES", "ValidationRow", "measure_case", "run_case", "validate"]

_GPT2 = {"arch": "gpt2", "hidden_size": 256, "layers": 4, "heads": 4, "vocab_size": 4000,
         "dtype": "fp32"}
_LLAMA = {"arch": "llama", "hidden_size": 256, "layers": 4, "heads": 8, "kv_heads": 4,
          "ffn_size": 688, "vocab_size": 4000, "dtype": "fp32"}

CASES: Mapping[str, dict[str, Any]] = {
    "gpt2 eager, adamw": {
        "models": [{"role": "policy", **_GPT2, "attention": "eager"}],
        "training": {"optimizer": "adamw", "micro_batch": 8, "sequence_length": 256}},
    "gpt2 sdpa, deep+narrow, sgd": {
        "models": [{"role": "policy", **_GPT2, "hidden_size": 128, "layers": 12,
                    "attention": "sdpa"}],
        "training": {"optimizer": "sgd", "micro_batch": 4, "sequence_length": 512}},
    "gpt2 sdpa, gradient checkpointing": {
        "models": [{"role": "policy", **_GPT2, "attention": "sdpa", "layers": 8}],
        "training": {"optimizer": "adamw", "micro_batch": 8, "sequence_length": 256,
                     "gradient_checkpointing": True}},
    "llama eager, gqa, adamw": {
        "models": [{"role": "policy", **_LLAMA, "attention": "eager"}],
        "training": {"optimizer": "adamw", "micro_batch": 4, "sequence_length": 384}},
    "llama sdpa, wide vocab, adamw": {
        "models": [{"role": "policy", **_LLAMA, "vocab_size": 32000, "attention": "sdpa"}],
        "training": {"optimizer": "adamw", "micro_batch": 4, "sequence_length": 256}},
    "llama sdpa, bf16, adamw": {
        "models": [{"role": "policy", **_LLAMA, "dtype": "bf16", "attention": "sdpa"}],
        "training": {"optimizer": "adamw", "master_weights": False, "micro_batch": 8,
                     "sequence_length": 256}},
    "llama sdpa, lora r=16": {
        "models": [{"role": "policy", **_LLAMA, "attention": "sdpa", "lora_rank": 16}],
        "training": {"optimizer": "adamw", "micro_batch": 8, "sequence_length": 256}},
    "gpt2 eager, bottom 3 of 6 layers frozen (tied)": {
        "models": [{"role": "policy", **_GPT2, "layers": 6, "attention": "eager",
                    "frozen_layers": 3}],
        "training": {"optimizer": "adamw", "micro_batch": 8, "sequence_length": 256}},
    "llama sdpa, bottom 2 of 4 layers frozen": {
        "models": [{"role": "policy", **_LLAMA, "attention": "sdpa", "frozen_layers": 2}],
        "training": {"optimizer": "adamw", "micro_batch": 8, "sequence_length": 256}},
    "ppo: llama actor + critic + reference, generation": {
        "models": [{"role": "actor", **_LLAMA, "attention": "sdpa"},
                   {"role": "critic", **_LLAMA, "attention": "sdpa", "lm_head": False},
                   {"role": "reference", **_LLAMA, "attention": "sdpa"}],
        "training": {"optimizer": "adamw", "micro_batch": 8, "sequence_length": 192},
        "generation": {"batch": 8, "prompt_length": 64, "max_new_tokens": 128,
                       "rollout_batch": 8}},
}
"""Validation setups; each is a plan config as ``rlvet resources plan`` reads it."""


@dataclass(frozen=True, slots=True)
class ValidationRow:
    """One case: the plan's peak, the measured peak, and the relative error."""

    name: str
    planned_bytes: float
    measured_bytes: float
    peak_phase: str

    @property
    def error(self) -> float:
        """(plan - measured) / measured: positive means the plan over-estimates."""
        return (self.planned_bytes - self.measured_bytes) / self.measured_bytes


def _hf_model(m: ModelSpec, positions: int) -> Any:
    """A randomly initialised HF model with ``m``'s shape, dropout off, in train mode."""
    import torch
    import transformers
    from transformers import (
        GPT2Config,
        GPT2ForTokenClassification,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
        LlamaForTokenClassification,
    )

    transformers.logging.set_verbosity_error()
    s = m.shape
    tied = bool(m.tied_embeddings)  # parse_plan_config always sets it
    # num_labels is a PretrainedConfig keyword the generated config signatures omit
    if m.arch == "gpt2":
        gpt2_cfg = GPT2Config(n_embd=s.hidden_size, n_layer=s.layers, n_head=s.heads,
                            n_inner=s.ffn_size, vocab_size=s.vocab_size, n_positions=positions,
                            activation_function=m.activation, resid_pdrop=0.0, embd_pdrop=0.0,
                            attn_pdrop=0.0, tie_word_embeddings=tied,
                            bos_token_id=0, eos_token_id=0, pad_token_id=0,
                            num_labels=1)  # type: ignore[call-arg]
        gpt2_cfg._attn_implementation = m.attention
        model: Any = (GPT2LMHeadModel if m.lm_head else GPT2ForTokenClassification)(gpt2_cfg)
    else:
        hf_cfg = LlamaConfig(hidden_size=s.hidden_size, num_hidden_layers=s.layers,
                             num_attention_heads=s.heads, num_key_value_heads=s.kv_heads,
                             intermediate_size=s.ffn_size, vocab_size=s.vocab_size,
                             max_position_embeddings=positions,
                             tie_word_embeddings=tied, bos_token_id=0,
                             eos_token_id=0, pad_token_id=0,
                             num_labels=1)  # type: ignore[call-arg]
        hf_cfg._attn_implementation = m.attention
        model = (LlamaForCausalLM if m.lm_head else LlamaForTokenClassification)(hf_cfg)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[m.dtype]
    model = model.to(dtype)  # Any: .to's stub wraps the method and misreads its dtype argument
    if hasattr(model, "score"):  # token classification head dropout
        model.dropout = torch.nn.Identity()
    model.train(m.trainable)
    model.requires_grad_(m.trainable)
    if m.frozen_layers:
        _freeze_bottom(model, m)
    if m.lora_rank:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=m.lora_rank, lora_alpha=2 * m.lora_rank,
                                                 lora_dropout=0.0, target_modules="all-linear"))
    return model


def _freeze_bottom(model: Any, m: ModelSpec) -> None:
    """Freeze the input embeddings (unless tied to the head) and the bottom layers."""
    body = model.transformer if m.arch == "gpt2" else model.model
    embeddings = [body.wpe] if m.arch == "gpt2" else []
    if not (m.tied_embeddings and m.lm_head):
        embeddings.append(body.wte if m.arch == "gpt2" else body.embed_tokens)
    layers = body.h if m.arch == "gpt2" else body.layers
    for module in [*embeddings, *layers[: m.frozen_layers]]:
        module.requires_grad_(False)


def _optimizer(params: list[Any], name: str) -> Any:
    import torch

    if name in ("adam", "adamw"):
        return torch.optim.AdamW(params, lr=1e-5, foreach=True)
    if name in ("sgd", "sgd_momentum"):
        return torch.optim.SGD(params, lr=1e-5, momentum=0.9 if name == "sgd_momentum" else 0,
                               foreach=True)
    raise ValueError(f"no validation optimizer for {name!r}")


def _ppo_iteration(cfg: PlanConfig, models: list[Any], opts: list[Any], device: Any) -> None:
    """Generate (if configured), score with every model, then update each trained model."""
    import torch

    t, g = cfg.training, cfg.generation
    vocab = next(m.shape.vocab_size for m in cfg.models)
    if g.batch:
        actor = models[0]
        prompts = torch.randint(1, vocab, (g.batch, g.prompt_length), device=device)
        with torch.no_grad():
            seqs = actor.generate(prompts, max_new_tokens=g.max_new_tokens,
                                  min_new_tokens=g.max_new_tokens, do_sample=True,
                                  pad_token_id=0)
            for spec, model in zip(cfg.models, models, strict=True):
                out = model(input_ids=seqs).logits
                if spec.lm_head:
                    out.log_softmax(-1)
                del out
        tokens = seqs[: t.micro_batch, : t.sequence_length]
    else:
        tokens = torch.randint(1, vocab, (t.micro_batch, t.sequence_length), device=device)
    for spec, model, opt in zip(cfg.models, models, opts, strict=True):
        if opt is None:
            continue
        if spec.lm_head:
            loss = model(input_ids=tokens, labels=tokens).loss
        else:
            loss = model(input_ids=tokens).logits.float().square().mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        del loss


def run_case(cfg: PlanConfig, device: str = "cpu", steps: int = 2) -> None:
    """Build ``cfg``'s models with random weights and run ``steps`` PPO-shaped iterations."""
    import torch

    dev = torch.device(device)
    positions = max(cfg.training.sequence_length,
                    cfg.generation.prompt_length + cfg.generation.max_new_tokens)
    torch.manual_seed(0)
    models = [_hf_model(m, positions).to(dev) for m in cfg.models]
    for m, model in zip(cfg.models, models, strict=True):
        if cfg.training.gradient_checkpointing and m.trainable:
            kwargs = {"use_reentrant": False}
            if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x
                model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    opts = [_optimizer([p for p in model.parameters() if p.requires_grad],
                       cfg.training.optimizer)
            if m.trainable else None for m, model in zip(cfg.models, models, strict=True)]
    for _ in range(steps):
        _ppo_iteration(cfg, models, opts, dev)


def measure_case(cfg: PlanConfig, device: str = "cpu", steps: int = 2) -> float:
    """Peak tensor bytes of ``run_case`` (models built inside the measurement)."""
    return peak_tensor_bytes(lambda: run_case(cfg, device, steps), device)[1]


def validate(cases: Mapping[str, Mapping[str, Any]] = CASES, *, device: str = "cpu",
             steps: int = 2, names: Sequence[str] | None = None) -> list[ValidationRow]:
    """Plan and measure every case (or those in ``names``)."""
    rows = []
    for name, raw in cases.items():
        if names is not None and name not in names:
            continue
        cfg = parse_plan_config(raw, source=name)
        plan = plan_memory(cfg)
        rows.append(ValidationRow(name, plan.peak_bytes, measure_case(cfg, device, steps),
                                  plan.peak_phase))
    return rows
