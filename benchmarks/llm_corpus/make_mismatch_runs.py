"""Train the LLM corpus's mismatch set: real tiny TRL GRPO runs whose sampler and trainer
disagree, with TRL's own code computing and logging the mismatch, verified from each log.

TRL 1.16 computes ``sampling/sampling_logp_difference/{mean,max}`` (the mean and max
|trainer log-prob - sampler log-prob| of the sampled tokens) and
``sampling/importance_sampling_ratio/{min,mean,max}`` only with ``use_vllm=True``, and vLLM
does not run on CPU. These runs set ``use_vllm=True, vllm_mode="colocate"`` and replace
only the engine underneath TRL's own vLLM backend.

What is real TRL code (unchanged, TRL 1.16.x): ``GRPOTrainer`` and ``GRPOConfig``;
``trl.generation.vllm_generation.VLLMGeneration`` -- its colocate init (it builds
``LLM(model=model.name_or_path, ..., logprobs_mode="processed_logprobs")``), its
``sync_weights`` (it walks the trainer's ``named_parameters`` and pushes each one through
``llm.llm_engine.model_executor.driver_worker.model_runner.model.load_weights``, then
``llm.reset_prefix_cache()``), its ``generate`` (it builds ``SamplingParams`` from the
trainer's temperature, top-p/k, ``max_tokens``, ``logprobs=0`` and reads
``RequestOutput.outputs[0].token_ids`` and ``.logprobs`` through ``extract_logprobs``);
the trainer's recomputation of the same tokens' log-probs, the importance-sampling
correction (TRL's default ``sequence_mask``, clip 3.0) and the metrics it logs.

What is the stand-in (this file, ``StandInLLM`` and the value types beside it): the
objects ``vllm_generation`` would import from ``vllm`` (``LLM``, ``SamplingParams``,
``RequestOutput``, ``StructuredOutputsParams``), set on that one module for the length of
a run by ``stand_in_vllm`` (with its ``is_vllm_available`` answering True, and the
environment variables the colocate init sets for vLLM's workers restored after the run);
nothing else in TRL, transformers or ``sys.modules`` is touched. ``StandInLLM`` loads the
checkpoint TRL names (the tiny random-weight Llama of ``tests/data/make_trl_runs.py``) as
a second HF model, copies every tensor ``load_weights`` receives into it by name, and
samples token by token from ``log_softmax(logits / T)`` of its own forward pass (a batch of
left-padded prompts, as TRL pads them), returning the sampled tokens (ending with
``<eos>`` when it stops, as vLLM does) and each one's log-prob after the temperature (vLLM's
``processed_logprobs``). It refuses any sampling option it does not implement (``n`` > 1,
top-p < 1, top-k, min-p, repetition penalty, structured outputs).

The planted fault lives in the stand-in only, through a ``SamplerPlan``: the temperature it
samples and scores at (TRL asks for 1.0) and, from a given generation call on, either
another temperature or no more weight loading (``load_weights`` ignored: the sampler keeps
the weights of that step, a stale engine). One generation call is one optimizer step here
(16 completions per step, ``steps_per_generation`` 1).

Kinds (expected first category; ``None``: healthy, no error):

* ``healthy`` -- the sampler at 1.0 with synced weights: the gap is float noise.
* ``hot_sampler`` / ``cold_sampler`` (train_inference_mismatch) -- the sampler at 1.4 / 0.7
  from the first step, as a serving config whose temperature differs from the trainer's.
* ``late_hot`` (train_inference_mismatch) -- the sampler switches from 1.0 to 1.4 at 40% of
  the steps (a config reload mid-run).
* ``stale_sampler`` (train_inference_mismatch) -- weight sync stops at 40% of the steps: the
  sampler keeps generating with the weights it last loaded (those that generated logged
  step 24) while the trainer moves on.

The rest of the recipe is ``make_llm_corpus.py``'s (imported, not copied): model,
tokenizer, prompts, the task reward and its weight-0 copy as the eval metric, 16
completions per step in groups of 4, 48 tokens, ``beta`` 0.04, constant lr 1e-3, 60 steps.
Seeds 300-303 for every kind (disjoint from the main 0-7, fresh 100-107, fresh2 200-207);
every run goes to split ``mismatch``, fixed here before any rlvet verdict.

Usage::

    python benchmarks/llm_corpus/make_mismatch_runs.py --out /tmp/llm-mismatch --pack
    python benchmarks/llm_corpus/make_mismatch_runs.py --out /tmp/llm-mismatch --only healthy
    python benchmarks/llm_corpus/make_mismatch_runs.py --out /tmp/llm-mismatch --no-train --pack
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_llm_corpus as corpus  # noqa: E402  (sets HF_HUB_OFFLINE, imports make_trl_runs)

base = corpus.base
SPLIT_RULE = ("every run -> {split} (generated before any rlvet verdict on it; scored once "
              "with the rules frozen at the time)")
SETS: dict[str, tuple[int, ...]] = {  # split -> seeds, disjoint from main 0-7, fresh 100-107,
    "mismatch": (300, 301, 302, 303),  # fresh2 200-207 and each other
    "mismatch2": (304, 305, 306, 307),  # generated after mismatch was scored, before any
}                                       # rule was changed on it
STEPS = 60
LATE_AT = 0.4  # the late faults start at 40% of the steps
CATEGORY = "train_inference_mismatch"  # rlvet's Category.TRAIN_INFERENCE_MISMATCH
GAP = "sampling/sampling_logp_difference/mean"  # TRL's mean |trainer - sampler| log-prob
GAP_MAX = "sampling/sampling_logp_difference/max"
IS_MEAN = "sampling/importance_sampling_ratio/mean"
# verification thresholds (read from the log, no rlvet code); set from the runs' logs
HEALTHY_GAP = 1e-4  # healthy: the gap's median below this (float noise is ~1e-7)
PLANTED_GAP = 0.01  # planted: the gap's median over the faulty steps above this
LATE_RISE = 10.0  # late: the gap after the switch at least 10x its level before


@dataclass(frozen=True, slots=True)
class SamplerPlan:
    """What the stand-in engine does differently from the trainer.

    Attributes:
        temperature: the temperature it samples and scores at (TRL asks for 1.0).
        switch_call: the generation call (0-based; one per optimizer step) from which the
            late fault applies; None: no late fault.
        temperature_after: the temperature from ``switch_call`` on (None: unchanged).
        stop_sync: from ``switch_call`` on, ``load_weights`` is ignored (stale weights).
        seed: seeds the engine's sampling generator.
    """

    temperature: float = 1.0
    switch_call: int | None = None
    temperature_after: float | None = None
    stop_sync: bool = False
    seed: int = 0

    def temperature_at(self, call: int) -> float:
        late = self.switch_call is not None and call >= self.switch_call
        return self.temperature_after if late and self.temperature_after else self.temperature

    def syncs_at(self, call: int) -> bool:
        return not (self.stop_sync and self.switch_call is not None and call >= self.switch_call)


@dataclass(frozen=True, slots=True)
class Kind:
    """One sampler behaviour and its expected first category (None = healthy)."""

    temperature: float
    expected: str | None
    temperature_after: float | None = None
    stop_sync: bool = False

    @property
    def late(self) -> bool:
        return self.temperature_after is not None or self.stop_sync

    def plan(self, seed: int, steps: int = STEPS) -> SamplerPlan:
        switch = round(LATE_AT * steps) if self.late else None
        return SamplerPlan(self.temperature, switch, self.temperature_after, self.stop_sync,
                           seed)


KINDS: dict[str, Kind] = {
    "healthy": Kind(1.0, None),
    "hot_sampler": Kind(1.4, CATEGORY),
    "cold_sampler": Kind(0.7, CATEGORY),
    "late_hot": Kind(1.0, CATEGORY, temperature_after=1.4),
    "stale_sampler": Kind(1.0, CATEGORY, stop_sync=True),
}


# ------------------------------------------------------------------------- the stand-in


class StructuredOutputsParams:
    """Named because ``vllm_generation`` imports it; building one is refused."""

    def __init__(self, **kwargs: Any) -> None:
        raise NotImplementedError("the stand-in engine has no structured outputs")


@dataclass(slots=True)
class SamplingParams:
    """vLLM's sampling options as TRL's colocate ``generate`` passes them."""

    n: int = 1
    repetition_penalty: float = 1.0
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    max_tokens: int = 16
    logprobs: int | None = None

    def check(self) -> None:
        """Refuse what the stand-in does not implement."""
        plain = (self.n == 1 and self.repetition_penalty == 1.0 and self.top_p == 1.0
                 and self.top_k in (0, -1) and not self.min_p)
        if not plain:
            raise NotImplementedError(f"the stand-in engine samples plainly, got {self}")


@dataclass(frozen=True, slots=True)
class Logprob:
    """vLLM's per-token log-prob entry (``extract_logprobs`` reads ``logprob``, ``rank``)."""

    logprob: float
    rank: int = 1


