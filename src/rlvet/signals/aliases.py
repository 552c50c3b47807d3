"""The alias table: every library's metric names mapped onto rlvet's canonical names.

Contents:
    Alias, ALIASES: exact rows -- raw name, canonical name, transform, which library logs it.
    AliasPattern, ALIAS_PATTERNS: rows with a placeholder (``rewards/<func>/mean``).
    TRANSFORMS: transform name -> function applied to the values (``negate`` for SB3's
        ``train/entropy_loss``, which is -entropy).
    Dialect, DIALECTS, detect_dialect(raw_names): frameworks that log a name another
        library also logs, with another meaning (TRL's ``kl`` is KL to the reference;
        OpenRLHF's and slime's ``train/entropy_loss`` is +entropy, SB3's is -entropy).
    Resolved, resolve(raw): the canonical name, transform and priority for one raw name.
    sanitize(raw): the key an unknown name is kept under.
    lookup(run, name): the series key for a name a user typed (canonical or as logged).
    is_update_signal(raw): whether a logged name is one a policy update writes.
    user_aliases(rows): a user's ``RAW=CANONICAL`` rows, checked, as resolutions.
    find_eval_key(run): the evaluation return when no alias row names one, found by pattern.

Resolution order for a raw name (first hit wins):
    0. the run's dialect row, when its names show which framework wrote it;
    1. an exact row;
    2. a pattern row;
    3. Ray Tune's TensorBoard prefix ``ray/tune/`` stripped, then 1-2;
    4. the HF Trainer's W&B/TensorBoard rewrite undone: ``train/x`` -> ``x`` (only when
       ``x`` is known, so SB3's own ``train/n_updates`` stays as logged);
    5. HF eval metrics: ``eval_x`` and ``eval/x`` -> ``eval/<canonical of x>``
       (``eval_reward`` -> ``eval_return``), so a trainer_state.json and the TensorBoard
       file written beside it land on the same key;
    6. otherwise the name is kept, sanitised, so ``--reward-metric NAME`` works for any
       logged name.

Priority: when one run logs two raw names for one canonical name (TRL PPO logs both
``policy/approxkl_avg`` and ``objective/kl``), the row listed first in ``ALIASES`` wins;
within each canonical group the canonical name itself is listed first. The readers keep
the loser under its own (sanitised) raw name.

The names were checked against the installed SB3 source (``logger.record`` calls in
ppo.py, a2c.py, dqn.py, sac.py, on/off_policy_algorithm.py, callbacks.py) and against
research/anchors.md section 3 for CleanRL, TRL, HF Trainer and RLlib.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from rlvet.signals import names as n
from rlvet.signals.series import RunSignals

__all__ = [
    "ALIASES",
    "ALIAS_PATTERNS",
    "TRANSFORMS",
    "Alias",
    "AliasPattern",
    "DIALECTS",
    "Dialect",
    "Resolved",
    "detect_dialect",
    "find_eval_key",
    "is_update_signal",
    "lookup",
    "resolve",
    "sanitize",
    "user_aliases",
]

IDENTITY = "identity"
NEGATE = "negate"

TRANSFORMS: Mapping[str, Callable[[np.ndarray], np.ndarray]] = MappingProxyType(
    {IDENTITY: lambda values: values, NEGATE: np.negative}
)


@dataclass(frozen=True, slots=True)
class Alias:
    """One row: a name as some library logs it, and what rlvet calls it."""

    raw: str
    canonical: str
    transform: str = IDENTITY
    source: str = "rlvet"


@dataclass(frozen=True, slots=True)
class AliasPattern:
    """A row whose raw name has a placeholder, e.g. ``rewards/(?P<c>[^/]+)/mean``."""

    pattern: str
    template: str  # str.format template over the pattern's named groups
    transform: str = IDENTITY
    source: str = "rlvet"


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where a raw name lands: the series key, how to transform it, its priority.

    ``rank`` orders competing raw names for one key (lower wins); ``known`` is False for
    names kept as logged.
    """

    name: str
    transform: str
    rank: int
    known: bool


def _group(canonical: str, *rows: tuple[str, str] | tuple[str, str, str]) -> tuple[Alias, ...]:
    """Rows for one canonical name: the name itself first, then ``(source, raw[, transform])``."""
    out = [Alias(canonical, canonical)]
    for row in rows:
        source, raw, *transform = row
        out.append(Alias(raw, canonical, transform[0] if transform else IDENTITY, source))
    return tuple(out)


