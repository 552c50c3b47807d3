"""Calibration of ``rlvet doctor`` and the live guardrails on the corpus's held-out half.

Run:
    .venv/bin/python benchmarks/calibration.py                  # fresh10: the published set
    .venv/bin/python benchmarks/calibration.py --split fresh9   # scored once, looked at since
    .venv/bin/python benchmarks/calibration.py --split fresh    # scored once, tuning since
    .venv/bin/python benchmarks/calibration.py --split all      # the first corpus, all of it
    .venv/bin/python benchmarks/calibration.py --split heldout  # its held-out half (seen)
    .venv/bin/python benchmarks/calibration.py --corpus DIR --no-live --markdown

The corpus (``benchmarks/corpus/``: real SB3, CleanRL-style and ``rlvet train`` runs, split
once by (env, seed) in its manifest) is unpacked from ``tests/data/corpus/corpus.tar.xz``
unless ``--corpus`` names a directory holding it already. Its held-out half was scored and
looked at on 2026-12-05, so it became tuning material; so did the fresh .. fresh9 sets
(``tests/data/corpus/fresh*.tar.xz``) after each was scored once. ``--split fresh10`` (the
default) scores ``tests/data/corpus/fresh10.tar.xz``, whose grid was fixed before the rules
it scores were changed, and which was scored once after they were frozen
(docs/calibration.md).

Printed, for the chosen half:
  * per planted category: runs, first-break recall (the doctor's first break is the planted
    category), recall anywhere (the category among its warnings or errors), median lead in
    updates between the first break's onset and the step where the evaluation return first
    falls 20% below its best so far (positive: rlvet spoke first; runs whose evaluation
    never falls have no lead);
  * healthy runs: error findings per run, warning categories per run, runs with an error;
  * the confusion table, planted -> named first break;
  * live: every run replayed record by record through ``Monitor`` (the live policy, a
    verdict whenever one is due) and, for SB3 runs, through ``RlvetCallback`` fed by SB3's
    own logger: healthy runs stopped, faulty runs stopped and the median live lead.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tarfile
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlvet.doctor.diagnose import Diagnosis, diagnose
from rlvet.doctor.replay import replay
from rlvet.findings import Severity
from rlvet.signals.discover import read_run
from rlvet.signals.series import RunSignals

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT / "tests" / "data" / "corpus" / "corpus.tar.xz"
FRESH_ARCHIVES = {split: ROOT / "tests" / "data" / "corpus" / f"{split}.tar.xz"
                  for split in ("fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6",
                                "fresh7", "fresh8", "fresh9", "fresh10")}
PUBLISHED = list(FRESH_ARCHIVES)[-1]  # the newest set, scored once: the published figures
MANIFEST = ROOT / "benchmarks" / "corpus" / "manifest.json"
EVAL_DROP = 0.2  # "the evaluation return first falls 20% below its best" (issue #12)
HEALTHY = "healthy"
LEARNER_KEYS = ("kl", "entropy", "value_loss", "loss", "explained_variance", "policy_loss")


# ------------------------------------------------------------------------------ corpus


def unpack(archive: Path = ARCHIVE, dest: Path | None = None) -> Path:
    """The archive unpacked into ``dest`` (default a fresh temporary directory); returns the
    folder holding ``manifest.json`` and the runs."""
    tmp = dest if dest is not None else Path(tempfile.mkdtemp(prefix="rlvet-corpus-"))
    with tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")
    return tmp / "corpus" if (tmp / "corpus" / "manifest.json").exists() else tmp


def load_manifest(corpus: Path) -> list[dict[str, Any]]:
    """The manifest's run entries: the copy inside the corpus first, else the committed one."""
    for path in (corpus / "manifest.json", MANIFEST):
        if path.exists():
            doc = json.loads(path.read_text())
            return list(doc["runs"] if isinstance(doc, Mapping) else doc)
    raise SystemExit(f"no manifest.json in {corpus} or {MANIFEST}")


