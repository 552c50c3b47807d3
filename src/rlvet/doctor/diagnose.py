"""Run every detector over one run and say where the loop broke first.

Contents:
    Diagnosis -- findings, the first break, the last healthy step and the checkpoint to
        roll back to, plus a summary of the signals that were read.
    diagnose(run, ...) -- the entry point ``rlvet doctor``, the Monitor and the SB3 callback
        call.
    EXCLUSION_CATEGORIES -- categories that only stand when nothing else explains them.

First break (ARCHITECTURE.md section 1): the earliest error; with no error, the earliest
warning; ties go to the stage met first walking the loop outside in (environment ->
evaluation -> reward -> freshness -> policy_update / critic / exploration / numerics ->
resources, ``rlvet.findings.STAGE_ORDER``), then to registry order
(``BreakPolicy.SEVERITY``). Later anomalies are usually consequences: a KL spike is
followed by an entropy collapse and a falling return. Errors first, because on the
calibration corpus's tuning half an earlier *warning* was more often a symptom than a cause:
a negative entropy bonus jolts the KL out of the trust region for a few updates (a
recovered spike: a warning) on its way to the entropy collapse it causes (the error).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlvet import stats
from rlvet.doctor.evidence import FLAT_RETURN_CONSEQUENCE, cap_by_history, coverage, unjudged
from rlvet.doctor.family import infer_family
from rlvet.doctor.fitted_remedies import fit_remedies
from rlvet.doctor.llm import ZERO_STD_ERROR
from rlvet.doctor.registry import DetectContext, Registry, default_registry
from rlvet.errors import RlvetInputError
from rlvet.findings import (
    BreakPolicy,
    Category,
    Finding,
    Severity,
    Stage,
    exit_code,
    first_break,
    verdict,
)
from rlvet.signals import names
from rlvet.signals.aliases import find_eval_key, lookup
from rlvet.signals.series import Checkpoint, RunSignals

__all__ = ["EXCLUSION_CATEGORIES", "Diagnosis", "diagnose", "pick_first_break"]

EXCLUSION_CATEGORIES = frozenset({Category.PLATEAU, Category.WASTED_COMPUTE})
"""Findings that stand only when nothing else is wrong. A plateau is "healthy mechanics, no
learning": beside another warning or error the flat return is that break's symptom. Wasted
compute (a steady share of GRPO groups without reward spread) is a cost, not a broken link:
beside a reward that is gamed or gives no signal it is that finding's by-product (format-only
rewards: 30% flat groups from step 1, dated before the hacking they come with), so both
become info there."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnosis:
    """What ``diagnose`` concluded about one run.

    Attributes:
        findings: every finding, in registry (loop) order; ``step`` is the onset step.
        first_break: the finding to read first, or None for a healthy run.
        last_healthy_step: the last logged step strictly before the first break's onset.
        rollback_checkpoint: the latest checkpoint at or before ``last_healthy_step``.
        metrics: which signals were read and a summary of each (JSON-serialisable).
    """

    findings: tuple[Finding, ...]
    first_break: Finding | None
    last_healthy_step: int | None
    rollback_checkpoint: Checkpoint | None
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``"fail"``, ``"warn"`` or ``"pass"`` (``rlvet.findings.verdict``)."""
        return verdict(self.findings)

    @property
    def exit_code(self) -> int:
        """1 with an error finding, else 0."""
        return exit_code(self.findings)


def _resolve(run: RunSignals, name: str | None, default: str) -> str | None:
    """Series key for a user-given metric name (canonical or raw), else the default if logged
    (for the evaluation return, else one found by pattern: ``find_eval_key``)."""
    if name is None:
        if default == names.EVAL_RETURN:
            return find_eval_key(run)
        return default if run.get(default) is not None else None
    key = lookup(run, name)
    if key is None:
        raise RlvetInputError(
            f"{run.source}: no metric {name!r}; it logged: {', '.join(run.names()) or 'nothing'}"
        )
    return key


def pick_first_break(findings: tuple[Finding, ...]) -> Finding | None:
    """The doctor's rule: ``first_break(findings, BreakPolicy.SEVERITY)``: the earliest
    error, else the earliest warning, ties by loop order."""
    return first_break(findings, BreakPolicy.SEVERITY)


def _demote_exclusions(findings: list[Finding]) -> list[Finding]:
    """Turn ``EXCLUSION_CATEGORIES`` findings into info when anything outside them is wrong."""
    others = any(f.severity != Severity.INFO and f.category not in EXCLUSION_CATEGORIES
                 for f in findings)
    for category in EXCLUSION_CATEGORIES if others else ():
        findings = _demote(findings, category, Severity.INFO, "")
    return findings


MECHANICS = frozenset({Stage.FRESHNESS, Stage.POLICY_UPDATE, Stage.CRITIC,
                       Stage.EXPLORATION, Stage.NUMERICS})
"""The learner's own links: a finding there is a mechanical cause a flat return can have."""
LEAK_SLOWDOWN_LEAD = 0.1  # a throughput drop that starts at most 10% of the run before the
# memory growth was dated (RSS is logged less often than fps) began with the leak


