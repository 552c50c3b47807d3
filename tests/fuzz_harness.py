"""The input contract and the mutations that attack it (the fuzz suite and its benchmark).

Contents:
    Outcome, run_cli(argv) -- one in-process ``rlvet`` call: exit code, stdout, stderr, time.
    contract_violation(outcome, before) -- None, or what broke the contract.
    sha256s(paths) -- the inputs' digests, taken before the call.
    MUTATIONS, mutate(data, rng) -- byte-level damage to a valid file (flips, truncation,
        junk, extreme numbers, deep nesting, many keys, other encodings, NUL bytes).
    random_json(rng), random_scalar(rng) -- JSON values with the awkward corners.
    toml_document(table, rng) -- a TOML file whose fields take random types and extremes.
    SEED_FILES, make_run_dir(root, kind, data) -- valid inputs to start from.
    BAD_OPTIONS -- every command's numeric options with values that must be refused.
    TARGETS, run_case(target, rng) -- one seeded case per call: every reader (samples,
        metrics JSONL, SB3 CSV, TensorBoard, trainer_state, protocol, plan, report
        directory) and the options.

The contract (ARCHITECTURE.md section 2 and 8): whatever the input, ``rlvet`` exits 0, 1 or
2; exit 2 comes with exactly one line on stderr, ``rlvet: ...``; no traceback ever; no input
file changes (its sha256 is the same after the call).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import random
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvet.cli import main

DATA = Path(__file__).parent / "data"
SEED_FILES: Mapping[str, Path] = {
    "samples": DATA / "reward" / "clean_math.jsonl",
    "progress_csv": DATA / "readers" / "sb3_ppo_cartpole" / "progress.csv",
    "tfevents": (DATA / "readers" / "cleanrl_ppo_cartpole"
                 / "events.out.tfevents.1795419379.vm.7897.1"),
    "trainer_state": DATA / "readers" / "hf_grpo" / "trainer_state.json",
    "protocol": DATA / "eval" / "cartpole.toml",
    "sweep": DATA / "eval" / "sweep_cartpole.toml",
}
"""Valid files each reader accepts; mutations start from these."""

_RUN_FILE_NAMES = {"metrics": "metrics.jsonl", "progress_csv": "progress.csv",
                   "tfevents": "events.out.tfevents.1795419379.vm.7897.1",
                   "trainer_state": "trainer_state.json"}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One CLI call."""

    argv: tuple[str, ...]
    code: int | str
    stdout: str
    stderr: str
    seconds: float


def run_cli(argv: Iterable[str]) -> Outcome:
    """Run ``rlvet ARGV`` in this process; an exception escaping ``main`` is recorded as the
    code (a contract violation), never raised."""
    argv = tuple(str(a) for a in argv)
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code: int | str = main(list(argv))
    except BaseException as exc:  # noqa: BLE001 - the contract says nothing escapes
        code = f"raised {type(exc).__name__}: {str(exc)[:200]}"
    return Outcome(argv, code, out.getvalue(), err.getvalue(), time.perf_counter() - start)


def sha256s(paths: Iterable[Path]) -> dict[Path, str]:
    """Digest of every regular file under ``paths`` (files or directories)."""
    out: dict[Path, str] = {}
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            out[f] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def contract_violation(outcome: Outcome, before: Mapping[Path, str], *,
                       expect_code: int | None = None) -> str | None:
    """What broke the contract in ``outcome``, or None."""
    if not isinstance(outcome.code, int) or outcome.code not in (0, 1, 2):
        return f"exit {outcome.code!r}"
    if "Traceback" in outcome.stderr or "Traceback" in outcome.stdout:
        return "traceback: " + outcome.stderr[-300:]
    if expect_code is not None and outcome.code != expect_code:
        return f"exit {outcome.code}, expected {expect_code}; stderr {outcome.stderr[-200:]!r}"
    if outcome.code == 2:
        lines = outcome.stderr.strip("\n").split("\n")
        if len(lines) != 1 or not lines[0].startswith("rlvet: "):
            return f"exit 2 without exactly one 'rlvet: ' line: {outcome.stderr[-300:]!r}"
    for path, digest in before.items():
        now = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "gone"
        if now != digest:
            return f"input changed: {path}"
    return None


