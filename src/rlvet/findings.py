"""The Finding model: the one currency every rlvet check, detector and report shares.

Contents:
    Severity, Stage, Category -- StrEnums of the taxonomy (ARCHITECTURE.md sections 1 and 3).
    Finding -- one observation about one link of the training loop, with its evidence.
    STAGE_ORDER -- the outside-in diagnostic order used to break ties.
    verdict, first_break, exit_code -- what a set of findings means for a go / no-go.
    CommandResult -- the JSON document every command emits with ``--json``.

Checks *return* findings; they never raise, assert or warn about what they inspect, so a
caller always gets the whole list of problems (unlike ``gymnasium.utils.check_env``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "STAGE_ORDER",
    "Category",
    "CommandResult",
    "Finding",
    "Severity",
    "Stage",
    "exit_code",
    "first_break",
    "verdict",
]


class Severity(StrEnum):
    """How much a finding matters for a go / no-go decision."""

    ERROR = "error"  # blocks go
    WARNING = "warning"  # look now
    INFO = "info"  # context, never blocks


class Stage(StrEnum):
    """The link of the training loop a finding is about (ARCHITECTURE.md section 1)."""

    ENVIRONMENT = "environment"
    EVALUATION = "evaluation"
    REWARD = "reward"
    FRESHNESS = "freshness"
    POLICY_UPDATE = "policy_update"
    CRITIC = "critic"
    EXPLORATION = "exploration"
    NUMERICS = "numerics"
    RESOURCES = "resources"
    INFRASTRUCTURE = "infrastructure"


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)
"""Outside-in diagnostic order: an environment break explains a reward break, not vice versa."""


class Category(StrEnum):
    """Failure classes of the taxonomy (ARCHITECTURE.md section 3)."""

    # environment
    API_CONTRACT = "api_contract"
    NONDETERMINISTIC_RESET = "nondeterministic_reset"
    RESET_LEAKAGE = "reset_leakage"
    STALE_OBSERVATION = "stale_observation"
    SILENT_TIMEOUT = "silent_timeout"
    REWARD_ARTIFACT = "reward_artifact"
    REWARD_DIRECTION = "reward_direction"
    REWARD_SPARSITY = "reward_sparsity"
    ACTION_SPACE_DRIFT = "action_space_drift"
    HARNESS_FAILURE = "harness_failure"
    OBS_SCALE = "obs_scale"
    DONE_SEMANTICS = "done_semantics"
    # training runs
    KL_SPIKE = "kl_spike"
    CLIP_SATURATION = "clip_saturation"
    ENTROPY_COLLAPSE = "entropy_collapse"
    ENTROPY_STUCK = "entropy_stuck"
    CRITIC_FAILURE = "critic_failure"
    NUMERICAL_INSTABILITY = "numerical_instability"
    REWARD_HACKING = "reward_hacking"
    SPARSE_REWARD = "sparse_reward"
    STALE_DATA = "stale_data"
    THROUGHPUT_DROP = "throughput_drop"
    EVAL_PROTOCOL_CHANGE = "eval_protocol_change"
    NO_LEARNING_SIGNAL = "no_learning_signal"
    PLATEAU = "plateau"
    # reward audit
    REWARD_TOO_LOOSE = "reward_too_loose"
    REWARD_LONG_TAIL = "reward_long_tail"
    LENGTH_INFLATION = "length_inflation"
    REPETITION = "repetition"
    FORMAT_HACKING = "format_hacking"
    TOOL_HACKING = "tool_hacking"
    PSEUDO_SUCCESS = "pseudo_success"
    JUDGE_DISAGREEMENT = "judge_disagreement"
    # resources and infrastructure
    MEMORY_BUDGET = "memory_budget"  # the memory plan's peak does not fit the GPU
    MEMORY_GROWTH = "memory_growth"
    FRAGMENTATION = "fragmentation"
    ENV_BOUND = "env_bound"
    LEARNER_BOUND = "learner_bound"
    WORKER_CRASH = "worker_crash"
    WORKER_HANG = "worker_hang"
    BUCKET_VARIANCE = "bucket_variance"
    SIM_TO_REAL_GAP = "sim_to_real_gap"
    # evaluation and deployment
    SPLIT_OVERUSE = "split_overuse"
    LATENCY_BUDGET = "latency_budget"
    OOD_FAILURE = "ood_failure"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One observation about one link of the loop, with the numbers behind it.

    Attributes:
        check: the check or detector that produced it, e.g. ``"envcheck.reset_determinism"``.
        category: the failure class from the taxonomy.
        stage: the link of the training loop.
        severity: error blocks go, warning asks for a look, info is context.
        message: one sentence: what was observed, the value, the likely cause.
        evidence: JSON-serialisable numbers behind the message.
        step: training step where it first appeared; None for static checks.
        remedy: what to do, in the words of the field.

    Example:
        >>> f = Finding(check="envcheck.reward_direction", category=Category.REWARD_DIRECTION,
        ...             stage=Stage.REWARD, severity=Severity.ERROR,
        ...             message="expert return 9.1 is below random 22.3", remedy="check the sign")
        >>> f.to_dict()["severity"]
        'error'
    """

    check: str
    category: Category
    stage: Stage
    severity: Severity
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    step: int | None = None
    remedy: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, with non-finite floats turned into strings JSON can carry."""
        return {
            "check": self.check,
            "category": str(self.category),
            "stage": str(self.stage),
            "severity": str(self.severity),
            "message": self.message,
            "evidence": _jsonable(self.evidence),
            "step": self.step,
            "remedy": self.remedy,
        }


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats so ``json.dumps`` is strict-valid."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf": JSON has no literal for them
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def verdict(findings: Iterable[Finding]) -> str:
    """``"fail"`` if any error, ``"warn"`` if any warning, else ``"pass"``."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return "fail"
    if Severity.WARNING in severities:
        return "warn"
    return "pass"


