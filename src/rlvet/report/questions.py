"""The stage-gate questions, one function each: evidence in, pass / fail / unknown out.

Contents:
    Answer -- pass, fail or unknown.
    Verdict -- a question's answer, the evidence behind it in one or two sentences, the
        files it rests on, and the exact command (or, where no command exists, the
        declaration) that produces the missing evidence.
    MIN_SEEDS -- training seeds needed before a result counts as reproducible.
    One ``ask_<gate>(evidence) -> Verdict`` per question of issue 8:
        pre-training: env_validated, documented_baseline, reward_reviewed, software_recorded;
        rollout collection: trajectories_monitored, policy_lag, normalisation, throughput;
        validation: true_objective, behaviour_tracked, reproducible, beats_baseline;
        pre-deployment: ood_tested, latency, retraining_trigger, business_metric.

Each function answers its question from the evidence alone. "unknown" means nothing was
found to answer it -- never a guess; "fail" means the evidence answers "no". Findings of
the question's categories are applied on top by ``report.gates``.
"""

from __future__ import annotations

import re
import shlex
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypedDict

from rlvet.documents import EpisodeStats, EvalSummary, Latency
from rlvet.report.collect import Evidence, TrainingRun
from rlvet.report.documents import ResultDoc
from rlvet.report.hints import Need, hint
from rlvet.report.seeds import Setup, group_setups, seed_spread
from rlvet.signals import names

__all__ = [
    "MIN_SEEDS",
    "Answer",
    "Verdict",
    "ask_behaviour_tracked",
    "ask_beats_baseline",
    "ask_business_metric",
    "ask_documented_baseline",
    "ask_env_validated",
    "ask_latency",
    "ask_normalisation",
    "ask_ood_tested",
    "ask_policy_lag",
    "ask_reproducible",
    "ask_retraining_trigger",
    "ask_reward_reviewed",
    "ask_software_recorded",
    "ask_throughput",
    "ask_trajectories_monitored",
    "ask_true_objective",
]

MIN_SEEDS = 3
"""Agarwal et al. 2021 ("Deep RL at the Edge of the Statistical Precipice") show point
estimates from fewer runs flip conclusions; 3 seeds is the floor for a confidence interval
that means anything, 5-10 is better."""
DISTRIBUTION_SIGNALS = (names.REWARD, names.EPISODE_LENGTH, names.RESPONSE_LENGTH,
                        names.ENTROPY, names.KL)
"""What shows the trajectory distribution moving: returns, lengths, and how far each update
moves the policy (KL) and how spread it stays (entropy)."""
BEHAVIOUR_SIGNALS = (names.EPISODE_LENGTH, names.RESPONSE_LENGTH, names.ENTROPY)
OOD_CATEGORIES = frozenset({"sim_to_real_gap", "ood_failure"})


class Answer(StrEnum):
    """A gate question's answer."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One question's answer.

    Attributes:
        answer: pass / fail / unknown.
        evidence: what was found, with the numbers, in one or two sentences.
        sources: the files or run directories the answer rests on.
        command: a command that produces the missing evidence (or re-checks after a fix).
        todo: what to write down where no command can produce it (deployment facts).
    """

    answer: Answer
    evidence: str
    sources: tuple[str, ...] = ()
    command: str = ""
    todo: str = ""


# --- helpers ---------------------------------------------------------------------------


def _q(text: str) -> str:
    return shlex.quote(text)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "env"


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _env_hint(ev: Evidence) -> str:
    """The env a suggested command should name: trained, else checked, else a placeholder."""
    known = ev.trained_envs or tuple(d.target for d in ev.of("env"))
    return known[0] if known else "ENV_ID"


def _env_command(ev: Evidence, env: str) -> str:
    return f"rlvet env {_q(env)} --json > {_q(f'{ev.primary_dir}/env-{_slug(env)}.json')}"


def _train_command(ev: Evidence, *options: str) -> str:
    out = f"{ev.primary_dir}/train"
    extra = "".join(f" {o}" for o in options)
    return (f"mkdir -p {_q(out)} && rlvet train {_q(_env_hint(ev))}{extra} --out {_q(out)} "
            f"--json > {_q(out + '/train.json')}")


