"""``rlvet eval``: frozen evaluation protocols, multi-seed statistics, sim-to-real checks.

Contents (one idea per module):
    protocol -- the protocol file, its hash, splits, the ``--policy`` SPEC.
    tomlfile -- typed TOML reads whose errors name file and field.
    policies -- rlvet checkpoints, SB3 models and callables as one batched ``Policy``.
    runner -- seeded episodes in lockstep with batched inference; the plain reference loop.
    stats -- mean, median, IQM, optimality gap with stratified bootstrap CIs; probability
        of improvement; performance profiles (scipy, seeded, bit-reproducible).
    splits -- the split access log and the ``split_overuse`` finding.
    compare -- results under one protocol or an ``eval_protocol_change`` finding.
    perturb -- dynamics overrides and noise / delay / dropout / initial-state wrappers.
    sweep -- robustness sweeps, ``sim_to_real_gap`` and ``ood_failure`` findings.
    shift -- per-dimension KS tests between simulated and real observations.
    latency -- batch-1 inference p50 / p99 in repeated blocks, decided against a budget only
        when the p99's interval is clear of it.
    trigger -- the retraining-trigger file and its check on live data.
    figures -- performance profile and robustness curves for ``--html``, as figure specs
        (drawn by ``report.plots``; the terminal summary is ``report.eval_terminal``).
    worker -- the sandbox child: every call into the user's env and policy runs there.
    command -- ``run_eval(...) -> EvalOutcome`` for the CLI.

Torch (and stable-baselines3 for ``.zip`` models) are imported only when a policy of that
kind is loaded.
"""

from __future__ import annotations

from rlvet.evaluate.command import EvalOutcome, eval_figures, run_eval
from rlvet.evaluate.compare import compare_results, load_result
from rlvet.evaluate.latency import Latency, check_latency, measure_latency
from rlvet.evaluate.perturb import Perturbation, make_env_fn
from rlvet.evaluate.policies import Policy, load_policy
from rlvet.evaluate.protocol import (
    EvalProtocol,
    PolicySpec,
    Split,
    load_protocol,
    parse_policy_spec,
)
from rlvet.evaluate.runner import EpisodePlan, Episodes, run_episodes, run_plain
from rlvet.evaluate.shift import check_shift, distribution_shift, load_observations
from rlvet.evaluate.stats import (
    Interval,
    interval_estimates,
    performance_profile,
    poi_interval,
    probability_of_improvement,
)
from rlvet.evaluate.sweep import SweepSpec, load_sweep, run_sweep, sweep_findings
from rlvet.evaluate.trigger import build_trigger, check_trigger

__all__ = [
    "EpisodePlan",
    "Episodes",
    "EvalOutcome",
    "EvalProtocol",
    "Interval",
    "Latency",
    "Perturbation",
    "Policy",
    "PolicySpec",
    "Split",
    "SweepSpec",
    "build_trigger",
    "check_latency",
    "check_shift",
    "check_trigger",
    "compare_results",
    "distribution_shift",
    "eval_figures",
    "interval_estimates",
    "load_observations",
    "load_policy",
    "load_protocol",
    "load_result",
    "load_sweep",
    "make_env_fn",
    "measure_latency",
    "parse_policy_spec",
    "performance_profile",
    "poi_interval",
    "probability_of_improvement",
    "run_eval",
    "run_episodes",
    "run_plain",
    "run_sweep",
    "sweep_findings",
]
