"""Damaged and odd inputs: torn tails are tolerated and reported, corruption in the middle
is an RlvetInputError naming file and line, NaN is data, inputs are never modified.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from rlvet.errors import RlvetInputError
from rlvet.signals import names as n
from rlvet.signals.discover import drop_superseded, read_run, read_run_report
from rlvet.signals.jsonl import read_jsonl
from rlvet.signals.sb3_csv import read_sb3_csv
from rlvet.signals.tensorboard import masked_crc32c, read_tensorboard
from rlvet.signals.trainer_state import read_trainer_state

DATA = Path(__file__).resolve().parents[1] / "data" / "readers"
SB3_CSV = DATA / "sb3_ppo_cartpole" / "progress.csv"


def _events(folder: Path) -> Path:
    return next(folder.rglob("*tfevents*"))


def _jsonl(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_text("\n".join(lines) + end)
    return path


# --- JSON lines ------------------------------------------------------------------------

def test_jsonl_torn_last_line_is_dropped_with_a_warning(tmp_path):
    path = _jsonl(tmp_path / "m.jsonl", ['{"step": 0, "reward": 1.0}',
                                         '{"step": 1, "reward": 2.0}',
                                         '{"step": 2, "rew'], end="")
    log = read_jsonl(path)
    assert log.columns["reward"][1].tolist() == [1.0, 2.0]
    assert len(log.warnings) == 1 and f"{path}:3" in log.warnings[0]


def test_jsonl_last_line_without_newline_but_complete_is_kept(tmp_path):
    path = _jsonl(tmp_path / "m.jsonl", ['{"step": 0, "reward": 1.0}',
                                         '{"step": 1, "reward": 2.0}'], end="")
    log = read_jsonl(path)
    assert log.columns["reward"][1].tolist() == [1.0, 2.0] and not log.warnings


def test_jsonl_corrupt_middle_line_names_file_and_line(tmp_path):
    path = _jsonl(tmp_path / "m.jsonl", ['{"step": 0, "reward": 1.0}',
                                         '{"step": 1, "reward": 2.',
                                         '{"step": 2, "reward": 3.0}'])
    with pytest.raises(RlvetInputError, match=rf"{path}:2: expected one JSON object per line"):
        read_jsonl(path)


def test_jsonl_blank_lines_are_skipped(tmp_path):
    path = _jsonl(tmp_path / "m.jsonl", ['{"step": 0, "reward": 1.0}', '', '  ',
                                         '{"step": 1, "reward": 2.0}', ''])
    assert read_jsonl(path).columns["reward"][0].tolist() == [0, 1]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('[1, 2]', r":2: expected a JSON object, got list"),
        ('{"reward": 2.0}', r":2: record has no 'step' field"),
        ('{"step": "ten", "reward": 2.0}', r":2: 'step' must be an integer step"),
        ('{"step": 1, "reward": "high"}', r":2: 'reward' is not a number \('high'\)"),
    ],
)
def test_jsonl_bad_records_are_errors(tmp_path, line, message):
    path = _jsonl(tmp_path / "m.jsonl", ['{"step": 0, "reward": 1.0}', line,
                                         '{"step": 2, "reward": 3.0}'])
    with pytest.raises(RlvetInputError, match=message):
        read_jsonl(path)


def test_jsonl_nan_and_inf_are_data(tmp_path):
    path = _jsonl(tmp_path / "m.jsonl", ['{"step": 0, "a": NaN, "b": Infinity, "c": "nan"}',
                                         '{"step": 1, "a": 1.0, "b": -Infinity, "c": "-inf"}',
                                         '{"step": 2, "a": 2, "b": 0.5, "c": "inf"}'])
    cols = read_jsonl(path).columns
    assert np.isnan(cols["a"][1][0]) and cols["a"][1][2] == 2.0
    assert cols["b"][1].tolist() == [np.inf, -np.inf, 0.5]
    assert np.isnan(cols["c"][1][0]) and cols["c"][1][1:].tolist() == [-np.inf, np.inf]


def test_jsonl_no_step_key_at_all(tmp_path):
    path = _jsonl(tmp_path / "m.jsonl", ['{"reward": 1.0}'])
    with pytest.raises(RlvetInputError, match=r":1: no step field .* step, global_step"):
        read_jsonl(path)


# --- SB3 CSV ---------------------------------------------------------------------------

def _csv_lines() -> list[str]:
    return SB3_CSV.read_text().splitlines()


def test_csv_torn_last_row_is_dropped_with_a_warning(tmp_path):
    lines = _csv_lines()
    path = tmp_path / "progress.csv"
    path.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    log = read_sb3_csv(path)
    whole = read_sb3_csv(SB3_CSV).columns["rollout/ep_rew_mean"]
    assert log.columns["rollout/ep_rew_mean"][0].tolist() == whole[0][:-1].tolist()
    assert len(log.warnings) == 1 and f"{path}:{len(lines)}: torn last row" in log.warnings[0]


def test_csv_short_row_in_the_middle_is_an_error(tmp_path):
    lines = _csv_lines()
    lines[5] = ",".join(lines[5].split(",")[:4])
    path = tmp_path / "progress.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RlvetInputError, match=rf"{path}:6: expected \d+ fields"):
        read_sb3_csv(path)


def test_csv_non_number_in_numeric_column_names_line_and_column(tmp_path):
    lines = _csv_lines()
    header = lines[0].split(",")
    cells = lines[7].split(",")
    cells[header.index("train/approx_kl")] = "nan?"
    lines[7] = ",".join(cells)
    path = tmp_path / "progress.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RlvetInputError,
                       match=rf"{path}:8: column 'train/approx_kl' is not a number \('nan\?'\)"):
        read_sb3_csv(path)


def test_csv_nan_inf_cells_are_data_and_strings_are_text(tmp_path):
    path = tmp_path / "progress.csv"
    path.write_text('time/total_timesteps,train/approx_kl,note\n'
                    '100,0.01,"ok"\n200,nan,"lr, halved"\n300,inf,\n400,-inf,"x"\n')
    log = read_sb3_csv(path)
    values = log.columns["train/approx_kl"][1]
    assert values[0] == 0.01 and np.isnan(values[1]) and values[2:].tolist() == [np.inf, -np.inf]
    assert log.text["note"] == ((100, "ok"), (200, "lr, halved"), (400, "x"))


def test_csv_without_step_column(tmp_path):
    path = tmp_path / "progress.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(RlvetInputError, match=r":1: no step column .*time/total_timesteps"):
        read_sb3_csv(path)


# --- TensorBoard -----------------------------------------------------------------------

def test_tensorboard_torn_last_record_is_dropped_with_a_warning(tmp_path):
    data = _events(DATA / "cleanrl_ppo_cartpole").read_bytes()
    whole = read_tensorboard(_events(DATA / "cleanrl_ppo_cartpole"))
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(data[:-7])
    log = read_tensorboard(path)
    lost = sum(len(s) for s, _ in whole.columns.values()) - sum(
        len(s) for s, _ in log.columns.values())
    assert lost == 1
    assert len(log.warnings) == 1 and "torn last record" in log.warnings[0]


@pytest.mark.parametrize("offset", [0.3, 0.5, 0.8])
def test_tensorboard_corrupt_record_in_the_middle_is_an_error(tmp_path, offset):
    data = bytearray(_events(DATA / "cleanrl_ppo_cartpole").read_bytes())
    at = int(len(data) * offset)
    data[at] ^= 0x5A
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(bytes(data))
    with pytest.raises(RlvetInputError, match=rf"{path}: record \d+ at byte \d+: .*checksum"):
        read_tensorboard(path)


def test_tensorboard_garbage_length_in_the_middle_is_an_error(tmp_path):
    data = bytearray(_events(DATA / "cleanrl_ppo_cartpole").read_bytes())
    data[len(data) // 2: len(data) // 2 + 12] = b"\xff" * 12
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(bytes(data))
    with pytest.raises(RlvetInputError, match="checksum mismatch"):
        read_tensorboard(path)


def test_masked_crc32c_matches_tensorboards_own():
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as reference

    data = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)
    starts = np.array([0, 10, 100, 4000, 7, 4999], dtype=np.int64)
    lengths = np.array([5, 0, 300, 1000, 1, 1], dtype=np.int64)
    expected = [reference(data[s:s + k].tobytes()) for s, k in zip(starts, lengths, strict=True)]
    assert masked_crc32c(data, starts, lengths).tolist() == expected


def test_tensorboard_matches_tensorboards_own_loader():
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    path = _events(DATA / "cleanrl_ppo_cartpole")
    ours = read_tensorboard(path).columns
    theirs: dict[str, list[float]] = {}
    for event in EventFileLoader(str(path)).Load():
        for value in event.summary.value:
            if value.metadata.plugin_data.plugin_name in ("", "scalars") and value.tag in ours:
                theirs.setdefault(value.tag, []).append(float(value.tensor.float_val[0]))
    assert set(theirs) == set(ours)
    for tag, values in theirs.items():
        np.testing.assert_array_equal(ours[tag][1], np.float32(values), err_msg=tag)


def test_missing_tensorboard_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard.compat.proto", None)
    monkeypatch.setitem(sys.modules, "tensorboard.compat.proto.event_pb2", None)
    with pytest.raises(RlvetInputError, match=r"pip install 'rlvet\[tb\]'"):
        read_tensorboard(_events(DATA / "cleanrl_ppo_cartpole"))


# --- trainer_state, discovery ----------------------------------------------------------

def test_trainer_state_nan_is_data_and_null_is_skipped(tmp_path):
    path = tmp_path / "trainer_state.json"
    path.write_text('{"global_step": 2, "log_history": [\n'
                    '{"loss": 0.5, "grad_norm": NaN, "kl": null, "step": 1},\n'
                    '{"loss": 0.4, "grad_norm": 1.0, "kl": 0.1, "step": 2}]}\n')
    log = read_trainer_state(path)
    assert np.isnan(log.columns["grad_norm"][1][0])
    assert log.columns["kl"][0].tolist() == [2]


def test_torn_trainer_state_falls_back_to_an_older_checkpoint(tmp_path):
    shutil.copytree(DATA / "hf_grpo", tmp_path / "hf", ignore=shutil.ignore_patterns("runs"))
    top = tmp_path / "hf" / "trainer_state.json"
    top.write_text(top.read_text()[:3000])
    run, report = read_run_report(tmp_path / "hf")
    assert [p for f, p in report.files] == [str(tmp_path / "hf/checkpoint-40/trainer_state.json")]
    assert any("trainer_state.json:" in w and "not valid JSON" in w for w in report.warnings)
    assert "train_runtime" not in run.series


def test_empty_directory_is_an_error_naming_path_and_formats(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(RlvetInputError, match=rf"{tmp_path}: no training log found .*tfevents"):
        read_run(tmp_path)


def test_missing_path_and_unknown_file_are_errors(tmp_path):
    with pytest.raises(RlvetInputError, match="no such file or directory"):
        read_run(tmp_path / "nope")
    odd = tmp_path / "weights.bin"
    odd.write_bytes(b"\x00\x01")
    with pytest.raises(RlvetInputError, match=rf"{odd}: unknown log format"):
        read_run(odd)


def test_log_with_no_metric_is_an_error(tmp_path):
    (tmp_path / "progress.csv").write_text("")
    with pytest.raises(RlvetInputError, match="no metric in them"):
        read_run(tmp_path)


def test_pretty_printed_result_json_is_not_taken_for_json_lines(tmp_path):
    (tmp_path / "result.json").write_text('{\n  "accuracy": 0.9\n}\n')
    _jsonl(tmp_path / "m.jsonl", ['{"step": 0, "reward": 1.0}'])
    assert read_run(tmp_path).formats == ("jsonl",)


def test_restart_supersedes_relogged_steps(tmp_path):
    _jsonl(tmp_path / "m.jsonl", [f'{{"step": {s}, "reward": {v}}}' for s, v in
                                  [(0, 0), (10, 1), (20, 2), (30, 3), (20, 20), (30, 30),
                                   (40, 40)]])
    run, report = read_run_report(tmp_path)
    reward = run.get(n.REWARD)
    assert reward.steps.tolist() == [0, 10, 20, 30, 40]
    assert reward.values.tolist() == [0, 1, 20, 30, 40]
    assert any("2 point(s) superseded" in w for w in report.warnings)


def test_drop_superseded_keeps_the_result_sorted():
    rng = np.random.default_rng(0)
    for _ in range(200):
        steps = rng.integers(0, 20, size=rng.integers(0, 30)).astype(np.int64)
        kept, values, dropped = drop_superseded(steps, steps.astype(float))
        assert np.all(np.diff(kept) >= 0)
        assert dropped == steps.size - kept.size
        np.testing.assert_array_equal(kept, values)


def test_reading_never_modifies_inputs(tmp_path):
    def digest(root: Path) -> dict[str, tuple[str, float]]:
        return {str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime)
                for p in sorted(root.rglob("*")) if p.is_file()}

    copy = tmp_path / "readers"
    shutil.copytree(DATA, copy)
    torn = copy / "torn.jsonl"
    torn.write_text('{"step": 0, "reward": 1.0}\n{"step": 1, "re')
    before = digest(copy)
    for child in sorted(copy.iterdir()):
        read_run(child)
    read_run(copy)
    assert digest(copy) == before


def _write_mixed_events(path: Path, seed: int) -> None:
    """Runs of plain add_scalar events mixed with everything the fast path must refuse."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import SummaryMetadata
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as crc
    from tensorboard.util.tensor_util import make_tensor_proto

    rng = np.random.default_rng(seed)
    tags = ["", "a", "charts/episodic_return", "é/reward", "x" * 127, "y" * 128, "losses/kl"]
    steps = [0, 1, 127, 128, 2**40, -5]
    events = [Event(wall_time=1.0, file_version="brain.Event:2")]
    for i in range(1500):
        value = float(np.float32(rng.choice([rng.normal(), np.nan, np.inf, -np.inf, 0.0])))
        event = Event(wall_time=float(rng.choice([0.0, 1.7e9 + i])),
                      step=int(rng.choice(steps)) if i % 7 else i)
        event.summary.value.add(tag=str(rng.choice(tags)), simple_value=value)
        kind = (i // 50) % 4  # runs of 50 plain events, then runs of odd ones
        if kind == 1:
            event.summary.value.add(tag="second", simple_value=1.0)
        elif kind == 2:
            event.summary.value[0].metadata.CopyFrom(SummaryMetadata(
                plugin_data=SummaryMetadata.PluginData(plugin_name="scalars")))
        elif kind == 3 and i % 2:
            event.summary.value.add(tag="tensor", tensor=make_tensor_proto(np.float32(i)))
        events.append(event)
    with open(path, "wb") as f:
        for event in events:
            data = event.SerializeToString()
            header = struct.pack("<Q", len(data))
            f.write(header + struct.pack("<I", crc(header)) + data + struct.pack("<I", crc(data)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numpy_fast_path_equals_the_protobuf_parser(tmp_path, monkeypatch, seed):
    from rlvet.signals import tensorboard as tb_reader

    path = tmp_path / f"events.out.tfevents.{seed}.host"
    _write_mixed_events(path, seed)
    fast = read_tensorboard(path)
    monkeypatch.setattr(tb_reader, "_MIN_RUN", 10**9)  # every event through protobuf
    slow = read_tensorboard(path)
    assert fast.columns.keys() == slow.columns.keys()
    for tag, (steps, values) in slow.columns.items():
        np.testing.assert_array_equal(fast.columns[tag][0], steps, err_msg=tag)
        np.testing.assert_array_equal(fast.columns[tag][1], values, err_msg=tag)
    assert sum(len(s) for s, _ in slow.columns.values()) > 1500


@pytest.mark.parametrize("fixture", ["sb3_ppo_cartpole", "cleanrl_ppo_cartpole", "hf_grpo"])
def test_fast_path_equals_protobuf_on_real_files(monkeypatch, fixture):
    from rlvet.signals import tensorboard as tb_reader

    path = _events(DATA / fixture)
    fast = read_tensorboard(path)
    monkeypatch.setattr(tb_reader, "_MIN_RUN", 10**9)
    slow = read_tensorboard(path)
    assert fast.columns.keys() == slow.columns.keys() and fast.text == slow.text
    for tag, (steps, values) in slow.columns.items():
        np.testing.assert_array_equal(fast.columns[tag][0], steps)
        np.testing.assert_array_equal(fast.columns[tag][1], values)


def test_unreadable_file_is_an_input_error(tmp_path):
    (tmp_path / "metrics.jsonl").symlink_to(tmp_path / "gone.jsonl")  # a dangling link
    with pytest.raises(RlvetInputError, match="cannot read it"):
        read_run(tmp_path)
