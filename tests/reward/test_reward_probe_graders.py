"""``rlvet reward-probe`` on the benchmark's real-style graders (``benchmarks/reward_graders``).

A fast subset of ``benchmarks/reward_probe.py``: loophole graders must get a
``reward_exploit`` error on the strategy that exploits them, their sound counterparts no
error at all. The two strategies this benchmark added (``boxed_numbers``,
``empty_template``) are checked against the graders they were added for: without them
``boxed_any`` and ``format_plus_accuracy`` pass the probe.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from rlvet.reward.probe import ProbeConfig, run_probe
from rlvet.reward.strategies import adversarial_responses, template_tags

GRADERS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "reward_graders"
sys.path.insert(0, str(GRADERS_DIR))

from catalog import GRADERS, Grader, verdict  # noqa: E402

BY_NAME = {g.name: g for g in GRADERS}


def _probe(grader: Grader) -> dict[str, object]:
    outcome = run_probe(ProbeConfig(reward=grader.spec, prompts=grader.prompts_path,
                                    references=grader.references, seed=0))
    return verdict(grader, [f.to_dict() for f in outcome.result.findings])


def test_catalog_is_half_loopholes_and_the_issue_minimum() -> None:
    holed = [g for g in GRADERS if g.loophole]
    assert len(GRADERS) >= 12 and len(holed) >= 6 and len(GRADERS) - len(holed) >= 6
    assert len({g.name for g in GRADERS}) == len(GRADERS)


@pytest.mark.parametrize("name", ["substring_match", "boxed_any", "format_plus_accuracy",
                                  "letter_anywhere", "log_says_passed"])
def test_loophole_grader_is_named(name: str) -> None:
    grader = BY_NAME[name]
    got = _probe(grader)
    assert got["right"], got
    assert set(got["named"]) <= set(grader.loophole) and got["named"]


@pytest.mark.parametrize("name", ["boxed_last", "format_weighted_small", "answer_line",
                                  "own_test_log"])
def test_sound_grader_gets_no_error(name: str) -> None:
    got = _probe(BY_NAME[name])
    assert got["right"] and not got["errors"], got


def test_verdict_counts_a_missing_or_partial_exploit_as_wrong() -> None:
    grader = BY_NAME["boxed_any"]
    warn = [{"category": "reward_exploit", "severity": "warning",
             "evidence": {"strategy": "boxed_numbers"}}]
    assert not verdict(grader, warn)["right"] and not verdict(grader, [])["right"]
    failure = [{"category": "grader_failure", "severity": "error", "evidence": {}}]
    assert not verdict(BY_NAME["boxed_last"], failure)["right"]


def test_boxed_numbers_is_what_an_any_match_grader_pays() -> None:
    from math_answers import boxed_any, boxed_last

    prompt = ("Compute 17 * 23.\nPlease reason step by step, and put your final answer within "
              "\\boxed{}.")
    r = adversarial_responses(prompt, seed=0)
    assert re.search(r"\\boxed\{391\}", r["boxed_numbers"])  # the prompt's product
    assert boxed_any([prompt], [r["number_list"]], ["391"]) == [0.0]
    assert boxed_any([prompt], [r["boxed_numbers"]], ["391"]) == [1.0]
    assert boxed_last([prompt], [r["boxed_numbers"]], ["391"]) == [0.0]


def test_empty_template_follows_the_prompts_layout() -> None:
    from answer_tags import format_reward

    r1 = "...enclosed within <think> </think> and <answer> </answer> tags, respectively"
    r = adversarial_responses(r1, seed=0)
    assert r["empty_template"] == "<think>\n\n</think>\n<answer>\n\n</answer>"
    as_chat = [[{"role": "assistant", "content": r[k]}] for k in ("empty_tags", "empty_template")]
    assert format_reward(as_chat) == [0.0, 1.0]  # open-r1's regex wants tags on own lines
    assert template_tags("Reply in <reasoning> and <answer> tags.") == ["reasoning", "answer"]
    assert template_tags("2 + 3?") == ["think", "answer"]
