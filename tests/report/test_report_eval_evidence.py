"""Reading an evaluation by key."""

from __future__ import annotations

from pathlib import Path

from rlvet.report.documents import ResultDoc
from rlvet.report.eval_evidence import intervals, latencies, protocol_hashes, seed_count


def _doc(metrics: dict) -> ResultDoc:
    return ResultDoc(path=Path("eval.json"), command="eval", target="CartPole-v1",
                     verdict="pass", version="0", findings=(), metrics=metrics)


def test_keys_are_found_at_any_depth() -> None:
    doc = _doc({"protocol_hash": "h1", "splits": {"dev": {"seeds": [1, 2, 3],
                                                          "iqm": {"point": 5, "low": 4,
                                                                  "high": 6}}},
                "runs": [{"latency": {"p50_ms": 1.0, "p99_ms": 2.0}}], "n_seeds": 2})
    assert protocol_hashes(doc) == ("h1",)
    assert seed_count(doc) == 3
    assert [(i.name, i.low) for i in intervals(doc)] == [("splits.dev.iqm", 4.0)]
    assert latencies(doc)[0]["p99_ms"] == 2.0
