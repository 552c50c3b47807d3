"""W&B offline run files (``wandb/offline-run-*/run-<id>.wandb``), read with wandb's own code.

Contents:
    read_wandb_file(path): every history row of the run, under the names it logged.

``wandb.init(mode="offline")`` appends every record of a run (config, history, summary,
console output, system stats) to ``run-<id>.wandb``: a LevelDB-style log of length- and
CRC-framed ``wandb.proto.wandb_internal_pb2.Record`` protobufs. It is read here with the
classes wandb itself reads it with -- ``wandb.sdk.internal.datastore.DataStore``
(``open_for_scan``, ``scan_data``: the framing and checksums) and ``Record.ParseFromString``
-- never a parser of our own, so a format change is wandb's to follow. That reader exists in
wandb 0.23 to 0.29 (0.19-0.22 refuse to run it outside wandb's internal process; 0.30 moved
reading into the Go ``wandb-core`` binary), hence the ``rlvet[wandb]`` pin. wandb is
imported only here, when such a file is read.

What is read: ``history`` records only, one row per ``run.log`` commit -- the summary
repeats the last values and the rest is not metrics. A row's step is its ``_step`` item
(``run.log(..., step=N)`` or W&B's own counter), else the record's ``step.num``. Items are
keyed by ``nested_key`` (a logged nested dict ``{"train": {"clip_fraction": x}}`` arrives as
``["train", "clip_fraction"]``) joined with ``/``, so names are exactly as logged and the
alias table maps them. Kept: numbers (JSON ``NaN``/``Infinity`` are data; booleans count as
0/1). Skipped, with one warning naming them: media (wandb flattens a ``wandb.Histogram`` or
``wandb.Image`` into items under one key, one of them ``_type``), strings and lists. W&B's
bookkeeping (``_step``, ``_runtime``, ``_timestamp``, ``_wandb``) is dropped, as in
``read_wandb_csv``: ``RawLog`` has no wall-clock axis.

Damage: a file that does not start with W&B's ``:W&B`` header is an ``RlvetInputError``.
A record that fails its checksum or framing -- the tail of a run still being written, or a
job killed mid-write -- ends the read: the rows before it are returned with a warning
naming the byte offset (as the text readers drop a torn last line). Under ``python -O``
wandb's checks (plain ``assert``) are gone and a torn tail is caught when its protobuf does
not parse.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Generator
from contextlib import closing
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from rlvet.errors import RlvetInputError
from rlvet.signals.jsonl import Columns, RawLog

if TYPE_CHECKING:
    from wandb.sdk.internal.datastore import DataStore

__all__ = ["read_wandb_file"]

_INSTALL = "pip install 'rlvet[wandb]'"
_MEDIA_TYPE = "_type"  # the item wandb writes for every media object (histogram, image...)
_STEP = "_step"


def _import_reader(path: Path) -> tuple[type[DataStore], Any, type[Exception]]:
    """wandb's ``DataStore``, its ``Record`` class and protobuf's ``DecodeError``, or an
    install hint naming the file and what is missing."""
    try:
        import wandb
    except ImportError:
        raise RlvetInputError(f"{path}: reading a W&B .wandb file needs the wandb package; "
                              f"{_INSTALL}") from None
    try:
        from google.protobuf.message import DecodeError
        from wandb.proto import wandb_internal_pb2
        from wandb.sdk.internal.datastore import DataStore
    except ImportError:
        version = getattr(wandb, "__version__", "?")
        raise RlvetInputError(f"{path}: wandb {version} has no Python .wandb reader (wandb "
                              f"0.30 removed it); {_INSTALL} installs one that has") from None
    record = wandb_internal_pb2.Record  # type: ignore[attr-defined]  # generated, no stub
    return DataStore, record, DecodeError


def _scan(store_class: type[DataStore], path: Path, warnings: list[str],
          ) -> Generator[bytes, None, None]:
    """Every record's bytes, through wandb's ``DataStore``; stops at the first damaged one.

    Why the subclass: wandb's ``open_for_scan`` opens the file ``r+b`` (it shares the class
    with the writer), which fails on a run directory the reader may only read; the override
    differs only in the mode.
    """

    class ReadOnlyStore(store_class):  # type: ignore[valid-type,misc]
        def open_for_scan(self, fname: str) -> None:
            self._fname = fname
            self._fp = open(fname, "rb")  # closed by close(), in _scan's finally
            self._index = 0
            self._size_bytes = self._fp.seek(0, 2)
            self._fp.seek(0)
            self._opened_for_scan = True
            self._read_header()

    try:
        store = ReadOnlyStore()
    except AssertionError:  # wandb < 0.23: "DataStore can only be used in the internal process"
        raise RlvetInputError(f"{path}: this wandb's .wandb reader runs only inside wandb's "
                              f"own process (before wandb 0.23); {_INSTALL}") from None
    try:
        try:
            store.open_for_scan(str(path))
        except OSError:
            raise
        except Exception:  # wandb raises a bare Exception("Invalid header"), or asserts
            raise RlvetInputError(f"{path}: not a W&B run file (no ':W&B' header); "
                                  "expected wandb's offline run-<id>.wandb") from None
        while True:
            offset = store.get_offset()
            try:
                data = store.scan_data()
            except (AssertionError, struct.error, IndexError, ValueError) as err:
                warnings.append(f"{path}: damaged or unfinished record at byte {offset} "
                                f"({err or type(err).__name__}); records from there on not "
                                "read (a run still writing, or a job killed mid-write)")
                return
            if data is None:
                return
            yield data
    finally:
        store.close()


def _path_of(item: Any) -> tuple[str, ...]:
    """An item's key path: ``nested_key`` (what wandb-core writes), else the flat ``key``."""
    return tuple(item.nested_key) or (item.key,)