def _seeds_command(ev: Evidence) -> str:
    out = f"{ev.primary_dir}/seed$s"
    return (f"for s in 0 1 2; do mkdir -p {out} && rlvet train {_q(_env_hint(ev))} --seed $s "
            f"--out {out} --json > {out}/train.json; done")


def _eval_command(ev: Evidence, *options: str) -> str:
    extra = "".join(f" {o}" for o in options)
    return f"rlvet eval PROTOCOL.toml{extra} --json > {_q(ev.primary_dir + '/eval.json')}"


def _first_category(doc: ResultDoc) -> str:
    if doc.first_break is not None:
        return str(doc.first_break.category)
    errors = [f for f in doc.findings if f.severity == "error"]
    return str(errors[0].category) if errors else doc.verdict


def _env_docs(ev: Evidence, env: str) -> list[ResultDoc]:
    """Env QA results of one env (matched on the target the user asked to check)."""
    return [d for d in ev.of("env") if d.target == env]


def _baseline_docs(ev: Evidence) -> list[ResultDoc]:
    """Env QA results whose random/expert returns are baselines for what was trained."""
    if ev.trained_envs:
        return [d for env in ev.trained_envs for d in _env_docs(ev, env)]
    return [d for d in ev.of("env") if d.verdict != "fail"]


def _mean_return(stats: EpisodeStats | None) -> float | None:
    return None if stats is None else stats.mean_return


def _random_return(doc: ResultDoc) -> float | None:
    """The random policy's mean return in an env QA result (the baseline)."""
    return None if doc.env is None else _mean_return(doc.env.random)


def _expert_return(doc: ResultDoc) -> float | None:
    return None if doc.env is None else _mean_return(doc.env.expert_policy)


def _evals(ev: Evidence) -> list[tuple[ResultDoc, EvalSummary]]:
    """Every ``rlvet eval`` result with its summary."""
    return [(d, d.eval) for d in ev.of("eval") if d.eval is not None]


def _sources(items: Iterable[ResultDoc | TrainingRun]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(
        str(i.path) if isinstance(i, ResultDoc) else i.name for i in items))


def _logs_any(run: TrainingRun, *signals: str) -> bool:
    return any(run.signals.get(s) is not None for s in signals)


def _with_signal(runs: Sequence[TrainingRun], *signals: str) -> list[TrainingRun]:
    return [r for r in runs if _logs_any(r, *signals)]


def _logged(run: TrainingRun, signal: str) -> list[float]:
    """The values of a signal the run logs (``_with_signal`` chose the run); [] if none."""
    series = run.signals.get(signal)
    return [] if series is None else [float(v) for v in series.values]


def _no_runs(command: str) -> Verdict:
    return Verdict(Answer.UNKNOWN, "no training log found", command=command)


def _framework(ev: Evidence) -> str | None:
    """The framework most runs were trained with (``sb3``, ``cleanrl``, ``rlvet``, ...)."""
    counts = Counter(r.framework for r in ev.runs if r.framework)
    return counts.most_common(1)[0][0] if counts else None


class _Advice(TypedDict):
    command: str
    todo: str


def _advice(ev: Evidence, need: Need, *, command: str = "", todo: str = "") -> _Advice:
    """``command`` / ``todo`` of a verdict in the user's framework's words
    (``report.hints``); ``command`` and ``todo`` given here are the ``rlvet`` ones."""
    found = hint(_framework(ev), need, where=ev.primary_dir, env=_env_hint(ev))
    if found is None:
        return {"command": command, "todo": todo}
    return {"command": found.command, "todo": found.todo}


# --- pre-training ----------------------------------------------------------------------


