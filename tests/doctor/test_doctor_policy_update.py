"""kl_spike and clip_saturation on SB3-scale, CleanRL-scale and TRL-scale KL."""

from __future__ import annotations

import numpy as np

from rlvet.doctor import policy_update
from rlvet.doctor.registry import DetectContext
from rlvet.findings import Category, Severity, Stage

CTX = DetectContext(reward="reward", eval="eval_return")


def _jump(at: int, to: float):
    def apply(values: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[at:] = to * np.exp(np.random.default_rng(1).normal(0, 0.3, out.size - at))
        return out
    return apply


def test_healthy_ppo_has_no_policy_update_finding(ppo):
    for seed in range(5):
        run = ppo(seed=seed)
        assert policy_update.detect_kl_spike(run, CTX) == []
        assert policy_update.detect_clip_saturation(run, CTX) == []


def test_kl_jump_is_an_error_dated_at_the_jump(ppo):
    run = ppo(kl=_jump(60, 0.5))
    [f] = policy_update.detect_kl_spike(run, CTX)
    assert f.category == Category.KL_SPIKE and f.stage == Stage.POLICY_UPDATE
    assert f.severity == Severity.ERROR
    assert f.step == int(run.get("kl").steps[60])
    assert f.check == "doctor.kl_spike" and f.remedy
    assert f.evidence["peak"] > policy_update.KL_BOUND


def test_kl_high_from_the_first_update_is_a_spike_at_the_start(ppo):
    run = ppo(kl=lambda v: np.full_like(v, 0.8))
    [f] = policy_update.detect_kl_spike(run, CTX)
    assert f.step == int(run.get("kl").steps[0])


def test_one_noisy_update_is_not_a_spike(ppo):
    def blip(v: np.ndarray) -> np.ndarray:
        out = v.copy()
        out[100] = 2.0
        return out
    assert policy_update.detect_kl_spike(ppo(kl=blip), CTX) == []


def test_reference_kl_drifting_slowly_like_trl_is_not_a_spike(ppo):
    # TRL's `kl` is KL to the reference model: 0 at the start, growing smoothly to ~0.5.
    run = ppo(kl=lambda v: np.linspace(0.0, 0.5, v.size) * (1 + 0.05 * np.sin(np.arange(v.size))))
    assert policy_update.detect_kl_spike(run, CTX) == []


def test_sustained_clip_saturation_is_a_warning(ppo):
    run = ppo(clip_fraction=lambda v: np.clip(v + 0.4, 0, 1),
              kl=lambda v: v / 50)  # a tiny clip range: KL stays small
    [f] = policy_update.detect_clip_saturation(run, CTX)
    assert f.category == Category.CLIP_SATURATION and f.severity == Severity.WARNING
    assert f.evidence["median_while_saturated"] > policy_update.CLIP_SATURATED


def test_an_early_episode_of_heavy_clipping_is_not_saturation(ppo):
    def early(v: np.ndarray) -> np.ndarray:
        out = v.copy()
        out[:12] = 0.45
        return out
    assert policy_update.detect_clip_saturation(ppo(clip_fraction=early), CTX) == []


def test_clip_saturation_defers_to_a_kl_spike(ppo):
    run = ppo(clip_fraction=lambda v: np.clip(v + 0.4, 0, 1), kl=_jump(50, 0.5))
    assert policy_update.detect_clip_saturation(run, CTX) == []
    assert policy_update.detect_kl_spike(run, CTX)


def test_algorithms_without_kl_get_no_finding(ppo):
    run = ppo(kl=None, clip_fraction=None)
    assert policy_update.detect_kl_spike(run, CTX) == []
    assert policy_update.detect_clip_saturation(run, CTX) == []
    assert policy_update.policy_frozen(run) is None


def test_policy_frozen(ppo):
    frozen = ppo(kl=lambda v: np.full_like(v, 1.3e-8))
    assert policy_update.policy_frozen(frozen) == {"median_kl": 1.3e-8}
    assert policy_update.policy_frozen(ppo()) is None
    constant_entropy = ppo(kl=None, entropy=lambda v: np.full_like(v, 0.6931))
    assert policy_update.policy_frozen(constant_entropy) is not None


def test_a_spike_that_kills_the_policy_persists_through_the_dead_updates(ppo):
    # lr 0.05 on Acrobot: KL 7.6 and 3.9 on the first two updates, then exactly 0 for good.
    run = ppo(kl=lambda v: np.concatenate([[7.6, 3.85], np.zeros(v.size - 2)]))
    [f] = policy_update.detect_kl_spike(run, CTX)
    assert f.step == int(run.get("kl").steps[0])


def test_kl_annealed_to_zero_at_the_end_is_not_a_spike(ppo):
    def annealed(v: np.ndarray) -> np.ndarray:
        out = v.copy()
        out[30] = 0.5  # one noisy update
        out[-20:] = 1e-8  # linear lr schedule reaching 0
        return out
    assert policy_update.detect_kl_spike(ppo(kl=annealed), CTX) == []


def test_cleanrl_style_kl_swinging_above_the_bound_is_a_spike(ppo):
    # Last-minibatch KL with lr 0.05: a jump, then values swinging 0.05 <-> 0.5 for good.
    def swinging(v: np.ndarray) -> np.ndarray:
        out = v.copy()
        rng = np.random.default_rng(5)
        out[60:] = np.where(rng.random(v.size - 60) < 0.6, rng.uniform(0.15, 0.6, v.size - 60),
                            rng.uniform(0.02, 0.08, v.size - 60))
        out[60] = 0.5
        return out
    [f] = policy_update.detect_kl_spike(ppo(kl=swinging), CTX)
    assert f.step == int(ppo().get("kl").steps[60])


def test_one_update_past_a_nat_that_leaves_the_policy_dead_is_an_error(ppo):
    # SB3 PPO with lr 0.01 on LunarLander: 9.7 nats in one update, then KL 0 on most updates
    # (a deterministic policy cannot move): the single spike never persists, the damage does
    def kill(v: np.ndarray) -> np.ndarray:
        out = v.copy()
        out[80], out[81:] = 9.7, 0.0
        out[[81, 95, 130]] = 1e-3  # a few updates still nudge it
        return out
    run = ppo(kl=kill)
    [f] = policy_update.detect_kl_spike(run, CTX)
    assert f.severity == Severity.ERROR and f.step == int(run.get("kl").steps[80])
    assert f.evidence["dead_share_after"] > policy_update.KL_DEAD_SHARE
    assert "stopped moving" in f.message


def test_one_update_past_a_nat_after_which_the_policy_keeps_moving_is_not_a_spike(ppo):
    def blip(v: np.ndarray) -> np.ndarray:
        out = v.copy()
        out[80] = 9.7
        return out
    assert policy_update.detect_kl_spike(ppo(kl=blip), CTX) == []
