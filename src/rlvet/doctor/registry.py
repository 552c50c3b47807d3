"""The detector contract and the table that says which detector reports which category.

Contents:
    DetectContext -- what every detector is told besides the signals (resolved metric names).
    Detector -- the protocol: ``detect(run, ctx) -> list[Finding]``.
    DETECTORS -- the explicit table, category -> detector, in loop order.
    Registry -- an ordered name -> detector map that refuses duplicates unless told to replace.
    default_registry() -- a fresh Registry holding ``DETECTORS``.

Adding a detector is adding a function and a row (STYLE.md): detectors are plain
callables, they read signals and return findings, never files, never raise about the run.
The table order is loop order (ARCHITECTURE.md section 1), which is also how two findings
of one stage with the same onset step are ordered.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from rlvet.doctor import (
    bottleneck,
    critic,
    evaluation,
    exploration,
    freshness,
    llm,
    memory,
    numerics,
    policy_update,
    reward,
    throughput,
)
from rlvet.doctor.family import Family
from rlvet.findings import Category, Finding
from rlvet.signals.series import RunSignals

__all__ = ["DETECTORS", "DetectContext", "Detector", "Registry", "default_registry"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectContext:
    """What a detector needs besides the signals.

    Attributes:
        reward: series key of the training reward (the proxy the agent optimises), or None.
        eval: series key of the true / held-out metric, or None.
        family: the algorithm family that wrote the run (warm-ups and remedies differ).
    """

    reward: str | None = None
    eval: str | None = None
    family: Family = Family.UNKNOWN


class Detector(Protocol):
    """A detector: signals in, findings out (empty list when the link looks healthy)."""

    def __call__(self, run: RunSignals, ctx: DetectContext, /) -> list[Finding]: ...


DETECTORS: Mapping[Category, Detector] = MappingProxyType(
    {
        Category.EVAL_PROTOCOL_CHANGE: evaluation.detect_eval_protocol_change,
        Category.REWARD_DIRECTION: reward.detect_reward_direction,
        Category.SPARSE_REWARD: reward.detect_sparse_reward,
        Category.NO_LEARNING_SIGNAL: reward.detect_no_learning_signal,
        Category.REWARD_HACKING: reward.detect_reward_hacking,
        Category.PLATEAU: reward.detect_plateau,
        Category.TRUNCATION: llm.detect_truncation,
        Category.STALE_DATA: freshness.detect_stale_data,
        Category.TRAIN_INFERENCE_MISMATCH: llm.detect_train_inference_mismatch,
        Category.KL_SPIKE: policy_update.detect_kl_spike,
        Category.CLIP_SATURATION: policy_update.detect_clip_saturation,
        Category.REFERENCE_DRIFT: llm.detect_reference_drift,
        Category.CRITIC_FAILURE: critic.detect_critic_failure,
        Category.ENTROPY_COLLAPSE: exploration.detect_entropy_collapse,
        Category.ENTROPY_STUCK: exploration.detect_entropy_stuck,
        Category.NUMERICAL_INSTABILITY: numerics.detect_numerical_instability,
        Category.LENGTH_GRAD_SPIKE: llm.detect_length_grad_spike,
        Category.THROUGHPUT_DROP: throughput.detect_throughput_drop,
        Category.MEMORY_GROWTH: memory.detect_memory_growth,
        Category.FRAGMENTATION: memory.detect_fragmentation,
        Category.ENV_BOUND: bottleneck.detect_env_bound,
        Category.LEARNER_BOUND: bottleneck.detect_learner_bound,
        Category.WASTED_COMPUTE: llm.detect_wasted_compute,
    }
)
"""Category -> detector, in outside-in loop order (environment ... resources)."""


class Registry:
    """Ordered detectors by name; ``register`` refuses a name twice unless ``replace=True``.

    Example:
        >>> reg = default_registry()
        >>> reg.register("kl_spike", lambda run, ctx: [])
        Traceback (most recent call last):
        ...
        ValueError: detector 'kl_spike' is already registered; pass replace=True to swap it
    """

    def __init__(self) -> None:
        self._detectors: dict[str, Detector] = {}

    def register(self, name: str, fn: Detector, *, replace: bool = False) -> None:
        """Add ``fn`` under ``name`` (a replaced detector keeps its place in the order)."""
        if name in self._detectors and not replace:
            raise ValueError(
                f"detector {name!r} is already registered; pass replace=True to swap it"
            )
        self._detectors[name] = fn

    def unregister(self, name: str) -> None:
        """Remove a detector (KeyError if there is none by that name)."""
        del self._detectors[name]

    def items(self) -> Iterator[tuple[str, Detector]]:
        """``(name, detector)`` pairs in registration order."""
        return iter(tuple(self._detectors.items()))

    def names(self) -> list[str]:
        """Registered names, in order."""
        return list(self._detectors)

    def __len__(self) -> int:
        return len(self._detectors)


def default_registry() -> Registry:
    """A new Registry with every detector of ``DETECTORS``, named by category."""
    reg = Registry()
    for category, fn in DETECTORS.items():
        reg.register(str(category), fn)
    return reg