def ask_env_validated(ev: Evidence) -> Verdict:
    """Is the environment validated? Env QA (``rlvet env``) of every env, none failing."""
    docs = ev.of("env")
    if not docs:
        env = _env_hint(ev)
        return Verdict(Answer.UNKNOWN, "no environment QA result found",
                       command=_env_command(ev, env))
    failed = [d for d in docs if d.verdict == "fail"]
    passed = [d for d in docs if d.verdict != "fail"]
    missing = [e for e in ev.trained_envs if not _env_docs(ev, e)]
    parts = []
    if failed:
        parts.append("env QA failed for " + ", ".join(
            f"{d.target} ({_first_category(d)})" for d in failed))
    if passed:
        parts.append("passed for " + ", ".join(f"{d.target} ({d.verdict})" for d in passed))
    if missing:
        parts.append("trained but never checked: " + ", ".join(missing))
    text = "; ".join(parts)
    if failed:
        return Verdict(Answer.FAIL, f"{text}; re-run env QA after the fix", _sources(docs),
                       command=f"rlvet env {_q(failed[0].target)}")
    if missing:
        return Verdict(Answer.UNKNOWN, text, _sources(docs), command=_env_command(ev, missing[0]))
    return Verdict(Answer.PASS, text, _sources(docs))


def ask_documented_baseline(ev: Evidence) -> Verdict:
    """Is there a documented baseline? Random and expert returns from env QA."""
    parts, sources = [], []
    for doc in _baseline_docs(ev):
        rnd, expert = _random_return(doc), _expert_return(doc)
        if rnd is None:
            continue
        text = f"{doc.target}: random policy {_fmt(rnd)}"
        if expert is not None:
            name = doc.env.expert if doc.env is not None else None
            text += f", expert ({name or 'given'}) {_fmt(expert)}"
        parts.append(text)
        sources.append(str(doc.path))
    if parts:
        return Verdict(Answer.PASS, "; ".join(parts) + " (episode return)", tuple(sources))
    return Verdict(Answer.UNKNOWN, "no random or expert baseline return recorded",
                   command=_env_command(ev, _env_hint(ev)))


def ask_reward_reviewed(ev: Evidence) -> Verdict:
    """Is the reward written down and reviewed? A reward audit or probe, or env QA's reward
    checks."""
    audits = (*ev.of("reward"), *ev.of("reward-probe"))
    if audits:
        failed = any(d.verdict == "fail" for d in audits)
        text = "reward audit: " + ", ".join(
            f"{d.target} {d.verdict}" + (f" ({_first_category(d)})" if d.verdict == "fail" else "")
            for d in audits)
        return Verdict(Answer.FAIL if failed else Answer.PASS, text, _sources(audits))
    docs = [d for d in _baseline_docs(ev) if _random_return(d) is not None]
    if docs:
        text = ("the env's reward was checked by env QA (direction: expert vs random, "
                "artifacts, sparsity) for " + ", ".join(d.target for d in docs)
                + "; no audit of scored samples (needed for learned or judged rewards)")
        return Verdict(Answer.PASS, text, _sources(docs))
    return Verdict(Answer.UNKNOWN, "no reward audit and no env QA reward check found",
                   command=f"rlvet reward SAMPLES.jsonl --json > "
                           f"{_q(ev.primary_dir + '/reward.json')}")


def _describe_record(record: dict[str, Any]) -> str:
    key = record.get("key_packages") or {}
    pkgs = ", ".join(f"{k} {v}" for k, v in key.items() if k != "rlvet")
    count = len(record.get("packages") or {})
    return f"Python {record.get('python', '?')}; {pkgs} ({count} packages)"


def ask_software_recorded(ev: Evidence) -> Verdict:
    """Is the software environment recorded? An ``environment.json`` per run set."""
    if not ev.environments:
        return Verdict(Answer.UNKNOWN, "no environment.json (Python and package versions) found",
                       command=f"python -m rlvet.environment_record {_q(ev.primary_dir)}")
    first = ev.environments[0][1]
    text = _describe_record(dict(first))
    base = first.get("key_packages") or {}
    diffs = sorted({f"{k} {base.get(k)} vs {v}" for _, rec in ev.environments[1:]
                    for k, v in (rec.get("key_packages") or {}).items() if base.get(k) != v})
    if diffs:
        text += "; records differ: " + ", ".join(diffs)
    return Verdict(Answer.PASS, text, tuple(str(p) for p, _ in ev.environments))


