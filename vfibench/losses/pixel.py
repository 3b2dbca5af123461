"""Pixel losses on the predicted frame: functions over tensors, each registered as a loss term.

All take prediction and target in [0, 1] with shape (N, C, H, W) and return the mean over batch,
channels and pixels.
"""

from __future__ import annotations

import torch
from torch import Tensor

from vfibench.losses.base import FrameLoss, masked_mean
from vfibench.losses.registry import Param, register_term


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error: mean |Î − I_t|.

    Example:
        >>> l1_loss(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2))
        tensor(1.)
    """
    return masked_mean((pred - target).abs())


def l2_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error: mean (Î − I_t)², the PSNR-optimal objective and the classic cause of blur."""
    return masked_mean((pred - target).square())


def charbonnier_loss(pred: Tensor, target: Tensor, eps: float = 1e-6) -> Tensor:
    """Charbonnier penalty: mean √((Î − I_t)² + ε²), with ε inside the square.

    A differentiable L1. Papers disagree on ε: DAIN uses ε = 1e-6 (the default here), AdaCoF
    ε = 1e-3, and IFRNet writes √(x² + 1e-6), which is ε = 1e-3 in this form. As ε → 0 it equals L1.

    Reference: DAIN (Bao et al., CVPR 2019), ``charbonier_loss`` in ``loss_function.py``,
    ``--epsilon 1e-6`` in ``my_args.py``.
    """
    return masked_mean(charbonnier_penalty(pred - target, eps))


@register_term(
    "l1",
    kind="pixel",
    formula="mean |Î − I_t|",
    source="FLAVR (Kalluri et al., WACV 2023): loss string '1*L1' in config.py, torch L1 in loss.py",
)
class L1(FrameLoss):
    """L1 between the predicted and the true middle frame: mean |Î − I_t| over batch, channels and pixels.

    No constants. Frames in [0, 1], as in FLAVR (weights of other papers' L1 terms written for
    [0, 255] pixels are multiplied by 255 in the presets). Source: FLAVR (tarun005/FLAVR), default
    loss string '1*L1' in config.py, torch's L1Loss (mean reduction) in loss.py.
    """

    def __init__(self) -> None:
        super().__init__(l1_loss)


@register_term(
    "l2",
    kind="pixel",
    formula="mean (Î − I_t)²",
    source="mean squared error; the PSNR-optimal baseline",
)
class L2(FrameLoss):
    """Mean squared error between the predicted and the true middle frame: mean (Î − I_t)².

    The PSNR-optimal objective (PSNR = −10·log10 of this value for frames in [0, 1]) and the
    classic cause of blur: under uncertain motion its minimiser is the average of the plausible
    frames. No constants; frames in [0, 1].
    """

    def __init__(self) -> None:
        super().__init__(l2_loss)


@register_term(
    "charbonnier",
    kind="pixel",
    formula="mean √((Î − I_t)² + ε²)",
    params=(
        Param("eps", 1e-6, "ε inside the square root; DAIN 1e-6, AdaCoF and IFRNet 1e-3", minimum=0.0,
              minimum_inclusive=False),
    ),
    source="DAIN (Bao et al., CVPR 2019): charbonier_loss in loss_function.py, --epsilon 1e-6 in my_args.py",
)
class Charbonnier(FrameLoss):
    """Charbonnier penalty between the predicted and the true middle frame: mean √((Î − I_t)² + ε²).

    ε sits inside the square. Default ε = 1e-6 (DAIN: ``charbonier_loss`` in loss_function.py,
    ``--epsilon 1e-6`` in my_args.py); AdaCoF uses ε = 1e-3 (``Module_CharbonnierLoss`` in
    utility.py), and IFRNet's √(x² + 1e-6) (``Charbonnier_L1`` in loss.py) is ε = 1e-3 in this form.
    As ε → 0 it equals L1; a perfect prediction costs ε. Frames in [0, 1] (all three papers).
    """

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__(charbonnier_loss, eps=eps)


# --------------------------------------------------------------------------- shared element-wise helpers


def charbonnier_penalty(x: Tensor, eps: float) -> Tensor:
    """Element-wise Charbonnier penalty ρ_ε(x) = √(x² + ε²), with ε inside the square (no reduction).

    Shared by the terms that apply the penalty to something other than Î − I_t (warped inputs,
    flow gradients). ``charbonnier_loss(a, b, eps) == charbonnier_penalty(a - b, eps).mean()``.
    """
    return torch.sqrt(x.square() + eps * eps)


def forward_differences(x: Tensor) -> tuple[Tensor, Tensor]:
    """Forward differences of an (N, C, H, W) tensor along x and y (no padding).

    ∂x x = x[..., :, 1:] − x[..., :, :-1], shape (N, C, H, W−1);
    ∂y x = x[..., 1:, :] − x[..., :-1, :], shape (N, C, H−1, W).
    """
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]
