"""Gather what run directories hold: results, training logs, checkpoints, records.

Contents:
    TrainingRun -- one run's logs read and diagnosed, with the results and model files
        stored beside them.
    Evidence -- everything found under the directories given to ``rlvet report``.
    collect(paths) -- walk the directories and build the ``Evidence``.
    DEPLOYMENT_FILE, TRIGGER_KIND, MODEL_SUFFIXES -- what else is recognised.

What is recognised (hidden directories are skipped):
    - rlvet command results: any ``*.json`` whose object has ``"rlvet"`` and ``"command"``
      keys (``rlvet env/doctor/train/reward/eval --json > file.json``); earlier ``report``
      results are skipped, so a report never gathers itself;
    - training logs: whatever ``rlvet doctor`` reads (``rlvet.signals.discover``), except
      JSON-lines files whose first record has no step field (access logs, samples); a *run*
      is a directory holding logs whose parents (below the given directory) hold none, so
      ``demo/seed0`` and ``demo/seed1`` are two runs and ``run/tb/`` belongs to ``run``;
    - model files (``*.pt``, ``*.zip``, ``*.ckpt``, ``*.safetensors``) inside a run, and
      SB3's saved normalisation statistics (``vecnormalize*.pkl``);
    - the settings a run's framework recorded (``rlvet.signals.settings``: SB3's model
      ``data``, CleanRL's ``hyperparameters`` text), for grouping seeds and the run table;
    - ``environment.json`` written by ``rlvet.environment_record``;
    - retraining-trigger files (JSON with ``"kind": "rlvet.retraining_trigger"``, written
      by ``rlvet eval``);
    - ``deployment.toml``: deployment facts only a person can state (business metric,
      retraining trigger, latency budget), see docs/report.md.

Collecting never judges (that is ``report.gates``) and never stops at a damaged file inside
a directory: what cannot be read is listed in ``Evidence.notes`` and the report shows it.
Only a path that does not exist is an input error.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvet.doctor.diagnose import Diagnosis, diagnose
from rlvet.documents import TrainSummary
from rlvet.environment_record import ENVIRONMENT_KIND, record_problem
from rlvet.errors import RlvetInputError
from rlvet.findings import Finding
from rlvet.paths import is_special_file
from rlvet.report.documents import ResultDoc, load_json, result_from_json
from rlvet.signals import names
from rlvet.signals.aliases import find_eval_key
from rlvet.signals.discover import detect_format, read_run_report
from rlvet.signals.jsonl import STEP_KEYS
from rlvet.signals.series import RunSignals
from rlvet.signals.settings import RecordedSettings, detect_framework, read_settings

__all__ = ["DEPLOYMENT_FILE", "MODEL_SUFFIXES", "TRIGGER_KIND", "Evidence", "TrainingRun",
           "collect"]

DEPLOYMENT_FILE = "deployment.toml"
TRIGGER_KIND = "rlvet.retraining_trigger"
MODEL_SUFFIXES = (".pt", ".zip", ".ckpt", ".safetensors")
FIRST_LINE_BYTES = 1 << 20  # enough for any first record of a metrics log
NORMALIZER_PREFIX = "vecnormalize"  # SB3's saved VecNormalize statistics: vecnormalize.pkl
SKIPPED_COMMANDS = frozenset({"report"})  # a report's findings are copies of its sources
CONFIG_IGNORED = frozenset({"seed", "out", "resume", "resume_from", "exp_name", "run_name",
                            "track", "wandb_project_name", "wandb_entity", "capture_video",
                            "cuda", "save_model", "upload_model", "hf_entity"})
"""Recorded settings that differ between seeds of one experiment or do not change what is
trained (rlvet's ``--out``, CleanRL's ``exp_name`` and tracking flags): grouping ignores
them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingRun:
    """One training run: its signals, the doctor's diagnosis and what lies beside them.

    Attributes:
        root: the run directory.
        signals: the logs under canonical names.
        diagnosis: ``rlvet.doctor.diagnose`` over the signals.
        results: command results stored inside the run directory (train, doctor, ...).
        models: model and checkpoint files inside it, sorted.
        recorded: the settings its framework saved (SB3's model ``data``, CleanRL's
            ``hyperparameters`` text), if any; an ``rlvet train`` result's arguments win.
    """

    root: Path
    signals: RunSignals
    diagnosis: Diagnosis
    results: tuple[ResultDoc, ...] = ()
    models: tuple[Path, ...] = ()
    recorded: RecordedSettings | None = None

    @property
    def name(self) -> str:
        """The run as it is shown: its directory."""
        return str(self.root)

    @property
    def train_doc(self) -> ResultDoc | None:
        """The ``rlvet train`` result stored in the run, if any (the newest wins)."""
        docs = [d for d in self.results if d.command == "train"]
        return docs[-1] if docs else None

    @property
    def train(self) -> TrainSummary | None:
        """The summary of that train result (``rlvet.documents.TrainSummary``)."""
        doc = self.train_doc
        return None if doc is None else doc.train

    @property
    def settings(self) -> RecordedSettings | None:
        """The run's recorded settings: its ``rlvet train`` arguments, else its framework's."""
        doc = self.train_doc
        if doc is None or self.train is None or not self.train.args:
            return self.recorded
        env = self.train.env_id or doc.target or None
        return RecordedSettings(framework="rlvet", source=str(doc.path),
                                values={**({"env_id": env} if env else {}), **self.train.args})

    @property
    def framework(self) -> str | None:
        """Who trained it: ``rlvet``, else the writer of the settings, else of the logs."""
        if self.train_doc is not None:
            return "rlvet"
        return self.recorded.framework if self.recorded else detect_framework(self.signals)

    @property
    def env_id(self) -> str | None:
        """The env trained on, when a train result or the recorded settings say so."""
        doc = self.train_doc
        if doc is not None:
            summary = doc.train
            env = (summary.env_id if summary is not None else None) or doc.target or None
            if env:
                return env
        return None if self.recorded is None else self.recorded.env_id

    @property
    def args(self) -> Mapping[str, Any]:
        """Training arguments recorded in the train result, if any."""
        return {} if self.train is None else self.train.args

    @property
    def seed(self) -> Any:
        """The recorded seed, if any."""
        return None if self.settings is None else self.settings.seed

    @property
    def learning_rate(self) -> Any:
        """The recorded learning rate; a schedule shows its first and last logged values."""
        lr = None if self.settings is None else self.settings.learning_rate
        series = self.signals.get(names.LEARNING_RATE)
        if lr == "schedule" and series is not None and len(series):
            return f"schedule {series.values[0]:.3g}->{series.values[-1]:.3g}"
        return lr

    @property
    def config_key(self) -> str | None:
        """Framework, env and every recorded setting but the seed (``CONFIG_IGNORED``): runs
        with equal keys are seeds of one setup. None when nothing was recorded -- such runs
        cannot be told apart from runs of other settings."""
        settings = self.settings
        if settings is None:
            return None
        values = sorted((k, repr(v)) for k, v in settings.values.items()
                        if k not in CONFIG_IGNORED)
        return f"{settings.framework}|{self.env_id or '?'}|{values}"

    @property
    def final_eval(self) -> float | None:
        """The last evaluation return: from the train result, else from the logged series
        (``eval_return``, else an evaluation-scoped return such as CleanRL's
        ``eval/episodic_return``)."""
        if self.train is not None and self.train.final_eval_return is not None:
            return self.train.final_eval_return
        key = find_eval_key(self.signals)
        series = None if key is None else self.signals.get(key)
        return float(series.values[-1]) if series is not None and len(series) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """Everything ``rlvet report`` found.

    Attributes:
        roots: the directories (or files) given, in order.
        results: every command result found, in walk order.
        runs: the training runs, in walk order.
        environments: ``(path, record)`` of each environment record.
        deployment: ``(path, declarations)`` of each ``deployment.toml``.
        triggers: ``(path, trigger)`` of each retraining-trigger file.
        normalizers: saved normalisation statistics (SB3 ``vecnormalize*.pkl``).
        notes: files that could not be read and why, read warnings.
        inputs: every file opened (results, records, logs): what an output must not replace.
    """

    roots: tuple[Path, ...]
    results: tuple[ResultDoc, ...] = ()
    runs: tuple[TrainingRun, ...] = ()
    environments: tuple[tuple[Path, Mapping[str, Any]], ...] = ()
    deployment: tuple[tuple[Path, Mapping[str, Any]], ...] = ()
    triggers: tuple[tuple[Path, Mapping[str, Any]], ...] = ()
    normalizers: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()
    inputs: tuple[Path, ...] = ()

    def of(self, command: str) -> tuple[ResultDoc, ...]:
        """The results of one command (``"env"``, ``"eval"``, ...)."""
        return tuple(d for d in self.results if d.command == command)

    @property
    def trained_envs(self) -> tuple[str, ...]:
        """Env ids that were trained on, as recorded by train results (first seen first)."""
        return tuple(dict.fromkeys(r.env_id for r in self.runs if r.env_id))

    @property
    def primary_dir(self) -> str:
        """Where suggested commands should write: the first directory given."""
        first = self.roots[0]
        return str(first if first.is_dir() else first.parent)

    def declared(self, key: str) -> tuple[Path, Any] | None:
        """The first ``deployment.toml`` declaration of ``key``, with its file."""
        for path, values in self.deployment:
            if values.get(key) not in (None, ""):
                return path, values[key]
        return None

    def findings(self) -> tuple[Finding, ...]:
        """Every finding gathered, each tagged with ``evidence["source"]``, duplicates dropped.

        The doctor's fresh diagnosis of each run comes first; a stored result's finding is
        a duplicate when its run (or file), category, stage, severity and step are equal --
        a ``doctor --json`` saved beside the logs says what the fresh diagnosis says.
        """
        seen: set[tuple[str, str, str, str, int | None]] = set()
        out: list[Finding] = []
        for owner, source, finding in self._all_findings():
            key = (owner, str(finding.category), str(finding.stage), str(finding.severity),
                   finding.step)
            if key in seen:
                continue
            seen.add(key)
            out.append(dataclasses.replace(finding, evidence={**finding.evidence,
                                                              "source": source}))
        return tuple(out)

    def _all_findings(self) -> Iterable[tuple[str, str, Finding]]:
        for run in self.runs:
            for f in run.diagnosis.findings:
                yield run.name, run.name, f
        for doc in self.results:
            owner = self.owner_of(doc)
            for f in doc.findings:
                yield owner, str(doc.path), f

    def owner_of(self, doc: ResultDoc) -> str:
        """The run a result belongs to (the run directory holding it), else its own file."""
        for run in self.runs:
            if any(d is doc for d in run.results):
                return run.name
        return str(doc.path)


