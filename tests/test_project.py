"""The project file ``rlvet.toml`` and ``--fail-on``, used as a user would: files on disk,
the CLI in a subprocess and in-process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rlvet.cli import main
from rlvet.doctor import policy_update
from rlvet.errors import RlvetInputError
from rlvet.findings import Category, CommandResult, Finding, Severity
from rlvet.project import (
    THRESHOLDS,
    apply_ignore,
    fail_exit_code,
    find_project_file,
    load_project,
    resolve_project,
    thresholds_applied,
)

RUNS = Path(__file__).parent / "data" / "runs"


def _run(tmp_path: Path, name: str, toml: str | None) -> Path:
    run = tmp_path / "proj" / "runs" / name
    shutil.copytree(RUNS / name, run)
    if toml is not None:
        (tmp_path / "proj" / "rlvet.toml").write_text(toml, encoding="utf-8")
    return run


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rlvet.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_ignore_found_upward_suppresses_but_shows(tmp_path: Path) -> None:
    run = _run(tmp_path, "lr_too_high_ppo",
               '[ignore]\nkl_spike = "lr sweep arm, expected"\n')
    proc = _cli("doctor", str(run), "--json", cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert "kl_spike" not in [f["category"] for f in doc["findings"]]
    assert doc["first_break"]["category"] != "kl_spike"
    [sup] = doc["suppressed"]
    assert sup["category"] == "kl_spike" and sup["suppressed_reason"] == "lr sweep arm, expected"
    assert doc["metrics"]["project_file"].endswith("rlvet.toml")
    text = _cli("doctor", str(run), cwd=tmp_path).stdout
    assert "suppressed" in text and "lr sweep arm, expected" in text  # never silently gone


def test_ignored_error_does_not_fail_and_html_lists_it(tmp_path: Path) -> None:
    run = _run(tmp_path, "entropy_stuck_ppo", '[ignore]\nentropy_stuck = "fixed by design"\n')
    html = tmp_path / "r.html"
    assert main(["doctor", str(run), "--html", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    assert "Suppressed by the project file" in page and "fixed by design" in page


def test_fail_on_warning_in_a_subprocess(tmp_path: Path) -> None:
    run = _run(tmp_path, "plateau_ppo", None)
    assert _cli("doctor", str(run), "--json", cwd=tmp_path).returncode == 0
    assert _cli("doctor", str(run), "--json", "--fail-on", "warning", cwd=tmp_path).returncode == 1
    bad = _cli("doctor", str(run), "--fail-on", "info", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--fail-on" in bad.stderr


def test_config_option_and_aliases(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    rows = [{"step": i * 100, "my/ret": float(i)} for i in range(30)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "elsewhere" / "team.toml"
    cfg.parent.mkdir()
    cfg.write_text('[aliases]\n"my/ret" = "reward"\n')
    proc = _cli("doctor", str(run), "--json", "--config", str(cfg), cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert "reward" in doc["metrics"]["signals"]
    plain = json.loads(_cli("doctor", str(run), "--json", cwd=tmp_path).stdout)
    assert "reward" not in plain["metrics"]["signals"]


def test_thresholds_change_the_judgement_and_are_restored(tmp_path: Path) -> None:
    run = _run(tmp_path, "lr_too_high_ppo", "[thresholds]\nkl_bound = 50.0\n")
    doc = json.loads(_cli("doctor", str(run), "--json", cwd=tmp_path).stdout)
    assert "kl_spike" not in [f["category"] for f in doc["findings"]]
    assert doc["metrics"]["thresholds"] == {"kl_bound": 50.0}
    before = policy_update.KL_BOUND
    with thresholds_applied({"kl_bound": 7.0}):
        assert policy_update.KL_BOUND == 7.0
    assert policy_update.KL_BOUND == before


def test_no_constant_is_derived_from_an_allow_listed_one_at_import() -> None:
    """A constant computed at import from an allow-listed one (``X = 10 * KL_BOUND``) keeps
    the default when a project moves the line: derived values must be computed at call
    time."""
    import ast
    import importlib
    import inspect

    for row in THRESHOLDS.values():
        tree = ast.parse(inspect.getsource(importlib.import_module(row.module)))
        for node in tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
                assert row.constant not in used, (row.module, ast.unparse(node))


def test_a_derived_line_follows_the_projects_threshold() -> None:
    import numpy as np

    kl = np.array([0.01] * 10 + [1.5] + [0.0] * 20)  # one 1.5-nat update, then dead
    assert policy_update._killing_step(kl) == 10  # past 10 x the default bound (0.1)
    with thresholds_applied({"kl_bound": 0.2}):
        assert policy_update._killing_step(kl) is None  # under 10 x 0.2


def test_every_allow_listed_threshold_exists() -> None:
    import importlib

    for row in THRESHOLDS.values():
        value = getattr(importlib.import_module(row.module), row.constant)
        assert row.low < value < row.high


@pytest.mark.parametrize(("toml", "expected"), [
    ("[bogus]\na = 1\n", "rlvet.toml:1: unknown section [bogus]"),
    ('[ignore]\nkl_spike = "x"\nklspike = "y"\n', "rlvet.toml:3: [ignore] 'klspike'"),
    ('[ignore]\nkl_spike = ""\n', "rlvet.toml:2: [ignore] kl_spike"),
    ("[thresholds]\nkl_bound = -1\n", "rlvet.toml:2: [thresholds] kl_bound = -1"),
    ('[thresholds]\nkl_bound = "high"\n', "expected a finite number"),
    ("[thresholds]\nlr_max = 3\n", "rlvet.toml:2: [thresholds] unknown key 'lr_max'"),
    ('[aliases]\n"my/x" = "rewardz"\n', "rlvet.toml:2: [aliases]"),
    ('[train]\nlrr = 1\n', "rlvet.toml:2: [train] unknown key 'lrr'"),
    ('[train]\ntotal_steps = "many"\n', "[train] total_steps: expected int"),
    ("a = [\n", "not valid TOML"),
])
def test_bad_project_file_is_one_line_exit_2(tmp_path: Path, toml: str, expected: str) -> None:
    run = _run(tmp_path, "plateau_ppo", toml)
    proc = _cli("doctor", str(run), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and expected in proc.stderr, proc.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(RlvetInputError, match="no such file"):
        resolve_project(tmp_path / "nope.toml")


def test_find_upward_and_empty_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "rlvet.toml").write_text("[ignore]\nplateau = 'known'\n")
    assert find_project_file(tmp_path / "a" / "b") == tmp_path / "rlvet.toml"
    assert resolve_project(None, [tmp_path / "a" / "b"]).ignore == {Category.PLATEAU: "known"}
    lone = tmp_path.parent / f"{tmp_path.name}-lone"
    lone.mkdir()
    monkeypatch.chdir(lone)
    assert find_project_file(lone) is None or find_project_file(lone).parent != lone


def test_apply_ignore_rechooses_first_break_and_runs() -> None:
    kl = Finding.of(Category.KL_SPIKE, check="k", message="m", step=5)
    ent = Finding.of(Category.ENTROPY_COLLAPSE, check="e", message="m", step=9)
    run = CommandResult(command="doctor", target="r", findings=(kl, ent), chosen_first_break=kl)
    top = CommandResult(command="doctor", target="t", findings=(kl, ent),
                        chosen_first_break=kl, runs=(run,))
    out = apply_ignore(top, {Category.KL_SPIKE: "known"})
    assert out.first_break is ent and out.runs[0].first_break is ent
    assert out.to_dict()["runs"][0]["suppressed"][0]["suppressed_reason"] == "known"
    assert fail_exit_code(out, "error") == 1


def test_fail_exit_code_levels() -> None:
    warn = Finding.of(Category.PLATEAU, check="p", message="m", severity=Severity.WARNING)
    result = CommandResult(command="doctor", target="t", findings=(warn,))
    assert (fail_exit_code(result, "error"), fail_exit_code(result, "warning")) == (0, 1)
    ignored = apply_ignore(result, {Category.PLATEAU: "known"})
    assert fail_exit_code(ignored, "warning") == 0


def test_report_command_takes_config_and_fail_on(tmp_path: Path) -> None:
    run = _run(tmp_path, "entropy_stuck_ppo", '[ignore]\nentropy_stuck = "by design"\n')
    proc = _cli("report", str(run), "--json", cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert "entropy_stuck" not in [f["category"] for f in doc["findings"]]
    assert [s["category"] for s in doc["suppressed"]] == ["entropy_stuck"]


def test_train_config_section(tmp_path: Path) -> None:
    cfg = load_project(_write(tmp_path / "rlvet.toml",
                              '[train]\nenv_id = "CartPole-v1"\ntotal_steps = 512\ngamma = 0.9\n'))
    from rlvet.pipeline.args import args_from_mapping

    args = args_from_mapping(cfg.train, total_steps=1024)
    assert (args.env_id, args.total_steps, args.gamma) == ("CartPole-v1", 1024, 0.9)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_train_reads_its_arguments_from_the_project_file(tmp_path: Path) -> None:
    (tmp_path / "rlvet.toml").write_text(
        '[train]\nenv_id = "CartPole-v1"\ntotal_steps = 4096\nbackend = "sync"\nactors = 1\n'
        'envs_per_actor = 2\neval_every = 0\neval_episodes = 2\n', encoding="utf-8")
    proc = _cli("train", "--out", "runs/x", "--total-steps", "512", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)["metrics"]
    assert (metrics["env_id"], metrics["backend"], metrics["steps"]) == ("CartPole-v1", "sync", 512)
    (tmp_path / "rlvet.toml").write_text("[train]\ngamma = 0.9\n", encoding="utf-8")
    missing = _cli("train", "--out", "runs/y", cwd=tmp_path)
    assert missing.returncode == 2 and "ENV_ID" in missing.stderr
