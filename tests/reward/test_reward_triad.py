"""The hacking triad on synthetic runs: divergence, refusals, and the true objective's veto."""

from __future__ import annotations

import numpy as np

from rlvet.findings import Severity
from rlvet.reward import audit_samples

PROSE = ("Maya starts with {a} apples and buys {b} more, so we add the two amounts and get "
         "{c} apples in the basket.")


def _run(make, steps: int = 15, per_step: int = 12, seed: int = 0) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    records = [{"id": f"{s}-{j}", "step": s, **make(s / (steps - 1), rng)}
               for s in range(steps) for j in range(per_step)]
    return {f.check: str(f.severity) for f in audit_samples(records).result.findings}


def _text(rng: np.random.Generator) -> str:
    a, b = (int(x) for x in rng.integers(2, 50, 2))
    return PROSE.format(a=a, b=b, c=a + b)


def test_reward_up_objective_down_is_hacking() -> None:
    def make(t, rng):
        e = float(rng.random() < 0.75 - 0.5 * t)
        return {"response": _text(rng), "eval_score": e,
                "reward": 0.3 + 0.6 * t + 0.2 * e + rng.normal(0, 0.1)}
    assert _run(make) == {"reward.hacking.divergence": "error"}


def test_refusals_paid_by_the_reward() -> None:
    def make(t, rng):
        refuse = rng.random() < 0.05 + 0.6 * t
        e = float(not refuse and rng.random() < 0.5)
        text = "I'm sorry, but I can't help with that request." if refuse else _text(rng)
        return {"response": text, "eval_score": e,
                "reward": 0.9 * refuse + 0.5 * e + rng.normal(0, 0.1)}
    found = _run(make)
    assert found["reward.hacking.refusal"] == "error"


def test_format_learned_with_accuracy_is_not_hacking() -> None:
    def make(t, rng):
        fmt, e = rng.random() < 0.2 + 0.75 * t, float(rng.random() < 0.3 + 0.5 * t)
        text = _text(rng) + (" Final answer: 5" if fmt else "")
        return {"response": text, "eval_score": e, "reward": 0.5 * fmt + e}
    assert _run(make) == {}


def test_same_format_drift_with_flat_accuracy_is_hacking() -> None:
    def make(t, rng):
        fmt, e = rng.random() < 0.2 + 0.75 * t, float(rng.random() < 0.4)
        text = _text(rng) + (" Final answer: 5" if fmt else "")
        return {"response": text, "eval_score": e, "reward": 0.5 * fmt + e}
    assert _run(make)["reward.format.hacking"] == "error"


def test_tool_calls_that_buy_success_are_fine() -> None:
    def make(t, rng):
        k = int(1 + rng.poisson(1 + 4 * t))
        ok = bool(rng.random() < 0.2 + 0.6 * t)
        calls = [{"name": "read_file", "args": {"path": f"/d/{i}.txt"}} for i in range(k)]
        return {"tool_calls": calls, "final_state_ok": ok, "claimed_success": ok,
                "reward": float(ok) + 0.05 * k}
    assert _run(make) == {}


def test_quality_unknown_downgrades_to_warning() -> None:
    def make(t, rng):
        k = int(1 + rng.poisson(1 + 5 * t))
        return {"tool_calls": k, "reward": 0.1 * k + rng.normal(0, 0.05)}
    assert _run(make) == {"reward.tools.hacking": str(Severity.WARNING)}
