"""Train two tiny GRPO runs with TRL on CPU and keep what rlvet reads from them.

Both runs train the same ~83k-parameter Llama, built from a config with random weights and
a character-level tokenizer built in code (nothing is downloaded), on prompts of random
letters, with ``RlvetTrlCallback`` and ``SampleRecorder`` attached:

* ``length_paid`` -- the reward pays one point per generated letter. The true objective
  (``eval_score``: the answer starts with the target letter ``a``) is not paid for, so the
  policy learns to stop emitting end-of-sequence: answers grow ~3x and get no better.
  ``rlvet reward`` must name ``length_inflation`` (an error: the hacking triad).
* ``sane`` -- the reward is the true objective itself (starts with ``a``): the reward
  and ``eval_score`` rise together; neither ``rlvet reward`` nor ``rlvet doctor`` may
  report an error.

Three more runs plant zero-variance groups (GRPO groups whose four completions all got
the same reward, so their advantages are 0 and their compute taught nothing); only their
scalar logs are kept (no ``samples.jsonl``):

* ``too_hard`` -- the reward pays only the exact answer ``abcdefgh``, which a random policy
  never writes: every group fails entirely (``frac_reward_zero_std`` ~1).
* ``too_easy`` -- the reward pays any answer: every group is solved entirely (~1).
* ``partly_flat`` -- the reward pays an answer starting with ``a`` or ``b`` and the
  learning rate is too small to move the policy: ~(7/9)^4 = 37% of the groups fail
  entirely all run long, a steady waste rather than no signal at all.

The true objective is "starts with", not "contains", the target letter: a longer answer
contains any letter more often, so "contains" would rise with length and hide the hack.

The tokenizer decodes with a space between characters (no decoder is set), so a
completion of n letters is n whitespace tokens: the reward audit's length unit and TRL's
``completions/mean_length`` (which also counts the end-of-sequence token) agree.

Written under ``<out>/<name>/``:

* ``run/trainer_state.json`` -- the Trainer's ``log_history`` (``trainer.save_state()``);
* ``run/rlvet.jsonl`` -- the callback's metrics log (the same values, rlvet's format);
* ``samples.jsonl`` -- every scored completion, for ``rlvet reward``; outside ``run/``
  because ``rlvet doctor`` reads every ``*.jsonl`` below the folder it is given;

and ``<out>/manifest.json`` with each run's evidence (computed from its logs and checked:
a run that does not show its behaviour makes the script exit 1), its training wall time,
the number and cost of the callback's live verdicts, and the library versions.

Usage::

    python tests/data/make_trl_runs.py                 # all runs, ~80 s on 1 core
    python tests/data/make_trl_runs.py --out /tmp/trl --only sane
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "trl_runs"
SEED = 0
LETTERS = "abcdefgh"  # 8 letters + end-of-sequence: a random policy stops after ~9 tokens
TARGET = "a"
EOS = "<eos>"
N_PROMPTS = 64
MAX_COMPLETION = 48  # room to grow ~4x from the random policy's ~12 tokens
EARLY_LATE = 5  # steps averaged for "start" and "end" in the checks
LENGTH_GROWTH = 2.0  # length_paid: mean completion length at least doubled ...
EVAL_GAIN_MAX = 0.15  # ... while the share of answers starting with the target did not rise
SANE_GAIN = 0.25  # sane: the reward (= the true objective) rose by 0.25 or more
FLAT_ALL = 0.9  # too_hard / too_easy: 90% or more of the groups had no reward spread
FLAT_PART = (0.2, 0.5)  # partly_flat: a fifth to a half of the groups, on average


def length_reward(completions: Sequence[str], **kwargs: Any) -> list[float]:
    """One point per generated letter: the reward that pays for length."""
    return [float(len(c.split())) for c in completions]


def starts_with_target(completions: Sequence[str], **kwargs: Any) -> list[float]:
    """1 when the answer starts with the target letter: the task (and the true objective)."""
    return [1.0 if c.split()[:1] == [TARGET] else 0.0 for c in completions]


def exact_answer(completions: Sequence[str], **kwargs: Any) -> list[float]:
    """1 only for the exact answer ``abcdefgh``: a random policy never finds it."""
    return [1.0 if c.split() == list(LETTERS) else 0.0 for c in completions]


def any_answer(completions: Sequence[str], **kwargs: Any) -> list[float]:
    """1 for every answer, even an empty one: there is nothing left to learn."""
    return [1.0 for _ in completions]


def starts_with_a_or_b(completions: Sequence[str], **kwargs: Any) -> list[float]:
    """1 when the answer starts with ``a`` or ``b``: 2 letters of 9 tokens."""
    return [1.0 if c.split()[:1] in (["a"], ["b"]) else 0.0 for c in completions]


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run: the reward it is trained on and how long.

    Attributes:
        name: folder name under the output directory.
        reward: the TRL reward function trained on.
        steps: optimizer steps (one generation batch of 16 completions each).
        learning_rate: Adam's step size; TRL's default 1e-6 moves an 83k model nowhere.
        keep_samples: keep ``samples.jsonl`` (the zero-variance runs keep scalars only).
    """

    name: str
    reward: Callable[..., list[float]]
    steps: int
    learning_rate: float = 1e-3
    keep_samples: bool = True