def _weigh_symptoms(findings: list[Finding], run: RunSignals,
                    ctx: DetectContext) -> list[Finding]:
    """Severity of the findings that are another's symptom, from the evidence of both.

    * A return at its floor (``sparse_reward``) is the property of a task whose reward is
      sparse by design only when the learner's mechanics look healthy; beside a mechanical
      finding (stale data, a critic or entropy broken on its own, a KL regime) the floor is
      that finding's symptom, and ``sparse_reward`` becomes info, as ``plateau`` does.
      Mechanical findings that are themselves what a flat return does to a learner (an
      entropy drifting without signal, a critic with no variance to explain: evidence
      ``flat_return_consequence``) do not count.
    * Beside GRPO groups without reward spread (``no_learning_signal``), a return at its
      floor is the same fact seen from the mean: a reward that never differs within a group
      (constant 0 *or* constant 1, which "sparse" misnames) gives every advantage 0, and
      the zero-spread finding names the cause; ``sparse_reward`` becomes info.
    * A zero-spread share that was not total (``no_learning_signal`` as a warning, or an
      error that is not ~all groups from the first step) beside rollouts reused off-policy
      (``stale_data``) is what the stale updates left: the policy never learned its way out
      of the cold start. It is kept, as a warning at most.
    * On a language-model run a token entropy held near its start (``entropy_stuck``) is
      what a reward that ignores token choice does (paid for length or a format marker:
      ``reward_hacking``) or what no signal does (``no_learning_signal``): it becomes info.
      So does a truncation whose reward tracks the length (evidence
      ``rho_length_vs_reward``) beside ``reward_hacking``: ``detect_truncation`` already
      calls it the symptom of a reward paid for length.
    * A throughput drop that begins with a memory leak is the leak's cost, visible now:
      the leak is the error, the slowdown a warning.
    * A critic that explained nothing while the return still improved materially before
      another error's onset did not stop the loop learning: the later
      error is what broke it, and the critic finding is kept as a warning (SB3 PPO on
      LunarLander: EV ~0 from the first update in healthy runs too, return -215 -> -114,
      then a negative entropy bonus collapses the policy and the value loss grows 17x with
      the returns' scale).
    """
    out = list(findings)
    for rule in (_floor_beside_mechanics, _floor_beside_zero_spread,
                 _zero_spread_beside_stale, _llm_entropy_beside_reward,
                 _length_cut_beside_hack, _slowdown_with_leak, _critic_while_learning):
        out = rule(out, run, ctx)
    return out


def _present(findings: list[Finding], category: Category) -> Finding | None:
    """The first finding of ``category`` at warning or above."""
    return next((f for f in findings if f.category == category
                 and f.severity >= Severity.WARNING), None)


def _demote(findings: list[Finding], category: Category, severity: Severity, note: str,
            when: Callable[[Finding], bool] = lambda f: True) -> list[Finding]:
    """``category``'s findings above ``severity`` (and passing ``when``) lowered to it, with
    ``note`` appended to their message."""
    return [dataclasses.replace(f, severity=severity, message=f.message + note)
            if f.category == category and f.severity > severity and when(f) else f
            for f in findings]


def _floor_beside_mechanics(findings: list[Finding], run: RunSignals,
                            ctx: DetectContext) -> list[Finding]:
    mechanical = any(f.stage in MECHANICS and f.severity >= Severity.WARNING
                     and not f.evidence.get(FLAT_RETURN_CONSEQUENCE) for f in findings)
    if not mechanical:
        return findings
    return _demote(findings, Category.SPARSE_REWARD, Severity.INFO,
                   "; a mechanical finding on this run is the likelier cause")


