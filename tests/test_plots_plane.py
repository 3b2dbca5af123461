"""The perception–distortion plane: a colour and marker per configuration, labels that do not overlap,
axes fitted to the trained rows, paired intervals, print formats."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vfibench.analysis.per_sample import Orientation
from vfibench.analysis.plane import perception_distortion_plane
from vfibench.analysis.paired import paired_difference_interval, paired_intervals
from vfibench.results import labels, plots

TRAINED = ["l1", "lpips", "l1+0.1*lpips"]


def per_sample_table(samples: int = 24, far_reference: bool = True) -> pd.DataFrame:
    """Three trained rows near each other, a reference far worse on both metrics."""
    rng = np.random.default_rng(0)
    hardness = rng.normal(0, 1.5, samples)  # shared by every configuration: what pairing removes
    rows = []
    shifts = {"l1": (30.0, 0.20), "lpips": (29.6, 0.15), "l1+0.1*lpips": (29.9, 0.17),
              "blend": (22.0 if far_reference else 29.0, 0.45 if far_reference else 0.2)}
    for config, (psnr, lpips) in shifts.items():
        kind = "reference" if config == "blend" else "trained"
        for sample in range(samples):
            rows.append({"config": config, "kind": kind, "seed": 0, "sample": sample,
                         "psnr": psnr + hardness[sample] + rng.normal(0, 0.05),
                         "lpips": lpips + 0.02 * hardness[sample] + rng.normal(0, 0.002)})
    return pd.DataFrame(rows)


def summary_of(per_sample: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for config, part in per_sample.groupby("config", sort=False):
        row = {"config": config}
        for metric in ("psnr", "lpips"):
            mean = part[metric].mean()
            row |= {f"{metric}_mean": mean, f"{metric}_ci_low": mean - 0.5, f"{metric}_ci_high": mean + 0.5}
        rows.append(row)
    return pd.DataFrame(rows)


def plane_of(per_sample: pd.DataFrame):
    return perception_distortion_plane(per_sample, Orientation.of("psnr"), Orientation.of("lpips"))


def test_paired_interval_of_a_constant_shift_is_the_shift():
    assert paired_difference_interval(np.full(10, 0.25)) == (0.25, 0.25)
    assert all(np.isnan(paired_difference_interval(np.array([1.0]))))


def test_paired_interval_removes_shared_variation():
    per_sample = per_sample_table()
    low, high = paired_intervals(per_sample, "psnr", "l1")["lpips"]
    assert low < -0.3 and high < 0  # "lpips" is 0.4 dB worse: clearly below zero
    a = per_sample[per_sample.config == "lpips"].psnr.to_numpy()
    b = per_sample[per_sample.config == "l1"].psnr.to_numpy()
    unpaired = 2 * 1.96 * np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert high - low < unpaired / 5  # the samples' shared hardness cancels
    assert paired_intervals(per_sample, "psnr", "no such config") == {}


def test_paired_bars_are_drawn_around_each_mean_from_the_anchor():
    per_sample = per_sample_table()
    plane = plane_of(per_sample)
    bars = plots.plane_bars(plane, per_sample, summary_of(per_sample), "paired", "l1")
    assert bars["l1"] == ((0.0, 0.0), (0.0, 0.0))
    point = next(p for p in plane.points if p.config == "lpips")
    anchor = next(p for p in plane.points if p.config == "l1")
    low, high = paired_intervals(per_sample, "psnr", "l1")["lpips"]
    (below, above), _ = bars["lpips"]
    assert point.x - below == pytest.approx(anchor.x + low) and point.x + above == pytest.approx(anchor.x + high)
    assert point.x + above < anchor.x  # the bar misses the anchor's line: a supported difference


def test_plane_figure_print_formats_colours_and_clipped_reference(tmp_path):
    per_sample = per_sample_table()
    figure = plots.plane_plot(plane_of(per_sample), per_sample, summary_of(per_sample), tmp_path / "plane.png",
                              intervals="paired", anchor="l1", labels={"psnr": "PSNR", "lpips": "LPIPS"})
    assert figure is not None and figure.png == tmp_path / "plane.png"
    assert [p.name for p in figure.vector] == ["plane.pdf", "plane.svg"]
    with Image.open(figure.png) as image:
        assert round(image.info["dpi"][0]) == plots.PRINT_DPI and image.width >= 2000
    assert (tmp_path / "plane.pdf").read_bytes().startswith(b"%PDF")
    svg = (tmp_path / "plane.svg").read_text()
    for colour in plots.PALETTE[:3]:  # one distinct colour per trained configuration
        assert colour.lower() in svg.lower()
    for config in TRAINED:
        assert re.search(rf">\s*{re.escape(config)}\s*<", svg.replace("&#43;", "+").replace("&quot;", '"')), config
    assert "off scale" in svg  # the far reference is pinned to the edge, its values in the label
    assert "'blend' lies outside" in figure.caption and "paired per-sample difference to 'l1'" in figure.caption
    again = plots.plane_plot(plane_of(per_sample), per_sample, summary_of(per_sample), tmp_path / "again.png",
                             intervals="paired", anchor="l1")
    assert again is not None and (tmp_path / "again.png").read_bytes() == figure.png.read_bytes()


def test_axes_fit_the_trained_rows_not_the_references():
    per_sample = per_sample_table()
    plane = plane_of(per_sample)
    bars = plots.plane_bars(plane, per_sample, summary_of(per_sample))
    trained = [p for p in plane.points if p.kind == "trained"]
    low, high = plots.fitted_limits([(p.x - bars[p.config][0][0], p.x + bars[p.config][0][1]) for p in trained])
    blend = next(p for p in plane.points if p.config == "blend")
    assert not low <= blend.x <= high
    assert all(low < p.x < high for p in trained) and high - low < 3


def test_labels_of_crowded_points_do_not_overlap():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, ax = plt.subplots(figsize=(7.5, 5.5))
    points = [(30 + 0.01 * k, 0.2 + 0.001 * k, f"configuration-{k}", "#000000") for k in range(6)]
    ax.plot([p[0] for p in points], [p[1] for p in points], "o")
    ax.set_xlim(29, 31), ax.set_ylim(0.1, 0.3)
    labels.place_labels(ax, points)
    renderer = figure.canvas.get_renderer()
    from matplotlib.text import Text

    for text in ax.texts:
        text.update_positions(renderer)
    boxes = [Text.get_window_extent(t, renderer) for t in ax.texts]
    plt.close(figure)
    assert len(boxes) == 6
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1)


def test_a_label_placed_beyond_the_nearest_ring_is_tied_to_its_marker_by_a_leader_line():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, ax = plt.subplots(figsize=(7.5, 5.5))
    points = [(30 + 0.01 * k, 0.2 + 0.001 * k, f"configuration-{k}", "#000000") for k in range(6)]
    ax.plot([p[0] for p in points], [p[1] for p in points], "o")
    ax.set_xlim(29, 31)
    ax.set_ylim(0.1, 0.3)
    labels.place_labels(ax, points)
    nearest = {(dx, dy) for dx, dy, _ in labels.LABEL_OFFSETS[:6]}
    placed = [(tuple(text.xyann) in nearest, text.arrow_patch is not None) for text in ax.texts]
    plt.close(figure)
    assert len(placed) == 6 and any(not near for near, _ in placed)  # crowded: some labels stand farther away
    assert all(near != leader for near, leader in placed), placed


def test_boxes_that_only_touch_do_not_overlap():
    assert not labels.overlaps((0, 0, 10, 10), [(10, 0, 20, 10), (0, 10, 10, 20), (-5, -5, 0, 0)])
    assert labels.overlaps((0, 0, 10, 10), [(9.5, 9.5, 20, 20)])


def test_a_label_of_a_point_beside_the_edge_of_the_axes_stays_inside_them():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.text import Text

    figure, ax = plt.subplots(figsize=(7.5, 5.5))
    points = [(9.8, 5.0, "a rather long configuration name", "#000000"), (0.2, 9.9, "l1+0.1*perc", "#000000")]
    ax.plot([p[0] for p in points], [p[1] for p in points], "o")
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    labels.place_labels(ax, points)
    renderer = figure.canvas.get_renderer()
    for text in ax.texts:
        text.update_positions(renderer)
    boxes = [Text.get_window_extent(t, renderer) for t in ax.texts]
    frame = ax.get_window_extent(renderer)
    plt.close(figure)
    assert len(boxes) == 2
    for box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, box


def placed_label_boxes(points, lines, avoid):
    """The text boxes of labels placed for ``points`` beside the drawn ``lines`` (avoiding them when
    ``avoid``), and those lines, both in pixels."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.text import Text

    figure, ax = plt.subplots(figsize=(7.5, 5.5))
    ax.set_xlim(0, 10), ax.set_ylim(0, 10)
    for (x0, y0), (x1, y1) in lines:
        ax.plot([x0, x1], [y0, y1])
    labels.place_labels(ax, points, lines if avoid else ())
    renderer = figure.canvas.get_renderer()
    for text in ax.texts:
        text.update_positions(renderer)
    boxes = [Text.get_window_extent(t, renderer) for t in ax.texts]
    segments = [(tuple(ax.transData.transform(a)), tuple(ax.transData.transform(b))) for a, b in lines]
    plt.close(figure)
    return [(b.x0, b.y0, b.x1, b.y1) for b in boxes], segments


