"""Protocol parsing, hashing, located errors, and the --policy SPEC."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlvet.errors import RlvetInputError
from rlvet.evaluate.protocol import load_protocol, parse_policy_spec

DATA = Path(__file__).parents[1] / "data" / "eval"

BASE = """
[env]
id = "CartPole-v1"
kwargs = {}
attributes = { length = 0.1 }
max_steps = 500

[eval]
seeds = [0, 1, 2]
episodes_per_seed = 4
deterministic = false

[splits.private]
seeds = [100, 101]

[policy]
path = "model.zip"
"""

REORDERED = """
# same protocol, keys in another order, other comments, another policy
[policy]
path = "other.pt"

[splits.private]
seeds = [100, 101]

[eval]
deterministic = false
episodes_per_seed = 4
seeds = [0, 1, 2]

[env]
max_steps = 500
attributes = { length = 0.1 }
id = "CartPole-v1"
"""


def _write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_example_protocols_load() -> None:
    p = load_protocol(DATA / "cartpole.toml")
    assert p.split().seeds == (0, 1, 2, 3, 4) and p.split("smoke").episodes_per_seed == 2
    assert p.split("private").seeds == (9001, 9002, 9003)
    assert p.policy is not None and p.policy.kind == "sb3" and p.policy.algo == "PPO"
    assert Path(p.policy.target).is_file()  # resolved against the protocol's folder
    assert p.env.attributes == {"length": 0.1} and not p.deterministic
    assert len(p.hash) == 64


def test_hash_ignores_order_comments_and_policy(tmp_path: Path) -> None:
    a = load_protocol(_write(tmp_path, BASE, "a.toml"))
    b = load_protocol(_write(tmp_path, REORDERED, "b.toml"))
    assert a.hash == b.hash
    assert a.policy != b.policy  # the measured policy is not part of the ruler


@pytest.mark.parametrize("old,new", [
    ("deterministic = false", "deterministic = true"),
    ("max_steps = 500", "max_steps = 200"),
    ("length = 0.1", "length = 0.2"),
    ("seeds = [100, 101]", "seeds = [100, 102]"),
    ("episodes_per_seed = 4", "episodes_per_seed = 5"),
])
def test_hash_changes_with_what_is_measured(tmp_path: Path, old: str, new: str) -> None:
    a = load_protocol(_write(tmp_path, BASE, "a.toml"))
    b = load_protocol(_write(tmp_path, BASE.replace(old, new, 1), "b.toml"))
    assert a.hash != b.hash


@pytest.mark.parametrize("old,new,field", [
    ("max_steps = 500\n", "", "env.max_steps"),
    ("episodes_per_seed = 4", "episodes_per_sed = 4", "eval.episodes_per_sed"),
    ("seeds = [0, 1, 2]", "seeds = [0, 'one', 2]", "eval.seeds[1]"),
    ("seeds = [0, 1, 2]", "seeds = [0, 1, 1]", "eval.seeds"),
    ("deterministic = false", "deterministic = 0", "eval.deterministic"),
    ("[splits.private]", "[splits.secret]", "splits.secret"),
    ('path = "model.zip"', 'path = "model.pkl"', "policy.path"),
    ('id = "CartPole-v1"', 'id = "CartPole-v1"\nfactory = "m:f"', "env.id"),
    ("kwargs = {}", "kwargs = { max_episode_steps = 9 }", "env.kwargs.max_episode_steps"),
])
def test_bad_fields_name_file_and_field_on_one_line(tmp_path: Path, old: str, new: str,
                                                    field: str) -> None:
    path = _write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(RlvetInputError) as info:
        load_protocol(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {field}:") and "\n" not in message


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RlvetInputError, match=r"p\.toml: not valid TOML"):
        load_protocol(_write(tmp_path, "[env\nid = 1"))
    with pytest.raises(RlvetInputError, match="file not found"):
        load_protocol(tmp_path / "absent.toml")
    with pytest.raises(RlvetInputError, match="eval.episodes_per_sed: unknown field"):
        load_protocol(DATA / "bad_protocol.toml")


def test_unknown_split_is_named(tmp_path: Path) -> None:
    p = load_protocol(_write(tmp_path, BASE))
    with pytest.raises(RlvetInputError, match="'public' is not defined; defined: private, dev"):
        p.split("public")


def test_policy_spec_forms() -> None:
    assert parse_policy_spec("runs/a/checkpoints/best.pt").kind == "rlvet"
    sb3 = parse_policy_spec("model.zip")
    assert (sb3.kind, sb3.algo) == ("sb3", "PPO")
    a2c = parse_policy_spec("a2c:dir/model.zip")
    assert (a2c.kind, a2c.algo, a2c.target) == ("sb3", "A2C", "dir/model.zip")
    call = parse_policy_spec("pkg.mod:policy")
    assert (call.kind, call.target, call.batched) == ("callable", "pkg.mod:policy", False)
    with pytest.raises(RlvetInputError, match="--policy"):
        parse_policy_spec("model.onnx")
