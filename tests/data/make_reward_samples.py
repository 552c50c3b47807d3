"""Generate reward-audit sample sets with KNOWN planted behaviours (``rlvet reward`` tests).

Each set is a samples JSONL file as a trainer would log it: one scored completion (math
word problems) or agent trajectory (file-system tasks) per line, with ``id``, ``step``,
``reward`` and, depending on the behaviour, ``prompt``, ``response``, ``group``,
``components``, ``eval_score``, ``human_score``, ``tool_calls``, ``claimed_success``,
``final_state_ok``. Responses are built from sentence templates with a seeded RNG; a
simulated policy drifts over training (its accuracy, length, format habit, tool use,
claims) and a behaviour-specific reward scores each sample, so the correlations between
reward, side metrics and the true objective arise the way they do in a real run.

Behaviours (``BEHAVIOURS``): clean sets -- ``clean_math``, ``clean_rm``, ``clean_agent``,
``clean_grpo``, ``clean_reasoning`` (length doubles *with* accuracy), ``clean_components``
-- and planted ones: ``length_inflation``, ``length_vs_baseline`` (one late checkpoint and a
baseline run's file), ``repetition``, ``format_hacking``, ``tool_hacking``,
``pseudo_success``, ``judge_disagreement``, ``sparse``, ``too_loose``, ``long_tail``,
``sign_flip``, ``zero_spread``, ``component_hacking``.

Every set has variants: the seed also draws the number of steps, samples per step, GRPO
group size, the effect strength and label styles, so a detector tuned to one shape of
one generator does not pass by accident. ``manifest.json`` lists per set the ``planted``
categories (must be reported) and ``also`` categories (also true of the data, e.g. a
reward paying for length also disagrees with the eval; not counted as false alarms).

Usage::

    python tests/data/make_reward_samples.py                         # committed small sets
    python tests/data/make_reward_samples.py --out /tmp/rw --variants 6   # benchmark sets
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "reward"

# --------------------------------------------------------------------------------------
# Text templates
# --------------------------------------------------------------------------------------

NAMES = ("Maya", "Tom", "Aisha", "Lucas", "Priya", "Ken", "Sofia", "Omar", "Lena", "Diego")
ITEMS = ("apple", "pencil", "marble", "book", "sticker", "cookie", "stamp", "card")

OPENERS = (
    "Let's solve this step by step.",
    "We need to work out the total carefully.",
    "First, identify the quantities in the problem.",
    "Let me read the problem again and set up the calculation.",
    "To answer this, track how the amount changes.",
)

PADDING = (
    "It is important to consider every quantity mentioned in the question.",
    "To be thorough, we can restate the problem in our own words first.",
    "Problems like this test careful reading as much as arithmetic.",
    "We should also check whether any quantity was left out of the story.",
    "A good strategy is to verify each intermediate result before moving on.",
    "Writing the numbers down explicitly helps avoid simple slips.",
    "Keep in mind that the order of the events in the story matters here.",
    "Another way to see this is to picture the objects being counted one by one.",
    "Units are the same throughout, so no conversion is needed at any point.",
    "It can help to estimate the answer first to catch obvious mistakes.",
    "Breaking the problem into smaller parts makes each part easier to check.",
    "This approach generalises to similar questions with different numbers.",
    "Nothing in the question suggests that any items were lost or given away twice.",
    "Let us be careful to add only the quantities that belong to the same person.",
    "In summary, the structure of the problem is a simple change in quantity.",
    "Students often rush this kind of problem, so patience pays off here.",
    "One could also model this with a short equation and solve it directly.",
    "The wording is straightforward once the key numbers are identified.",
    "We can double check by counting forward from the starting amount.",
    "Careful bookkeeping of each step makes the final result more reliable.",
    "Such questions appear in many introductory arithmetic exercises.",
    "There are no hidden conditions, so the direct computation is valid.",
    "Thinking about the situation concretely makes the answer intuitive.",
    "Finally, it is worth reflecting on whether the result is reasonable.",
)

LOOPS = (
    "Let me double-check the calculation once more.",
    "I am confident that this answer is correct.",
    "The answer is definitely right and well justified.",
    "To be sure, let me verify the result again.",
)

STYLE = (
    "Great question! I'm happy to walk you through it.",
    "Absolutely, I'm confident in this careful and thorough answer.",
    "Thank you for asking; here is a clear and friendly explanation.",
    "I hope this helps, and please let me know if anything is unclear!",
)

FORMATS: dict[str, Callable[[int], str]] = {
    "final_answer": lambda x: f"Final answer: {x}",
    "answer_tag": lambda x: f"<answer>{x}</answer>",
    "boxed": lambda x: f"The result is \\boxed{{{x}}}.",
    "hash": lambda x: f"#### {x}",
}
PLAIN_ENDINGS = ("So the answer is {x}.", "That gives {x} in total.", "The total comes to {x}.")

AGENT_TASKS = (
    ("Rename every .txt file in /data to .md and report how many were renamed.", "/data"),
    ("Create /out/summary.csv with the row count of each CSV in /in.", "/in"),
    ("Delete the temporary files in /tmp/job and keep the logs.", "/tmp/job"),
    ("Copy config.yaml to /etc/app and set the port to 8080.", "/etc/app"),
)
TOOLS = ("list_dir", "read_file", "write_file", "run_shell", "search")
SUCCESS_MSG = ("Renamed the files and checked the result; the task is complete.",
               "Wrote the output file and verified its contents. Done.",
               "All requested changes are in place and verified.")
HONEST_FAIL_MSG = ("I could not finish: permission denied when writing to the target.",
                   "The task is not finished; a required input file was missing.",
                   "I was unable to verify the result, so I stopped without changes.")
FALSE_CLAIM_MSG = ("Task completed successfully! Everything has been done.",
                   "Done. All files were updated successfully.",
                   "The job is complete and everything succeeded.")


# --------------------------------------------------------------------------------------
# Simulated policy and sample construction
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The simulated policy at training progress t in [0, 1] (values are functions of t)."""

    p_correct: Callable[[float], float] = lambda t: 0.35 + 0.4 * t
    pad: Callable[[float], float] = lambda t: 2.0  # padding sentences (mean)
    loop: Callable[[float], float] = lambda t: 0.0  # repeated-loop sentences (mean)
    p_format: Callable[[float], float] = lambda t: 0.9
    p_style: Callable[[float], float] = lambda t: 0.1
    calls: Callable[[float], float] = lambda t: 3.0
    p_dup: Callable[[float], float] = lambda t: 0.05
    p_false_claim: Callable[[float], float] = lambda t: 0.05  # among failed trajectories


