"""rlvet's JSON-lines writer: append-only, flushed per record, read back by read_jsonl."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rlvet.errors import RlvetInputError
from rlvet.signals.jsonl import read_jsonl
from rlvet.signals.jsonl_writer import JsonlWriter


def test_round_trip_keeps_nan_and_inf(tmp_path):
    path = tmp_path / "a" / "b" / "metrics.jsonl"  # parent directories are created
    with JsonlWriter(path) as log:
        log.write(0, {"kl": float("nan"), "grad_norm": float("inf"), "loss": -float("inf")})
        log.write(1, {"kl": 0.5, "grad_norm": 1.0, "loss": 2.0})
    cols = read_jsonl(path).columns
    assert math.isnan(cols["kl"][1][0]) and cols["kl"][1][1] == 0.5
    assert cols["grad_norm"][1].tolist() == [math.inf, 1.0]
    assert cols["loss"][1].tolist() == [-math.inf, 2.0]
    assert path.read_text().splitlines()[0] == '{"step":0,"kl":NaN,"grad_norm":Infinity,' \
                                               '"loss":-Infinity}'


def test_each_record_is_readable_while_the_writer_is_open(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = JsonlWriter(path)
    for step in range(3):
        log.write(step, {"reward": float(step)})
        assert read_jsonl(path).columns["reward"][0].tolist() == list(range(step + 1))
    log.close()
    log.close()  # twice is fine


def test_appends_and_never_rewrites_existing_records(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with JsonlWriter(path) as log:
        log.write(0, {"reward": 1.0})
    before = path.read_bytes()
    with JsonlWriter(path, fsync=True) as log:
        log.write(1, {"reward": 2.0})
    assert path.read_bytes().startswith(before)
    assert read_jsonl(path).columns["reward"][1].tolist() == [1.0, 2.0]


def test_a_torn_fragment_left_by_a_crash_is_cut_so_the_file_stays_readable(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step":0,"reward":1.0}\n{"step":1,"rew')
    with JsonlWriter(path) as log:
        assert log.torn_bytes == len('{"step":1,"rew')
        log.write(1, {"reward": 2.0})
    log = read_jsonl(path)
    assert log.columns["reward"][0].tolist() == [0, 1] and not log.warnings


def test_a_fragment_without_any_newline_is_cut_entirely(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step":0,"rew')
    with JsonlWriter(path) as log:
        log.write(0, {"reward": 1.0})
    assert path.read_text() == '{"step":0,"reward":1.0}\n'


def test_numpy_and_torch_scalars_and_text(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with JsonlWriter(path) as log:
        log.write(np.int64(5), {"a": np.float32(0.5), "b": torch.tensor(2.0), "c": np.int32(3),
                                "eval_protocol": "T0\nmax 512"})
    log = read_jsonl(path)
    assert {k: v[1].tolist() for k, v in log.columns.items()} == {"a": [0.5], "b": [2.0],
                                                                  "c": [3.0]}
    assert log.columns["a"][0].tolist() == [5]
    assert log.text["eval_protocol"] == ((5, "T0\nmax 512"),)
    assert len(path.read_text().splitlines()) == 1  # the newline in the text is escaped


@pytest.mark.parametrize(
    ("step", "metrics", "message"),
    [
        ("10", {"a": 1.0}, "step must be an integer"),
        (1.5, {"a": 1.0}, "step must be an integer"),
        (1, {"step": 2}, "must not contain 'step'"),
        (1, {"a": np.zeros(3)}, "ndarray is not a JSON scalar"),
        (1, {"a": object()}, "object is not a JSON scalar"),
    ],
)
def test_misuse_is_an_rlvet_input_error(tmp_path, step, metrics, message):
    with JsonlWriter(tmp_path / "m.jsonl") as log, pytest.raises(RlvetInputError, match=message):
        log.write(step, metrics)
