"""Flow-aware metrics: psnr-div on analytic flows, flolpips-dis on real frames, the suite passing inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

from vfibench.errors import VfiBenchError
from vfibench.metrics.classical_flow import grey8, largest_motion, optical_flow
from vfibench.metrics.flow_metrics import (divergence, divergence_mask, flolpips_dis, flow_difference_weight,
                                           flow_weight_from, luma709, psnr_div, psnr_masked, weighted_average)
from vfibench.metrics.suite import MetricSuite

from helpers import needs_backbone


def grid(h: int = 12, w: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    return x, y


def field(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.stack([u, v]).unsqueeze(0)


def test_divergence_is_du_dx_plus_dv_dy_on_analytic_fields():
    x, y = grid()
    assert torch.allclose(divergence(field(0.5 * x, -2.0 * y)), torch.full((1, 12, 16), -1.5, dtype=torch.float64))
    # a shear and a rotation have no divergence; the published |du/dy + dv/dx| would give 2 and 0
    assert divergence(field(y, x)).abs().max() < 1e-12
    assert divergence(field(-y, x)).abs().max() < 1e-12
    quadratic = divergence(field(x**2, torch.zeros_like(x)))[0, :, 1:-1]
    assert torch.allclose(quadratic, 2 * x[:, 1:-1])


def test_divergence_mask_selects_the_diverging_block_and_falls_back_to_all():
    x, y = grid(20, 20)
    inside = (x >= 6) & (x < 14) & (y >= 6) & (y < 14)
    flow = field(torch.where(inside, x - 10, torch.zeros_like(x)), torch.zeros_like(x))
    mask = divergence_mask(flow)[0, 0]
    assert mask[8:12, 8:12].all() and not mask[:4].any() and not mask[:, :4].any()
    assert divergence_mask(field(y, x)).all()  # no divergence anywhere: every pixel counts


def test_divergence_mask_keeps_pixels_above_one_percent_of_the_largest_divergence():
    """u = x²/2 diverges by x inside (0.5 and 1 in the first two columns, one-sided); the largest, 198.5,
    is at the last column: the reference code's 1% threshold drops the first two columns alone."""
    x, _ = grid(4, 200)
    mask = divergence_mask(field(x**2 / 2, torch.zeros_like(x)))[0, 0]
    assert mask.all(dim=0).tolist() == [False, False] + [True] * 198 and (mask == mask[:1]).all()


def test_flow_weight_is_the_summed_length_of_the_flow_differences_to_both_inputs():
    ones = torch.ones(1, 2, 4, 4, dtype=torch.float64)
    to_i0, to_i1 = ones, -ones  # the prediction's flows
    off_i0 = to_i0 + torch.tensor([3.0, 4.0], dtype=torch.float64).view(1, 2, 1, 1)  # 5 px away
    off_i1 = to_i1 + torch.tensor([0.0, -2.0], dtype=torch.float64).view(1, 2, 1, 1)  # 2 px away
    predicted = (to_i0, to_i1)
    assert torch.equal(flow_weight_from(predicted, predicted), torch.zeros(1, 1, 4, 4, dtype=torch.float64))
    for truth, length in (((off_i0, to_i1), 5.0), ((to_i0, off_i1), 2.0), ((off_i0, off_i1), 7.0)):
        expected = torch.full((1, 1, 4, 4), length, dtype=torch.float64)
        assert torch.equal(flow_weight_from(predicted, truth), expected), length


def test_psnr_masked_counts_only_masked_pixels():
    gt = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    mask = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    mask[..., :4] = True
    outside = gt.clone()
    outside[..., 6:] = 0.5
    assert psnr_masked(outside, gt, mask).item() == pytest.approx(100.0)
    inside = gt.clone()
    inside[..., :2] = 0.1  # half of the masked pixels off by 0.1 → MSE 0.005
    assert psnr_masked(inside, gt, mask).item() == pytest.approx(-10 * np.log10(0.005))


def test_weighted_average_is_finite_and_uniform_when_flows_agree():
    values = torch.arange(16, dtype=torch.float64).view(1, 1, 4, 4)
    assert weighted_average(values, torch.zeros(1, 1, 8, 8)).item() == pytest.approx(values.mean().item())
    spot = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    spot[..., 2, 3] = 5.0
    assert weighted_average(values, spot).item() == pytest.approx(11.0)


