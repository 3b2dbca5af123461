"""Parameter count, training-step time and achieved GFLOP/s of the interpolator.

Forward = ``model(i0, i1, t)``; backward = L1 on the frame + ``backward()``; step = forward +
backward + Adam step. Batch 8 (the quick preset's batch) on the available device (CUDA if
present, else CPU with ``--threads`` threads); medians over ``--steps`` steps after two warm-up
steps.

Throughput: the floating-point operations of one step (forward + backward) are counted with
torch's FLOP counter (``torch.utils.flop_counter``: convolutions, matrix products and their
gradients; element-wise work such as activations, ``grid_sample`` and Adam is not counted, so the
figure is a lower bound of the work done). Achieved GFLOP/s = counted FLOPs / median step time,
shown beside this device's fp32 matrix-product peak measured in the same run (the best of several
square ``torch.mm`` calls), so the share of peak says how far the step is from the hardware's limit.
``--profile`` prints the operators that take the step's time (``torch.profiler``, self time).
Run:

    python benchmarks/bench_model.py [--widths 8 16 32] [--sizes 64 128] [--steps 10] [--threads 2]
                                     [--variants synthesis warp-blend] [--profile] [--compile] [--deterministic]
                                     [--malloc kept|default] [--json out.json]

``--malloc default`` times the steps with the C allocator's own thresholds instead of those
``vfibench run`` sets (:func:`vfibench.processes.keep_freed_memory`).
``--variants`` compares the interpolator with and without its synthesis stage. ``--compile`` also
times each step with the model compiled by ``torch.compile`` (inductor: fused C++ kernels on a
CPU), the compilation itself reported apart as the warm-up (the first two steps: a minute or more
on a cold cache, seconds once torch's cache holds the kernels).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from dataclasses import asdict, dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from vfibench.model.interpolator import build_interpolator, count_parameters
from vfibench.model.variants import DEFAULT_VARIANT, MODEL_VARIANTS
from vfibench.processes import keep_freed_memory
from vfibench.train import reproducible_kernels

from _timing import seconds, synchronize


@dataclass(frozen=True)
class Timing:
    """Median milliseconds per batch."""

    forward: float
    backward: float
    step: float
    #: Seconds of the two warm-up steps (where a compiled model is compiled).
    warmup: float = 0.0


def _median(values: list[float]) -> float:
    values = sorted(values)
    return 1000.0 * values[len(values) // 2]


def step_time(width: int, size: int, batch: int, steps: int, device: torch.device, compiled: bool = False,
              **kwargs: int | str) -> Timing:
    """Median forward, backward and whole-step time of one training step (after two warm-up steps),
    the model compiled by ``torch.compile`` (inductor) when ``compiled``."""
    model = build_interpolator(width=width, seed=0, **kwargs).to(device)
    run = torch.compile(model) if compiled else model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    i0, i1, it, t = _batch(size, batch, device)
    forward, backward, total = [], [], []
    warmup = time.perf_counter()
    for k in range(steps + 2):
        if k == 2:
            warmup = time.perf_counter() - warmup
        synchronize(device)
        start = time.perf_counter()
        frame = run(i0, i1, t).frame
        synchronize(device)
        middle = time.perf_counter()
        loss = (frame - it).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        synchronize(device)
        after_backward = time.perf_counter()
        optimizer.step()
        synchronize(device)
        end = time.perf_counter()
        if k >= 2:
            forward.append(middle - start)
            backward.append(after_backward - middle)
            total.append(end - start)
    return Timing(_median(forward), _median(backward), _median(total), warmup)


def _batch(size: int, batch: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    i0, i1, it = (torch.rand(batch, 3, size, size, generator=generator).to(device) for _ in range(3))
    return i0, i1, it, torch.full((batch,), 0.5, device=device)


def step_flops(width: int, size: int, batch: int, device: torch.device, **kwargs: int | str) -> int:
    """FLOPs of one forward + backward pass (torch's FLOP counter: convolutions and matrix products)."""
    model = build_interpolator(width=width, seed=0, **kwargs).to(device)
    i0, i1, it, t = _batch(size, batch, device)
    with FlopCounterMode(display=False) as counter:
        loss = (model(i0, i1, t).frame - it).abs().mean()
        loss.backward()
    return int(counter.get_total_flops())


def matmul_peak(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """The device's fp32 matrix-product throughput in GFLOP/s: best of ``repeats`` n×n×n products."""
    a, b = torch.rand(n, n, device=device), torch.rand(n, n, device=device)
    torch.mm(a, b)
    best = min(seconds(lambda: torch.mm(a, b), device) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def profile_step(width: int, size: int, batch: int, device: torch.device, rows: int = 15,
                 **kwargs: int | str) -> str:
    """The operators taking a training step's time, by self time (three profiled steps after two warm-up)."""
    from torch.profiler import ProfilerActivity, profile

    model = build_interpolator(width=width, seed=0, **kwargs).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    i0, i1, it, t = _batch(size, batch, device)

    def one_step() -> None:
        loss = (model(i0, i1, t).frame - it).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(2):
        one_step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(3):
            one_step()
        synchronize(device)
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (ignored on CUDA)")
    parser.add_argument("--cpu", action="store_true", help="use the CPU even if CUDA is available")
    parser.add_argument("--variants", nargs="+", default=[DEFAULT_VARIANT], choices=sorted(MODEL_VARIANTS))
    parser.add_argument("--profile", action="store_true", help="print the operators that take the step's time")
    parser.add_argument("--compile", action="store_true", help="also time the steps of the compiled model")
    parser.add_argument("--deterministic", action="store_true",
                        help="time the steps as vfibench trains on a GPU: with deterministic kernels "
                             "(vfibench.train.reproducible_kernels; no effect on a CPU)")
    parser.add_argument("--malloc", choices=("kept", "default"), default="kept",
                        help="kept (default): the C allocator keeps freed memory for reuse, as vfibench run sets "
                             "it (vfibench.processes.keep_freed_memory); default: glibc's own thresholds")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    malloc = "kept" if args.malloc == "kept" and keep_freed_memory() else "as the C library and environment set it"

    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    peak = matmul_peak(device)
    print(f"device: {where}; fp32 matmul peak {peak:.0f} GFLOP/s (measured); batch {args.batch}; "
          f"ms per batch, median of {args.steps} steps; freed memory: {malloc}")
    print(f"{'variant':>10} {'compiled':>8} {'width':>5} {'params':>10} {'size':>5} {'forward':>9} {'backward':>9} "
          f"{'step':>9} {'steps/s':>8} {'GFLOP':>7} {'GFLOP/s':>8} {'of peak':>8} {'warm-up s':>9}")
    rows = []
    for variant in args.variants:
        for width in args.widths:
            params = count_parameters(build_interpolator(width=width, variant=variant))
            for size in args.sizes:
                gflop = step_flops(width, size, args.batch, device, variant=variant) / 1e9
                for compiled in (False, True) if args.compile else (False,):
                    with reproducible_kernels(device) if args.deterministic else contextlib.nullcontext():
                        timing = step_time(width, size, args.batch, args.steps, device, compiled, variant=variant)
                    achieved = gflop / (timing.step / 1000.0)
                    print(f"{variant:>10} {'yes' if compiled else 'no':>8} {width:>5} {params:>10,} {size:>5} "
                          f"{timing.forward:9.1f} {timing.backward:9.1f} {timing.step:9.1f} {1000.0 / timing.step:8.2f} "
                          f"{gflop:7.2f} {achieved:8.1f} {achieved / peak:8.1%} {timing.warmup:9.1f}")
                    rows.append({"variant": variant, "compiled": compiled, "width": width, "params": params,
                                 "size": size, **asdict(timing), "gflop_per_step": gflop, "gflops": achieved,
                                 "peak_gflops": peak})
    if args.profile:
        variant, width, size = args.variants[0], args.widths[0], args.sizes[0]
        print(f"\nprofile: {variant}, width {width}, {size}², batch {args.batch}")
        print(profile_step(width, size, args.batch, device, variant=variant))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"device": where, "batch": args.batch, "malloc": malloc, "rows": rows}, handle, indent=2)


if __name__ == "__main__":
    main()
