"""Write real verl and OpenRLHF logs from a tiny GRPO loop on CPU, through their own writers.

The loop: a position x vocabulary logit table (a "model" of 8 tokens x 12 positions, token
0 is end-of-sequence) generates groups of 8 completions for 8 prompts per step; the
reward is the share of token 1 among a completion's first four tokens; advantages are
group-normalised (GRPO); the update is the clipped PPO surrogate over ``epochs`` passes,
with a KL-to-reference term.
Every metric is computed from the loop's tensors, under the frameworks' names
(verl ``metric_utils.py``/``dp_actor.py``; OpenRLHF ``ppo_actor.py``/``experience_maker.py``).

Runs written under ``--out`` (default ``tests/data/llm_frameworks``):

* ``verl_healthy/`` and ``verl_blowup/`` -- through verl's own ``Tracking`` class
  (``verl/utils/tracking.py``, loaded unmodified from a verl checkout) with the ``file``,
  ``tensorboard`` and ``console`` backends: ``<exp>.jsonl``, ``tb/events.out.tfevents.*``
  and ``console.log`` (the console backend's stdout). ``verl_blowup`` raises the learning
  rate 75x, the PPO epochs to 8 and disables the clip (a planted bug) from step 30:
  the per-update KL blows up.
* ``openrlhf_healthy/`` -- through OpenRLHF's own ``TensorboardLogger``
  (``openrlhf/utils/logging_utils.py``, loaded unmodified).
* ``openrlhf_mismatch/`` and ``openrlhf_aligned/`` -- a separate sampler, standing in for
  the vLLM engine, generates the completions and reports its own log-probs; the trainer
  scores the same tokens in fp32 at temperature 1, and ``vllm_kl`` is OpenRLHF's
  ``masked_mean(rollout_log_probs - old_log_probs)`` (``openrlhf/models/loss.py``).
  ``openrlhf_aligned``'s sampler only rounds the logits to bf16 (the usual engine/trainer
  gap); ``openrlhf_mismatch``'s also samples at temperature 1.25 (a planted bug: the
  trainer never applies the sampling temperature), so the gap grows as the policy sharpens
  while the PPO clip, which compares against the trainer's own log-probs, stays at 0. A
  TRL run on CPU cannot show this: its ``sampling/*`` mismatch metrics need vLLM.

Usage::

    python tests/data/make_llm_framework_logs.py --verl /path/to/verl --openrlhf /path/to/OpenRLHF

where each path is a checkout or a bare git directory (``HEAD`` is read). Needs torch,
tensorboard and orjson (verl's file logger writes with orjson).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
VOCAB, LENGTH, PROMPTS, GROUP = 8, 12, 8, 8


def _source(repo: Path, rel: str, into: Path) -> Path:
    """``rel`` from a checkout, or from a bare git directory's HEAD."""
    target = into / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if (repo / rel).is_file():
        shutil.copy(repo / rel, target)
    else:
        text = subprocess.run(["git", f"--git-dir={repo}", "show", f"HEAD:{rel}"],
                              check=True, capture_output=True, text=True).stdout
        target.write_text(text)
    return target


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_verl_tracking(repo: Path, tmp: Path) -> type:
    """verl's ``Tracking``, with ``verl.utils.logger`` for its console backend; the
    package ``__init__`` files (which import the whole framework) are replaced by stubs."""
    for pkg in ("verl", "verl.utils"):
        sys.modules.setdefault(pkg, types.ModuleType(pkg)).__path__ = []
    logger_pkg = types.ModuleType("verl.utils.logger")
    agg = _load("verl.utils.logger.aggregate_logger",
                _source(repo, "verl/utils/logger/aggregate_logger.py", tmp))
    logger_pkg.LocalLogger = agg.LocalLogger
    sys.modules["verl.utils.logger"] = logger_pkg
    return _load("verl.utils.tracking", _source(repo, "verl/utils/tracking.py", tmp)).Tracking


def load_openrlhf_tb(repo: Path, tmp: Path) -> type:
    return _load("openrlhf_logging_utils",
                 _source(repo, "openrlhf/utils/logging_utils.py", tmp)).TensorboardLogger