def test_labels_keep_off_the_pareto_front_and_other_rows_error_bars():
    points = [(2, 6, "l1+perc", "#E69F00"), (8, 4, "l1", "#0072B2")]
    front = ((2, 6), (8, 4))  # down to the right, through the first place tried for l1+perc's label
    bar = ((3, 4.15), (9.5, 4.15))  # another row's error bar just above l1
    boxes, segments = placed_label_boxes(points, [front, bar], avoid=True)
    assert len(boxes) == 2
    assert not any(labels.crosses(box, segment) for box in boxes for segment in segments)
    boxes, segments = placed_label_boxes(points, [front, bar], avoid=False)  # the first places tried cross them
    assert any(labels.crosses(box, segment) for box in boxes for segment in segments)


def test_a_reference_that_beats_every_trained_row_is_left_out_of_the_front(tmp_path):
    """blend is better than the trained rows on both axes: a front of all rows would be blend alone,
    pinned to the edge; the front drawn is that of the trained configurations, within the axes."""
    per_sample = per_sample_table(far_reference=False)
    per_sample.loc[per_sample.config == "blend", "psnr"] += 3.0
    per_sample.loc[per_sample.config == "blend", "lpips"] -= 0.15
    plane = plane_of(per_sample)
    assert set(plane.front) <= set(TRAINED) and len(plane.front) >= 2, plane.front
    figure = plots.plane_plot(plane, per_sample, summary_of(per_sample), tmp_path / "plane.png", intervals="paired",
                              anchor="l1")
    assert figure is not None
    assert "Pareto front of the trained configurations" in (tmp_path / "plane.svg").read_text()  # the legend
    assert "dashed red line joins the Pareto front of the trained configurations" in figure.caption
    # the paired bars are unadjusted intervals: the caption leaves significance to the Holm-adjusted tests
    assert "unadjusted (not corrected for the number of comparisons)" in figure.caption
    assert "Holm-adjusted p in the pairs table decides significance" in figure.caption


