"""Fault detection and cost of ``rlvet env``, next to Gymnasium's and SB3's ``check_env``.

Usage (from the repository root):

    .venv/bin/python benchmarks/env_detection.py --markdown      # everything, ~10 min
    .venv/bin/python benchmarks/env_detection.py --only stale --only CartPole-v1

What it measures:

* Detection, for every entry of the fault catalog (``rlvet.envcheck.catalog.CATALOG``):
  - rlvet: one default ``run_env_qa`` run. "caught" = a finding in the fault's own
    category at severity warning or error; "flagged" = any error finding at all.
  - ``gymnasium.utils.env_checker.check_env`` (with ``skip_render_check=True,
    skip_close_check=True``: both checks rebuild the env from its spec, which raises
    "does not inherit from RecordConstructorArgs" for any plain ``gym.Wrapper``) and
    ``stable_baselines3.common.env_checker.check_env`` (its defaults). Each call runs in a
    forked child with a timeout (a fault that blocks is "hung"); every warning emitted
    while the env is built and checked is recorded. A checker's outcome on a fault is
    judged against its outcome on a *control*: a no-op ``gym.Wrapper`` around the same
    base env. "raise" = it raised and the control did not (or with another message);
    "warn" = it emitted a warning the control did not (messages compared after masking
    env reprs and addresses). A raise about spec re-creation is a "harness error", apart.
* False alarms on the healthy base envs: rlvet's error and warning findings (over three
  default runs), and any raise or warning of the two checkers on the plain ``gym.make`` env.
* Cost: wall time of a default ``run_env_qa`` per healthy env (median of ``--repeats``),
  the env steps it took (``metrics["probe_steps"]``), and in-process raw stepping of the
  same number of steps (``gym.make`` excluded; random actions, reset on done); and the
  end-to-end CLI ``rlvet env CartPole-v1 --json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import gymnasium as gym
import stable_baselines3
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from rlvet.envcheck.catalog import CATALOG, Fault
from rlvet.envcheck.suite import EnvQAConfig, EnvQAOutcome, run_env_qa
from rlvet.errors import RlvetInputError
from rlvet.findings import Severity

ROOT = Path(__file__).resolve().parents[1]
HEALTHY = ("CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Acrobot-v1",
           "Pendulum-v1", "FrozenLake-v1", "Taxi-v4", "CliffWalking-v1", "Blackjack-v1")
CLI_ENV = "CartPole-v1"
CLI_BAR_S = 15.0
HARNESS_MARKERS = ("RecordConstructorArgs", "cannot be recreated")
GYM_SKIP = {"skip_render_check": True, "skip_close_check": True}
CHECKERS: dict[str, tuple[Callable[..., None], dict[str, Any]]] = {
    "gymnasium": (gym_check_env, GYM_SKIP),
    "gymnasium_defaults": (gym_check_env, {}),
    "sb3": (sb3_check_env, {}),
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REPR = re.compile(r"\(<[^()]*>\)")
_ADDR = re.compile(r"0x[0-9a-fA-F]+")

EnvMaker = Callable[[], gym.Env]


class NoOpWrapper(gym.Wrapper):
    """The control: a wrapper that changes nothing, as every catalog fault is a wrapper."""


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _normalise(message: str) -> str:
    """A warning/error message with colours, env reprs and addresses masked."""
    text = _ANSI.sub("", message)
    text = _REPR.sub("(<env>)", text)
    text = _ADDR.sub("0x?", text)
    return " ".join(text.split()).removeprefix("WARN: ")


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= width else text[: width - 3] + "..."


# ----------------------------------------------------------------------------- checkers


@dataclass(frozen=True, slots=True)
class CheckerRun:
    """One checker call: "ok", "raised", "harness" (spec re-creation) or "hung"."""

    status: str
    error: str | None
    warnings: tuple[str, ...]
    seconds: float


@dataclass(frozen=True, slots=True)
class Judgement:
    """A checker's outcome on a fault, judged against the control."""

    label: str  # raise | warn | silent | same as control | hung | harness error
    detail: str

    @property
    def caught(self) -> bool:
        return self.label in {"raise", "warn"}


