"""The report's figures: the perception–distortion plane and the metrics along the samples' attributes.

Blau & Michaeli ("The perception-distortion tradeoff", CVPR 2018) show that distortion (PSNR) and
perceptual quality cannot both be optimal; the trained configurations (or evaluated models) not
dominated on both axes form the Pareto front, drawn as a line (over every row, references included,
when fewer than two are not references: :attr:`~vfibench.analysis.plane.Plane.front_over`). Any two
metrics can span the plane (``--plane psnr:lpips``, ``ssim:dists``); an axis is inverted when lower
is better, so better is up and to the right, except on the axis of a metric best at a target (the
sharpness ratio, best at 1), which the title and caption name.
Each configuration has its own colour and marker (Okabe & Ito's colour-blind-safe palette); the
axes fit the trained rows, and a reference row that falls outside is pinned to the edge with an
arrow marker and its values in the label. Error bars are either the 95% bootstrap intervals of each
mean from the summary (``bootstrap``) or the 95% BCa intervals of the paired per-sample difference
to one anchor configuration (``paired``, :mod:`vfibench.analysis.paired`), drawn around each mean
so that a bar that misses the anchor's dotted line marks a difference whose unadjusted interval
excludes zero (not corrected for the number of comparisons: the Holm-adjusted p of the pairs table
decides significance).
The plane is written as a 300-dpi PNG with a PDF and an SVG beside it, each breakdown as a 200-dpi PNG
with a PDF, the training curves (a diagnostic) as a 200-dpi PNG (matplotlib, Agg backend).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from vfibench.analysis.gap import GapAnalysis
from vfibench.analysis.per_sample import Orientation
from vfibench.analysis.plane import FRONT_OF_RANKED, Plane
from vfibench.analysis.verdict import ranked_noun, row_noun
from vfibench.metrics.records import metric_heading
from vfibench.results import atomic, schema
from vfibench.results.labels import Segment, place_labels
from vfibench.results.schema import CI_HIGH, CI_LOW, CONFIG
from vfibench.words import join_words

if TYPE_CHECKING:
    from vfibench.analysis.breakdown import Breakdown

REFERENCE_COLOUR = "#7f7f7f"
FRONT_COLOUR = "#d62728"
REFERENCE_MARKERS = ("s", "D", "p", "h")
#: How the plane's error bars are computed (see the module docstring).
INTERVALS = ("bootstrap", "paired")
#: Print resolution of the PNG figures.
PRINT_DPI = 300
#: Resolution of a PNG drawn for the screen, sharp at its print size on high-density displays: the
#: breakdowns' (their PDF is for print) and the training curves' (a diagnostic); fewer than half the
#: pixels of :data:`PRINT_DPI`, and the 12.6 × 13.6 in curves of a sweep take 0.7× the time to write.
SCREEN_DPI = 200
Bars = tuple[tuple[float, float], tuple[float, float]]  # ((x below, x above), (y below, y above))


@dataclass(frozen=True)
class SavedFigure:
    """A written figure: the PNG shown in the report, its PDF and SVG for print, and the caption that
    explains it."""

    png: Path
    vector: tuple[Path, ...]
    caption: str

    @property
    def print_note(self) -> str:
        """``"Also as plane.pdf and plane.svg, for print."`` (empty without vector files)."""
        return f"Also as {join_words([p.name for p in self.vector])}, for print." if self.vector else ""

    @property
    def full_caption(self) -> str:
        """The caption the report shows under the figure: what it shows, then where its print files are."""
        return " ".join(text for text in (self.caption, self.print_note) if text)


def _interval(summary: pd.DataFrame, config: str, metric: str, mean: float) -> tuple[float, float]:
    """(below, above) error-bar lengths from the summary's bootstrap interval, 0 when absent."""
    row = summary[summary[CONFIG].astype(str) == config]
    low, high = schema.column(metric, CI_LOW), schema.column(metric, CI_HIGH)
    if row.empty or low not in row or high not in row:
        return 0.0, 0.0
    lo, hi = float(row[low].iloc[0]), float(row[high].iloc[0])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 0.0
    return max(0.0, mean - lo), max(0.0, hi - mean)


