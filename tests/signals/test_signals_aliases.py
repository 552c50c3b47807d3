"""The alias table: every row resolves as listed, and the rewrite rules hold."""

from __future__ import annotations

import numpy as np
import pytest

from rlvet.signals import names as n
from rlvet.signals.aliases import (
    ALIAS_PATTERNS,
    ALIASES,
    TRANSFORMS,
    lookup,
    resolve,
    sanitize,
)
from rlvet.signals.series import RunSignals, Series


@pytest.mark.parametrize("row", ALIASES, ids=lambda row: f"{row.source}:{row.raw}")
def test_every_alias_row_resolves_to_its_canonical_name(row):
    hit = resolve(row.raw)
    assert (hit.name, hit.transform, hit.known) == (row.canonical, row.transform, True)


@pytest.mark.parametrize("row", ALIASES, ids=lambda row: f"{row.source}:{row.raw}")
def test_every_alias_target_is_canonical(row):
    target = row.canonical.removeprefix(n.EVAL_PREFIX)
    assert target in n.CANONICAL
    assert row.transform in TRANSFORMS


def test_each_canonical_name_is_first_in_its_group():
    first: dict[str, str] = {}
    for row in ALIASES:
        first.setdefault(row.canonical, row.raw)
    assert all(raw == canonical for canonical, raw in first.items())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("train/entropy_loss", ("entropy", "negate")),  # SB3 logs -entropy
        ("losses/entropy", ("entropy", "identity")),  # CleanRL logs +entropy
        ("entropy", ("entropy", "identity")),  # TRL
        ("objective/entropy", ("entropy", "identity")),  # TRL PPO
    ],
)
def test_entropy_sign(raw, expected):
    hit = resolve(raw)
    assert (hit.name, hit.transform) == expected


def test_negate_transform_flips_sign():
    values = np.array([-0.69, -0.5, np.nan])
    flipped = TRANSFORMS["negate"](values)
    np.testing.assert_array_equal(flipped[:2], [0.69, 0.5])
    assert np.isnan(flipped[2])


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("rewards/accuracy_reward/mean", "reward/accuracy_reward"),  # TRL GRPO
        ("rewards/format_reward", "reward/format_reward"),  # TRL <= 0.15
        ("rewards/accuracy_reward/std", "reward_std/accuracy_reward"),
        ("reward/length", "reward/length"),  # rlvet's own component
        ("train/reward", "reward"),  # HF rewrite_logs, known inner name
        ("train/completions/mean_length", "response_length"),
        ("train/rewards/acc/mean", "reward/acc"),
        ("train/n_updates", "train/n_updates"),  # SB3's own train/ key, unknown inner
        ("eval_reward", "eval_return"),  # GRPO eval in trainer_state
        ("eval/reward", "eval_return"),  # the same after rewrite_logs
        ("eval_loss", "eval/loss"),
        ("eval/loss", "eval/loss"),
        ("eval_completions/mean_length", "eval/response_length"),
        ("eval_runtime", "eval/runtime"),
        ("eval/mean_reward", "eval_return"),  # SB3 EvalCallback
        ("eval/mean_ep_length", "eval/episode_length"),
        ("eval/success_rate", "eval/success_rate"),
        ("ray/tune/env_runners/episode_return_mean", "reward"),  # Ray Tune TB prefix
        ("learners/default_policy/vf_loss", "value_loss"),
        ("rollout/exploration_rate", "rollout/exploration_rate"),  # DQN, no canonical
        ("my custom\tmetric", "my_custom_metric"),
    ],
)
def test_rewrites_and_unknown_names(raw, key):
    assert resolve(raw).name == key


def test_hf_rewritten_logs_drop_train_prefix_even_for_unknown_names():
    assert resolve("train/clip_ratio/high_max", hf_rewritten=True).name == "clip_ratio/high_max"
    assert resolve("train/clip_ratio/high_max").name == "train/clip_ratio/high_max"
    assert resolve("train/kl", hf_rewritten=True).name == "kl"


def test_priority_prefers_the_row_listed_first():
    assert resolve("policy/approxkl_avg").rank < resolve("objective/kl").rank
    assert resolve("objective/rlhf_reward").rank < resolve("objective/scores").rank
    assert resolve("kl").rank < resolve("train/approx_kl").rank  # rlvet's own name first
    assert resolve("reward").rank < resolve("train/reward").rank  # direct before rewritten
    assert resolve("train/reward").rank < resolve("some_unknown").rank


def test_pattern_rows_are_known():
    for pattern in ALIAS_PATTERNS:
        assert pattern.transform in TRANSFORMS


def test_sanitize_keeps_slashes_and_replaces_whitespace():
    assert sanitize("  charts/episodic return\n") == "charts/episodic_return"
    assert sanitize("") == "_"


def test_lookup_accepts_canonical_raw_and_sanitised_names():
    series = {"reward": Series.from_lists([0, 1], [1.0, 2.0]),
              "my_metric": Series.from_lists([0], [3.0])}
    run = RunSignals(source="x", series=series,
                     raw_names={"reward": "rollout/ep_rew_mean", "my_metric": "my metric"})
    assert lookup(run, "reward") == "reward"
    assert lookup(run, "rollout/ep_rew_mean") == "reward"
    assert lookup(run, "charts/episodic_return") == "reward"  # another alias of reward
    assert lookup(run, "my metric") == "my_metric"
    assert lookup(run, "kl") is None
