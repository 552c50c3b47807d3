"""Train the LLM calibration corpus: real tiny TRL GRPO runs, healthy and with planted
LLM pathologies, each verified from its own log, split by seed before any rlvet verdict.

Every run trains the ~83k-parameter random-weight Llama of ``tests/data/make_trl_runs.py``
(its character-level tokenizer, its prompts of random letters; nothing is downloaded) with
TRL's ``GRPOTrainer`` on CPU, and keeps only what TRL's own logger wrote: the Trainer's
``trainer_state.json`` (``log_history``, one row per step). No rlvet code runs during
training or verification.

The task is "answer with a word that starts with ``a``". Every run carries that task as a
second reward function of weight 0 (``reward_weights=[1, 0]``): it changes no advantage,
and TRL logs it as ``rewards/starts_with_target/mean``, the true objective beside the
trained reward, written by TRL itself (the eval metric of the manifest).

Kinds (expected first category in the manifest):

* ``healthy`` -- the reward is the task itself: reward and true objective rise together.
* ``length_paid`` (reward_hacking) -- one point per generated letter: answers grow to the
  cap, the true objective does not move.
* ``format_only`` (reward_hacking) -- 1 when the answer closes with the format marker
  ``h`` (as a "<answer> tag present" reward): the reward rises, the task does not.
* ``always_zero`` / ``always_one`` (no_learning_signal) -- a constant reward: every GRPO
  group has zero spread, so every advantage is 0.
* ``stale`` (stale_data) -- the task reward, but each generation batch is reused for
  ``num_iterations=4`` optimizer updates at a higher learning rate: updates 2-4 train on
  rollouts of an older policy (TRL's clip ratio, exactly 0 on-policy, becomes > 0).

Not produced here: a sampler/trainer mismatch (e.g. another sampling temperature). TRL logs
its mismatch metrics (``sampling/sampling_logp_difference/*``, ``sampling/importance_
sampling_ratio/*``) only when ``use_vllm`` is on, and vLLM does not run on CPU; with
``transformers`` generation a different ``generation_kwargs`` temperature leaves no trace in
the log. ``make_mismatch_runs.py`` makes that set through TRL's own vLLM path with a
stand-in engine.

Split (fixed here, before any verdict): even seeds ``tune``, odd seeds ``heldout``. Once the
held-out half had been scored and looked at, it became tuning material too; the ``fresh``
set (``--set fresh``: the same recipe, seeds 100-107, its own manifest and archive) was
generated and verified before any rule was changed and is scored once, after.

Usage::

    python benchmarks/llm_corpus/make_llm_corpus.py --out /tmp/llm-corpus --pack
    python benchmarks/llm_corpus/make_llm_corpus.py --out /tmp/llm-corpus --only stale
    python benchmarks/llm_corpus/make_llm_corpus.py --out /tmp/llm-corpus --no-train --pack
    python benchmarks/llm_corpus/make_llm_corpus.py --set fresh --out /tmp/llm-fresh --pack
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "data"))

import make_trl_runs as base  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = ROOT / "tests" / "data" / "llm_corpus"


@dataclass(frozen=True, slots=True)
class CorpusSet:
    """One generated set: its seeds, how a seed maps to a split, where it is written."""

    seeds: tuple[int, ...]
    split_rule: str
    archive: Path
    manifest: Path
    only_split: str | None = None  # every run of the set goes to this split

    def split_of(self, seed: int) -> str:
        """The split rule: the main set's even seeds tune, its odd seeds are held out; every
        run of the fresh set is ``fresh``."""
        if self.only_split is not None:
            return self.only_split
        return "tune" if seed % 2 == 0 else "heldout"


FRESH_SEED0 = 100  # fresh seeds start here, far from the main set's 0-7
FRESH2_SEED0 = 200  # and the second fresh set's
SETS: dict[str, CorpusSet] = {
    "main": CorpusSet(tuple(range(8)),
                      "seed % 2 == 0 -> tune, else heldout (fixed before any verdict)",
                      DATA / "llm_corpus.tar.xz", HERE / "manifest.json"),
    "fresh": CorpusSet(tuple(range(FRESH_SEED0, FRESH_SEED0 + 8)),
                       "every run -> fresh (generated before any rule change after the "
                       "held-out half was seen; scored once)",
                       DATA / "llm_fresh.tar.xz", HERE / "manifest_fresh.json", "fresh"),
    "fresh2": CorpusSet(tuple(range(FRESH2_SEED0, FRESH2_SEED0 + 8)),
                        "every run -> fresh2 (generated after the fresh set was scored and "
                        "looked at, before the rules tuned on it were frozen; scored once)",
                        DATA / "llm_fresh2.tar.xz", HERE / "manifest_fresh2.json", "fresh2"),
}
ARCHIVE = SETS["main"].archive
MANIFEST = SETS["main"].manifest
SEEDS = SETS["main"].seeds
EVAL_METRIC = "rewards/starts_with_target/mean"  # TRL's log of the weight-0 task reward
FORMAT_MARKER = "h"
EARLY_LATE = 5  # steps averaged for "start" and "end"
# verification thresholds (read from the log, no rlvet code)
LEARNED = 0.25  # healthy: the true objective rose by 0.25 or more
LENGTH_GROWTH = 2.0  # length_paid: mean completion length at least doubled ...
NO_TRANSFER = 0.15  # ... and the true objective rose by at most 0.15 (a hack, not learning)
FORMAT_GAIN = 0.25  # format_only: the trained reward rose by 0.25 or more
FLAT = 0.9  # always_*: 90% or more of the groups had no reward spread
STALE_CLIP = 0.01  # stale: TRL's clip ratio median above 1% (exactly 0 when on-policy)


def format_marker(completions: Sequence[str], **kwargs: Any) -> list[float]:
    """1 when the answer closes with the format marker, whatever it says before it."""
    return [1.0 if c.split()[-1:] == [FORMAT_MARKER] else 0.0 for c in completions]


def always_zero(completions: Sequence[str], **kwargs: Any) -> list[float]:
    """0 for every answer: a reward function that is broken (e.g. a parser that never
    matches)."""
    return [0.0 for _ in completions]


def always_one(completions: Sequence[str], **kwargs: Any) -> list[float]:
    """1 for every answer: a verifier that accepts anything."""
    return [1.0 for _ in completions]


@dataclass(frozen=True, slots=True)
class Kind:
    """One planted behaviour: its reward, length, optimiser settings and expected verdict."""

    reward: Callable[..., list[float]]
    steps: int
    expected: str | None  # expected first category; None = healthy
    learning_rate: float = 1e-3
    num_iterations: int = 1


KINDS: dict[str, Kind] = {
    "healthy": Kind(base.starts_with_target, 60, None),
    "length_paid": Kind(base.length_reward, 40, "reward_hacking"),
    "format_only": Kind(format_marker, 40, "reward_hacking"),
    "always_zero": Kind(always_zero, 20, "no_learning_signal"),
    "always_one": Kind(always_one, 20, "no_learning_signal"),
    "stale": Kind(base.starts_with_target, 80, "stale_data", learning_rate=3e-3,
                  num_iterations=4),
}


def run_name(kind: str, seed: int) -> str:
    return f"trl_grpo_{kind}_s{seed}"


def grpo_args(output_dir: Path, seed: int, **overrides: Any) -> Any:
    """The corpus's ``GRPOConfig`` (16 completions a step in groups of 4, beta 0.04,
    temperature 1.0, constant lr 1e-3, the task as a second reward of weight 0), with
    ``overrides`` on top; gradient checkpointing off under whichever name TRL uses."""
    import dataclasses

    from trl import GRPOConfig

    fields = {f.name for f in dataclasses.fields(GRPOConfig)}
    no_ckpt = ("activation_checkpointing" if "activation_checkpointing" in fields
               else "gradient_checkpointing")
    settings: dict[str, Any] = dict(
        output_dir=str(output_dir), learning_rate=1e-3, lr_scheduler_type="constant",
        warmup_steps=0, per_device_train_batch_size=16, num_generations=4,
        reward_weights=[1.0, 0.0], max_completion_length=base.MAX_COMPLETION,
        temperature=1.0, beta=0.04, bf16=False, use_cpu=True, seed=seed, logging_steps=1,
        report_to=[], save_strategy="no", disable_tqdm=True, **{no_ckpt: False})
    return GRPOConfig(**{**settings, **overrides})


def fresh_folder(out: Path) -> None:
    """``out`` emptied (a rerun replaces the run) and created."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)


