"""Detection table of ``rlvet doctor`` over the recorded real training runs.

Run:
    .venv/bin/python benchmarks/doctor_detection.py [--runs tests/data/runs] [--markdown]

For every run in ``manifest.json`` (written by ``tests/data/make_runs.py``): the expected
first-break category (null = healthy), the category the doctor named first, its onset
step, the error findings, and the wall time of reading plus diagnosing. Summary: share of
pathological runs whose first break is right, and healthy runs with an error finding.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rlvet.doctor.diagnose import diagnose
from rlvet.findings import Severity
from rlvet.signals.discover import read_run


def _row(run_dir: Path, entry: dict) -> dict:
    start = time.perf_counter()
    d = diagnose(read_run(run_dir))
    seconds = time.perf_counter() - start
    fb = d.first_break
    got = None if fb is None else str(fb.category)
    errors = sorted({str(f.category) for f in d.findings if f.severity == Severity.ERROR})
    expected = entry.get("expected_first_category")
    ok = (not errors) if expected is None else got == expected
    return {"run": entry["name"], "expected": expected or "healthy", "got": got or "-",
            "onset": "-" if fb is None or fb.step is None else str(fb.step),
            "errors": ", ".join(errors) or "-", "ok": "yes" if ok else "NO",
            "seconds": f"{seconds:.2f}", "_ok": ok, "_healthy": expected is None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("tests/data/runs"))
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    manifest = json.loads((args.runs / "manifest.json").read_text())
    rows = [_row(args.runs / entry["name"], entry) for entry in manifest]
    print(f"command: .venv/bin/python benchmarks/doctor_detection.py --runs {args.runs}"
          + (" --markdown" if args.markdown else ""))
    cols = ("run", "expected", "got", "onset", "errors", "ok", "seconds")
    if args.markdown:
        print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for row in rows:
        cells = [row[c] for c in cols]
        print("| " + " | ".join(cells) + " |" if args.markdown else "  ".join(cells))
    sick = [r for r in rows if not r["_healthy"]]
    healthy = [r for r in rows if r["_healthy"]]
    right = sum(r["_ok"] for r in sick)
    false_alarms = sum(not r["_ok"] for r in healthy)
    print(f"\npathological runs with the right first break: {right}/{len(sick)}; "
          f"healthy runs with an error finding: {false_alarms}/{len(healthy)}")


if __name__ == "__main__":
    main()
