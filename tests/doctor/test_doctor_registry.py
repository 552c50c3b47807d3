"""The detector table and the Registry: one detector per category, no silent overwrite."""

from __future__ import annotations

import pytest

from rlvet.doctor import DETECTORS, Registry, default_registry
from rlvet.doctor.remedies import prescribe
from rlvet.findings import STAGE_ORDER, Category, Severity, remedy_of, stage_of

DOCTOR_CATEGORIES = {
    "kl_spike", "clip_saturation", "entropy_collapse", "entropy_stuck", "critic_failure",
    "numerical_instability", "reward_hacking", "sparse_reward", "reward_direction",
    "stale_data", "throughput_drop", "eval_protocol_change", "no_learning_signal", "plateau",
    "memory_growth", "fragmentation", "env_bound", "learner_bound", "truncation",
    "wasted_compute", "train_inference_mismatch", "reference_drift", "length_grad_spike",
}


def test_every_training_category_has_a_detector_a_stage_and_a_remedy():
    assert {str(c) for c in DETECTORS} == DOCTOR_CATEGORIES
    assert all(stage_of(c) and remedy_of(c) for c in DETECTORS)  # the category table


def test_the_table_is_in_loop_order():
    ranks = [STAGE_ORDER.index(stage_of(c)) for c in DETECTORS]
    assert ranks == sorted(ranks)


def test_register_refuses_a_duplicate_unless_told_to_replace():
    reg = default_registry()
    with pytest.raises(ValueError, match="already registered"):
        reg.register("kl_spike", lambda run, ctx: [])
    position = reg.names().index("kl_spike")
    reg.register("kl_spike", lambda run, ctx: [], replace=True)
    assert reg.names().index("kl_spike") == position


def test_default_registry_is_fresh_each_time():
    a, b = default_registry(), default_registry()
    a.unregister("plateau")
    a.register("mine", lambda run, ctx: [])
    assert "plateau" in b.names() and "mine" not in b.names()
    assert len(b) == len(DETECTORS)


def test_an_empty_registry_runs_nothing():
    assert Registry().names() == []


def test_prescribe_fills_check_stage_and_remedy():
    f = prescribe(Category.STALE_DATA, severity=Severity.ERROR, message="m",
                  evidence={"lag": 3.0}, step=7)
    assert f.check == "doctor.stale_data" and str(f.stage) == "freshness"
    assert f.remedy == remedy_of(Category.STALE_DATA)
