"""``rlvet reward-probe``: attack a reward function before any training.

Contents:
    ProbePrompt -- one prompt of the prompts file (text or chat messages), its reference
        answer and its other fields.
    read_prompts(path, references=, max_prompts=) -- the prompts JSONL, validated line by line.
    Unit -- one reward call: a response to a prompt, as text and as TRL would pass it.
    ProbeConfig -- what one probe runs: the reward spec, the prompts, the share, the budget,
        the env (``--env``).
    ProbeOutcome -- the command result plus every scored response.
    run_probe(config) -- the Python API behind the CLI.

How: every prompt gets the no-knowledge responses of ``rlvet.reward.strategies`` (and its
reference answer with ``--references FIELD``). The reward is imported and called in a
``rlvet.sandbox`` child, one response per call under a wall-clock budget, so a grader that
hangs, exits or eats the memory is a ``grader_failure`` finding and not a frozen CLI.
A strategy whose mean reward reaches ``share`` of the reference level is a
``reward_exploit`` error; partial credit (a tenth of it, or full marks on some prompts) is a
warning.

The reward is either TRL's reward-function signature, ``f(prompts, completions, **kwargs)
-> list[float]`` (called with one-element lists; the prompt's other fields, the reference
column included, as one-element keyword lists, as TRL passes dataset columns), or a plain
``f(prompt, response) -> float``. Which one is read from the parameter names.

Conversational prompts (TRL's format: ``prompt`` is a list of ``{"role", "content"}``
messages) reach a TRL-style reward as TRL's GRPOTrainer passes them: each prompt the
message list, each completion ``[{"role": "assistant", "content": text}]``
(``rlvet.reward.messages``). A plain reward gets the messages' text, joined by blank lines;
the strategies read the same text.

Agentic rewards (``--env SPEC``, ``rlvet.reward.probe_env``): every response, the
reference included, is replayed in the env in the child before the reward is called
(``reset``, one ``step`` per ``<tool_call>``, ``succeeded``), and a TRL-style reward gets
``environments=[env]`` as TRL passes its environments. A no-knowledge response the env
says did the task earns its pay and is left out of the judgement; an agentic one
(``claimed_completion``, ``claimed_success``, ``tool_burst``) paid while ``succeeded`` is
False is a pseudo-success ``reward_exploit``, with the env state in the evidence. Without
``--env``, a paid agentic response is an ``insufficient_evidence`` info: its state could
not be checked.

Reference level: the mean reward of the reference answers; without references, the best
score any no-knowledge response got (the distribution over the strategies). Shares are
measured from a floor of 0, or from the lowest score seen if the reward goes negative.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvet.errors import RlvetInputError
from rlvet.findings import Category, CommandResult, Finding, Severity, Stage, remedy_of
from rlvet.limits import MAX_PROBE_PROMPTS, check_range
from rlvet.reward.messages import (
    Messages,
    assistant_turn,
    is_conversational,
    messages_text,
    read_messages,
)
from rlvet.reward.probe_env import EnvRun, EnvSession
from rlvet.reward.strategies import AGENTIC, STRATEGIES, adversarial_responses
from rlvet.sandbox import Failure, FailureKind, Heartbeat, Limits, Sandbox, UserCall

__all__ = ["DEFAULT_SHARE", "PARTIAL_SHARE", "ProbeConfig", "ProbeOutcome", "ProbePrompt",
           "read_prompts", "run_probe"]

DEFAULT_SHARE = 0.5
"""A response that knows nothing earning half of what a correct answer earns is a gradient
the policy will follow long before it learns the task (issue 18)."""
PARTIAL_SHARE = 0.1  # a tenth of the reference for nothing: partial credit worth a look
MAX_PROMPT_CHARS = 200_000  # one prompt's text; a prompt file is not a corpus
MAX_HARD_FAILURES = 3  # hangs, deaths or OOMs before the probe stops calling the reward
EXAMPLES = 3  # prompts, responses and scores kept as a finding's evidence
EVIDENCE_CHARS = 200  # each prompt and response in the evidence, cut to this many characters
REFERENCE = "reference"  # the label of a reference answer among the strategy names
TRL, PAIR = "trl", "pair"
_ENV_CALLS = frozenset({str(UserCall.BUILD), str(UserCall.RESET), str(UserCall.STEP)})
_HARD_KINDS = frozenset({str(FailureKind.HUNG), str(FailureKind.DIED),
                         str(FailureKind.OUT_OF_MEMORY)})


@dataclass(frozen=True, slots=True)
class ProbePrompt:
    """One line of the prompts file.

    Attributes:
        id: the ``id`` field, else the line number.
        prompt: the prompt text (a conversational prompt's message contents, joined).
        reference: the reference answer (``--references FIELD``), as text.
        extras: every field but ``prompt``: passed to a TRL-style reward as keyword lists.
        line: 1-based line number in the file.
        messages: a conversational prompt's messages as given (TRL's format), else None.
        reference_messages: the reference when the field holds a message list, else None.
    """

    id: str
    prompt: str
    reference: str | None
    extras: Mapping[str, Any]
    line: int
    messages: Messages | None = None
    reference_messages: Messages | None = None

    @property
    def conversational(self) -> bool:
        """Whether the prompt is a message list (a TRL reward then gets messages)."""
        return self.messages is not None


def _prompt_text(value: Any, where: str) -> tuple[str, Messages | None]:
    """The prompt's text, and its messages when it is a conversational (TRL) prompt."""
    messages = None
    if isinstance(value, list):
        messages = read_messages(value, where=where, field="prompt")
        value = messages_text(messages)
    if not isinstance(value, str):
        got = "missing" if value is None else f"a {type(value).__name__}"
        raise RlvetInputError(f"{where}: field 'prompt': expected a string or a list of "
                              f"{{'role', 'content'}} messages, got {got}")
    if len(value) > MAX_PROMPT_CHARS:
        raise RlvetInputError(f"{where}: field 'prompt': {len(value):,} characters, more than "
                              f"{MAX_PROMPT_CHARS:,}")
    return value, messages