# --- rollout collection ----------------------------------------------------------------


def ask_trajectories_monitored(ev: Evidence) -> Verdict:
    """Is the trajectory distribution monitored? Returns plus lengths, entropy or KL logged
    (and so watched by the doctor's detectors)."""
    if not ev.runs:
        return _no_runs(_train_command(ev))
    monitored = [r for r in ev.runs
                 if _logs_any(r, names.REWARD) and _logs_any(r, *DISTRIBUTION_SIGNALS[1:])]
    if not monitored:
        return Verdict(Answer.FAIL, f"{len(ev.runs)} run(s) log no return together with "
                       "episode length, entropy or KL", _sources(ev.runs),
                       **_advice(ev, Need.MONITOR, todo="log reward, episode_length, entropy "
                                 "and kl (rlvet.monitor.Monitor)"))
    logged = [s for s in DISTRIBUTION_SIGNALS if any(r.signals.get(s) for r in monitored)]
    return Verdict(Answer.PASS, f"{', '.join(logged)} logged in {len(monitored)} of "
                   f"{len(ev.runs)} run(s); the doctor's detectors ran over them",
                   _sources(monitored))


def ask_policy_lag(ev: Evidence) -> Verdict:
    """Is on-policy data collected at the rate of policy updates? The logged policy lag."""
    if not ev.runs:
        return _no_runs(_train_command(ev, "--max-lag 2"))
    lagged = _with_signal(ev.runs, names.POLICY_LAG)
    if not lagged:
        return Verdict(Answer.UNKNOWN, "no run logs policy_lag (policy versions between the "
                       "data and the learner)", _sources(ev.runs),
                       **_advice(ev, Need.POLICY_LAG, command=_train_command(ev, "--max-lag 2")))
    values = [v for r in lagged for v in _logged(r, names.POLICY_LAG)]
    bounds = sorted({str(r.args["max_lag"]) for r in lagged if "max_lag" in r.args})
    text = (f"policy lag logged in {len(lagged)} run(s): mean {statistics.fmean(values):.2f}, "
            f"max {max(values):.3g} policy versions")
    if bounds:
        text += f" (bound --max-lag {', '.join(bounds)})"
    return Verdict(Answer.PASS, text, _sources(lagged))


def _strategy(run: TrainingRun) -> str | None:
    args = run.args
    if "norm_obs" not in args and "norm_reward" not in args:
        return None
    obs = "running mean/std" if args.get("norm_obs") else "raw"
    rew = "scaled by the running return std" if args.get("norm_reward") else "raw"
    return f"observations {obs}, rewards {rew}"


def ask_normalisation(ev: Evidence) -> Verdict:
    """What is the normalisation strategy? Recorded training settings or saved statistics."""
    by_strategy: dict[str, list[TrainingRun]] = {}
    for run in ev.runs:
        if (strategy := _strategy(run)) is not None:
            by_strategy.setdefault(strategy, []).append(run)
    parts = [f"{s} ({len(runs)} run(s): {', '.join(r.name for r in runs)})"
             for s, runs in by_strategy.items()]
    parts += [f"VecNormalize statistics saved: {p}" for p in ev.normalizers]
    if parts:
        recorded = [r for runs in by_strategy.values() for r in runs]
        return Verdict(Answer.PASS, "; ".join(parts),
                       (*_sources(recorded), *(str(p) for p in ev.normalizers)))
    scale = [f for d in _baseline_docs(ev) for f in d.findings if f.category == "obs_scale"]
    if scale:
        return Verdict(Answer.FAIL, f"env QA flags the observation scale ({scale[0].message}) "
                       "and no normalisation is recorded", command=_train_command(ev))
    return Verdict(Answer.UNKNOWN, "no normalisation settings or statistics recorded",
                   **_advice(ev, Need.NORMALISATION, command=_train_command(ev)))


