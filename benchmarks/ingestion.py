"""Log-ingestion speed and memory of ``rlvet doctor``'s readers (``read_run``).

Usage (from the repository root):

    .venv/bin/python benchmarks/ingestion.py                # 1M and 10M points per format
    .venv/bin/python benchmarks/ingestion.py --points 1000000 --repeats 1   # quick look

It writes, in a temporary directory, a JSON-lines file (``--points / 10`` lines of 10
metrics, 17-significant-digit floats as ``json.dumps`` writes them) and a TensorBoard
event file (``--points`` events of one scalar each, 10 tags, as torch's and SB3's
``add_scalar`` write them), then times ``read_run`` on each in a fresh process per
repeat and prints a markdown table: median wall and CPU seconds, points per second, and
memory. The output arrays take 16 bytes a point (int64 step + float64 value); "reader's
own peak" is tracemalloc's peak minus those arrays, from one more (traced) read: it
should not grow with the file. "Peak RSS growth" is the OS view (ru_maxrss after the
read minus VmRSS before it), allocator slack included.

The event file's records are framed with rlvet's ``masked_crc32c`` (google-crc32c;
tensorboard's ``EventFileWriter`` checksums in pure Python, ~20 s per million events); its
first records are read back with tensorboard's own ``EventFileLoader`` to prove the file is
valid.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from itertools import islice
from pathlib import Path

import numpy as np

METRICS = ("reward", "kl", "entropy", "clip_fraction", "value_loss", "explained_variance",
           "policy_loss", "grad_norm", "learning_rate", "fps")
TAGS = ("rollout/ep_rew_mean", "train/approx_kl", "train/entropy_loss", "train/clip_fraction",
        "train/value_loss", "train/explained_variance", "train/policy_gradient_loss",
        "train/loss", "train/learning_rate", "time/fps")
BATCH = 100_000  # events serialised and checksummed at a time


def write_jsonl(path: Path, lines: int, seed: int) -> None:
    """``lines`` records of ``{"step", **10 metrics}``, one JSON object per line."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for start in range(0, lines, BATCH):
            values = rng.random((min(BATCH, lines - start), len(METRICS))).tolist()
            f.writelines(
                json.dumps({"step": (start + i) * 64, **dict(zip(METRICS, row, strict=True))})
                + "\n" for i, row in enumerate(values))


def _frame(datas: list[bytes]) -> bytes:
    """TFRecord framing of serialised events: length, its CRC, data, its CRC."""
    from rlvet.signals.tensorboard import masked_crc32c

    headers = [struct.pack("<Q", len(d)) for d in datas]
    blob = np.frombuffer(b"".join(headers) + b"".join(datas), dtype=np.uint8)
    lengths = np.fromiter((len(d) for d in datas), dtype=np.int64, count=len(datas))
    heads = np.arange(len(datas), dtype=np.int64) * 8
    firsts = 8 * len(datas) + np.concatenate([[0], np.cumsum(lengths)[:-1]])
    head_crcs = masked_crc32c(blob, heads, np.full(len(datas), 8)).tolist()
    data_crcs = masked_crc32c(blob, firsts, lengths).tolist()
    return b"".join(h + struct.pack("<I", hc) + d + struct.pack("<I", dc)
                    for h, hc, d, dc in zip(headers, head_crcs, datas, data_crcs, strict=True))