def _reference(record: Mapping[str, Any], where: str, field: str
               ) -> tuple[str, Messages | None]:
    value = record.get(field)
    if is_conversational(value):
        messages = read_messages(value, where=where, field=field)
        return messages_text(messages), messages
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        got = "missing" if value is None else f"a {type(value).__name__}"
        raise RlvetInputError(f"{where}: field {field!r} (--references): expected a "
                              f"string, number or message list, got {got}")
    return str(value), None


def _prompt_from(record: Any, where: str, line: int, references: str | None) -> ProbePrompt:
    if not isinstance(record, dict):
        raise RlvetInputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    text, messages = _prompt_text(record.get("prompt"), where)
    reference, reference_messages = (_reference(record, where, references)
                                     if references is not None else (None, None))
    extras = {k: v for k, v in record.items() if k != "prompt"}
    return ProbePrompt(id=str(record.get("id", line)), prompt=text, reference=reference,
                       extras=extras, line=line, messages=messages,
                       reference_messages=reference_messages)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            yield from enumerate(fh, 1)
    except FileNotFoundError:
        raise RlvetInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RlvetInputError(f"{path}: is a directory, expected a prompts JSONL file") from None
    except OSError as exc:
        raise RlvetInputError(f"{path}: cannot read ({exc.strerror})") from None


def read_prompts(path: str | Path, *, references: str | None = None,
                 max_prompts: int = MAX_PROBE_PROMPTS) -> tuple[list[ProbePrompt], int]:
    """The first ``max_prompts`` prompts of a JSONL file, and how many lines it holds.

    One object per line with a ``prompt``: a string, or TRL's conversational format (a list
    of ``{"role", "content"}`` messages). ``references`` names the field holding the
    reference answer (required on every line when given; a string, a number or a message
    list). The file is only read.

    Raises:
        RlvetInputError: unreadable file, a malformed line, a missing or non-string field
            (``file:line: field 'prompt': ...``), or no prompts at all.
    """
    path = Path(path)
    prompts: list[ProbePrompt] = []
    total = 0
    for lineno, line in _lines(path):
        if not line.strip():
            continue
        total += 1
        if len(prompts) >= max_prompts:
            continue  # counted, not parsed: the probe reads the first max_prompts
        where = f"{path}:{lineno}"
        try:
            record = json.loads(line)
        except RecursionError:
            raise RlvetInputError(f"{where}: JSON nested too deeply to read") from None
        except ValueError as err:
            detail = err.msg if isinstance(err, json.JSONDecodeError) else str(err)
            raise RlvetInputError(f"{where}: expected one JSON object per line ({detail})"
                                  ) from None
        prompts.append(_prompt_from(record, where, lineno, references))
    if not prompts:
        raise RlvetInputError(f"{path}: no prompts (expected one JSON object per line with a "
                              "'prompt' field)")
    return prompts, total