def _generate(logits: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample PROMPTS*GROUP completions: tokens (n, LENGTH) and a mask of real tokens."""
    n = PROMPTS * GROUP
    probs = torch.softmax(logits, -1).expand(n, LENGTH, VOCAB)
    tokens = torch.multinomial(probs.reshape(-1, VOCAB), 1, generator=gen).reshape(n, LENGTH)
    ended = torch.cumsum((tokens == 0).int(), 1)
    mask = (ended == 0) | ((ended == 1) & (tokens == 0))  # up to and including the EOS
    return tokens, mask.float()


def _logp(logits: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    logp_all = torch.log_softmax(logits, -1).expand(tokens.shape[0], LENGTH, VOCAB)
    ent = -(logp_all.exp() * logp_all).sum(-1)
    return logp_all.gather(-1, tokens[..., None])[..., 0], ent


def _sampler_logits(logits: torch.Tensor, bf16: bool, temperature: float,
                    ignore_eos: bool) -> torch.Tensor:
    """The logits the inference engine samples from (the trainer's, unless told otherwise)."""
    out = logits.bfloat16().float() if bf16 else logits.clone()
    out = out / temperature
    if ignore_eos:
        out[:, 0] = float("-inf")
    return out


def train(steps: int, blowup_at: int | None, seed: int, *, sampler_bf16: bool = False,
          sampler_temperature: float = 1.0, ignore_eos_at: frozenset[int] = frozenset(),
          token_sum: bool = False, eos_logit: float = -1.0, base_lr: float = 4.0):
    """Yield ``(step, metrics)`` under neutral names, one per GRPO step.

    ``sampler_bf16``, ``sampler_temperature`` and ``ignore_eos_at`` (steps) make the engine
    sample from other logits than the trainer scores; ``token_sum`` sums the loss over
    tokens per sequence instead of averaging over all tokens; ``eos_logit`` sets how soon a
    completion ends at first, ``base_lr`` the step size before any blow-up.
    """
    separate_sampler = sampler_bf16 or sampler_temperature != 1.0 or bool(ignore_eos_at)
    gen = torch.Generator().manual_seed(seed)
    logits = torch.zeros(LENGTH, VOCAB)
    logits[:, 0] = eos_logit  # -1: EOS a little less likely than each letter
    ref = logits.clone()
    logits.requires_grad_(True)
    for step in range(1, steps + 1):
        hot = blowup_at is not None and step >= blowup_at
        lr, epochs, eps = (300.0, 8, 1e9) if hot else (base_lr, 1, 0.2)
        with torch.no_grad():
            engine = (_sampler_logits(logits, sampler_bf16, sampler_temperature,
                                      step in ignore_eos_at) if separate_sampler else logits)
            tokens, mask = _generate(engine, gen)
            old_logp, _ = _logp(logits, tokens)
            rollout_logp, _ = _logp(engine, tokens)
            vllm_kl = float(((rollout_logp - old_logp) * mask).sum() / mask.sum())
        score = ((tokens[:, :4] == 1).float() * mask[:, :4]).mean(1)
        grouped = score.reshape(PROMPTS, GROUP)
        adv = ((grouped - grouped.mean(1, keepdim=True)) / (grouped.std(1, keepdim=True) + 1e-6))
        adv = adv.reshape(-1, 1).expand(-1, LENGTH)
        tokens_n = mask.sum()
        for _ in range(epochs):
            logp, ent = _logp(logits, tokens)
            ratio = torch.exp(logp - old_logp)
            clipped = torch.clamp(ratio, 1 - eps, 1 + eps)
            surrogate = torch.minimum(ratio * adv, clipped * adv) * mask
            pg = -(surrogate.sum(1).mean() if token_sum else surrogate.sum() / tokens_n)
            ref_logp, _ = _logp(ref, tokens)
            kl_ref = ((logp - ref_logp).exp() - (logp - ref_logp) - 1)  # k3
            kl_loss = (kl_ref * mask).sum() / tokens_n
            loss = pg + 0.001 * kl_loss
            logits.grad = None
            loss.backward()
            grad_norm = float(logits.grad.norm())
            with torch.no_grad():
                logits -= lr * logits.grad
        with torch.no_grad():
            logp, ent = _logp(logits, tokens)
            ppo_kl = float(((old_logp - logp) * mask).sum() / tokens_n)
            clipfrac = float((((ratio - 1).abs() > 0.2).float() * mask).sum() / tokens_n)
        length = mask.sum(1)
        yield step, {
            "ppo_kl": ppo_kl, "clipfrac": clipfrac, "pg_loss": float(pg.detach()),
            "entropy": float((ent * mask).sum() / tokens_n), "grad_norm": grad_norm,
            "kl_loss": float(kl_loss.detach()), "lr": lr, "score": float(score.mean()),
            "length_mean": float(length.mean()), "length_max": float(length.max()),
            "clip_ratio": float((length == LENGTH).float().mean()),
            "adv_mean": float(adv[:, 0].mean()),
            "group_std": float(grouped.std(1).mean()),
            **({"vllm_kl": vllm_kl} if separate_sampler else {}),
        }


def verl_names(m: dict[str, float]) -> dict[str, float]:
    return {"actor/ppo_kl": m["ppo_kl"], "actor/pg_clipfrac": m["clipfrac"],
            "actor/pg_loss": m["pg_loss"], "actor/entropy": m["entropy"],
            "actor/grad_norm": m["grad_norm"], "actor/kl_loss": m["kl_loss"],
            "actor/lr": m["lr"], "critic/score/mean": m["score"],
            "critic/rewards/mean": m["score"], "critic/advantages/mean": m["adv_mean"],
            "response_length/mean": m["length_mean"], "response_length/max": m["length_max"],
            "response_length/clip_ratio": m["clip_ratio"]}


def openrlhf_names(m: dict[str, float]) -> dict[str, float]:
    return {"ppo_kl": m["ppo_kl"], "ppo_clip_ratio": m["clipfrac"], "policy_loss": m["pg_loss"],
            "entropy_loss": m["entropy"], "actor_grad_norm": m["grad_norm"], "kl": m["kl_loss"],
            "actor_lr": m["lr"], "reward": m["score"], "response_length": m["length_mean"],
            "truncated": m["clip_ratio"], "group_reward_std": m["group_std"],
            **({"vllm_kl": m["vllm_kl"]} if "vllm_kl" in m else {})}


def write_verl(tracking: type, out: Path, steps: int, blowup_at: int | None, seed: int,
               **planted: object) -> None:
    out.mkdir(parents=True, exist_ok=True)
    os.environ["VERL_FILE_LOGGER_PATH"] = str(out / "grpo.jsonl")
    os.environ["TENSORBOARD_DIR"] = str(out / "tb")
    console = io.StringIO()
    with contextlib.redirect_stdout(console):
        tracker = tracking("rlvet", out.name, default_backend=["file", "tensorboard", "console"])
        for step, metrics in train(steps, blowup_at, seed, **planted):
            tracker.log(verl_names(metrics), step)
        del tracker  # Tracking.__del__ closes the file and the TensorBoard writer
    lines = [line for line in console.getvalue().splitlines() if line.startswith("step:")]
    (out / "console.log").write_text("\n".join(lines) + "\n")


def write_openrlhf(tb_logger: type, out: Path, steps: int, seed: int,
                   **planted: object) -> None:
    args = types.SimpleNamespace(logger=types.SimpleNamespace(
        tensorboard_dir=str(out), wandb=types.SimpleNamespace(run_name="tb")))
    logger = tb_logger(args)
    for step, metrics in train(steps, None, seed, **planted):
        logger.log_train(step, openrlhf_names(metrics))
    logger.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verl", type=Path, required=True)
    parser.add_argument("--openrlhf", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=HERE / "llm_frameworks")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--only", action="append", choices=sorted(RUNS))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tracking = load_verl_tracking(args.verl, Path(tmp))
        tb_logger = load_openrlhf_tb(args.openrlhf, Path(tmp))
        for name in args.only or RUNS:
            framework, blowup, seed, planted = RUNS[name]
            shutil.rmtree(args.out / name, ignore_errors=True)
            if framework == "verl":
                write_verl(tracking, args.out / name, args.steps, blowup, seed, **planted)
            else:
                write_openrlhf(tb_logger, args.out / name, args.steps, seed, **planted)
    return 0


RUNS: dict[str, tuple[str, int | None, int, dict[str, object]]] = {
    # name: (framework, blow-up step, seed, planted sampler/loss settings)
    "verl_healthy": ("verl", None, 1, {}),
    "verl_blowup": ("verl", 30, 1, {}),
    "openrlhf_healthy": ("openrlhf", None, 2, {}),
    "openrlhf_aligned": ("openrlhf", None, 3, {"sampler_bf16": True}),
    "openrlhf_mismatch": ("openrlhf", None, 3, {"sampler_bf16": True,
                                                "sampler_temperature": 1.25}),
}


if __name__ == "__main__":
    sys.exit(main())
