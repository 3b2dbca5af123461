"""Image grids for the samples where PSNR and the perceptual metrics disagree most.

One PNG per sample, one row per frame so that captions stay readable at page width: the top row
holds the ground truth, its zoomed crop and the two inputs I0 and I1 the model saw; then one row per
configuration with its output, the zoomed crop, its error map |output − truth| (one colour scale
shared by all rows) and its scores on this sample. The crop is the square window of a third of the
frame where the outputs err most (nearest-neighbour enlargement; its box is drawn on every frame).

Which samples. Only *trained* configurations choose them (reference rows are shown but never
drive the choice). With a discordant trained pair (A ahead on PSNR, B on a perceptual metric) the
samples with the largest :func:`vfibench.analysis.pair_tests.disagreement_scores` for that pair, averaged
over the perceptual metrics that disagree; without one, per sample the largest such score over
every pair of trained configurations; with a single trained configuration, the samples it does
relatively best on PSNR and worst on the perceptual metric (:func:`within_config_scores`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from vfibench.analysis.gap import GapAnalysis
from vfibench.analysis.pair_tests import disagreement_scores
from vfibench.analysis.per_sample import Orientation, orientations_for, sample_table
from vfibench.analysis.verdict import headline_pair, subject_noun
from vfibench.results import atomic, schema
from vfibench.results.schema import CONFIG, SAMPLE, SEED
from vfibench.results.frames import FrameSource, Image
from vfibench.results.numbers import format_number
from vfibench.words import join_words

#: Error maps share this colour scale's upper end unless the outputs err more (then their 99th percentile).
ERROR_SCALE_FLOOR = 0.1
#: Width of a frame's panel in pixels (a grid is four panels wide): fine enough for the crops'
#: texture, small enough to embed.
PANEL = 330
#: Pixels between columns, between rows, and around the grid.
GAP, ROW_GAP, MARGIN = 28, 18, 20
#: The error maps' colour map (matplotlib's name).
ERROR_COLOURS = "magma"


@dataclass(frozen=True)
class GridSelection:
    """The samples to show, why, and how strongly the metrics disagree on each (per sample, the pair)."""

    samples: tuple[int, ...]
    scores: tuple[float, ...]
    pair: tuple[str, str] | None
    config: str | None
    explanation: str
    pairs: tuple[tuple[str, str], ...] = ()


SCORE_NOTE = ("The disagreement score of a sample and a pair (A, B) is −(ΔPSNR / rms ΔPSNR) · (ΔP / rms ΔP), "
              "with Δ the per-sample goodness difference A − B on PSNR and on the perceptual metric P, and rms its "
              "root mean square over the test samples: positive exactly when the two metrics prefer different "
              "members of the pair on this sample, about 1 when both preferences are of typical size, larger "
              "when both are unusually strong.")


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
    frame = pd.DataFrame({"score": score.to_numpy(dtype=float), SAMPLE: score.index})
    frame = frame.sort_values(["score", SAMPLE], ascending=[False, True], kind="mergesort")
    return frame.set_index(SAMPLE)["score"]


def _pair_scores(per_sample: pd.DataFrame, a: str, b: str, base: Orientation,
                 others: Sequence[Orientation]) -> pd.Series:
    """Per sample, the pair's disagreement score averaged over ``others``."""
    parts = [disagreement_scores(per_sample, a, b, base, o) for o in others]
    return pd.concat(parts, axis=1).mean(axis=1).dropna()


def _largest(scores: pd.Series, count: int) -> pd.Series:
    return scores.loc[sorted(scores.index, key=lambda s: (-scores[s], s))].iloc[:count]


def _most_disagreeing(scores: pd.Series, count: int) -> tuple[pd.Series, str]:
    """The ``count`` largest scores among the positive ones (samples where the metrics prefer different
    members), and a sentence when fewer than ``count`` are positive; with none positive, the largest
    scores (the samples where the metrics come closest to disagreeing) and a sentence that says so."""
    positive = scores[scores > 0]
    if positive.empty:
        return _largest(scores, count), (" The metrics prefer the same member on every sample, so these are the "
                                         "samples where they come closest to disagreeing (scores ≤ 0).")
    chosen = _largest(positive, count)
    if len(chosen) < min(count, len(scores)):
        return chosen, (f" Only {len(chosen)} sample{'s' if len(chosen) > 1 else ''} "
                        f"{'have' if len(chosen) > 1 else 'has'} the metrics preferring different members.")
    return chosen, ""


