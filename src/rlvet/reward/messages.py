"""Chat messages in TRL's conversational format: read, validated, turned into text.

Contents:
    Messages -- a conversation: a tuple of ``{"role": str, "content": ...}`` dicts.
    is_conversational(value) -- whether a field holds a message list (TRL's own test).
    read_messages(value, where=, field=) -- a validated message list, or RlvetInputError.
    messages_text(messages) -- the contents joined by blank lines, for text-only rewards.
    assistant_turn(text) -- one completion in the shape TRL hands to reward functions.

TRL's GRPOTrainer keeps a conversational dataset's ``prompt`` as a list of messages and
decodes each completion as ``[{"role": "assistant", "content": text}]`` before calling
the reward functions (``trl/trainer/grpo_trainer.py``: ``_generate_and_score_completions``
decodes, ``_calculate_rewards`` calls ``f(prompts=..., completions=..., **columns)``), so
a conversational reward reads ``completion[0]["content"]``. A message's ``content`` may
also be a list of parts (``{"type": "text", "text": ...}``, images): only text parts count
as text here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rlvet.errors import RlvetInputError

__all__ = ["Messages", "assistant_turn", "is_conversational", "messages_text",
           "read_messages"]

Messages = tuple[Mapping[str, Any], ...]
MAX_MESSAGES = 1000  # one prompt's turns; a conversation, not a transcript dump


def is_conversational(value: Any) -> bool:
    """A non-empty list whose first item is a dict with ``role`` and ``content``, as
    ``trl.data_utils.is_conversational`` decides for a ``prompt`` field."""
    return (isinstance(value, list) and bool(value) and isinstance(value[0], dict)
            and "role" in value[0] and "content" in value[0])


def _content_ok(content: Any) -> bool:
    if content is None or isinstance(content, str):
        return True
    return isinstance(content, list) and all(isinstance(part, dict) for part in content)


def read_messages(value: Any, *, where: str, field: str) -> Messages:
    """``value`` as a validated message list.

    Raises:
        RlvetInputError: ``file:line: field 'prompt': message 2: ...`` naming what is wrong.
    """
    if not isinstance(value, list) or not value:
        raise RlvetInputError(f"{where}: field {field!r}: expected a non-empty list of "
                              "messages")
    if len(value) > MAX_MESSAGES:
        raise RlvetInputError(f"{where}: field {field!r}: {len(value):,} messages, more than "
                              f"{MAX_MESSAGES:,}")
    for i, message in enumerate(value, 1):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise RlvetInputError(f"{where}: field {field!r}: message {i}: expected an object "
                                  "with a string 'role' and a 'content'")
        if "content" not in message or not _content_ok(message["content"]):
            raise RlvetInputError(f"{where}: field {field!r}: message {i}: 'content' must be a "
                                  "string, null or a list of parts")
    return tuple(value)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content
                         if isinstance(part, dict) and part.get("type", "text") == "text")
    return ""


def messages_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The messages' text contents in order, joined by blank lines (no roles, no template).

    What a text-only reward ``f(prompt, response)`` gets, and what the strategies read for
    options, numbers and answer tags (a system message often names the tags).

    Example:
        >>> messages_text([{"role": "system", "content": "Use <answer> tags."},
        ...                {"role": "user", "content": "2 + 3?"}])
        'Use <answer> tags.\\n\\n2 + 3?'
    """
    return "\n\n".join(t for m in messages if (t := _text_of(m.get("content"))))


def assistant_turn(text: str) -> list[dict[str, Any]]:
    """One completion as TRL passes it to a reward with conversational data."""
    return [{"role": "assistant", "content": text}]
