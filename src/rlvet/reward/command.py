"""``rlvet reward SAMPLES.jsonl``: audit, write the spot-check file, shape the result.

Contents:
    run_reward(path, baseline=, spot_check=, seed=) -- the Python API behind the CLI.

The CLI command is thin: it calls ``run_reward`` and hands the outcome to ``emit`` with
``reward_figures`` for ``--html``.
"""

from __future__ import annotations

from pathlib import Path

from rlvet.reward.audit import RewardOutcome, audit_samples
from rlvet.reward.figures import reward_figures
from rlvet.reward.spot_check import write_spot_check

__all__ = ["reward_figures", "run_reward"]


def run_reward(path: str | Path, *, baseline: str | Path | None = None,
               spot_check: str | Path | None = None, seed: int = 0) -> RewardOutcome:
    """Audit a samples file, and write its spot-check set when asked.

    Raises:
        RlvetInputError: unreadable samples or baseline, or an unwritable spot-check file.

    Example:
        >>> outcome = run_reward("samples.jsonl", spot_check="review.jsonl")  # doctest: +SKIP
        >>> outcome.result.verdict  # doctest: +SKIP
        'fail'
    """
    outcome = audit_samples(path, baseline=baseline, seed=seed)
    if spot_check is not None:
        write_spot_check(spot_check, outcome.spot_check)
    return outcome
