"""The report as one self-contained HTML page: inline CSS, images embedded as base64 data URIs.

The page needs no other file and no network: it can be mailed, archived or opened from any folder.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vfibench.analysis.verdict import row_noun
from vfibench.results import schema, tables
from vfibench.results.numbers import NO_VALUE
from vfibench.results.report_tables import CELL_BREAKS, PlainTable, breakdown_table

if TYPE_CHECKING:
    from vfibench.results.report import Report

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1300px;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.meta { color: #555; font-size: 0.9rem; }
.verdict { background: #f4f8ff; border-left: 4px solid #1f77b4; padding: 0.8rem 1rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; white-space: nowrap; }
td.parts { white-space: normal; } td.parts span { white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child, td.label, th.label { text-align: left; }
td.best { font-weight: bold; color: #0a7d2c; } td.unavailable { color: #999; font-style: italic; }
tr.flag td { background: #fff7e0; }
.caption { color: #555; font-size: 0.85rem; max-width: 60rem; }
.scroll { overflow-x: auto; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.85rem; }
ul.notes { color: #444; font-size: 0.9rem; }
code { font-size: 0.9em; background: #f3f3f3; padding: 0 0.2em; border-radius: 3px; }
details summary { cursor: pointer; color: #555; font-size: 0.85rem; }
pre.latex { background: #f7f7f7; padding: 0.5rem; overflow-x: auto; font-size: 0.8rem; }
dl { font-size: 0.85rem; } dt { font-weight: bold; } dd { margin: 0 0 0.4rem 1rem; word-break: break-all; }
"""


def data_uri(path: Path) -> str:
    """``data:image/png;base64,…`` of a PNG file."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _prose(text: str) -> str:
    """A caption or note escaped for HTML, its Markdown code spans (`--intervals paired`) as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


#: Where a long cell may break on a narrow page: where a terminal cell breaks (before its p-value, after
#: a ranking's "›"), and after a comma or semicolon.
_CELL_BREAKS = re.compile(rf"{CELL_BREAKS.pattern}|(?<=[,;]) ")


def _cell(text: str, css: str) -> str:
    """A <td>: one unbreakable run, or, where the text has :data:`_CELL_BREAKS`, runs that the page may
    wrap between (a pairs table then fits the page instead of scrolling sideways)."""
    parts = _CELL_BREAKS.split(text)
    if len(parts) == 1:
        return f'<td class="{css}">{_e(text)}</td>' if css else f"<td>{_e(text)}</td>"
    spans = " ".join(f"<span>{_e(part)}</span>" for part in parts)
    return f'<td class="{" ".join(filter(None, (css, "parts")))}">{spans}</td>'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], classes: Iterable[Sequence[str]] | None = None,
           row_classes: Sequence[str] = (), label_columns: int = 1) -> str:
    """An HTML table; the first ``label_columns`` columns hold names (left-aligned), the rest numbers."""
    head = "".join(f'<th class="label">{_e(h)}</th>' if 0 < j < label_columns else f"<th>{_e(h)}</th>"
                   for j, h in enumerate(header))
    body = []
    cell_classes = list(classes) if classes is not None else None
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            css = " ".join(filter(None, (cell_classes[i][j] if cell_classes is not None else "",
                                         "label" if 0 < j < label_columns else "")))
            cells.append(_cell(str(cell), css))
        row_css = f' class="{row_classes[i]}"' if i < len(row_classes) and row_classes[i] else ""
        body.append(f"<tr{row_css}>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _plain(table: PlainTable) -> str:
    flags = ["flag" if f else "" for f in table.flags]
    return (f"<h2>{_e(table.title)}</h2><p class=\"caption\">{_prose(table.caption)}</p>"
            + _table(table.header, table.rows, row_classes=flags, label_columns=table.label_columns))


#: CSS pixels per inch: a figure saved at D dots per inch is shown at its print size, pixels × 96 / D.
CSS_DPI = 96


def display_width(path: Path) -> int | None:
    """The CSS width at which a PNG appears at its print size (its pixels over its stored DPI, in CSS
    inches): the plane, saved at 300 DPI, at 7.5 in rather than stretched to the page. None when the
    file records no DPI (image grids: shown at their pixel size, or the page width if narrower)."""
    from PIL import Image

    with Image.open(path) as image:
        dpi = image.info.get("dpi")
        return round(image.width * CSS_DPI / float(dpi[0])) if dpi and float(dpi[0]) > 0 else None


def _figure(path: Path, alt: str, caption: str) -> str:
    width = display_width(path)
    size = f' width="{width}"' if width else ""
    return (f'<figure><img src="{data_uri(path)}" alt="{_e(alt)}"{size}>'
            f"<figcaption>{_prose(caption)}</figcaption></figure>")


def _summary(report: "Report") -> str:
    view = report.data.view
    cells = tables.table_cells(view.summary, view.metrics, view.unavailable)
    header = [tables.row_header(view.summary), "status", *[tables.header(m) for m in view.metrics]]
    texts = [[c.text + (" ★" if c.best else "") for c in row] for row in cells]
    classes = [["best" if c.best else "unavailable" if c.text == tables.UNAVAILABLE or c.text in
                schema.NO_RESULTS else "" for c in row] for row in cells]
    notes = "".join(f"<li>{_prose(n)}</li>" for n in view.notes())
    latex = (f'<details><summary>This table as LaTeX, for a paper (<code>booktabs</code>; a written report '
             f'saves it as <code>summary.tex</code>)</summary><pre class="latex">{_e(view.latex())}</pre></details>')
    return f"<h2>Summary</h2>{_table(header, texts, classes)}<ul class=\"notes\">{notes}</ul>{latex}"


def _provenance(manifest: dict[str, Any]) -> str:
    threads = _unit_threads(manifest)
    resumed = [entry for entry in manifest.get("resumed") or [] if isinstance(entry, Mapping)]
    first = " (first session)" if resumed else ""
    items = [("command", manifest.get("command")), ("created", manifest.get("created")),
             (f"git commit{first}", manifest.get("git_commit")), (f"device{first}", manifest.get("device")),
             ("resumed", "; ".join(_session(entry) for entry in resumed)),
             ("executor", _executor(manifest)), ("torch threads per unit", threads),
             ("evaluation", manifest.get("evaluation"))]
    for name, digest in dict(manifest.get("backbones", {})).items():
        items.append((f"backbone {name} (SHA-256)", digest))
    versions = dict(manifest.get("versions", {}))
    if threads:  # the coordinator's own count, not the one the units computed with
        versions.pop("torch_threads", None)
    if versions:
        items.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items if v)
    return f"<h2>How these numbers were made</h2><dl>{body}</dl>"


