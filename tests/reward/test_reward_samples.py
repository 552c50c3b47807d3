"""The samples reader: valid records, and one actionable error per kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlvet.errors import RlvetInputError
from rlvet.reward.samples import Sample, load_samples, read_samples


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _rec(**kw: object) -> str:
    base: dict[str, object] = {"id": "a", "step": 0, "reward": 1.0}
    base.update(kw)
    return json.dumps(base)


def test_reads_all_fields(tmp_path: Path) -> None:
    line = _rec(id=7, step=3.0, reward=0.5, prompt="p", response="r", group=2,
                components={"format": 1, "correct": 0}, eval_score=1, human_score=None,
                tool_calls=[{"name": "ls"}], claimed_success=True, final_state_ok=0,
                baseline_response="b", extra_field={"ignored": True})
    (s,) = read_samples(_write(tmp_path / "s.jsonl", [line]))
    assert s == Sample(id="7", step=3, reward=0.5, prompt="p", response="r", group="2",
                       components={"format": 1.0, "correct": 0.0}, eval_score=1.0,
                       tool_calls=({"name": "ls"},), claimed_success=True,
                       final_state_ok=False, baseline_response="b", line=1)


def test_sample_is_frozen() -> None:
    s = Sample(id="a", step=0, reward=1.0)
    with pytest.raises(AttributeError):
        s.reward = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        (json.dumps({"step": 0, "reward": 1}), "missing required field 'id'"),
        (json.dumps({"id": "x", "reward": 1}), "missing required field 'step'"),
        (json.dumps({"id": "x", "step": 1}), "missing required field 'reward'"),
        (_rec(reward="high"), "field 'reward' is not a number"),
        (_rec(reward=True), "field 'reward' is not a number"),
        (_rec(reward=float("nan")), "field 'reward' is not a finite number"),
        (_rec(step=1.5), "field 'step' is not an integer"),
        (_rec(eval_score="good"), "field 'eval_score' is not a number"),
        (_rec(components=[1, 2]), "field 'components' is not an object"),
        (_rec(components={"fmt": "yes"}), "field 'components.fmt' is not a number"),
        (_rec(tool_calls="ls"), "field 'tool_calls' is not a list"),
        (_rec(claimed_success="yes"), "field 'claimed_success' is not true/false"),
        (_rec(response=5), "field 'response' is not a string"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_field_names_file_line_and_field(tmp_path: Path, line: str, needle: str) -> None:
    path = _write(tmp_path / "s.jsonl", [_rec(), line, _rec()])
    with pytest.raises(RlvetInputError) as err:
        read_samples(path)
    assert str(err.value).startswith(f"{path}:2: ")
    assert needle in str(err.value)


def test_malformed_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.jsonl", [_rec(), '{"id": "b", "step": 1, "rew', _rec()])
    with pytest.raises(RlvetInputError, match=r"s\.jsonl:2: expected one JSON object per line"):
        read_samples(path)


def test_torn_last_line_is_dropped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(_rec() + "\n" + _rec(id="b") + "\n" + '{"id": "c", "st', encoding="utf-8")
    notes: list[str] = []
    samples = read_samples(path, on_warning=notes.append)
    assert [s.id for s in samples] == ["a", "b"]
    assert len(notes) == 1 and f"{path}:3: torn last line" in notes[0]


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.jsonl", ["", _rec(), "   ", _rec(id="b"), ""])
    assert [s.line for s in read_samples(path)] == [2, 4]


def test_tool_call_count_becomes_anonymous_calls(tmp_path: Path) -> None:
    (s,) = read_samples(_write(tmp_path / "s.jsonl", [_rec(tool_calls=3)]))
    assert s.tool_calls == (None, None, None)


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(content)
    with pytest.raises(RlvetInputError, match="no samples"):
        read_samples(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(RlvetInputError, match="no such file"):
        read_samples(tmp_path / "nope.jsonl")
    with pytest.raises(RlvetInputError, match="is a directory"):
        read_samples(tmp_path)


def test_in_memory_records_use_the_same_rules() -> None:
    samples = load_samples([{"id": 1, "step": 0, "reward": 0.5},
                            Sample(id="x", step=1, reward=1.0)])
    assert [s.id for s in samples] == ["1", "x"]
    with pytest.raises(RlvetInputError, match=r"records\[1\]: missing required field 'reward'"):
        load_samples([{"id": 1, "step": 0, "reward": 0.5}, {"id": 2, "step": 0}])


def test_reader_never_modifies_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.jsonl", [_rec(), _rec(id="b")])
    before = path.read_bytes()
    read_samples(path)
    assert path.read_bytes() == before
