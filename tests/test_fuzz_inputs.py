"""Fuzz every reader and every command's options against the input contract (issue #13).

Whatever the input, ``rlvet`` exits 0, 1 or 2; exit 2 comes with exactly one ``rlvet:`` line
on stderr; there is never a traceback; no input file changes (``fuzz_harness``). The batches
are derandomised hypothesis runs with fixed sizes, so CI sees the same cases every time;
``benchmarks/fuzz_inputs.py`` runs a bigger seeded batch of the same generators and prints
the counts (docs/benchmarks.md). The named cases of the issue are in
``test_reliability_regressions.py``.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_harness import (
    BAD_OPTIONS,
    TARGETS,
    contract_violation,
    metrics_jsonl,
    run_case,
    run_cli,
    sha256s,
)

EXAMPLES_PER_TARGET = 40
"""Cases per reader in CI: a few seconds a target on 2 shared cores (the benchmark runs 200)."""

FUZZ = settings(max_examples=EXAMPLES_PER_TARGET, derandomize=True, deadline=None,
                database=None, suppress_health_check=[HealthCheck.too_slow])

_KEYS = st.sampled_from(["step", "reward", "id", "response", "prompt", "group", "kl",
                         "eval_score", "components", "tool_calls", "x/y", ""])
_SCALARS = (st.none() | st.booleans() | st.integers() | st.text(max_size=12)
            | st.floats(allow_nan=True, allow_infinity=True)
            | st.sampled_from([1e308, -1e308, -1e30, 2**63, -(2**63) - 1, 1e-320]))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(_KEYS, inner, max_size=4), max_leaves=12)
_RECORDS = st.lists(st.dictionaries(_KEYS, _JSON, max_size=6), min_size=1, max_size=6)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_mutated_inputs_keep_the_contract(target: str) -> None:
    """Byte-level damage to a valid file of each reader (and out-of-range options)."""

    @FUZZ
    @given(seed=st.integers(0, 2**32 - 1))
    def one(seed: int) -> None:
        what, problem, _ = run_case(target, random.Random(seed))
        assert problem is None, f"{what} (seed {seed}): {problem}"

    one()


def _check(argv: list[str], inputs: list[Path]) -> None:
    before = sha256s(inputs)
    outcome = run_cli(argv)
    assert contract_violation(outcome, before) is None, outcome


@FUZZ
@given(records=_RECORDS)
def test_samples_files_of_any_json_keep_the_contract(records: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "samples.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        _check(["reward", str(path), "--json"], [path])


@FUZZ
@given(records=_RECORDS)
def test_metrics_logs_of_any_json_keep_the_contract(records: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        tail = "".join(json.dumps(r) + "\n" for r in records)
        (run / "metrics.jsonl").write_text(metrics_jsonl(8).decode() + tail, encoding="utf-8")
        _check(["doctor", str(run), "--json"], [run])


@FUZZ
@given(doc=st.dictionaries(_KEYS, _JSON, max_size=6))
def test_any_json_file_under_report_keeps_the_contract(doc: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        (run / "metrics.jsonl").write_bytes(metrics_jsonl(8))
        (run / "eval_result.json").write_text(json.dumps({"rlvet": "0.1.0", "command": "eval",
                                                          **doc}))
        _check(["report", str(run), "--json"], [run])


_OPTION_CASES = [(command, option, value) for command, (_, options) in BAD_OPTIONS.items()
                 for option, values in options for value in values]


@pytest.mark.parametrize("command,option,value", _OPTION_CASES,
                         ids=[f"{c} {o} {v}".strip() for c, o, v in _OPTION_CASES])
def test_every_bad_option_value_is_refused(command: str, option: str, value: str) -> None:
    prefix, _ = BAD_OPTIONS[command]
    outcome = run_cli([*prefix, value] if not option else [*prefix, option, value])
    assert contract_violation(outcome, {}, expect_code=2) is None, outcome
    assert outcome.seconds < 10, "a refusal must come before the work"
