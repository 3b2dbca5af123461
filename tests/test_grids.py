"""Image grids: samples chosen by trained configurations only, the inputs shown, the score explained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image as PILImage

from vfibench.analysis.gap import analyse
from vfibench.results import grids

SAMPLES = 12


def per_sample_table(trained_discordant: bool) -> pd.DataFrame:
    """Two trained rows and a reference; the reference disagrees wildly with them on samples 0 and 1.

    With ``trained_discordant``, 'a' wins PSNR and 'b' wins LPIPS everywhere, most on samples 7 and 8.
    Without it the trained rows agree on average but disagree on sample 5 only.
    """
    rows = []
    for sample in range(SAMPLES):
        strong = 3.0 if sample in (7, 8) else 1.0
        for config, kind in (("a", "trained"), ("b", "trained"), ("blend", "reference")):
            psnr, lpips = 30.0 + 0.01 * sample, 0.2
            if config == "a":
                psnr, lpips = (psnr + 0.5 * strong, lpips + 0.02 * strong) if trained_discordant else (
                    psnr + (0.5 if sample == 5 else 0.1), lpips + (0.05 if sample == 5 else -0.01))
            if config == "blend":
                psnr, lpips = (psnr + 8, lpips + 0.5) if sample in (0, 1) else (psnr - 4, lpips + 0.1)
            rows.append({"config": config, "kind": kind, "seed": 0, "sample": sample, "psnr": psnr, "lpips": lpips})
    return pd.DataFrame(rows)


def test_a_discordant_trained_pair_chooses_the_samples_not_the_references():
    per_sample = per_sample_table(trained_discordant=True)
    selection = grids.select_samples(per_sample, analyse(per_sample, ["psnr", "lpips"]), 2)
    assert selection is not None and selection.pair == ("a", "b")
    assert set(selection.samples) == {7, 8} and all(score > 0 for score in selection.scores)
    assert "do not choose the samples" in selection.explanation and "rms" in selection.explanation


def test_without_a_discordant_trained_pair_the_most_disagreeing_trained_sample_is_chosen():
    per_sample = per_sample_table(trained_discordant=False)
    analysis = analyse(per_sample, ["psnr", "lpips"])
    assert not any(p.trained for p in analysis.discordant)
    selection = grids.select_samples(per_sample, analysis, 1)
    assert selection is not None and selection.samples == (5,) and selection.pairs == (("a", "b"),)
    assert selection.scores[0] > 1


def test_only_samples_where_the_metrics_disagree_are_shown_as_disagreeing():
    """Asked for three, the grids show the one sample where the metrics prefer different members, and say
    so, rather than filling up with samples where they agree."""
    per_sample = per_sample_table(trained_discordant=False)
    selection = grids.select_samples(per_sample, analyse(per_sample, ["psnr", "lpips"]), 3)
    assert selection is not None and selection.samples == (5,) and all(score > 0 for score in selection.scores)
    assert "Only 1 sample has the metrics preferring different members." in selection.explanation


def test_an_evaluation_is_worded_as_models_without_references():
    per_sample = per_sample_table(trained_discordant=True)
    per_sample = per_sample[per_sample["config"] != "blend"].assign(kind="evaluated")
    selection = grids.select_samples(per_sample, analyse(per_sample, ["psnr", "lpips"]), 2)
    assert selection is not None and "about the pair of models 'a'" in selection.explanation
    assert "trained" not in selection.explanation and "Reference rows" not in selection.explanation


def test_only_references_choose_nothing():
    per_sample = per_sample_table(trained_discordant=True)
    per_sample["kind"] = "reference"
    assert grids.select_samples(per_sample, analyse(per_sample, ["psnr", "lpips"]), 2) is None


class Frames:
    """A frame source with a pure-red I0 and a pure-blue I1."""

    configs = ("a", "blend")
    seed = 0

    def __init__(self, with_inputs: bool) -> None:
        rng = np.random.default_rng(0)
        self.truth = rng.uniform(0.3, 0.7, (48, 48, 3)).astype(np.float32)
        self.with_inputs = with_inputs

    def gt(self, sample: int):
        return self.truth

    def inputs(self, sample: int):
        if not self.with_inputs:
            return None
        red, blue = np.zeros_like(self.truth), np.zeros_like(self.truth)
        red[..., 0], blue[..., 2] = 1.0, 1.0
        return red, blue

    def prediction(self, config: str, sample: int):
        return np.clip(self.truth + (0.05 if config == "a" else 0.2), 0, 1)


def _pixels(path, colour) -> int:
    with PILImage.open(path) as image:
        array = np.asarray(image.convert("RGB"))
    return int(np.all(array == colour, axis=-1).sum())


def test_grid_shows_both_inputs(tmp_path):
    scores = {"a": {"psnr": 31.2, "lpips": 0.21}, "blend": {"psnr": 25.0, "lpips": 0.4}}
    labels, units = {"psnr": "PSNR", "lpips": "LPIPS"}, {"psnr": "dB", "lpips": ""}
    shown = grids.render_grid(Frames(True), 0, ["a", "blend"], scores, tmp_path / "with.png", "sample 0", labels,
                              units, {"a": "trained", "blend": "reference"})
    without = grids.render_grid(Frames(False), 0, ["a", "blend"], scores, tmp_path / "without.png", "sample 0",
                                labels, units)
    assert _pixels(shown, (255, 0, 0)) > 10_000 and _pixels(shown, (0, 0, 255)) > 10_000
    assert _pixels(without, (255, 0, 0)) == 0
    with PILImage.open(shown) as image:
        assert image.width >= 1200 and image.height > image.width * 0.6  # four columns, a row per frame


def test_error_maps_take_the_colours_matplotlib_would_give_them():
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    from vfibench.results import canvas

    values = np.random.default_rng(1).uniform(-0.02, 0.15, (40, 50))
    expected = colormaps["magma"](Normalize(0.0, 0.1, clip=True)(values), bytes=True)[..., :3]
    assert np.abs(canvas.colourize(values, 0.1, "magma").astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize(("vmax", "ticks", "text"), [
    (0.1, [0.0, 0.02, 0.04, 0.06, 0.08, 0.1], ["0.00", "0.02", "0.04", "0.06", "0.08", "0.10"]),
    (0.37, [0.0, 0.1, 0.2, 0.3], ["0.0", "0.1", "0.2", "0.3"]),
    (0.25, [0.0, 0.05, 0.1, 0.15, 0.2, 0.25], ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25"]),
])
def test_colour_bar_ticks_are_round_values_written_alike(vmax, ticks, text):
    from vfibench.results import canvas

    assert canvas.nice_ticks(vmax) == pytest.approx(ticks)
    assert canvas.tick_text(canvas.nice_ticks(vmax)) == text


def test_colour_bar_ticks_step_by_two_and_a_half_where_that_is_the_finest_round_step():
    from vfibench.results import canvas

    # steps of 1 or 2 would give 13 or 7 ticks, more than six
    assert canvas.nice_ticks(12.5) == pytest.approx([0.0, 2.5, 5.0, 7.5, 10.0, 12.5])
    assert canvas.tick_text(canvas.nice_ticks(12.5)) == ["0.0", "2.5", "5.0", "7.5", "10.0", "12.5"]


def test_a_frame_enlarged_for_a_grid_keeps_its_own_pixels_and_a_reduced_one_is_averaged():
    """Enlarged pixel for pixel, nothing invented between pixels; reduced by averaging, not by picking one."""
    from vfibench.results import canvas

    pixels = np.array([[[0, 0, 0], [255, 255, 255]], [[255, 0, 0], [0, 0, 255]]], dtype=np.uint8)
    image = PILImage.fromarray(pixels, "RGB")
    enlarged = np.asarray(canvas.resized(image, 5, 5))
    assert {tuple(c) for c in enlarged.reshape(-1, 3)} == {tuple(c) for c in pixels.reshape(-1, 3)}
    assert (enlarged[:2, :2] == pixels[0, 0]).all() and (enlarged[3:, 3:] == pixels[1, 1]).all()
    reduced = np.asarray(canvas.resized(image, 1, 1))[0, 0].astype(int)
    assert np.abs(reduced - pixels.reshape(-1, 3).mean(axis=0)).max() <= 1


def test_a_caption_too_wide_for_its_panel_is_cut_with_an_ellipsis():
    """A name cut short without a mark would read as another, shorter configuration's name."""
    from vfibench.results import canvas

    face = canvas.font(12)
    cut = canvas.fitted("a-very-long-configuration-name+0.1*perc", face, 80)
    assert cut.endswith("…") and len(cut) > 1 and face.getlength(cut) <= 80
    assert "a-very-long-configuration-name+0.1*perc".startswith(cut[:-1])
    assert canvas.fitted("l1", face, 80) == "l1"


