"""Parameter count and training-step time of the interpolator.

One step = forward + L1 on the frame + backward + Adam step, at batch 8 on the available
device (CUDA if present, else CPU with ``--threads`` threads). Run:

    python benchmarks/bench_model.py [--widths 8 16 32] [--sizes 64 128] [--steps 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from vfibench.model.interpolator import build_interpolator, count_parameters


def step_time_ms(width: int, size: int, batch: int, steps: int, device: torch.device, **kwargs: int) -> float:
    """Median wall time of one training step in milliseconds (after two warm-up steps)."""
    model = build_interpolator(width=width, seed=0, **kwargs).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    i0, i1, it = (torch.rand(batch, 3, size, size, generator=generator).to(device) for _ in range(3))
    t = torch.full((batch,), 0.5, device=device)
    times = []
    for k in range(steps + 2):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        loss = (model(i0, i1, t).frame - it).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if k >= 2:
            times.append(time.perf_counter() - start)
    times.sort()
    return 1000.0 * times[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (ignored on CUDA)")
    parser.add_argument("--cpu", action="store_true", help="use the CPU even if CUDA is available")
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {where}; batch {args.batch}; step = forward + L1 + backward + Adam")
    print(f"{'width':>5} {'params':>10} " + " ".join(f"{f'{s}x{s} ms':>12}" for s in args.sizes))
    for width in args.widths:
        params = count_parameters(build_interpolator(width=width))
        cells = [f"{step_time_ms(width, s, args.batch, args.steps, device):12.1f}" for s in args.sizes]
        print(f"{width:>5} {params:>10,} " + " ".join(cells))


if __name__ == "__main__":
    main()
