"""Throughput of every metric, in frames per second.

Each metric's per-frame function is timed on one batch of predicted/ground-truth frames
(8-bit-quantised, a noisy copy of a smooth random image as the prediction), after one warm-up
call that also builds and caches any model (so the figures exclude loading weights). The median
over ``--repeats`` calls is reported as frames/s = batch / median time. Metrics whose backbone is
missing are listed as unavailable. Run:

    python benchmarks/bench_metrics.py [--sizes 96 256] [--batch 16] [--repeats 3] [--threads 2]
                                       [--metrics psnr ssim ...] [--devices cpu cuda]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from vfibench import backbones
from vfibench.metrics.registry import metric_info, metric_names
from vfibench.metrics.suite import quantize_8bit

from _timing import median_seconds


def make_frames(batch: int, size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth random ground truth and a noisy, slightly shifted prediction, both 8-bit levels."""
    gen = torch.Generator().manual_seed(0)
    coarse = torch.rand(batch, 3, max(size // 8, 2), max(size // 8, 2), generator=gen)
    gt = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    pred = torch.roll(gt, shifts=1, dims=-1) + 0.03 * torch.randn(gt.shape, generator=gen)
    return quantize_8bit(pred).to(device), quantize_8bit(gt).to(device)


def frames_per_second(name: str, pred: torch.Tensor, gt: torch.Tensor, repeats: int) -> float:
    """Median throughput of metric ``name`` on (pred, gt), after one warm-up call."""
    compute = metric_info(name).compute
    return pred.shape[0] / median_seconds(lambda: compute(pred, gt), repeats, pred.device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[96, 256], help="square frame sides")
    parser.add_argument("--batch", type=int, default=16, help="frames per call")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per measurement")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument("--metrics", nargs="+", default=list(metric_names()), help="metric names")
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu, and cuda if available")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    devices = args.devices or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))

    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch {args.batch}, "
          f"median of {args.repeats}")
    header = f"{'metric':<10} {'device':<6}" + "".join(f" {f'{s}×{s} fps':>14}" for s in args.sizes)
    print(header)
    print("-" * len(header))
    for name in args.metrics:
        missing = [b for b in metric_info(name).needs if not backbones.locate(b).found]
        for device_name in devices:
            device = torch.device(device_name)
            if missing:
                print(f"{name:<10} {device_name:<6} unavailable: {', '.join(missing)} weights missing")
                continue
            cells = []
            for size in args.sizes:
                pred, gt = make_frames(args.batch, size, device)
                cells.append(f" {frames_per_second(name, pred, gt, args.repeats):>14.1f}")
            print(f"{name:<10} {device_name:<6}" + "".join(cells), flush=True)


if __name__ == "__main__":
    main()