def _floor_beside_zero_spread(findings: list[Finding], run: RunSignals,
                              ctx: DetectContext) -> list[Finding]:
    if _present(findings, Category.NO_LEARNING_SIGNAL) is None:
        return findings
    return _demote(findings, Category.SPARSE_REWARD, Severity.INFO, (
        "; every GRPO group's rewards were equal (see no_learning_signal): the reward does "
        "not vary within a group, which is the cause, whatever its level"))


def _zero_spread_beside_stale(findings: list[Finding], run: RunSignals,
                              ctx: DetectContext) -> list[Finding]:
    if _present(findings, Category.STALE_DATA) is None:
        return findings
    return _demote(findings, Category.NO_LEARNING_SIGNAL, Severity.WARNING, (
        "; the learner trained on reused rollouts (see stale_data), the likelier cause of a "
        "signal it never found"), when=lambda f: not _total_from_start(f))


def _total_from_start(f: Finding) -> bool:
    """A zero-spread finding whose share was ~all groups (``llm.ZERO_STD_ERROR``) at its
    onset (a constant reward: nothing an update does explains it)."""
    at_onset = f.evidence.get("value_at_onset")
    return isinstance(at_onset, float) and at_onset >= ZERO_STD_ERROR


def _llm_entropy_beside_reward(findings: list[Finding], run: RunSignals,
                               ctx: DetectContext) -> list[Finding]:
    cause = (_present(findings, Category.REWARD_HACKING)
             or _present(findings, Category.NO_LEARNING_SIGNAL))
    if cause is None:
        return findings
    return _demote(findings, Category.ENTROPY_STUCK, Severity.INFO, (
        f"; on a language model that is what the reward does (see {cause.category}): it "
        f"does not pay for which tokens are chosen"),
        when=lambda f: bool(f.evidence.get("language_model_run")))


def _length_cut_beside_hack(findings: list[Finding], run: RunSignals,
                            ctx: DetectContext) -> list[Finding]:
    if _present(findings, Category.REWARD_HACKING) is None:
        return findings
    return _demote(findings, Category.TRUNCATION, Severity.INFO,
                   "; the reward pays for length (see reward_hacking), which is the cause",
                   when=lambda f: bool(f.evidence.get("rho_length_vs_reward")))


def _slowdown_with_leak(findings: list[Finding], run: RunSignals,
                        ctx: DetectContext) -> list[Finding]:
    leak = next((f for f in findings if f.category == Category.MEMORY_GROWTH), None)
    slow = next((f for f in findings if f.category == Category.THROUGHPUT_DROP), None)
    if leak is None or slow is None or leak.step is None or slow.step is None:
        return findings
    span = max((int(s.steps[-1]) for s in run.series.values() if len(s)), default=0)
    if slow.step < leak.step - LEAK_SLOWDOWN_LEAD * span:
        return findings  # the slowdown began well before the leak: not its cost
    out = []
    for f in findings:
        if f.category == Category.MEMORY_GROWTH:
            f = dataclasses.replace(f, severity=Severity.ERROR, message=f.message + (
                "; the run already slows down with it (see throughput_drop)"))
        elif f.category == Category.THROUGHPUT_DROP:
            f = dataclasses.replace(f, severity=min(f.severity, Severity.WARNING),
                                    message=f.message + "; it began with the memory growth")
        out.append(f)
    return out


def _critic_while_learning(findings: list[Finding], run: RunSignals,
                           ctx: DetectContext) -> list[Finding]:
    critic = next((f for f in findings if f.category == Category.CRITIC_FAILURE
                   and f.severity == Severity.ERROR and f.step is not None
                   and "median_explained_variance" in f.evidence), None)
    if critic is None or critic.step is None or ctx.reward is None:
        return findings
    later = [f.step for f in findings if f.severity == Severity.ERROR and f.step is not None
             and f.category != Category.CRITIC_FAILURE and f.step > critic.step]
    if not later:
        return findings
    steps, reward = stats.finite(run.get(ctx.reward))
    until = min(later)
    if not _rose_before(steps[steps <= until], reward[steps <= until]):
        return findings
    return _demote(findings, Category.CRITIC_FAILURE, Severity.WARNING, (
        f"; the return still improved with this critic until step {until}, where another "
        f"error begins: that error, not the critic, broke the loop"),
        when=lambda f: f is critic)


