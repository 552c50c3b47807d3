"""The settings a run recorded about itself: which framework trained it, with what.

Contents:
    RecordedSettings -- framework, where the settings were read, and the settings.
    read_settings(root, signals, models) -- the settings a run directory records, or None.
    detect_framework(signals) -- the library whose metric names a run logs (``sb3``,
        ``cleanrl``, ``trl``, ...), from the alias table.
    SB3_DATA, CLEANRL_TAG -- where each framework writes them.

What is read (never executed, never unpickled):
    - SB3: every ``model.save()`` / ``CheckpointCallback`` ``.zip`` holds a ``data`` JSON
      with the constructor's hyperparameters (``learning_rate``, ``n_steps``, ``gamma``,
      ``batch_size``, ``seed``, ...); values SB3 could only pickle (a learning-rate
      *schedule*, an activation class) are recorded as their type, not loaded. SB3 does not
      record the env id there; its ``Monitor`` does, in the JSON header of
      ``*monitor.csv`` (``#{"t_start": ..., "env_id": "CartPole-v1"}``).
    - CleanRL: every script calls ``writer.add_text("hyperparameters", "|param|value|\\n|-|-|
      \\n" + rows)`` with one ``|key|value|`` row per argument (``env_id``, ``seed``,
      ``learning_rate``, ...): read from the TensorBoard file's first events.

A reader: it reports what is there and never judges whether two runs are seeds of one setup
(``rlvet.report.seeds`` does).
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from rlvet.signals.aliases import ALIASES
from rlvet.signals.series import RunSignals

__all__ = ["CLEANRL_TAG", "SB3_DATA", "RecordedSettings", "detect_framework", "read_settings"]

SB3_DATA = "data"  # the JSON member of an SB3 .zip
CLEANRL_TAG = "hyperparameters/text_summary"  # SummaryWriter.add_text("hyperparameters", ...)
SB3_STATE = frozenset({"verbose", "num_timesteps", "start_time", "tensorboard_log", "device",
                       "policy_class", "observation_space", "action_space", "lr_schedule",
                       "ep_info_buffer", "ep_success_buffer", "rollout_buffer_class",
                       "replay_buffer_class"})
"""Entries of SB3's ``data`` that are training state or objects, not settings."""
SB3_RENAMED: Mapping[str, str] = {"_total_timesteps": "total_timesteps"}
MAX_TB_EVENTS = 200  # add_text runs before the loop: the first events hold it
MAX_TB_BYTES = 8 << 20
MAX_SETTING_CHARS = 200
_ROW = re.compile(r"^\|([^|]+)\|(.*)\|$")
_MONITOR_SUFFIX = "monitor.csv"
ENV_KEYS = ("env_id", "env")
SEED_KEYS = ("seed",)
LR_KEYS = ("learning_rate", "lr")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedSettings:
    """What a run recorded about how it was trained.

    Attributes:
        framework: ``sb3``, ``cleanrl``, ``rlvet``, ... (the writer of ``values``).
        source: the file the settings were read from.
        values: setting -> value as recorded (JSON scalars; text for what was pickled).
    """

    framework: str
    source: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def _first(self, keys: Iterable[str]) -> Any:
        return next((self.values[k] for k in keys if self.values.get(k) not in (None, "")),
                    None)

    @property
    def env_id(self) -> str | None:
        """The env id, when recorded."""
        value = self._first(ENV_KEYS)
        return None if value is None else str(value)

    @property
    def seed(self) -> Any:
        """The seed, when recorded."""
        return self._first(SEED_KEYS)

    @property
    def learning_rate(self) -> Any:
        """The learning rate (a number, or the text ``schedule ...``), when recorded."""
        return self._first(LR_KEYS)


def detect_framework(signals: RunSignals) -> str | None:
    """The library most of the run's logged names come from, by the alias table's
    ``source`` column (``sb3``, ``cleanrl``, ``hf_trainer``, ``trl_ppo``, ...)."""
    by_raw = {a.raw: a.source for a in ALIASES if a.source != "rlvet"}
    counts = Counter(by_raw[raw] for raw in signals.raw_names.values() if raw in by_raw)
    if not counts:
        return "trl" if "trainer_state" in signals.formats else None
    return counts.most_common(1)[0][0]


def _sb3_value(value: Any) -> Any:
    """A JSON scalar as is; what SB3 pickled (``{":type:": ...}``) as its type's text."""
    if isinstance(value, dict) and ":type:" in value:
        kind = str(value[":type:"])
        return "schedule" if "function" in kind or "Schedule" in kind else f"object {kind}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)[:MAX_SETTING_CHARS]
    return value


