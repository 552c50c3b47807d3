"""``RlvetCallback``: Stable-Baselines3 training watched by the doctor's detectors, live.

The callback adds one output format to the model's own logger, so it sees every value SB3
dumps (``train/approx_kl``, ``rollout/ep_rew_mean``, ``eval/mean_reward`` from an
EvalCallback, ...) at SB3's own cadence, under SB3's own names -- no reading of the loop's
``self.locals``. Each dump is appended to rlvet JSONL through a ``Monitor``; at the next
step the Monitor's verdict is taken when the live policy says it is due (``rlvet.doctor.live``:
past warm-up, within 1% of training wall time) and, with ``stop_on_error``, training stops
once the doctor's first break is a confirmed error (SB3 stops when ``_on_step`` returns
False).

Example:
    >>> from stable_baselines3 import PPO  # doctest: +SKIP
    >>> cb = RlvetCallback("runs/ppo/rlvet.jsonl", stop_on_error=True)  # doctest: +SKIP
    >>> PPO("MlpPolicy", "CartPole-v1").learn(50_000, callback=cb)  # doctest: +SKIP
    >>> cb.last_decision.action  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter

from rlvet.doctor.live import LivePolicy
from rlvet.errors import RlvetInputError
from rlvet.integrations.announce import FindingAnnouncer
from rlvet.monitor import Action, Monitor, MonitorDecision

__all__ = ["RlvetCallback"]


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
        policy: the live policy (default ``LivePolicy()``: 1% budget, 10-record warm-up,
            two confirmations).
        verbose: 1 prints each new error or warning finding once, as verdicts find it
            (also without ``stop_on_error``: warn mode), and the finding that stopped
            training.

    Attributes:
        monitor: the ``rlvet.monitor.Monitor`` fed from SB3's logger (set when training
            starts; None before). ``monitor.verdict()`` judges every record so far;
            ``monitor.path`` is the JSONL file ``rlvet doctor`` reads afterwards.
        last_decision: the latest ``MonitorDecision`` (action, finding, checkpoint,
            diagnosis), None before the first verdict; after ``learn`` returns it is the
            final verdict over every dump.
    """

    def __init__(self, path: str | Path | None = None, *, stop_on_error: bool = False,
                 reward_metric: str | None = None, eval_metric: str | None = None,
                 policy: LivePolicy | None = None, verbose: int = 0) -> None:
        super().__init__(verbose)
        self._path, self._stop, self._policy = path, stop_on_error, policy
        self._metrics = (reward_metric, eval_metric)
        self.monitor: Monitor | None = None
        self.last_decision: MonitorDecision | None = None
        self._format: _MonitorFormat | None = None
        self._announcer = FindingAnnouncer(verbose)

    def _on_training_start(self) -> None:
        self.monitor = Monitor(self._path, reward_metric=self._metrics[0],
                               eval_metric=self._metrics[1], policy=self._policy)
        self._format = _MonitorFormat(self.monitor)
        self.model.logger.output_formats.append(self._format)

    def _on_step(self) -> bool:
        if self._format is None or not self._format.pending or self.monitor is None:
            return True
        if not self.monitor.due():
            return True
        self._format.pending = False
        try:
            self.last_decision = self.monitor.verdict()
        except RlvetInputError:
            return True  # the named reward/eval metric has not been logged yet (EvalCallback
            # logs every eval_freq steps); naming one the run never logs raises at the end
        self._announcer.announce(self.last_decision, self.num_timesteps)
        if self._stop and self.last_decision.action is not Action.CONTINUE:
            if self.verbose and self.last_decision.finding is not None:
                f = self.last_decision.finding
                print(f"rlvet: stopping at step {self.num_timesteps}: {f.category}: {f.message}")
            return False
        return True

    def _on_training_end(self) -> None:
        if self._format is not None and self._format.pending and self.monitor is not None:
            self.last_decision = self.monitor.verdict()  # the final word covers every dump
            self._announcer.announce(self.last_decision, self.num_timesteps)
        if self._format is not None and self._format in self.model.logger.output_formats:
            self.model.logger.output_formats.remove(self._format)
        if self.monitor is not None:
            self.monitor.close()
