"""The structured output of the interpolator: everything a loss term may act on."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class Prediction:
    """What :class:`~vfibench.model.interpolator.Interpolator` returns.

    Flows are in pixels, channel 0 = x (right), channel 1 = y (down); ``g(I, F)`` samples I at x + F.

    Attributes:
        frame: the interpolated frame Î, (N, 3, H, W), not clamped: the blend plus the synthesis
            stage's residual (the blend itself for the ``warp-blend`` variant).
        blended: the visibility-weighted blend of the warped inputs (Super SloMo Eq. 1), before
            synthesis, (N, 3, H, W).
        flow_01, flow_10: bidirectional flows F0→1 and F1→0, (N, 2, H, W).
        flow_t0_approx, flow_t1_approx: Super SloMo's intermediate flows before refinement,
            F̂t→0 = −(1−t)·t·F0→1 + t²·F1→0 and F̂t→1 = (1−t)²·F0→1 − t·(1−t)·F1→0.
        flow_t0, flow_t1: refined intermediate flows Ft→0, Ft→1.
        warped_0, warped_1: g(I0, Ft→0) and g(I1, Ft→1).
        visibility_0, visibility_1: visibility maps V_t←0 and V_t←1 = 1 − V_t←0, (N, 1, H, W), in [0, 1].
    """

    frame: Tensor
    flow_01: Tensor
    flow_10: Tensor
    flow_t0_approx: Tensor
    flow_t1_approx: Tensor
    flow_t0: Tensor
    flow_t1: Tensor
    warped_0: Tensor
    warped_1: Tensor
    visibility_0: Tensor
    visibility_1: Tensor
    blended: Tensor
