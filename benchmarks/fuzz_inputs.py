"""Fuzz every reader and every command's options against the input contract; count the cases.

Usage (from the repository root):

    .venv/bin/python benchmarks/fuzz_inputs.py                 # 200 cases per target
    .venv/bin/python benchmarks/fuzz_inputs.py --cases 20      # quick look
    .venv/bin/python benchmarks/fuzz_inputs.py --seed 7 --target samples --target options

Each case builds one damaged input from a valid one (``tests/fuzz_harness.py``: byte flips,
truncation, junk, extreme numbers such as a step of -1e30, JSON nested 100,000 deep, 50,000
keys in a line, UTF-16, NUL bytes; TOML fields of random types and extremes; options out of
range), runs ``rlvet`` in this process, and checks the contract: exit 0, 1 or 2; exit 2 with
exactly one ``rlvet:`` line on stderr; no traceback; every input's sha256 unchanged. It prints
a markdown table (cases tried, passed, how many exited 2, the slowest case) and every
violation with the seed that reproduces it. The same generator with a fixed seed gives the
same cases, so a table row is reproducible; ``tests/test_fuzz_inputs.py`` runs a smaller,
derandomised hypothesis batch of the same kinds in CI.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import fuzz_harness as fz  # noqa: E402


def run_target(name: str, cases: int, seed: int) -> dict:
    """Run ``cases`` cases of one target; the counts and the violations."""
    tried = passed = exit2 = 0
    slowest = (0.0, "")
    violations: list[str] = []
    for i in range(cases):
        what, problem, outcome = fz.run_case(name, random.Random(f"{seed}/{name}/{i}"))
        tried += 1
        exit2 += outcome.code == 2
        slowest = max(slowest, (outcome.seconds, what))
        if problem is None:
            passed += 1
        else:
            violations.append(f"{name} case {i} (seed {seed}) {what}: {problem}")
    return {"target": name, "tried": tried, "passed": passed, "exit2": exit2,
            "slowest": slowest, "violations": violations}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=200, help="cases per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", action="append", choices=sorted(fz.TARGETS))
    args = parser.parse_args(argv)
    rows = []
    start = time.perf_counter()
    for name in args.target or list(fz.TARGETS):
        rows.append(run_target(name, args.cases, args.seed))
        r = rows[-1]
        print(f"{name}: {r['passed']}/{r['tried']}", file=sys.stderr, flush=True)
    print(f"\nseed {args.seed}, {args.cases} cases per target, "
          f"{time.perf_counter() - start:.0f} s in all\n")
    print("| target | cases tried | passed | exit 2 | slowest case (s) |")
    print("|---|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['target']} | {r['tried']} | {r['passed']} | {r['exit2']} | "
              f"{r['slowest'][0]:.2f} ({r['slowest'][1]}) |")
    total, ok = sum(r["tried"] for r in rows), sum(r["passed"] for r in rows)
    print(f"| **all** | **{total}** | **{ok}** | {sum(r['exit2'] for r in rows)} | |")
    for r in rows:
        for v in r["violations"][:20]:
            print(f"\n- {v}")
    return 0 if ok == total else 1


if __name__ == "__main__":
    sys.exit(main())
