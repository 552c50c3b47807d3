"""Every committed sample set (tests/data/reward, from make_reward_samples.py) gets the
category planted in it, and the clean sets get no error finding."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from rlvet.findings import Category, Severity
from rlvet.reward import audit_samples

DATA = Path(__file__).resolve().parents[1] / "data" / "reward"
MANIFEST = json.loads((DATA / "manifest.json").read_text())
sys.path.insert(0, str(DATA.parent))

import make_reward_samples as gen  # noqa: E402


def _audit(entry: dict):
    base = DATA / entry["baseline"] if entry["baseline"] else None
    return audit_samples(DATA / entry["file"], baseline=base).result


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["name"] for e in MANIFEST])
def test_planted_behaviour_is_named(entry: dict) -> None:
    result = _audit(entry)
    reported = {str(f.category) for f in result.findings if f.severity != Severity.INFO}
    assert set(entry["planted"]) <= reported
    assert reported <= set(entry["planted"]) | set(entry["also"])
    if not entry["planted"]:
        assert result.verdict == "pass"


def test_first_break_is_the_specific_mechanism() -> None:
    rep = next(e for e in MANIFEST if e["name"] == "repetition")
    assert _audit(rep).first_break.category == Category.REPETITION
    sparse = next(e for e in MANIFEST if e["name"] == "sparse")
    assert _audit(sparse).first_break.category == Category.REWARD_SPARSITY


def test_component_hacking_names_the_component() -> None:
    entry = next(e for e in MANIFEST if e["name"] == "component_hacking")
    (f,) = [f for f in _audit(entry).findings if f.check == "reward.components.hacking"]
    assert f.evidence["component"] == "politeness"
    assert f.severity == Severity.ERROR


def test_longer_reasoning_that_is_more_correct_is_not_inflation() -> None:
    entry = next(e for e in MANIFEST if e["name"] == "clean_reasoning")
    result = _audit(entry)
    growth = result.metrics["trends"]["length"]
    assert growth["late"] > 1.5 * growth["early"]  # the length really grew ...
    assert result.findings == ()  # ... and bought accuracy


def test_length_without_a_quality_score_is_only_a_warning() -> None:
    records = [json.loads(line) for line in (DATA / "length_inflation.jsonl").open()]
    for r in records:
        r.pop("eval_score")
    found = {str(f.category): str(f.severity) for f in audit_samples(records).result.findings}
    assert found == {"length_inflation": "warning"}


def test_inline_baseline_responses_are_a_baseline() -> None:
    rng = np.random.default_rng(0)
    pad = list(gen.PADDING)
    records = []
    for i in range(48):
        n = int(rng.integers(6, 14))
        records.append({
            "id": i, "step": 100, "reward": 0.1 * n + rng.normal(0, 0.1),
            "response": " ".join(rng.choice(pad, n, replace=False)) + " Final answer: 3",
            "baseline_response": str(rng.choice(pad)) + " Final answer: 3",
        })
    result = audit_samples(records).result
    judged = {str(f.category) for f in result.findings if f.severity != "info"}
    assert judged == {"length_inflation"}  # one step: trends are named as not judged (info)
    assert result.metrics["baseline"]["source"] == "baseline_response"


def test_generator_is_deterministic_and_matches_the_committed_sets(tmp_path: Path) -> None:
    for entry in MANIFEST:
        fresh = gen.write_set(tmp_path, entry["behaviour"], 0, small=True)
        assert fresh == entry
        for key in ("file", "baseline"):
            if entry[key]:
                assert (tmp_path / entry[key]).read_bytes() == (DATA / entry[key]).read_bytes()
