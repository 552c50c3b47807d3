"""TRL / HF Trainer runs watched by rlvet: the doctor live, and the samples for ``rlvet reward``.

Contents:
    EVAL_METRIC -- the name the recorded eval score's batch mean is logged under.
    RlvetTrlCallback -- a ``transformers.TrainerCallback``: every numeric value the Trainer
        logs goes into a ``Monitor`` (rlvet JSONL, flushed per record) keyed by
        ``state.global_step``; the doctor's verdict runs when the live policy says it is due
        (``rlvet.doctor.live``) and, with ``stop_on_error``, stops training once the first
        break is a confirmed error.
    SampleRecorder -- wraps GRPO reward functions so that every scored completion is
        appended to a samples JSONL (the input of ``rlvet reward``).
    record_samples(reward_funcs, path, ...) -- ``SampleRecorder(path, ...).wrap(reward_funcs)``.

Why wrap the reward functions: they are the one place where TRL hands user code the
prompts, the decoded completions and the trainer state together, on every generation
batch, with no TRL internals touched. The wrappers return exactly what the wrapped
functions return, so training is unchanged; a ``None`` (reward not applicable) stays
``None`` and is left out of the recorded total, as TRL leaves it out.

Example:
    >>> from trl import GRPOConfig, GRPOTrainer  # doctest: +SKIP
    >>> recorder = SampleRecorder("runs/grpo.samples.jsonl", eval_func=exact_match,
    ...                           num_generations=8)  # doctest: +SKIP
    >>> trainer = GRPOTrainer(model=..., reward_funcs=recorder.wrap([judge_reward]),
    ...     args=GRPOConfig(output_dir="runs/grpo", beta=0.04), train_dataset=ds,
    ...     callbacks=[RlvetTrlCallback("runs/grpo/rlvet.jsonl", stop_on_error=True,
    ...                                 recorder=recorder)])  # doctest: +SKIP
    >>> trainer.train()  # doctest: +SKIP

Then ``rlvet doctor runs/grpo`` and ``rlvet reward runs/grpo.samples.jsonl``. Keep the
samples file out of the directory given to ``rlvet doctor``: the doctor reads every
``*.jsonl`` below it as a metrics log.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from rlvet.doctor.live import LivePolicy
from rlvet.errors import RlvetInputError
from rlvet.integrations.announce import FindingAnnouncer
from rlvet.monitor import Action, Monitor, MonitorDecision
from rlvet.signals.jsonl_writer import JsonlWriter

__all__ = [
    "EVAL_METRIC",
    "RlvetTrlCallback",
    "SampleRecorder",
    "record_samples",
]

EVAL_METRIC = "rlvet/eval_score"  # batch mean of the recorded eval scores, as logged

RewardFunc = Callable[..., Any]
"""A TRL reward function: ``f(prompts, completions, **kwargs) -> list[float | None]``."""


def _number(value: Any) -> float | None:
    """A finite or non-finite float for a logged scalar; None for text, bools and tensors of
    more than one element (the Trainer logs ``None`` for a metric with no valid values)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, np.number)):
        return float(value)
    item = getattr(value, "item", None)  # a 0-d torch tensor
    if callable(item) and getattr(value, "numel", lambda: 0)() == 1:
        return float(item())
    return None


