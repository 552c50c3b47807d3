"""Evidence discipline: what was not judged is said, runs are judged one by one, errors
need history, names are mapped, remedies fit the algorithm."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rlvet.cli import main
from rlvet.doctor.diagnose import diagnose
from rlvet.doctor.evidence import cap_by_history
from rlvet.doctor.family import Family, infer_family
from rlvet.doctor.remedies import prescribe
from rlvet.documents import DoctorSummary
from rlvet.findings import Category, Severity
from rlvet.signals.aliases import find_eval_key
from rlvet.signals.discover import read_run, split_runs
from rlvet.signals.series import RunSignals, Series

DATA = Path(__file__).resolve().parents[1] / "data"
RUNS = DATA / "runs"


def _jsonl(path: Path, rows: list[dict[str, float]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _categories(findings: object, severity: Severity | None = None) -> set[str]:
    return {str(f.category) for f in findings  # type: ignore[attr-defined]
            if severity is None or f.severity == severity}


# ------------------------------------------------------------------ not judged, said so


def test_unknown_metric_names_are_not_a_pass(tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    log = _jsonl(tmp_path / "run" / "m.jsonl",
                 [{"step": i, "my/ret": float(i), "my/div": 0.01} for i in range(30)])
    assert main(["doctor", str(log)]) == 0  # nothing wrong was found: exit 0 ...
    out = " ".join(capsys.readouterr().out.split())
    assert "NOT JUDGED" in out and "PASS" not in out  # ... but no bare PASS
    assert main(["doctor", str(log), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    notes = [f for f in doc["findings"] if f["category"] == "insufficient_evidence"]
    assert notes and notes[0]["evidence"]["nothing_judged"] is True
    assert "my/ret" in notes[0]["message"]
    assert "ran" in doc["metrics"]["checks"] and doc["metrics"]["checks"]["not_run"]


def test_alias_maps_unknown_names_onto_signals(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    rows = [{"step": 1000 * (i + 1), "my/ret": 20.0 + i, "my/div": 0.01 if i < 12 else 3.0}
            for i in range(30)]
    log = _jsonl(tmp_path / "run" / "m.jsonl", rows)
    code = main(["doctor", str(log), "--json", "--alias", "my/ret=reward",
                 "--alias", "my/div=kl"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["first_break"]["category"] == "kl_spike"
    assert not any(f["evidence"].get("nothing_judged") for f in doc["findings"])


@pytest.mark.parametrize("bad", ["my/ret", "my/ret=not_a_signal", "=reward"])
def test_bad_alias_is_one_line_exit_2(tmp_path: Path, bad: str,
                                      capsys: pytest.CaptureFixture) -> None:
    log = _jsonl(tmp_path / "m.jsonl", [{"step": 1, "my/ret": 1.0}])
    assert main(["doctor", str(log), "--alias", bad]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlvet: --alias") and "\n" not in err


def test_missing_evaluation_says_hacking_was_not_judged(tmp_path: Path) -> None:
    rows = [{"step": 2048 * (i + 1), "rollout/ep_rew_mean": 20.0 + i,
             "train/approx_kl": 0.01} for i in range(30)]
    d = diagnose(read_run(_jsonl(tmp_path / "m.jsonl", rows)))
    notes = [f for f in d.findings if f.category == Category.INSUFFICIENT_EVIDENCE]
    assert any("reward hacking" in f.message for f in notes)
    assert all(f.severity == Severity.INFO for f in notes)


@pytest.mark.parametrize("name", ["eval/episodic_return", "evaluation/episode_reward_mean",
                                  "test/return", "eval_score"])
def test_evaluation_metric_found_by_pattern(name: str) -> None:
    s = Series.from_lists([1, 2, 3], [1.0, 2.0, 3.0])
    run = RunSignals(source="x", series={name: s, "eval/return_std": s, "reward": s})
    assert find_eval_key(run) == name
    assert diagnose(run).metrics["eval_metric"] == name


# ------------------------------------------------------------------ one verdict per run


def test_directory_of_runs_gets_a_verdict_each(tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    sweep = tmp_path / "sweep"
    names = ["healthy_ppo_cartpole", "healthy_a2c_cartpole", "lr_too_high_ppo"]
    for name in names:
        shutil.copytree(RUNS / name, sweep / name)
    assert [p.name for p in split_runs(sweep)] == sorted(names)
    code = main(["doctor", str(sweep), "--json"])
    doc = json.loads(capsys.readouterr().out)
    verdicts = {Path(r["target"]).name: r["verdict"] for r in doc["runs"]}
    assert code == 1 and verdicts["lr_too_high_ppo"] == "fail"
    assert verdicts["healthy_ppo_cartpole"] == verdicts["healthy_a2c_cartpole"] == "pass"
    assert doc["first_break"]["category"] == "kl_spike"
    summary = DoctorSummary.from_json(doc["metrics"]["summary"])
    assert (summary.runs, summary.fail, summary.warn, summary.passed) == (3, 1, 0, 2)
    main(["doctor", str(sweep)])
    out = capsys.readouterr().out
    assert "3 runs: 1 fail, 0 warn, 2 pass" in out


def test_a_run_with_its_tensorboard_subfolder_stays_one_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUNS / "healthy_ppo_cartpole", run)
    tb = run / "tb"
    tb.mkdir()
    for events in run.glob("events.out.tfevents.*"):
        events.rename(tb / events.name)
    assert split_runs(run) == [run]


# ------------------------------------------------------------------ history and families


@pytest.mark.parametrize(("run", "family"), [
    ("healthy_ppo_cartpole", Family.ON_POLICY), ("healthy_a2c_cartpole", Family.ON_POLICY),
    ("healthy_dqn_cartpole", Family.VALUE_BASED), ("cleanrl_healthy_ppo", Family.ON_POLICY),
])
def test_family_is_read_from_the_logged_names(run: str, family: Family) -> None:
    assert infer_family(read_run(RUNS / run)) is family


def test_trl_runs_are_llm_family() -> None:
    assert infer_family(read_run(DATA / "trl_runs" / "sane" / "run")) is Family.LLM


def test_an_error_needs_the_family_warmup_of_history() -> None:
    def run_of(points: int, spacing: int) -> RunSignals:
        steps = np.arange(1, points + 1) * spacing
        return RunSignals(source="x", series={"kl": Series.from_lists(steps, [0.5] * points)},
                          raw_names={"kl": "train/approx_kl"})

    error = prescribe(Category.KL_SPIKE, severity=Severity.ERROR, message="kl", evidence={},
                      step=100)
    young = cap_by_history([error], run_of(5, 2048), Family.ON_POLICY)[0]
    assert young.severity == Severity.WARNING and young.evidence["needed_points"] == 10
    short = cap_by_history([error], run_of(20, 100), Family.ON_POLICY)[0]  # 2k env steps
    assert short.severity == Severity.WARNING
    grown = cap_by_history([error], run_of(20, 2048), Family.ON_POLICY)[0]
    assert grown.severity == Severity.ERROR


def test_kl_evidence_holds_the_observed_ratio() -> None:
    d = diagnose(read_run(RUNS / "lr_too_high_ppo"))
    kl = next(f for f in d.findings if f.category == Category.KL_SPIKE)
    assert kl.evidence["jump_ratio_needed"] == 5.0
    ratio = kl.evidence["jump_ratio"]
    assert ratio is None or ratio == pytest.approx(
        kl.evidence["value_at_onset"] / kl.evidence["recent_median"])


# ------------------------------------------------------------------ remedies that fit


def test_critic_remedy_names_gae_bootstrapping_for_ppo() -> None:
    d = diagnose(read_run(RUNS / "vf_coef_zero_ppo"))
    critic = next(f for f in d.findings if f.category == Category.CRITIC_FAILURE)
    assert "bootstrap through terminal" in critic.remedy and "vf_coef" in critic.remedy


def test_entropy_remedy_never_suggests_a_bonus_grpo_does_not_have() -> None:
    from rlvet.doctor.fitted_remedies import fit_remedies

    f = prescribe(Category.ENTROPY_COLLAPSE, severity=Severity.ERROR, message="x",
                  evidence={}, step=1)
    run = RunSignals(source="x", series={})
    (llm,) = fit_remedies([f], Family.LLM, run)
    assert "ent_coef" not in llm.remedy and "temperature" in llm.remedy
    stuck = prescribe(Category.ENTROPY_STUCK, severity=Severity.WARNING, message="x",
                      evidence={}, step=1)
    zero = RunSignals(source="x", series={"ent_coef": Series.from_lists([1], [0.0])})
    (fitted,) = fit_remedies([stuck], Family.ON_POLICY, zero)
    assert "no bonus to lower" in fitted.remedy
