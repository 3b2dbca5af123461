"""How the benchmarks time a call: its queued device work included, the median of repeated calls.

A CUDA call returns once its kernels are queued, so a timing that stops at the return measures the
launches, not the work: every timing here waits for the device before it starts and before it stops.
The clock is wall time by default; ``time.process_time`` (this process's CPU time, all threads)
is steadier on a shared machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

Clock = Callable[[], float]


def synchronize(device: torch.device | str) -> None:
    """Wait for ``device``'s queued work (nothing to wait for on a CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds(call: Callable[[], object], device: torch.device | str = "cpu", clock: Clock = time.perf_counter) -> float:
    """Seconds one ``call`` takes, from an idle device to the end of the work it queued."""
    synchronize(device)
    start = clock()
    call()
    synchronize(device)
    return clock() - start


def median_seconds(call: Callable[[], object], repeats: int, device: torch.device | str = "cpu",
                   clock: Clock = time.perf_counter, warmup: int = 1) -> float:
    """Median of :func:`seconds` over ``repeats`` calls, after ``warmup`` untimed calls (weights read,
    kernels chosen, caches filled)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    for _ in range(warmup):
        call()
    synchronize(device)
    return statistics.median(seconds(call, device, clock) for _ in range(repeats))