def test_an_axis_best_at_a_target_is_not_called_better_to_the_right(tmp_path):
    per_sample = per_sample_table().assign(sharpness=lambda t: 0.9 + 0.01 * t.psnr.rank() / len(t))
    plane = perception_distortion_plane(per_sample, Orientation.of("psnr"), Orientation.of("sharpness"))
    figure = plots.plane_plot(plane, per_sample, summary_of(per_sample), tmp_path / "plane.png")
    assert figure is not None and "(better: right; Sharpness best at 1;" in figure.caption, figure.caption
    assert "better: right; Sharpness best at 1)" in (tmp_path / "plane.svg").read_text()  # the title
    assert plots.better_hint(Orientation.of("psnr"), Orientation.of("lpips")) == "up and right"


def test_paired_interval_is_the_seeded_bca_bootstrap_of_the_mean_difference():
    """Skewed differences: the bias-corrected and accelerated interval (2,000 resamples, seed 0) is
    the one given, not the plain percentile interval."""
    from scipy import stats

    differences = np.random.default_rng(11).exponential(1.0, size=30) - 0.5
    expected = stats.bootstrap((differences,), np.mean, confidence_level=0.95, n_resamples=2000, method="BCa",
                               vectorized=True, random_state=np.random.default_rng(0)).confidence_interval
    percentile = stats.bootstrap((differences,), np.mean, confidence_level=0.95, n_resamples=2000,
                                 method="percentile", vectorized=True,
                                 random_state=np.random.default_rng(0)).confidence_interval
    assert abs(expected.high - percentile.high) > 0.01
    low, high = paired_difference_interval(differences)
    assert (low, high) == pytest.approx((expected.low, expected.high), abs=1e-12)
    assert low < differences.mean() < high