@dataclass(slots=True)
class _Walk:
    """What one walk over the given paths turned up, before runs are read."""

    results: list[ResultDoc] = field(default_factory=list)
    log_dirs: set[Path] = field(default_factory=set)
    models: list[Path] = field(default_factory=list)
    environments: list[tuple[Path, Mapping[str, Any]]] = field(default_factory=list)
    deployment: list[tuple[Path, Mapping[str, Any]]] = field(default_factory=list)
    triggers: list[tuple[Path, Mapping[str, Any]]] = field(default_factory=list)
    normalizers: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seen: set[Path] = field(default_factory=set)
    opened: list[Path] = field(default_factory=list)


def _json_file(path: Path, walk: _Walk) -> None:
    """A ``.json``: a command result, an environment record, a trigger, or something else."""
    obj = load_json(path)
    if not isinstance(obj, dict):
        return
    try:
        doc = result_from_json(obj, path)
    except RlvetInputError as exc:
        walk.notes.append(f"not read: {exc}")
        return
    if doc is not None:
        if doc.command not in SKIPPED_COMMANDS:
            walk.results.append(doc)
        return
    if obj.get("kind") == ENVIRONMENT_KIND:
        problem = record_problem(obj)
        if problem:
            walk.notes.append(f"not read: {path}: {problem}")
        else:
            walk.environments.append((path, obj))
    elif obj.get("kind") == TRIGGER_KIND:
        walk.triggers.append((path, obj))


