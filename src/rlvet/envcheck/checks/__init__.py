"""The env checks: one module per failure class, each ``check_<invariant>(ev) -> list[Finding]``.

All checks read one ``ProbeEvidence`` collected once by ``envcheck.suite``: the probes are
the expensive part (they step the env), the checks are cheap, so sharing one set of
rollouts keeps ``rlvet env`` close to the cost of raw stepping.
"""

from __future__ import annotations

from collections.abc import Callable

from rlvet.envcheck.checks.action_space_drift import check_action_space_drift
from rlvet.envcheck.checks.api_contract import check_api_contract
from rlvet.envcheck.checks.determinism import check_reset_determinism
from rlvet.envcheck.checks.done_semantics import check_done_semantics
from rlvet.envcheck.checks.harness_failure import check_harness_failure
from rlvet.envcheck.checks.leakage import check_reset_leakage
from rlvet.envcheck.checks.obs_scale import check_obs_scale
from rlvet.envcheck.checks.reward_artifact import check_reward_artifact
from rlvet.envcheck.checks.reward_direction import check_reward_direction
from rlvet.envcheck.checks.reward_farming import check_reward_farming
from rlvet.envcheck.checks.reward_sparsity import check_reward_sparsity
from rlvet.envcheck.checks.silent_timeout import check_silent_timeout
from rlvet.envcheck.checks.space_coverage import check_space_coverage
from rlvet.envcheck.checks.stale_observation import check_stale_observation
from rlvet.envcheck.records import ProbeEvidence
from rlvet.findings import Finding

__all__ = ["CHECKS"]

Check = Callable[[ProbeEvidence], list[Finding]]

CHECKS: tuple[Check, ...] = (
    check_harness_failure,
    check_reset_determinism,
    check_reset_leakage,
    check_silent_timeout,
    check_done_semantics,
    check_stale_observation,
    check_action_space_drift,
    check_api_contract,
    check_obs_scale,
    check_reward_direction,
    check_reward_artifact,
    check_reward_sparsity,
    check_reward_farming,
    check_space_coverage,
)
"""Every env check. Static findings tie on time, so this order picks the first break among
them: a failing harness first (nothing else is trustworthy), then behaviour that corrupts
trajectories (nondeterminism, leakage, timeouts, done flags, stale observations), then
contract and scale problems, which are often their symptoms, then the reward."""
