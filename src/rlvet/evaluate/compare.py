"""Compare this evaluation with an earlier result file: same protocol, or no comparison.

Contents:
    load_result(path) -- an ``rlvet eval`` result JSON (what ``--out`` writes).
    compare_results(current, other, ...) -- ``eval_protocol_change`` when the protocol hash
        or the split differs; otherwise P(improvement) of current over other, with its CI.
    changed_fields(a, b) -- dotted keys whose values differ between two canonical protocols.

Why refuse: "policy B scores 480 against A's 430" means nothing if B ran with sampled
actions and A greedy, or on other seeds. The hash makes that check mechanical; the changed
fields make the finding actionable. Same protocol: the probability of improvement (Agarwal
et al. 2021) says how often a B run beats an A run, which a difference of means does not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rlvet.errors import RlvetInputError
from rlvet.evaluate.stats import poi_interval
from rlvet.findings import Category, Finding, Severity

__all__ = ["MAX_CHANGED_NAMED", "changed_fields", "compare_results", "load_result"]

MAX_CHANGED_NAMED = 5  # changed fields named in the message (all are in the evidence)
_REQUIRED = ("protocol_hash", "split", "scores")


def load_result(path: str | Path) -> dict[str, Any]:
    """The ``metrics`` of an ``rlvet eval`` result file.

    Raises:
        RlvetInputError: missing, not JSON, or not an eval result.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RlvetInputError(f"{path}: result file not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise RlvetInputError(f"{path}: not a readable JSON result ({exc})") from None
    except UnicodeDecodeError as exc:
        raise RlvetInputError(f"{path}: not a JSON result (not UTF-8 text at byte "
                              f"{exc.start})") from None
    except RecursionError:
        raise RlvetInputError(f"{path}: not a readable JSON result (nested too deeply)") from None
    metrics = doc.get("metrics") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or doc.get("command") != "eval" or not isinstance(metrics, dict):
        raise RlvetInputError(f"{path}: not an rlvet eval result (expected command \"eval\")")
    missing = [k for k in _REQUIRED if k not in metrics]
    if missing:
        raise RlvetInputError(f"{path}: metrics.{missing[0]}: missing from the eval result")
    return metrics


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def changed_fields(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Dotted keys present in either with different values, sorted."""
    fa, fb = _flatten(a), _flatten(b)
    return sorted(k for k in fa.keys() | fb.keys() if fa.get(k, None) != fb.get(k, None))


def _protocol_change(current: Mapping[str, Any], other: Mapping[str, Any], source: str
                     ) -> Finding:
    fields = changed_fields(current.get("protocol", {}), other.get("protocol", {}))
    if current["split"] != other["split"]:
        fields = [f"split ({other['split']} -> {current['split']})", *fields]
    named = ", ".join(fields[:MAX_CHANGED_NAMED]) or "unknown (no protocol recorded)"
    return Finding.of(
        check="evaluate.compare.protocol", category=Category.EVAL_PROTOCOL_CHANGE,
        severity=Severity.ERROR,
        message=(f"{source} was measured under another protocol (hash "
                 f"{str(other['protocol_hash'])[:12]} vs {str(current['protocol_hash'])[:12]}; "
                 f"changed: {named}): the two results are not comparable"),
        evidence={"current_hash": current["protocol_hash"], "other_hash": other["protocol_hash"],
                  "current_split": current["split"], "other_split": other["split"],
                  "changed_fields": fields},
        remedy=("re-evaluate both policies under one protocol file (rlvet eval PROTOCOL "
                "--policy A, then --policy B) and compare those results"))


def _scores(metrics: Mapping[str, Any]) -> np.ndarray:
    return np.asarray(metrics["scores"], dtype=np.float64)


def compare_results(current: Mapping[str, Any], other: Mapping[str, Any], *, source: str,
                    reps: int, confidence: float, seed: int
                    ) -> tuple[list[Finding], dict[str, Any]]:
    """Check comparability, then measure P(current run > other run) (a metric, not a
    finding: which policy is better is the user's question, not a break).

    Args:
        current, other: the ``metrics`` of two results (``protocol_hash``, ``split``,
            ``scores`` (runs, tasks), ``protocol``).
        source: the other result's file, for messages.
        reps, confidence, seed: the bootstrap's settings.

    Returns:
        findings (``eval_protocol_change`` or none), and metrics
        (``probability_of_improvement`` with CI when comparable).
    """
    base = {"other": source, "other_protocol_hash": other["protocol_hash"],
            "other_policy": other.get("policy")}
    if current["protocol_hash"] != other["protocol_hash"] or current["split"] != other["split"]:
        return [_protocol_change(current, other, source)], {**base, "comparable": False}
    x, y = _scores(current), _scores(other)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise RlvetInputError(f"{source}: metrics.scores has shape {y.shape}, this result's "
                              f"{x.shape}: not the same tasks")
    poi = poi_interval(x, y, reps=reps, confidence=confidence, rng=seed)
    return [], {**base, "comparable": True, "probability_of_improvement": poi.to_dict()}
