"""First-call costs of each metric: what a fresh process pays before the steady per-batch cost.

A command that scores a few hundred frames pays, besides start-up, each metric's first call: on a
GPU a backbone's first call with a new batch shape loads cuDNN's kernels for it (about a second for
DISTS's VGG16 on an H200), on a CPU oneDNN builds its convolution primitives. This benchmark builds
each metric's suite alone (those without a backbone first), and times four calls on frames of 448×256 (random
values: the cost does not depend on content): 16 frames, 16 again (the steady cost), 6 (a short last
batch: a new shape), 16 again. Each timing waits for the device's queued work. The device is set up
first (on a GPU its context), so that cost lands on no metric.

    python benchmarks/bench_first_call.py [--device cuda] [--threads 2] [--json first_call.json]
"""

from __future__ import annotations

import argparse
import json

import torch

from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite

from _timing import seconds, synchronize

#: The default metrics, those without a backbone first, so that a process's first small kernels land
#: on them rather than on a backbone's figure.
ORDER = ("psnr", "ssim", "sharpness", "gmsd", "lpips", "dists")
assert sorted(ORDER) == sorted(DEFAULT_METRICS)
#: Frames per call: a full batch, the same again, a short last batch, a full one again.
CALLS = (16, 16, 6, 16)
HEIGHT, WIDTH = 256, 448


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    # CUDA's initialisation is the figure: timed from an untouched device, so no synchronisation before
    setup = seconds(lambda: (torch.zeros(1, device=device), synchronize(device)), "cpu")
    generator = torch.Generator().manual_seed(0)
    pred = torch.rand(max(CALLS), 3, HEIGHT, WIDTH, dtype=torch.float64, generator=generator)
    gt = (pred + 0.05 * torch.rand(pred.shape, dtype=torch.float64, generator=generator)).clamp(0, 1)
    figures: dict[str, dict[str, float | list[float]]] = {}
    print(f"{device}{' (%d threads)' % torch.get_num_threads() if device.type == 'cpu' else ''}: device set-up "
          f"{setup:.3f} s; frames of {WIDTH}×{HEIGHT}, calls of {', '.join(map(str, CALLS))} frames")
    print(f"{'metric':>10} {'build s':>8} " + " ".join(f"{'call %d (%d) s' % (k + 1, n):>14}" for k, n in enumerate(CALLS)))
    for name in ORDER:
        suite: list[MetricSuite] = []
        build = seconds(lambda: suite.append(MetricSuite([name], device=device)), device)
        calls = [seconds(lambda n=n: suite[0](pred[:n], gt[:n]), device) for n in CALLS]
        figures[name] = {"build_seconds": build, "call_seconds": calls}
        print(f"{name:>10} {build:8.3f} " + " ".join(f"{call:14.3f}" for call in calls), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
                       "frames": list(CALLS), "size": [WIDTH, HEIGHT], "setup_seconds": setup, "metrics": figures},
                      handle, indent=2)


if __name__ == "__main__":
    main()
