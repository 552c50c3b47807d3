"""``rlvet reward-probe`` on agentic and conversational rewards.

Graders in the style of public agentic RLVR code: a tool-use reward that pays the words
"task complete", its sound counterpart that reads the environment's state (TRL passes
``environments`` to reward functions), a tool-call counter, a reward paid for submitting,
and TRL conversational graders that read ``completion[0]["content"]``. The env is a small
file-writing task in the shape of TRL's ``environment_factory`` classes, wrapped in the
probe's protocol (``reset``/``step``/``succeeded``). Assertions are on categories,
severities and evidence.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rlvet.errors import RlvetInputError
from rlvet.findings import Category, remedy_of
from rlvet.reward.probe import ProbeConfig, read_prompts, run_probe
from rlvet.reward.probe_env import tool_calls_in

GRADERS = '''
import re
import time


class FileTask:
    """Write the file the task names, with the content it names (TRL env style: one
    instance per rollout, reset with the dataset row, tools as calls)."""

    def reset(self, *, prompt, target, content, **fields):
        if not isinstance(prompt, list):  # conversational prompts arrive as messages
            raise TypeError(f"expected a message list, got {type(prompt).__name__}")
        self.target, self.expected = target, content
        self.files, self.submitted = {}, False
        return self.state()

    def state(self):
        return {"files": dict(self.files), "submitted": self.submitted}

    def step(self, *, tool_call):
        name, args = tool_call["name"], tool_call["arguments"]
        if name == "write_file" and isinstance(args.get("path"), str):
            self.files[args["path"]] = str(args.get("content", ""))
        elif name == "submit":
            self.submitted = True
        return self.state()  # unknown tools leave the state unchanged

    def succeeded(self, *, state):
        return state["files"].get(self.target) == self.expected


class SubmitTask(FileTask):
    def succeeded(self, *, state):
        return state["submitted"]


class StrictTools(FileTask):
    def step(self, *, tool_call):
        if tool_call["name"] not in ("write_file", "submit"):
            raise KeyError(f"unknown tool {tool_call['name']}")
        return super().step(tool_call=tool_call)


class HangingStep(FileTask):
    def step(self, *, tool_call):
        time.sleep(60)


def file_task():
    return FileTask()


def submit_task():
    return SubmitTask()


def strict_tools():
    return StrictTools()


def hanging_step():
    return HangingStep()


def _text(completion):
    return completion[0]["content"] if isinstance(completion, list) else completion


def says_complete(prompts, completions, **kwargs):
    """Pays the agent's own report: 'task complete' anywhere in the last turn."""
    return [1.0 if re.search(r"\\btask (?:is )?complete", _text(c), re.I) else 0.0
            for c in completions]


def env_verified(prompts, completions, environments, **kwargs):
    """Sound: pays the file on disk, read from the environment, never the claim."""
    return [1.0 if env.files.get(env.target) == env.expected else 0.0 for env in environments]


def tool_count(prompts, completions, **kwargs):
    """Pays tool use: a fifth of a point per <tool_call>, capped at 1."""
    return [min(1.0, _text(c).count("<tool_call>") / 5) for c in completions]


def submit_called(prompts, completions, **kwargs):
    """Pays a submit call (sound for a task whose only job is to submit)."""
    return [1.0 if '"name": "submit"' in _text(c) else 0.0 for c in completions]


def conv_exact(prompts, completions, answer, **kwargs):
    """TRL conversational accuracy: the assistant's content must equal the answer."""
    assert isinstance(prompts[0], list) and prompts[0][-1]["role"] == "user", prompts
    assert completions[0][0]["role"] == "assistant", completions
    return [1.0 if c[0]["content"].strip() == a else 0.0 for c, a in zip(completions, answer)]


def conv_contains(prompts, completions, answer, **kwargs):
    """TRL conversational accuracy with a loophole: the answer anywhere in the content."""
    return [1.0 if a in c[0]["content"] else 0.0 for c, a in zip(completions, answer)]


def overlap(prompt, response):
    """A text-only (prompt, response) reward: word overlap with the prompt (ROUGE-ish)."""
    if not isinstance(prompt, str):
        raise TypeError("expected the prompt as text")
    words = set(prompt.lower().split())
    return len(words & set(response.lower().split())) / max(1, len(words))
