"""W&B offline run files (``run-<id>.wandb``) read through wandb's own ``DataStore``.

tests/data/wandb/run-offline.wandb was written by wandb's own offline writer
(tests/data/make_wandb_run.py): 30 updates at step 2048 * (i + 1), values from
``make_wandb_run.values(i)``, plus a string and a ``wandb.Histogram`` that must be skipped.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from rlvet.errors import RlvetInputError
from rlvet.signals import names as n
from rlvet.signals.discover import detect_format, find_logs, read_run, read_run_report

DATA = Path(__file__).resolve().parents[1] / "data"
FILE = DATA / "wandb" / "run-offline.wandb"
_spec = importlib.util.spec_from_file_location("make_wandb_run", DATA / "make_wandb_run.py")
assert _spec is not None and _spec.loader is not None
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

STEPS = [make.STEPS_PER_UPDATE * (i + 1) for i in range(make.UPDATES)]
EVALS = [i for i in range(make.UPDATES) if i % make.EVAL_EVERY == 0]


def _expected(key: str, updates: list[int]) -> list[float]:
    return [make.values(i)[key] for i in updates]


@pytest.fixture
def wandb_reader() -> None:
    pytest.importorskip("wandb.sdk.internal.datastore")


@pytest.mark.usefixtures("wandb_reader")
def test_history_rows_under_their_logged_names() -> None:
    from rlvet.signals.wandb_file import read_wandb_file

    raw = read_wandb_file(FILE)
    assert set(raw.columns) == {"rollout/ep_rew_mean", "train/approx_kl",
                                "train/entropy_loss", "train/clip_fraction",
                                "eval/mean_reward"}  # nested dict joined with "/"
    for key in ("rollout/ep_rew_mean", "train/approx_kl", "train/clip_fraction"):
        steps, values = raw.columns[key]
        assert steps.tolist() == STEPS
        np.testing.assert_array_equal(values, _expected(key, list(range(make.UPDATES))))
    steps, values = raw.columns["eval/mean_reward"]
    assert steps.tolist() == [STEPS[i] for i in EVALS]
    assert values.tolist() == _expected("eval/mean_reward", EVALS)


@pytest.mark.usefixtures("wandb_reader")
def test_non_scalars_and_bookkeeping_skipped() -> None:
    from rlvet.signals.wandb_file import read_wandb_file

    raw = read_wandb_file(FILE)
    assert not any(key.startswith(("rollout/actions", "notes/", "_")) for key in raw.columns)
    assert raw.text == {}
    assert len(raw.warnings) == 1
    assert "notes/phase" in raw.warnings[0] and "rollout/actions" in raw.warnings[0]


@pytest.mark.usefixtures("wandb_reader")
def test_canonical_signals_through_read_run() -> None:
    assert detect_format(FILE) == "wandb_file"
    run = read_run(FILE)
    assert {n.REWARD, n.KL, n.ENTROPY, n.CLIP_FRACTION, n.EVAL_RETURN} <= set(run.names())
    assert run.raw_names[n.KL] == "train/approx_kl"
    assert run.formats == ("wandb_file",)
    entropy = run.get(n.ENTROPY)  # SB3's entropy_loss, sign-flipped by the alias table
    np.testing.assert_allclose(entropy.values, [0.69 - 0.01 * i for i in range(make.UPDATES)])
    assert run.get(n.REWARD).steps.tolist() == STEPS


@pytest.mark.usefixtures("wandb_reader")
def test_found_under_a_wandb_offline_run_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / "wandb" / "offline-run-20260101_000000-x"
    (run_dir / "files").mkdir(parents=True)
    (run_dir / "logs").mkdir()
    shutil.copyfile(FILE, run_dir / "run-offline.wandb")
    (run_dir / "files" / "wandb-metadata.json").write_text('{"python": "3.11"}\n')
    (run_dir / "logs" / "debug.log").write_text("wandb setup\n")
    (tmp_path / "wandb" / "latest-run").symlink_to(run_dir, target_is_directory=True)
    assert [log.format for log in find_logs(tmp_path)] == ["wandb_file"]
    run, report = read_run_report(tmp_path)
    assert report.files == (("wandb_file", str(run_dir / "run-offline.wandb")),)
    assert run.get(n.REWARD).values.tolist() == _expected("rollout/ep_rew_mean",
                                                         list(range(make.UPDATES)))


@pytest.mark.usefixtures("wandb_reader")
def test_truncated_file_reads_the_rows_before_the_cut(tmp_path: Path) -> None:
    from rlvet.signals.wandb_file import read_wandb_file

    data = FILE.read_bytes()
    cut = tmp_path / "run-cut.wandb"
    cut.write_bytes(data[: len(data) // 2])
    raw = read_wandb_file(cut)
    steps, values = raw.columns["rollout/ep_rew_mean"]
    assert 0 < len(steps) < make.UPDATES
    assert steps.tolist() == STEPS[: len(steps)]
    assert values.tolist() == _expected("rollout/ep_rew_mean", list(range(len(steps))))
    assert any("byte" in w and "not read" in w for w in raw.warnings)


@pytest.mark.usefixtures("wandb_reader")
@pytest.mark.parametrize("content", [b"", b":W&", b"not a wandb file at all"])
def test_not_a_wandb_file_is_one_line_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "run-bad.wandb"
    path.write_bytes(content)
    with pytest.raises(RlvetInputError, match="not a W&B run file") as err:
        read_run(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_missing_wandb_is_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlvet.signals.wandb_file import read_wandb_file

    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(RlvetInputError, match=r"pip install 'rlvet\[wandb\]'") as err:
        read_wandb_file(FILE)
    assert "\n" not in str(err.value) and str(FILE) in str(err.value)


@pytest.mark.usefixtures("wandb_reader")
def test_wandb_without_its_python_reader_is_an_install_hint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rlvet.signals.wandb_file import read_wandb_file

    monkeypatch.setitem(sys.modules, "wandb.sdk.internal.datastore", None)  # as in 0.30+
    with pytest.raises(RlvetInputError, match=r"no Python \.wandb reader.*rlvet\[wandb\]"):
        read_wandb_file(FILE)