def plane_bars(plane: Plane, per_sample: pd.DataFrame, summary: pd.DataFrame, intervals: str = "bootstrap",
               anchor: str | None = None) -> dict[str, Bars]:
    """config → error-bar lengths on both axes.

    ``bootstrap``: the summary's 95% interval of each mean. ``paired``: the 95% BCa interval of the
    mean paired difference to ``anchor``, placed at the anchor's mean (the bar spans
    anchor mean + [low, high]); the anchor has no bar.
    """
    if intervals == "bootstrap":
        return {p.config: (_interval(summary, p.config, plane.x_metric, p.x), _interval(summary, p.config,
                                                                                       plane.y_metric, p.y))
                for p in plane.points}
    from vfibench.analysis.paired import paired_intervals

    means = {p.config: (p.x, p.y) for p in plane.points}
    if anchor not in means:
        return {}
    by_axis = [paired_intervals(per_sample, metric, anchor) for metric in (plane.x_metric, plane.y_metric)]
    out: dict[str, Bars] = {}
    for point in plane.points:
        bars = []
        for axis, (value, found) in enumerate(zip((point.x, point.y), by_axis)):
            low, high = found.get(point.config, (math.nan, math.nan))
            base = means[anchor][axis]
            finite = math.isfinite(low) and math.isfinite(high)
            bars.append((max(0.0, value - (base + low)), max(0.0, base + high - value)) if finite else (0.0, 0.0))
        out[point.config] = (bars[0], bars[1])
    return out


def axis_label(orientation: Orientation) -> str:
    """``PSNR (dB) ↑``."""
    return metric_heading(orientation.label, orientation.unit, orientation.arrow)


#: Digits and minus sign as superscripts, for tick labels such as 3×10⁻³.
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_POWER_OF_TEN = re.compile(r"\$\\mathdefault\{(?:([0-9.]+)\\times)?10\^\{(-?[0-9]+)\}\}\$")


def power_label(label: str) -> str:
    """A log axis's tick label ``$\\mathdefault{3\\times10^{-3}}$`` as plain text ``3×10⁻³`` (any other
    label unchanged): drawn as text, it needs no mathtext parsing, which took a third of the time
    of the training-curves figure."""
    match = _POWER_OF_TEN.fullmatch(label)
    if match is None:
        return label
    factor, exponent = match.groups()
    return (f"{factor}×" if factor else "") + "10" + exponent.translate(SUPERSCRIPTS)


def _log_y(ax: object) -> None:
    """A log-scale y axis whose tick labels are matplotlib's (decades, and some minor ticks on a short
    range) written as plain text by :func:`power_label`."""
    from matplotlib.ticker import LogFormatterSciNotation

    class PlainLogFormatter(LogFormatterSciNotation):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return power_label(super().__call__(x, pos))

    ax.set_yscale("log")  # type: ignore[attr-defined]
    ax.yaxis.set_major_formatter(PlainLogFormatter())  # type: ignore[attr-defined]
    ax.yaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))  # type: ignore[attr-defined]


def fitted_limits(values: Sequence[tuple[float, float]], pad: float = 0.12) -> tuple[float, float]:
    """(low, high) covering every (value − below, value + above)… given as (low end, high end) pairs, padded
    by ``pad`` of the span on each side (a flat span gets ±1% of its value, at least 1e-3)."""
    low = min(v[0] for v in values)
    high = max(v[1] for v in values)
    span = high - low
    margin = span * pad if span > 0 else max(abs(high) * 0.01, 1e-3)
    return low - margin, high + margin


def _edge_marker(ax: object, true: tuple[float, float], shown: tuple[float, float]) -> str:
    """The triangle marker that points from ``shown`` (on the edge) towards ``true`` on screen."""
    to_pixels = ax.transData.transform  # type: ignore[attr-defined]
    (tx, ty), (sx, sy) = to_pixels(true), to_pixels(shown)
    dx, dy = tx - sx, ty - sy
    if abs(dx) >= abs(dy):
        return ">" if dx > 0 else "<"
    return "^" if dy > 0 else "v"


def _number(value: float) -> str:
    return f"{value:.2f}" if abs(value) >= 10 else f"{value:.3f}"


