"""What to do about each training pathology, in the words practitioners use.

Contents:
    REMEDIES -- category -> remedy text, one entry per category ``rlvet doctor`` reports.
    STAGES -- category -> the link of the loop it belongs to (ARCHITECTURE.md section 1).
    remedy(category) -- the text for one category.
    prescribe(category, ...) -- a doctor Finding with its check name, stage and remedy filled.

The remedies follow the usual debugging advice for policy-gradient and value-based RL:
Schulman's "Nuts and Bolts of Deep RL" talk, Andrychowicz et al. 2021 ("What matters in
on-policy RL"), Engstrom et al. 2020 ("Implementation matters"), the SB3 and TRL docs'
tuning pages. Each names the first thing to try, then the check that confirms it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from rlvet.findings import Category, Finding, Severity, Stage

__all__ = ["REMEDIES", "STAGES", "prescribe", "remedy"]

STAGES: Mapping[Category, Stage] = MappingProxyType(
    {
        Category.KL_SPIKE: Stage.POLICY_UPDATE,
        Category.CLIP_SATURATION: Stage.POLICY_UPDATE,
        Category.ENTROPY_COLLAPSE: Stage.EXPLORATION,
        Category.ENTROPY_STUCK: Stage.EXPLORATION,
        Category.CRITIC_FAILURE: Stage.CRITIC,
        Category.NUMERICAL_INSTABILITY: Stage.NUMERICS,
        Category.REWARD_HACKING: Stage.REWARD,
        Category.SPARSE_REWARD: Stage.REWARD,
        Category.REWARD_DIRECTION: Stage.REWARD,
        Category.NO_LEARNING_SIGNAL: Stage.REWARD,
        # A plateau is judged on the return, so it sits with the reward link; it is a
        # diagnosis of exclusion (see diagnose.py) and never outranks a mechanical break.
        Category.PLATEAU: Stage.REWARD,
        Category.STALE_DATA: Stage.FRESHNESS,
        Category.THROUGHPUT_DROP: Stage.RESOURCES,
        Category.MEMORY_GROWTH: Stage.RESOURCES,
        Category.FRAGMENTATION: Stage.RESOURCES,
        Category.ENV_BOUND: Stage.RESOURCES,
        Category.LEARNER_BOUND: Stage.RESOURCES,
        Category.EVAL_PROTOCOL_CHANGE: Stage.EVALUATION,
    }
)

REMEDIES: Mapping[Category, str] = MappingProxyType(
    {
        Category.KL_SPIKE: (
            "roll back to the last healthy checkpoint; lower the learning rate (or anneal it), "
            "use fewer epochs or larger minibatches per update, and set a target-KL early "
            "stop (target_kl 0.01-0.03); check advantage normalisation"
        ),
        Category.CLIP_SATURATION: (
            "the update is larger than the trust region: lower the learning rate or use "
            "fewer epochs per rollout; if the clip range is very small (< 0.1), widen it; "
            "check advantage normalisation and reward scale"
        ),
        Category.ENTROPY_COLLAPSE: (
            "roll back to before the collapse; add or raise the entropy bonus (ent_coef "
            "0.001-0.01, never negative), lower the learning rate, and check the reward "
            "scale: huge advantages sharpen the policy in a few updates"
        ),
        Category.ENTROPY_STUCK: (
            "lower the entropy bonus (ent_coef 0-0.01): it is outweighing the policy "
            "gradient; then check that advantages carry signal (reward scale, advantage "
            "normalisation)"
        ),
        Category.CRITIC_FAILURE: (
            "fit the critic alone on a fixed batch of returns to see whether it can learn "
            "at all; check vf_coef (> 0), the value learning rate, and the reward scale "
            "(normalise rewards, e.g. VecNormalize(norm_reward=True), or clip them)"
        ),
        Category.NUMERICAL_INSTABILITY: (
            "roll back to the last finite checkpoint; lower the learning rate, clip "
            "gradients (max_grad_norm 0.5), normalise observations and rewards, and look "
            "for log(0) or division by a zero std in the loss"
        ),
        Category.REWARD_HACKING: (
            "the policy is gaming the training reward: inspect episodes where the training "
            "reward is high, remove or bound the exploited term (cap shaping bonuses, "
            "penalise the side effect), and select checkpoints on the true metric"
        ),
        Category.SPARSE_REWARD: (
            "the agent never sees a reward that differs: add shaping (potential-based, so "
            "the optimum is unchanged), a curriculum or easier starts, more exploration "
            "(entropy bonus, intrinsic reward), or hindsight relabelling for goal tasks"
        ),
        Category.REWARD_DIRECTION: (
            "the training reward points away from the true objective: check its sign and "
            "any negation in wrappers, and run `rlvet env` to compare expert and random "
            "returns"
        ),
        Category.NO_LEARNING_SIGNAL: (
            "most groups give every sample the same reward, so advantages are ~0: make the "
            "task easier or the reward graded (partial credit), raise the group size or "
            "sampling temperature, and filter prompts that are always solved or never solved"
        ),
        Category.PLATEAU: (
            "the mechanics look healthy but the return has not improved: train longer, "
            "tune the learning rate (a log sweep), and check that the reward can be "
            "improved at all (`rlvet env` expert vs random)"
        ),
        Category.STALE_DATA: (
            "learner is training on old policies' data: reduce the number of in-flight "
            "rollouts or the replay/queue size, broadcast weights more often, or correct "
            "for it (V-trace, truncated importance weights)"
        ),
        Category.THROUGHPUT_DROP: (
            "steps per second fell: profile the env step and the learner update, look "
            "for a leaking or throttled simulator, growing buffers, logging or evaluation "
            "that grows with the run, and host contention"
        ),
        Category.MEMORY_GROWTH: (
            "find what is kept across iterations: tensors appended to a list or log "
            "without .detach()/.item(), losses summed with their graphs, a buffer or "
            "episode history without a cap, an env that keeps renders; compare "
            "tracemalloc or torch.cuda.memory_snapshot() between two iterations"
        ),
        Category.FRAGMENTATION: (
            "the caching allocator holds memory it cannot reuse: pad or bucket sequence "
            "lengths to a few shapes, set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True, "
            "and avoid torch.cuda.empty_cache() in the loop (it only hides the cause)"
        ),
        Category.ENV_BOUND: (
            "add env workers or vectorised envs (AsyncVectorEnv, more actors), batch or "
            "cache reward-model calls and score asynchronously, and profile the env step; "
            "a faster learner will not help"
        ),
        Category.LEARNER_BOUND: (
            "cut learner work per sample (fewer epochs, larger minibatches), use mixed "
            "precision or another learner device; in a decoupled pipeline bound the "
            "policy lag, since actors keep collecting with old weights"
        ),
        Category.EVAL_PROTOCOL_CHANGE: (
            "evaluation results before and after the change are not comparable: pin the "
            "evaluation protocol (seeds, env kwargs, temperature, max tokens) and "
            "re-evaluate the earlier checkpoints under one protocol"
        ),
    }
)


def remedy(category: Category) -> str:
    """The remedy text for ``category`` (a KeyError names a category with no entry)."""
    return REMEDIES[category]


def prescribe(
    category: Category,
    *,
    severity: Severity,
    message: str,
    evidence: Mapping[str, Any],
    step: int | None,
) -> Finding:
    """A Finding from detector ``doctor.<category>``, with its stage and remedy filled in.

    Example:
        >>> f = prescribe(Category.KL_SPIKE, severity=Severity.ERROR, message="kl 0.5",
        ...               evidence={"peak": 0.5}, step=4096)
        >>> (f.check, str(f.stage))
        ('doctor.kl_spike', 'policy_update')
    """
    return Finding(
        check=f"doctor.{category}",
        category=category,
        stage=STAGES[category],
        severity=severity,
        message=message,
        evidence=dict(evidence),
        step=step,
        remedy=REMEDIES[category],
    )