class RlvetTrlCallback(TrainerCallback):
    """Feed a ``Monitor`` from the Trainer's logs; optionally stop training on an error.

    Every ``on_log`` (each ``logging_steps``) appends one record of the numeric values under
    the Trainer's own names (``kl``, ``entropy``, ``clip_ratio/region_mean``,
    ``completions/mean_length``, ``rewards/<func>/mean``, ``frac_reward_zero_std``,
    ``loss``, ``grad_norm``, ...), so ``rlvet doctor`` on the file reaches the verdict the
    live loop acted on. Only the main process writes and judges.

    Args:
        path: rlvet JSONL file for the metrics (None: in memory only). Keep it in the run's
            output directory so ``rlvet doctor OUTPUT_DIR`` reads it beside the Trainer's
            ``trainer_state.json``.
        stop_on_error: set ``control.should_training_stop`` once the verdict is an error.
        reward_metric: the training reward to judge, as for ``rlvet doctor`` (default
            ``reward``).
        eval_metric: the true objective, as for ``rlvet doctor``; ``EVAL_METRIC`` when a
            ``SampleRecorder`` with an ``eval_func`` logs one. Until the named metric has
            been logged the verdict waits; naming one the run never logs raises at the end.
        recorder: a ``SampleRecorder`` to close when training ends.
        verbose: 1 prints each new error or warning finding once, as verdicts find it
            (also without ``stop_on_error``: warn mode), and the finding that stopped
            training.
        fsync: sync every metrics record to disk (survives power loss; costs a disk sync).
        policy: the live policy (``rlvet.doctor.live.LivePolicy``; default 1% budget,
            10-record warm-up, two confirmations).

    Attributes:
        monitor: the ``rlvet.monitor.Monitor`` (after ``on_train_begin``, main process
            only; None elsewhere): ``monitor.verdict()`` judges every record so far.
        last_decision: the latest ``MonitorDecision`` (action, finding, checkpoint,
            diagnosis), None before the first; after training, the final verdict.
        checks, check_seconds: how many verdicts ran and their total wall time (the cost
            of the guardrail, for comparison with the training time).
    """

    def __init__(self, path: str | Path | None = None, *, stop_on_error: bool = False,
                 reward_metric: str | None = None, eval_metric: str | None = None,
                 recorder: SampleRecorder | None = None, verbose: int = 0,
                 fsync: bool = False, policy: LivePolicy | None = None) -> None:
        self._path, self._stop, self._fsync = path, stop_on_error, fsync
        self._policy = policy
        self._metrics = (reward_metric, eval_metric)
        self._recorder = recorder
        self.verbose = verbose
        self._announcer = FindingAnnouncer(verbose)
        self.monitor: Monitor | None = None
        self.last_decision: MonitorDecision | None = None
        self._open = False
        self._pending = False
        self.checks = 0
        self.check_seconds = 0.0

    # ------------------------------------------------------------------ Trainer events

    def on_train_begin(self, args: TrainingArguments, state: TrainerState,
                       control: TrainerControl, **kwargs: Any) -> None:
        """Open a Monitor on the main process, appending to the file: a resumed run
        continues it (the live verdicts then judge the records of this process only)."""
        if self._stop and args.world_size > 1:
            raise RlvetInputError(
                "RlvetTrlCallback: stop_on_error needs a single-process run; stopping one "
                "process of a distributed run would leave the others waiting in a collective. "
                "Record with stop_on_error=False and run `rlvet doctor` on the output")
        if state.is_world_process_zero and not self._open:
            # throughput=False: a step's cost grows with completion length, which RL on
            # LLMs changes on purpose; steps/s falling is not a broken pipeline there
            self.monitor = Monitor(self._path, reward_metric=self._metrics[0],
                                   eval_metric=self._metrics[1], fsync=self._fsync,
                                   throughput=False, policy=self._policy)
            self._open = True

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Record the numeric logs at ``state.global_step``; judge when the budget allows."""
        if self.monitor is None or not self._open or not logs:
            return
        numbers = {k: v for k, v in ((str(k), _number(v)) for k, v in logs.items())
                   if v is not None and k != "step"}
        if not numbers:
            return
        self.monitor.log(int(state.global_step), **numbers)
        self._pending = True
        if not self.monitor.due():
            return
        decision = self._judge(final=False)
        self._announcer.announce(decision, int(state.global_step))
        if decision is not None and self._stop and decision.action is not Action.CONTINUE:
            control.should_training_stop = True
            if self.verbose and decision.finding is not None:
                f = decision.finding
                print(f"rlvet: stopping at step {state.global_step}: {f.category}: {f.message}")

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                **kwargs: Any) -> None:
        """Tell the Monitor where the Trainer saved, so a rollback verdict can name it."""
        if self.monitor is not None and args.output_dir is not None:
            folder = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
            self.monitor.add_checkpoint(state.global_step, folder)

    def on_train_end(self, args: TrainingArguments, state: TrainerState,
                     control: TrainerControl, **kwargs: Any) -> None:
        """Take the final verdict over every record, then close the files."""
        try:
            if self.monitor is not None and self._pending:
                self._announcer.announce(self._judge(final=True), int(state.global_step))
        finally:
            if self.monitor is not None and self._open:
                self.monitor.close()
                self._open = False
            if self._recorder is not None:
                self._recorder.close()

    # ------------------------------------------------------------------ verdicts

    def _judge(self, *, final: bool) -> MonitorDecision | None:
        """Run the verdict; None while a named reward/eval metric has not been logged yet.

        Raises:
            RlvetInputError: at the end of training, a named metric was never logged.
        """
        if self.monitor is None:  # pragma: no cover - callers check
            return None
        start = time.perf_counter()
        try:
            decision = self.monitor.verdict()
        except RlvetInputError:
            if final:
                raise
            decision = None  # the named metric appears with a later log (or never: see end)
        self.checks += 1
        self.check_seconds += time.perf_counter() - start
        if decision is not None:
            self.last_decision = decision
            self._pending = False
        return decision


# ---------------------------------------------------------------------------- samples


def _text(value: Any) -> str | None:
    """A prompt or completion as text: plain strings as they are; conversational ones (a
    list of ``{"role", "content"}`` messages) as their contents joined by newlines."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return _text(value.get("content"))
    if isinstance(value, Sequence):
        parts = [_text(v) for v in value]
        return "\n".join(p for p in parts if p)
    return str(value)