# ------------------------------------------------------------------- the child's side


def reward_style(fn: Callable[..., Any]) -> str:
    """``"trl"`` for ``f(prompts, completions, **kwargs)``, else ``"pair"`` (``f(p, r)``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return PAIR
    if "completions" in params or "prompts" in params:
        return TRL
    positional = [p for p in params.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    has_kwargs = any(p.kind == p.VAR_KEYWORD for p in params.values())
    return TRL if has_kwargs and not positional else PAIR


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _as_score(value: Any, style: str) -> float:
    """The reward's return value as one finite float, or ValueError naming what came back."""
    if style == TRL:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 1:
            raise ValueError(f"expected a list of 1 float for 1 completion, got {value!r:.80}")
        value = value[0]
    if hasattr(value, "item") and not isinstance(value, (list, tuple)):
        value = value.item()  # numpy / torch scalar
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r:.80}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Unit:
    """One reward call: a response to one prompt, in the shapes the reward may want.

    Attributes:
        index: the prompt's index; label: the strategy, or ``reference``.
        prompt: the prompt text (a plain reward's first argument).
        response: the response text (a plain reward's second argument).
        extras: the prompt's other fields (TRL-style keyword lists; ``reset``'s keywords).
        chat_prompt: a conversational prompt's messages (a TRL reward's ``prompts`` item).
        chat_completion: the completion as messages, for a conversational prompt.
    """

    index: int
    label: str
    prompt: str
    response: str
    extras: Mapping[str, Any]
    chat_prompt: Messages | None = None
    chat_completion: Messages | None = None

    def trl_arguments(self) -> tuple[Any, Any]:
        """``(prompt, completion)`` as TRL hands them to a reward: text, or messages."""
        if self.chat_prompt is None:
            return self.prompt, self.response
        completion = self.chat_completion or tuple(assistant_turn(self.response))
        return list(self.chat_prompt), list(completion)

    def env_prompt(self) -> Any:
        """What ``reset(prompt=...)`` gets: the prompt as the file holds it."""
        return self.prompt if self.chat_prompt is None else list(self.chat_prompt)


Scored = tuple[int, str, float | None, str | None, str, EnvRun | None]
"""(prompt index, label, score or None, failure kind or None, detail, env replay or None)."""


