"""Precision and recall of ``rlvet reward`` per category over generated sample sets.

Run:
    .venv/bin/python benchmarks/reward_detection.py [--variants 6] [--markdown] [--sets DIR]

Sets come from ``tests/data/make_reward_samples.py``: every behaviour (clean runs and
planted pathologies) in ``--variants`` seeds, each seed drawing its own number of steps,
samples per step, group size, effect strength, step numbering and eval style. A category
counts as *reported* for a set when a warning or error finding has it (info never counts).

Per category:
  * recall -- planted sets where it was reported / sets where it was planted;
  * precision -- sets where it was reported and planted or also true of the data
    (``also`` in the manifest: a reward paying for length *does* disagree with the eval) /
    sets where it was reported; strict precision counts only planted as right.
Clean sets: how many got an error finding (the bar is none) and how many a warning.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "data"))

import make_reward_samples as gen  # noqa: E402

from rlvet.findings import Severity  # noqa: E402
from rlvet.reward import audit_samples  # noqa: E402


def _audit(sets: Path, entry: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    base = sets / entry["baseline"] if entry["baseline"] else None
    outcome = audit_samples(sets / entry["file"], baseline=base, seed=0)
    seconds = time.perf_counter() - start
    reported = {str(f.category) for f in outcome.result.findings if f.severity != Severity.INFO}
    errors = {str(f.category) for f in outcome.result.findings if f.severity == Severity.ERROR}
    return {**entry, "reported": reported, "errors": errors, "seconds": seconds}


def _per_category(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        planted, also = set(r["planted"]), set(r["also"])
        for c in planted:
            counts[c]["planted"] += 1
            counts[c]["found"] += c in r["reported"]
        for c in r["reported"]:
            counts[c]["reported"] += 1
            counts[c]["right"] += c in planted or c in also
            counts[c]["strict"] += c in planted
    return counts


def _ratio(a: int, b: int) -> str:
    return f"{a}/{b} ({a / b:.0%})" if b else "-"


def _table(counts: dict[str, dict[str, int]], markdown: bool) -> list[str]:
    cols = ("category", "recall", "precision", "strict precision")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] if markdown else [
        "  ".join(f"{c:<22}" for c in cols)]
    for cat in sorted(counts):
        c = counts[cat]
        cells = (cat, _ratio(c["found"], c["planted"]), _ratio(c["right"], c["reported"]),
                 _ratio(c["strict"], c["reported"]))
        lines.append("| " + " | ".join(cells) + " |" if markdown
                     else "  ".join(f"{x:<22}" for x in cells))
    return lines


def _misses(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        missed = set(r["planted"]) - r["reported"]
        extra = r["reported"] - set(r["planted"]) - set(r["also"])
        clean_error = not r["planted"] and r["errors"]
        if missed or extra or clean_error:
            out.append(f"  {r['name']}: missed {sorted(missed) or '-'}, unexpected "
                       f"{sorted(extra) or '-'} (steps {r['steps']}, samples {r['samples']}, "
                       f"strength {r['strength']})")
    return out


def _summary(rows: list[dict[str, Any]]) -> list[str]:
    sick = [r for r in rows if r["planted"]]
    clean = [r for r in rows if not r["planted"]]
    named = sum(set(r["planted"]) <= r["reported"] for r in sick)
    clean_err = sum(bool(r["errors"]) for r in clean)
    clean_warn = sum(bool(r["reported"]) for r in clean)
    seconds = sum(r["seconds"] for r in rows)
    return [
        f"planted sets named with the right category: {_ratio(named, len(sick))}",
        f"clean sets with an error finding: {clean_err}/{len(clean)}; with any warning: "
        f"{clean_warn}/{len(clean)}",
        f"sets: {len(rows)}, samples: {sum(r['samples'] for r in rows)}, audit time "
        f"{seconds:.1f} s in all ({1000 * seconds / len(rows):.0f} ms per set)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=6, help="seeds per behaviour")
    parser.add_argument("--sets", type=Path, default=None,
                        help="directory to write the sets to (default: a temp dir)")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sets = args.sets or Path(tmp)
        sets.mkdir(parents=True, exist_ok=True)
        manifest = [gen.write_set(sets, name, seed) for name in gen.BEHAVIOURS
                    for seed in range(args.variants)]
        (sets / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        rows = [_audit(sets, e) for e in manifest]
    print(f"command: .venv/bin/python benchmarks/reward_detection.py --variants {args.variants}"
          + (" --markdown" if args.markdown else ""))
    print("\n".join(_table(_per_category(rows), args.markdown)))
    print("\n" + "\n".join(_summary(rows)))
    misses = _misses(rows)
    if misses:
        print("\nsets with a miss, an unexpected category, or a clean-set error:")
        print("\n".join(misses))


if __name__ == "__main__":
    main()