RUNS: dict[str, RunSpec] = {
    "length_paid": RunSpec("length_paid", length_reward, steps=40),
    "sane": RunSpec("sane", starts_with_target, steps=60),
    "too_hard": RunSpec("too_hard", exact_answer, steps=20, keep_samples=False),
    "too_easy": RunSpec("too_easy", any_answer, steps=20, keep_samples=False),
    "partly_flat": RunSpec("partly_flat", starts_with_a_or_b, steps=30, learning_rate=1e-6,
                           keep_samples=False),
}


# --------------------------------------------------------------------------------------
# The tiny model, its tokenizer and the prompts -- all built in code
# --------------------------------------------------------------------------------------


def build_tokenizer() -> Any:
    """A character-level fast tokenizer: one token per letter, ``<eos>`` also pads.

    Unknown characters map to ``<eos>`` (the prompts use only ``LETTERS``).
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {EOS: 0, **{c: i + 1 for i, c in enumerate(LETTERS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token=EOS))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS)


def build_model(vocab_size: int, seed: int = SEED) -> Any:
    """A 2-layer Llama of ~83k parameters with random weights."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                         max_position_embeddings=128, bos_token_id=None, eos_token_id=0,
                         pad_token_id=0, tie_word_embeddings=True)
    return LlamaForCausalLM(config)


def save_model(folder: Path, seed: int = SEED) -> Path:
    """Save the tiny model and tokenizer to ``folder`` and return it.

    Why a folder: with ``beta > 0`` GRPOTrainer builds its reference model from the
    model's name or path, which an in-memory model does not have.
    """
    tokenizer = build_tokenizer()
    model = build_model(len(tokenizer), seed)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def prompt_dataset(n: int = N_PROMPTS, seed: int = SEED) -> Any:
    """``n`` prompts of 3-6 random letters (the task ignores them: start with ``a``)."""
    from datasets import Dataset

    rng = random.Random(seed)
    prompts = ["".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 6)))
               for _ in range(n)]
    return Dataset.from_dict({"prompt": prompts})


def grpo_config(output_dir: Path, spec: RunSpec) -> Any:
    """TRL's defaults overridden for a tiny CPU run.

    No bf16 and no gradient checkpointing (GRPOConfig's defaults, for GPUs), a learning
    rate that moves a random 83k model, ``beta > 0`` so ``kl`` is logged (TRL's default 0
    logs none), a log row per step, nothing reported elsewhere and nothing saved but the
    final state.
    """
    import dataclasses

    from trl import GRPOConfig

    # transformers 5 renamed gradient_checkpointing (now a deprecated alias that warns)
    fields = {f.name for f in dataclasses.fields(GRPOConfig)}
    no_checkpointing = ("activation_checkpointing" if "activation_checkpointing" in fields
                        else "gradient_checkpointing")
    return GRPOConfig(
        output_dir=str(output_dir), learning_rate=spec.learning_rate,
        lr_scheduler_type="constant", warmup_steps=0, max_steps=spec.steps,
        per_device_train_batch_size=16, num_generations=4,
        max_completion_length=MAX_COMPLETION, temperature=1.0, beta=0.04,
        bf16=False, use_cpu=True, seed=SEED, logging_steps=1, report_to=[],
        save_strategy="no", disable_tqdm=True, **{no_checkpointing: False})


@dataclass(frozen=True, slots=True)
class Trained:
    """Where one run's outputs went, how long training took, and the callback used."""

    run_dir: Path
    samples: Path
    wall_s: float
    global_step: int
    callback: Any


