"""The gap analysis as tables: rankings, rank agreement, paired comparisons.

Each table is built once as plain rows (:func:`ranking_table`, :func:`agreement_table`,
:func:`pairs_table`) and rendered for the terminal (rich), Markdown or HTML from those rows, so
the three outputs always show the same numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.cells import cell_len
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from vfibench.analysis.breakdown import Breakdown, onset_sentence
from vfibench.analysis.gap import GapAnalysis
from vfibench.analysis.per_sample import Orientation
from vfibench.analysis.verdict import format_p, headline_pair, row_noun
from vfibench.metrics.records import metric_record
from vfibench.results import schema
from vfibench.results.numbers import NO_VALUE, format_change, format_number
from vfibench.words import join_words, percent


@dataclass(frozen=True)
class PlainTable:
    """A titled table of strings; ``flags[i]`` marks row i (a pair whose disagreement is significant)."""

    title: str
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    flags: tuple[bool, ...] = ()
    #: How many leading columns hold names (left-aligned in the terminal); the rest hold numbers.
    label_columns: int = 2


def _mean(value: float, metric: str) -> str:
    return format_number(value, metric) if math.isfinite(value) else NO_VALUE


def _label(analysis: GapAnalysis, metric: str) -> str:
    return f"{analysis.labels.get(metric, metric)} {metric_record(metric).arrow}"


#: What separates the entries of a ranking; a cell too long for its column breaks after its "›".
RANKING_SEPARATOR = "  ›  "


def ranking_table(analysis: GapAnalysis) -> PlainTable:
    """One row per metric: the configurations from best to worst, each with its mean."""
    rows = []
    for metric in (m for m in analysis.metrics if m in analysis.rankings):
        order = [f"{entry.rank}. {entry.config}{'' if schema.is_ranked(entry.kind) else ' (ref)'} "
                 f"{_mean(entry.mean, metric)}" for entry in analysis.rankings[metric]]
        rows.append((_label(analysis, metric), RANKING_SEPARATOR.join(order)))
    rows += [(analysis.labels.get(m, m), "unavailable") for m in analysis.unavailable_metrics]
    rows_are = row_noun(analysis.kinds.values()).capitalize()
    return PlainTable("Rankings", f"{rows_are}s from best to worst by each metric's mean (ties share a rank; "
                      "the sharpness ratio ranks by closeness to 1).", ("metric", "best → worst"), tuple(rows))


#: The fewest ranked rows for which Kendall's tau can be significant at 0.05: with 4, tau = ±1 has p = 1/12.
KENDALL_SIGNIFICANT_ROWS = 5


def agreement_table(analysis: GapAnalysis) -> PlainTable:
    """Kendall's tau-b between the PSNR ranking and each other metric's ranking."""
    rows = tuple((_label(analysis, a.metric), f"{a.tau:+.2f}" if math.isfinite(a.tau) else NO_VALUE,
                  format_p(a.p_value).removeprefix("p ").removeprefix("= "), str(a.n))
                 for a in analysis.agreement)
    rows += tuple((analysis.labels.get(m, m), "unavailable", "", "") for m in analysis.unavailable_metrics)
    base = analysis.labels.get(analysis.base, analysis.base)
    rows_are = f"{row_noun(analysis.kinds.values())}s"
    few = max((a.n for a in analysis.agreement), default=0) < KENDALL_SIGNIFICANT_ROWS
    caption = (f"Kendall's tau-b between the {base} ranking and each metric's ranking of all {rows_are} (1 = same "
               f"order, −1 = reversed); p tests tau = 0 (two-sided, not adjusted across metrics)"
               + (f": with fewer than {KENDALL_SIGNIFICANT_ROWS} {rows_are} even a perfect agreement has p > 0.05."
                  if few else ".")
               + (f" {NO_VALUE}: undefined, a ranking with every row tied has no order to compare."
                  if any(not math.isfinite(a.tau) for a in analysis.agreement) else ""))
    return PlainTable(f"Rank agreement with {base}", caption,
                      ("metric", "Kendall tau", "p", rows_are), rows, label_columns=1)


def pairs_table(analysis: GapAnalysis) -> PlainTable:
    """Every pair, A ahead on PSNR: differences A − B, Holm-adjusted p, per-sample disagreement rate."""
    base = analysis.base
    header = ["A (ahead on " + analysis.labels.get(base, base) + ")", "B", f"Δ{analysis.labels.get(base, base)}"]
    for metric in analysis.compared:
        label = analysis.labels.get(metric, metric)
        header += [f"Δ{label}", f"{label} disagrees"]
    header.append("discordant")
    seeds = len(analysis.seeds) > 1
    if seeds:
        header.append("seeds agreeing")
    rows, flags = [], []
    for pair in analysis.pairs:
        row = [pair.a, pair.b, f"{format_change(pair.base.difference, base)} ({format_p(pair.base.p_holm)})"]
        for metric in analysis.compared:
            test = pair.test(metric)
            if test is None:
                row += [NO_VALUE, NO_VALUE]
                continue
            row.append(f"{format_change(test.difference, metric)} ({format_p(test.p_holm)})")
            rate = test.disagreement_rate
            row.append(percent(rate) if math.isfinite(rate) else NO_VALUE)
        significant = [t for t in pair.disagreeing if pair.base.p_holm < analysis.alpha and t.p_holm < analysis.alpha]
        row.append("yes: " + ", ".join(analysis.labels.get(t.metric, t.metric) + ("" if t in significant else " (n.s.)")
                                       for t in pair.disagreeing) if pair.discordant else "no")
        if seeds:
            row.append(" ".join(f"{analysis.labels.get(t.metric, t.metric)} "
                                + (f"{t.seeds_agreeing}/{len(t.seeds)}" if t.favours else "n/a")
                                for t in (pair.base, *pair.others) if t.seeds) or NO_VALUE)
        rows.append(tuple(row))
        flags.append(bool(significant))
    one = row_noun(analysis.kinds.values())
    both_references = any(pair.kind_a == pair.kind_b == schema.REFERENCE for pair in analysis.pairs)
    if analysis.reference_tests and analysis.tests:
        references = (f"Holm-adjusted over the {analysis.tests} tests of pairs without a reference row (pairs with a "
                      f"reference row: separately, over {analysis.reference_tests} tests)")
    elif analysis.reference_tests:
        references = f"Holm-adjusted over the {analysis.reference_tests} tests of pairs with a reference row"
    else:
        references = f"Holm-adjusted over all {analysis.tests} tests"
    over = " over the seeds both have" if seeds else ""
    caption = (f"Each pair with A the {one} whose mean {analysis.labels.get(base, base)}{over} is better; differences are "
               f"A − B over {analysis.paired_samples} paired samples"
               f"{' (averaged over the seeds both members have)' if seeds else ''}, p-values from two-sided Wilcoxon "
               f"signed-rank tests, {references}. A pair is discordant when a "
               f"perceptual metric favours B (its mean and its Hodges–Lehmann estimate both do); '(n.s.)' marks a "
               f"disagreement that is not significant (adjusted p ≥ {analysis.alpha:g} for the metric's difference "
               f"or {analysis.labels.get(base, base)}'s), and only a significant disagreement highlights its row. "
               f"'Disagrees' is the share of the samples on which that metric and "
               f"{analysis.labels.get(base, base)} prefer different members of the pair."
               + (" 'Seeds agreeing': in how many training seeds, each on its own, the metric favours the same "
                  "member as the seed average (n/a where the average has no consistent preference: its mean and "
                  "Hodges–Lehmann estimate favour different members" + ("; — for two references, whose frames are "
                                                                         "the same for every seed" if both_references
                                                                         else "") + ")." if seeds else ""))
    return PlainTable("Paired comparisons", caption, tuple(header), tuple(rows), tuple(flags))


def breakdown_table(result: Breakdown, analysis: GapAnalysis) -> PlainTable:
    """One row per configuration, one column per bin of the attribute: the base and compared metrics' means."""
    metrics = [m for m in (analysis.base, *analysis.compared) if m in result.means]
    names = " / ".join(f"{analysis.labels.get(m, m)} {metric_record(m).arrow}" for m in metrics)
    header = (row_noun(analysis.kinds.values()), *[f"{label} (n={n})" for label, n in zip(result.labels, result.counts)])
    configs = list(next(iter(result.means.values()), {}))
    rows = tuple((config, *[" / ".join(_mean(result.means[m][config][k], m) for m in metrics)
                            for k in range(len(result.counts))]) for config in configs)
    seeds = "" if row_noun(analysis.kinds.values()) == "model" else "; values averaged over seeds"
    caption = (f"Each metric's mean per bin of the test samples' {result.title} (quantile bins, so about equal "
               f"numbers of samples, fewer or more where values tie: n in each header{seeds}). "
               f"Each cell: {names}. Where the bins' means disagree is described, not tested."
               + (f" {result.source}" if result.source else ""))
    pair = headline_pair(analysis)
    if pair is not None:
        base = Orientation.of(analysis.base)
        onset = onset_sentence(result, base, [Orientation.of(t.metric) for t in pair.disagreeing], pair.a, pair.b)
        caption += f" {onset}" if onset else ""
    return PlainTable(f"The gap along {result.title}", caption, header, rows, label_columns=1)


