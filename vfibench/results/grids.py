"""Image grids for the samples where PSNR and the perceptual metrics disagree most.

One PNG per sample: the ground truth and every configuration's output (top row), each output's
error map |output − truth| on one shared colour scale (middle row), and a zoomed crop of the
region where the outputs err most (bottom row, nearest-neighbour enlargement; its box is drawn on
the top row). Titles carry the sample's scores for the seed whose outputs are shown.

Which samples: with a discordant pair (A ahead on PSNR, B ahead on a perceptual metric) the
samples with the largest :func:`vfibench.analysis.gap.disagreement_scores`, averaged over the
perceptual metrics compared; without one, the samples a single configuration does relatively
best on PSNR and worst on the perceptual metric (:func:`within_config_scores`).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vfibench.analysis.gap import (GapAnalysis, Orientation, disagreement_scores, focal_pair, orientations_for,
                                   sample_table)
from vfibench.results import atomic
from vfibench.results.frames import FrameSource, Image

#: Error maps share this colour scale's upper end unless the outputs err more (then their 99th percentile).
ERROR_SCALE_FLOOR = 0.1


@dataclass(frozen=True)
class GridSelection:
    """The samples to show, why, and how strongly the metrics disagree on each."""

    samples: tuple[int, ...]
    scores: tuple[float, ...]
    pair: tuple[str, str] | None
    config: str | None
    explanation: str


def within_config_scores(per_sample: pd.DataFrame, config: str, base: Orientation, other: Orientation) -> pd.Series:
    """Per sample of ``config``: z(base goodness) − z(other goodness), largest first.

    High where the sample is relatively good on the base metric (PSNR) but relatively bad on the
    other (LPIPS): the frames where the two metrics judge this configuration most differently.
    """
    values = {}
    for orient in (base, other):
        table = sample_table(per_sample, orient.name)
        column = table[config] if config in table else pd.Series(dtype=float)
        goodness = orient.goodness(column.dropna().astype(float))
        spread = float(goodness.std(ddof=0)) if len(goodness) > 1 else 0.0
        values[orient.name] = (goodness - goodness.mean()) / (spread if spread > 0 else 1.0)
    score = (values[base.name] - values[other.name]).dropna()
    frame = pd.DataFrame({"score": score.to_numpy(dtype=float), "sample": score.index})
    frame = frame.sort_values(["score", "sample"], ascending=[False, True], kind="mergesort")
    return frame.set_index("sample")["score"]


def select_samples(per_sample: pd.DataFrame, analysis: GapAnalysis, count: int = 3,
                   orientations: Mapping[str, Orientation] | None = None) -> GridSelection | None:
    """The ``count`` samples to show (None when PSNR or every perceptual metric is unavailable)."""
    if count < 1 or analysis.base not in analysis.metrics or not analysis.compared or not analysis.configs:
        return None
    orient = dict(orientations or orientations_for([analysis.base, *analysis.compared]))
    base = orient[analysis.base]
    labels = [analysis.labels.get(m, m) for m in analysis.compared]
    pair = focal_pair(analysis)
    if pair is not None:
        others = [orient[t.metric] for t in pair.disagreeing] or [orient[m] for m in analysis.compared]
        parts = [disagreement_scores(per_sample, pair.a, pair.b, base, o) for o in others]
        scores = pd.concat(parts, axis=1).mean(axis=1).dropna()
        scores = scores.loc[sorted(scores.index, key=lambda s: (-scores[s], s))]
        chosen = scores.iloc[:count]
        explanation = (f"Samples where {analysis.labels.get(analysis.base)} and "
                       f"{', '.join(analysis.labels.get(o.name, o.name) for o in others)} disagree most about "
                       f"'{pair.a}' (ahead on {analysis.labels.get(analysis.base)}) versus '{pair.b}': a positive "
                       f"score means the metrics prefer different members of the pair on that sample.")
        return GridSelection(tuple(int(s) for s in chosen.index), tuple(float(v) for v in chosen), (pair.a, pair.b),
                             None, explanation)
    trained = [c for c in analysis.configs if analysis.kinds.get(c) != "reference"]
    config = (trained or list(analysis.configs))[0]
    chosen = within_config_scores(per_sample, config, base, orient[analysis.compared[0]]).iloc[:count]
    if chosen.empty:
        return None
    lead = ("Only one configuration has results" if len(analysis.configs) == 1 else
            "No pair of configurations is discordant")
    explanation = (f"{lead}, so these are the samples that '{config}' does "
                   f"relatively best on {analysis.labels.get(analysis.base)} and worst on {labels[0]} "
                   f"(score: difference of the two standardised per-sample values).")
    return GridSelection(tuple(int(s) for s in chosen.index), tuple(float(v) for v in chosen), None, config,
                         explanation)


def crop_box(errors: Sequence[np.ndarray], side: int) -> tuple[int, int, int]:
    """(top, left, side) of the square window with the largest total error over ``errors`` (H, W).

    Ties go to the top-most, then left-most window; a deterministic choice.
    """
    total = np.sum(np.stack(errors), axis=0, dtype=np.float64)
    height, width = total.shape
    side = max(1, min(side, height, width))
    integral = np.pad(total.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = (integral[side:, side:] - integral[:-side, side:] - integral[side:, :-side] + integral[:-side, :-side])
    top, left = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(top), int(left), side


def error_map(prediction: Image, truth: Image) -> np.ndarray:
    """Mean absolute error over the RGB channels, (H, W), in [0, 1]."""
    return np.abs(prediction.astype(np.float64) - truth.astype(np.float64)).mean(axis=2)


def _score_text(scores: Mapping[str, float], labels: Mapping[str, str], units: Mapping[str, str]) -> str:
    parts = []
    for metric, value in scores.items():
        if value is None or not math.isfinite(value):
            continue
        number = f"{value:.2f}" if abs(value) >= 10 else f"{value:.3f}"
        parts.append(f"{labels.get(metric, metric)} {number}{' ' + units[metric] if units.get(metric) else ''}")
    return "\n".join(parts)


def render_grid(source: FrameSource, sample: int, configs: Sequence[str], scores: Mapping[str, Mapping[str, float]],
                path: Path, title: str, labels: Mapping[str, str], units: Mapping[str, str]) -> Path:
    """Draw one sample's grid and write it to ``path`` (PNG, atomically).

    Args:
        source: where the frames come from.
        sample: the test sample.
        configs: the configurations to show, in order (those without an output are skipped).
        scores: config → metric → value on this sample, printed under each output.
        path: the PNG to write.
        title: the figure's title.
        labels, units: metric display labels and units.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import Rectangle

    truth = source.gt(sample)
    outputs = [(c, source.prediction(c, sample)) for c in configs]
    outputs = [(c, image) for c, image in outputs if image is not None]
    errors = [error_map(image, truth) for _, image in outputs]
    height, width = truth.shape[:2]
    top, left, side = crop_box(errors or [np.zeros((height, width))], max(8, min(height, width) // 4))
    scale = max(ERROR_SCALE_FLOOR, float(np.percentile(np.stack(errors), 99)) if errors else 0.0)

    columns = 1 + len(outputs)
    panel = 2.6
    aspect = height / width
    figure, axes = plt.subplots(3, columns, figsize=(panel * max(columns, 3), panel * (2 * aspect + 1) + 1.6),
                                squeeze=False, gridspec_kw={"height_ratios": [aspect, aspect, 1]})
    figure.suptitle(textwrap.fill(title, width=int(16 * max(columns, 3))), fontsize=10, x=0.01, ha="left")

    def show(ax: object, image: np.ndarray, name: str, **kwargs: object) -> object:
        handle = ax.imshow(image, interpolation="nearest", **kwargs)  # type: ignore[attr-defined]
        ax.set_title(name, fontsize=8)  # type: ignore[attr-defined]
        ax.set_xticks([]), ax.set_yticks([])  # type: ignore[attr-defined]
        return handle

    def box(ax: object) -> None:
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), side, side, fill=False, edgecolor="#00e5ff",  # type: ignore[attr-defined]
                               linewidth=1.2))

    crop = (slice(top, top + side), slice(left, left + side))
    show(axes[0, 0], truth, "ground truth")
    box(axes[0, 0])
    show(axes[2, 0], truth[crop], "ground truth (zoom)")
    axes[1, 0].axis("off")
    handle = None
    for column, ((config, image), error) in enumerate(zip(outputs, errors), start=1):
        text = _score_text(scores.get(config, {}), labels, units)
        show(axes[0, column], image, f"{config}\n{text}" if text else config)
        box(axes[0, column])
        handle = show(axes[1, column], error, f"|{config} − truth|", cmap="magma", vmin=0.0, vmax=scale)
        show(axes[2, column], image[crop], f"{config} (zoom)")
    if handle is not None:
        colour_axis = axes[1, 0].inset_axes([0.45, 0.05, 0.12, 0.9])
        figure.colorbar(handle, cax=colour_axis)
        colour_axis.yaxis.set_ticks_position("left")
        colour_axis.tick_params(labelsize=7)
        axes[1, 0].text(0.0, 0.5, "mean abs.\nerror\n(0–1)", fontsize=8, va="center",
                        transform=axes[1, 0].transAxes)
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    atomic.write_bytes(path, buffer.getvalue())
    return path


def sample_scores(per_sample: pd.DataFrame, sample: int, seed: int | None, metrics: Sequence[str]
                  ) -> dict[str, dict[str, float]]:
    """config → metric → value of ``sample`` (for ``seed`` when given, else the mean over seeds)."""
    rows = per_sample[per_sample["sample"] == sample]
    if seed is not None and (rows["seed"] == seed).any():
        rows = rows[rows["seed"] == seed]
    out: dict[str, dict[str, float]] = {}
    for config, part in rows.groupby("config", sort=False):
        out[str(config)] = {m: float(pd.to_numeric(part[m], errors="coerce").mean()) for m in metrics if m in part}
    return out