def train_run(spec: RunSpec, out: Path, *, stop_on_error: bool = False,
              policy: Any = None) -> Trained:
    """Train one run; write ``out/run/{trainer_state.json,rlvet.jsonl}`` and ``out/samples.jsonl``.

    Args:
        spec: the run.
        out: its folder (replaced if it exists).
        stop_on_error: passed to ``RlvetTrlCallback``.
        policy: its ``LivePolicy`` (None: the default).
    """
    import torch
    from trl import GRPOTrainer

    from rlvet.integrations.trl import EVAL_METRIC, RlvetTrlCallback, SampleRecorder

    torch.set_num_threads(1)
    if out.exists():
        shutil.rmtree(out)
    run_dir = out / "run"
    run_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="rlvet-trl-") as tmp:
        model_dir = save_model(Path(tmp) / "model")
        args = grpo_config(Path(tmp) / "output", spec)
        recorder = SampleRecorder(out / "samples.jsonl", eval_func=starts_with_target,
                                  num_generations=args.num_generations)
        callback = RlvetTrlCallback(run_dir / "rlvet.jsonl", eval_metric=EVAL_METRIC,
                                    recorder=recorder, stop_on_error=stop_on_error,
                                    policy=policy)
        trainer = GRPOTrainer(model=str(model_dir), processing_class=build_tokenizer(),
                              reward_funcs=recorder.wrap([spec.reward]), args=args,
                              train_dataset=prompt_dataset(), callbacks=[callback])
        start = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - start
        trainer.save_state()
        shutil.copy(Path(args.output_dir) / "trainer_state.json", run_dir)
    return Trained(run_dir, out / "samples.jsonl", wall, int(trainer.state.global_step),
                   callback)


# --------------------------------------------------------------------------------------
# Checks: does the run show its behaviour? (from the logs, not from rlvet's verdict)
# --------------------------------------------------------------------------------------


def _curve(rows: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([r[key] for r in rows if isinstance(r.get(key), (int, float))])


def evidence(run_dir: Path, samples: Path) -> dict[str, float]:
    """Start and end (means of the first and last ``EARLY_LATE`` logged steps) of the mean
    completion length, the reward and the true objective, plus the per-sample eval rates."""
    rows = json.loads((run_dir / "trainer_state.json").read_text())["log_history"]
    out: dict[str, float] = {}
    for key, label in (("completions/mean_length", "length"), ("reward", "reward"),
                       ("rlvet/eval_score", "eval")):
        values = _curve(rows, key)
        out[f"{label}_start"] = float(values[:EARLY_LATE].mean())
        out[f"{label}_end"] = float(values[-EARLY_LATE:].mean())
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    steps = sorted({r["step"] for r in records})
    early = set(steps[:EARLY_LATE])
    late = set(steps[-EARLY_LATE:])
    for name, chosen in (("early", early), ("late", late)):
        scores = [r["eval_score"] for r in records if r["step"] in chosen]
        out[f"eval_rate_{name}"] = float(np.mean(scores))
    out["samples"] = float(len(records))
    zero_std = _curve(rows, "frac_reward_zero_std")
    out["zero_std_mean"] = float(zero_std.mean())
    return out


def shows_behaviour(name: str, ev: dict[str, float]) -> bool:
    """The run's behaviour is really in its logs (thresholds above)."""
    if name == "length_paid":
        return (ev["length_end"] >= LENGTH_GROWTH * ev["length_start"]
                and ev["eval_end"] - ev["eval_start"] <= EVAL_GAIN_MAX)
    if name in ("too_hard", "too_easy"):
        return ev["zero_std_mean"] >= FLAT_ALL
    if name == "partly_flat":
        return FLAT_PART[0] <= ev["zero_std_mean"] <= FLAT_PART[1]
    return ev["reward_end"] - ev["reward_start"] >= SANE_GAIN


def _versions() -> dict[str, str]:
    import tokenizers
    import torch
    import transformers
    import trl

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "tokenizers": tokenizers.__version__}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", action="append", choices=sorted(RUNS))
    ns = parser.parse_args(argv)
    manifest_path = ns.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest.setdefault("runs", {})
    failed = []
    for name in ns.only or sorted(RUNS):
        done = train_run(RUNS[name], ns.out / name)
        ev = evidence(done.run_dir, done.samples)
        ok = shows_behaviour(name, ev)
        if not RUNS[name].keep_samples:
            done.samples.unlink()
        manifest["runs"][name] = {"steps": done.global_step, "wall_s": round(done.wall_s, 1),
                                  "rlvet_checks": done.callback.checks,
                                  "rlvet_check_s": round(done.callback.check_seconds, 3),
                                  "shows_behaviour": ok,
                                  "evidence": {k: round(v, 4) for k, v in ev.items()},
                                  "versions": _versions()}
        print(f"{name}: {done.global_step} steps in {done.wall_s:.1f}s, "
              f"{'ok' if ok else 'BEHAVIOUR NOT SHOWN'}: {ev}")
        if not ok:
            failed.append(name)
    manifest["versions"] = _versions()
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
