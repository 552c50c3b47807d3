"""Check each corpus run from its own log files: the planted fault shows, and only after
its onset; a healthy run learns. Independent of rlvet's readers and detectors.

Contents:
    CorpusSignals -- a run's series under short internal keys (reward, eval_return, kl,
        entropy, value_loss, explained_variance, loss, fps, fps_wall, rss_mib, policy_lag),
        read with the plain csv / TensorBoard / JSON readers; ``view(lo, hi)`` is the
        stretch [lo, hi) with steps shifted to start at 0 (so a check's warm-up rules
        apply from the onset).
    CHECKS -- make_runs' checks (tests/data/make_runs.py) plus stale_data, memory_growth,
        an onset-aware throughput check, a generic reward-direction and reward-hacking
        check, and the done-mask bug.
    verify(run, run_dir) -> the run's manifest entry (verified, evidence, problems).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults import make_runs  # noqa: E402
from specs import Run  # noqa: E402

Check = dict[str, Any]
_first, _g, _quarter_means = make_runs._first, make_runs._g, make_runs._quarter_means

SB3_NAMES = {
    "reward": "rollout/ep_rew_mean", "episode_length": "rollout/ep_len_mean",
    "eval_return": "eval/mean_reward", "kl": "train/approx_kl",
    "clip_fraction": "train/clip_fraction", "value_loss": "train/value_loss",
    "explained_variance": "train/explained_variance", "fps": "time/fps",
    "rss_mib": "rss_mib",
}
CLEANRL_NAMES = {
    "kl": "losses/approx_kl", "clip_fraction": "losses/clipfrac", "entropy": "losses/entropy",
    "value_loss": "losses/value_loss", "explained_variance": "losses/explained_variance",
    "policy_loss": "losses/policy_loss", "fps": "charts/SPS", "loss": "losses/td_loss",
    "q_values": "losses/q_values", "policy_lag": "policy_lag",
}
EVAL_METRIC = {"sb3": "eval/mean_reward (EvalCallback, true env)",
               "cleanrl": "charts/episodic_return (training return; CleanRL has no eval)",
               "rlvet": "eval_return (rlvet train's greedy evaluation)"}


class CorpusSignals:
    """Series of one run (``steps``, ``values``), keyed as make_runs' checks expect."""

    def __init__(self, run: Run, run_dir: Path | None, series: dict | None = None,
                 total: int | None = None, offset: int = 0):
        self.run, self.offset = run, offset
        self.total = total if total is not None else run.steps
        self.spec = SimpleNamespace(algo="cleanrl" if run.framework == "cleanrl" else run.algo,
                                    env_id=run.env, healthy_min=run.learn_min)
        space = gym.make(run.env).action_space
        self.h_max = math.log(space.n) if isinstance(space, gym.spaces.Discrete) else None
        self.s = series if series is not None else self._read(run_dir)
        if self.h_max is None:
            self.s.pop("entropy", None)  # a Gaussian's entropy has no maximum to compare to

    def _read(self, run_dir: Path) -> dict:
        run = self.run
        if run.framework == "sb3":
            csv_s = make_runs.read_sb3_csv(run_dir / "progress.csv")
            s = {k: csv_s[v] for k, v in SB3_NAMES.items() if v in csv_s}
            for key in ("train/policy_gradient_loss", "train/policy_loss"):
                if key in csv_s:
                    s["policy_loss"] = csv_s[key]
            for key in ("train/loss", "train/critic_loss"):  # DQN / SAC, TD3
                if key in csv_s:
                    s["loss"] = csv_s[key]
            if "train/entropy_loss" in csv_s:
                st, v = csv_s["train/entropy_loss"]
                s["entropy"] = (st, -v)
            s["fps_wall"] = make_runs._wall_fps(run_dir, "time/fps")
        elif run.framework == "cleanrl":
            tb = make_runs.read_tb(run_dir)
            s = {k: tb[v] for k, v in CLEANRL_NAMES.items() if v in tb}
            for key, tag in (("reward", "charts/episodic_return"),
                             ("episode_length", "charts/episodic_length")):
                if tag in tb and len(tb[tag][1]) >= 20:
                    steps, vals = tb[tag]
                    s[key] = (steps[19:], np.convolve(vals, np.ones(20) / 20, mode="valid"))
            s["fps_wall"] = make_runs._wall_fps(run_dir, "charts/SPS")
        else:
            rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").open()]
            keys = {k for r in rows for k in r} - {"step"}
            s = {}
            for k in keys:
                pts = [(r["step"], r[k]) for r in rows
                       if k in r and isinstance(r[k], (int, float))]
                s[k] = (np.array([p[0] for p in pts], float),
                        np.array([p[1] for p in pts], float))
            if "fps" in s:  # rlvet logs the rate since the last record: smooth like _wall_fps
                st, v = s["fps"]
                k = 5
                if len(v) > k:
                    s["fps_wall"] = (st[k - 1:], np.convolve(v, np.ones(k) / k, mode="valid"))
        return {k: (np.asarray(a, float), np.asarray(b, float)) for k, (a, b) in s.items()
                if len(a)}

    def view(self, lo: int, hi: int, total: int | None = None) -> CorpusSignals:
        """[lo, hi) with steps shifted by -lo; ``total`` (default hi - lo) sets the warm-up
        and window sizes of make_runs' checks."""
        series = {}
        for k, (st, v) in self.s.items():
            m = (st >= lo) & (st < hi)
            if m.any():
                series[k] = (st[m] - lo, v[m])
        return CorpusSignals(self.run, None, series, total or hi - lo, self.offset + lo)

    def __contains__(self, key: str) -> bool:
        return key in self.s and len(self.s[key][0]) > 0

    def __getitem__(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        return self.s[key]


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3:
        return 0.0
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


# --------------------------------------------------------------------------------------
# Checks added to make_runs'
# --------------------------------------------------------------------------------------


def check_stale_data(sig: CorpusSignals) -> Check:
    st, lag = sig["policy_lag"]
    roll = np.array([np.median(lag[max(0, i - 4): i + 1]) for i in range(len(lag))])
    stale = roll > 2.0
    s = None
    for i in range(len(st) - 4):  # five consecutive updates with a rolling median > 2
        if stale[i: i + 5].all():
            s = int(st[i])
            break
    ev = (f"policy_lag (policy versions between behaviour and learner) median "
          f"{_g(np.median(lag))}, max {_g(lag.max())}; rolling median > 2 from step {s}")
    for key in ("clip_fraction", "kl"):
        if key in sig and s is not None:
            kst, kv = sig[key]
            before, after = kv[kst < s], kv[kst >= s]
            if len(after):
                ev += (f"; {key} median {_g(np.median(before)) if len(before) else '-'} before "
                       f"-> {_g(np.median(after))} after")
    return {"ok": s is not None, "first_step": s, "evidence": ev}


MEM_MIN_GROWTH_MIB = 24.0


def check_memory_growth(sig: CorpusSignals) -> Check:
    st, m = sig["rss_mib"]
    keep = st >= 0.1 * sig.total  # the first 10%: imports, buffers, the first evaluation
    st, m = st[keep], m[keep]
    if len(m) < 8:
        return {"ok": False, "first_step": None, "evidence": f"{len(m)} rss points"}
    q = len(m) // 4
    quarters = [float(np.median(m[i * q:(i + 1) * q])) for i in range(4)]
    growth = float(np.median(m[-max(1, len(m) // 10):]) - np.median(m[:max(1, len(m) // 10)]))
    rho = _spearman(st, m)
    rising = quarters[3] - quarters[2] > 0.1 * growth
    ok = growth >= max(MEM_MIN_GROWTH_MIB, 0.05 * quarters[0]) and rho > 0.9 and rising
    above = m > m[0] + 0.1 * growth
    s = _first(st, above) if ok else None
    ev = (f"rss_mib {_g(m[0])} at step {int(st[0]) + sig.offset} -> {_g(m[-1])} at "
          f"{int(st[-1]) + sig.offset} (growth {_g(growth)} MiB); Spearman rho {rho:.3f}; "
          f"quarter medians {', '.join(_g(x) for x in quarters)}")
    return {"ok": ok, "first_step": s, "evidence": ev}


def check_throughput_onset(sig: CorpusSignals, on: int, ratio: float, lo: float) -> Check:
    """Env steps per wall-clock second (TB wall_time or rlvet's own rate) fall below
    ``ratio`` x their rate in [lo, on) and stay there to the end. For a fault from the
    start, [lo, on) is the first 10% of the points."""
    wst, inst = sig["fps_wall"]
    if on <= 0:
        pre = inst[: max(3, len(inst) // 10)]
    else:
        pre = inst[(wst >= lo) & (wst < on)]
    if len(pre) < 3 or len(inst) < 10:
        return {"ok": False, "first_step": None, "evidence": "too few points before the onset"}
    base = float(np.median(pre))
    tail = np.logical_and.accumulate((inst < 0.5 * base)[::-1])[::-1]
    s = _first(wst, tail)
    late = float(np.median(inst[-max(1, len(inst) // 10):]))
    ok = s is not None and s >= on - 0.05 * sig.total and late < ratio * base
    ev = (f"env steps per wall-clock second {_g(base)} before the onset vs {_g(late)} in the "
          f"last 10% of the run (limit {ratio} x), below half from step {s} to the end")
    if "fps" in sig:
        st, fps = sig["fps"]
        ev += f"; logged fps {_g(fps[0])} at {int(st[0])} -> {_g(fps[-1])} at {int(st[-1])}"
    return {"ok": ok, "first_step": s if ok else None, "evidence": ev}


def check_reward_direction_onset(sig: CorpusSignals, on: int) -> Check:
    """After ``on`` the trained reward rises while the true eval return falls well below
    what the agent reached before (the agent optimises the wrong direction)."""
    rst, r = sig["reward"]
    est, e = sig["eval_return"]
    pre_e, post_e = e[est < on], e[est >= on]
    post_r = r[rst >= on]
    if len(post_e) < 3 or len(post_r) < 4:
        return {"ok": False, "first_step": None, "evidence": "too few points after the onset"}
    n = max(1, len(post_r) // 4)
    r0, r1 = float(np.min(post_r)), float(np.mean(post_r[-n:]))
    base = min(float(e[0]), float(r[0]))  # where the run started (near the random policy)
    best = float(pre_e.max()) if len(pre_e) else base
    e_last = float(np.mean(post_e[-3:]))
    # either it loses half of what it had learned, or it never gets better than it began
    falls = best > base and e_last < best - 0.5 * (best - base)
    never = best <= base + 0.1 * abs(base) and e_last <= base + 0.1 * abs(base)
    rises = r1 > r0 + 0.1 * abs(r0)
    s = None
    if (falls or never) and rises:
        s = _first(est, (est >= on) & (e < best - 0.5 * (best - base))) if falls else int(on)
    ev = (f"trained reward after the onset: min {_g(r0)} -> {_g(r1)} (last quarter); "
          f"true eval return: start {_g(base)}, best {_g(best)} before the onset, "
          f"{_g(e_last)} (mean of the last 3 evals)")
    if "episode_length" in sig:
        lst, ln = sig["episode_length"]
        ev += (f"; ep_len_mean {_g(np.mean(ln[lst < on][-3:]))} before -> {_g(ln[-1])} at the "
               f"end")
    return {"ok": s is not None, "first_step": s, "evidence": ev}


TRUE_MAX_PER_STEP = {"CartPole-v1": 1.0, "Pendulum-v1": 0.0,  # the true reward's ceiling
                     "MountainCar-v0": -1.0, "Acrobot-v1": -1.0}  # -1 a step (0 at the goal)


def check_reward_hacking_generic(sig: CorpusSignals) -> Check:
    """The trained (proxy) return exceeds anything the true reward can pay for episodes of
    that length, and the true eval return falls (loses half its gain) or, when the proxy
    is farmed from the start, ends no better than it began while the proxy doubles."""
    est, e = sig["eval_return"]
    rst, r = sig["reward"]
    lst, ln = sig["episode_length"]
    ceiling = TRUE_MAX_PER_STEP[sig.run.env] * np.interp(rst, lst, ln)
    excess = r - ceiling
    n = max(1, len(r) // 4)
    farmed = float(np.mean(excess[-n:])) > 0.1 * max(1.0, abs(float(np.mean(r[-n:]))))
    k = int(np.argmax(e))
    peak, peak_step = float(e[k]), int(est[k])
    gain = peak - float(e[: k + 1].min())
    e_last = float(np.mean(e[-3:]))
    r0, r1 = _quarter_means(sig, "reward")
    falls = gain > 0 and e_last < peak - 0.5 * gain and peak - e_last > 0.3 * abs(peak)
    never = e_last <= float(e[0]) + 0.1 * abs(float(e[0])) and r1 > r0 + abs(r0)
    ok = farmed and (falls or never)
    s = None
    if ok:
        s = _first(est, (est > peak_step) & (e < peak - 0.5 * gain)) if falls \
            else _first(rst, excess > 0.1 * np.maximum(1.0, np.abs(r)))
    ev = (f"proxy training return exceeds the true reward's ceiling by {_g(np.mean(excess[-n:]))}"
          f" per episode in the last quarter (first {_g(excess[0])}); proxy {_g(r0)} (first "
          f"quarter) -> {_g(r1)} (last quarter); true eval return {_g(e[0])} -> peak "
          f"{_g(peak)} at {peak_step} -> {_g(e_last)} (last 3 evals)")
    return {"ok": ok, "first_step": s, "evidence": ev}


def check_done_bug(sig: CorpusSignals) -> Check:
    """Bootstrapping through terminals: value targets ignore episode ends, so the critic
    explains ~nothing (explained variance median < 0.1) and the return stops improving."""
    crit = make_runs.check_critic_failure(sig)
    st, ev_ = sig["explained_variance"]
    r0, r1 = _quarter_means(sig, "reward")
    med = float(np.nanmedian(ev_))
    flat = r1 - r0 <= 0.25 * abs(r0) + 5
    ok = crit["ok"] and med < 0.1 and flat
    ev = (f"{crit['evidence']}; training return {_g(r0)} (first quarter) -> {_g(r1)} (last "
          f"quarter): no improvement")
    return {"ok": ok, "first_step": crit["first_step"] if ok else None, "evidence": ev}


def check_critic_worked(sig: CorpusSignals) -> Check:
    """Before a mid-run critic fault: "shown" if the critic did NOT work, i.e. the median
    explained variance after the warm-up (10% of the run) is below 0.5. (make_runs'
    windowed check also fires on the healthy zoo-PPO CartPole runs around 5k steps, where
    the returns rise faster than the critic follows; that early stretch is not a failure.)"""
    st, ev_ = sig["explained_variance"]
    keep = (st >= 0.1 * sig.total) & np.isfinite(ev_)
    med = float(np.median(ev_[keep]))
    return {"ok": med < 0.5, "first_step": None,
            "evidence": f"explained_variance median {_g(med)} over {int(keep.sum())} updates "
                        f"after the warm-up"}


CHECKS: dict[str, Callable[[CorpusSignals], Check]] = {
    **make_runs.CHECKS,
    "stale_data": check_stale_data,
    "memory_growth": check_memory_growth,
}


def _safe(fn: Callable[..., Check], *args: Any) -> Check:
    try:
        return fn(*args)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        return {"ok": False, "first_step": None, "evidence": f"cannot compute ({exc!r})"}


# --------------------------------------------------------------------------------------
# Per-run verification
# --------------------------------------------------------------------------------------


def _planted_check(run: Run, sig: CorpusSignals) -> tuple[Check, Check | None]:
    """(the planted fault's check after its onset, the same check before it or None)."""
    on = run.onset_step
    cat = run.category
    assert cat is not None
    ratio = 0.25 if run.strength == "strong" else 0.5
    if cat == "throughput_drop":  # the base rate is measured before the onset (and after
        # an off-policy warm-up of random actions without gradient steps, which runs faster)
        lo = max(0.1 * run.steps, 1.2 * run.hyper.get("learning_starts", 0))
        return _safe(check_throughput_onset, sig, on or 0, ratio, lo), None
    if cat == "numerical_instability":  # an explosion is relative to the values before it
        res = _safe(CHECKS[cat], sig)
        if on is not None and res["ok"] and res["first_step"] < on:
            res = {**res, "ok": False, "evidence": res["evidence"] + " (before the onset)"}
        return res, None
    if cat == "reward_direction" and on is not None:
        return _safe(check_reward_direction_onset, sig, on), None
    if cat == "reward_direction" and run.env != "CartPole-v1":
        return _safe(check_reward_direction_onset, sig, 1), None
    if cat == "reward_hacking":
        res = _safe(check_reward_hacking_generic, sig)
        pre = None if on is None else _safe(check_reward_hacking_generic,
                                            sig.view(0, on, run.steps))
        if on is not None and res["ok"] and res["first_step"] is not None \
                and res["first_step"] < on:
            res = {**res, "ok": False, "evidence": res["evidence"] + " (before the onset)"}
        return res, pre
    fn = check_done_bug if run.fault == "done_bug" else CHECKS[cat]
    if on is None:
        return _safe(fn, sig), None
    post = _safe(fn, sig.view(on, run.steps))
    post["evidence"] = f"(after the onset, steps counted from it) {post['evidence']}"
    if post["first_step"] is not None:
        post["first_step"] += on
    pre_fn = check_critic_worked if fn is CHECKS["critic_failure"] else fn
    return post, _safe(pre_fn, sig.view(0, on, run.steps))


def _final_return(sig: CorpusSignals) -> tuple[float, float, str]:
    """(where the run started: its first training return, or its first eval if lower; the
    mean of its last 3 evals, or its last 20-episode training mean without an eval)."""
    r = sig["reward"][1]
    if "eval_return" in sig:
        e = sig["eval_return"][1]
        return min(float(r[0]), float(e[0])), float(np.mean(e[-3:])), "eval"
    return float(r[0]), float(r[-1]), "training (20-episode mean)"


def _nonfinite(sig: CorpusSignals) -> list[str]:
    out = []
    for key in ("value_loss", "loss", "kl", "policy_loss", "entropy"):
        if key in sig and not np.isfinite(sig[key][1]).all():
            out.append(key)
    return out


SYSTEMS_FAULTS = ("throughput_drop", "memory_growth")  # slow or grow; leave learning alone


def _never_learned(run: Run, sig: CorpusSignals) -> list[str]:
    """A systems fault does not stop learning, so its run must learn like a healthy one.
    One that never left its start carries a second break, from its first update (no
    learning signal), before the planted one: its first break is ambiguous and the run is
    not kept (added for fresh8, before it was generated; fresh7's s86 slowdown run sat at
    Acrobot's -500 floor throughout)."""
    if run.category not in SYSTEMS_FAULTS:
        return []
    r = sig["reward"][1]
    n = max(1, len(r) // 10)
    if np.mean(r[-n:]) > np.mean(r[:n]):
        return []
    return [f"never learned: training return {_g(np.mean(r[:n]))} in the first 10% of its "
            f"points -> {_g(np.mean(r[-n:]))} in the last (a systems-fault run must learn)"]


def verify(run: Run, run_dir: Path) -> dict[str, Any]:
    sig = CorpusSignals(run, run_dir)
    problems: list[str] = []
    shows = {}
    for cat, fn in CHECKS.items():
        res = _safe(fn, sig)
        if res["ok"]:
            shows[cat] = res
    first, last, where = _final_return(sig)
    story = f"{where} return: start {_g(first)} -> end {_g(last)}"
    if run.category is None:
        if run.learn_min is not None and last < run.learn_min:
            problems.append(f"final return {_g(last)} below {_g(run.learn_min)}")
        if last <= first:
            problems.append("no improvement over the start")
        r = sig["reward"][1]
        n = max(1, len(r) // 10)
        if np.mean(r[-n:]) <= np.mean(r[:n]):
            problems.append(f"training return did not improve ({_g(np.mean(r[:n]))} in the "
                            f"first 10% of its points -> {_g(np.mean(r[-n:]))} in the last)")
        bad = _nonfinite(sig)
        if bad:
            problems.append(f"non-finite values in {bad}")
        evidence = f"healthy: {story} (learn_min {run.learn_min})"
        traps = {c: f"[naive check fires from step {r['first_step']}] {r['evidence']}"
                 for c, r in shows.items()}
        computed = None
    else:
        res, pre = _planted_check(run, sig)
        if not res["ok"]:
            problems.append(f"{run.category} not shown: {res['evidence']}")
        problems += _never_learned(run, sig)
        if pre is not None and pre["ok"]:
            problems.append(f"{run.category} already shown before the onset: {pre['evidence']}")
        evidence = (f"[{run.category} from step {res['first_step']}] {res['evidence']}; {story}")
        if pre is not None:
            evidence += f" | before the onset: not shown ({pre['evidence']})" if not pre["ok"] \
                else ""
        traps = {}
        computed = run.category if res["ok"] else None
    also = {c: {"first_step": r["first_step"], "evidence": r["evidence"]}
            for c, r in shows.items() if c != run.category and run.category is not None}
    return {
        "verified": not problems,
        "computed_category": computed,
        "evidence": evidence,
        "problems": problems,
        "naive_traps": traps,
        "also_shows": also,
        "files": sorted(p.name for p in run_dir.iterdir() if p.is_file()),
    }
