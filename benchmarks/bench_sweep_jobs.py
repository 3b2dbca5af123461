"""Wall time of one sweep run with ``--jobs 1``, ``--jobs 2``, …, and whether their tables agree.

Each variant is a fresh ``python -m vfibench.cli run`` (default: the default sweep on the ``quick``
preset, seed 0, CPU) writing to its own folder under ``--out``; the table gives its wall time and
the torch threads each unit trained with (from the manifest), then every variant's summary is
compared with the first's: byte for byte, and with ``vfibench compare --two-sided``. Variants that
train with different threads per unit (``--jobs 2`` on two cores gives each unit one) differ in their
trained rows beyond the tolerances — the thread count is part of a trained unit's numbers (README,
*Threads are part of the numbers*) — unless ``--threads`` makes it equal. Run it on a quiet machine:

    python benchmarks/bench_sweep_jobs.py --jobs 1,2 [--steps 100] [--losses l1,l2] [--out /tmp/vfibench-jobs]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_variant(jobs: int, options: argparse.Namespace) -> tuple[float, Path, dict[str, object]]:
    """Run the sweep with ``--jobs jobs``; return its wall time, run directory and executor record."""
    out = options.out / f"jobs{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "vfibench.cli", "run", "--preset", options.preset, "--seeds", "0",
               "--device", "cpu", "--out", str(out), "--jobs", str(jobs)]
    for flag, value in (("--losses", options.losses), ("--steps", options.steps), ("--threads", options.threads)):
        if value is not None:
            command += [flag, str(value)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"--jobs {jobs} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    run = (out / "latest").resolve()
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    return seconds, run, manifest.get("executor", {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values to time (default 1,2)")
    parser.add_argument("--preset", default="quick", help="run preset (default quick)")
    parser.add_argument("--losses", default=None, help="loss configurations (default: vfibench run's default sweep)")
    parser.add_argument("--steps", type=int, default=None, help="override the preset's steps (shorter comparison)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per unit for every variant")
    parser.add_argument("--out", type=Path, default=Path("/tmp/vfibench-jobs"), help="folder for the runs")
    options = parser.parse_args()
    variants = [int(value) for value in options.jobs.split(",")]
    print(f"preset {options.preset}, {os.cpu_count()} CPU(s) visible, affinity "
          f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'} core(s)")
    print(f"{'jobs':>4} {'threads/unit':>12} {'wall':>10}")
    runs = []
    for jobs in variants:
        seconds, run, executor = run_variant(jobs, options)
        runs.append((jobs, run))
        print(f"{jobs:>4} {executor.get('threads_per_unit', '?'):>12} {seconds:>9.1f}s", flush=True)
    first_jobs, first = runs[0]
    for jobs, run in runs[1:]:
        same = (run / "summary.csv").read_bytes() == (first / "summary.csv").read_bytes()
        compared = subprocess.run([sys.executable, "-m", "vfibench.cli", "compare", str(run), str(first),
                                   "--two-sided"], env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                                  capture_output=True, text=True)
        print(f"--jobs {jobs} vs --jobs {first_jobs}: summary.csv {'identical' if same else 'differs'}; "
              f"vfibench compare --two-sided exit {compared.returncode}")


if __name__ == "__main__":
    main()
