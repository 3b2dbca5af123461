"""``vfibench report``: a run's tables, gap analysis, perception–distortion plot, image grids and HTML.

A thin shell over :mod:`vfibench.results.report`; mounted by the main CLI as ``vfibench report``.
Plain ``vfibench report`` writes RUN/report/ and prints the tables; ``--format X`` only prints
(``--write`` writes the folder as well).
:func:`print_summary` is shared with ``vfibench run``, which prints the same table at its end, and
:func:`print_report` with ``vfibench eval``.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.markup import escape

from vfibench.cli_support import console, error_console, examples, report_errors
from vfibench.errors import VfiBenchError
from vfibench.words import counted, join_words

if TYPE_CHECKING:
    from vfibench.results.report import Report
    from vfibench.results.store import RunStore

EPILOG = examples(
    "vfibench report",
    "vfibench report 20261125-101500-ab12 --format md",
    "vfibench report --out /tmp/results --format csv",
    "vfibench report --format html > report.html",
    "vfibench report --format latex > table.tex   # the summary table for a paper",
    "vfibench report --samples 5                   # write the report with five image grids",
    "vfibench report --plane ssim:gmsd --intervals paired   # another plane, paired error bars",
    notes="Without --format, report writes RUN/report/: report.html (self-contained), report.md, summary.tex, "
    "analysis.json, perception_distortion.png (300 dpi, with .pdf and .svg beside it), grid_sample*.png, a "
    "sweep's training_curves.png and, where the test samples record attributes (synthetic scenes: ambiguity, "
    "motion, occlusion; real data: estimated motion), breakdown.csv and gap_by_ATTRIBUTE.png (with .pdf), and "
    "prints the tables. With --format it prints and writes no report, unless --write is given. "
    "Either way, a run table deleted from a sweep (summary.csv and the others derived from its units) is first "
    "rebuilt from its units, and a line on stderr says so. Image grids are only replaced by newly drawn ones: "
    "--samples 0 keeps the earlier grids. A grid is drawn only from the frames the run scored, read where it "
    "recorded them: a sample whose frames are missing there or changed since gets no grid, and a warning on stderr "
    "and a note in the report say which (the rest of the report is written, and the exit code is 0).",
)


#: Image grids drawn when --samples is not given.
DEFAULT_SAMPLES = 3


class Intervals(str, Enum):
    bootstrap = "bootstrap"
    paired = "paired"


class ReportFormat(str, Enum):
    table = "table"
    md = "md"
    csv = "csv"
    json = "json"
    html = "html"
    latex = "latex"


@report_errors
def report(
    run_name: Annotated[Optional[str], typer.Argument(metavar="RUN", help="A run name under --out or a run "
                                                      "directory; default: the latest complete run.",
                                                      show_default=False)] = None,
    out: Annotated[Path, typer.Option(help="Folder that holds the run directories.")] = Path("results"),
    format: Annotated[Optional[ReportFormat], typer.Option(
        "--format", "-f", help="Print only this, and write no report: the terminal tables, Markdown, the summary "
        "as CSV, JSON (summary and analysis), the self-contained HTML page, or the summary as a LaTeX table "
        "(booktabs) for a paper. [default: the tables, after writing RUN/report/]", show_default=False)] = None,
    write: Annotated[Optional[bool], typer.Option(
        "--write/--no-write", help="Write RUN/report/. [default: only when --format is not given]",
        show_default=False)] = None,
    samples: Annotated[Optional[int], typer.Option(
        "--samples", min=0, help="Image grids to draw: the samples where PSNR and the perceptual metrics disagree "
        "most (0: none; a written report then keeps its earlier grids). Only a written report and --format html "
        "hold grids. [default: 3]", show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option(help="Whose outputs the image grids show, and whose scores choose "
                                                "their samples (default: the run's first seed).", min=0)] = None,
    plane: Annotated[Optional[str], typer.Option(
        "--plane", metavar="X:Y", help="The two metrics of the perception–distortion plane, e.g. psnr:lpips or "
        "ssim:dists. Only a written report, --format html and --format json hold the plane. [default: PSNR against "
        "the first perceptual metric]", show_default=False)] = None,
    intervals: Annotated[Intervals, typer.Option(
        help="The plane's error bars: each mean's 95% bootstrap interval, or the 95% interval of the paired "
        "per-sample difference to one configuration (--paired-to).")] = Intervals.bootstrap,
    paired_to: Annotated[Optional[str], typer.Option(
        "--paired-to", metavar="CONFIG", help="The configuration paired intervals are measured against, as the run "
        "names it (a model's name in any case) or, for a trained configuration, in any spelling of its loss; only "
        "with --intervals paired. [default: the first trained configuration]", show_default=False)] = None,
) -> None:
    """Write a run's report (HTML, Markdown, plot, image grids) under RUN/report/ and print its tables."""
    from vfibench.results.store import RunStore

    from vfibench.results.report import PlaneOptions

    if write is None:
        write = format is None
    format = format or ReportFormat.table
    plane_given = [text for text, given in ((f"--plane {plane}", plane is not None),
                                            (f"--intervals {intervals.value}", intervals is not Intervals.bootstrap),
                                            (f"--paired-to {paired_to}", paired_to is not None)) if given]
    refusal = unused_options_refusal(format, write, samples, seed, plane_given)
    if refusal:
        raise VfiBenchError(refusal)
    samples = DEFAULT_SAMPLES if samples is None else samples
    options = PlaneOptions.parse(plane, intervals.value, paired_to)
    store = RunStore.open(out, run_name)
    if store.missing_derived_tables() and (writer := store.writer()) is not None:
        raise VfiBenchError(f"The run '{store.root}' has no tables yet: a sweep (process {writer}) is writing it and "
                            f"writes them when its first unit finishes. Report it then, or once the sweep has "
                            f"finished.")
    for name in _rebuild_tables(store) if store.missing_derived_tables() else []:  # only then is torch loaded
        error_console.print(f"[dim]{escape(name)} was missing; rebuilt from the run's units.[/]", highlight=False)
    if write:
        print_report(build_report_showing_progress(store, grid_samples=samples, seed=seed, plane=options), format)
    elif format in SUMMARY_ONLY:  # the summary alone: no plane or seed option reaches here (refused above)
        print_summary(store, format, check_tables=True)
    else:
        from vfibench.results import report as lib

        data = lib.load_report_data(store)
        if format is ReportFormat.html:  # drawn in a scratch folder, its options checked as it is drawn
            from vfibench.cli_progress import working

            with working(error_console, "Drawing the page: figures, image grids"):
                page = lib.html_page(data, grid_samples=samples, seed=seed, plane=options, warn=warn)
            sys.stdout.write(page)
            return
        print_report(lib.unwritten_report(data, plane=options), format)  # the plane checked as a written one's