def first_break(findings: Iterable[Finding]) -> Finding | None:
    """The break to read first: the most severe, then the earliest step, then loop order.

    A static finding (``step is None``) counts as present from the start. Info findings
    never break anything.
    """
    candidates = [f for f in findings if f.severity != Severity.INFO]
    if not candidates:
        return None

    def key(f: Finding) -> tuple[int, float, int]:
        step = -1.0 if f.step is None else float(f.step)
        return (_SEVERITY_RANK[f.severity], step, STAGE_ORDER.index(f.stage))

    return min(candidates, key=key)


def exit_code(findings: Iterable[Finding]) -> int:
    """0 with no error finding, 1 with at least one (exit 2 is for bad input, in the CLI)."""
    return 1 if any(f.severity == Severity.ERROR for f in findings) else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandResult:
    """What one rlvet command concluded: the JSON contract of ARCHITECTURE.md section 2."""

    command: str
    target: str
    findings: tuple[Finding, ...]
    metrics: Mapping[str, Any] = field(default_factory=dict)
    chosen_first_break: Finding | None = None
    """A command's own choice of first break (the doctor orders training findings by onset
    time); None means the generic rule of ``first_break``."""

    @property
    def verdict(self) -> str:
        """Overall pass / warn / fail."""
        return verdict(self.findings)

    @property
    def first_break(self) -> Finding | None:
        """The finding to read first, or None for a clean result."""
        if self.chosen_first_break is not None:
            return self.chosen_first_break
        return first_break(self.findings)

    @property
    def exit_code(self) -> int:
        """Process exit code for this result."""
        return exit_code(self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The contract object, ready for ``json.dumps``."""
        from rlvet import __version__

        fb = self.first_break
        return {
            "rlvet": __version__,
            "command": self.command,
            "target": self.target,
            "verdict": self.verdict,
            "first_break": None if fb is None else fb.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "metrics": _jsonable(self.metrics),
        }

    def to_json(self) -> str:
        """One strict JSON document (no NaN literals)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)
