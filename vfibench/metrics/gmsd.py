"""Gradient magnitude similarity deviation (GMSD), per frame, through piq."""

from __future__ import annotations

import torch
from torch import Tensor

from vfibench.metrics._common import check_pair, matlab_grey

#: The constant T of Xue et al.: 170 on the 0–255 scale, i.e. 170/255² for data range 1.
T = 170 / 255.0**2


def gmsd(pred: Tensor, gt: Tensor) -> Tensor:
    r"""Gradient magnitude similarity deviation of each predicted frame from its ground truth.

    .. math::
        \mathrm{GMS}(p) = \frac{2\, m_{\hat I}(p)\, m_I(p) + T}{m_{\hat I}(p)^2 + m_I(p)^2 + T},
        \qquad \mathrm{GMSD} = \operatorname{std}_p \mathrm{GMS}(p)

    where :math:`m` is the Prewitt gradient magnitude (kernels [1 0 −1]/3, zero padding) of the
    grey image after 2×2 averaging and ×2 downsampling, and T = 170/255² for data range 1.

    Conventions: the grey image is MATLAB's ``rgb2gray`` of the 8-bit frame,
    ``round(0.298936·R + 0.587043·G + 0.114021·B)`` on 0–255, which is what the authors' MATLAB
    code sees when given an 8-bit RGB file; the rest (downsampling, Prewitt filters, T,
    population standard deviation) is ``piq.gmsd`` from the maintained piq library, applied to that
    one-channel image in float64. Called on RGB directly, ``piq.gmsd`` converts with the unrounded
    YIQ luma weights (0.299, 0.587, 0.114) instead; on the five TID2013 calibration pairs that
    differs from the original by up to 2·10⁻⁴, whereas this convention reproduces all five
    published values to 4 decimals. (MATLAB's ``std2`` is the sample standard deviation, piq's the
    population one: a relative difference of 1/(2·pixels), below 10⁻⁵ for any usable frame.)
    Frames of odd height or width are zero-padded by one row/column before downsampling (piq).

    Args:
        pred: predicted frames, (N, 3, H, W), values in [0, 1], at least 2×2.
        gt: ground-truth frames, same shape.

    Returns:
        (N,) float64 tensor on the inputs' device, ≥ 0; lower is better (0 = identical gradients).

    Example:
        >>> gt = torch.rand(1, 3, 32, 32)
        >>> gmsd(gt, gt)
        tensor([0.], dtype=torch.float64)

    Reference: W. Xue, L. Zhang, X. Mou, A. C. Bovik, "Gradient magnitude similarity deviation: a
    highly efficient perceptual image quality index", IEEE TIP 23(2), 2014; implementation
    ``piq.gmsd`` (photosynthesis-team/piq).
    """
    import piq  # imports torchvision: loaded only when GMSD is computed

    check_pair(pred, gt, "gmsd", min_size=2)
    grey_pred = matlab_grey(pred.to(torch.float64))
    grey_gt = matlab_grey(gt.to(torch.float64))
    return piq.gmsd(grey_pred, grey_gt, reduction="none", data_range=1.0, t=T)
