"""Structural similarity (SSIM), per frame, with scikit-image's Gaussian-window convention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from vfibench.errors import VfiBenchError
from vfibench.metrics._common import check_pair

SIGMA = 1.5
TRUNCATE = 3.5
K1 = 0.01
K2 = 0.03


def gaussian_window(sigma: float = SIGMA, truncate: float = TRUNCATE, dtype: torch.dtype = torch.float64,
                    device: torch.device | str = "cpu") -> Tensor:
    """The normalised 1-D Gaussian taps scipy's ``gaussian_filter`` uses: radius int(truncate·σ + 0.5).

    For σ = 1.5 this is 11 taps (radius 5), the window of Wang et al. (2004).
    """
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    return taps / taps.sum()


def structural_similarity(x: Tensor, y: Tensor, data_range: float = 1.0, sigma: float = SIGMA,
                          k1: float = K1, k2: float = K2) -> Tensor:
    r"""Mean SSIM of each channel of each image: the core shared by :func:`ssim` and its checks.

    .. math::
        \mathrm{SSIM}(x, y) = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
                                   {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},
        \quad C_1 = (K_1 L)^2,\ C_2 = (K_2 L)^2

    with local means, variances and covariance weighted by a Gaussian window of standard deviation
    ``sigma`` truncated at 3.5σ (11×11 for σ = 1.5), population (not sample) statistics, and the
    SSIM map averaged over the *valid* region only: a border of ``radius`` pixels (5 for σ = 1.5),
    where the window would leave the image, is excluded. This is exactly what
    ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=σ,
    use_sample_covariance=False, data_range=L)`` computes (it filters with reflected borders and
    then crops that border before averaging). Computed in float64.

    Args:
        x, y: images (N, C, H, W) with values in [0, ``data_range``]; any C.
        data_range: L, the dynamic range of the values (1 for [0, 1], 255 for 8-bit levels).
        sigma: standard deviation of the Gaussian window, in pixels.
        k1, k2: the stabilising constants of Wang et al.

    Returns:
        (N, C) float64 tensor of per-channel mean SSIM.

    Reference: Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment:
    from error visibility to structural similarity", IEEE TIP 13(4), 2004.
    """
    taps = gaussian_window(sigma, dtype=torch.float64, device=x.device)
    size = taps.numel()
    n, c, height, width = x.shape
    if min(height, width) < size:
        raise VfiBenchError(
            f"ssim: frames must be at least {size}×{size} pixels for a Gaussian window of σ = {sigma:g}, "
            f"got {height}×{width}."
        )
    x = x.to(torch.float64).reshape(n * c, 1, height, width)
    y = y.to(torch.float64).reshape(n * c, 1, height, width)
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=0)
    stack = F.conv2d(stack, taps.view(1, 1, 1, size))
    stack = F.conv2d(stack, taps.view(1, 1, size, 1))
    mu_x, mu_y, e_xx, e_yy, e_xy = stack.chunk(5, dim=0)
    var_x = e_xx - mu_x * mu_x
    var_y = e_yy - mu_y * mu_y
    cov_xy = e_xy - mu_x * mu_y
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    )
    return ssim_map.mean(dim=(1, 2, 3)).reshape(n, c)


def ssim(pred: Tensor, gt: Tensor) -> Tensor:
    r"""Structural similarity of each predicted frame to its ground truth.

    Per-channel RGB SSIM (:func:`structural_similarity` with a Gaussian window of σ = 1.5,
    11×11, K1 = 0.01, K2 = 0.03, population covariance, data range 1), averaged over the valid
    region (a 5-pixel border excluded) and then over the three channels:

    .. math:: \mathrm{SSIM}_n = \frac{1}{3} \sum_{c \in \{R,G,B\}} \overline{\mathrm{SSIM}}(\hat I_{n,c}, I_{n,c})

    Equal to ``skimage.metrics.structural_similarity(gt, pred, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1, channel_axis=-1)`` on each (H, W, 3) frame. Note
    that many papers' tables use the original MATLAB code on a grey (luma) image instead; the
    values differ, and the two are not interchangeable.

    Args:
        pred: predicted frames, (N, 3, H, W), values in [0, 1], at least 11×11.
        gt: ground-truth frames, same shape.

    Returns:
        (N,) float64 tensor on the inputs' device, at most 1; higher is better.

    Example:
        >>> gt = torch.rand(2, 3, 32, 32)
        >>> ssim(gt, gt)
        tensor([1., 1.], dtype=torch.float64)
    """
    check_pair(pred, gt, "ssim", min_size=2 * int(TRUNCATE * SIGMA + 0.5) + 1)
    return structural_similarity(pred, gt, data_range=1.0).mean(dim=1)

