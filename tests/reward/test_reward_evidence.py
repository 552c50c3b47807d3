"""Too little data is said, never a bare PASS (issue 17: 16 samples, 2 steps, every group
with zero spread used to pass)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rlvet.findings import Category
from rlvet.reward import audit_samples


def _write(path: Path, steps: int, groups: int, per_group: int) -> Path:
    rows = [{"id": f"{s}-{g}-{k}", "step": s, "reward": 1.0, "group": f"p{g}",
             "prompt": "q", "response": "a"}
            for s in range(1, steps + 1) for g in range(groups) for k in range(per_group)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_cli_says_what_it_could_not_judge(tmp_path: Path) -> None:
    samples = _write(tmp_path / "few.jsonl", steps=2, groups=2, per_group=4)  # 16 samples
    proc = subprocess.run([sys.executable, "-m", "rlvet.cli", "reward", str(samples), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr  # info findings never fail a run
    doc = json.loads(proc.stdout)
    notes = [f for f in doc["findings"] if f["category"] == "insufficient_evidence"]
    assert len(notes) == 3 and all(f["severity"] == "info" for f in notes)
    assert any(f["evidence"].get("nothing_judged") for f in notes)
    text = subprocess.run([sys.executable, "-m", "rlvet.cli", "reward", str(samples)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "400"}).stdout
    assert "NOT JUDGED" in text and "zero reward spread" in text


def test_enough_data_has_no_note(tmp_path: Path) -> None:
    samples = _write(tmp_path / "many.jsonl", steps=6, groups=6, per_group=4)
    cats = {f.category for f in audit_samples(samples).result.findings}
    assert Category.INSUFFICIENT_EVIDENCE not in cats