@dataclass(frozen=True, slots=True)
class CompletionOutput:
    token_ids: list[int]
    logprobs: list[dict[int, Logprob]]


@dataclass(frozen=True, slots=True)
class RequestOutput:
    prompt_token_ids: list[int]
    outputs: list[CompletionOutput]


class _Runner:
    """Stands for ``llm_engine.model_executor.driver_worker.model_runner``: ``.model`` is
    where ``VLLMGeneration.sync_weights`` pushes each of the trainer's tensors."""

    def __init__(self, llm: StandInLLM) -> None:
        self.model = self
        self.driver_worker = self
        self.model_runner = self
        self.model_executor = self
        self._llm = llm

    def load_weights(self, weights: Iterable[tuple[str, Any]]) -> None:
        self._llm.load_weights(weights)


class StandInLLM:
    """The engine behind TRL's colocate ``VLLMGeneration``: the HF model's own forward,
    sampling at the plan's temperature and reporting processed log-probs."""

    def __init__(self, plan: SamplerPlan, model: str, **engine_options: Any) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        self.plan = plan
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
        self.params = dict(self.model.named_parameters())
        self.generator = torch.Generator().manual_seed(plan.seed)
        self.eos = self.model.config.eos_token_id
        self.calls = 0  # generation calls so far (one per optimizer step)
        self.loads = 0  # tensors copied in
        self.llm_engine = _Runner(self)

    def load_weights(self, weights: Iterable[tuple[str, Any]]) -> None:
        """Copy each tensor into the engine's model by name (vLLM's ``load_weights``),
        unless the plan has stopped the sync."""
        import torch

        if not self.plan.syncs_at(self.calls):
            return
        with torch.no_grad():
            for name, tensor in weights:
                self.params[name].copy_(tensor)
                self.loads += 1

    def reset_prefix_cache(self) -> None:
        """No cache to reset: every call recomputes from the prompt."""

    def generate(self, prompts: list[dict[str, list[int]]], sampling_params: SamplingParams,
                 use_tqdm: bool = False) -> list[RequestOutput]:
        """Sample one completion per prompt, at most ``max_tokens`` tokens, stopping at
        ``<eos>`` (kept, as vLLM keeps it)."""
        import torch

        sampling_params.check()
        temperature = self.plan.temperature_at(self.calls)
        self.calls += 1
        ids_list = [p["prompt_token_ids"] for p in prompts]
        width = max(len(ids) for ids in ids_list)
        pad = self.eos
        ids = torch.tensor([[pad] * (width - len(x)) + list(x) for x in ids_list])
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids_list])
        done = torch.zeros(len(ids_list), dtype=torch.bool)
        tokens: list[list[int]] = [[] for _ in ids_list]
        logps: list[list[float]] = [[] for _ in ids_list]
        with torch.no_grad():
            for _ in range(sampling_params.max_tokens):
                logits = self.model(input_ids=ids, attention_mask=mask).logits[:, -1, :]
                logp = torch.log_softmax(logits.float() / temperature, dim=-1)
                nxt = torch.multinomial(logp.exp(), 1, generator=self.generator).squeeze(1)
                for row in torch.nonzero(~done).flatten().tolist():
                    tokens[row].append(int(nxt[row]))
                    logps[row].append(float(logp[row, nxt[row]]))
                done |= nxt == self.eos
                ids = torch.cat([ids, torch.where(done, pad, nxt)[:, None]], dim=1)
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
                if bool(done.all()):
                    break
        outputs = []
        for prompt, toks, lps in zip(ids_list, tokens, logps, strict=True):
            scored = [{tok: Logprob(lp)} for tok, lp in zip(toks, lps, strict=True)]
            outputs.append(RequestOutput(list(prompt), [CompletionOutput(toks, scored)]))
        return outputs