def _add_value(cols: Columns, key: str, step: int, value: Any, skipped: set[str]) -> None:
    """One decoded ``value_json``: numbers kept, dicts flattened with ``/``, the rest skipped."""
    kind = type(value)
    if kind is float or kind is int or kind is bool:
        cols.add_number(key, step, float(value))
    elif kind is dict:
        if _MEDIA_TYPE in value:
            skipped.add(key)
            return
        for sub, inner in value.items():
            _add_value(cols, f"{key}/{sub}", step, inner, skipped)
    elif value is not None:  # strings, lists; null means "not logged this step"
        skipped.add(key)


def _add_history(cols: Columns, history: Any, skipped: set[str]) -> None:
    """One history record: its step, then its scalar items."""
    items = [(_path_of(item), item.value_json) for item in history.item]
    step = history.step.num
    media = {path[:-1] for path, _ in items if len(path) > 1 and path[-1] == _MEDIA_TYPE}
    decoded: list[tuple[tuple[str, ...], Any]] = []
    for path, text in items:
        if path[0].startswith("_"):  # _step, _runtime, _timestamp, _wandb
            if path == (_STEP,):
                step = int(json.loads(text))
            continue
        if any(path[:len(prefix)] == prefix for prefix in media):
            skipped.add("/".join(path[:-1]))
            continue
        decoded.append((path, json.loads(text)))
    for path, value in decoded:
        _add_value(cols, "/".join(path), step, value, skipped)


def read_wandb_file(path: str | Path) -> RawLog:
    """Read a W&B offline run file's history: one row per logged step.

    Args:
        path: a ``run-<id>.wandb`` file; opened read-only and never modified.

    Returns:
        The history's numeric columns under their logged names (``rollout/ep_rew_mean``,
        ``train/clip_fraction`` for a nested dict), steps from ``_step``, in log order.

    Raises:
        RlvetInputError: wandb (a version with its Python reader) is not installed, the file
            is not a W&B run file, or a value does not fit a float64 / a step an int64.

    Example:
        >>> log = read_wandb_file("wandb/offline-run-20250101_120000-abc123/run-abc123.wandb")
        >>> steps, values = log.columns["train/approx_kl"]
    """
    path = Path(path)
    store_class, record_class, decode_error = _import_reader(path)
    where = str(path)
    cols = Columns(where, lambda n: f"{where}: history record {n}")
    warnings: list[str] = []
    skipped: set[str] = set()
    with closing(_scan(store_class, path, warnings)) as records:
        for n, data in enumerate(records, 1):
            record = record_class()
            try:
                record.ParseFromString(data)
                if record.WhichOneof("record_type") == "history":
                    _add_history(cols, record.history, skipped)
            except OverflowError:
                raise RlvetInputError(f"{where}: record {n}: a number does not fit a float64 "
                                      "value or an int64 step") from None
            except (decode_error, ValueError) as err:  # a torn record; value_json not JSON
                warnings.append(f"{where}: record {n} does not parse ({type(err).__name__}); "
                                "records from there on not read")
                break
    columns, text, more = cols.finish()
    if skipped:
        warnings.append(f"{where}: skipped non-scalar values (media, strings, lists) under "
                        f"{len(skipped)} key(s): {', '.join(sorted(skipped)[:5])}")
    return RawLog(where, "wandb_file", MappingProxyType(columns), MappingProxyType(text),
                  tuple(warnings + more))
