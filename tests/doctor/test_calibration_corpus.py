"""The calibration corpora as a strict regression guard in ``make test``.

The full tables (per category, confusion, live replays through Monitor and RlvetCallback)
are ``benchmarks/calibration.py`` and ``docs/calibration.md``. Eleven archives: the first
corpus (``corpus.tar.xz``, 144 runs; its held-out half was scored and looked at, so all of
it is tuning material now) and the fresh .. fresh10 sets, each scored once (fresh10 with the
rules of commit 56d51b6, the published figures; the others looked at since); the misses
recorded here are those of the rules in main. Every run is diagnosed offline (seconds) and
every fresh2 .. fresh10 healthy run is replayed through the live path. The runs each gets wrong
are listed below, like strict xfails: a new miss fails the test, and so does a fixed one
until it is taken off the list (the figures in docs/calibration.md must then be
re-measured, and a set scored once says so).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from rlvet.doctor.diagnose import diagnose
from rlvet.doctor.replay import replay
from rlvet.findings import Severity
from rlvet.signals.discover import read_run

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "corpus"
SETS = ("corpus", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7",
        "fresh8", "fresh9", "fresh10")
ARCHIVES = {name: DATA / f"{name}.tar.xz" for name in SETS}
MIN_RUNS = {name: 140 if name == "corpus" else 50 for name in SETS}
sys.path.insert(0, str(ROOT / "benchmarks"))

pytestmark = pytest.mark.skipif(not all(a.exists() for a in ARCHIVES.values()),
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
}
KNOWN_OFFLINE_MISSES["fresh4"] = {  # scored once with the rules of commit ff5f006 (5
    # misses, one healthy run stopped live: docs/calibration.md); tuning material since
    "sb3_dqn_cartpole_proxy_exit_bonus_start_strong_s51": "throughput_drop, no hacking "
                                                          "finding",
    "sb3_ppo_cartpole_proxy_exit_bonus_start_mild_s53": "no finding",
    "sb3_sac_pendulum_proxy_spin_bonus_early_strong_s50": "no finding: its sink from the "
                                                          "peak is 7 evaluations, under 8",
}
KNOWN_OFFLINE_MISSES["fresh5"] = {}  # scored once with the rules of commit 0b4b8b5 (one
# miss, a bonus farmed from the start, named since d17fc7f)
KNOWN_OFFLINE_MISSES["fresh6"] = {  # scored once with the rules of commit d17fc7f (4 misses
    # and one healthy run with an error: docs/calibration.md); tuning material since
    "cleanrl_ppo_acrobot_env_slowdown_late_strong_s71": "a return at its floor from the "
                                                        "start, read as sparse before the "
                                                        "late slowdown",
    "sb3_dqn_cartpole_proxy_exit_bonus_start_strong_s71": "no finding",
    "sb3_td3_pendulum_reward_sign_early_strong_s71": "a negated cost climbing through zero "
                                                     "with 10 evaluations: no finding",
}
KNOWN_OFFLINE_MISSES["fresh7"] = {  # scored once with the rules of commit f0fb418
    "cleanrl_ppo_acrobot_env_slowdown_late_strong_s86": "a return at its floor from the "
                                                        "start, read as sparse before the "
                                                        "late slowdown",
}
KNOWN_OFFLINE_MISSES["fresh8"] = {  # scored once with the rules of commit 56d51b6
    "sb3_td3_pendulum_reward_sign_early_strong_s91": "a negated cost read as a farmed "
                                                     "proxy (reward_hacking warning)",
    "sb3_ppo_lunar_lr_too_high_early_mild_s91": "entropy collapse dated before the KL "
                                                "spike of a mild lr",
    "sb3_ppo_acrobot_reward_sign_late_strong_s93": "a late sign flip: no finding",
    "cleanrl_ppo_lunar_lr_too_high_start_strong_s92": "critic failure dated before the "
                                                      "KL spike (found as a warning)",
    "sb3_sac_pendulum_proxy_spin_bonus_early_strong_s92": "spin bonus: no finding",
}
KNOWN_OFFLINE_MISSES["fresh9"] = {  # scored once with the rules of commit 56d51b6, the
    # published figures
    "sb3_ppo_acrobot_leak_early_strong_s110": "a deterministic evaluation falling while the "
                                              "training return climbs: reward_hacking",
    "sb3_ppo_cartpole_lr_too_high_late_mild_s111": "entropy collapse before the KL spike",
    "sb3_ppo_cartpole_proxy_exit_bonus_start_strong_s113": "exit bonus: no finding",
    "sb3_ppo_lunar_lr_too_high_early_mild_s116": "entropy collapse before the KL spike",
}
KNOWN_OFFLINE_MISSES["fresh10"] = {  # scored once with the rules of commit 56d51b6 (10
    # misses, the published figures); the exit bonus from the start with a lucky first
    # evaluation (s123) is named since (the true metric's best must come after its start)
    "sb3_ppo_acrobot_vf_detached_start_strong_s121": "the critic's failure found (warning), "
                                                     "Acrobot's floor read as sparse first",
    "sb3_td3_pendulum_reward_sign_early_strong_s121": "a negated cost read as a farmed "
                                                      "proxy (reward_hacking warning)",
    "cleanrl_ppo_acrobot_env_slowdown_late_strong_s121": "Acrobot's floor read as sparse",
    "sb3_ppo_cartpole_action_ignored_start_strong_s120": "an ignored action read as an "
                                                         "entropy held at its start",
    "sb3_ppo_lunar_reward_sign_start_strong_s125": "a negated reward whose noisy evaluations "
                                                   "'improve': critic failure first",
    "sb3_a2c_mcar_goal_only_start_strong_s127": "goal-only MountainCar: entropy collapse "
                                                "first",
    "sb3_ppo_lunar_high_ent_coef_early_mild_s128": "a mild entropy bonus: critic failure "
                                                   "first",
    "sb3_dqn_cartpole_proxy_exit_bonus_start_strong_s126": "exit bonus: no finding",
    "sb3_ppo_cartpole_proxy_exit_bonus_start_mild_s128": "exit bonus: no finding (the proxy "
                                                         "sagged as the objective fell)",
}
KNOWN_LIVE_STOPS: dict[str, dict[str, str]] = {
    "fresh2": {}, "fresh3": {},
    "fresh4": {},  # its Monitor stop (reward_hacking) went with evaluation-confirmed breaks
    "fresh5": {},  # scored once with the rules of commit 0b4b8b5
    "fresh6": {},  # scored once with the rules of commit d17fc7f
    "fresh7": {},  # scored once with the rules of commit f0fb418
    "fresh8": {},  # scored once with the rules of commit 56d51b6
    "fresh9": {},  # scored once with the rules of commit 56d51b6
    "fresh10": {},  # scored once with the rules of commit 56d51b6
}


def _unpack(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from calibration import unpack

    return unpack(archive, tmp_path_factory.mktemp(archive.name.split(".")[0]))


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``name -> folder`` of an unpacked set, each unpacked once for the module."""
    folders: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in folders:
            folders[name] = _unpack(ARCHIVES[name], tmp_path_factory)
        return folders[name]
    return get


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