def _toml_file(path: Path, walk: _Walk) -> None:
    try:
        walk.deployment.append((path, tomllib.loads(path.read_text(encoding="utf-8"))))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        walk.notes.append(f"not read: {path}: not valid TOML ({exc})")
    except RecursionError:
        walk.notes.append(f"not read: {path}: not valid TOML (nested too deeply)")


def _is_other_jsonl(path: Path) -> bool:
    """A JSON-lines file whose first record has no step field is not a metrics log (an
    evaluation access log, a samples file without steps): leave it out of the runs. A first
    line that does not parse stays in, so the reader reports the damage."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = json.loads(fh.readline(FIRST_LINE_BYTES))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(first, dict) and not any(key in first for key in STEP_KEYS)


def _visit(path: Path, walk: _Walk) -> None:
    """Sort one file into the walk's lists (once, when given paths overlap)."""
    resolved = path.resolve()
    if resolved in walk.seen:
        return
    walk.seen.add(resolved)
    if is_special_file(path):  # a FIFO would block open() forever, /dev/zero never end
        walk.notes.append(f"not read: {path}: not a regular file")
        return
    if path.suffix == ".json":
        walk.opened.append(path)
        _json_file(path, walk)
    elif path.name == DEPLOYMENT_FILE:
        walk.opened.append(path)
        _toml_file(path, walk)
    if path.suffix in MODEL_SUFFIXES:
        walk.models.append(path)
    if path.suffix == ".pkl" and path.name.lower().startswith(NORMALIZER_PREFIX):
        walk.normalizers.append(path)
    fmt = detect_format(path, strict=False)
    if fmt is not None:
        walk.opened.append(path)
        if not (fmt == "jsonl" and _is_other_jsonl(path)):
            walk.log_dirs.add(path.parent)


