"""Robustness sweeps: return vs perturbation, the gap to nominal, failure rates off-distribution.

Contents:
    SweepSpec -- a parsed sweep file; load_sweep(path) reads one.
    VariantResult, SweepResult -- the returns of every variant next to nominal.
    validate_sweep(spec, env) -- build every variant once (fail fast on a typo).
    run_sweep(spec, env, policy, plan, ...) -- evaluate nominal and every variant.
    sweep_findings(result, spec) -- ``sim_to_real_gap`` per dynamics / noise axis whose drop
        exceeds the bound; ``ood_failure`` per edge case whose failure rate does.
    sweep_metrics(result) -- the JSON table.
    DEFAULT_DROP_BOUND, NOISE_SE_MULTIPLE, DEFAULT_FAILURE_RATE_BOUND -- the thresholds.

Sweep file (paths relative to it)::

    [sweep]
    relative_drop_bound = 0.2       # finding when a variant loses 20% of nominal return
    seeds = [0, 1, 2]               # default: the evaluated split's seeds
    episodes_per_seed = 5           # default: the split's
    severity = "warning"            # or "error" to gate a deployment on it
    [attributes]                    # set on env.unwrapped after make
    length = [0.25, 1.0, 2.0]
    [make_kwargs]                   # passed to gymnasium.make (constructor parameters)
    [noise]
    obs_noise_std = [0.05, 0.2]     # Gaussian, observation units
    action_noise = [0.1, 0.3]       # discrete: P(random action); Box: std / half-range
    action_delay = [1, 2]           # steps
    [edge_cases]
    obs_dropout = [0.3]             # P(each obs dimension reads 0)
    initial_state_scale = [4.0]     # reset state times 4
    [edge_cases.initial_states]
    tilted = [0.0, 0.0, 0.18, 0.0]  # a named fixed start (env.unwrapped.state)
    [real]
    observations = "real.jsonl"     # "real" trajectories for the distribution-shift test
    ks_bound = 0.1

Why the bound is relative and noise-checked: a 20% loss is what a deployment would notice,
and a drop smaller than two standard errors of the difference is evaluation noise, not a
sensitivity (the same rule as the trainer's ``GapTracker``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlvet.errors import RlvetInputError
from rlvet.evaluate.perturb import EDGE_AXES, WRAPPER_AXES, Perturbation, make_env_fn
from rlvet.evaluate.policies import Policy
from rlvet.evaluate.protocol import EnvSpec, canonical_json, sha256_hex
from rlvet.evaluate.runner import EpisodePlan, Episodes, run_episodes
from rlvet.evaluate.shift import SHIFT_KS_BOUND
from rlvet.evaluate.tomlfile import Fields, read_toml
from rlvet.findings import Category, Finding, Severity
from rlvet.limits import MAX_ACTION_DELAY, MAX_EPISODES_PER_SEED, MAX_SEED
from rlvet.sandbox import Heartbeat

__all__ = ["DEFAULT_DROP_BOUND", "DEFAULT_FAILURE_RATE_BOUND", "NOISE_SE_MULTIPLE",
           "SweepResult", "SweepSpec", "VariantResult", "load_sweep", "run_sweep",
           "sweep_episodes", "sweep_findings", "sweep_metrics", "sweep_plan",
           "validate_sweep"]

DEFAULT_DROP_BOUND = 0.2  # a fifth of the nominal return lost: what a deployment would notice
NOISE_SE_MULTIPLE = 2.0  # and beyond two standard errors of the difference (not noise)
DEFAULT_FAILURE_RATE_BOUND = 0.2
"""An edge case fails 20 points more often than nominal: one start in five goes wrong."""
_EPS = 1e-12


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSpec:
    """A parsed sweep file.

    Attributes:
        perturbations: every variant, in file order.
        drop_bound: relative return drop that makes a finding.
        severity: severity of the sweep's findings.
        seeds, episodes_per_seed: overrides of the evaluated split's (None: keep).
        failure_return: an episode below it failed (None: nominal mean minus the bound).
        failure_rate_bound: extra failure rate of an edge case that makes a finding.
        real_observations: the "real" trajectory file, if any.
        ks_bound: KS distance a real dimension must move by.
        source: the file.
    """

    perturbations: tuple[Perturbation, ...]
    drop_bound: float = DEFAULT_DROP_BOUND
    severity: Severity = Severity.WARNING
    seeds: tuple[int, ...] | None = None
    episodes_per_seed: int | None = None
    failure_return: float | None = None
    failure_rate_bound: float = DEFAULT_FAILURE_RATE_BOUND
    real_observations: Path | None = None
    ks_bound: float = SHIFT_KS_BOUND
    source: Path | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        """SHA-256 of the parsed file's canonical JSON."""
        return sha256_hex(canonical_json(self.raw))