def _sb3_zip(path: Path) -> dict[str, Any] | None:
    """The settings in an SB3 ``.zip``; None when it is not one (no ``data`` member)."""
    try:
        with zipfile.ZipFile(path) as zf:
            if SB3_DATA not in zf.namelist():
                return None
            data = json.loads(zf.read(SB3_DATA).decode("utf-8"))
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    return {SB3_RENAMED.get(k, k): _sb3_value(v) for k, v in data.items()
            if k not in SB3_STATE and (not k.startswith("_") or k in SB3_RENAMED)}


SB3_ALGO_KEYS = (("PPO", ("n_epochs", "clip_range")), ("A2C", ("n_steps", "normalize_advantage")),
                 ("DQN", ("exploration_fraction", "target_update_interval")),
                 ("TD3", ("policy_delay", "target_policy_noise")), ("SAC", ("target_entropy",)),
                 ("DDPG", ("tau", "train_freq")))
"""SB3 does not save the algorithm's name; the first row whose keys are all present names it
(PPO before A2C: both have ``n_steps``; TD3 before DDPG: DDPG is TD3 without the delay)."""


def _sb3_algo(values: Mapping[str, Any]) -> str | None:
    return next((name for name, keys in SB3_ALGO_KEYS if all(k in values for k in keys)), None)


def _monitor_env(root: Path) -> str | None:
    """The env id in the header of an SB3 ``Monitor`` file below ``root``."""
    for path in sorted(root.rglob(f"*{_MONITOR_SUFFIX}")):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                head = fh.readline(64 * 1024)
            header = json.loads(head.lstrip("#"))
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(header, dict) and isinstance(header.get("env_id"), str):
            return cast(str, header["env_id"])
    return None


def _events(path: Path) -> Iterable[bytes]:
    """The first records of a TensorBoard event file (length-prefixed frames)."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_TB_BYTES)
    at = 0
    for _ in range(MAX_TB_EVENTS):
        if at + 12 > len(data):
            return
        (length,) = struct.unpack_from("<Q", data, at)
        if at + 12 + length > len(data):
            return
        yield data[at + 12:at + 12 + length]
        at += 12 + length + 4


def _markdown_table(text: str) -> dict[str, Any]:
    """``|key|value|`` rows (the header and the ``|-|-|`` rule skipped)."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        if (m := _ROW.match(line.strip())) and m[1] not in ("param", "-"):
            out[m[1].strip()] = _scalar(m[2].strip())
    return out


def _scalar(text: str) -> Any:
    """CleanRL writes ``str(value)``: numbers back to numbers, ``None``/``True``/``False``."""
    if text in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[text]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text[:MAX_SETTING_CHARS]


def _cleanrl_text(path: Path) -> dict[str, Any] | None:
    """The ``hyperparameters`` text of a TensorBoard file, or None."""
    try:
        from google.protobuf.message import DecodeError
        from tensorboard.compat.proto import event_pb2
        from tensorboard.util import tensor_util
    except ImportError:  # the ``tb`` extra is absent: the scalars are not read either
        return None
    try:
        for record in _events(path):
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                if value.tag == CLEANRL_TAG:
                    texts = tensor_util.make_ndarray(value.tensor).reshape(-1)
                    return _markdown_table(b"".join(texts).decode("utf-8", "replace"))
    except (OSError, ValueError, struct.error, DecodeError):  # damaged or not TensorBoard
        return None
    return None


def read_settings(root: Path, signals: RunSignals, models: Iterable[Path] = ()
                  ) -> RecordedSettings | None:
    """The settings a run directory records: SB3's saved model, else CleanRL's text.

    Args:
        root: the run directory.
        signals: its logs (for which framework wrote them).
        models: model files in it; the newest SB3 ``.zip`` by name order is read.

    Example:
        >>> zips = [Path("runs/ppo/model.zip")]
        >>> s = read_settings(Path("runs/ppo"), signals, zips)  # doctest: +SKIP
        >>> s.framework, s.values["gamma"]  # doctest: +SKIP
        ('sb3', 0.98)
    """
    for path in sorted((m for m in models if m.suffix == ".zip"), reverse=True):
        values = _sb3_zip(path)
        if values is not None:
            extra = {"algo": _sb3_algo(values), "env_id": _monitor_env(root)}
            return RecordedSettings(framework="sb3", source=str(path), values={
                **{k: v for k, v in extra.items() if v is not None}, **values})
    for path in sorted(root.rglob("events.out.tfevents*")):
        values = _cleanrl_text(path)
        if values:
            return RecordedSettings(framework="cleanrl", source=str(path), values=values)
    return None