# --- values ----------------------------------------------------------------------------

_EXTREME_NUMBERS = ("0", "-0", "-1", "1e308", "-1e308", "1e400", "-1e30", "1e-320", "NaN",
                    "Infinity", "-Infinity", "9223372036854775808", "-9223372036854775809",
                    "1" + "0" * 400, "0.1", "1e20", "3.0")


def random_scalar(rng: random.Random) -> Any:
    """A JSON scalar from the awkward corners: extremes, NaN, huge ints, odd strings."""
    kind = rng.randrange(7)
    if kind == 0:
        return json.loads(rng.choice(_EXTREME_NUMBERS))
    if kind == 1:
        return rng.choice([True, False, None])
    if kind == 2:
        return rng.choice(["", "nan", "inf", "$x^{$", "<script>", "\x00", "é", "\ud800"[:0],
                           "[bold]", "a" * rng.choice([1, 100, 10_000])])
    if kind == 3:
        return rng.randint(-(2**70), 2**70)
    if kind == 4:
        return rng.uniform(-1e6, 1e6)
    if kind == 5:
        return rng.choice([[], {}, [1, 2], {"a": 1}])
    return rng.random()


def random_json(rng: random.Random, depth: int = 3) -> Any:
    """A JSON value: scalars, lists and objects nested up to ``depth``."""
    if depth <= 0 or rng.random() < 0.5:
        return random_scalar(rng)
    if rng.random() < 0.5:
        return [random_json(rng, depth - 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["step", "reward", "id", "kl", "x", "loss", "response"]):
            random_json(rng, depth - 1) for _ in range(rng.randrange(5))}


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


# --- byte mutations --------------------------------------------------------------------

