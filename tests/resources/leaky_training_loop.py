"""A small torch training loop run as its own process, as a training job is; with
``--leak`` it keeps one 1 MiB tensor per iteration, the classic growing-list leak.

Prints one JSON line: the first iteration at which the doctor reported memory_growth
(null if never) and the process RSS at the end. test_resource_signals.py runs it in a
fresh interpreter, as a training job runs, and also inside the test session, where pages
freed by earlier tests absorb the leak without raising RSS and only the heap signal sees it.
"""

from __future__ import annotations

import argparse
import json

import torch

from rlvet.doctor.diagnose import diagnose
from rlvet.monitor import Monitor
from rlvet.resources.sampler import memory_sample

LEAK_MIB = 1.0


def run_loop(jsonl: str, iterations: int, leak: bool) -> int | None:
    """Train for ``iterations``; the first iteration with memory_growth, or None."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.Tanh(), torch.nn.Linear(256, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    kept = []
    with Monitor(jsonl) as mon:
        for it in range(iterations):
            x = torch.randn(512, 64)
            with mon.phase("learner"):
                loss = (net(x) - x[:, :1]).pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            if leak:
                kept.append(torch.randn(int(LEAK_MIB * 2**20 / 4)))
            mon.log(it, loss=loss.item())
            if it >= 10 and it % 5 == 0:
                if "memory_growth" in {str(f.category) for f in diagnose(mon.signals()).findings}:
                    return it
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("jsonl")
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--leak", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    found_at = run_loop(args.jsonl, args.iterations, args.leak)
    print(json.dumps({"found_at": found_at, "rss_mib": memory_sample()["rss_mib"]}))


if __name__ == "__main__":
    main()
