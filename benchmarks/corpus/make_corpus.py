"""Train the calibration corpus: real runs, healthy and faulty, each verified from its own log.

Every run trains in a fresh process and writes, under ``<out>/<name>/``, its framework's own
log: SB3 -> ``progress.csv`` + TensorBoard events (``configure(dir, ["csv",
"tensorboard"])``, EvalCallback on the TRUE env, plus ``rss_mib`` recorded through SB3's
logger by a callback); CleanRL-style -> TensorBoard events with CleanRL's tags;
``rlvet train`` -> ``metrics.jsonl``. After training the log is read back and checked
(``verify.py``); runs that fail are dropped from the packed corpus and listed.

Usage::

    python benchmarks/corpus/make_corpus.py --list
    python benchmarks/corpus/make_corpus.py --out /tmp/rlvet-corpus --jobs 2 --pack
    python benchmarks/corpus/make_corpus.py --out /tmp/rlvet-corpus --only 'sb3_ppo_cartpole_*'
    python benchmarks/corpus/make_corpus.py --out /tmp/rlvet-corpus --no-train --pack
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE), str(REPO / "tests" / "data")]

from specs import (  # noqa: E402
    FRESH2_RUNS,
    FRESH3_RUNS,
    FRESH4_RUNS,
    FRESH5_RUNS,
    FRESH6_RUNS,
    FRESH7_RUNS,
    FRESH8_RUNS,
    FRESH9_RUNS,
    FRESH10_RUNS,
    FRESH11_RUNS,
    FRESH_RUNS,
    RUNS,
    Run,
)

DEFAULT_OUT = Path("/tmp/rlvet-corpus")
DATA = REPO / "tests" / "data" / "corpus"
FRESH_GRIDS: dict[str, list[Run]] = {  # further held-out sets, each scored once
    "fresh": FRESH_RUNS, "fresh2": FRESH2_RUNS, "fresh3": FRESH3_RUNS, "fresh4": FRESH4_RUNS,
    "fresh5": FRESH5_RUNS, "fresh6": FRESH6_RUNS, "fresh7": FRESH7_RUNS,
    "fresh8": FRESH8_RUNS, "fresh9": FRESH9_RUNS, "fresh10": FRESH10_RUNS,
    "fresh11": FRESH11_RUNS,
}
# per grid: its runs, its archive, its manifest
GRIDS: dict[str, tuple[list[Run], Path, Path]] = {
    "v1": (RUNS, DATA / "corpus.tar.xz", HERE / "manifest.json"),
    **{name: (runs, DATA / f"{name}.tar.xz", HERE / f"manifest-{name}.json")
       for name, runs in FRESH_GRIDS.items()},
}
ARCHIVE, MANIFEST = GRIDS["v1"][1], GRIDS["v1"][2]
KEEP_SUFFIXES = (".csv", ".jsonl")  # plus TensorBoard event files
SPLIT_RULE = ("split by (env, seed) pair: tune if (seed + ENV_INDEX[env]) % 2 == 0 else "
              "heldout; ENV_INDEX = " + json.dumps(__import__("specs").ENV_INDEX))

FRESH_RULE = ("every run is held out (split 'fresh'): a further held-out set, fixed on "
              "2026-12-05 before the rules it scores were frozen, and scored once after")

# --------------------------------------------------------------------------------------
# Training (one run per process: clean RSS, no state shared between runs)
# --------------------------------------------------------------------------------------


def _sb3_hyper(run: Run) -> dict[str, Any]:
    import numpy as np
    from make_runs import _resolve
    from stable_baselines3.common.noise import NormalActionNoise

    hyper = dict(run.hyper)
    noise = hyper.pop("action_noise", None)
    out = _resolve(hyper)
    if noise is not None:
        import gymnasium as gym

        dim = gym.make(run.env).action_space.shape[0]
        out["action_noise"] = NormalActionNoise(np.zeros(dim), noise * np.ones(dim))
    return out


def train_sb3(run: Run, run_dir: Path) -> None:
    import torch
    from faults import make_fault_env, sb3_callbacks
    from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    torch.set_num_threads(1)
    switch_cls, rss_cls, leak_cls = sb3_callbacks()
    after = run.at // run.n_envs

    def factory(wrapped: bool, seed: int):
        def make():
            env = make_fault_env(run.env, run.wrapper if wrapped else None, run.wrapper_kwargs,
                                 after, run.max_episode_steps, seed=seed)
            return Monitor(env)  # outside the fault: rollout/ep_rew_mean is what it trains on

        return make

    env = DummyVecEnv([factory(True, run.seed + i) for i in range(run.n_envs)])
    eval_env = DummyVecEnv([factory(run.wrap_eval, run.seed + 1000)])
    eval_env.seed(run.seed + 1000)
    algo = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "sac": SAC, "td3": TD3}[run.algo]
    model = algo("MlpPolicy", env, seed=run.seed, device="cpu", verbose=0, **_sb3_hyper(run))
    model.set_logger(configure(str(run_dir), ["csv", "tensorboard"]))
    calls = run.steps // run.n_envs
    callbacks = [EvalCallback(eval_env, n_eval_episodes=run.eval_episodes,
                              eval_freq=max(1, calls // run.n_evals),
                              deterministic=run.eval_deterministic, verbose=0),
                 rss_cls(every=max(1, 64 // run.n_envs))]
    if run.switch:
        callbacks.append(switch_cls(run.at, run.switch))
    if run.leak_mib_per_1k:
        callbacks.append(leak_cls(run.at, run.leak_mib_per_1k))
    try:
        model.learn(run.steps, callback=callbacks, log_interval=run.log_interval)
    except ValueError as exc:  # NaN logits make torch.distributions raise; keep the log
        first_line = str(exc).splitlines()[0][:120]
        print(f"  [{run.name}] NaN stop at env step {model.num_timesteps}: {first_line}",
              flush=True)
        step = model.num_timesteps
        model.logger.record("time/total_timesteps", step, exclude="tensorboard")
        model.logger.dump(step=step)
    finally:
        model.logger.close()
        env.close()
        eval_env.close()


def train_cleanrl(run: Run, run_dir: Path) -> None:
    from cleanrl_algos import Args, DQNArgs, Plan, train_dqn, train_ppo

    plan = Plan(at=run.at, changes=dict(run.switch), wrapper=run.wrapper,
                wrapper_kwargs=dict(run.wrapper_kwargs))
    if run.algo == "ppo":
        args = Args(env_id=run.env, total_timesteps=run.steps, num_envs=run.n_envs,
                    seed=run.seed, **run.hyper)
        train_ppo(args, run_dir, plan)
    else:
        train_dqn(DQNArgs(env_id=run.env, total_timesteps=run.steps, seed=run.seed,
                          **run.hyper), run_dir, plan)


def train_rlvet(run: Run, run_dir: Path) -> None:
    import torch
    from faults import register_rlvet_env

    from rlvet.pipeline.args import TrainArgs
    from rlvet.pipeline.command import run_train

    torch.set_num_threads(1)
    env_id = run.env
    if run.wrapper:  # the sync backend steps the env in this process, so the id resolves
        env_id = register_rlvet_env(run.env, run.wrapper, run.wrapper_kwargs,
                                    run.at // run.n_envs)
    hyper = {"backend": "sync", **run.hyper}
    args = TrainArgs(env_id=env_id, total_steps=run.steps, seed=run.seed, out=run_dir,
                     envs_per_actor=run.n_envs, eval_every=max(1, run.steps // run.n_evals),
                     **hyper)
    result = run_train(args, progress=False)
    print(f"  [{run.name}] rlvet train verdict: {result.verdict}", flush=True)
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)


def train_one(run: Run, out: Path) -> None:
    run_dir = out / run.name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    {"sb3": train_sb3, "cleanrl": train_cleanrl, "rlvet": train_rlvet}[run.framework](
        run, run_dir)
    for junk in ("evaluations.npz", "best_model.zip"):
        (run_dir / junk).unlink(missing_ok=True)


def _spawn(run: Run, out: Path) -> tuple[Run, float, int, str]:
    t0 = time.time()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, __file__, "--train-one", run.name, "--out", str(out)],
                          capture_output=True, text=True, env=env)
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
    return run, time.time() - t0, proc.returncode, tail


# --------------------------------------------------------------------------------------
# Manifest and archive
# --------------------------------------------------------------------------------------


def _config(run: Run) -> dict[str, Any]:
    cfg: dict[str, Any] = {"total_steps": run.steps, "n_envs": run.n_envs,
                           "hyperparameters": run.hyper}
    if run.wrapper:
        cfg["env_fault"] = {"wrapper": run.wrapper, **run.wrapper_kwargs,
                            "from_step": run.at, "applies_to_eval": run.wrap_eval}
    if run.switch:
        cfg["switch_at_onset"] = run.switch
    if run.leak_mib_per_1k:
        cfg["leak_mib_per_1k_steps"] = run.leak_mib_per_1k
    if run.max_episode_steps:
        cfg["max_episode_steps"] = run.max_episode_steps
    if run.framework == "sb3":
        cfg["eval"] = {"n_evals": run.n_evals, "episodes": run.eval_episodes,
                       "deterministic": run.eval_deterministic,
                       "env": run.env + (" with the fault" if run.wrap_eval else " (true)")}
        cfg["log_interval"] = run.log_interval
    return cfg


def entry(run: Run, checked: dict[str, Any], seconds: float | None) -> dict[str, Any]:
    return {
        "name": run.name, "framework": run.framework, "algo": run.algo, "env": run.env,
        "seed": run.seed, "split": run.split, "fault": run.fault,
        "expected_first_category": run.category, "onset": run.onset,
        "onset_step": run.onset_step, "strength": run.strength, "healthy_shape": run.shape,
        "eval_metric": __import__("verify").EVAL_METRIC[run.framework],
        "config": _config(run), "train_seconds": None if seconds is None else round(seconds),
        **checked, "note": run.note,
    }


def write_manifest(entries: dict[str, dict], out: Path, grid: list[Run]) -> dict[str, Any]:
    kept = [entries[r.name] for r in grid if r.name in entries and entries[r.name]["verified"]]
    dropped = [{"name": e["name"], "expected_first_category": e["expected_first_category"],
                "problems": e["problems"]}
               for r in grid if (e := entries.get(r.name)) and not e["verified"]]
    manifest = {
        "description": "rlvet calibration corpus (issue #12): real training runs written by "
                       "the libraries' own loggers; see benchmarks/corpus/README.md",
        "split_rule": SPLIT_RULE if grid is RUNS else FRESH_RULE.replace("fresh", grid[0].split),
        "verification": "each run's fault (or healthy learning) checked from its own log by "
                        "benchmarks/corpus/verify.py, independent of rlvet's detectors; runs "
                        "that failed are listed under 'dropped' and are not in the archive",
        "runs": kept,
        "dropped": dropped,
    }
    text = json.dumps(manifest, indent=1, allow_nan=False, default=str) + "\n"
    (out / "manifest.json").write_text(text)
    return manifest


def _sanitize(obj: Any) -> Any:
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {k: _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_sanitize(v) for v in obj]
    return obj


def pack(manifest: dict[str, Any], out: Path, archive: Path = ARCHIVE,
         manifest_path: Path = MANIFEST) -> int:
    """Write the archive (verified runs' scalar logs + manifest.json) and the manifest."""
    manifest_path.write_text(json.dumps(manifest, indent=1, default=str) + "\n")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:xz", preset=9) as tar:
        tar.add(manifest_path, arcname="corpus/manifest.json")
        for e in manifest["runs"]:
            for f in sorted((out / e["name"]).iterdir()):
                if f.suffix in KEEP_SUFFIXES or f.name.startswith("events.out.tfevents"):
                    tar.add(f, arcname=f"corpus/{e['name']}/{f.name}")
    return archive.stat().st_size


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--grid", choices=sorted(GRIDS), default="v1",
                   help="v1: the split corpus; fresh .. fresh11: further held-out sets")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--only", action="append", default=[], help="name or glob (repeatable)")
    p.add_argument("--list", action="store_true", help="list the runs and exit")
    p.add_argument("--no-train", action="store_true", help="re-verify existing logs only")
    p.add_argument("--pack", action="store_true",
                   help=f"write {MANIFEST.relative_to(REPO)} and {ARCHIVE.relative_to(REPO)}")
    p.add_argument("--train-one", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    grid, archive, manifest_path = GRIDS[a.grid]
    by_name = {r.name: r for runs, _, _ in GRIDS.values() for r in runs}
    if a.train_one:
        train_one(by_name[a.train_one], a.out)
        return 0
    runs = [r for r in grid if not a.only or any(fnmatch.fnmatch(r.name, g) for g in a.only)]
    if not runs:
        p.error(f"no run matches {a.only}")
    if a.list:
        for r in runs:
            print(f"{r.name:60s} {r.category or 'healthy':22s} {r.split:8s} {r.steps}")
        print(f"{len(runs)} runs")
        return 0
    from verify import verify

    a.out.mkdir(parents=True, exist_ok=True)
    old = a.out / "manifest.json"
    entries: dict[str, dict] = {}
    if old.exists():
        prev = json.loads(old.read_text())
        entries = {e["name"]: e for e in prev["runs"] + prev.get("dropped_full", [])}
    t_all = time.time()

    def check(run: Run, seconds: float | None) -> None:
        e = entry(run, _sanitize(verify(run, a.out / run.name)), seconds)
        if seconds is None and run.name in entries:
            e["train_seconds"] = entries[run.name].get("train_seconds")
        entries[run.name] = e
        status = "ok" if e["verified"] else "NOT VERIFIED: " + " | ".join(e["problems"])
        print(f"  {run.name}: {status}\n    {e['evidence'][:400]}", flush=True)

    if a.no_train:
        for run in runs:
            check(run, None)
    else:
        with ThreadPoolExecutor(max_workers=a.jobs) as pool:
            futures = [pool.submit(_spawn, r, a.out) for r in runs]
            for fut in as_completed(futures):
                run, dt, rc, tail = fut.result()
                print(f"trained {run.name} in {dt:.0f}s (rc {rc})", flush=True)
                if rc != 0:
                    print("    " + tail.replace("\n", "\n    "), flush=True)
                    entries[run.name] = entry(run, {"verified": False, "problems": [
                        f"training failed (rc {rc}): {tail[-300:]}"], "evidence": ""}, dt)
                    continue
                check(run, dt)
    manifest = write_manifest(entries, a.out, grid)
    full = json.loads(old.read_text())
    full["dropped_full"] = [entries[d["name"]] for d in manifest["dropped"]]
    old.write_text(json.dumps(full, indent=1, default=str) + "\n")
    print(f"total {time.time() - t_all:.0f}s; {len(manifest['runs'])} verified, "
          f"{len(manifest['dropped'])} dropped: {[d['name'] for d in manifest['dropped']]}")
    if a.pack:
        size = pack(manifest, a.out, archive, manifest_path)
        print(f"archive {archive} {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