def _flip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return b"\xff"
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    return bytes(buf)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _junk(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return data[:at] + junk + data[at:]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _replace_line(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    lines[rng.randrange(len(lines))] = _dumps(random_json(rng)).encode()
    return b"\n".join(lines)


def _poison_value(data: bytes, rng: random.Random) -> bytes:
    """A JSON line with one field set to an extreme value (step -1e30, reward 1e308...)."""
    lines = _lines(data)
    i = rng.randrange(len(lines))
    try:
        record = json.loads(lines[i])
    except ValueError:
        return _replace_line(data, rng)
    if not isinstance(record, dict) or not record:
        return _replace_line(data, rng)
    record[rng.choice(list(record))] = random_scalar(rng)
    lines[i] = _dumps(record).encode()
    return b"\n".join(lines)


def _deep(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice([1_000, 100_000])
    line = b'{"step": 1, "reward": 1.0, "id": "d", "x": ' + b"[" * depth + b"]" * depth + b"}"
    lines = _lines(data)
    lines.insert(rng.randrange(len(lines) + 1), line)
    return b"\n".join(lines)


def _wide(data: bytes, rng: random.Random) -> bytes:
    keys = rng.choice([1_000, 50_000])
    record = {"step": 1, "reward": 1.0, "id": "w", **{f"k{i}": 1.0 for i in range(keys)}}
    return data + b"\n" + _dumps(record).encode() + b"\n"


def _encoding(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", "replace")
    return rng.choice([text.encode("utf-16"), text.encode("utf-32"), b"\xef\xbb\xbf" + data,
                       text.encode("latin-1", "replace")])


def _nul(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + b"\x00" * rng.randint(1, 4096) + data[at:]


def _empty(data: bytes, rng: random.Random) -> bytes:
    return rng.choice([b"", b"\n", b"   \n\n", b"{}", b"[]", b"null"])


MUTATIONS: Mapping[str, Callable[[bytes, random.Random], bytes]] = {
    "flip": _flip, "truncate": _truncate, "junk": _junk, "replace_line": _replace_line,
    "poison_value": _poison_value, "deep": _deep, "wide": _wide, "encoding": _encoding,
    "nul": _nul, "empty": _empty,
}


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One named mutation of ``data``."""
    name = rng.choice(sorted(MUTATIONS))
    return name, MUTATIONS[name](data, rng)


# --- TOML ------------------------------------------------------------------------------

def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}"
                               for k, v in value.items()) + "}"
    return '""'


def _toml_scalar(rng: random.Random) -> Any:
    value = random_scalar(rng)
    if value is None:
        return rng.choice([0, -1, 10**12, float("inf"), float("nan"), "x", [], {}])
    if isinstance(value, list):
        return [random_scalar(rng) for _ in range(rng.randrange(3))]
    if isinstance(value, dict) or value == "":
        return {"a": rng.choice([1, "b", 1.5])}
    if isinstance(value, str) and "\x00" in value:
        return "nul"
    if isinstance(value, int) and abs(value) >= 2**63:  # TOML integers are 64-bit
        return 1e300 if value > 0 else -1e300
    return value


def toml_document(tables: Mapping[str, Mapping[str, Any]], rng: random.Random,
                  *, p_change: float = 0.3) -> str:
    """``tables`` (name -> fields; "" is the top level) as TOML, each field replaced by a
    random value with probability ``p_change``."""
    out: list[str] = []
    for name, fields in tables.items():
        if name:
            out.append(f"[{name}]")
        for key, value in fields.items():
            if rng.random() < p_change:
                value = _toml_scalar(rng)
            out.append(f"{key} = {_toml_value(value)}")
    return "\n".join(out) + "\n"


PROTOCOL_TABLES: Mapping[str, Mapping[str, Any]] = {
    "env": {"id": "CartPole-v1", "max_steps": 50, "attributes": {"length": 0.5}},
    "eval": {"seeds": [0, 1], "episodes_per_seed": 2, "deterministic": True,
             "unit": "seed", "optimal_return": 500.0, "bootstrap_reps": 200,
             "confidence": 0.95, "bootstrap_seed": 0},
    "policy": {"path": "no_such_policy.zip", "algo": "PPO"},
    "deploy": {"latency_budget_ms": 50.0, "latency_calls": 20},
}
"""A protocol whose policy file is missing: a valid variant stops there (exit 2), fast."""

SWEEP_TABLES: Mapping[str, Mapping[str, Any]] = {
    "sweep": {"relative_drop_bound": 0.2, "seeds": [0], "episodes_per_seed": 1},
    "attributes": {"length": [0.25, 2.0]},
    "noise": {"obs_noise_std": [0.2], "action_delay": [2]},
}

PLAN_TABLES: Mapping[str, Mapping[str, Any]] = {
    "hardware": {"gpu_memory_gib": 80, "gpus": 8},
    "training": {"optimizer": "adamw", "sharding": "zero2", "micro_batch": 4,
                 "sequence_length": 1024, "gradient_checkpointing": False},
    "generation": {"batch": 64, "prompt_length": 512, "max_new_tokens": 512,
                   "rollout_batch": 512},
}
PLAN_MODEL = ('[[models]]\nrole = "actor"\narch = "llama"\nhidden_size = 4096\nlayers = 32\n'
              'heads = 32\nkv_heads = 8\nvocab_size = 32000\ndtype = "bf16"\n')

DEPLOYMENT_TABLES: Mapping[str, Mapping[str, Any]] = {
    "": {"business_metric": "balancing time", "business_mapping": "return / 500",
         "latency_budget_ms": 50.0, "retraining_trigger": "return drops 10%"},
}


# --- run directories -------------------------------------------------------------------

def metrics_jsonl(n: int = 40) -> bytes:
    """A small healthy rlvet metrics log."""
    rows = [{"step": 1000 * i, "reward": 10.0 + i, "kl": 0.01, "entropy": 0.6 - 0.005 * i,
             "clip_fraction": 0.1, "value_loss": 1.0 / (i + 1), "eval_return": 9.0 + i}
            for i in range(n)]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def seed_bytes(kind: str) -> bytes:
    """The valid starting bytes of one input kind."""
    if kind == "metrics":
        return metrics_jsonl()
    data = SEED_FILES[kind].read_bytes()
    if kind == "samples":  # 24 samples keep an audit under 0.1 s
        data = b"".join(data.splitlines(keepends=True)[:24])
    return data


def make_run_dir(root: Path, kind: str, data: bytes) -> Path:
    """A run directory holding one log file of ``kind`` with contents ``data``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / _RUN_FILE_NAMES[kind]).write_bytes(data)
    return root


def result_document(rng: random.Random) -> dict[str, Any]:
    """An rlvet ``--json`` result with random damage in its fields."""
    finding = {"check": "doctor.x", "category": "kl_spike", "stage": "training",
               "severity": "error", "message": "m", "evidence": {"kl": 0.3}, "step": 10,
               "remedy": "lower lr"}
    doc: dict[str, Any] = {"rlvet": "0.1.0", "command": rng.choice(["train", "eval", "doctor",
                                                                       "env", "reward"]),
                           "target": "t", "verdict": "fail", "first_break": finding,
                           "findings": [finding], "metrics": {}}
    for _ in range(rng.randint(1, 3)):
        where = rng.choice([d for d in (doc, finding, doc["metrics"]) if isinstance(d, dict)])
        where[rng.choice(list(where) or ["x"])] = random_json(rng, 2)
    return doc


# --- options ---------------------------------------------------------------------------

BAD_OPTIONS: Mapping[str, tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]] = {
    "env": (("env", "CartPole-v1"), (
        ("--episodes", ("1", "-5", "1e20", "100000000000000000000", "x", "nan")),
        ("--seed", ("-1", "4294967296", "1.5", "x")),
        ("--env-kwargs", ("[1]", "{", '"x"', "null")),
    )),
    "train": (("train", "CartPole-v1"), (
        ("--total-steps", ("0", "-1", "10000000000000", "1e9", "x")),
        ("--actors", ("0", "100000", "x")),
        ("--envs-per-actor", ("0", "100000000", "1e8")),
        ("--max-lag", ("-1", "x")),
        ("--lr", ("nan", "inf", "-1", "0", "x")),
        ("--buckets", ("0", "1000000000", "1e9")),
        ("--seed", ("-1", "4294967296")),
        ("--eval-every", ("-1",)),
        ("--lag-mode", ("sideways",)),
        ("--on-break", ("panic",)),
        ("--backend", ("mpi",)),
        ("--chaos", ("crash=2", "crash=x", "boom=0.1", "crash=0.6,kill=0.6")),
        ("--randomize", ('{"length": [2, 1]}', '{"length": "x"}', "[]")),
        ("--real-env-kwargs", ("[]", "{")),
    )),
    "reward": (("reward", str(SEED_FILES["samples"])), (
        ("--seed", ("-1", "4294967296", "x")),
        ("--baseline", ("/no/such/file.jsonl",)),
    )),
    "eval": (("eval", str(SEED_FILES["protocol"])), (
        ("--split", ("nonexistent",)),
        ("--compare", ("/no/such/result.json",)),
        ("--sweep", ("/no/such/sweep.toml",)),
        ("--policy", ("/no/such/model.zip",)),
    )),
    "doctor": (("doctor", str(DATA / "runs" / "healthy_ppo_cartpole")), (
        ("--alias", ("=", "x=", "=reward")),
    )),
    "report": (("report",), (
        ("", ("/no/such/dir",)),
    )),
    "resources": (("resources", "plan"), (
        ("", ("/no/such/plan.toml",)),
    )),
}
"""Command -> (its argv prefix, (option, values that must be refused with exit 2))."""


# --- cases -----------------------------------------------------------------------------

Case = Callable[[random.Random, Path], tuple[str, list[str], list[Path]]]
"""rng, scratch folder -> (what the case is, argv, the input paths whose bytes must stay)."""


def _samples(rng: random.Random, tmp: Path) -> tuple[str, list[str], list[Path]]:
    name, data = mutate(seed_bytes("samples"), rng)
    path = tmp / "samples.jsonl"
    path.write_bytes(data)
    extra = rng.choice([[], ["--json"], ["--spot-check", str(tmp / "spot.jsonl")],
                        ["--baseline", str(path)]])
    return f"samples/{name}", ["reward", str(path), *extra], [path]


def _log(kind: str) -> Case:
    def case(rng: random.Random, tmp: Path) -> tuple[str, list[str], list[Path]]:
        name, data = mutate(seed_bytes(kind), rng)
        run = make_run_dir(tmp / "run", kind, data)
        return f"{kind}/{name}", ["doctor", str(run), "--json"], [run]
    return case


def _toml(kind: str, tables: dict, argv: Callable[[Path], list[str]], suffix: str = "") -> Case:
    def case(rng: random.Random, tmp: Path) -> tuple[str, list[str], list[Path]]:
        path = tmp / f"{kind}.toml"
        if rng.random() < 0.7:
            name, text = "fields", toml_document(tables, rng) + suffix
            path.write_text(text, encoding="utf-8")
        else:
            valid = toml_document(tables, rng, p_change=0.0) + suffix
            name, data = mutate(valid.encode(), rng)
            path.write_bytes(data)
        return f"{kind}/{name}", argv(path), [path]
    return case


def _report(rng: random.Random, tmp: Path) -> tuple[str, list[str], list[Path]]:
    run = make_run_dir(tmp / "run", "metrics", seed_bytes("metrics"))
    which = rng.choice(["result", "environment", "deployment", "trigger", "bytes"])
    if which == "result":
        (run / "train_result.json").write_text(json.dumps(result_document(rng)))
    elif which == "environment":
        record = {"kind": "rlvet.environment", "python": "3.11", "platform": "linux",
                  "key_packages": {"numpy": "2.0"}, "packages": {"numpy": "2.0"}}
        record[rng.choice(list(record))] = random_json(rng, 2)
        (run / "environment.json").write_text(json.dumps(record))
    elif which == "deployment":
        (run / "deployment.toml").write_text(toml_document(DEPLOYMENT_TABLES, rng))
    elif which == "trigger":
        trigger = {"kind": "rlvet.retraining_trigger", "metric": "eval_return",
                   "threshold": 400.0, "window": 3}
        trigger[rng.choice(list(trigger))] = random_json(rng, 2)
        (run / "retrain_trigger.json").write_text(json.dumps(trigger))
    else:
        name, data = mutate(json.dumps(result_document(rng)).encode(), rng)
        (run / "eval_result.json").write_bytes(data)
    extra = rng.choice([[], ["--json"]])
    return f"report/{which}", ["report", str(run), *extra], [run]


def _options(rng: random.Random, tmp: Path) -> tuple[str, list[str], list[Path]]:
    command = rng.choice(sorted(BAD_OPTIONS))
    prefix, options = BAD_OPTIONS[command]
    option, values = rng.choice(options)
    value = rng.choice(values)
    argv = [*prefix, value] if not option else [*prefix, option, value]
    return f"options/{command} {option}".rstrip(), argv, []


TARGETS: dict[str, Case] = {
    "samples": _samples,
    "metrics": _log("metrics"),
    "progress_csv": _log("progress_csv"),
    "tfevents": _log("tfevents"),
    "trainer_state": _log("trainer_state"),
    "protocol": _toml("protocol", PROTOCOL_TABLES, lambda p: ["eval", str(p), "--json"]),
    "plan": _toml("plan", PLAN_TABLES, lambda p: ["resources", "plan", str(p), "--json"],
                  suffix=PLAN_MODEL),
    "report": _report,
    "options": _options,
}
EXPECT_2 = frozenset({"options"})  # every generated option value is out of range


def run_case(target: str, rng: random.Random) -> tuple[str, str | None, Outcome]:
    """Build one case of ``target`` in a scratch folder, run it, judge it.

    Returns:
        What the case was, the contract violation (None when kept), and the outcome.
    """
    with tempfile.TemporaryDirectory() as tmp:
        what, argv, inputs = TARGETS[target](rng, Path(tmp))
        before = sha256s(inputs)
        outcome = run_cli(argv)
        problem = contract_violation(outcome, before,
                                     expect_code=2 if target in EXPECT_2 else None)
    return what, problem, outcome
