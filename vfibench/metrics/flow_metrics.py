"""Flow-aware metrics for frame interpolation: ``flolpips-dis`` and ``psnr-div``.

Both need the input frames I0 and I1 besides the prediction and the ground truth (registry
records with ``inputs=True``), and both use classical OpenCV flow
(:mod:`vfibench.metrics.classical_flow`) instead of the learned flow of the published versions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vfibench.errors import VfiBenchError
from vfibench.metrics._common import check_pair
from vfibench.metrics.classical_flow import optical_flow
from vfibench.metrics.psnr import MSE_FLOOR

#: Pixels whose normalised divergence exceeds this enter PSNR_DIV (the reference code's threshold).
DIVERGENCE_THRESHOLD = 0.01
#: BT.709 luma weights PSNR_DIV computes on.
BT709 = (0.2126, 0.7152, 0.0722)
#: Below this total flow-difference magnitude the FloLPIPS weights fall back to uniform.
WEIGHT_FLOOR = 1e-12


def _check_inputs(pred: Tensor, i0: Tensor, i1: Tensor, name: str) -> None:
    for role, x in (("I0", i0), ("I1", i1)):
        if not isinstance(x, Tensor) or x.shape != pred.shape:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise VfiBenchError(f"{name}: the input frame {role} must have the prediction's shape "
                                f"{tuple(pred.shape)}, got {shape}.")


def flows_to_inputs(x: Tensor, i0: Tensor, i1: Tensor) -> tuple[Tensor, Tensor]:
    """DIS flows from each frame of ``x`` to I0 and to I1: two (N, 2, H, W) float64 tensors, in pixels."""
    return optical_flow(x, i0), optical_flow(x, i1)


def flow_weight_from(flows_pred: tuple[Tensor, Tensor], flows_gt: tuple[Tensor, Tensor]) -> Tensor:
    """|F(gt→I0) − F(pred→I0)| + |F(gt→I1) − F(pred→I1)| per pixel from both frames' :func:`flows_to_inputs`,
    (N, 1, H, W) float64."""
    first = flows_pred[0]
    total = torch.zeros(first.shape[0], 1, *first.shape[-2:], dtype=torch.float64, device=first.device)
    for flow_pred, flow_gt in zip(flows_pred, flows_gt):
        diff = flow_gt - flow_pred
        total += diff.square().sum(dim=1, keepdim=True).sqrt()
    return total


def flow_difference_weight(pred: Tensor, gt: Tensor, i0: Tensor, i1: Tensor) -> Tensor:
    """|F(gt→I0) − F(pred→I0)| + |F(gt→I1) − F(pred→I1)| per pixel, (N, 1, H, W), DIS flow in pixels."""
    return flow_weight_from(flows_to_inputs(pred, i0, i1), flows_to_inputs(gt, i0, i1))


def weighted_average(values: Tensor, weight: Tensor) -> Tensor:
    """Σ values·w / Σ w per sample after resizing ``weight`` (bilinear) to ``values``' grid; uniform
    weights where Σ w ≤ :data:`WEIGHT_FLOOR` (identical flows), so the result is always finite."""
    w = F.interpolate(weight.to(values.dtype), size=values.shape[-2:], mode="bilinear", align_corners=False)
    total = w.sum(dim=(1, 2, 3), keepdim=True)
    uniform = torch.full_like(w, 1.0 / (w.shape[-2] * w.shape[-1]))
    w = torch.where(total > WEIGHT_FLOOR, w / total.clamp_min(WEIGHT_FLOOR), uniform)
    return (values * w).sum(dim=(1, 2, 3))


def flolpips_dis(pred: Tensor, gt: Tensor, i0: Tensor, i1: Tensor, model: nn.Module | None = None) -> Tensor:
    r"""FloLPIPS in triplet form with DIS flow: LPIPS-alex maps weighted by flow disagreement.

    .. math::
        \mathrm{FloLPIPS}(\hat I, I) = \sum_l \sum_{h,w} \hat W_{l,hw}\,
            \bigl\| w_l \odot (\hat f^l_{hw} - f^l_{hw}) \bigr\|_2^2, \qquad
        \hat W_l = \frac{M\!\downarrow_l}{\sum M\!\downarrow_l},\quad
        M = \sum_{k \in \{0,1\}} \bigl| F(I \to I_k) - F(\hat I \to I_k) \bigr|

    where the per-layer LPIPS v0.1 difference maps are those of :func:`vfibench.metrics.lpips_metric.lpips`
    (AlexNet, inputs scaled to [-1, 1]) and ``M↓_l`` is M resized bilinearly to layer l's grid.
    Differs from the published metric (Danier, Zhang, Bull, "FloLPIPS: a bespoke video quality metric
    for frame interpolation", PCS 2022; danier97/flolpips ``flolpips.py``) in three ways: DIS flow
    (OpenCV) replaces PWC-Net; the flows go from the ground truth and the prediction to each input
    frame of the triplet (the original compares consecutive frames of whole videos); and when the
    flows agree everywhere (M = 0, e.g. a perfect prediction) the weights fall back to uniform, where
    the original divides by zero and returns NaN.

    Returns:
        (N,) float64, ≥ 0, 0 for a perfect prediction; lower is better.
    """
    from vfibench.metrics import lpips_metric

    check_pair(pred, gt, "flolpips-dis", min_size=lpips_metric.MIN_SIZE)
    _check_inputs(pred, i0, i1, "flolpips-dis")
    if model is None:
        model = lpips_metric.get_lpips("alex", pred.device)
    weight = flow_difference_weight(pred, gt, i0, i1)
    return flolpips_from_features(lpips_metric.lpips_features(pred, model), lpips_metric.lpips_features(gt, model),
                                  weight, model)


def flolpips_from_features(feats_pred: list[Tensor], feats_gt: list[Tensor], weight: Tensor, model: nn.Module) -> Tensor:
    """FloLPIPS from both frames' :func:`~vfibench.metrics.lpips_metric.lpips_features` and the flow
    weight (:func:`flow_weight_from`): Σ_l weighted average of layer l's LPIPS difference map
    (:func:`~vfibench.metrics.lpips_metric.lpips_layer_maps`), (N,) float64."""
    from vfibench.metrics.lpips_metric import lpips_layer_maps

    total = torch.zeros(weight.shape[0], dtype=torch.float64, device=weight.device)
    for layer_map in lpips_layer_maps(feats_pred, feats_gt, model):
        total += weighted_average(layer_map.to(torch.float64), weight)
    return total


def divergence(flow: Tensor) -> Tensor:
    r"""∂u/∂x + ∂v/∂y of a flow field (N, 2, H, W) → (N, H, W), central differences inside and one-sided
    at the borders (as ``np.gradient``).

    The PSNR_DIV reference code computes ``np.gradient(u)[0] + np.gradient(v)[1]``, i.e.
    ∂u/∂y + ∂v/∂x, because ``np.gradient`` returns the derivative along rows (y) first; this is
    the true divergence the paper defines.
    """
    du_dx = torch.gradient(flow[:, 0], dim=-1)[0]
    dv_dy = torch.gradient(flow[:, 1], dim=-2)[0]
    return du_dx + dv_dy


def divergence_mask(flow: Tensor, threshold: float = DIVERGENCE_THRESHOLD) -> Tensor:
    """Pixels whose |divergence| / max |divergence| exceeds ``threshold``, (N, 1, H, W) bool.

    A field with no divergence anywhere selects every pixel (the reference code divides by zero)."""
    div = divergence(flow).abs()
    peak = div.flatten(1).amax(dim=1).view(-1, 1, 1)
    mask = div > threshold * peak
    mask = torch.where(peak > 0, mask, torch.ones_like(mask))
    return mask.unsqueeze(1)


def luma709(x: Tensor) -> Tensor:
    """BT.709 luma of [0, 1] RGB, (N, 3, H, W) → (N, 1, H, W) float64, not rounded."""
    weights = torch.tensor(BT709, dtype=torch.float64, device=x.device).view(1, 3, 1, 1)
    return (x.to(torch.float64) * weights).sum(dim=1, keepdim=True)


def psnr_masked(pred: Tensor, gt: Tensor, mask: Tensor) -> Tensor:
    """PSNR (data range 1, MSE floored as :func:`~vfibench.metrics.psnr.psnr`) over the pixels of ``mask``."""
    error = (pred.to(torch.float64) - gt.to(torch.float64)).square() * mask
    mse = error.sum(dim=(1, 2, 3)) / mask.sum(dim=(1, 2, 3)).clamp_min(1)
    return -10.0 * torch.log10(mse.clamp_min(MSE_FLOOR))


def psnr_div(pred: Tensor, gt: Tensor, i0: Tensor, i1: Tensor) -> Tensor:
    r"""PSNR_DIV in triplet form: luma PSNR over the pixels of high motion divergence.

    .. math::
        \mathrm{PSNR_{DIV}} = 10\log_{10}\frac{1}{\operatorname{mean}_{p \in D}(\hat Y_p - Y_p)^2},\quad
        D = \Bigl\{p : \frac{|\nabla\!\cdot F(p)|}{\max_q |\nabla\!\cdot F(q)|} > 0.01\Bigr\}

    with Y the BT.709 luma and F the Farnebäck flow from the prediction to I1 (the frame after it
    in the interpolated sequence), computed with the reference code's parameters. Follows Daly,
    Ramsook, Kokaram, "An efficient quality metric for video frame interpolation based on
    motion-field divergence", QoMEX 2025, with three differences from its published code: the true
    divergence ∂u/∂x + ∂v/∂y (:func:`divergence`); luma kept in float instead of truncated to 8 bits;
    every pixel used when the flow has no divergence, and identical frames capped at 100 dB,
    where the code returns NaN.

    Returns:
        (N,) float64 in dB; higher is better.
    """
    check_pair(pred, gt, "psnr-div", min_size=3)
    _check_inputs(pred, i0, i1, "psnr-div")
    mask = divergence_mask(optical_flow(pred, i1, "farneback"))
    return psnr_masked(luma709(pred), luma709(gt), mask)