def _values(t: Fields, kind: str) -> list[Perturbation]:
    return [Perturbation(axis, kind, v) for axis in t.data for v in t.numbers(axis)]


def _noise(top: Fields) -> list[Perturbation]:
    t = top.table("noise")
    t.refuse_unknown(WRAPPER_AXES)
    out = []
    for axis in t.data:
        values = (t.integers(axis, minimum=1, maximum=MAX_ACTION_DELAY) if axis == "action_delay"
                  else t.numbers(axis, positive=True))
        out += [Perturbation(axis, "wrapper", float(v)) for v in values]
    return out


def _edge_cases(top: Fields) -> list[Perturbation]:
    t = top.table("edge_cases")
    t.refuse_unknown([*(k for k in EDGE_AXES if k != "initial_state"), "initial_states"])
    out = []
    for axis in ("obs_dropout", "initial_state_scale"):
        if t.has(axis):
            out += [Perturbation(axis, "edge_case", v) for v in t.numbers(axis, positive=True)]
    if any(p.axis == "obs_dropout" and p.value > 1 for p in out):  # type: ignore[operator]
        raise t.error("obs_dropout", "expected probabilities in (0, 1]")
    states = t.table("initial_states")
    for name in states.data:
        out.append(Perturbation(f"initial_state:{name}", "edge_case", states.numbers(name)))
    return out


def _settings(top: Fields) -> dict[str, Any]:
    s = top.table("sweep")
    s.refuse_unknown(("relative_drop_bound", "severity", "seeds", "episodes_per_seed",
                      "failure_return", "failure_rate_bound"))
    severity = s.text("severity", "warning")
    if severity not in ("warning", "error"):
        raise s.error("severity", f"expected warning or error, got {severity!r}")
    return {"drop_bound": s.number("relative_drop_bound", DEFAULT_DROP_BOUND, positive=True),
            "severity": Severity(severity),
            "seeds": s.integers("seeds", None, minimum=0, maximum=MAX_SEED),
            "episodes_per_seed": s.integer("episodes_per_seed", None, minimum=1,
                                           maximum=MAX_EPISODES_PER_SEED),
            "failure_return": s.number("failure_return", None),
            "failure_rate_bound": s.number("failure_rate_bound", DEFAULT_FAILURE_RATE_BOUND,
                                           positive=True)}


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file.

    Raises:
        RlvetInputError: unreadable TOML, or one line ``<file>: <field>: <problem>``.
    """
    path = Path(path)
    raw = read_toml(path)
    top = Fields(path, "", raw)
    top.refuse_unknown(("sweep", "attributes", "make_kwargs", "noise", "edge_cases", "real"))
    perturbations = (_values(top.table("attributes"), "attribute")
                     + _values(top.table("make_kwargs"), "make_kwarg")
                     + _noise(top) + _edge_cases(top))
    real = top.table("real")
    real.refuse_unknown(("observations", "ks_bound"))
    if not perturbations and not real.has("observations"):
        raise top.error("attributes", "the sweep has no perturbations and no [real] "
                                      "observations: nothing to evaluate")
    return SweepSpec(perturbations=tuple(perturbations), **_settings(top),
                     real_observations=real.path("observations", None),
                     ks_bound=real.number("ks_bound", SHIFT_KS_BOUND, positive=True),
                     source=path, raw=raw)


# --- running ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VariantResult:
    """One variant's episodes, compared with nominal.

    Attributes:
        perturbation: the variant.
        episodes: its outcomes.
        relative_drop: (nominal mean - variant mean) / |nominal mean|.
        noise: ``NOISE_SE_MULTIPLE`` standard errors of that difference, in return units.
        failure_rate: share of episodes below the failure return.
    """

    perturbation: Perturbation
    episodes: Episodes
    relative_drop: float
    noise: float
    failure_rate: float

    @property
    def mean(self) -> float:
        """Mean episode return."""
        return float(self.episodes.returns.mean())


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Nominal and every variant.

    Attributes:
        nominal: the unperturbed episodes (same seeds and episodes as the variants).
        variants: in the sweep file's order.
        failure_return: the return below which an episode counts as failed.
        nominal_failure_rate: share of nominal episodes below it.
        nominal_values: each dynamics axis's unperturbed value (the curves' anchor).
    """

    nominal: Episodes
    variants: tuple[VariantResult, ...]
    failure_return: float
    nominal_failure_rate: float
    nominal_values: Mapping[str, float]

    def by_axis(self) -> dict[str, list[VariantResult]]:
        """Variants grouped by axis, in order."""
        groups: dict[str, list[VariantResult]] = defaultdict(list)
        for v in self.variants:
            groups[v.perturbation.axis].append(v)
        return dict(groups)


