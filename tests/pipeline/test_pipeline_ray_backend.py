"""The Ray backend's own logic, against an in-process stand-in for the Ray API it uses
(``remote``, ``put``, ``wait``, ``get``, ``kill``, the two exception types).

Ray is not installed here (it is heavy; ``rlvet[ray]``), so this checks the backend's
bookkeeping -- resubmission, version tags, crash handling, restarts -- not Ray itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rlvet.findings import Category
from rlvet.pipeline import ray_backend
from rlvet.pipeline.args import TrainArgs
from rlvet.pipeline.train import train


class _Ref:
    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error


class _FakeRay:
    class exceptions:  # noqa: N801 - mirrors ray.exceptions
        class RayActorError(Exception):
            pass

        class RayTaskError(Exception):
            pass

    def __init__(self) -> None:
        self.started = False
        self.killed = 0

    def is_initialized(self) -> bool:
        return self.started

    def init(self, **_: Any) -> None:
        self.started = True

    def put(self, value: Any) -> _Ref:
        return _Ref(value)

    def remote(self, **_: Any) -> Any:
        fake = self

        class _Class:
            def __init__(self, cls: type) -> None:
                self.cls = cls

            def remote(self, *args: Any) -> Any:
                obj = self.cls(*args)

                class _Method:
                    def remote(self, version: int, ref: _Ref) -> _Ref:
                        try:  # Ray dereferences a top-level ObjectRef argument
                            return _Ref(obj.collect(version, ref.value))
                        except Exception as exc:
                            return _Ref(error=fake.exceptions.RayTaskError(repr(exc)))

                class _Handle:
                    collect = _Method()

                return _Handle()

        return _Class

    def wait(self, refs: list[_Ref], num_returns: int, timeout: float
             ) -> tuple[list[_Ref], list[_Ref]]:
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref: _Ref) -> Any:
        if ref.error is not None:
            raise ref.error
        return ref.value

    def kill(self, handle: Any, no_restart: bool = True) -> None:
        self.killed += 1


def test_ray_backend_trains_and_restarts_crashed_actors(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeRay()
    monkeypatch.setattr(ray_backend, "_import_ray", lambda: fake)
    result = train(TrainArgs(env_id="CartPole-v1", backend="ray", actors=2, envs_per_actor=2,
                             rollout_steps=32, total_steps=6 * 128, chaos="crash=0.2",
                             eval_every=0, eval_episodes=2, seed=3, out=tmp_path))
    m = result.metrics
    assert fake.started and m["updates"] == 6
    assert m["faults"]["crash"] > 0 and m["restarts"] == m["faults"]["crash"]
    assert fake.killed >= m["faults"]["crash"]
    assert any(f.category == Category.WORKER_CRASH for f in result.findings)
    assert m["lag"]["used"] == 12
