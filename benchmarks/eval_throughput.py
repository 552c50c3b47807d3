"""Evaluation throughput of ``rlvet eval`` vs plain loops, and CI width vs number of seeds.

Run:
    .venv/bin/python benchmarks/eval_throughput.py [--reps 3] [--robustness]  # markdown tables

Policy: the recorded SB3 PPO CartPole-v1 model (tests/data/runs/healthy_ppo_cartpole,
rl_model_99984_steps.zip). torch runs with one thread (2 shared cores here).

Throughput: the same episodes (seeds 0-4 x 10 episodes, per-episode reset seeds from
``rlvet.evaluate.runner.episode_seed``) run
  * by ``run_episodes`` (rlvet eval's runner: 32 envs in lockstep, one batched policy call),
  * by a plain loop with the same ``Policy`` object at batch 1 (isolates batching),
  * by a plain loop calling SB3's ``model.predict(obs)`` per step (what a user writes),
  * by SB3's ``evaluate_policy`` on a ``DummyVecEnv`` of 8 envs (its own seeding, so its
    returns differ; same number of episodes).
The first two must return identical returns (asserted). Median wall time over ``--reps``.
Two workloads: nominal CartPole with greedy actions (every episode 500 steps), and the
short-pole variant (``length = 0.1``) with sampled actions (about 200 steps).

CI width: nominal CartPole saturates at 500 for this policy -- greedy or sampled, every
episode returns 500, so every bootstrap CI is the point [500, 500] and says nothing about
seeds. The table therefore uses the short-pole variant with sampled actions, where returns
spread (about 100-330). 160 seeds x 5 episodes run once and are split into disjoint groups
of n seeds; each row reports the median CI width over its groups and how often a group's CI
contains the 160-seed value (95% percentile CIs, 2000 resamples, seed 0).

Robustness (``--robustness``, about 3 more minutes): the recorded model was trained on
nominal CartPole (rl-zoo PPO hyperparameters, 100k steps, 8 envs, seed 0; see
tests/data/make_runs.py). The same recipe is trained again with the pole length resampled
uniformly in [0.25, 2.0] at every reset (``pipeline.domain_rand.make_env`` with one
bucket), and both are swept over pole length and cart mass with ``run_sweep`` (greedy, 5
seeds x 4 episodes).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from rlvet.evaluate.perturb import Perturbation, make_env_fn
from rlvet.evaluate.policies import Policy, load_policy
from rlvet.evaluate.protocol import EnvSpec, PolicySpec
from rlvet.evaluate.runner import (
    DEFAULT_WIDTH,
    EpisodePlan,
    Episodes,
    action_rng,
    episode_seed,
    run_episodes,
)
from rlvet.evaluate.stats import interval_estimates

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "tests" / "data" / "runs" / "healthy_ppo_cartpole" / "rl_model_99984_steps.zip"
CARTPOLE = EnvSpec(spec="CartPole-v1", max_steps=500)
SHORT_POLE = Perturbation("length", "attribute", 0.1)
SEED_COUNTS = (3, 5, 10, 20, 40)
CI_TOTAL_SEEDS = 160  # 160 / n disjoint groups of n seeds per row: widths are medians
CI_EPISODES_PER_SEED = 5
SB3_VEC_ENVS = 8
RANDOMIZED_LENGTH = (0.25, 2.0)
ROBUSTNESS_SWEEP = "[attributes]\nlength = [0.25, 1.0, 1.5, 2.0, 3.0]\nmasscart = [3.0, 5.0]\n"


def _plain_policy(make: Callable[[], gym.Env], policy: Policy, plan: EpisodePlan) -> np.ndarray:
    """One env, one episode after another, the rlvet Policy at batch 1."""
    env = make()
    returns = np.zeros((len(plan.seeds), plan.episodes_per_seed))
    for i, j in plan.episodes():
        obs, _ = env.reset(seed=episode_seed(plan.seeds[i], j))
        rngs = [action_rng(plan.seeds[i], j)]
        for _ in range(plan.max_steps):
            action = policy(obs[None], deterministic=plan.deterministic, rngs=rngs)[0]
            obs, reward, terminated, truncated, _ = env.step(action)
            returns[i, j] += reward
            if terminated or truncated:
                break
    env.close()
    return returns


def _plain_predict(make: Callable[[], gym.Env], model: object, plan: EpisodePlan) -> np.ndarray:
    """The loop a user writes: ``model.predict(obs)`` per step."""
    env = make()
    returns = np.zeros((len(plan.seeds), plan.episodes_per_seed))
    for i, j in plan.episodes():
        obs, _ = env.reset(seed=episode_seed(plan.seeds[i], j))
        for _ in range(plan.max_steps):
            action, _ = model.predict(obs, deterministic=plan.deterministic)  # type: ignore[attr-defined]
            obs, reward, terminated, truncated, _ = env.step(int(action))
            returns[i, j] += reward
            if terminated or truncated:
                break
    env.close()
    return returns


def _sb3_evaluate(make: Callable[[], gym.Env], model: object, plan: EpisodePlan) -> None:
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([make] * SB3_VEC_ENVS)
    venv.seed(0)
    evaluate_policy(model, venv, n_eval_episodes=len(plan.seeds) * plan.episodes_per_seed,
                    deterministic=plan.deterministic, warn=False)
    venv.close()


def _timed(fn: Callable[[], object], reps: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(reps):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def _throughput_rows(policy: Policy, model: object, reps: int) -> list[dict[str, object]]:
    workloads = {
        "nominal, greedy": (make_env_fn(CARTPOLE), True),
        "short pole (length 0.1), sampled": (make_env_fn(CARTPOLE, SHORT_POLE), False),
    }
    rows = []
    for name, (make, deterministic) in workloads.items():
        plan = EpisodePlan(tuple(range(5)), 10, 500, deterministic)
        episodes = len(plan.seeds) * plan.episodes_per_seed
        t_rlvet, eps = _timed(lambda m=make, p=plan: run_episodes(m, policy, p), reps)
        t_w8, _ = _timed(lambda m=make, p=plan: run_episodes(m, policy, p, width=8), reps)
        t_plain, plain = _timed(lambda m=make, p=plan: _plain_policy(m, policy, p), reps)
        assert isinstance(eps, Episodes) and np.array_equal(eps.returns, plain), name
        t_predict, _ = _timed(lambda m=make, p=plan: _plain_predict(m, model, p), reps)
        t_sb3, _ = _timed(lambda m=make, p=plan: _sb3_evaluate(m, model, p), reps)
        rows.append({"workload": name, "episodes": episodes, "steps": eps.steps,
                     "mean_return": float(eps.returns.mean()),
                     "rlvet": episodes / t_rlvet, "rlvet_w8": episodes / t_w8,
                     "plain_policy": episodes / t_plain, "plain_predict": episodes / t_predict,
                     "sb3_evaluate": episodes / t_sb3})
    return rows


def _group_row(eps: Episodes, n: int, truth_mean: float, truth_iqm: float
               ) -> dict[str, float]:
    """Median CI widths and coverage over the disjoint groups of ``n`` seeds."""
    widths: dict[str, list[float]] = {"mean": [], "iqm": [], "iqm_episode": []}
    covered = {"mean": 0, "iqm": 0}
    groups = len(eps.seeds) // n
    for g in range(groups):
        rows = slice(g * n, (g + 1) * n)
        est = interval_estimates(eps.per_seed[rows, None], reps=2000, rng=0)  # unit = seed
        by_episode = interval_estimates(eps.returns[rows].T, reps=2000, rng=0)  # unit = episode
        widths["mean"].append(est["mean"].width)
        widths["iqm"].append(est["iqm"].width)
        widths["iqm_episode"].append(by_episode["iqm"].width)
        covered["mean"] += est["mean"].low <= truth_mean <= est["mean"].high
        covered["iqm"] += est["iqm"].low <= truth_iqm <= est["iqm"].high
    return {"seeds": n, "groups": groups, "episodes": n * CI_EPISODES_PER_SEED,
            **{f"{k}_width": float(np.median(v)) for k, v in widths.items()},
            "mean_cover": covered["mean"] / groups, "iqm_cover": covered["iqm"] / groups}


def _ci_rows(policy: Policy) -> tuple[list[dict[str, float]], float, float, tuple[float, float]]:
    plan = EpisodePlan(tuple(range(CI_TOTAL_SEEDS)), CI_EPISODES_PER_SEED, 500, False)
    start = time.perf_counter()
    eps = run_episodes(make_env_fn(CARTPOLE, SHORT_POLE), policy, plan)
    seconds = time.perf_counter() - start
    truth = interval_estimates(eps.per_seed[:, None], reps=2000, rng=0)
    truth_mean, truth_iqm = truth["mean"].point, truth["iqm"].point
    rows = [_group_row(eps, n, truth_mean, truth_iqm) for n in SEED_COUNTS]
    nominal = run_episodes(make_env_fn(CARTPOLE), policy,
                           EpisodePlan(tuple(range(10)), CI_EPISODES_PER_SEED, 500, False))
    nominal_iqm = interval_estimates(nominal.per_seed[:, None], reps=2000, rng=0)["iqm"]
    return rows, seconds, nominal_iqm.width, (truth_mean, truth_iqm)


def _print_tables(through: list[dict[str, object]], ci: list[dict[str, float]],
                  ci_seconds: float, nominal_width: float, truth: tuple[float, float],
                  command: str) -> None:
    print(f"`{command}` -- {platform.machine()}, {os.cpu_count()} cores (shared), "
          f"Python {platform.python_version()}, torch {torch.__version__} (1 thread), "
          f"gymnasium {gym.__version__}, load average {os.getloadavg()[0]:.2f}")
    print()
    print("| workload | episodes | env steps | mean return | rlvet eval (32 envs) ep/s | "
          "rlvet 8 envs ep/s | plain loop, same Policy ep/s | plain loop, model.predict ep/s "
          "| SB3 evaluate_policy (8 envs) ep/s | rlvet / plain (same Policy) | "
          "rlvet / plain (predict) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in through:
        print(f"| {r['workload']} | {r['episodes']} | {r['steps']:,} | {r['mean_return']:.1f} "
              f"| {r['rlvet']:.1f} | {r['rlvet_w8']:.1f} | {r['plain_policy']:.1f} "
              f"| {r['plain_predict']:.1f} | {r['sb3_evaluate']:.1f} "
              f"| {r['rlvet'] / r['plain_policy']:.2f}x "
              f"| {r['rlvet'] / r['plain_predict']:.2f}x |")
    print()
    truth_mean, truth_iqm = truth
    print(f"CI width vs seeds: short-pole CartPole (length 0.1), sampled actions, "
          f"{CI_EPISODES_PER_SEED} episodes per seed; {CI_TOTAL_SEEDS} seeds ran in "
          f"{ci_seconds:.1f} s and were split into disjoint groups of n seeds. 95% percentile "
          f"bootstrap, 2000 resamples, seed 0. Widths are medians over the groups; coverage is "
          f"the share of groups whose CI contains the {CI_TOTAL_SEEDS}-seed value (mean "
          f"{truth_mean:.1f}, IQM {truth_iqm:.1f}). Nominal CartPole, sampled, 10 seeds: IQM "
          f"CI width {nominal_width:g} (saturated at 500).")
    print()
    print("| seeds | groups | episodes | mean CI width | mean CI coverage | IQM CI width | "
          "IQM CI coverage | IQM width x sqrt(seeds) | IQM CI width, unit = episode |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in ci:
        print(f"| {r['seeds']} | {r['groups']} | {r['episodes']} | {r['mean_width']:.1f} | "
              f"{r['mean_cover']:.0%} | {r['iqm_width']:.1f} | {r['iqm_cover']:.0%} | "
              f"{r['iqm_width'] * np.sqrt(r['seeds']):.0f} | {r['iqm_episode_width']:.1f} |")


def _train_randomized(folder: Path) -> Path:
    """SB3 PPO, the recorded model's recipe, with the pole length randomised per reset."""
    sys.path.insert(0, str(ROOT / "tests" / "data"))
    import make_runs
    from stable_baselines3 import PPO
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from rlvet.pipeline.domain_rand import Bucket, make_env

    bucket = Bucket(0, {"length": RANDOMIZED_LENGTH})
    venv = DummyVecEnv([lambda i=i: Monitor(make_env("CartPole-v1", bucket=bucket, seed=i))
                        for i in range(8)])
    model = PPO("MlpPolicy", venv, seed=make_runs.SEED, device="cpu", verbose=0,
                **make_runs._resolve(make_runs.zoo_ppo()))
    model.learn(100_000)
    path = folder / "randomized_ppo_cartpole.zip"
    model.save(path)
    venv.close()
    return path


