"""Structural similarity (SSIM), per frame, with scikit-image's Gaussian-window convention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from vfibench.errors import VfiBenchError
from vfibench.metrics._common import check_pair, scores_in_device_chunks

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


def ssim_map(x: Tensor, y: Tensor, data_range: float = 1.0, sigma: float = SIGMA, k1: float = K1,
             k2: float = K2, what: str = "ssim") -> Tensor:
    r"""The local SSIM of each channel over the valid region, in the inputs' dtype (differentiable).

    .. math::
        \mathrm{SSIM}(x, y) = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
                                   {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},
        \quad C_1 = (K_1 L)^2,\ C_2 = (K_2 L)^2

    with local means, variances and covariance weighted by a Gaussian window of standard deviation
    ``sigma`` truncated at 3.5σ (11×11 for σ = 1.5) and population (not sample) statistics, at the
    positions where the whole window lies inside the image (a border of ``radius`` pixels, 5 for
    σ = 1.5, is excluded). Used by the ``ssim`` loss term (in the training precision) and by the
    metric protocols (:mod:`vfibench.metrics.protocols`); the ``ssim`` metric computes the same
    values from per-frame moments (:func:`ssim_moments`, :func:`ssim_from_moments`).

    Args:
        x, y: images (N, C, H, W) with values in [0, ``data_range``]; any C.
        data_range: L, the dynamic range of the values (1 for [0, 1], 255 for 8-bit levels).
        sigma: standard deviation of the Gaussian window, in pixels.
        k1, k2: the stabilising constants of Wang et al.
        what: the name used in the error for frames smaller than the window.

    Returns:
        (N, C, H − 2·radius, W − 2·radius) SSIM values.

    Reference: Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment:
    from error visibility to structural similarity", IEEE TIP 13(4), 2004.
    """
    taps = _window(x, sigma, what)
    n, c, height, width = x.shape
    x = x.reshape(n * c, 1, height, width)
    y = y.reshape(n * c, 1, height, width)
    moments = separable_blur(torch.cat([x, y, x * x, y * y, x * y], dim=0), taps)
    mu_x, mu_y, e_xx, e_yy, e_xy = moments.chunk(5, dim=0)
    value = _ssim_value(mu_x, mu_y, e_xx, e_yy, e_xy, (k1 * data_range) ** 2, (k2 * data_range) ** 2)
    return value.reshape(n, c, value.shape[-2], value.shape[-1])


def _window(x: Tensor, sigma: float, what: str) -> Tensor:
    """The Gaussian taps in ``x``'s dtype, after checking the frames hold the window. Float64 frames are
    filtered with the taps read as Python floats (:func:`separable_blur`), so theirs are computed on the
    CPU whatever the frames' device: a GPU then filters with exactly the CPU's weights, without a
    round trip to the GPU per call. Other dtypes (the SSIM loss) get taps on the frames' device."""
    device = torch.device("cpu") if x.dtype == torch.float64 else x.device
    taps = gaussian_window(sigma, dtype=x.dtype, device=device)
    size = taps.numel()
    if min(x.shape[-2:]) < size:
        raise VfiBenchError(
            f"{what}: frames must be at least {size}×{size} pixels for a Gaussian window of σ = {sigma:g}, "
            f"got {x.shape[-2]}×{x.shape[-1]}."
        )
    return taps


#: Pixels of the planes filtered together in float64 on a CPU (about 1 MB): a group and its
#: intermediates stay in cache while the eleven shifted sums of each pass run over it.
BLUR_PIXELS = 1 << 17


