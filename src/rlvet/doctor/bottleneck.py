"""The resources link, time: does the wall time go to the environment or to the learner?

Contents:
    detect_env_bound(run, ctx) -- env stepping, reward scoring and the learner's waits for
        data take most of the wall time.
    detect_learner_bound(run, ctx) -- learner updates take most of it.

Why shares over the second half: the first iterations carry compilation, allocator
warm-up and the first evaluation. Shares come from ``time_share/<phase>`` signals
(``rlvet.resources.PhaseTimer``, which the Monitor and ``rlvet train`` log). A bottleneck
is context rather than a fault, so both are reported as info from ``BOUND_INFO`` on. Only
env_bound becomes a warning, at ``BOUND_WARNING``: then the learner (in LLM RL, the
accelerator) idles most of the time waiting for the simulator or the reward model. A
learner that is always busy is what a decoupled actor-learner pipeline aims for; its cost,
stale data, has its own detector (stale_data).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rlvet import stats
from rlvet.doctor.remedies import prescribe
from rlvet.findings import Category, Finding, Severity
from rlvet.signals import names
from rlvet.signals.series import RunSignals

if TYPE_CHECKING:
    from rlvet.doctor.registry import DetectContext

__all__ = ["ENV_PHASES", "LEARNER_PHASES", "detect_env_bound", "detect_learner_bound",
           "phase_shares"]

ENV_PHASES = ("env", "reward", "wait")  # simulator, reward scoring, learner idle for data
LEARNER_PHASES = ("learner",)
BOUND_INFO = 0.6  # most of the time on one side
BOUND_WARNING = 0.8  # env side only: the learner idles four fifths of the time
MIN_POINTS = 4  # shares of at least 4 logging intervals


def phase_shares(run: RunSignals) -> tuple[dict[str, float], int | None]:
    """Median share of each logged phase over the second half of the run, and its first step."""
    shares: dict[str, float] = {}
    first: int | None = None
    for key in run.names():
        if not key.startswith(names.TIME_SHARE_PREFIX):
            continue
        steps, values = stats.finite(run.get(key))
        if values.size < MIN_POINTS:
            continue
        half = values.size // 2
        shares[key.removeprefix(names.TIME_SHARE_PREFIX)] = float(np.median(values[half:]))
        first = int(steps[half]) if first is None else min(first, int(steps[half]))
    return shares, first


def _bound(run: RunSignals, category: Category, phases: Sequence[str], side: str,
           consequence: str, *, can_warn: bool) -> list[Finding]:
    shares, step = phase_shares(run)
    share = sum(shares.get(p, 0.0) for p in phases)
    if not shares or share < BOUND_INFO:
        return []
    parts = ", ".join(f"{p} {shares[p]:.0%}" for p in phases if p in shares)
    message = f"{share:.0%} of the wall time goes to the {side} ({parts}): {consequence}"
    return [prescribe(category,
                      severity=Severity.WARNING if can_warn and share >= BOUND_WARNING
                      else Severity.INFO,
                      message=message, step=step,
                      evidence={"share": share, "phase_shares": shares,
                                "info_share": BOUND_INFO, "warning_share": BOUND_WARNING})]


def detect_env_bound(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Env stepping, reward scoring and waits for data take >= BOUND_INFO of wall time."""
    return _bound(run, Category.ENV_BOUND, ENV_PHASES, "environment side",
                  "the learner waits on the simulator or the reward", can_warn=True)


def detect_learner_bound(run: RunSignals, ctx: DetectContext) -> list[Finding]:
    """Learner updates take >= BOUND_INFO of wall time (info: context, not a fault)."""
    return _bound(run, Category.LEARNER_BOUND, LEARNER_PHASES, "learner",
                  "the actors wait for new weights or collect with old ones (see policy "
                  "lag)", can_warn=False)
