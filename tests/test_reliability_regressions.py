"""Named regressions of the reliability issue (#13, items 4-13): each bad input found there
exits 2 with one ``rlvet:`` line and no traceback, and leaves its input unchanged.

Every case runs ``rlvet`` in-process through ``fuzz_harness.run_cli`` and is judged by the
same contract as the fuzz suite (``fuzz_harness.contract_violation``), plus what the item
itself promised (the message names the file and byte, the refusal names the option...).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import threading
import time
from pathlib import Path

import pytest

from fuzz_harness import DATA, SEED_FILES, contract_violation, metrics_jsonl, run_cli, sha256s
from rlvet.errors import RlvetInputError
from rlvet.paths import refuse_output_over_input

TFEVENTS = SEED_FILES["tfevents"]


def _refused(argv: list[str], inputs: list[Path] = (), *, match: str = "") -> str:
    """Run, assert exit 2 under the contract, return the one stderr line."""
    before = sha256s(inputs)
    outcome = run_cli(argv)
    assert contract_violation(outcome, before, expect_code=2) is None, outcome
    line = outcome.stderr.strip()
    assert match in line, line
    return line


def _samples(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _ok_sample(i: int, step: float = 0, reward: float = 1.0) -> str:
    return json.dumps({"id": f"s{i}", "step": step, "reward": reward, "response": "ok"})


def _protocol(tmp_path: Path, **eval_fields: object) -> Path:
    fields = {"seeds": [0], "episodes_per_seed": 1, **eval_fields}
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in fields.items())
    path = tmp_path / "protocol.toml"
    path.write_text(f'[env]\nid = "CartPole-v1"\nmax_steps = 20\n\n[eval]\n{body}\n'
                    '[policy]\npath = "missing.zip"\nalgo = "PPO"\n', encoding="utf-8")
    return path


# --- 4. TensorBoard: only a record cut at the physical end is a torn tail ------------------

def _record_offsets(data: bytes) -> list[int]:
    offsets, pos = [], 0
    while pos + 12 <= len(data):
        offsets.append(pos)
        pos += 12 + struct.unpack_from("<Q", data, pos)[0] + 4
    return offsets


@pytest.mark.parametrize("where", ["middle", "last_record"])
def test_corrupt_length_in_the_last_read_names_file_and_byte(tmp_path: Path, where: str) -> None:
    data = bytearray(TFEVENTS.read_bytes())  # 30 KB: all of it is inside the last 4 MB read
    offsets = _record_offsets(bytes(data))
    at = offsets[len(offsets) // 2] if where == "middle" else offsets[-1]
    data[at:at + 8] = struct.pack("<Q", 10**9)  # a length past the end, its CRC now wrong
    run = tmp_path / "run"
    run.mkdir()
    (run / TFEVENTS.name).write_bytes(bytes(data))
    line = _refused(["doctor", str(run)], [run], match=f"at byte {at}: length checksum")
    assert TFEVENTS.name in line


def test_record_cut_at_the_end_is_still_a_torn_tail(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / TFEVENTS.name).write_bytes(TFEVENTS.read_bytes()[:-7])
    outcome = run_cli(["doctor", str(run), "--json"])
    assert contract_violation(outcome, {}) is None and outcome.code in (0, 1)
    assert "torn last record" in outcome.stdout


# --- 5. an output path that resolves to an input is refused ------------------------------

def test_reward_html_and_spot_check_over_the_samples_are_refused(tmp_path: Path) -> None:
    samples = _samples(tmp_path, [_ok_sample(i) for i in range(4)])
    for option in ("--html", "--spot-check"):
        _refused(["reward", str(samples), option, str(samples)], [samples], match=option)
    alias = tmp_path / "sub" / ".." / "samples.jsonl"  # the same file by another spelling
    (tmp_path / "sub").mkdir()
    _refused(["reward", str(samples), "--html", str(alias)], [samples], match="--html")


def test_eval_html_over_the_protocol_is_refused(tmp_path: Path) -> None:
    protocol = _protocol(tmp_path)
    _refused(["eval", str(protocol), "--html", str(protocol)], [protocol], match="--html")


def test_eval_out_over_the_compared_result_is_refused(tmp_path: Path) -> None:
    protocol = _protocol(tmp_path)
    result = tmp_path / "eval_result.json"
    result.write_text("{}")
    _refused(["eval", str(protocol), "--compare", str(result), "--out", str(tmp_path)],
             [protocol, result], match="--out")


def test_report_html_over_deployment_toml_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_bytes(metrics_jsonl())
    (run / "deployment.toml").write_text('business_metric = "uptime"\n')
    _refused(["report", str(run), "--html", str(run / "deployment.toml")], [run],
             match="deployment.toml")


def test_env_html_over_the_env_file_is_refused(tmp_path: Path) -> None:
    env_file = tmp_path / "my_env.py"
    env_file.write_text("def make():\n    raise SystemExit\n")
    _refused(["env", f"{env_file}:make", "--html", str(env_file)], [env_file], match="--html")


def test_guard_sees_links_and_hard_links(tmp_path: Path) -> None:
    target = tmp_path / "a.jsonl"
    target.write_text("x")
    (tmp_path / "sym.jsonl").symlink_to(target)
    os.link(target, tmp_path / "hard.jsonl")
    for other in ("sym.jsonl", "hard.jsonl"):
        with pytest.raises(RlvetInputError, match="refusing to overwrite"):
            refuse_output_over_input(tmp_path / other, [target], option="--html")
    refuse_output_over_input(tmp_path / "new.html", [target, None], option="--html")


# --- 6. tracebacks that are now exit 2 ---------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["env", "CartPole-v1", "--seed", "-1"],
    ["train", "CartPole-v1", "--seed", "-1"],
    ["reward", str(SEED_FILES["samples"]), "--seed", "-1"],
], ids=["env", "train", "reward"])
def test_negative_seed_is_refused(argv: list[str]) -> None:
    assert _refused(argv, match="--seed") == "rlvet: --seed: must be >= 0"


@pytest.mark.parametrize("encoding", ["binary", "utf-16"])
def test_binary_and_utf16_protocols_are_refused(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "protocol.toml"
    path.write_bytes(bytes(range(256)) * 4 if encoding == "binary"
                     else '[env]\nid = "CartPole-v1"\n'.encode("utf-16"))
    _refused(["eval", str(path)], [path], match="not UTF-8")


def test_compare_with_a_binary_file_is_refused(tmp_path: Path) -> None:
    protocol, other = _protocol(tmp_path), tmp_path / "other.json"
    other.write_bytes(bytes(range(256)) * 4)
    _refused(["eval", str(protocol), "--compare", str(other)], [protocol, other],
             match="other.json")


DEEP = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_line_in_samples_is_refused(tmp_path: Path) -> None:
    samples = _samples(tmp_path, [_ok_sample(0), '{"id": "d", "step": 0, "reward": 1, "x": '
                                  + DEEP + "}", _ok_sample(1)])
    _refused(["reward", str(samples)], [samples], match=f"{samples}:2: JSON nested too deeply")


def test_deeply_nested_json_line_in_a_metrics_log_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(metrics_jsonl().decode() + '{"step": 1, "x": '
                                       + DEEP + "}\n" + '{"step": 2, "reward": 1}\n')
    _refused(["doctor", str(run)], [run], match="nested too deeply")


def test_deeply_nested_json_under_report_is_a_note(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_bytes(metrics_jsonl())
    (run / "deep.json").write_text(DEEP)
    before = sha256s([run])
    outcome = run_cli(["report", str(run), "--json"])
    assert contract_violation(outcome, before) is None and outcome.code in (0, 1)


def test_sample_step_of_minus_1e30_is_refused(tmp_path: Path) -> None:
    samples = _samples(tmp_path, [_ok_sample(0), _ok_sample(1, step=-1e30)])
    _refused(["reward", str(samples)], [samples], match=f"{samples}:2: field 'step'")


@pytest.mark.parametrize("field,value", [("packages", 5), ("key_packages", "numpy"),
                                         ("python", [3, 11]), ("packages", {"numpy": 2})])
def test_environment_json_with_a_wrong_typed_field_is_a_note(
        tmp_path: Path, field: str, value: object) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_bytes(metrics_jsonl())
    record = {"kind": "rlvet.environment", "python": "3.11", "platform": "linux",
              "key_packages": {"numpy": "2.0"}, "packages": {"numpy": "2.0"}, field: value}
    (run / "environment.json").write_text(json.dumps(record))
    before = sha256s([run])
    outcome = run_cli(["report", str(run), "--json"])
    assert contract_violation(outcome, before) is None and outcome.code in (0, 1)
    notes = json.loads(outcome.stdout)["metrics"]["notes"]
    assert any("environment.json" in n and field in n for n in notes)


def test_infinite_gpu_memory_is_refused(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text('[[models]]\nrole = "actor"\nparams = 7e9\n[hardware]\n'
                    'gpu_memory_gib = inf\n')
    _refused(["resources", "plan", str(plan)], [plan], match="hardware.gpu_memory_gib")


def test_train_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("not a directory")
    _refused(["train", "CartPole-v1", "--out", str(out), "--total-steps", "64"], [out],
             match="--out")


@pytest.mark.parametrize("table,field,value", [
    ("eval", "episodes_per_seed", 10**12),
    ("eval", "bootstrap_reps", 10**12),
    ("deploy", "latency_calls", 10**12),
])
def test_huge_protocol_sizes_are_refused(tmp_path: Path, table: str, field: str,
                                         value: int) -> None:
    path = _protocol(tmp_path, **({field: value} if table == "eval" else {}))
    if table == "deploy":
        path.write_text(path.read_text() + f"\n[deploy]\n{field} = {value}\n")
    start = time.perf_counter()
    _refused(["eval", str(path)], [path], match=f"{table}.{field}")
    assert time.perf_counter() - start < 10


def test_huge_action_delay_is_refused(tmp_path: Path) -> None:
    protocol = _protocol(tmp_path)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text("[noise]\naction_delay = [1000000000000]\n")
    _refused(["eval", str(protocol), "--sweep", str(sweep)], [protocol, sweep],
             match="action_delay")


# --- 7. sizes and budgets have a stated maximum ------------------------------------------

@pytest.mark.parametrize("argv,option", [
    (["env", "CartPole-v1", "--episodes", "100000000000000000000"], "--episodes"),
    (["train", "CartPole-v1", "--buckets", "1000000000"], "--buckets"),
    (["train", "CartPole-v1", "--envs-per-actor", "100000000"], "--envs-per-actor"),
    (["train", "CartPole-v1", "--total-steps", "10000000000000"], "--total-steps"),
])
def test_huge_sizes_are_refused_at_once(argv: list[str], option: str) -> None:
    start = time.perf_counter()
    assert _refused(argv).startswith(f"rlvet: {option}: must be <= ")
    assert time.perf_counter() - start < 5


def test_train_args_bound_sizes_in_the_python_api_too() -> None:
    from rlvet.pipeline.args import TrainArgs

    with pytest.raises(RlvetInputError, match="--buckets: must be between"):
        TrainArgs(buckets=10**9)


# --- 8. user text is escaped for matplotlib's mathtext -----------------------------------

def test_dollar_signs_in_a_run_directory_name_draw(tmp_path: Path) -> None:
    run = tmp_path / "$x^{$ run $\\frac$"
    shutil.copytree(DATA / "runs" / "healthy_ppo_cartpole", run,
                    ignore=shutil.ignore_patterns("*.zip"))
    html = tmp_path / "report.html"
    outcome = run_cli(["doctor", str(run), "--html", str(html)])
    assert contract_violation(outcome, {}) is None and outcome.code in (0, 1), outcome.stderr
    assert "$x^{$" in html.read_text(encoding="utf-8")


# --- 9. error text: one line -------------------------------------------------------------

def test_usage_errors_are_one_line() -> None:
    assert _refused(["train", "CartPole-v1", "--actors", "0"]) == "rlvet: --actors: must be >= 1"
    assert "greater than" not in _refused(["train", "CartPole-v1", "--lr", "nan"])
    _refused(["train", "CartPole-v1", "--no-such-option"], match="--no-such-option")
    _refused(["train"], match="ENV_ID")


def test_garbage_checkpoint_is_one_line(tmp_path: Path) -> None:
    from rlvet.pipeline.checkpoints import load_checkpoint

    path = tmp_path / "last.pt"
    path.write_bytes(b"this is not a torch file\n" * 10)
    with pytest.raises(RlvetInputError) as error:
        load_checkpoint(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


# --- 10. non-regular files are not opened ------------------------------------------------

def _finishes(argv: list[str], seconds: float = 60) -> object:
    box: list[object] = []
    worker = threading.Thread(target=lambda: box.append(run_cli(argv)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"rlvet {' '.join(argv)} blocked on a FIFO"
    return box[0]


@pytest.mark.parametrize("command", ["doctor", "report"])
def test_fifo_in_a_run_directory_does_not_block(tmp_path: Path, command: str) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_bytes(metrics_jsonl())
    for name in ("progress.csv", "other.jsonl", "result.json", "deployment.toml"):
        os.mkfifo(run / name)
    outcome = _finishes([command, str(run), "--json"])
    assert contract_violation(outcome, {}) is None and outcome.code in (0, 1), outcome


# --- 11. the report's terminal view is linear in long deployment text --------------------

def test_long_deployment_text_renders_quickly(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_bytes(metrics_jsonl())
    (run / "deployment.toml").write_text('business_metric = "' + "word " * 800_000 + '"\n')
    start = time.perf_counter()
    outcome = run_cli(["report", str(run)])
    assert contract_violation(outcome, {}) is None
    assert time.perf_counter() - start < 15 and len(outcome.stdout) < 200_000


# --- 12. --resume removes the temp files of a killed checkpoint writer -------------------

def test_stale_checkpoint_temps_are_removed(tmp_path: Path) -> None:
    from rlvet.pipeline.checkpoints import CheckpointStore

    store = CheckpointStore(tmp_path)
    stale = tmp_path / ".last.pt.99999999.tmp"
    mine = tmp_path / f".best.pt.{os.getpid()}.tmp"
    keep = tmp_path / "last.pt"
    for path in (stale, mine, keep):
        path.write_bytes(b"x")
    assert store.remove_stale_temps() == [stale]
    assert not stale.exists() and mine.exists() and keep.exists()


# --- 13. no RuntimeWarning on stderr; a 400k-key line is refused fast ---------------------

def test_extreme_but_valid_rewards_print_no_runtime_warning(tmp_path: Path) -> None:
    samples = _samples(tmp_path, [_ok_sample(i, step=i // 4, reward=r) for i, r in
                                  enumerate([1e308, -1e308, 1e308, 1e-320] * 6)])
    outcome = run_cli(["reward", str(samples), "--json"])
    assert contract_violation(outcome, {}) is None
    assert "RuntimeWarning" not in outcome.stderr


def test_a_line_with_400k_keys_is_refused_fast(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    record = {"step": 0, **{f"k{i}": 1.0 for i in range(400_000)}}
    (run / "metrics.jsonl").write_text(json.dumps(record) + "\n")
    start = time.perf_counter()
    _refused(["doctor", str(run)], [run], match="distinct metric names")
    assert time.perf_counter() - start < 10