def _groups(planes: Tensor) -> list[slice]:
    """Consecutive groups of the (M, 1, H, W) ``planes`` filtered together: on a CPU, groups of about
    :data:`BLUR_PIXELS`; on a GPU, all of them at once (there every group is a round of
    some 50 small kernel launches, and a 448×256 plane alone fills a group). Each plane is filtered
    alone whichever group holds it, so the grouping never changes a value."""
    count, _, height, width = planes.shape
    if scores_in_device_chunks(planes.device):
        return [slice(0, count)]
    step = max(1, BLUR_PIXELS // (height * width))
    return [slice(k, k + step) for k in range(0, count, step)]


def _blur_group(planes: Tensor, weights: list[float], out: Tensor | None = None) -> Tensor:
    """Valid separable filtering of float64 planes (M, 1, H, W) by the taps ``weights``: a weighted sum
    of shifted views along x, then along y (into ``out`` when given)."""
    size = len(weights)
    height, width = planes.shape[-2] - size + 1, planes.shape[-1] - size + 1
    rows = planes[..., :, :width] * weights[0]
    for k in range(1, size):
        rows.add_(planes[..., :, k:k + width], alpha=weights[k])
    both = torch.mul(rows[..., :height, :], weights[0], out=out)
    for k in range(1, size):
        both.add_(rows[..., k:k + height, :], alpha=weights[k])
    return both


def separable_blur(planes: Tensor, taps: Tensor) -> Tensor:
    """Separable filtering of (M, 1, H, W) planes by the 1-D ``taps`` along x and y (SSIM's Gaussian, or
    a protocol's box) over the valid region → (M, 1, H − 2r, W − 2r).

    Float64 (the metrics) is filtered as weighted sums of shifted views, a group of planes at a time
    (:func:`_groups`, :func:`_blur_group`): the same sums as a convolution, equal to float64 rounding
    (~1e-16), at a small fraction of the cost of torch's float64 ``conv2d``, which has no optimised
    CPU kernel. Other dtypes (the SSIM loss), and float64 planes that autograd records (a float64
    training step, a gradient check), use ``conv2d``: the fast sums write into buffers, which autograd
    cannot differentiate.
    """
    size = taps.numel()
    if planes.dtype != torch.float64 or records_gradient(planes):
        planes = F.conv2d(planes, taps.view(1, 1, 1, size))
        return F.conv2d(planes, taps.view(1, 1, size, 1))
    weights = taps.tolist()
    count, _, height, width = planes.shape
    out = planes.new_empty(count, 1, height - size + 1, width - size + 1)
    for group in _groups(planes):
        _blur_group(planes[group], weights, out=out[group])
    return out


def _ssim_value(mu_x: Tensor, mu_y: Tensor, e_xx: Tensor, e_yy: Tensor, e_xy: Tensor, c1: float,
                c2: float) -> Tensor:
    """The SSIM formula from local moments (means, means of squares and of the product)."""
    var_x = e_xx - mu_x * mu_x
    var_y = e_yy - mu_y * mu_y
    cov_xy = e_xy - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))


def ssim_moments(x: Tensor, sigma: float = SIGMA) -> tuple[Tensor, Tensor]:
    """The local mean μ and local mean of squares E[x²] of each channel under the Gaussian window, over
    the valid region, in float64: what SSIM needs of one frame alone. (N, C, H, W) → two
    (N, C, H − 2r, W − 2r) tensors. Computed once for a ground truth, they serve every prediction
    (:func:`ssim_from_moments`)."""
    x = x.to(torch.float64)
    weights = _window(x, sigma, "ssim").tolist()
    n, c, height, width = x.shape
    planes = x.reshape(n * c, 1, height, width)
    shape = (n * c, 1, height - len(weights) + 1, width - len(weights) + 1)
    mu, e_xx = x.new_empty(shape), x.new_empty(shape)
    for group in _groups(planes):
        z = planes[group]
        _blur_group(z, weights, out=mu[group])
        _blur_group(z * z, weights, out=e_xx[group])
    return mu.reshape(n, c, *shape[-2:]), e_xx.reshape(n, c, *shape[-2:])


def ssim_from_moments(x: Tensor, y: Tensor, moments_x: tuple[Tensor, Tensor], moments_y: tuple[Tensor, Tensor],
                      data_range: float = 1.0, sigma: float = SIGMA, k1: float = K1, k2: float = K2) -> Tensor:
    """Per-frame SSIM (mean over the valid region and the channels, float64) of ``x`` against ``y`` from
    their :func:`ssim_moments`; only the local mean of the product x·y is computed here, a group of
    planes at a time (:func:`_groups`). (N,)."""
    x = x.to(torch.float64)
    y = y.to(torch.float64)
    weights = _window(x, sigma, "ssim").tolist()
    n, c, height, width = x.shape
    xs, ys = x.reshape(n * c, 1, height, width), y.reshape(n * c, 1, height, width)
    mx, exx, my, eyy = (m.reshape(n * c, 1, *m.shape[-2:]) for m in (*moments_x, *moments_y))
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    means = x.new_empty(n * c)
    for group in _groups(xs):
        e_xy = _blur_group(xs[group] * ys[group], weights)
        value = _ssim_value(mx[group], my[group], exx[group], eyy[group], e_xy, c1, c2)
        means[group] = value.mean(dim=(1, 2, 3))
    return means.view(n, c).mean(dim=1)


def structural_similarity(x: Tensor, y: Tensor, data_range: float = 1.0, sigma: float = SIGMA,
                          k1: float = K1, k2: float = K2) -> Tensor:
    """Mean SSIM of each channel of each image, computed in float64 (:func:`ssim_map`, averaged).

    Exactly what ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=σ,
    use_sample_covariance=False, data_range=L)`` computes: it filters with reflected borders and
    then crops the window's radius before averaging, i.e. averages over the valid region.

    Returns:
        (N, C) float64 tensor of per-channel mean SSIM.
    """
    values = ssim_map(x.to(torch.float64), y.to(torch.float64), data_range, sigma, k1, k2)
    return values.mean(dim=(2, 3))


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
    if records_gradient(pred) or records_gradient(gt):  # the same float64 values, through differentiable operations
        return structural_similarity(pred, gt).mean(dim=1)
    return ssim_from_moments(pred, gt, ssim_moments(pred), ssim_moments(gt))


def records_gradient(x: Tensor) -> bool:
    """Whether autograd records operations on ``x`` here (it requires a gradient, outside ``no_grad``)."""
    return x.requires_grad and torch.is_grad_enabled()

