"""Loss terms on the model's motion: warping and smoothness (Super SloMo), Charbonnier TV (AdaCoF).

Flows are in pixels, channel 0 = x, channel 1 = y; g(I, F) samples I at x + F(x)
(:func:`vfibench.model.warp.backward_warp`). Flow terms are scale-free in the pixel range of
the images except the warping term, which compares [0, 1] pixels.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vfibench.data.triplets import Triplets
from vfibench.losses.pixel import charbonnier_penalty, forward_differences
from vfibench.losses.registry import Param, register_term
from vfibench.model.prediction import Prediction
from vfibench.model.warp import backward_warp

#: AdaCoF's CharbonnierFunc(data, epsilon=0.001) in utility.py.
ADACOF_TV_EPS = 1e-3


def warping_loss(i0: Tensor, it: Tensor, i1: Tensor, flow_01: Tensor, flow_10: Tensor,
                 flow_t0: Tensor, flow_t1: Tensor) -> Tensor:
    """Super SloMo's warping loss: how well each input, warped by the predicted motion, explains the others.

    ::

        mean|g(I0, F̂t→0) − It| + mean|g(I1, F̂t→1) − It| + mean|g(I0, F1→0) − I1| + mean|g(I1, F0→1) − I0|

    Args:
        i0, it, i1: (N, 3, H, W) in [0, 1].
        flow_01, flow_10: (N, 2, H, W) bidirectional flows.
        flow_t0, flow_t1: (N, 2, H, W) intermediate flows; Super SloMo uses the approximations
            *before* refinement (``Prediction.flow_t0_approx``, ``flow_t1_approx``).

    Reference: Jiang et al., "Super SloMo", CVPR 2018; avinashpaliwal/Super-SloMo ``train.py`` (``warpLoss``).
    """
    return (
        (backward_warp(i0, flow_t0) - it).abs().mean()
        + (backward_warp(i1, flow_t1) - it).abs().mean()
        + (backward_warp(i0, flow_10) - i1).abs().mean()
        + (backward_warp(i1, flow_01) - i0).abs().mean()
    )


def edge_weights(image: Tensor, edge: float) -> tuple[Tensor, Tensor]:
    """Edge-aware weights exp(−α · mean_c |∂I|) for the x and y forward differences of a flow."""
    dx, dy = forward_differences(image)
    return torch.exp(-edge * dx.abs().mean(dim=1, keepdim=True)), torch.exp(-edge * dy.abs().mean(dim=1, keepdim=True))


def flow_smoothness(flow: Tensor, image: Tensor | None = None, edge: float = 0.0) -> Tensor:
    """First-order, anisotropic total variation of one flow: mean |∂x F| + mean |∂y F| (forward differences).

    With ``edge`` = α > 0 and an ``image``, each difference is weighted by exp(−α · mean_c |∂I|)
    at the same place, so the flow may change where the image has an edge; the mean still runs
    over all positions (the weights are not renormalised).

    Args:
        flow: (N, 2, H, W) in pixels.
        image: (N, 3, H, W) in [0, 1], the frame the flow starts from; needed when ``edge`` > 0.
        edge: α ≥ 0; 0 gives Super SloMo's plain smoothness.
    """
    dx, dy = forward_differences(flow)
    if edge > 0.0:
        if image is None:
            raise ValueError("edge-aware smoothness needs the image the flow belongs to")
        wx, wy = edge_weights(image, edge)
        dx, dy = dx * wx, dy * wy
    return dx.abs().mean() + dy.abs().mean()


def smoothness_loss(flow_01: Tensor, flow_10: Tensor, i0: Tensor | None = None, i1: Tensor | None = None,
                    edge: float = 0.0) -> Tensor:
    """Super SloMo's smoothness loss: :func:`flow_smoothness` of F0→1 (edges of I0) plus that of F1→0 (edges of I1).

    Reference: avinashpaliwal/Super-SloMo ``train.py`` (``loss_smooth``), which has no edge weighting.
    """
    return flow_smoothness(flow_01, i0, edge) + flow_smoothness(flow_10, i1, edge)


def charbonnier_tv(field: Tensor, eps: float = ADACOF_TV_EPS) -> Tensor:
    """AdaCoF's Charbonnier total variation of a field, summed over its channels.

    ::

        Σ_c [ mean ρ_ε(∂x f_c) + mean ρ_ε(∂y f_c) ],   ρ_ε(x) = √(x² + ε²)

    AdaCoF applies ``CharbonnierFunc(∂x m) + CharbonnierFunc(∂y m)`` to each single-channel map
    separately and sums the maps, which is this sum over channels. Because ε sits inside the
    square, a constant field costs ε per channel and direction, not 0.

    Args:
        field: (N, C, H, W).
        eps: ε (AdaCoF: 1e-3).
    """
    dx, dy = forward_differences(field)
    return (charbonnier_penalty(dx, eps).mean(dim=(0, 2, 3)).sum()
            + charbonnier_penalty(dy, eps).mean(dim=(0, 2, 3)).sum())


@register_term(
    "warp",
    kind="flow",
    formula="mean|g(I0,F̂t→0)−It| + mean|g(I1,F̂t→1)−It| + mean|g(I0,F1→0)−I1| + mean|g(I1,F0→1)−I0|",
    needs={"inputs", "flows", "intermediate_flows"},
    source="Super SloMo re-implementation (avinashpaliwal/Super-SloMo train.py, warpLoss), with the "
           "intermediate flows before refinement",
    deviation="a sample that falls outside the frame takes the nearest border pixel; the re-implementation's "
              "backWarp pads with zeros, mean grey in its mean-subtracted frames",
)
class Warping(nn.Module):
    """Super SloMo's warping loss: supervises the motion by warping the inputs.

    The two inputs are warped to time t with the approximated intermediate flows (before the
    refinement network) and to each other with the bidirectional flows; every warped image is
    compared with the frame it should reproduce (L1). No constants; frames in [0, 1] (the
    re-implementation's weight 102 is the paper's 0.4 for [0, 255] pixels times 255), flows in
    pixels. Source: avinashpaliwal/Super-SloMo train.py (``warpLoss``).
    """

    def forward(self, prediction: Prediction, triplets: Triplets) -> Tensor:
        return warping_loss(triplets.i0, triplets.it, triplets.i1, prediction.flow_01, prediction.flow_10,
                            prediction.flow_t0_approx, prediction.flow_t1_approx)


@register_term(
    "smooth",
    kind="flow",
    formula="Σ_{F ∈ {F0→1, F1→0}} mean|∂x F| + mean|∂y F| (forward differences; optional weights exp(−α|∇I|))",
    params=(
        Param("edge", 0.0, "edge-awareness α: weights exp(−α·mean_c|∂I|) from I0 (for F0→1) and I1 (for F1→0); "
              "0 = Super SloMo's plain smoothness", minimum=0.0),
    ),
    needs={"inputs", "flows"},
    source="Super SloMo re-implementation (avinashpaliwal/Super-SloMo train.py, loss_smooth); the edge-aware "
           "option is the common image-guided variant, not part of Super SloMo",
)
class Smoothness(nn.Module):
    """Flow smoothness: the first-order total variation of F0→1 and F1→0.

    Keeps the bidirectional flows piecewise smooth. With ``edge`` > 0 a jump in the flow is
    cheaper where the image it belongs to has an edge (motion boundaries usually lie on edges).
    Flows in pixels, so the value does not depend on the frames' pixel range (Super SloMo's
    weight 1 applies unchanged). Source: avinashpaliwal/Super-SloMo train.py (``loss_smooth``).
    """

    def __init__(self, edge: float = 0.0) -> None:
        super().__init__()
        self.edge = float(edge)

    def forward(self, prediction: Prediction, triplets: Triplets) -> Tensor:
        return smoothness_loss(prediction.flow_01, prediction.flow_10, triplets.i0, triplets.i1, self.edge)

    def extra_repr(self) -> str:
        return f"edge={self.edge}"


@register_term(
    "flow-tv",
    kind="flow",
    formula="Σ_{F ∈ {Ft→0, Ft→1}} Σ_c mean ρ(∂x F_c) + mean ρ(∂y F_c), ρ(x) = √(x² + 1e-6)",
    needs={"intermediate_flows"},
    source="AdaCoF (Lee et al., CVPR 2020): g_Spatial in models/adacofnet.py, CharbonnierFunc (ε = 1e-3) "
           "in utility.py",
    deviation="AdaCoF regularises the kernel-weighted mean of its per-pixel sampling offsets (α, β for each "
              "input), averaged over its K² kernel taps (so 1/25 of the weighted-mean offset for K = 5); the "
              "fixed model's counterpart is the refined intermediate flows Ft→0, Ft→1 in pixels, without that "
              "1/K² factor",
)
class FlowTV(nn.Module):
    """Charbonnier total variation of the intermediate flows (AdaCoF's g_Spatial counterpart).

    AdaCoF's output pixel samples each input at offsets it predicts; their spatial variation is
    penalised with a Charbonnier TV (ε = 1e-3). The fixed model's equivalent of those offsets is
    the pair of refined intermediate flows Ft→0 and Ft→1. Flows in pixels (AdaCoF's offsets are in
    pixels too); a constant field costs 2ε per channel, i.e. 8ε = 0.008 for the two flows. Source:
    HyeongminLEE/AdaCoF-pytorch models/adacofnet.py (``g_Spatial``), utility.py (``CharbonnierFunc``).
    """

    def forward(self, prediction: Prediction, triplets: Triplets) -> Tensor:
        return charbonnier_tv(prediction.flow_t0) + charbonnier_tv(prediction.flow_t1)


@register_term(
    "vis-tv",
    kind="flow",
    formula="mean ρ(∂x V_t←0) + mean ρ(∂y V_t←0), ρ(x) = √(x² + 1e-6)",
    needs={"visibility"},
    source="AdaCoF (Lee et al., CVPR 2020): g_Occlusion in models/adacofnet.py, CharbonnierFunc (ε = 1e-3) "
           "in utility.py",
    deviation="AdaCoF regularises its occlusion map (the weight of the first input's contribution); the "
              "fixed model's counterpart is the visibility map V_t←0 (V_t←1 = 1 − V_t←0 has the same TV)",
)
class VisibilityTV(nn.Module):
    """Charbonnier total variation of the visibility map (AdaCoF's g_Occlusion counterpart).

    Keeps the blend between the two warped inputs piecewise constant, so occlusion decisions
    are made per region rather than per pixel. The map is in [0, 1] like AdaCoF's sigmoid
    occlusion map; ε = 1e-3, so a constant map costs 2ε. Source: HyeongminLEE/AdaCoF-pytorch
    models/adacofnet.py (``g_Occlusion``), utility.py (``CharbonnierFunc``).
    """

    def forward(self, prediction: Prediction, triplets: Triplets) -> Tensor:
        return charbonnier_tv(prediction.visibility_0)
