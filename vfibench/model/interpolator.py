"""The fixed interpolator: Super SloMo's flow stages, then a synthesis stage, at a size that trains on a CPU.

Read top to bottom like the papers' figures (Jiang et al., CVPR 2018, Fig. 2; then the
refinement of RIFE, Huang et al., ECCV 2022, Fig. 3, and IFRNet, Kong et al., CVPR 2022):

1. **Flow network** — bidirectional flows F0→1 and F1→0 from (I0, I1). A shared feature
   pyramid encodes both frames; a coarse-to-fine decoder estimates the flow at the coarsest
   level (1/2^levels), then at each finer level upsamples it, warps the other frame's features
   with it, compares them through a small local correlation, and adds a residual. Both
   directions run through the same weights (the pair (I1, I0) is the pair (I0, I1) swapped), so
   the network is symmetric. The flow is estimated down to 1/2 resolution and upsampled.
2. **Intermediate flows** — F̂t→0, F̂t→1 from :func:`~vfibench.model.warp.intermediate_flows`
   (Super SloMo Eq. 4).
3. **Refinement network** — a small U-Net on (I0, I1, F0→1, F1→0, F̂t→1, F̂t→0, g(I1, F̂t→1),
   g(I0, F̂t→0)) predicts ΔFt→0, ΔFt→1 and a visibility logit: Ft→· = F̂t→· + ΔFt→·,
   V_t←0 = sigmoid(logit), V_t←1 = 1 − V_t←0.
4. **Warp and blend** — g(I0, Ft→0), g(I1, Ft→1) fused by :func:`~vfibench.model.warp.blend`
   (Super SloMo Eq. 1).
5. **Synthesis** — a small U-Net on (I0, I1, the two warped frames, the blend, V_t←0, Ft→0,
   Ft→1) adds a residual: Î = blend + R(·). This is the stage every published loss comparison
   on one network has after warping (RIFE's and IFRNet's residual refinement, FILM's fusion
   U-Net, SoftSplat's GridNet), and where losses differ most: without it the output can only
   be a blend of warped inputs, so it can neither regress to a blurry mean nor make detail up,
   and a perceptual or adversarial loss could act on nothing but flows and blend weights.

Two named variants (:data:`~vfibench.model.variants.MODEL_VARIANTS`): ``synthesis`` (all five stages, the default) and
``warp-blend`` (stages 1–4, Î = blend; the model of vfibench's first version), so a run can
measure what the synthesis stage contributes.

No normalisation layers (batch statistics would make a sample's output depend on its batch),
no loss, no device: the model runs wherever its parameters are. The last layer of every head is
initialised near zero, so a fresh model predicts flows ≈ 0, V ≈ 1/2 and a residual ≈ 0, i.e.
the time-weighted average of the inputs — the ``blend`` reference row — and training starts
from there.

Reference: H. Jiang, D. Sun, V. Jampani, M.-H. Yang, E. Learned-Miller, J. Kautz,
"Super SloMo: High Quality Estimation of Multiple Intermediate Frames for Video Interpolation",
CVPR 2018.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vfibench.model.prediction import Prediction
from vfibench.model.variants import DEFAULT_VARIANT, ModelConfigError, check_variant
from vfibench.model.warp import backward_warp, blend, intermediate_flows, time_weights

__all__ = ["Interpolator", "ModelConfigError", "build_interpolator", "count_parameters"]

#: Flows enter the networks divided by this many pixels (full-resolution), so inputs are O(1).
FLOW_INPUT_SCALE = 16.0
#: Scale applied to the default initialisation of every output layer (flows ≈ 0, V ≈ 1/2).
HEAD_INIT_SCALE = 1e-2


def conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3×3 convolution followed by LeakyReLU(0.1)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride, 1),
        nn.LeakyReLU(0.1, inplace=True),
    )


def head(in_channels: int, out_channels: int) -> nn.Conv2d:
    """3×3 output convolution initialised near zero (weights × HEAD_INIT_SCALE, bias 0)."""
    layer = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
    with torch.no_grad():
        layer.weight.mul_(HEAD_INIT_SCALE)
        layer.bias.zero_()
    return layer


def resize_flow(flow: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinearly resize a flow field to ``size`` and rescale its vectors to the new pixel units."""
    h, w = flow.shape[-2:]
    out = F.interpolate(flow, size=size, mode="bilinear", align_corners=False)
    scale = torch.tensor([size[1] / w, size[0] / h], device=flow.device, dtype=flow.dtype)
    return out * scale.view(1, 2, 1, 1)


