"""What an env does with actions it should not take is data (``ActionOutcome``), judged by
comparing next observations, never by reading an error message."""

from __future__ import annotations

import gymnasium as gym

from rlvet.envcheck.catalog import modulo_actions_cartpole
from rlvet.envcheck.checks.action_space_drift import check_action_space_drift
from rlvet.envcheck.probes import probe_api
from rlvet.envcheck.records import (
    STEP_AFTER_END,
    ActionOutcome,
    ContractAudit,
    ProbeEvidence,
)
from rlvet.findings import Category
from rlvet.sandbox import Heartbeat


def test_a_healthy_discrete_env_rejects_out_of_range_actions() -> None:
    api = probe_api(lambda: gym.make("CartPole-v1"), Heartbeat(), seed=0)
    assert api.oob_actions and set(api.oob_actions.values()) == {ActionOutcome.REJECTED}
    assert set(api.rejections) >= set(api.oob_actions)  # each with the exception it raised
    assert api.step_after_end in set(ActionOutcome)
    assert (STEP_AFTER_END in api.rejections) == (api.step_after_end is ActionOutcome.REJECTED)


def test_wrapped_actions_are_an_outcome_the_check_reads() -> None:
    api = probe_api(modulo_actions_cartpole, Heartbeat(), seed=0)
    assert ActionOutcome.WRAPPED in api.oob_actions.values()
    ev = ProbeEvidence(api=api, audit=ContractAudit(), random_a=[], random_b=[], fresh={},
                       expert=[], branches=[], failures=[], step_timeout=1.0, expert_name=None)
    findings = check_action_space_drift(ev)
    assert [f.category for f in findings] == [Category.ACTION_SPACE_DRIFT]
    assert "wrapped" in findings[0].evidence["outcomes"].values()
