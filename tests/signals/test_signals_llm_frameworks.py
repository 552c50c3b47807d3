"""LLM post-training frameworks' logs: verl (file, console, TensorBoard), OpenRLHF, TRL,
slime, SkyRL, AReaL, prime-rl names, W&B CSV exports.

verl and OpenRLHF files in tests/data/llm_frameworks were written by the frameworks' own
logging code (tests/data/make_llm_framework_logs.py); the TRL runs by TRL itself
(make_trl_runs.py). slime, SkyRL, AReaL and prime-rl log only to W&B/TensorBoard from a
GPU cluster: their key sets below are copied from their sources (see aliases.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rlvet.cli import main
from rlvet.doctor.family import Family, infer_family
from rlvet.signals import names as n
from rlvet.signals.discover import detect_format, read_run, read_run_report
from rlvet.signals.jsonl_writer import JsonlWriter
from rlvet.signals.llm_logs import parse_verl_console_line

DATA = Path(__file__).resolve().parents[1] / "data"
LLM = DATA / "llm_frameworks"
VERL_NAMES = {n.KL, n.CLIP_FRACTION, n.ENTROPY, n.POLICY_LOSS, n.GRAD_NORM, n.KL_REF,
              n.LEARNING_RATE, n.REWARD, n.RESPONSE_LENGTH, n.RESPONSE_LENGTH_MAX,
              n.TRUNCATED_FRACTION}


@pytest.mark.parametrize(("name", "fmt"), [("grpo.jsonl", "verl_jsonl"),
                                           ("console.log", "verl_console")])
def test_verl_files_from_verls_own_writer(name: str, fmt: str) -> None:
    path = LLM / "verl_healthy" / name
    assert detect_format(path) == fmt
    run = read_run(path)
    assert VERL_NAMES <= set(run.names())
    assert run.raw_names[n.KL] == "actor/ppo_kl" and run.raw_names[n.KL_REF] == "actor/kl_loss"
    assert infer_family(run) is Family.LLM
    assert len(run.get(n.KL)) == 60


def test_verl_file_console_and_tensorboard_agree() -> None:
    runs = [read_run(LLM / "verl_blowup" / p) for p in ("grpo.jsonl", "console.log")]
    tb = next((LLM / "verl_blowup" / "tb").iterdir())
    runs.append(read_run(tb))
    for key in (n.KL, n.ENTROPY, n.REWARD, n.TRUNCATED_FRACTION):
        a, b, c = (r.get(key).values for r in runs)
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-7)  # TensorBoard stores float32


def test_verl_directory_reads_the_file_logger_first() -> None:
    _, report = read_run_report(LLM / "verl_blowup")
    assert report.sources[n.KL] == "verl_jsonl:actor/ppo_kl"


def test_verl_console_line_forms() -> None:
    assert parse_verl_console_line("step:3 - a/b:0.5 - c:np.float64(0.25) - d:nan\n")[1] == \
        pytest.approx({"a/b": 0.5, "c": 0.25, "d": float("nan")}, nan_ok=True)
    step, rec = parse_verl_console_line("(TaskRunner pid=42) step:7 - actor/ppo_kl:1e-05")
    assert step == 7 and rec == {"actor/ppo_kl": 1e-05}
    assert parse_verl_console_line("Training Progress: 10%|#  | 3/30 [step:3]") is None


def test_verl_blowup_fails_and_healthy_passes() -> None:
    """The issue's report: a verl log with a planted blow-up got PASS, exit 0."""
    assert main(["doctor", str(LLM / "verl_blowup"), "--json"]) == 1
    assert main(["doctor", str(LLM / "verl_healthy"), "--json"]) == 0
    assert main(["doctor", str(LLM / "openrlhf_healthy"), "--json"]) == 0


def test_openrlhf_tensorboard_from_its_own_logger() -> None:
    run = read_run(LLM / "openrlhf_healthy")
    assert run.raw_names[n.ENTROPY] == "train/entropy_loss"
    assert float(np.min(run.get(n.ENTROPY).values)) > 0  # +entropy: not SB3's sign flip
    assert run.raw_names[n.KL] == "train/ppo_kl" and run.raw_names[n.KL_REF] == "train/kl"
    assert {n.REWARD, n.RESPONSE_LENGTH, n.TRUNCATED_FRACTION, n.REWARD_STD,
            n.GRAD_NORM} <= set(run.names())
    assert infer_family(run) is Family.LLM


def test_trl_grpo_complete_key_set_from_trl() -> None:
    run = read_run(DATA / "trl_runs" / "sane" / "run" / "trainer_state.json")
    assert run.raw_names[n.KL_REF] == "kl"  # TRL's kl is KL to the reference model
    assert n.KL not in run.series
    assert run.raw_names[n.TRUNCATED_FRACTION] == "completions/clipped_ratio"
    assert run.raw_names[n.RESPONSE_LENGTH_MAX] == "completions/max_length"
    assert {"reward/starts_with_target", "reward_std/starts_with_target", n.ENTROPY,
            n.CLIP_FRACTION, n.ZERO_STD_FRACTION} <= set(run.names())


