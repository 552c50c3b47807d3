"""Canonical signal names (ARCHITECTURE.md section 5).

Readers map every source's metric names onto these; detectors, the Monitor and the reference
trainer use only these constants, so rlvet reads its own runs and everyone else's alike.
"""

from __future__ import annotations

__all__ = [
    "CANONICAL",
    "CLIP_FRACTION",
    "CUDA_ALLOCATED_MIB",
    "CUDA_RESERVED_MIB",
    "ENTROPY",
    "EPISODE_LENGTH",
    "EVAL_PREFIX",
    "EVAL_RETURN",
    "EXPLAINED_VARIANCE",
    "FPS",
    "GRAD_NORM",
    "HEAP_MIB",
    "HOST_LOAD",
    "KL",
    "KL_REF",
    "LOGPROB_DIFF",
    "IMPORTANCE_WEIGHT",
    "MISMATCH_KL",
    "POLICY_LAG_MAX",
    "DROPPED_STALE",
    "RESPONSE_LENGTH_MAX",
    "TRUNCATED_FRACTION",
    "ZERO_STD_FAILED",
    "ZERO_STD_SOLVED",
    "LEARNING_RATE",
    "LOSS",
    "NAN_COUNT",
    "POLICY_LAG",
    "POLICY_LOSS",
    "RESPONSE_LENGTH",
    "RSS_MIB",
    "TIME_SHARE_PREFIX",
    "REWARD",
    "REWARD_COMPONENT_PREFIX",
    "REWARD_STD",
    "VALUE_LOSS",
    "ZERO_STD_FRACTION",
]

REWARD = "reward"  # training reward (episode return mean, or mean sample reward for LLM RL)
EVAL_RETURN = "eval_return"  # held-out / true-objective evaluation
EPISODE_LENGTH = "episode_length"
KL = "kl"  # approximate KL old -> new policy (per update: verl actor/ppo_kl, OpenRLHF ppo_kl)
KL_REF = "kl_ref"  # KL of the policy to the frozen reference model (TRL GRPO `kl`, verl
# actor/kl_loss, OpenRLHF train/kl): drifts up by design, bounded by beta; not an update size
MISMATCH_KL = "mismatch_kl"  # KL between the inference engine's and the trainer's
# log-probs of the same tokens (OpenRLHF vllm_kl, prime-rl mismatch_kl, verl rollout_corr/kl)
LOGPROB_DIFF = "logprob_diff"  # mean |log p_trainer - log p_rollout| per token
IMPORTANCE_WEIGHT = "importance_weight"  # mean rollout->trainer importance ratio (1 = none)
POLICY_LAG_MAX = "policy_lag_max"  # the oldest sample's lag in the batch, policy versions
DROPPED_STALE = "dropped_stale"  # samples or groups dropped for exceeding the staleness bound
CLIP_FRACTION = "clip_fraction"
ENTROPY = "entropy"  # +entropy (SB3's entropy_loss is sign-flipped by its reader)
VALUE_LOSS = "value_loss"
EXPLAINED_VARIANCE = "explained_variance"
POLICY_LOSS = "policy_loss"
GRAD_NORM = "grad_norm"
LEARNING_RATE = "learning_rate"
POLICY_LAG = "policy_lag"  # policy versions between behaviour and learner
FPS = "fps"
RESPONSE_LENGTH = "response_length"  # LLM completions, tokens
RESPONSE_LENGTH_MAX = "response_length_max"  # the longest completion of the batch, tokens
TRUNCATED_FRACTION = "truncated_fraction"  # share of completions cut at the length cap
LOSS = "loss"
NAN_COUNT = "nan_count"
REWARD_STD = "reward_std"  # within-group reward spread (GRPO)
ZERO_STD_FRACTION = "frac_reward_zero_std"  # share of GRPO groups with no reward spread
ZERO_STD_FAILED = "zero_std_failed"  # share of groups where every sample failed (reward 0)
ZERO_STD_SOLVED = "zero_std_solved"  # share of groups where every sample was solved
REWARD_COMPONENT_PREFIX = "reward/"  # reward/<component>
RSS_MIB = "rss_mib"  # resident memory of the training process, MiB
HEAP_MIB = "heap_mib"  # bytes malloc has handed out and not taken back (glibc), MiB
CUDA_ALLOCATED_MIB = "cuda_allocated_mib"  # torch.cuda.memory_allocated: tensors in use
CUDA_RESERVED_MIB = "cuda_reserved_mib"  # torch.cuda.memory_reserved: held by the caching allocator
HOST_LOAD = "host_load"  # 1-minute load average per CPU core: above 1 the run shares its cores
TIME_SHARE_PREFIX = "time_share/"  # time_share/<phase>: share of the interval's wall time
# spent in env / inference / reward / learner / wait (rlvet.resources.PhaseTimer)
EVAL_PREFIX = "eval/"  # eval/<canonical>: a training signal measured on held-out data (HF eval_*)

CANONICAL: frozenset[str] = frozenset(
    {
        REWARD, EVAL_RETURN, EPISODE_LENGTH, KL, CLIP_FRACTION, ENTROPY, VALUE_LOSS,
        EXPLAINED_VARIANCE, POLICY_LOSS, GRAD_NORM, LEARNING_RATE, POLICY_LAG, FPS,
        RESPONSE_LENGTH, LOSS, NAN_COUNT, REWARD_STD, ZERO_STD_FRACTION, RSS_MIB, HEAP_MIB,
        CUDA_ALLOCATED_MIB, CUDA_RESERVED_MIB, HOST_LOAD, KL_REF, MISMATCH_KL, LOGPROB_DIFF,
        IMPORTANCE_WEIGHT, POLICY_LAG_MAX, DROPPED_STALE, RESPONSE_LENGTH_MAX,
        TRUNCATED_FRACTION, ZERO_STD_FAILED, ZERO_STD_SOLVED,
    }
)
