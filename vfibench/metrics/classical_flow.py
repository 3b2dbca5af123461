"""Classical optical flow (OpenCV) for the flow-aware metrics and for per-sample motion on real data.

No learned weights: DIS (Kroeger et al., ECCV 2016; ``cv2.DISOpticalFlow``, preset MEDIUM) is the
flow of ``flolpips-dis``, of :func:`largest_motion` and of ``data inspect``'s camera motion; Farnebäck (SCIA 2003;
``cv2.calcOpticalFlowFarneback``) with the parameters of the PSNR_DIV reference code is the flow of
``psnr-div``. Both run on 8-bit BT.601 grey frames on the CPU.

Convention: ``flow(a, b)[:, :, y, x] = (u, v)`` means the content at (x, y) in ``a`` is found at
(x + u, y + v) in ``b``; ``u`` is horizontal (along the width), ``v`` vertical.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor

from vfibench.errors import VfiBenchError

Method = Literal["dis", "farneback"]
#: BT.601 luma weights 0.299, 0.587, 0.114 in OpenCV's fixed point (``cv2.COLOR_RGB2GRAY`` on 8-bit frames:
#: Y = (9798·R + 19235·G + 3735·B + 2^14) >> 15), used to turn RGB into the grey frames the flow sees.
GREY_WEIGHTS_Q15 = (9798, 19235, 3735)
GREY_SHIFT = 15
#: Farnebäck parameters of the PSNR_DIV reference code: pyr_scale, levels, winsize, iterations, poly_n,
#: poly_sigma, flags.
FARNEBACK = (0.5, 3, 15, 3, 5, 1.2, 0)


def _cv2():  # type: ignore[no-untyped-def]
    try:
        import cv2
    except ImportError:  # pragma: no cover - a broken installation
        raise VfiBenchError("The flow-aware metrics need OpenCV: pip install opencv-python-headless.") from None
    # OpenCV's own pool would otherwise start a thread per core beside torch's: use torch's budget.
    cv2.setNumThreads(max(1, torch.get_num_threads()))
    return cv2


def grey8(frame: Tensor) -> np.ndarray:
    """(3, H, W) RGB in [0, 1] → (H, W) uint8 BT.601 grey, as ``cv2.cvtColor(rgb8, cv2.COLOR_RGB2GRAY)``
    gives it (equal on all 2^24 colours): the 8-bit levels, then OpenCV's integer weights. Integer
    arithmetic makes it exact whatever the frame's dtype (float32 levels k/255 in a sweep, float64 in
    ``eval``), where rounding a float weighted sum tipped the many exact half-level ties either way."""
    levels = torch.round(frame.detach().to("cpu", torch.float64).clamp(0, 1) * 255.0).to(torch.int32)
    weights = torch.tensor(GREY_WEIGHTS_Q15, dtype=torch.int32).view(3, 1, 1)
    grey = ((levels * weights).sum(dim=0) + (1 << (GREY_SHIFT - 1))) >> GREY_SHIFT
    return np.ascontiguousarray(grey.to(torch.uint8).numpy())


def pair_flow(a: np.ndarray, b: np.ndarray, method: Method = "dis") -> np.ndarray:
    """Flow from grey frame ``a`` to grey frame ``b``, (H, W, 2) float32 (u, v) in pixels."""
    cv2 = _cv2()
    if method == "dis":
        return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(a, b, None)
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(a, b, None, *FARNEBACK)
    raise VfiBenchError(f"Unknown flow method {method!r}; use 'dis' or 'farneback'.")


def optical_flow(a: Tensor, b: Tensor, method: Method = "dis") -> Tensor:
    """Flow from each frame of ``a`` to the same frame of ``b``: (N, 3, H, W) × 2 → (N, 2, H, W) float64
    on ``a``'s device (channel 0 horizontal, 1 vertical, in pixels). OpenCV computes on the CPU: frames
    on a GPU come over in one copy each way, not one per frame."""
    host_a, host_b = (frames.detach().cpu() for frames in (a, b))  # a CPU tensor as it is: no copy
    flows = [torch.from_numpy(pair_flow(grey8(x), grey8(y), method)).permute(2, 0, 1) for x, y in zip(host_a, host_b)]
    return torch.stack(flows).to(a.device, torch.float64)


#: The share of pixels whose DIS flow is at most :func:`largest_motion` (a robust maximum).
LARGEST_MOTION_QUANTILE = 0.99


def largest_motion(i0: Tensor, i1: Tensor, flow: Tensor | None = None) -> Tensor:
    """The 99th percentile of the DIS flow magnitude from I0 to I1 per triplet, in pixels: (N,) float64.

    The estimate for real frames of what synthetic scenes record exactly as ``motion_px`` (the largest
    displacement of any point): a percentile, not the maximum, so a few wrong flow vectors do not set it.
    ``flow``: that DIS flow, (N, 2, H, W), when it is already computed.
    """
    flow = optical_flow(i0, i1, "dis") if flow is None else flow
    magnitude = flow.square().sum(dim=1).sqrt().flatten(1)
    return torch.quantile(magnitude, LARGEST_MOTION_QUANTILE, dim=1)