def _takes_environments(fn: Callable[..., Any]) -> bool:
    """Whether a TRL-style reward can receive ``environments=[env]`` as TRL passes it."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "environments" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


class _RewardHandler:
    """The sandbox child's handler: import the reward once, score units one call each.

    Yields ``(index, label, score, None, "", env)`` or ``(index, label, None, kind, detail,
    env)`` with kind ``raised`` (the reward raised) or ``bad_value`` (it returned no
    number). With an env spec every unit is first replayed in the env (``probe_env``) and
    a TRL-style reward gets ``environments=[env]``, as TRL passes its environments.
    """

    def __init__(self, spec: str, env_spec: str | None = None) -> None:
        self.spec = spec
        self.env_spec = env_spec
        self._fn: Callable[..., Any] | None = None
        self._env: EnvSession | None = None

    def _load(self, hb: Heartbeat) -> Callable[..., Any]:
        if self._fn is None:
            from rlvet.envcheck.spec import load_callable

            self._fn = hb.call(UserCall.LOAD, load_callable, self.spec)
            if self.env_spec is not None:
                self._env = EnvSession(hb.call(UserCall.LOAD, load_callable, self.env_spec))
        return self._fn

    def __call__(self, hb: Heartbeat, request: str, /, **kwargs: Any) -> Any:
        fn = self._load(hb)
        if request == "style":
            return reward_style(fn)
        return self._score(hb, fn, kwargs["units"], kwargs["style"])

    def _call(self, hb: Heartbeat, fn: Callable[..., Any], unit: Unit, style: str,
              env: Any) -> Any:
        if style != TRL:
            return hb.call(UserCall.REWARD, fn, unit.prompt, unit.response)
        prompt, completion = unit.trl_arguments()
        columns = {k: [v] for k, v in unit.extras.items()}
        if env is not None and _takes_environments(fn):
            columns["environments"] = [env]
        return hb.call(UserCall.REWARD, fn, prompts=[prompt], completions=[completion],
                       **columns)

    def _score(self, hb: Heartbeat, fn: Callable[..., Any], units: Sequence[Unit],
               style: str) -> Iterator[Scored]:
        for unit in units:
            run, env = None, None
            if self._env is not None:
                run = self._env.run(hb, unit.env_prompt(), unit.extras, unit.response)
                env = self._env.env(hb)
            try:
                raw = self._call(hb, fn, unit, style, env)
            except Exception as exc:
                yield unit.index, unit.label, None, "raised", _one_line(exc), run
                continue
            try:
                yield unit.index, unit.label, _as_score(raw, style), None, "", run
            except ValueError as exc:
                yield unit.index, unit.label, None, "bad_value", str(exc), run


# ------------------------------------------------------------------ the parent's side


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeConfig:
    """One probe.

    Attributes:
        reward: ``module:callable`` or ``file.py:callable``.
        prompts: the prompts JSONL file.
        references: the field holding each prompt's reference answer, if any.
        share: the share of the reference level that makes a strategy an error.
        seed: seeds the strategies' random text (same seed, same responses).
        timeout_s: wall-clock budget of one reward call (and at least a minute to import).
        max_prompts: the first this many prompts are probed.
        env: ``module:callable`` or ``file.py:callable``, a no-argument factory of a
            ``probe_env.ProbeEnv``: every response is replayed in it and a reward paid
            without ``succeeded(state)`` is pseudo-success. None: text only.
    """

    reward: str
    prompts: Path
    references: str | None = None
    share: float = DEFAULT_SHARE
    seed: int = 0
    timeout_s: float = 30.0
    max_prompts: int = 100
    env: str | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.share, (int, float)) and 0 < self.share <= 1):
            raise RlvetInputError(f"--share: expected a number in (0, 1], got {self.share!r}")
        check_range("--max-prompts", self.max_prompts, low=1, high=MAX_PROBE_PROMPTS)
        Limits(call_s=self.timeout_s)  # validates the budget (RlvetInputError)


@dataclass(frozen=True, slots=True)
class GraderError:
    """One reward call that gave no score: raised, bad_value, hung, died or out_of_memory."""

    prompt: int
    label: str
    kind: str
    detail: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """What one probe found.

    Attributes:
        result: the command result (``command == "reward-probe"``).
        prompts: the probed prompts.
        responses: (prompt index, strategy) -> response text.
        scores: (prompt index, strategy or ``reference``) -> reward.
        errors: the reward calls that gave no score.
        env_runs: (prompt index, label) -> what the response did in the env (``--env``).
    """

    result: CommandResult
    prompts: tuple[ProbePrompt, ...]
    responses: Mapping[tuple[int, str], str]
    scores: Mapping[tuple[int, str], float]
    errors: tuple[GraderError, ...]
    env_runs: Mapping[tuple[int, str], EnvRun] = field(default_factory=dict)


@dataclass(slots=True)
class _Scoring:
    scores: dict[tuple[int, str], float] = field(default_factory=dict)
    errors: list[GraderError] = field(default_factory=list)
    env_runs: dict[tuple[int, str], EnvRun] = field(default_factory=dict)
    hard_failures: int = 0
    skipped: int = 0
    style: str = PAIR


def _hard_failure(units: Sequence[Unit], done: int, failure: Failure) -> GraderError:
    index, label = (units[done].index, units[done].label) if done < len(units) else (-1, "")
    return GraderError(index, label, str(failure.kind), failure.detail, failure.to_evidence())


def _score_units(box: Sandbox, units: list[Unit], state: _Scoring) -> None:
    pending = units
    while pending:
        if state.hard_failures >= MAX_HARD_FAILURES:
            state.skipped += len(pending)
            return
        outcome = box.call("score", units=pending, style=state.style)
        for index, label, score, kind, detail, run in outcome.items:
            if run is not None:
                state.env_runs[(index, label)] = run
            if score is None:
                state.errors.append(GraderError(index, label, str(kind), detail))
            else:
                state.scores[(index, label)] = score
        if outcome.failure is None:
            return
        done = len(outcome.items)
        state.errors.append(_hard_failure(pending, done, outcome.failure))
        state.hard_failures += 1
        if outcome.failure.call in (UserCall.LOAD, UserCall.BUILD):
            state.hard_failures = MAX_HARD_FAILURES  # the import itself hangs or dies
        pending = pending[done + 1:]


def _units(prompts: Sequence[ProbePrompt], seed: int
           ) -> tuple[dict[tuple[int, str], str], list[list[Unit]]]:
    responses: dict[tuple[int, str], str] = {}
    batches: list[list[Unit]] = []
    for i, p in enumerate(prompts):
        batch: list[Unit] = []
        if p.reference is not None:
            batch.append(Unit(i, REFERENCE, p.prompt, p.reference, dict(p.extras),
                              p.messages, p.reference_messages))
        for name, text in adversarial_responses(p.prompt, seed=seed).items():
            responses[(i, name)] = text
            batch.append(Unit(i, name, p.prompt, text, dict(p.extras), p.messages))
        batches.append(batch)
    return responses, batches


def _score_all(config: ProbeConfig, prompts: Sequence[ProbePrompt],
               batches: Sequence[list[Unit]]) -> _Scoring:
    state = _Scoring()
    limits = Limits(call_s=config.timeout_s, setup_s=max(config.timeout_s, 60.0))
    with Sandbox(_RewardHandler(config.reward, config.env), limits=limits) as box:
        style = box.call("style")
        if style.failure is not None:
            state.errors.append(GraderError(-1, "", str(style.failure.kind),
                                            style.failure.detail, style.failure.to_evidence()))
            state.hard_failures = MAX_HARD_FAILURES
            state.skipped = sum(len(b) for b in batches)
            return state
        state.style = style.value
        for batch in batches:
            _score_units(box, batch, state)
    return state


# ------------------------------------------------------------------------- judging


@dataclass(frozen=True, slots=True)
class _Level:
    source: str  # "references:FIELD" or "strategies"
    level: float  # the reference level
    floor: float  # shares are measured from here
    per_prompt: Mapping[int, float]  # prompt index -> its reference score


def _reference_level(config: ProbeConfig, scores: Mapping[tuple[int, str], float]
                     ) -> _Level | None:
    values = list(scores.values())
    if not values:
        return None
    floor = min(0.0, min(values))
    refs = {i: s for (i, label), s in scores.items() if label == REFERENCE}
    best = max((s for (_, label), s in scores.items() if label != REFERENCE), default=floor)
    if config.references is not None and refs:
        level = sum(refs.values()) / len(refs)
        if level > floor or best <= floor:
            return _Level(f"references:{config.references}", level, floor, refs)
        # the references are not paid, yet some no-knowledge response is: judge against it
        return _Level(f"strategies (references:{config.references} unpaid)", best, floor, {})
    return _Level("strategies", best, floor, {})


def _share(score: float, top: float, floor: float) -> float | None:
    if top <= floor:
        return None
    return (score - floor) / (top - floor)


def _cut(text: str) -> str:
    return text if len(text) <= EVIDENCE_CHARS else text[:EVIDENCE_CHARS] + "..."


def _env_evidence(env_runs: Mapping[tuple[int, str], EnvRun] | None,
                  key: tuple[int, str]) -> dict[str, Any]:
    run = env_runs.get(key) if env_runs is not None else None
    return run.to_evidence() if run is not None else {}


def _env_split(got: list[tuple[int, float]], name: str,
               env_runs: Mapping[tuple[int, str], EnvRun] | None
               ) -> tuple[list[tuple[int, float]], dict[str, int]]:
    """Drop the prompts where the env says the response did the task: that pay is earned.

    Returns the rest and the counts for the row (empty without ``--env``)."""
    if env_runs is None:
        return got, {}
    done = {i for i, _ in got if (r := env_runs.get((i, name))) is not None and r.succeeded}
    rest = [(i, s) for i, s in got if i not in done]
    not_done = sum(1 for i, _ in rest
                   if (r := env_runs.get((i, name))) is not None and r.succeeded is False)
    return rest, {"env_succeeded": len(done), "env_not_succeeded": not_done}


def _strategy_rows(prompts: Sequence[ProbePrompt], responses: Mapping[tuple[int, str], str],
                   scores: Mapping[tuple[int, str], float], level: _Level, share: float,
                   env_runs: Mapping[tuple[int, str], EnvRun] | None = None
                   ) -> list[dict[str, Any]]:
    rows = []
    for strategy in STRATEGIES:
        got = sorted(((i, s) for (i, label), s in scores.items() if label == strategy.name),
                     key=lambda t: (-t[1], t[0]))
        got, env_counts = _env_split(got, strategy.name, env_runs)
        if not got:
            continue
        mean = sum(s for _, s in got) / len(got)
        paid = [i for i, s in got
                if (p := _share(s, level.per_prompt.get(i, level.level), level.floor))
                is not None and p >= share]
        examples = [{"prompt_id": prompts[i].id, "line": prompts[i].line,
                     "prompt": _cut(prompts[i].prompt),
                     "response": _cut(responses[(i, strategy.name)]), "score": s,
                     **({"reference_score": level.per_prompt[i]}
                        if i in level.per_prompt else {}),
                     **_env_evidence(env_runs, (i, strategy.name))}
                    for i, s in got[:EXAMPLES]]
        rows.append({"strategy": strategy.name, "tests": strategy.tests, "prompts": len(got),
                     "mean": mean, "max": got[0][1],
                     "share": _share(mean, level.level, level.floor),
                     "paid_prompts": len(paid), **env_counts, "examples": examples})
    return rows


def _exploit_finding(row: Mapping[str, Any], level: _Level, share: float) -> Finding | None:
    ratio = row["share"]
    if ratio is None:
        return None
    if ratio >= share:
        severity = Severity.ERROR
    elif ratio >= PARTIAL_SHARE or row["paid_prompts"]:
        severity = Severity.WARNING
    else:
        return None
    where = ("the reference answers' mean" if level.source.startswith("references")
             else "the best no-knowledge score")
    paid = (f"the no-knowledge response '{row['strategy']}' earns {row['mean']:.3g} on "
            f"average, {ratio:.0%} of {where} {level.level:.3g}, and full credit on "
            f"{row['paid_prompts']} of {row['prompts']} prompts")
    pseudo = row["strategy"] in AGENTIC and row.get("env_not_succeeded", 0) > 0
    if pseudo:
        message = (f"{paid}, while the environment's succeeded(state) is False on "
                   f"{row['env_not_succeeded']} of the {row['prompts']}: pseudo-success, the "
                   f"reward checks {row['tests']}, not the environment's state")
    else:
        message = (f"{paid}: the reward checks {row['tests']}, so a policy can collect it "
                   "without solving the task")
    evidence = {k: row[k] for k in ("strategy", "prompts", "mean", "max", "share",
                                    "paid_prompts", "env_succeeded", "env_not_succeeded",
                                    "examples") if k in row}
    evidence.update(reference_level=level.level, reference_source=level.source,
                    floor=level.floor, error_share=share)
    if "env_not_succeeded" in row:
        evidence["pseudo_success"] = pseudo
    return Finding.of(Category.REWARD_EXPLOIT, check=f"reward.probe.{row['strategy']}",
                      message=message, severity=severity, evidence=evidence,
                      remedy=remedy_of(Category.PSEUDO_SUCCESS) if pseudo else None)


def _env_findings(config: ProbeConfig, state: _Scoring, level: _Level | None,
                  rows: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Without ``--env``: paid agentic responses could not be checked against any state.
    With it: the replays the env raised on (scored, but not checked)."""
    if config.env is None:
        paid = [r["strategy"] for r in rows
                if r["strategy"] in AGENTIC and level is not None and r["max"] > level.floor]
        if not paid:
            return []
        return [Finding.of(Category.INSUFFICIENT_EVIDENCE, check="reward.probe.agentic_state",
                           stage=Stage.REWARD,
                           message=f"the reward pays the agentic no-knowledge responses "
                           f"{', '.join(paid)} and they were scored as text only: without "
                           "--env the probe cannot tell whether the reward checks the "
                           "environment's state before paying a claimed completion",
                           evidence={"strategies": paid},
                           remedy="give --env SPEC (a factory of an object with reset, step "
                           "and succeeded) to replay these responses in the environment")]
    failed = sorted((key, run) for key, run in state.env_runs.items() if run.error)
    if not failed:
        return []
    (_, label), first = failed[0]
    examples = [{"strategy": lab, "error": run.error} for (_, lab), run in failed[:EXAMPLES]]
    return [Finding.of(Category.HARNESS_FAILURE, check="reward.probe.env_raised",
                       severity=Severity.WARNING,
                       message=f"the env (--env) raised on {len(failed)} of "
                       f"{len(state.env_runs)} replays, first on '{label}' ({first.error}): "
                       "those responses were scored but not checked against its state",
                       evidence={"replays": len(state.env_runs), "raised": len(failed),
                                 "examples": examples},
                       remedy="make reset, step and succeeded total: an unknown tool name or "
                       "bad arguments should leave the state unchanged (the policy will send "
                       "them), not raise")]