def drawn_plane(monkeypatch, path, plane, per_sample, **options):
    """Draw ``plane`` and return the figure's axes as written."""
    drawn = {}
    save = plots._save

    def keep(figure, target, **kwargs):
        drawn["axes"] = figure.axes[0]
        return save(figure, target, **kwargs)

    monkeypatch.setattr(plots, "_save", keep)
    figure = plots.plane_plot(plane, per_sample, summary_of(per_sample), path, **options)
    assert figure is not None
    return drawn["axes"]


def test_an_axis_whose_metric_is_better_lower_is_inverted_so_better_is_up_and_right(tmp_path, monkeypatch):
    per_sample = per_sample_table()
    ax = drawn_plane(monkeypatch, tmp_path / "plane.png", plane_of(per_sample), per_sample)
    assert ax.get_xlabel().startswith("PSNR") and not ax.xaxis_inverted()
    assert ax.get_ylabel().startswith("LPIPS") and ax.yaxis_inverted()
    assert ax.get_ylabel().endswith("(inverted: better is up)")
    swapped = perception_distortion_plane(per_sample, Orientation.of("lpips"), Orientation.of("psnr"))
    ax = drawn_plane(monkeypatch, tmp_path / "swapped.png", swapped, per_sample)
    assert ax.get_xlabel().startswith("LPIPS") and ax.xaxis_inverted()
    assert ax.get_xlabel().endswith("(inverted: better is right)")
    assert ax.get_ylabel().startswith("PSNR") and not ax.yaxis_inverted()


def test_a_reference_off_the_left_edge_is_marked_by_an_arrow_pointing_left(tmp_path, monkeypatch):
    """blend's PSNR is far below the trained rows' while its LPIPS is among theirs: pinned to the left
    edge, its arrow points left, towards its true position."""
    per_sample = per_sample_table()
    per_sample.loc[per_sample.config == "blend", "lpips"] -= 0.27
    ax = drawn_plane(monkeypatch, tmp_path / "plane.png", plane_of(per_sample), per_sample)
    arrows = [line.get_marker() for line in ax.get_lines()
              if line.get_color() == plots.REFERENCE_COLOUR and line.get_marker() in ("<", ">", "^", "v")]
    assert arrows == ["<"]


def test_bootstrap_bars_reach_from_the_interval_low_end_to_its_high_end():
    per_sample = per_sample_table()
    plane = plane_of(per_sample)
    summary = summary_of(per_sample)
    summary["psnr_ci_low"] = summary["psnr_mean"] - 0.1
    summary["psnr_ci_high"] = summary["psnr_mean"] + 0.4
    bars = plots.plane_bars(plane, per_sample, summary)
    point = next(p for p in plane.points if p.config == "l1")
    (below, above), _ = bars["l1"]
    assert (point.x - below, point.x + above) == pytest.approx((point.x - 0.1, point.x + 0.4))
    assert below == pytest.approx(0.1) and above == pytest.approx(0.4)


def test_a_reference_within_the_axes_is_labelled_as_a_reference(tmp_path):
    per_sample = per_sample_table(far_reference=False)
    figure = plots.plane_plot(plane_of(per_sample), per_sample, summary_of(per_sample), tmp_path / "plane.png")
    assert figure is not None and "lies outside" not in figure.caption
    assert "blend (reference)" in (tmp_path / "plane.svg").read_text()


def test_the_pareto_front_of_two_configurations_is_drawn_as_a_dashed_line_through_both(tmp_path, monkeypatch):
    per_sample = per_sample_table()
    per_sample.loc[per_sample.config == "l1+0.1*lpips", "lpips"] += 0.04  # now beaten by l1 on both axes
    plane = plane_of(per_sample)
    assert sorted(plane.front) == ["l1", "lpips"], plane.front
    ax = drawn_plane(monkeypatch, tmp_path / "plane.png", plane, per_sample)
    front = [line for line in ax.get_lines() if line.get_color() == plots.FRONT_COLOUR and line.get_linestyle() == "--"]
    points = {p.config: (p.x, p.y) for p in plane.points}
    assert len(front) == 1
    assert list(zip(front[0].get_xdata(), front[0].get_ydata())) == [points[c] for c in plane.front]
