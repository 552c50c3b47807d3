"""The cheapest changes that make a memory plan fit.

Contents:
    FIT_UTILISATION -- the share of GPU memory a plan may use and still be called a fit.
    Change -- one edit of the config: what it is, what it costs, what it saves.
    suggest_changes(cfg, plan) -- every applicable change, re-planned: those that fit on
        their own first (cheapest first), then the rest by saving; plus, when no single
        change is enough, the cheapest combination that fits.

Why re-plan instead of quoting rules of thumb: what a change saves depends on which phase
peaks. Gradient checkpointing saves nothing when the optimizer state is the problem, and
8-bit Adam nothing when the logits are. Each change is applied to the config and the
whole plan is recomputed, so every saving quoted is the plan's own number.

Costs rank what the change does to the run, not to memory: 0 same results and faster,
1 same results, slower; 2 close results or more communication (quantised optimizer state,
sharding); 3 a different model is trained (adapters); 4 a different task (shorter
sequences). Each change also says its trade-off in words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from rlvet.resources.config import ModelSpec, PlanConfig
from rlvet.resources.memory import MemoryPlan, plan_memory

__all__ = ["FIT_UTILISATION", "Change", "suggest_changes"]

FIT_UTILISATION = 0.9  # the CUDA context, the caching allocator's fragmentation and
# library workspaces take 5-10% that no tensor count sees
LORA_RANK = 16  # a common default rank for RLHF adapters


@dataclass(frozen=True, slots=True)
class Change:
    """One config edit and its effect.

    Attributes:
        action: what to change, in words (``enable gradient checkpointing``).
        cost: 0-4, see the module docstring.
        tradeoff: what the run gives up, in words.
        peak_bytes: the plan's peak after the change.
        saving_bytes: peak before minus peak after.
        fits: the new peak is within FIT_UTILISATION of the GPU.
    """

    action: str
    cost: int
    tradeoff: str
    peak_bytes: float
    saving_bytes: float
    fits: bool


@dataclass(frozen=True, slots=True)
class _Edit:
    action: str
    cost: int
    tradeoff: str
    apply: Callable[[PlanConfig], PlanConfig]


def _on_models(applies: Callable[[ModelSpec], bool],
               change: Callable[[ModelSpec], ModelSpec]) -> Callable[[PlanConfig], PlanConfig]:
    """An edit changing every model ``applies`` selects."""
    return lambda c: replace(c, models=tuple(change(m) if applies(m) else m for m in c.models))


def _training(**changes: Any) -> Callable[[PlanConfig], PlanConfig]:
    return lambda c: replace(c, training=replace(c.training, **changes))


def _is_eager(m: ModelSpec) -> bool:
    return m.attention == "eager"


def _is_fp32(m: ModelSpec) -> bool:
    return m.dtype in ("fp32", "float32")


def _adapter_free(m: ModelSpec) -> bool:
    """A fully fine-tuned model whose shape is known: LoRA applies."""
    return m.trainable and not m.lora_rank and m.has_shape


def _freezable(m: ModelSpec) -> bool:
    """A fully fine-tuned model with layers to split: freezing the bottom half applies."""
    return _adapter_free(m) and not m.frozen_layers and (m.layers or 0) > 1


def _candidate_edits(cfg: PlanConfig) -> Iterator[_Edit]:
    """Every edit that applies to ``cfg``."""
    t, g, models = cfg.training, cfg.generation, cfg.models
    if any(map(_is_eager, models)):
        yield _Edit("use sdpa (flash) attention instead of eager", 0, "none: same math, faster",
                    _on_models(_is_eager, lambda m: replace(m, attention="sdpa")))
    if not t.gradient_checkpointing:
        yield _Edit("enable gradient checkpointing", 1, "about a third more compute",
                    _training(gradient_checkpointing=True))
    if t.micro_batch > 1:
        yield _Edit(f"micro_batch {t.micro_batch} -> {t.micro_batch // 2}", 1,
                    "more gradient-accumulation steps for the same batch",
                    _training(micro_batch=t.micro_batch // 2))
    if g.batch > 1:
        yield _Edit(f"generation batch {g.batch} -> {g.batch // 2}", 1,
                    "slower rollout generation",
                    lambda c: replace(c, generation=replace(c.generation, batch=g.batch // 2)))
    if any(map(_is_fp32, models)):
        yield _Edit("bf16 weights instead of fp32 (fp32 master weights kept)", 1,
                    "mixed precision: needs bf16 hardware",
                    _on_models(_is_fp32, lambda m: replace(m, dtype="bf16")))
    if t.optimizer in ("adam", "adamw"):
        yield _Edit("8-bit Adam (bitsandbytes)", 2, "quantised optimizer state",
                    _training(optimizer="adam8bit"))
    stages = ("none", "zero1", "zero2", "zero3")
    if cfg.hardware.gpus > 1 and t.sharding in stages[:-1]:
        nxt = stages[stages.index(t.sharding) + 1]
        yield _Edit(f"sharding {t.sharding} -> {nxt} over {cfg.hardware.gpus} GPUs", 2,
                    "more communication per step", _training(sharding=nxt))
    if any(map(_freezable, models)):
        yield _Edit("freeze the bottom half of the layers", 3, "trains only the top layers",
                    _on_models(_freezable, lambda m: replace(m, frozen_layers=m.shape.layers // 2)))
    if any(map(_adapter_free, models)):
        yield _Edit(f"LoRA rank {LORA_RANK} instead of full fine-tuning", 3,
                    "trains low-rank adapters, not the whole model",
                    _on_models(_adapter_free, lambda m: replace(m, lora_rank=LORA_RANK)))
    if t.sequence_length > 1:
        yield _Edit(f"sequence_length {t.sequence_length} -> {t.sequence_length // 2}", 4,
                    "shorter contexts: a different task", _training(
                        sequence_length=t.sequence_length // 2))


def _fits(plan: MemoryPlan) -> bool:
    return plan.utilisation <= FIT_UTILISATION


def suggest_changes(cfg: PlanConfig, plan: MemoryPlan) -> tuple[list[Change], Change | None]:
    """Single changes (fitting ones first, cheapest first) and, if none fits alone, the
    cheapest cumulative combination that fits (None when even that does not fit)."""
    singles = []
    edits = list(_candidate_edits(cfg))
    for e in edits:
        new = plan_memory(e.apply(cfg))
        saving = plan.peak_bytes - new.peak_bytes
        if saving > 0:
            singles.append(Change(e.action, e.cost, e.tradeoff, new.peak_bytes, saving,
                                  _fits(new)))
    singles.sort(key=lambda ch: (not ch.fits, ch.cost if ch.fits else 0, -ch.saving_bytes))
    if _fits(plan) or any(ch.fits for ch in singles):
        return singles, None
    useful = {ch.action for ch in singles}
    combined, actions = cfg, []
    for e in sorted(edits, key=lambda e: e.cost):
        if e.action not in useful:
            continue
        combined = e.apply(combined)
        actions.append(e)
        new = plan_memory(combined)
        if _fits(new):
            return singles, Change(" + ".join(a.action for a in actions),
                                   max(a.cost for a in actions),
                                   "; ".join(a.tradeoff for a in actions), new.peak_bytes,
                                   plan.peak_bytes - new.peak_bytes, True)
    return singles, None