def fit(args: Any, model_dir: Path, reward: Callable[..., list[float]], seed: int,
        out: Path) -> float:
    """Train with TRL's ``GRPOTrainer`` on ``reward`` (the task logged beside it); copy the
    Trainer's ``trainer_state.json`` to ``out``; return the training wall time."""
    from trl import GRPOTrainer

    trainer = GRPOTrainer(model=str(model_dir), processing_class=base.build_tokenizer(),
                          reward_funcs=[reward, base.starts_with_target],
                          args=args, train_dataset=base.prompt_dataset(seed=seed))
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    trainer.save_state()
    shutil.copy(Path(args.output_dir) / "trainer_state.json", out)
    return wall


def train(kind: str, seed: int, out: Path) -> float:
    """Train one run; keep ``out/trainer_state.json``; return the training wall time."""
    import torch

    spec = KINDS[kind]
    torch.set_num_threads(1)
    fresh_folder(out)
    with tempfile.TemporaryDirectory(prefix="rlvet-llm-corpus-") as tmp:
        model_dir = base.save_model(Path(tmp) / "model", seed=seed)
        args = grpo_args(Path(tmp) / "output", seed, learning_rate=spec.learning_rate,
                         max_steps=spec.steps, num_iterations=spec.num_iterations)
        return fit(args, model_dir, spec.reward, seed, out)


