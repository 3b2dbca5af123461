"""The per-configuration table as LaTeX, ready to paste into a paper (``booktabs``).

The table holds what the Markdown table holds (:func:`vfibench.results.tables.table_cells`): each
metric's mean over test samples, ``± std`` over seeds (set smaller) when a run has several, the best
value of each column among the trained (or evaluated) rows in bold, with the same tie rule as the
other tables. Rows that are references (``blend``, ``nearest``) come after a rule, in italics, and
are never bold. A metric the run could not compute is left out of the columns and named in a
comment; a row that diverged, failed or is partial says so after its name. The caption states the samples, the
seeds and the marks; ``\\label`` is ``tab:vfibench-<run>``. Every name taken from a run is escaped
(:func:`escape`), so a name in the Latin alphabet typesets as written with pdflatex; names in other
scripts need xelatex or lualatex.

Needs ``\\usepackage{booktabs}`` in the preamble.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from vfibench.analysis.verdict import ranked_noun
from vfibench.metrics.records import metric_record
from vfibench.results.numbers import NO_VALUE
from vfibench.results.schema import (COMPLETE, CONFIG, KIND, REFERENCE, REFERENCE_DESCRIPTIONS, SAMPLES, SEEDS,
                                     STATUS)
from vfibench.results.tables import (Cell, competing_seeds, marks_best, row_header, rows_over_fewer_seeds,
                                     short_of_seeds, table_cells)
from vfibench.words import counted

#: LaTeX for each character that is special in text mode, or that pdflatex would set otherwise than
#: typed: quotes (curly) and brackets (read as an optional argument after ``\\`` or ``\midrule``).
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", "[": "{[}", "]": "{]}",
            "'": r"\textquotesingle{}", "`": r"\textasciigrave{}", '"': r"{\ttfamily\char34}"}
#: Unicode that the tables print, in LaTeX (math where it is a symbol).
_SYMBOLS = {"±": r"$\pm$", "—": "---", "−": "$-$", "–": "--", "→": r"$\rightarrow$", "↑": r"$\uparrow$",
            "↓": r"$\downarrow$", "×": r"$\times$", "…": r"\ldots{}"}


def escape(text: str) -> str:
    """``text`` as LaTeX text-mode source that typesets as ``text``: specials escaped, symbols in math,
    and hyphens kept apart (``--`` would set a dash). Latin script only: pdflatex stops at a character
    it has no glyph for (Greek, CJK), which xelatex and lualatex set."""
    out: list[str] = []
    for char in str(text):
        piece = _SPECIAL.get(char) or _SYMBOLS.get(char) or char
        if out and out[-1].endswith("-") and piece.startswith("-"):  # also a typed dash beside a hyphen
            out.append("{}")
        out.append(piece)
    return "".join(out)


def column_header(metric: str) -> str:
    """``PSNR (dB) $\\uparrow$``: the metric's label, its unit, and its direction."""
    return escape(metric_record(metric).heading)


