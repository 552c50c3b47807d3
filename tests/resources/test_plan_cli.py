"""``rlvet resources plan`` through the CLI: verdicts, changes, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlvet.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "rlhf_7b_plan.toml"

SMALL = """
[hardware]
gpu_memory_gib = 24
[training]
micro_batch = 4
sequence_length = 512
[[models]]
role = "policy"
arch = "gpt2"
hidden_size = 768
layers = 12
vocab_size = 50257
dtype = "bf16"
"""


def test_fitting_plan_passes_with_table_and_bar(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    assert main(["resources", "plan", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "FITS" in out and "optimizer" in out and "|" in out


def test_oversized_plan_fails_and_names_a_change_that_fits(capsys) -> None:
    before = EXAMPLE.read_bytes()
    assert main(["resources", "plan", str(EXAMPLE), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["first_break"]["category"] == "memory_budget"
    assert doc["metrics"]["utilisation"] > 1
    fitting = [c for c in doc["metrics"]["changes"] if c["fits"]]
    assert fitting and all(c["peak_gib"] <= 0.9 * 80 for c in fitting)
    assert fitting[0]["action"] in doc["first_break"]["remedy"]
    assert EXAMPLE.read_bytes() == before


def test_nothing_fits_alone_but_a_combination_does(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "big.toml"
    cfg.write_text(SMALL.replace("gpu_memory_gib = 24", "gpu_memory_gib = 6")
                   .replace("micro_batch = 4", "micro_batch = 16")
                   .replace('dtype = "bf16"', 'dtype = "fp32"'))
    assert main(["resources", "plan", str(cfg), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    combined = doc["metrics"]["combined_change"]
    assert not any(c["fits"] for c in doc["metrics"]["changes"])
    assert combined is not None and combined["fits"] and " + " in combined["action"]


@pytest.mark.parametrize(("edit", "needle"), [
    (lambda s: s.replace("micro_batch", "micro_batch_size"), "training.micro_batch_size"),
    (lambda s: s.replace('dtype = "bf16"', 'dtype = "fp13"'), "models[0].dtype"),
    (lambda s: s.replace("layers = 12", "layers = -1"), "models[0].layers"),
    (lambda s: s.replace("layers = 12", 'layers = "twelve"'), "models[0].layers"),
    (lambda s: s.replace("hidden_size = 768\n", ""), "hidden_size"),
    (lambda s: s.replace('role = "policy"', 'role = "judge"'), "models[0].role"),
    (lambda s: s.replace("[[models]]", "[[model]]"), "model"),
    (lambda s: s.replace("[training]", "[training"), "not valid TOML"),
    (lambda s: s + 'heads = 5\n', "models[0].heads"),
    (lambda s: s + 'frozen_layers = 12\n', "models[0].frozen_layers"),
])
def test_bad_config_is_one_line_naming_the_field(tmp_path: Path, capsys, edit, needle) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(edit(SMALL))
    assert main(["resources", "plan", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err and str(cfg) in err
    assert "Traceback" not in err


def test_missing_file_is_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["resources", "plan", str(tmp_path / "none.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