def _write(path: Path, rows: list[dict[str, float]]) -> Path:
    with JsonlWriter(path) as log:
        for step, row in enumerate(rows, 1):
            log.write(step, row)
    return path


# (framework, logged names -> canonical), names as their sources log them
KEY_SETS = {
    "slime": {"train/ppo_kl": n.KL, "train/pg_clipfrac": n.CLIP_FRACTION,
              "train/entropy_loss": n.ENTROPY, "train/kl_loss": n.KL_REF,
              "train/train_rollout_logprob_abs_diff": n.LOGPROB_DIFF,
              "train/grad_norm": n.GRAD_NORM, "rollout/raw_reward": n.REWARD,
              "rollout/response_len/mean": n.RESPONSE_LENGTH,
              "rollout/truncated_ratio": n.TRUNCATED_FRACTION},
    "skyrl": {"policy/policy_entropy": n.ENTROPY, "policy/policy_loss": n.POLICY_LOSS,
              "reward/avg_raw_reward": n.REWARD, "async/staleness_mean": n.POLICY_LAG,
              "async/staleness_max": n.POLICY_LAG_MAX,
              "async/num_groups_dropped": n.DROPPED_STALE, "loss/avg_kl": n.KL_REF,
              "policy/rollout_train_logprobs_abs_diff_mean": n.LOGPROB_DIFF,
              "generate/avg_num_tokens": n.RESPONSE_LENGTH},
    "areal": {"ppo_actor/update/approx_kl/avg": n.KL,
              "ppo_actor/update/clip_ratio/avg": n.CLIP_FRACTION,
              "ppo_actor/update/entropy/avg": n.ENTROPY,
              "ppo_actor/update/behave_imp_weight/avg": n.IMPORTANCE_WEIGHT,
              "ppo_actor/task_reward/avg": n.REWARD,
              "ppo_actor/no_eos_ratios/avg": n.TRUNCATED_FRACTION},
    "prime_rl": {"off_policy/mean": n.POLICY_LAG, "off_policy/max": n.POLICY_LAG_MAX,
                 "off_policy/dropped": n.DROPPED_STALE, "mismatch_kl/all/mean": n.MISMATCH_KL,
                 "entropy/all/mean": n.ENTROPY, "optim/grad_norm": n.GRAD_NORM,
                 "loss/nan_count": n.NAN_COUNT, "train/agg/reward/mean": n.REWARD,
                 "train/agg/is_truncated/mean": n.TRUNCATED_FRACTION,
                 "train/agg/solved_none": n.ZERO_STD_FAILED,
                 "train/agg/solved_all": n.ZERO_STD_SOLVED},
}


@pytest.mark.parametrize("framework", sorted(KEY_SETS))
def test_async_framework_key_sets(tmp_path: Path, framework: str) -> None:
    keys = KEY_SETS[framework]
    run = read_run(_write(tmp_path / "m.jsonl",
                          [{k: 0.5 + 0.01 * i for k in keys} for i in range(5)]))
    assert {run.raw_names[canonical]: canonical for canonical in keys.values()} == keys
    assert infer_family(run) is Family.LLM
    if framework == "slime":
        assert float(run.get(n.ENTROPY).values[0]) > 0  # slime's entropy_loss is +entropy


def test_sb3_entropy_loss_still_negated(tmp_path: Path) -> None:
    run = read_run(_write(tmp_path / "m.jsonl", [{"train/entropy_loss": -0.6}] * 3))
    assert run.get(n.ENTROPY).values[0] == pytest.approx(0.6)


def test_wandb_history_export(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text("_step,_runtime,_timestamp,actor/ppo_kl,critic/score/mean\n"
                    "1,3.2,1700000000.1,0.01,0.2\n2,6.1,1700000003.0,,0.3\n"
                    "3,9.0,1700000006.0,0.02,0.4\n")
    assert detect_format(path) == "wandb_csv"
    run = read_run(path)
    assert sorted(run.names()) == [n.KL, n.REWARD]
    assert run.get(n.KL).steps.tolist() == [1, 3]


def test_wandb_panel_export(tmp_path: Path) -> None:
    path = tmp_path / "wandb_export_2026-12-01.csv"
    path.write_text('"Step","grpo-7b - actor/ppo_kl","grpo-7b - actor/ppo_kl__MIN",'
                    '"grpo-7b - actor/ppo_kl__MAX"\n10,0.01,0.0,0.02\n20,0.03,0.01,0.05\n')
    run = read_run(tmp_path)
    assert run.names() == [n.KL] and run.get(n.KL).values.tolist() == [0.01, 0.03]
