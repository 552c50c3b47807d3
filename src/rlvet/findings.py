"""The Finding model: the one currency every rlvet check, detector and report shares.

Contents:
    Severity -- error / warning / info, ordered (``Severity.ERROR > Severity.WARNING``); the
        one declaration of their rank.
    Stage, Category -- StrEnums of the taxonomy (ARCHITECTURE.md sections 1 and 3).
    CategoryInfo, CATEGORIES -- THE category table: per category its stage, default
        severity, default remedy and the stage-gate questions (``report/gates.py``) it fails.
    stage_of, remedy_of -- look-ups in that table.
    Finding -- one observation about one link of the training loop, with its evidence;
        ``Finding.of(category, ...)`` fills stage and remedy from the table.
    STAGE_ORDER -- the outside-in diagnostic order used to break ties.
    BreakPolicy, CAUSE_ORDER, first_break(findings, policy) -- the one first-break rule, with
        its named policies (severity, onset, cause).
    verdict, exit_code -- what a set of findings means for a go / no-go.
    CommandResult -- the JSON document every command emits with ``--json``.
    Suppressed -- a finding the project accepted (``rlvet.toml`` ``[ignore]``), with its reason.

Adding a category is adding a ``Category`` member and its ``CATEGORIES`` row
(``tests/test_taxonomy.py`` fails until the row is complete and its gates exist).

Checks *return* findings; they never raise, assert or warn about what they inspect, so a
caller always gets the whole list of problems (unlike ``gymnasium.utils.check_env``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = [
    "CATEGORIES",
    "CAUSE_ORDER",
    "STAGE_ORDER",
    "BreakPolicy",
    "Category",
    "CategoryInfo",
    "CommandResult",
    "Finding",
    "Severity",
    "Stage",
    "Suppressed",
    "exit_code",
    "first_break",
    "remedy_of",
    "stage_of",
    "verdict",
]


class Severity(StrEnum):
    """How much a finding matters for a go / no-go decision, ordered: members are declared
    most severe first, so ``Severity.ERROR > Severity.WARNING > Severity.INFO`` and ``rank``
    (0 for an error) sorts the most severe first. The only place the order is declared.

    Example:
        >>> Severity.WARNING >= Severity.INFO, max(Severity), Severity.ERROR.rank
        (True, <Severity.ERROR: 'error'>, 0)
    """

    ERROR = "error"  # blocks go
    WARNING = "warning"  # look now
    INFO = "info"  # context, never blocks

    @property
    def rank(self) -> int:
        """0 for the most severe (error), rising as severity falls: a sort key."""
        return type(self)._member_names_.index(self.name)

    @classmethod
    def rank_of(cls, value: str) -> int:
        """``rank`` of a severity read as text (a JSON document); unknown text sorts last."""
        return cls(value).rank if value in cls._value2member_map_ else len(cls)

    def _other_rank(self, other: object) -> int | None:
        if isinstance(other, str) and other in type(self)._value2member_map_:
            return type(self)(other).rank
        return None

    def __lt__(self, other: object) -> bool:
        rank = self._other_rank(other)
        return NotImplemented if rank is None else self.rank > rank

    def __le__(self, other: object) -> bool:
        rank = self._other_rank(other)
        return NotImplemented if rank is None else self.rank >= rank

    def __gt__(self, other: object) -> bool:
        rank = self._other_rank(other)
        return NotImplemented if rank is None else self.rank < rank

    def __ge__(self, other: object) -> bool:
        rank = self._other_rank(other)
        return NotImplemented if rank is None else self.rank <= rank


class Stage(StrEnum):
    """The link of the training loop a finding is about (ARCHITECTURE.md section 1)."""

    ENVIRONMENT = "environment"
    EVALUATION = "evaluation"
    REWARD = "reward"
    FRESHNESS = "freshness"
    POLICY_UPDATE = "policy_update"
    CRITIC = "critic"
    EXPLORATION = "exploration"
    NUMERICS = "numerics"
    RESOURCES = "resources"
    INFRASTRUCTURE = "infrastructure"


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)
"""Outside-in diagnostic order: an environment break explains a reward break, not vice versa."""


class Category(StrEnum):
    """Failure classes of the taxonomy (ARCHITECTURE.md section 3)."""

    # environment
    API_CONTRACT = "api_contract"
    NONDETERMINISTIC_RESET = "nondeterministic_reset"
    RESET_LEAKAGE = "reset_leakage"
    STALE_OBSERVATION = "stale_observation"
    SILENT_TIMEOUT = "silent_timeout"
    REWARD_ARTIFACT = "reward_artifact"
    REWARD_DIRECTION = "reward_direction"
    REWARD_SPARSITY = "reward_sparsity"
    ACTION_SPACE_DRIFT = "action_space_drift"
    HARNESS_FAILURE = "harness_failure"
    OBS_SCALE = "obs_scale"
    DONE_SEMANTICS = "done_semantics"
    # training runs
    KL_SPIKE = "kl_spike"
    CLIP_SATURATION = "clip_saturation"
    ENTROPY_COLLAPSE = "entropy_collapse"
    ENTROPY_STUCK = "entropy_stuck"
    CRITIC_FAILURE = "critic_failure"
    NUMERICAL_INSTABILITY = "numerical_instability"
    REWARD_HACKING = "reward_hacking"
    SPARSE_REWARD = "sparse_reward"
    STALE_DATA = "stale_data"
    THROUGHPUT_DROP = "throughput_drop"
    EVAL_PROTOCOL_CHANGE = "eval_protocol_change"
    NO_LEARNING_SIGNAL = "no_learning_signal"
    PLATEAU = "plateau"
    TRUNCATION = "truncation"  # LLM completions cut at the length cap
    WASTED_COMPUTE = "wasted_compute"  # GRPO groups with no reward spread: rollouts for nothing
    TRAIN_INFERENCE_MISMATCH = "train_inference_mismatch"  # sampler vs trainer log-probs
    REFERENCE_DRIFT = "reference_drift"  # KL to the reference model climbing without bound
    LENGTH_GRAD_SPIKE = "length_grad_spike"  # grad-norm spikes riding on length surges
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"  # a link rlvet could not judge (info)
    # reward audit
    REWARD_TOO_LOOSE = "reward_too_loose"
    REWARD_LONG_TAIL = "reward_long_tail"
    LENGTH_INFLATION = "length_inflation"
    REPETITION = "repetition"
    FORMAT_HACKING = "format_hacking"
    TOOL_HACKING = "tool_hacking"
    PSEUDO_SUCCESS = "pseudo_success"
    JUDGE_DISAGREEMENT = "judge_disagreement"
    # reward probe (before training)
    REWARD_EXPLOIT = "reward_exploit"  # a no-knowledge response earns the reference's reward
    GRADER_FAILURE = "grader_failure"  # the reward function raises, hangs or dies on input
    # resources and infrastructure
    MEMORY_BUDGET = "memory_budget"  # the memory plan's peak does not fit the GPU
    MEMORY_GROWTH = "memory_growth"
    FRAGMENTATION = "fragmentation"
    ENV_BOUND = "env_bound"
    LEARNER_BOUND = "learner_bound"
    WORKER_CRASH = "worker_crash"
    WORKER_HANG = "worker_hang"
    BUCKET_VARIANCE = "bucket_variance"
    SIM_TO_REAL_GAP = "sim_to_real_gap"
    # evaluation and deployment
    SPLIT_OVERUSE = "split_overuse"
    LATENCY_BUDGET = "latency_budget"
    OOD_FAILURE = "ood_failure"


# The stage-gate questions of ``report/gates.py`` a category can fail, by gate id (the
# report's ``Gate.categories`` are read from this table; tests/test_taxonomy.py checks that
# every id names a gate).
_ENV_GATE = ("env_validated",)
_REWARD_GATE = ("reward_reviewed",)
_TRAINING_GATE = ("trajectories_monitored",)
_THROUGHPUT_GATE = ("throughput",)
_BEHAVIOUR_GATE = ("behaviour_tracked",)
_OOD_GATE = ("ood_tested",)


@dataclass(frozen=True, slots=True, kw_only=True)
class CategoryInfo:
    """What one category means: one row of ``CATEGORIES``.

    Attributes:
        stage: the link of the loop the category is about; None only for a category about
            whichever link its finding names (``insufficient_evidence``).
        severity: the severity when the evidence is clear; detectors may report less (too
            little history, a borderline value) or, for an info category, never more.
        remedy: the family's default remedy; a check whose evidence says more (which field
            is wrong, which change fits) words its own.
        gates: ids of the ``report/gates.py`` questions a finding of this category fails.
    """

    stage: Stage | None
    severity: Severity
    remedy: str
    gates: tuple[str, ...]


_SPARSITY = CategoryInfo(
    stage=Stage.REWARD, severity=Severity.ERROR, gates=_REWARD_GATE,
    remedy="the reward rarely differs between attempts: make sure it fires for the intended "
    "events, then add partial credit or potential-based shaping (the optimum is unchanged), a "
    "curriculum or easier starts, more exploration (entropy bonus, intrinsic reward), "
    "demonstrations or hindsight relabelling; for LLM tasks sample more completions per prompt "
    "so some succeed")
"""``reward_sparsity`` (env QA, reward audit) and ``sparse_reward`` (doctor) are one idea
under two names kept for the JSON contract: they share this row."""

_C, _S = Category, Stage
CATEGORIES: Mapping[Category, CategoryInfo] = MappingProxyType({
    # environment
    _C.API_CONTRACT: CategoryInfo(
        stage=_S.ENVIRONMENT, severity=Severity.ERROR, gates=_ENV_GATE,
        remedy="follow the gymnasium.Env API: reset() returns (obs, info), step() returns "
        "(obs, reward, terminated, truncated, info) with a float reward, bool flags and an "
        "observation inside observation_space"),
    _C.NONDETERMINISTIC_RESET: CategoryInfo(
        stage=_S.ENVIRONMENT, severity=Severity.ERROR, gates=_ENV_GATE,
        remedy="draw all randomness from self.np_random and call super().reset(seed=seed) in "
        "reset(); never use np.random/random/time directly"),
    _C.RESET_LEAKAGE: CategoryInfo(
        stage=_S.ENVIRONMENT, severity=Severity.ERROR, gates=_ENV_GATE,
        remedy="reset every piece of episode state in reset() (counters, accumulators, caches, "
        "velocities); keep cross-episode state out of the env or behind options"),
    _C.STALE_OBSERVATION: CategoryInfo(
        stage=_S.ENVIRONMENT, severity=Severity.ERROR, gates=_ENV_GATE,
        remedy="return the observation computed in this step (copy it from the simulator after "
        "stepping); check caches, frame buffers and async sensor reads"),
    _C.SILENT_TIMEOUT: CategoryInfo(
        stage=_S.ENVIRONMENT, severity=Severity.ERROR, gates=_ENV_GATE,
        remedy="end time-limited episodes with truncated=True (gymnasium TimeLimit) and keep "
        "terminated=True for true terminal states"),
    _C.REWARD_ARTIFACT: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_REWARD_GATE,
        remedy="remove rounding/clipping from the env's reward; if the learner needs a bounded "
        "reward, scale or normalise it in a wrapper you can switch off"),
    _C.REWARD_DIRECTION: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_REWARD_GATE,
        remedy="the reward points away from the true objective: check its sign (and any "
        "negation in wrappers), the judge's scale direction (is lower better?) and what it pays "
        "for; verify that a known-good controller or sample scores above a known-bad one "
        "(`rlvet env` compares expert and random returns)"),
    _C.REWARD_SPARSITY: _SPARSITY,
    _C.ACTION_SPACE_DRIFT: CategoryInfo(
        stage=_S.ENVIRONMENT, severity=Severity.ERROR, gates=_ENV_GATE,
        remedy="declare the spaces once in __init__ and never mutate them; validate actions "
        "(action_space.contains) and declare the bounds the env actually honours"),
    _C.HARNESS_FAILURE: CategoryInfo(
        stage=_S.ENVIRONMENT, severity=Severity.ERROR, gates=_ENV_GATE,
        remedy="fix the failing calls (retry/restart the simulator, validate outputs) before "
        "training; every dropped or NaN step skews the returns the learner sees"),
    _C.OBS_SCALE: CategoryInfo(
        stage=_S.ENVIRONMENT, severity=Severity.WARNING, gates=_ENV_GATE,
        remedy="normalise observations (gymnasium.wrappers.NormalizeObservation or "
        "VecNormalize) or rescale the offending dimensions to comparable units"),
    _C.DONE_SEMANTICS: CategoryInfo(
        stage=_S.ENVIRONMENT, severity=Severity.ERROR, gates=_ENV_GATE,
        remedy="check the termination condition and that terminated/truncated reach the caller "
        "(wrappers must pass them through); keep a TimeLimit on every env"),
    # training runs
    _C.KL_SPIKE: CategoryInfo(
        stage=_S.POLICY_UPDATE, severity=Severity.ERROR, gates=_TRAINING_GATE,
        remedy="roll back to the last healthy checkpoint; lower the learning rate (or anneal "
        "it), use fewer epochs or larger minibatches per update, and set a target-KL early stop "
        "(target_kl 0.01-0.03); check advantage normalisation"),
    _C.CLIP_SATURATION: CategoryInfo(
        stage=_S.POLICY_UPDATE, severity=Severity.WARNING, gates=_TRAINING_GATE,
        remedy="the update is larger than the trust region: lower the learning rate or use "
        "fewer epochs per rollout; if the clip range is very small (< 0.1), widen it; check "
        "advantage normalisation and reward scale"),
    _C.ENTROPY_COLLAPSE: CategoryInfo(
        stage=_S.EXPLORATION, severity=Severity.ERROR, gates=_TRAINING_GATE,
        remedy="roll back to before the collapse; add or raise the entropy bonus (ent_coef "
        "0.001-0.01, never negative), lower the learning rate, and check the reward scale: huge "
        "advantages sharpen the policy in a few updates"),
    _C.ENTROPY_STUCK: CategoryInfo(
        stage=_S.EXPLORATION, severity=Severity.WARNING, gates=_TRAINING_GATE,
        remedy="lower the entropy bonus (ent_coef 0-0.01): it is outweighing the policy "
        "gradient; then check that advantages carry signal (reward scale, advantage "
        "normalisation)"),
    _C.CRITIC_FAILURE: CategoryInfo(
        stage=_S.CRITIC, severity=Severity.ERROR, gates=_TRAINING_GATE,
        remedy="fit the critic alone on a fixed batch of returns to see whether it can learn "
        "at all; check vf_coef (> 0), the value learning rate, and the reward scale (normalise "
        "rewards, e.g. VecNormalize(norm_reward=True), or clip them)"),
    _C.NUMERICAL_INSTABILITY: CategoryInfo(
        stage=_S.NUMERICS, severity=Severity.ERROR, gates=_TRAINING_GATE,
        remedy="roll back to the last finite checkpoint; lower the learning rate, clip "
        "gradients (max_grad_norm 0.5), normalise observations and rewards, and look for log(0) "
        "or division by a zero std in the loss"),
    _C.REWARD_HACKING: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=("reward_reviewed", "true_objective"),
        remedy="the policy is gaming the training reward: read the episodes or samples where "
        "the reward is high (the spot check), remove or cap the exploited term (cap shaping "
        "bonuses, penalise the side effect, raise the KL penalty), measure the true objective "
        "on held-out data, and select or roll back checkpoints on it"),
    _C.SPARSE_REWARD: _SPARSITY,
    _C.STALE_DATA: CategoryInfo(
        stage=_S.FRESHNESS, severity=Severity.ERROR, gates=("policy_lag",),
        remedy="learner is training on old policies' data: reduce the number of in-flight "
        "rollouts or the replay/queue size, broadcast weights more often, or correct for it "
        "(V-trace, truncated importance weights)"),
    _C.THROUGHPUT_DROP: CategoryInfo(
        stage=_S.RESOURCES, severity=Severity.WARNING, gates=_THROUGHPUT_GATE,
        remedy="steps per second fell: profile the env step and the learner update, look for a "
        "leaking or throttled simulator, growing buffers, logging or evaluation that grows with "
        "the run, and host contention"),
    _C.EVAL_PROTOCOL_CHANGE: CategoryInfo(
        stage=_S.EVALUATION, severity=Severity.ERROR, gates=("true_objective", "reproducible"),
        remedy="evaluation results before and after the change are not comparable: pin the "
        "evaluation protocol (seeds, env kwargs, temperature, max tokens) and re-evaluate the "
        "earlier checkpoints under one protocol"),
    _C.NO_LEARNING_SIGNAL: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_REWARD_GATE,
        remedy="most groups give every sample the same reward, so advantages are ~0: make the "
        "task easier or the reward graded (partial credit), raise the group size or sampling "
        "temperature, and filter prompts that are always solved or never solved (dynamic "
        "sampling)"),
    # A plateau is judged on the return, so it sits with the reward link; it is a diagnosis
    # of exclusion (doctor/diagnose.py) and never outranks a mechanical break.
    _C.PLATEAU: CategoryInfo(
        stage=_S.REWARD, severity=Severity.WARNING, gates=("beats_baseline",),
        remedy="the mechanics look healthy but the return has not improved: train longer, tune "
        "the learning rate (a log sweep), and check that the reward can be improved at all "
        "(`rlvet env` expert vs random)"),
    # LLM post-training (doctor/llm.py): only ever reported for runs with LLM signals
    _C.TRUNCATION: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_BEHAVIOUR_GATE,
        remedy="completions are cut before they finish, so their rewards score fragments: "
        "raise max_completion_length / max_response_length if answers need the room, or add "
        "overlong shaping (DAPO's soft overlong punishment) or mask truncated completions out "
        "of the loss (overlong filtering); read a few truncated samples first"),
    _C.WASTED_COMPUTE: CategoryInfo(
        stage=_S.RESOURCES, severity=Severity.WARNING, gates=_THROUGHPUT_GATE,
        remedy="filter zero-variance groups and resample (dynamic sampling, DAPO) or drop "
        "prompts that are always solved or never solved from the pool; order prompts by "
        "difficulty (curriculum): all-failed groups mean too hard, all-solved too easy"),
    _C.TRAIN_INFERENCE_MISMATCH: CategoryInfo(
        stage=_S.FRESHNESS, severity=Severity.ERROR, gates=("policy_lag",),
        remedy="correct for the sampler: truncated importance sampling on the rollout "
        "log-probs (TIS, or sequence-level masked IS), and align the engine with the trainer "
        "-- same dtype for the logits (fp32 lm_head), the same sampling temperature applied "
        "in both, weights synced every step"),
    _C.REFERENCE_DRIFT: CategoryInfo(
        stage=_S.POLICY_UPDATE, severity=Severity.WARNING, gates=_TRAINING_GATE,
        remedy="raise beta (TRL beta, verl kl_loss_coef, OpenRLHF init_kl_coef) or use an "
        "adaptive KL controller with a target; if the drift is wanted progress, reset the "
        "reference model to a recent checkpoint (reference reset) instead of letting the KL "
        "grow; check the true objective for reward-model overoptimisation"),
    _C.LENGTH_GRAD_SPIKE: CategoryInfo(
        stage=_S.NUMERICS, severity=Severity.WARNING, gates=_TRAINING_GATE,
        remedy="normalise the loss by token count (token-mean loss aggregation, Dr. GRPO's "
        "constant normaliser) rather than summing over tokens, clip gradients (max_grad_norm "
        "1.0), cap or penalise overlong completions, and check the stop tokens of the sampler"),
    _C.INSUFFICIENT_EVIDENCE: CategoryInfo(
        stage=None, severity=Severity.INFO, gates=(),
        remedy="log the signal the check needs (or map its name with --alias RAW=CANONICAL) "
        "and run it again"),
    # reward audit
    _C.REWARD_TOO_LOOSE: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_REWARD_GATE,
        remedy="tighten the verifier (exact match, unit tests, stricter judge rubric) or add "
        "harder prompts, so the reward separates good from bad samples"),
    _C.REWARD_LONG_TAIL: CategoryInfo(
        stage=_S.REWARD, severity=Severity.WARNING, gates=_REWARD_GATE,
        remedy="clip or rank-normalise rewards (or advantages per group) and inspect the "
        "outlier samples for a scoring bug"),
    _C.LENGTH_INFLATION: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_BEHAVIOUR_GATE,
        remedy="add a length penalty or length-normalised reward, compare rewards at matched "
        "length, or debias the reward model for length"),
    _C.REPETITION: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_BEHAVIOUR_GATE,
        remedy="penalise repeated n-grams, lower the maximum completion length, and check the "
        "reward model on looping completions"),
    _C.FORMAT_HACKING: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_BEHAVIOUR_GATE,
        remedy="pay the format only together with a correct answer (gate, not add), and score "
        "the content inside the markers"),
    _C.TOOL_HACKING: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_BEHAVIOUR_GATE,
        remedy="charge per tool call or cap calls per episode, deduplicate identical calls, and "
        "reward the task outcome rather than tool use"),
    _C.PSEUDO_SUCCESS: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_BEHAVIOUR_GATE,
        remedy="reward the verified final state, never the agent's own claim; check the "
        "environment state before paying success"),
    _C.JUDGE_DISAGREEMENT: CategoryInfo(
        stage=_S.REWARD, severity=Severity.WARNING, gates=_REWARD_GATE,
        remedy="recalibrate the judge or reward model on human-labelled pairs, use a stronger "
        "judge or rubric, and monitor agreement on a labelled subset"),
    # reward probe (before training)
    _C.REWARD_EXPLOIT: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_REWARD_GATE,
        remedy="score the content, not its wrapper: parse the answer out of the format and "
        "compare it with the reference (exact or verified match), pay format only together "
        "with a correct answer, accept one answer per response (not a list of candidates), "
        "cap or normalise length, and never pay the response's own claim of success"),
    _C.GRADER_FAILURE: CategoryInfo(
        stage=_S.REWARD, severity=Severity.ERROR, gates=_REWARD_GATE,
        remedy="make the reward total: return a number (0 or a penalty) for every input, "
        "empty and malformed responses included, catch parse errors, and put a timeout on "
        "every external call (sandboxed code execution, judge requests)"),
    # resources and infrastructure
    _C.MEMORY_BUDGET: CategoryInfo(
        stage=_S.RESOURCES, severity=Severity.ERROR, gates=_THROUGHPUT_GATE,
        remedy="cut the peak: smaller micro-batches or sequences, activation checkpointing, "
        "LoRA or a sharded / 8-bit optimizer, or more GPUs (`rlvet resources plan` lists the "
        "changes that fit)"),
    _C.MEMORY_GROWTH: CategoryInfo(
        stage=_S.RESOURCES, severity=Severity.ERROR, gates=_THROUGHPUT_GATE,
        remedy="find what is kept across iterations: tensors appended to a list or log without "
        ".detach()/.item(), losses summed with their graphs, a buffer or episode history "
        "without a cap, an env that keeps renders; compare tracemalloc or "
        "torch.cuda.memory_snapshot() between two iterations"),
    _C.FRAGMENTATION: CategoryInfo(
        stage=_S.RESOURCES, severity=Severity.WARNING, gates=_THROUGHPUT_GATE,
        remedy="the caching allocator holds memory it cannot reuse: pad or bucket sequence "
        "lengths to a few shapes, set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True, and "
        "avoid torch.cuda.empty_cache() in the loop (it only hides the cause)"),
    _C.ENV_BOUND: CategoryInfo(
        stage=_S.RESOURCES, severity=Severity.WARNING, gates=_THROUGHPUT_GATE,
        remedy="add env workers or vectorised envs (AsyncVectorEnv, more actors), batch or "
        "cache reward-model calls and score asynchronously, and profile the env step; a faster "
        "learner will not help"),
    _C.LEARNER_BOUND: CategoryInfo(
        stage=_S.RESOURCES, severity=Severity.WARNING, gates=_THROUGHPUT_GATE,
        remedy="cut learner work per sample (fewer epochs, larger minibatches), use mixed "
        "precision or another learner device; in a decoupled pipeline bound the policy lag, "
        "since actors keep collecting with old weights"),
    _C.WORKER_CRASH: CategoryInfo(
        stage=_S.INFRASTRUCTURE, severity=Severity.ERROR, gates=_THROUGHPUT_GATE,
        remedy="read the actor errors; fix the env or policy code that raises, or the memory "
        "limit that gets the process killed, and rerun results that lost many rollouts"),
    _C.WORKER_HANG: CategoryInfo(
        stage=_S.INFRASTRUCTURE, severity=Severity.ERROR, gates=_THROUGHPUT_GATE,
        remedy="find the env call that blocks (a simulator deadlock, a network call without a "
        "timeout) and give every step a timeout that restarts the worker"),
    _C.BUCKET_VARIANCE: CategoryInfo(
        stage=_S.EVALUATION, severity=Severity.WARNING, gates=_OOD_GATE,
        remedy="train longer or sample the weak bucket more often (a curriculum), check that "
        "its parameter range is solvable at all, or give the policy the parameters (or a "
        "history of observations) so it can adapt"),
    _C.SIM_TO_REAL_GAP: CategoryInfo(
        stage=_S.EVALUATION, severity=Severity.WARNING, gates=_OOD_GATE,
        remedy="randomise or calibrate the simulator parameters that differ from the deployment "
        "(physics, sensor noise), or train on deployment data; re-run the sweep to check the gap "
        "closes"),
    # evaluation and deployment
    _C.SPLIT_OVERUSE: CategoryInfo(
        stage=_S.EVALUATION, severity=Severity.WARNING, gates=("reproducible",),
        remedy="tune on dev or public; draw fresh private seeds (a new [splits.private]) for "
        "the next final check and keep it for one read"),
    _C.LATENCY_BUDGET: CategoryInfo(
        stage=_S.RESOURCES, severity=Severity.ERROR, gates=("latency",),
        remedy="shrink the network or export it (TorchScript / ONNX), pin inference threads, or "
        "raise deploy.latency_budget_ms if the control rate allows"),
    _C.OOD_FAILURE: CategoryInfo(
        stage=_S.EVALUATION, severity=Severity.ERROR, gates=_OOD_GATE,
        remedy="widen the initial-state distribution or add sensor dropout in training; add a "
        "fallback controller for states outside the trained region"),
})
"""THE category table: what each ``Category`` means for the rest of rlvet (one row each)."""


def stage_of(category: Category) -> Stage:
    """The loop link of ``category`` (KeyError for a category without a fixed link).

    Example:
        >>> str(stage_of(Category.KL_SPIKE))
        'policy_update'
    """
    stage = CATEGORIES[Category(category)].stage
    if stage is None:
        raise KeyError(f"{category} is about whichever link its finding names: pass the stage")
    return stage


def remedy_of(category: Category) -> str:
    """The default remedy of ``category``'s family (``CategoryInfo.remedy``)."""
    return CATEGORIES[Category(category)].remedy


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One observation about one link of the loop, with the numbers behind it.

    Attributes:
        check: the check or detector that produced it, e.g. ``"envcheck.reset_determinism"``.
        category: the failure class from the taxonomy.
        stage: the link of the training loop.
        severity: error blocks go, warning asks for a look, info is context.
        message: one sentence: what was observed, the value, the likely cause.
        evidence: JSON-serialisable numbers behind the message.
        step: training step where it first appeared; None for static checks.
        remedy: what to do, in the words of the field.

    Example:
        >>> f = Finding(check="envcheck.reward_direction", category=Category.REWARD_DIRECTION,
        ...             stage=Stage.REWARD, severity=Severity.ERROR,
        ...             message="expert return 9.1 is below random 22.3", remedy="check the sign")
        >>> f.to_dict()["severity"]
        'error'
    """

    check: str
    category: Category
    stage: Stage
    severity: Severity
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    step: int | None = None
    remedy: str = ""

    @classmethod
    def of(
        cls,
        category: Category,
        *,
        check: str,
        message: str,
        severity: Severity | None = None,
        evidence: Mapping[str, Any] | None = None,
        step: int | None = None,
        remedy: str | None = None,
        stage: Stage | None = None,
    ) -> Finding:
        """A finding whose stage, default severity and default remedy come from
        ``CATEGORIES``; pass ``remedy`` when the evidence says more than the family default,
        ``stage`` only for a category without a fixed link.

        Example:
            >>> f = Finding.of(Category.KL_SPIKE, check="doctor.kl_spike", message="kl 0.5")
            >>> (str(f.stage), str(f.severity), f.remedy == remedy_of(Category.KL_SPIKE))
            ('policy_update', 'error', True)
        """
        info = CATEGORIES[Category(category)]
        return cls(check=check, category=category,
                   stage=stage if stage is not None else stage_of(category),
                   severity=info.severity if severity is None else severity,
                   message=message, evidence=dict(evidence or {}), step=step,
                   remedy=info.remedy if remedy is None else remedy)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, with non-finite floats turned into strings JSON can carry."""
        return {
            "check": self.check,
            "category": str(self.category),
            "stage": str(self.stage),
            "severity": str(self.severity),
            "message": self.message,
            "evidence": _jsonable(self.evidence),
            "step": self.step,
            "remedy": self.remedy,
        }


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats so ``json.dumps`` is strict-valid."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf": JSON has no literal for them
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def verdict(findings: Iterable[Finding]) -> str:
    """``"fail"`` if any error, ``"warn"`` if any warning, else ``"pass"``."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return "fail"
    if Severity.WARNING in severities:
        return "warn"
    return "pass"


class BreakPolicy(StrEnum):
    """How ``first_break`` orders the error and warning findings (info never breaks).

    SEVERITY: the most severe, then the earliest step, then loop order (``STAGE_ORDER``):
        the rule of every command's result and of ``rlvet doctor`` (the earliest error,
        else the earliest warning: on the calibration corpus an earlier warning was more
        often a symptom of the error than its cause).
    CAUSE: the most severe, then ``CAUSE_ORDER``, then the earliest step: ``rlvet reward``,
        whose findings all share one stage and one clock.

    Ties left after the key go to the first finding in the list (detector order).
    """

    SEVERITY = "severity"
    CAUSE = "cause"


CAUSE_ORDER: tuple[Category, ...] = (
    Category.REWARD_DIRECTION,
    Category.REWARD_SPARSITY,
    Category.REWARD_TOO_LOOSE,
    Category.NO_LEARNING_SIGNAL,
    Category.REWARD_LONG_TAIL,
    Category.PSEUDO_SUCCESS,
    Category.TOOL_HACKING,
    Category.FORMAT_HACKING,
    Category.REPETITION,
    Category.LENGTH_INFLATION,
    Category.REWARD_HACKING,
    Category.JUDGE_DISAGREEMENT,
)
"""Which reward finding explains the others (``BreakPolicy.CAUSE``). The reward audit's
findings share the reward stage, so "earliest step" would put a static disagreement ahead of
the hack that causes it. Instead: a wrong sign or shape of the reward explains everything
after it; among hacks the most specific mechanism comes first (loops make answers long, so
repetition precedes length); the generic proxy/goal divergence and the judge's disagreement
are symptoms the specific findings explain. Categories not listed come after these."""


def _step_key(f: Finding) -> float:
    return -1.0 if f.step is None else float(f.step)  # static: present from the start


def _break_key(policy: BreakPolicy) -> Any:
    if policy == BreakPolicy.CAUSE:
        cause = {c: i for i, c in enumerate(CAUSE_ORDER)}
        return lambda f: (Severity(f.severity).rank, cause.get(f.category, len(cause)),
                          _step_key(f))
    return lambda f: (Severity(f.severity).rank, _step_key(f), STAGE_ORDER.index(f.stage))


def first_break(findings: Iterable[Finding],
                policy: BreakPolicy = BreakPolicy.SEVERITY) -> Finding | None:
    """The break to read first under ``policy`` (see ``BreakPolicy``), or None when there is
    no error or warning. A static finding (``step is None``) counts as present from the start.

    Example:
        >>> late = Finding.of(Category.KL_SPIKE, check="k", message="m", step=900)
        >>> early = Finding.of(Category.CLIP_SATURATION, check="c", message="m", step=100)
        >>> first_break([late, early]) is late  # the error, though the warning came first
        True
    """
    candidates = [f for f in findings if Severity(f.severity) != Severity.INFO]
    if not candidates:
        return None
    return min(candidates, key=_break_key(BreakPolicy(policy)))  # min keeps the first tie


def exit_code(findings: Iterable[Finding]) -> int:
    """0 with no error finding, 1 with at least one (exit 2 is for bad input, in the CLI)."""
    return 1 if any(f.severity == Severity.ERROR for f in findings) else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppressed:
    """A finding the project accepted (``[ignore]`` in ``rlvet.toml``): shown with its
    reason in every report, never counted towards the verdict or the exit code."""

    finding: Finding
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The finding's JSON form plus ``suppressed_reason``."""
        return {**self.finding.to_dict(), "suppressed_reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandResult:
    """What one rlvet command concluded: the JSON contract of ARCHITECTURE.md section 2."""

    command: str
    target: str
    findings: tuple[Finding, ...]
    metrics: Mapping[str, Any] = field(default_factory=dict)
    chosen_first_break: Finding | None = None
    """A command's own choice of first break (the doctor orders training findings by onset
    time); None means the generic rule of ``first_break``."""
    runs: tuple[CommandResult, ...] = ()
    """One result per run when the target held several (``rlvet doctor sweep/``): each run
    is judged on its own, never as a merged series."""
    suppressed: tuple[Suppressed, ...] = ()
    """Findings of categories the project ignores (``rlvet.project.apply_ignore``): not in
    ``findings``, so they never count, but listed with their reason in every view."""

    @property
    def verdict(self) -> str:
        """Overall pass / warn / fail."""
        return verdict(self.findings)

    @property
    def first_break(self) -> Finding | None:
        """The finding to read first, or None for a clean result."""
        if self.chosen_first_break is not None:
            return self.chosen_first_break
        return first_break(self.findings)

    @property
    def exit_code(self) -> int:
        """Process exit code for this result."""
        return exit_code(self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The contract object, ready for ``json.dumps``."""
        from rlvet import __version__

        fb = self.first_break
        return {
            "rlvet": __version__,
            "command": self.command,
            "target": self.target,
            "verdict": self.verdict,
            "first_break": None if fb is None else fb.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "metrics": _jsonable(self.metrics),
            **({"runs": [_run_dict(r) for r in self.runs]} if self.runs else {}),
            **({"suppressed": [s.to_dict() for s in self.suppressed]} if self.suppressed
               else {}),
        }

    def to_json(self) -> str:
        """One strict JSON document (no NaN literals)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)


def _run_dict(run: CommandResult) -> dict[str, Any]:
    """One run's part of a several-run result: its target, verdict, first break, findings."""
    fb = run.first_break
    return {"target": run.target, "verdict": run.verdict,
            "first_break": None if fb is None else fb.to_dict(),
            "findings": [f.to_dict() for f in run.findings],
            "metrics": _jsonable(run.metrics),
            **({"suppressed": [s.to_dict() for s in run.suppressed]} if run.suppressed
               else {})}
