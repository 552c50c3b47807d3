"""rlvet on the real TRL GRPO runs committed under tests/data/trl_runs (no TRL needed).

The runs come from ``tests/data/make_trl_runs.py``: ``length_paid`` (the reward pays per
generated letter; answers grew ~3x, the true objective did not move) and ``sane`` (the
reward is the true objective; both rose). Each has the Trainer's ``trainer_state.json``,
the ``RlvetTrlCallback`` JSONL beside it in ``run/``, and the recorded ``samples.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rlvet.cli import main
from rlvet.doctor.diagnose import diagnose
from rlvet.findings import Category, Finding, Severity
from rlvet.reward import audit_samples
from rlvet.signals.discover import read_run

DATA = Path(__file__).resolve().parents[1] / "data" / "trl_runs"
MANIFEST = json.loads((DATA / "manifest.json").read_text())
EVAL_METRIC = "rlvet/eval_score"  # rlvet.integrations.trl.EVAL_METRIC (importing it needs TRL)

# canonical name -> the name TRL's GRPOTrainer logs it under (trl/trainer/grpo_trainer.py)
TRL_NAMES = {
    "kl_ref": "kl",  # TRL's kl is KL to the reference (aliases.DIALECTS)
    "entropy": "entropy",
    "clip_fraction": "clip_ratio/region_mean",
    "response_length": "completions/mean_length",
    "reward": "reward",
    "reward_std": "reward_std",
    "frac_reward_zero_std": "frac_reward_zero_std",
    "grad_norm": "grad_norm",
    "learning_rate": "learning_rate",
    "loss": "loss",
}
REWARD_FUNC = {"length_paid": "length_reward", "sane": "starts_with_target"}
SOURCES = ("run", "run/trainer_state.json", "run/rlvet.jsonl")


def _errors(findings: tuple[Finding, ...]) -> set[str]:
    return {str(f.category) for f in findings if f.severity == Severity.ERROR}


def test_the_runs_show_their_behaviour() -> None:
    """Checked from the logs when they were made: the pathology is really there."""
    runs = MANIFEST["runs"]
    assert all(runs[name]["shows_behaviour"] for name in REWARD_FUNC)
    length = runs["length_paid"]["evidence"]
    assert length["length_end"] >= 2 * length["length_start"]
    assert length["eval_end"] <= length["eval_start"] + 0.15


@pytest.mark.parametrize("name", sorted(REWARD_FUNC))
def test_doctor_reads_trl_names_from_trainer_state(name: str) -> None:
    run = read_run(DATA / name / "run" / "trainer_state.json")
    assert run.formats == ("trainer_state",)
    for canonical, raw in TRL_NAMES.items():
        assert run.raw_names.get(canonical, canonical) == raw
        assert len(run.get(canonical)) == MANIFEST["runs"][name]["steps"], canonical
    component = f"reward/{REWARD_FUNC[name]}"
    assert run.raw_names[component] == f"rewards/{REWARD_FUNC[name]}/mean"
    assert float(np.nanmax(run.get("kl_ref").values)) > 0  # beta > 0: KL to the reference
    assert EVAL_METRIC in run.series


@pytest.mark.parametrize("name", sorted(REWARD_FUNC))
def test_callback_jsonl_matches_trainer_state(name: str) -> None:
    state = read_run(DATA / name / "run" / "trainer_state.json")
    jsonl = read_run(DATA / name / "run" / "rlvet.jsonl")
    assert set(state.series) == set(jsonl.series)
    for key, series in state.series.items():
        other = jsonl.series[key]
        np.testing.assert_array_equal(series.steps, other.steps)
        np.testing.assert_allclose(series.values, other.values, equal_nan=True)


@pytest.mark.parametrize("source", SOURCES)
def test_length_paid_run_is_named_by_the_doctor(source: str) -> None:
    d = diagnose(read_run(DATA / "length_paid" / source), eval_metric=EVAL_METRIC)
    assert d.first_break is not None
    assert d.first_break.category == Category.REWARD_HACKING
    assert d.first_break.evidence["length_peak"] >= 2 * d.first_break.evidence["length_start"]


def test_length_paid_samples_show_length_inflation() -> None:
    result = audit_samples(DATA / "length_paid" / "samples.jsonl").result
    assert Category.LENGTH_INFLATION in _errors(result.findings)
    assert result.first_break.category == Category.LENGTH_INFLATION
    assert result.metrics["quality_direction"] in {"flat", "down"}


@pytest.mark.parametrize("source", SOURCES)
def test_sane_run_has_no_error_from_the_doctor(source: str) -> None:
    d = diagnose(read_run(DATA / "sane" / source), eval_metric=EVAL_METRIC)
    assert not _errors(d.findings)


def test_sane_samples_have_no_error() -> None:
    result = audit_samples(DATA / "sane" / "samples.jsonl").result
    assert not _errors(result.findings)
    assert result.metrics["quality_direction"] == "up"


def test_cli_exit_codes(capsys: pytest.CaptureFixture) -> None:
    assert main(["reward", str(DATA / "length_paid" / "samples.jsonl"), "--json"]) == 1
    assert main(["reward", str(DATA / "sane" / "samples.jsonl"), "--json"]) == 0
    assert main(["doctor", str(DATA / "sane" / "run"), "--eval-metric", EVAL_METRIC,
                 "--json"]) == 0
    capsys.readouterr()
