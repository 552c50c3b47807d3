"""``--backend ray`` on a real local Ray: 2 Ray actors train CartPole briefly with the same
version tags, lag bound and accounting as the local backend, and an injected crash (a
raise: ``RayTaskError``) and kill (SIGKILL of the Ray worker: ``RayActorError``) are
detected, counted and the actor restarted. Skipped where Ray is not installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rlvet.findings import Category
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.train import TrainResult, train

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

UPDATES = 16
SEED = 83  # its chaos draws: actor 0 is killed in its 1st rollout, actor 1 raises in its 4th


@pytest.fixture(scope="module")
def ray_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainResult]:
    started_here = not ray.is_initialized()
    if started_here:  # logical CPUs: a restarted actor must not wait for the dead one's CPU
        ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    try:
        args = TrainArgs(env_id="CartPole-v1", backend="ray", actors=2, envs_per_actor=4,
                         rollout_steps=32, total_steps=UPDATES * 256,
                         chaos="crash=0.05,kill=0.03", eval_every=0, eval_episodes=2, seed=SEED,
                         out=tmp_path_factory.mktemp("ray"))
        yield train(args)
    finally:
        if started_here:
            ray.shutdown()


def test_ray_actors_train_with_version_tags_and_bounded_lag(ray_run: TrainResult) -> None:
    m, lag = ray_run.metrics, ray_run.metrics["lag"]
    assert m["backend"] == "ray" and ray_run.stop_reason is None
    assert m["updates"] == UPDATES and m["policy_version"] == UPDATES
    assert lag["used"] >= 2 * UPDATES  # 2 rollouts per update
    assert lag["lag_max"] <= 2  # --max-lag default, enforced
    assert sum(lag["lag_histogram"].values()) == lag["used"]
    assert lag["received"] == (lag["used"] + lag["dropped_stale"] + lag["dropped_rollback"]
                               + lag["unused_at_end"])
    assert m["steps"] == lag["received"] * 128
    assert any(int(k) > 0 for k in lag["lag_histogram"])  # actors ran ahead of the learner


def test_ray_actor_crash_and_kill_are_detected_and_restarted(ray_run: TrainResult) -> None:
    m = ray_run.metrics
    assert m["faults"]["crash"] > 0 and m["faults"]["kill"] > 0, m["faults"]
    assert m["restarts"] == sum(m["faults"].values())
    assert m["rollouts_lost_to_faults"] == sum(m["faults"].values())
    found = {f.category: f for f in ray_run.findings}
    crash = found[Category.WORKER_CRASH]
    assert "chaos: injected crash" in " ".join(crash.evidence["errors"])
    assert crash.evidence["by_kind"]["kill"] == m["faults"]["kill"]
