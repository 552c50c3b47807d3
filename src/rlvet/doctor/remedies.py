"""A doctor finding with its check name, stage and remedy filled in from the category table.

Contents:
    prescribe(category, ...) -- a ``doctor.<category>`` Finding.

What each training pathology means -- its stage and the remedy in the words practitioners
use -- is one row of ``rlvet.findings.CATEGORIES``. The remedies follow the usual debugging
advice for policy-gradient and value-based RL: Schulman's "Nuts and Bolts of Deep RL" talk,
Andrychowicz et al. 2021 ("What matters in on-policy RL"), Engstrom et al. 2020
("Implementation matters"), the SB3 and TRL docs' tuning pages. Each names the first thing
to try, then the check that confirms it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rlvet.findings import Category, Finding, Severity

__all__ = ["prescribe"]


def prescribe(
    category: Category,
    *,
    severity: Severity,
    message: str,
    evidence: Mapping[str, Any],
    step: int | None,
) -> Finding:
    """A Finding from detector ``doctor.<category>``, with its stage and remedy filled in.

    Example:
        >>> f = prescribe(Category.KL_SPIKE, severity=Severity.ERROR, message="kl 0.5",
        ...               evidence={"peak": 0.5}, step=4096)
        >>> (f.check, str(f.stage))
        ('doctor.kl_spike', 'policy_update')
    """
    return Finding.of(category, check=f"doctor.{category}", severity=severity,
                      message=message, evidence=evidence, step=step)
