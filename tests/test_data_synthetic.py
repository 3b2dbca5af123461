"""The embedded ``synthetic`` dataset: determinism, split hygiene, ranges, motion, occlusion, sharpness parity."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from vfibench.data.photos import PHOTOS, split_photos

from vfibench.data.synthetic import make_synthetic
from vfibench.data.synthetic_attributes import path_deviation, sample_attributes
from vfibench.data.synthetic_render import render_frames
from vfibench.data.synthetic_scenes import RECTANGLE, sample_scenes
from vfibench.data.synthetic_visibility import layer_motion, occlusion, visibility
from vfibench.data.synthetic_source import SyntheticSource
from vfibench.errors import DataError
from vfibench.metrics.sharpness import mean_gradient_magnitude

#: Largest accepted deviation of the inputs' mean gradient energy from the middle frame's (2 %).
SHARPNESS_TOLERANCE = 0.02


@pytest.fixture(scope="module")
def many() -> dict[str, object]:
    """96 training scenes at 64 px: the triplets and their parameters (rendered once)."""
    return {"batch": make_synthetic("train", 96, size=64, seed=3),
            "scenes": sample_scenes("train", 96, size=64, seed=3)}


def test_same_arguments_give_identical_tensors_and_longer_counts_append() -> None:
    a = make_synthetic("train", 6, size=32, seed=5)
    b = make_synthetic("train", 6, size=32, seed=5)
    for x, y in ((a.i0, b.i0), (a.it, b.it), (a.i1, b.i1), (a.t, b.t)):
        assert torch.equal(x, y)
    longer = make_synthetic("train", 9, size=32, seed=5)
    assert torch.equal(longer.it[:6], a.it)
    other = make_synthetic("train", 6, size=32, seed=6)
    assert not torch.allclose(other.it, a.it)


def test_train_and_test_use_disjoint_photographs_by_their_own_records() -> None:
    train = sample_scenes("train", 200, size=32, seed=0).photo_names()
    test = sample_scenes("test", 200, size=32, seed=0).photo_names()
    assert train.isdisjoint(test)
    assert train == set(split_photos("train")) and test == set(split_photos("test"))  # all are used
    assert {p.name for p in PHOTOS if p.split == "test"} == test


def test_train_and_test_differ_for_the_same_seed() -> None:
    train, test = make_synthetic("train", 4, size=32), make_synthetic("test", 4, size=32)
    assert not torch.allclose(train.i0, test.i0)


@pytest.mark.parametrize(("count", "size"), [(1, 32), (5, 48), (3, 80)])
def test_counts_and_sizes_are_configurable_and_values_are_rgb_in_unit_range(count: int, size: int) -> None:
    batch = make_synthetic("test", count, size=size, seed=1, t=0.25)
    for frames in (batch.i0, batch.it, batch.i1):
        assert frames.shape == (count, 3, size, size) and frames.dtype == torch.float32
        assert frames.min() >= 0 and frames.max() <= 1
    assert batch.t.tolist() == [0.25] * count and len(batch) == count


def test_frames_are_colour_rgb_not_grey(many: dict[str, object]) -> None:
    batch = many["batch"]
    colourful = (batch.it[:, 0] - batch.it[:, 1]).abs().flatten(1).amax(1) > 0.1  # type: ignore[attr-defined]
    assert colourful.float().mean() > 0.3


def test_occlusions_actually_occur() -> None:
    scenes = sample_scenes("train", 48, size=64, seed=3)
    hidden = occlusion(scenes, 0.0, 1.0).flatten(1).float().mean(1)
    assert (hidden > 0.01).float().mean() > 0.6  # most scenes hide more than 1 % of I0 in I1
    assert 0.01 < hidden.mean() < 0.3
    # an occluded pixel is never visible, and visibility at the same time is total
    assert not (occlusion(scenes, 0.0, 0.5) & visibility(scenes, 0.0, 0.5)).any()
    assert visibility(scenes, 0.5, 0.5).all()


def test_motions_range_from_subpixel_to_the_maximum(many: dict[str, object]) -> None:
    scenes = many["scenes"]
    motion = layer_motion(scenes)  # type: ignore[arg-type]
    foreground = motion[:, 1:][scenes.active[:, 1:]]  # type: ignore[attr-defined]
    limit = 0.25 * 64  # max_motion x size
    assert foreground.min() < 1.0 and np.mean(foreground < 1.0) > 0.05
    assert foreground.max() > 0.8 * limit
    assert motion.max() <= 1.1 * limit  # the bound is first order; second order adds a little
    assert np.median(motion.max(1)) > 0.3 * limit


def test_max_motion_scales_the_motion() -> None:
    small = layer_motion(sample_scenes("train", 64, size=64, seed=0, max_motion=0.05)).max(1)
    large = layer_motion(sample_scenes("train", 64, size=64, seed=0, max_motion=0.4)).max(1)
    assert small.max() <= 1.1 * 0.05 * 64
    assert np.all(large >= small) and np.median(large) > 5 * np.median(small)


def test_small_max_motion_renders_nearly_still_frames() -> None:
    # A static scene (tiny max_motion) renders nearly identical I0 and I1; a moving one does not.
    still, moving = make_synthetic("train", 8, size=48, max_motion=0.005), make_synthetic("train", 8, size=48)
    assert (still.i1 - still.i0).abs().mean() < 0.2 * (moving.i1 - moving.i0).abs().mean()


def test_inputs_are_exactly_as_sharp_as_the_middle_frame(many: dict[str, object]) -> None:
    """Mean gradient magnitude of I0 and I1 over that of It, over 96 scenes: 1 within 2 %."""
    batch = many["batch"]
    inputs = (mean_gradient_magnitude(batch.i0).mean() + mean_gradient_magnitude(batch.i1).mean()) / 2  # type: ignore[attr-defined]
    middle = mean_gradient_magnitude(batch.it).mean()  # type: ignore[attr-defined]
    assert abs(float(inputs / middle) - 1.0) < SHARPNESS_TOLERANCE


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"split": "validation"}, "split"),
    ({"count": 0}, "count=0"),
    ({"size": 16}, "size=16"),
    ({"seed": -1}, "seed=-1"),
    ({"max_motion": 0.9}, "max_motion=0.9"),
    ({"t": 1.5}, "t=1.5"),
    ({"ambiguity": -0.1}, "ambiguity=-0.1"),
    ({"ambiguity": 1.5}, "ambiguity=1.5"),
])
def test_bad_arguments_are_data_errors_naming_the_argument(kwargs: dict[str, object], needle: str) -> None:
    arguments: dict[str, object] = {"split": "train", "count": 2, "size": 32}
    arguments.update(kwargs)
    with pytest.raises(DataError, match=needle):
        make_synthetic(**arguments)  # type: ignore[arg-type]


# -- ambiguity ------------------------------------------------------------------------------------------
#: Per-scene means of make_synthetic("test", 6, size=48, seed=2).it as rendered before ambiguity existed.
STRAIGHT_PATH_MEANS = [0.535619, 0.385316, 0.463848, 0.436697, 0.457849, 0.353337]


def test_zero_ambiguity_renders_the_straight_paths_of_before() -> None:
    scenes = sample_scenes("test", 6, size=48, seed=2)
    assert not scenes.deviation.any() and scenes.ambiguity == 0.0
    middle = make_synthetic("test", 6, size=48, seed=2, ambiguity=0.0).it.mean(dim=(1, 2, 3))
    np.testing.assert_allclose(middle.numpy(), STRAIGHT_PATH_MEANS, atol=2e-6)


def test_the_recorded_deviation_is_the_one_rendered() -> None:
    """The middle frame of an ambiguous scene is the straight-path scene with every layer moved by its
    deviation, exactly; and the recorded ambiguity is the largest such move."""
    scenes = sample_scenes("test", 12, size=48, seed=1, ambiguity=0.6)
    assert scenes.deviation.any()
    moved = dataclasses.replace(scenes, centre=scenes.centre + scenes.deviation,
                                deviation=np.zeros_like(scenes.deviation))
    assert torch.equal(render_frames(scenes, 0.5), render_frames(moved, 0.5))
    lengths = np.linalg.norm(scenes.deviation, axis=-1)
    np.testing.assert_allclose(sample_attributes(scenes, 0.5)["ambiguity_px"], lengths.max(axis=1))
    np.testing.assert_allclose(path_deviation(scenes, 0.25), 0.75 * lengths)
    assert not path_deviation(scenes, 0.0).any() and not path_deviation(scenes, 1.0).any()
    straight = dataclasses.replace(scenes, deviation=np.zeros_like(scenes.deviation))
    rendered, linear = render_frames(scenes, 0.5), render_frames(straight, 0.5)
    shown = (rendered - linear).abs().flatten(1).amax(1).numpy()
    assert np.all(shown[lengths.max(axis=1) > 1.0] > 0.05)  # a visible move wherever one was recorded


def test_deviations_span_zero_to_ambiguity_times_the_displacement() -> None:
    scenes = sample_scenes("test", 200, size=64, seed=0, ambiguity=0.5)
    lengths = np.linalg.norm(scenes.deviation, axis=-1)[scenes.active]
    budget = (np.linalg.norm(scenes.shift, axis=-1)
              + (np.where(scenes.kind == 0, 64 / np.sqrt(2), scenes.radius / scenes.scale.clip(1e-9)))
              * (np.abs(scenes.spin) + np.abs(scenes.zoom)))[scenes.active]
    assert np.all(lengths <= 0.5 * budget + 1e-9)
    ratio = lengths / np.maximum(budget, 1e-9)
    assert ratio.min() < 0.02 and ratio.max() > 0.48  # uniform in [0, A] of the displacement
    per_sample = sample_attributes(scenes, 0.5)["ambiguity_px"]
    assert per_sample.min() < 0.5 and per_sample.max() > 0.3 * 0.5 * 0.25 * 64


def test_ambiguous_scenes_are_deterministic_and_keep_sharpness_parity() -> None:
    a = make_synthetic("train", 96, size=64, seed=3, ambiguity=0.5)
    b = make_synthetic("train", 96, size=64, seed=3, ambiguity=0.5)
    assert torch.equal(a.it, b.it) and torch.equal(a.i0, b.i0)
    inputs = (mean_gradient_magnitude(a.i0).mean() + mean_gradient_magnitude(a.i1).mean()) / 2
    middle = mean_gradient_magnitude(a.it).mean()
    assert abs(float(inputs / middle) - 1.0) < SHARPNESS_TOLERANCE


def test_every_test_sample_records_ambiguity_motion_and_occlusion() -> None:
    source = SyntheticSource("test", 10, size=48, seed=0, ambiguity=0.4)
    attributes = source.attributes(range(10))
    assert set(attributes) == {"ambiguity_px", "motion_px", "occluded"}
    scenes = sample_scenes("test", 10, size=48, seed=0, ambiguity=0.4)
    np.testing.assert_allclose(attributes["motion_px"], layer_motion(scenes).max(axis=1))
    hidden = 1 - (visibility(scenes, 0.5, 0.0) & visibility(scenes, 0.5, 1.0)).flatten(1).double().mean(1)
    np.testing.assert_allclose(attributes["occluded"], hidden.numpy())
    assert np.all((attributes["occluded"] >= 0) & (attributes["occluded"] <= 1))


def test_attributes_of_a_square_sliding_over_a_still_background_are_the_hand_computed_ones() -> None:
    """A 16-px square moving 8 px to the right (x from 20–36 at I0 to 28–44 at I1) over a background
    that does not move: at the middle frame it covers 24–40, so the background strips 20–24 (hidden
    in I0) and 40–44 (hidden in I1), 4 × 16 pixels each, are what one input cannot show: 128 of
    64² pixels. Its path bends 5 px off the straight line (deviation (3, 4)) at the middle."""
    scenes = sample_scenes("test", 1, size=64, seed=0)
    still = np.zeros_like(scenes.zoom)
    active = np.zeros_like(scenes.active)
    active[0, :2] = True  # the background and one layer
    centre, shift, deviation = scenes.centre.copy(), np.zeros_like(scenes.shift), np.zeros_like(scenes.deviation)
    centre[0, :2], shift[0, 1], deviation[0, 1] = 32.0, (8.0, 0.0), (3.0, 4.0)
    kind, axes, scale = scenes.kind.copy(), scenes.axes.copy(), scenes.scale.copy()
    kind[0, 1], axes[0, 1], scale[0, 1] = RECTANGLE, (8.0, 8.0), 1.0  # half-sides of 8 photo px, 1 photo px per px
    square = dataclasses.replace(scenes, active=active, centre=centre, shift=shift, deviation=deviation, kind=kind,
                                 axes=axes, scale=scale, zoom=still, angle=still.copy(), spin=still.copy(),
                                 orient=still.copy())
    straight = dataclasses.replace(square, deviation=np.zeros_like(deviation))
    attributes = sample_attributes(straight)
    assert attributes["motion_px"] == pytest.approx([8.0], abs=1e-12)
    assert attributes["occluded"].tolist() == [2 * 4 * 16 / 64**2]
    assert attributes["ambiguity_px"].tolist() == [0.0]
    assert sample_attributes(square)["ambiguity_px"] == pytest.approx([4 * 0.5 * 0.5 * 5.0])


def test_the_middle_frame_is_the_scene_at_the_time_asked_for() -> None:
    """With t = 0.25 the middle frame shows the scenes a quarter of the way from I0 to I1, whether all
    scenes or only some are rendered."""
    scenes = sample_scenes("test", 3, size=32, seed=1)
    quarter, half = render_frames(scenes, 0.25), render_frames(scenes, 0.5)
    assert not torch.allclose(quarter, half)
    assert torch.equal(make_synthetic("test", 3, size=32, seed=1, t=0.25).it, quarter)
    source = SyntheticSource("test", 3, size=32, seed=1, t=0.25)
    for index, (_, middle, _) in source.read([0, 2]):
        assert torch.equal(torch.from_numpy(middle).permute(2, 0, 1), quarter[index])


def test_the_largest_max_motion_is_accepted() -> None:
    """max_motion lies in (0, 0.5]: half the frame size is allowed, anything more is refused."""
    assert sample_scenes("train", 2, size=32, max_motion=0.5).max_motion == 0.5
    assert make_synthetic("train", 1, size=32, max_motion=0.5).it.shape == (1, 3, 32, 32)
    with pytest.raises(DataError, match="max_motion=0.51"):
        sample_scenes("train", 2, size=32, max_motion=0.51)


def test_train_and_test_paths_bend_independently_for_the_same_seed() -> None:
    """The path deviations of train and test scenes of the same seed come from streams of their own."""
    train = sample_scenes("train", 20, size=48, seed=0, ambiguity=0.5)
    test = sample_scenes("test", 20, size=48, seed=0, ambiguity=0.5)
    both = train.active & test.active & (np.linalg.norm(train.deviation, axis=-1) > 0) & (
        np.linalg.norm(test.deviation, axis=-1) > 0)
    def heading(scenes):
        return np.arctan2(scenes.deviation[..., 1], scenes.deviation[..., 0])[both]

    assert both.sum() > 20 and not np.allclose(heading(train), heading(test))


def test_paths_bend_in_every_direction() -> None:
    """A deviation's direction is uniform: along the motion (a change of speed) or across it, either way."""
    scenes = sample_scenes("test", 200, size=64, seed=0, ambiguity=0.5)
    deviation = scenes.deviation[scenes.active]
    heading = np.arctan2(deviation[:, 1], deviation[:, 0])
    quadrants = np.histogram(heading, bins=4, range=(-np.pi, np.pi))[0] / len(heading)
    assert np.all(quadrants > 0.18), quadrants