def _failure_findings(state: _Scoring, prompts: Sequence[ProbePrompt],
                      responses: Mapping[tuple[int, str], str]) -> list[Finding]:
    out = []
    by_kind: dict[tuple[str, bool], list[GraderError]] = {}
    for err in state.errors:  # a hang or death inside reset/step is the env's, not the reward's
        by_kind.setdefault((err.kind, err.evidence.get("call") in _ENV_CALLS), []).append(err)
    for (kind, in_env), errors in by_kind.items():
        first = errors[0]
        examples = [{"prompt_id": prompts[e.prompt].id if e.prompt >= 0 else None,
                     "strategy": e.label, "detail": e.detail,
                     "response": _cut(responses.get((e.prompt, e.label), "")), **e.evidence}
                    for e in errors[:EXAMPLES]]
        what = {"raised": "raised", "bad_value": "returned no usable number",
                str(FailureKind.HUNG): "hung (killed after its budget)",
                str(FailureKind.DIED): "killed its process",
                str(FailureKind.OUT_OF_MEMORY): "ran out of memory"}.get(kind, kind)
        effect = "stalls or kills" if kind in _HARD_KINDS else "crashes"
        message = (f"the {'env (--env)' if in_env else 'reward'} {what} on {len(errors)} "
                   f"call(s), first on '{first.label or 'import'}' ({first.detail}): in "
                   f"training this {effect} the step")
        category, check = ((Category.HARNESS_FAILURE, f"reward.probe.env_{kind}") if in_env
                           else (Category.GRADER_FAILURE, f"reward.probe.grader_{kind}"))
        out.append(Finding.of(category, check=check, message=message,
                              evidence={"failure": kind, "calls": len(errors),
                                        "skipped_calls": state.skipped, "examples": examples}))
    return out


