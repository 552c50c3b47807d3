"""TensorBoard event files (SB3, CleanRL, torch/TF writers, HF Trainer), streamed.

Contents:
    read_tensorboard(path): every scalar and text summary of one ``events.out.tfevents.*``
        file, under its tag, keyed by the event's step.
    masked_crc32c(data, starts, lengths): TFRecord checksums of many byte ranges.

Scalars come in two encodings and both are read: ``simple_value`` (torch's and SB3's
``add_scalar``, TF1) and a rank-0 ``tensor`` with the ``scalars`` plugin (TF2
``tf.summary.scalar``, torch ``new_style=True``), decoded with tensorboard's own
``tensor_util.make_ndarray`` (``float_val`` and ``tensor_content`` alike). Text summaries
(SB3 logs str values with ``add_text``) go to ``RawLog.text``; histograms, images and
other plugins are skipped.

Why not ``EventFileLoader``: without TensorFlow it checks CRCs in pure Python (~70k
points/s here) and, reading in a loop, it swallows ``DataLossError``, so a corrupt record in
the middle of a file silently ends the run's history. This reader frames the TFRecords
itself, 4 MiB at a time (memory flat in file size); checks the header CRC and the data
CRC of every record with google-crc32c's hardware CRC-32C (one call per record's data, one
per distinct record length for the headers); decodes runs of plain ``add_scalar`` events
(one ``simple_value``, nothing else) with numpy, and everything else with tensorboard's
``Event`` proto and ``tensor_util`` (the two paths are tested to agree); drops a torn tail
(crashed writer: a record cut at the physical end of the file, its header valid or
itself cut) with a warning; and reports any other damage, in the last read as anywhere, as
``path: record N at byte B``.

tensorboard and google-crc32c are the ``tb`` extra: they are imported on first use, and
their absence is an ``RlvetInputError`` that says how to install them.
"""

from __future__ import annotations

import os
import struct
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO, cast

import numpy as np

from rlvet.errors import RlvetInputError
from rlvet.signals.jsonl import Columns, RawLog

__all__ = ["masked_crc32c", "read_tensorboard"]

_CHUNK = 4 << 20  # bytes read at a time; bounds the reader's own memory
_HEADER = 12  # uint64 length + masked CRC32C of the length
_FOOTER = 4  # masked CRC32C of the data
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_READ_PLUGINS = frozenset({"", "scalars", "text"})
_MIN_RUN = 16  # shorter runs of plain scalar events are cheaper through protobuf


def _crc32c(where: str) -> Callable[[bytes], int]:
    """google-crc32c's C CRC-32C (part of the ``tb`` extra), imported on first use."""
    try:
        from google_crc32c import value
    except ImportError:
        raise RlvetInputError(
            f"{where}: reading TensorBoard event files needs the google-crc32c package; "
            "install it with: pip install 'rlvet[tb]'"
        ) from None
    return cast("Callable[[bytes], int]", value)


