"""Spot-check sets: the samples a person should read before trusting the reward.

Contents:
    SPOT_TOP, SPOT_BOTTOM, SPOT_RANDOM -- how many of each kind to pick.
    PREVIEW_CHARS -- response preview length in the command's metrics.
    select_spot_check(samples, table, seed) -- records for the latest step's highest-reward,
        lowest-reward and random samples, each with why it was picked and its side metrics.
    preview(records) -- the same records with truncated text, for JSON/HTML metrics.
    write_spot_check(path, records) -- the review file (JSONL), written atomically.

Why: every practitioner guide to RLHF/GRPO says to *read* completions -- reward hacking is
obvious in the text long before it is obvious in the curves. The highest-reward samples
show what the reward really pays for; the lowest show what it punishes; random ones show
what the policy does most of the time. The random draw uses its own seeded generator:
the same seed picks the same samples.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlvet.atomic import write_text_atomic
from rlvet.reward import text
from rlvet.reward.samples import Sample
from rlvet.reward.table import SIDE_METRICS, SampleTable

__all__ = ["PREVIEW_CHARS", "SPOT_BOTTOM", "SPOT_RANDOM", "SPOT_TOP", "preview",
           "select_spot_check", "write_spot_check"]

SPOT_TOP = 5  # highest reward: what the reward really pays for
SPOT_BOTTOM = 5  # lowest reward: what it punishes
SPOT_RANDOM = 5  # random: what the policy does most of the time
PREVIEW_CHARS = 300  # enough to recognise a loop or a bare format; the file has it all


def _side(table: SampleTable, i: int, sample: Sample) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in SIDE_METRICS:
        value = float(table.get(name)[i])
        if np.isfinite(value):
            out[name] = value
    if sample.response is not None:
        out["format_markers"] = list(text.format_markers(sample.response))
    return out


def _record(sample: Sample, table: SampleTable, i: int, pick: str, why: str) -> dict[str, Any]:
    return {
        "pick": pick, "why": why, "id": sample.id, "step": sample.step, "line": sample.line,
        "reward": sample.reward, "eval_score": sample.eval_score,
        "human_score": sample.human_score,
        "components": {k: v if np.isfinite(v) else None for k, v in sample.components.items()},
        "claimed_success": sample.claimed_success, "final_state_ok": sample.final_state_ok,
        "side_metrics": _side(table, i, sample), "group": sample.group,
        "prompt": sample.prompt, "response": sample.response,
        "tool_calls": None if sample.tool_calls is None else list(sample.tool_calls),
    }


def select_spot_check(samples: Sequence[Sample], table: SampleTable, *, seed: int = 0,
                      top: int = SPOT_TOP, bottom: int = SPOT_BOTTOM,
                      random: int = SPOT_RANDOM) -> list[dict[str, Any]]:
    """The latest step's ``top`` highest-reward, ``bottom`` lowest-reward and ``random``
    other samples (no sample twice; a step with fewer samples is split in thirds), as
    JSON-ready records.

    Args:
        samples: the run, in file order (``table`` was built from it).
        table: its columns (for the side metrics).
        seed: seeds the random pick; same seed and input, same records.

    Example:
        >>> records = select_spot_check(samples, build_table(samples), seed=0)  # doctest: +SKIP
        >>> records[0]["pick"]  # doctest: +SKIP
        'highest_reward'
    """
    latest = int(table.steps.max())
    rows = np.flatnonzero(table.steps == latest)
    order = rows[np.argsort(-table.get("reward")[rows], kind="stable")]
    n = order.size
    third = math.ceil(n / 3)  # a small step is split evenly: every kind gets some
    picked_top = order[: min(top, third if n < top + bottom + random else n)]
    rest = order[picked_top.size:]
    picked_bottom = rest[::-1][: min(bottom, third if n < top + bottom + random else n)]
    remaining = np.setdiff1d(rows, np.concatenate([picked_top, picked_bottom]))
    rng = np.random.default_rng(seed)
    picked_random = np.sort(rng.choice(remaining, size=min(random, remaining.size),
                                       replace=False)) if remaining.size else remaining
    records = []
    for rank, i in enumerate(picked_top, 1):
        records.append(_record(samples[i], table, int(i), "highest_reward",
                               f"highest reward, rank {rank} of {n} at step {latest}: "
                               "does it deserve it?"))
    for rank, i in enumerate(picked_bottom, 1):
        records.append(_record(samples[i], table, int(i), "lowest_reward",
                               f"lowest reward, rank {rank} from the bottom of {n} at step "
                               f"{latest}: is it really bad?"))
    for i in picked_random:
        records.append(_record(samples[i], table, int(i), "random",
                               f"random sample of step {latest} (seed {seed}): what the "
                               "policy usually does"))
    return records


def preview(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with prompt/response cut to ``PREVIEW_CHARS`` and tool calls counted."""
    out = []
    for r in records:
        short = dict(r)
        for key in ("prompt", "response"):
            value = r.get(key)
            if isinstance(value, str) and len(value) > PREVIEW_CHARS:
                short[key] = value[:PREVIEW_CHARS] + " [...]"
        short.pop("tool_calls", None)
        out.append(short)
    return out


def write_spot_check(path: str | Path, records: Sequence[dict[str, Any]]) -> None:
    """One JSON object per line, written to a temp file and renamed (never half a file).

    Raises:
        RlvetInputError: the file cannot be written.
    """
    target = Path(path)
    body = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
    write_text_atomic(target, body, what="spot-check file")
