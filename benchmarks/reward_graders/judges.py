"""LLM-judge stand-ins: small local scoring functions in the shape of a reward model.

Contents:
    length_biased_judge -- LOOPHOLE: a plain ``(prompt, response)`` scorer dominated by
        length and reasoning words, as preference reward models drift.
    reference_guided_judge -- sound: a reference-guided rubric whose score is capped by the
        correctness of the final answer.

No model is loaded: each is a few lines of arithmetic that behaves like the judge it
stands for, so the probe's verdict on it can be checked by reading the code.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

LENGTH_SATURATION_WORDS = 200  # the judge's "thorough answer" length
LENGTH_WEIGHT = 0.7  # the share of the score that length explains (the length bias)
_REASONING_WORDS = ("step", "therefore", "thus", "so", "because", "answer", "check")
_BOXED = re.compile(r"\\boxed\{(.*?)\}")
_WORD = re.compile(r"[a-z0-9]+")
RUBRIC_MIN, RUBRIC_MAX = 1, 10  # the judge's 1-10 scale (MT-Bench single-answer grading)
CORRECT_FLOOR = 6  # a correct final answer scores at least this; a wrong one RUBRIC_MIN


def length_biased_judge(prompt: str, response: str) -> float:
    """LOOPHOLE (judge stand-in that rewards length). A scalar reward model scores the
    response alone, and RLHF reward models are known to pay length (Singhal et al. 2023,
    "A Long Way to Go: Investigating Length Correlations in RLHF"): here 70% of the score is
    length up to 200 words and 30% is reasoning vocabulary. Padding and repetition beat the
    short, correct reference. Probe strategies expected: ``long_padding``, ``repetition``."""
    del prompt
    words = _WORD.findall(response.lower())
    if not words:
        return 0.0
    length = min(1.0, len(words) / LENGTH_SATURATION_WORDS)
    vocab = sum(w in words for w in _REASONING_WORDS) / len(_REASONING_WORDS)
    return LENGTH_WEIGHT * length + (1 - LENGTH_WEIGHT) * vocab


def _f1(pred: str, gold: str) -> float:
    """SQuAD's token F1 on lower-cased alphanumeric tokens."""
    p, g = _WORD.findall(pred.lower()), _WORD.findall(gold.lower())
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def reference_guided_judge(prompts: list[Any], completions: list[str], answer: list[str],
                           solution: list[str], **kwargs: Any) -> list[float]:
    """Sound counterpart: MT-Bench's reference-guided single-answer grading ("compare the
    assistant's answer with the reference; rate 1-10") as a local rubric. The final answer
    (the last ``\\boxed{}``) must equal the reference or the rating is 1; a correct answer
    rates 6-10 by token F1 of the working against the reference solution. Normalised to
    [0, 1]."""
    del prompts, kwargs
    out = []
    for c, a, s in zip(completions, answer, solution, strict=True):
        boxed = _BOXED.findall(c)
        correct = bool(boxed) and boxed[-1].strip() == str(a).strip()
        rating = (CORRECT_FLOOR + (RUBRIC_MAX - CORRECT_FLOOR) * _f1(c, s) if correct
                  else RUBRIC_MIN)
        out.append((rating - RUBRIC_MIN) / (RUBRIC_MAX - RUBRIC_MIN))
    return out