def _level_findings(level: _Level | None, rows: Sequence[Mapping[str, Any]]) -> list[Finding]:
    if level is None:
        return [Finding.of(Category.INSUFFICIENT_EVIDENCE, check="reward.probe.no_scores",
                           stage=Stage.REWARD,
                           message="the reward returned no score for any response: nothing "
                           "could be judged")]
    if level.source.startswith("strategies (references"):
        return [_unpaid_references(level)]
    if level.level > level.floor:
        return []
    if level.source != "strategies":
        return [_unpaid_references(level)]
    return [Finding.of(Category.INSUFFICIENT_EVIDENCE, check="reward.probe.constant",
                       stage=Stage.REWARD,
                       message=f"every no-knowledge response scored {level.level:.3g}; without "
                       "--references the probe cannot tell whether that is full marks",
                       evidence={"level": level.level, "strategies": len(rows)})]


def _unpaid_references(level: _Level) -> Finding:
    return Finding.of(Category.REWARD_DIRECTION, check="reward.probe.reference_unpaid",
                      severity=Severity.WARNING,
                      message=f"the reference answers score no more than {level.floor:.3g}, "
                      "the lowest score any response got: the reward does not pay correct "
                      "answers (is --references the right field, and are the references in "
                      "the format the reward parses?)",
                      evidence={"reference_source": level.source, "floor": level.floor})


