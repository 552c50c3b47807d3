"""The stage gates: which question is asked when, what fails it, and the go / no-go.

Contents:
    GateStage -- before training, during rollout collection, at validation, before deployment.
    ReportCategory -- ``gate_failed``: a gate answered "no" with no finding of its own.
    Gate -- one question: its stage and the function that answers it; the finding
        categories that fail it are the category table's (``rlvet.findings.CATEGORIES``).
    GATES -- the sixteen questions of issue 8, in the order they are asked.
    GateAnswer -- a gate's answer with evidence, sources, the command that would produce
        missing evidence, and the findings that block it.
    Decision -- overall go / no-go, the reason, and each gate stage's status.
    answer_gates(evidence, findings) -- every gate's answer.
    gate_findings(answers, findings) -- ``gate_failed`` findings for gates that fail on
        evidence alone (one seed, only the proxy measured, over the latency budget).
    decide(answers, findings) -- the go / no-go.

A gate fails when its question's evidence says "no", or when an error finding of one of its
categories exists (a warning too, for ``strict`` gates: a sim-to-real gap warning is an
out-of-distribution failure). "unknown" never passes: go needs every answer to be pass and
no error finding anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rlvet.findings import CATEGORIES, Finding, Severity, Stage
from rlvet.report import questions as q
from rlvet.report.collect import Evidence
from rlvet.report.questions import Answer, Verdict

__all__ = ["GATES", "GATE_STAGE_TITLES", "Answer", "Decision", "Gate", "GateAnswer",
           "GateStage", "ReportCategory", "answer_gates", "decide", "gate_findings"]


class GateStage(StrEnum):
    """When a gate is passed, in project order."""

    PRE_TRAINING = "pre_training"
    ROLLOUT = "rollout_collection"
    VALIDATION = "validation"
    PRE_DEPLOYMENT = "pre_deployment"


GATE_STAGE_TITLES: Mapping[GateStage, str] = {
    GateStage.PRE_TRAINING: "before training",
    GateStage.ROLLOUT: "during rollout collection",
    GateStage.VALIDATION: "at the validation checkpoint",
    GateStage.PRE_DEPLOYMENT: "before deployment",
}


class ReportCategory(StrEnum):
    """Categories only the report produces (serialised like ``Category`` members)."""

    GATE_FAILED = "gate_failed"


@dataclass(frozen=True, slots=True)
class Gate:
    """One gate question.

    Attributes:
        id: short stable name, e.g. ``env_validated`` (JSON key, test handle).
        stage: when it is asked.
        question: the question as a decision-maker reads it.
        ask: the function answering it from the evidence.
        finding_stage: loop link of the ``gate_failed`` finding when it fails on evidence.
        strict: warnings of ``categories`` fail it too, not only errors.
    """

    id: str
    stage: GateStage
    question: str
    ask: Callable[[Evidence], Verdict]
    finding_stage: Stage = Stage.EVALUATION
    strict: bool = False

    @property
    def categories(self) -> frozenset[str]:
        """Finding categories that fail the gate: the rows of ``rlvet.findings.CATEGORIES``
        naming this gate."""
        return _CATEGORIES_BY_GATE.get(self.id, frozenset())


_CATEGORIES_BY_GATE: Mapping[str, frozenset[str]] = {
    gate: frozenset(str(c) for c, info in CATEGORIES.items() if gate in info.gates)
    for gate in {g for info in CATEGORIES.values() for g in info.gates}
}
"""Gate id -> the categories that fail it, read from ``rlvet.findings.CATEGORIES``."""


GATES: tuple[Gate, ...] = (
    Gate("env_validated", GateStage.PRE_TRAINING, "Is the environment validated?",
         q.ask_env_validated, finding_stage=Stage.ENVIRONMENT),
    Gate("documented_baseline", GateStage.PRE_TRAINING, "Is there a documented baseline?",
         q.ask_documented_baseline, finding_stage=Stage.EVALUATION),
    Gate("reward_reviewed", GateStage.PRE_TRAINING, "Is the reward written down and reviewed?",
         q.ask_reward_reviewed, finding_stage=Stage.REWARD),
    Gate("software_recorded", GateStage.PRE_TRAINING, "Is the software environment recorded?",
         q.ask_software_recorded, finding_stage=Stage.INFRASTRUCTURE),
    Gate("trajectories_monitored", GateStage.ROLLOUT,
         "Is the trajectory distribution monitored?", q.ask_trajectories_monitored,
         finding_stage=Stage.POLICY_UPDATE),
    Gate("policy_lag", GateStage.ROLLOUT,
         "Is on-policy data collected at the rate of policy updates (policy lag)?",
         q.ask_policy_lag, finding_stage=Stage.FRESHNESS),
    Gate("normalisation", GateStage.ROLLOUT, "What is the normalisation strategy?",
         q.ask_normalisation, finding_stage=Stage.ENVIRONMENT),
    Gate("throughput", GateStage.ROLLOUT, "Are throughput and utilisation tracked?",
         q.ask_throughput, finding_stage=Stage.RESOURCES),
    Gate("true_objective", GateStage.VALIDATION,
         "Is the actual objective measured, or only the proxy reward?", q.ask_true_objective,
         finding_stage=Stage.EVALUATION),
    Gate("behaviour_tracked", GateStage.VALIDATION, "Which behavioural indicators are tracked?",
         q.ask_behaviour_tracked, finding_stage=Stage.REWARD),
    Gate("reproducible", GateStage.VALIDATION, "Are results reproducible across seeds?",
         q.ask_reproducible, finding_stage=Stage.EVALUATION),
    Gate("beats_baseline", GateStage.VALIDATION,
         "Can we show what the agent learned against the baseline?", q.ask_beats_baseline,
         finding_stage=Stage.EVALUATION),
    Gate("ood_tested", GateStage.PRE_DEPLOYMENT, "Are there out-of-distribution tests?",
         q.ask_ood_tested, finding_stage=Stage.EVALUATION, strict=True),
    Gate("latency", GateStage.PRE_DEPLOYMENT, "Is latency measured under real constraints?",
         q.ask_latency, finding_stage=Stage.RESOURCES, strict=True),
    Gate("retraining_trigger", GateStage.PRE_DEPLOYMENT, "Is there a retraining trigger?",
         q.ask_retraining_trigger, finding_stage=Stage.EVALUATION),
    Gate("business_metric", GateStage.PRE_DEPLOYMENT,
         "Is the result mapped to the metric the business cares about?",
         q.ask_business_metric, finding_stage=Stage.EVALUATION),
)
"""The sixteen gate questions of issue 8, in the order a project meets them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GateAnswer:
    """One row of the gate table.

    Attributes:
        gate, stage, question: from the ``Gate``.
        answer: pass / fail / unknown.
        evidence: what was found (or not), with numbers.
        sources: files and run directories behind the answer.
        command: exact command producing the missing evidence, or re-checking after a fix.
        todo: what to write down where no command exists.
        blocking: the findings of the gate's categories that fail it, one line each.
    """

    gate: str
    stage: GateStage
    question: str
    answer: Answer
    evidence: str
    sources: tuple[str, ...] = ()
    command: str = ""
    todo: str = ""
    blocking: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (one row of ``metrics["gates"]``)."""
        return {"gate": self.gate, "stage": str(self.stage), "question": self.question,
                "answer": str(self.answer), "evidence": self.evidence,
                "sources": list(self.sources), "command": self.command, "todo": self.todo,
                "blocking": list(self.blocking)}


def describe(finding: Finding) -> str:
    """``kl_spike (error) at step 512 in runs/a`` -- a finding on one line."""
    where = "" if finding.step is None else f" at step {finding.step}"
    source = finding.evidence.get("source")
    return f"{finding.category} ({finding.severity}){where}" + (f" in {source}" if source else "")


def _fails(gate: Gate, finding: Finding) -> bool:
    if str(finding.category) not in gate.categories:
        return False
    return finding.severity == Severity.ERROR or (gate.strict
                                                  and finding.severity == Severity.WARNING)


def answer_gates(evidence: Evidence, findings: Sequence[Finding],
                 gates: Sequence[Gate] = GATES) -> tuple[GateAnswer, ...]:
    """Answer every gate: its question, then its categories' findings on top.

    Args:
        evidence: what ``collect`` found.
        findings: the gathered findings (``Evidence.findings()``), tagged with their source.
        gates: the gate table (tests pass their own).
    """
    answers = []
    for gate in gates:
        verdict = gate.ask(evidence)
        blocking = tuple(describe(f) for f in findings if _fails(gate, f))
        answer = Answer.FAIL if blocking else verdict.answer
        text = verdict.evidence
        if blocking and verdict.answer != Answer.FAIL:
            text = f"{text}; but {', '.join(blocking)}"
        answers.append(GateAnswer(gate=gate.id, stage=gate.stage, question=gate.question,
                                  answer=answer, evidence=text, sources=verdict.sources,
                                  command=verdict.command, todo=verdict.todo,
                                  blocking=blocking))
    return tuple(answers)


def gate_findings(answers: Sequence[GateAnswer], findings: Sequence[Finding],
                  gates: Sequence[Gate] = GATES) -> list[Finding]:
    """An error ``gate_failed`` finding per failing gate that no error finding explains.

    A gate failing because env QA failed is explained by env QA's own error findings; a
    gate failing because only one seed was trained is not, and without a finding of its
    own the report would exit 0 on a no-go.
    """
    by_id = {g.id: g for g in gates}
    errors_by_source: set[str] = {str(f.evidence.get("source")) for f in findings
                                  if f.severity == Severity.ERROR}
    out = []
    for a in answers:
        if a.answer != Answer.FAIL or a.blocking or errors_by_source & set(a.sources):
            continue
        out.append(Finding(
            check=f"report.gate.{a.gate}", category=ReportCategory.GATE_FAILED,  # type: ignore[arg-type]
            stage=by_id[a.gate].finding_stage, severity=Severity.ERROR,
            message=f"{a.question} No: {a.evidence}",
            evidence={"gate": a.gate, "stage": str(a.stage), "sources": list(a.sources)},
            remedy=a.command or a.todo))
    return out


@dataclass(frozen=True, slots=True)
class Decision:
    """The overall go / no-go.

    Attributes:
        decision: ``go`` or ``no-go``.
        reason: one sentence: what blocks, which gates failed, which are unanswered.
        stages: gate stage -> ``go`` (all pass), ``no-go`` (a failure), ``open`` (unknowns).
    """

    decision: str
    reason: str
    stages: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"decision": self.decision, "reason": self.reason, "stages": dict(self.stages)}


def _stage_status(answers: Sequence[GateAnswer]) -> str:
    values = {a.answer for a in answers}
    if Answer.FAIL in values:
        return "no-go"
    return "open" if Answer.UNKNOWN in values else "go"


def decide(answers: Sequence[GateAnswer], findings: Sequence[Finding]) -> Decision:
    """Go only when every gate passes and no error finding exists."""
    stages = {str(s): _stage_status([a for a in answers if a.stage == s]) for s in GateStage}
    blocking = [f for f in findings if f.severity == Severity.ERROR]
    failed = [a.gate for a in answers if a.answer == Answer.FAIL]
    unknown = [a.gate for a in answers if a.answer == Answer.UNKNOWN]
    parts = []
    if blocking:
        parts.append(f"{len(blocking)} blocking finding(s)")
    if failed:
        parts.append(f"failed: {', '.join(failed)}")
    if unknown:
        parts.append(f"no evidence yet: {', '.join(unknown)}")
    if not parts:
        return Decision("go", "every gate passes and no error finding blocks", stages)
    return Decision("no-go", "; ".join(parts), stages)
