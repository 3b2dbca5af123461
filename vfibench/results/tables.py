"""The per-configuration table, rendered from summary records for the terminal and as Markdown.

Cells read ``mean ± std`` (std over seeds, shown when there are at least two), headers carry an
arrow for the metric's direction, and the best value of each column is marked. A metric that could
not be computed reads "unavailable" in every cell; a configuration that diverged or could not run
says so in its status column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from rich import box
from rich.markup import escape
from rich.table import Table

from vfibench.metrics.registry import metric_info
from vfibench.results import atomic
from vfibench.results.store import RunStore

UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Cell:
    text: str
    best: bool = False


def format_number(value: float, metric: str) -> str:
    """Two decimals for dB-scale numbers (PSNR), four for the [0, 1]-scale indices."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    decimals = 2 if abs(value) >= 10 else 4
    return f"{value:.{decimals}f}"


def header(metric: str) -> str:
    """The column header: label and direction (``PSNR ↑``, ``LPIPS ↓``, ``Sharpness →1``)."""
    info = metric_info(metric)
    return f"{info.label} {info.arrow}"


def best_rows(summary: pd.DataFrame, metric: str) -> set[int]:
    """Row positions holding the best mean of ``metric`` (ties all marked).

    "Best" follows the metric's direction: the largest value, the smallest, or for a metric with a
    target (the sharpness ratio) the value closest to that target, |x − target| smallest.
    """
    column = f"{metric}_mean"
    if column not in summary:
        return set()
    values = pd.to_numeric(summary[column], errors="coerce")
    if values.isna().all():
        return set()
    info = metric_info(metric)
    goodness = info.goodness(torch.tensor(values.to_numpy(dtype=float), dtype=torch.float64)).numpy()
    top = np.nanmax(goodness)
    return {i for i, v in enumerate(goodness) if v == top}


def table_cells(summary: pd.DataFrame, metrics: Sequence[str], unavailable: dict[str, str]) -> list[list[Cell]]:
    """The body of the table: config, status, then one cell per metric."""
    best = {metric: best_rows(summary, metric) for metric in metrics}
    rows: list[list[Cell]] = []
    for position, record in enumerate(summary.to_dict("records")):
        cells = [Cell(str(record["config"])), Cell(_status(record))]
        for metric in metrics:
            if metric in unavailable:
                cells.append(Cell(UNAVAILABLE))
                continue
            mean, std = record.get(f"{metric}_mean"), record.get(f"{metric}_std")
            text = format_number(mean, metric)
            if std is not None and not (isinstance(std, float) and math.isnan(std)) and text != "—":
                text += f" ± {format_number(std, metric)}"
            cells.append(Cell(text, position in best[metric]))
        rows.append(cells)
    return rows


def _status(record: dict) -> str:
    status = str(record.get("status", ""))
    if record.get("kind") == "reference" and status == "complete":
        return "reference"
    return status


def rich_table(summary: pd.DataFrame, metrics: Sequence[str], unavailable: dict[str, str],
               title: str = "") -> Table:
    """The summary as a rich table; the best value per column in bold green with a ★.

    Compact enough for an 80-column terminal: light borders, numbers never wrapped, and the status
    column shown only when some configuration is not simply complete (references are labelled in
    their own cell and dimmed).
    """
    body = table_cells(summary, metrics, unavailable)
    show_status = any(cells[1].text not in ("complete", "reference") for cells in body)
    table = Table(title=title or None, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    names = [cells[0].text + (" (ref)" if cells[1].text == "reference" else "") for cells in body]
    width = min(max(map(len, names), default=13), 32)
    table.add_column("configuration", style="cyan", overflow="fold", min_width=width)
    if show_status:
        table.add_column("status", overflow="fold")
    for metric in metrics:
        table.add_column(header(metric), justify="right", no_wrap=True)
    for cells in body:
        config, status = escape(cells[0].text), cells[1].text
        name = f"[dim]{config} (ref)[/]" if status == "reference" else config
        row = [name, status] if show_status else [name]
        row += [f"[bold green]{c.text}★[/]" if c.best else
                (f"[dim]{c.text}[/]" if c.text == UNAVAILABLE else c.text) for c in cells[2:]]
        table.add_row(*row)
    return table


def markdown_table(summary: pd.DataFrame, metrics: Sequence[str], unavailable: dict[str, str]) -> str:
    """The summary as a GitHub-flavoured Markdown table; the best value per column in bold."""
    head = ["configuration", "status", *[header(m) for m in metrics]]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---"] + ["---:"] * len(metrics)) + "|"]
    for cells in table_cells(summary, metrics, unavailable):
        lines.append("| " + " | ".join(f"**{c.text}**" if c.best else c.text for c in cells) + " |")
    return "\n".join(lines)


def table_notes(summary: pd.DataFrame, unavailable: dict[str, str], metrics: Sequence[str] = ()) -> list[str]:
    """Plain-text notes that belong under the table (``metrics``: the columns shown, for their
    direction notes)."""
    seeds = int(summary["seeds"].max()) if len(summary) else 0
    samples = int(summary["samples"].max()) if len(summary) else 0
    notes = [f"Mean over {samples} test samples" + (f" and {seeds} seeds (± std over seeds)" if seeds > 1 else "")
             + "; 95% bootstrap intervals over samples are in summary.csv. Best value per column marked."]
    for metric in metrics:
        info = metric_info(metric)
        if info.higher_is_better is None and metric not in unavailable:
            notes.append(f"{info.label} {info.arrow}: best at {info.target:g}, not highest or lowest "
                         f"({info.description})")
    for metric, reason in unavailable.items():
        notes.append(f"{metric_info(metric).label} unavailable: {reason}")
    for record in summary.to_dict("records"):
        if record.get("status") in ("diverged", "failed", "unavailable", "partial"):
            notes.append(f"'{record['config']}' {record['status']}" + (
                f": {record.get('reason')}" if record.get("reason") else ""))
    return notes


def write_summary_files(store: RunStore, summary: pd.DataFrame, metrics: Sequence[str],
                        unavailable: dict[str, str], title: str = "") -> None:
    """Write summary.csv and summary.md of a run (atomically); ``title`` defaults to the run id."""
    atomic.write_csv(store.path("summary.csv"), summary)
    notes = "\n".join(f"- {note}" for note in table_notes(summary, unavailable, metrics))
    heading = title or store.name
    text = f"# vfibench results: {heading}\n\n{markdown_table(summary, metrics, unavailable)}\n\n{notes}\n"
    atomic.write_text(store.path("summary.md"), text)