def _executor_text(record: Mapping[str, Any]) -> str:
    """``local, in one process``, ``local, 2 worker processes (--jobs 2)`` or ``ray``: one session's executor."""
    text, jobs, workers = str(record["name"]), record.get("jobs"), record.get("workers", record.get("jobs"))
    if text == "local" and isinstance(jobs, int) and isinstance(workers, int):
        text += (", in one process" if jobs == 1 else
                 f", {workers} worker process{'es' if workers != 1 else ''} (--jobs {jobs})")
    return text


def _executor(manifest: Mapping[str, Any]) -> str | None:
    """How a sweep's units ran (the manifest's executor record) and the executors of any resumes; None
    without the record (older runs, evaluations)."""
    record = manifest.get("executor")
    if not isinstance(record, Mapping) or not record.get("name"):
        return None
    text = _executor_text(record)
    later = schema.resumed_executors(manifest)
    if not later:
        return text
    named = [_executor_text(e) if isinstance(e, Mapping) and e.get("name") else str(e) for e in later if e]
    if not all(isinstance(e, Mapping) for e in later):  # the record was overwritten by those older resumes
        text += " (recorded by the latest session before resumes recorded their own)"
    return f"{text}; resumed" + (f" with {', then '.join(named)}" if named else "")


def _session(entry: Mapping[str, Any]) -> str:
    """``2026-12-05T10:00:00+0000 on cuda, git commit 0123abc``: one resume, as its manifest entry records it."""
    parts = [str(entry.get("at") or "at an unrecorded time")]
    if entry.get("device"):
        parts[0] += f" on {entry['device']}"
    if entry.get("git_commit"):
        parts.append(f"git commit {entry['git_commit']}")
    return ", ".join(parts)


def _unit_threads(manifest: Mapping[str, Any]) -> str | None:
    """The torch threads each unit computed with (the executor record's), or None without the record. On a CPU
    a resumed run keeps its threads; elsewhere the count is the last session's."""
    record = schema.latest_executor(manifest)
    threads = record.get("threads_per_unit") if record is not None else None
    if not schema.is_whole_number(threads) or threads < 1:
        return None
    last = manifest.get("resumed") and schema.training_threads(manifest) is None
    return f"{threads} (in the last session)" if last else str(threads)


def render(report: "Report") -> str:
    """The complete HTML page of ``report``."""
    data = report.data
    analysis = data.analysis
    view = data.view
    rows_are = row_noun(analysis.kinds.values())
    parts = [f"<h1>vfibench report: {_e(data.store.name)}</h1>",
             f'<p class="meta">{_e(view.title())} · {analysis.samples} samples'
             + (f' · seeds {_e(", ".join(map(str, analysis.seeds)) or NO_VALUE)}'
                if rows_are == "configuration" else "") + "</p>",
             f'<h2>Verdict</h2><p class="verdict">{_e(analysis.verdict or "(no verdict)")}</p>'
             + (f'<p class="caption">{_prose(data.along)}</p>' if data.along else ""),
             _summary(report)]
    if report.plot is not None:
        parts.append("<h2>Perception–distortion plane</h2>" + _figure(
            report.plot.png, "perception–distortion plane", report.plot.full_caption))
    if report.curves is not None:
        parts.append("<h2>Training curves</h2>" + _figure(report.curves, "training curves", data.curves_caption))
    parts += [_plain(table) for table in data.tables]
    for attribute, result in data.breakdowns.items():
        parts.append(_plain(breakdown_table(result, analysis)))
        if attribute in report.breakdown_plots:
            figure = report.breakdown_plots[attribute]
            parts.append(_figure(figure.png, f"gap along {result.title}", figure.full_caption))
    if report.grids:
        parts.append(f"<h2>Samples where the metrics disagree most</h2><p class=\"caption\">"
                     f"{_prose(report.grid_explanation)}</p>")
        captions = report.grid_captions or [path.stem.replace("_", " ") for path in report.grids]
        parts += [_figure(path, path.stem, caption) for path, caption in zip(report.grids, captions)]
    if report.notes:
        parts.append("<h2>Notes</h2><ul class=\"notes\">" + "".join(f"<li>{_prose(n)}</li>" for n in report.notes)
                     + "</ul>")
    parts.append(_provenance(view.manifest))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>vfibench report: "
            f"{_e(data.store.name)}</title><style>{STYLE}</style></head><body>\n" + "\n".join(parts)
            + "\n</body></html>\n")