def _robustness_rows(policy: Policy) -> list[tuple[str, str, float, float]]:
    """(policy, variant, mean return, relative drop) rows, plus one findings row each."""
    import tempfile

    from rlvet.evaluate.sweep import load_sweep, run_sweep, sweep_findings

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        randomized = load_policy(PolicySpec(kind="sb3", target=str(_train_randomized(
            Path(tmp))), algo="PPO"), gym.make("CartPole-v1"))
        print(f"(trained the randomised model in {time.perf_counter() - start:.0f} s)")
        sweep_file = Path(tmp) / "sweep.toml"
        sweep_file.write_text(ROBUSTNESS_SWEEP)
        spec = load_sweep(sweep_file)
    plan = EpisodePlan(tuple(range(5)), 4, 500, True)
    rows = []
    for name, pol in (("nominal (recorded)", policy), ("length randomised", randomized)):
        result = run_sweep(spec, CARTPOLE, pol, plan)
        rows.append((name, "nominal", float(result.nominal.returns.mean()), 0.0))
        rows += [(name, v.perturbation.label, v.mean, v.relative_drop) for v in result.variants]
        flagged = ", ".join(f"{f.evidence['axis']} (worst {f.evidence['worst_value']:g})"
                            for f in sweep_findings(result, spec)) or "none"
        rows.append((name, "sim_to_real_gap findings", flagged, float("nan")))  # type: ignore[arg-type]
    return rows