@contextlib.contextmanager
def stand_in_vllm(plan: SamplerPlan) -> Iterator[list[StandInLLM]]:
    """For the block, TRL's ``vllm_generation`` module sees the stand-in where it would see
    vLLM; yields the list the engine(s) it builds are appended to."""
    from trl.generation import vllm_generation

    engines: list[StandInLLM] = []

    def build(**options: Any) -> StandInLLM:
        engine = StandInLLM(plan, **options)
        engines.append(engine)
        return engine

    names = {"is_vllm_available": lambda *a, **k: True, "LLM": build,
             "SamplingParams": SamplingParams, "RequestOutput": RequestOutput,
             "StructuredOutputsParams": StructuredOutputsParams}
    with contextlib.ExitStack() as stack:
        # the colocate init sets RANK, WORLD_SIZE, MASTER_PORT, ... for vLLM's workers; left
        # set, they make the next run's Trainer start torch.distributed
        stack.enter_context(mock.patch.dict(os.environ))
        for name, value in names.items():
            stack.enter_context(mock.patch.object(vllm_generation, name, value, create=True))
        yield engines


# ------------------------------------------------------------------------------ training


run_name = corpus.run_name


def train(kind: str, seed: int, out: Path, steps: int = STEPS) -> float:
    """Train one run through TRL's vLLM path with the stand-in engine; keep
    ``out/trainer_state.json``; return the training wall time."""
    import torch

    torch.set_num_threads(1)
    corpus.fresh_folder(out)
    plan = KINDS[kind].plan(seed, steps)
    with tempfile.TemporaryDirectory(prefix="rlvet-llm-mismatch-") as tmp, \
            stand_in_vllm(plan) as engines:
        model_dir = base.save_model(Path(tmp) / "model", seed=seed)
        args = corpus.grpo_args(Path(tmp) / "output", seed, max_steps=steps,
                                use_vllm=True, vllm_mode="colocate")
        wall = corpus.fit(args, model_dir, base.starts_with_target, seed, out)
    if len(engines) != 1 or engines[0].calls != steps or engines[0].loads == 0:
        shutil.rmtree(out)
        raise RuntimeError(f"{out.name}: the stand-in engine was not used as planned "
                           f"({len(engines)} engines)")
    return wall


