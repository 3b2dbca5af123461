"""The per-configuration table, rendered from summary records for the terminal and as Markdown.

Cells read ``mean ± std`` (std over seeds, shown when there are at least two and it is not zero,
so deterministic references read as a plain number; the std is rounded to the mean's decimals, or
to one significant digit when smaller), headers carry an arrow for the metric's direction, and the
best value of each column is marked. In the terminal the table reflows into blocks of metric
columns, each repeating the configuration column, so that no label or number is ever cut. A metric that could
not be computed reads "unavailable" in every cell; a configuration that diverged or could not run
says so in its status column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from vfibench.analysis.verdict import row_noun
from vfibench.metrics.records import metric_record
from vfibench.model.variants import DEFAULT_VARIANT, LEGACY_VARIANT, MODEL_VARIANTS
from vfibench.presets import DEFAULT_PRECISION
from vfibench.results import atomic, schema
from vfibench.results.numbers import NO_VALUE, decimals, format_number, printed_goodness
from vfibench.results.schema import (COMPLETE, CONFIG, KIND, MEAN, NOTED_STATUSES, REASON, REFERENCE, SAMPLES, SEEDS,
                                     STATUS, STD)
from vfibench.results.store import RunStore
from vfibench.words import counted

#: What a cell of a metric that could not be computed reads (the status's word).
UNAVAILABLE = schema.UNAVAILABLE


@dataclass(frozen=True)
class Cell:
    """One cell: its value as printed, whether it is its column's best, and the spread over seeds
    (:func:`format_std`, "" when none)."""

    value: str
    best: bool = False
    spread: str = ""

    @property
    def text(self) -> str:
        """The cell as the tables print it: ``26.93 ± 0.05``."""
        return f"{self.value} {self.spread}" if self.spread else self.value


def format_std(std: float, metric: str, mean: float) -> str | None:
    """``± std`` for a cell, or None when there is nothing to show (no std, or exactly 0).

    The std gets the mean's decimals (:func:`~vfibench.results.numbers.decimals`: two for PSNR, four
    for the indices); a std too small for them keeps one significant digit (``± 0.00004``), so a real
    spread never reads as zero.
    """
    if std is None or (isinstance(std, float) and math.isnan(std)) or std == 0:
        return None
    places = decimals(metric, mean)
    if round(std, places) == 0:
        places = -int(math.floor(math.log10(abs(std))))
    return f"± {std:.{places}f}"


def header(metric: str) -> str:
    """The column header: label, unit and direction (``PSNR (dB) ↑``, ``LPIPS ↓``, ``Sharpness →1``)."""
    return metric_record(metric).heading


def competing_rows(summary: pd.DataFrame) -> np.ndarray:
    """Which rows compete for a column's best mark: the trained (or evaluated) ones, or every row when
    none is (a table of references alone) — but not the trained rows over fewer seeds than the others
    (:func:`short_of_seeds`): their means average other training runs, and a partial row's may rest on
    a seed the others do not have yet."""
    if KIND not in summary:
        return np.ones(len(summary), dtype=bool)
    ranked = summary[KIND].astype(str).map(schema.is_ranked).to_numpy(dtype=bool)
    if not ranked.any():
        return np.ones(len(summary), dtype=bool)
    return ranked & ~short_of_seeds(summary)


def short_of_seeds(summary: pd.DataFrame) -> np.ndarray:
    """The trained rows whose means cover fewer seeds than another trained row's, but some."""
    if SEEDS not in summary or KIND not in summary:
        return np.zeros(len(summary), dtype=bool)
    counts = seed_counts(summary)
    trained = (summary[KIND].astype(str) == schema.TRAINED).to_numpy(dtype=bool)
    if not trained.any():
        return np.zeros(len(summary), dtype=bool)
    return trained & (counts > 0) & (counts < counts[trained].max())


def seed_counts(summary: pd.DataFrame) -> np.ndarray:
    """How many seeds each row's means cover (0 for a row without results)."""
    return pd.to_numeric(summary[SEEDS], errors="coerce").fillna(0).astype(int).to_numpy()


def competing_seeds(summary: pd.DataFrame) -> int:
    """How many seeds the rows competing for the best mark cover (:func:`competing_rows`), as the notes
    and captions say when rows over fewer seeds are left out of the race."""
    return int(seed_counts(summary)[competing_rows(summary)].max())


