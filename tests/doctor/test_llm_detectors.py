"""LLM post-training detectors (doctor/llm.py) on real logs written by the frameworks' code.

TRL runs come from ``tests/data/make_trl_runs.py`` (tiny GRPO runs on CPU): ``length_paid``
(truncation rising as the policy is paid for length), ``too_hard`` / ``too_easy`` (every
group flat), ``partly_flat`` (a steady share of flat groups), ``sane`` (healthy). The
train/inference mismatch needs a separate inference engine (TRL's ``sampling/*`` metrics
need vLLM, which does not run on CPU), so it is tested on the OpenRLHF-format runs of
``tests/data/make_llm_framework_logs.py``: ``openrlhf_mismatch`` (sampler at another
temperature than the trainer) against ``openrlhf_aligned`` (bf16 rounding only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rlvet.doctor import llm
from rlvet.doctor.diagnose import diagnose
from rlvet.doctor.registry import DetectContext
from rlvet.findings import Category, Severity
from rlvet.signals.discover import read_run
from rlvet.signals.series import RunSignals, Series

DATA = Path(__file__).resolve().parents[1] / "data"
TRL = DATA / "trl_runs"
FRAMEWORKS = DATA / "llm_frameworks"
EVAL_METRIC = "rlvet/eval_score"
LLM_CATEGORIES = {Category.TRUNCATION, Category.WASTED_COMPUTE,
                  Category.TRAIN_INFERENCE_MISMATCH, Category.REFERENCE_DRIFT,
                  Category.LENGTH_GRAD_SPIKE}
DETECTORS = (llm.detect_truncation, llm.detect_wasted_compute,
             llm.detect_train_inference_mismatch, llm.detect_reference_drift,
             llm.detect_length_grad_spike)


def _trl(name: str):
    return diagnose(read_run(TRL / name / "run"), eval_metric=EVAL_METRIC)


def _of(d, category: Category):
    return [f for f in d.findings if f.category == category]


def test_truncation_rising_in_the_length_paid_run() -> None:
    d = _trl("length_paid")
    [f] = _of(d, Category.TRUNCATION)
    # the reward pays for length: truncation is the symptom (the detector's warning names
    # the cause; beside diagnose's reward_hacking finding it is info)
    assert f.evidence["rho_length_vs_reward"] >= 0.8
    assert f.severity == (Severity.INFO if _of(d, Category.REWARD_HACKING) else Severity.WARNING)
    [raw] = llm.detect_truncation(read_run(TRL / "length_paid" / "run"),
                                  DetectContext(reward="reward"))
    assert raw.severity == Severity.WARNING
    assert f.evidence["truncated_median_after"] >= llm.TRUNCATION_LEVEL
    assert f.evidence["truncated_start"] < f.evidence["truncated_median_after"]
    assert "cap" in f.remedy and "do not raise" in f.remedy
    assert d.first_break is not None and d.first_break.category != Category.TRUNCATION


def test_truncation_without_length_pay_is_an_error() -> None:
    # verl_blowup: after the planted blow-up (step 30) most completions hit the cap
    d = diagnose(read_run(FRAMEWORKS / "verl_blowup"))
    [f] = _of(d, Category.TRUNCATION)
    assert f.severity == Severity.ERROR and f.step >= 30


def test_truncation_high_from_the_start_is_left_alone() -> None:
    # the toy framework runs cut ~60% of completions from step 0 on: a configuration, flat
    for name in ("verl_healthy", "openrlhf_healthy"):
        assert _of(diagnose(read_run(FRAMEWORKS / name)), Category.TRUNCATION) == []


@pytest.mark.parametrize("name", ["too_hard", "too_easy"])
def test_all_flat_groups_are_no_learning_signal_with_the_wasted_share(name: str) -> None:
    d = _trl(name)
    [f] = _of(d, Category.NO_LEARNING_SIGNAL)
    assert f.severity == Severity.ERROR and f.evidence["wasted_share_of_run"] >= 0.9
    assert _of(d, Category.WASTED_COMPUTE) == []  # the same groups are reported once


def test_a_steady_share_of_flat_groups_is_measured() -> None:
    d = _trl("partly_flat")
    [f] = _of(d, Category.NO_LEARNING_SIGNAL)
    assert 0.2 <= f.evidence["wasted_share_of_run"] <= 0.5
    assert f.severity == Severity.WARNING


def test_mismatch_growing_while_the_clip_is_quiet() -> None:
    d = diagnose(read_run(FRAMEWORKS / "openrlhf_mismatch"))
    [f] = _of(d, Category.TRAIN_INFERENCE_MISMATCH)
    assert f.evidence["median_after"] >= llm.MISMATCH_LEVEL
    assert f.evidence["growth"] >= llm.MISMATCH_GROWTH
    assert f.evidence["clip_fraction_after"] <= llm.CLIP_QUIET
    assert "importance sampling" in f.remedy


def test_a_large_gap_from_the_first_step_is_a_mismatch_error_though_it_never_grows() -> None:
    # a sampler at another temperature from the start: the gap sits at ~0.2 nats/token and
    # never reaches 3x its own early level (TRL 1.16's metrics, tests/data/llm_corpus)
    steps = np.arange(1, 61)
    gap = 0.2 + 0.01 * np.sin(steps)
    run = RunSignals(source="synthetic", series={
        "logprob_diff": Series.from_lists(steps, gap),
        "clip_fraction": Series.from_lists(steps, np.zeros(60))},
        raw_names={"logprob_diff": "sampling/sampling_logp_difference/mean"},
        formats=("synthetic",))
    [f] = llm.detect_train_inference_mismatch(run, DetectContext())
    assert f.severity == Severity.ERROR and f.step == 1 and "sat at" in f.message


def test_aligned_sampler_has_no_mismatch() -> None:
    d = diagnose(read_run(FRAMEWORKS / "openrlhf_aligned"))
    assert _of(d, Category.TRAIN_INFERENCE_MISMATCH) == []


def test_kl_to_reference_still_climbing_is_reference_drift_as_info() -> None:
    # beta 0.04, KL to the reference 0 -> 0.75 nats/token, still rising: what a learning
    # run with a small beta does, so a fact to read (info), not an alarm
    d = _trl("sane")
    [f] = _of(d, Category.REFERENCE_DRIFT)
    assert f.severity == Severity.INFO and f.evidence["kl_end"] >= llm.KL_REF_BUDGET
    assert "beta" in f.remedy


def test_kl_to_reference_that_plateaus_is_not_drift() -> None:
    # length_paid's KL flattens at ~0.13 over its last third
    assert _of(_trl("length_paid"), Category.REFERENCE_DRIFT) == []


@pytest.mark.parametrize("name", ["sane", "length_paid", "too_hard", "too_easy",
                                  "partly_flat"])
def test_llm_detectors_never_error_on_healthy_or_reward_side_runs(name: str) -> None:
    d = _trl(name)
    assert all(f.severity != Severity.ERROR for f in d.findings if f.category in LLM_CATEGORIES)


@pytest.mark.parametrize("name", ["verl_healthy", "openrlhf_healthy", "openrlhf_aligned"])
def test_healthy_framework_runs_have_no_error(name: str) -> None:
    d = diagnose(read_run(FRAMEWORKS / name))
    assert d.exit_code == 0


def test_classic_control_runs_are_untouched(ppo, dqn) -> None:
    ctx = DetectContext(reward="reward", eval="eval_return")
    for run in (ppo(seed=0), dqn(seed=0)):
        for detect in DETECTORS:
            assert detect(run, ctx) == []
