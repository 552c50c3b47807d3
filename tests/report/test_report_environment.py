"""``environment.json``: what is recorded, read back, and the ``python -m`` entry point."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from rlvet.environment_record import (
    ENVIRONMENT_FILE,
    main,
    read_environment,
    record_environment,
)


def test_record_names_python_and_key_packages(tmp_path: Path) -> None:
    path = record_environment(tmp_path / "run")
    record = read_environment(path)
    assert path.name == ENVIRONMENT_FILE and record is not None
    assert record["python"] == platform.python_version()
    assert record["key_packages"]["numpy"] == np.__version__
    assert "gymnasium" in record["key_packages"]
    assert len(record["packages"]) >= len(record["key_packages"])


def test_other_json_is_not_a_record(tmp_path: Path) -> None:
    other = tmp_path / "x.json"
    other.write_text(json.dumps({"python": "3.11"}), encoding="utf-8")
    assert read_environment(other) is None
    assert read_environment(tmp_path / "missing.json") is None


def test_module_entry_point(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    assert (tmp_path / ENVIRONMENT_FILE).exists()
    assert main([]) == 2
