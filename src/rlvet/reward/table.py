"""Per-sample columns and per-step aggregates: the numbers every reward detector reads.

Contents:
    Column names -- REWARD, EVAL, HUMAN, LENGTH, REPETITION, FORMAT, TOOL_CALLS,
        DUPLICATE_CALLS, REFUSAL, CLAIM, FINAL_OK, FALSE_CLAIM, and ``component:<name>``.
    SampleTable -- one float64 array of shape (n,) per column, NaN where not logged.
    build_table(samples) -- side metrics of every sample (text.py) as columns.
    baseline_table(samples) -- the same side metrics of the ``baseline_response`` fields.

Detectors never parse text: they read columns, so one pass over the responses serves all
of them, and a column that is all-NaN (a field the trainer did not log) switches the
detectors that need it off instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from rlvet.reward import text
from rlvet.reward.samples import Sample

__all__ = [
    "CLAIM",
    "COMPONENT_PREFIX",
    "DUPLICATE_CALLS",
    "EVAL",
    "FALSE_CLAIM",
    "FINAL_OK",
    "FORMAT",
    "HUMAN",
    "LENGTH",
    "REFUSAL",
    "REPETITION",
    "REWARD",
    "SIDE_METRICS",
    "TOOL_CALLS",
    "SampleTable",
    "baseline_table",
    "build_table",
]

REWARD = "reward"
EVAL = "eval_score"
HUMAN = "human_score"
LENGTH = "length"  # whitespace tokens of the response
REPETITION = "repetition"  # share of repeated 3-grams
FORMAT = "format"  # 1 when an answer-format marker is present
TOOL_CALLS = "tool_calls"  # calls per sample
DUPLICATE_CALLS = "duplicate_calls"  # share of calls identical to an earlier one
REFUSAL = "refusal"  # 1 when the response declines
CLAIM = "claim"  # 1 when the sample claims success (field, else text)
FINAL_OK = "final_state_ok"  # 1 when the environment's final state shows success
FALSE_CLAIM = "false_claim"  # 1 claimed success with a failed final state; NaN if unknown
COMPONENT_PREFIX = "component:"

SIDE_METRICS: tuple[str, ...] = (
    LENGTH, REPETITION, FORMAT, TOOL_CALLS, DUPLICATE_CALLS, REFUSAL, CLAIM, FALSE_CLAIM,
)
"""Per-step side metrics reported in ``metrics["per_step"]`` and plotted."""


@dataclass(frozen=True, slots=True)
class SampleTable:
    """Columns of equal length n, one row per sample.

    Attributes:
        steps: int64 (n,), the training step of each row.
        columns: name -> float64 (n,), NaN where the value is unknown.
        groups: the GRPO group of each row, ``None`` when not logged.
        ids: the sample ids, for evidence.
        prompts: the prompt of each row (``None`` when not logged): completions of one
            prompt form a group when no ``group`` is logged.
    """

    steps: np.ndarray
    columns: Mapping[str, np.ndarray]
    groups: tuple[str | None, ...]
    ids: tuple[str, ...]
    prompts: tuple[str | None, ...] = ()

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.steps.size)

    def has(self, name: str) -> bool:
        """Whether the column exists and holds at least one finite value."""
        col = self.columns.get(name)
        return col is not None and bool(np.isfinite(col).any())

    def get(self, name: str) -> np.ndarray:
        """The column, or all-NaN (n,) when absent."""
        col = self.columns.get(name)
        return col if col is not None else np.full(self.n, np.nan)

    @property
    def component_names(self) -> tuple[str, ...]:
        """Reward component names, in first-seen order."""
        return tuple(k[len(COMPONENT_PREFIX):] for k in self.columns
                     if k.startswith(COMPONENT_PREFIX))

    def distinct_steps(self) -> np.ndarray:
        """Sorted distinct steps, int64 (k,)."""
        return np.unique(self.steps)

    def per_step(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps (k,), NaN-aware mean (k,))`` over the steps where the column is known."""
        col = self.get(name)
        ok = np.isfinite(col)
        if not ok.any():
            return np.empty(0, dtype=np.int64), np.empty(0)
        steps, inverse = np.unique(self.steps[ok], return_inverse=True)
        sums = np.bincount(inverse, weights=col[ok])
        counts = np.bincount(inverse)
        return steps, sums / counts