def latex_table(summary: pd.DataFrame, metrics: Sequence[str], unavailable: dict[str, str], *,
                run: str = "", title: str = "", facts: Sequence[str] = ()) -> str:
    """The summary of one run as a LaTeX ``table`` with a ``booktabs`` tabular.

    Args:
        summary: the run's summary.csv records.
        metrics: the metric columns, in order (those in ``unavailable`` are left out).
        unavailable: metric → why the run could not compute it.
        run: the run's name, for the comment and the ``\\label``.
        title: a line describing the run, written as a comment above the table.
        facts: sentences on what the numbers depend on beyond the table (a warm start), ending the caption.
    """
    shown = [m for m in metrics if m not in unavailable]
    positions = [2 + i for i, m in enumerate(metrics) if m not in unavailable]
    cells = table_cells(summary, metrics, unavailable)
    records = summary.to_dict("records")
    is_reference = [str(r.get(KIND, "")) == REFERENCE for r in records]
    lines = [f"% vfibench results: {_comment(title or run)}",
             r"% needs \usepackage{booktabs}; wider than a column? use table* or \resizebox{\linewidth}{!}{...}"]
    lines += [f"% {_comment(metric_record(m).label)} unavailable, left out: {_comment(reason)}"
              for m, reason in unavailable.items() if m in metrics]
    widest = {p: max((cells[i][p].spread for i in range(len(records)) if cells[i][p].spread), key=len, default="")
              for p in positions}  # a reference's number is padded to it, so the decimal points line up
    lines += [r"\begin{table}[t]", r"\centering", r"\setlength{\tabcolsep}{4pt}",
              rf"\caption{{{' '.join([_caption(summary, shown, is_reference), *map(escape, facts)])}}}",
              rf"\label{{tab:vfibench-{_label(run)}}}" if run else "",
              rf"\begin{{tabular}}{{l{'r' * len(shown)}}}", r"\toprule",
              " & ".join([escape(row_header(summary).capitalize()), *(column_header(m) for m in shown)]) + r" \\",
              r"\midrule"]
    ranked = [i for i, reference in enumerate(is_reference) if not reference]
    references = [i for i, reference in enumerate(is_reference) if reference]
    for i in ranked + references:
        if ranked and references and i == references[0]:
            lines.append(r"\midrule")  # the references, below a rule
        values = [_value(cells[i][p], pad=widest[p]) for p in positions]
        lines.append(" & ".join([_row_name(records[i], is_reference[i]), *values]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(line for line in lines if line) + "\n"


def _row_name(record: dict, reference: bool) -> str:
    name = escape(str(record[CONFIG]))
    if name.startswith("*"):  # after the row above's ``\\``, a star would be read as ``\\*``
        name = "{}" + name
    status = str(record.get(STATUS, ""))
    if reference:
        name = rf"\textit{{{name}}}"
    if status not in (COMPLETE, ""):  # diverged, failed, unavailable, partial, missing
        name += f" ({escape(status)})"
    return name


def _value(cell: Cell, pad: str = "") -> str:
    """One cell: the number (``± std``) as printed, bold when it is the column's best. A number without a
    spread in a column with spreads (a reference row's) is followed by the room of ``pad``, the column's
    widest spread, so that the numbers of a right-aligned column line up."""
    if cell.value == NO_VALUE:
        return "--"  # an en dash, as tables set a missing value
    value = cell.value
    mean = "$-$" + escape(value[1:]) if value.startswith("-") else escape(value)  # a minus, not a hyphen
    shown = rf"\textbf{{{mean}}}" if cell.best else mean
    if not cell.spread:
        return rf"{shown}\phantom{{{_spread(pad)}}}" if pad else shown
    return shown + _spread(cell.spread)


def _spread(spread: str) -> str:
    r"""``\,{\scriptsize$\pm$\,0.32}``: the spread set smaller than the number it follows."""
    return rf"\,{{\scriptsize$\pm$\,{escape(spread.removeprefix('± '))}}}"


def _caption(summary: pd.DataFrame, metrics: Sequence[str], is_reference: Sequence[bool]) -> str:
    """What the numbers are: samples, seeds, the bold mark and any metric with a target."""
    samples = int(summary[SAMPLES].max()) if len(summary) else 0
    seeds = int(summary[SEEDS].max()) if len(summary) else 0
    text = f"Mean over {counted(samples, 'test sample')}"
    fewer = "".join(rf"; \textit{{{escape(config)}}} over {counted(count, 'seed')}"
                    for config, count in rows_over_fewer_seeds(summary))
    text += rf" and {seeds} seeds ($\pm$ standard deviation over seeds{fewer})" if seeds > 1 else ""
    short = short_of_seeds(summary)
    if not marks_best(summary, metrics):  # fewer than two rows in the race: one would be bold everywhere
        text += (". No value is bold: the trained configurations' means cover different numbers of seeds."
                 if short.any() else ".")
    elif all(is_reference):  # no ranked row: the references compete for the mark (tables.best_rows)
        text += ". Bold: the best value of each column."
    else:
        kinds = summary[KIND].astype(str) if KIND in summary else ()
        text += f". Bold: the best value of each column among the {ranked_noun(kinds)}"
        if short.any():
            text += f" over {counted(competing_seeds(summary), 'seed')} (those over fewer seeds are not ranked)"
        text += "; the reference rows, below the rule, are not ranked." if any(is_reference) else "."
    names = set(summary[CONFIG].astype(str)[list(is_reference)]) if any(is_reference) else set()
    described = [rf"\textit{{{name}}}, {words}" for name, words in REFERENCE_DESCRIPTIONS.items() if name in names]
    if described:
        text += " References: " + "; ".join(described) + "."
    for metric in metrics:
        info = metric_record(metric)
        if info.higher_is_better is None and info.target is not None:
            text += f" {escape(info.label)} is best at {info.target:g}."
    return text


def _comment(text: str) -> str:
    """``text`` on one comment line (a LaTeX comment runs to the end of its line)."""
    return " ".join(str(text).split())


def _label(run: str) -> str:
    """``run`` as a ``\\label`` key: letters, digits and the characters ``-.:`` kept, others as ``-``."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-.:") else "-" for c in run)