# One row per (library, raw name). Order inside a group is the priority described above.
ALIASES: tuple[Alias, ...] = (
    *_group(n.REWARD,
            ("sb3", "rollout/ep_rew_mean"),
            ("cleanrl", "charts/episodic_return"),
            ("trl_ppo", "objective/rlhf_reward"),  # score - KL penalty: what PPO optimises
            ("trl_ppo", "objective/scores"),
            ("rllib", "env_runners/episode_return_mean"),
            ("verl", "critic/score/mean"),  # the verifier/RM score, before any KL penalty
            ("verl", "critic/rewards/mean"),  # score - in-reward KL penalty (token sum)
            ("openrlhf", "train/reward"),
            ("slime", "rollout/raw_reward"),
            ("skyrl", "reward/avg_raw_reward"),
            ("areal", "ppo_actor/task_reward/avg"),
            ("prime_rl", "train/agg/reward/mean")),
    *_group(n.EVAL_RETURN,
            ("sb3", "eval/mean_reward"),
            ("hf_trainer", "eval_reward"),  # TRL GRPO's reward on the eval dataset
            ("rllib", "evaluation/env_runners/episode_return_mean")),
    *_group(n.EPISODE_LENGTH,
            ("sb3", "rollout/ep_len_mean"),
            ("cleanrl", "charts/episodic_length"),
            ("rllib", "env_runners/episode_len_mean")),
    *_group(n.KL,
            ("sb3", "train/approx_kl"),  # mean over the last epoch's minibatches
            ("cleanrl", "losses/approx_kl"),  # k3 estimator, last minibatch
            ("trl_ppo", "policy/approxkl_avg"),  # old -> new, what `kl` means here
            ("rllib", "learners/default_policy/mean_kl_loss"),
            ("verl", "actor/ppo_kl"),  # old -> new, per PPO update
            ("openrlhf", "train/ppo_kl"),  # also slime's train/ppo_kl
            ("areal", "ppo_actor/update/approx_kl/avg")),
    *_group(n.KL_REF,
            ("trl_ppo", "objective/kl"),  # policy -> reference
            ("verl", "actor/kl_loss"),  # use_kl_loss: the KL term of the actor loss
            ("verl", "actor/reward_kl_penalty"),  # use_kl_in_reward: the in-reward penalty
            ("openrlhf", "train/kl"),  # KL to the initial model (logged when kl.use_loss)
            ("slime", "train/kl_loss"),
            ("skyrl", "loss/avg_kl")),
    *_group(n.MISMATCH_KL,
            ("openrlhf", "train/vllm_kl"),
            ("prime_rl", "mismatch_kl/all/mean"),
            ("verl", "rollout_corr/kl"),  # KL(rollout || training), direct estimator
            ("verl", "rollout_corr/k3_kl"),
            ("areal", "ppo_actor/update/behave_approx_kl/avg")),  # behaviour -> proximal
    *_group(n.LOGPROB_DIFF,
            ("slime", "train/train_rollout_logprob_abs_diff"),
            ("skyrl", "policy/rollout_train_logprobs_abs_diff_mean"),
            ("trl_grpo", "sampling/sampling_logp_difference/mean")),
    *_group(n.IMPORTANCE_WEIGHT,
            ("trl_grpo", "sampling/importance_sampling_ratio/mean"),
            ("verl", "rollout_corr/rollout_is_mean"),
            ("areal", "ppo_actor/update/behave_imp_weight/avg")),
    *_group(n.CLIP_FRACTION,
            ("sb3", "train/clip_fraction"),
            ("cleanrl", "losses/clipfrac"),
            ("trl_grpo", "clip_ratio/region_mean"),
            ("trl_grpo", "clip_ratio"),  # the Liger loss path logs one value
            ("trl_ppo", "policy/clipfrac_avg"),
            ("verl", "actor/pg_clipfrac"),
            ("openrlhf", "train/ppo_clip_ratio"),
            ("slime", "train/pg_clipfrac"),
            ("areal", "ppo_actor/update/clip_ratio/avg")),
    *_group(n.ENTROPY,
            ("sb3", "train/entropy_loss", NEGATE),  # SB3 logs -entropy
            ("cleanrl", "losses/entropy"),  # +entropy
            ("trl_ppo", "objective/entropy"),
            ("trl_ppo", "policy/entropy_avg"),
            ("rllib", "learners/default_policy/entropy"),
            ("verl", "actor/entropy"),  # token entropy of the actor
            ("skyrl", "policy/policy_entropy"),
            ("areal", "ppo_actor/update/entropy/avg"),
            ("prime_rl", "entropy/all/mean"),
            ("slime", "rollout/entropy")),  # of the rollout log-probs: second choice
    *_group(n.VALUE_LOSS,
            ("sb3", "train/value_loss"),
            ("cleanrl", "losses/value_loss"),
            ("trl_ppo", "loss/value_avg"),
            ("rllib", "learners/default_policy/vf_loss"),
            ("verl", "critic/vf_loss"),
            ("openrlhf", "train/critic_loss")),
    *_group(n.EXPLAINED_VARIANCE,
            ("sb3", "train/explained_variance"),
            ("cleanrl", "losses/explained_variance"),
            ("rllib", "learners/default_policy/vf_explained_var"),
            ("verl", "critic/vf_explained_var")),
    *_group(n.POLICY_LOSS,
            ("sb3", "train/policy_gradient_loss"),  # PPO
            ("sb3", "train/policy_loss"),  # A2C
            ("cleanrl", "losses/policy_loss"),
            ("trl_ppo", "loss/policy_avg"),
            ("rllib", "learners/default_policy/policy_loss"),
            ("verl", "actor/pg_loss"),
            # OpenRLHF's train/policy_loss: SB3 A2C's row above, same meaning
            ("slime", "train/pg_loss"),
            ("skyrl", "policy/policy_loss"),
            ("areal", "ppo_actor/update/actor_loss/avg")),
    *_group(n.LOSS,
            ("sb3", "train/loss"),  # PPO: last minibatch; DQN: mean TD loss
            ("cleanrl", "losses/td_loss"),  # cleanrl/dqn.py
            ("prime_rl", "loss/mean")),
    *_group(n.GRAD_NORM,  # HF Trainer's `grad_norm` is the canonical name
            ("verl", "actor/grad_norm"),
            ("openrlhf", "train/actor_grad_norm"),
            ("skyrl", "policy/grad_norm"),
            ("areal", "ppo_actor/update/grad_norm"),
            ("prime_rl", "optim/grad_norm")),
    *_group(n.LEARNING_RATE,
            ("sb3", "train/learning_rate"),
            ("cleanrl", "charts/learning_rate"),
            ("trl_ppo", "lr"),
            ("verl", "actor/lr"),
            ("openrlhf", "train/actor_lr"),
            ("prime_rl", "optim/lr")),
    *_group(n.FPS,
            ("sb3", "time/fps"),
            ("cleanrl", "charts/SPS")),
    *_group(n.POLICY_LAG,
            ("sample_factory", "train/version_diff_avg"),
            ("rllib", "learners/default_policy/diff_num_grad_updates_vs_sampler_policy"),
            ("prime_rl", "off_policy/mean"),  # steps between sampling and training policy
            ("skyrl", "async/staleness_mean")),  # trainer step - generating policy's step
    *_group(n.POLICY_LAG_MAX,
            ("prime_rl", "off_policy/max"),
            ("skyrl", "async/staleness_max")),
    *_group(n.DROPPED_STALE,
            ("prime_rl", "off_policy/dropped"),  # groups past max_off_policy_steps
            ("skyrl", "async/num_groups_dropped"),
            ("verl", "fully_async/count/dropped_stale_samples")),
    *_group(n.RESPONSE_LENGTH,
            ("trl_grpo", "completions/mean_length"),
            ("trl_grpo", "completion_length"),  # TRL before completions/* (<= 0.15)
            ("verl", "response_length/mean"),
            ("openrlhf", "train/response_length"),
            ("slime", "rollout/response_len/mean"),
            ("skyrl", "generate/avg_num_tokens"),
            ("prime_rl", "train/agg/num_output_tokens/mean")),
    *_group(n.RESPONSE_LENGTH_MAX,
            ("trl_grpo", "completions/max_length"),
            ("verl", "response_length/max"),
            ("slime", "rollout/response_len/max"),
            ("skyrl", "generate/max_num_tokens"),
            ("prime_rl", "train/agg/num_output_tokens/max")),
    *_group(n.TRUNCATED_FRACTION,
            ("trl_grpo", "completions/clipped_ratio"),  # no EOS within max_completion_length
            ("verl", "response_length/clip_ratio"),  # length == max_response_length
            ("openrlhf", "train/truncated"),
            ("slime", "rollout/truncated_ratio"),
            ("areal", "ppo_actor/no_eos_ratios/avg"),
            ("prime_rl", "train/agg/is_truncated/mean")),
    *_group(n.REWARD_STD,  # TRL GRPO logs `reward_std` under the canonical name
            ("openrlhf", "train/group_reward_std")),
    *_group(n.ZERO_STD_FRACTION),  # and `frac_reward_zero_std`
    *_group(n.ZERO_STD_FAILED, ("prime_rl", "train/agg/solved_none")),
    *_group(n.ZERO_STD_SOLVED, ("prime_rl", "train/agg/solved_all")),
    *_group(n.NAN_COUNT, ("prime_rl", "loss/nan_count")),
    *_group(n.RSS_MIB, ("wandb", "system/proc.memory.rssMB")),  # W&B system metrics, MiB
    *_group(n.HEAP_MIB),
    *_group(n.CUDA_ALLOCATED_MIB),
    *_group(n.CUDA_RESERVED_MIB),
    *_group(n.EVAL_PREFIX + n.EPISODE_LENGTH, ("sb3", "eval/mean_ep_length")),
)