def run_dir(corpus: Path, entry: Mapping[str, Any]) -> Path:
    """Where one run's logs are (the corpus may nest them under runs/)."""
    for candidate in (corpus / entry["name"], corpus / "runs" / entry["name"]):
        if candidate.exists():
            return candidate
    raise SystemExit(f"run {entry['name']} missing under {corpus}")


def expected(entry: Mapping[str, Any]) -> str:
    return entry.get("expected_first_category") or HEALTHY


def accepted(entry: Mapping[str, Any]) -> set[str]:
    """The planted category plus any the manifest lists as an equally right first break."""
    return {expected(entry), *entry.get("also_accept", ())}


# ------------------------------------------------------------------------------ scoring


def update_interval(run: RunSignals) -> float:
    """Env steps per update: the median step gap of the learner's own signals."""
    gaps = [np.diff(s.steps) for k in LEARNER_KEYS if (s := run.get(k)) is not None
            and len(s) > 2]
    if not gaps:
        gaps = [np.diff(s.steps) for s in run.series.values() if len(s) > 2]
    pooled = np.concatenate(gaps) if gaps else np.zeros(0)
    pooled = pooled[pooled > 0]
    return float(np.median(pooled)) if pooled.size else 1.0


def eval_drop_step(run: RunSignals, key: str | None) -> int | None:
    """First step where the evaluation return is 20% (of its scale) below its best so far.

    "20% below its best" on returns that may be negative: 20% of the range the curve has
    covered so far (best minus its first value), with |best| as the scale when it has not
    moved; a curve that never rose cannot fall from a best.
    """
    s = None if key is None else run.get(key)
    if s is None or len(s) < 3:
        return None
    ok = np.isfinite(s.values)
    steps, values = s.steps[ok], s.values[ok]
    if values.size < 3:
        return None
    best = np.maximum.accumulate(values)
    scale = np.maximum(best - values[0], 0.0)
    scale = np.where(scale > 0, scale, np.abs(best))
    fell = (values < best - EVAL_DROP * scale) & (best > values[0])
    hits = np.flatnonzero(fell)
    return int(steps[hits[0]]) if hits.size else None


@dataclass
class Row:
    """One run's outcome."""

    name: str
    planted: str
    accept: set[str]
    framework: str
    named: str = "-"
    onset: int | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    drop_step: int | None = None
    interval: float = 1.0
    live_stop: int | None = None
    live_named: str = "-"
    sb3_stop: int | None = None
    sb3_named: str = "-"
    sb3_replayed: bool = False
    seconds: float = 0.0

    @property
    def healthy(self) -> bool:
        return self.planted == HEALTHY

    @property
    def right(self) -> bool:
        return not self.errors if self.healthy else self.named in self.accept

    @property
    def anywhere(self) -> bool:
        return bool(self.accept & {*self.errors, *self.warnings})

    def lead(self, at: int | None) -> float | None:
        if at is None or self.drop_step is None:
            return None
        return (self.drop_step - at) / self.interval


def score_offline(row: Row, run: RunSignals, d: Diagnosis) -> None:
    fb = d.first_break
    row.named = HEALTHY if fb is None else str(fb.category)
    row.onset = None if fb is None else fb.step
    row.errors = sorted({str(f.category) for f in d.findings if f.severity == Severity.ERROR})
    row.warnings = sorted({str(f.category) for f in d.findings
                           if f.severity == Severity.WARNING})
    row.drop_step = eval_drop_step(run, d.metrics.get("eval_metric"))
    row.interval = update_interval(run)