def test_the_source_records_attributes_at_its_own_middle_time() -> None:
    """A source whose middle frame is at t = 0.2 measures ambiguity and occlusion at t = 0.2."""
    source = SyntheticSource("test", 6, size=48, seed=0, t=0.2, ambiguity=0.5)
    scenes = sample_scenes("test", 6, size=48, seed=0, ambiguity=0.5)
    attributes, expected = source.attributes([4, 1, 3]), sample_attributes(scenes, 0.2)
    for name in ("ambiguity_px", "motion_px", "occluded"):
        np.testing.assert_allclose(attributes[name], expected[name][[1, 3, 4]], err_msg=name)
    assert not np.allclose(attributes["ambiguity_px"], sample_attributes(scenes, 0.5)["ambiguity_px"][[1, 3, 4]])


def background_only(**motion: object):
    """Scene 0 of the test split reduced to its background, which moves as ``motion`` says (nothing else)."""
    scenes = sample_scenes("test", 1, size=64, seed=0)
    still = np.zeros_like(scenes.zoom)
    active = np.zeros_like(scenes.active)
    active[0, 0] = True
    changes = {"active": active, "shift": np.zeros_like(scenes.shift), "deviation": np.zeros_like(scenes.deviation),
               "zoom": still, "spin": still.copy()}
    for name, value in motion.items():
        array = changes[name].copy()
        array[0, 0] = value
        changes[name] = array
    return dataclasses.replace(scenes, **changes)


