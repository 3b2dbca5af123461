"""The census (ternary) loss of IFRNet: compares local intensity patterns instead of intensities."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from vfibench.losses.base import FrameLoss
from vfibench.losses.registry import register_term

#: IFRNet's Ternary(patch_size=7).
CENSUS_PATCH = 7
#: Normalisation of the neighbour differences: d / √(CENSUS_SOFTNESS + d²) (UnFlow's constant, for 0–255 grey).
CENSUS_SOFTNESS = 0.81
#: Robust distance of the transforms: Δ² / (CENSUS_ROBUSTNESS + Δ²).
CENSUS_ROBUSTNESS = 0.1


def census_transform(image: Tensor, patch: int = CENSUS_PATCH) -> Tensor:
    """Census transform as IFRNet computes it: for each pixel, the normalised differences to its
    patch×patch neighbours.

    grey = mean over channels; d_k(x) = grey(x + o_k) − grey(x) for the patch² offsets o_k
    (zero padding outside the image); returns d / √(0.81 + d²), shape (N, patch², H, W). The constant
    is UnFlow's, for grey levels on a 0–255 scale, where this is a soft sign of d; on frames in
    [0, 1] (IFRNet's, and vfibench's) |d| ≤ 1 and it is nearly linear (d = 0.2 gives 0.22).
    """
    grey = image.mean(dim=1, keepdim=True)
    taps = patch * patch
    kernel = torch.eye(taps, dtype=image.dtype, device=image.device).view(taps, 1, patch, patch)
    neighbours = F.conv2d(grey, kernel, padding=patch // 2)
    diff = neighbours - grey
    return diff / torch.sqrt(CENSUS_SOFTNESS + diff * diff)


def census_loss(pred: Tensor, target: Tensor, patch: int = CENSUS_PATCH) -> Tensor:
    """IFRNet's Ternary loss: a robust distance between the soft census transforms of Î and I_t.

    ::

        Δ_k(x) = c_k(Î)(x) − c_k(I_t)(x),      c = :func:`census_transform`
        dist(x) = mean_k Δ_k² / (0.1 + Δ_k²)
        loss = Σ_{x inside} dist(x) / (N · H · W)

    "inside" excludes a border of patch // 2 = 3 pixels (where the patch leaves the image); as in
    IFRNet the sum is divided by the full number of pixels, not by the inside ones. The
    transform of the target carries no gradient (IFRNet detaches it).

    Args:
        pred, target: (N, C, H, W) in [0, 1], as in IFRNet (which divides its frames by 255 and clamps
            its prediction to [0, 1] before this loss). The constants 0.81 and 0.1 come from UnFlow's
            ternary loss, on grey levels in 0–255; IFRNet (as RIFE) applies them unchanged to [0, 1].
        patch: the odd patch size (IFRNet: 7).

    Example:
        >>> x = torch.rand(1, 3, 16, 16)
        >>> census_loss(x, x)
        tensor(0.)

    Reference: Kong et al., "IFRNet: Intermediate Feature Refine Network for Efficient Frame
    Interpolation", CVPR 2022, ``Ternary`` in ``loss.py``; its constants from Meister et al.,
    "UnFlow: Unsupervised Learning of Optical Flow with a Bidirectional Census Loss", AAAI 2018.
    """
    if patch < 1 or patch % 2 == 0:
        raise ValueError(f"census patch size must be a positive odd number, got {patch}")
    delta = census_transform(pred, patch) - census_transform(target, patch).detach()
    dist = (delta * delta / (CENSUS_ROBUSTNESS + delta * delta)).mean(dim=1, keepdim=True)
    border = patch // 2
    mask = torch.zeros_like(dist)
    mask[..., border : dist.shape[-2] - border, border : dist.shape[-1] - border] = 1.0
    return (dist * mask).mean()


@register_term(
    "census",
    kind="pixel",
    formula="mean_x mean_k Δ_k²/(0.1 + Δ_k²), Δ = soft census (7×7, d/√(0.81+d²)) of Î minus that of I_t",
    source="IFRNet (Kong et al., CVPR 2022): Ternary in loss.py (frames in [0, 1])",
    deviation="IFRNet clamps its prediction to [0, 1] before the loss; the fixed model's frame is not "
              "clamped, so out-of-range values are penalised rather than cut off",
)
class Census(FrameLoss):
    """Census (ternary) loss (IFRNet): compares local patterns, not intensities.

    Each pixel is described by its normalised grey-level differences to its 7×7 neighbours; the
    loss is a robust distance between these descriptors. It is insensitive to brightness offsets
    and rewards sharp, correctly placed structure. IFRNet adds it to a
    Charbonnier term: ``charbonnier(eps=1e-3) + census``.

    Constants: 7×7 patch, soft sign d/√(0.81 + d²), robust distance Δ²/(0.1 + Δ²), a 3-pixel
    border set to 0 and the sum divided by all N·H·W pixels; the target's transform is detached.
    Frames in [0, 1], as in IFRNet. The constants are UnFlow's, chosen for grey levels in 0–255,
    where d/√(0.81 + d²) is a soft sign of each difference; on [0, 1] frames, as IFRNet (and RIFE)
    use them, it is nearly linear, so the loss compares local differences more than their signs.
    Source: ltkong218/IFRNet loss.py (``Ternary``); constants from UnFlow (Meister et al., AAAI 2018).
    """

    def __init__(self) -> None:
        super().__init__(census_loss)
