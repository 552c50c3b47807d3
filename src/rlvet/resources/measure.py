"""Peak tensor memory of a piece of PyTorch code, on the GPU or on the CPU.

Contents:
    peak_tensor_bytes(fn, device) -- the peak of bytes held by PyTorch's allocator while
        ``fn`` runs, counted from zero at the call.

Why two ways: on CUDA, ``torch.cuda.max_memory_allocated`` is the allocator's own counter.
The CPU allocator keeps no such counter and peak RSS mixes in the interpreter, libraries
and glibc's retained heap, so on the CPU the allocator's allocation and free events are
recorded with ``torch.profiler`` (``profile_memory=True``) and summed in time order: the
same quantity, tensor bytes in use, without the process around them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["peak_tensor_bytes"]


def _cuda_peak(fn: Callable[[], Any], device: Any) -> tuple[Any, float]:
    import torch

    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    out = fn()
    torch.cuda.synchronize(device)
    return out, float(torch.cuda.max_memory_allocated(device) - before)


def _cpu_peak(fn: Callable[[], Any]) -> tuple[Any, float]:
    import numpy as np
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = fn()
    events: list[tuple[int, int]] = []
    stack = list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        ev = stack.pop()
        if ev.tag == _EventType.Allocation and ev.extra_fields.device.type == "cpu":
            events.append((ev.start_time_ns, ev.extra_fields.alloc_size))
        stack.extend(ev.children)
    if not events:
        return out, 0.0
    events.sort()
    running = np.cumsum(np.array([size for _, size in events], dtype=np.int64))
    return out, float(max(int(running.max()), 0))


def peak_tensor_bytes(fn: Callable[[], Any], device: str = "cpu") -> tuple[Any, float]:
    """Run ``fn()``; return its result and the peak tensor bytes it allocated on ``device``.

    Memory allocated before the call (and still held) is not counted: build everything the
    measurement should include inside ``fn``.
    """
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return _cuda_peak(fn, dev)
    return _cpu_peak(fn)