def ask_throughput(ev: Evidence) -> Verdict:
    """Are throughput and utilisation tracked? Steps per second in the logs."""
    if not ev.runs:
        return _no_runs(_train_command(ev))
    tracked = _with_signal(ev.runs, names.FPS)
    if not tracked:
        return Verdict(Answer.FAIL, f"none of {len(ev.runs)} run(s) logs throughput (fps)",
                       _sources(ev.runs), **_advice(ev, Need.FPS, todo="log fps (steps per "
                                                    "second) with the metrics"))
    medians = [float(statistics.median(_logged(r, names.FPS))) for r in tracked]
    return Verdict(Answer.PASS, f"fps logged in {len(tracked)} of {len(ev.runs)} run(s): "
                   f"median {_fmt(min(medians))}-{_fmt(max(medians))} steps/s",
                   _sources(tracked))


# --- validation ------------------------------------------------------------------------


def _describe_eval(doc: ResultDoc, summary: EvalSummary) -> str:
    best = summary.headline
    text = f"{doc.path}: " + (best.describe() if best is not None else doc.verdict)
    if summary.protocol_hash:
        text += f" (protocol {summary.protocol_hash[:12]})"
    return text


def ask_true_objective(ev: Evidence) -> Verdict:
    """Is the actual objective measured, or only the proxy reward? An evaluation result or a
    held-out ``eval_return`` beside the training reward."""
    evals = _evals(ev)
    with_eval = _with_signal(ev.runs, names.EVAL_RETURN)
    parts = [_describe_eval(d, s) for d, s in evals]
    if with_eval:
        parts.append(f"eval_return logged beside the training reward in {len(with_eval)} of "
                     f"{len(ev.runs)} run(s)")
    if parts:
        return Verdict(Answer.PASS, "; ".join(parts),
                       _sources([*(d for d, _ in evals), *with_eval]))
    if ev.runs:
        own = hint(_framework(ev), Need.EVAL, where=ev.primary_dir, env=_env_hint(ev))
        return Verdict(Answer.FAIL, f"only the training reward (the proxy) is logged in "
                       f"{len(ev.runs)} run(s)", _sources(ev.runs),
                       command=_eval_command(ev), todo="" if own is None else own.todo)
    return Verdict(Answer.UNKNOWN, "no evaluation and no training log found",
                   command=_eval_command(ev))


def ask_behaviour_tracked(ev: Evidence) -> Verdict:
    """Which behavioural indicators are tracked? Lengths, entropy, reward components, and
    the reward audit's behaviour checks."""
    logged = sorted({n for r in ev.runs for n in r.signals.names()
                     if n in BEHAVIOUR_SIGNALS or n.startswith(names.REWARD_COMPONENT_PREFIX)})
    parts = [f"logged: {', '.join(logged)}"] if logged else []
    audits = ev.of("reward")
    if audits:
        parts.append("reward audit checks length, repetition, format and tool use")
    if parts:
        return Verdict(Answer.PASS, "; ".join(parts), _sources([*ev.runs, *audits]))
    if ev.runs:
        return Verdict(Answer.FAIL, "no behavioural indicator (episode length, entropy, "
                       "response length, reward components) is logged", _sources(ev.runs),
                       **_advice(ev, Need.MONITOR, todo="log episode_length / "
                                 "response_length and reward/<component>"))
    return _no_runs(_train_command(ev))


def _eval_seeds(ev: Evidence) -> str:
    counts = [(d, n) for d, s in _evals(ev) if (n := len(s.seeds))]
    return "; ".join(f"{d.path}: {n} evaluation seeds" for d, n in counts)


def _describe_setups(setups: Sequence[Setup], unrecorded: Sequence[TrainingRun]) -> str:
    parts = [f"{len(s.runs)} run(s) of {s.label}" for s in setups]
    if unrecorded:
        parts.append(f"{len(unrecorded)} run(s) with no recorded settings ("
                     + ", ".join(r.name for r in unrecorded) + ")")
    return "; ".join(parts)


