"""What every loss term shares: one reduction helper and the frame-loss module shape.

Terms compute an element-wise penalty and reduce it once, here (STYLE: compute element-wise,
reduce once). A term module's ``forward(prediction, triplets)`` returns a scalar tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from vfibench.data.triplets import Triplets
from vfibench.model.prediction import Prediction


def masked_mean(values: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean of ``values``; with a mask (broadcastable, 0/1 or soft), the mean over the masked region.

    mean = Σ m·v / Σ m, where the mask is broadcast to ``values`` before counting.
    """
    if mask is None:
        return values.mean()
    weights = mask.expand_as(values)
    return (values * weights).sum() / weights.sum().clamp_min(1e-12)


class FrameLoss(nn.Module):
    """A term that compares the predicted frame Î with the ground truth I_t through ``fn(Î, I_t, **params)``."""

    def __init__(self, fn: Callable[..., Tensor], **params: Any) -> None:
        super().__init__()
        self.fn = fn
        self.params = params

    def forward(self, prediction: Prediction, triplets: Triplets) -> Tensor:
        return self.fn(prediction.frame, triplets.it, **self.params)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.params.items())