def _mask(crc: np.ndarray) -> np.ndarray:
    """TFRecord's masking of CRC-32C values (uint32 (k,)): rotate right by 15, add a constant."""
    return ((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)


def masked_crc32c(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """TFRecord's masked CRC32C of many byte ranges, for writing event files.

    Why: tensorboard's own ``masked_crc32c`` is pure Python (~10 us for a 50-byte event);
    tests and benchmarks write hundreds of thousands of records with this one.

    Args:
        data: the buffer, uint8 of shape (n_bytes,).
        starts: offset of each range, int64 of shape (k,).
        lengths: length of each range, int64 of shape (k,).

    Returns:
        uint32 of shape (k,): the masked CRCs, as TFRecord stores them.
    """
    crc32c, raw = _crc32c("masked_crc32c"), data.tobytes()
    ranges = zip(starts.tolist(), lengths.tolist(), strict=True)
    crcs = np.fromiter((crc32c(raw[s:s + n]) for s, n in ranges), np.uint32, len(starts))
    return _mask(crcs)


def _at_every_byte(data: np.ndarray, dtype: str) -> np.ndarray:
    """``data`` (uint8 (n,)) viewed as one ``dtype`` item starting at every byte offset.

    Why: record fields sit at arbitrary byte offsets; indexing this (overlapping,
    unaligned, read-only) view reads one field of many records in a single gather.
    """
    size = np.dtype(dtype).itemsize
    return np.ndarray((max(data.size - size + 1, 0),), dtype, buffer=data, strides=(1,))


def _stored_crcs(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian uint32 stored at each offset in ``at``."""
    return cast(np.ndarray, _at_every_byte(data, "<u4")[at])


def _frame(buf: bytes, crc32c: Callable[[bytes], int]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The complete records in ``buf``: offsets, data lengths, data CRCs, and their end.

    The one sequential step of the reader (each length says where the next record
    starts). The data CRC is taken here, one C call per record while the record's bounds
    are at hand (measured: as fast as a CRC vectorised with numpy across records, and it
    covers records of any size). The loop body is kept to an unpack, three adds, a slice,
    a call and two appends, into ``array``s that numpy then views without converting.

    Returns:
        ``starts`` int64 (k,), ``lengths`` int64 (k,), ``crcs`` uint32 (k,) (unmasked
        CRC-32C of each record's data), and ``end``, where the last one ends.
    """
    starts, crcs = array("q"), array("I")
    add_start, add_crc, unpack = starts.append, crcs.append, _LENGTH.unpack_from
    pos, limit = 0, len(buf) - _FOOTER
    try:
        while True:
            first = pos + _HEADER
            end = first + unpack(buf, pos)[0]
            if end > limit:
                break
            add_start(pos)
            add_crc(crc32c(buf[first:end]))
            pos = end + _FOOTER
    except struct.error:
        pass  # fewer than 8 bytes left: not even a length
    at = np.frombuffer(starts, dtype=np.int64)
    lengths = np.diff(at, append=pos) - (_HEADER + _FOOTER)
    return at, lengths, np.frombuffer(crcs, dtype=np.uintc), pos


def _header_crcs(lengths: np.ndarray, crc32c: Callable[[bytes], int]) -> np.ndarray:
    """The masked CRC each record's header must carry: one C call per distinct length.

    A header's CRC covers its 8 length bytes alone, and scalar events come in a handful
    of lengths, so this checks every header for the price of a ``np.unique``.
    """
    distinct, inverse = np.unique(lengths, return_inverse=True)
    crcs = [crc32c(_LENGTH.pack(n)) for n in distinct.tolist()]
    return _mask(np.asarray(crcs, dtype=np.uint32))[inverse.ravel()]


class _Framer:
    """Reads one file as TFRecords, chunk by chunk, checking every CRC as it goes."""

    def __init__(self, f: BinaryIO, where: str, warnings: list[str]) -> None:
        self.f = f
        self.where = where
        self.warnings = warnings
        self.crc32c = _crc32c(where)
        self.index = 0  # records yielded so far
        self.base = 0  # file offset of the current buffer's first byte

    def _damage(self, start: int, what: str) -> RlvetInputError:
        return RlvetInputError(
            f"{self.where}: record {self.index} at byte {self.base + start}: {what}; "
            "the event file is corrupt"
        )

    def _check(self, buf: bytes, starts: np.ndarray, lengths: np.ndarray,
               crcs: np.ndarray) -> None:
        """The header CRC and the data CRC of every record."""
        data = np.frombuffer(buf, dtype=np.uint8)
        bad = _header_crcs(lengths, self.crc32c) != _stored_crcs(data, starts + 8)
        bad_data = _mask(crcs) != _stored_crcs(data, starts + _HEADER + lengths)
        if bad.any() or bad_data.any():
            i = int(np.argmax(bad | bad_data))
            self.index += i
            what = "length checksum mismatch" if bad[i] else "data checksum mismatch"
            raise self._damage(int(starts[i]), what)

    def _pending_ok(self, buf: bytes, end: int) -> bool:
        """Whether the incomplete record at ``end`` has a valid header (if it has one yet)."""
        if len(buf) - end < _HEADER:
            return True
        crc = _mask(np.asarray([self.crc32c(buf[end:end + 8])], dtype=np.uint32))
        return int(crc[0]) == cast(int, _CRC.unpack_from(buf, end + 8)[0])

    def _next_read_size(self, buf: bytes, end: int) -> int:
        """Read a whole oversized record at once instead of regrowing the buffer."""
        if len(buf) - end < _HEADER:
            return _CHUNK
        length: int
        (length,) = _LENGTH.unpack_from(buf, end)
        left_in_file = os.fstat(self.f.fileno()).st_size - self.f.tell()
        return max(_CHUNK, min(_HEADER + length + _FOOTER - (len(buf) - end), left_in_file))

    def chunks(self) -> Iterator[_Chunk]:
        """Yield the complete, checksummed records of the file, a chunk at a time."""
        carry = b""
        read_size = _CHUNK
        while True:
            chunk = self.f.read(read_size)
            if not chunk:
                break
            buf = carry + chunk if carry else chunk
            starts, lengths, crcs, end = _frame(buf, self.crc32c)
            self._check(buf, starts, lengths, crcs)
            yield _Chunk(buf, starts + _HEADER, lengths, self.index)
            self.index += len(starts)
            if not self._pending_ok(buf, end):
                # A writer that stopped mid-record leaves a valid header or part of one;
                # a complete header with a wrong checksum is damage, even in the last read.
                raise self._damage(end, "length checksum mismatch")
            carry, self.base = buf[end:], self.base + end
            read_size = self._next_read_size(buf, end)
        if carry:
            self.warnings.append(f"{self.where}: torn last record dropped "
                                 f"({len(carry)} bytes; the writer stopped mid-record)")


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Records of one read: event data at ``buf[first[i]:first[i] + size[i]]``."""

    buf: bytes
    first: np.ndarray  # int64 (k,)
    size: np.ndarray  # int64 (k,)
    index: int  # file-wide number of the first record


def _varint(data: np.ndarray, at: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
    """Protobuf varints at offsets ``at`` (int64 (k,)): values (int64), lengths, validity."""
    value = np.zeros(at.shape, dtype=np.uint64)
    length = np.zeros(at.shape, dtype=np.int64)
    running = at < end
    for k in range(10):  # a varint is at most 10 bytes
        if not running.any():
            break
        byte = data[np.minimum(at + k, data.size - 1)].astype(np.uint64)
        value |= np.where(running, (byte & np.uint64(0x7F)) << np.uint64(7 * k), 0).astype(
            np.uint64)
        length += running
        running &= ((byte & np.uint64(0x80)) != 0) & (at + k + 1 < end)
    ok = ~running & (length > 0) & (data[np.minimum(at + length - 1, data.size - 1)] < 0x80)
    return value.view(np.int64), length, ok


def _plain_scalars(data: np.ndarray, first: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
    """Decode, with numpy, the events that are exactly one ``simple_value`` scalar.

    Why: ``add_scalar`` (torch, SB3, CleanRL) writes one such event per point, and reading
    them one protobuf object at a time costs ~3 us each, almost all of it Python attribute
    access. An event ``[0x09 wall_time] [0x10 step] 0x2a L1 (0x0a L2 (0x0a T tag 0x15
    float32))`` that fills its record exactly has one meaning in the protobuf wire format;
    anything else -- metadata, several values, tensors, long tags -- is left to the
    protobuf parser (``ok`` False).

    Returns:
        ``ok`` (k,) bool, ``steps`` int64, ``values`` float32, ``tag_at`` and ``tag_len``.
    """
    def byte(pos: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, data[np.minimum(pos, data.size - 1)].astype(np.int64))

    p = first + 9 * (byte(first) == 0x09)  # wall_time: fixed64, optional (0.0 is omitted)
    has_step = (p < end) & (byte(p) == 0x10)  # step: varint, omitted when 0
    steps, step_len, step_ok = _varint(data, p + 1, end)
    ok = (first < end) & (~has_step | step_ok)
    p = np.where(has_step, p + 1 + step_len, p)
    steps = np.where(has_step, steps, 0)
    l1, l2, tag_len = byte(p + 1), byte(p + 3), byte(p + 5)
    ok &= (byte(p) == 0x2A) & (l1 < 0x80) & (p + 2 + l1 == end)  # summary fills the event
    ok &= (byte(p + 2) == 0x0A) & (l2 < 0x80) & (l2 + 2 == l1)  # one Value fills the summary
    ok &= (byte(p + 4) == 0x0A) & (tag_len < 0x80) & (tag_len + 7 == l2)  # tag + float32
    tag_at = p + 6
    ok &= byte(tag_at + tag_len) == 0x15
    values = _at_every_byte(data, "<f4")[np.minimum(tag_at + tag_len + 1, data.size - 4)]
    return ok, steps, values, tag_at, tag_len


def _tag_words(data: np.ndarray, tag_at: np.ndarray, length: int) -> np.ndarray:
    """The tags of ``length`` bytes at ``tag_at`` (int64 (n,)) as uint64 (n, w), zero-padded.

    A plain scalar's tag is followed by at least 9 bytes (0x15, float32, data CRC), so
    its last word never needs the clipping that keeps other records' reads in bounds.
    """
    u64 = _at_every_byte(data, "<u8")
    at = np.minimum(tag_at[:, None] + np.arange(0, length, 8), u64.size - 1)
    words = u64[at]
    if length % 8:
        words[:, -1] &= np.uint64((1 << 8 * (length % 8)) - 1)  # bytes past the tag
    return words


def _tag_ids(data: np.ndarray, tag_at: np.ndarray, tag_len: np.ndarray,
             ok: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """A small integer per distinct tag of the ``ok`` records, and the tags' names.

    Tags are grouped by a vectorised polynomial hash, then every record's bytes are
    compared with its group's first record, so a hash collision cannot merge two tags (the
    colliding records are left to the protobuf parser). Records whose tag is not UTF-8
    are left to it too (``ok`` cleared): it reports them as any malformed string field.
    """
    ids = np.full(tag_at.shape, -1, dtype=np.int64)
    names: list[str] = []
    for length in np.flatnonzero(np.bincount(tag_len[ok], minlength=1)).tolist():  # < 128
        sel = np.flatnonzero(ok & (tag_len == length))
        words = _tag_words(data, tag_at[sel], length)
        key = np.zeros(len(sel), dtype=np.uint64)
        for word in words.T:  # 8 tag bytes at a time
            key = (key ^ word) * np.uint64(1099511628211)  # FNV-style, wraps mod 2**64
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        same = (words == words[first[inverse.ravel()]]).all(axis=1)
        for group, row in enumerate(first.tolist()):
            try:
                names.append(words[row].tobytes()[:length].decode("utf-8"))
            except UnicodeDecodeError:
                first[group] = -1
                continue
            first[group] = len(names) - 1
        ids[sel] = np.where(same, first[inverse.ravel()], -1)
    ok &= ids >= 0
    return ids, names


def _tensorboard_modules(where: str) -> tuple[Callable[[bytes | memoryview], Any],
                                              Callable[[Any], Any],
                                              type[Exception]]:
    """Import tensorboard lazily: it is an extra, needed only when an event file is found."""
    try:
        from google.protobuf.message import DecodeError
        from tensorboard.compat.proto import event_pb2
        from tensorboard.util import tensor_util
    except ImportError:
        raise RlvetInputError(
            f"{where}: reading TensorBoard event files needs the tensorboard package; "
            "install it with: pip install 'rlvet[tb]'"
        ) from None
    return event_pb2.Event.FromString, tensor_util.make_ndarray, DecodeError


class _TensorValues:
    """Decodes tensor-encoded summaries, remembering each tag's plugin.

    Why remember: TF2 writers attach the plugin metadata to a tag's first event only.
    """

    def __init__(self, cols: Columns, make_ndarray: Callable[[Any], Any]) -> None:
        self.cols = cols
        self.make_ndarray = make_ndarray
        self.plugins: dict[str, str] = {}

    def add(self, value: Any, step: int, index: int) -> None:
        tag = value.tag
        if value.HasField("metadata") and tag not in self.plugins:
            self.plugins[tag] = value.metadata.plugin_data.plugin_name
        if self.plugins.get(tag, "") not in _READ_PLUGINS:
            return  # histograms, images, hparams, ...
        try:
            array = np.asarray(self.make_ndarray(value.tensor))
        except (ValueError, TypeError):
            return  # a dtype tensorboard itself cannot decode: not a scalar
        if array.dtype.kind in "SUO" and array.size >= 1:
            item = array.reshape(-1)[0]
            text = item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
            self.cols.add_text(tag, step, text, index)
        elif array.size == 1 and array.dtype.kind in "fiub":
            self.cols.add_number(tag, step, float(array.reshape(-1)[0]))


class _EventReader:
    """Turns chunks of records into columns: numpy for plain scalars, protobuf otherwise."""

    def __init__(self, where: str, cols: Columns) -> None:
        self.where = where
        self.cols = cols
        self.parse, make_ndarray, self.decode_error = _tensorboard_modules(where)
        self.tensors = _TensorValues(cols, make_ndarray)
        self.simple: dict[str, Any] = {}  # tag -> (values.append, steps.append)

    def add_chunk(self, chunk: _Chunk) -> None:
        """Runs of plain scalar events go through numpy, everything else through protobuf,
        in file order (so each tag's points stay in log order)."""
        data = np.frombuffer(chunk.buf, dtype=np.uint8)
        end = chunk.first + chunk.size
        ok, steps, values, tag_at, tag_len = _plain_scalars(data, chunk.first, end)
        ids, names = _tag_ids(data, tag_at, tag_len, ok)
        bounds = np.flatnonzero(np.diff(ok.astype(np.int8))) + 1
        for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(ok)], strict=True):
            if hi > lo and ok[lo] and hi - lo >= _MIN_RUN:
                self._add_plain(ids[lo:hi], names, steps[lo:hi], values[lo:hi])
            else:
                self._add_events(chunk, lo, hi)

    def _add_plain(self, ids: np.ndarray, names: list[str], steps: np.ndarray,
                   values: np.ndarray) -> None:
        for tag_id in np.unique(ids).tolist():
            mine = ids == tag_id
            self.cols.extend(names[tag_id], steps[mine], values[mine])

    def _add_events(self, chunk: _Chunk, lo: int, hi: int) -> None:
        """Records ``lo:hi`` of a chunk, one tensorboard ``Event`` at a time."""
        view = memoryview(chunk.buf)
        starts, sizes = chunk.first[lo:hi].tolist(), chunk.size[lo:hi].tolist()
        for i, start, size in zip(range(lo, hi), starts, sizes, strict=True):
            try:
                event = self.parse(view[start:start + size])
            except self.decode_error:
                raise RlvetInputError(f"{self.where}: record {chunk.index + i}: checksum "
                                      "matches but the record is not a TensorBoard Event") from None
            for value in event.summary.value:  # empty for file_version, session_log, ...
                if value.HasField("simple_value"):
                    self._add_simple(value.tag, event.step, value.simple_value)
                elif value.HasField("tensor"):
                    self.tensors.add(value, event.step, chunk.index + i)

    def _add_simple(self, tag: str, step: int, number: float) -> None:
        col = self.simple.get(tag) or self.simple.setdefault(tag, self.cols.appenders(tag))
        if col is None:  # a tag that logged text first: kept as text
            self.cols.add_number(tag, step, number)
        else:
            col[0](number)
            col[1](step)


def read_tensorboard(path: str | Path) -> RawLog:
    """Read the scalars and text summaries of one TensorBoard event file.

    Args:
        path: an ``events.out.tfevents.*`` file; opened read-only and never modified.

    Returns:
        Columns keyed by tag (``rollout/ep_rew_mean``, ``charts/episodic_return``, ...),
        steps from each event's ``step``, in file order.

    Raises:
        RlvetInputError: tensorboard is not installed, or a record in the file is damaged
            (a checksum mismatch or an unparseable event anywhere but a torn tail).

    Example:
        >>> log = read_tensorboard("runs/ppo/events.out.tfevents.1700000000.host.1.0")
        >>> steps, values = log.columns["losses/approx_kl"]
    """
    where = str(path)
    cols = Columns(where, lambda index: f"{where}: record {index}")
    reader = _EventReader(where, cols)
    warnings: list[str] = []
    with open(path, "rb") as f:
        for chunk in _Framer(f, where, warnings).chunks():
            reader.add_chunk(chunk)
    columns, text, more = cols.finish()
    return RawLog(where, "tensorboard", MappingProxyType(columns), MappingProxyType(text),
                  tuple(warnings + more))