def better_hint(x: Orientation, y: Orientation) -> str:
    """Where the plane is better: ``up and right``; an axis whose metric is best at a target names it
    instead (``up; Sharpness best at 1``)."""
    sides = join_words([side for side, metric in (("up", y), ("right", x)) if metric.higher_is_better is not None])
    targets = [f"{metric.label} best at {metric.target:g}" for metric in (y, x) if metric.higher_is_better is None]
    return "; ".join(([sides] if sides else []) + targets)


def front_name(plane: Plane) -> str:
    """What the plane's Pareto front is of: ``Pareto front of the trained configurations`` (or ``of the
    models``), or ``Pareto front of all rows, references included``."""
    if plane.front_over == FRONT_OF_RANKED:
        return f"Pareto front of the {ranked_noun(p.kind for p in plane.points)}"
    return "Pareto front of all rows, references included"


def plane_caption(plane: Plane, intervals: str, anchor: str | None, clipped: Sequence[str],
                  labels: Mapping[str, str]) -> str:
    """What the plane shows, how its error bars were computed, and which references are off scale."""
    x, y = labels.get(plane.x_metric, plane.x_metric), labels.get(plane.y_metric, plane.y_metric)
    hint = better_hint(Orientation.of(plane.x_metric), Orientation.of(plane.y_metric))
    subject = ranked_noun(p.kind for p in plane.points)
    row = row_noun(p.kind for p in plane.points)
    references = any(not schema.is_ranked(p.kind) for p in plane.points)
    text = (f"Mean {x} against mean {y} per {row}, each with its own colour and marker (better: {hint}; "
            f"an axis is inverted when lower is better). The dashed red line joins the {front_name(plane)}: "
            f"those not beaten on both axes by another of them."
            + (" Grey markers are the untrained references. " if references else " "))
    if intervals == "paired":
        text += (f"Error bars: 95% BCa bootstrap interval of the paired per-sample difference to '{anchor}' "
                 f"(dotted lines), drawn around each {row}'s mean; a bar that does not reach the dotted "
                 f"line marks a difference whose interval excludes zero, unadjusted (not corrected for the number "
                 f"of comparisons): the Holm-adjusted p in the pairs table decides significance. ")
    else:
        text += ("Error bars: 95% bootstrap interval of each mean over the test samples (unpaired; the paired "
                 "comparisons in the tables are sharper, see `--intervals paired`). ")
    text += f"The axes fit the {subject}"
    if clipped:
        one = len(clipped) == 1
        text += (f"; {', '.join(repr(c) for c in clipped)} {'lies' if one else 'lie'} outside and "
                 f"{'is' if one else 'are'} pinned to the edge with an arrow marker pointing towards "
                 f"{'its' if one else 'their'} true position (values in the label)")
    return text + "."


