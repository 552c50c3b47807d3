"""The calibration corpus's held-out half, as a regression guard in ``make test``.

The full tables (per category, confusion, live replays through Monitor and RlvetCallback)
are ``benchmarks/calibration.py``; here every held-out run is diagnosed offline (seconds)
and the healthy ones, plus one faulty run per category, are replayed through the live path.
The thresholds are the bar of issue #12, so a change that breaks a held-out verdict fails.
"""

from __future__ import annotations

import json
import sys
import tarfile
from collections import defaultdict
from pathlib import Path

import pytest

from rlvet.doctor.diagnose import diagnose
from rlvet.doctor.replay import replay
from rlvet.findings import Severity
from rlvet.signals.discover import read_run

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT / "tests" / "data" / "corpus" / "corpus.tar.xz"
sys.path.insert(0, str(ROOT / "benchmarks"))

pytestmark = pytest.mark.skipif(not ARCHIVE.exists(), reason="corpus archive not built")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(out, filter="data")
    return out


@pytest.fixture(scope="module")
def heldout(corpus: Path) -> list[dict[str, object]]:
    from calibration import load_manifest

    return [e for e in load_manifest(corpus) if e["split"] == "heldout" and e.get("verified", True)]


def _eval_metric(entry: dict[str, object]) -> str | None:
    return str(entry.get("eval_metric") or "").split(" ")[0] or None


def _diagnose(corpus: Path, entry: dict[str, object]):  # type: ignore[no-untyped-def]
    from calibration import run_dir

    return diagnose(read_run(run_dir(corpus, entry)), eval_metric=_eval_metric(entry))


def test_heldout_first_breaks_meet_the_bar(corpus: Path, heldout: list[dict]) -> None:
    by_category: dict[str, list[bool]] = defaultdict(list)
    for entry in heldout:
        planted = entry["expected_first_category"]
        if planted is None:
            continue
        d = _diagnose(corpus, entry)
        named = None if d.first_break is None else str(d.first_break.category)
        by_category[str(planted)].append(named in {planted, *entry.get("also_accept", ())})
    total = [ok for oks in by_category.values() for ok in oks]
    assert len(total) >= 30, "the held-out half should hold the planted faults"
    assert sum(total) / len(total) >= 0.9, {k: f"{sum(v)}/{len(v)}" for k, v in
                                            by_category.items()}
    weak = {k: f"{sum(v)}/{len(v)}" for k, v in by_category.items() if sum(v) / len(v) < 0.8}
    assert not weak, weak


def test_heldout_healthy_runs_get_no_error(corpus: Path, heldout: list[dict]) -> None:
    healthy = [e for e in heldout if e["expected_first_category"] is None]
    assert len(healthy) >= 20
    errors = {}
    warning_categories = 0
    for entry in healthy:
        d = _diagnose(corpus, entry)
        bad = sorted({str(f.category) for f in d.findings if f.severity == Severity.ERROR})
        warning_categories += len({f.category for f in d.findings
                                   if f.severity == Severity.WARNING})
        if bad:
            errors[entry["name"]] = bad
    assert not errors
    assert warning_categories / len(healthy) <= 1.0


def test_live_replay_stops_no_heldout_healthy_run(corpus: Path, heldout: list[dict]) -> None:
    from calibration import run_dir

    stopped = {}
    for entry in heldout:
        if entry["expected_first_category"] is not None:
            continue
        r = replay(read_run(run_dir(corpus, entry)), eval_metric=_eval_metric(entry))
        if r.stopped_at is not None:
            stopped[entry["name"]] = (r.stopped_at, str(r.finding.category if r.finding else ""))
    assert not stopped


def test_manifest_split_is_by_env_and_seed(corpus: Path) -> None:
    from calibration import load_manifest

    entries = load_manifest(corpus)
    halves: dict[tuple[str, int], set[str]] = defaultdict(set)
    for e in entries:
        halves[(str(e["env"]), int(e["seed"]))].add(str(e["split"]))  # type: ignore[arg-type]
    assert all(len(h) == 1 for h in halves.values())  # one (env, seed) never in both halves
    planted = {str(e["expected_first_category"]) for e in entries if e.get("verified", True)
               and e["expected_first_category"] is not None}
    for category in planted:
        splits = {e["split"] for e in entries if e["expected_first_category"] == category}
        assert splits == {"tune", "heldout"}, category
    assert json.dumps(entries)  # the manifest is plain JSON
