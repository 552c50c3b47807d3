"""Guardrails: the doctor's detectors, live on the learner's metrics, and what to do on a break.

Contents:
    GuardAction -- what the trainer does after a check: continue, warn, stop, rollback.
    GuardDecision -- the action, the finding behind it, the checkpoint.
    Guardrails -- wraps ``rlvet.monitor.Monitor``: ``log`` and ``add_checkpoint`` feed it,
        ``check`` takes a verdict when it is due (cost-bounded), ``rolled_back`` starts a new
        segment, ``findings`` is the run's account at the end.

The same detectors ``rlvet doctor`` runs offline decide live (``Monitor.verdict``), so what
the trainer acted on is what the doctor will say about ``metrics.jsonl`` afterwards.
Policies (``--on-break``): ``warn`` records the break and trains on; ``stop`` ends the run;
``rollback`` restores the checkpoint the doctor names (the latest at or before the last
healthy step) and scales the learning rate -- the usual first remedy for a KL spike or a
collapse (remedies in ``rlvet.findings.CATEGORIES``). A rollback is logged as a finding of the
break's category, severity warning (the run recovered) with the rollback in its evidence.

When to act is the one live policy (``rlvet.doctor.live``, through the Monitor): no verdict
before its warm-up of records in the current segment, verdicts within the cost budget, and
an error first break acts once confirmed on consecutive verdicts. ``rollback`` acts only
on ``ROLLBACK_CATEGORIES``, the breaks whose remedy in ``rlvet.findings.CATEGORIES`` starts with
"roll back" (an update too large: KL spike, entropy collapse, non-finite numbers); other
error breaks (a plateau, a stuck entropy, a critic that does not fit) are not repaired by
restoring weights and lowering the learning rate, so they are recorded like ``warn``.
``stop`` stops on any error first break.

Segments: after a rollback the Monitor starts empty, seeded with the restored checkpoint;
otherwise the break it just handled would be found again at every check. The JSONL file on
disk keeps the whole history, so ``rlvet doctor`` still sees the break.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from rlvet.doctor.live import LivePolicy
from rlvet.findings import Category, Finding, Severity
from rlvet.monitor import Action, Monitor
from rlvet.pipeline.args import OnBreak
from rlvet.signals.series import Checkpoint

__all__ = ["ROLLBACK_CATEGORIES", "GuardAction", "GuardDecision", "Guardrails"]

ROLLBACK_CATEGORIES = frozenset({Category.KL_SPIKE, Category.ENTROPY_COLLAPSE,
                                 Category.NUMERICAL_INSTABILITY})
"""Breaks a rollback with a lower learning rate repairs (their remedy says so)."""


class GuardAction(StrEnum):
    """What the trainer does after a check (``on_break`` decides which of the last three)."""

    CONTINUE = "continue"  # nothing new, or a break already recorded
    WARN = "warn"  # a new break: record it and train on
    STOP = "stop"  # end the run on this break
    ROLLBACK = "rollback"  # restore the checkpoint the doctor names, lower the lr


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """What the trainer should do now.

    Attributes:
        action: continue, warn (a new break, keep training), stop or rollback.
        finding: the doctor's first break behind the action, or None.
        checkpoint: where to roll back to (rollback only).
    """

    action: GuardAction
    finding: Finding | None = None
    checkpoint: Checkpoint | None = None


class Guardrails:
    """Live detectors over the learner's metrics.

    Args:
        on_break: ``warn``, ``stop`` or ``rollback`` (text is checked into ``OnBreak``).
        budget: share of wall time verdicts may cost (``TrainArgs.guard_budget``).
    """

    def __init__(self, on_break: OnBreak | str, budget: float = 0.01) -> None:
        self.on_break, self.budget = OnBreak(on_break), budget
        self.monitor = self._new_monitor()
        self.events: list[Finding] = []
        self.warned: list[tuple[int, Finding]] = []
        """(step, finding) of every break recorded without acting, first per category."""
        self._seen: set[str] = set()
        self.cost_s = 0.0
        """Wall seconds spent in verdicts (the guardrails' whole cost)."""
        self.verdicts = 0

    def _new_monitor(self) -> Monitor:
        # resources=False: the trainer's records already carry its own resource signals
        return Monitor(None, on_error=Action.ROLLBACK if self.on_break is OnBreak.ROLLBACK
                       else Action.STOP,
                       resources=False, policy=LivePolicy(budget=self.budget))

    def log(self, step: int, metrics: Mapping[str, float | int | str]) -> None:
        """Feed one record (canonical names) to the live detectors."""
        self.monitor.log(step, **metrics)

    def add_checkpoint(self, step: int, path: str) -> None:
        """A rollback target was saved."""
        self.monitor.add_checkpoint(step, path)

    def check(self, step: int, *, force: bool = False) -> GuardDecision:
        """Take a verdict if due (always with ``force``) and map it onto ``on_break``."""
        if not force and not self.monitor.due():
            return GuardDecision(GuardAction.CONTINUE)
        start = time.perf_counter()
        decision = self.monitor.verdict()
        self.cost_s += time.perf_counter() - start
        self.verdicts += 1
        if decision.action is Action.CONTINUE or decision.finding is None:
            return GuardDecision(GuardAction.CONTINUE)
        f = decision.finding
        if self.on_break is OnBreak.WARN or (self.on_break is OnBreak.ROLLBACK
                                             and f.category not in ROLLBACK_CATEGORIES):
            if str(f.category) in self._seen:  # one warning per category: the final
                return GuardDecision(GuardAction.CONTINUE)  # diagnosis is up to date
            self._seen.add(str(f.category))
            self.warned.append((step, f))
            return GuardDecision(GuardAction.WARN, f)
        if decision.action is Action.ROLLBACK:
            return GuardDecision(GuardAction.ROLLBACK, f, decision.checkpoint)
        return GuardDecision(GuardAction.STOP, f)

    def rolled_back(self, step: int, finding: Finding, checkpoint: Checkpoint,
                    details: Mapping[str, float | int | str]) -> Finding:
        """Record a rollback as a finding and start a new detector segment."""
        event = dataclasses.replace(
            finding, check="pipeline.guardrails.rollback", severity=Severity.WARNING,
            message=(f"rolled back at step {step} to the checkpoint of step {checkpoint.step} "
                     f"and lowered the learning rate: {finding.message}"),
            evidence={**finding.evidence, "rollback": {"at_step": step,
                                                       "checkpoint": checkpoint.path,
                                                       "checkpoint_step": checkpoint.step,
                                                       **details}})
        self.events.append(event)
        self.monitor = self._new_monitor()
        self.monitor.add_checkpoint(checkpoint.step, checkpoint.path)
        return event

    def stopped(self, step: int, finding: Finding, reason: str) -> Finding:
        """Record that the run stopped on ``finding`` (kept at its own severity)."""
        event = dataclasses.replace(
            finding, check=f"pipeline.guardrails.{reason}",
            evidence={**finding.evidence, "stopped_at_step": step, "reason": reason})
        self.events.append(event)
        return event

    def findings(self) -> list[Finding]:
        """Rollback / stop events, then the current segment's diagnosis (a final verdict),
        then, as info, breaks flagged live that the final diagnosis no longer finds (a
        detector judging a run by its prefix; the trace shows what it saw and when)."""
        current = list(self.monitor.verdict().diagnosis.findings)
        stopped_keys = {(str(e.category), e.step) for e in self.events}
        current = [f for f in current if (str(f.category), f.step) not in stopped_keys]
        standing = {str(f.category) for f in current} | {str(e.category) for e in self.events}
        gone = [dataclasses.replace(
            f, check="pipeline.guardrails.warn", severity=Severity.INFO,
            message=f"flagged live at step {step}, no longer found at the end of the run: "
                    f"{f.message}", evidence={**f.evidence, "flagged_at_step": step})
            for step, f in self.warned if str(f.category) not in standing]
        return [*self.events, *current, *gone]
