"""Space coverage: which checks could not read the observation, said out loud.

Text, Graph and Sequence observations (alone or inside a Dict or Tuple) have no fixed
numeric vector. ``probes.flat_obs`` hashes text (so equality-based checks -- determinism,
leakage, stale observations, done consistency -- still compare it) and drops leaves it
cannot read; the checks that need numbers (observation scale, bounds, exact repeats of a
continuous observation) skip such envs. Rather than a bare PASS, or a harness failure
blamed on the env (issue #15: a Dict with a free-text entry), the skipped checks are an
explicit ``insufficient_evidence`` note.
"""

from __future__ import annotations

from rlvet.envcheck.checks.common import env_finding
from rlvet.envcheck.records import ProbeEvidence
from rlvet.findings import Category, Finding, Severity, Stage

__all__ = ["check_space_coverage"]

_TEXT_LIKE = {"Text"}


def check_space_coverage(ev: ProbeEvidence) -> list[Finding]:
    """An info note naming the observation leaves only compared for equality, or skipped."""
    kinds = ev.api.obs_leaf_kinds
    if not kinds and ev.api.obs_kind in ("box", "discrete", "multi"):
        return []
    if not kinds:
        kinds = [ev.api.obs_space_repr.split("(")[0] or "unknown"]
    hashed = sorted(k for k in kinds if k in _TEXT_LIKE)
    other = sorted(k for k in kinds if k not in _TEXT_LIKE)
    parts = []
    if hashed:
        parts.append(f"{', '.join(hashed)} entries were compared as text hashes only")
    if other:
        parts.append(f"{', '.join(other)} entries were compared by their numeric parts only")
    return [
        env_finding(
            "space_coverage",
            Category.INSUFFICIENT_EVIDENCE,
            Severity.INFO,
            f"observation space {ev.api.obs_space_repr[:100]}: {'; '.join(parts)}; "
            "observation scale, bounds and continuous-repeat checks were skipped for them",
            evidence={"leaf_kinds": kinds, "skipped_checks": ["obs_scale", "bounds",
                                                              "exact_repeats"]},
            remedy="",
            stage=Stage.ENVIRONMENT,
        )
    ]