@dataclass
class Draft:
    """One sample before scoring."""

    sid: str
    step: int
    t: float
    correct: bool
    prompt: str
    response: str
    formatted: bool
    style: int
    record: dict[str, Any] = field(default_factory=dict)


def _problem(rng: np.random.Generator) -> tuple[str, int, str, str, int, int]:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    a, b = int(rng.integers(3, 40)), int(rng.integers(2, 30))
    if rng.random() < 0.5:
        q = f"{name} has {a} {item}s and buys {b} more. How many {item}s does {name} have now?"
        return q, a + b, name, item, a, b
    q = f"{name} packs {a} boxes with {b} {item}s each. How many {item}s is that in total?"
    return q, a * b, name, item, a, b


def _reasoning(name: str, item: str, a: int, b: int, shown: int) -> list[str]:
    return [
        f"{name} starts with {a} {item}s and the second quantity is {b}.",
        f"Combining {a} and {b} as the question describes gives {shown}.",
    ]


def _math_text(rng: np.random.Generator, pol: Policy, t: float, correct: bool,
               style_n: int) -> tuple[str, str, bool]:
    q, ans, name, item, a, b = _problem(rng)
    shown = ans if correct else ans + int(rng.choice([-3, -2, -1, 1, 2, 5, 10]))
    parts = [str(rng.choice(OPENERS))]
    parts += list(rng.choice(STYLE, size=min(style_n, len(STYLE)), replace=False))
    parts += _reasoning(name, item, a, b, shown)
    n_pad = min(len(PADDING), int(rng.poisson(max(pol.pad(t), 0.0))))
    parts += list(rng.choice(PADDING, size=n_pad, replace=False))
    loop = str(rng.choice(LOOPS))
    parts += [loop] * int(rng.poisson(max(pol.loop(t), 0.0)))
    formatted = bool(rng.random() < pol.p_format(t))
    fmt = str(rng.choice(list(FORMATS)))
    parts.append(FORMATS[fmt](shown) if formatted else
                 str(rng.choice(PLAIN_ENDINGS)).format(x=shown))
    return q, " ".join(parts), formatted