@dataclass(frozen=True, slots=True)
class Dialect:
    """A framework whose names collide with another library's, told apart by its others.

    Attributes:
        name: the framework.
        signature: raw names only this framework logs; one present selects the dialect.
        rows: the colliding names, as this framework means them (checked before ALIASES).
    """

    name: str
    signature: frozenset[str]
    rows: tuple[Alias, ...]


DIALECTS: tuple[Dialect, ...] = (
    # TRL GRPO/RLOO `kl` is mean per-token KL(policy || reference) (logged when beta != 0),
    # not the size of one update; rlvet's own `kl` (Monitor, trainer) is old -> new
    Dialect("trl", frozenset({"frac_reward_zero_std", "completions/mean_length",
                              "completions/clipped_ratio", "clip_ratio/region_mean"}),
            (Alias("kl", n.KL_REF, source="trl_grpo"),)),
    # OpenRLHF ppo_actor.py: entropy_loss = aggregate_loss(output.entropy): +entropy
    Dialect("openrlhf", frozenset({"train/ppo_clip_ratio", "train/actor_grad_norm",
                                   "train/vllm_kl", "train/group_reward_std"}),
            (Alias("train/entropy_loss", n.ENTROPY, source="openrlhf"),)),
    # slime loss.py: entropy_loss = sum_of_sample_mean(entropy): +entropy
    Dialect("slime", frozenset({"train/pg_clipfrac", "train/pg_loss", "rollout/raw_reward",
                                "train/train_rollout_logprob_abs_diff"}),
            (Alias("train/entropy_loss", n.ENTROPY, source="slime"),)),
)
"""Checked in order; the first dialect whose signature a run logs applies to all its names."""