def _random_for(ev: Evidence, env: str | None) -> float | None:
    """The random policy's return in ``env`` from env QA (only for that env)."""
    base = _baselines(ev).get(env) if env else None
    return None if base is None else base[0]


def _judge_setup(ev: Evidence, setup: Setup, text: str) -> Verdict:
    """Broken seeds, then enough final returns, then the dispersion rule."""
    runs = setup.runs
    broken = [r for r in runs if r.diagnosis.verdict == "fail"]
    if broken:
        cats = ", ".join(f"{r.name} ({r.diagnosis.first_break.category})" for r in broken
                         if r.diagnosis.first_break is not None)
        return Verdict(Answer.FAIL, f"{text}; broken: {cats}", _sources(runs))
    finals = [x for r in runs if (x := r.final_eval) is not None]
    if len(finals) < MIN_SEEDS:
        return Verdict(Answer.UNKNOWN, f"{text}; a final evaluation return is recorded for "
                       f"{len(finals)} of {len(runs)} seed(s), so their agreement cannot be "
                       "judged", _sources(runs),
                       **_advice(ev, Need.EVAL, command=_seeds_command(ev)))
    spread = seed_spread(finals, _random_for(ev, runs[0].env_id))
    answer = Answer.PASS if spread.reproducible else Answer.FAIL
    verb = "agree" if spread.reproducible else "disagree"
    return Verdict(answer, f"{text}; the seeds {verb}: {spread.describe()}", _sources(runs))


def ask_reproducible(ev: Evidence) -> Verdict:
    """Are results reproducible across seeds? At least ``MIN_SEEDS`` training seeds of one
    recorded setup, none broken, whose final evaluation returns pass the dispersion rule
    (``report.seeds``: coefficient of variation at most ``MAX_SEED_CV``)."""
    extra = _eval_seeds(ev)
    if not ev.runs:
        if extra:
            return Verdict(Answer.UNKNOWN, f"{extra}, but no training runs to compare",
                           command=_seeds_command(ev))
        return _no_runs(_seeds_command(ev))
    setups, unrecorded = group_setups(ev.runs)
    text = _describe_setups(setups, unrecorded) + (f"; {extra}" if extra else "")
    largest = setups[0] if setups else None
    if largest is not None and len(largest.runs) >= MIN_SEEDS:
        others = _describe_setups(setups[1:], unrecorded)
        return _judge_setup(ev, largest, f"{len(largest.runs)} seeds of {largest.label} with "
                            "equal recorded settings" + (f" (besides: {others})" if others
                                                         else "") + (f"; {extra}" if extra
                                                                     else ""))
    if unrecorded and len(ev.runs) >= MIN_SEEDS:
        return Verdict(Answer.UNKNOWN, f"{text}: rlvet cannot tell seeds of one setup from runs "
                       f"of different settings, and no setup has {MIN_SEEDS} seeds",
                       _sources(ev.runs),
                       **_advice(ev, Need.SETTINGS, command=_seeds_command(ev)))
    return Verdict(Answer.FAIL, f"{text}: no setup has {MIN_SEEDS} seeds", _sources(ev.runs),
                   **_advice(ev, Need.SEEDS, command=_seeds_command(ev)))


def _baselines(ev: Evidence) -> dict[str, tuple[float, float | None, str]]:
    """env -> (random return, expert return, file) from env QA."""
    out: dict[str, tuple[float, float | None, str]] = {}
    for doc in _baseline_docs(ev):
        rnd = _random_return(doc)
        if rnd is not None:
            out.setdefault(doc.target, (rnd, _expert_return(doc), str(doc.path)))
    return out


def _eval_env(doc: ResultDoc, summary: EvalSummary) -> str | None:
    """The env an evaluation ran: its summary's, else its target's first word
    (``rlvet eval`` targets read ``CartPole-v1 (split dev) policy``)."""
    return summary.env_id or doc.target.split(" ", 1)[0] or None


