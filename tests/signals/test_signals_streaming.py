"""Readers stream: their own memory does not grow with the file, only with the points kept.

Measured with tracemalloc (numpy and array.array allocations are traced). Each output
point costs 16 bytes (int64 step + float64 value); the bounds below allow that, the
arrays' growth slack and a constant, and nothing proportional to the file's bytes.
"""

from __future__ import annotations

import json
import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rlvet.signals import tensorboard as tb_reader
from rlvet.signals.discover import read_run
from rlvet.signals.jsonl import read_jsonl
from rlvet.signals.sb3_csv import read_sb3_csv

MIB = 1 << 20


def _peak(read: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        result = read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak


def test_jsonl_memory_does_not_follow_file_size(tmp_path):
    path = tmp_path / "m.jsonl"
    blob = json.dumps(["x" * 5000])  # a list per line: skipped, but 5 KB of file
    with open(path, "w") as f:
        for step in range(2000):
            f.write(f'{{"step": {step}, "reward": {step * 0.1}, "blob": {blob}}}\n')
    size = path.stat().st_size
    assert size > 8 * MIB
    assert _peak(lambda: read_jsonl(path)) < MIB


def test_jsonl_memory_is_the_output_arrays(tmp_path):
    path = tmp_path / "m.jsonl"
    lines = 50_000
    with open(path, "w") as f:
        for step in range(lines):
            f.write(f'{{"step": {step}, "reward": {step * 0.1}, "kl": 0.01, "entropy": 0.5}}\n')
    output = lines * 3 * 16
    assert _peak(lambda: read_run(path)) < 1.5 * output + MIB


def test_csv_memory_is_the_output_arrays(tmp_path):
    path = tmp_path / "progress.csv"
    rows = 30_000
    with open(path, "w") as f:
        f.write("time/total_timesteps,rollout/ep_rew_mean,train/approx_kl,time/fps\n")
        for step in range(rows):
            f.write(f"{step * 256},{step * 0.1},0.0123456789,1234\n")
    output = rows * 3 * 16
    assert _peak(lambda: read_sb3_csv(path)) < 1.5 * output + MIB


def _write_events(path: Path, records: int) -> None:
    """TFRecords of histogram events (~1 KB each) and one scalar each.

    The CRCs come from ``masked_crc32c`` (checked against tensorboard's own in
    test_signals_robustness.py): tensorboard's pure-Python CRC would take seconds here.
    """
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.util.tensor_util import make_tensor_proto

    hist = make_tensor_proto(np.ones((40, 3)))
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="histograms"))
    datas = [Event(wall_time=1.0, step=step, summary=Summary(value=[
        Summary.Value(tag="w", tensor=hist, metadata=meta),
        Summary.Value(tag="reward", simple_value=float(step))])).SerializeToString()
        for step in range(records)]
    headers = [struct.pack("<Q", len(data)) for data in datas]
    blob = np.frombuffer(b"".join(headers + datas), dtype=np.uint8)
    starts = np.arange(records, dtype=np.int64) * 8
    lengths = np.array([len(d) for d in datas], dtype=np.int64)
    data_starts = 8 * records + np.concatenate([[0], np.cumsum(lengths)[:-1]])
    header_crcs = tb_reader.masked_crc32c(blob, starts, np.full(records, 8))
    data_crcs = tb_reader.masked_crc32c(blob, data_starts, lengths)
    with open(path, "wb") as f:
        for header, data, hcrc, dcrc in zip(headers, datas, header_crcs, data_crcs, strict=True):
            f.write(header + struct.pack("<I", hcrc) + data + struct.pack("<I", dcrc))


def test_tensorboard_memory_is_bounded_by_the_chunk(tmp_path, monkeypatch):
    chunk = 256 << 10
    monkeypatch.setattr(tb_reader, "_CHUNK", chunk)
    path = tmp_path / "events.out.tfevents.1.host"
    _write_events(path, 2500)
    assert path.stat().st_size > 2 * MIB
    log = tb_reader.read_tensorboard(path)
    assert log.columns["reward"][1].tolist() == list(range(2500))
    assert "w" not in log.columns and not log.warnings
    assert _peak(lambda: tb_reader.read_tensorboard(path)) < 4 * chunk + 100 * 1024
