"""Value types for metric streams: a ``Series`` per signal, a ``RunSignals`` per run.

A series is ``(steps, values)``: two aligned 1-D arrays of shape ``(n,)``, ``steps`` as
int64 environment/optimizer steps in non-decreasing order, ``values`` as float64 where NaN
and inf are kept (they are evidence of numerical instability, not parse errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Checkpoint", "RunSignals", "Series"]


@dataclass(frozen=True, slots=True)
class Series:
    """One metric over training: ``steps`` (n,) int64 and ``values`` (n,) float64."""

    steps: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.steps.shape != self.values.shape or self.steps.ndim != 1:
            raise ValueError(
                f"Series needs aligned 1-D arrays, got {self.steps.shape} and {self.values.shape}"
            )

    def __len__(self) -> int:
        return int(self.steps.shape[0])

    @classmethod
    def from_lists(cls, steps: list[int] | np.ndarray, values: list[float] | np.ndarray) -> Series:
        """Build a series, sorting by step (stable, so repeated steps keep log order)."""
        s = np.asarray(steps, dtype=np.int64)
        v = np.asarray(values, dtype=np.float64)
        order = np.argsort(s, kind="stable")
        return cls(s[order], v[order])


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A saved model the user can roll back to."""

    step: int
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSignals:
    """Everything the readers found for one run, under canonical names.

    Attributes:
        source: the run directory or file it came from.
        series: canonical name -> Series (see ``rlvet.signals.names``).
        raw_names: canonical name -> the name the source logged it under (for messages).
        formats: which readers contributed (``"sb3_csv"``, ``"tensorboard"``, ...).
        checkpoints: checkpoints found beside the logs, by step.
        text: non-numeric values worth keeping (e.g. an eval protocol hash), name -> list
            of ``(step, value)``.
    """

    source: str
    series: Mapping[str, Series]
    raw_names: Mapping[str, str] = field(default_factory=dict)
    formats: tuple[str, ...] = ()
    checkpoints: tuple[Checkpoint, ...] = ()
    text: Mapping[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)

    def get(self, name: str) -> Series | None:
        """The series for a canonical name, or None if the run did not log it."""
        return self.series.get(name)

    def names(self) -> list[str]:
        """Canonical names present, sorted."""
        return sorted(self.series)
