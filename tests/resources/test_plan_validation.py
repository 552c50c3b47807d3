"""The plan against measured peak tensor memory of real HF models (random weights)."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")

from rlvet.resources.measure import peak_tensor_bytes  # noqa: E402
from rlvet.resources.validate import CASES, validate  # noqa: E402

BAR = 0.15  # the bar: within 15% of the measured peak


def test_cpu_tracker_counts_tensor_bytes() -> None:
    import torch

    def run() -> None:
        a = torch.ones(1000, 1000)  # 4 MB held ...
        b = torch.ones(1000, 1000)  # ... 8 MB at the peak
        del a, b
        torch.ones(500, 1000)  # 2 MB after both are freed

    assert peak_tensor_bytes(run)[1] == pytest.approx(8e6, rel=0.001)


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    "gpt2 eager, adamw",
    "gpt2 sdpa, gradient checkpointing",
    "llama sdpa, lora r=16",
    "ppo: llama actor + critic + reference, generation",
])
def test_plan_is_within_bar_of_measured_peak(name: str) -> None:
    assert name in CASES
    (row,) = validate(names=[name])
    assert abs(row.error) <= BAR, (row.planned_bytes, row.measured_bytes)