def marks_best(summary: pd.DataFrame, metrics: Sequence[str]) -> bool:
    """Whether the table marks a best value in any of ``metrics`` (:func:`best_rows`)."""
    return any(best_rows(summary, metric) for metric in metrics)


def best_rows(summary: pd.DataFrame, metric: str) -> set[int]:
    """Row positions holding the best mean of ``metric`` among the :func:`competing_rows` that have one;
    none unless two or more do (one model scored alone, or one configuration beside the references or
    beside diverged ones, would be "best" in every column). Means are compared as printed
    (:func:`~vfibench.results.numbers.printed_value`), so every row that prints the best value is
    marked: ties are all marked, unless every competing row ties (then none is better, and none is marked).

    "Best" follows the metric's direction: the largest value, the smallest, or for a metric with a
    target (the sharpness ratio) the value closest to that target, |x − target| smallest.
    """
    mean = schema.column(metric, MEAN)
    if mean not in summary:
        return set()
    values = pd.to_numeric(summary[mean], errors="coerce").where(competing_rows(summary))
    if values.notna().sum() < 2:
        return set()
    goodness = printed_goodness(values.to_numpy(dtype=np.float64), metric)
    top = np.nanmax(goodness)
    best = {i for i, v in enumerate(goodness) if v == top}
    return best if len(best) < values.notna().sum() else set()  # all alike: no row is better than another


def table_cells(summary: pd.DataFrame, metrics: Sequence[str], unavailable: dict[str, str]) -> list[list[Cell]]:
    """The body of the table: config, status, then one cell per metric."""
    best = {metric: best_rows(summary, metric) for metric in metrics}
    rows: list[list[Cell]] = []
    for position, record in enumerate(summary.to_dict("records")):
        cells = [Cell(str(record[CONFIG])), Cell(_status(record))]
        for metric in metrics:
            if metric in unavailable:
                cells.append(Cell(UNAVAILABLE))
                continue
            mean, std = record.get(schema.column(metric, MEAN)), record.get(schema.column(metric, STD))
            value = format_number(mean, metric)
            spread = format_std(std, metric, mean) if value != NO_VALUE else None
            cells.append(Cell(value, position in best[metric], spread or ""))
        rows.append(cells)
    return rows


def _status(record: dict) -> str:
    status = str(record.get(STATUS, ""))
    if record.get(KIND) == REFERENCE and status == COMPLETE:
        return REFERENCE
    return status


def rich_table(summary: pd.DataFrame, metrics: Sequence[str], unavailable: dict[str, str],
               title: str = "") -> "SummaryTable":
    """The summary for the terminal; the best value per column in bold green with a ★.

    Light borders, numbers and headers never wrapped, and the status column shown only when some
    configuration is not simply complete (references are labelled in their own cell and dimmed).
    When the metric columns do not fit the console they reflow into several blocks, each with the
    configuration column, instead of being cut.
    """
    return SummaryTable(table_cells(summary, metrics, unavailable), [header(m) for m in metrics], title,
                        row_header(summary))


def row_header(summary: pd.DataFrame) -> str:
    """The name column's header: "model" for an evaluation's summary, "configuration" for a sweep's."""
    return row_noun(summary[KIND]) if KIND in summary else "configuration"