def write_tensorboard(path: Path, points: int, seed: int) -> None:
    """``points`` single-scalar events over 10 tags, keyed by step, like ``add_scalar``."""
    from tensorboard.compat.proto.event_pb2 import Event

    rng = np.random.default_rng(seed)
    event = Event(wall_time=1.7e9, file_version="brain.Event:2")
    with open(path, "wb") as f:
        f.write(_frame([event.SerializeToString()]))
        event = Event(wall_time=1.7e9)
        value = event.summary.value.add()
        for start in range(0, points, BATCH):
            values = rng.random(min(BATCH, points - start)).astype(np.float32).tolist()
            datas = []
            for i, v in enumerate(values, start):
                event.step = (i // len(TAGS)) * 64
                value.tag = TAGS[i % len(TAGS)]
                value.simple_value = v
                datas.append(event.SerializeToString())
            f.write(_frame(datas))


def check_tensorboard_file(path: Path, events: int = 2000) -> None:
    """tensorboard's own loader (pure-Python CRC checks) reads the first events back."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    loaded = list(islice(EventFileLoader(str(path)).Load(), events))
    tags = {v.tag for e in loaded for v in e.summary.value}
    if len(loaded) != events or tags != set(TAGS):
        raise SystemExit(f"{path}: tensorboard's EventFileLoader could not read it back")


def child(path: str, trace: bool) -> None:
    """One measured read, in a fresh process: prints a JSON line of timings and memory."""
    import tensorboard.compat.proto.event_pb2  # noqa: F401 - keep import cost out of the read
    import tensorboard.util.tensor_util  # noqa: F401

    from rlvet.signals.discover import read_run

    if trace:
        tracemalloc.start()
    rss_before = _current_rss_kib()
    wall, cpu = time.perf_counter(), time.process_time()
    run = read_run(path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    traced = tracemalloc.get_traced_memory()[1] if trace else 0
    points = sum(len(s) for s in run.series.values())
    print(json.dumps({"wall": wall, "cpu": cpu, "points": points, "traced": traced,
                      "rss_kib": peak_rss - rss_before}))


def _current_rss_kib() -> int:
    """Resident set size now (Linux /proc), so the peak growth excludes import spikes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _run_child(path: Path, trace: bool) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", str(path)] + (["--trace"] if trace else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(path: Path, repeats: int) -> dict[str, float]:
    """Median timings over ``repeats`` fresh processes, then one traced run for memory."""
    runs = [_run_child(path, trace=False) for _ in range(repeats)]
    traced = _run_child(path, trace=True)
    wall = statistics.median(r["wall"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    points = runs[0]["points"]
    output = points * 16 / 2**20
    return {"points": points, "mb": path.stat().st_size / 2**20, "wall": wall, "cpu": cpu,
            "rate_wall": points / wall / 1e6, "rate_cpu": points / cpu / 1e6,
            "output": output, "beyond": traced["traced"] / 2**20 - output,
            "rss": max(r["rss_kib"] for r in runs) / 1024}


def _formats(points: int, seed: int) -> tuple[tuple[str, str, Callable[[Path], None]], ...]:
    return (
        ("rlvet JSONL", "metrics.jsonl",
         lambda p: write_jsonl(p, points // len(METRICS), seed)),
        ("TensorBoard", "events.out.tfevents.1700000000.bench",
         lambda p: write_tensorboard(p, points, seed)),
    )


def _print_table(cmd: str, repeats: int, rows: list[tuple[str, dict[str, float]]]) -> None:
    print(f"`{cmd}` -- {platform.machine()}, {os.cpu_count()} cores (shared), "
          f"Python {platform.python_version()}, median of {repeats} reads, one process each\n")
    print("| format | points | file MiB | wall s | CPU s | Mpoints/s (wall) | Mpoints/s (CPU) "
          "| output MiB | reader's own peak MiB (traced) | peak RSS growth MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for fmt, m in rows:
        print(f"| {fmt} | {m['points']:,} | {m['mb']:.0f} | {m['wall']:.1f} | {m['cpu']:.1f} | "
              f"{m['rate_wall']:.2f} | {m['rate_cpu']:.2f} | {m['output']:.0f} | "
              f"{m['beyond']:.0f} | {m['rss']:.0f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="1000000,10000000",
                        help="comma-separated sizes, points per file")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.trace)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="rlvet-ingest-") as tmp:
        for points in (int(p) for p in args.points.split(",")):
            for fmt, name, write in _formats(points, args.seed):
                path = Path(tmp, name)
                start = time.perf_counter()
                write(path)
                if fmt == "TensorBoard":
                    check_tensorboard_file(path)
                print(f"wrote {path.name} ({path.stat().st_size / 2**20:.0f} MiB) in "
                      f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
                rows.append((fmt, measure(path, args.repeats)))
                path.unlink()
    _print_table(" ".join(["python benchmarks/ingestion.py", *(argv or sys.argv[1:])]),
                 args.repeats, rows)


if __name__ == "__main__":
    main()
