"""Calibration of ``rlvet doctor`` on LLM post-training runs: the LLM corpus's fresh sets.

Run:
    .venv/bin/python benchmarks/llm_calibration.py                   # fresh2 (published)
    .venv/bin/python benchmarks/llm_calibration.py --split fresh     # scored once, seen since
    .venv/bin/python benchmarks/llm_calibration.py --split heldout   # seen: tuning material
    .venv/bin/python benchmarks/llm_calibration.py --split tune      # the tuning half
    .venv/bin/python benchmarks/llm_calibration.py --split mismatch  # sampler/trainer gap
    .venv/bin/python benchmarks/llm_calibration.py --split all --misses --markdown

The corpus (``benchmarks/llm_corpus/``: real tiny TRL GRPO runs on CPU, healthy and with
planted LLM pathologies, each verified from its own log and split by seed in its manifest
before any verdict) is unpacked from ``tests/data/llm_corpus/llm_corpus.tar.xz`` (splits
tune, heldout, all), ``llm_fresh.tar.xz`` (split fresh: the same recipe on seeds 100-107,
generated before the rules were changed on the seen halves) or ``llm_fresh2.tar.xz``
(split fresh2: seeds 200-207, generated before the rules tuned on the fresh set were
frozen) or ``llm_mismatch.tar.xz`` (split mismatch: seeds 300-303 trained through TRL's vLLM
path with a stand-in engine, ``llm_corpus/make_mismatch_runs.py``) unless ``--corpus``
names a directory holding it already. Every run is diagnosed offline with its
true objective (TRL's log of a weight-0 task reward) as the eval metric.

Printed, for the chosen half, with the same table functions as ``calibration.py``: per
planted category the first-break recall and the recall anywhere (among warnings or
errors); healthy runs' errors and warning categories per run; the confusion table; the
live path (every run replayed record by record through ``Monitor``, as a TRL job's log
grows: healthy runs stopped, faulty runs stopped); with ``--misses``, every wrong run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from calibration import (
    Row,
    _pct,
    _table,
    category_table,
    confusion_table,
    evaluate,
    healthy_table,
    live_table,
    load_manifest,
    misses,
    unpack,
)

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT / "tests" / "data" / "llm_corpus" / "llm_corpus.tar.xz"
FRESH_ARCHIVES = {split: ARCHIVE.with_name(f"llm_{split}.tar.xz")
                  for split in ("fresh", "fresh2", "mismatch", "mismatch2")}
SPLITS = ("fresh2", "fresh", "mismatch2", "mismatch", "heldout", "tune", "all")


def archive_of(split: str) -> Path:
    """The archive holding ``split``: each fresh set, and the mismatch set, has its own."""
    return FRESH_ARCHIVES.get(split, ARCHIVE)


def corpus_dir(archive: Path = ARCHIVE, dest: Path | None = None) -> Path:
    """The archive unpacked (into ``dest`` or a fresh temporary folder): the folder holding
    ``manifest.json`` and one folder per run."""
    root = unpack(archive, dest if dest is not None
                  else Path(tempfile.mkdtemp(prefix="rlvet-llm-corpus-")))
    return root / "llm_corpus" if (root / "llm_corpus" / "manifest.json").exists() else root


def entries(corpus: Path, split: str) -> list[dict[str, Any]]:
    """The manifest's verified runs of ``split`` (``all``: every run the manifest holds)."""
    return [e for e in load_manifest(corpus) if split == "all" or e["split"] == split]


def kind_table(rows: list[Row], kinds: Mapping[str, str], markdown: bool) -> str:
    """First-break recall and recall anywhere per planted kind (two kinds share
    reward_hacking); healthy runs: runs without an error."""
    body = []
    for kind in sorted(set(kinds.values())):
        rs = [r for r in rows if kinds[r.name] == kind]
        anywhere = "-" if rs[0].healthy else _pct(sum(r.anywhere for r in rs), len(rs))
        body.append([kind, rs[0].planted, str(len(rs)), _pct(sum(r.right for r in rs), len(rs)),
                     anywhere])
    return _table(["kind", "planted", "runs", "right (healthy: no error)", "recall anywhere"],
                  body, markdown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="unpacked corpus (default: the archive)")
    parser.add_argument("--split", choices=SPLITS, default="fresh2")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--misses", action="store_true", help="list every wrong run")
    parser.add_argument("--no-live", action="store_true", help="skip the live replay")
    args = parser.parse_args()
    corpus = args.corpus or corpus_dir(archive_of(args.split))
    started = time.perf_counter()
    runs = entries(corpus, args.split)
    rows = evaluate(corpus, runs, live=not args.no_live)
    wall = time.perf_counter() - started
    print(f"command: .venv/bin/python benchmarks/llm_calibration.py {' '.join(sys.argv[1:])}"
          .rstrip())
    kinds = {e["name"]: e["kind"] for e in runs}
    header = (f"split: {args.split}; runs: {len(rows)} ({sum(r.healthy for r in rows)} "
              f"healthy); machine: {platform.machine()}, {os.cpu_count()} cores, load "
              f"{os.getloadavg()[0]:.2f}; wall {wall:.1f} s")
    sections = [header, category_table(rows, args.markdown),
                kind_table(rows, kinds, args.markdown), healthy_table(rows, args.markdown),
                confusion_table(rows, args.markdown)]
    if not args.no_live:
        sections.append(live_table(rows, args.markdown))
    wrong = misses(rows)
    if args.misses and wrong:
        sections.append("wrong:\n" + "\n".join(wrong))
    print("\n\n".join(sections))

if __name__ == "__main__":
    main()
