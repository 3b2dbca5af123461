"""Cost of a sweep's evaluation phase against the evaluation of one configuration.

A default sweep scores 5 trained configurations and 2 reference rows against one test set. Each
process prepares the test set's ground truth once (:class:`vfibench.sweep.unit.UnitResources`:
backbone features, SSIM moments, …) and scores every unit against it. This benchmark times, on
the preset's test set with the default metrics:

- **one configuration**: what evaluating a single configuration costs with fresh unit resources —
  build the metric suite, prepare the ground truth, score one prediction. The backbone networks are
  already in the process's cache (a warm-up reads them from disk once), as in a worker that has
  scored before;
- **sweep phase**: the same fresh resources, then all 7 rows of a default sweep (the two references
  and 5 stand-ins for trained predictions: the ground truth degraded by 5 different blurs and
  shifts, so the scored content differs as it does between configurations), sharing the prepared
  ground truth;
- **without sharing**: the 7 rows each scored from the raw frames, as before the ground truth was
  shared.

Predictions are made before timing (training is not part of the evaluation phase). Medians of
``--repeats``. A unit scores in :func:`vfibench.sweep.unit.unit_batch_size` batches (the preset's on a
CPU, one device chunk on a GPU); ``--batches preset`` times the preset's batches on every device, the
rule before device chunks, for an A/B. Run on a quiet machine:

    python benchmarks/bench_sweep_eval.py [--preset quick] [--threads 2] [--repeats 3] [--device cuda]
                                          [--batches unit|preset] [--json out.json]
"""

from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F

from vfibench.data.sources import open_dataset
from vfibench.metrics.suite import DEFAULT_METRICS
from vfibench.presets import get_preset
from vfibench.references import REFERENCES
from vfibench.sweep import unit as unit_module
from vfibench.sweep.unit import UnitResources, UnitSpec, score_predictions

from _timing import median_seconds

TRAINED_STAND_INS = 5


def stand_ins(it: torch.Tensor, count: int) -> list[torch.Tensor]:
    """``count`` distinct degraded copies of the ground truth: box blur of growing size, shifted by k px."""
    frames = []
    for k in range(1, count + 1):
        blurred = F.avg_pool2d(F.pad(it, (k, k, k, k), mode="replicate"), 2 * k + 1, stride=1)
        frames.append(blurred.roll(k % 3, dims=-1).clamp(0, 1))
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="where the metrics run: cpu (default) or cuda")
    parser.add_argument("--batches", choices=("unit", "preset"), default="unit",
                        help="unit: what a sweep scores in (default); preset: the preset's batches everywhere")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.batches == "preset":  # the rule before device chunks, for every place a unit asks for it
        unit_module.unit_batch_size = lambda spec, test: spec.preset.eval_batch_size

    preset = get_preset(args.preset)
    test = open_dataset("synthetic", "test", count=preset.test_count, size=preset.test_size, seed=0,
                        max_motion=preset.max_motion, ambiguity=preset.ambiguity)
    rows = [REFERENCES[name](test) for name in REFERENCES] + stand_ins(test.it, TRAINED_STAND_INS)
    spec = UnitSpec(config="blend", seed=0, kind="reference", preset=preset, metrics=tuple(DEFAULT_METRICS),
                    device=args.device)
    batch = unit_module.unit_batch_size(spec, test)

    def score(frames: torch.Tensor, resources: UnitResources, shared: bool) -> None:
        suite, _ = resources.for_spec(spec, test)
        score_predictions(suite, frames, test, resources.prepared(spec, test) if shared else None,
                          batch_size=batch, device=args.device)

    def one_configuration() -> None:
        score(rows[-1], UnitResources(), shared=True)

    def sweep_phase() -> None:
        resources = UnitResources()
        for frames in rows:
            score(frames, resources, shared=True)

    def without_sharing() -> None:
        resources = UnitResources()
        for frames in rows:
            score(frames, resources, shared=False)

    one_configuration()  # warm-up: backbones read from disk once, allocator warmed
    figures = {}
    for name, function in (("one configuration", one_configuration), ("sweep phase (7 rows, shared)", sweep_phase),
                           ("sweep phase (7 rows, not shared)", without_sharing)):
        figures[name] = median_seconds(function, args.repeats, args.device, warmup=0)
    base = figures["one configuration"]
    print(f"preset {preset.name}: {len(test)} test scenes of {preset.test_size}², metrics {', '.join(DEFAULT_METRICS)}; "
          f"{'CPU, %d threads' % torch.get_num_threads() if args.device == 'cpu' else args.device}; median of "
          f"{args.repeats}; batches of {batch} frames ({args.batches})")
    for name, seconds in figures.items():
        print(f"{name:>34}: {seconds:6.2f} s  ({seconds / base:.2f}× one configuration)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"preset": preset.name, "threads": torch.get_num_threads(), "device": args.device,
                       "batches": args.batches, "batch_size": batch, "seconds": figures}, handle, indent=2)


if __name__ == "__main__":
    main()
