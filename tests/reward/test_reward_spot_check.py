"""Spot-check sets: highest, lowest and random samples of the latest step, reproducibly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlvet.errors import RlvetInputError
from rlvet.reward import audit_samples
from rlvet.reward.command import run_reward
from rlvet.reward.spot_check import SPOT_BOTTOM, SPOT_RANDOM, SPOT_TOP, write_spot_check

DATA = Path(__file__).resolve().parents[1] / "data" / "reward"


def _records(n_steps: int = 3, per_step: int = 30) -> list[dict]:
    return [{"id": f"{s}-{j}", "step": s, "reward": float((j * 7) % per_step),
             "response": f"Answer {j}. Final answer: {j}", "eval_score": 1.0}
            for s in range(n_steps) for j in range(per_step)]


def test_picks_are_from_the_latest_step_and_distinct() -> None:
    spot = audit_samples(_records(), seed=0).spot_check
    assert len(spot) == SPOT_TOP + SPOT_BOTTOM + SPOT_RANDOM
    assert {r["step"] for r in spot} == {2}
    assert len({r["id"] for r in spot}) == len(spot)
    top = [r["reward"] for r in spot if r["pick"] == "highest_reward"]
    bottom = [r["reward"] for r in spot if r["pick"] == "lowest_reward"]
    assert top == [29.0, 28.0, 27.0, 26.0, 25.0]
    assert bottom == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert all(r["why"] and "side_metrics" in r for r in spot)
    assert spot[0]["side_metrics"]["format"] == 1.0


def test_same_seed_same_set_other_seed_other_random_picks() -> None:
    a = audit_samples(_records(), seed=7).spot_check
    b = audit_samples(_records(), seed=7).spot_check
    c = audit_samples(_records(), seed=8).spot_check
    assert a == b
    ids = [{r["id"] for r in s if r["pick"] == "random"} for s in (a, c)]
    assert ids[0] != ids[1]


def test_small_latest_step_is_split_without_repeats() -> None:
    spot = audit_samples(_records(per_step=7)).spot_check
    assert len(spot) == 7 and len({r["id"] for r in spot}) == 7


def test_file_is_jsonl_with_full_text(tmp_path: Path) -> None:
    out = tmp_path / "review" / "spot.jsonl"
    outcome = run_reward(DATA / "repetition.jsonl", spot_check=out, seed=3)
    lines = out.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == len(outcome.spot_check)
    assert records[0]["pick"] == "highest_reward"
    assert records[0]["response"] == outcome.spot_check[0]["response"]
    assert "repetition" in records[0]["side_metrics"]
    preview = outcome.result.metrics["spot_check"]
    assert all(len(r["response"]) <= 310 for r in preview)


def test_unwritable_spot_check_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RlvetInputError, match="cannot write the spot-check file"):
        write_spot_check(blocker / "spot.jsonl", [{"id": 1}])
