"""Structure losses on the predicted frame: 1 − SSIM and the image-gradient L1."""

from __future__ import annotations

import torch
from torch import Tensor

from vfibench.losses.base import FrameLoss
from vfibench.losses.pixel import forward_differences
from vfibench.losses.registry import register_term
from vfibench.metrics.ssim import ssim_map


def ssim_loss(pred: Tensor, target: Tensor) -> Tensor:
    """1 − SSIM(Î, I_t): one minus the mean of the per-channel SSIM maps over the valid region.

    Equal to 1 − the ``ssim`` metric's value averaged over the batch (up to floating-point
    precision; the metric additionally quantises and clamps the prediction).

    Args:
        pred, target: (N, 3, H, W) in [0, 1], at least 11×11.

    Example:
        >>> x = torch.rand(1, 3, 16, 16)
        >>> float(ssim_loss(x, x)) < 1e-6
        True

    Reference: Wang et al., "Image quality assessment: from error visibility to structural
    similarity", IEEE TIP 2004; SSIM as a training loss: Zhao et al., "Loss Functions for Image
    Restoration with Neural Networks", IEEE TCI 2017.
    """
    return 1.0 - ssim_map(pred, target, what="ssim loss").mean()


def gradient_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Image-gradient L1: mean |∂x Î − ∂x I_t| + mean |∂y Î − ∂y I_t| (forward differences).

    Penalises blurred or misplaced edges directly, independently of flat-region intensity errors.

    Args:
        pred, target: (N, C, H, W) in [0, 1], at least 2×2.

    Example:
        >>> ramp = torch.arange(4.0).expand(1, 1, 4, 4)
        >>> gradient_loss(ramp, torch.zeros(1, 1, 4, 4))  # slope 1 along x, none along y
        tensor(1.)
    """
    pdx, pdy = forward_differences(pred)
    tdx, tdy = forward_differences(target)
    return (pdx - tdx).abs().mean() + (pdy - tdy).abs().mean()


@register_term(
    "ssim",
    kind="pixel",
    formula="1 − SSIM(Î, I_t), Gaussian window σ = 1.5, per channel, valid region",
    source="Wang et al. (IEEE TIP 2004); as a restoration loss, Zhao et al. (IEEE TCI 2017)",
    deviation="computed in the inputs' precision (the ssim metric uses float64) and on the unclamped, "
              "unquantised frame",
)
class SSIMLoss(FrameLoss):
    """1 − SSIM between the predicted and the true middle frame.

    The same SSIM as the evaluation metric (Gaussian σ = 1.5 truncated to 11×11, K1 = 0.01,
    K2 = 0.03, per RGB channel, a 5-pixel border excluded), so training with it optimises the SSIM
    column of the result tables directly. Frames in [0, 1] (C1 = (0.01·1)², C2 = (0.03·1)²), at
    least 11×11. Source: Wang et al., IEEE TIP 2004; as a loss, Zhao et al., IEEE TCI 2017.
    """

    def __init__(self) -> None:
        super().__init__(ssim_loss)


@register_term(
    "grad",
    kind="pixel",
    formula="mean |∂x Î − ∂x I_t| + mean |∂y Î − ∂y I_t| (forward differences)",
    source="the L1 gradient-matching loss of Li & Snavely (MegaDepth, CVPR 2018), mean |∇(Î − I_t)|, with "
           "forward differences as in MiDaS (Ranftl et al., TPAMI 2020); not Mathieu et al.'s gradient "
           "difference loss (ICLR 2016), which compares gradient magnitudes, ||∂Î| − |∂I_t||, and so ignores "
           "an edge of flipped sign",
    deviation="one scale, on intensities (MegaDepth and MiDaS: four scales, on log depth or disparity)",
)
class GradientLoss(FrameLoss):
    """Image-gradient L1: mean |∂x Î − ∂x I_t| + mean |∂y Î − ∂y I_t| with forward differences.

    Penalises blurred or misplaced edges directly and ignores a constant intensity offset. No
    constants; frames in [0, 1]. It is the L1 gradient-matching loss of Li & Snavely (MegaDepth,
    CVPR 2018), Σ mean |∂x R| + |∂y R| with the residual R = Î − I_t, at one scale, on intensities,
    with forward differences as MiDaS (Ranftl et al., TPAMI 2020) takes them. It is not the gradient difference loss of Mathieu et al. (ICLR 2016), which
    compares magnitudes, ||∂Î| − |∂I_t||: that one does not penalise an edge whose sign is flipped,
    this one does.
    """

    def __init__(self) -> None:
        super().__init__(gradient_loss)