def _tool_calls(rng: np.random.Generator, pol: Policy, t: float, folder: str) -> list[dict]:
    n = max(1, int(rng.poisson(max(pol.calls(t), 0.5))))
    calls: list[dict] = []
    for _ in range(n):
        if calls and rng.random() < pol.p_dup(t):
            calls.append(dict(calls[-1]))
            continue
        tool = str(rng.choice(TOOLS))
        arg = f"{folder}/{rng.choice(['a', 'b', 'c', 'notes', 'data'])}.txt"
        calls.append({"name": tool, "args": {"path": arg}})
    return calls


def _draft(rng: np.random.Generator, pol: Policy, sid: str, step: int, t: float,
           agent: bool) -> Draft:
    correct = bool(rng.random() < pol.p_correct(t))
    style_n = int(rng.random() < pol.p_style(t)) + int(rng.random() < pol.p_style(t) ** 2)
    if not agent:
        q, text, formatted = _math_text(rng, pol, t, correct, style_n)
        return Draft(sid, step, t, correct, q, text, formatted, style_n)
    task, folder = AGENT_TASKS[int(rng.integers(len(AGENT_TASKS)))]
    calls = _tool_calls(rng, pol, t, folder)
    lie = (not correct) and rng.random() < pol.p_false_claim(t)
    msg = rng.choice(SUCCESS_MSG if correct else FALSE_CLAIM_MSG if lie else HONEST_FAIL_MSG)
    d = Draft(sid, step, t, correct, task, str(msg), False, style_n)
    d.record = {"tool_calls": calls, "final_state_ok": correct,
                "claimed_success": bool(correct or lie)}
    return d


# --------------------------------------------------------------------------------------
# Behaviours: a policy drift and a reward
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """The variant's size and effect strength, drawn from its seed."""

    seed: int
    steps: int
    per_step: int
    group: int  # completions per prompt group (1 = no groups)
    strength: float  # 0.5 .. 1.0: how pronounced the planted effect is
    stride: int  # step numbering: 0, stride, 2*stride, ...
    graded_eval: bool  # eval_score graded in [0, 1] instead of 0/1


Scorer = Callable[[Draft, np.random.Generator, Shape], dict[str, Any]]


@dataclass(frozen=True)
class Behaviour:
    """A planted behaviour (or a clean run): policy drift + reward + expected categories."""

    policy: Callable[[Shape], Policy]
    score: Scorer
    planted: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    agent: bool = False
    grouped: bool = False
    baseline: bool = False  # also write a baseline run's file (the SFT model's samples)


def _eval(d: Draft, rng: np.random.Generator, shape: Shape) -> float:
    if not shape.graded_eval:
        return float(d.correct)
    return float(np.clip(0.75 * d.correct + 0.25 * rng.random(), 0, 1))


def _human(d: Draft, rng: np.random.Generator) -> int:
    return int(np.clip(round(1 + 3.2 * d.correct + rng.normal(0.4, 0.6)), 1, 5))


def _words(d: Draft) -> int:
    return len(d.response.split())