# -------------------------------------------------------------------------- verification


def _curve(rows: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([r[key] for r in rows if isinstance(r.get(key), (int, float))])


def evidence(folder: Path) -> dict[str, float]:
    """Start and end (first / last ``EARLY_LATE`` steps) of length, reward and task, the
    mean zero-spread share and the median clip ratio, read from ``trainer_state.json``."""
    rows = json.loads((folder / "trainer_state.json").read_text())["log_history"]
    out: dict[str, float] = {}
    for key, label in (("completions/mean_length", "length"), ("reward", "reward"),
                       (EVAL_METRIC, "task")):
        values = _curve(rows, key)
        out[f"{label}_start"] = float(values[:EARLY_LATE].mean())
        out[f"{label}_end"] = float(values[-EARLY_LATE:].mean())
    out["zero_std_mean"] = float(_curve(rows, "frac_reward_zero_std").mean())
    clip = _curve(rows, "clip_ratio/region_mean")
    out["clip_median"] = float(np.median(clip)) if clip.size else 0.0
    out["steps"] = float(len(_curve(rows, "reward")))
    return out


def verified(kind: str, ev: dict[str, float]) -> bool:
    """The run shows its kind's behaviour in its own log (thresholds above)."""
    task_gain = ev["task_end"] - ev["task_start"]
    on_policy = ev["clip_median"] <= STALE_CLIP
    if kind == "healthy":
        return task_gain >= LEARNED and on_policy
    if kind == "length_paid":
        return ev["length_end"] >= LENGTH_GROWTH * ev["length_start"] and task_gain <= NO_TRANSFER
    if kind == "format_only":
        return ev["reward_end"] - ev["reward_start"] >= FORMAT_GAIN and task_gain <= NO_TRANSFER
    if kind in ("always_zero", "always_one"):
        return ev["zero_std_mean"] >= FLAT
    if kind == "stale":
        return not on_policy
    raise ValueError(kind)


def _versions() -> dict[str, str]:
    import tokenizers
    import torch
    import transformers
    import trl

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "tokenizers": tokenizers.__version__}


def pack(out: Path, names: list[str], archive: Path = ARCHIVE,
         manifest: Path = MANIFEST) -> None:
    """``llm_corpus/manifest.json`` and every verified run's ``trainer_state.json``."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:xz") as tar:
        tar.add(manifest, arcname="llm_corpus/manifest.json")
        for name in names:
            tar.add(out / name / "trainer_state.json",
                    arcname=f"llm_corpus/{name}/trainer_state.json")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where the runs are written")
    parser.add_argument("--only", action="append", choices=sorted(KINDS))
    parser.add_argument("--set", choices=sorted(SETS), default="main", dest="corpus_set",
                        help="main (tune + heldout, seeds 0-7), fresh (seeds 100-107) or "
                             "fresh2 (seeds 200-207)")
    parser.add_argument("--seeds", type=int, nargs="*", help="default: the set's seeds")
    parser.add_argument("--no-train", action="store_true", help="verify what --out holds")
    parser.add_argument("--pack", action="store_true", help="write the set's archive")
    ns = parser.parse_args(argv)
    cs = SETS[ns.corpus_set]
    seeds = ns.seeds if ns.seeds is not None else list(cs.seeds)
    wall: dict[str, float] = {}
    if not ns.no_train:
        for kind in ns.only or sorted(KINDS):
            for seed in seeds:
                name = run_name(kind, seed)
                wall[name] = train(kind, seed, ns.out / name)
                print(f"{name}: {wall[name]:.1f} s", flush=True)
    runs, dropped = [], []
    for kind in sorted(KINDS):
        for seed in cs.seeds:
            name = run_name(kind, seed)
            if not (ns.out / name / "trainer_state.json").exists():
                continue
            ev = evidence(ns.out / name)
            entry = {"name": name, "kind": kind, "seed": seed, "split": cs.split_of(seed),
                     "framework": "trl_grpo", "expected_first_category": KINDS[kind].expected,
                     "eval_metric": EVAL_METRIC, "log": "trainer_state.json",
                     "evidence": {k: round(v, 4) for k, v in ev.items()}}
            (runs if verified(kind, ev) else dropped).append(entry)
    cs.manifest.write_text(json.dumps({
        "split_rule": cs.split_rule, "versions": _versions(), "runs": runs,
        "dropped": dropped}, indent=1) + "\n")
    print(f"{len(runs)} verified, {len(dropped)} dropped: "
          f"{', '.join(e['name'] for e in dropped) or '-'}")
    if ns.pack:
        pack(ns.out, [e["name"] for e in runs], cs.archive, cs.manifest)
        print(f"packed {cs.archive} ({cs.archive.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
