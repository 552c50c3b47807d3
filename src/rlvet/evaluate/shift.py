"""Distribution shift between simulated and "real" observations, dimension by dimension.

Contents:
    DimShift, Shift -- per-dimension two-sample KS results, most-moved first.
    load_observations(path) -- ``.jsonl`` (``{"obs": [...]}`` per line) or ``.npz``
        (``observations`` or ``obs``, optional ``names``) -> (m, obs_dim).
    distribution_shift(sim, real, names=) -- the KS test per dimension.
    check_shift(shift, ...) -- the ``sim_to_real_gap`` finding naming the dims that moved.
    dim_names(env, obs_dim) -- readable names for classic-control observations.
    SHIFT_KS_BOUND, SHIFT_ALPHA -- effect size and significance a dimension needs.

Why per dimension with KS: a policy fails on the real system through the features that
moved, and naming them (the pole's angular velocity is noisier, the cart drifts further)
says what to randomise or model. The two-sample Kolmogorov-Smirnov statistic is the
largest gap between the two empirical CDFs -- scale-free and assumption-free. With tens of
thousands of simulated steps any difference is "significant", so a dimension must also
move by ``SHIFT_KS_BOUND`` of probability mass. The simulated sample is the nominal
evaluation's own visited observations, so both sides come from the policy acting.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import gymnasium as gym
import numpy as np
from scipy import stats as sstats

from rlvet.errors import RlvetInputError
from rlvet.findings import Category, Finding, Severity

__all__ = ["SHIFT_ALPHA", "SHIFT_KS_BOUND", "DimShift", "Shift", "check_shift",
           "dim_names", "distribution_shift", "load_observations"]

SHIFT_KS_BOUND = 0.1  # a tenth of the probability mass moved: a visible change of regime
SHIFT_ALPHA = 0.01  # family-wise, Bonferroni-split over dimensions
MIN_SAMPLES = 20  # fewer real observations cannot bound a KS distance usefully
TOP_NAMED = 3  # dimensions named in the message

_NAMES = MappingProxyType({
    "CartPoleEnv": ("cart_position", "cart_velocity", "pole_angle", "pole_angular_velocity"),
    "PendulumEnv": ("cos_theta", "sin_theta", "angular_velocity"),
    "MountainCarEnv": ("position", "velocity"),
    "Continuous_MountainCarEnv": ("position", "velocity"),
    "AcrobotEnv": ("cos_theta1", "sin_theta1", "cos_theta2", "sin_theta2", "theta1_dot",
                   "theta2_dot"),
})
"""Observation layouts of Gymnasium's classic-control envs (their docs' tables)."""


def dim_names(env: gym.Env | None, obs_dim: int) -> tuple[str, ...]:
    """Readable dimension names where the env is known, else ``obs[i]``."""
    known = _NAMES.get(type(env.unwrapped).__name__) if env is not None else None
    if known is not None and len(known) == obs_dim:
        return known
    return tuple(f"obs[{i}]" for i in range(obs_dim))


@dataclass(frozen=True, slots=True)
class DimShift:
    """One observation dimension: KS statistic, p-value and the two means."""

    index: int
    name: str
    statistic: float
    pvalue: float
    sim_mean: float
    real_mean: float

    def to_dict(self) -> dict[str, Any]:
        """For JSON metrics."""
        return {"index": self.index, "name": self.name, "ks": self.statistic,
                "pvalue": self.pvalue, "sim_mean": self.sim_mean, "real_mean": self.real_mean}


@dataclass(frozen=True, slots=True)
class Shift:
    """All dimensions, most-moved first, and the sample sizes."""

    dims: tuple[DimShift, ...]
    n_sim: int
    n_real: int


def _from_jsonl(path: Path) -> list[Any]:
    rows = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RlvetInputError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise RlvetInputError(f"{path}:{lineno}: JSON nested too deeply to read") from None
        obs = value.get("obs") if isinstance(value, dict) else value
        if not isinstance(obs, list):
            raise RlvetInputError(f"{path}:{lineno}: expected {{\"obs\": [numbers]}} or a list")
        rows.append(obs)
    return rows


def _from_npz(path: Path) -> Any:
    with np.load(path) as data:
        for key in ("observations", "obs"):
            if key in data:
                return data[key]
    raise RlvetInputError(f"{path}: no 'observations' or 'obs' array in the .npz")


def load_observations(path: str | Path) -> np.ndarray:
    """Real observations, (m, obs_dim) float64.

    Raises:
        RlvetInputError: missing file, unknown suffix, bad line (file:line), ragged rows.
    """
    path = Path(path)
    if not path.is_file():
        raise RlvetInputError(f"{path}: real trajectory file not found")
    loaders = {".jsonl": _from_jsonl, ".npz": _from_npz}
    if path.suffix not in loaders:
        raise RlvetInputError(f"{path}: expected a .jsonl or .npz file of observations")
    try:
        arr = np.asarray(loaders[path.suffix](path), dtype=np.float64)
    except ValueError as exc:
        raise RlvetInputError(f"{path}: observations are not a numeric table ({exc})") from None
    if arr.ndim != 2 or len(arr) < MIN_SAMPLES or not np.isfinite(arr).all():
        raise RlvetInputError(f"{path}: need at least {MIN_SAMPLES} finite observation rows of "
                              f"equal length, got shape {arr.shape}")
    return arr


def distribution_shift(sim: np.ndarray, real: np.ndarray,
                       names: Sequence[str] | None = None) -> Shift:
    """Two-sample KS per dimension.

    Args:
        sim: (n, obs_dim) simulated observations.
        real: (m, obs_dim) real observations.
        names: obs_dim names (default ``obs[i]``).

    Raises:
        RlvetInputError: the dimensions differ.
    """
    if sim.ndim != 2 or real.ndim != 2 or sim.shape[1] != real.shape[1]:
        raise RlvetInputError(f"real observations have {real.shape[-1]} dimensions, the env's "
                              f"have {sim.shape[-1]}")
    d = sim.shape[1]
    names = tuple(names) if names is not None else tuple(f"obs[{i}]" for i in range(d))
    res = sstats.ks_2samp(sim, real, axis=0)
    stat, pval = np.atleast_1d(res.statistic), np.atleast_1d(res.pvalue)
    dims = [DimShift(i, names[i], float(stat[i]), float(pval[i]), float(sim[:, i].mean()),
                     float(real[:, i].mean())) for i in range(d)]
    return Shift(tuple(sorted(dims, key=lambda x: -x.statistic)), len(sim), len(real))


def check_shift(shift: Shift, *, ks_bound: float = SHIFT_KS_BOUND,
                alpha: float = SHIFT_ALPHA) -> list[Finding]:
    """``sim_to_real_gap`` (warning) naming every dimension that moved by ``ks_bound`` or
    more with a Bonferroni-corrected p below ``alpha``."""
    per_dim = alpha / max(len(shift.dims), 1)
    moved = [x for x in shift.dims if x.statistic >= ks_bound and x.pvalue < per_dim]
    if not moved:
        return []
    named = ", ".join(f"{x.name} (KS {x.statistic:.2f}, mean {x.sim_mean:.3g} sim vs "
                      f"{x.real_mean:.3g} real)" for x in moved[:TOP_NAMED])
    return [Finding.of(
        check="evaluate.shift.observations", category=Category.SIM_TO_REAL_GAP,
        severity=Severity.WARNING,
        message=(f"real observations differ from simulated ones in {len(moved)} of "
                 f"{len(shift.dims)} dimensions, most in {named}: the real system visits "
                 f"states the simulator does not produce"),
        evidence={"moved": [x.to_dict() for x in moved], "ks_bound": ks_bound, "alpha": alpha,
                  "n_sim": shift.n_sim, "n_real": shift.n_real},
        remedy=("calibrate the simulator on the named dimensions (sensor noise, the physics "
                "parameters that drive them) or randomise them in training; re-run the "
                "sweep over those parameters"))]