def validate_sweep(spec: SweepSpec, env: EnvSpec, *, watch: Heartbeat | None = None) -> None:
    """Build and close every variant once, so an unknown attribute or a state the env does
    not expose fails in a second, before any episode runs (``watch``: the eval child's).

    Raises:
        RlvetInputError: the first variant that cannot be built, named by its sweep file.
    """
    for p in spec.perturbations:
        try:
            instance = make_env_fn(env, p, watch=watch)()
            instance.reset(seed=0)
            instance.close()
        except RlvetInputError as exc:
            raise RlvetInputError(f"{spec.source}: {p.label}: {exc}") from None


def sweep_plan(spec: SweepSpec, plan: EpisodePlan) -> EpisodePlan:
    """The evaluation plan with the sweep's seed and episode overrides."""
    return EpisodePlan(spec.seeds or plan.seeds, spec.episodes_per_seed or plan.episodes_per_seed,
                       plan.max_steps, plan.deterministic)


def _nominal_values(env: EnvSpec, spec: SweepSpec, watch: Heartbeat | None
                    ) -> dict[str, float]:
    """Unperturbed value of each axis: the env's attribute, 0 for noise and delay."""
    axes = {p.axis: p.kind for p in spec.perturbations}
    values = {a: 0.0 for a, k in axes.items() if k == "wrapper"}
    attrs = [a for a, k in axes.items() if k == "attribute"]
    if attrs:
        instance = make_env_fn(env, watch=watch)()
        try:
            for a in attrs:
                value = getattr(instance.unwrapped, a, None)
                if isinstance(value, (int, float)):
                    values[a] = float(value)
        finally:
            instance.close()
    return values


def _standard_error(returns: np.ndarray) -> float:
    flat = returns.reshape(-1)
    return float(flat.std(ddof=1) / np.sqrt(flat.size)) if flat.size > 1 else 0.0


def _variant(p: Perturbation, eps: Episodes, nominal: Episodes, fail_at: float
             ) -> VariantResult:
    base = float(nominal.returns.mean())
    drop = (base - float(eps.returns.mean())) / max(abs(base), _EPS)
    noise = NOISE_SE_MULTIPLE * float(np.hypot(_standard_error(eps.returns),
                                               _standard_error(nominal.returns)))
    return VariantResult(p, eps, drop, noise, float((eps.returns < fail_at).mean()))


def run_sweep(
    spec: SweepSpec,
    env: EnvSpec,
    policy: Policy,
    plan: EpisodePlan,
    *,
    nominal: Episodes | None = None,
    on_episode: Callable[[], None] | None = None,
    watch: Heartbeat | None = None,
) -> SweepResult:
    """Evaluate nominal (unless given, with the same plan) and every variant.

    Args:
        spec: the sweep.
        env: the protocol's env.
        policy: the policy.
        plan: the evaluation's plan; the sweep's seed and episode overrides apply.
        nominal: reuse these nominal episodes (they must follow ``sweep_plan(spec, plan)``).
        on_episode: progress callback after every episode.
        watch: the eval child's sandbox heartbeat (times every env build, reset, step).

    Raises:
        RlvetInputError: an attribute the env does not have, a state it does not expose.
    """
    validate_sweep(spec, env, watch=watch)
    plan = sweep_plan(spec, plan)
    if nominal is None:
        nominal = run_episodes(make_env_fn(env, watch=watch), policy, plan,
                               on_episode=on_episode)
    base = float(nominal.returns.mean())
    fail_at = (spec.failure_return if spec.failure_return is not None
               else base - spec.drop_bound * abs(base))
    variants = tuple(
        _variant(p, run_episodes(make_env_fn(env, p, watch=watch), policy, plan,
                                 on_episode=on_episode),
                 nominal, fail_at)
        for p in spec.perturbations)
    return SweepResult(nominal, variants, fail_at, float((nominal.returns < fail_at).mean()),
                       _nominal_values(env, spec, watch))