def select_samples(per_sample: pd.DataFrame, analysis: GapAnalysis, count: int = 3,
                   orientations: Mapping[str, Orientation] | None = None) -> GridSelection | None:
    """The ``count`` samples to show, chosen among trained configurations only (None when PSNR or every
    perceptual metric is unavailable, or no trained configuration has results)."""
    if count < 1 or analysis.base not in analysis.metrics or not analysis.compared or not analysis.configs:
        return None
    orient = dict(orientations or orientations_for([analysis.base, *analysis.compared]))
    base = orient[analysis.base]
    name = analysis.labels.get(analysis.base, analysis.base)
    trained = [c for c in analysis.configs if schema.is_ranked(analysis.kinds.get(c, schema.TRAINED))]
    models = subject_noun(analysis) == "models"
    pair_noun = "pair of models" if models else "trained pair"
    references = (" Reference rows are shown for comparison but do not choose the samples."
                  if schema.REFERENCE in analysis.kinds.values() else "")
    pair = headline_pair(analysis)
    if pair is not None:
        others = [orient[t.metric] for t in pair.disagreeing] or [orient[m] for m in analysis.compared]
        chosen, fewer = _most_disagreeing(_pair_scores(per_sample, pair.a, pair.b, base, others), count)
        explanation = (f"Samples where {name} and {join_words([analysis.labels.get(o.name, o.name) for o in others])} "
                       f"disagree most about the {pair_noun} '{pair.a}' (ahead on {name}) versus '{pair.b}'.{fewer} "
                       f"{SCORE_NOTE}{references}")
        return GridSelection(tuple(int(s) for s in chosen.index), tuple(float(v) for v in chosen), (pair.a, pair.b),
                             None, explanation, tuple((pair.a, pair.b) for _ in chosen.index))
    others = [orient[m] for m in analysis.compared]
    if len(trained) >= 2:
        table = pd.DataFrame({(a, b): _pair_scores(per_sample, a, b, base, others)
                              for a, b in combinations(trained, 2)})
        if not table.empty:
            best = table.max(axis=1).dropna()
            chosen, fewer = _most_disagreeing(best, count)
            which = tuple(table.loc[s].astype(float).idxmax() for s in chosen.index)
            explanation = (f"No {pair_noun} is discordant on average, so these are the samples where {name} and "
                           f"{join_words([analysis.labels.get(o.name, o.name) for o in others])} disagree most about "
                           f"any {pair_noun} (the pair is named per sample).{fewer} {SCORE_NOTE}{references}")
            return GridSelection(tuple(int(s) for s in chosen.index), tuple(float(v) for v in chosen), None, None,
                                 explanation, tuple((str(a), str(b)) for a, b in which))
    if not trained:
        return None
    config = trained[0]
    chosen = within_config_scores(per_sample, config, base, orient[analysis.compared[0]]).iloc[:count]
    if chosen.empty:
        return None
    label = analysis.labels.get(analysis.compared[0], analysis.compared[0])
    only = "Only one model is scored" if models else "Only one trained configuration has results"
    explanation = (f"{only}, so these are the samples that '{config}' does "
                   f"relatively best on {name} and worst on {label} (score: its standardised per-sample {name} "
                   f"minus its standardised per-sample {label} goodness; positive where {name} judges the frame "
                   f"better than {label} does).{' Reference rows are shown for comparison.' if references else ''}")
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
        number = format_number(value, metric)  # as the tables print it, so a difference they show shows here
        parts.append(f"{labels.get(metric, metric)} {number}{' ' + units[metric] if units.get(metric) else ''}")
    return "\n".join(parts)


