"""Warn mode for the training callbacks: each new finding printed once, as it appears.

Contents:
    FindingAnnouncer -- remembers which findings were shown; ``announce(decision, step)``
        prints the errors and warnings of a verdict not shown before (``verbose >= 1``).

``RlvetCallback(stop_on_error=False, verbose=1)`` used to print nothing for a whole run:
the callbacks only spoke when they stopped training. A run that is only watched deserves
the same news as one that is guarded, once per finding (a finding is the same while its
check and category are; a later onset step or value does not repeat it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

from rlvet.findings import Finding, Severity
from rlvet.monitor import MonitorDecision

__all__ = ["FindingAnnouncer"]


@dataclass(slots=True)
class FindingAnnouncer:
    """Print each new error or warning finding of a live verdict once.

    Attributes:
        verbose: 0 prints nothing; 1 or more prints each new finding (one line each).
        stream: where the lines go (default ``sys.stdout``, as SB3's own verbose output).
        shown: the ``(check, category)`` keys already printed.
    """

    verbose: int = 0
    stream: TextIO | None = None
    shown: set[tuple[str, str]] = field(default_factory=set)

    def new(self, decision: MonitorDecision | None) -> list[Finding]:
        """The verdict's error and warning findings not shown before (and marks them shown)."""
        if decision is None:
            return []
        fresh = [f for f in decision.diagnosis.findings
                 if Severity(f.severity) != Severity.INFO
                 and (f.check, str(f.category)) not in self.shown]
        self.shown.update((f.check, str(f.category)) for f in fresh)
        return fresh

    def announce(self, decision: MonitorDecision | None, step: int) -> list[Finding]:
        """Print the new findings of ``decision`` (when ``verbose``); returns them."""
        fresh = self.new(decision)
        if self.verbose:
            out = self.stream or sys.stdout
            for f in fresh:
                at = f" (onset step {f.step})" if f.step is not None else ""
                print(f"rlvet: step {step}: {f.severity} {f.category} [{f.stage}]{at}: "
                      f"{f.message}", file=out, flush=True)
        return fresh
