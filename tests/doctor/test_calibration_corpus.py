"""The calibration corpus's held-out half, as a strict regression guard in ``make test``.

The full tables (per category, confusion, live replays through Monitor and RlvetCallback)
are ``benchmarks/calibration.py`` and ``docs/calibration.md``. Here every held-out run is
diagnosed offline (seconds) and every held-out healthy run is replayed through the live
path. The held-out half misses issue #12's bar (90% first-break recall, no error on a
healthy run, no healthy run stopped live); the runs it gets wrong are listed below, like
strict xfails: a new miss fails the test, and so does a fixed one until it is taken off
the list (the figures in docs/calibration.md must then be re-measured).
"""

from __future__ import annotations

import sys
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

KNOWN_OFFLINE_MISSES = {
    # healthy runs with an error finding
    "sb3_ppo_cartpole_healthy_short_8k_s1": "critic_failure on a 31-update run",
    "sb3_ppo_hopper_healthy_s1": "entropy_stuck: continuous-action log-std barely moves",
    "cleanrl_ppo_lunar_healthy_s0": "entropy_stuck: likewise, while the return improves",
    "rlvet_ppo_lunar_healthy_s0": "reward_direction: signed LunarLander returns",
    # planted faults named wrongly or not at all
    "cleanrl_ppo_cartpole_lr_too_high_early_strong_s1": "entropy_collapse before kl_spike",
    "rlvet_ppo_cartpole_lr_too_high_start_strong_s1": "no finding",
    "sb3_ppo_cartpole_neg_ent_coef_late_strong_s1": "kl_spike before entropy_collapse",
    "sb3_ppo_cartpole_high_ent_coef_early_strong_s3": "entropy not pinned for the whole run",
    "cleanrl_ppo_cartpole_done_bug_late_strong_s1": "critic fitted before the late bug",
    "sb3_ppo_cartpole_proxy_exit_bonus_start_strong_s3": "no finding",
    "sb3_sac_pendulum_proxy_spin_bonus_early_strong_s1": "proxy crossing zero read as negation",
    "sb3_dqn_cartpole_leak_late_strong_s3": "no finding",
}
KNOWN_LIVE_STOPS = {"rlvet_ppo_lunar_healthy_s0": "reward_hacking"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from calibration import unpack

    return unpack(ARCHIVE, tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def heldout(corpus: Path) -> list[dict[str, object]]:
    from calibration import load_manifest

    return [e for e in load_manifest(corpus) if e["split"] == "heldout" and e.get("verified", True)]


def _eval_metric(entry: dict[str, object]) -> str | None:
    return str(entry.get("eval_metric") or "").split(" ")[0] or None


def test_heldout_verdicts_are_the_published_ones(corpus: Path, heldout: list[dict]) -> None:
    from calibration import run_dir

    wrong = set()
    for entry in heldout:
        d = diagnose(read_run(run_dir(corpus, entry)), eval_metric=_eval_metric(entry))
        planted = entry["expected_first_category"]
        if planted is None:
            ok = not any(f.severity == Severity.ERROR for f in d.findings)
        else:
            named = None if d.first_break is None else str(d.first_break.category)
            ok = named in {planted, *entry.get("also_accept", ())}
        if not ok:
            wrong.add(str(entry["name"]))
    assert len(heldout) >= 70
    assert wrong == set(KNOWN_OFFLINE_MISSES)


def test_live_replay_of_heldout_healthy_runs(corpus: Path, heldout: list[dict]) -> None:
    from calibration import run_dir

    stopped = {}
    for entry in heldout:
        if entry["expected_first_category"] is not None:
            continue
        r = replay(read_run(run_dir(corpus, entry)), eval_metric=_eval_metric(entry))
        if r.stopped_at is not None and r.finding is not None:
            stopped[str(entry["name"])] = str(r.finding.category)
    assert stopped == KNOWN_LIVE_STOPS


def test_manifest_split_is_by_env_and_seed(corpus: Path) -> None:
    from calibration import load_manifest

    entries = load_manifest(corpus)
    halves: dict[tuple[str, int], set[str]] = {}
    for e in entries:
        halves.setdefault((str(e["env"]), int(e["seed"])), set()).add(str(e["split"]))
    assert all(len(h) == 1 for h in halves.values())  # one (env, seed) never in both halves
    planted = {str(e["expected_first_category"]) for e in entries
               if e.get("verified", True) and e["expected_first_category"] is not None}
    for category in planted:
        splits = {e["split"] for e in entries if e["expected_first_category"] == category}
        assert splits == {"tune", "heldout"}, category
