"""``rlvet watch`` on real processes: a job writing verl's JSONL while watch follows it.

The job replays the records verl's own file logger wrote for a tiny GRPO run
(tests/data/llm_frameworks, make_llm_framework_logs.py) at a fixed logging interval, as a
running trainer would, and obeys a stop file or a signal.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from rlvet.cli import main
from rlvet.doctor.live import LivePolicy
from rlvet.findings import Category
from rlvet.watch import Follower, WatchConfig, WatchEvent, watch

LLM = Path(__file__).resolve().parent / "data" / "llm_frameworks"
INTERVAL_S = 0.1
FAST = LivePolicy(budget=1.0)  # verdicts may cost as much as the loop (tests log fast)

JOB = r"""
import json, signal, sys, time
from pathlib import Path
source, out, stop, done = (Path(p) for p in sys.argv[1:5])
interval = float(sys.argv[5])
last = 0
def bye(*_):
    done.write_text(str(last)); sys.exit(0)
signal.signal(signal.SIGTERM, bye)
with open(out, "w") as f:
    for line in source.read_text().splitlines():
        if stop.exists():
            break
        f.write(line + "\n"); f.flush()
        last = json.loads(line)["step"]
        time.sleep(interval)
done.write_text(str(last))
"""


def _job(tmp_path: Path, run: str) -> tuple[subprocess.Popen, Path, Path, Path]:
    out, stop, done = tmp_path / "run" / "grpo.jsonl", tmp_path / "STOP", tmp_path / "done"
    out.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", JOB, str(LLM / run / "grpo.jsonl"), str(out),
                             str(stop), str(done), str(INTERVAL_S)])
    return proc, out, stop, done


def _events() -> tuple[list[WatchEvent], object]:
    events: list[WatchEvent] = []
    return events, events.append


def test_watch_stops_a_running_job_by_stop_file(tmp_path: Path) -> None:
    proc, out, stop, done = _job(tmp_path, "verl_blowup")
    events, sink = _events()
    outcome = watch(WatchConfig(paths=(out.parent,), poll_s=0.02, idle_s=1.5, stop_file=stop,
                                policy=FAST), sink)
    proc.wait(timeout=20)
    assert outcome.acted_on is not None and outcome.acted_on.category in {
        Category.ENTROPY_COLLAPSE, Category.KL_SPIKE}
    acted_step = next(e.step for e in events if e.kind == "action")
    assert int(done.read_text()) - acted_step <= 2  # within two logging intervals
    assert int(done.read_text()) < 60  # stopped early, not run to the end
    assert json.loads(stop.read_text())["finding"]["category"] == str(outcome.acted_on.category)
    assert outcome.result.verdict == "fail"


def test_watch_signals_a_pid_and_posts_a_webhook(tmp_path: Path) -> None:
    got: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proc, out, _, done = _job(tmp_path, "verl_blowup")
    try:
        outcome = watch(WatchConfig(paths=(out,), poll_s=0.02, idle_s=1.5, pid=proc.pid,
                                    webhook=f"http://127.0.0.1:{server.server_port}/",
                                    policy=FAST), _events()[1])
        proc.wait(timeout=20)
    finally:
        server.shutdown()
    assert any("SIGTERM" in a for a in outcome.actions)
    assert int(done.read_text()) < 60
    assert got and got[0]["finding"]["category"] == str(outcome.acted_on.category)


@pytest.mark.slow
def test_watch_never_stops_a_healthy_job(tmp_path: Path) -> None:
    proc, out, stop, done = _job(tmp_path, "verl_healthy")
    outcome = watch(WatchConfig(paths=(out.parent,), poll_s=0.02, idle_s=1.5, stop_file=stop,
                                policy=FAST), _events()[1])
    proc.wait(timeout=30)
    assert outcome.acted_on is None and not stop.exists()
    assert int(done.read_text()) == 60 and outcome.result.verdict != "fail"


def test_follower_waits_for_a_torn_line_and_finds_new_files(tmp_path: Path) -> None:
    follower = Follower([tmp_path])
    assert follower.discover() == []
    log = tmp_path / "m.jsonl"
    log.write_text('{"step": 1, "kl": 0.01}\n{"step": 2, "k')
    follower.discover()
    records, changed = follower.poll()
    assert changed and records == [(1, {"kl": 0.01})]
    with open(log, "a") as f:
        f.write('l": 0.02}\n')
    assert follower.poll()[0] == [(2, {"kl": 0.02})]
    (tmp_path / "later.jsonl").write_text('{"step": 3, "entropy": 1.0}\n')
    assert len(follower.discover()) == 1 and follower.poll()[0] == [(3, {"entropy": 1.0})]


def test_watch_cli_on_finished_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", str(LLM / "verl_healthy" / "grpo.jsonl"), "--idle", "0.2",
                 "--poll", "0.02", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["command"] == "watch"
    assert main(["watch", str(tmp_path / "nothing"), "--idle", "0.1"]) == 2
    assert main(["watch", str(tmp_path), "--signal", "SIGKILL", "--idle", "0.1"]) == 2


def test_damaged_lines_are_reader_warnings_in_the_result(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "m.jsonl"
    log.write_text('{"step": 1, "kl": 0.01}\nnot json\n{"step": 2, "kl": 0.02}\n')
    follower = Follower([tmp_path])
    follower.discover()
    assert [s for s, _ in follower.poll()[0]] == [1, 2]
    assert follower.warnings and str(log) in follower.warnings[0]
    assert main(["watch", str(log), "--idle", "0.2", "--poll", "0.02", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["metrics"]["reader_warnings"] == list(follower.warnings)
    main(["watch", str(log), "--idle", "0.2", "--poll", "0.02"])
    assert "read warning" in capsys.readouterr().out  # the terminal shows them too


def _renamed_sb3_log(tmp_path: Path) -> Path:
    """SB3's own progress.csv of a run whose lr is too high, with its KL column renamed to a
    name rlvet does not know (as a custom trainer would log it)."""
    src = Path(__file__).resolve().parent / "data" / "runs" / "lr_too_high_ppo" / "progress.csv"
    header, rest = src.read_text().split("\n", 1)
    log = tmp_path / "run" / "progress.csv"
    log.parent.mkdir()
    log.write_text(header.replace("train/approx_kl", "custom/kl_per_update") + "\n" + rest)
    return log


def _watched_categories(capsys: pytest.CaptureFixture[str], *args: str) -> set[str]:
    assert main(["watch", *args, "--idle", "0.2", "--poll", "0.02", "--json"]) in (0, 1)
    return {f["category"] for f in json.loads(capsys.readouterr().out)["findings"]}


def test_watch_reads_unknown_names_through_aliases(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _renamed_sb3_log(tmp_path)
    assert "kl_spike" not in _watched_categories(capsys, str(log))
    assert "kl_spike" in _watched_categories(capsys, str(log), "--alias",
                                             "custom/kl_per_update=kl")
    project = tmp_path / "rlvet.toml"
    project.write_text('[aliases]\n"custom/kl_per_update" = "kl"\n')
    assert "kl_spike" in _watched_categories(capsys, str(log), "--config", str(project))
