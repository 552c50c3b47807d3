"""The real-env corpus's human verdicts hold for the envs the core install can build.

``benchmarks/realenvs/`` runs 40+ third-party envs in their own virtualenv; this is the
small subset ``make test`` can run without extra installs (Gymnasium's own envs, with
Box2D and MuJoCo when present). Every warning and error finding must have a human verdict
in ``verdicts.toml``, no env judged healthy may get an error finding, and every real defect
listed for an env must be named.
"""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest

from rlvet.envcheck.suite import EnvQAConfig, run_env_qa
from rlvet.findings import Severity

CORPUS = Path(__file__).resolve().parents[2] / "benchmarks" / "realenvs"
VERDICTS = tomllib.loads((CORPUS / "verdicts.toml").read_text())
SUBSET = {  # target -> the module it needs beyond gymnasium (None: nothing)
    "gym:Acrobot-v1": None,
    "gym:Taxi-v4": None,
    "gym:CliffWalking-v1": None,
    "gym:LunarLander-v3": "Box2D",
    "gym:InvertedPendulum-v5": "mujoco",
}


def _verdict(target: str, severity: str, category: str) -> str | None:
    key = f"{severity}:{category}"
    entry = VERDICTS.get("env", {}).get(target, {}).get(key) or VERDICTS["common"].get(key)
    if isinstance(entry, list):
        return entry[0]["verdict"] if len({e["verdict"] for e in entry}) == 1 else "mixed"
    return None if entry is None else str(entry["verdict"])


def test_every_verdict_is_one_of_the_four_words() -> None:
    entries = [*VERDICTS["common"].values()]
    for per_env in VERDICTS.get("env", {}).values():
        for entry in per_env.values():
            entries += entry if isinstance(entry, list) else [entry]
    assert entries
    for entry in entries:
        assert entry["verdict"] in {"real_defect", "design_property", "false_alarm", "note"}
        assert entry["reason"].strip()
        if entry["verdict"] == "real_defect":
            assert (CORPUS / "repro" / entry["repro"]).is_file()


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(SUBSET))
def test_real_env_findings_match_their_verdicts(target: str) -> None:
    needs = SUBSET[target]
    if needs is not None and importlib.util.find_spec(needs) is None:
        pytest.skip(f"{needs} not installed")
    findings = run_env_qa(EnvQAConfig(spec=target.split(":", 1)[1])).result.findings
    judged = [(f, _verdict(target, str(f.severity), str(f.category))) for f in findings]
    assert [str(f.category) for f, v in judged if v is None and f.severity != Severity.INFO] == []
    real = {f.category for f, v in judged if v == "real_defect"}
    errors = [f for f in findings if f.severity == Severity.ERROR]
    if not real:
        assert errors == [], "an env judged healthy got an error finding"
    named = {f.category for f in findings if f.severity != Severity.INFO}
    assert real <= named
