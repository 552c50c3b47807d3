"""rlvet's calibration corpus: real training runs, healthy and faulty, split once.

Contents:
    ARCHIVE -- ``tests/data/corpus/corpus.tar.xz``: every verified run's scalar logs and
        ``corpus/manifest.json`` (the same file as ``benchmarks/corpus/manifest.json``).
    corpus_dir(tmp) -- unpack the archive under ``tmp`` and return the corpus directory
        (``<tmp>/corpus``: ``manifest.json`` and one folder per run).
    load_manifest(root=None) -- the manifest (from an unpacked corpus, or the repo copy).

The generator is ``make_corpus.py`` (see README.md in this folder).
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

__all__ = ["ARCHIVE", "MANIFEST", "corpus_dir", "load_manifest"]

HERE = Path(__file__).resolve().parent
ARCHIVE = HERE.parents[1] / "tests" / "data" / "corpus" / "corpus.tar.xz"
MANIFEST = HERE / "manifest.json"


def corpus_dir(tmp: str | Path, archive: str | Path = ARCHIVE) -> Path:
    """Unpack ``archive`` into ``tmp`` (once) and return ``<tmp>/corpus``."""
    root = Path(tmp) / "corpus"
    if not (root / "manifest.json").exists():
        with tarfile.open(archive, "r:xz") as tar:
            tar.extractall(Path(tmp), filter="data")
    return root


def load_manifest(root: str | Path | None = None) -> dict[str, Any]:
    """The corpus manifest: ``runs`` (verified, with ``split``), ``dropped``, ``split_rule``."""
    path = Path(root) / "manifest.json" if root is not None else MANIFEST
    return json.loads(path.read_text())