def plane_plot(plane: Plane | None, per_sample: pd.DataFrame, summary: pd.DataFrame, path: Path, *,
               intervals: str = "bootstrap", anchor: str | None = None, labels: Mapping[str, str] | None = None,
               missing: Mapping[str, str] | None = None) -> SavedFigure | None:
    """Draw ``plane`` to ``path`` (300-dpi PNG) and its ``.pdf`` and ``.svg`` beside it, atomically;
    None when there is no plane.

    Args:
        plane: the configurations' means on two metrics (:func:`~vfibench.analysis.plane.perception_distortion_plane`).
        per_sample: the per-sample table (for paired intervals).
        summary: the summary table (for bootstrap intervals).
        path: where the PNG goes.
        intervals: ``bootstrap`` or ``paired`` (see :func:`plane_bars`).
        anchor: the configuration paired intervals are measured against.
        labels: metric display labels for the caption.
        missing: configurations not shown, with the reason.
    """
    if plane is None or not plane.points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    x_or, y_or = Orientation.of(plane.x_metric), Orientation.of(plane.y_metric)
    bars = plane_bars(plane, per_sample, summary, intervals, anchor)
    zero: Bars = ((0.0, 0.0), (0.0, 0.0))
    trained = [p for p in plane.points if schema.is_ranked(p.kind)]
    fitted = trained or list(plane.points)
    xlim = fitted_limits([(p.x - bars.get(p.config, zero)[0][0], p.x + bars.get(p.config, zero)[0][1])
                          for p in fitted])
    ylim = fitted_limits([(p.y - bars.get(p.config, zero)[1][0], p.y + bars.get(p.config, zero)[1][1])
                          for p in fitted])
    figure, ax = plt.subplots(figsize=(7.5, 5.5))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    if x_or.higher_is_better is False:
        ax.invert_xaxis()
    if y_or.higher_is_better is False:
        ax.invert_yaxis()
    if intervals == "paired" and anchor is not None:
        for point in plane.points:
            if point.config == anchor:
                ax.axvline(point.x, color="#555555", linestyle=":", linewidth=0.8, zorder=1)
                ax.axhline(point.y, color="#555555", linestyle=":", linewidth=0.8, zorder=1)
    labelled: list[tuple[float, float, str, str]] = []
    lines: list[Segment] = []
    clipped: list[str] = []
    for point in plane.points:
        reference = not schema.is_ranked(point.kind)
        if reference:
            index = [p.config for p in plane.points if not schema.is_ranked(p.kind)].index(point.config)
            colour, marker = REFERENCE_COLOUR, REFERENCE_MARKERS[index % len(REFERENCE_MARKERS)]
        else:
            index = trained.index(point)
            colour, marker = PALETTE[index % len(PALETTE)], MARKERS[index % len(MARKERS)]
        shown = (min(max(point.x, xlim[0]), xlim[1]), min(max(point.y, ylim[0]), ylim[1]))
        text = point.config if len(point.config) <= 32 else point.config[:31] + "…"
        if shown != (point.x, point.y):
            clipped.append(point.config)
            ax.plot([shown[0]], [shown[1]], marker=_edge_marker(ax, (point.x, point.y), shown), color=colour,
                    markersize=9, linestyle="none", zorder=3, clip_on=False)
            text += (f" (reference, off scale: {x_or.label} {_number(point.x)}, {y_or.label} {_number(point.y)})"
                     if reference else f" (off scale: {_number(point.x)}, {_number(point.y)})")
        else:
            (xb, yb) = bars.get(point.config, zero)
            ax.errorbar([point.x], [point.y], xerr=[[xb[0]], [xb[1]]], yerr=[[yb[0]], [yb[1]]], fmt=marker,
                        color=colour, markersize=8, markeredgecolor=FRONT_COLOUR if point.on_front else "white",
                        markeredgewidth=1.6, elinewidth=1.0, capsize=3, zorder=3, ecolor=colour, alpha=0.95)
            lines += [((point.x - xb[0], point.y), (point.x + xb[1], point.y)),
                      ((point.x, point.y - yb[0]), (point.x, point.y + yb[1]))]
            if reference:
                text += " (reference)"
        labelled.append((shown[0], shown[1], text, "#333333" if reference else colour))
    front = [p for c in plane.front for p in plane.points if p.config == c]
    if len(front) > 1:
        ax.plot([p.x for p in front], [p.y for p in front], color=FRONT_COLOUR, linewidth=1.2, linestyle="--",
                zorder=2, label=front_name(plane))
        lines += [((a.x, a.y), (b.x, b.y)) for a, b in zip(front, front[1:])]
    elif front:
        ax.plot([], [], color=FRONT_COLOUR, linestyle="--", label=f"{front_name(plane)}: '{front[0].config}' alone")
    ax.set_xlabel(axis_label(x_or) + ("  (inverted: better is right)" if x_or.higher_is_better is False else ""))
    ax.set_ylabel(axis_label(y_or) + ("  (inverted: better is up)" if y_or.higher_is_better is False else ""))
    ax.set_title(f"Perception–distortion plane: {x_or.label} vs {y_or.label} (better: {better_hint(x_or, y_or)})",
                 fontsize=10)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    figure.tight_layout(rect=(0, 0.03 if missing else 0, 1, 1))
    place_labels(ax, labelled, lines)
    ax.legend(loc="best", fontsize=8, frameon=False)
    if missing:
        figure.text(0.01, 0.01, "Not shown: " + ", ".join(f"{c} ({s})" for c, s in missing.items()), fontsize=7,
                    color="#555555")
    written = _save(figure, path, vector=("pdf", "svg"))
    plt.close(figure)
    caption = plane_caption(plane, intervals, anchor, clipped, labels or {})
    return SavedFigure(written[0], tuple(written[1:]), caption)


#: The metadata that would make a figure's file differ from run to run, per format.
_VOLATILE_METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None}, "svg": {"Date": None}}


