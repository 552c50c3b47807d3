"""``reward-probe --env SPEC``: check agentic no-knowledge responses against an environment.

Contents:
    ProbeEnv -- the protocol an env object follows: ``reset``, ``step``, ``succeeded``.
    ToolCall -- ``{"name": str, "arguments": dict}``, what ``step`` receives.
    tool_calls_in(response) -- the ``<tool_call>{json}</tool_call>`` blocks of a response.
    EnvRun -- what one response did to the env: calls made, final state, success.
    EnvSession -- the child's side: build the env once, replay one response per reset.

Why this protocol and no more. The agentic RL frameworks agree on three moments and on
nothing else: TRL's ``environment_factory`` objects have ``reset(**row)`` and expose their
public methods as tools (``method(**arguments)``); verl's ``BaseTool`` has ``create``,
``execute(instance_id, parameters)``, ``calc_reward`` and ``release``; both carry a tool
call as a name plus a JSON ``arguments`` object (the OpenAI function-call shape that
Hermes/Qwen templates write between ``<tool_call>`` tags). The probe needs exactly those
moments plus one thing neither framework has: a ground-truth ``succeeded(state)`` that is
*not* the reward under test (TRL's ``get_reward`` and verl's ``calc_reward`` are rewards,
the very thing being attacked). So: ``reset`` starts a task, ``step`` applies one tool
call, ``succeeded`` says whether the task is done in the environment's own terms. No
observation spaces, no async, no instance ids: the probe replays one response at a time
in its own child process, and three methods are all a wrapper around a TRL environment or
a verl tool has to write.

``reset`` is called like TRL calls it, with the prompts file's fields as keywords
(``prompt`` included: a string, or the message list of a conversational prompt), so it
should accept ``**kwargs``. Every call is keyword-only: ``reset(prompt=..., **fields)``,
``step(tool_call=...)``, ``succeeded(state=...)``.

Example:
    >>> class Files:
    ...     def reset(self, *, prompt, **fields):
    ...         self.files = {}
    ...         return dict(self.files)
    ...     def step(self, *, tool_call):
    ...         if tool_call["name"] == "write_file":
    ...             self.files[tool_call["arguments"]["path"]] = "x"
    ...         return dict(self.files)
    ...     def succeeded(self, *, state):
    ...         return "out.txt" in state
    >>> tool_calls_in('<tool_call>{"name": "ls", "arguments": {}}</tool_call>')
    [{'name': 'ls', 'arguments': {}}]
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from rlvet.sandbox import Heartbeat, UserCall

__all__ = ["EnvRun", "EnvSession", "ProbeEnv", "ToolCall", "state_summary", "tool_calls_in"]

MAX_TOOL_CALLS = 50  # a burst is twenty; more than this is not one response's work
STATE_CHARS = 200  # the env state in a finding's evidence, cut to this many characters
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)


class ToolCall(TypedDict):
    """One tool call: the function's name and its JSON arguments."""

    name: str
    arguments: dict[str, Any]


class ProbeEnv(Protocol):
    """What ``--env SPEC`` returns (SPEC is a no-argument factory, like TRL's
    ``environment_factory``)."""

    def reset(self, *, prompt: Any, **fields: Any) -> Any:
        """Start the task of one prompt; return the state (anything ``succeeded`` reads)."""

    def step(self, *, tool_call: ToolCall) -> Any:
        """Apply one tool call; return the new state."""

    def succeeded(self, *, state: Any) -> bool:
        """Whether the task is done in the environment itself (files written, tests
        passing, the order placed): the ground truth, never the response's claim."""


def tool_calls_in(response: str) -> list[ToolCall]:
    """The Hermes-style ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks
    of a response, in order; blocks that are not such JSON objects are skipped."""
    calls: list[ToolCall] = []
    for block in _TOOL_CALL.findall(response)[:MAX_TOOL_CALLS]:
        try:
            value = json.loads(block)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            arguments = value.get("arguments")
            calls.append({"name": value["name"],
                          "arguments": arguments if isinstance(arguments, dict) else {}})
    return calls


def state_summary(state: Any) -> str:
    """The state as one short line for the evidence: JSON where it can be, else ``repr``."""
    try:
        text = json.dumps(state, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(state)
    text = " ".join(text.split())
    return text if len(text) <= STATE_CHARS else text[:STATE_CHARS] + "..."


@dataclass(frozen=True, slots=True)
class EnvRun:
    """What one response did in the env.

    Attributes:
        succeeded: ``succeeded(state)`` after the response's tool calls; None if not known.
        tool_calls: how many tool calls the response made (and ``step`` applied).
        state: the final state, summarised (``state_summary``).
        error: ``"reset: ValueError: ..."`` when an env call raised, else ``""``.
    """

    succeeded: bool | None
    tool_calls: int
    state: str
    error: str = ""

    def to_evidence(self) -> dict[str, Any]:
        """JSON-ready evidence for a finding."""
        out: dict[str, Any] = {"env_succeeded": self.succeeded,
                               "env_tool_calls": self.tool_calls, "env_state": self.state}
        if self.error:
            out["env_error"] = self.error
        return out


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _as_bool(value: Any) -> bool:
    if hasattr(value, "item") and not isinstance(value, (list, tuple)):
        value = value.item()  # numpy / torch bool
    if not isinstance(value, (bool, int)):
        raise ValueError(f"succeeded() returned {value!r:.60}, expected a bool")
    return bool(value)


class EnvSession:
    """The sandbox child's env: built once from the factory, reset for every response.

    Every env call runs under the sandbox's per-call budget (``reset``/``step``) or setup
    budget (the factory), so a hanging env is a failure the parent reports, not a hang.
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._env: Any = None
        self._error = ""

    def env(self, hb: Heartbeat) -> Any:
        """The env, built on first use; None if the factory raised."""
        if self._env is None and not self._error:
            try:
                self._env = hb.call(UserCall.BUILD, self._factory)
            except Exception as exc:
                self._error = f"build: {_one_line(exc)}"
        return self._env

    def run(self, hb: Heartbeat, prompt: Any, fields: Mapping[str, Any],
            response: str) -> EnvRun:
        """Reset for ``prompt``, apply the response's tool calls, ask ``succeeded``."""
        env = self.env(hb)
        if env is None:
            return EnvRun(None, 0, "", self._error)
        calls = tool_calls_in(response)
        stage = "reset"
        state: Any = None
        try:
            state = hb.call(UserCall.RESET, env.reset, prompt=prompt, **fields)
            stage = "step"
            for call in calls:
                state = hb.call(UserCall.STEP, env.step, tool_call=call)
            stage = "succeeded"
            done = _as_bool(hb.call(UserCall.STEP, env.succeeded, state=state))
        except Exception as exc:
            return EnvRun(None, len(calls), state_summary(state), f"{stage}: {_one_line(exc)}")
        return EnvRun(done, len(calls), state_summary(state))