def _candidates(ev: Evidence) -> list[tuple[str, str | None, float, str]]:
    """(what, env, lower bound, source) of every evaluated result: eval CIs, else final evals."""
    found = []
    for doc, summary in _evals(ev):
        if (i := summary.headline) is not None:
            found.append((i.describe(), _eval_env(doc, summary), i.low, str(doc.path)))
    if found:
        return found
    return [(f"{r.name} final eval {x:.4g}", r.env_id, x, r.name)
            for r in ev.runs if (x := r.final_eval) is not None]


def ask_beats_baseline(ev: Evidence) -> Verdict:
    """Can we show what the agent learned against the baseline? The evaluated return (its CI
    lower bound where there is one) above the random policy's."""
    baselines = _baselines(ev)
    if not baselines:
        return Verdict(Answer.UNKNOWN, "no baseline return to compare with",
                       command=_env_command(ev, _env_hint(ev)))
    candidates = _candidates(ev)
    if not candidates:
        return Verdict(Answer.UNKNOWN, "no evaluated return to compare with the baseline",
                       command=_eval_command(ev))
    default_env = next(iter(baselines))
    parts, losers, sources = [], [], []
    for what, env, low, source in candidates:
        rnd, expert, base_file = baselines.get(env or default_env, baselines[default_env])
        ref = f"random {_fmt(rnd)}" + (f", expert {_fmt(expert)}" if expert is not None else "")
        parts.append(f"{what} vs {ref}")
        sources += [source, base_file]
        if low <= rnd:
            losers.append(what)
    text = "; ".join(parts)
    if losers:
        return Verdict(Answer.FAIL, f"not above the random baseline: {text}",
                       tuple(dict.fromkeys(sources)))
    return Verdict(Answer.PASS, text, tuple(dict.fromkeys(sources)))


# --- pre-deployment --------------------------------------------------------------------


def _last_gap(run: TrainingRun) -> tuple[float, float, float] | None:
    """The last ``(step, nominal, real)`` of a train result's sim-to-real history."""
    train = run.train
    return train.sim_to_real[-1] if train is not None and train.sim_to_real else None


def ask_ood_tested(ev: Evidence) -> Verdict:
    """Out-of-distribution tests? A shifted-dynamics evaluation or an ``rlvet eval`` sweep."""
    parts, sources = [], []
    for run in ev.runs:
        if (last := _last_gap(run)) is not None:
            parts.append(f"{run.name}: shifted-dynamics variant returns {_fmt(last[2])} vs "
                         f"nominal {_fmt(last[1])} at step {last[0]:.0f}")
            sources.append(run.name)
    for doc, summary in _evals(ev):
        if summary.sweep or summary.shift or any(f.category in OOD_CATEGORIES
                                                 for f in doc.findings):
            parts.append(f"{doc.path}: perturbation / edge-case sweep")
            sources.append(str(doc.path))
    if parts:
        return Verdict(Answer.PASS, "; ".join(parts), tuple(sources))
    command = _eval_command(ev, "--sweep SWEEP.toml")
    return Verdict(Answer.UNKNOWN, "no out-of-distribution or shifted-dynamics evaluation found",
                   command=command)


def _budget(ev: Evidence, measured: Latency) -> float | None:
    """The latency budget: the evaluation's own, else the declared one."""
    if measured.budget_ms is not None:
        return measured.budget_ms
    declared = ev.declared("latency_budget_ms")
    value = None if declared is None else declared[1]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _latency_text(lat: Latency, path: str) -> str:
    text = "batch-1 inference" + (f" p50 {lat.p50_ms:.3g} ms," if lat.p50_ms is not None
                                   else "") + f" p99 {lat.p99_ms:.3g} ms"
    if lat.p99_low_ms is not None and lat.p99_high_ms is not None and lat.repeats >= 2:
        level = 1 - 2.0 ** (1 - lat.repeats)
        text += (f" ({level:.1%} interval {lat.p99_low_ms:.3g}-{lat.p99_high_ms:.3g} ms over "
                 f"{lat.repeats} timed blocks")
        text += "" if lat.host_load is None else (f"; host load {lat.host_load:.2f} on "
                                                  f"{lat.cpus or '?'} CPUs")
        text += ")"
    return f"{text} ({path})"


