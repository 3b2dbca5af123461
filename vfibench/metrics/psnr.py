"""Peak signal-to-noise ratio, per frame."""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor

from vfibench.metrics._common import check_pair
from vfibench.metrics.records import metric_record

#: The PSNR of two identical frames, the ``psnr`` record's cap: 100 dB.
PSNR_MAX_DB = cast(float, metric_record("psnr").cap)
#: Smallest mean squared error used, so identical frames score a finite :data:`PSNR_MAX_DB`: 1e-10.
MSE_FLOOR = 10 ** (-PSNR_MAX_DB / 10)


def psnr(pred: Tensor, gt: Tensor) -> Tensor:
    r"""Peak signal-to-noise ratio of each predicted frame against its ground truth, in dB.

    .. math::
        \mathrm{PSNR}_n = 10 \log_{10} \frac{1}{\max(\mathrm{MSE}_n, 10^{-10})}, \qquad
        \mathrm{MSE}_n = \frac{1}{3HW} \sum_{c,y,x} (\hat I_{n,c,y,x} - I_{n,c,y,x})^2

    Conventions: RGB, data range 1, the squared error averaged over all pixels and all three
    channels of one frame (no border crop, no conversion to luminance). Computed in float64.

    Aggregation: a set of frames is summarised by the **mean of the per-frame values**, as video
    frame interpolation papers report it. This is not the PSNR of the pooled MSE that
    ``torchmetrics.image.PeakSignalNoiseRatio`` computes by default (``reduction`` over the
    accumulated squared error), which weighs the worst frames less.

    Identical frames: the MSE is floored at 1e-10, so a perfect frame scores 100 dB instead of
    +inf and means over frames stay finite. For 8-bit frames of up to 51,000 pixels (e.g. 224×224)
    any non-identical frame scores below that cap; on larger frames a frame that differs from the
    truth by one grey level at a handful of pixels can reach it.

    Args:
        pred: predicted frames, (N, 3, H, W), values in [0, 1].
        gt: ground-truth frames, same shape.

    Returns:
        (N,) float64 tensor on the inputs' device; higher is better.

    Example:
        >>> gt = torch.zeros(1, 3, 8, 8)
        >>> round(psnr(gt + 0.1, gt).item(), 6)
        20.0

    Reference: equal to ``skimage.metrics.peak_signal_noise_ratio(gt, pred, data_range=1)`` on each
    frame (and, on 8-bit data, to ``data_range=255`` on the integer values).
    """
    check_pair(pred, gt, "psnr")
    diff = pred.to(torch.float64) - gt.to(torch.float64)
    mse = diff.square().mean(dim=(1, 2, 3))
    return -10.0 * torch.log10(mse.clamp_min(MSE_FLOOR))