def _rose_before(steps: np.ndarray, reward: np.ndarray) -> bool:
    """Whether a return prefix improved materially, or climbed steadily to its best (a
    significant Spearman trend, ``stats.CURVE_TREND_RHO``, over a persistence window of
    points or more): a slow learner (SB3 PPO on LunarLander, -184 -> -123 in 18k steps)
    gains less than ``stats.MATERIAL_GAIN`` in the part of the run before a later break."""
    if reward.size < stats.PERSIST_WINDOW:
        return False
    if stats.progress(steps, reward).improved:
        return True
    best = int(np.argmax(stats.rolling_median(reward))) + 1
    return best >= stats.PERSIST_WINDOW and stats.trend(
        steps[:best], reward[:best]).monotone_up(stats.CURVE_TREND_RHO)


def _last_step_before(run: RunSignals, step: int) -> int | None:
    """The last step any signal was logged at, strictly before ``step``."""
    before = [int(s.steps[s.steps < step].max()) for s in run.series.values()
              if len(s) and (s.steps < step).any()]
    return max(before) if before else None


def _rollback(run: RunSignals, last_healthy: int | None) -> Checkpoint | None:
    """The latest checkpoint saved at or before the last healthy step."""
    if last_healthy is None:
        return None
    usable = [c for c in run.checkpoints if c.step <= last_healthy]
    return max(usable, key=lambda c: c.step) if usable else None


def _summary(run: RunSignals, name: str) -> dict[str, Any]:
    """Points, step range, non-finite count and the finite values' median/min/max/last."""
    s = run.series[name]
    ok = np.isfinite(s.values)
    vals = s.values[ok]
    out: dict[str, Any] = {
        "raw_name": run.raw_names.get(name, name), "points": len(s),
        "first_step": int(s.steps[0]) if len(s) else None,
        "last_step": int(s.steps[-1]) if len(s) else None,
        "nonfinite": int((~ok).sum()),
    }
    if vals.size:
        out |= {"median": float(np.median(vals)), "min": float(vals.min()),
                "max": float(vals.max()), "last": float(vals[-1])}
    return out


def diagnose(
    run: RunSignals,
    *,
    reward_metric: str | None = None,
    eval_metric: str | None = None,
    registry: Registry | None = None,
) -> Diagnosis:
    """Run every registered detector over ``run`` and order what they found.

    Args:
        run: the signals of one run (``rlvet.signals.discover.read_run``).
        reward_metric: the training reward to judge (the proxy the agent optimises), by
            canonical or logged name; default ``reward`` when logged.
        eval_metric: the true / held-out metric, likewise; default ``eval_return``.
        registry: the detectors to run; default ``default_registry()``.

    Returns:
        The Diagnosis; a healthy run has no error finding and ``first_break`` None.

    Raises:
        RlvetInputError: ``reward_metric`` or ``eval_metric`` names nothing the run logged.

    Example:
        >>> from rlvet.signals.series import RunSignals, Series
        >>> flat = [20.0 + (i % 3) for i in range(20)]
        >>> run = RunSignals(source="demo",
        ...                  series={"reward": Series.from_lists(range(0, 2000, 100), flat)})
        >>> d = diagnose(run)
        >>> (str(d.first_break.category), d.verdict)
        ('plateau', 'warn')
    """
    family = infer_family(run)
    ctx = DetectContext(reward=_resolve(run, reward_metric, names.REWARD),
                        eval=_resolve(run, eval_metric, names.EVAL_RETURN), family=family)
    reg = registry if registry is not None else default_registry()
    found: list[Finding] = []
    for _, detect in reg.items():
        found.extend(detect(run, ctx))
    checks = coverage(run, ctx, reg.names())
    weighed = _weigh_symptoms(_demote_exclusions(found), run, ctx)
    found = fit_remedies(cap_by_history(weighed, run, family), family, run)
    findings = tuple(found + unjudged(run, ctx, family))
    first = pick_first_break(findings)
    last_healthy = None if first is None or first.step is None else _last_step_before(
        run, first.step)
    metrics = {
        "reward_metric": ctx.reward, "eval_metric": ctx.eval, "family": str(family),
        "detectors": reg.names(), "checks": checks.to_dict(),
        "checkpoints": [c.step for c in run.checkpoints],
        "signals": {name: _summary(run, name) for name in run.names()},
    }
    return Diagnosis(findings=findings, first_break=first, last_healthy_step=last_healthy,
                     rollback_checkpoint=_rollback(run, last_healthy), metrics=metrics)
