"""``[policy] callable = "cp_policy:act"`` finds ``cp_policy.py`` beside the protocol, as
``path =`` already does, whatever the working directory (issue 17)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rlvet.evaluate.protocol import callable_beside, load_protocol

POLICY = """
import numpy as np

def act(obs):
    return int(obs[2] + obs[3] > 0)
"""

PROTOCOL = """
[env]
id = "CartPole-v1"
max_steps = 50

[eval]
seeds = [0, 1]
episodes_per_seed = 1
bootstrap_reps = 200

[policy]
callable = "cp_policy:act"

[deploy]
latency_calls = 10
latency_budget_ms = 5000.0
"""


def test_module_beside_the_protocol_in_a_subprocess(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "cp_policy.py").write_text(POLICY, encoding="utf-8")
    (project / "protocol.toml").write_text(PROTOCOL, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([sys.executable, "-m", "rlvet.cli", "eval",
                           str(project / "protocol.toml"), "--json"],
                          cwd=elsewhere, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    assert "cannot import module" not in proc.stderr
    assert json.loads(proc.stdout)["command"] == "eval"


def test_resolution_rules(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("def f(o):\n    return 0\n")
    (tmp_path / "cp.py").write_text("def f(o):\n    return 0\n")
    toml = tmp_path / "p.toml"
    assert callable_beside("cp:f", toml) == f"{(tmp_path / 'cp.py').resolve()}:f"
    assert callable_beside("pkg.mod:f", toml) == f"{(tmp_path / 'pkg' / 'mod.py').resolve()}:f"
    assert callable_beside("cp.py:f", toml) == f"{(tmp_path / 'cp.py').resolve()}:f"
    assert callable_beside("math:sqrt", toml) == "math:sqrt"  # installed: left alone
    (tmp_path / "p.toml").write_text(PROTOCOL)
    (tmp_path / "cp_policy.py").write_text(POLICY)
    protocol = load_protocol(toml)
    assert protocol.policy is not None and protocol.policy.target.endswith("cp_policy.py:act")
    assert protocol.hash == load_protocol(toml).hash  # the policy is not part of the hash
