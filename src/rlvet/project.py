"""The project file ``rlvet.toml``: a team's aliases, accepted findings, thresholds and
training arguments, kept next to the runs instead of on every command line.

Contents:
    PROJECT_FILE -- the file name searched for (``rlvet.toml``).
    THRESHOLDS -- the allow-list of detector thresholds a project may set, with their bounds.
    Threshold -- one row of that list: where the constant lives, its bounds, why.
    ProjectConfig -- the parsed file (frozen): aliases, ignore, thresholds, train, path.
    find_project_file(start) -- the nearest ``rlvet.toml`` at or above ``start``.
    load_project(path) -- parse and validate one file (RlvetInputError naming file:line).
    resolve_project(config, starts) -- ``--config FILE`` or the file found upward, or none.
    apply_ignore(result, ignore) -- move ignored findings into ``result.suppressed``.
    thresholds_applied(values) -- the doctor's threshold constants set for one diagnosis.
    fail_exit_code(result, fail_on) -- the exit code under ``--fail-on warning|error``.

The file (every section optional; an unknown section or key is an error, never ignored)::

    [aliases]                       # RAW = "CANONICAL", as --alias RAW=CANONICAL
    "my/ret" = "reward"
    [ignore]                        # category = "reason": shown as suppressed, not judged
    entropy_stuck = "exploration is fixed by design in this env (issue 12)"
    [thresholds]                    # only the names in THRESHOLDS (docs/project.md)
    kl_bound = 0.2
    [train]                         # rlvet train's arguments (TrainArgs field names)
    env_id = "CartPole-v1"
    total_steps = 50000

An ignored finding is never dropped: every report lists it as suppressed, with the reason,
and it does not count towards the verdict or the exit code.

Thresholds: the detectors read their thresholds as module constants
(``rlvet.doctor.policy_update.KL_BOUND``, ...). Passing overrides through every detector
would touch each of them; instead a small allow-list of constants that are read at call
time (never folded into other constants at import) is set for the duration of one
diagnosis and restored afterwards. Every finding's evidence already records the value it
was judged by (``bound``, ``threshold``, ``ratio``), and the result's metrics list the
overrides, so a report never hides that the project moved a line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rlvet.errors import RlvetInputError
from rlvet.findings import (
    CATEGORIES,
    BreakPolicy,
    Category,
    CommandResult,
    Finding,
    Severity,
    Suppressed,
    first_break,
)
from rlvet.toml_input import read_toml_text

__all__ = [
    "FAIL_ON",
    "PROJECT_FILE",
    "THRESHOLDS",
    "ProjectConfig",
    "Threshold",
    "apply_ignore",
    "fail_exit_code",
    "find_project_file",
    "load_project",
    "resolve_project",
    "thresholds_applied",
]

PROJECT_FILE = "rlvet.toml"
SECTIONS = ("aliases", "ignore", "thresholds", "train")
FAIL_ON = ("error", "warning")  # --fail-on: the least severe finding that exits 1


@dataclass(frozen=True, slots=True)
class Threshold:
    """One threshold a project may set.

    Attributes:
        module: the detector module holding the constant.
        constant: the constant's name there (read at call time by the detector).
        low, high: the open interval of meaningful values.
        doc: what the threshold means, in one line.
    """

    module: str
    constant: str
    low: float
    high: float
    doc: str


THRESHOLDS: Mapping[str, Threshold] = MappingProxyType({
    "kl_bound": Threshold("rlvet.doctor.policy_update", "KL_BOUND", 0.0, 100.0,
                          "KL per update above which a jump is a kl_spike (default 0.1)"),
    "kl_jump_ratio": Threshold("rlvet.doctor.policy_update", "KL_JUMP_RATIO", 1.0, 1e6,
                               "KL over its recent median that counts as a jump (default 5)"),
    "clip_saturated": Threshold("rlvet.doctor.policy_update", "CLIP_SATURATED", 0.0, 1.0,
                                "running clip fraction above which PPO is saturated (default 0.3)"),
    "explained_variance_fail": Threshold("rlvet.doctor.critic", "EV_FAIL", -1.0, 1.0,
                                         "explained variance at or below which the critic "
                                         "fails (default 0.03)"),
    "entropy_collapse_fraction": Threshold("rlvet.doctor.exploration", "COLLAPSE_FRACTION",
                                           0.0, 1.0, "entropy below this share of its start "
                                           "is a collapse (default 0.2)"),
    "policy_lag_bound": Threshold("rlvet.doctor.freshness", "LAG_BOUND", 0.0, 1e6,
                                  "median policy lag (versions) above which data is stale "
                                  "(default 2)"),
    "grad_spike_ratio": Threshold("rlvet.doctor.numerics", "GRAD_SPIKE_RATIO", 1.0, 1e9,
                                  "grad norm over its trailing median that is a spike "
                                  "(default 10)"),
})
"""The allow-list (docs/project.md): each constant is compared with the data inside its
detector at call time, and each detector writes the value it used into its evidence."""


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """A parsed ``rlvet.toml``.

    Attributes:
        path: the file, or None for the empty configuration (no file found).
        aliases: raw logged name -> canonical name (``-name`` negates).
        ignore: category -> the reason it is accepted in this project.
        thresholds: allow-listed threshold name -> value.
        train: ``rlvet train`` arguments (TrainArgs field names).
    """

    path: Path | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    ignore: Mapping[Category, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)


def find_project_file(start: str | Path) -> Path | None:
    """The nearest ``rlvet.toml`` in ``start`` (a file's folder) or any folder above it."""
    here = Path(start).resolve()
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def _line_of(text: str, section: str | None, key: str) -> int | None:
    """The line number of ``key`` (in ``[section]``), for messages; None if not found."""
    current: str | None = None
    pattern = re.compile(rf'^\s*(?:"{re.escape(key)}"|\'{re.escape(key)}\'|{re.escape(key)})\s*=')
    header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
    for number, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            current = m.group(1).strip().strip('"')
            if section is None and current == key:
                return number
            continue
        if current == section and pattern.match(line):
            return number
    return None


def _where(path: Path, text: str, section: str | None, key: str) -> str:
    line = _line_of(text, section, key)
    return f"{path}:{line}" if line else str(path)


def _table(data: Mapping[str, Any], name: str, path: Path, text: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise RlvetInputError(f"{_where(path, text, None, name)}: [{name}] must be a table")
    return value


def _aliases(table: Mapping[str, Any], path: Path, text: str) -> dict[str, str]:
    from rlvet.signals.aliases import user_aliases

    out: dict[str, str] = {}
    for raw, target in table.items():
        if not isinstance(target, str):
            raise RlvetInputError(f"{_where(path, text, 'aliases', raw)}: [aliases] {raw!r}: "
                                  f"expected a canonical name as a string, e.g. \"reward\"")
        try:
            user_aliases({raw: target})
        except ValueError as exc:
            where = _where(path, text, "aliases", raw)
            raise RlvetInputError(f"{where}: [aliases] {exc}") from None
        out[raw] = target
    return out


def _ignore(table: Mapping[str, Any], path: Path, text: str) -> dict[Category, str]:
    known = {str(c) for c in CATEGORIES}
    out: dict[Category, str] = {}
    for key, reason in table.items():
        where = _where(path, text, "ignore", key)
        if key not in known:
            raise RlvetInputError(f"{where}: [ignore] {key!r} is not a finding category "
                                  f"(see rlvet.findings.CATEGORIES, e.g. entropy_stuck)")
        if not isinstance(reason, str) or not reason.strip():
            raise RlvetInputError(f"{where}: [ignore] {key}: give the reason as a non-empty "
                                  f"string; it is shown wherever the finding is suppressed")
        out[Category(key)] = reason.strip()
    return out


def _thresholds(table: Mapping[str, Any], path: Path, text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in table.items():
        where = _where(path, text, "thresholds", key)
        row = THRESHOLDS.get(key)
        if row is None:
            raise RlvetInputError(f"{where}: [thresholds] unknown key {key!r}; settable: "
                                  f"{', '.join(THRESHOLDS)}")
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise RlvetInputError(f"{where}: [thresholds] {key}: expected a finite number, "
                                  f"got {value!r}")
        if not row.low < value < row.high:
            raise RlvetInputError(f"{where}: [thresholds] {key} = {value}: must lie between "
                                  f"{row.low:g} and {row.high:g} (exclusive)")
        out[key] = float(value)
    return out


def _train(table: Mapping[str, Any], path: Path, text: str) -> dict[str, Any]:
    from rlvet.pipeline.args import TrainArgs

    fields = {f.name: f for f in dataclasses.fields(TrainArgs)}
    defaults = TrainArgs()
    for key, value in table.items():
        where = _where(path, text, "train", key)
        if key not in fields:
            raise RlvetInputError(f"{where}: [train] unknown key {key!r} (keys are rlvet "
                                  f"train's arguments, e.g. env_id, total_steps, lr)")
        default = getattr(defaults, key)
        if default is None or isinstance(default, (Mapping, Path)):
            continue  # optional / structured: TrainArgs checks them
        kinds = ((int, float) if isinstance(default, float)
                 else (str,) if isinstance(default, str)  # StrEnum choices arrive as text
                 else (type(default),))
        if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, kinds):
            raise RlvetInputError(f"{where}: [train] {key}: expected "
                                  f"{kinds[-1].__name__}, got {value!r}")
    return dict(table)


def load_project(path: str | Path) -> ProjectConfig:
    """Parse and validate one project file.

    Raises:
        RlvetInputError: unreadable TOML, an unknown section or key, or a bad value; the
            message names the file and, where it can be found, the line.

    Example:
        >>> cfg = load_project("examples/rlvet.toml")  # doctest: +SKIP
        >>> dict(cfg.ignore)  # doctest: +SKIP
        {<Category.ENTROPY_STUCK: 'entropy_stuck'>: 'fixed exploration by design'}
    """
    path = Path(path)
    text, data = read_toml_text(path)
    for name in data:
        if name not in SECTIONS:
            raise RlvetInputError(f"{_where(path, text, None, name)}: unknown section "
                                  f"[{name}]; known: {', '.join(f'[{s}]' for s in SECTIONS)}")
    return ProjectConfig(
        path=path,
        aliases=_aliases(_table(data, "aliases", path, text), path, text),
        ignore=_ignore(_table(data, "ignore", path, text), path, text),
        thresholds=_thresholds(_table(data, "thresholds", path, text), path, text),
        train=_train(_table(data, "train", path, text), path, text),
    )


def resolve_project(config: str | Path | None,
                    starts: Iterable[str | Path | None] = ()) -> ProjectConfig:
    """The project configuration a command runs under.

    ``config`` (``--config FILE``) wins and must exist; otherwise the nearest
    ``rlvet.toml`` at or above the first existing path of ``starts`` (the run, samples or
    protocol path), then at or above the current directory; otherwise an empty one.
    """
    if config is not None:
        if not Path(config).is_file():
            raise RlvetInputError(f"--config {config}: no such file")
        return load_project(config)
    for start in (*[s for s in starts if s is not None and Path(s).exists()], Path.cwd()):
        found = find_project_file(start)
        if found is not None:
            return load_project(found)
    return ProjectConfig()


_POLICY = {"doctor": BreakPolicy.SEVERITY, "watch": BreakPolicy.SEVERITY,
           "reward": BreakPolicy.CAUSE}
_VERDICT_RANK = {"fail": 0, "warn": 1, "pass": 2}


def _split(findings: Iterable[Finding], ignore: Mapping[Category, str]
           ) -> tuple[tuple[Finding, ...], tuple[Suppressed, ...]]:
    kept: list[Finding] = []
    gone: list[Suppressed] = []
    for f in findings:
        reason = ignore.get(f.category)
        if reason is None:
            kept.append(f)
        else:
            gone.append(Suppressed(finding=f, reason=reason))
    return tuple(kept), tuple(gone)


def apply_ignore(result: CommandResult, ignore: Mapping[Category, str]) -> CommandResult:
    """``result`` with every finding of an ignored category moved to ``suppressed``.

    The verdict, exit code and first break are then those of the findings left; a first
    break that was suppressed is chosen again by the command's own rule (onset for the
    doctor, cause for the reward audit, severity otherwise). Runs are handled one by one.

    Example:
        >>> f = Finding.of(Category.ENTROPY_STUCK, check="c", message="m")
        >>> r = apply_ignore(CommandResult(command="doctor", target="t", findings=(f,)),
        ...                  {Category.ENTROPY_STUCK: "by design"})
        >>> r.verdict, r.suppressed[0].reason
        ('pass', 'by design')
    """
    if not ignore:
        return result
    runs = tuple(apply_ignore(r, ignore) for r in result.runs)
    kept, gone = _split(result.findings, ignore)
    chosen = result.chosen_first_break
    if runs:
        worst = min(runs, key=lambda r: _VERDICT_RANK[r.verdict])
        chosen = worst.first_break
    elif chosen is not None and chosen.category in ignore:
        chosen = first_break(kept, _POLICY.get(result.command, BreakPolicy.SEVERITY))
    return dataclasses.replace(result, findings=kept, runs=runs, chosen_first_break=chosen,
                               suppressed=(*result.suppressed, *gone))


@contextlib.contextmanager
def thresholds_applied(values: Mapping[str, float]) -> Iterator[None]:
    """Set the allow-listed detector constants to ``values`` for the ``with`` body.

    The previous values come back on exit, also after an exception; not thread-safe (the
    CLI diagnoses in one thread).
    """
    saved: list[tuple[Any, str, Any]] = []
    try:
        for name, value in values.items():
            row = THRESHOLDS[name]
            module = importlib.import_module(row.module)
            saved.append((module, row.constant, getattr(module, row.constant)))
            setattr(module, row.constant, value)
        yield
    finally:
        for module, constant, old in reversed(saved):
            setattr(module, constant, old)


def fail_exit_code(result: CommandResult, fail_on: str = "error") -> int:
    """1 when a finding at or above ``fail_on`` (``error`` or ``warning``) is left, else 0.

    Suppressed findings never count (``apply_ignore``).
    """
    if fail_on not in FAIL_ON:
        raise RlvetInputError(f"--fail-on {fail_on!r}: expected one of {', '.join(FAIL_ON)}")
    floor = Severity(fail_on)
    findings = [*result.findings, *(f for r in result.runs for f in r.findings)]
    return 1 if any(Severity(f.severity) >= floor for f in findings) else 0
