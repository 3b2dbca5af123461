"""Rendering synthetic scenes: each layer resampled from its photograph, masked, composited back to front.

:func:`render_frames` draws every scene of a batch at one scene time; each frame pixel is the mean
of ``supersample``² bilinear samples, masks and compositing included, whatever the time (the
sharpness parity of :mod:`vfibench.data.synthetic`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vfibench.data.photos import Atlas, photo_atlas
from vfibench.data.synthetic_layers import Layers, apply, apply_xy, chunks, layers_at, pixel_points, signed_distance
from vfibench.data.synthetic_scenes import BACKGROUND, EDGE, LAYERS, Scenes, check_int, check_time


def _alpha(layers: Layers, index: Tensor, qx: Tensor, qy: Tensor) -> Tensor:
    """Coverage in [0, 1]: alpha = clamp(1/2 - d / EDGE, 0, 1), a ramp one frame pixel wide."""
    alpha = (0.5 - signed_distance(layers, index, qx, qy) * (1 / EDGE)).clamp_(0.0, 1.0)
    far = qx * qx + qy * qy > layers.footprint[index, None].square()
    return alpha.masked_fill_(far, 0.0)


def _moved(affine: Tensor, corner: Tensor) -> Tensor:
    """The affine maps (G, 3, 2) applied to window points, i.e. after adding ``corner`` (G, 2)."""
    translation = affine[:, 2:] + corner[:, None, :] @ affine[:, :2]
    return torch.cat([affine[:, :2], translation], 1)


def _paint(
    layers: Layers, index: Tensor, side: int, supersample: int, atlas: Atlas
) -> tuple[Tensor, Tensor]:
    """Colour (3, G, M) and alpha (G, M) of layers ``index`` at the supersample points of
    their windows, all ``side`` frame pixels wide (M = (side * supersample)**2)."""
    corner = torch.from_numpy(layers.window[index.numpy(), :2]).float()
    points = pixel_points(side, supersample)
    grid = apply(_moved(layers.to_grid[index], corner), points)
    colour = F.grid_sample(
        atlas.texture, grid[None], mode="bilinear", padding_mode="border", align_corners=True
    )[0]
    if bool((layers.kind[index] == BACKGROUND).all()):
        return colour, torch.ones(colour.shape[1:])
    alpha = _alpha(layers, index, *apply_xy(_moved(layers.to_mask[index], corner), points))
    return colour, alpha


def _window_groups(layers: Layers, slot: int) -> list[tuple[int, Tensor]]:
    """Layers of one slot, grouped by window side and sorted by kind: [(side, index), ...]."""
    in_slot = np.nonzero(layers.slot.numpy() == slot)[0]
    in_slot = in_slot[np.argsort(layers.kind.numpy()[in_slot], kind="stable")]
    sides = layers.window[in_slot, 2]
    return [(int(side), torch.from_numpy(in_slot[sides == side])) for side in np.unique(sides)]


def _render_rows(scenes: Scenes, rows: np.ndarray, s: float, supersample: int) -> Tensor:
    """Frames (n, 3, size, size) of scenes ``rows``: layers composited back to front at
    supersample x supersample points per pixel, then averaged over each pixel."""
    atlas = photo_atlas(scenes.split)
    layers = layers_at(scenes, rows, s, atlas)
    n, side = len(rows), scenes.size * supersample
    background = torch.arange(n)  # slot-major order puts the backgrounds first, by row
    frame, _ = _paint(layers, background, scenes.size, supersample, atlas)
    frame = frame.reshape(3, n * side * side)
    for slot in range(1, LAYERS):
        for width, index in _window_groups(layers, slot):
            colour, alpha = _paint(layers, index, width, supersample, atlas)
            corner = layers.window[index.numpy(), :2] * supersample
            start = (layers.row[index].numpy() * side + corner[:, 1]) * side + corner[:, 0]
            local = torch.arange(width * supersample)
            offsets = (local[:, None] * side + local[None, :]).flatten()
            flat = (torch.from_numpy(start)[:, None] + offsets[None, :]).view(1, -1).expand(3, -1)
            under = frame.gather(1, flat).view(colour.shape)
            frame.scatter_(1, flat, (under + alpha * (colour - under)).view(3, -1))
    frame = frame.view(3, n, side, side)
    if supersample > 1:
        frame = F.avg_pool2d(frame, supersample)
    return frame.transpose(0, 1).contiguous()


def render_frames(scenes: Scenes, s: float, *, supersample: int = 2) -> Tensor:
    """Render every scene at time ``s``; float32 (N, 3, size, size) in [0, 1].

    Each frame pixel is the mean of supersample x supersample bilinear samples (masks and
    compositing included), the same at every ``s``.
    """
    s = check_time("s", s)
    supersample = check_int(
        "supersample", supersample, 1, "Use 2 (the default) or more samples per pixel side."
    )
    frames = [_render_rows(scenes, rows, s, supersample) for rows in chunks(scenes)]
    return torch.cat(frames).clamp_(0.0, 1.0)
