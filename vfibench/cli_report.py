"""``vfibench report``: show a finished (or partial) run's tables.

A thin shell over :mod:`vfibench.results`; mounted by the main CLI as ``vfibench report``.
:func:`print_summary` is shared with ``vfibench run``, which prints the same table at its end.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vfibench.cli_support import console, report_errors

EPILOG = (
    "Examples:\n\n  vfibench report\n\n  vfibench report 20261125-101500-ab12 --format md\n\n"
    "  vfibench report --out /tmp/results --format csv"
)


class ReportFormat(str, Enum):
    table = "table"
    md = "md"
    csv = "csv"
    json = "json"


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
    print_summary(store, format)


def print_summary(store: "object", format: ReportFormat = ReportFormat.table) -> None:
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
