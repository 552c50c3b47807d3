"""API contract: a superset of Gymnasium's passive checker, applied to *every* step.

Gymnasium's ``PassiveEnvChecker`` inspects only the first reset and step; an env that
returns a float64 observation on step 37, or a numpy array as reward after a reset, passes
it. rlvet counts violations over every step of the random probe.
"""

from __future__ import annotations

import numpy as np

from rlvet.envcheck.checks.common import box_bounds_violations, env_finding
from rlvet.envcheck.checks.done_semantics import runaway_episodes
from rlvet.envcheck.records import ProbeEvidence
from rlvet.findings import Category, Finding, Severity, Stage
from rlvet.sandbox import FailureKind

__all__ = ["check_api_contract"]

_REMEDY_BY_PROBLEM = {
    "step_return": "return (obs, reward, terminated, truncated, info) from step()",
    "reset_return": "return (obs, info) from reset(); info must be a dict",
    "reward_type": "return a Python float (or numpy scalar) reward, not an array or object",
    "terminated_type": "return bool terminated/truncated flags (bool(...))",
    "truncated_type": "return bool terminated/truncated flags (bool(...))",
    "info_type": "return a dict as info",
    "obs_dtype": "cast observations to observation_space.dtype (e.g. np.float32)",
    "obs_not_in_space": "fix the observation or widen observation_space to what the env emits",
    "reward_vector": "multi-objective by design? scalarise it for single-objective learners "
    "(mo_gymnasium.wrappers.LinearReward)",
}
_COPYING_PROBES = frozenset({"counterfactual actions", "reward farming"})
_SOFT_PROBLEMS = frozenset({"reset_seed_default", "close_twice"})  # style, not correctness
# A reward vector of several objectives is multi-objective by design (mo-gymnasium): off
# Gymnasium's scalar contract, but no defect; the other checks judge its equal-weight sum.
_DESIGN_VIOLATIONS = frozenset({"reward_vector"})


def _probe_findings(ev: ProbeEvidence) -> list[Finding]:
    # only probes the env made raise: deaths, hangs and skips belong to harness_failure and
    # silent_timeout
    out = [
        env_finding("api_contract", Category.API_CONTRACT, Severity.ERROR,
                    f"the {f.probe} probe could not run against the env: {f.failure.detail}",
                    evidence={"probe": f.probe, **f.failure.to_evidence()},
                    remedy="make the env usable through the plain gymnasium.Env API")
        for f in ev.failures
        if f.failure.kind is FailureKind.RAISED and f.probe not in _COPYING_PROBES
    ]
    # Probes that copy the env (copy.deepcopy) test rlvet's reach, not the env's contract:
    # PyBullet envs lose their physics server when a copy is dropped.
    out += [
        env_finding("api_contract", Category.INSUFFICIENT_EVIDENCE, Severity.INFO,
                    f"the {f.probe} probe needs copies of the env and could not run: "
                    f"{f.failure.detail[:160]}; its checks were not judged",
                    evidence={"probe": f.probe, **f.failure.to_evidence()}, remedy="",
                    stage=Stage.ENVIRONMENT)
        for f in ev.failures
        if f.failure.kind is FailureKind.RAISED and f.probe in _COPYING_PROBES
    ]
    for kind, message in ev.api.problems.items():
        severity = Severity.WARNING if kind in _SOFT_PROBLEMS else Severity.ERROR
        out.append(
            env_finding(
                "api_contract",
                Category.API_CONTRACT,
                severity,
                message,
                evidence={"problem": kind},
                remedy="follow the gymnasium.Env API (reset(seed, options) -> "
                "(obs, info); step -> 5-tuple)",
            )
        )
    return out


def _out_of_space_severity(ev: ProbeEvidence) -> Severity:
    """Out-of-bounds observations only after the episode should have ended are a done bug."""
    api = ev.api
    if api.obs_low is None or api.obs_high is None or not runaway_episodes(ev):
        return Severity.ERROR
    reset_rows = np.stack([e.reset_obs for e in ev.random_a if e.reset_obs.size])
    if box_bounds_violations(reset_rows, api.obs_low, api.obs_high).any():
        return Severity.ERROR
    return Severity.WARNING


def _share(count: int, total: int, what: str) -> str:
    return f"{count} of {total} audited {what} ({count / max(total, 1):.1%})"


def _where_violated(ev: ProbeEvidence, kind: str) -> str:
    """"on 3 of 900 audited steps (0.3%) and 4 of 24 audited resets (16.7%)": steps and
    resets are counted apart, so each share counts like with like."""
    audit = ev.audit
    at_steps = audit.violations.get(kind, 0)
    at_resets = audit.reset_violations.get(kind, 0)
    parts = ([_share(at_steps, audit.steps, "steps")] if at_steps else []) + (
        [_share(at_resets, audit.resets, "resets")] if at_resets else [])
    return " and ".join(parts)


def check_api_contract(ev: ProbeEvidence) -> list[Finding]:
    """Contract violations found by direct API calls and by auditing every random step."""
    findings = _probe_findings(ev)
    for kind in ev.audit.kinds():
        severity = (_out_of_space_severity(ev) if kind == "obs_not_in_space"
                    else Severity.WARNING if kind in _DESIGN_VIOLATIONS else Severity.ERROR)
        findings.append(
            env_finding(
                "api_contract",
                Category.API_CONTRACT,
                severity,
                f"{kind.replace('_', ' ')} on {_where_violated(ev, kind)}; "
                f"first: {ev.audit.examples[kind]}",
                evidence={
                    "violation": kind,
                    "count": ev.audit.violations.get(kind, 0),
                    "steps": ev.audit.steps,
                    "reset_count": ev.audit.reset_violations.get(kind, 0),
                    "resets": ev.audit.resets,
                    "example": ev.audit.examples[kind],
                },
                remedy=_REMEDY_BY_PROBLEM.get(kind),
            )
        )
    if ev.api.gymnasium_warnings:
        findings.append(
            env_finding(
                "api_contract",
                Category.API_CONTRACT,
                Severity.INFO,
                f"Gymnasium's passive checker warned {len(ev.api.gymnasium_warnings)} time(s): "
                f"{ev.api.gymnasium_warnings[0][:160]}",
                evidence={"warnings": ev.api.gymnasium_warnings[:10]},
                remedy="",
            )
        )
    return findings
