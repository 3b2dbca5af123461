"""Start-up time of every ``vfibench`` command: wall time of a fresh ``python -m vfibench.cli ...``.

Each command runs ``--repeat`` times in a new interpreter (output discarded); the table gives the
fastest and the median wall time and whether the command imported torch. Commands that read a run
(``report --format ...``) are measured when ``--run DIR`` names a finished run. Run:

    OMP_NUM_THREADS=1 python benchmarks/bench_startup.py [--repeat 3] [--run results/latest]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "results" / "baselines" / "ci.csv"
#: Printed by the child after the command, so the table can say whether torch was imported.
PROBE = ("import sys, runpy\nsys.argv = ['vfibench', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('vfibench.cli', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "sys.stderr.write('\\nTORCH=%s\\n' % ('torch' in sys.modules))\n")


def commands(run: Path | None) -> list[list[str]]:
    """The command lines measured: every ``--help``, the catalog, compare, and reads of ``run``."""
    helps = [[], ["run"], ["report"], ["losses"], ["compare"], ["eval"], ["weights"], ["weights", "status"],
             ["weights", "fetch"], ["data"], ["data", "inspect"], ["data", "validate"], ["data", "export"]]
    lines = [[*words, "--help"] for words in helps]
    lines += [["--version"], ["losses"], ["losses", "superslomo"], ["losses", "l1+0.1*perc"],
              ["compare", str(BASELINE), str(BASELINE), "--format", "md"], ["weights", "status"]]
    if run is not None:
        lines += [["report", str(run), "--format", fmt] for fmt in ("csv", "json", "md")]
    return lines


def measure(args: list[str], repeat: int) -> tuple[list[float], bool]:
    """Wall times of ``repeat`` fresh runs of ``vfibench ARGS`` and whether the last imported torch."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    times, torch = [], False
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=ROOT, capture_output=True,
                              text=True)
        times.append(time.perf_counter() - start)
        torch = "TORCH=True" in done.stderr
    return times, torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh runs per command (default 3)")
    parser.add_argument("--run", type=Path, default=None, help="a finished run directory, to time report reads")
    options = parser.parse_args()
    print(f"{'command':<58} {'fastest':>8} {'median':>8}  torch")
    for args in commands(options.run):
        times, torch = measure(args, options.repeat)
        label = " ".join(a if len(a) < 30 else "…" + a[-20:] for a in ["vfibench", *args])
        print(f"{label:<58} {min(times):7.2f}s {statistics.median(times):7.2f}s  {'yes' if torch else 'no'}",
              flush=True)


if __name__ == "__main__":
    main()
