"""The graders of the reward-probe benchmark: one row each, what the probe should say.

Contents:
    Grader -- a reward spec, its prompts file, its reference field, and the loophole (the
        probe strategies that should be an error), or none for a sound grader.
    GRADERS -- the table (14 rows: 7 with a loophole, 7 sound), read by
        ``benchmarks/reward_probe.py`` and ``tests/reward/test_reward_probe_graders.py``.
    verdict(grader, findings) -- whether the probe got it right, and what it said.

Right means: a loophole grader gets a ``reward_exploit`` *error* on at least one of its
expected strategies; a sound grader gets no error finding of any category.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Grader:
    """One grader of the benchmark.

    Attributes:
        module, name: ``benchmarks/reward_graders/<module>.py:<name>``.
        prompts: the prompts file under this folder.
        references: the field holding a correct response in the grader's format.
        loophole: the probe strategies a policy would use to collect the reward without
            the task (any one as an error names it); empty for a sound grader.
        style: the public code it is written after (the table's column).
    """

    module: str
    name: str
    prompts: str
    references: str
    loophole: tuple[str, ...]
    style: str

    @property
    def spec(self) -> str:
        return f"{HERE / self.module}.py:{self.name}"

    @property
    def prompts_path(self) -> Path:
        return HERE / self.prompts


GRADERS: tuple[Grader, ...] = (
    Grader("math_answers", "substring_match", "math_boxed.jsonl", "solution",
           ("number_list",), "substring check (GSM8K tutorials)"),
    Grader("math_answers", "boxed_any", "math_boxed.jsonl", "solution",
           ("boxed_numbers",), "regex over every `\\boxed{}` (any match)"),
    Grader("math_answers", "boxed_last", "math_boxed.jsonl", "solution", (),
           "last `\\boxed{}` (MATH, verl math.py)"),
    Grader("answer_tags", "format_plus_accuracy", "math_tags.jsonl", "solution",
           ("empty_template", "empty_tags"), "open-r1 format + accuracy, weights 1:1"),
    Grader("answer_tags", "format_weighted_small", "math_tags.jsonl", "solution", (),
           "open-r1 format + accuracy, weights 0.1:1"),
    Grader("answer_tags", "answer_in_reference", "math_tags.jsonl", "solution",
           ("empty_tags", "empty_template"), "`<answer>` tag, pred in gold"),
    Grader("answer_tags", "answer_tag_exact", "math_tags.jsonl", "solution", (),
           "`<answer>` tag, non-empty, equal"),
    Grader("multiple_choice", "letter_anywhere", "mcq.jsonl", "solution",
           ("all_options",), "MCQ letters anywhere"),
    Grader("multiple_choice", "answer_line", "mcq.jsonl", "solution", (),
           "MCQ 'Answer: X' (simple-evals)"),
    Grader("code_tests", "log_says_passed", "code.jsonl", "solution",
           ("claimed_success",), "test log = the agent's transcript"),
    Grader("code_tests", "tests_in_subprocess", "code.jsonl", "solution", (),
           "asserts in a subprocess (open-r1 code_reward)"),
    Grader("code_tests", "own_test_log", "code.jsonl", "solution", (),
           "log of the grader's own test run"),
    Grader("judges", "length_biased_judge", "math_boxed.jsonl", "solution",
           ("long_padding", "repetition"), "reward-model stand-in, length-biased"),
    Grader("judges", "reference_guided_judge", "math_boxed.jsonl", "solution", (),
           "reference-guided judge stand-in (MT-Bench)"),
)


def verdict(grader: Grader, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """What the probe said about ``grader`` (``findings``: ``Finding.to_dict()`` items) and
    whether that is right."""
    exploits = {f["evidence"]["strategy"]: f["severity"] for f in findings
                if f["category"] == "reward_exploit"}
    errors = sorted({f["category"] for f in findings if f["severity"] == "error"})
    named = sorted(s for s in grader.loophole if exploits.get(s) == "error")
    right = bool(named) if grader.loophole else not errors
    return {"exploits": exploits, "errors": errors, "named": named, "right": right}
