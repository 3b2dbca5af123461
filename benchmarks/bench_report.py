"""Cost of a report's statistics on a full-size test set: the gap analysis and its Hodges–Lehmann estimates.

A per-sample table shaped like a default sweep scored on Vimeo-90K's test set (3,782 samples, 5
trained rows and 2 references, 3 seeds, PSNR, SSIM, LPIPS and DISTS) is drawn from a fixed seed;
the script times :func:`vfibench.analysis.gap.analyse` on it (every pair of rows tested on the base
metric and the deep ones, pooled and per seed) and one :func:`hodges_lehmann` call on 3,782
differences, each the median of ``--repeats`` calls after a warm-up that imports scipy. Run:

    python benchmarks/bench_report.py [--samples 3782] [--seeds 3] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from vfibench.analysis.gap import analyse
from vfibench.analysis.significance import hodges_lehmann

from _timing import median_seconds

ROWS = {"l1": "trained", "l2": "trained", "l1+perc": "trained", "superslomo": "trained", "l1+adv": "trained",
        "blend": "reference", "nearest": "reference"}


def per_sample_table(samples: int, seeds: int) -> pd.DataFrame:
    """Rows that differ a little and unevenly, the way trained configurations do."""
    rng = np.random.default_rng(0)
    level = rng.normal(33.0, 3.0, samples)
    frames = []
    for index, (config, kind) in enumerate(ROWS.items()):
        for seed in range(seeds):
            frames.append(pd.DataFrame({
                "config": config, "kind": kind, "seed": seed, "sample": np.arange(samples),
                "psnr": level + rng.normal(0.05 * index, 0.5, samples), "ssim": rng.uniform(0.9, 1.0, samples),
                "lpips": rng.uniform(0.0, 0.2, samples) + 0.002 * index, "dists": rng.uniform(0.0, 0.2, samples)}))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3782, help="samples per row (default: Vimeo-90K's test set)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    table = per_sample_table(args.samples, args.seeds)
    analysis = analyse(table)
    first_seed = table[table["seed"] == 0].set_index(["config", "sample"])["psnr"]
    differences = (first_seed["l1"] - first_seed["l2"]).to_numpy()
    tests = sum(1 + len(p.others) for p in analysis.pairs)
    print(f"{args.samples} samples × {len(ROWS)} rows × {args.seeds} seeds: "
          f"{len(analysis.pairs)} pairs, {tests} tests")
    print(f"analyse        {median_seconds(lambda: analyse(table), args.repeats):8.3f} s")
    print(f"hodges_lehmann {1000 * median_seconds(lambda: hodges_lehmann(differences), 5 * args.repeats):8.2f} ms "
          f"({args.samples} differences)")


if __name__ == "__main__":
    main()
