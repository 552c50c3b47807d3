"""Fixtures of the report tests: env QA results from real probes.

Env QA results come from real probes (CartPole-v1 and a fault-catalog env); training logs
are copies of the real SB3 runs in ``tests/data/runs`` (see ``report_helpers``).
"""

from __future__ import annotations

import pytest
from report_helpers import FAULT

from rlvet.envcheck.catalog import CATALOG
from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import CommandResult


@pytest.fixture(scope="session")
def env_pass() -> CommandResult:
    """Env QA of CartPole-v1: pass, with random and expert returns."""
    return run_env_qa(EnvQAConfig(spec="CartPole-v1", episodes=5)).result


@pytest.fixture(scope="session")
def env_fail() -> CommandResult:
    """Env QA of a catalog env whose observation lags one step: stale_observation error."""
    fault = CATALOG[FAULT]
    config = EnvQAConfig(spec=f"rlvet.envcheck.catalog:{FAULT}", factory=fault.make,
                         episodes=5)
    return run_env_qa(config).result