@pytest.mark.parametrize("name", SETS)
def test_verdicts_are_the_known_ones(unpacked: Callable[[str], Path], name: str) -> None:
    root = unpacked(name)
    assert len(_entries(root)) >= MIN_RUNS[name]
    assert _wrong(root) == set(KNOWN_OFFLINE_MISSES[name])


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


@pytest.mark.parametrize("name", sorted(KNOWN_LIVE_STOPS))
def test_live_replay_of_healthy_runs(unpacked: Callable[[str], Path], name: str) -> None:
    assert _live_stops(unpacked(name)) == KNOWN_LIVE_STOPS[name]


def test_manifest_split_is_by_env_and_seed(unpacked: Callable[[str], Path]) -> None:
    from calibration import load_manifest

    entries = load_manifest(unpacked("corpus"))
    for name in SETS[1:]:  # each further set is held out entire
        assert all(e["split"] == name for e in _entries(unpacked(name))), name
    halves: dict[tuple[str, int], set[str]] = {}
    for e in entries:
        halves.setdefault((str(e["env"]), int(e["seed"])), set()).add(str(e["split"]))
    assert all(len(h) == 1 for h in halves.values())  # one (env, seed) never in both halves
    planted = {str(e["expected_first_category"]) for e in entries
               if e.get("verified", True) and e["expected_first_category"] is not None}
    for category in planted:
        splits = {e["split"] for e in entries if e["expected_first_category"] == category}
        assert splits == {"tune", "heldout"}, category
