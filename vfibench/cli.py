"""The ``vfibench`` command line: one Typer app that mounts the commands, each in its own module.

Every command is a thin shell that parses options, calls the library and prints; each has
``--help`` with examples. Problems the user can fix are printed as one paragraph and exit with
code 2; nothing prints a traceback for them. The command modules import torch and the rest of the
library only inside the commands that compute, so ``--help`` and the commands that only read start
quickly (``benchmarks/bench_startup.py`` measures it).
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from vfibench import __version__, cli_compare, cli_data, cli_eval, cli_losses, cli_report, cli_run, cli_weights
from vfibench.cli_support import (MARKUP, HumanCommand, HumanGroup, drop_zero_sizes, examples, replace_unencodable,
                                  tolerate_gone_readers)

app = typer.Typer(
    name="vfibench",
    cls=HumanGroup,
    help=(
        "Which training loss should a video-frame-interpolation model use? vfibench trains one fixed "
        "interpolator per loss configuration, everything else held equal, and measures PSNR, SSIM, LPIPS, "
        "DISTS, sharpness and GMSD to expose the gap between distortion and perceptual quality.\n\n"
        + examples("vfibench run --losses l1,l1+perc", "vfibench report", "vfibench losses superslomo",
                   "vfibench compare results/latest results/baselines/ci.csv")
    ),
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=MARKUP,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"vfibench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    """Options that apply before any command."""


app.command("run", cls=HumanCommand, epilog=cli_run.EPILOG)(cli_run.run)
app.command("report", cls=HumanCommand, epilog=cli_report.EPILOG)(cli_report.report)
app.command("losses", cls=HumanCommand, epilog=cli_losses.EPILOG)(cli_losses.losses)
app.command("compare", cls=HumanCommand, epilog=cli_compare.EPILOG)(cli_compare.compare)
app.command("eval", cls=HumanCommand, epilog=cli_eval.EPILOG)(cli_eval.eval_command)
app.add_typer(cli_weights.app, name="weights")
app.add_typer(cli_data.app, name="data")


def main() -> None:
    """Entry point of the ``vfibench`` console script."""
    replace_unencodable(sys.stdout, sys.stderr)
    tolerate_gone_readers()  # `vfibench compare … | head` keeps compare's exit code
    drop_zero_sizes()
    app()


if __name__ == "__main__":
    main()
