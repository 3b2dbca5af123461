"""``vfibench losses [NAME]``: the loss catalog, or one term, preset or configuration spec explained.

A thin shell over :mod:`vfibench.losses.describe`; mounted by the main CLI as ``vfibench losses``.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from vfibench.cli_support import console, examples, report_errors

EPILOG = examples("vfibench losses", "vfibench losses charbonnier", "vfibench losses superslomo",
                  "vfibench losses \"l1+0.1*perc(layer=relu2_2)@0.5\"   # any configuration, explained")


@report_errors
def losses(
    name: Annotated[Optional[str], typer.Argument(
        metavar="SPEC", help="A loss term, a paper preset or any configuration (\"l1+0.1*perc@0.5\") to explain.",
        show_default=False)] = None,
) -> None:
    """The loss catalog: every term and paper preset, with what it needs and its formula; or one explained."""
    from vfibench.losses.describe import describe_name, catalog_tables

    if name is None:
        for table in catalog_tables():
            console.print(table)
    else:
        console.print(describe_name(name))
