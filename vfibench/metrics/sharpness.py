"""Sharpness ratio: how much gradient energy a prediction has compared with its ground truth."""

from __future__ import annotations

import torch
from torch import Tensor

from vfibench.metrics._common import check_pair

#: Added to both mean gradient magnitudes so flat frames give a finite ratio (1.0 if both are flat).
EPS = 1e-8


def mean_gradient_magnitude(x: Tensor) -> Tensor:
    r"""Mean gradient magnitude of each image, from central differences on every channel.

    .. math::
        G(x) = \frac{1}{C (H-2)(W-2)} \sum_{c,y,x}
               \sqrt{\left(\tfrac{x_{c,y,x+1} - x_{c,y,x-1}}{2}\right)^2
                   + \left(\tfrac{x_{c,y+1,x} - x_{c,y-1,x}}{2}\right)^2}

    over interior pixels only (the one-pixel border, where a central difference would need
    padding, is excluded). Computed in float64. Shape (N, C, H, W) → (N,).
    """
    x = x.to(torch.float64)
    gx = (x[..., 1:-1, 2:] - x[..., 1:-1, :-2]) / 2
    gy = (x[..., 2:, 1:-1] - x[..., :-2, 1:-1]) / 2
    return torch.sqrt(gx * gx + gy * gy).mean(dim=(1, 2, 3))


def sharpness_ratio(pred: Tensor, gt: Tensor) -> Tensor:
    r"""Mean gradient magnitude of each prediction over that of its ground truth.

    .. math:: \mathrm{sharpness}_n = \frac{G(\hat I_n) + \epsilon}{G(I_n) + \epsilon},
              \quad \epsilon = 10^{-8}

    with :math:`G` the mean central-difference gradient magnitude over the RGB channels and the
    interior pixels (:func:`mean_gradient_magnitude`), data range 1. 1.0 means as much edge and
    texture energy as the truth; below 1 the prediction is blurrier (the typical result of an
    L1/L2-trained interpolator averaging plausible motions); above 1 it holds more gradient energy
    than the truth (noise, ringing, hallucinated texture, ghosting edges). It is a weight-free
    indicator of blur, not a similarity: a frame can have ratio 1.0 and be wrong everywhere.

    Args:
        pred: predicted frames, (N, 3, H, W), values in [0, 1], at least 3×3.
        gt: ground-truth frames, same shape.

    Returns:
        (N,) float64 tensor on the inputs' device; 1.0 is best, not higher.

    Example:
        >>> gt = torch.rand(1, 3, 16, 16)
        >>> sharpness_ratio(gt, gt)
        tensor([1.], dtype=torch.float64)

    Reference: the gradient-energy blur measures surveyed in S. Pertuz, D. Puig, M. A. Garcia,
    "Analysis of focus measure operators for shape-from-focus", Pattern Recognition 46(5), 2013,
    used here as a ratio to the ground truth.
    """
    check_pair(pred, gt, "sharpness", min_size=3)
    return (mean_gradient_magnitude(pred) + EPS) / (mean_gradient_magnitude(gt) + EPS)
