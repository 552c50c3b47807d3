"""Evidence discipline: what the doctor could judge, and when a finding may be an error.

Contents:
    INPUTS -- per detector category, the signals it reads (any one of them lets it run).
    Coverage, coverage(run, ctx) -- which detectors had their input and which did not (why).
    unjudged(run, ctx, family, coverage) -- explicit ``insufficient_evidence`` info findings:
        no signal rlvet knows, no reward, no evaluation metric (reward hacking cannot be
        judged), an unknown algorithm family.
    cap_by_history(findings, run, family) -- an error needs the family's warm-up of history
        behind it; a younger one is kept as a warning, its evidence saying why.

Why: a checker that says PASS when it recognised nothing, or stops a run on its fifth
update, gets uninstalled. What could not be judged is said, never left to a bare PASS
(ARCHITECTURE.md section 9), and severity follows the amount of evidence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from rlvet.doctor.family import WARMUP, Family
from rlvet.findings import Category, Finding, Severity, Stage
from rlvet.signals import names
from rlvet.signals.series import RunSignals

FLAT_RETURN_CONSEQUENCE = "flat_return_consequence"
"""Evidence key a mechanical detector sets when its finding is what a return stuck at its
floor does to a learner (an entropy drifting with no signal, a critic with no between-
episode variance to explain): ``diagnose`` then does not count it as a cause of the floor."""

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = ["FLAT_RETURN_CONSEQUENCE", "INPUTS", "Coverage", "cap_by_history", "coverage",
           "unjudged"]

_REWARD = "<reward>"  # the resolved training reward (ctx.reward)
_EVAL = "<eval>"  # the resolved evaluation metric (ctx.eval)
_BOTH = "<reward+eval>"  # both of them

INPUTS: Mapping[Category, tuple[str, ...]] = MappingProxyType({
    Category.EVAL_PROTOCOL_CHANGE: ("<text>",),
    Category.REWARD_DIRECTION: (_REWARD, _EVAL),
    Category.SPARSE_REWARD: (_REWARD,),
    Category.NO_LEARNING_SIGNAL: (names.REWARD_STD, names.ZERO_STD_FRACTION),
    Category.REWARD_HACKING: (_BOTH,),
    Category.PLATEAU: (_REWARD, _EVAL),
    Category.STALE_DATA: (names.POLICY_LAG,),
    Category.KL_SPIKE: (names.KL,),
    Category.CLIP_SATURATION: (names.CLIP_FRACTION,),
    Category.CRITIC_FAILURE: (names.EXPLAINED_VARIANCE, names.VALUE_LOSS),
    Category.ENTROPY_COLLAPSE: (names.ENTROPY,),
    Category.ENTROPY_STUCK: (names.ENTROPY,),
    Category.NUMERICAL_INSTABILITY: (names.LOSS, names.GRAD_NORM, names.NAN_COUNT,
                                     names.VALUE_LOSS, names.ENTROPY),
    Category.THROUGHPUT_DROP: (names.FPS,),
    Category.MEMORY_GROWTH: (names.RSS_MIB, names.HEAP_MIB, names.CUDA_ALLOCATED_MIB),
    Category.FRAGMENTATION: (names.CUDA_RESERVED_MIB,),
    Category.ENV_BOUND: (names.TIME_SHARE_PREFIX,),
    Category.LEARNER_BOUND: (names.TIME_SHARE_PREFIX,),
    Category.TRUNCATION: (names.TRUNCATED_FRACTION, names.RESPONSE_LENGTH_MAX),
    Category.WASTED_COMPUTE: (names.ZERO_STD_FRACTION,),
    Category.TRAIN_INFERENCE_MISMATCH: (names.MISMATCH_KL, names.LOGPROB_DIFF),
    Category.REFERENCE_DRIFT: (names.KL_REF,),
    Category.LENGTH_GRAD_SPIKE: (names.RESPONSE_LENGTH,),
})
"""Detector category -> the signals it reads; one present is enough for it to run."""


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which detectors could look at this run.

    Attributes:
        ran: detector names that found their input.
        skipped: detector name -> the signals it needed, none of which was logged.
    """

    ran: tuple[str, ...]
    skipped: Mapping[str, str]

    def to_dict(self) -> dict[str, object]:
        """JSON form for ``metrics["checks"]``."""
        return {"ran": list(self.ran), "not_run": dict(self.skipped)}


def _present(run: RunSignals, ctx: DetectContext, need: str) -> bool:
    if need == _REWARD:
        return ctx.reward is not None
    if need == _EVAL:
        return ctx.eval is not None
    if need == _BOTH:
        return ctx.reward is not None and ctx.eval is not None
    if need == "<text>":
        return bool(run.text)
    if need.endswith("/"):
        return any(key.startswith(need) for key in run.series)
    return run.get(need) is not None


