"""``vfibench compare NEW BASE``: fail (exit 1) when a metric table got worse than a baseline.

A thin shell over :mod:`vfibench.results.compare` and the ``compare_*`` modules beside it: it gathers
the options, loads both summaries, compares them and prints. Exit codes: 0 nothing failed, 1 something
regressed (or a configuration with results in BASE is missing from NEW, or diverged there), 2 the input
could not be used (unreadable or foreign summary, a sweep against an evaluation, two runs not made the same
way without ``--allow-different-setup``, bad ``--tol``), 3 an unforeseen error (a bug): never 1, which CI
would read as a regression.

The main CLI registers it with ``app.command("compare", epilog=cli_compare.EPILOG)(cli_compare.compare)``.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape

from vfibench.cli_support import INTERNAL_ERROR_EXIT, console, console_of_width, examples, report_errors

if TYPE_CHECKING:
    from vfibench.results.compare import Comparison


def _default_tolerances() -> str:
    """``psnr=0.05 dB, ssim=0.002, …``: every metric record's default tolerance, in table order."""
    from vfibench.metrics.records import RECORDS

    return ", ".join(f"{r.name}={r.tolerance:g}" + (f" {r.unit}" if r.unit else "") for r in RECORDS)


EPILOG = examples(
    "vfibench compare results/latest results/baselines/ci.csv",
    "vfibench compare NEW BASE --tol psnr=0.1 --tol lpips=0.005 --format md",
    "vfibench compare NEW BASE --two-sided --format json > comparison.json",
    "vfibench compare NEW BASE --allow-different-setup   # a verdict even on runs not made the same way",
    notes=f"Default tolerances (absolute): {_default_tolerances()} (sharpness is best at 1: a move away from 1 "
    "is a worsening).\n\n"
    "NEW and BASE are summaries of the same kind of run: two sweeps (`vfibench run`) or two evaluations "
    "(`vfibench eval`); rows are matched by configuration or model name (name a model with --pred NAME=DIR).\n\n"
    "Both must also be made the same way, or their numbers measure different things: the same preset, training "
    "and test settings (the test data included) and seeds, the same ground truth and sample files, rows scored "
    "on as many test samples, and at least one row in common. Otherwise compare exits 2 and names what differs "
    "(compare with a baseline made by the same command and options), unless --allow-different-setup is given. "
    "Other hardware, releases or thread counts, and an unfinished run, are only noted.\n\n"
    "Exit codes: 0 nothing regressed; 1 a regression (with --two-sided, any change beyond the tolerance), a "
    "configuration with results in BASE missing from NEW, a configuration that diverged or failed in NEW, a metric column missing "
    "from NEW, or a value BASE has and NEW lost; 2 unusable input (also a sweep compared with an evaluation, or "
    "runs not made the same way); "
    f"{INTERNAL_ERROR_EXIT} an unexpected error in vfibench itself (a bug, with its traceback), never a verdict. "
    "Configurations or metrics found only in NEW, configurations with no results in BASE (diverged, failed or "
    "unavailable there), and values neither side has (or only NEW has), are reported but do not fail.",
)


class CompareFormat(str, Enum):
    """How ``vfibench compare`` prints the comparison."""

    table = "table"
    md = "md"
    json = "json"


def github_mode(flag: Optional[bool]) -> bool:
    """Whether to print ``::error`` annotations: the flag if given, else whether GITHUB_ACTIONS is true."""
    if flag is not None:
        return flag
    return os.environ.get("GITHUB_ACTIONS", "").strip().lower() == "true"


def _print_uncut(comparison: "Comparison") -> None:
    """Print the comparison's table on the shared console, or wider than it when it is too narrow to hold
    the table."""
    from vfibench.results.compare_render import caption, minimum_width, rich_table

    table = rich_table(comparison)
    needed = minimum_width(comparison, console)
    (console if console.width >= needed else console_of_width(needed)).print(table)
    console.print(caption(comparison), highlight=False)


@report_errors
def compare(
    new: Annotated[Path, typer.Argument(metavar="NEW", help="The run to check: a run directory holding a "
                                        "summary.csv (e.g. results/latest), of a sweep or an evaluation, or a "
                                        "summary.csv file.")],
    base: Annotated[Path, typer.Argument(metavar="BASE", help="The baseline it must not fall behind: a run "
                                         "directory or a summary.csv file (e.g. a committed baseline).")],
    tol: Annotated[Optional[list[str]], typer.Option(
        "--tol", "-t", metavar="METRIC=VALUE",
        help="Absolute tolerance of a metric's mean, in its unit (dB for psnr); repeatable or comma-separated, "
             "e.g. --tol psnr=0.1 --tol lpips=0.005, or --tol psnr=0.1,lpips=0.005. `default=VALUE` sets every "
             "metric not named.")] = None,
    two_sided: Annotated[bool, typer.Option(
        "--two-sided", help="Fail on any change beyond the tolerance, improvements included (for a "
                            "refactoring that must not change numbers).")] = False,
    format: Annotated[CompareFormat, typer.Option(
        "--format", "-f", help="table for a terminal; md or json print the report alone on standard output "
                               "and the summary line on standard error.")] = CompareFormat.table,
    allow_different_setup: Annotated[bool, typer.Option(
        "--allow-different-setup",
        help="Give the verdict even when NEW and BASE were not made the same way (another preset, setting, test "
             "data, ground truth, sample set or seeds, or no row in common), which otherwise exits 2; the "
             "differences are printed as notes. E.g. `vfibench compare new-preset/latest old-preset/latest "
             "--allow-different-setup` to see how far another preset moved the numbers.")] = False,
    github: Annotated[Optional[bool], typer.Option(
        "--github/--no-github", help="Print a GitHub Actions ::error annotation per failure "
                                     "(default: on when GITHUB_ACTIONS=true).", show_default=False)] = None,
) -> None:
    """Compare NEW's metric table with BASE's; exit 1 if a number got worse beyond its tolerance."""
    from vfibench.results.compare import compare_summaries
    from vfibench.results.compare_inputs import load_summary
    from vfibench.results.compare_render import github_annotations, markdown, to_json
    from vfibench.results.compare_tolerances import parse_tolerances, resolve_tolerances
    from vfibench.results.compare_verdicts import summary_line

    named = parse_tolerances(tol or [])
    comparison = compare_summaries(load_summary(new), load_summary(base), resolve_tolerances(named),
                                   two_sided=two_sided, named=named, allow_different_setup=allow_different_setup)
    machine_readable = format is not CompareFormat.table
    if format is CompareFormat.table:
        _print_uncut(comparison)
        for note in comparison.notes:
            console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    elif format is CompareFormat.md:
        typer.echo(markdown(comparison), nl=False)
    else:
        typer.echo(to_json(comparison), nl=False)
    if github_mode(github):
        for line in github_annotations(comparison):
            typer.echo(line, err=machine_readable)
    typer.echo(summary_line(comparison), err=machine_readable)
    if comparison.failed:
        raise typer.Exit(code=1)