def test_flow_weights_are_resized_bilinearly_to_each_layers_grid():
    """A 4×4 weight halved to a 2×2 layer grid: each cell takes the mean of the four pixels it covers."""
    values = torch.tensor([[5.0, 1.0], [2.0, 3.0]], dtype=torch.float64).view(1, 1, 2, 2)
    weight = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    weight[..., 1, 1] = 1.0  # inside the top-left cell only
    assert weighted_average(values, weight).item() == pytest.approx(5.0)
    weight[..., 2:, 2:] = 1.0  # the whole bottom-right cell: four times the weight
    assert weighted_average(values, weight).item() == pytest.approx((0.25 * 5.0 + 3.0) / 1.25)


@pytest.fixture(scope="module")
def triplet() -> tuple[torch.Tensor, ...]:
    """A real photograph panned 3 px per frame: I0, It, I1 and It shifted by 4 px (a misplaced copy)."""
    image = torch.from_numpy(data.astronaut()[100:212, 150:278]).permute(2, 0, 1).double() / 255

    def at(dx: int) -> torch.Tensor:
        return image[:, 8:104, 8 + dx:104 + dx].unsqueeze(0).contiguous()

    return at(0), at(3), at(6), at(7)


def test_the_grey_frames_the_flow_sees_are_opencv_s_whatever_the_dtype():
    """grey8 rounded a float weighted sum, which the many exact half-level ties tipped either way
    (float32 frames against float64 ones, and against cv2 by one level on 0.1% of a photograph's pixels)."""
    import cv2

    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, size=(256, 256, 3), dtype=np.uint8)
    colours[0, :216] = np.stack(np.meshgrid(*[np.arange(0, 256, 43)] * 3, indexing="ij"), -1).reshape(-1, 3)
    expected = cv2.cvtColor(colours, cv2.COLOR_RGB2GRAY)
    for dtype in (torch.float64, torch.float32):
        frame = torch.from_numpy(colours).permute(2, 0, 1).to(dtype) / 255
        assert np.array_equal(grey8(frame), expected), dtype
    photo = np.ascontiguousarray(data.astronaut())
    assert np.array_equal(grey8(torch.from_numpy(photo).permute(2, 0, 1) / 255.0),
                          cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY))


def test_classical_flow_recovers_a_pan(triplet):
    i0, it, i1, _ = triplet
    flow = optical_flow(i0, i1)
    assert flow[0, 0, 16:-16, 16:-16].median().item() == pytest.approx(-6.0, abs=0.5)  # the view pans right
    assert largest_motion(i0, i1).item() == pytest.approx(6.0, abs=1.0)


def test_psnr_div_perfect_and_finite(triplet):
    i0, it, i1, misplaced = triplet
    assert psnr_div(it, it, i0, i1).item() == pytest.approx(100.0)
    value = psnr_div(misplaced, it, i0, i1).item()
    assert np.isfinite(value) and value < 40


def test_psnr_div_is_luma_psnr_an_offset_gives_its_known_value_and_chroma_alone_costs_nothing(triplet):
    """Whatever pixels the divergence selects, a uniform offset δ of every channel moves the BT.709
    luma by δ: 20·log10(1/δ) dB. A change of colour that keeps each pixel's luma costs nothing."""
    i0, it, i1, _ = triplet
    inside = it.clamp(0.1, 0.9)
    assert psnr_div(inside + 0.05, inside, i0, i1).item() == pytest.approx(20 * np.log10(1 / 0.05), abs=1e-9)
    recoloured = inside.clone()  # +δ in red, with green lowered to keep 0.2126 r + 0.7152 g the same
    recoloured[:, 0] += 0.0715
    recoloured[:, 1] -= 0.0715 * 0.2126 / 0.7152
    assert psnr_div(recoloured, inside, i0, i1).item() == pytest.approx(100.0)


def test_flolpips_with_uniform_weights_is_lpips():
    """Where the flows agree everywhere the weights are uniform and each layer's weighted average is
    its spatial mean: FloLPIPS is then LPIPS itself (stand-in AlexNet weights; the formula is at stake)."""
    from test_metrics_deep import random_features

    from vfibench.metrics.flow_metrics import flolpips_from_features
    from vfibench.metrics.lpips_metric import build_lpips, lpips, lpips_features

    model = build_lpips("alex", features_state=random_features("alexnet").state_dict())
    generator = torch.Generator().manual_seed(0)
    pred, gt = (torch.rand(2, 3, 64, 80, generator=generator) for _ in range(2))
    uniform = torch.zeros(2, 1, 64, 80, dtype=torch.float64)
    value = flolpips_from_features(lpips_features(pred, model), lpips_features(gt, model), uniform, model)
    expected = lpips(pred, gt, model=model).to(torch.float64)
    assert torch.allclose(value, expected, rtol=1e-6, atol=0)
    spot = uniform.clone()
    spot[0, 0, :32, :40] = 1.0  # weight on one quarter moves the first sample off its mean, not the second
    weighted = flolpips_from_features(lpips_features(pred, model), lpips_features(gt, model), spot, model)
    assert not torch.allclose(weighted[0], expected[0], rtol=1e-3) and weighted[1] == value[1]