def ask_latency(ev: Evidence) -> Verdict:
    """Latency under real constraints? The p99 of batch-1 inference against a budget, decided
    only when its interval over repeated timing blocks is clear of the budget: within it
    all the way (pass), over it all the way (fail), else unknown -- a load spike on a shared
    host must not flip the gate (``rlvet.evaluate.latency``)."""
    measured = [(d, s.latency) for d, s in _evals(ev) if s.latency is not None]
    todo = f"declare latency_budget_ms in {ev.primary_dir}/deployment.toml"
    if not measured:
        return Verdict(Answer.UNKNOWN, "no inference latency measured",
                       command=_eval_command(ev), todo=todo)
    doc, lat = measured[0]
    budget = _budget(ev, lat)
    text = _latency_text(lat, str(doc.path))
    if budget is None:
        return Verdict(Answer.UNKNOWN, f"{text}, but no latency budget is declared",
                       (str(doc.path),), todo=todo)
    if lat.p99_low_ms is None or lat.p99_high_ms is None or lat.repeats < 2:
        return Verdict(Answer.UNKNOWN, f"{text}: timed once, with no interval, so a load "
                       f"spike could flip it against the {budget:g} ms budget",
                       (str(doc.path),), command=_eval_command(ev))
    if lat.p99_high_ms <= budget:
        return Verdict(Answer.PASS, f"{text}: the whole interval is within the {budget:g} ms "
                       "budget", (str(doc.path),))
    if lat.p99_low_ms > budget:
        return Verdict(Answer.FAIL, f"{text}: the whole interval is over the {budget:g} ms "
                       "budget", (str(doc.path),))
    return Verdict(Answer.UNKNOWN, f"{text}: the interval straddles the {budget:g} ms budget, "
                   "so the measurement cannot decide; time it on an idle machine like the "
                   "deployment target", (str(doc.path),), command=_eval_command(ev))


def ask_retraining_trigger(ev: Evidence) -> Verdict:
    """Is there a retraining trigger? A trigger file from ``rlvet eval`` or a declaration."""
    rules = list(dict.fromkeys(  # each rule once, however many trigger files repeat it
        f"{r.get('quantity')} {r.get('condition')} {r.get('threshold'):.4g}"
        for _, trig in ev.triggers for r in trig.get("triggers", [])
        if isinstance(r, dict) and isinstance(r.get("threshold"), (int, float))))
    if ev.triggers:
        return Verdict(Answer.PASS, "retraining trigger: " + ("; ".join(rules) or "defined"),
                       tuple(str(p) for p, _ in ev.triggers))
    declared = ev.declared("retraining_trigger")
    if declared is not None:
        return Verdict(Answer.PASS, f"declared: {declared[1]}", (str(declared[0]),))
    for doc, summary in _evals(ev):
        if summary.retraining_trigger:
            return Verdict(Answer.PASS, f"retraining trigger in {doc.path}", (str(doc.path),))
    return Verdict(Answer.UNKNOWN, "no retraining trigger defined",
                   command=_eval_command(ev),
                   todo=f"declare retraining_trigger in {ev.primary_dir}/deployment.toml")


def ask_business_metric(ev: Evidence) -> Verdict:
    """Is the evaluation mapped to the metric the business cares about? Only a person can
    say; ``deployment.toml`` records it."""
    declared = ev.declared("business_metric")
    if declared is None:
        return Verdict(Answer.UNKNOWN, "no business metric declared",
                       todo=f"declare business_metric (and business_mapping) in "
                            f"{ev.primary_dir}/deployment.toml")
    path, metric = declared
    mapping = ev.declared("business_mapping")
    text = f"{metric}" + (f"; mapping: {mapping[1]}" if mapping else "; no mapping stated")
    return Verdict(Answer.PASS if mapping else Answer.UNKNOWN, text, (str(path),),
                   todo="" if mapping else f"declare business_mapping in {path}")
