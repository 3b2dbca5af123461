"""Warping and blending: the fixed, parameter-free parts of Super SloMo.

Flows are in pixels, channel 0 = x (right), channel 1 = y (down). ``t`` is the time of the
interpolated frame, 0 at I0 and 1 at I1, given per sample as a tensor of shape (N,) (a Python
float or a 0-d tensor is broadcast to the whole batch).

Reference: H. Jiang, D. Sun, V. Jampani, M.-H. Yang, E. Learned-Miller, J. Kautz,
"Super SloMo: High Quality Estimation of Multiple Intermediate Frames for Video Interpolation",
CVPR 2018.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["backward_warp", "gather_warp", "intermediate_flows", "blend", "time_weights"]


def _check_flow(image: Tensor, flow: Tensor) -> None:
    if image.dim() != 4 or flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(
            f"expected image (N, C, H, W) and flow (N, 2, H, W), got {tuple(image.shape)} and {tuple(flow.shape)}"
        )
    if image.shape[0] != flow.shape[0] or image.shape[-2:] != flow.shape[-2:]:
        raise ValueError(
            "image and flow must share batch size and spatial size, "
            f"got {tuple(image.shape)} and {tuple(flow.shape)}"
        )


def backward_warp(image: Tensor, flow: Tensor) -> Tensor:
    """Sample ``image`` at ``x + flow(x)``: g(I, F)(x) = I(x + F(x)).

    Bilinear interpolation (``grid_sample`` with ``align_corners=True``, so pixel centre 0 maps
    to −1 and pixel centre W−1 to +1 and the pixel-to-grid normalisation is exact). Points that
    fall outside the image take the value of the nearest border pixel (``padding_mode="border"``),
    so a warped frame has no black holes; occluded and out-of-view pixels are meant to be handled
    by the visibility maps of :func:`blend`. Integer and sub-pixel shifts of a bilinear pattern
    are undone exactly up to rounding: about 1e-12 in float64 and 1e-5 in float32, where the
    pixel-to-grid normalisation rounds.

    Args:
        image: (N, C, H, W), any number of channels, same dtype and device as ``flow``.
        flow: (N, 2, H, W) displacement in pixels, channel 0 = x, channel 1 = y.

    Returns:
        (N, C, H, W) warped image.

    Example:
        >>> img = torch.arange(12.0).view(1, 1, 3, 4)
        >>> flow = torch.zeros(1, 2, 3, 4); flow[:, 0] = 1.0   # look one pixel to the right
        >>> backward_warp(img, flow)[0, 0, 0].tolist()
        [1.0, 2.0, 3.0, 3.0]
    """
    _check_flow(image, flow)
    if image.is_cuda and torch.are_deterministic_algorithms_enabled():
        return gather_warp(image, flow)
    n, _, h, w = flow.shape
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype).view(1, h, 1)
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype).view(1, 1, w)
    # align_corners=True: grid = 2·x/(size−1) − 1 (a size-1 axis maps to the single centre, 0).
    gx = (xs + flow[:, 0]) * (2.0 / max(w - 1, 1)) - (1.0 if w > 1 else 0.0)
    gy = (ys + flow[:, 1]) * (2.0 / max(h - 1, 1)) - (1.0 if h > 1 else 0.0)
    grid = torch.stack((gx, gy), dim=-1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def gather_warp(image: Tensor, flow: Tensor) -> Tensor:
    """:func:`backward_warp` written with ``gather``: the same bilinear sampling with border padding,
    equal to it up to float rounding, whose gradient PyTorch can compute deterministically on a GPU.

    ``grid_sample``'s backward on CUDA accumulates with atomic additions, in an order that changes
    from run to run, and has no deterministic implementation: two trainings from the same seed
    drift apart. ``backward_warp`` switches to this form when PyTorch's deterministic algorithms
    are on for a CUDA tensor (as vfibench's training on a GPU sets them); on the CPU ``grid_sample``
    is deterministic and stays.

    With x' = clamp(x + Fx, 0, W−1), y' = clamp(y + Fy, 0, H−1), x0 = ⌊x'⌋, a = x' − x0 (likewise y0, b):
    g(I, F)(x, y) = (1−a)(1−b)·I[y0, x0] + a(1−b)·I[y0, x0+1] + (1−a)b·I[y0+1, x0] + ab·I[y0+1, x0+1],
    neighbours past the last row or column clamped to it (their weight is 0 there).
    """
    _check_flow(image, flow)
    n, c, h, w = image.shape
    # coordinates in at least float32: bfloat16 cannot tell pixel 255 from 256
    coords = flow if flow.dtype in (torch.float32, torch.float64) else flow.float()
    ys = torch.arange(h, device=flow.device, dtype=coords.dtype).view(1, h, 1)
    xs = torch.arange(w, device=flow.device, dtype=coords.dtype).view(1, 1, w)
    x = (xs + coords[:, 0]).clamp(0, w - 1)
    y = (ys + coords[:, 1]).clamp(0, h - 1)
    x0, y0 = x.detach().floor(), y.detach().floor()
    a, b = (x - x0).unsqueeze(1), (y - y0).unsqueeze(1)
    # the indices clamped too, so that a NaN flow (a diverging model) reads pixel 0 and yields NaN, never out of bounds
    left, top = x0.long().clamp(0, w - 1), y0.long().clamp(0, h - 1)
    right, bottom = (left + 1).clamp(max=w - 1), (top + 1).clamp(max=h - 1)
    flat = image.reshape(n, c, h * w)

    def at(row: Tensor, col: Tensor) -> Tensor:
        index = (row * w + col).reshape(n, 1, h * w).expand(n, c, h * w)
        return flat.gather(2, index).reshape(n, c, h, w)

    return ((1 - a) * (1 - b) * at(top, left) + a * (1 - b) * at(top, right)
            + (1 - a) * b * at(bottom, left) + a * b * at(bottom, right))


def time_weights(t: Tensor | float, reference: Tensor) -> Tensor:
    """``t`` as an (N, 1, 1, 1) tensor on ``reference``'s device and dtype, ready to broadcast.

    Accepts a Python float, a 0-d tensor, or a tensor of shape (N,) or (N, 1, 1, 1).
    """
    t = torch.as_tensor(t, device=reference.device, dtype=reference.dtype)
    n = reference.shape[0]
    if t.dim() == 0:
        return t.expand(n).view(n, 1, 1, 1)
    if t.numel() != n:
        raise ValueError(f"t must be a scalar or have one value per sample ({n}), got shape {tuple(t.shape)}")
    return t.reshape(n, 1, 1, 1)


def intermediate_flows(flow_01: Tensor, flow_10: Tensor, t: Tensor | float) -> tuple[Tensor, Tensor]:
    """Approximate the flows from time t back to the inputs (Super SloMo, Eq. 4).

    Assuming locally linear, symmetric motion::

        F̂t→0 = −(1−t)·t·F0→1 + t²·F1→0
        F̂t→1 = (1−t)²·F0→1 − t·(1−t)·F1→0

    Args:
        flow_01, flow_10: (N, 2, H, W) bidirectional flows in pixels.
        t: (N,) times in [0, 1] (or a scalar for the whole batch).

    Returns:
        (F̂t→0, F̂t→1), each (N, 2, H, W).
    """
    if flow_01.shape != flow_10.shape:
        raise ValueError(f"flows must have the same shape, got {tuple(flow_01.shape)} and {tuple(flow_10.shape)}")
    tt = time_weights(t, flow_01)
    flow_t0 = -(1 - tt) * tt * flow_01 + tt * tt * flow_10
    flow_t1 = (1 - tt) * (1 - tt) * flow_01 - tt * (1 - tt) * flow_10
    return flow_t0, flow_t1


def blend(
    warped_0: Tensor,
    warped_1: Tensor,
    visibility_0: Tensor,
    visibility_1: Tensor,
    t: Tensor | float,
    eps: float = 1e-6,
) -> Tensor:
    """Visibility- and time-weighted fusion of the two warped inputs (Super SloMo, Eq. 1).

    ::

        Î = ((1−t)·V_t←0·g(I0, Ft→0) + t·V_t←1·g(I1, Ft→1)) / ((1−t)·V_t←0 + t·V_t←1 + eps)

    With V_t←0 = V_t←1 = 1/2 and t = 1/2 this is the average of the two warped frames.

    Args:
        warped_0, warped_1: (N, C, H, W) g(I0, Ft→0) and g(I1, Ft→1).
        visibility_0, visibility_1: (N, 1, H, W) visibility maps in [0, 1].
        t: (N,) times (or a scalar).
        eps: added to the denominator (the normaliser is ≥ min(t, 1−t) when V0 + V1 = 1;
            ``eps`` only guards t ∈ {0, 1} and degenerate maps).

    Returns:
        (N, C, H, W) blended frame.
    """
    tt = time_weights(t, warped_0)
    w0 = (1 - tt) * visibility_0
    w1 = tt * visibility_1
    return (w0 * warped_0 + w1 * warped_1) / (w0 + w1 + eps)
