"""The retraining trigger: drift thresholds on monitored quantities, written with each evaluation.

Contents:
    build_trigger(...) -- the trigger document: the evaluation's baseline (return IQM and its
        CI, per-dimension observation quantiles) and one threshold per monitored quantity.
    write_trigger(path, trigger) -- atomic JSON write.
    check_trigger(trigger, returns=, observations=, latency_p99_ms=) -- which thresholds
        live data crosses, as ``sim_to_real_gap`` findings.
    ks_to_quantiles(sample, probs, values) -- KS distance of a sample to a stored CDF.
    QUANTILE_POINTS -- resolution of the stored observation CDFs.

Why a file: "retrain when it drifts" is not a trigger until the drift, the quantity and the
reference are written down. The baseline is this evaluation (the policy as approved), the
quantiles let a monitor compute an observation KS distance without shipping the evaluation's
observations, and the thresholds come from the protocol's ``[deploy]`` section.

Trigger document::

    {"kind": "rlvet.retraining_trigger", "protocol_hash": "...", "policy": "...",
     "baseline": {"return_iqm": 412.0, "return_iqm_ci": [398.0, 430.0],
                  "obs_quantiles": {"names": [...], "probs": [101], "values": [dims x 101]}},
     "triggers": [{"quantity": "return_iqm", "condition": "below", "threshold": 329.6}, ...]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from rlvet.atomic import write_text_atomic
from rlvet.evaluate.stats import aggregate_iqm
from rlvet.findings import Category, Finding, Severity

__all__ = ["QUANTILE_POINTS", "TRIGGER_KIND", "build_trigger", "check_trigger",
           "ks_to_quantiles", "write_trigger"]

TRIGGER_KIND = "rlvet.retraining_trigger"
QUANTILE_POINTS = 101  # percentiles 0..100: the stored CDF is off by at most 1% of mass


def build_trigger(*, protocol_hash: str, split: str, policy: str, iqm: Mapping[str, float],
                  return_drop: float, observations: np.ndarray, names: Sequence[str],
                  obs_ks: float, latency_budget_ms: float) -> dict[str, Any]:
    """The trigger document (see the module docstring).

    Args:
        protocol_hash, split, policy: what was evaluated.
        iqm: the return IQM interval (``point``, ``low``, ``high``).
        return_drop: relative IQM drop that triggers retraining.
        observations: (m, obs_dim) the evaluation's visited observations.
        names: obs_dim dimension names.
        obs_ks: KS distance of any dimension that triggers retraining.
        latency_budget_ms: p99 inference budget.
    """
    probs = np.linspace(0.0, 1.0, QUANTILE_POINTS)
    values = (np.quantile(observations, probs, axis=0).T.tolist() if len(observations)
              else [])
    point = float(iqm["point"])
    return {
        "kind": TRIGGER_KIND, "protocol_hash": protocol_hash, "split": split, "policy": policy,
        "baseline": {"return_iqm": point, "return_iqm_ci": [iqm["low"], iqm["high"]],
                     "obs_quantiles": {"names": list(names), "probs": probs.tolist(),
                                       "values": values}},
        "triggers": [
            {"quantity": "return_iqm", "condition": "below",
             "threshold": point - return_drop * abs(point),
             "why": f"the return's interquartile mean fell {return_drop:.0%} below evaluation"},
            {"quantity": "obs_ks_max", "condition": "above", "threshold": obs_ks,
             "why": "some observation dimension's distribution moved (KS distance to "
                    "baseline.obs_quantiles)"},
            {"quantity": "latency_p99_ms", "condition": "above", "threshold": latency_budget_ms,
             "why": "batch-1 inference misses the control deadline"},
        ],
    }


def write_trigger(path: str | Path, trigger: Mapping[str, Any]) -> Path:
    """Write JSON via a temp file and rename (never half a trigger file)."""
    return write_text_atomic(path, json.dumps(trigger, indent=2, allow_nan=False),
                             what="trigger file")


def ks_to_quantiles(sample: np.ndarray, probs: np.ndarray, values: np.ndarray) -> float:
    """KS distance between ``sample`` (n,) and the CDF stored as ``values`` (k,) at ``probs``
    (k,), linear between quantiles."""
    xs = np.sort(np.asarray(sample, dtype=np.float64))
    grid = np.unique(np.concatenate([xs, values]))
    ref = np.interp(grid, values, probs, left=0.0, right=1.0)
    emp = np.searchsorted(xs, grid, side="right") / len(xs)
    emp_left = np.searchsorted(xs, grid, side="left") / len(xs)
    return float(max(np.abs(emp - ref).max(), np.abs(emp_left - ref).max()))


def _fired(trigger: Mapping[str, Any], quantity: str, value: float) -> Mapping[str, Any] | None:
    for t in trigger.get("triggers", ()):
        if t["quantity"] != quantity:
            continue
        above = t["condition"] == "above"
        if (value > t["threshold"]) if above else (value < t["threshold"]):
            return cast("Mapping[str, Any]", t)
    return None


def _finding(rule: Mapping[str, Any], value: float, extra: Mapping[str, Any]) -> Finding:
    return Finding.of(
        check=f"evaluate.trigger.{rule['quantity']}", category=Category.SIM_TO_REAL_GAP,
        severity=Severity.WARNING,
        message=(f"{rule['quantity']} is {value:.4g}, {rule['condition']} the retraining "
                 f"threshold {rule['threshold']:.4g}: {rule['why']}"),
        evidence={"quantity": rule["quantity"], "value": value, "threshold": rule["threshold"],
                  **extra},
        remedy="retrain (or fine-tune) on data from the deployment, then re-run rlvet eval")


def check_trigger(trigger: Mapping[str, Any], *, returns: np.ndarray | None = None,
                  observations: np.ndarray | None = None,
                  latency_p99_ms: float | None = None) -> list[Finding]:
    """Compare live data with the trigger's thresholds.

    Args:
        trigger: a document from ``build_trigger``.
        returns: (n,) recent episode returns.
        observations: (m, obs_dim) recent observations.
        latency_p99_ms: measured p99 inference time.
    """
    found = []
    if returns is not None and len(returns):
        value = float(aggregate_iqm(np.asarray(returns, dtype=np.float64)[:, None]))
        rule = _fired(trigger, "return_iqm", value)
        found += [_finding(rule, value, {"episodes": len(returns)})] if rule else []
    q = trigger["baseline"]["obs_quantiles"]
    if observations is not None and len(observations) and q["values"]:
        probs = np.asarray(q["probs"])
        ks = [ks_to_quantiles(observations[:, i], probs, np.asarray(v))
              for i, v in enumerate(q["values"])]
        worst = int(np.argmax(ks))
        rule = _fired(trigger, "obs_ks_max", ks[worst])
        found += [_finding(rule, ks[worst], {"dimension": q["names"][worst],
                                             "ks": dict(zip(q["names"], ks, strict=True))})
                  ] if rule else []
    if latency_p99_ms is not None:
        rule = _fired(trigger, "latency_p99_ms", latency_p99_ms)
        found += [_finding(rule, latency_p99_ms, {})] if rule else []
    return found