# -------------------------------------------------------------------------- verification


def evidence(folder: Path, kind: str, steps: int = STEPS) -> dict[str, float]:
    """The gap's median before and after the late switch (whole run when none), its
    overall median and max, the importance ratio's median and the task's start and end,
    read from ``trainer_state.json``."""
    rows = json.loads((folder / "trainer_state.json").read_text())["log_history"]
    gap = corpus._curve(rows, GAP)
    task = corpus._curve(rows, corpus.EVAL_METRIC)
    switch = KINDS[kind].plan(0, steps).switch_call
    cut = switch if switch is not None else 0
    before = gap[:cut] if cut else gap
    return {"steps": float(gap.size), "gap_median": float(np.median(gap)),
            "gap_median_before": float(np.median(before)),
            "gap_median_faulty": float(np.median(gap[cut:])),
            "gap_max": float(corpus._curve(rows, GAP_MAX).max()),
            "is_ratio_median": float(np.median(corpus._curve(rows, IS_MEAN))),
            "task_start": float(task[:corpus.EARLY_LATE].mean()),
            "task_end": float(task[-corpus.EARLY_LATE:].mean())}


def verified(kind: str, ev: dict[str, float], steps: int = STEPS) -> bool:
    """The run's own log shows its sampler's behaviour (thresholds above)."""
    if ev["steps"] != steps:
        return False
    if KINDS[kind].expected is None:
        return ev["gap_median"] < HEALTHY_GAP
    if KINDS[kind].late:
        return (ev["gap_median_before"] < HEALTHY_GAP and ev["gap_median_faulty"] > PLANTED_GAP
                and ev["gap_median_faulty"] >= LATE_RISE * ev["gap_median_before"])
    return ev["gap_median_faulty"] > PLANTED_GAP


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where the runs are written")
    parser.add_argument("--only", action="append", choices=sorted(KINDS))
    parser.add_argument("--set", choices=sorted(SETS), default="mismatch", dest="split")
    parser.add_argument("--seeds", type=int, nargs="*", help="default: the set's seeds")
    parser.add_argument("--no-train", action="store_true", help="verify what --out holds")
    parser.add_argument("--pack", action="store_true", help="write the set's archive")
    ns = parser.parse_args(argv)
    split = ns.split
    archive = corpus.DATA / f"llm_{split}.tar.xz"
    manifest = HERE / f"manifest_{split}.json"
    seeds = ns.seeds if ns.seeds is not None else list(SETS[split])
    if not ns.no_train:
        for kind in ns.only or sorted(KINDS):
            for seed in seeds:
                name = run_name(kind, seed)
                print(f"{name}: {train(kind, seed, ns.out / name):.1f} s", flush=True)
    runs, dropped = [], []
    for kind in sorted(KINDS):
        for seed in SETS[split]:
            name = run_name(kind, seed)
            if not (ns.out / name / "trainer_state.json").exists():
                continue
            ev = evidence(ns.out / name, kind)
            plan = dataclasses.asdict(KINDS[kind].plan(seed))
            entry = {"name": name, "kind": kind, "seed": seed, "split": split,
                     "framework": "trl_grpo", "expected_first_category": KINDS[kind].expected,
                     "eval_metric": corpus.EVAL_METRIC, "log": "trainer_state.json",
                     "sampler": plan, "evidence": {k: float(f"{v:.4g}") for k, v in ev.items()}}
            (runs if verified(kind, ev) else dropped).append(entry)
    manifest.write_text(json.dumps({
        "split_rule": SPLIT_RULE.format(split=split), "versions": corpus._versions(),
        "generation": "TRL use_vllm=True, vllm_mode=colocate; the vLLM engine replaced by "
                      "make_mismatch_runs.StandInLLM (the HF model's own forward)",
        "runs": runs, "dropped": dropped}, indent=1) + "\n")
    print(f"{len(runs)} verified, {len(dropped)} dropped: "
          f"{', '.join(e['name'] for e in dropped) or '-'}")
    if ns.pack:
        corpus.pack(ns.out, [e["name"] for e in runs], archive, manifest)
        print(f"packed {archive} ({archive.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