def _save(figure: object, path: Path, *, vector: Sequence[str] = (), dpi: int = PRINT_DPI) -> list[Path]:
    """Write ``figure`` as a PNG at ``dpi``, and in each ``vector`` format (``pdf``, ``svg``) beside it,
    reproducibly; the PNG first in the list returned."""
    import matplotlib

    written = []
    formats = [(extension, _VOLATILE_METADATA[extension]) for extension in ("png", *vector)]
    # SVG text stays text (editable, searchable); PDF fonts are embedded as TrueType (type 42)
    with matplotlib.rc_context({"svg.hashsalt": "vfibench", "svg.fonttype": "none", "pdf.fonttype": 42}):
        for extension, metadata in formats:
            target = path.with_suffix("." + extension)
            buffer = io.BytesIO()
            figure.savefig(buffer, format=extension, dpi=dpi, metadata=metadata)  # type: ignore[attr-defined]
            atomic.write_bytes(target, buffer.getvalue())
            written.append(target)
    return written


#: Colour-blind-safe palette (Okabe & Ito) for one line per configuration.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Line style, open marker and grey of each reference row in line plots: told apart by all three at
#: print size, and from the trained rows (filled markers, colours) by their open markers and grey.
REFERENCE_STYLES = (("--", "s", "#404040"), (":", "^", "#9a9a9a"), ("-.", "D", "#6a6a6a"))


#: Size of one panel of a figure of several, in inches: three side by side are 7.65 in wide, about a
#: two-column paper's text width (6.875–7 in) at nine tenths of their size, and their 8-point labels
#: print at 7 points there.
PANEL_SIZE = (2.55, 2.3)


def breakdown_caption(result: "Breakdown", analysis: GapAnalysis) -> str:
    """What a breakdown figure shows, for the report."""
    rows_are = row_noun(analysis.kinds.values())
    return (f"Per {rows_are}, each metric's mean over the test samples in each {result.title} bin (quantile "
            f"bins, so about equal numbers of samples); where the lines cross, the metrics rank the {rows_are}s "
            f"differently for such samples." + (f" {result.source}" if result.source else ""))