def test_the_zoomed_window_is_where_the_outputs_err_most():
    errors = [np.zeros((48, 48)), np.zeros((48, 48))]
    errors[0][30:40, 5:15] = 1.0
    errors[1][32:38, 8:12] = 0.5
    top, left, side = grids.crop_box(errors, 16)
    assert side == 16 and top <= 30 and top + side >= 40 and left <= 5 and left + side >= 15


class GreenOutput(Frames):
    """Configuration 'a' outputs a pure green frame: wherever its output or its crop is drawn, green shows."""

    def prediction(self, config: str, sample: int):
        if config == "a":
            green = np.zeros_like(self.truth)
            green[..., 1] = 1.0
            return green
        return super().prediction(config, sample)


def _columns(path, colour) -> set[int]:
    """The grid columns (0: frame, 1: zoomed crop, 2: error map or I0, 3: scores or I1) with pixels of ``colour``."""
    with PILImage.open(path) as image:
        array = np.asarray(image.convert("RGB"))
    xs = np.nonzero(np.all(array == colour, axis=-1))[1]
    return {int((x - grids.MARGIN) // (grids.PANEL + grids.GAP)) for x in xs}


def test_each_row_shows_its_own_output_and_crop_and_the_inputs_in_their_labelled_columns(tmp_path):
    scores = {"a": {"psnr": 31.2, "lpips": 0.21}, "blend": {"psnr": 25.0, "lpips": 0.4}}
    labels, units = {"psnr": "PSNR", "lpips": "LPIPS"}, {"psnr": "dB", "lpips": ""}
    path = grids.render_grid(GreenOutput(True), 0, ["a", "blend"], scores, tmp_path / "grid.png", "sample 0", labels,
                             units)
    assert _columns(path, (0, 255, 0)) == {0, 1}  # the output and its zoomed crop, not the ground truth's
    assert _columns(path, (255, 0, 0)) == {2} and _columns(path, (0, 0, 255)) == {3}  # "input I0", then "input I1"


def test_one_trained_configuration_shows_the_samples_it_does_best_on_psnr_and_worst_on_lpips():
    rows = []
    for sample in range(SAMPLES):
        psnr, lpips = 30.0 + 0.1 * ((sample * 7) % 5), 0.2 + 0.01 * ((sample * 3) % 4)
        if sample == 4:
            psnr, lpips = 35.0, 0.4
        rows.append({"config": "a", "kind": "trained", "seed": 0, "sample": sample, "psnr": psnr, "lpips": lpips})
        rows.append({"config": "blend", "kind": "reference", "seed": 0, "sample": sample, "psnr": 28.0 + sample,
                     "lpips": 0.3})
    per_sample = pd.DataFrame(rows)
    selection = grids.select_samples(per_sample, analyse(per_sample, ["psnr", "lpips"]), 2)
    assert selection is not None and selection.config == "a" and selection.samples[0] == 4
    assert selection.scores[0] > selection.scores[1]


def test_the_scores_beside_a_grid_are_those_of_the_seed_whose_outputs_it_shows():
    per_sample = pd.DataFrame([{"config": "a", "kind": "trained", "seed": seed, "sample": 0, "psnr": 30.0 + seed,
                                "lpips": 0.2} for seed in (0, 1)])
    assert grids.sample_scores(per_sample, 0, 1, ["psnr", "lpips"])["a"] == {"psnr": 31.0, "lpips": 0.2}
    assert grids.sample_scores(per_sample, 0, None, ["psnr"])["a"] == {"psnr": 30.5}
