"""Pipeline building blocks: arguments, statistics, GAE / V-trace, lag admission, buckets,
sim-to-real, checkpoints, shared memory, chaos plans, the Ray backend's install hint."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing as mp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rlvet.doctor.freshness import stale_rollouts
from rlvet.doctor.live import LivePolicy
from rlvet.errors import RlvetInputError
from rlvet.findings import Category, Severity
from rlvet.pipeline.actors import ActorConfig, SharedBlock, plan_fault
from rlvet.pipeline.agent import ActionSpec, Agent
from rlvet.pipeline.args import ChaosSpec, TrainArgs, parse_chaos
from rlvet.pipeline.backends import make_backend
from rlvet.pipeline.checkpoints import (
    CheckpointStore,
    load_checkpoint,
    save_atomic,
    weights_digest,
)
from rlvet.pipeline.domain_rand import (
    BucketStats,
    bucket_of,
    check_bucket_variance,
    make_buckets,
    make_env,
)
from rlvet.pipeline.evaluation import EvalResult, GapTracker
from rlvet.pipeline.guardrails import GuardAction, Guardrails
from rlvet.pipeline.learner import LagLedger, admit, gae, vtrace
from rlvet.pipeline.normalization import Moments, RunningMeanStd
from rlvet.pipeline.numpy_policy import param_shapes
from rlvet.pipeline.rollout import Rollout


def test_args_derive_sizes_and_reject_bad_values() -> None:
    args = TrainArgs(actors=2, envs_per_actor=4, rollout_steps=128, total_steps=50_000)
    assert (args.batch_size, args.minibatch_size, args.num_updates) == (1024, 256, 48)
    assert TrainArgs(backend="sync", actors=3).batch_size == 512  # one in-process actor
    for bad in ({"on_break": "panic"}, {"max_lag": -1}, {"lr": 0.0}, {"actors": 0},
                {"chaos": "explode=0.1"}, {"chaos": "crash=2"},
                {"backend": "sync", "chaos": "hang=0.1"},
                {"randomize": {"length": (1.0, 0.5)}}):
        with pytest.raises(RlvetInputError):
            TrainArgs(**bad)


def test_parse_chaos() -> None:
    assert parse_chaos("crash=0.1, hang=0.05") == ChaosSpec(crash=0.1, hang=0.05)
    assert not parse_chaos("").active
    with pytest.raises(RlvetInputError):
        parse_chaos("crash=0.6,kill=0.6")


def test_running_stats_merge_equals_full_batch() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(1000, 4))
    rms = RunningMeanStd((4,))
    for part in np.array_split(x, 7):
        rms.update(Moments.of(part))
    np.testing.assert_allclose(rms.mean, x.mean(0), rtol=1e-3)
    np.testing.assert_allclose(rms.var, x.var(0), rtol=1e-3)
    state = rms.state_dict()
    other = RunningMeanStd((4,))
    other.load_state_dict(state)
    assert np.array_equal(other.mean, rms.mean) and other.count == rms.count


def _gae_reference(r: np.ndarray, v: np.ndarray, nv: float, term: np.ndarray,
                   done: np.ndarray, gamma: float, lam: float) -> list[float]:
    """GAE for one env, written out step by step (Schulman et al. 2016, eq. 16)."""
    out, last = [], 0.0
    for t in reversed(range(len(r))):
        nxt = nv if t == len(r) - 1 else v[t + 1]
        delta = r[t] + gamma * nxt * (1 - term[t]) - v[t]
        last = delta + gamma * lam * (1 - done[t]) * last
        out.append(last)
    return out[::-1]


def test_gae_bootstraps_truncation_and_stops_at_termination() -> None:
    rng = np.random.default_rng(1)
    r, v = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    nv = rng.normal(size=2)
    term = np.zeros((6, 2))
    trunc = np.zeros((6, 2), dtype=bool)
    term[2, 0] = 1.0  # env 0 terminates at t=2
    trunc[3, 1] = True  # env 1 is truncated at t=3: bootstraps from v[4]
    done = (term > 0) | trunc
    adv = gae(r, v, nv, term, done, 0.99, 0.95)
    for j in range(2):
        np.testing.assert_allclose(
            adv[:, j], _gae_reference(r[:, j], v[:, j], nv[j], term[:, j], done[:, j], 0.99,
                                      0.95))
    assert adv[2, 0] == pytest.approx(r[2, 0] - v[2, 0])  # terminal: no bootstrap
    assert adv[3, 1] == pytest.approx(r[3, 1] + 0.99 * v[4, 1] - v[3, 1])


def test_vtrace_on_policy_is_the_td_lambda_return() -> None:
    rng = np.random.default_rng(2)
    r, v, nv = rng.normal(size=(8, 3)), rng.normal(size=(8, 3)), rng.normal(size=3)
    term = (rng.random((8, 3)) < 0.1).astype(float)
    done = term > 0
    vs, _ = vtrace(r, v, nv, term, done, np.zeros((8, 3)), 0.99, 0.95)
    np.testing.assert_allclose(vs, gae(r, v, nv, term, done, 0.99, 0.95) + v, atol=1e-12)
    # off-policy with rho > 1 everywhere: truncated at 1, identical to on-policy
    vs_hi, _ = vtrace(r, v, nv, term, done, np.full((8, 3), 2.0), 0.99, 0.95)
    np.testing.assert_allclose(vs_hi, vs, atol=1e-12)


def _rollout(version: int) -> Rollout:
    z = np.zeros((2, 1))
    m = Moments.of(np.zeros((0, 1)))
    return Rollout(obs=np.zeros((2, 1, 1), np.float32), next_obs=np.zeros((1, 1), np.float32),
                   actions=np.zeros((2, 1), np.int64), logprobs=z, values=z, rewards=z,
                   terminated=z.astype(bool), truncated=z.astype(bool),
                   valid=np.ones((2, 1), bool), policy_version=version, actor_id=0,
                   incarnation=0, buckets=np.zeros(1, np.int64), episodes=(), obs_moments=m,
                   ret_moments=m, collect_s=0.0)


def test_admit_enforces_max_lag_and_counts_everything() -> None:
    ledger = LagLedger(received=5)
    kept = admit([_rollout(v) for v in (1, 3, 5, 6, 9)], 9, max_lag=2, mode="drop",
                 min_version=3, ledger=ledger)
    assert [r.policy_version for r, _ in kept] == [9]
    assert (ledger.dropped_rollback, ledger.dropped_stale, ledger.used) == (1, 3, 1)
    ledger = LagLedger(received=3)
    kept = admit([_rollout(v) for v in (2, 7, 9)], 9, max_lag=1, mode="correct",
                 min_version=0, ledger=ledger)
    assert [c for _, c in kept] == [True, True, False]
    assert ledger.corrected == 2 and dict(ledger.lags) == {7: 1, 2: 1, 0: 1}
    found = stale_rollouts(ledger, max_lag=1, mode="correct", step=10)
    assert found[0].category == Category.STALE_DATA and found[0].severity == Severity.WARNING


def test_buckets_slice_ranges_and_apply_cartpole_physics() -> None:
    buckets = make_buckets({"length": (0.1, 2.1), "masspole": (0.1, 0.3)}, 2)
    assert buckets[1].ranges == {"length": (1.1, 2.1), "masspole": (0.2, 0.3)}
    assert [bucket_of(1, j, 4, 2) for j in range(4)] == [0, 1, 0, 1]
    env = make_env("CartPole-v1", bucket=buckets[1], seed=0)
    _, info = env.reset(seed=0)
    base = env.unwrapped
    assert 1.1 <= base.length <= 2.1 and info["bucket"] == 1
    assert base.polemass_length == pytest.approx(base.masspole * base.length)
    fixed = make_env("Pendulum-v1", fixed={"g": 3.0, "l": 1.5})  # g: constructor, l: attribute
    assert (fixed.unwrapped.g, fixed.unwrapped.l) == (3.0, 1.5)
    with pytest.raises(RlvetInputError, match="no numeric parameter 'wheels'"):
        make_env("CartPole-v1", fixed={"wheels": 4})


def test_bucket_variance_flags_a_failing_bucket_only() -> None:
    buckets = make_buckets({"length": (0.05, 5.0)}, 2)
    rng = np.random.default_rng(3)
    stats = BucketStats(2)
    for _ in range(30):
        stats.add(0, float(rng.normal(10, 2)))
        stats.add(1, float(rng.normal(480, 20)))
    found = check_bucket_variance(stats, 1000, buckets)
    assert found and found[0].category == Category.BUCKET_VARIANCE
    assert found[0].evidence["bucket_means"]["0"] < 20
    even = BucketStats(2)
    for _ in range(30):
        even.add(0, 500.0)
        even.add(1, 500.0)
    assert check_bucket_variance(even, 1000, buckets) == []


def test_sim_to_real_gap_needs_a_material_gap() -> None:
    tracker = GapTracker()
    tracker.add(100, EvalResult((500.0,) * 5, (500,) * 5), EvalResult((480.0,) * 5, (480,) * 5))
    assert tracker.finding({"length": 0.8}) == []
    tracker.add(200, EvalResult((500.0,) * 5, (500,) * 5), EvalResult((120.0,) * 5, (120,) * 5))
    found = tracker.finding({"length": 0.8})
    assert found[0].category == Category.SIM_TO_REAL_GAP
    assert found[0].evidence["first_exceeded_step"] == 200


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CheckpointStore(tmp_path / "ck", keep=2)
    state = {"format": 1, "agent": {"w": torch.ones(3)}, "note": b"bytes", "n": 2**70}
    for step in (0, 10, 20, 30):
        store.periodic(step, state)
    assert store.periodic_steps() == [0, 20, 30]  # pruned, but the initial policy is kept
    assert load_checkpoint(store.path("last"))["n"] == 2**70

    def torn_save(obj: object, f: object) -> None:
        f.write(b"half a checkpoint")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(OSError):
        save_atomic({"format": 1}, store.path("last"))
    assert load_checkpoint(store.path("last"))["n"] == 2**70  # the old file, intact
    assert not list(store.folder.glob(".*.tmp"))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RlvetInputError):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(RlvetInputError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_weights_digest_tracks_values() -> None:
    a = {"w": torch.zeros(3)}
    assert weights_digest(a) == weights_digest({"w": torch.zeros(3)})
    assert weights_digest(a) != weights_digest({"w": torch.ones(3)})


def test_shared_block_seqlock_roundtrip() -> None:
    block = SharedBlock(mp.get_context("spawn"), 5, 2)
    assert block.version() == -1
    block.publish(3, np.arange(5, dtype=np.float32))
    out = np.zeros(5, np.float32)
    assert block.read(out) == 3 and out.tolist() == [0, 1, 2, 3, 4]


def test_chaos_plan_is_reproducible() -> None:
    spec = ChaosSpec(crash=0.2, kill=0.1, hang=0.1)
    plans = [plan_fault(np.random.default_rng(7), spec, 50) for _ in range(2)]
    assert plans[0] == plans[1]
    rng = np.random.default_rng(0)
    kinds = [p.kind for p in (plan_fault(rng, spec, 50) for _ in range(2000)) if p]
    assert abs(kinds.count("crash") / 2000 - 0.2) < 0.03
    assert plan_fault(rng, ChaosSpec(), 50) is None


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="ray is installed")
def test_ray_backend_without_ray_is_a_one_line_input_error() -> None:
    cfg = ActorConfig("CartPole-v1", 1, 8, 0.99, 4, ActionSpec(True, 2), 8, True)
    with pytest.raises(RlvetInputError, match=r"install rlvet\[ray\]"):
        make_backend(TrainArgs(backend="ray"), cfg)


def test_args_to_dict_is_json_ready() -> None:
    d = TrainArgs(randomize={"length": (0.5, 1.0)}, real_env_kwargs={"g": 9.0}).to_dict()
    assert json.loads(json.dumps(d))["randomize"] == {"length": [0.5, 1.0]}


def _feed(guard: Guardrails, n: int, *, kl_from: int | None, start: int = 0) -> None:
    for i in range(start, start + n):
        kl = 5.0 if kl_from is not None and i >= kl_from else 0.01 + 0.001 * (i % 3)
        guard.log((i + 1) * 512, {"kl": kl, "entropy": 0.69 - 0.01 * i,
                                  "reward": 20.0 + i, "learning_rate": 2.5e-4})


def test_guardrails_map_on_break_and_wait_for_warmup() -> None:
    for on_break, action in (("warn", "warn"), ("stop", "stop"), ("rollback", "rollback")):
        guard = Guardrails(on_break, budget=1.0)
        guard.log(0, {"learning_rate": 2.5e-4})
        guard.add_checkpoint(0, "checkpoint_0.pt")
        warmup = LivePolicy().warmup_updates
        _feed(guard, warmup - 1, kl_from=0)
        assert guard.check(0).action == "continue"  # still warming up
        _feed(guard, 5, kl_from=0, start=warmup - 1)
        assert guard.check(7000).action == "continue"  # seen once: not yet confirmed
        _feed(guard, 1, kl_from=0, start=warmup + 4)
        decision = guard.check(7000, force=True)  # new data at once, not waiting on budget
        assert decision.action is GuardAction(action) and decision.finding is not None
        assert decision.finding.category == Category.KL_SPIKE
        if action == "rollback":
            assert decision.checkpoint is not None and decision.checkpoint.step == 0
            event = guard.rolled_back(7000, decision.finding, decision.checkpoint,
                                      {"lr_after": 1e-4})
            assert event.severity == Severity.WARNING
            assert guard.check(7000).action == "continue"  # a fresh segment
    warn = Guardrails("warn", budget=1.0)
    _feed(warn, 20, kl_from=None)
    assert warn.check(0).action == "continue"
    assert [f for f in warn.findings() if f.severity != Severity.INFO] == []


@pytest.mark.parametrize("action", [ActionSpec(discrete=True, size=3),
                                    ActionSpec(discrete=False, size=2,
                                               low=-np.ones(2, np.float32),
                                               high=np.ones(2, np.float32))])
def test_numpy_policy_matches_the_torch_agent(action: ActionSpec) -> None:
    torch.manual_seed(0)
    agent = Agent(4, action, 64)
    for p in agent.parameters():  # move off the near-uniform initial policy
        p.data.add_(0.3 * torch.randn_like(p))
    policy = agent.numpy_policy()
    obs = np.random.default_rng(1).normal(size=(64, 4)).astype(np.float32)
    actions, logp, values = policy.act(obs, np.random.default_rng(2))
    with torch.no_grad():
        t_logp, _, t_values = agent.evaluate(torch.from_numpy(obs), torch.from_numpy(actions))
        t_greedy = agent.greedy(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(logp, t_logp.numpy(), atol=1e-5)
    np.testing.assert_allclose(values, t_values.numpy(), atol=1e-5)
    np.testing.assert_allclose(policy.greedy(obs), t_greedy, atol=1e-5)
    again = policy.act(obs, np.random.default_rng(2))  # same generator state, same draw
    assert all(np.array_equal(a, b) for a, b in zip((actions, logp, values), again,
                                                    strict=True))


def test_numpy_policy_samples_the_categorical_distribution() -> None:
    torch.manual_seed(0)
    agent = Agent(4, ActionSpec(discrete=True, size=3), 64)
    for p in agent.actor.parameters():
        p.data.add_(0.5 * torch.randn_like(p))
    obs = np.zeros((20_000, 4), np.float32)
    actions, _, _ = agent.numpy_policy().act(obs, np.random.default_rng(0))
    with torch.no_grad():
        probs = torch.softmax(agent.actor(torch.zeros(1, 4)), -1)[0].numpy()
    freq = np.bincount(actions, minlength=3) / actions.size
    np.testing.assert_allclose(freq, probs, atol=0.015)


def test_numpy_policy_layout_is_the_agents_and_actors_never_import_torch() -> None:
    for action in (ActionSpec(discrete=True, size=2),
                   ActionSpec(discrete=False, size=3, low=-np.ones(3, np.float32),
                              high=np.ones(3, np.float32))):
        shapes = [tuple(p.shape) for p in Agent(5, action, 32).parameters()]
        assert shapes == param_shapes(5, action, 32)
    # the forkserver preloads the actor module: torch there would add ~1 s to every start
    code = ("import sys, rlvet.pipeline.actors; "
            "sys.exit('torch' in sys.modules or 'scipy.stats' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_evaluation_matches_a_vector_env_rollout_of_the_greedy_policy() -> None:
    import gymnasium as gym

    from rlvet.pipeline.evaluation import EVAL_SEED_OFFSET, evaluate_policy

    torch.manual_seed(3)
    agent = Agent(4, ActionSpec(discrete=True, size=2), 64)
    for p in agent.actor.parameters():  # episodes of different lengths
        p.data.add_(0.5 * torch.randn_like(p))
    mean, var = np.array([0.0, 0.1, 0.0, -0.1]), np.array([1.0, 2.0, 0.5, 1.5])
    got = evaluate_policy(agent, mean, var, env_id="CartPole-v1", episodes=6, seed=5)
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")] * 6)
    obs, _ = envs.reset(seed=[5 + EVAL_SEED_OFFSET + i for i in range(6)])
    returns, running = np.zeros(6), np.ones(6, dtype=bool)
    while running.any():
        x = np.clip((obs - mean) / np.sqrt(var + 1e-8), -10, 10).astype(np.float32)
        with torch.no_grad():
            actions = agent.greedy(torch.from_numpy(x)).numpy()
        obs, r, term, trunc, _ = envs.step(actions)
        returns += np.where(running, r, 0.0)
        running &= ~(term | trunc)
    assert got.returns == tuple(returns) and len(set(got.lengths)) > 1


def test_guardrails_refuse_an_unknown_on_break() -> None:
    with pytest.raises(ValueError):
        Guardrails("explode")
    assert Guardrails("stop").check(0).action is GuardAction.CONTINUE
