"""The category table: every category has its one complete row, and every row is wired up.

Adding a ``Category`` without its row in ``rlvet.findings.CATEGORIES`` -- stage, default
severity, remedy and the stage-gate questions it fails -- fails here.
"""

from __future__ import annotations

import pytest

from rlvet.doctor.registry import DETECTORS
from rlvet.findings import (
    CATEGORIES,
    CAUSE_ORDER,
    BreakPolicy,
    Category,
    CategoryInfo,
    Finding,
    Severity,
    Stage,
    first_break,
    remedy_of,
    stage_of,
)
from rlvet.report.gates import GATES

PER_LINK = {Category.INSUFFICIENT_EVIDENCE}
"""Categories about whichever link their finding names: no fixed stage, no gate, info."""


@pytest.mark.parametrize("category", list(Category), ids=str)
def test_every_category_has_a_complete_row(category: Category) -> None:
    info = CATEGORIES[category]
    assert isinstance(info, CategoryInfo)
    assert isinstance(info.severity, Severity)
    assert info.remedy.strip()
    if category in PER_LINK:
        assert info.stage is None and info.gates == () and info.severity == Severity.INFO
    else:
        assert isinstance(info.stage, Stage) and stage_of(category) == info.stage
        assert info.gates, f"{category} fails no stage gate"
    assert remedy_of(category) == info.remedy


def test_the_table_holds_categories_only() -> None:
    assert set(CATEGORIES) == set(Category)


def test_every_gate_a_row_names_exists() -> None:
    gate_ids = {g.id for g in GATES}
    for category, info in CATEGORIES.items():
        assert set(info.gates) <= gate_ids, (category, info.gates)


def test_the_gates_read_their_categories_from_the_table() -> None:
    for gate in GATES:
        expected = {str(c) for c, info in CATEGORIES.items() if gate.id in info.gates}
        assert gate.categories == expected


def test_every_doctor_detector_reports_a_category_with_a_row() -> None:
    for category in DETECTORS:
        assert category in CATEGORIES and stage_of(category) is not None


def test_sparse_reward_and_reward_sparsity_are_one_row() -> None:
    assert CATEGORIES[Category.SPARSE_REWARD] is CATEGORIES[Category.REWARD_SPARSITY]


def test_severity_is_ordered() -> None:
    assert Severity.ERROR > Severity.WARNING > Severity.INFO
    assert sorted(Severity, key=lambda s: s.rank) == [Severity.ERROR, Severity.WARNING,
                                                      Severity.INFO]
    assert max([Severity.INFO, Severity.ERROR, Severity.WARNING]) == Severity.ERROR
    assert Severity.WARNING >= "warning" and Severity.WARNING < "error"


def test_finding_of_fills_stage_severity_and_remedy_from_the_table() -> None:
    f = Finding.of(Category.STALE_DATA, check="x", message="m", step=3)
    assert (f.stage, f.severity, f.remedy) == (Stage.FRESHNESS, Severity.ERROR,
                                               remedy_of(Category.STALE_DATA))
    own = Finding.of(Category.STALE_DATA, check="x", message="m", remedy="mine",
                     severity=Severity.INFO)
    assert (own.remedy, own.severity) == ("mine", Severity.INFO)
    with pytest.raises(KeyError):
        Finding.of(Category.INSUFFICIENT_EVIDENCE, check="x", message="m")
    note = Finding.of(Category.INSUFFICIENT_EVIDENCE, check="x", message="m",
                      stage=Stage.CRITIC)
    assert note.stage == Stage.CRITIC and note.severity == Severity.INFO


def _f(category: Category, severity: Severity, step: int | None) -> Finding:
    return Finding.of(category, check=str(category), message="m", severity=severity, step=step)


def test_first_break_policies() -> None:
    kl = _f(Category.KL_SPIKE, Severity.ERROR, 900)
    clip = _f(Category.CLIP_SATURATION, Severity.WARNING, 100)
    hack = _f(Category.REWARD_HACKING, Severity.WARNING, 100)
    assert first_break([kl, clip]) is kl  # SEVERITY: the error first
    assert first_break([clip, hack]) is hack  # tie: loop order (reward before policy update)
    length = _f(Category.LENGTH_INFLATION, Severity.ERROR, 10)
    repeat = _f(Category.REPETITION, Severity.ERROR, 50)
    assert first_break([length, repeat], BreakPolicy.CAUSE) is repeat  # CAUSE_ORDER
    assert CAUSE_ORDER.index(Category.REPETITION) < CAUSE_ORDER.index(Category.LENGTH_INFLATION)
    info = _f(Category.PLATEAU, Severity.INFO, 0)
    assert all(first_break([info], p) is None for p in BreakPolicy)
