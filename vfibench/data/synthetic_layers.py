"""The layers of synthetic scenes at one scene time: where each one is, and where its mask is.

:func:`layers_at` flattens the active layers of some scenes at a time ``s`` into :class:`Layers`:
affine maps from frame points to each layer's photograph and to its mask, and the frame-pixel
footprint and window of each mask; :func:`signed_distance` tells how far points lie inside or
outside the masks. Each layer follows the trajectory ``c(s)``, ``a(s)``, ``p(s)`` of
:mod:`vfibench.data.synthetic` (:func:`trajectory`). The renderer and the visibility test both
build on these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vfibench.data.photos import Atlas
from vfibench.data.synthetic_scenes import EDGE, ELLIPSE, MAX_VERTICES, POLYGON, RECTANGLE, Scenes

_POINTS_PER_CHUNK = 2**19  # frame pixels rendered per batch of scenes (memory bound)


@dataclass(frozen=True)
class Layers:
    """The active layers of some scenes at one time s, flattened slot-major, row order within.

    Affine maps are (P, 3, 2) matrices A applied to homogeneous rows: [x, y, 1] @ A.
    """

    row: Tensor  # (P,) scene index within the batch
    slot: Tensor  # (P,)
    kind: Tensor  # (P,)
    to_grid: Tensor  # (P, 3, 2) frame point -> grid_sample coordinates in the atlas
    to_mask: Tensor  # (P, 3, 2) frame point -> mask-aligned offset from the anchor, frame px
    axes: Tensor  # (P, 2) ellipse half-axes or rectangle half-sides, frame px
    normals: Tensor  # (P, MAX_VERTICES, 2) outward unit normals of the polygon edges
    offsets: Tensor  # (P, MAX_VERTICES) distances of the polygon edge lines, frame px
    vertices: Tensor  # (P,)
    footprint: Tensor  # (P,) radius around the anchor beyond which alpha is 0, frame px
    window: np.ndarray  # (P, 3) int left, top, side: a frame-pixel box holding the footprint


def rotation(angle: np.ndarray) -> np.ndarray:
    """Rot(a) = [[cos a, -sin a], [sin a, cos a]]; (P, 2, 2)."""
    cos, sin = np.cos(angle), np.sin(angle)
    return np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)


def affine_map(linear: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """The (P, 3, 2) matrix A with [x, y, 1] @ A = linear @ (x, y) + translation."""
    return np.concatenate([np.swapaxes(linear, 1, 2), translation[:, None, :]], 1)


def trajectory(
    scenes: Scenes, r: np.ndarray, l: np.ndarray, s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale c(s), angle a(s) and reference point p(s) of layers (r, l)."""
    ds = s - 0.5
    c = scenes.scale[r, l] * np.exp(ds * scenes.zoom[r, l])
    a = scenes.angle[r, l] + ds * scenes.spin[r, l]
    p = scenes.centre[r, l] + ds * scenes.shift[r, l] + 4 * s * (1 - s) * scenes.deviation[r, l]
    return c, a, p