def _env_metrics(config: ProbeConfig, state: _Scoring) -> dict[str, Any]:
    if config.env is None:
        return {"checked": False, "why": "no --env: agentic responses scored as text only"}
    runs = state.env_runs
    refs = [r for (_, label), r in runs.items() if label == REFERENCE]
    return {"checked": True, "spec": config.env, "replays": len(runs),
            "succeeded": sum(r.succeeded is True for r in runs.values()),
            "not_succeeded": sum(r.succeeded is False for r in runs.values()),
            "raised": sum(bool(r.error) for r in runs.values()),
            "references_succeeded": sum(r.succeeded is True for r in refs),
            "references": len(refs)}


def run_probe(config: ProbeConfig) -> ProbeOutcome:
    """Score every strategy's response on every prompt and judge what the reward pays for.

    Raises:
        RlvetInputError: an unreadable prompts file, a bad option, or a reward spec that
            cannot be imported (the import runs in the child; its error comes back here).

    Example:
        >>> cfg = ProbeConfig(reward="grader.py:reward", prompts=Path("prompts.jsonl"),
        ...                   references="answer")  # doctest: +SKIP
        >>> run_probe(cfg).result.verdict  # doctest: +SKIP
        'fail'
    """
    prompts, total = read_prompts(config.prompts, references=config.references,
                                  max_prompts=config.max_prompts)
    responses, batches = _units(prompts, config.seed)
    state = _score_all(config, prompts, batches)
    level = _reference_level(config, state.scores)
    env_runs = state.env_runs if config.env is not None else None
    rows = (_strategy_rows(prompts, responses, state.scores, level, config.share, env_runs)
            if level else [])
    exploits = [f for row in rows if level and (f := _exploit_finding(row, level, config.share))]
    exploits.sort(key=lambda f: (Severity(f.severity).rank, -float(f.evidence["share"])))
    findings = (*_failure_findings(state, prompts, responses), *_level_findings(level, rows),
                *_env_findings(config, state, level, rows),
                *exploits)
    warnings = ([f"{config.prompts}: probed the first {len(prompts)} of {total} prompts "
                 "(--max-prompts)"] if total > len(prompts) else [])
    metrics = {
        "prompts": len(prompts), "prompts_in_file": total, "seed": config.seed,
        "signature": state.style, "error_share": config.share, "warning_share": PARTIAL_SHARE,
        "reference": None if level is None else {
            "source": level.source, "level": level.level, "floor": level.floor},
        "strategies": [{k: v for k, v in row.items() if k != "examples"} for row in rows],
        "grader": {"scored": len(state.scores), "errors": len(state.errors),
                   "hard_failures": state.hard_failures, "skipped": state.skipped,
                   "timeout_s": config.timeout_s},
        "conversational_prompts": sum(p.conversational for p in prompts),
        "env": _env_metrics(config, state),
        "warnings": warnings,
    }
    result = CommandResult(command="reward-probe", target=f"{config.reward} on {config.prompts}",
                           findings=tuple(findings), metrics=metrics)
    return ProbeOutcome(result=result, prompts=tuple(prompts), responses=responses,
                        scores=dict(state.scores), errors=tuple(state.errors),
                        env_runs=dict(state.env_runs))
