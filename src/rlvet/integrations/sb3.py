"""``RlvetCallback``: Stable-Baselines3 training watched by the doctor's detectors, live.

The callback adds one output format to the model's own logger, so it sees every value SB3
dumps (``train/approx_kl``, ``rollout/ep_rew_mean``, ``eval/mean_reward`` from an
EvalCallback, ...) at SB3's own cadence, under SB3's own names -- no reading of the loop's
``self.locals``. Each dump is appended to rlvet JSONL through a ``Monitor``; at the next
step the Monitor's verdict is taken (no more often than keeps it under 1% of training wall
time) and, with ``stop_on_error``, training stops once an error is found (SB3 stops when
``_on_step`` returns False).

Example:
    >>> from stable_baselines3 import PPO  # doctest: +SKIP
    >>> cb = RlvetCallback("runs/ppo/rlvet.jsonl", stop_on_error=True)  # doctest: +SKIP
    >>> PPO("MlpPolicy", "CartPole-v1").learn(50_000, callback=cb)  # doctest: +SKIP
    >>> cb.last_decision.action  # doctest: +SKIP
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter

from rlvet.monitor import Action, Monitor, MonitorDecision

__all__ = ["VERDICT_BUDGET", "RlvetCallback"]

VERDICT_BUDGET = 0.01  # guardrail checks may cost at most 1% of training wall time


class _MonitorFormat(KVWriter):
    """An SB3 logger output format that forwards every numeric dump to a Monitor."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.pending = False

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Any],
              step: int = 0) -> None:
        numbers = {k: float(v) for k, v in key_values.items()
                   if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)}
        if numbers:
            self.monitor.log(int(step), **numbers)
            self.pending = True

    def close(self) -> None:
        """The Monitor is closed by the callback, not by SB3's logger."""


class RlvetCallback(BaseCallback):
    """Feed the Monitor from SB3's logger; optionally stop training once an error is found.

    Args:
        path: rlvet JSONL file for the metrics (None: in memory only).
        stop_on_error: return False from ``_on_step`` when the verdict is stop/rollback.
        reward_metric, eval_metric: as for ``rlvet doctor``.
        verbose: 1 prints the finding that stopped training.
    """

    def __init__(self, path: str | Path | None = None, *, stop_on_error: bool = False,
                 reward_metric: str | None = None, eval_metric: str | None = None,
                 verbose: int = 0) -> None:
        super().__init__(verbose)
        self._path, self._stop = path, stop_on_error
        self._metrics = (reward_metric, eval_metric)
        self.monitor: Monitor | None = None
        self.last_decision: MonitorDecision | None = None
        self._format: _MonitorFormat | None = None
        self._last_check_end = 0.0
        self._last_check_cost = 0.0

    def _on_training_start(self) -> None:
        self.monitor = Monitor(self._path, reward_metric=self._metrics[0],
                               eval_metric=self._metrics[1])
        self._format = _MonitorFormat(self.monitor)
        self.model.logger.output_formats.append(self._format)

    def _due(self) -> bool:
        """Check only when the training time since the last check pays for the check.

        A verdict runs every detector over the whole history (milliseconds); after each
        check the next waits until ``1 / VERDICT_BUDGET`` times its cost has passed, which
        bounds the guardrail at about 1% of training wall time whatever the update size.
        """
        now = time.perf_counter()
        return now - self._last_check_end >= self._last_check_cost / VERDICT_BUDGET

    def _on_step(self) -> bool:
        if self._format is None or not self._format.pending or not self._due():
            return True
        self._format.pending = False
        if self.monitor is None:  # pragma: no cover - set together with _format
            return True
        start = time.perf_counter()
        self.last_decision = self.monitor.verdict()
        self._last_check_end = time.perf_counter()
        self._last_check_cost = self._last_check_end - start
        if self._stop and self.last_decision.action is not Action.CONTINUE:
            if self.verbose and self.last_decision.finding is not None:
                f = self.last_decision.finding
                print(f"rlvet: stopping at step {self.num_timesteps}: {f.category}: {f.message}")
            return False
        return True

    def _on_training_end(self) -> None:
        if self._format is not None and self._format.pending and self.monitor is not None:
            self.last_decision = self.monitor.verdict()  # the final word covers every dump
        if self._format is not None and self._format in self.model.logger.output_formats:
            self.model.logger.output_formats.remove(self._format)
        if self.monitor is not None:
            self.monitor.close()