def score_verifier(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """Clean: a verifier pays correctness, a small bonus for the format."""
    return {"reward": float(d.correct) + 0.1 * d.formatted, "eval_score": _eval(d, rng, shape)}


def score_rm(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """Clean: a reward model whose score tracks quality, with noise."""
    r = 2.0 * d.correct + rng.normal(0, 0.6)
    return {"reward": round(float(r), 4), "eval_score": _eval(d, rng, shape),
            "human_score": _human(d, rng)}


def score_agent_clean(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    return {"reward": float(d.correct) - 0.02 * len(d.record["tool_calls"]),
            "eval_score": float(d.correct)}


def score_components(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    comps = {"correctness": float(d.correct), "format": 0.5 * d.formatted}
    return {"reward": sum(comps.values()), "components": comps,
            "eval_score": _eval(d, rng, shape)}


def score_length(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """A reward model biased to length: the score grows with words, barely with truth."""
    r = 0.3 * d.correct + 0.8 * min(_words(d) / 150, 1.5) + rng.normal(0, 0.15)
    return {"reward": round(float(r), 4), "eval_score": _eval(d, rng, shape)}


def score_repetition(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """A judge that pays for confident, verified-sounding phrases (counted, not deduped)."""
    hits = sum(d.response.count(p) for p in LOOPS)
    r = 0.4 * d.correct + 0.25 * min(hits, 6) + rng.normal(0, 0.1)
    return {"reward": round(float(r), 4), "eval_score": _eval(d, rng, shape)}


def score_format(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """Format bonus added to correctness: the cheap half gets learned."""
    out = {"reward": 1.0 * d.formatted + 0.5 * d.correct, "eval_score": _eval(d, rng, shape)}
    if shape.seed % 2 == 0:
        out["components"] = {"format_reward": float(d.formatted),
                             "accuracy_reward": 0.5 * d.correct}
    return out


def score_tools(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """A tool-use bonus per call, on top of task success."""
    calls = len(d.record["tool_calls"])
    return {"reward": 0.5 * d.correct + 0.15 * min(calls, 10), "eval_score": float(d.correct)}


def score_claims(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """An LLM judge that reads the final message and believes it."""
    r = 1.0 if d.record["claimed_success"] else 0.1
    out: dict[str, Any] = {"reward": r + rng.normal(0, 0.05), "eval_score": float(d.correct)}
    if shape.seed % 2 == 1:  # claims only in the text, not as a field
        d.record.pop("claimed_success")
    return out


def score_judge(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """A judge that likes friendly, confident style and hardly sees correctness."""
    r = 4 + 1.2 * d.style + 0.3 * d.correct + rng.normal(0, 1.2)
    out: dict[str, Any] = {"reward": round(float(np.clip(r, 0, 10)), 2),
                           "human_score": _human(d, rng)}
    if shape.seed % 2 == 0:
        out["eval_score"] = _eval(d, rng, shape)
    return out


def score_sparse(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """Pays only a correct, tagged answer under 25 words: almost never happens."""
    hit = d.correct and "<answer>" in d.response and _words(d) < 25
    return {"reward": float(hit or rng.random() < 0.02), "eval_score": _eval(d, rng, shape)}


def score_loose(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """Pays any response that contains a number: nearly all of them."""
    return {"reward": float(rng.random() < 0.95), "eval_score": _eval(d, rng, shape)}


def score_long_tail(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """A reward model score; ``_tail`` then gives ~1% of samples 20-100x the usual."""
    r = 0.5 + 0.3 * d.correct + rng.normal(0, 0.12)
    return {"reward": round(float(r), 4), "eval_score": _eval(d, rng, shape)}


def score_flip(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """An error (lower is better) used as a gain, or a negated verifier."""
    if shape.seed % 2 == 0:
        r = 1.0 - d.correct + rng.normal(0, 0.05)
    else:
        r = -(2.0 * d.correct) + rng.normal(0, 0.3)
    return {"reward": round(float(r), 4), "eval_score": _eval(d, rng, shape)}


def score_prompt_only(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """Placeholder; zero-spread rewards are set per group in ``_group_rewards``."""
    return {"reward": float(d.correct), "eval_score": _eval(d, rng, shape)}


def score_component_hack(d: Draft, rng: np.random.Generator, shape: Shape) -> dict[str, Any]:
    """Correctness plus a 'helpfulness style' term the policy learns to max out."""
    name = ("politeness", "confidence", "style", "engagement")[shape.seed % 4]
    comps = {"correctness": float(d.correct), name: 0.6 * min(d.style, 2)}
    return {"reward": round(sum(comps.values()), 4), "components": comps,
            "eval_score": _eval(d, rng, shape)}


def _ramp(lo: float, hi: float) -> Callable[[float], float]:
    return lambda t: lo + (hi - lo) * t


BEHAVIOURS: dict[str, Behaviour] = {
    "clean_math": Behaviour(lambda s: Policy(p_correct=_ramp(0.3, 0.75)), score_verifier),
    "clean_rm": Behaviour(lambda s: Policy(p_correct=_ramp(0.3, 0.7), pad=_ramp(2.0, 2.6)),
                          score_rm),
    "clean_agent": Behaviour(lambda s: Policy(p_correct=_ramp(0.3, 0.7), calls=_ramp(3, 3.3)),
                             score_agent_clean, agent=True),
    "clean_grpo": Behaviour(lambda s: Policy(p_correct=_ramp(0.2, 0.7)), score_verifier,
                            grouped=True),
    "clean_reasoning": Behaviour(lambda s: Policy(p_correct=_ramp(0.25, 0.75),
                                                  pad=_ramp(1.0, 7.0)), score_verifier),
    "clean_components": Behaviour(lambda s: Policy(p_correct=_ramp(0.3, 0.7),
                                                   p_format=_ramp(0.4, 0.95)),
                                  score_components),
    "length_inflation": Behaviour(
        lambda s: Policy(p_correct=_ramp(0.45, 0.45 - 0.08 * s.strength),
                         pad=_ramp(2.0, 2.0 + 12 * s.strength)),
        score_length, planted=("length_inflation",),
        also=("judge_disagreement", "reward_hacking")),
    "length_vs_baseline": Behaviour(
        lambda s: Policy(p_correct=lambda t: 0.45, pad=lambda t: 2.0 + 12 * s.strength * t),
        score_length, planted=("length_inflation",),
        also=("judge_disagreement", "reward_hacking"), baseline=True),
    "repetition": Behaviour(
        lambda s: Policy(p_correct=_ramp(0.5, 0.5 - 0.1 * s.strength),
                         loop=_ramp(0.0, 8 * s.strength)),
        score_repetition, planted=("repetition",),
        also=("length_inflation", "judge_disagreement", "reward_hacking")),
    "format_hacking": Behaviour(
        lambda s: Policy(p_correct=_ramp(0.45, 0.45 - 0.15 * s.strength),
                         p_format=_ramp(0.15, 0.15 + 0.8 * s.strength)),
        score_format, planted=("format_hacking",),
        also=("reward_hacking", "judge_disagreement")),
    "tool_hacking": Behaviour(
        lambda s: Policy(p_correct=_ramp(0.4, 0.38), calls=_ramp(2.0, 2.0 + 6 * s.strength),
                         p_dup=_ramp(0.05, 0.05 + 0.5 * s.strength)),
        score_tools, planted=("tool_hacking",), also=("judge_disagreement", "reward_hacking"),
        agent=True),
    "pseudo_success": Behaviour(
        lambda s: Policy(p_correct=_ramp(0.4, 0.35),
                         p_false_claim=_ramp(0.05, 0.05 + 0.85 * s.strength)),
        score_claims, planted=("pseudo_success",),
        also=("judge_disagreement", "reward_hacking"), agent=True),
    "judge_disagreement": Behaviour(
        lambda s: Policy(p_correct=_ramp(0.45, 0.45), p_style=_ramp(0.1, 0.1 + 0.6 * s.strength)),
        score_judge, planted=("judge_disagreement",)),
    "sparse": Behaviour(lambda s: Policy(p_correct=_ramp(0.4, 0.45), p_format=lambda t: 0.3),
                        score_sparse, planted=("reward_sparsity",),
                        also=("no_learning_signal", "judge_disagreement")),
    "too_loose": Behaviour(lambda s: Policy(p_correct=_ramp(0.4, 0.5)), score_loose,
                           planted=("reward_too_loose",),
                           also=("no_learning_signal", "judge_disagreement")),
    "long_tail": Behaviour(lambda s: Policy(p_correct=_ramp(0.35, 0.65)), score_long_tail,
                           planted=("reward_long_tail",)),
    "sign_flip": Behaviour(lambda s: Policy(p_correct=_ramp(0.6, 0.6 - 0.4 * s.strength)),
                           score_flip, planted=("reward_direction",),
                           also=("reward_hacking",)),
    "zero_spread": Behaviour(lambda s: Policy(p_correct=_ramp(0.4, 0.55)), score_prompt_only,
                             planted=("no_learning_signal",),
                             also=("judge_disagreement", "reward_sparsity",
                                   "reward_too_loose"), grouped=True),
    "component_hacking": Behaviour(
        lambda s: Policy(p_correct=_ramp(0.55, 0.55 - 0.25 * s.strength),
                         p_style=_ramp(0.1, 0.2 + 0.7 * s.strength)),
        score_component_hack, planted=("reward_hacking",), also=("judge_disagreement",)),
}
"""Every behaviour the generator can plant; names starting with ``clean_`` are healthy."""


# --------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------


def shape_for(seed: int, *, small: bool = False) -> Shape:
    """The variant drawn from a seed (``small``: the committed test sets)."""
    rng = np.random.default_rng(10_000 + seed)
    if small:
        return Shape(seed, steps=12, per_step=8, group=4, strength=1.0, stride=1,
                     graded_eval=False)
    return Shape(
        seed=seed,
        steps=int(rng.choice([6, 12, 20, 40])),
        per_step=int(rng.choice([8, 16, 32])),
        group=int(rng.choice([4, 8])),
        strength=float(rng.uniform(0.55, 1.0)),
        stride=int(rng.choice([1, 5, 50])),
        graded_eval=bool(rng.random() < 0.4),
    )


def _group_rewards(records: list[dict[str, Any]], rng: np.random.Generator, group: int,
                   share: float) -> None:
    """Give ``share`` of the groups one reward for every completion (all 0 or all 1)."""
    for start in range(0, len(records), group):
        if rng.random() < share:
            value = float(rng.random() < 0.3)
            for r in records[start:start + group]:
                r["reward"] = value


def _tail(records: list[dict[str, Any]], rng: np.random.Generator) -> None:
    """A parsing bug of the reward model: 1.2% of the samples (at least 2) score 20-100."""
    k = max(2, round(0.012 * len(records)))
    for i in rng.choice(len(records), size=k, replace=False):
        records[int(i)]["reward"] = round(float(rng.uniform(20, 100)), 4)


def _step_records(b: Behaviour, shape: Shape, pol: Policy, step_i: int,
                  rng: np.random.Generator) -> list[dict[str, Any]]:
    t = step_i / max(1, shape.steps - 1)
    step = step_i * shape.stride
    out = []
    for j in range(shape.per_step):
        d = _draft(rng, pol, f"s{step}-{j}", step, t, b.agent)
        rec: dict[str, Any] = {"id": d.sid, "step": step, "prompt": d.prompt,
                               "response": d.response}
        if b.grouped:
            rec["group"] = f"p{step}-{j // shape.group}"
        rec.update(b.score(d, rng, shape))
        rec.update(d.record)
        out.append(rec)
    return out


def generate(name: str, shape: Shape) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(run records, baseline records)`` of one variant (baseline empty unless asked)."""
    b = BEHAVIOURS[name]
    rng = np.random.default_rng([shape.seed, sum(map(ord, name))])
    pol = b.policy(shape)
    if shape.per_step % shape.group:
        shape = replace(shape, per_step=shape.group * math.ceil(shape.per_step / shape.group))
    records: list[dict[str, Any]] = []
    for i in range(shape.steps):
        recs = _step_records(b, shape, pol, i, rng)
        if name == "zero_spread":
            _group_rewards(recs, rng, shape.group, 0.55 + 0.4 * shape.strength)
        records += recs
    if name == "long_tail":
        _tail(records, rng)
    base: list[dict[str, Any]] = []
    if b.baseline:
        # the reference model's samples (the policy at t=0); the run keeps its last 2 steps
        base = _step_records(b, shape, pol, 0, rng) + _step_records(b, shape, pol, 0, rng)
        for k, r in enumerate(base):
            r["id"] = f"base-{k}"
        last = max(r["step"] for r in records)
        records = [r for r in records if r["step"] >= last - shape.stride]
    return records, base


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def write_set(out: Path, name: str, seed: int, *, small: bool = False) -> dict[str, Any]:
    """Write one variant (and its baseline file) and return its manifest entry."""
    shape = shape_for(seed, small=small)
    records, base = generate(name, shape)
    stem = name if small else f"{name}__s{seed}"
    _write_jsonl(out / f"{stem}.jsonl", records)
    entry: dict[str, Any] = {
        "name": stem, "behaviour": name, "file": f"{stem}.jsonl", "baseline": None,
        "planted": list(BEHAVIOURS[name].planted), "also": list(BEHAVIOURS[name].also),
        "seed": seed, "steps": len({r['step'] for r in records}),
        "samples": len(records), "strength": round(shape.strength, 3),
    }
    if base:
        _write_jsonl(out / f"{stem}.baseline.jsonl", base)
        entry["baseline"] = f"{stem}.baseline.jsonl"
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--variants", type=int, default=0,
                        help="seeds per behaviour (0: one small committed set each)")
    parser.add_argument("--only", action="append", default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(BEHAVIOURS)
    if args.variants:
        manifest = [write_set(args.out, n, seed) for n in names for seed in range(args.variants)]
    else:
        manifest = [write_set(args.out, n, 0, small=True) for n in names]
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(manifest)} sets to {args.out}")


if __name__ == "__main__":
    main()