def detect_dialect(raw_names: Iterable[str]) -> Dialect | None:
    """The dialect of a run from the raw names it logged, or None (the table alone).

    Example:
        >>> detect_dialect(["kl", "completions/mean_length"]).name
        'trl'
    """
    logged = set(raw_names)
    return next((d for d in DIALECTS if d.signature & logged), None)


_COMPONENT = n.REWARD_COMPONENT_PREFIX + "{c}"  # reward/<component>
ALIAS_PATTERNS: tuple[AliasPattern, ...] = (
    AliasPattern(r"reward/(?P<c>.+)", _COMPONENT),
    AliasPattern(r"rewards/(?P<c>[^/]+)/mean", _COMPONENT, source="trl_grpo"),
    AliasPattern(r"rewards/(?P<c>[^/]+)/std", n.REWARD_STD + "/{c}", source="trl_grpo"),
    AliasPattern(r"rewards/(?P<c>[^/]+)", _COMPONENT, source="trl_grpo"),  # TRL <= 0.15
)

_TUNE_PREFIX = "ray/tune/"  # Ray Tune's TensorBoard logger prefixes every tag
_HF_TRAIN = "train/"  # transformers' rewrite_logs: x -> train/x
_HF_EVAL = ("eval_", "eval/")  # eval_x stays in trainer_state; rewrite_logs makes eval/x
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]+")


def _by_raw(rows: tuple[Alias, ...]) -> Mapping[str, tuple[int, Alias]]:
    """Index rows by raw name, refusing a raw name listed twice (it would be ambiguous)."""
    index: dict[str, tuple[int, Alias]] = {}
    for rank, row in enumerate(rows):
        if row.raw in index:
            raise ValueError(f"alias table lists {row.raw!r} twice")
        if row.transform not in TRANSFORMS:
            raise ValueError(f"alias {row.raw!r}: unknown transform {row.transform!r}")
        index[row.raw] = (rank, row)
    return MappingProxyType(index)


