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
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vfibench.data.photos import Atlas, photo_atlas
from vfibench.data.synthetic_scenes import (BACKGROUND, EDGE, ELLIPSE, LAYERS, MAX_VERTICES, POLYGON, RECTANGLE, Scenes,
                                            check_int, check_time, sample_scenes)
from vfibench.results.schema import AMBIGUITY, MOTION, OCCLUDED
from vfibench.data.triplets import Triplets

_POINTS_PER_CHUNK = 2**19  # frame pixels rendered per batch of scenes (memory bound)


# ------------------------------------------------------------------------------ rendering


@dataclass(frozen=True)
class _Layers:
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


def _rotation(angle: np.ndarray) -> np.ndarray:
    """Rot(a) = [[cos a, -sin a], [sin a, cos a]]; (P, 2, 2)."""
    cos, sin = np.cos(angle), np.sin(angle)
    return np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)


def _affine(linear: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """The (P, 3, 2) matrix A with [x, y, 1] @ A = linear @ (x, y) + translation."""
    return np.concatenate([np.swapaxes(linear, 1, 2), translation[:, None, :]], 1)


def _trajectory(
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


def _layers(scenes: Scenes, rows: np.ndarray, s: float, atlas: Atlas) -> _Layers:
    """Flatten the active layers of scenes ``rows`` at time ``s``.

    Source point u = anchor + c(s) Rot(a(s)) (x - p(s)); mask point (frame px, mask-aligned)
    q = Rot(a(s) - orient) (x - p(s)), so mask sizes are divided by c(s).
    """
    slot, row = np.nonzero(scenes.active[rows].T)  # slot-major, row order within a slot
    r, l = rows[row], slot
    c, a, p = _trajectory(scenes, r, l, s)
    _, _, height, width = atlas.texture.shape
    normalise = np.diag([2.0 / (width - 1), 2.0 / (height - 1)])
    origin = scenes.anchor[r, l] + np.stack([atlas.lefts[scenes.photo[r, l]], 0 * c], -1)
    to_source = c[:, None, None] * _rotation(a)
    grid_linear = normalise @ to_source
    to_grid = _affine(grid_linear, origin @ normalise - 1 - (grid_linear @ p[..., None])[..., 0])
    mask_linear = _rotation(a - scenes.orient[r, l])
    to_mask = _affine(mask_linear, -(mask_linear @ p[..., None])[..., 0])
    normals, offsets = _polygon_edges(scenes.vertices[r, l], scenes.radii[r, l] / c[:, None])
    footprint = scenes.radius[r, l] / c + EDGE
    window = _windows(p, footprint, scenes.size)
    window[l == 0] = (0, 0, scenes.size)
    f32 = lambda x: torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))  # noqa: E731
    i64 = lambda x: torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64))  # noqa: E731
    return _Layers(
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


def _signed_distance(layers: _Layers, index: Tensor, qx: Tensor, qy: Tensor) -> Tensor:
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


def _sd_ellipse(layers: _Layers, index: Tensor, qx: Tensor, qy: Tensor) -> Tensor:
    """(f - 1) / |grad f| with f = |(qx / a, qy / b)|."""
    inv_a, inv_b = 1.0 / layers.axes[index, 0:1], 1.0 / layers.axes[index, 1:2]
    x, y = qx * inv_a, qy * inv_b
    f = torch.sqrt(x * x + y * y)
    gradient = torch.sqrt((x * inv_a).square() + (y * inv_b).square())
    return torch.where(f > 0.25, (f - 1) * f / gradient.clamp_min(1e-12), -0.75 / inv_a)


def _sd_rectangle(layers: _Layers, index: Tensor, qx: Tensor, qy: Tensor) -> Tensor:
    return torch.maximum(qx.abs() - layers.axes[index, 0:1], qy.abs() - layers.axes[index, 1:2])


def _sd_polygon(layers: _Layers, index: Tensor, qx: Tensor, qy: Tensor) -> Tensor:
    n = layers.vertices[index, None]
    turn = torch.atan2(qy, qx) * (1 / (2 * math.pi))
    sector = torch.remainder((turn * n).floor().long(), n)
    normals = layers.normals[index]
    nx = torch.gather(normals[..., 0], 1, sector)
    ny = torch.gather(normals[..., 1], 1, sector)
    return nx * qx + ny * qy - torch.gather(layers.offsets[index], 1, sector)


def _alpha(layers: _Layers, index: Tensor, qx: Tensor, qy: Tensor) -> Tensor:
    """Coverage in [0, 1]: alpha = clamp(1/2 - d / EDGE, 0, 1), a ramp one frame pixel wide."""
    alpha = (0.5 - _signed_distance(layers, index, qx, qy) * (1 / EDGE)).clamp_(0.0, 1.0)
    far = qx * qx + qy * qy > layers.footprint[index, None].square()
    return alpha.masked_fill_(far, 0.0)


def _apply(affine: Tensor, points: Tensor) -> Tensor:
    """[x, y] @ A[:2] + A[2] for points (M, 2) shared by all maps, or (G, M, 2); (G, M, 2)."""
    x, y = points[..., 0, None], points[..., 1, None]
    if points.dim() == 2:
        x, y = x[None], y[None]
    out = torch.addcmul(affine[:, None, 2, :], x, affine[:, None, 0, :])
    return torch.addcmul(out, y, affine[:, None, 1, :])


def _apply_xy(affine: Tensor, points: Tensor) -> tuple[Tensor, Tensor]:
    """Like :func:`_apply`, with the two output coordinates as separate (G, M) tensors."""
    x, y = points[..., 0], points[..., 1]
    return tuple(  # type: ignore[return-value]
        x * affine[:, 0, j, None] + y * affine[:, 1, j, None] + affine[:, 2, j, None]
        for j in (0, 1)
    )


def _pixel_points(size: int, supersample: int) -> Tensor:
    """Sample points (M, 2), row-major: supersample**2 evenly spaced in each of size**2 pixels."""
    step = 1.0 / supersample
    axis = torch.arange(size * supersample, dtype=torch.float64) * step + step / 2
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([x.flatten(), y.flatten()], -1).float()


def _moved(affine: Tensor, corner: Tensor) -> Tensor:
    """The affine maps (G, 3, 2) applied to window points, i.e. after adding ``corner`` (G, 2)."""
    translation = affine[:, 2:] + corner[:, None, :] @ affine[:, :2]
    return torch.cat([affine[:, :2], translation], 1)


def _paint(
    layers: _Layers, index: Tensor, side: int, supersample: int, atlas: Atlas
) -> tuple[Tensor, Tensor]:
    """Colour (3, G, M) and alpha (G, M) of layers ``index`` at the supersample points of
    their windows, all ``side`` frame pixels wide (M = (side * supersample)**2)."""
    corner = torch.from_numpy(layers.window[index.numpy(), :2]).float()
    points = _pixel_points(side, supersample)
    grid = _apply(_moved(layers.to_grid[index], corner), points)
    colour = F.grid_sample(
        atlas.texture, grid[None], mode="bilinear", padding_mode="border", align_corners=True
    )[0]
    if bool((layers.kind[index] == BACKGROUND).all()):
        return colour, torch.ones(colour.shape[1:])
    alpha = _alpha(layers, index, *_apply_xy(_moved(layers.to_mask[index], corner), points))
    return colour, alpha


def _window_groups(layers: _Layers, slot: int) -> list[tuple[int, Tensor]]:
    """Layers of one slot, grouped by window side and sorted by kind: [(side, index), ...]."""
    in_slot = np.nonzero(layers.slot.numpy() == slot)[0]
    in_slot = in_slot[np.argsort(layers.kind.numpy()[in_slot], kind="stable")]
    sides = layers.window[in_slot, 2]
    return [(int(side), torch.from_numpy(in_slot[sides == side])) for side in np.unique(sides)]


def _render_rows(scenes: Scenes, rows: np.ndarray, s: float, supersample: int) -> Tensor:
    """Frames (n, 3, size, size) of scenes ``rows``: layers composited back to front at
    supersample x supersample points per pixel, then averaged over each pixel."""
    atlas = photo_atlas(scenes.split)
    layers = _layers(scenes, rows, s, atlas)
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


def _chunks(scenes: Scenes) -> list[np.ndarray]:
    per_chunk = max(1, _POINTS_PER_CHUNK // (scenes.size * scenes.size))
    return [np.arange(i, min(i + per_chunk, len(scenes))) for i in range(0, len(scenes), per_chunk)]


def render_frames(scenes: Scenes, s: float, *, supersample: int = 2) -> Tensor:
    """Render every scene at time ``s``; float32 (N, 3, size, size) in [0, 1].

    Each frame pixel is the mean of supersample x supersample bilinear samples (masks and
    compositing included), the same at every ``s``.
    """
    s = check_time("s", s)
    supersample = check_int(
        "supersample", supersample, 1, "Use 2 (the default) or more samples per pixel side."
    )
    frames = [_render_rows(scenes, rows, s, supersample) for rows in _chunks(scenes)]
    return torch.cat(frames).clamp_(0.0, 1.0)


def _top_slot(layers: _Layers, points: Tensor, count: int) -> Tensor:
    """Slot of the front-most layer covering (alpha > 1/2) each of ``points`` (count, M, 2)."""
    index = torch.arange(len(layers.row))
    qx, qy = _apply_xy(layers.to_mask, points[layers.row])
    inside = _signed_distance(layers, index, qx, qy) < 0
    ranked = torch.where(inside, layers.slot[:, None], torch.zeros_like(layers.slot[:, None]))
    top = torch.zeros(count, points.shape[1], dtype=torch.long)
    for slot in range(1, LAYERS):  # at most one layer per (scene, slot): no duplicate rows
        index = torch.nonzero(layers.slot == slot).flatten()
        rows = layers.row[index]
        top[rows] = torch.maximum(top[rows], ranked[index])
    return top


def _carry(scenes: Scenes, rows: np.ndarray, s_from: float, s_to: float) -> Tensor:
    """Affine maps (P, 3, 2), in ``_layers`` order, taking a layer's point seen at x at
    ``s_from`` to where it is seen at ``s_to``: x' = p' + (c / c') Rot(a - a') (x - p)."""
    slot, row = np.nonzero(scenes.active[rows].T)
    r, l = rows[row], slot
    c0, a0, p0 = _trajectory(scenes, r, l, s_from)
    c1, a1, p1 = _trajectory(scenes, r, l, s_to)
    linear = (c0 / c1)[:, None, None] * _rotation(a0 - a1)
    affine = _affine(linear, p1 - (linear @ p0[..., None])[..., 0])
    return torch.from_numpy(affine.astype(np.float32))


def _visible_rows(
    scenes: Scenes, rows: np.ndarray, s_from: float, s_to: float
) -> tuple[Tensor, Tensor]:
    """(visible, in view) for scenes ``rows``, each bool (n, 1, size, size)."""
    atlas = photo_atlas(scenes.split)
    size, n = scenes.size, len(rows)
    start, end = _layers(scenes, rows, s_from, atlas), _layers(scenes, rows, s_to, atlas)
    carry = _carry(scenes, rows, s_from, s_to)
    pixels = _pixel_points(size, 1)
    top_from = _top_slot(start, pixels.expand(n, -1, -1), n)
    visible = torch.zeros_like(top_from, dtype=torch.bool)
    in_view = torch.zeros_like(visible)
    for slot in range(LAYERS):
        index = torch.nonzero(start.slot == slot).flatten()
        if not index.numel():
            continue
        rows_here = start.row[index]
        moved = torch.zeros(n, pixels.shape[0], 2)
        moved[rows_here] = _apply(carry[index], pixels)
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
    return torch.cat([_visible_rows(scenes, rows, s_from, s_to)[0] for rows in _chunks(scenes)])


def occlusion(scenes: Scenes, s_from: float, s_to: float) -> Tensor:
    """Which pixels of the frame at ``s_from`` are hidden by another layer at ``s_to``.

    Occluded = the surface point at the pixel centre stays inside the frame at ``s_to`` but is
    not front-most there (pixels whose point leaves the view are not counted). Together with
    the pixels that leave the view, these are the pixels :func:`visibility` marks False.
    Returns bool (N, 1, size, size).
    """
    s_from, s_to = check_time("s_from", s_from), check_time("s_to", s_to)
    parts = [_visible_rows(scenes, rows, s_from, s_to) for rows in _chunks(scenes)]
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
    c0, _, p0 = _trajectory(scenes, row, slot, 0.0)
    theta = np.linspace(0.0, 2 * math.pi, 64, endpoint=False)
    circle = np.stack([np.cos(theta), np.sin(theta)], -1)
    rim = p0[:, None, :] + (scenes.radius[row, slot] / c0)[:, None, None] * circle[None]
    corners = np.array([[0.0, 0.0], [scenes.size, 0.0], [0.0, scenes.size], [scenes.size, scenes.size]])
    points = np.where((slot == 0)[:, None, None], np.resize(corners, rim.shape[1:]), rim)
    points_t = torch.from_numpy(points)
    moved = _apply(carry, points_t)
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