def local_correlation(feat_a: Tensor, feat_b: Tensor, radius: int) -> Tensor:
    """Cost volume: mean over channels of feat_a(x) · feat_b(x + d) for every |d|∞ ≤ radius.

    Shapes: (N, C, H, W) × 2 → (N, (2·radius+1)², H, W); zero outside ``feat_b``.
    (PWC-Net, Sun et al., CVPR 2018, Eq. 3.)
    """
    h, w = feat_a.shape[-2:]
    padded = F.pad(feat_b, (radius, radius, radius, radius))
    costs = [
        (feat_a * padded[:, :, dy : dy + h, dx : dx + w]).mean(dim=1, keepdim=True)
        for dy in range(2 * radius + 1)
        for dx in range(2 * radius + 1)
    ]
    return torch.cat(costs, dim=1)


def swap_halves(x: Tensor) -> Tensor:
    """(A; B) stacked along the batch → (B; A): turns features of (I0, I1) into those of (I1, I0)."""
    n = x.shape[0] // 2
    return torch.cat((x[n:], x[:n]), dim=0)


class FeaturePyramid(nn.Module):
    """Shared image encoder: features at 1/2, 1/4, …, 1/2^levels resolution."""

    def __init__(self, channels: list[int]) -> None:
        super().__init__()
        stages = []
        previous = 3
        for c in channels:
            stages.append(nn.Sequential(conv(previous, c, stride=2), conv(c, c)))
            previous = c
        self.stages = nn.ModuleList(stages)

    def forward(self, image: Tensor) -> list[Tensor]:
        features = []
        x = image
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class FlowDecoderLevel(nn.Module):
    """One pyramid level: residual flow from (f_a, g(f_b, F), corr(f_a, g(f_b, F)), F)."""

    def __init__(self, feat_channels: int, corr_radius: int) -> None:
        super().__init__()
        self.corr_radius = corr_radius
        in_channels = 2 * feat_channels + (2 * corr_radius + 1) ** 2 + 2
        self.body = nn.Sequential(conv(in_channels, feat_channels), conv(feat_channels, feat_channels))
        self.out = head(feat_channels, 2)

    def forward(self, feat_a: Tensor, feat_b: Tensor, flow: Tensor, stride: int) -> Tensor:
        warped_b = backward_warp(feat_b, flow)
        corr = local_correlation(feat_a, warped_b, self.corr_radius)
        x = torch.cat((feat_a, warped_b, corr, flow * (stride / FLOW_INPUT_SCALE)), dim=1)
        return self.out(self.body(x))


class FlowNet(nn.Module):
    """Bidirectional optical flow (F0→1, F1→0) in pixels from two frames in [0, 1].

    Coarse-to-fine: F at level L (1/2^L) is estimated from zero, then for l = L−1 … 1,
    F_l = 2·up(F_{l+1}) + Δ_l; the 1/2-resolution flow is upsampled to full resolution.
    Input height and width must be multiples of 2^levels.
    """

    def __init__(self, channels: list[int], corr_radius: int = 2) -> None:
        super().__init__()
        self.encoder = FeaturePyramid(channels)
        self.decoders = nn.ModuleList(FlowDecoderLevel(c, corr_radius) for c in channels)

    def forward(self, i0: Tensor, i1: Tensor) -> tuple[Tensor, Tensor]:
        n, _, h, w = i0.shape
        pyramid = self.encoder(torch.cat((i0, i1), dim=0) - 0.5)
        flow: Tensor | None = None
        for level in reversed(range(len(pyramid))):
            feat_a = pyramid[level]
            size = (feat_a.shape[-2], feat_a.shape[-1])
            if flow is None:
                flow = feat_a.new_zeros(feat_a.shape[0], 2, *size)
            else:
                flow = resize_flow(flow, size)
            flow = flow + self.decoders[level](feat_a, swap_halves(feat_a), flow, 2 ** (level + 1))
        assert flow is not None
        flow = resize_flow(flow, (h, w))
        return flow[:n], flow[n:]


