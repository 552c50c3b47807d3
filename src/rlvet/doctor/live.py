"""The one live policy: when a verdict is taken and when it may stop a run.

Contents:
    LivePolicy -- the settings: cost budget, warm-up in update records, confirmations.
    LiveGate -- the state of one live run under a policy: ``due()`` says whether a verdict
        may be taken now, ``act(diagnosis)`` whether its first break stands.

Used by ``rlvet.Monitor`` (and through it by the SB3 and TRL callbacks, the trainer's
guardrails and ``rlvet watch``), so every live path acts by the same rules.

Why these rules (ARCHITECTURE.md section 9: a healthy run is never stopped):
- Cost: a verdict runs every detector over the history (milliseconds). After each verdict
  the next waits until ``1 / budget`` times its cost has passed, which bounds the
  guardrails at ``budget`` of the loop's wall time whatever the update size.
- Warm-up: the first updates of any run are noisy (an untrained critic explains nothing,
  an off-policy learner acts at random), so no verdict is taken before ``warmup_updates``
  update records; the doctor's own history rule (``doctor.evidence.cap_by_history``) keeps
  young breaks at warning on top of that.
- Hysteresis: the run is judged by a prefix that grows; a break found on one verdict may
  vanish on the next (a spike at the end of a prefix turns out to be one point). Only the
  *first break* of the diagnosis counts (not any error: the first break is what the doctor
  would tell the user), it must be an error of an ``ACUTE`` category, and the same one on
  ``confirmations`` consecutive verdicts taken on new data. Once confirmed the decision is
  latched: a run told to stop is not told to continue a record later.
- New data for a break judged on the evaluations (``EVALUATION_JUDGED``) is a new
  evaluation: such a break moves only when an evaluation arrives or the training return
  shifts between two, so verdicts on update records alone would confirm one evaluation's
  reading with itself (a LunarLander evaluation that fell once, judged as hacking on the
  updates after it, and gone before the next evaluation: fresh4's one healthy run stopped).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rlvet.doctor.diagnose import Diagnosis
from rlvet.findings import Category, Finding, Severity

__all__ = ["ACUTE", "EVALUATION_JUDGED", "LiveGate", "LivePolicy"]

DEFAULT_BUDGET = 0.01  # in-loop guardrails cost under 1% of an update (ARCHITECTURE.md s.7)
DEFAULT_WARMUP_UPDATES = 10  # two persistence windows of the doctor (onset.PERSIST_WINDOW 5)
DEFAULT_CONFIRMATIONS = 2  # the same error first break on two verdicts in a row

ACUTE: frozenset[Category] = frozenset({
    Category.KL_SPIKE, Category.ENTROPY_COLLAPSE, Category.NUMERICAL_INSTABILITY,
    Category.REWARD_HACKING, Category.REWARD_DIRECTION, Category.STALE_DATA,
    Category.TRAIN_INFERENCE_MISMATCH,
})
"""Breaks a live verdict may act on: each is dated by a local event (a jump, a NaN, proxy
and true reward parting, the sampler's log-probs leaving the trainer's), every further
update makes the run worse, and a rollback or a stop saves compute. The others are judged
against the whole run so far -- a critic that never fits, entropy that never moves, a
plateau, sparse reward, throughput and memory trends -- and a prefix of a healthy run often
looks like them (an untrained critic, entropy before learning starts, a slow start,
evaluation episodes that lengthen as the policy improves): live they are reported, never
acted on; the offline doctor judges the run."""

EVALUATION_JUDGED: frozenset[Category] = frozenset({
    Category.REWARD_HACKING, Category.REWARD_DIRECTION,
})
"""Breaks read from the true metric's evaluations (proxy against objective): each
confirmation of one must come from a verdict that saw a further evaluation."""


def _evaluations(diagnosis: Diagnosis) -> int:
    """Evaluation points the diagnosis read (0 when the run logs no true metric)."""
    key = diagnosis.metrics.get("eval_metric")
    summary = diagnosis.metrics.get("signals", {}).get(key, {}) if key else {}
    return int(summary.get("points", 0))


@dataclass(frozen=True, slots=True, kw_only=True)
class LivePolicy:
    """When live verdicts are taken and when they act.

    Attributes:
        budget: share of the loop's wall time verdicts may cost (above 1: judge at
            nearly every chance, for tests and replays).
        warmup_updates: update records before the first verdict may act.
        confirmations: consecutive verdicts (each on new records) that must name the same
            error first break before the run is stopped.
        acts_on: the categories a first break may stop or roll back a run for (``ACUTE``).
    """

    budget: float = DEFAULT_BUDGET
    warmup_updates: int = DEFAULT_WARMUP_UPDATES
    confirmations: int = DEFAULT_CONFIRMATIONS
    acts_on: frozenset[Category] = ACUTE

    def __post_init__(self) -> None:
        if not 0.0 < self.budget < float("inf"):
            raise ValueError(f"LivePolicy.budget must be a positive number, got {self.budget}")
        if self.warmup_updates < 0 or self.confirmations < 1:
            raise ValueError("LivePolicy: warmup_updates >= 0 and confirmations >= 1")


@dataclass(slots=True)
class LiveGate:
    """One live run's state under a ``LivePolicy``.

    Example:
        >>> gate = LiveGate(LivePolicy(warmup_updates=0, confirmations=2))
        >>> gate.due(records=1)
        True
    """

    policy: LivePolicy = field(default_factory=LivePolicy)
    _last_end: float = 0.0
    _last_cost: float = 0.0
    _records_at_last: int = -1
    _pending: str | None = None
    _streak: int = 0
    _evaluations_at_last: int = 0
    _latched: Finding | None = None

    def due(self, *, records: int, updates: int | None = None) -> bool:
        """Whether a verdict may be taken now: past warm-up, new records, within budget.

        Args:
            records: records logged so far (a verdict on no new record repeats the last).
            updates: update records so far (default ``records``), for the warm-up.
        """
        if (records if updates is None else updates) < self.policy.warmup_updates:
            return False
        if records <= self._records_at_last:
            return False
        since = time.perf_counter() - self._last_end
        return since >= self._last_cost / self.policy.budget

    def timed(self, started: float, *, records: int) -> None:
        """Book a verdict that started at ``started`` (``time.perf_counter()``)."""
        self._last_end = time.perf_counter()
        self._last_cost = self._last_end - started
        self._records_at_last = records

    def act(self, diagnosis: Diagnosis, *, new_data: bool = True) -> Finding | None:
        """The finding to act on, once its first break is a confirmed error, else None."""
        if self._latched is not None:
            return self._latched
        fb = diagnosis.first_break
        if fb is None or fb.severity != Severity.ERROR or fb.category not in self.policy.acts_on:
            self._pending, self._streak = None, 0
            return None
        same = self._pending == str(fb.category)
        evaluations = _evaluations(diagnosis)
        if same and (not new_data or (fb.category in EVALUATION_JUDGED and 0 < evaluations
                                      <= self._evaluations_at_last)):
            return None  # the same evidence judged twice is not a second confirmation
        self._streak = self._streak + 1 if same else 1
        self._pending = str(fb.category)
        self._evaluations_at_last = evaluations
        if self._streak >= self.policy.confirmations:
            self._latched = fb
        return self._latched

    @property
    def records_judged(self) -> int:
        """Records the last verdict saw (-1 before the first)."""
        return self._records_at_last