#: What each format prints when no report is written.
PRINTED = {ReportFormat.table: "the tables", ReportFormat.md: "the report as Markdown, without images",
           ReportFormat.csv: "the summary as CSV", ReportFormat.json: "the summary and analysis as JSON",
           ReportFormat.html: "the page", ReportFormat.latex: "the summary as a LaTeX table"}
#: The formats that print the summary alone, read without the gap analysis.
SUMMARY_ONLY = (ReportFormat.csv, ReportFormat.latex)


#: The formats whose output holds the perception–distortion plane when no report is written.
PLANE_FORMATS = (ReportFormat.html, ReportFormat.json)


def unused_options_refusal(format: ReportFormat, write: bool, samples: int | None = None, seed: int | None = None,
                           plane: Sequence[str] = ()) -> str:
    """Why options that shape only the image grids (``--samples``, ``--seed``) or the perception–distortion
    plane (``plane``: the plane options as given) cannot be honoured with this format and nothing written ("" when
    they can), naming every such option: grids are drawn only into a written report or an HTML page, the plane
    also into JSON; an option with no effect on what is printed would otherwise be ignored without a word."""
    if write:
        return ""
    grid = [] if format is ReportFormat.html else (
        ([f"--samples {samples}"] if samples else []) + ([f"--seed {seed}"] if seed is not None else []))
    unused = grid + ([] if format in PLANE_FORMATS else list(plane))
    if not unused:
        return ""
    drawn = (["image grids are drawn only into a written report or --format html"] if grid else []) + (
        ["the perception–distortion plane is drawn only into a written report, --format html or --format json"]
        if len(unused) > len(grid) else [])
    instead = "html" if grid else "html or --format json"
    return (f"{join_words(unused)} {'has' if len(unused) == 1 else 'have'} no effect with --format {format.value}, "
            f"which prints only {PRINTED[format]}, and writes no report: {'; '.join(drawn)}. Add --write to also "
            f"write RUN/report/, use --format {instead}, or leave {'it' if len(unused) == 1 else 'them'} out.")


def _rebuild_tables(store: "object") -> list[str]:
    from vfibench.sweep import rebuild_tables

    return rebuild_tables(store)  # type: ignore[arg-type]


def build_report_showing_progress(store: "RunStore", **options: Any) -> "Report":
    """:func:`~vfibench.results.report.build_report` with a spinner on stderr while it writes (a terminal only)."""
    from vfibench.cli_progress import working
    from vfibench.results.report import build_report

    with working(error_console, "Writing the report: analysis, figures, image grids"):
        built = build_report(store, **options)
    for warning in built.warnings:
        warn(warning)
    return built


def warn(text: str) -> None:
    """A warning on stderr: one paragraph (a report's :attr:`~vfibench.results.report.Report.warnings`)."""
    error_console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False, soft_wrap=True)