class SummaryTable:
    """A rich renderable: the summary table split into as many column blocks as the width needs."""

    def __init__(self, body: list[list[Cell]], headers: list[str], title: str = "",
                 rows_are: str = "configuration") -> None:
        self.body, self.headers, self.title, self.rows_are = body, headers, title, rows_are

    def block(self, columns: Sequence[int], first: bool) -> Table:
        """The table of the metric columns ``columns`` (the status column only in the first block)."""
        show_status = first and any(cells[1].text not in (COMPLETE, REFERENCE) for cells in self.body)
        table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column(self.rows_are, style="cyan", overflow="fold")  # folds only if wider than the console
        if show_status:
            table.add_column("status", no_wrap=True)
        for column in columns:
            table.add_column(self.headers[column], justify="right", no_wrap=True)
        for cells in self.body:
            config, status = cells[0].text, cells[1].text
            name = Text(f"{config} (ref)", style="dim") if status == REFERENCE else Text(config)
            row: list[Text | str] = [name, Text(status)] if show_status else [name]
            for cell in (cells[2 + column] for column in columns):
                if cell.best:
                    row.append(Text(f"{cell.text}★", style="bold green"))
                else:
                    row.append(Text(cell.text, style="dim" if cell.text == UNAVAILABLE else ""))
            table.add_row(*row)
        return table

    def blocks(self, console: Console, options: ConsoleOptions) -> list[Table]:
        """Metric columns packed greedily, in order, into blocks no wider than ``options.max_width``."""
        blocks: list[Table] = []
        pending: list[int] = []
        unbounded = options.update_width(10_000)  # the natural width, not clamped to the console
        for column in range(len(self.headers)):
            trial = self.block([*pending, column], first=not blocks)
            if pending and Measurement.get(console, unbounded, trial).maximum > options.max_width:
                blocks.append(self.block(pending, first=not blocks))
                pending = []
            pending.append(column)
        if pending or not blocks:
            blocks.append(self.block(pending, first=not blocks))
        return blocks

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.title:  # its own line, as wide as the console: a table's title wraps at the table's width
            yield Text(self.title, style="table.title")
        yield from self.blocks(console, options)


def markdown_table(summary: pd.DataFrame, metrics: Sequence[str], unavailable: dict[str, str]) -> str:
    """The summary as a GitHub-flavoured Markdown table; the best value per column in bold."""
    from vfibench.results.markdown import escape_cell

    head = [row_header(summary), "status", *[header(m) for m in metrics]]
    lines = ["| " + " | ".join(map(escape_cell, head)) + " |",
             "|" + "|".join(["---", "---"] + ["---:"] * len(metrics)) + "|"]
    for cells in table_cells(summary, metrics, unavailable):
        lines.append("| " + " | ".join(f"**{escape_cell(c.text)}**" if c.best else escape_cell(c.text)
                                       for c in cells) + " |")
    return "\n".join(lines)


def rows_over_fewer_seeds(summary: pd.DataFrame) -> list[tuple[str, int]]:
    """(configuration, seeds) of the trained rows whose means cover fewer seeds than the table's most,
    but some: a partial configuration, or one that diverged on some of its seeds and keeps the others'."""
    if not len(summary):
        return []
    counts = seed_counts(summary)
    kinds = summary[KIND].astype(str) if KIND in summary else pd.Series([schema.TRAINED] * len(summary))
    most = int(counts.max())
    return [(str(config), int(count)) for config, kind, count in zip(summary[CONFIG], kinds, counts)
            if kind == schema.TRAINED and 0 < count < most]


def _best_note(summary: pd.DataFrame, metrics: Sequence[str]) -> str:
    """Which rows the best marks are among (:func:`competing_rows`), or why none is marked although
    trained rows compete."""
    short = short_of_seeds(summary)
    if not marks_best(summary, metrics):
        if short.any():
            return (" No best value is marked: the trained configurations' means cover different numbers of "
                    "seeds.")
        return ""
    if competing_rows(summary).all():
        return " Best value per column marked."
    if short.any():
        return (f" Best value per column among the trained configurations over "
                f"{counted(competing_seeds(summary), 'seed')} marked; "
                f"references and configurations over fewer seeds are not ranked for it.")
    return " Best value per column among the trained configurations marked; references are not ranked for it."


def table_notes(summary: pd.DataFrame, unavailable: dict[str, str], metrics: Sequence[str] = ()) -> list[str]:
    """Plain-text notes that belong under the table (``metrics``: the columns shown, for their
    direction notes)."""
    seeds = int(summary[SEEDS].max()) if len(summary) else 0
    samples = int(summary[SAMPLES].max()) if len(summary) else 0
    fewer = [f"'{config}' over {counted(count, 'seed')}" for config, count in rows_over_fewer_seeds(summary)]
    over_seeds = (f" and {seeds} seeds (± std over seeds" + (f"; {', '.join(fewer)}" if fewer else "") + ")"
                  if seeds > 1 else "")
    notes = [f"Mean over {counted(samples, 'test sample')}{over_seeds}"
             + "; 95% bootstrap intervals over samples are in summary.csv." + _best_note(summary, metrics)]
    for metric in metrics:
        info = metric_record(metric)
        if info.higher_is_better is None and metric not in unavailable:
            notes.append(f"{info.label} {info.arrow}: best at {info.target:g}, not highest or lowest. "
                         f"{info.description}")
    for metric, reason in unavailable.items():
        notes.append(f"{metric_record(metric).label} unavailable: {reason}")
    for record in summary.to_dict("records"):
        if record.get(STATUS) in NOTED_STATUSES:
            reason = record.get(REASON)
            known = isinstance(reason, str) and reason.strip()  # an empty cell reads back as NaN
            notes.append(f"'{record[CONFIG]}' {record[STATUS]}" + (f": {reason}" if known else ""))
    return notes


