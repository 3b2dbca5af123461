"""A comparison for people and CI: a GitHub annotation per failure, a rich table for the terminal,
Markdown and JSON. Every format is made from the :class:`~vfibench.results.compare_verdicts.Comparison`
record alone; the summary line is :func:`vfibench.results.compare_verdicts.summary_line`. An
evaluation's rows are models, and the terminal and Markdown output call them so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from rich.markup import escape
from rich import box
from rich.console import Console
from rich.cells import cell_len
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from vfibench.metrics.records import metric_record
from vfibench.results import schema
from vfibench.results.compare_verdicts import (CONFIG_VERDICTS, METRIC_VERDICTS, Comparison, Row, Verdict,
                                               summary_line)
from vfibench.results.markdown import escape_cell, escape_prose
from vfibench.results.numbers import NO_VALUE, format_number


def github_annotations(comparison: Comparison) -> list[str]:
    """One GitHub Actions ``::error`` workflow command per failure (per configuration or metric where
    the failure is about a whole configuration or column)."""
    lines: list[str] = []
    seen: set[tuple[Verdict, str]] = set()
    for row in comparison.failures:
        key = (row.verdict, row.config if row.verdict in CONFIG_VERDICTS else
               row.metric if row.verdict in METRIC_VERDICTS else f"{row.config}\0{row.metric}")
        if key in seen:
            continue
        seen.add(key)
        title, message = _annotation(row, comparison.noun)
        lines.append(f"::error title={_escape_property(title)}::{_escape_data(message)}")
    return lines


def _annotation(row: Row, noun: str = schema.ROW_NOUNS[schema.SWEEP]) -> tuple[str, str]:
    """The title and message of a failing row's annotation (``noun``: what a row is)."""
    if row.verdict is Verdict.MISSING_IN_NEW:
        return f"vfibench missing {noun}", f"{row.config}: results in BASE but none in NEW"
    if row.verdict is Verdict.DIVERGED:
        return "vfibench divergence", f"{row.config}: diverged in NEW ({row.note})"
    if row.verdict is Verdict.FAILED:
        return "vfibench failure", f"{row.config}: failed in NEW ({row.note})"
    if row.verdict is Verdict.MISSING_METRIC:
        return "vfibench missing metric", f"{row.metric}: a column in BASE but not in NEW"
    if row.verdict is Verdict.LOST_VALUE:
        return "vfibench lost value", f"{row.config} {row.metric}: {row.note}"
    title = "vfibench regression" if row.verdict is Verdict.REGRESSED else "vfibench change"
    return title, f"{row.config} {row.metric} {change_text(row)}"


def change_text(row: Row) -> str:
    """``"0.2101 → 0.2150 (+0.0049, tolerance 0.002; lower is better)"``."""
    if row.base is None or row.new is None or row.difference is None:
        return row.note
    info = metric_record(row.metric)
    direction = ("higher is better" if info.higher_is_better else "lower is better"
                 if info.higher_is_better is not None else f"best at {info.target:g}")
    tolerance = f"tolerance {row.tolerance:g}; " if row.tolerance is not None else ""
    note = f"; {row.note}" if row.note else ""
    base, new = format_number(row.base, row.metric), format_number(row.new, row.metric)
    return f"{base} → {new} ({row.difference:+.4f}, {tolerance}{direction}{note})"


def _escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """Escape a workflow command's property value."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _format_difference(row: Row) -> str:
    """Four decimals, or two significant digits for a difference too small to show in four."""
    if row.difference is None:
        return NO_VALUE
    if 0 < abs(row.difference) < 5e-5:
        return f"{row.difference:+.1e}"
    return f"{row.difference:+.4f}"


def _format_tolerance(row: Row) -> str:
    return NO_VALUE if row.tolerance is None else f"{row.tolerance:g}"


def verdict_text(verdict: Verdict, noun: str) -> str:
    """A verdict as the terminal and Markdown show it: "new model" for an evaluation's new row."""
    return verdict.value.replace("configuration", noun)


def _metric_heading(metric: str) -> str:
    """``"psnr ↑"``, ``"lpips ↓"``, ``"sharpness →1"``; "all metrics" for a configuration-level row."""
    return f"{metric} {metric_record(metric).arrow}" if metric else "all metrics"


def display_rows(comparison: Comparison) -> list[Row]:
    """The rows as tables show them: a configuration-level verdict (missing in new, diverged, new
    configuration) once per configuration, with the metric left empty, instead of once per metric."""
    shown: list[Row] = []
    for row in comparison.rows:
        if row.verdict in CONFIG_VERDICTS:
            if shown and shown[-1].config == row.config and shown[-1].verdict is row.verdict and not shown[-1].metric:
                continue
            row = replace(row, metric="", base=None, new=None, difference=None, tolerance=None)
        shown.append(row)
    return shown