def _checker_child(conn: Connection, checker: str, make: EnvMaker) -> None:
    function, kwargs = CHECKERS[checker]
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            function(make(), **kwargs)
        except Exception as exc:  # any failure is the checker's verdict
            error = _short(f"{type(exc).__name__}: {exc}", 400)
    conn.send((error, [str(w.message) for w in caught]))
    conn.close()


def run_checker(checker: str, make: EnvMaker, timeout: float) -> CheckerRun:
    """Run one checker on a fresh env in a forked child; a timeout counts as "hung"."""
    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_checker_child, args=(sender, checker, make), daemon=True)
    started = time.perf_counter()
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            return CheckerRun("hung", None, (), time.perf_counter() - started)
        error, messages = receiver.recv()
    except EOFError:
        error, messages = "child process died", []
    finally:
        if child.is_alive():
            child.kill()
        child.join()
    seconds = time.perf_counter() - started
    status = "ok" if error is None else "raised"
    if error is not None and any(m in error for m in HARNESS_MARKERS):
        status = "harness"
    unique = tuple(dict.fromkeys(_normalise(m) for m in messages))
    return CheckerRun(status, None if error is None else _normalise(error), unique, seconds)


def judge(run: CheckerRun, control: CheckerRun, timeout: float) -> Judgement:
    """Caught only where the outcome differs from the no-op control's."""
    if run.status == "hung":
        return Judgement("hung", f"no return within {timeout:g} s")
    if run.status == "harness":
        return Judgement("harness error", run.error or "")
    new = [w for w in run.warnings if w not in set(control.warnings)]
    if run.status == "raised" and run.error != control.error:
        extra = f" (+{len(new)} new warning(s))" if new else ""
        return Judgement("raise", f"{run.error}{extra}")
    if new:
        return Judgement("warn", "; ".join(new))
    if run.status == "raised":
        return Judgement("same as control", run.error or "")
    return Judgement("silent", "")


def healthy_label(run: CheckerRun) -> str:
    """A checker's outcome on a healthy env: any raise or warning is a false alarm."""
    if run.status == "hung":
        return "hung"
    if run.status in {"raised", "harness"}:
        return "raise" + (f" + {len(run.warnings)} warn" if run.warnings else "")
    return f"{len(run.warnings)} warn" if run.warnings else "silent"


def control_label(run: CheckerRun) -> str:
    if run.status == "hung":
        return "hung"
    kind = {"ok": "passes", "raised": "raises", "harness": "harness error"}[run.status]
    return f"{kind}, {len(run.warnings)} warning(s)"


# -------------------------------------------------------------------------------- rlvet


@dataclass(slots=True)
class RlvetRun:
    """One default ``run_env_qa`` call, reduced to what the tables need."""

    seconds: float
    outcome: EnvQAOutcome | None
    rejected: str | None = None

    def findings(self, severity: Severity) -> list[Any]:
        if self.outcome is None:
            return []
        return [f for f in self.outcome.result.findings if f.severity == severity]


def run_rlvet(spec: str, factory: EnvMaker | None = None) -> RlvetRun:
    started = time.perf_counter()
    try:
        outcome = run_env_qa(EnvQAConfig(spec=spec, factory=factory))
    except RlvetInputError as exc:
        return RlvetRun(time.perf_counter() - started, None, str(exc))
    return RlvetRun(time.perf_counter() - started, outcome)


def rlvet_verdict(run: RlvetRun, fault: Fault) -> tuple[str, bool, str]:
    """(own-category label, flagged by any error, categories of the other errors)."""
    if run.outcome is None:
        return f"rejected: {run.rejected}", True, ""
    own = [f for f in run.outcome.result.findings
           if f.category == fault.category and f.severity in {Severity.ERROR, Severity.WARNING}]
    if any(f.severity == Severity.ERROR for f in own):
        label = "caught (error)"
    elif own:
        label = "caught (warning)"
    else:
        label = "missed"
    errors = run.findings(Severity.ERROR)
    others = sorted({str(f.category) for f in errors if f.category != fault.category})
    return label, bool(errors), ", ".join(others)