def replay_sb3(folder: Path, eval_metric: str | None) -> tuple[int | None, str] | None:
    """Feed progress.csv row by row through SB3's own Logger into ``RlvetCallback``.

    Returns ``(stop step or None, category)`` or None when the run has no progress.csv or
    SB3 is not installed. Each CSV row is one ``logger.dump(step)`` as SB3 wrote it; the
    callback's ``on_step`` follows each dump, as in ``model.learn``.
    """
    csv_path = next(iter(sorted(folder.rglob("progress.csv"))), None)
    if csv_path is None:
        return None
    try:
        from types import SimpleNamespace

        from stable_baselines3.common.logger import Logger

        from rlvet.doctor.live import LivePolicy
        from rlvet.integrations.sb3 import RlvetCallback
    except ImportError:
        return None
    logger = Logger(folder=None, output_formats=[])
    model = SimpleNamespace(logger=logger, get_env=lambda: None, num_timesteps=0)
    policy = LivePolicy(budget=float(np.finfo(float).max))  # judge at every dump
    cb = RlvetCallback(None, stop_on_error=True, eval_metric=eval_metric, policy=policy)
    cb.init_callback(model)  # type: ignore[arg-type]
    cb.on_training_start(locals_={}, globals_={})
    with csv_path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            numbers = {k: float(v) for k, v in row.items() if v not in ("", None)
                       and _is_number(v)}
            step = int(numbers.get("time/total_timesteps", 0))
            for k, v in numbers.items():
                logger.record(k, v)
            logger.dump(step)
            model.num_timesteps = step
            if not cb.on_step():
                f = cb.last_decision.finding if cb.last_decision else None
                return step, "-" if f is None else str(f.category)
    return None, "-"