@needs_backbone("alexnet")
def test_flolpips_dis_zero_for_perfect_and_larger_when_misplaced(triplet):
    i0, it, i1, misplaced = triplet
    perfect = flolpips_dis(it, it, i0, i1)
    wrong = flolpips_dis(misplaced, it, i0, i1)
    assert perfect.item() == 0.0 and torch.isfinite(wrong).all() and wrong.item() > 0.01
    scores = MetricSuite(["psnr", "flolpips-dis", "psnr-div"])(misplaced, it, inputs=(i0, i1))
    assert scores["flolpips-dis"].item() == pytest.approx(wrong.item(), rel=1e-3)


def test_suite_asks_for_the_inputs_when_missing(triplet):
    _, it, _, misplaced = triplet
    with pytest.raises(VfiBenchError, match="psnr-div needs the input frames I0 and I1"):
        MetricSuite(["psnr", "psnr-div"])(misplaced, it)


def test_psnr_div_takes_its_pixels_from_the_reference_farneback_flow_from_the_prediction_to_i1(triplet):
    """The PSNR_DIV reference code: cv2.calcOpticalFlowFarneback(pred, I1, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    on 8-bit grey frames."""
    import cv2

    i0, it, i1, misplaced = triplet
    flow = cv2.calcOpticalFlowFarneback(grey8(misplaced[0]), grey8(i1[0]), None, 0.5, 3, 15, 3, 5, 1.2, 0)
    assert np.array_equal(optical_flow(misplaced, i1, "farneback")[0].permute(1, 2, 0).numpy(), flow)
    mask = divergence_mask(torch.from_numpy(flow).permute(2, 0, 1).unsqueeze(0).double())
    assert 0.05 < mask.double().mean().item() < 0.95  # a part of the frame, not all of it
    expected = psnr_masked(luma709(misplaced), luma709(it), mask).item()
    assert psnr_div(misplaced, it, i0, i1).item() == pytest.approx(expected, abs=1e-12)


def test_a_perfect_prediction_has_no_flow_disagreement_to_weight(triplet):
    i0, it, i1, misplaced = triplet
    assert flow_difference_weight(it, it, i0, i1).abs().max().item() == 0.0
    assert flow_difference_weight(misplaced, it, i0, i1).mean().item() > 1.0


def test_input_frames_of_another_size_are_refused_naming_the_frame(triplet):
    i0, it, i1, _ = triplet
    with pytest.raises(VfiBenchError, match=r"psnr-div: the input frame I1 must have the prediction's shape "
                                            r"\(1, 3, 96, 96\), got \(1, 3, 96, 88\)"):
        psnr_div(it, it, i0, i1[..., :-8])
    with pytest.raises(VfiBenchError, match="the input frame I0 must have the prediction's shape"):
        psnr_div(it, it, i0[:, :2], i1)


def test_largest_motion_is_the_99th_percentile_of_the_flow_length():
    lengths = torch.arange(1, 101, dtype=torch.float64).view(1, 1, 10, 10)
    flow = torch.cat([0.6 * lengths, 0.8 * lengths], dim=1)  # (3, 4, 5) triangles: lengths 1 … 100 px
    frames = torch.zeros(1, 3, 10, 10)
    assert largest_motion(frames, frames, flow).item() == pytest.approx(1 + 0.99 * 99)


def test_a_frame_beyond_0_1_is_seen_by_the_flow_clipped_not_wrapped_around():
    """A model's output can overshoot [0, 1]; its grey frame is that of the clipped frame."""
    frame = torch.linspace(-0.5, 1.5, 3 * 4 * 6, dtype=torch.float64).view(3, 4, 6)
    assert np.array_equal(grey8(frame), grey8(frame.clamp(0, 1)))
    assert grey8(torch.full((3, 2, 2), 1.5)).tolist() == [[255, 255], [255, 255]]