# ------------------------------------------------------------------------------ timing


def raw_stepping_seconds(env_id: str, steps: int, seed: int = 0) -> float:
    """Wall time of ``steps`` random-action steps in-process, resetting on done."""
    env = gym.make(env_id)
    env.action_space.seed(seed)
    started = time.perf_counter()
    env.reset(seed=seed)
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    seconds = time.perf_counter() - started
    env.close()
    return seconds


def time_cli(env_id: str, repeats: int) -> tuple[list[float], list[int], str]:
    """End-to-end ``rlvet env ID --json`` wall times, exit codes and the last verdict."""
    exe = str(ROOT / ".venv" / "bin" / "rlvet")
    walls, codes, verdict = [], [], "?"
    for _ in range(repeats):
        started = time.perf_counter()
        proc = subprocess.run([exe, "env", env_id, "--json"], capture_output=True, text=True,
                              check=False)
        walls.append(time.perf_counter() - started)
        codes.append(proc.returncode)
        try:
            verdict = json.loads(proc.stdout)["verdict"]
        except (json.JSONDecodeError, KeyError):
            verdict = f"unparsable output (rc {proc.returncode})"
    return walls, codes, verdict


# ------------------------------------------------------------------------------ driver


@dataclass(slots=True)
class Results:
    """Everything measured, keyed by fault name or env id."""

    controls: dict[tuple[str, str], CheckerRun] = field(default_factory=dict)
    faults: dict[str, tuple[RlvetRun, dict[str, CheckerRun]]] = field(default_factory=dict)
    healthy: dict[str, tuple[list[RlvetRun], dict[str, CheckerRun], list[float]]] = field(
        default_factory=dict)
    cli: tuple[list[float], list[int], str] | None = None


def _select(names: Sequence[str], only: Sequence[str] | None) -> list[str]:
    if not only:
        return list(names)
    return [n for n in names if any(o.lower() in n.lower() for o in only)]


def collect(only: Sequence[str] | None, repeats: int, timeout: float) -> Results:
    res = Results()
    faults = [CATALOG[n] for n in _select(list(CATALOG), only)]
    for base in sorted({f.base_id for f in faults}):
        for checker in CHECKERS:
            _log(f"control {base}: {checker}")
            res.controls[base, checker] = run_checker(
                checker, lambda b=base: NoOpWrapper(gym.make(b)), timeout)
    for i, fault in enumerate(faults, 1):
        _log(f"[{i}/{len(faults)}] {fault.name}")
        rl = run_rlvet(f"rlvet.envcheck.catalog:{fault.name}", fault.make)
        runs = {c: run_checker(c, fault.make, timeout) for c in ("gymnasium", "sb3")}
        res.faults[fault.name] = (rl, runs)
    for env_id in _select(HEALTHY, only):
        _log(f"healthy {env_id}")
        rl_runs = [run_rlvet(env_id) for _ in range(repeats)]
        steps = _probe_steps(rl_runs)
        raw = [raw_stepping_seconds(env_id, steps) for _ in range(repeats)]
        checks = {c: run_checker(c, lambda e=env_id: gym.make(e), timeout) for c in CHECKERS}
        res.healthy[env_id] = (rl_runs, checks, raw)
    if CLI_ENV in _select(HEALTHY, only):
        _log(f"CLI rlvet env {CLI_ENV} --json")
        res.cli = time_cli(CLI_ENV, repeats)
    return res


def _probe_steps(runs: Sequence[RlvetRun]) -> int:
    steps = [r.outcome.result.metrics["probe_steps"] for r in runs if r.outcome is not None]
    return int(statistics.median(steps)) if steps else 0


# ------------------------------------------------------------------------------ tables