def _text_columns(responses: Sequence[str | None]) -> dict[str, np.ndarray]:
    n = len(responses)
    length, rep, fmt, refusal, claim = (np.full(n, np.nan) for _ in range(5))
    for i, r in enumerate(responses):
        if r is None:
            continue
        length[i] = text.length_tokens(r)
        rep[i] = text.repeat_ratio(r)
        fmt[i] = 1.0 if text.format_markers(r) else 0.0
        refusal[i] = float(text.is_refusal(r))
        claim[i] = float(text.claims_success(r))
    return {LENGTH: length, REPETITION: rep, FORMAT: fmt, REFUSAL: refusal, CLAIM: claim}


def _optional(values: Sequence[float | bool | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _tool_columns(samples: Sequence[Sample]) -> dict[str, np.ndarray]:
    n = len(samples)
    calls, dups = np.full(n, np.nan), np.full(n, np.nan)
    for i, s in enumerate(samples):
        if s.tool_calls is not None:
            calls[i], dups[i] = text.tool_call_stats(s.tool_calls)
    return {TOOL_CALLS: calls, DUPLICATE_CALLS: dups}


def _claim_columns(samples: Sequence[Sample], text_claim: np.ndarray) -> dict[str, np.ndarray]:
    """The explicit ``claimed_success`` field wins over the text; false claims need both."""
    field = _optional([s.claimed_success for s in samples])
    claim = np.where(np.isfinite(field), field, text_claim)
    ok = _optional([s.final_state_ok for s in samples])
    known = np.isfinite(claim) & np.isfinite(ok)
    false_claim = np.where(known, (claim == 1) & (ok == 0), np.nan)
    return {CLAIM: claim, FINAL_OK: ok, FALSE_CLAIM: false_claim.astype(float)}


def _component_columns(samples: Sequence[Sample]) -> dict[str, np.ndarray]:
    names: dict[str, None] = {}
    for s in samples:
        names.update(dict.fromkeys(s.components))
    return {COMPONENT_PREFIX + name: _optional([s.components.get(name) for s in samples])
            for name in names}


def build_table(samples: Sequence[Sample]) -> SampleTable:
    """Every column for every sample; text metrics only where a response was logged."""
    columns = _text_columns([s.response for s in samples])
    columns.update(_tool_columns(samples))
    columns.update(_claim_columns(samples, columns[CLAIM]))
    columns[REWARD] = np.array([s.reward for s in samples], dtype=float)
    columns[EVAL] = _optional([s.eval_score for s in samples])
    columns[HUMAN] = _optional([s.human_score for s in samples])
    columns.update(_component_columns(samples))
    return SampleTable(
        steps=np.array([s.step for s in samples], dtype=np.int64),
        columns=MappingProxyType(columns),
        groups=tuple(s.group for s in samples),
        ids=tuple(s.id for s in samples),
        prompts=tuple(s.prompt for s in samples),
    )


def baseline_table(samples: Sequence[Sample]) -> SampleTable | None:
    """Text side metrics of the in-file ``baseline_response`` fields; None when absent."""
    rows = [s for s in samples if s.baseline_response is not None]
    if not rows:
        return None
    columns = _text_columns([s.baseline_response for s in rows])
    return SampleTable(
        steps=np.array([s.step for s in rows], dtype=np.int64),
        columns=MappingProxyType(columns),
        groups=tuple(s.group for s in rows),
        ids=tuple(s.id for s in rows),
    )