def render_grid(source: FrameSource, sample: int, configs: Sequence[str], scores: Mapping[str, Mapping[str, float]],
                path: Path, title: str, labels: Mapping[str, str], units: Mapping[str, str],
                kinds: Mapping[str, str] | None = None) -> Path:
    """Draw one sample's grid and write it to ``path`` (PNG, atomically).

    Args:
        source: where the frames come from.
        sample: the test sample.
        configs: the configurations to show, in order (those without an output are skipped).
        scores: config → metric → value on this sample, printed beside each output.
        path: the PNG to write.
        title: the figure's title.
        labels, units: metric display labels and units.
        kinds: config → its row kind (:data:`~vfibench.results.schema.KINDS`; references are marked as such).
    """
    import io

    from PIL import Image as PILImage, ImageDraw, ImageFont

    from vfibench.results import canvas

    truth = source.gt(sample)
    inputs = source.inputs(sample)
    outputs = [(c, source.prediction(c, sample)) for c in configs]
    outputs = [(c, image) for c, image in outputs if image is not None]
    errors = [error_map(image, truth) for _, image in outputs]
    height, width = truth.shape[:2]
    top, left, side = crop_box(errors or [np.zeros((height, width))], max(12, min(height, width) // 3))
    scale = max(ERROR_SCALE_FLOOR, float(np.percentile(np.stack(errors), 99)) if errors else 0.0)

    title_face, caption, numbers = canvas.font(21), canvas.font(19), canvas.font(16)
    scores_face = canvas.font(19, mono=True)
    panel_w = PANEL
    panel_h = max(1, round(PANEL * height / width))
    zoom = min(panel_w, panel_h)
    full_width = 2 * MARGIN + 4 * panel_w + 3 * GAP
    title_lines = canvas.wrapped(title, title_face, full_width - 2 * MARGIN)
    caption_h = canvas.line_height(caption) + 4
    notes = [canvas.broken(f"{config}\n{text}" if (text := _score_text(scores.get(config, {}), labels, units))
                           else config, scores_face, panel_w - 8) for config, _ in outputs]
    cell_h = max([panel_h, *(len(lines) * canvas.line_height(scores_face) for lines in notes)])
    row_h = caption_h + cell_h + ROW_GAP
    bar_h = (16 + 12 + 2 * canvas.line_height(numbers) + 10) if outputs else 0
    rows_top = MARGIN + len(title_lines) * canvas.line_height(title_face) + 10
    full_height = rows_top + (1 + len(outputs)) * row_h + bar_h + MARGIN
    image = PILImage.new("RGB", (full_width, full_height), canvas.PAPER)
    draw = ImageDraw.Draw(image)
    canvas.draw_lines(draw, (MARGIN, MARGIN), title_lines, title_face)

    def column(index: int) -> int:
        return MARGIN + index * (panel_w + GAP)

    def panel(index: int, row: int, picture: np.ndarray, name: str, *, boxed: bool = False,
              zoomed: bool = False) -> None:
        """``picture`` in cell (row, index) with ``name`` above it: a frame fills the panel's width, a
        zoomed crop is a square of the panel's height, centred."""
        shown = canvas.to_pil(picture)
        size = (zoom, zoom) if zoomed else (panel_w, panel_h)
        x = column(index) + (panel_w - size[0]) // 2
        y = rows_top + row * row_h + caption_h + (cell_h - size[1]) // 2
        image.paste(canvas.resized(shown, *size), (x, y))
        draw.rectangle((x - 1, y - 1, x + size[0], y + size[1]), outline=canvas.INK, width=1)
        canvas.draw_lines(draw, (column(index) + panel_w / 2, rows_top + row * row_h),
                          [canvas.fitted(name, caption, panel_w + GAP - 4)], caption, centred=True)
        if boxed:
            sx, sy = size[0] / width, size[1] / height
            x0, y0 = x + round(left * sx), y + round(top * sy)
            draw.rectangle((x0, y0, max(x0, x + round((left + side) * sx) - 1),
                            max(y0, y + round((top + side) * sy) - 1)), outline=canvas.BOX, width=2)

    def note(index: int, row: int, lines: list[str], face: ImageFont.FreeTypeFont) -> None:
        """Text in cell (row, index), its block centred on the cell's middle."""
        block = len(lines) * canvas.line_height(face)
        canvas.draw_lines(draw, (column(index) + 8, rows_top + row * row_h + caption_h + (cell_h - block) / 2),
                          lines, face)

    crop = (slice(top, top + side), slice(left, left + side))
    panel(0, 0, truth, "ground truth", boxed=True)
    panel(1, 0, truth[crop], "ground truth, zoomed", zoomed=True)
    if inputs is not None:
        panel(2, 0, inputs[0], "input I0 (t = 0)", boxed=True)
        panel(3, 0, inputs[1], "input I1 (t = 1)", boxed=True)
    else:
        note(2, 0, ["inputs I0, I1", "not available"], caption)
    for row, ((config, output), error, lines) in enumerate(zip(outputs, errors, notes), start=1):
        reference = (kinds or {}).get(config) == schema.REFERENCE
        panel(0, row, output, config + (" (reference)" if reference else ""), boxed=True)
        panel(1, row, output[crop], "zoomed", zoomed=True)
        panel(2, row, canvas.colourize(error, scale, ERROR_COLOURS), "|output − truth|")
        note(3, row, lines, scores_face)
    if outputs:
        bar_top = rows_top + (1 + len(outputs)) * row_h - ROW_GAP + 10
        canvas.draw_colour_bar(image, (column(2), bar_top, panel_w, 16), scale, ERROR_COLOURS,
                               "mean abs. error over RGB (0–1)", numbers)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic.write_bytes(path, buffer.getvalue())
    return path


def sample_scores(per_sample: pd.DataFrame, sample: int, seed: int | None, metrics: Sequence[str]
                  ) -> dict[str, dict[str, float]]:
    """config → metric → value of ``sample`` (for ``seed`` when given, else the mean over seeds)."""
    rows = per_sample[per_sample[SAMPLE] == sample]
    if seed is not None and (rows[SEED] == seed).any():
        rows = rows[rows[SEED] == seed]
    out: dict[str, dict[str, float]] = {}
    for config, part in rows.groupby(CONFIG, sort=False):
        out[str(config)] = {m: float(pd.to_numeric(part[m], errors="coerce").mean()) for m in metrics if m in part}
    return out