def test_pixels_that_pan_out_of_the_frame_are_not_visible_and_not_occluded() -> None:
    """A background panning 8 px to the right: the 8 rightmost columns of I0 leave the view by I1,
    so they are not visible there; no layer hides them, so they are not occluded either."""
    scenes = background_only(shift=(8.0, 0.0))
    seen = visibility(scenes, 0.0, 1.0)[0, 0]
    assert seen[:, :56].all() and not seen[:, 56:].any()
    assert not occlusion(scenes, 0.0, 1.0).any()
    assert layer_motion(scenes)[0, 0] == pytest.approx(8.0)


def test_a_rolling_background_moves_most_at_the_frame_corners() -> None:
    """A background turning by 0.1 rad about the frame centre moves its corners, 32√2 px from the
    centre, by the chord 2 · 32√2 · sin(0.05) px: the motion recorded for it."""
    scenes = background_only(spin=0.1)
    expected = 2 * 32 * np.sqrt(2) * np.sin(0.05)
    assert layer_motion(scenes)[0, 0] == pytest.approx(expected, rel=1e-6)
    assert sample_attributes(scenes)["motion_px"] == pytest.approx([expected], rel=1e-6)


def test_layers_turn_by_at_most_half_a_radian_and_the_background_barely_rolls() -> None:
    scenes = sample_scenes("train", 300, size=64, seed=0, max_motion=0.5)
    spin = np.abs(scenes.spin)
    assert spin[:, 0].max() <= 0.03 and spin[:, 1:][scenes.active[:, 1:]].max() <= 0.5
    assert spin[:, 1:].max() > 0.4  # the limit is reached


def test_a_zooming_background_moves_its_corners_by_the_change_of_scale() -> None:
    """A background whose scale grows by e^0.2 (source px per frame px) shrinks on screen towards the frame
    centre: a corner 32√2 px away moves by (1 - e^-0.2) · 32√2 px, and nothing it showed leaves the view."""
    scenes = background_only(zoom=0.2)
    assert layer_motion(scenes)[0, 0] == pytest.approx((1 - np.exp(-0.2)) * 32 * np.sqrt(2), rel=1e-6)
    assert visibility(scenes, 0.0, 1.0).all()
    assert not visibility(background_only(zoom=-0.2), 0.0, 1.0).all()  # growing on screen: the rim leaves


def test_a_source_refuses_to_load_at_another_size() -> None:
    """Synthetic scenes are rendered at the size the source was opened with, never resized at loading."""
    from vfibench.data.images import Fit

    source = SyntheticSource("test", 2, size=32, seed=0)
    with pytest.raises(DataError, match="renders 32x32 frames but size 48"):
        source.load([0], 48, Fit.resize)
    assert source.load([0], 32, Fit.resize).it.shape == (1, 3, 32, 32)