def breakdown_plot(result: "Breakdown", analysis: GapAnalysis, path: Path) -> SavedFigure | None:
    """Per configuration, the base and compared metrics (PSNR, LPIPS, DISTS…) against the bins of one
    attribute (x: the middle of each bin's range), up to three panels a row; references grey with open
    markers. Written as a PNG at ``path`` (:data:`SCREEN_DPI`), with its PDF beside it for print (three
    breakdowns' SVGs would add a tenth to a report's time)."""
    metrics = [m for m in (analysis.base, *analysis.compared) if m in result.means]
    configs = list(result.means[metrics[0]]) if metrics else []
    if not configs or not result.counts:
        return None
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    centres = [(low + high) / 2 for low, high in zip(result.edges[:-1], result.edges[1:])]
    trained = [c for c in configs if schema.is_ranked(analysis.kinds.get(c, schema.TRAINED))]
    columns = min(3, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    width = PANEL_SIZE[0] * columns
    # the title wraps and the legend narrows to the figure: about 14 characters of 9-point text an inch,
    # a legend entry ("nearest (reference)") about 1.9 in
    title = textwrap.fill(f"Metrics along {result.title}: mean per quantile bin of the test samples (better is up)",
                          width=int(width * 14))
    legend_columns = max(1, min(len(configs), 4, int(width / 1.9)))
    title_height = 0.04 + 0.14 * (title.count("\n") + 1)
    legend_height = 0.16 * math.ceil(len(configs) / legend_columns) + 0.08
    height = PANEL_SIZE[1] * rows + title_height + legend_height
    figure, axes = plt.subplots(rows, columns, figsize=(width, height), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        orientation = Orientation.of(metric)
        for config in configs:
            values = result.means[metric][config]
            if config in trained:
                k = trained.index(config) % len(PALETTE)
                ax.plot(centres, values, marker=MARKERS[k], color=PALETTE[k], linewidth=1.2, markersize=4,
                        label=config)
            else:
                k = [c for c in configs if c not in trained].index(config) % len(REFERENCE_STYLES)
                style, marker, grey = REFERENCE_STYLES[k]
                ax.plot(centres, values, linestyle=style, color=grey, linewidth=1.0, marker=marker,
                        markerfacecolor="none", markersize=4, label=f"{config} (reference)")
        if orientation.higher_is_better is False:
            ax.invert_yaxis()
        ax.set_xlabel(result.title, fontsize=8)
        ax.set_ylabel(axis_label(orientation) + (" (inverted)" if orientation.higher_is_better is False else ""),
                      fontsize=8)
        ax.grid(True, linewidth=0.4, alpha=0.5)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=legend_columns, fontsize=7, frameon=False)
    figure.suptitle(title, fontsize=9, y=1 - 0.04 / height, va="top")
    for _ in range(2):  # the first pass resizes the panels, which can lengthen their tick labels
        figure.tight_layout(rect=(0, legend_height / height, 1, 1 - title_height / height), pad=0.4, w_pad=0.8)
    written = _save(figure, path, vector=("pdf",), dpi=SCREEN_DPI)  # the PDF is for print
    plt.close(figure)
    return SavedFigure(written[0], tuple(written[1:]), breakdown_caption(result, analysis))


#: A loss panel is drawn on a log scale when its values are positive and span at least this factor:
#: within less, a log axis only labels its ticks as ``1.43×10⁰``.
LOG_SPAN = 10.0


def wants_log_scale(values: pd.Series) -> bool:
    """Whether a loss panel of ``values`` is drawn on a log scale: all positive, spanning at least
    :data:`LOG_SPAN` (NaN ignored)."""
    shown = values.dropna()
    finite = bool(len(shown)) and all(math.isfinite(v) for v in shown.astype(float))
    return finite and bool((shown > 0).all()) and bool(shown.max() >= LOG_SPAN * shown.min())


def training_curves_plot(curves: pd.DataFrame, configs: Sequence[str], path: Path,
                         parting_step: int | None = None) -> Path | None:
    """Per trained configuration (its own colour and marker), every logged loss term and the total over
    steps (on a log scale, said in the panel's title, when all are positive and span a factor of
    :data:`LOG_SPAN` or more), then each held-out metric (``val_<metric>``, axis inverted when lower is
    better, said in the title); a vertical line where the held-out metrics part ways. None without a log."""
    from vfibench.analysis.curves import held_out_columns, loss_columns
    from vfibench.results.schema import HELD_OUT_PREFIX

    if curves.empty or not configs:
        return None
    panels = loss_columns(curves) + held_out_columns(curves)
    panels = [c for c in panels if curves[c].notna().any()]
    if not panels:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows + 0.8), squeeze=False)
    for ax, column in zip(axes.flat, panels):
        held_out = column.startswith(HELD_OUT_PREFIX)
        logarithmic = wants_log_scale(curves.loc[curves[CONFIG].isin(configs), column])
        for index, config in enumerate(configs):
            part = curves[(curves[CONFIG] == config) & curves[column].notna()]
            if part.empty:
                continue
            k = index % len(PALETTE)
            ax.plot(part[schema.STEP], part[column], color=PALETTE[k], marker=MARKERS[k], markersize=3.5, linewidth=1.3,
                    label=config)
        if held_out:
            orientation = Orientation.of(column[len(HELD_OUT_PREFIX):])
            inverted = orientation.higher_is_better is False
            ax.set_title(f"held-out {axis_label(orientation)}" + ("  (inverted: better is up)" if inverted else ""),
                         fontsize=9)
            if inverted:
                ax.invert_yaxis()
        else:
            ax.set_title(("total loss" if column == "total" else f"term: {column}") + (" (log)" if logarithmic else ""),
                         fontsize=9)
            if logarithmic:
                _log_y(ax)
        if parting_step is not None:
            ax.axvline(parting_step, color="#555555", linestyle=":", linewidth=0.9)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(True, linewidth=0.4, alpha=0.5)
        ax.tick_params(which="both", labelsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    figure.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8, frameon=False)
    figure.suptitle("Training: logged loss terms and held-out metrics per configuration (mean over seeds)"
                    + ("; dotted: where the held-out metrics part ways" if parting_step is not None else ""),
                    fontsize=10)
    legend_rows = math.ceil(len(labels) / 4)
    figure.tight_layout(rect=(0, min(0.25, 0.05 * legend_rows / rows + 0.02), 1, 0.95))
    _save(figure, path, dpi=SCREEN_DPI)
    plt.close(figure)
    return path