Table = tuple[str, list[str], list[list[str]]]


def render(table: Table, markdown: bool) -> str:
    title, headers, rows = table
    if markdown:
        lines = [f"### {title}", "", "| " + " | ".join(headers) + " |",
                 "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [title, "=" * len(title), fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines) + "\n"


def detection_table(res: Results, timeout: float) -> Table:
    headers = ["fault", "category", "rlvet (own category)", "rlvet flagged (any error)",
               "rlvet s", "gymnasium check_env", "SB3 check_env"]
    rows = []
    for name, (rl, runs) in res.faults.items():
        fault = CATALOG[name]
        label, flagged, others = rlvet_verdict(rl, fault)
        flag = ("yes" if flagged else "no") + (f" (also {others})" if others else "")
        cells = [judge(runs[c], res.controls[fault.base_id, c], timeout).label
                 for c in ("gymnasium", "sb3")]
        rows.append([f"`{name}`", str(fault.category), label, flag, f"{rl.seconds:.1f}", *cells])
    return "Detection per catalog fault", headers, rows


def detail_table(res: Results, timeout: float) -> Table:
    headers = ["fault", "gymnasium check_env said (new vs control)", "SB3 check_env said"]
    rows = []
    for name, (_, runs) in res.faults.items():
        base = CATALOG[name].base_id
        said = []
        for c in ("gymnasium", "sb3"):
            j = judge(runs[c], res.controls[base, c], timeout)
            said.append(_short(f"{j.label}: {j.detail}", 150) if j.detail else j.label)
        rows.append([f"`{name}`", *said])
    return "What the checkers reported on each fault", headers, rows


def summary_table(res: Results, timeout: float) -> Table:
    headers = ["category", "faults", "rlvet caught", "rlvet flagged",
               "gymnasium caught (raise/warn)", "SB3 caught (raise/warn)"]
    # per category: faults, rlvet caught, rlvet flagged, gym raise, gym warn, sb3 raise, sb3 warn
    per: dict[str, list[int]] = {}
    for name, (rl, runs) in res.faults.items():
        fault = CATALOG[name]
        label, flagged, _ = rlvet_verdict(rl, fault)
        counts = per.setdefault(str(fault.category), [0] * 7)
        counts[0] += 1
        counts[1] += label.startswith("caught")
        counts[2] += flagged
        for k, c in ((3, "gymnasium"), (5, "sb3")):
            j = judge(runs[c], res.controls[fault.base_id, c], timeout)
            counts[k] += j.label == "raise"
            counts[k + 1] += j.label == "warn"
    per["**total**"] = [sum(v[i] for v in per.values()) for i in range(7)]
    rows = [[cat, str(v[0]), str(v[1]), str(v[2]), f"{v[3] + v[4]} ({v[3]}/{v[4]})",
             f"{v[5] + v[6]} ({v[5]}/{v[6]})"] for cat, v in per.items()]
    return "Catches per category", headers, rows


def control_table(res: Results) -> Table:
    headers = ["base env", "gymnasium check_env (defaults)",
               "gymnasium check_env (skip render/close)", "SB3 check_env"]
    bases = sorted({b for b, _ in res.controls})
    rows = [[b, *(control_label(res.controls[b, c])
                  for c in ("gymnasium_defaults", "gymnasium", "sb3"))] for b in bases]
    return "Controls: a no-op gym.Wrapper around each base env", headers, rows


def healthy_table(res: Results) -> Table:
    headers = ["env", "rlvet errors", "rlvet warnings", "rlvet warning categories",
               "gymnasium check_env (skip render/close)", "gymnasium check_env (defaults)",
               "SB3 check_env"]
    rows = []
    for env_id, (rl_runs, checks, _) in res.healthy.items():
        errors = max(len(r.findings(Severity.ERROR)) for r in rl_runs)
        warns = max(len(r.findings(Severity.WARNING)) for r in rl_runs)
        cats = sorted({str(f.category) for r in rl_runs for f in r.findings(Severity.WARNING)})
        rows.append([env_id, str(errors), str(warns), ", ".join(cats) or "-",
                     *(healthy_label(checks[c]) for c in ("gymnasium", "gymnasium_defaults",
                                                          "sb3"))])
    return "False alarms on healthy envs (rlvet: max over runs)", headers, rows


def healthy_detail_table(res: Results) -> Table:
    headers = ["env", "checker", "messages (distinct)"]
    rows = []
    for env_id, (_, checks, _) in res.healthy.items():
        for c in ("gymnasium", "sb3"):
            run = checks[c]
            said = ([run.error] if run.error else []) + list(run.warnings)
            if said:
                rows.append([env_id, c, _short("; ".join(said), 160)])
    return "What the checkers said on healthy envs", headers, rows


def timing_table(res: Results, repeats: int) -> Table:
    headers = ["env", f"rlvet env s (median of {repeats})", "probe steps",
               "probe phase s", f"raw stepping s (median of {repeats})", "ratio",
               "ratio, probe phase only"]
    rows = []
    for env_id, (rl_runs, _, raw) in res.healthy.items():
        wall = statistics.median(r.seconds for r in rl_runs)
        probe = statistics.median(r.outcome.result.metrics["wall_seconds"]
                                  for r in rl_runs if r.outcome is not None)
        raw_s = statistics.median(raw)
        rows.append([env_id, f"{wall:.2f}", str(_probe_steps(rl_runs)), f"{probe:.2f}",
                     f"{raw_s:.3f}", f"{wall / raw_s:.0f}x", f"{probe / raw_s:.0f}x"])
    return "Cost of a default run vs raw stepping of the same steps", headers, rows


def cli_table(res: Results) -> Table:
    assert res.cli is not None
    walls, codes, verdict = res.cli
    med = statistics.median(walls)
    runs = ", ".join(f"{w:.2f}" for w in walls)
    row = [f"`rlvet env {CLI_ENV} --json`", f"{med:.2f}", runs,
           ", ".join(map(str, sorted(set(codes)))), verdict,
           "yes" if med < CLI_BAR_S else "NO"]
    headers = ["command", "median s", "runs s", "exit code", "verdict", f"under {CLI_BAR_S:g} s"]
    return "CLI end to end", headers, [row]


def header_lines(argv: Sequence[str], load_before: tuple[float, ...]) -> list[str]:
    exe = os.path.relpath(sys.executable, Path.cwd())
    load = ", ".join(f"{x:.2f}" for x in load_before)
    return [
        f"command: {shlex.join([exe, *argv])}",
        f"date: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; load average (1/5/15 min) at start: {load}",
        f"python {platform.python_version()}, gymnasium {gym.__version__}, "
        f"stable-baselines3 {stable_baselines3.__version__}",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="Print markdown tables.")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="Only faults / healthy env ids containing NAME (repeatable).")
    parser.add_argument("--repeats", type=int, default=3, help="Timing repeats (median).")
    parser.add_argument("--checker-timeout", type=float, default=30.0,
                        help="Seconds before a check_env call counts as hung.")
    args = parser.parse_args(argv)
    head = header_lines([sys.argv[0], *argv], os.getloadavg())
    print("\n".join(head), flush=True)
    started = time.perf_counter()
    res = collect(args.only, args.repeats, args.checker_timeout)
    load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"total time: {time.perf_counter() - started:.0f} s; load average at end: "
          f"{load_after}\n")
    tables: list[Table] = []
    if res.faults:
        tables += [detection_table(res, args.checker_timeout),
                   summary_table(res, args.checker_timeout), control_table(res),
                   detail_table(res, args.checker_timeout)]
    if res.healthy:
        tables += [healthy_table(res), healthy_detail_table(res),
                   timing_table(res, args.repeats)]
    if res.cli is not None:
        tables.append(cli_table(res))
    for table in tables:
        print(render(table, args.markdown))


if __name__ == "__main__":
    main()