def row_notes(rows: Sequence[Row], noun: str) -> list[str]:
    """``"l1 psnr: lost value, …"`` per row with a note; a note that every metric of a row shares, with the
    same verdict, once: ``"l1: unavailable, …"``."""
    metrics: dict[tuple[str, Verdict, str], list[str]] = {}
    for row in rows:
        if row.note:
            metrics.setdefault((row.config, row.verdict, row.note), []).append(row.metric)
    lines = []
    for (config, verdict, note), names in metrics.items():
        every = len(names) > 1 and set(names) == {row.metric for row in rows if row.config == config}
        where = config if every or not names[0] else f"{config} {', '.join(names)}"
        lines.append(f"{where}: {verdict_text(verdict, noun)}, {note}")
    return lines


_STYLES = {Verdict.OK: "dim", Verdict.IMPROVED: "green", Verdict.NEW_CONFIGURATION: "cyan",
           Verdict.NEW_METRIC: "cyan", Verdict.UNAVAILABLE: "yellow"}


def rich_table(comparison: Comparison, names_cut_to: int | None = None) -> Table:
    """The comparison for a terminal: failures in bold red, improvements in green.

    Only configuration names wrap; the tolerances and the rows' notes follow the table
    (:func:`caption`). Print it at least :func:`minimum_width` wide so that no number is cut.
    ``names_cut_to`` cuts the names to that many characters (what :func:`minimum_width` measures).
    """
    rows = display_rows(comparison)
    table = Table(title=f"NEW  {escape(str(comparison.new))}\nBASE {escape(str(comparison.base))}",
                  title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(comparison.noun, overflow="fold")
    for heading in ("metric", "base", "new", "Δ", "verdict"):
        table.add_column(heading, justify="left" if heading in ("metric", "verdict") else "right", no_wrap=True)
    for row in rows:
        style = "bold red" if row.fails else _STYLES.get(row.verdict, "")
        verdict = escape(verdict_text(row.verdict, comparison.noun))
        table.add_row(escape(row.config[:names_cut_to]), _metric_heading(row.metric),
                      format_number(row.base, row.metric), format_number(row.new, row.metric), _format_difference(row),
                      f"[{style}]{verdict}[/]" if style else verdict)
    return table


def caption(comparison: Comparison) -> Text:
    """What follows :func:`rich_table` on a terminal: the tolerances and the rows' notes, a line each, as
    wide as the terminal (a caption of the table would fold them to the table's width, which its
    names set)."""
    notes = [tolerance_text(comparison)] + row_notes(display_rows(comparison), comparison.noun)
    return Text("\n".join(notes), style="dim")


#: The narrowest the configuration column (the one that folds) is made before the table is printed wider
#: than the terminal instead.
NAME_COLUMN_FLOOR = 12


def minimum_width(comparison: Comparison, console: Console) -> int:
    """The narrowest width at which :func:`rich_table` prints without cutting a cell: every column that does
    not wrap at its widest (rich would otherwise take the difference from the names), the names folded to
    :data:`NAME_COLUMN_FLOOR` characters (or the heading's), and the padding."""
    narrow = rich_table(comparison, names_cut_to=max(NAME_COLUMN_FLOOR, cell_len(comparison.noun)))
    return Measurement.get(console, console.options.update(width=10_000), narrow).maximum


def tolerance_text(comparison: Comparison) -> str:
    """``"Absolute tolerances: psnr 0.05 dB, lpips 0.002; one-sided (only a worsening fails)."``"""
    listed = ", ".join(f"{metric} {value:g}" + (f" {unit}" if (unit := metric_record(metric).unit) else "")
                       for metric, value in comparison.tolerances.items())
    mode = "two-sided (any change beyond them fails)" if comparison.two_sided else \
        "one-sided (only a worsening beyond them fails)"
    return f"Absolute tolerances: {listed}; {mode}."


def markdown(comparison: Comparison) -> str:
    """The comparison as GitHub-flavoured Markdown: a heading, the table (failures in bold), notes."""
    lines = [
        "## vfibench compare",
        "",
        f"NEW `{comparison.new}` against BASE `{comparison.base}`. {tolerance_text(comparison)}",
        "",
        f"| {comparison.noun} | metric | base | new | Δ new − base | tolerance | verdict | note |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for row in display_rows(comparison):
        verdict = verdict_text(row.verdict, comparison.noun)
        cells = [escape_cell(text) for text in (_metric_heading(row.metric), format_number(row.base, row.metric),
                                                 format_number(row.new, row.metric), _format_difference(row),
                                                 _format_tolerance(row), verdict, row.note)]
        if row.fails:
            cells[5] = f"**{cells[5]}**"
        code = row.config.replace("|", "\\|")  # a code span shows its text as written, but for GFM's separator
        lines.append(f"| `{code}` | " + " | ".join(cells) + " |")
    if comparison.notes:
        lines += ["", *[f"- {escape_prose(note)}" for note in comparison.notes]]
    lines += ["", f"**{escape_prose(summary_line(comparison))}**"]
    return "\n".join(lines) + "\n"


def to_json(comparison: Comparison) -> str:
    """The comparison as an indented JSON document (see :meth:`Comparison.to_dict`)."""
    return json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False) + "\n"