def trained_variant(manifest: Mapping[str, Any]) -> str | None:
    """The interpolator variant a sweep trained: its manifest's model record, else its preset's, else the
    one runs trained before variants were recorded (:data:`~vfibench.model.variants.LEGACY_VARIANT`);
    None for an evaluation."""
    if schema.run_kind(manifest) != schema.SWEEP:
        return None
    model, preset = manifest.get("model"), manifest.get("preset")
    if isinstance(model, Mapping) and isinstance(model.get("variant"), str):
        return model["variant"]
    if isinstance(preset, Mapping) and isinstance(preset.get("model"), str):
        return preset["model"]
    return LEGACY_VARIANT


def run_facts(manifest: Mapping[str, Any]) -> list[str]:
    """What a run's numbers depend on beyond its table, read from its manifest, which every table of the
    run states (summary.md, the terminal and report notes, the LaTeX caption): a model variant other
    than the default, a training precision other than fp32, a warm start shared by every configuration,
    and training and test data that share content."""
    facts = []
    variant = trained_variant(manifest)
    if variant is not None and variant != DEFAULT_VARIANT:
        what = MODEL_VARIANTS[variant][1] if variant in MODEL_VARIANTS else "a variant this version does not know"
        facts.append(f"Model: the {variant} variant of the interpolator ({what}).")
    precision = manifest.get("precision") if isinstance(manifest.get("precision"), Mapping) else {}
    if precision.get("training") not in (None, DEFAULT_PRECISION):
        facts.append(f"Trained in {precision['training']}: {precision.get('note') or 'not float32'}.")
    warm = manifest.get("warm_start") or {}
    if warm.get("steps"):
        facts.append(f"Warm start: the first {counted(int(warm['steps']), 'step')} of every configuration trained "
                     f"with plain {warm.get('loss')}, shared across configurations.")
    data = manifest.get("data") or {}
    # the clause of vfibench.data.sources.content_overlap; older runs recorded true, and their note said it
    shared = data.get("same_source")
    if shared:
        clause = shared if isinstance(shared, str) else str(data.get("note") or "training and test triplets "
                                                            "share frames: test scores are not on unseen content")
        facts.append(f"{clause[:1].upper()}{clause[1:]}.")
    return facts


def summary_markdown(title: str, summary: pd.DataFrame, metrics: Sequence[str], unavailable: dict[str, str],
                     run_notes: Sequence[str] = ()) -> str:
    """summary.md, as written and as ``report --format md`` without ``--write`` prints it: the heading, the
    table, then its notes and ``run_notes`` (the manifest's, :meth:`~vfibench.results.view.RunView.run_notes`)."""
    from vfibench.results.markdown import escape_prose

    notes = "\n".join(f"- {escape_prose(note)}" for note in [*table_notes(summary, unavailable, metrics), *run_notes])
    return f"# vfibench results: {escape_prose(title)}\n\n{markdown_table(summary, metrics, unavailable)}\n\n{notes}\n"


def write_summary_files(store: RunStore, summary: pd.DataFrame, metrics: Sequence[str],
                        unavailable: dict[str, str], title: str = "", run_notes: Sequence[str] = ()) -> None:
    """Write summary.csv and summary.md (:func:`summary_markdown`) of a run, atomically; ``title``
    defaults to the run id."""
    atomic.write_csv(store.path(schema.SUMMARY_FILE), summary)
    text = summary_markdown(title or store.name, summary, metrics, unavailable, run_notes)
    atomic.write_text(store.path(schema.SUMMARY_MARKDOWN), text)
