"""``rlvet reward-probe``: real graders, written here, attacked before any training.

Each grader is a deliberately broken (or sound) reward function in a file the probe
imports in its sandbox child: a regex ``<answer>`` grader that pays an empty tag, a
multiple-choice grader paid by listing every option, a length-paid reward model stand-in,
a partial-credit format grader, a sound exact-match grader, and graders that hang, exit
and raise. Assertions are on categories, severities and evidence, not on wording.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rlvet.cli import main
from rlvet.errors import RlvetInputError
from rlvet.reward.probe import ProbeConfig, read_prompts, run_probe
from rlvet.reward.strategies import STRATEGIES, adversarial_responses, options_in

GRADERS = '''
import os
import re
import time


def regex_answer(prompt, response):
    """Pays any <answer>...</answer> block, whatever is inside (the classic format hack)."""
    return 1.0 if re.search(r"<answer>.*?</answer>", response, re.S) else 0.0


def mc_contains(prompts, completions, answer, **kwargs):
    """TRL signature: pays when the right letter appears anywhere in the completion."""
    return [float(re.search(rf"\\b{a}\\b", c) is not None) for c, a in zip(completions, answer)]


def length_paid(prompt, response):
    """A reward model stand-in that mostly measures length."""
    return min(1.0, len(response.split()) / 300)


def exact(prompts, completions, answer, **kwargs):
    """Sound: the stripped completion must equal the reference."""
    return [float(c.strip() == str(a)) for c, a in zip(completions, answer)]


def format_partial(prompts, completions, answer, **kwargs):
    """Full marks for the tagged right answer, 0.2 for the tags alone (partial credit)."""
    tags = re.compile(r"<answer>.*?</answer>", re.S)
    return [1.0 if c.strip() == a else 0.2 if tags.search(c) else 0.0
            for c, a in zip(completions, answer)]


def hangs(prompt, response):
    time.sleep(60)
    return 0.0


def exits(prompt, response):
    os._exit(3)


def raises_on_empty(prompt, response):
    if not response.strip():
        raise ValueError("empty completion")
    return 0.0


def returns_text(prompt, response):
    return "high"
'''

PROMPTS = [
    {"id": "add", "prompt": "What is 2 + 3? Put the answer in <answer></answer> tags.",
     "answer": "5"},
    {"id": "prime", "prompt": "Which number is prime?\nA) 4\nB) 6\nC) 7\nD) 9", "answer": "C"},
    {"id": "mul", "prompt": "Compute 6 * 7 and answer with the number only.", "answer": "42"},
]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    graders = tmp_path / "graders.py"
    graders.write_text(GRADERS)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(p) + "\n" for p in PROMPTS))
    tagged = tmp_path / "tagged.jsonl"  # references in the format the regex grader parses
    tagged.write_text("".join(json.dumps({**p, "answer": f"<answer>{p['answer']}</answer>"})
                              + "\n" for p in PROMPTS))
    return {"graders": graders, "prompts": prompts, "tagged": tagged}


def _probe(files: dict[str, Path], grader: str, *, prompts: str = "prompts",
           references: str | None = "answer", **kw: object):
    config = ProbeConfig(reward=f"{files['graders']}:{grader}", prompts=files[prompts],
                         references=references, **kw)  # type: ignore[arg-type]
    return run_probe(config)


def _by_strategy(outcome, category: str = "reward_exploit") -> dict[str, str]:
    return {f.evidence["strategy"]: str(f.severity) for f in outcome.result.findings
            if f.category == category}


def test_strategies_are_deterministic_and_cover_the_issue() -> None:
    names = {s.name for s in STRATEGIES}
    assert {"empty", "whitespace", "empty_tags", "empty_boxed", "json_skeleton", "prompt_echo",
            "all_options", "number_list", "long_padding", "repetition", "claimed_success",
            "refusal", "tool_burst", "claimed_completion"} <= names
    prompt = PROMPTS[1]["prompt"]
    assert adversarial_responses(prompt, seed=1) == adversarial_responses(prompt, seed=1)
    assert (adversarial_responses(prompt, seed=1)["long_padding"]
            != adversarial_responses(prompt, seed=2)["long_padding"])
    assert [letter for letter, _ in options_in(prompt)] == ["A", "B", "C", "D"]
    assert "all_options" not in adversarial_responses(PROMPTS[0]["prompt"])
    assert " 42 " in adversarial_responses(PROMPTS[2]["prompt"])["number_list"] + " "


def test_regex_grader_paying_empty_tags_is_an_error(files: dict[str, Path]) -> None:
    outcome = _probe(files, "regex_answer", prompts="tagged")
    found = _by_strategy(outcome)
    assert found["empty_tags"] == "error"
    assert outcome.result.verdict == "fail" and outcome.result.exit_code == 1
    exploit = next(f for f in outcome.result.findings
                   if f.evidence.get("strategy") == "empty_tags")
    example = exploit.evidence["examples"][0]
    assert example["score"] == 1.0 and "<answer></answer>" in example["response"]
    assert example["prompt_id"] in {"add", "prime", "mul"} and "prompt" in example
    assert exploit.evidence["reference_source"] == "references:answer"
    assert str(exploit.stage) == "reward"


def test_references_the_grader_does_not_pay_fall_back_to_the_strategies(
        files: dict[str, Path]) -> None:
    outcome = _probe(files, "regex_answer")  # bare "5": the regex grader pays it 0
    assert _by_strategy(outcome)["empty_tags"] == "error"
    assert "reward_direction" in {str(f.category) for f in outcome.result.findings}


def test_multiple_choice_grader_paid_by_listing_every_option(files: dict[str, Path]) -> None:
    outcome = _probe(files, "mc_contains")
    assert outcome.result.metrics["signature"] == "trl"
    found = _by_strategy(outcome)
    assert found["all_options"] in {"error", "warning"}
    row = next(r for r in outcome.result.metrics["strategies"] if r["strategy"] == "all_options")
    assert row["prompts"] == 1 and row["mean"] == 1.0  # the only multiple-choice prompt
    assert found["number_list"] == "error"  # "5" and "42" are in the list


def test_length_paid_grader(files: dict[str, Path]) -> None:
    found = _by_strategy(_probe(files, "length_paid"))
    assert found["long_padding"] == "error" and found["repetition"] == "error"
    assert "empty" not in found


def test_partial_credit_is_a_warning(files: dict[str, Path]) -> None:
    outcome = _probe(files, "format_partial", prompts="tagged")
    found = _by_strategy(outcome)
    assert found["empty_tags"] == "warning"
    assert "error" not in found.values() and outcome.result.verdict == "warn"


def test_sound_exact_match_grader_gives_no_error(files: dict[str, Path]) -> None:
    outcome = _probe(files, "exact")
    assert outcome.result.verdict == "pass", [f.message for f in outcome.result.findings]
    assert outcome.result.metrics["reference"]["level"] == 1.0
    assert all(r["mean"] == 0.0 for r in outcome.result.metrics["strategies"])


@pytest.mark.parametrize(("grader", "failure"), [("hangs", "hung"), ("exits", "died"),
                                                 ("raises_on_empty", "raised"),
                                                 ("returns_text", "bad_value")])
def test_a_broken_grader_is_a_finding_not_a_frozen_cli(files: dict[str, Path], grader: str,
                                                       failure: str) -> None:
    outcome = _probe(files, grader, timeout_s=0.3, max_prompts=2)
    failures = [f for f in outcome.result.findings if f.category == "grader_failure"]
    assert failures and failures[0].evidence["failure"] == failure
    assert str(failures[0].severity) == "error" and outcome.result.exit_code == 1
    if failure == "raised":  # the child survives a raise: the other strategies were scored
        assert outcome.result.metrics["grader"]["scored"] > 0
        assert failures[0].evidence["examples"][0]["strategy"] in {"empty", "whitespace"}


def test_same_seed_same_result(files: dict[str, Path]) -> None:
    a = _probe(files, "length_paid", seed=3).result.to_dict()
    b = _probe(files, "length_paid", seed=3).result.to_dict()
    assert a == b


def test_bad_input_is_one_line_naming_file_line_and_field(files: dict[str, Path]) -> None:
    bad = files["prompts"].parent / "bad.jsonl"
    bad.write_text('{"prompt": "ok", "answer": "1"}\n{"question": "no prompt"}\n')
    with pytest.raises(RlvetInputError, match=r"bad\.jsonl:2: field 'prompt'"):
        read_prompts(bad)
    bad.write_text('{"prompt": "ok"}\n')
    with pytest.raises(RlvetInputError, match=r"bad\.jsonl:1: field 'answer' \(--references\)"):
        read_prompts(bad, references="answer")
    bad.write_text('{"prompt": "ok"\n')
    with pytest.raises(RlvetInputError, match=r"bad\.jsonl:1: expected one JSON object"):
        read_prompts(bad)
    with pytest.raises(RlvetInputError, match="no attribute"):
        _probe(files, "no_such_grader")


def test_cli_in_process(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in files.values()}
    spec = f"{files['graders']}:regex_answer"
    html = files["prompts"].parent / "probe.html"
    code = main(["reward-probe", spec, "--prompts", str(files["tagged"]), "--references",
                 "answer", "--json", "--html", str(html)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["command"] == "reward-probe" and doc["verdict"] == "fail"
    assert doc["first_break"]["category"] == "reward_exploit" and html.is_file()
    assert {p: p.read_bytes() for p in files.values()} == before  # inputs never modified
    assert main(["reward-probe", spec, "--prompts", str(files["prompts"]), "--html",
                 str(files["prompts"])]) == 2
    assert "--html" in capsys.readouterr().err
    assert main(["reward-probe", spec, "--prompts", str(files["prompts"]),
                 "--references", "missing"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "prompts.jsonl:1: field 'missing'" in " ".join(
        err.split())
    assert main(["reward-probe", spec, "--prompts", str(files["prompts"]),
                 "--max-prompts", "0"]) == 2


def test_the_probe_answers_the_reward_gate(files: dict[str, Path]) -> None:
    from rlvet.report.stagegate import run_report

    run = files["prompts"].parent / "run"
    run.mkdir()
    result = _probe(files, "regex_answer", prompts="tagged").result
    (run / "reward_probe.json").write_text(result.to_json())
    gates = {g["gate"]: g for g in run_report([run]).result.metrics["gates"]}
    assert gates["reward_reviewed"]["answer"] == "fail"
    assert "reward_exploit" in " ".join(gates["reward_reviewed"]["blocking"])


def test_cli_in_a_subprocess(files: dict[str, Path]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rlvet.cli", "reward-probe", f"{files['graders']}:exact",
         "--prompts", str(files["prompts"]), "--references", "answer", "--json"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "pass" and doc["metrics"]["prompts"] == 3
