"""Run ``rlvet env`` over the real-env corpus and print the per-env table with verdicts.

Usage (repository root, after ``bash benchmarks/realenvs/install.sh``):

    MUJOCO_GL=egl nice -n 5 .venv-realenvs/bin/python benchmarks/realenvs/run.py --split tuning
    .venv-realenvs/bin/python benchmarks/realenvs/run.py --split tuning --only CartPole
    .venv-realenvs/bin/python benchmarks/realenvs/run.py --split heldout --table   # no run

Splits come from the manifest: ``tuning``, ``heldout`` (used to change the checks after its
first pass), ``heldout2`` and ``heldout3`` (fresh packages, each scored once with the rules
as they stood, then used to change the checks).

Each env runs with the defaults of ``rlvet env`` (20 episodes, seed 0, 2 s step budget) and
the weak expert the manifest names for it, if any. Results go to
``benchmarks/realenvs/results-<split>.json`` (``--only`` replaces just those envs' rows).
The table joins every warning and error finding with its human verdict from the manifest's
verdicts file; the summary gives the bar of issue #15: error findings on envs judged
healthy, and how many listed real defects rlvet named.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
import warnings
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

VERDICTS = ("real_defect", "design_property", "false_alarm", "note")


def _manifest() -> dict[str, Any]:
    return tomllib.loads((HERE / "manifest.toml").read_text())


def _entries(split: str) -> list[tuple[str, str, str | None]]:
    manifest = _manifest()
    packages = set(manifest["split"][split])
    return [(e["package"], t, e.get("experts", {}).get(t)) for e in manifest["env"]
            if e["package"] in packages for t in e["targets"]]


def _run(package: str, target: str, expert: str | None) -> dict[str, Any]:
    from makers import make

    from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
    from rlvet.errors import RlvetInputError

    started = time.perf_counter()
    expert_spec = f"{HERE / 'experts.py'}:{expert}" if expert else None
    try:
        outcome = run_env_qa(EnvQAConfig(spec=target, expert=expert_spec,
                                         factory=partial(make, package, target)))
    except RlvetInputError as exc:
        return {"package": package, "target": target, "verdict": "input error",
                "error": str(exc)[:200], "findings": []}
    findings = [{"severity": str(f.severity), "category": str(f.category),
                 "message": f.message, "evidence": f.evidence}
                for f in outcome.result.findings]
    return {"package": package, "target": target, "verdict": outcome.result.verdict,
            "expert": expert, "seconds": round(time.perf_counter() - started, 1),
            "findings": findings, "probe_steps": outcome.result.metrics["probe_steps"],
            "load1": round(os.getloadavg()[0], 1)}


def _judgement(verdicts: dict[str, Any], target: str, finding: dict[str, Any],
               seen: dict[str, int]) -> dict[str, str] | None:
    """The human verdict on one finding: per env by ``severity:category`` (a list when the
    same key occurs more than once, in the order of the findings), else the common one."""
    key = f"{finding['severity']}:{finding['category']}"
    entry = verdicts.get("env", {}).get(target, {}).get(key)
    if isinstance(entry, list):
        index = seen.get(key, 0)
        seen[key] = index + 1
        entry = entry[min(index, len(entry) - 1)]
    if entry is None:
        entry = verdicts.get("common", {}).get(key)
    return entry


def _judged(r: dict[str, Any], verdicts: dict[str, Any]) -> list[tuple[dict, dict | None]]:
    seen: dict[str, int] = {}
    return [(f, _judgement(verdicts, r["target"], f, seen)) for f in r["findings"]]


def _row(r: dict[str, Any], verdicts: dict[str, Any]) -> str:
    shown = []
    for f, v in _judged(r, verdicts):
        if f["severity"] == "info":
            continue
        label = v["verdict"] if v else "UNJUDGED"
        shown.append(f"{f['severity']}: {f['category']} ({label})")
    errors = sum(1 for f in r["findings"] if f["severity"] == "error")
    expert = " (expert)" if r.get("expert") else ""
    return (f"| `{r['target'].split(':', 1)[1]}`{expert} | {r['package']} | {r['verdict']} | "
            f"{errors} | {'; '.join(shown) or r.get('error', '-')} | {r.get('seconds', '-')} |")


def _summary(results: list[dict[str, Any]], verdicts: dict[str, Any]) -> list[str]:
    known = verdicts.get("known_defects", {})
    healthy_with_error, unjudged, false_alarms = [], 0, {"error": 0, "warning": 0}
    defects, named = 0, 0
    for r in results:
        judged = _judged(r, verdicts)
        unjudged += sum(1 for _, v in judged if v is None)
        real = {f["category"] for f, v in judged if v and v["verdict"] == "real_defect"}
        real |= set(known.get(r["target"], {}).get("categories", []))
        for f, v in judged:
            if v and v["verdict"] == "false_alarm" and f["severity"] in false_alarms:
                false_alarms[f["severity"]] += 1
        shown = {f["category"] for f in r["findings"] if f["severity"] != "info"}
        defects += len(real)
        named += len(real & shown)
        if not real and any(f["severity"] == "error" for f in r["findings"]):
            healthy_with_error.append(r["target"])
    return [
        f"envs: {len(results)}; findings without a verdict: {unjudged}",
        f"envs judged healthy with an error finding: {len(healthy_with_error)}"
        + (f" ({', '.join(healthy_with_error)})" if healthy_with_error else ""),
        f"real defects named (warning or error): {named}/{defects}",
        f"false alarms: {false_alarms['error']} error, {false_alarms['warning']} warning",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=sorted(_manifest()["split"]), default="heldout")
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--table", action="store_true", help="print the stored results only")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    path = HERE / f"results-{args.split}.json"
    stored = {r["target"]: r for r in json.loads(path.read_text())} if path.exists() else {}
    if not args.table:
        for package, target, expert in _entries(args.split):
            if args.only and not any(o in target for o in args.only):
                continue
            print(f"{target} ...", file=sys.stderr, flush=True)
            stored[target] = _run(package, target, expert)
        order = [t for _, t, _ in _entries(args.split)]
        results = [stored[t] for t in order if t in stored]
        path.write_text(json.dumps(results, indent=1, default=str))
    results = [stored[t] for _, t, _ in _entries(args.split) if t in stored]
    verdicts = tomllib.loads((HERE / _manifest()["verdicts"]).read_text())
    print("| env | package | rlvet | errors | warning/error findings (human verdict) | s |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(_row(r, verdicts))
    print()
    for line in _summary(results, verdicts):
        print(f"- {line}")


if __name__ == "__main__":
    main()