def _walk(root: Path, walk: _Walk) -> None:
    if not root.is_dir():
        _visit(root, walk)
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            _visit(Path(folder, name), walk)


def _run_roots(log_dirs: set[Path]) -> list[Path]:
    """Directories with logs, minus those inside another such directory."""
    roots: list[Path] = []
    for folder in sorted(log_dirs, key=lambda p: (len(p.parts), str(p))):
        if not any(folder.is_relative_to(r) for r in roots):
            roots.append(folder)
    return sorted(roots, key=str)


def _read_training(root: Path, walk: _Walk) -> TrainingRun | None:
    try:
        signals, report = read_run_report(root)
        diagnosis = diagnose(signals)
    except RlvetInputError as exc:
        walk.notes.append(f"training logs not read: {exc}")
        return None
    walk.notes.extend(f"{root}: {w}" for w in report.warnings)
    models = tuple(sorted(p for p in walk.models if p.is_relative_to(root)))
    return TrainingRun(
        root=root, signals=signals, diagnosis=diagnosis,
        results=tuple(d for d in walk.results if d.path.is_relative_to(root)),
        models=models, recorded=read_settings(root, signals, models),
    )


def _stored_warnings(walk: _Walk, runs: list[TrainingRun]) -> None:
    """Reader warnings of stored doctor results whose logs are not here to read again (the
    fresh read of a run's logs notes its own)."""
    for doc in walk.results:
        if doc.doctor is not None and not any(doc.path.is_relative_to(r.root) for r in runs):
            walk.notes.extend(f"{doc.path}: {w}" for w in doc.doctor.reader_warnings)


def collect(paths: Iterable[str | os.PathLike[str]]) -> Evidence:
    """Walk every path and gather the evidence ``rlvet report`` judges.

    Args:
        paths: run directories (searched recursively) or single result files.

    Raises:
        RlvetInputError: a path that does not exist, or no path at all.

    Example:
        >>> ev = collect(["rlvet-demo"])  # doctest: +SKIP
        >>> [d.command for d in ev.results]  # doctest: +SKIP
        ['env', 'env', 'train', 'train', 'train', 'doctor', 'train', 'eval']
    """
    roots = tuple(Path(p) for p in paths)
    if not roots:
        raise RlvetInputError("no run directory given")
    walk = _Walk()
    for root in roots:
        if not root.exists():
            raise RlvetInputError(f"{root}: no such file or directory")
        _walk(root, walk)
    runs = [run for r in _run_roots(walk.log_dirs) if (run := _read_training(r, walk))]
    _stored_warnings(walk, runs)
    return Evidence(
        roots=roots, results=tuple(walk.results), runs=tuple(runs),
        environments=tuple(walk.environments), deployment=tuple(walk.deployment),
        triggers=tuple(walk.triggers), normalizers=tuple(walk.normalizers),
        notes=tuple(walk.notes), inputs=tuple(dict.fromkeys(walk.opened)),
    )