'''

SYSTEM = {"role": "system", "content": "You can call write_file(path, content) and submit() "
          "with <tool_call>{...}</tool_call>."}


def _task(i: int, target: str, content: str) -> dict[str, Any]:
    call = {"name": "write_file", "arguments": {"path": target, "content": content}}
    return {"id": f"t{i}", "target": target, "content": content,
            "prompt": [SYSTEM, {"role": "user",
                                "content": f"Write '{content}' to {target}, then say so."}],
            "solution": f"<tool_call>{json.dumps(call)}</tool_call>\nThe task is complete."}


TASKS = [_task(0, "out.txt", "hello"), _task(1, "notes.md", "# todo"),
         _task(2, "a/b.json", "{}")]
CHAT = [
    {"id": "add", "answer": "5", "prompt": [
        {"role": "system", "content": "Answer with the number only."},
        {"role": "user", "content": "What is 2 + 3?"}]},
    {"id": "mul", "answer": "42", "prompt": [{"role": "user", "content": "Compute 6 * 7."}]},
    {"id": "cap", "answer": "Paris", "prompt": [
        {"role": "user", "content": "Capital of France? One word."}]},
]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"graders": tmp_path / "graders.py", "tasks": tmp_path / "tasks.jsonl",
           "chat": tmp_path / "chat.jsonl"}
    out["graders"].write_text(GRADERS)
    out["tasks"].write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    out["chat"].write_text("".join(json.dumps(c) + "\n" for c in CHAT))
    return out


def _probe(files: dict[str, Path], grader: str, *, env: str | None = "file_task",
           prompts: str = "tasks", references: str | None = "solution", **kw: Any):
    config = ProbeConfig(reward=f"{files['graders']}:{grader}", prompts=files[prompts],
                         references=references,
                         env=None if env is None else f"{files['graders']}:{env}", **kw)
    return run_probe(config)


def _exploits(outcome: Any) -> dict[str, Any]:
    return {f.evidence["strategy"]: f for f in outcome.result.findings
            if f.category == Category.REWARD_EXPLOIT}


def test_tool_calls_are_read_in_the_hermes_format() -> None:
    text = ('<tool_call>{"name": "a", "arguments": {"x": 1}}</tool_call> and '
            '<tool_call>not json</tool_call><tool_call>{"name": "b"}</tool_call>')
    assert tool_calls_in(text) == [{"name": "a", "arguments": {"x": 1}},
                                   {"name": "b", "arguments": {}}]


def test_claimed_completion_paid_without_the_state_change_is_pseudo_success(
        files: dict[str, Path]) -> None:
    outcome = _probe(files, "says_complete")
    exploit = _exploits(outcome)["claimed_completion"]
    assert str(exploit.severity) == "error" and outcome.result.exit_code == 1
    assert exploit.evidence["pseudo_success"] is True
    assert exploit.evidence["env_not_succeeded"] == len(TASKS)
    assert exploit.remedy == remedy_of(Category.PSEUDO_SUCCESS)
    example = exploit.evidence["examples"][0]
    assert example["score"] == 1.0 and example["env_succeeded"] is False
    assert example["env_tool_calls"] == 0 and '"files": {}' in example["env_state"]
    assert "task is complete" in example["response"] and example["prompt"]
    env = outcome.result.metrics["env"]
    assert env["checked"] and env["references_succeeded"] == env["references"] == len(TASKS)
    assert env["raised"] == 0


def test_sound_env_reading_reward_passes(files: dict[str, Path]) -> None:
    outcome = _probe(files, "env_verified")
    assert outcome.result.verdict == "pass", [f.message for f in outcome.result.findings]
    assert outcome.result.metrics["reference"]["level"] == 1.0
    assert all(r["mean"] == 0.0 for r in outcome.result.metrics["strategies"])


def test_tool_counting_reward_is_caught_by_the_burst_and_the_env(
        files: dict[str, Path]) -> None:
    exploit = _exploits(_probe(files, "tool_count"))["tool_burst"]
    assert str(exploit.severity) == "error" and exploit.evidence["pseudo_success"] is True
    assert exploit.evidence["examples"][0]["env_tool_calls"] == 20


def test_a_burst_that_does_the_task_is_not_an_exploit(files: dict[str, Path]) -> None:
    without = _exploits(_probe(files, "submit_called", env=None))
    assert str(without["tool_burst"].severity) == "error"  # text alone cannot tell
    outcome = _probe(files, "submit_called", env="submit_task", references=None)
    assert "tool_burst" not in _exploits(outcome)
    row = next(r for r in outcome.result.metrics["strategies"]
               if r["strategy"] == "claimed_completion")
    assert row["env_not_succeeded"] == len(TASKS) and row["mean"] == 0.0
    assert outcome.result.metrics["env"]["succeeded"] >= len(TASKS)  # the bursts


def test_without_env_agentic_state_is_insufficient_evidence(files: dict[str, Path]) -> None:
    outcome = _probe(files, "says_complete", env=None)
    assert str(_exploits(outcome)["claimed_completion"].severity) == "error"
    info = [f for f in outcome.result.findings if f.check == "reward.probe.agentic_state"]
    assert info and str(info[0].severity) == "info"
    assert str(info[0].category) == "insufficient_evidence"
    assert "claimed_completion" in info[0].evidence["strategies"]
    assert outcome.result.metrics["env"]["checked"] is False
    sound = _probe(files, "conv_exact", env=None, prompts="chat", references="answer")
    assert not [f for f in sound.result.findings if f.check == "reward.probe.agentic_state"]


def test_an_env_that_raises_or_hangs_is_a_harness_finding(files: dict[str, Path]) -> None:
    outcome = _probe(files, "env_verified", env="strict_tools")
    raised = [f for f in outcome.result.findings if f.check == "reward.probe.env_raised"]
    assert raised and str(raised[0].category) == "harness_failure"
    assert "unknown tool" in raised[0].evidence["examples"][0]["error"]
    hung = _probe(files, "env_verified", env="hanging_step", timeout_s=0.3, max_prompts=1)
    found = {f.check: f for f in hung.result.findings}
    assert str(found["reward.probe.env_hung"].category) == "harness_failure"
    assert "reward.probe.grader_hung" not in found


def test_conversational_prompts_reach_a_trl_reward_as_messages(files: dict[str, Path]) -> None:
    outcome = _probe(files, "conv_exact", env=None, prompts="chat", references="answer")
    assert outcome.result.verdict == "pass", [f.message for f in outcome.result.findings]
    metrics = outcome.result.metrics
    assert metrics["signature"] == "trl" and metrics["conversational_prompts"] == len(CHAT)
    assert metrics["reference"]["level"] == 1.0 and metrics["grader"]["errors"] == 0
    loose = _exploits(_probe(files, "conv_contains", env=None, prompts="chat",
                             references="answer"))
    assert str(loose["number_list"].severity) == "error"


def test_conversational_prompts_reach_a_plain_reward_as_text(files: dict[str, Path]) -> None:
    outcome = _probe(files, "overlap", env=None, prompts="chat", references="answer")
    assert outcome.result.metrics["signature"] == "pair"
    assert outcome.result.metrics["grader"]["errors"] == 0
    assert str(_exploits(outcome)["prompt_echo"].severity) == "error"
    prompts, _ = read_prompts(files["chat"], references="answer")
    assert prompts[0].prompt == "Answer with the number only.\n\nWhat is 2 + 3?"
    assert prompts[0].conversational and prompts[0].messages is not None


@pytest.mark.parametrize(("lines", "where"), [
    (['[{"role": "user", "content": "ok"}]', '[{"role": "user"}]'], "2: field 'prompt': message 1"),
    (['["hi"]'], "1: field 'prompt': message 1"),
    (["[]"], "1: field 'prompt': expected a non-empty list"),
    (['[{"role": "user", "content": 3}]'], "1: field 'prompt': message 1: 'content'"),
])
def test_bad_messages_name_file_line_and_message(tmp_path: Path, lines: list[str],
                                                 where: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(f'{{"prompt": {line}}}\n' for line in lines))
    with pytest.raises(RlvetInputError, match=rf"bad\.jsonl:{where}"):
        read_prompts(bad)


def test_cli_with_env_in_a_subprocess(files: dict[str, Path]) -> None:
    graders = files["graders"]
    proc = subprocess.run(
        [sys.executable, "-m", "rlvet.cli", "reward-probe", f"{graders}:says_complete",
         "--prompts", str(files["tasks"]), "--references", "solution",
         "--env", f"{graders}:file_task", "--json"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["first_break"]["category"] == "reward_exploit"
    pseudo = [f for f in doc["findings"] if f["evidence"].get("pseudo_success")]
    assert {f["evidence"]["strategy"] for f in pseudo} == {"claimed_completion"}
    bad = subprocess.run(
        [sys.executable, "-m", "rlvet.cli", "reward-probe", f"{graders}:says_complete",
         "--prompts", str(files["tasks"]), "--env", f"{graders}:no_such_env"],
        capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no_such_env" in bad.stderr
