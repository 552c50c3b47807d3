"""Side metrics of single responses: length, repetition, format, refusal, claims, tools."""

from __future__ import annotations

import pytest

from rlvet.reward import text


def test_length_is_whitespace_tokens() -> None:
    assert text.length_tokens("The answer is  42.\nDone") == 5


def test_repeat_ratio_separates_prose_from_loops() -> None:
    prose = ("Maya starts with 12 apples. She buys 7 more at the market. Adding them gives "
             "19 apples in total, which is the final count.")
    loop = "Let me double-check the result. " * 8
    assert text.repeat_ratio(prose) == 0.0
    assert text.repeat_ratio(loop) > 0.7
    assert text.repeat_ratio("too short") == 0.0


@pytest.mark.parametrize(
    ("response", "markers"),
    [
        ("reasoning <answer>42</answer>", ("answer_tag",)),
        (r"so the result is \boxed{42}.", ("boxed",)),
        ("Final answer: 42", ("final_answer",)),
        ("The steps give 42.\n#### 42", ("hash_answer",)),
        ("<think>add</think> then 42", ("think_tag",)),
        ("So the answer is 42.", ()),
        ("<answer> never closed", ()),
    ],
)
def test_format_markers(response: str, markers: tuple[str, ...]) -> None:
    assert text.format_markers(response) == markers


@pytest.mark.parametrize(
    ("response", "refusal"),
    [
        ("I'm sorry, but I can't help with that request.", True),
        ("As an AI, I cannot provide that.", True),
        ("I cannot stress enough how simple this is: 4.", False),
        ("The answer is 4.", False),
    ],
)
def test_refusal(response: str, refusal: bool) -> None:
    assert text.is_refusal(response) is refusal


@pytest.mark.parametrize(
    ("response", "claim"),
    [
        ("Task completed successfully!", True),
        ("I have completed the task.", True),
        ("Wrote the file and verified it. Done.", True),
        ("The job is complete and everything succeeded.", True),
        ("I could not complete the task: permission denied.", False),
        ("The task is not finished; the input was missing.", False),
        ("It was not successfully saved.", False),
        ("Finished searching the directory.", False),
    ],
)
def test_success_claims(response: str, claim: bool) -> None:
    assert text.claims_success(response) is claim


def test_tool_call_stats_counts_identical_repeats() -> None:
    calls = [{"name": "search", "args": {"q": "x"}}, {"args": {"q": "x"}, "name": "search"},
             "ls /data", "ls /data", None, None]
    count, dup = text.tool_call_stats(calls)
    assert count == 6
    assert dup == pytest.approx(2 / 6)  # key order does not matter; anonymous never repeat
    assert text.tool_call_stats([]) == (0, 0.0)
