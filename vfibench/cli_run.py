"""``vfibench run``: train the fixed interpolator once per loss configuration and seed, evaluate, write tables.

A thin shell over :mod:`vfibench.sweep`: it gathers the options, plans the sweep (every check
happens there, before any training), runs it with a progress display and prints the summary.
Mounted by the main CLI as ``vfibench run``.
"""

from __future__ import annotations

import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vfibench.cli_support import console, report_errors

DEFAULT_LOSSES = "l2,l1,charbonnier"

EPILOG = (
    "Examples:\n\n"
    "  vfibench run                                   # the default sweep on the quick preset\n\n"
    "  vfibench run --losses l1,l1+perc\n\n"
    "  vfibench run --losses \"l1, 0.8*l1+0.005*perc, charbonnier(eps=1e-3)\" --seeds 0,1,2\n\n"
    "  vfibench run --preset smoke --losses l1 --out /tmp/results"
)


class PresetName(str, Enum):
    smoke = "smoke"
    ci = "ci"
    quick = "quick"
    full = "full"


@report_errors
def run(
    losses: Annotated[str, typer.Option("--losses", "-l", help="Comma-separated loss configurations; each a "
                                        "weighted sum of terms or a paper preset. `vfibench losses` lists them.")]
    = DEFAULT_LOSSES,
    preset: Annotated[PresetName, typer.Option(help="How long and large: smoke (seconds), ci, quick "
                                               "(minutes per configuration on a CPU), full (GPU).")]
    = PresetName.quick,
    seeds: Annotated[str, typer.Option(help="Seeds (initial weights and batch order), e.g. 0,1,2 or 0-4.")] = "0",
    out: Annotated[Path, typer.Option(help="Folder that holds the run directories.")] = Path("results"),
    device: Annotated[str, typer.Option(help="auto (CUDA when available), cpu, cuda or cuda:N.")] = "auto",
    warm_start: Annotated[int, typer.Option(help="Train the first STEPS steps of every configuration with "
                                            "plain l1, computed once per seed and shared.", metavar="STEPS")] = 0,
    metrics: Annotated[Optional[str], typer.Option(help="Comma-separated metrics (default: all).")] = None,
    skip_unavailable: Annotated[bool, typer.Option(help="When a pretrained backbone is missing, run what "
                                                   "does not need it and mark the rest unavailable.")] = False,
    steps: Annotated[Optional[int], typer.Option(help="Override the preset's number of training steps.",
                                                 min=1)] = None,
) -> None:
    """Train the fixed interpolator once per loss configuration and seed, evaluate, write tables."""
    from vfibench.cli_progress import RichSweepListener
    from vfibench.cli_report import print_summary
    from vfibench.metrics.suite import DEFAULT_METRICS
    from vfibench.presets import get_preset
    from vfibench.sweep import parse_seeds, plan_sweep, run_sweep

    chosen = get_preset(preset.value).with_overrides(steps=steps)
    metric_names = [m.strip().lower() for m in metrics.split(",") if m.strip()] if metrics else list(DEFAULT_METRICS)
    plan = plan_sweep(losses, chosen, parse_seeds(seeds), out=out, device=device, metrics=metric_names,
                      skip_unavailable=skip_unavailable, warm_start=warm_start,
                      command=shlex.join(["vfibench", *sys.argv[1:]]))
    console.print(f"[bold]vfibench run[/]: {len(plan.configs)} configuration(s) × {len(plan.seeds)} seed(s), "
                  f"preset [cyan]{chosen.name}[/] ({chosen.steps} steps), device {plan.device}")
    with RichSweepListener(console) as listener:
        store = run_sweep(plan, listener)
    print_summary(store)
