"""Runs rlvet did not train: grouped by the settings their framework recorded, seeds judged
by a stated dispersion rule, and advice in the framework's own words (issue #17).

The runs are real: SB3 runs with their checkpoint ``.zip`` (whose ``data`` records the
hyperparameters) and CleanRL-style runs whose TensorBoard file holds the ``hyperparameters``
text, from ``tests/data/runs``. ``rlvet report`` runs in a subprocess, as a user runs it.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from report_helpers import BROKEN_RUN, HEALTHY_RUN, RUNS, copy_run

from rlvet.report.seeds import MAX_SEED_CV, seed_spread

CLEANRL_RUNS = ("cleanrl_healthy_ppo", "cleanrl_lr_too_high")


def _report(*paths: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "rlvet.cli", "report", *map(str, paths),
                           "--json"], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _gates(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["gate"]: g for g in doc["metrics"]["gates"]}


def _set_final_eval(run: Path, value: float) -> None:
    """Rewrite the last ``eval/mean_reward`` of an SB3 progress.csv (the seed's outcome)."""
    path = run / "progress.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    last = max(i for i, r in enumerate(rows) if r["eval/mean_reward"])
    rows[last]["eval/mean_reward"] = str(value)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _sb3_seeds(root: Path, finals: tuple[float, ...]) -> None:
    for i, final in enumerate(finals):
        _set_final_eval(copy_run(HEALTHY_RUN, root / f"seed{i}", with_model=True), final)


def test_runs_of_different_recorded_settings_are_not_seeds_of_one_env(tmp_path: Path) -> None:
    copy_run(HEALTHY_RUN, tmp_path / "sb3_a", with_model=True)
    copy_run(BROKEN_RUN, tmp_path / "sb3_b", with_model=True)
    for name in CLEANRL_RUNS:
        shutil.copytree(RUNS / name, tmp_path / name)
    doc = _report(tmp_path)
    runs = {Path(r["run"]).name: r for r in doc["metrics"]["runs"]}
    assert runs["sb3_b"]["framework"] == "sb3" and runs["sb3_b"]["learning_rate"] == 0.05
    assert runs["sb3_a"]["seed"] == 0
    assert str(runs["sb3_a"]["learning_rate"]).startswith("schedule")  # SB3 pickled it
    assert runs["sb3_a"]["settings_source"].endswith("model.zip")
    clean = runs["cleanrl_healthy_ppo"]
    assert (clean["framework"], clean["env_id"], clean["seed"]) == ("cleanrl", "CartPole-v1", 0)
    assert clean["learning_rate"] == 0.00025
    assert runs["cleanrl_lr_too_high"]["learning_rate"] == 0.05
    gate = _gates(doc)["reproducible"]
    # four runs, four setups: never "4 seeds of one env"
    assert gate["answer"] == "fail"
    assert "seeds of" not in gate["evidence"]
    assert gate["evidence"].count("1 run(s) of") == 4


def test_seeds_whose_final_returns_disagree_are_not_reproducible(tmp_path: Path) -> None:
    _sb3_seeds(tmp_path, (153.0, 253.0, 500.0))
    gate = _gates(_report(tmp_path))["reproducible"]
    assert gate["answer"] == "fail", gate
    cv = seed_spread([153.0, 253.0, 500.0]).cv
    assert cv > MAX_SEED_CV
    assert f"{cv:.2f}" in gate["evidence"] and f"{MAX_SEED_CV:g}" in gate["evidence"]


def test_seeds_that_agree_pass_with_the_rule_shown(tmp_path: Path) -> None:
    _sb3_seeds(tmp_path, (480.0, 500.0, 495.0))
    gate = _gates(_report(tmp_path))["reproducible"]
    assert gate["answer"] == "pass", gate
    assert f"{seed_spread([480.0, 500.0, 495.0]).cv:.2f}" in gate["evidence"]


def test_runs_without_recorded_settings_are_unknown_not_seeds(tmp_path: Path) -> None:
    for i in range(3):
        copy_run(HEALTHY_RUN, tmp_path / f"run{i}")  # logs only: no model, no settings
    gate = _gates(_report(tmp_path))["reproducible"]
    assert gate["answer"] == "unknown"
    assert "model.save" in gate["todo"] and "rlvet train" not in gate["command"]


def test_sb3_runs_get_sb3_advice(tmp_path: Path) -> None:
    copy_run(HEALTHY_RUN, tmp_path / "only", with_model=True)
    gates = _gates(_report(tmp_path))
    seeds = gates["reproducible"]
    assert seeds["answer"] == "fail"  # one run is not three seeds
    assert "EvalCallback" in seeds["todo"] and "RlvetCallback" in seeds["todo"]
    for gate in gates.values():
        assert "rlvet train" not in gate["command"] + gate["todo"], gate


def test_cleanrl_runs_get_cleanrl_advice(tmp_path: Path) -> None:
    shutil.copytree(RUNS / CLEANRL_RUNS[0], tmp_path / "run")
    gates = _gates(_report(tmp_path))
    assert "--seed $s" in gates["reproducible"]["command"]
    assert "ppo.py" in gates["reproducible"]["command"]
    assert "eval/episodic_return" in gates["true_objective"]["todo"]
    assert all("rlvet train" not in g["command"] + g["todo"] for g in gates.values())
