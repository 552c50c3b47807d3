"""The LLM calibration corpus's held-out half as a strict regression guard.

The corpus (``benchmarks/llm_corpus/``: real tiny TRL GRPO runs, healthy and with planted
LLM pathologies, verified from their own logs, split by seed before any verdict) is
unpacked from ``tests/data/llm_corpus/llm_corpus.tar.xz``; every held-out run is diagnosed
offline (about a second in all). The runs it gets wrong are listed below, like strict
xfails: a new miss fails the test, and so does a fixed one until it is taken off the list
(then the figures in docs/calibration-llm.md must be re-measured).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rlvet.doctor.diagnose import diagnose
from rlvet.findings import Severity
from rlvet.signals.discover import read_run

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT / "tests" / "data" / "llm_corpus" / "llm_corpus.tar.xz"
sys.path.insert(0, str(ROOT / "benchmarks"))

pytestmark = pytest.mark.skipif(not ARCHIVE.exists(), reason="LLM corpus archive not built")

SPARSE = "sparse_reward (an error dated at step 1, like no_learning_signal; registered first)"
STALE = ("no stale_data detector reads TRL's clip ratio; the stale run's collapse reads as "
         "no_learning_signal")
KNOWN_HELDOUT_MISSES: dict[str, str] = {
    "trl_grpo_always_one_s1": SPARSE,
    "trl_grpo_always_one_s3": SPARSE,
    "trl_grpo_always_one_s5": SPARSE,
    "trl_grpo_always_one_s7": SPARSE,
    "trl_grpo_always_zero_s1": SPARSE,
    "trl_grpo_always_zero_s3": SPARSE,
    "trl_grpo_always_zero_s5": SPARSE,
    "trl_grpo_always_zero_s7": SPARSE,
    "trl_grpo_format_only_s1": "no reward_hacking finding; reference_drift warning first",
    "trl_grpo_format_only_s5": "no reward_hacking finding; reference_drift warning first",
    "trl_grpo_length_paid_s7": "entropy_stuck warning dated before reward_hacking",
    "trl_grpo_stale_s3": STALE,
    "trl_grpo_stale_s5": STALE,
    "trl_grpo_stale_s7": STALE,
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from llm_calibration import corpus_dir

    return corpus_dir(ARCHIVE, tmp_path_factory.mktemp("llm_corpus"))


def _entries(root: Path, split: str) -> list[dict[str, object]]:
    from llm_calibration import entries

    return entries(root, split)


def test_heldout_verdicts_are_the_published_ones(corpus: Path) -> None:
    from calibration import run_dir

    runs = _entries(corpus, "heldout")
    assert len(runs) >= 20
    wrong = set()
    for entry in runs:
        d = diagnose(read_run(run_dir(corpus, entry)), eval_metric=str(entry["eval_metric"]))
        planted = entry["expected_first_category"]
        if planted is None:
            ok = not any(f.severity == Severity.ERROR for f in d.findings)
        else:
            ok = d.first_break is not None and str(d.first_break.category) == planted
        if not ok:
            wrong.add(str(entry["name"]))
    assert wrong == set(KNOWN_HELDOUT_MISSES)


def test_split_is_by_seed_and_covers_every_kind(corpus: Path) -> None:
    runs = _entries(corpus, "all")
    assert len(runs) >= 40
    assert all(e["split"] == ("tune" if int(str(e["seed"])) % 2 == 0 else "heldout")
               for e in runs)
    for kind in {str(e["kind"]) for e in runs}:
        assert {e["split"] for e in runs if e["kind"] == kind} == {"tune", "heldout"}, kind
