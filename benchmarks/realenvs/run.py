"""Run ``rlvet env`` over the real-env corpus and print the per-env table.

Usage (repository root, after ``bash benchmarks/realenvs/install.sh``):

    .venv-realenvs/bin/python benchmarks/realenvs/run.py --split heldout --markdown
    .venv-realenvs/bin/python benchmarks/realenvs/run.py --split tuning --only CartPole

Each env runs with the defaults of ``rlvet env`` (20 episodes, seed 0, 2 s step budget).
Results go to ``benchmarks/realenvs/results-<split>.json``; the table lists every warning
and error finding with its severity. Verdicts (healthy / real defect) are in
``manifest.toml``; an error finding on an env judged healthy is a false error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
import warnings
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from makers import make  # noqa: E402

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa  # noqa: E402
from rlvet.errors import RlvetInputError  # noqa: E402


def _entries(split: str) -> list[tuple[str, str]]:
    manifest = tomllib.loads((HERE / "manifest.toml").read_text())
    packages = set(manifest["split"][split])
    return [(e["package"], t) for e in manifest["env"] if e["package"] in packages
            for t in e["targets"]]


def _run(package: str, target: str) -> dict:
    started = time.perf_counter()
    try:
        outcome = run_env_qa(EnvQAConfig(spec=target, factory=partial(make, package, target)))
    except RlvetInputError as exc:
        return {"package": package, "target": target, "verdict": "input error",
                "error": str(exc)[:200], "findings": []}
    findings = [{"severity": str(f.severity), "category": str(f.category),
                 "message": f.message, "evidence": f.evidence}
                for f in outcome.result.findings]
    return {"package": package, "target": target, "verdict": outcome.result.verdict,
            "seconds": round(time.perf_counter() - started, 1), "findings": findings,
            "probe_steps": outcome.result.metrics["probe_steps"]}


def _row(r: dict) -> str:
    shown = [f"{f['severity']}: {f['category']}" for f in r["findings"]
             if f["severity"] != "info"]
    errors = sum(1 for f in r["findings"] if f["severity"] == "error")
    return (f"| `{r['target'].split(':', 1)[1]}` | {r['package']} | {r['verdict']} | {errors} | "
            f"{'; '.join(shown) or r.get('error', '-')} | {r.get('seconds', '-')} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=["tuning", "heldout"], default="heldout")
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    results = []
    for package, target in _entries(args.split):
        if args.only and not any(o in target for o in args.only):
            continue
        print(f"{target} ...", file=sys.stderr, flush=True)
        results.append(_run(package, target))
        print(_row(results[-1]), file=sys.stderr, flush=True)
    (HERE / f"results-{args.split}.json").write_text(json.dumps(results, indent=1,
                                                                default=str))
    if args.markdown:
        print("| env | package | verdict | errors | warning/error findings | s |")
        print("|---|---|---|---|---|---|")
        for r in results:
            print(_row(r))


if __name__ == "__main__":
    main()