def _print_robustness(rows: list[tuple[str, str, float, float]]) -> None:
    labels = list(dict.fromkeys(r[1] for r in rows))
    names = list(dict.fromkeys(r[0] for r in rows))
    cell = {(r[0], r[1]): r for r in rows}
    print()
    print("| variant | " + " | ".join(f"{n}: mean return (drop)" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    for label in labels:
        print(f"| {label} | " + " | ".join(_cell(cell[(n, label)]) for n in names) + " |")


def _cell(row: tuple[str, str, float, float]) -> str:
    if isinstance(row[2], str):
        return row[2]
    return f"{row[2]:.1f} ({row[3]:.0%})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions (median)")
    parser.add_argument("--robustness", action="store_true",
                        help="also train a length-randomised model and sweep both")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from stable_baselines3 import PPO

    model = PPO.load(MODEL, device="cpu")
    policy = load_policy(PolicySpec(kind="sb3", target=str(MODEL), algo="PPO"),
                         gym.make("CartPole-v1"))
    start = time.perf_counter()
    through = _throughput_rows(policy, model, args.reps)
    ci, ci_seconds, nominal_width, truth = _ci_rows(policy)
    command = ".venv/bin/python benchmarks/eval_throughput.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    _print_tables(through, ci, ci_seconds, nominal_width, truth, command)
    if args.robustness:
        _print_robustness(_robustness_rows(policy))
    print(f"\nwhole run {time.perf_counter() - start:.0f} s; batch width {DEFAULT_WIDTH}")


if __name__ == "__main__":
    main()
