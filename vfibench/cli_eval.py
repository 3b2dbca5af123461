"""``vfibench eval``: score frames produced by any interpolation model against ground-truth frames.

A thin shell over :mod:`vfibench.evaluate` and :mod:`vfibench.results.report`; mounted by the
main CLI as ``vfibench eval``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from vfibench.cli_report import ReportFormat, print_report
from vfibench.cli_support import console, report_errors

EPILOG = (
    "Examples:\n\n"
    "  vfibench eval --pred out/mymodel --gt data/gt\n\n"
    "  vfibench eval --pred rife=out/rife --pred film=out/film --gt data/gt --format md\n\n"
    "  vfibench eval --pred out/mymodel --gt data/gt --metrics psnr,ssim,lpips --device cuda\n\n"
    "Frames (PNG or JPEG, in subfolders too) are matched to the ground truth by their path relative "
    "to each folder. The run is written under --out like a sweep's, with report/report.html."
)


@report_errors
def eval_command(
    pred: Annotated[list[str], typer.Option("--pred", "-p", help="Folder of predicted frames, or NAME=DIR; "
                                            "repeat to compare several models side by side.")],
    gt: Annotated[Path, typer.Option("--gt", help="Folder of ground-truth frames.")],
    out: Annotated[Path, typer.Option(help="Folder that holds the run directories.")] = Path("results"),
    metrics: Annotated[Optional[str], typer.Option(help="Comma-separated metrics (default: all).")] = None,
    skip_unavailable: Annotated[bool, typer.Option(help="When a pretrained backbone is missing, compute the "
                                                   "other metrics and mark these unavailable.")] = False,
    device: Annotated[str, typer.Option(help="auto (CUDA when available), cpu, cuda or cuda:N.")] = "auto",
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="What to print (as `vfibench report`).")]
    = ReportFormat.table,
    samples: Annotated[int, typer.Option("--samples", min=0, help="Image grids in the report (0: none).")] = 3,
) -> None:
    """Score predicted frames against ground-truth frames with the benchmark's metrics, and report."""
    from vfibench.evaluate import plan_evaluation, run_evaluation
    from vfibench.metrics.suite import DEFAULT_METRICS
    from vfibench.results.report import build_report

    names = [m.strip().lower() for m in metrics.split(",") if m.strip()] if metrics else list(DEFAULT_METRICS)
    plan = plan_evaluation(pred, gt, out=out, metrics=names, skip_unavailable=skip_unavailable, device=device,
                           command=shlex.join(["vfibench", *sys.argv[1:]]))
    chatty = format is ReportFormat.table
    if chatty:
        console.print(f"[bold]vfibench eval[/]: {len(plan.sources)} model(s) × {len(plan.files)} frame(s), "
                      f"metrics {', '.join(plan.metrics)}, device {plan.device}", highlight=False)
    store = run_evaluation(plan)
    print_report(build_report(store, grid_samples=samples), format)