_BY_RAW = _by_raw(ALIASES)
_COMPILED = tuple((re.compile(p.pattern), p) for p in ALIAS_PATTERNS)
_PATTERN_RANK = len(ALIASES)
_REWRITE_RANK = _PATTERN_RANK + len(ALIAS_PATTERNS)  # rewritten names lose to direct ones
_UNKNOWN_RANK = 4 * _REWRITE_RANK


def sanitize(raw: str) -> str:
    """The key for a name rlvet does not know: whitespace and control characters -> ``_``.

    Why: TensorBoard tags and JSON keys may hold anything; a key with a newline or a tab
    breaks terminal tables and ``--reward-metric`` on a shell. Everything else, ``/``
    included, is kept so the user recognises their own name.
    """
    return _UNSAFE.sub("_", raw.strip()) or "_"


def _direct(name: str) -> Resolved | None:
    """Steps 1-2: an exact row, then a pattern row."""
    hit = _BY_RAW.get(name)
    if hit is not None:
        rank, row = hit
        return Resolved(row.canonical, row.transform, rank, True)
    for i, (regex, pat) in enumerate(_COMPILED):
        match = regex.fullmatch(name)
        if match:
            return Resolved(pat.template.format(**match.groupdict()), pat.transform,
                            _PATTERN_RANK + i, True)
    return None


def _hf_eval(name: str) -> Resolved | None:
    """Step 5: ``eval_x``, ``eval/x`` -> ``eval/<canonical x>``; ``eval_reward`` -> eval_return."""
    for prefix in _HF_EVAL:
        if name.startswith(prefix) and len(name) > len(prefix):
            inner = name[len(prefix):]
            exact = _BY_RAW.get("eval_" + inner)
            if exact is not None:
                return Resolved(exact[1].canonical, exact[1].transform, exact[0], True)
            hit = _direct(inner)
            if hit is None:
                return Resolved(n.EVAL_PREFIX + inner, IDENTITY, _UNKNOWN_RANK, False)
            return Resolved(n.EVAL_PREFIX + hit.name, hit.transform, hit.rank, True)
    return None


def _from_dialect(name: str, dialect: Dialect | None) -> Resolved | None:
    """Step 0: the dialect's own meaning of a colliding name, at its canonical's rank."""
    for row in dialect.rows if dialect is not None else ():
        if row.raw == name:
            return Resolved(row.canonical, row.transform, _BY_RAW[row.canonical][0], True)
    return None


def resolve(raw: str, *, hf_rewritten: bool = False,
            dialect: Dialect | None = None) -> Resolved:
    """Map a logged metric name to its series key (see the module docstring for the order).

    Args:
        raw: the name exactly as the log has it.
        hf_rewritten: the log was written through HF's ``rewrite_logs`` (a TensorBoard file
            beside a trainer_state.json), so ``train/`` is removed from every name, known or
            not, to line up with the trainer_state keys.
        dialect: the run's framework dialect (``detect_dialect``), if any.

    Returns:
        The canonical name (or the sanitised raw name), its transform and priority.

    Example:
        >>> resolve("train/entropy_loss")
        Resolved(name='entropy', transform='negate', rank=..., known=True)
        >>> resolve("rewards/accuracy_reward/mean").name
        'reward/accuracy_reward'
    """
    name = sanitize(raw)
    if name.startswith(_TUNE_PREFIX) and len(name) > len(_TUNE_PREFIX):
        name = name[len(_TUNE_PREFIX):]
    if hf_rewritten and name.startswith(_HF_TRAIN) and len(name) > len(_HF_TRAIN):
        name = name[len(_HF_TRAIN):]
    hit = _from_dialect(name, dialect) or _direct(name)
    if hit is not None:
        return hit
    if name.startswith(_HF_TRAIN):
        inner = _direct(name[len(_HF_TRAIN):])
        if inner is not None:
            return Resolved(inner.name, inner.transform, _REWRITE_RANK + inner.rank, True)
    hit = _hf_eval(name)
    if hit is not None:
        return hit
    return Resolved(name, IDENTITY, _UNKNOWN_RANK, False)


def lookup(run: RunSignals, name: str) -> str | None:
    """The key in ``run.series`` for a name a user typed, canonical or as logged.

    Why: ``--reward-metric rollout/ep_rew_mean`` and ``--reward-metric reward`` should mean
    the same series; the raw->key mapping lives in ``run.raw_names``.

    Returns:
        The series key, or None when the run has nothing under that name.
    """
    if name in run.series:
        return name
    for key, raw in run.raw_names.items():
        if raw == name and key in run.series:
            return key
    key = resolve(name).name
    return key if key in run.series else None


