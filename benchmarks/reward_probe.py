"""``rlvet reward-probe`` on real-style graders: does it name every loophole and pass the
sound ones (issue #18)?

Run:
    .venv/bin/python benchmarks/reward_probe.py [--markdown] [--seed 0] [--only NAME ...]

The graders are in ``benchmarks/reward_graders/`` (``catalog.GRADERS``: 7 with a known
loophole, 7 sound counterparts that close it), each written after public RLVR reward code
and probed through ``run_probe``, the Python API behind ``rlvet reward-probe SPEC --prompts
FILE --references solution``. Per grader:
  * loophole -- the expected strategies, or ``-`` for a sound grader;
  * errors / warnings -- the strategies the probe made a ``reward_exploit`` error or
    warning, and any other error category (``grader_failure``, ...);
  * right -- loophole graders: an error on an expected strategy; sound graders: no error;
  * wall s and ms per prompt -- the probe's wall time (child start, import, every strategy
    and the reference scored one call each) divided by the prompts probed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "reward_graders"))

from catalog import GRADERS, Grader, verdict  # noqa: E402

from rlvet.reward.probe import ProbeConfig, run_probe  # noqa: E402


def probe(grader: Grader, seed: int) -> dict[str, Any]:
    """One probe of one grader, timed, with the catalog's verdict on it."""
    start = time.perf_counter()
    outcome = run_probe(ProbeConfig(reward=grader.spec, prompts=grader.prompts_path,
                                    references=grader.references, seed=seed))
    seconds = time.perf_counter() - start
    findings = [f.to_dict() for f in outcome.result.findings]
    prompts = outcome.result.metrics["prompts"]
    calls = outcome.result.metrics["grader"]["scored"] + outcome.result.metrics["grader"][
        "errors"]
    return {"grader": grader, "seconds": seconds, "prompts": prompts, "calls": calls,
            "exit": outcome.result.exit_code, **verdict(grader, findings)}


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    g: Grader = row["grader"]
    errors = sorted(s for s, sev in row["exploits"].items() if sev == "error")
    warnings = sorted(s for s, sev in row["exploits"].items() if sev == "warning")
    other = [c for c in row["errors"] if c != "reward_exploit"]
    return (f"{g.module}:{g.name}", g.style, ", ".join(g.loophole) or "-",
            ", ".join(errors + other) or "-", ", ".join(warnings) or "-",
            "yes" if row["right"] else "NO", f"{row['seconds']:.2f}",
            f"{1000 * row['seconds'] / row['prompts']:.0f}")


HEAD = ("grader", "written after", "loophole (expected)", "errors", "warnings", "right",
        "wall s", "ms/prompt")


def _table(rows: list[dict[str, Any]], markdown: bool) -> str:
    cells = [_cells(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
        return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])
    widths = [max(len(x) for x in col) for col in zip(HEAD, *cells, strict=True)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True))
                     for c in (HEAD, *cells))


def _summary(rows: list[dict[str, Any]]) -> str:
    holed = [r for r in rows if r["grader"].loophole]
    sound = [r for r in rows if not r["grader"].loophole]
    named = sum(r["right"] for r in holed)
    sound_err = sum(not r["right"] for r in sound)
    sound_warn = sum(any(s == "warning" for s in r["exploits"].values()) for r in sound)
    seconds = sum(r["seconds"] for r in rows)
    prompts = sum(r["prompts"] for r in rows)
    calls = sum(r["calls"] for r in rows)
    return (f"loopholes named: {named}/{len(holed)}; sound graders with an error: "
            f"{sound_err}/{len(sound)}, with a warning: {sound_warn}/{len(sound)}; "
            f"{len(rows)} probes, {prompts} prompts, {calls} reward calls, {seconds:.1f} s "
            f"({1000 * seconds / prompts:.0f} ms per prompt, "
            f"{1000 * seconds / calls:.1f} ms per reward call)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--seed", type=int, default=0, help="the probe's --seed")
    parser.add_argument("--only", nargs="*", default=None, help="grader names to run")
    args = parser.parse_args()
    exe = os.path.relpath(sys.executable, Path.cwd())
    print(f"command: {shlex.join([exe, *sys.argv])}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}; load average (1/5/15 min) at start: {load}\n")
    rows = [probe(g, args.seed) for g in GRADERS if not args.only or g.name in args.only]
    print(_table(rows, args.markdown))
    print("\n" + _summary(rows))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at end: {load}")


if __name__ == "__main__":
    main()
