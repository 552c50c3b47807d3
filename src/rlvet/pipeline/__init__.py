"""``rlvet train``: a reference lag-aware PPO pipeline that vets itself while it runs.

Contents (one idea per module):
    args -- TrainArgs, the frozen arguments dataclass; the chaos spec.
    spaces -- ActionSpec and obs_dim: the env interface the networks fit (torch-free).
    agent -- actor-critic networks (orthogonal init, discrete / Gaussian heads).
    numpy_policy -- the networks' float32 numpy copy that actors and evaluation run.
    normalization -- running observation and return statistics.
    rollout -- the version-tagged Rollout actors send.
    actors -- the actor loop: vector env, batched inference, chaos, shared memory.
    backends -- ActorBackend protocol, LocalBackend (processes), SyncBackend (in-process),
        fault accounting and the worker_crash / worker_hang findings.
    ray_backend -- the same protocol on Ray actors (imported only for ``--backend ray``).
    learner -- lag admission, GAE, V-trace, the PPO update, the stale_data finding.
    guardrails -- the doctor's detectors live, and warn / stop / rollback.
    checkpoints -- atomic checkpoints: periodic, last, best, failed.
    domain_rand -- randomisation buckets, per-bucket returns, bucket_variance.
    evaluation -- nominal and shifted-dynamics evaluation, sim_to_real_gap.
    train -- the loop, ``train(args) -> TrainResult``.
    command -- ``run_train(args, progress) -> CommandResult`` for the CLI.

Torch is imported by the learner's modules (agent, learner, checkpoints, train); actor
processes import only actors and its torch-free dependencies. ``import rlvet`` never imports
any of them.
"""

from __future__ import annotations

from rlvet.pipeline.args import TrainArgs

__all__ = ["TrainArgs"]
