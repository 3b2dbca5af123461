"""Training curves: seed means, the step where held-out PSNR and LPIPS part ways, the figure."""

from __future__ import annotations

import pandas as pd
from PIL import Image

from vfibench.analysis.curves import held_out_columns, loss_columns, parting_step, seed_mean_curves
from vfibench.analysis.per_sample import Orientation
from vfibench.results.plots import SCREEN_DPI, training_curves_plot

PSNR, LPIPS = Orientation.of("psnr"), Orientation.of("lpips")


def log(values: dict[str, list[tuple[float, float]]], seeds=(0, 1)) -> pd.DataFrame:
    """config → per step (val_psnr, val_lpips); steps 10, 20, …; seed 1 is offset so the mean is exact."""
    rows = []
    for config, points in values.items():
        for seed in seeds:
            for index, (psnr, lpips) in enumerate(points):
                shift = 0.5 if seed else -0.5
                rows.append({"config": config, "seed": seed, "step": 10 * (index + 1), "lr": 1e-3,
                             "total": 0.1 / (index + 1), config: 0.1 / (index + 1), "val_psnr": psnr + shift,
                             "val_lpips": lpips})
    return pd.DataFrame(rows)


def test_seed_means_and_columns():
    curves = seed_mean_curves(log({"l1": [(25, 0.3), (27, 0.25)], "lpips": [(24, 0.3), (26, 0.2)]}))
    assert list(curves["config"]) == ["l1", "l1", "lpips", "lpips"]
    assert list(curves["val_psnr"]) == [25, 27, 24, 26]
    assert loss_columns(curves) == ["total", "l1", "lpips"] and held_out_columns(curves) == ["val_psnr", "val_lpips"]


def test_curves_keep_the_configurations_first_seen_order_and_sort_each_by_step():
    rows = log({"lpips": [(24, 0.3), (26, 0.2), (27, 0.1)], "l1": [(25, 0.3), (27, 0.25)]})
    shuffled = rows.iloc[[2, 7, 0, 9, 4, 1, 8, 5, 3, 6]]  # lpips seen first, steps out of order
    curves = seed_mean_curves(shuffled)
    assert list(zip(curves["config"], curves["step"])) == [("lpips", 10), ("lpips", 20), ("lpips", 30),
                                                           ("l1", 10), ("l1", 20)]
    assert list(curves["val_psnr"]) == [24, 26, 27, 25, 27]


def test_parting_step_is_where_the_best_configurations_differ_for_good():
    # the metrics disagree briefly at step 20, agree at 30, then part ways from step 40 on
    curves = seed_mean_curves(log({"l1": [(25, 0.30), (27, 0.20), (28, 0.18), (29, 0.17), (30, 0.16)],
                                   "lpips": [(24, 0.31), (26, 0.19), (26, 0.19), (27, 0.15), (28, 0.12)]}))
    parting = parting_step(curves, ["l1", "lpips"], PSNR, LPIPS)
    assert parting is not None and parting.step == 40 and parting.last_step == 50
    assert (parting.base_best, parting.other_best) == ("l1", "lpips")
    assert "at every logged step from step 40 on; at the last (50), PSNR's is 'l1' and LPIPS's 'lpips'." \
        in parting.sentence(PSNR, LPIPS)
    late = parting_step(seed_mean_curves(log({"l1": [(25, 0.2), (27, 0.3)], "lpips": [(24, 0.3), (26, 0.2)]})),
                        ["l1", "lpips"], PSNR, LPIPS)
    assert late is not None and late.step == late.last_step == 20
    assert "configurations at the last logged step (20), PSNR's is 'l1' and LPIPS's 'lpips'." in late.sentence(PSNR, LPIPS)
    agreeing = seed_mean_curves(log({"l1": [(25, 0.2), (27, 0.1)], "lpips": [(24, 0.3), (26, 0.2)]}))
    assert parting_step(agreeing, ["l1", "lpips"], PSNR, LPIPS).step is None
    assert parting_step(agreeing, ["l1"], PSNR, LPIPS) is None


def test_curves_figure_has_a_panel_per_term_and_held_out_metric(tmp_path):
    curves = seed_mean_curves(log({"l1": [(25, 0.3), (27, 0.25)], "lpips": [(24, 0.3), (26, 0.2)]}))
    path = training_curves_plot(curves, ["l1", "lpips"], tmp_path / "curves.png", parting_step=20)
    with Image.open(path) as image:  # total, l1, lpips, val_psnr, val_lpips: two rows of three panels
        assert image.width == round(3 * 4.2 * SCREEN_DPI)  # three panels a row, sharp on a dense screen
        assert image.height == round((2 * 3.2 + 0.8) * SCREEN_DPI)
    losses_only = curves.drop(columns=["val_psnr", "val_lpips"])
    with Image.open(training_curves_plot(losses_only, ["l1", "lpips"], tmp_path / "losses.png")) as image:
        assert image.height == round((3.2 + 0.8) * SCREEN_DPI)  # three panels: one row
    assert training_curves_plot(pd.DataFrame(), ["l1"], tmp_path / "none.png") is None


def test_log_axis_tick_labels_are_plain_text_powers_of_ten():
    from vfibench.results.plots import power_label

    assert power_label(r"$\mathdefault{10^{-3}}$") == "10⁻³"
    assert power_label(r"$\mathdefault{3\times10^{-3}}$") == "3×10⁻³"
    assert power_label(r"$\mathdefault{2.5\times10^{12}}$") == "2.5×10¹²"
    assert power_label("0.5") == "0.5" and power_label("") == ""


def test_a_short_log_range_keeps_its_minor_labels_as_text(tmp_path):
    """Between 2.6e-3 and 5.1e-3 there is no decade: matplotlib labels minor ticks, and they must stay."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from vfibench.results.plots import _log_y

    figure, ax = plt.subplots()
    ax.plot([1, 2, 3], [2.6e-3, 5.1e-3, 5.0e-3])
    _log_y(ax)
    figure.canvas.draw()
    low, high = ax.get_ylim()  # matplotlib before 3.11 also labels minor ticks outside the view
    labels = [t.get_text() for t in ax.get_yticklabels(minor=True)
              if t.get_text() and low <= t.get_position()[1] <= high]
    plt.close(figure)
    assert labels and all("×10⁻³" in label and "$" not in label for label in labels)


def test_a_loss_panel_is_logarithmic_only_when_positive_across_a_decade():
    from vfibench.results.plots import wants_log_scale

    assert wants_log_scale(pd.Series([0.1, 0.01, None]))
    assert not wants_log_scale(pd.Series([1.43, 1.37]))  # within a decade a log axis only relabels 1.4 as 1.4×10⁰
    assert not wants_log_scale(pd.Series([-0.69, -0.64])) and not wants_log_scale(pd.Series([0.0, 1.0, 10.0]))
    assert not wants_log_scale(pd.Series([None], dtype=float)) and not wants_log_scale(pd.Series([1.0, float("inf")]))


def test_the_curves_caption_says_at_which_steps_held_out_metrics_were_measured():
    from vfibench.results.report import measured_at

    assert measured_at([525, 550, 575, 600]) == "every 25 steps from step 525 to 600"  # after a 500-step warm start
    assert measured_at([4, 8, 10]) == "at steps 4, 8 and 10"
    assert measured_at([4, 8, 12, 14]) == "every 4 steps from step 4 to 12 and at the last step (14)"
    assert measured_at([12]) == "once, at step 12"  # --log-every beyond the steps trained
    assert measured_at([8, 10]) == "at steps 8 and 10"