#: The last row of :func:`protocol_means`: how far the protocols move each mean.
SPREAD_ROW = "spread (max − min)"


def protocol_means(rows: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Mean PSNR and SSIM of each model under each protocol, side by side, with the spread.

    ``rows`` has the columns of ``protocols.csv`` (config, sample, file, protocol, psnr, ssim), checked
    (:func:`~vfibench.results.schema.read_protocols`): numeric scores, every model under every protocol. The
    result has one row per protocol (in the order computed) and, when there are several, a last row
    ``spread (max − min)`` (:data:`SPREAD_ROW`); its columns are ``<model> PSNR`` and ``<model> SSIM``
    for each model of ``order``.
    """
    means = rows.groupby([schema.PROTOCOL, schema.CONFIG], sort=False)[list(schema.PROTOCOL_SCORES)].mean()
    protocols = list(dict.fromkeys(rows[schema.PROTOCOL]))
    table = pd.DataFrame(index=protocols)
    for config in order:
        for metric in schema.PROTOCOL_SCORES:
            table[f"{config} {metric.upper()}"] = [means.loc[(p, config), metric] for p in protocols]
    if len(protocols) > 1:  # one protocol spreads over nothing
        table.loc[SPREAD_ROW] = table.max() - table.min()
    table.index.name = schema.PROTOCOL
    return table


def protocol_table(means: pd.DataFrame) -> PlainTable:
    """:func:`protocol_means` as a table: PSNR to 3 decimals, SSIM to 4; an unbounded PSNR as ``inf``
    (explained in the caption), a spread that is not a number as ``—``."""

    def cell(column: str, value: float) -> str:
        if not math.isfinite(value):
            return "inf" if value > 0 else NO_VALUE
        return f"{value:.3f}" if column.endswith("PSNR") else f"{value:.4f}"

    rows = tuple((str(protocol), *(cell(c, v) for c, v in row.items())) for protocol, row in means.iterrows())
    caption = ("Mean of per-frame values under each evaluation protocol (how each code base computes PSNR and "
               "SSIM)" + ("; the last row is the spread (max − min) over the protocols." if SPREAD_ROW in means.index
                          else "."))
    if not np.isfinite(means.to_numpy(dtype=float)).all():
        caption += (" inf: a frame equals its ground truth under a protocol that, like the code base it follows, "
                    "does not cap PSNR (the vfibench protocol caps it at 100 dB), so the mean is unbounded.")
    caption += "".join(_best_model_flip(means, measure) for measure in ("PSNR", "SSIM"))
    return PlainTable("PSNR / SSIM under each protocol", caption, ("protocol", *means.columns), rows,
                      label_columns=1)


def _best_model_flip(means: pd.DataFrame, measure: str) -> str:
    """A sentence when the protocols disagree on which model is best by ``measure`` (PSNR or SSIM): the
    protocol alone would then decide a comparison; "" with one model or when they agree."""
    suffix = f" {measure}"
    columns = [c for c in means.columns if str(c).endswith(suffix)]
    table = means.drop(index=SPREAD_ROW, errors="ignore")[columns]
    if len(columns) < 2 or len(table) < 2:
        return ""
    best: dict[str, list[str]] = {}
    for protocol, row in table.iterrows():
        values = row.astype(float)
        if values.notna().any():
            best.setdefault(str(values.idxmax())[: -len(suffix)], []).append(str(protocol))
    if len(best) < 2:
        return ""
    under = "; ".join(f"{model} under {join_words(protocols)}" for model, protocols in best.items())
    return f" The protocols disagree on the best model by {measure} ({under}): state the protocol with any ranking."


def analysis_tables(analysis: GapAnalysis) -> list[PlainTable]:
    """The tables the report shows, in order: rankings of two or more rows, rank agreement only when
    there is a base metric to agree with and two or more ranked rows (one model scored alone has
    nothing to rank or correlate), pairs only when there are any."""
    out = [ranking_table(analysis)] if len(analysis.kinds) >= 2 else []
    if analysis.correlates_rankings:
        out.append(agreement_table(analysis))
    if analysis.pairs:
        out.append(pairs_table(analysis))
    return out


# -- renderers --------------------------------------------------------------------------------------
def to_markdown(table: PlainTable) -> list[str]:
    """A Markdown section: heading, caption, table (flagged rows in bold; numbers right-aligned, as in the
    terminal and the HTML page)."""
    from vfibench.results.markdown import escape_cell as escape, escape_prose

    alignment = ["---" if i < table.label_columns else "---:" for i in range(len(table.header))]
    lines = [f"## {escape_prose(table.title)}", "", escape_prose(table.caption), "",
             "| " + " | ".join(map(escape, table.header)) + " |", "|" + "|".join(alignment) + "|"]
    for i, row in enumerate(table.rows):
        flagged = i < len(table.flags) and table.flags[i]
        lines.append("| " + " | ".join(f"**{escape(c)}**" if flagged and c else escape(c) for c in row) + " |")
    return lines + [""]


def to_rich(table: PlainTable) -> "FittedTable":
    """A rich renderable: the table, flagged rows in yellow; on a terminal too narrow for it without
    breaking words ("disagre/es"), one paragraph per row instead."""
    return FittedTable(table)


#: The spaces before a cell's p-value ("+2.97 dB (p = 0.0469)"), where a cell breaks first.
P_VALUE_BREAK = r" +(?=\(p [<=] )"
#: Where a cell breaks first when too long for its column: before a p-value, after a ranking's "›".
CELL_BREAKS = re.compile(rf"{P_VALUE_BREAK}|(?<=›) +")


def _value_and_p(cell: str) -> list[str]:
    """A cell split before its p-value: "+2.97 dB (p = 0.0469)" → ["+2.97 dB", "(p = 0.0469)"]."""
    return re.split(P_VALUE_BREAK, cell)


def _wrap(cell: str, width: int) -> str:
    """``cell`` in lines of at most ``width`` cells, broken only at :data:`CELL_BREAKS`, as few lines as
    that allows; a part longer than ``width`` is left to rich, which breaks it between words."""
    lines, start, cut = [], 0, None
    for gap in [*CELL_BREAKS.finditer(cell), None]:
        end = gap.start() if gap else len(cell)
        if cut is not None and cell_len(cell[start:end]) > width:
            lines.append(cell[start:cut.start()])
            start = cut.end()
        cut = gap
    return "\n".join([*lines, cell[start:]])


#: How a report table's grid is drawn: a rule under the header, no outer padding.
GRID_STYLE = {"box": box.SIMPLE_HEAD, "pad_edge": False}


def grid_overhead(console: Console, options: ConsoleOptions, columns: int) -> int:
    """The cells a grid of ``columns`` columns in :data:`GRID_STYLE` takes beyond its columns' widths
    (padding, dividers, edges), as rich draws it: a grid of one-cell columns, measured."""
    probe = Table(**GRID_STYLE)
    for _ in range(columns):
        probe.add_column(width=1)
    probe.add_row(*["x"] * columns)
    lines = console.render_lines(probe, options.update(width=max(options.max_width, 4 * columns + 4)), pad=False)
    return max(Segment.get_line_length(line) for line in lines) - columns


def _share(widths: Sequence[int], targets: Sequence[int], room: int) -> list[int]:
    """``widths`` widened by up to ``room`` cells in all, one cell at a time to the narrowest of the
    columns still short of their ``targets`` (so the room is shared evenly, none past its target)."""
    out = list(widths)
    for _ in range(max(room, 0)):
        short = [i for i in range(len(out)) if out[i] < targets[i]]
        if not short:
            break
        out[min(short, key=lambda i: (out[i], i))] += 1
    return out


class FittedTable:
    """:func:`to_rich`'s renderable, which picks its layout for the width it is printed at: a grid
    whose columns are given widths that fit it (:meth:`column_widths`), or, where even its tidy
    widths do not, one paragraph per row."""

    def __init__(self, table: PlainTable) -> None:
        self.table = table

    def _texts(self, column: int) -> list[str]:
        return [self.table.header[column], *(row[column] for row in self.table.rows)]

    def widest_words(self) -> list[int]:
        """Per column, its longest word: the narrowest it can be without breaking one."""
        return [max((cell_len(word) for text in self._texts(i) for word in text.split()), default=1)
                for i in range(len(self.table.header))]

    def natural_widths(self) -> list[int]:
        """Per column, the width at which nothing in it wraps, header included."""
        return self._widths(lambda cell: [cell], header_lines=1)

    def tidy_widths(self) -> list[int]:
        """Per column, the width at which a cell with a p-value wraps only before it ("+2.97 dB" over
        "(p = 0.0469)"), not inside it, other cells between any words, and the header at half its
        length (two lines, or three where its words do not divide evenly)."""
        return self._widths(lambda cell: parts if len(parts := _value_and_p(cell)) > 1 else cell.split(),
                            header_lines=2)

    def _widths(self, lines: Callable[[str], list[str]], header_lines: int) -> list[int]:
        header = self.table.header
        return [max(1, *(cell_len(line) for row in self.table.rows for line in lines(row[i])),
                    math.ceil(cell_len(name) / header_lines), widest)
                for i, (name, widest) in enumerate(zip(header, self.widest_words()))]

    def column_widths(self, available: int, overhead: int) -> list[int] | None:
        """Column widths that fill at most ``available`` cells with ``overhead`` of them taken by
        padding and dividers: every column at least its :meth:`tidy_widths`; then, with the room
        left, as many columns as it allows with their cells on one line, then with their headers on
        one line too — at each step the columns that want least first (a column reads better on one
        line than a little wider on two); then what room is left shared out among the columns whose
        cells still wrap (:func:`_share`). None where the tidy widths do not fit: a grid that breaks
        its numbers reads worse than a paragraph a row."""
        widths = self.tidy_widths()
        room = available - overhead - sum(widths)
        if room < 0:
            return None
        cells_on_one_line = self._widths(lambda cell: [cell], header_lines=2)
        for target in (cells_on_one_line, self.natural_widths()):
            for i in sorted(range(len(widths)), key=lambda i: (target[i] - widths[i], i)):
                if 0 < target[i] - widths[i] <= room:
                    room -= target[i] - widths[i]
                    widths[i] = target[i]
        return _share(widths, cells_on_one_line, available - overhead - sum(widths))

    def grid(self, widths: Sequence[int] | None = None) -> Table:
        """The table as a rich grid, its columns at ``widths`` (or as rich lays them out); a cell
        too long for its column breaks before its p-value, or between its ranking's entries, first."""
        table = self.table  # every text as Text, never read as markup: a model may be named "rife[v4.6]"
        out = Table(title=Text(table.title), title_justify="left", header_style="bold", **GRID_STYLE)
        for i, (name, narrowest) in enumerate(zip(table.header, self.widest_words())):
            out.add_column(Text(name), justify="left" if i < table.label_columns else "right", overflow="fold",
                           min_width=narrowest, width=widths[i] if widths is not None else None)
        for i, row in enumerate(table.rows):
            flagged = i < len(table.flags) and table.flags[i]
            cells = [cell if widths is None else _wrap(cell, widths[k]) for k, cell in enumerate(row)]
            out.add_row(*map(Text, cells), style="yellow" if flagged else None)
        return out

    def records(self) -> Group:
        """Each row as one paragraph: its label cells, then "header value" for every other cell."""
        table, labels = self.table, max(1, self.table.label_columns)
        parts: list[RenderableType] = [Text(table.title, style="italic"),
                                       Text(" · ".join(table.header[:labels]) + ": …", style="dim")]
        for i, row in enumerate(table.rows):
            flagged = i < len(table.flags) and table.flags[i]
            line = Text(" · ".join(row[:labels]), style="bold yellow" if flagged else "bold")
            line.append(": " + "; ".join(f"{name} {cell}" for name, cell in zip(table.header[labels:], row[labels:])),
                        style="yellow" if flagged else None)
            parts.append(line)
        parts.append(Text(table.caption))
        return Group(*parts)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # The widths are set here, not left to rich, whose own narrowing of a grid too wide for the
        # terminal can crop its last column and its caption's lines.
        widths = self.column_widths(options.max_width, grid_overhead(console, options, len(self.table.header)))
        if widths is None:
            yield self.records()
            return
        yield self.grid(widths)
        # the caption as wide as the terminal, not folded to a narrow table's width
        yield Text(self.table.caption, style="table.caption")
