"""Unpack the calibration corpus: ``python benchmarks/corpus/extract.py DIR``.

Prints the corpus directory (``DIR/corpus``) and the run counts per split.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.corpus import ARCHIVE, corpus_dir, load_manifest  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dest", type=Path, help="directory to unpack into")
    p.add_argument("--archive", type=Path, default=ARCHIVE)
    a = p.parse_args(argv)
    root = corpus_dir(a.dest, a.archive)
    runs = load_manifest(root)["runs"]
    print(root)
    print(dict(Counter((r["split"], "healthy" if r["fault"] is None else "faulty")
                       for r in runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
