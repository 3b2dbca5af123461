"""The perception–distortion plot: each configuration's mean PSNR against its mean LPIPS.

Blau & Michaeli ("The perception-distortion tradeoff", CVPR 2018) show that distortion (PSNR) and
perceptual quality cannot both be optimal; the configurations not dominated on both axes form the
Pareto front, drawn as a line. The perceptual axis is inverted when lower is better, so better
is always up and to the right. Error bars are the 95% bootstrap intervals over samples from the
summary; reference rows (blend, nearest) are grey squares. Rendered with matplotlib's Agg backend.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd

from typing import TYPE_CHECKING

from vfibench.analysis.gap import GapAnalysis, Orientation, PlanePoint

if TYPE_CHECKING:
    from vfibench.analysis.breakdown import Breakdown
from vfibench.results import atomic

TRAINED_COLOUR = "#1f77b4"
REFERENCE_COLOUR = "#7f7f7f"
FRONT_COLOUR = "#d62728"


def _interval(summary: pd.DataFrame, config: str, metric: str, mean: float) -> tuple[float, float]:
    """(below, above) error-bar lengths from the summary's bootstrap interval, 0 when absent."""
    row = summary[summary["config"].astype(str) == config]
    low, high = f"{metric}_ci_low", f"{metric}_ci_high"
    if row.empty or low not in row or high not in row:
        return 0.0, 0.0
    lo, hi = float(row[low].iloc[0]), float(row[high].iloc[0])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 0.0
    return max(0.0, mean - lo), max(0.0, hi - mean)


def axis_label(orientation: Orientation) -> str:
    """``PSNR (dB) ↑``."""
    unit = f" ({orientation.unit})" if orientation.unit else ""
    return f"{orientation.label}{unit} {orientation.arrow}"


#: Label positions tried in turn, in points from the marker: (dx, dy, horizontal alignment).
LABEL_OFFSETS = ((6, 5, "left"), (6, -13, "left"), (-6, 5, "right"), (-6, -13, "right"), (6, 16, "left"),
                 (6, -24, "left"), (-6, 16, "right"), (-6, -24, "right"))


def _place_labels(ax: object, points: tuple[PlanePoint, ...]) -> None:
    """Name every point, choosing for each the first offset whose text box overlaps no marker and no
    earlier label (estimated in display pixels); the last candidate when every one collides."""
    figure = ax.figure  # type: ignore[attr-defined]
    ax.get_xlim(), ax.get_ylim()  # type: ignore[attr-defined]  # settle the autoscaled limits first
    to_pixels = ax.transData.transform  # type: ignore[attr-defined]
    scale = figure.dpi / 72.0
    markers = [tuple(to_pixels((p.x, p.y))) for p in points]
    taken: list[tuple[float, float, float, float]] = [(mx - 5 * scale, my - 5 * scale, mx + 5 * scale, my + 5 * scale)
                                                      for mx, my in markers]
    for point, (mx, my) in sorted(zip(points, markers), key=lambda item: (-item[1][1], item[1][0])):
        text = (point.config if len(point.config) <= 32 else point.config[:31] + "…") + (
            " (reference)" if point.kind == "reference" else "")
        width, height = 4.6 * len(text) * scale, 9 * scale
        choice = LABEL_OFFSETS[-1]
        for dx, dy, align in LABEL_OFFSETS:
            left = mx + dx * scale - (width if align == "right" else 0)
            bottom = my + dy * scale
            box = (left, bottom, left + width, bottom + height)
            if not any(box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3] for o in taken):
                choice = (dx, dy, align)
                taken.append(box)
                break
        ax.annotate(text, (point.x, point.y), textcoords="offset points", xytext=choice[:2],  # type: ignore[attr-defined]
                    ha=choice[2], fontsize=8, color="#333333")


