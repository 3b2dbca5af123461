"""Parameter count and forward / backward / training-step time of the interpolator.

Forward = ``model(i0, i1, t)``; backward = L1 on the frame + ``backward()``; step = forward +
backward + Adam step. Batch 8 (the quick preset's batch) on the available device (CUDA if
present, else CPU with ``--threads`` threads); medians over ``--steps`` steps after two warm-up
steps. Run:

    python benchmarks/bench_model.py [--widths 8 16 32] [--sizes 64 128] [--steps 10] [--threads 2]
                                     [--variants synthesis warp-blend]

``--variants`` compares the interpolator with and without its synthesis stage.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import torch

from vfibench.model.interpolator import build_interpolator, count_parameters
from vfibench.model.variants import DEFAULT_VARIANT, MODEL_VARIANTS


@dataclass(frozen=True)
class Timing:
    """Median milliseconds per batch."""

    forward: float
    backward: float
    step: float


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median(values: list[float]) -> float:
    values = sorted(values)
    return 1000.0 * values[len(values) // 2]


def step_time(width: int, size: int, batch: int, steps: int, device: torch.device, **kwargs: int | str) -> Timing:
    """Median forward, backward and whole-step time of one training step (after two warm-up steps)."""
    model = build_interpolator(width=width, seed=0, **kwargs).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    i0, i1, it = (torch.rand(batch, 3, size, size, generator=generator).to(device) for _ in range(3))
    t = torch.full((batch,), 0.5, device=device)
    forward, backward, total = [], [], []
    for k in range(steps + 2):
        _sync(device)
        start = time.perf_counter()
        frame = model(i0, i1, t).frame
        _sync(device)
        middle = time.perf_counter()
        loss = (frame - it).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        _sync(device)
        after_backward = time.perf_counter()
        optimizer.step()
        _sync(device)
        end = time.perf_counter()
        if k >= 2:
            forward.append(middle - start)
            backward.append(after_backward - middle)
            total.append(end - start)
    return Timing(_median(forward), _median(backward), _median(total))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (ignored on CUDA)")
    parser.add_argument("--cpu", action="store_true", help="use the CPU even if CUDA is available")
    parser.add_argument("--variants", nargs="+", default=[DEFAULT_VARIANT], choices=sorted(MODEL_VARIANTS))
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {where}; batch {args.batch}; ms per batch, median of {args.steps} steps")
    print(f"{'variant':>10} {'width':>5} {'params':>10} {'size':>5} {'forward':>9} {'backward':>9} {'step':>9}")
    for variant in args.variants:
        for width in args.widths:
            params = count_parameters(build_interpolator(width=width, variant=variant))
            for size in args.sizes:
                timing = step_time(width, size, args.batch, args.steps, device, variant=variant)
                print(f"{variant:>10} {width:>5} {params:>10,} {size:>5} {timing.forward:9.1f} {timing.backward:9.1f} "
                      f"{timing.step:9.1f}")


if __name__ == "__main__":
    main()
