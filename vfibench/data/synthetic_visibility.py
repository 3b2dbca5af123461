"""Where the points of synthetic layers go between two scene times, and what that hides.

A layer's point seen at x at one time is seen at an affine image of x at another; from that map
follow which pixels stay visible (:func:`visibility`), which another layer hides
(:func:`occlusion`), and how far any point of each layer moves between I0 and I1
(:func:`layer_motion`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from vfibench.data.photos import photo_atlas
from vfibench.data.synthetic_layers import (Layers, affine_map, apply, apply_xy, chunks, layers_at, pixel_points,
                                            rotation, signed_distance, trajectory)
from vfibench.data.synthetic_scenes import LAYERS, Scenes, check_time


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
