"""Seeds of one setup, and whether their results agree: the reproducibility gate's evidence.

Contents:
    Setup -- runs whose recorded settings are equal but for the seed.
    group_setups(runs) -- setups (largest first) and the runs that recorded no settings.
    Spread -- the dispersion rule applied to the seeds' final evaluation returns.
    seed_spread(finals, baseline) -- apply it.
    MAX_SEED_CV -- the rule's bound.

The rule. Final evaluation returns of the seeds, measured above the random policy's return
when env QA recorded one (so an env whose random policy already scores 20 does not make
every agent look alike), are reproducible when their coefficient of variation -- sample
standard deviation over the absolute mean -- is at most ``MAX_SEED_CV``. Returns 153, 253
and 500 on CartPole (random 22) give CV 0.64: three different outcomes, not one result.
A mean within rounding of zero makes the CV infinite: not reproducible.

Grouping. Runs group only on settings they recorded (``rlvet.signals.settings``, an
``rlvet train`` result's arguments): framework, env and every setting but those in
``collect.CONFIG_IGNORED`` (the seed, output paths, tracking flags). Runs that recorded
nothing are never called seeds of one setup -- they may differ in anything.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from rlvet.report.collect import TrainingRun

__all__ = ["MAX_SEED_CV", "Setup", "Spread", "group_setups", "seed_spread"]

MAX_SEED_CV = 0.2
"""Seeds whose final returns spread by more than a fifth of their mean are different
outcomes (Henderson et al. 2018, "Deep RL that Matters", show seed-to-seed gaps of this
size flipping algorithm rankings); healthy seeds of a solved task sit well inside it
(CartPole's 500 / 500 / 500: CV 0)."""
ZERO_MEAN = 1e-9


@dataclass(frozen=True, slots=True)
class Setup:
    """Runs of one setup.

    Attributes:
        runs: the runs, in walk order.
        label: what they share, for people: framework, algorithm, env, learning rate.
    """

    runs: tuple[TrainingRun, ...]
    label: str


def _label(run: TrainingRun) -> str:
    settings = run.settings
    parts = [run.framework or "?"]
    if settings is not None and settings.values.get("algo"):
        parts.append(str(settings.values["algo"]))
    parts.append(run.env_id or "env not recorded")
    if run.learning_rate is not None:
        parts.append(f"lr {run.learning_rate}")
    return " ".join(parts)


def group_setups(runs: Sequence[TrainingRun]) -> tuple[list[Setup], list[TrainingRun]]:
    """Runs grouped by recorded settings, largest group first; and the unrecorded runs."""
    groups: dict[str, list[TrainingRun]] = {}
    unrecorded = []
    for run in runs:
        key = run.config_key
        if key is None:
            unrecorded.append(run)
        else:
            groups.setdefault(key, []).append(run)
    setups = [Setup(tuple(g), _label(g[0])) for g in groups.values()]
    return sorted(setups, key=lambda s: len(s.runs), reverse=True), unrecorded


@dataclass(frozen=True, slots=True)
class Spread:
    """The dispersion rule on one setup's final returns.

    Attributes:
        finals: the seeds' final evaluation returns.
        baseline: the random policy's return subtracted first (None: none recorded).
        mean, std: of ``finals - baseline`` (std: sample, n - 1).
        cv: ``std / |mean|``; infinite for a mean of zero.
    """

    finals: tuple[float, ...]
    baseline: float | None
    mean: float
    std: float
    cv: float

    @property
    def reproducible(self) -> bool:
        """The rule: ``cv <= MAX_SEED_CV``."""
        return self.cv <= MAX_SEED_CV

    def describe(self) -> str:
        """The numbers and the rule, in one sentence part."""
        finals = ", ".join(f"{x:.4g}" for x in self.finals)
        above = "" if self.baseline is None else f" above the random policy's {self.baseline:.4g}"
        cv = "inf" if math.isinf(self.cv) else f"{self.cv:.2f}"
        sign = "<=" if self.reproducible else ">"
        return (f"final eval returns {finals}{above}: mean {self.mean:.4g}, std "
                f"{self.std:.3g}, coefficient of variation {cv} {sign} {MAX_SEED_CV:g} "
                f"(rule: std / |mean| of the seeds' final returns at most {MAX_SEED_CV:g})")


def seed_spread(finals: Sequence[float], baseline: float | None = None) -> Spread:
    """Apply the rule to two or more final returns.

    Example:
        >>> round(seed_spread([153.0, 253.0, 500.0], baseline=22.0).cv, 2)
        0.64
        >>> seed_spread([500.0, 500.0, 500.0]).reproducible
        True
    """
    if len(finals) < 2:
        raise ValueError(f"a spread needs two or more seeds, got {len(finals)}")
    shifted = [x - (baseline or 0.0) for x in finals]
    mean, std = statistics.fmean(shifted), statistics.stdev(shifted)
    cv = 0.0 if std == 0 else (math.inf if abs(mean) < ZERO_MEAN else std / abs(mean))
    return Spread(tuple(float(x) for x in finals), baseline, mean, std, cv)