def _is_number(text: str) -> bool:
    """Whether a CSV cell parses as a float (SB3 writes nan and inf as such)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def evaluate(corpus: Path, entries: Iterable[Mapping[str, Any]], *, live: bool) -> list[Row]:
    rows = []
    for entry in entries:
        started = time.perf_counter()
        folder = run_dir(corpus, entry)
        eval_metric = (entry.get("eval_metric") or "").split(" ")[0] or None  # "name (note)"
        run = read_run(folder)
        d = diagnose(run, eval_metric=eval_metric)
        row = Row(entry["name"], expected(entry), accepted(entry),
                  entry.get("framework", "?"))
        score_offline(row, run, d)
        if live:
            r = replay(run, eval_metric=eval_metric)
            row.live_stop = r.stopped_at
            row.live_named = "-" if r.finding is None else str(r.finding.category)
            sb3 = replay_sb3(folder, eval_metric) if entry.get("framework") == "sb3" else None
            if sb3 is not None:
                row.sb3_replayed = True
                row.sb3_stop, row.sb3_named = sb3
        row.seconds = time.perf_counter() - started
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------ tables


def _median(xs: list[float]) -> str:
    return "-" if not xs else f"{float(np.median(xs)):+.1f}"


def _pct(num: int, den: int) -> str:
    return "-" if den == 0 else f"{num}/{den} ({100 * num / den:.0f}%)"


def _table(header: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r) for r in [header, *body])


def category_table(rows: list[Row], markdown: bool) -> str:
    by: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if not r.healthy:
            by[r.planted].append(r)
    body = []
    for cat in sorted(by):
        rs = by[cat]
        leads = [x for r in rs if (x := r.lead(r.onset)) is not None]
        body.append([cat, str(len(rs)), _pct(sum(r.right for r in rs), len(rs)),
                     _pct(sum(r.anywhere for r in rs), len(rs)), _median(leads),
                     str(len(leads))])
    sick = [r for r in rows if not r.healthy]
    leads = [x for r in sick if (x := r.lead(r.onset)) is not None]
    body.append(["ALL FAULTS", str(len(sick)), _pct(sum(r.right for r in sick), len(sick)),
                 _pct(sum(r.anywhere for r in sick), len(sick)), _median(leads),
                 str(len(leads))])
    return _table(["planted", "runs", "first-break recall", "recall anywhere",
                   "median lead (updates)", "runs with an eval drop"], body, markdown)


def healthy_table(rows: list[Row], markdown: bool) -> str:
    ok = [r for r in rows if r.healthy]
    n = max(len(ok), 1)
    errs = sum(len(r.errors) for r in ok)
    warns = sum(len(r.warnings) for r in ok)
    warned = Counter(c for r in ok for c in r.warnings)
    erred = Counter(c for r in ok for c in r.errors)
    body = [[str(len(ok)), f"{errs / n:.2f}", f"{warns / n:.2f}",
             str(sum(bool(r.errors) for r in ok)),
             ", ".join(f"{c} {k}" for c, k in erred.most_common()) or "-",
             ", ".join(f"{c} {k}" for c, k in warned.most_common()) or "-"]]
    return _table(["healthy runs", "errors / run", "warning categories / run",
                   "runs with an error", "error categories", "warning categories"],
                  body, markdown)


def confusion_table(rows: list[Row], markdown: bool) -> str:
    planted = sorted({r.planted for r in rows})
    named = sorted({r.named for r in rows})
    counts = Counter((r.planted, r.named) for r in rows)
    body = [[p, *[str(counts[(p, n)] or ".") for n in named]] for p in planted]
    return _table(["planted \\ named", *named], body, markdown)


def live_table(rows: list[Row], markdown: bool) -> str:
    body = []
    for label, stop, named, subset in (
            ("Monitor replay", "live_stop", "live_named", rows),
            ("RlvetCallback (SB3 logger)", "sb3_stop", "sb3_named",
             [r for r in rows if r.sb3_replayed])):
        ok = [r for r in subset if r.healthy]
        sick = [r for r in subset if not r.healthy]
        stopped_ok = [r for r in ok if getattr(r, stop) is not None]
        caught = [r for r in sick if getattr(r, stop) is not None]
        right = [r for r in caught if getattr(r, named) in r.accept]
        leads = [x for r in caught if (x := r.lead(getattr(r, stop))) is not None]
        body.append([label, _pct(len(stopped_ok), len(ok)), _pct(len(caught), len(sick)),
                     _pct(len(right), len(sick)), _median(leads),
                     ", ".join(f"{r.name}:{getattr(r, named)}" for r in stopped_ok) or "-"])
    return _table(["live path", "healthy runs stopped", "faulty runs stopped",
                   "stopped on the planted category", "median live lead (updates)",
                   "healthy runs stopped (on)"], body, markdown)


def misses(rows: list[Row]) -> list[str]:
    out = []
    for r in rows:
        if not r.right:
            what = f"errors {', '.join(r.errors)}" if r.healthy else f"named {r.named}"
            out.append(f"  {r.name}: planted {r.planted}, {what} "
                       f"(warnings: {', '.join(r.warnings) or '-'})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="unpacked corpus (default: the archive)")
    parser.add_argument("--split",
                        choices=(*reversed(FRESH_ARCHIVES), "heldout", "tune", "all"),
                        default=PUBLISHED, help=f"{PUBLISHED}: the published held-out set")
    parser.add_argument("--no-live", action="store_true", help="skip the live replays")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--misses", action="store_true", help="list every wrong run")
    args = parser.parse_args()
    corpus = args.corpus or unpack(FRESH_ARCHIVES.get(args.split, ARCHIVE))
    entries = [e for e in load_manifest(corpus)
               if e.get("verified", True) and (args.split == "all" or e["split"] == args.split)]
    started = time.perf_counter()
    rows = evaluate(corpus, entries, live=not args.no_live)
    wall = time.perf_counter() - started
    flags = " ".join(a for a in sys.argv[1:])
    print(f"command: .venv/bin/python benchmarks/calibration.py {flags}".rstrip())
    print(f"split: {args.split}; runs: {len(rows)} ({sum(r.healthy for r in rows)} healthy); "
          f"machine: {platform.machine()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.2f}; wall {wall:.0f} s\n")
    print(category_table(rows, args.markdown), "\n")
    print(healthy_table(rows, args.markdown), "\n")
    print(confusion_table(rows, args.markdown), "\n")
    if not args.no_live:
        print(live_table(rows, args.markdown), "\n")
    wrong = misses(rows)
    if args.misses and wrong:
        print("wrong:\n" + "\n".join(wrong))


if __name__ == "__main__":
    main()
