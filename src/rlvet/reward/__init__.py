"""Reward audit (``rlvet reward``): is the reward measuring what it should?

Contents (one concern per module):
    samples -- ``Sample`` and the streaming JSONL reader ``read_samples``.
    text, table -- side metrics of each response, as per-sample columns.
    trend, association -- robust trends over steps, within-step rank agreement.
    context, drift -- what detectors read; the hacking triad's severity rule.
    shape -- sparsity, too loose, long tail.
    judge -- sign confusion and judge disagreement against eval/human scores.
    grpo -- zero-spread groups, group rankings against eval.
    components -- which component drives reward growth; component hacking.
    hacking -- reward up while the true objective falls; refusal drift.
    length, repetition, format_hacking, tools, pseudo_success -- LLM/agentic hacking.
    spot_check -- the review file of highest/lowest/random samples.
    evidence -- what the audit could not judge (``insufficient_evidence``).
    strategies, probe -- ``rlvet reward-probe``: no-knowledge responses scored by the reward
        function itself before training (``reward_exploit``, ``grader_failure``).
    messages, probe_env -- the probe's chat-message prompts (TRL's conversational format)
        and its agentic env protocol (``--env``: reset, step, succeeded).
    audit -- ``audit_samples`` and the detector table.
    figures, command -- CLI glue.

Example:
    >>> from rlvet.reward import audit_samples
    >>> outcome = audit_samples("samples.jsonl", seed=0)  # doctest: +SKIP
    >>> outcome.result.verdict  # doctest: +SKIP
    'fail'
"""

from __future__ import annotations

from rlvet.reward.audit import DETECTORS, RewardOutcome, audit_samples
from rlvet.reward.samples import Sample, read_samples

__all__ = ["DETECTORS", "RewardOutcome", "Sample", "audit_samples", "read_samples"]
