"""The memory plan's arithmetic: parameter counts of real models, what each knob saves."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rlvet.resources.config import parse_plan_config
from rlvet.resources.memory import parameter_count, plan_memory

LLAMA_7B = {"arch": "llama", "hidden_size": 4096, "layers": 32, "heads": 32,
            "ffn_size": 11008, "vocab_size": 32000, "dtype": "bf16"}


def _plan(models, training=None, generation=None, hardware=None):
    raw = {"models": models, "training": training or {}, "generation": generation or {},
           "hardware": hardware or {}}
    cfg = parse_plan_config(raw)
    return cfg, plan_memory(cfg)


def test_parameter_counts_match_published_models() -> None:
    gpt2 = parse_plan_config({"models": [{"role": "policy", "arch": "gpt2", "hidden_size": 768,
                                          "layers": 12, "vocab_size": 50257}]}).models[0]
    llama = parse_plan_config({"models": [{"role": "policy", **LLAMA_7B}]}).models[0]
    assert parameter_count(gpt2, positions=1024) == 124_439_808  # GPT-2 small
    assert parameter_count(llama) == 6_738_415_616  # Llama-2-7B


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_parameter_count_matches_transformers(arch: str) -> None:
    pytest.importorskip("transformers")
    from rlvet.resources.validate import _hf_model

    spec = parse_plan_config({"models": [{"role": "critic", "arch": arch, "hidden_size": 64,
                                          "layers": 3, "heads": 4, "kv_heads": 2,
                                          "ffn_size": 96, "vocab_size": 500,
                                          "lm_head": False, "dtype": "fp32"}]}).models[0]
    for s in (spec, replace(spec, lm_head=True, role="actor")):
        model = _hf_model(s, positions=128)
        assert parameter_count(s, positions=128) == sum(p.numel() for p in model.parameters())


def test_adam_mixed_precision_is_16_bytes_per_parameter() -> None:
    _, plan = _plan([{"role": "policy", "params": 1e9, "dtype": "bf16"}])
    # 2 weights + 12 optimizer (fp32 master + two fp32 moments); gradients come per phase
    assert plan.by_source["weights"] == 2e9 and plan.by_source["optimizer"] == 12e9
    assert plan.notes  # params-only: activations are not counted, and it says so


def test_sharding_divides_what_each_stage_shards() -> None:
    base = {"models": [{"role": "policy", **LLAMA_7B}],
            "training": {"micro_batch": 1, "sequence_length": 512}, "hardware": {"gpus": 8}}
    by_stage = {}
    for stage in ("none", "zero1", "zero2", "zero3"):
        _, plan = _plan(base["models"], {**base["training"], "sharding": stage}, None,
                        base["hardware"])
        by_stage[stage] = plan.by_source
    assert by_stage["zero1"]["optimizer"] == pytest.approx(by_stage["none"]["optimizer"] / 8)
    assert by_stage["zero1"]["weights"] == by_stage["none"]["weights"]
    assert by_stage["zero3"]["weights"] == pytest.approx(by_stage["none"]["weights"] / 8)


def test_each_saving_knob_lowers_the_peak() -> None:
    model = {"role": "policy", **LLAMA_7B, "attention": "eager"}
    training = {"micro_batch": 8, "sequence_length": 2048}
    _, base = _plan([model], training)
    assert base.peak_phase == "update policy"
    for changed_model, changed_training in [
        ({**model, "attention": "sdpa"}, training),
        (model, {**training, "gradient_checkpointing": True}),
        (model, {**training, "micro_batch": 4}),
        ({**model, "lora_rank": 16}, training),
        (model, {**training, "optimizer": "adam8bit"}),
    ]:
        _, plan = _plan([changed_model], changed_training)
        assert plan.peak_bytes < base.peak_bytes


def test_kv_cache_is_two_tensors_per_layer_per_token() -> None:
    gen = {"batch": 16, "prompt_length": 256, "max_new_tokens": 256}
    _, plan = _plan([{"role": "actor", **LLAMA_7B, "trainable": False}], None, gen)
    assert plan.peak_phase in ("generation", "scoring")
    assert plan.phases["generation"] >= 2 * 32 * 16 * 512 * 4096 * 2
    _, gqa = _plan([{"role": "actor", **LLAMA_7B, "kv_heads": 8, "trainable": False}], None, gen)
    assert gqa.phases["generation"] < plan.phases["generation"]


def test_resident_models_add_up_and_phases_do_not() -> None:
    gen = {"batch": 8, "prompt_length": 128, "max_new_tokens": 128, "rollout_batch": 64}
    actor = {"role": "actor", **LLAMA_7B}
    _, one = _plan([actor], {"micro_batch": 2, "sequence_length": 256}, gen)
    _, four = _plan([actor, {**actor, "role": "critic", "lm_head": False},
                     {**actor, "role": "reference"}, {**actor, "role": "reward",
                                                       "lm_head": False}],
                    {"micro_batch": 2, "sequence_length": 256}, gen)
    assert four.by_source["weights"] == pytest.approx(4 * one.by_source["weights"], rel=0.02)
    assert {"generation", "scoring", "update actor", "update critic"} <= set(four.phases)
    assert four.by_source["rollouts"] > 0


def test_frozen_layers_save_optimizer_state_and_untied_activations() -> None:
    training = {"micro_batch": 4, "sequence_length": 1024}
    _, full = _plan([{"role": "policy", **LLAMA_7B}], training)
    _, half = _plan([{"role": "policy", **LLAMA_7B, "frozen_layers": 16}], training)
    assert half.by_source["optimizer"] < 0.55 * full.by_source["optimizer"]
    assert half.peak_bytes < full.peak_bytes
    gpt2 = {"role": "policy", "arch": "gpt2", "hidden_size": 768, "layers": 12,
            "vocab_size": 50257, "dtype": "fp32", "attention": "eager"}
    _, tied = _plan([{**gpt2, "frozen_layers": 6}], training)
    _, untied = _plan([{**gpt2, "frozen_layers": 6, "tied_embeddings": False}], training)
    # tied: the trained input embedding's gradient runs back through the frozen layers
    assert tied.by_source["activations"] > 1.5 * untied.by_source["activations"]


def test_a_model_given_by_params_still_gets_its_gradients_counted() -> None:
    _, plan = _plan([{"role": "policy", "params": 1e9, "dtype": "bf16"}])
    assert plan.peak_phase == "update policy"
    assert plan.by_source["gradients"] == 2e9  # bf16 gradients of every parameter
