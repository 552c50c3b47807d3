"""The doctor on real SB3 / CleanRL runs recorded by ``tests/data/make_runs.py``.

``tests/data/runs/manifest.json`` lists each run with ``expected_first_category`` (null for
a healthy run). A pathological run must get that category as its first break; a healthy
run must get no error finding at all. The detectors were designed for the failure class,
not tuned to these logs: other seeds, envs and configs are expected to read the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rlvet.doctor import diagnose
from rlvet.findings import Severity

RUNS = Path(__file__).resolve().parents[1] / "data" / "runs"
MANIFEST = RUNS / "manifest.json"


def _entries() -> list[dict[str, Any]]:
    if not MANIFEST.exists():
        return []
    data = json.loads(MANIFEST.read_text())
    return list(data["runs"] if isinstance(data, dict) else data)


ENTRIES = _entries()
pytestmark = pytest.mark.skipif(not ENTRIES, reason="tests/data/runs/manifest.json not recorded")


def _diagnose(entry: dict[str, Any]):
    from rlvet.signals.discover import read_run  # noqa: PLC0415 - only with recorded runs

    return diagnose(read_run(RUNS / entry["name"]))


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if e.get("expected_first_category")], ids=lambda e: e["name"])
def test_pathological_run_gets_the_expected_first_break(entry):
    d = _diagnose(entry)
    got = None if d.first_break is None else str(d.first_break.category)
    seen = [(str(f.severity), str(f.category), f.step) for f in d.findings]
    assert got == entry["expected_first_category"], f"findings: {seen}"


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if not e.get("expected_first_category")], ids=lambda e: e["name"])
def test_healthy_run_gets_no_error(entry):
    d = _diagnose(entry)
    errors = [f.message for f in d.findings if f.severity == Severity.ERROR]
    assert errors == []


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if e.get("expected_first_category")], ids=lambda e: e["name"])
def test_rollback_checkpoint_is_before_the_break(entry):
    d = _diagnose(entry)
    if d.rollback_checkpoint is not None:
        assert d.rollback_checkpoint.step <= d.last_healthy_step < d.first_break.step
