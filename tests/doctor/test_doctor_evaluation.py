"""eval_protocol_change: the evaluation protocol identifier changes mid-run."""

from __future__ import annotations

from rlvet.doctor import evaluation
from rlvet.doctor.registry import DetectContext
from rlvet.findings import Category, Severity, Stage

CTX = DetectContext(reward="reward", eval="eval_return")


def test_a_changed_protocol_hash_is_an_error_at_the_change(ppo):
    text = {"protocol_hash": ((5000, "a1"), (10000, "a1"), (15000, "b2"), (20000, "b2"))}
    [f] = evaluation.detect_eval_protocol_change(ppo(text=text), CTX)
    assert f.category == Category.EVAL_PROTOCOL_CHANGE and f.stage == Stage.EVALUATION
    assert f.severity == Severity.ERROR and f.step == 15000
    assert (f.evidence["before"], f.evidence["after"]) == ("a1", "b2")


def test_a_constant_protocol_is_fine(ppo):
    text = {"eval_protocol": ((5000, "t=0.7"), (10000, "t=0.7"))}
    assert evaluation.detect_eval_protocol_change(ppo(text=text), CTX) == []


def test_no_protocol_logged_no_finding(ppo):
    assert evaluation.detect_eval_protocol_change(ppo(), CTX) == []