_EVAL_SCOPES = ("eval/", "evaluation/", "test/", "eval_", "evaluation_", "test_")
_RETURNISH = re.compile(r"(return|reward|score|success)", re.IGNORECASE)
_NOT_A_MEAN = re.compile(r"(std|min|max|len|length|count|time|var|hist)", re.IGNORECASE)


def find_eval_key(run: RunSignals) -> str | None:
    """The series holding an evaluation return, by pattern, when ``eval_return`` is absent.

    Why: evaluation is logged under many names (``eval/episodic_return``,
    ``evaluation/episode_reward_mean``, ``test/return``, ``eval_score``) and without one
    reward hacking cannot be judged at all. A key in an evaluation scope whose last part
    names a return, reward, score or success rate, and not a spread or a length, qualifies;
    a name with ``mean`` wins over one without, then the shortest.

    Example:
        >>> from rlvet.signals.series import RunSignals, Series
        >>> s = Series.from_lists([1, 2], [0.0, 1.0])
        >>> run = RunSignals(source="x", series={"eval/episodic_return": s, "eval/std": s})
        >>> find_eval_key(run)
        'eval/episodic_return'
    """
    if n.EVAL_RETURN in run.series:
        return n.EVAL_RETURN
    hits = []
    for key in run.series:
        scope = next((p for p in _EVAL_SCOPES if key.lower().startswith(p)), None)
        if scope is None:
            continue
        inner = key[len(scope):]
        if _RETURNISH.search(inner) and not _NOT_A_MEAN.search(inner):
            hits.append(("mean" not in inner.lower(), len(key), key))
    return min(hits)[2] if hits else None


_USER_RANK = -1  # a user's own row outranks every table row


def user_aliases(rows: Mapping[str, str]) -> Mapping[str, Resolved]:
    """Check a user's ``raw -> canonical`` rows and turn them into resolutions.

    A canonical name with a leading ``-`` negates the values (a loss logged as
    ``-entropy``). The target must be a canonical name, ``eval/<name>`` or
    ``reward/<component>``: anything else would silently match nothing.

    Raises:
        ValueError: an empty raw name or a target rlvet does not read.

    Example:
        >>> user_aliases({"my/ret": "reward"})["my/ret"].name
        'reward'
    """
    out: dict[str, Resolved] = {}
    for raw, target in rows.items():
        negate = target.startswith("-")
        canonical = target[1:] if negate else target
        if not raw.strip():
            raise ValueError(f"alias {raw!r}={target!r}: the raw name is empty")
        if canonical not in n.CANONICAL and not canonical.startswith(
                (n.EVAL_PREFIX, n.REWARD_COMPONENT_PREFIX)):
            raise ValueError(f"alias {raw}={target}: {canonical!r} is not a name rlvet reads; "
                             f"use one of {', '.join(sorted(n.CANONICAL))}")
        out[raw] = Resolved(canonical, NEGATE if negate else IDENTITY, _USER_RANK, True)
    return MappingProxyType(out)


UPDATE_SIGNALS = frozenset({n.KL, n.CLIP_FRACTION, n.ENTROPY, n.VALUE_LOSS,
                            n.EXPLAINED_VARIANCE, n.POLICY_LOSS, n.LOSS, n.GRAD_NORM})
_UPDATE_PREFIXES = ("train/", "losses/")  # SB3's and CleanRL's training namespaces
_NOT_UPDATES = frozenset({"train/learning_rate", "train/n_updates", "train/clip_range",
                          "charts/learning_rate"})  # schedules, logged before any update


def is_update_signal(raw: str) -> bool:
    """Whether ``raw`` is written by a policy update (not by acting, evaluating or timing).

    Why: warm-ups count updates, not records -- CleanRL logs one episode return per
    finished episode and an off-policy learner acts for thousands of steps before its first
    gradient step (``learning_starts``); SAC's ``train/actor_loss`` and CleanRL's
    ``losses/qf1_loss`` have no canonical name but still mark an update.

    Example:
        >>> is_update_signal("train/actor_loss"), is_update_signal("rollout/ep_rew_mean")
        (True, False)
    """
    if raw in _NOT_UPDATES:
        return False
    return resolve(raw).name in UPDATE_SIGNALS or raw.startswith(_UPDATE_PREFIXES)
