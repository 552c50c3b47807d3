"""The memory plan against measured peak memory, on every validation setup.

Run:
    .venv/bin/python benchmarks/memory_plan.py [--device cuda] [--steps 2] [--markdown]

Each case of ``rlvet.resources.validate.CASES`` is planned, then built as a Hugging Face
model with random weights (transformers; peft for LoRA) and run for ``--steps`` PPO-shaped
iterations (generate + score when the case has a generation section, then one update of
every trained model). The measured peak is tensor bytes in use: on CUDA
``torch.cuda.max_memory_allocated``; on the CPU the allocator's allocation and free events
recorded by ``torch.profiler``, summed in time order. On the CPU, peak RSS growth of one
unprofiled run (after torch, transformers and peft are imported) is printed beside it for
context: it adds glibc's retained heap and thread arenas, which the plan does not predict.
Every case runs in a fresh process so one case's cached memory cannot leak into the next.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys

from rlvet.resources.validate import CASES, run_case, validate

BAR = 0.15
MIB = 2**20


def _one(name: str, device: str, steps: int) -> None:
    """Child process: measure one case, print a JSON line."""
    import peft  # noqa: F401  (imported before the baseline, like the others)
    import psutil
    import torch  # noqa: F401
    import transformers  # noqa: F401

    from rlvet.resources.config import parse_plan_config

    rss_before = psutil.Process().memory_info().rss
    run_case(parse_plan_config(CASES[name]), device, steps)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    (row,) = validate(names=[name], device=device, steps=steps)
    print(json.dumps({"name": name, "plan": row.planned_bytes, "measured": row.measured_bytes,
                      "phase": row.peak_phase, "rss_growth": peak_rss - rss_before}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.case:
        _one(args.case, args.device, args.steps)
        return
    import torch
    import transformers

    print(f"command: {' '.join([sys.executable.split('/')[-1], *sys.argv])}")
    print(f"{platform.platform()}, python {platform.python_version()}, torch "
          f"{torch.__version__}, transformers {transformers.__version__}, device {args.device}")
    rows = []
    for name in CASES:
        out = subprocess.run([sys.executable, __file__, "--case", name, "--device", args.device,
                              "--steps", str(args.steps)], capture_output=True, text=True,
                             check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print()
    print("| case | peak phase | plan MiB | measured MiB | error | peak RSS growth MiB |")
    print("|---|---|---:|---:|---:|---:|")
    worst = 0.0
    for r in rows:
        err = (r["plan"] - r["measured"]) / r["measured"]
        worst = max(worst, abs(err))
        rss = f"{r['rss_growth'] / MIB:.0f}" if args.device == "cpu" else "-"
        print(f"| {r['name']} | {r['phase']} | {r['plan'] / MIB:.1f} | "
              f"{r['measured'] / MIB:.1f} | {err:+.1%} | {rss} |")
    print()
    verdict = "met" if worst <= BAR else "NOT met"
    print(f"Bar (|plan - measured| <= {BAR:.0%} of measured on every case): {verdict} "
          f"(worst {worst:.1%} over {len(rows)} cases)")


if __name__ == "__main__":
    main()
