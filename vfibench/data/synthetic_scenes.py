"""The synthetic dataset's scene parameters: drawing them, and checking the arguments that choose them.

A batch of scenes is a :class:`Scenes` record of arrays, one row per scene and one column per layer
slot, drawn by :func:`sample_scenes` without rendering a pixel: which photographs the layers are cut
from, their masks, and the trajectory each layer follows between I0 and I1 (the motion budget,
the ambiguity and the determinism they obey are described in :mod:`vfibench.data.synthetic`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from vfibench.data.photos import Split, check_split, photo_atlas, split_photos
from vfibench.errors import DataError

LAYERS = 4  # slot 0 is the background, slots 1..3 foregrounds (drawn back to front)
MAX_VERTICES = 9
BACKGROUND, ELLIPSE, RECTANGLE, POLYGON = 0, 1, 2, 3

_SPLIT_STREAM = {"train": 0x7A11, "test": 0x7E57}
EDGE = 1.0  # width of a mask's alpha ramp, frame pixels
_MARGIN = 2.0  # source pixels kept between any used sample and a photograph's border
_SCALE_RANGE = (0.5, 1.5)  # source pixels per frame pixel at s = 1/2, log-uniform
_BACKGROUND_MOTION = 0.35  # background budget as a fraction of the foreground one
_MAX_SPIN = (0.03, 0.5)  # radians between I0 and I1 (background, foreground)
_MAX_ZOOM = (0.08, 0.4)  # log scale change between I0 and I1 (background, foreground)
_AMBIGUITY_STREAM = 0xA3B1  # the deviation variates' own generator (A = 0 leaves the others alone)
MAX_AMBIGUITY = 1.0  # largest deviation, as a fraction of a layer's displacement budget

# Columns of each layer's block of uniform variates.
_U_BUDGET, _U_TRANSLATE, _U_SPLIT, _U_SPIN_SIGN, _U_ZOOM_SIGN, _U_DIRECTION = range(6)
_U_CX, _U_CY, _U_ANGLE, _U_SCALE, _U_AX, _U_AY, _U_RADIUS, _U_KIND = range(6, 14)
_U_ASPECT, _U_ORIENT, _U_VERTICES = range(14, 17)
_U_RADII = slice(17, 17 + MAX_VERTICES)
_U_PER_LAYER = 17 + MAX_VERTICES
#: Scenes drawn between two progress reports of :func:`sample_scenes`.
_PROGRESS_EVERY = 1024


@dataclass(frozen=True)
class Scenes:
    """Parameters of a batch of scenes; rows are scenes, columns layer slots (0 = background).

    Lengths are frame pixels unless marked *source* (pixels of the layer's photograph);
    points are (x, y) with pixel (row i, column j) covering [j, j+1) x [i, i+1).

    Attributes:
        split, size, seed, max_motion, ambiguity: how the scenes were drawn.
        active: bool (N, L), which slots hold a layer (slot 0 always).
        photo: int (N, L), index into ``split_photos(split)``; distinct within a scene.
        anchor: (N, L, 2) *source* point at the layer's reference point ``centre``.
        centre: (N, L, 2) reference point at s = 1/2.
        shift: (N, L, 2) displacement of the reference point from s = 0 to s = 1.
        deviation: (N, L, 2) how far the reference point is off the straight path at s = 1/2
            (``4 s (1 - s) * deviation`` at time s); 0 when ``ambiguity`` is 0.
        scale: (N, L) *source* pixels per frame pixel at s = 1/2.
        zoom: (N, L) ln c(1) - ln c(0).
        angle: (N, L) rotation at s = 1/2, radians.
        spin: (N, L) rotation from s = 0 to s = 1, radians.
        kind: (N, L) BACKGROUND, ELLIPSE, RECTANGLE or POLYGON.
        orient: (N, L) orientation of the mask in the photograph, radians.
        axes: (N, L, 2) *source* half-axes (ellipse) or half-sides (rectangle).
        vertices: (N, L) polygon vertex count (5..9), at angles 2 pi k / count.
        radii: (N, L, MAX_VERTICES) *source* polygon vertex radii.
        radius: (N, L) *source* radius of a circle around ``anchor`` holding the mask.
    """

    split: Split
    size: int
    seed: int
    max_motion: float
    ambiguity: float
    active: np.ndarray
    photo: np.ndarray
    anchor: np.ndarray
    centre: np.ndarray
    shift: np.ndarray
    deviation: np.ndarray
    scale: np.ndarray
    zoom: np.ndarray
    angle: np.ndarray
    spin: np.ndarray
    kind: np.ndarray
    orient: np.ndarray
    axes: np.ndarray
    vertices: np.ndarray
    radii: np.ndarray
    radius: np.ndarray

    def __len__(self) -> int:
        return int(self.active.shape[0])

    def photo_names(self) -> set[str]:
        """Names of every photograph these scenes use."""
        names = split_photos(self.split)
        return {names[k] for k in np.unique(self.photo[self.active])}


# ----------------------------------------------------------------------------- validation


def check_int(name: str, value: object, minimum: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise DataError(
            f"The synthetic dataset got {name}={value!r}; it must be an integer >= {minimum}. {hint}"
        )
    return int(value)


def _check_arguments(
    split: str, count: object, size: object, seed: object, max_motion: object, ambiguity: object = 0.0
) -> tuple[Split, int, int, int, float, float]:
    split = check_split(split)
    count = check_int("count", count, 1, "Ask for at least one triplet.")
    size = check_int(
        "size", size, 32, "Frames are square, size x size pixels; use 32 or more (64 is typical)."
    )
    seed = check_int("seed", seed, 0, "Use a non-negative integer seed such as 0.")
    if (
        isinstance(max_motion, bool)
        or not isinstance(max_motion, numbers.Real)
        or not 0.0 < float(max_motion) <= 0.5
    ):
        raise DataError(
            f"The synthetic dataset got max_motion={max_motion!r}; it is the largest displacement "
            f"between I0 and I1 as a fraction of the frame size and must lie in (0, 0.5]. "
            f"Use e.g. 0.25 (16 px at size 64)."
        )
    if (
        isinstance(ambiguity, bool)
        or not isinstance(ambiguity, numbers.Real)
        or not 0.0 <= float(ambiguity) <= MAX_AMBIGUITY
    ):
        raise DataError(
            f"The synthetic dataset got ambiguity={ambiguity!r}; it is how far a layer's position at the middle "
            f"time may leave the straight path between its positions in I0 and I1, as a fraction of the layer's "
            f"displacement, and must lie in [0, {MAX_AMBIGUITY:g}]. Use 0 for straight, uniform-speed paths "
            f"(the middle frame follows from I0 and I1) or e.g. 0.3."
        )
    return split, count, size, seed, float(max_motion), float(ambiguity)


def check_time(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise DataError(
            f"The synthetic dataset got {name}={value!r}; scene times lie in [0, 1] "
            f"(I0 at 0, I1 at 1). Use e.g. 0.5 for the middle frame."
        )
    return float(value)


# ------------------------------------------------------------------------------- sampling


def _scene_uniforms(split: Split, seed: int, index: int, photos: int) -> np.ndarray:
    """All uniform variates scene ``index`` needs, from its own generator."""
    rng = np.random.default_rng([_SPLIT_STREAM[split], seed, index])
    return rng.random(1 + photos + LAYERS * _U_PER_LAYER)


def _deviation_uniforms(split: Split, seed: int, index: int) -> np.ndarray:
    """Variates of scene ``index``'s path deviations (LAYERS x 2), from a generator of their own."""
    rng = np.random.default_rng([_SPLIT_STREAM[split], seed, index, _AMBIGUITY_STREAM])
    return rng.random((LAYERS, 2))


def _scene_variates(split: Split, seed: int, count: int, photos: int,
                    progress: Callable[[int, int], None] | None) -> tuple[np.ndarray, np.ndarray]:
    """The uniform variates (:func:`_scene_uniforms`) and path-deviation variates (:func:`_deviation_uniforms`)
    of scenes 0..count-1, reporting ``progress(done, count)`` every :data:`_PROGRESS_EVERY` scenes."""
    blocks = np.empty((count, 1 + photos + LAYERS * _U_PER_LAYER))
    deviations = np.empty((count, LAYERS, 2))
    for i in range(count):
        blocks[i] = _scene_uniforms(split, seed, i, photos)
        deviations[i] = _deviation_uniforms(split, seed, i)
        if progress is not None and ((i + 1) % _PROGRESS_EVERY == 0 or i + 1 == count):
            progress(i + 1, count)
    return blocks, deviations


def _log_uniform(u: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.exp(np.log(low) + u * (np.log(high) - np.log(low)))


def sample_scenes(
    split: Literal["train", "test"],
    count: int,
    size: int = 64,
    seed: int = 0,
    max_motion: float = 0.25,
    ambiguity: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> Scenes:
    """Draw the parameters of ``count`` scenes (cheap; no pixels are rendered).

    Arguments are those of :func:`~vfibench.data.synthetic.make_synthetic`, which they are validated
    like; ``progress(done, count)`` is called as the scenes' variates are drawn.
    """
    split, count, size, seed, max_motion, ambiguity = _check_arguments(
        split, count, size, seed, max_motion, ambiguity
    )
    atlas = photo_atlas(split)
    n_photos = len(atlas.names)
    blocks, v = _scene_variates(split, seed, count, n_photos, progress)
    n_foreground = 1 + np.minimum((blocks[:, 0] * 3).astype(int), 2)
    photo = np.argsort(blocks[:, 1 : 1 + n_photos], axis=1, kind="stable")[:, :LAYERS]
    u = blocks[:, 1 + n_photos :].reshape(count, LAYERS, _U_PER_LAYER)

    slot = np.arange(LAYERS)[None, :]
    active = slot <= n_foreground[:, None]
    is_bg = np.broadcast_to(slot == 0, (count, LAYERS))
    bg_fg = lambda bg, fg: np.where(is_bg, bg, fg)  # noqa: E731

    # Motion: a budget spent on translation, spin and zoom (first-order rim displacement).
    budget = max_motion * size * u[..., _U_BUDGET] ** 1.5 * bg_fg(_BACKGROUND_MOTION, 1.0)
    rim = bg_fg(size / math.sqrt(2.0), size * (0.15 + 0.23 * u[..., _U_RADIUS]))
    translate = bg_fg(0.6 + 0.4 * u[..., _U_TRANSLATE], 0.4 + 0.6 * u[..., _U_TRANSLATE])
    rest = (1.0 - translate) * budget / rim
    sign = lambda col: np.where(u[..., col] < 0.5, -1.0, 1.0)  # noqa: E731
    spin = sign(_U_SPIN_SIGN) * np.minimum(u[..., _U_SPLIT] * rest, bg_fg(*_MAX_SPIN))
    zoom = sign(_U_ZOOM_SIGN) * np.minimum((1 - u[..., _U_SPLIT]) * rest, bg_fg(*_MAX_ZOOM))
    direction = 2 * math.pi * u[..., _U_DIRECTION]
    shift = (translate * budget)[..., None] * np.stack([np.cos(direction), np.sin(direction)], -1)

    # Ambiguity: the path's deviation at s = 1/2, up to `ambiguity` x the displacement budget.
    displacement = np.linalg.norm(shift, axis=-1) + rim * (np.abs(spin) + np.abs(zoom))
    heading = 2 * math.pi * v[..., 1]
    deviation = (ambiguity * v[..., 0] * displacement)[..., None] * np.stack(
        [np.cos(heading), np.sin(heading)], -1
    )

    centre = np.where(
        is_bg[..., None], size / 2.0, size * (0.15 + 0.7 * u[..., [_U_CX, _U_CY]])
    )
    angle = bg_fg(0.05 * (2 * u[..., _U_ANGLE] - 1), math.pi * (2 * u[..., _U_ANGLE] - 1))

    # Scale, shrunk where needed so that every used sample stays inside the photograph.
    growth = np.exp(np.abs(zoom) / 2)  # largest c(s) / c over s in [0, 1]
    extent = bg_fg(
        size / math.sqrt(2.0) + np.linalg.norm(shift, axis=-1) / 2 + np.linalg.norm(deviation, axis=-1),
        rim + EDGE,
    )
    heights = atlas.heights[photo].astype(float)
    widths = atlas.widths[photo].astype(float)
    fit = (np.minimum(heights, widths) - 1) / 2 - _MARGIN
    scale = np.minimum(_log_uniform(u[..., _U_SCALE], *_SCALE_RANGE), fit / (extent * growth))
    reach = scale * extent * growth  # source radius that any used sample lies within
    anchor = np.stack(
        [
            reach + _MARGIN + u[..., _U_AX] * (widths - 1 - 2 * (reach + _MARGIN)),
            reach + _MARGIN + u[..., _U_AY] * (heights - 1 - 2 * (reach + _MARGIN)),
        ],
        -1,
    )

    # Masks, in source pixels (they travel with the layer's texture).
    kind = np.where(is_bg, BACKGROUND, 1 + np.minimum((u[..., _U_KIND] * 3).astype(int), 2))
    orient = 2 * math.pi * u[..., _U_ORIENT]
    radius = scale * rim
    ellipse_ratio = 0.5 + 0.5 * u[..., _U_ASPECT]
    half_angle = 0.35 + (math.pi / 4 - 0.35) * u[..., _U_ASPECT]  # rectangle diagonal angle
    axes = np.where(
        (kind == RECTANGLE)[..., None],
        radius[..., None] * np.stack([np.cos(half_angle), np.sin(half_angle)], -1),
        radius[..., None] * np.stack([np.ones_like(ellipse_ratio), ellipse_ratio], -1),
    )
    vertices = 5 + np.minimum((u[..., _U_VERTICES] * 5).astype(int), 4)
    radii = radius[..., None] * (0.45 + 0.55 * u[..., _U_RADII])

    def inactive_to_zero(array: np.ndarray) -> np.ndarray:
        mask = active.reshape(active.shape + (1,) * (array.ndim - 2))
        return np.where(mask, array, 0).astype(array.dtype)

    return Scenes(
        split=split,
        size=size,
        seed=seed,
        max_motion=max_motion,
        ambiguity=ambiguity,
        active=active,
        photo=inactive_to_zero(photo),
        anchor=inactive_to_zero(anchor),
        centre=inactive_to_zero(centre),
        shift=inactive_to_zero(shift),
        deviation=inactive_to_zero(deviation),
        scale=inactive_to_zero(scale),
        zoom=inactive_to_zero(zoom),
        angle=inactive_to_zero(angle),
        spin=inactive_to_zero(spin),
        kind=inactive_to_zero(kind),
        orient=inactive_to_zero(orient),
        axes=inactive_to_zero(axes),
        vertices=inactive_to_zero(vertices),
        radii=inactive_to_zero(radii),
        radius=inactive_to_zero(np.where(is_bg, 0.0, radius)),
    )