def print_report(built: "Report", format: ReportFormat = ReportFormat.table, per_file: bool | None = None) -> None:
    """Print a report in ``format`` (tables and analysis in the terminal, or one document).

    ``built`` is a written report, or one with nothing written (:func:`~vfibench.results.report.unwritten_report`).
    ``per_file``: list every file of an evaluation (True), never (False), or only when few (None).
    """
    from vfibench.results import report_tables
    from vfibench.results.report import markdown, report_json
    from vfibench.results.schema import FILE

    if format is ReportFormat.table:
        data = built.data
        print_summary(data.store, format)
        if FILE in data.per_sample and (per_file or (per_file is None and len(data.per_sample) <= 60)):
            console.print(_per_file_table(data))
        for table in data.tables:  # each section set off by a blank line, as the summary's caption is
            console.print()
            console.print(report_tables.to_rich(table))
        console.print()
        console.print(f"[bold]Verdict.[/] {escape(data.analysis.verdict)}", highlight=False)
        for note in built.notes:
            if note not in built.warnings:  # given on stderr as the report was written
                console.print(f"[dim]{escape(note)}[/]", highlight=False)
        if built.html is None:
            console.print(f"Report folder not written; `{escape(_report_command(data.store))}` writes it.",
                          highlight=False, soft_wrap=True)
        else:
            console.print(f"Report: [bold]{escape(str(built.html))}[/] ({counted(len(built.grids), 'image grid')}, "
                          f"{'a' if built.plot else 'no'} perception–distortion plot)", highlight=False)
    elif format is ReportFormat.md:
        sys.stdout.write(markdown(built))
    elif format is ReportFormat.html:
        sys.stdout.write(built.html.read_text(encoding="utf-8") if built.html else "")
    elif format is ReportFormat.json:
        sys.stdout.write(json.dumps(report_json(built), indent=2, allow_nan=False, default=_json_default) + "\n")
    elif format is ReportFormat.latex:
        sys.stdout.write(built.data.view.latex())
    else:
        sys.stdout.write(built.data.view.summary.to_csv(index=False))
    _say_if_incomplete(built.data.view, format)


#: The documents that hold no note on an unfinished run (the terminal, Markdown and HTML tables do).
NOTELESS = (ReportFormat.csv, ReportFormat.latex, ReportFormat.json)


def _say_if_incomplete(view: "object", format: ReportFormat) -> None:
    """On stderr, beside a document of ``format`` on stdout that holds no such note (:data:`NOTELESS`):
    that the run is unfinished, so its missing rows are not results."""
    note = view.incomplete_note() if format in NOTELESS else None  # type: ignore[attr-defined]
    if note:
        error_console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)


def _report_command(store: "object") -> str:
    """The command that writes the report of ``store``, runnable from the current folder: the run's
    directory path, relative when it lies below the current folder."""
    root = store.root.resolve()  # type: ignore[attr-defined]
    try:
        shown = root.relative_to(Path.cwd().resolve())
    except ValueError:
        shown = root
    return f"vfibench report {shlex.quote(str(shown))}"


def _json_default(value: object) -> object:
    return str(value)


def _per_file_table(data: object) -> "object":
    from rich.table import Table

    from vfibench.results.numbers import format_number
    from vfibench.results.schema import CONFIG, FILE
    from vfibench.results.tables import header

    view = data.view  # type: ignore[attr-defined]
    frame = data.per_sample  # type: ignore[attr-defined]
    table = Table(title="Per file", title_justify="left", header_style="bold")
    for name in ("file", "model"):
        table.add_column(name, no_wrap=True)
    for metric in view.metrics:
        table.add_column(header(metric), justify="right")
    for record in frame.to_dict("records"):
        cells = ["unavailable" if m in view.unavailable else format_number(record[m], m) for m in view.metrics]
        table.add_row(escape(str(record[FILE])), escape(str(record[CONFIG])), *cells)
    return table


def print_summary(store: "object", format: ReportFormat = ReportFormat.table, check_tables: bool = False) -> None:
    """Print the per-configuration table of a run in ``format`` (table, md, csv, latex or json); with
    ``check_tables``, only once its per-sample table is found to be the one it was drawn from (a report's)."""
    from vfibench.results.view import load_run_view

    view = load_run_view(store)  # type: ignore[arg-type]
    if check_tables:
        view.per_sample()
    if format is ReportFormat.table:
        console.print(view.rich_table())
        for note in view.notes():
            console.print(f"[dim]{escape(note)}[/]", highlight=False)
        console.print(f"Results: [bold]{escape(str(store.root))}[/]")  # type: ignore[attr-defined]
    elif format in (ReportFormat.md, ReportFormat.html):
        console.print(view.markdown(), markup=False, highlight=False, soft_wrap=True)
    elif format is ReportFormat.csv:
        sys.stdout.write(view.summary.to_csv(index=False))
    elif format is ReportFormat.latex:
        sys.stdout.write(view.latex())
    else:
        sys.stdout.write(json.dumps(view.summary_records(), indent=2, allow_nan=False) + "\n")
    _say_if_incomplete(view, format)