class UNet(nn.Module):
    """The U-Net both refinement stages use: encoder at 1/2 … 1/2^len(channels), decoder back to 1/2 with
    skip connections, and one output layer (initialised near zero) that fuses the upsampled
    1/2-resolution features with the full-resolution input. Input height and width must be multiples
    of 2^len(channels)."""

    def __init__(self, in_channels: int, channels: list[int], out_channels: int) -> None:
        super().__init__()
        downs = []
        previous = in_channels
        for c in channels:
            downs.append(nn.Sequential(conv(previous, c, stride=2), conv(c, c)))
            previous = c
        self.downs = nn.ModuleList(downs)
        self.ups = nn.ModuleList(
            conv(deeper + c, c) for deeper, c in zip(reversed(channels[1:]), reversed(channels[:-1]))
        )
        self.out = head(channels[0] + in_channels, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        y = x
        for down in self.downs:
            y = down(y)
            skips.append(y)
        for up, skip in zip(self.ups, reversed(skips[:-1])):
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = up(torch.cat((y, skip), dim=1))
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.out(torch.cat((y, x), dim=1))


class RefineNet(UNet):
    """Super SloMo's flow-interpolation U-Net on (I0, I1, F0→1, F1→0, F̂t→1, F̂t→0, g(I1, F̂t→1),
    g(I0, F̂t→0)): ΔFt→0, ΔFt→1 and a visibility logit."""

    in_channels = 3 + 3 + 2 + 2 + 2 + 2 + 3 + 3

    def __init__(self, channels: list[int]) -> None:
        super().__init__(self.in_channels, channels, 5)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # type: ignore[override]
        out = super().forward(x)
        return out[:, 0:2] * FLOW_INPUT_SCALE, out[:, 2:4] * FLOW_INPUT_SCALE, out[:, 4:5]


class SynthesisNet(UNet):
    """Residual synthesis U-Net: R(I0, I1, g(I0, Ft→0), g(I1, Ft→1), blend, V_t←0, Ft→0, Ft→1).

    The layout of RIFE's refinement U-Net (and of :class:`RefineNet`); its output layer starts near
    zero, so Î = blend + R ≈ blend for a fresh model. Like RIFE's and IFRNet's refinement it predicts
    a residual on the blend rather than a new frame.
    """

    in_channels = 3 + 3 + 3 + 3 + 3 + 1 + 2 + 2

    def __init__(self, channels: list[int]) -> None:
        super().__init__(self.in_channels, channels, 3)


def channel_plan(width: int, levels: int) -> list[int]:
    """Channels per pyramid level: width · (1, 1.5, 2, 2.5, …), rounded."""
    return [int(round(width * (1 + 0.5 * k))) for k in range(levels)]


class Interpolator(nn.Module):
    """Super SloMo-style frame interpolator returning a :class:`Prediction`.

    Args:
        width: channels of the first pyramid level; every level scales with it.
        levels: pyramid depth of both networks. The flow network's coarsest level is
            1/2^levels; with 4 levels a 64-px crop is seen at 4×4 and, with a correlation
            radius of 2, motions of ±2·2^levels = ±32 px are within reach.
        corr_radius: radius of the flow decoder's local correlation.
        variant: ``synthesis`` (with the residual synthesis stage) or ``warp-blend`` (without).

    Input: i0, i1 (N, 3, H, W) in [0, 1], t (N,) in (0, 1). Any H, W: inputs are
    replicate-padded on the bottom/right to a multiple of 2^levels and every output is cropped
    back (replicate padding makes warping inside the pad equal to border-mode warping).
    """

    def __init__(self, width: int = 16, levels: int = 4, corr_radius: int = 2,
                 variant: str = DEFAULT_VARIANT) -> None:
        super().__init__()
        self.variant = check_variant(variant)
        for name, value, minimum in (("width", width, 1), ("levels", levels, 1), ("corr_radius", corr_radius, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ModelConfigError(
                    f"The interpolator got {name}={value!r}; it must be an integer >= {minimum}. "
                    f"The defaults are width=16, levels=4, corr_radius=2; width scales the parameter "
                    f"count (8 gives about 66 thousand, 16 about 226 thousand, 32 about 834 thousand)."
                )
        self.width = width
        self.levels = levels
        self.corr_radius = corr_radius
        channels = channel_plan(width, levels)
        self.flow_net = FlowNet(channels, corr_radius)
        self.refine_net = RefineNet(channels[: max(1, levels - 1)])
        self.synthesis_net = SynthesisNet(channels) if variant == "synthesis" else None

    def forward(self, i0: Tensor, i1: Tensor, t: Tensor | float) -> Prediction:
        if i0.dim() != 4 or i0.shape[1] != 3 or i0.shape != i1.shape:
            raise ValueError(f"expected i0, i1 of shape (N, 3, H, W), got {tuple(i0.shape)} and {tuple(i1.shape)}")
        h, w = i0.shape[-2:]
        multiple = 2**self.levels
        pad = (0, (-w) % multiple, 0, (-h) % multiple)
        if any(pad):
            i0 = F.pad(i0, pad, mode="replicate")
            i1 = F.pad(i1, pad, mode="replicate")
        tt = time_weights(t, i0)

        # (1) bidirectional flows
        flow_01, flow_10 = self.flow_net(i0, i1)
        # (2) Super SloMo Eq. 4
        flow_t0_approx, flow_t1_approx = intermediate_flows(flow_01, flow_10, tt)
        # (3) refinement and visibility
        refine_in = torch.cat(
            (
                i0 - 0.5,
                i1 - 0.5,
                flow_01 / FLOW_INPUT_SCALE,
                flow_10 / FLOW_INPUT_SCALE,
                flow_t1_approx / FLOW_INPUT_SCALE,
                flow_t0_approx / FLOW_INPUT_SCALE,
                backward_warp(i1, flow_t1_approx) - 0.5,
                backward_warp(i0, flow_t0_approx) - 0.5,
            ),
            dim=1,
        )
        delta_t0, delta_t1, logit = self.refine_net(refine_in)
        flow_t0 = flow_t0_approx + delta_t0
        flow_t1 = flow_t1_approx + delta_t1
        visibility_0 = torch.sigmoid(logit)
        visibility_1 = 1 - visibility_0
        # (4) warp and blend, Super SloMo Eq. 1
        warped_0 = backward_warp(i0, flow_t0)
        warped_1 = backward_warp(i1, flow_t1)
        blended = frame = blend(warped_0, warped_1, visibility_0, visibility_1, tt)
        # (5) residual synthesis
        if self.synthesis_net is not None:
            synthesis_in = torch.cat(
                (
                    i0 - 0.5,
                    i1 - 0.5,
                    warped_0 - 0.5,
                    warped_1 - 0.5,
                    blended - 0.5,
                    visibility_0,
                    flow_t0 / FLOW_INPUT_SCALE,
                    flow_t1 / FLOW_INPUT_SCALE,
                ),
                dim=1,
            )
            frame = frame + self.synthesis_net(synthesis_in)

        def crop(x: Tensor) -> Tensor:
            return x[..., :h, :w]

        return Prediction(
            frame=crop(frame),
            flow_01=crop(flow_01),
            flow_10=crop(flow_10),
            flow_t0_approx=crop(flow_t0_approx),
            flow_t1_approx=crop(flow_t1_approx),
            flow_t0=crop(flow_t0),
            flow_t1=crop(flow_t1),
            warped_0=crop(warped_0),
            warped_1=crop(warped_1),
            visibility_0=crop(visibility_0),
            visibility_1=crop(visibility_1),
            blended=crop(blended),
        )


def build_interpolator(width: int = 16, seed: int = 0, **kwargs: int | str) -> Interpolator:
    """An :class:`Interpolator` initialised deterministically from ``seed``.

    The global (CPU) random state is saved and restored around the construction, so building a
    model neither depends on nor disturbs any other random stream. Same seed and arguments →
    bit-identical state dicts.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Interpolator(width=width, **kwargs)  # type: ignore[arg-type]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
