"""TensorBoard framing: every header and data CRC is checked, records of any size and mix.

Files are written here with tensorboard's own (pure-Python) ``masked_crc32c``, so the
reader's CRC (google-crc32c) is checked against an independent implementation.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from rlvet.errors import RlvetInputError
from rlvet.signals import tensorboard as tb_reader
from rlvet.signals.tensorboard import read_tensorboard

HISTOGRAM = np.ones((40, 3))  # ~1 KB event
IMAGE_BYTES = 20_000  # one event well over the old 4 KiB limit on checked data CRCs


def _events(big_every: int, steps: int) -> list[bytes]:
    """Plain scalars, tensor scalars, text and histograms, with a big event now and then."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.util.tensor_util import make_tensor_proto

    def value(tag: str, plugin: str, tensor: np.ndarray) -> Summary.Value:
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=plugin))
        return Summary.Value(tag=tag, tensor=make_tensor_proto(tensor), metadata=meta)

    events = [Event(wall_time=1.0, file_version="brain.Event:2")]
    for step in range(steps):
        for tag in ("rollout/ep_rew_mean", "train/approx_kl"):
            events.append(Event(wall_time=1.7e9, step=step, summary=Summary(
                value=[Summary.Value(tag=tag, simple_value=float(step))])))
        events.append(Event(step=step, summary=Summary(
            value=[value("tf2/loss", "scalars", np.float32(step))])))
        events.append(Event(step=step, summary=Summary(
            value=[value("weights", "histograms", HISTOGRAM)])))
        if step % big_every == 0:
            events.append(Event(step=step, summary=Summary(
                value=[value("image", "images", np.array([b"x" * IMAGE_BYTES]))])))
            events.append(Event(step=step, summary=Summary(
                value=[value("note", "text", np.array([b"hello"]))])))
    return [event.SerializeToString() for event in events]


def _write(path: Path, datas: list[bytes]) -> list[int]:
    """TFRecords of ``datas``; returns each record's offset in the file."""
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as crc

    offsets, at = [], 0
    with open(path, "wb") as f:
        for data in datas:
            header = struct.pack("<Q", len(data))
            record = header + struct.pack("<I", crc(header)) + data + struct.pack("<I", crc(data))
            f.write(record)
            offsets.append(at)
            at += len(record)
    return offsets


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Path, list[bytes], list[int]]:
    path = tmp_path / "events.out.tfevents.1.host"
    datas = _events(big_every=10, steps=60)
    return path, datas, _write(path, datas)


def test_mixed_small_and_big_records_read_across_chunks(mixed, monkeypatch):
    path, _, _ = mixed
    whole = read_tensorboard(path)
    monkeypatch.setattr(tb_reader, "_CHUNK", 4096)  # big records span many chunk reads
    chunked = read_tensorboard(path)
    for log in (whole, chunked):
        assert sorted(log.columns) == ["rollout/ep_rew_mean", "tf2/loss", "train/approx_kl"]
        for steps, values in log.columns.values():
            assert steps.tolist() == list(range(60)) and values.tolist() == list(range(60))
        assert "weights" not in log.columns and "image" not in log.columns
        assert not log.warnings and set(log.text) == {"note"}


@pytest.mark.parametrize("kind", ["scalar", "histogram", "image"])
def test_corrupt_data_crc_names_file_record_and_byte(mixed, kind):
    path, datas, offsets = mixed
    low, high = {"scalar": (1, 100), "histogram": (500, 5000), "image": (IMAGE_BYTES, 10**9)}[kind]
    index = next(i for i, data in enumerate(datas) if i > 0 and low <= len(data) < high)
    _flip(path, offsets[index] + 12 + len(datas[index]) // 2)  # a byte of the event itself
    with pytest.raises(RlvetInputError) as error:
        read_tensorboard(path)
    assert str(error.value) == (f"{path}: record {index} at byte {offsets[index]}: data "
                                "checksum mismatch; the event file is corrupt")


@pytest.mark.parametrize("where", [8, 0])  # the stored header CRC; the length itself
def test_corrupt_header_is_a_length_checksum_mismatch(mixed, where):
    path, _, offsets = mixed
    index = len(offsets) // 2
    _flip(path, offsets[index] + where)
    with pytest.raises(RlvetInputError, match=rf"{path}: record {index} at byte "
                                              rf"{offsets[index]}: length checksum mismatch"):
        read_tensorboard(path)


def test_first_of_two_damaged_records_is_reported(mixed):
    path, datas, offsets = mixed
    for index in (7, 3):
        _flip(path, offsets[index] + 12 + len(datas[index]) - 1)
    with pytest.raises(RlvetInputError, match=rf": record 3 at byte {offsets[3]}: data"):
        read_tensorboard(path)


def test_corrupt_record_after_the_first_chunk_counts_records_file_wide(tmp_path, monkeypatch):
    path = tmp_path / "events.out.tfevents.1.host"
    datas = _events(big_every=10**9, steps=400)
    offsets = _write(path, datas)
    index = len(datas) - 5
    _flip(path, offsets[index] + 12)
    monkeypatch.setattr(tb_reader, "_CHUNK", 8192)
    with pytest.raises(RlvetInputError, match=rf": record {index} at byte {offsets[index]}: "):
        read_tensorboard(path)


def test_missing_google_crc32c_says_how_to_install(mixed, monkeypatch):
    monkeypatch.setitem(sys.modules, "google_crc32c", None)
    with pytest.raises(RlvetInputError, match=r"google-crc32c.*pip install 'rlvet\[tb\]'"):
        read_tensorboard(mixed[0])