def coverage(run: RunSignals, ctx: DetectContext, detectors: Sequence[str]) -> Coverage:
    """Split ``detectors`` (registry names, categories for the default ones) by input."""
    ran: list[str] = []
    skipped: dict[str, str] = {}
    for name in detectors:
        needs = INPUTS.get(Category(name)) if name in Category._value2member_map_ else None
        if needs is None or any(_present(run, ctx, need) for need in needs):
            ran.append(name)  # a user-registered detector is assumed to have its input
        else:
            skipped[name] = " or ".join(n.strip("<>") for n in needs)
    return Coverage(tuple(ran), MappingProxyType(skipped))


def _note(stage: Stage, message: str, remedy: str, **evidence: object) -> Finding:
    return Finding.of(Category.INSUFFICIENT_EVIDENCE, check="doctor.evidence", stage=stage,
                      severity=Severity.INFO, message=message, evidence=dict(evidence),
                      remedy=remedy)


def _known(run: RunSignals) -> list[str]:
    """Series keys that are rlvet signals (a canonical name or an eval/ variant of one)."""
    known = set(names.CANONICAL)
    return [k for k in run.series
            if k in known or k.startswith((names.REWARD_COMPONENT_PREFIX, names.EVAL_PREFIX,
                                           names.TIME_SHARE_PREFIX))]


def unjudged(run: RunSignals, ctx: DetectContext, family: Family) -> list[Finding]:
    """Info findings naming what could not be judged and how to make it judgeable.

    Detectors that lacked their input are listed in ``Coverage`` (``metrics["checks"]``),
    not here: an SB3 run without memory signals is normal, not a gap worth a line.
    """
    alias_hint = ("map your names with --alias RAW=CANONICAL (or [aliases] in rlvet.toml); "
                  "canonical names: " + ", ".join(sorted(names.CANONICAL)))
    if not _known(run):
        shown = ", ".join(sorted(run.raw_names.values() or run.series)[:8])
        return [_note(Stage.EVALUATION,
                      f"none of the {len(run.series)} logged metrics is one rlvet knows "
                      f"({shown}): nothing was judged, the absence of findings means nothing",
                      alias_hint, logged=sorted(run.series), nothing_judged=True)]
    notes: list[Finding] = []
    if ctx.reward is None and ctx.eval is None:
        notes.append(_note(Stage.REWARD, "no training reward or evaluation return was "
                           "logged: learning progress, reward direction and reward hacking "
                           "were not judged", alias_hint))
    elif ctx.eval is None:
        notes.append(_note(Stage.REWARD, "no evaluation metric was found (eval/*, "
                           "evaluation/*, test/*, eval_*): reward hacking (proxy up, true "
                           "objective down) could not be judged",
                           "log the true objective on held-out episodes (SB3 EvalCallback, "
                           "an eval/ metric) or name it with --eval-metric"))
    if family is Family.UNKNOWN:
        notes.append(_note(Stage.POLICY_UPDATE, "the algorithm family could not be told from "
                           "the metric names: conservative warm-up used and remedies are "
                           "generic", "log the library's own metric names or use --alias",
                           family=str(family)))
    return notes


def _history(run: RunSignals, f: Finding) -> tuple[int, int]:
    """(points, last step) of the longest signal the finding's detector reads."""
    needs = INPUTS.get(f.category, ())
    series = [run.get(n) for n in needs if not n.startswith("<") and not n.endswith("/")]
    best = max((s for s in series if s is not None and len(s)), key=len, default=None)
    if best is None:  # reward-link detectors: use the longest series of the run
        best = max(run.series.values(), key=len, default=None)
    if best is None or not len(best):
        return 0, 0
    return len(best), int(best.steps[-1])


def cap_by_history(findings: Sequence[Finding], run: RunSignals,
                   family: Family) -> list[Finding]:
    """Errors backed by less than the family's warm-up history become warnings.

    Numerical failures (a NaN is a NaN on the first update) and static facts keep their
    severity.
    """
    need = WARMUP[family]
    out: list[Finding] = []
    for f in findings:
        if f.severity is not Severity.ERROR or f.category is Category.NUMERICAL_INSTABILITY:
            out.append(f)
            continue
        points, last = _history(run, f)
        if points >= need.updates and last >= need.steps:
            out.append(f)
            continue
        out.append(dataclasses.replace(
            f, severity=Severity.WARNING,
            evidence={**f.evidence, "capped": "too little history for an error",
                      "history_points": points, "history_last_step": last,
                      "needed_points": need.updates, "needed_steps": need.steps}))
    return out
