"""The calibration corpora as a strict regression guard in ``make test``.

The full tables (per category, confusion, live replays through Monitor and RlvetCallback)
are ``benchmarks/calibration.py`` and ``docs/calibration.md``. Six archives: the first
corpus (``corpus.tar.xz``, 144 runs; its held-out half was scored and looked at, so all of
it is tuning material now), the fresh .. fresh4 sets (each scored once, then looked at) and
fresh5 (``fresh5.tar.xz``: scored once with the rules of commit 0b4b8b5, the published
figures; its misses recorded here are that scoring's). Every run is diagnosed offline
(seconds) and every fresh2 .. fresh5 healthy run is replayed through the live path. The
runs each gets wrong are listed below, like strict xfails: a new miss fails the test, and
so does a fixed one until it is taken off the list (the figures in docs/calibration.md
must then be re-measured, and a set scored once says so).
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
DATA = ROOT / "tests" / "data" / "corpus"
ARCHIVE, FRESH, FRESH2 = DATA / "corpus.tar.xz", DATA / "fresh.tar.xz", DATA / "fresh2.tar.xz"
FRESH3, FRESH4, FRESH5 = (DATA / f"fresh{i}.tar.xz" for i in (3, 4, 5))
sys.path.insert(0, str(ROOT / "benchmarks"))

pytestmark = pytest.mark.skipif(
    not all(a.exists() for a in (ARCHIVE, FRESH, FRESH2, FRESH3, FRESH4, FRESH5)),
    reason="corpus archives not built")

KNOWN_OFFLINE_MISSES = {
    "corpus": {
        "rlvet_ppo_cartpole_many_epochs_start_mild_s2": "KL 10x rlvet's usual, within the "
                                                        "field's range: nothing named",
        "sb3_ppo_cartpole_neg_ent_coef_late_strong_s1": "kl_spike one update before the "
                                                        "entropy collapse it comes from",
        "cleanrl_ppo_cartpole_done_bug_late_strong_s1": "critic fitted before the late bug",
        "sb3_ppo_cartpole_proxy_exit_bonus_start_strong_s3": "no finding",
        "sb3_ppo_cartpole_reward_spikes_start_strong_s2": "critic_failure before numerics",
        "sb3_dqn_cartpole_leak_late_strong_s3": "no finding",
        "sb3_sac_pendulum_reward_sign_early_strong_s0": "a negated cost climbing through zero "
                                                        "reads as reward_hacking",
    },
    "fresh": {
        "sb3_sac_pendulum_proxy_spin_bonus_early_strong_s20": "give-back within eval noise, "
                                                              "no significant trend apart",
        "sb3_sac_pendulum_leak_late_strong_s21": "throughput fell before the leak began",
        "sb3_td3_pendulum_reward_sign_early_strong_s21": "a negated cost climbing through "
                                                         "zero reads as reward_hacking",
        "rlvet_ppo_acrobot_vf_detached_start_strong_s23": "critic on a flat return: read "
                                                          "as sparse",
    },
}
KNOWN_OFFLINE_MISSES["fresh2"] = {  # scored once with the rules of commit bda544c (11
    # misses then); tuning material since
    "sb3_dqn_cartpole_proxy_exit_bonus_start_strong_s31": "no finding",
    "sb3_td3_pendulum_reward_sign_early_strong_s31": "a negated cost climbing through zero "
                                                     "reads as reward_hacking",
}
KNOWN_OFFLINE_MISSES["fresh3"] = {  # scored once with the rules of commit 71fb38c (4
    # misses and one healthy run stopped live: docs/calibration.md); tuning material since
    "sb3_ppo_lunar_neg_ent_coef_early_mild_s41": "critic_failure before the collapse",
    "rlvet_ppo_acrobot_vf_detached_start_strong_s43": "critic on a flat return: read as "
                                                      "sparse",
}
KNOWN_OFFLINE_MISSES["fresh4"] = {  # scored once with the rules of commit ff5f006 (5
    # misses, one healthy run stopped live: docs/calibration.md); tuning material since
    "sb3_sac_pendulum_proxy_spin_bonus_early_strong_s50": "no finding",
    "rlvet_ppo_acrobot_vf_detached_start_strong_s53": "critic on a flat return: read as "
                                                      "sparse",
    "sb3_dqn_cartpole_proxy_exit_bonus_start_strong_s51": "throughput_drop, no hacking "
                                                          "finding",
    "sb3_ppo_cartpole_proxy_exit_bonus_start_mild_s53": "no finding",
}
KNOWN_OFFLINE_MISSES["fresh5"] = {  # scored once with the rules of commit 0b4b8b5
    "sb3_ppo_cartpole_proxy_exit_bonus_start_mild_s63": "no finding",
}
KNOWN_LIVE_STOPS: dict[str, dict[str, str]] = {
    "fresh2": {}, "fresh3": {},
    "fresh4": {"rlvet_ppo_lunar_healthy_s53": "reward_hacking"},
    "fresh5": {},  # scored once with the rules of commit 0b4b8b5
}


def _unpack(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from calibration import unpack

    return unpack(archive, tmp_path_factory.mktemp(archive.name.split(".")[0]))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _unpack(ARCHIVE, tmp_path_factory)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _unpack(FRESH, tmp_path_factory)


@pytest.fixture(scope="module")
def fresh2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _unpack(FRESH2, tmp_path_factory)


@pytest.fixture(scope="module")
def fresh3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _unpack(FRESH3, tmp_path_factory)


@pytest.fixture(scope="module")
def fresh4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _unpack(FRESH4, tmp_path_factory)


@pytest.fixture(scope="module")
def fresh5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _unpack(FRESH5, tmp_path_factory)


def _entries(root: Path) -> list[dict[str, object]]:
    from calibration import load_manifest

    return [e for e in load_manifest(root) if e.get("verified", True)]


def _eval_metric(entry: dict[str, object]) -> str | None:
    return str(entry.get("eval_metric") or "").split(" ")[0] or None


def _wrong(root: Path) -> set[str]:
    from calibration import run_dir

    wrong = set()
    for entry in _entries(root):
        d = diagnose(read_run(run_dir(root, entry)), eval_metric=_eval_metric(entry))
        planted = entry["expected_first_category"]
        if planted is None:
            ok = not any(f.severity == Severity.ERROR for f in d.findings)
        else:
            named = None if d.first_break is None else str(d.first_break.category)
            ok = named in {planted, *entry.get("also_accept", ())}  # type: ignore[misc]
        if not ok:
            wrong.add(str(entry["name"]))
    return wrong


def test_first_corpus_verdicts_are_the_known_ones(corpus: Path) -> None:
    assert len(_entries(corpus)) >= 140
    assert _wrong(corpus) == set(KNOWN_OFFLINE_MISSES["corpus"])


def test_fresh_verdicts_are_the_known_ones(fresh: Path) -> None:
    assert len(_entries(fresh)) >= 50
    assert _wrong(fresh) == set(KNOWN_OFFLINE_MISSES["fresh"])


def test_fresh2_verdicts_are_the_known_ones(fresh2: Path) -> None:
    assert len(_entries(fresh2)) >= 50
    assert _wrong(fresh2) == set(KNOWN_OFFLINE_MISSES["fresh2"])


def test_fresh3_verdicts_are_the_known_ones(fresh3: Path) -> None:
    assert len(_entries(fresh3)) >= 50
    assert _wrong(fresh3) == set(KNOWN_OFFLINE_MISSES["fresh3"])


def _live_stops(root: Path) -> dict[str, str]:
    """Healthy runs the live path stops, with the category it stopped on."""
    from calibration import run_dir

    stopped = {}
    for entry in _entries(root):
        if entry["expected_first_category"] is not None:
            continue
        r = replay(read_run(run_dir(root, entry)), eval_metric=_eval_metric(entry))
        if r.stopped_at is not None and r.finding is not None:
            stopped[str(entry["name"])] = str(r.finding.category)
    return stopped


def test_live_replay_of_fresh2_healthy_runs(fresh2: Path) -> None:
    assert _live_stops(fresh2) == KNOWN_LIVE_STOPS["fresh2"]


def test_live_replay_of_fresh3_healthy_runs(fresh3: Path) -> None:
    assert _live_stops(fresh3) == KNOWN_LIVE_STOPS["fresh3"]


def test_fresh4_verdicts_are_the_known_ones(fresh4: Path) -> None:
    assert len(_entries(fresh4)) >= 50
    assert _wrong(fresh4) == set(KNOWN_OFFLINE_MISSES["fresh4"])


def test_live_replay_of_fresh4_healthy_runs(fresh4: Path) -> None:
    assert _live_stops(fresh4) == KNOWN_LIVE_STOPS["fresh4"]


def test_fresh5_heldout_verdicts_are_the_published_ones(fresh5: Path) -> None:
    assert len(_entries(fresh5)) >= 50
    assert _wrong(fresh5) == set(KNOWN_OFFLINE_MISSES["fresh5"])


def test_live_replay_of_fresh5_healthy_runs(fresh5: Path) -> None:
    assert _live_stops(fresh5) == KNOWN_LIVE_STOPS["fresh5"]


def test_manifest_split_is_by_env_and_seed(corpus: Path, fresh: Path, fresh2: Path,
                                           fresh3: Path, fresh4: Path, fresh5: Path) -> None:
    from calibration import load_manifest

    entries = load_manifest(corpus)
    assert all(e["split"] == "fresh" for e in _entries(fresh))  # held out entire
    assert all(e["split"] == "fresh2" for e in _entries(fresh2))
    assert all(e["split"] == "fresh3" for e in _entries(fresh3))
    assert all(e["split"] == "fresh4" for e in _entries(fresh4))
    assert all(e["split"] == "fresh5" for e in _entries(fresh5))
    halves: dict[tuple[str, int], set[str]] = {}
    for e in entries:
        halves.setdefault((str(e["env"]), int(e["seed"])), set()).add(str(e["split"]))
    assert all(len(h) == 1 for h in halves.values())  # one (env, seed) never in both halves
    planted = {str(e["expected_first_category"]) for e in entries
               if e.get("verified", True) and e["expected_first_category"] is not None}
    for category in planted:
        splits = {e["split"] for e in entries if e["expected_first_category"] == category}
        assert splits == {"tune", "heldout"}, category
