"""Math graders on ``\\boxed{}`` answers (``math_boxed.jsonl``), in the styles of public RLVR code.

Contents:
    substring_match -- LOOPHOLE: pays when the reference answer appears anywhere.
    boxed_any -- LOOPHOLE: pays when the reference is among *any* of the boxed answers.
    boxed_last -- sound: the last ``\\boxed{...}`` only, normalised, compared exactly.

The prompts end with Qwen2.5-Math's instruction ("Please reason step by step, and put your
final answer within \\boxed{}."); the TRL signature ``f(prompts, completions, **kwargs)``
gets the ``answer`` column as a keyword list, as TRL's GRPOTrainer passes dataset columns.
Each module here is loaded by ``rlvet reward-probe file.py:callable`` on its own, so it
imports nothing from its neighbours.
"""

from __future__ import annotations

import re
from typing import Any

_BOXED = re.compile(r"\\boxed\{(.*?)\}")


def _normalise(text: str) -> str:
    """A small ``strip_string`` (Hendrycks et al. 2021, MATH's ``math_equivalence``): drop
    spaces, dollar signs, a trailing period and thousands commas, and ``\\text{...}``."""
    text = re.sub(r"\\text\{(.*?)\}", r"\1", text)
    text = text.replace("$", "").replace(" ", "").replace(",", "").rstrip(".")
    if re.fullmatch(r"-?\d+\.0+", text):
        text = text.split(".")[0]
    return text


def substring_match(prompts: list[Any], completions: list[str], answer: list[str],
                    **kwargs: Any) -> list[float]:
    """LOOPHOLE (substring check). Modelled on the many GSM8K GRPO rewards that test
    ``str(ground_truth) in response`` (a pattern common in tutorial notebooks and custom
    verl ``compute_score`` files): a response that lists every small number, or the numbers of
    the prompt and their sums and products, contains the answer and earns full marks, and so
    does an echo of a prompt that happens to contain it ("2^10 divided by 7" contains "2").
    Probe strategies expected: ``number_list`` (and ``prompt_echo`` on some prompts)."""
    del prompts, kwargs
    return [1.0 if str(a) in c else 0.0 for c, a in zip(completions, answer, strict=True)]


def boxed_any(prompts: list[Any], completions: list[str], answer: list[str],
              **kwargs: Any) -> list[float]:
    """LOOPHOLE (regex over every boxed answer). Modelled on graders that run
    ``re.findall(r"\\\\boxed\\{(.*?)\\}", completion)`` and accept the completion when any
    extracted answer equals the reference (the lenient "any match" of several public GRPO
    math rewards; math_verify's ``verify`` likewise accepts if *any* parsed candidate
    matches). A response that boxes every likely number, ``\\boxed{0} \\boxed{1} ...``, is
    paid on every prompt. Probe strategy expected: a boxed number list."""
    del prompts, kwargs
    out = []
    for c, a in zip(completions, answer, strict=True):
        found = {_normalise(x) for x in _BOXED.findall(c)}
        out.append(1.0 if _normalise(str(a)) in found else 0.0)
    return out


def _last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}``, braces balanced: MATH's
    ``last_boxed_only_string`` + ``remove_boxed`` (also verl's ``reward_score/math.py``)."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    return None


def boxed_last(prompts: list[Any], completions: list[str], answer: list[str],
               **kwargs: Any) -> list[float]:
    """Sound counterpart of ``boxed_any`` and ``substring_match``: only the *last* boxed
    answer counts (MATH's ``last_boxed_only_string``, verl's ``reward_score/math.py``), it
    must be non-empty, and it must equal the reference after ``strip_string``-style
    normalisation. A list of boxed numbers is judged by its last item only."""
    del prompts, kwargs
    out = []
    for c, a in zip(completions, answer, strict=True):
        got = _last_boxed(c)
        ok = got is not None and _normalise(got) != "" and _normalise(got) == _normalise(str(a))
        out.append(1.0 if ok else 0.0)
    return out