def plane_plot(analysis: GapAnalysis, summary: pd.DataFrame, path: Path) -> Path | None:
    """Draw the plane of ``analysis.plane`` to ``path`` (PNG, atomically); None if there is no plane."""
    plane = analysis.plane
    if plane is None or not plane.points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    x_or, y_or = Orientation.of(plane.x_metric), Orientation.of(plane.y_metric)
    figure, ax = plt.subplots(figsize=(7.5, 5.5))
    for point in plane.points:
        reference = point.kind == "reference"
        xerr = _interval(summary, point.config, plane.x_metric, point.x)
        yerr = _interval(summary, point.config, plane.y_metric, point.y)
        ax.errorbar([point.x], [point.y], xerr=[[xerr[0]], [xerr[1]]], yerr=[[yerr[0]], [yerr[1]]],
                    fmt="s" if reference else "o", color=REFERENCE_COLOUR if reference else TRAINED_COLOUR,
                    markersize=7, markeredgecolor=FRONT_COLOUR if point.on_front else "white",
                    markeredgewidth=1.6, elinewidth=0.7, capsize=2, zorder=3, ecolor=(0.5, 0.5, 0.5, 0.35))
    ax.margins(0.15)
    if y_or.higher_is_better is False:
        ax.invert_yaxis()
    if x_or.higher_is_better is False:
        ax.invert_xaxis()
    _place_labels(ax, plane.points)
    front = [p for c in plane.front for p in plane.points if p.config == c]
    if len(front) > 1:
        ax.plot([p.x for p in front], [p.y for p in front], color=FRONT_COLOUR, linewidth=1.2, linestyle="--",
                zorder=2, label="Pareto front (not dominated on both axes)")
    elif front:
        ax.plot([], [], color=FRONT_COLOUR, linestyle="--", label=f"Pareto front: '{front[0].config}' alone")
    ax.set_xlabel(axis_label(x_or))
    ax.set_ylabel(axis_label(y_or) + ("  (axis inverted: better is up)" if y_or.higher_is_better is False else ""))
    ax.set_title(f"Perception–distortion plane: {x_or.label} vs {y_or.label} (better: up and right)", fontsize=10)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    missing = [f"{c} ({s})" for c, s in analysis.missing_configs.items()]
    if missing:
        figure.text(0.01, 0.01, "Not shown: " + ", ".join(missing), fontsize=7, color="#555555")
    figure.tight_layout(rect=(0, 0.03 if missing else 0, 1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)
    atomic.write_bytes(path, buffer.getvalue())
    return path


#: Colour-blind-safe palette (Okabe & Ito) for one line per configuration.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def breakdown_plot(result: "Breakdown", analysis: GapAnalysis, path: Path) -> Path | None:
    """Per configuration, the base and compared metrics (PSNR, LPIPS, DISTS…) against the bins of one
    attribute (x: the middle of each bin's range); references dashed grey."""
    metrics = [m for m in (analysis.base, *analysis.compared) if m in result.means]
    if not metrics or not result.counts:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    centres = [(low + high) / 2 for low, high in zip(result.edges[:-1], result.edges[1:])]
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.8), squeeze=False)
    configs = list(result.means[metrics[0]])
    trained = [c for c in configs if analysis.kinds.get(c) != "reference"]
    for ax, metric in zip(axes[0], metrics):
        orientation = Orientation.of(metric)
        for config in configs:
            values = result.means[metric][config]
            if config in trained:
                k = trained.index(config) % len(PALETTE)
                ax.plot(centres, values, marker=MARKERS[k], color=PALETTE[k], linewidth=1.4, markersize=5,
                        label=config)
            else:
                ax.plot(centres, values, linestyle="--", color=REFERENCE_COLOUR, linewidth=1.0, marker=".",
                        label=f"{config} (reference)")
        if orientation.higher_is_better is False:
            ax.invert_yaxis()
        ax.set_xlabel(result.title)
        ax.set_ylabel(axis_label(orientation) + (" (inverted: better is up)"
                                                 if orientation.higher_is_better is False else ""), fontsize=8)
        ax.grid(True, linewidth=0.4, alpha=0.5)
        ax.tick_params(labelsize=8)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8, frameon=False)
    figure.suptitle(f"Metrics along {result.title}: mean per bin of equally many test samples (better is up)",
                    fontsize=10)
    figure.tight_layout(rect=(0, 0.1 + 0.04 * (len(labels) > 4), 1, 0.95))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)
    atomic.write_bytes(path, buffer.getvalue())
    return path
