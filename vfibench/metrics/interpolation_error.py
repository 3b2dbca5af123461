"""Interpolation error (IE), the number RIFE, EMA-VFI and IFRNet publish for the Middlebury "other" set."""

from __future__ import annotations

import torch
from torch import Tensor

from vfibench.metrics._common import check_pair


def interpolation_error(pred: Tensor, gt: Tensor) -> Tensor:
    r"""Mean absolute difference of each predicted frame from its ground truth in 8-bit levels.

    .. math::
        \mathrm{IE}_n = \frac{1}{3HW} \sum_{c,y,x}
            \bigl|\,\mathrm{round}(255\,\hat I_{n,c,y,x}) - \mathrm{round}(255\,I_{n,c,y,x})\bigr|

    As the VFI reference scripts compute it: IFRNet ``metric.py`` (``calculate_ie``, both frames
    rounded), RIFE ``benchmark/MiddleBury_Other.py`` and EMA-VFI ``benchmark/MiddleBury.py`` (the
    prediction rounded, the 8-bit ground truth as read), each averaging per-frame values over the
    set. Baker et al. (IJCV 2011), who defined IE for the Middlebury benchmark, take the
    root-mean-square difference instead; the papers' tables, and this metric, use the mean absolute
    difference. RGB, every pixel and channel, no border crop.

    Args:
        pred: predicted frames, (N, 3, H, W), values in [0, 1].
        gt: ground-truth frames, same shape.

    Returns:
        (N,) float64 tensor on the inputs' device, in 8-bit levels (0–255); lower is better.

    Example:
        >>> gt = torch.zeros(1, 3, 4, 4)
        >>> interpolation_error(gt + 2 / 255, gt).item()
        2.0
    """
    check_pair(pred, gt, "ie")
    levels = lambda x: torch.round(x.to(torch.float64) * 255.0)  # noqa: E731
    return (levels(pred) - levels(gt)).abs().mean(dim=(1, 2, 3))
