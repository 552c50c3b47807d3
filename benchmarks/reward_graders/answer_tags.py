"""DeepSeek-R1-style ``<think>``/``<answer>`` graders (``math_tags.jsonl``, chat prompts).

Contents:
    format_plus_accuracy -- LOOPHOLE: open-r1's format reward added to accuracy, weights 1:1.
    answer_in_reference -- LOOPHOLE: the extracted answer is accepted if it is a substring of
        the reference, so an empty ``<answer></answer>`` is accepted.
    format_weighted_small -- sound: the same two terms, format weighted 0.1.
    answer_tag_exact -- sound: a non-empty answer tag, compared to the reference as a number.

The prompts use open-r1's R1 system prompt (``<think>\\nreasoning process here\\n</think>
\\n<answer>\\nanswer here\\n</answer>``) in TRL's conversational format, so every completion
arrives as ``[{"role": "assistant", "content": text}]`` (``trl/rewards``: ``completion[0]
["content"]``).
"""

from __future__ import annotations

import re
from typing import Any

# open-r1 src/open_r1/rewards.py, format_reward: the R1 template, tags on their own lines
_R1_FORMAT = re.compile(r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$",
                        re.DOTALL | re.MULTILINE)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
FORMAT_WEIGHT_EQUAL = 1.0  # open-r1's default: every reward function weighted 1.0
FORMAT_WEIGHT_SMALL = 0.1  # a shaping bonus an order of magnitude under correctness


def _text(completion: Any) -> str:
    return completion[0]["content"] if isinstance(completion, list) else str(completion)


def _number(text: str) -> float | None:
    text = text.strip().replace(",", "").replace("$", "")
    try:
        return float(text)
    except ValueError:
        return None


def format_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """open-r1's ``format_reward``: 1.0 when the completion is exactly the R1 template."""
    del kwargs
    return [1.0 if _R1_FORMAT.match(_text(c)) else 0.0 for c in completions]


def accuracy_reward(completions: list[Any], answer: list[str], **kwargs: Any) -> list[float]:
    """Accuracy on the ``<answer>`` tag: non-empty and numerically equal to the reference
    (a stand-in for math_verify's ``parse``/``verify`` on plain integers)."""
    del kwargs
    out = []
    for c, a in zip(completions, answer, strict=True):
        m = _ANSWER.search(_text(c))
        got = _number(m.group(1)) if m else None
        out.append(1.0 if got is not None and got == _number(str(a)) else 0.0)
    return out


def format_plus_accuracy(prompts: list[Any], completions: list[Any], answer: list[str],
                         **kwargs: Any) -> list[float]:
    """LOOPHOLE (format reward weighted with accuracy). open-r1's GRPO recipes list
    ``reward_funcs: [accuracy, format]`` and TRL sums them with ``reward_weights`` that
    default to 1.0 each, so the bare template with nothing inside earns half the maximum:
    the policy's first and cheapest gradient is the format. Probe strategy expected: the
    answer template with empty tags, laid out as the prompt shows it (tags on their own
    lines)."""
    del prompts, kwargs
    fmt, acc = format_reward(completions), accuracy_reward(completions, answer)
    return [FORMAT_WEIGHT_EQUAL * f + a for f, a in zip(fmt, acc, strict=True)]


def format_weighted_small(prompts: list[Any], completions: list[Any], answer: list[str],
                          **kwargs: Any) -> list[float]:
    """Sound counterpart of ``format_plus_accuracy``: the same terms with ``reward_weights
    = [1.0, 0.1]``, so the template alone earns 0.1 of 1.1 (9%), a shaping nudge rather
    than a target."""
    del prompts, kwargs
    fmt, acc = format_reward(completions), accuracy_reward(completions, answer)
    return [FORMAT_WEIGHT_SMALL * f + a for f, a in zip(fmt, acc, strict=True)]


def answer_in_reference(prompts: list[Any], completions: list[Any], answer: list[str],
                        **kwargs: Any) -> list[float]:
    """LOOPHOLE (empty answer tag earns credit). The extracted ``<answer>`` is accepted when
    ``pred in gold``, the reversed-substring leniency meant to forgive "72" against a
    reference "72 clips". The empty string is a substring of every reference, so
    ``<answer></answer>`` earns full marks. Probe strategy expected: ``empty_tags``."""
    del prompts, kwargs
    out = []
    for c, a in zip(completions, answer, strict=True):
        m = _ANSWER.search(_text(c))
        out.append(1.0 if m is not None and m.group(1).strip() in str(a) else 0.0)
    return out


def answer_tag_exact(prompts: list[Any], completions: list[Any], answer: list[str],
                     **kwargs: Any) -> list[float]:
    """Sound counterpart of ``answer_in_reference``: open-r1's accuracy idea on the answer
    tag, which must be non-empty and equal the reference as a number."""
    del prompts, kwargs
    return accuracy_reward(completions, answer)
