"""The ``vfibench`` command line: a thin shell that parses options, calls the library and prints.

Every command has ``--help`` with examples. Problems the user can fix are printed as one paragraph
and exit with code 2; nothing prints a traceback for them.
"""

from __future__ import annotations

import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vfibench import cli_weights
from vfibench.cli_support import console, report_errors

app = typer.Typer(
    name="vfibench",
    help=(
        "Which training loss should a video-frame-interpolation model use? vfibench trains one fixed "
        "interpolator per loss configuration, everything else held equal, and measures PSNR, SSIM, LPIPS, "
        "DISTS and sharpness to expose the gap between distortion and perceptual quality.\n\n"
        "Examples:\n\n"
        "  vfibench run --losses l1,l1+perc\n\n"
        "  vfibench report\n\n"
        "  vfibench losses superslomo"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
app.add_typer(cli_weights.app, name="weights")

DEFAULT_LOSSES = "l2,l1,charbonnier"


class PresetName(str, Enum):
    smoke = "smoke"
    ci = "ci"
    quick = "quick"
    full = "full"


class ReportFormat(str, Enum):
    table = "table"
    md = "md"
    csv = "csv"
    json = "json"


@app.command(
    epilog=(
        "Examples:\n\n"
        "  vfibench run                                   # the default sweep on the quick preset\n\n"
        "  vfibench run --losses l1,l1+perc\n\n"
        "  vfibench run --losses \"l1, 0.8*l1+0.005*perc, charbonnier(eps=1e-3)\" --seeds 0,1,2\n\n"
        "  vfibench run --preset smoke --losses l1 --out /tmp/results"
    )
)
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
    _print_summary(store)


@app.command(
    epilog="Examples:\n\n  vfibench report\n\n  vfibench report 20261125-101500-ab12 --format md\n\n"
           "  vfibench report --out /tmp/results --format csv"
)
@report_errors
def report(
    run_name: Annotated[Optional[str], typer.Argument(metavar="[RUN]", help="A run name under --out or a run "
                                                      "directory; default: the latest complete run.")] = None,
    out: Annotated[Path, typer.Option(help="Folder that holds the run directories.")] = Path("results"),
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="What to print.")] = ReportFormat.table,
) -> None:
    """Show the per-configuration table of a run (and rewrite its summary.md)."""
    from vfibench.results.store import RunStore

    store = RunStore.open(out, run_name)
    _print_summary(store, format)


def _print_summary(store: "object", format: ReportFormat = ReportFormat.table) -> None:
    from vfibench.results.view import load_run_view

    view = load_run_view(store)  # type: ignore[arg-type]
    if format is ReportFormat.table:
        console.print(view.rich_table())
        for note in view.notes():
            console.print(f"[dim]{note}[/]", highlight=False)
        console.print(f"Results: [bold]{store.root}[/]")  # type: ignore[attr-defined]
    elif format is ReportFormat.md:
        console.print(view.markdown(), markup=False, highlight=False, soft_wrap=True)
    elif format is ReportFormat.csv:
        sys.stdout.write(view.summary.to_csv(index=False))
    else:
        sys.stdout.write(view.summary.to_json(orient="records", indent=2) + "\n")


@app.command(epilog="Examples:\n\n  vfibench losses\n\n  vfibench losses charbonnier")
@report_errors
def losses(
    name: Annotated[Optional[str], typer.Argument(help="A loss term or paper preset to explain.")] = None,
) -> None:
    """The loss catalog: every term and paper preset, with its formula, parameters, needs and source."""
    from vfibench.losses.describe import describe_name, catalog_tables

    if name is None:
        for table in catalog_tables():
            console.print(table)
    else:
        console.print(describe_name(name))


def main() -> None:
    """Entry point of the ``vfibench`` console script."""
    app()


if __name__ == "__main__":
    main()
