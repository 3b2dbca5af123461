"""``vfibench eval``: score frames produced by any interpolation model against ground-truth frames.

A thin shell over :mod:`vfibench.eval_plan`, :mod:`vfibench.evaluate` and :mod:`vfibench.results.report`;
mounted by the main CLI as ``vfibench eval``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from vfibench.cli_report import SUMMARY_ONLY, ReportFormat, build_report_showing_progress, print_report
from vfibench.cli_support import LIST, error_console, report_errors
from vfibench.errors import VfiBenchError
from vfibench.metrics.records import metrics_help


def _metric_lines() -> str:
    """Every metric and what it measures, from its registry record; those that need I0 and I1 marked."""
    from vfibench.metrics.records import RECORDS

    return "\n\n".join(f"  {r.name}{' (needs a dataset spec as --gt, for I0 and I1)' if r.inputs else ''}: "
                         f"{r.description}" for r in RECORDS)


EPILOG = (
    "Examples:\n\n"
    "  vfibench eval --pred out/mymodel --gt data/gt\n\n"
    "  vfibench eval --pred rife=out/rife --pred film=out/film --gt data/gt --format md\n\n"
    "  vfibench eval --pred out/mymodel --gt data/gt --metrics psnr,ssim,lpips --device cuda\n\n"
    "  vfibench eval --gt ucf101:data/ucf101 --pred rife=out/rife --pred film=out/film --protocols all\n\n"
    "  vfibench eval --gt \"snufilm(split=hard):data/SNU-FILM\" --pred out/mine --metrics psnr,lpips,flolpips-dis,psnr-div\n\n"
    "Frames (PNG or JPEG, in subfolders too) are matched to a ground-truth folder by their path relative "
    "to each folder; with a dataset spec as --gt (ucf101:, middlebury:, snufilm(split=...):, xiph(res=...):, "
    "davis:, vimeo90k:, frames:, video:) they are matched by the set's sample ids as DIR/ID.png. The run is "
    "written under --out like a sweep's, with report/report.html.\n\n"
    "Metrics (--metrics):\n\n" + _metric_lines() + "\n\n"
    "Protocols (--protocols): vfibench, rife, ifrnet, film, y-channel, skimage-default, and ema-vfi: the "
    "one EMA-VFI's script for the --gt set uses (rife on ucf101, ifrnet on vimeo90k and snufilm, "
    "skimage-default on xiph); see the README for what each does to rounding, borders and colour. "
    "Middlebury: RIFE and EMA-VFI publish the interpolation error (--metrics ie), IFRNet IE with PSNR and "
    "SSIM, softmax splatting and FILM PSNR and SSIM."
)


@report_errors
def eval_command(
    pred: Annotated[list[str], typer.Option("--pred", "-p", help="Folder of predicted frames, or NAME=DIR; "
                                            "repeat to compare several models side by side.")],
    gt: Annotated[str, typer.Option("--gt", help="Folder of ground-truth frames, or a dataset spec such as "
                                    "ucf101:PATH (predictions then matched by sample id, DIR/ID.png).")],
    out: Annotated[Path, typer.Option(help="Folder that holds the run directories.")] = Path("results"),
    metrics: Annotated[Optional[str], typer.Option(help=metrics_help() + ". ie is the interpolation error, what "
                                                   "Middlebury tables report.", metavar=LIST)] = None,
    skip_unavailable: Annotated[bool, typer.Option(help="When a pretrained backbone is missing, compute the "
                                                   "other metrics and mark these unavailable.")] = False,
    device: Annotated[str, typer.Option(help="auto (CUDA when available), cpu, cuda or cuda:N.")] = "auto",
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="What to print: the terminal tables, or "
                                                 "only one document on stdout: the written report.md, the summary "
                                                 "CSV, the JSON record (with the written files), the written "
                                                 "report.html or the summary as a LaTeX table, as `vfibench "
                                                 "report RUN --write -f FORMAT` prints it. The run and its report "
                                                 "folder are written either way.")]
    = ReportFormat.table,
    samples: Annotated[int, typer.Option("--samples", min=0, help="Image grids in the report (0: none).")] = 3,
    protocols: Annotated[Optional[str], typer.Option(help="Also compute PSNR/SSIM under these protocols ('all' or "
                                                     "e.g. rife,y-channel), shown side by side with the spread "
                                                     "per model in the output and the report.", metavar=LIST)] = None,
    per_file: Annotated[bool, typer.Option("--per-file", help="List every file's scores in the terminal tables "
                                           "(default: a summary per model); not with --format md, csv, json, "
                                           "html or latex. Every file's scores are always in the run's "
                                           "per_sample.csv.")]
    = False,
) -> None:
    """Score predicted frames against ground-truth frames with the benchmark's metrics, and report."""
    from vfibench.cli_progress import counting_bar
    from vfibench.eval_plan import plan_evaluation
    from vfibench.evaluate import interrupted_evaluation, run_evaluation
    from vfibench.metrics.records import parse_metric_list
    from vfibench.metrics.suite import DEFAULT_METRICS
    from vfibench.words import counted

    from vfibench.eval_plan import is_dataset_spec
    from vfibench.data.sources import parse_dataset_spec
    from vfibench.metrics.protocols import parse_protocols
    from vfibench.processes import keep_freed_memory
    from vfibench.results.schema import PER_SAMPLE_FILE, PROTOCOLS_FILE
    from vfibench.sweep.interruption import Interrupted, raise_if_stopped, stop_on_signals

    if per_file and format is not ReportFormat.table:
        raise VfiBenchError(f"--per-file lists every file's scores in the terminal tables, but --format {format.value} "
                            f"prints one fixed document, which has no per-file list. Leave out --per-file (every "
                            f"file's scores are written to per_sample.csv in the run directory either way), or "
                            f"leave out --format to see them in the terminal.")
    names = parse_metric_list(metrics) if metrics is not None else list(DEFAULT_METRICS)
    test_set = parse_dataset_spec(gt).kind if protocols and is_dataset_spec(gt) else None
    chosen = parse_protocols(protocols, test_set) if protocols is not None else []
    plan = plan_evaluation(pred, gt if is_dataset_spec(gt) else Path(gt), out=out, metrics=names,
                           skip_unavailable=skip_unavailable, device=device,
                           command=shlex.join(["vfibench", *sys.argv[1:]]), protocols=chosen)
    chatty = format is ReportFormat.table
    if chatty:  # on stderr, as a sweep's progress: `vfibench eval > table.txt` keeps only the results
        error_console.print(f"[bold]vfibench eval[/]: {escape(plan.describe())}", highlight=False)
    for note in plan.notes:  # on stderr, beside the plan line: stdout holds the results alone
        error_console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    keep_freed_memory()
    store = None
    try:
        with stop_on_signals():  # SIGTERM too: the run is removed, or kept complete, and the message says which
            with counting_bar(error_console, "scoring frames", len(plan.files)) as count:
                store = run_evaluation(plan, on_file=lambda sample, name: count())
            raise_if_stopped()  # a stop deferred while the finished run's tables were written
            print_report(build_report_showing_progress(store, grid_samples=samples), format, per_file=per_file)
    except Interrupted as stop:
        raise interrupted_evaluation(stop.signum, plan, store, samples) from None
    if chatty and not per_file:
        error_console.print(f"[dim]{counted(len(plan.files), 'file')} summarised per model; --per-file lists each "
                            f"file's scores (all in {store.path(PER_SAMPLE_FILE)}).[/]", highlight=False)
    if chosen and format in SUMMARY_ONLY:  # stdout holds the summary alone
        sys.stderr.write(f"PSNR/SSIM under each protocol: {store.path(PROTOCOLS_FILE)}\n")