def _groups(prompts: Sequence[str | None], num_generations: int | None) -> list[int]:
    """The prompt index within the batch of each completion.

    TRL's sampler puts the ``num_generations`` completions of a prompt next to each other;
    without ``num_generations`` a new group starts wherever the prompt changes.
    """
    if num_generations:
        return [i // num_generations for i in range(len(prompts))]
    out: list[int] = []
    for i, prompt in enumerate(prompts):
        out.append(0 if i == 0 else out[-1] + int(prompt != prompts[i - 1]))
    return out


def _unwrapped(func: Any) -> Any:
    """The callable under any ``functools.partial`` layers."""
    while isinstance(func, functools.partial):
        func = func.func
    return func


def _callable_name(func: Any) -> str:
    """The name TRL gives a reward function (``trl.trainer.utils.get_callable_name``): a
    function's ``__name__`` through partials, else the class name of a callable object."""
    inner = _unwrapped(func)
    return getattr(inner, "__name__", type(inner).__name__)


def _is_async(func: Any) -> bool:
    """Whether calling ``func`` returns a coroutine, judged as TRL judges it
    (``is_async_callable``): async functions, partials of them, and objects whose
    ``__call__`` is async."""
    inner = _unwrapped(func)
    return inspect.iscoroutinefunction(inner) or inspect.iscoroutinefunction(
        type(inner).__call__)


def _is_model(func: Any) -> bool:
    """A reward model (a hub id, a folder, or an ``nn.Module``): TRL scores it internally,
    with no Python function in between to wrap."""
    return isinstance(func, (str, os.PathLike)) or hasattr(func, "forward")


@dataclass
class _Batch:
    """One generation batch's outputs, collected until every wrapped function reported."""

    completions: Sequence[Any]
    prompts: Sequence[Any]
    kwargs: dict[str, Any]
    parts: dict[str, list[Any]] = field(default_factory=dict)


class SampleRecorder:
    """Write every completion TRL's GRPO trainer scores to a samples JSONL.

    Each record is ``{"step", "id", "reward", "prompt", "response", "group",
    "components", "eval_score"}`` (``eval_score`` where an ``eval_func`` gave a finite
    score): ``step`` is
    ``trainer_state.global_step`` when TRL passes the trainer state (the number of
    optimizer updates behind the policy that generated the batch, whose training is logged
    from step + 1 on), else the batch number; ``group`` is ``"<batch>:<prompt index within
    the batch>"``, so the completions of one prompt share it; ``components`` holds each
    wrapped function's output by function name; ``reward`` is their weighted sum over the
    functions that scored the sample, as TRL sums them. Records are appended and flushed
    one by one, so a crashed run keeps every batch but the one being written.

    Args:
        path: the samples file (appended to; created with its folder).
        eval_func: the true objective, called like a reward function but not trained on;
            its scores become ``eval_score`` and their batch mean is logged to TRL as
            ``EVAL_METRIC`` (through TRL's ``log_metric``), so the doctor sees it too.
        weights: the reward weights (``GRPOConfig.reward_weights``), in the order of the
            functions passed to ``wrap``; default 1 each.
        num_generations: ``GRPOConfig.num_generations``; without it groups are runs of
            equal prompts.

    Limitations: evaluation batches (an ``eval_dataset``) go through the same functions and
    are recorded too; reward models given as a name or an ``nn.Module`` are passed through
    unrecorded (their scores are not part of ``reward``); with several processes, give each
    its own path.
    """

    def __init__(self, path: str | Path, *, eval_func: RewardFunc | None = None,
                 weights: Sequence[float] | None = None,
                 num_generations: int | None = None) -> None:
        if eval_func is not None and _is_async(eval_func):
            raise RlvetInputError("SampleRecorder: eval_func must be synchronous (it is "
                                  "called once per batch, after the reward functions)")
        self.path = Path(path)
        self._writer = JsonlWriter(self.path)
        self._eval = eval_func
        self._weights = None if weights is None else [float(w) for w in weights]
        self._num_generations = num_generations
        self._names: list[str] = []
        self._weight_of: dict[str, float] = {}
        self._pending: dict[tuple[tuple[str | None, ...], ...], _Batch] = {}
        self._batches = 0
        self.records = 0

    def wrap(self, reward_funcs: RewardFunc | Sequence[RewardFunc]) -> list[RewardFunc]:
        """Wrapped copies of the reward functions, to pass to ``GRPOTrainer(reward_funcs=)``.

        Raises:
            RlvetInputError: ``wrap`` was called twice, two functions share a name (TRL
                names metrics by ``__name__``), or ``weights`` has the wrong length.
        """
        funcs = list(reward_funcs) if isinstance(reward_funcs, Sequence) and not isinstance(
            reward_funcs, str) else [reward_funcs]
        if self._names:
            raise RlvetInputError("SampleRecorder.wrap: already wrapping reward functions; "
                                  "use one recorder per trainer")
        if self._weights is not None and len(self._weights) != len(funcs):
            raise RlvetInputError(f"SampleRecorder: {len(self._weights)} weights for "
                                  f"{len(funcs)} reward functions")
        weights = self._weights or [1.0] * len(funcs)
        out: list[RewardFunc] = []
        for func, weight in zip(funcs, weights, strict=True):
            if _is_model(func):
                out.append(func)
                continue
            name = _callable_name(func)
            if name in self._weight_of:
                raise RlvetInputError(f"SampleRecorder: two reward functions named {name!r}")
            self._names.append(name)
            self._weight_of[name] = weight
            out.append(self._wrap_one(func, name))
        return out

    def _wrap_one(self, func: RewardFunc, name: str) -> RewardFunc:
        """A function of the same name (TRL's metric name) and, for plain functions, the
        same signature, that reports the output, then returns it unchanged."""
        if _is_async(func):
            async def async_wrapper(prompts: Sequence[Any], completions: Sequence[Any],
                                    **kwargs: Any) -> Any:
                out = await func(prompts=prompts, completions=completions, **kwargs)
                self._report(name, prompts, completions, kwargs, out)
                return out
            wrapper: Any = async_wrapper
        else:
            def sync_wrapper(prompts: Sequence[Any], completions: Sequence[Any],
                             **kwargs: Any) -> Any:
                out = func(prompts=prompts, completions=completions, **kwargs)
                self._report(name, prompts, completions, kwargs, out)
                return out
            wrapper = sync_wrapper
        if inspect.isfunction(func):
            functools.update_wrapper(wrapper, func)
        wrapper.__name__ = wrapper.__qualname__ = name
        return cast(RewardFunc, wrapper)

    def _report(self, name: str, prompts: Sequence[Any], completions: Sequence[Any],
                kwargs: dict[str, Any], out: Any) -> None:
        """Collect one function's scores; write the batch once every function reported.

        The batch is keyed by its prompts and completions as text, not by the identity of
        the list TRL passes (one object for all functions today, which nothing promises).
        TRL scores a batch with every function before it generates the next, so two
        batches of equal text never wait at the same time.
        """
        key = (tuple(_text(p) for p in prompts), tuple(_text(c) for c in completions))
        batch = self._pending.setdefault(key, _Batch(completions, prompts, kwargs))
        batch.parts[name] = list(out)
        if len(batch.parts) == len(self._names):
            del self._pending[key]
            self._write(batch)

    def _eval_scores(self, batch: _Batch) -> list[float | None] | None:
        if self._eval is None:
            return None
        scores = self._eval(prompts=batch.prompts, completions=batch.completions,
                            **batch.kwargs)
        scores = [None if s is None or not math.isfinite(float(s)) else float(s)
                  for s in scores]
        if len(scores) != len(batch.completions):
            raise RlvetInputError(f"SampleRecorder: eval_func returned {len(scores)} scores "
                                  f"for {len(batch.completions)} completions")
        finite = [s for s in scores if s is not None]
        log_metric = batch.kwargs.get("log_metric")
        if finite and callable(log_metric):
            log_metric(EVAL_METRIC, sum(finite) / len(finite))
        return scores

    def _write(self, batch: _Batch) -> None:
        """Append one record per scored completion of the batch."""
        state = batch.kwargs.get("trainer_state")
        step = int(state.global_step) if state is not None else self._batches
        evals = self._eval_scores(batch)
        prompts = [_text(p) for p in batch.prompts]
        groups = _groups(prompts, self._num_generations)
        for i, completion in enumerate(batch.completions):
            parts = {n: batch.parts[n][i] for n in self._names}
            scored = {n: float(v) for n, v in parts.items()
                      if v is not None and math.isfinite(float(v))}
            if not scored:
                continue  # no function applies: TRL trains on no reward for it either
            record: dict[str, Any] = {
                "id": f"{self._batches}:{i}",
                "reward": sum(self._weight_of[n] * v for n, v in scored.items()),
                "prompt": prompts[i], "response": _text(completion),
                "group": f"{self._batches}:{groups[i]}", "components": scored,
            }
            if evals is not None and evals[i] is not None:
                record["eval_score"] = evals[i]
            self._writer.write(step, record)
            self.records += 1
        self._batches += 1

    def close(self) -> None:
        """Close the file (every record was flushed already); safe to call twice."""
        self._writer.close()

    def __enter__(self) -> SampleRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def record_samples(reward_funcs: RewardFunc | Sequence[RewardFunc], path: str | Path, *,
                   eval_func: RewardFunc | None = None, weights: Sequence[float] | None = None,
                   num_generations: int | None = None) -> list[RewardFunc]:
    """Wrap GRPO reward functions so every scored completion is appended to ``path``.

    The shortcut for ``SampleRecorder(path, ...).wrap(reward_funcs)``; see
    ``SampleRecorder`` for the record layout and the arguments. The file is flushed per
    record; keep a ``SampleRecorder`` instead to close it explicitly.

    Example:
        >>> funcs = record_samples([format_reward, accuracy_reward], "out.samples.jsonl",
        ...                        eval_func=accuracy_reward, num_generations=8)
        >>> GRPOTrainer(model=..., reward_funcs=funcs, args=..., train_dataset=...)
    """
    return SampleRecorder(path, eval_func=eval_func, weights=weights,
                          num_generations=num_generations).wrap(reward_funcs)