def sweep_episodes(spec: SweepSpec, plan: EpisodePlan, nominal_needed: bool) -> int:
    """Episodes a sweep will run (for a progress bar's total)."""
    p = sweep_plan(spec, plan)
    per = len(p.seeds) * p.episodes_per_seed
    return per * (len(spec.perturbations) + int(nominal_needed))


# --- findings and metrics ----------------------------------------------------------------


def _gap_finding(axis: str, bad: list[VariantResult], result: SweepResult, spec: SweepSpec
                 ) -> Finding:
    worst = max(bad, key=lambda v: v.relative_drop)
    base = float(result.nominal.returns.mean())
    dynamics = worst.perturbation.kind in ("attribute", "make_kwarg")
    others = [v.perturbation.label for v in bad if v is not worst]
    also = f"; also beyond the bound at {', '.join(others)}" if others else ""
    cause = (f"the policy relies on the nominal {axis}" if dynamics
             else f"the policy is not robust to {axis.replace('_', ' ')}")
    return Finding.of(
        check=f"evaluate.sweep.{'dynamics' if dynamics else 'noise'}",
        category=Category.SIM_TO_REAL_GAP, severity=spec.severity,
        message=(f"return falls from {base:.4g} (nominal) to {worst.mean:.4g} at "
                 f"{worst.perturbation.label} ({worst.relative_drop:.0%} drop, bound "
                 f"{spec.drop_bound:.0%}{also}): {cause}"),
        evidence={"axis": axis, "kind": worst.perturbation.kind, "nominal_return": base,
                  "nominal_value": result.nominal_values.get(axis),
                  "worst_value": worst.perturbation.value, "worst_return": worst.mean,
                  "relative_drop": worst.relative_drop, "bound": spec.drop_bound,
                  "exceeded_at": [v.perturbation.value for v in bad]},
        remedy=(f"randomise {axis} in training over a range covering the deployment's value "
                f"(rlvet train --randomize), or measure the real {axis} and train on it"
                if dynamics else
                f"train with {axis.replace('_', ' ')} injected (a wrapper like this sweep's), "
                f"or filter / compensate it before the policy"))


def _ood_finding(v: VariantResult, result: SweepResult, spec: SweepSpec) -> Finding:
    return Finding.of(
        check="evaluate.sweep.edge_case", category=Category.OOD_FAILURE,
        severity=spec.severity,
        message=(f"edge case {v.perturbation.label}: {v.failure_rate:.0%} of episodes fail "
                 f"(return below {result.failure_return:.4g}) against "
                 f"{result.nominal_failure_rate:.0%} nominal: outside its training "
                 f"distribution the policy does not recover"),
        evidence={"case": v.perturbation.label, "failure_rate": v.failure_rate,
                  "nominal_failure_rate": result.nominal_failure_rate,
                  "failure_return": result.failure_return, "mean_return": v.mean,
                  "bound": spec.failure_rate_bound})


def sweep_findings(result: SweepResult, spec: SweepSpec) -> list[Finding]:
    """One ``sim_to_real_gap`` per dynamics/noise axis that exceeds the bound beyond noise;
    one ``ood_failure`` per edge case whose failure rate exceeds nominal's by the bound."""
    base = abs(float(result.nominal.returns.mean()))
    found = []
    for axis, variants in result.by_axis().items():
        if variants[0].perturbation.kind == "edge_case":
            found += [_ood_finding(v, result, spec) for v in variants
                      if v.failure_rate - result.nominal_failure_rate > spec.failure_rate_bound]
            continue
        bad = [v for v in variants
               if v.relative_drop > spec.drop_bound and v.relative_drop * base > v.noise]
        if bad:
            found.append(_gap_finding(axis, bad, result, spec))
    return found


def sweep_metrics(result: SweepResult) -> dict[str, Any]:
    """Per-variant rows (mean, drop, failure rate) and the nominal anchor, for JSON."""
    return {
        "nominal_mean": float(result.nominal.returns.mean()),
        "failure_return": result.failure_return,
        "nominal_failure_rate": result.nominal_failure_rate,
        "nominal_values": dict(result.nominal_values),
        "variants": [{"axis": v.perturbation.axis, "kind": v.perturbation.kind,
                      "value": v.perturbation.value, "mean": v.mean,
                      "per_seed": v.episodes.per_seed.tolist(),
                      "relative_drop": v.relative_drop, "noise": v.noise,
                      "failure_rate": v.failure_rate} for v in result.variants],
    }