def _polygon_edges(vertices: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outward normals n_k and offsets h_k of edge k (vertex k to k+1): inside iff n_k.q < h_k."""
    k = np.arange(MAX_VERTICES)
    n = np.maximum(vertices, 3)[:, None]
    theta = 2 * math.pi * k[None, :] / n
    points = radii[:, :, None] * np.stack([np.cos(theta), np.sin(theta)], -1)
    following = np.take_along_axis(points, np.where(k + 1 < n, k + 1, 0)[:, :, None], axis=1)
    edge = following - points
    normal = np.stack([edge[..., 1], -edge[..., 0]], -1)
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-12)
    return normal, np.sum(normal * points, -1)


def _windows(centre: np.ndarray, footprint: np.ndarray, size: int) -> np.ndarray:
    """Square frame-pixel boxes (left, top, side) covering each footprint, side a multiple of 8."""
    low = np.floor(centre - footprint[:, None])
    need = np.max(np.ceil(centre + footprint[:, None]) - low, axis=1)
    side = np.minimum(size, 8 * np.ceil(need / 8)).astype(np.int64)
    corner = np.clip(low, 0, (size - side)[:, None]).astype(np.int64)
    return np.concatenate([corner, side[:, None]], 1)


def layers_at(scenes: Scenes, rows: np.ndarray, s: float, atlas: Atlas) -> Layers:
    """Flatten the active layers of scenes ``rows`` at time ``s``.

    Source point u = anchor + c(s) Rot(a(s)) (x - p(s)); mask point (frame px, mask-aligned)
    q = Rot(a(s) - orient) (x - p(s)), so mask sizes are divided by c(s).
    """
    slot, row = np.nonzero(scenes.active[rows].T)  # slot-major, row order within a slot
    r, l = rows[row], slot
    c, a, p = trajectory(scenes, r, l, s)
    _, _, height, width = atlas.texture.shape
    normalise = np.diag([2.0 / (width - 1), 2.0 / (height - 1)])
    origin = scenes.anchor[r, l] + np.stack([atlas.lefts[scenes.photo[r, l]], 0 * c], -1)
    to_source = c[:, None, None] * rotation(a)
    grid_linear = normalise @ to_source
    to_grid = affine_map(grid_linear, origin @ normalise - 1 - (grid_linear @ p[..., None])[..., 0])
    mask_linear = rotation(a - scenes.orient[r, l])
    to_mask = affine_map(mask_linear, -(mask_linear @ p[..., None])[..., 0])
    normals, offsets = _polygon_edges(scenes.vertices[r, l], scenes.radii[r, l] / c[:, None])
    footprint = scenes.radius[r, l] / c + EDGE
    window = _windows(p, footprint, scenes.size)
    window[l == 0] = (0, 0, scenes.size)
    f32 = lambda x: torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))  # noqa: E731
    i64 = lambda x: torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64))  # noqa: E731
    return Layers(
        row=i64(row),
        slot=i64(slot),
        kind=i64(scenes.kind[r, l]),
        to_grid=f32(to_grid),
        to_mask=f32(to_mask),
        axes=f32(scenes.axes[r, l] / c[:, None]),
        normals=f32(normals),
        offsets=f32(offsets),
        vertices=i64(scenes.vertices[r, l]),
        footprint=f32(footprint),
        window=window,
    )


def signed_distance(layers: Layers, index: Tensor, qx: Tensor, qy: Tensor) -> Tensor:
    """Signed distance (frame px, negative inside) from mask points (qx, qy), each (G, M), to
    the masks of layers ``index`` (G,); backgrounds get -inf.

    Exact sign; approximate magnitude away from the edge (ellipse: first-order distance,
    rectangle: largest slab distance, polygon: distance to the line of the edge whose angular
    sector holds the point).
    """
    kinds = layers.kind[index]
    out = torch.full(qx.shape, -math.inf)
    for kind, fn in ((ELLIPSE, _sd_ellipse), (RECTANGLE, _sd_rectangle), (POLYGON, _sd_polygon)):
        where = torch.nonzero(kinds == kind).flatten()
        if not where.numel():
            continue
        low, high = int(where[0]), int(where[-1]) + 1
        part = slice(low, high) if high - low == where.numel() else where  # a view if sorted
        out[part] = fn(layers, index[part], qx[part], qy[part])
    return out


def _sd_ellipse(layers: Layers, index: Tensor, qx: Tensor, qy: Tensor) -> Tensor:
    """(f - 1) / |grad f| with f = |(qx / a, qy / b)|."""
    inv_a, inv_b = 1.0 / layers.axes[index, 0:1], 1.0 / layers.axes[index, 1:2]
    x, y = qx * inv_a, qy * inv_b
    f = torch.sqrt(x * x + y * y)
    gradient = torch.sqrt((x * inv_a).square() + (y * inv_b).square())
    return torch.where(f > 0.25, (f - 1) * f / gradient.clamp_min(1e-12), -0.75 / inv_a)


def _sd_rectangle(layers: Layers, index: Tensor, qx: Tensor, qy: Tensor) -> Tensor:
    return torch.maximum(qx.abs() - layers.axes[index, 0:1], qy.abs() - layers.axes[index, 1:2])


def _sd_polygon(layers: Layers, index: Tensor, qx: Tensor, qy: Tensor) -> Tensor:
    n = layers.vertices[index, None]
    turn = torch.atan2(qy, qx) * (1 / (2 * math.pi))
    sector = torch.remainder((turn * n).floor().long(), n)
    normals = layers.normals[index]
    nx = torch.gather(normals[..., 0], 1, sector)
    ny = torch.gather(normals[..., 1], 1, sector)
    return nx * qx + ny * qy - torch.gather(layers.offsets[index], 1, sector)


def apply(affine: Tensor, points: Tensor) -> Tensor:
    """[x, y] @ A[:2] + A[2] for points (M, 2) shared by all maps, or (G, M, 2); (G, M, 2)."""
    x, y = points[..., 0, None], points[..., 1, None]
    if points.dim() == 2:
        x, y = x[None], y[None]
    out = torch.addcmul(affine[:, None, 2, :], x, affine[:, None, 0, :])
    return torch.addcmul(out, y, affine[:, None, 1, :])


def apply_xy(affine: Tensor, points: Tensor) -> tuple[Tensor, Tensor]:
    """Like :func:`apply`, with the two output coordinates as separate (G, M) tensors."""
    x, y = points[..., 0], points[..., 1]
    return tuple(  # type: ignore[return-value]
        x * affine[:, 0, j, None] + y * affine[:, 1, j, None] + affine[:, 2, j, None]
        for j in (0, 1)
    )


def pixel_points(size: int, supersample: int) -> Tensor:
    """Sample points (M, 2), row-major: supersample**2 evenly spaced in each of size**2 pixels."""
    step = 1.0 / supersample
    axis = torch.arange(size * supersample, dtype=torch.float64) * step + step / 2
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([x.flatten(), y.flatten()], -1).float()


def chunks(scenes: Scenes) -> list[np.ndarray]:
    """Rows of ``scenes`` in consecutive batches of at most :data:`_POINTS_PER_CHUNK` frame pixels
    (one scene at least)."""
    per_chunk = max(1, _POINTS_PER_CHUNK // (scenes.size * scenes.size))
    return [np.arange(i, min(i + per_chunk, len(scenes))) for i in range(0, len(scenes), per_chunk)]
