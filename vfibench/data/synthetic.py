"""The embedded ``synthetic`` dataset: layered scenes cut from real photographs, in motion.

A scene is a background layer cut from one photograph plus one to three foreground layers
cut from other photographs of the same split (see :mod:`vfibench.data.photos`), each
foreground clipped by its own mask (ellipse, rectangle or star polygon). Every layer moves
along a continuous trajectory parameterised by the scene time ``s`` in [0, 1]::

    c(s) = c * exp((s - 1/2) * zoom)        source pixels per frame pixel
    a(s) = angle + (s - 1/2) * spin         radians
    p(s) = centre + (s - 1/2) * shift + 4 s (1 - s) * deviation     frame pixels
    u(x, s) = anchor + c(s) * Rot(a(s)) @ (x - p(s))

which says which point ``u`` of the layer's photograph is seen at frame position ``x``.
I0, It and I1 are the scene rendered at s = 0, t and 1 by one renderer, so the middle frame
is exact, and every occlusion and disocclusion follows from the layer order.

Motion. ``max_motion`` bounds, to first order, how far any point of any layer moves between
I0 and I1, as a fraction of ``size``: a layer of rim radius R (half the frame diagonal for
the background) gets a budget D = max_motion * size * u**1.5, u ~ U(0, 1), spent as
|shift| + R * (|spin| + |zoom|) <= D. Motions therefore run from sub-pixel to the maximum
(about 16 % of foreground layers move less than 1 px at size 64 and max_motion 0.25). The
background pans (and barely rolls or zooms) with at most 35 % of the foreground budget.

Ambiguity. With ``ambiguity = 0`` every path is straight and of uniform speed, so the
middle frame is a function of I0 and I1. With ``ambiguity = A > 0`` each layer's reference
point leaves that line by ``4 s (1 - s) * deviation``: zero at s = 0 and 1, so I0 and I1
reveal nothing of it, and largest at s = 1/2. ``deviation`` has a
uniformly random direction (along the motion: a change of speed; across it: a curved path)
and a length uniform in [0, A * D], D the layer's first-order displacement budget
|shift| + R * (|spin| + |zoom|). Its variates come from a generator of their own, so the
scenes of A = 0 are those drawn before ambiguity existed (the background's scale is only
shrunk where its larger path would leave the photograph). Under such uncertainty
an L2- or L1-trained interpolator is pulled towards the average of the plausible middle
frames, i.e. blur (Geng et al., "Comparing Correspondences: Video Prediction with
Correspondence-wise Losses", CVPR 2022): the uncertainty that real video has.

Sharpness parity. Resampling blurs by an amount that depends on the sub-pixel phase at
which a source is sampled (bilinear interpolation halfway between pixels averages two of
them). If the middle frame were an integer-aligned copy of the source while the inputs were
shifted by fractions of a pixel, the inputs would be systematically blurrier than the
target, and any loss would be rewarded for sharpening. Here no frame is special: every
layer of every frame is resampled through the same affine map with a continuous random
anchor, scale and angle, so the sampling phase is uniformly random at s = 0, t and 1 alike;
and every frame pixel is the mean of ``supersample``² bilinear samples (compositing
included), an antialiased sampler whose blur hardly depends on the phase. The mean gradient
energy of the inputs matches that of the middle frame to within about 1 % (see
``tests/test_data_synthetic.py``).

Determinism. Scene ``i`` of a split is drawn from its own generator seeded by
(split, seed, i): the same arguments give bit-identical tensors, a longer ``count`` only
appends scenes, and train and test with the same seed share neither photographs nor
random streams.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from vfibench.data.photos import photo_atlas
from vfibench.data.synthetic_layers import (Layers, affine_map, apply, apply_xy, chunks, layers_at, pixel_points, rotation,
                                            signed_distance, trajectory)
from vfibench.data.synthetic_render import render_frames
from vfibench.data.synthetic_scenes import LAYERS, Scenes, check_time, sample_scenes
from vfibench.results.schema import AMBIGUITY, MOTION, OCCLUDED
from vfibench.data.triplets import Triplets


def _top_slot(layers: Layers, points: Tensor, count: int) -> Tensor:
    """Slot of the front-most layer covering (alpha > 1/2) each of ``points`` (count, M, 2)."""
    index = torch.arange(len(layers.row))
    qx, qy = apply_xy(layers.to_mask, points[layers.row])
    inside = signed_distance(layers, index, qx, qy) < 0
    ranked = torch.where(inside, layers.slot[:, None], torch.zeros_like(layers.slot[:, None]))
    top = torch.zeros(count, points.shape[1], dtype=torch.long)
    for slot in range(1, LAYERS):  # at most one layer per (scene, slot): no duplicate rows
        index = torch.nonzero(layers.slot == slot).flatten()
        rows = layers.row[index]
        top[rows] = torch.maximum(top[rows], ranked[index])
    return top


def _carry(scenes: Scenes, rows: np.ndarray, s_from: float, s_to: float) -> Tensor:
    """Affine maps (P, 3, 2), in ``layers_at`` order, taking a layer's point seen at x at
    ``s_from`` to where it is seen at ``s_to``: x' = p' + (c / c') Rot(a - a') (x - p)."""
    slot, row = np.nonzero(scenes.active[rows].T)
    r, l = rows[row], slot
    c0, a0, p0 = trajectory(scenes, r, l, s_from)
    c1, a1, p1 = trajectory(scenes, r, l, s_to)
    linear = (c0 / c1)[:, None, None] * rotation(a0 - a1)
    affine = affine_map(linear, p1 - (linear @ p0[..., None])[..., 0])
    return torch.from_numpy(affine.astype(np.float32))


def _visible_rows(
    scenes: Scenes, rows: np.ndarray, s_from: float, s_to: float
) -> tuple[Tensor, Tensor]:
    """(visible, in view) for scenes ``rows``, each bool (n, 1, size, size)."""
    atlas = photo_atlas(scenes.split)
    size, n = scenes.size, len(rows)
    start, end = layers_at(scenes, rows, s_from, atlas), layers_at(scenes, rows, s_to, atlas)
    carry = _carry(scenes, rows, s_from, s_to)
    pixels = pixel_points(size, 1)
    top_from = _top_slot(start, pixels.expand(n, -1, -1), n)
    visible = torch.zeros_like(top_from, dtype=torch.bool)
    in_view = torch.zeros_like(visible)
    for slot in range(LAYERS):
        index = torch.nonzero(start.slot == slot).flatten()
        if not index.numel():
            continue
        rows_here = start.row[index]
        moved = torch.zeros(n, pixels.shape[0], 2)
        moved[rows_here] = apply(carry[index], pixels)
        in_frame = (top_from == slot) & ((moved >= 0) & (moved <= size)).all(-1)
        in_view |= in_frame
        visible |= in_frame & (_top_slot(end, moved, n) == slot)
    return visible.view(n, 1, size, size), in_view.view(n, 1, size, size)


def visibility(scenes: Scenes, s_from: float, s_to: float) -> Tensor:
    """Which pixels of the frame at ``s_from`` are still visible in the frame at ``s_to``.

    A pixel is visible when the surface point at its centre (on the front-most layer with
    alpha > 1/2) lies inside the frame at ``s_to`` and is front-most there too; the others
    are occluded at ``s_to`` or have left the view. Returns bool (N, 1, size, size).
    """
    s_from, s_to = check_time("s_from", s_from), check_time("s_to", s_to)
    return torch.cat([_visible_rows(scenes, rows, s_from, s_to)[0] for rows in chunks(scenes)])


def occlusion(scenes: Scenes, s_from: float, s_to: float) -> Tensor:
    """Which pixels of the frame at ``s_from`` are hidden by another layer at ``s_to``.

    Occluded = the surface point at the pixel centre stays inside the frame at ``s_to`` but is
    not front-most there (pixels whose point leaves the view are not counted). Together with
    the pixels that leave the view, these are the pixels :func:`visibility` marks False.
    Returns bool (N, 1, size, size).
    """
    s_from, s_to = check_time("s_from", s_from), check_time("s_to", s_to)
    parts = [_visible_rows(scenes, rows, s_from, s_to) for rows in chunks(scenes)]
    return torch.cat([in_view & ~visible for visible, in_view in parts])


def layer_motion(scenes: Scenes) -> np.ndarray:
    """Largest displacement (frame px) of any point of each layer between I0 and I1; (N, L).

    The map from a layer point's position at s = 0 to its position at s = 1 is affine
    (x' = p(1) + (c(0)/c(1)) Rot(a(0) - a(1)) (x - p(0))), so the displacement's norm is convex
    and its maximum over a region lies on the region's boundary: the frame's four corners for
    the background, and 64 points of the circle that holds the mask (radius ``radius / c(0)``
    around p(0)) for a foreground. Inactive slots are 0.
    """
    out = np.zeros(scenes.active.shape)
    rows = np.arange(len(scenes))
    slot, row = np.nonzero(scenes.active.T)
    carry = _carry(scenes, rows, 0.0, 1.0).double()
    c0, _, p0 = trajectory(scenes, row, slot, 0.0)
    theta = np.linspace(0.0, 2 * math.pi, 64, endpoint=False)
    circle = np.stack([np.cos(theta), np.sin(theta)], -1)
    rim = p0[:, None, :] + (scenes.radius[row, slot] / c0)[:, None, None] * circle[None]
    corners = np.array([[0.0, 0.0], [scenes.size, 0.0], [0.0, scenes.size], [scenes.size, scenes.size]])
    points = np.where((slot == 0)[:, None, None], np.resize(corners, rim.shape[1:]), rim)
    points_t = torch.from_numpy(points)
    moved = apply(carry, points_t)
    out[row, slot] = (moved - points_t).norm(dim=-1).amax(dim=-1).numpy()
    return out


def make_synthetic(
    split: Literal["train", "test"],
    count: int,
    size: int = 64,
    seed: int = 0,
    max_motion: float = 0.25,
    *,
    ambiguity: float = 0.0,
    t: float = 0.5,
    supersample: int = 2,
) -> Triplets:
    """Layered photographic scenes in motion, as triplets (I0 at s=0, It at s=t, I1 at s=1).

    Args:
        split: "train" or "test"; they use disjoint photographs and random streams.
        count: number of triplets (>= 1).
        size: frame side in pixels (>= 32). Above about 160 px the smaller photographs are
            shown magnified, hence softer.
        seed: non-negative; scene i depends only on (split, seed, i).
        max_motion: in (0, 0.5], the largest displacement of any scene point between I0 and
            I1, as a fraction of ``size`` (first order; see the module docstring).
        ambiguity: in [0, 1], how far each layer's path may leave the straight, uniform-speed
            one, as a fraction of its displacement (see the module docstring); 0 = none.
        t: time of the middle frame, in [0, 1].
        supersample: samples per pixel side of the antialiased renderer.

    Returns:
        :class:`Triplets` of float32 (count, 3, size, size) in [0, 1], t filled with ``t``.

    Example:
        >>> batch = make_synthetic("train", 8, size=32)
        >>> tuple(batch.it.shape), float(batch.t[0])
        ((8, 3, 32, 32), 0.5)
    """
    t = check_time("t", t)
    scenes = sample_scenes(split, count, size, seed, max_motion, ambiguity)
    return Triplets(
        i0=render_frames(scenes, 0.0, supersample=supersample),
        it=render_frames(scenes, t, supersample=supersample),
        i1=render_frames(scenes, 1.0, supersample=supersample),
        t=torch.full((count,), t, dtype=torch.float32),
    )


def path_deviation(scenes: Scenes, t: float) -> np.ndarray:
    """How far (frame px) each layer is, at time ``t``, from where straight uniform motion would put it.

    ``4 t (1 - t) |deviation|`` per layer; (N, L), inactive slots 0. I0 and I1 do not reveal it.
    """
    t = check_time("t", t)
    return 4 * t * (1 - t) * np.linalg.norm(scenes.deviation, axis=-1) * scenes.active


def sample_attributes(scenes: Scenes, t: float = 0.5) -> dict[str, np.ndarray]:
    """What makes each scene hard, one value per scene (what the report breaks metrics down by).

    Returns:
        ``ambiguity_px``: the largest :func:`path_deviation` of any layer at ``t`` — what the middle
            frame holds that I0 and I1 cannot tell;
        ``motion_px``: the largest displacement of any point between I0 and I1 (:func:`layer_motion`);
        ``occluded``: the fraction of the middle frame's pixels not visible in I0 or not visible in
            I1 (:func:`visibility`), i.e. that one of the inputs cannot show.
    """
    t = check_time("t", t)
    seen_in_both = visibility(scenes, t, 0.0) & visibility(scenes, t, 1.0)
    return {
        AMBIGUITY: path_deviation(scenes, t).max(axis=1),
        MOTION: layer_motion(scenes).max(axis=1),
        OCCLUDED: 1.0 - seen_in_both.flatten(1).double().mean(dim=1).numpy(),
    }
