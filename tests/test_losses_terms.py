"""Census, structure and flow terms against values computed independently on tiny tensors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tests.helpers import prediction_from, random_triplets
from tests.test_losses_fixtures import shifted_scene
from vfibench.data.triplets import Triplets
from vfibench.errors import VfiBenchError
from vfibench.losses.census import census_loss, census_transform
from vfibench.losses.flow import charbonnier_tv, flow_smoothness, warping_loss
from vfibench.losses.spec import parse_config
from vfibench.losses.structural import gradient_loss, ssim_loss
from vfibench.metrics.ssim import ssim, structural_similarity
from vfibench.model.prediction import Prediction


def _module(spec: str) -> torch.nn.Module:
    (term,) = parse_config(spec).resolve()
    return term.info.factory(**term.params)


# --------------------------------------------------------------------------- census (IFRNet)


def _np_census_loss(a: np.ndarray, b: np.ndarray, patch: int = 7) -> float:
    """IFRNet's Ternary loss written out with loops over pixels and offsets (one image, C×H×W)."""
    r = patch // 2
    ga, gb = a.mean(axis=0), b.mean(axis=0)
    h, w = ga.shape
    pa, pb = np.pad(ga, r), np.pad(gb, r)  # zero padding, as the convolution's
    total = 0.0
    for y in range(r, h - r):
        for x in range(r, w - r):
            dist = 0.0
            for dy in range(patch):
                for dx in range(patch):
                    da = pa[y + dy, x + dx] - ga[y, x]
                    db = pb[y + dy, x + dx] - gb[y, x]
                    delta = da / np.sqrt(0.81 + da**2) - db / np.sqrt(0.81 + db**2)
                    dist += delta**2 / (0.1 + delta**2)
            total += dist / patch**2
    return total / (h * w)


def test_census_matches_a_loop_implementation_of_ifrnet_ternary() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 11, 12)), rng.random((3, 11, 12))
    ours = census_loss(torch.from_numpy(a)[None], torch.from_numpy(b)[None]).item()
    assert ours == pytest.approx(_np_census_loss(a, b), rel=1e-10)


def test_census_is_zero_for_identical_images_and_grows_with_a_shift() -> None:
    coords = torch.arange(32.0)
    pattern = 0.5 + 0.4 * torch.sin(2 * torch.pi * coords / 16).view(1, 32) * torch.cos(
        2 * torch.pi * coords / 16).view(32, 1)
    image = pattern.expand(1, 3, 32, 32)
    assert census_loss(image, image).item() == 0.0
    values = [census_loss(torch.roll(image, k, dims=-1), image).item() for k in (1, 2, 4)]
    assert 0.0 < values[0] < values[1] < values[2]


def test_census_ignores_a_brightness_offset() -> None:
    batch = random_triplets(size=16)
    assert census_loss(batch.it + 0.2, batch.it).item() == pytest.approx(0.0, abs=1e-7)


def test_census_transform_is_the_soft_sign_of_neighbour_differences() -> None:
    grey = torch.zeros(1, 3, 7, 7)
    grey[..., 3, 4] = 0.9  # the right-hand neighbour of the centre
    transform = census_transform(grey)
    tap = 3 * 7 + 4  # offset (dy, dx) = (0, +1) in row-major order of the 7×7 patch
    assert transform[0, tap, 3, 3].item() == pytest.approx(0.9 / (0.81 + 0.81) ** 0.5)
    assert transform[0, 3 * 7 + 3, 3, 3].item() == 0.0  # the centre compared with itself


def test_census_sends_no_gradient_to_the_target() -> None:
    batch = random_triplets(size=12)
    pred, target = batch.i0.clone().requires_grad_(True), batch.it.clone().requires_grad_(True)
    census_loss(pred, target).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert target.grad is None


def test_census_term_trains_the_predicted_frame() -> None:
    batch = random_triplets(size=12)
    frame = batch.i0.clone().requires_grad_(True)
    _module("census")(prediction_from(frame), batch).backward()
    assert frame.grad is not None and frame.grad.abs().sum() > 0


# --------------------------------------------------------------------------- ssim and grad


def test_ssim_loss_is_one_minus_the_float64_metric() -> None:
    batch = random_triplets(n=2, size=16, seed=5)
    pred = (batch.it + 0.1 * batch.i0).clamp(0, 1)
    quantised = torch.round(pred * 255) / 255
    metric = structural_similarity(quantised.double(), batch.it.double())
    assert ssim_loss(quantised.double(), batch.it.double()).item() == pytest.approx(1 - metric.mean().item(),
                                                                                     abs=1e-9)
    assert ssim_loss(batch.it, batch.it).item() == pytest.approx(0.0, abs=1e-6)


def test_ssim_loss_and_metric_are_differentiable_in_float64() -> None:
    """Float64 frames took the metric's fast filtering, which writes into buffers autograd cannot follow."""
    generator = torch.Generator().manual_seed(2)
    target = torch.rand(1, 1, 12, 12, dtype=torch.float64, generator=generator)
    pred = torch.rand(1, 1, 12, 12, dtype=torch.float64, generator=generator).requires_grad_()
    assert torch.autograd.gradcheck(lambda p: ssim_loss(p, target), (pred,))
    frames = torch.rand(2, 3, 16, 16, dtype=torch.float64, generator=generator)
    recorded = frames.clone().requires_grad_()
    scores = ssim(recorded, frames.flip(0))
    assert scores.requires_grad
    assert torch.allclose(scores.detach(), ssim(frames, frames.flip(0)), rtol=0, atol=1e-15)


def test_the_ssim_metric_follows_a_ground_truth_that_records_a_gradient() -> None:
    """Either side may record a gradient (a ground truth rendered by a differentiable model): the metric
    follows it through the same values instead of failing in its fast filtering."""
    generator = torch.Generator().manual_seed(3)
    frames = torch.rand(2, 3, 16, 16, dtype=torch.float64, generator=generator)
    truth = frames.flip(0).clone().requires_grad_()
    scores = ssim(frames, truth)
    assert scores.requires_grad
    assert torch.allclose(scores.detach(), ssim(frames, frames.flip(0)), rtol=0, atol=1e-15)


def test_ssim_loss_refuses_frames_smaller_than_its_window() -> None:
    with pytest.raises(VfiBenchError, match="11×11"):
        ssim_loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))


def test_gradient_loss_known_answer_and_offset_invariance() -> None:
    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 3, 4)  # slope 1 along x
    flat = torch.zeros(1, 1, 3, 4)
    assert gradient_loss(ramp, flat).item() == pytest.approx(1.0)
    assert gradient_loss(ramp.transpose(-1, -2), flat.transpose(-1, -2)).item() == pytest.approx(1.0)
    batch = random_triplets()
    assert gradient_loss(batch.i0 + 0.3, batch.i0).item() == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------- warp and smooth (Super SloMo)


def _true_flows(scene_shift: int, like: torch.Tensor) -> dict[str, torch.Tensor]:
    def flow(dx: float) -> torch.Tensor:
        f = torch.zeros(like.shape[0], 2, *like.shape[-2:])
        f[:, 0] = dx
        return f

    return {"flow_01": flow(2 * scene_shift), "flow_10": flow(-2 * scene_shift),
            "flow_t0_approx": flow(-scene_shift), "flow_t1_approx": flow(scene_shift)}


def test_warp_loss_is_zero_for_the_true_flow_of_an_integer_shift() -> None:
    scene, shift = shifted_scene(size=24, shift=2)
    flows = _true_flows(shift, scene.it)
    value = warping_loss(scene.i0, scene.it, scene.i1, flows["flow_01"], flows["flow_10"],
                         flows["flow_t0_approx"], flows["flow_t1_approx"])
    assert value.item() == pytest.approx(0.0, abs=1e-6)
    zero = torch.zeros_like(flows["flow_01"])
    expected = ((scene.i0 - scene.it).abs().mean() * 2 + (scene.i0 - scene.i1).abs().mean() * 2).item()
    assert warping_loss(scene.i0, scene.it, scene.i1, zero, zero, zero, zero).item() == pytest.approx(expected)


def test_warp_term_reads_the_pre_refinement_intermediate_flows() -> None:
    scene, shift = shifted_scene(size=24, shift=2)
    prediction = dataclasses.replace(prediction_from(scene.it), **_true_flows(shift, scene.it))
    module = _module("warp")
    assert module(prediction, scene).item() == pytest.approx(0.0, abs=1e-6)
    refined = dataclasses.replace(prediction, flow_t0=prediction.flow_t0 + 5.0, flow_t1=prediction.flow_t1 - 5.0)
    assert module(refined, scene).item() == pytest.approx(0.0, abs=1e-6)


def test_smoothness_of_a_constant_flow_is_zero_and_of_a_step_is_its_jump() -> None:
    constant = torch.full((1, 2, 5, 6), 3.0)
    assert flow_smoothness(constant).item() == 0.0
    step = torch.zeros(1, 2, 5, 6)
    step[:, 0, :, 3:] = 4.0  # one jump of 4 px per row, channel x only
    # ∂x: 5 rows × 5 differences × 2 channels = 50 entries, 5 of them equal to 4; ∂y all zero
    assert flow_smoothness(step).item() == pytest.approx(4 * 5 / 50)


@pytest.mark.parametrize("edge", [10.0, 0.5])  # any positive weight, below 1 too
def test_edge_aware_smoothness_discounts_jumps_on_image_edges(edge: float) -> None:
    step = torch.zeros(1, 2, 5, 6)
    step[:, 0, :, 3:] = 4.0
    image = torch.zeros(1, 3, 5, 6)
    image[..., 3:] = 1.0  # an edge exactly where the flow jumps
    plain = flow_smoothness(step).item()
    assert flow_smoothness(step, image, edge=edge).item() == pytest.approx(plain * float(np.exp(-edge)))


def test_smooth_term_sums_both_bidirectional_flows() -> None:
    batch = random_triplets(size=8)
    prediction = prediction_from(batch.it)
    expected = flow_smoothness(prediction.flow_01) + flow_smoothness(prediction.flow_10)
    assert _module("smooth")(prediction, batch).item() == pytest.approx(expected.item())


# --------------------------------------------------------------------------- flow-tv, vis-tv (AdaCoF)


def _adacof_charbonnier(data: torch.Tensor, epsilon: float = 0.001) -> torch.Tensor:
    """AdaCoF's CharbonnierFunc: mean √(x² + ε²)."""
    return torch.mean(torch.sqrt(data**2 + epsilon**2))


def _adacof_tv(m: torch.Tensor) -> torch.Tensor:
    """AdaCoF's g_* of one single-channel map: Charbonnier of its x and y forward differences."""
    return (_adacof_charbonnier(m[:, :, :, :-1] - m[:, :, :, 1:])
            + _adacof_charbonnier(m[:, :, :-1, :] - m[:, :, 1:, :]))


def test_charbonnier_tv_is_adacof_tv_summed_over_channels() -> None:
    field = torch.randn(2, 2, 6, 7, generator=torch.Generator().manual_seed(0))
    expected = _adacof_tv(field[:, 0:1]) + _adacof_tv(field[:, 1:2])
    assert charbonnier_tv(field).item() == pytest.approx(expected.item(), rel=1e-6)


def test_flow_tv_of_constant_flows_costs_only_epsilon() -> None:
    batch = random_triplets(size=8)
    constant = torch.full((2, 2, 8, 8), 1.5)
    prediction = dataclasses.replace(prediction_from(batch.it), flow_t0=constant, flow_t1=-constant)
    # two flows × two channels × two directions × ε
    assert _module("flow-tv")(prediction, batch).item() == pytest.approx(8 * 1e-3, rel=1e-6)


def test_vis_tv_is_adacof_occlusion_tv_of_the_visibility_map() -> None:
    batch = random_triplets(size=8)
    prediction = prediction_from(batch.it)
    expected = _adacof_tv(prediction.visibility_0)
    assert _module("vis-tv")(prediction, batch).item() == pytest.approx(expected.item(), rel=1e-6)
    flat = torch.full_like(prediction.visibility_0, 0.5)
    constant = dataclasses.replace(prediction, visibility_0=flat, visibility_1=1 - flat)
    assert _module("vis-tv")(constant, batch).item() == pytest.approx(2e-3, rel=1e-6)


def test_every_term_module_returns_a_scalar() -> None:
    batch = random_triplets(size=16)
    prediction: Prediction = prediction_from(batch.i0)
    for spec in ("census", "ssim", "grad", "warp", "smooth", "flow-tv", "vis-tv"):
        value = _module(spec)(prediction, batch)
        assert value.shape == () and torch.isfinite(value), spec


# --------------------------------------------------------------------------- direction and pairing of the terms


def test_gradient_loss_penalises_an_edge_of_flipped_sign_in_l1() -> None:
    rising = torch.tensor([0.0, 0.25, 0.5]).view(1, 1, 1, 3).expand(1, 1, 2, 3)  # slope +0.25 along x
    falling = rising.flip(-1)  # slope −0.25: the same edge magnitude, the opposite sign
    # every ∂x residual is 0.25 − (−0.25) = 0.5, so its mean absolute value is 0.5; ∂y is 0 everywhere
    assert gradient_loss(rising, falling).item() == pytest.approx(0.5)
    assert gradient_loss(rising.transpose(-1, -2), falling.transpose(-1, -2)).item() == pytest.approx(0.5)


def test_edge_aware_smoothness_weights_vertical_jumps_by_vertical_image_edges() -> None:
    step = torch.zeros(1, 2, 6, 5)
    step[:, 1, 3:, :] = 4.0  # one jump of 4 px between rows 2 and 3, channel y only
    # ∂y: 5 row differences × 5 columns × 2 channels = 50 entries, 5 of them equal to 4; ∂x all zero
    assert flow_smoothness(step).item() == pytest.approx(4 * 5 / 50)
    along = torch.zeros(1, 3, 6, 5)
    along[..., 3:, :] = 1.0  # the image changes exactly where the flow jumps, in the same direction
    assert flow_smoothness(step, along, edge=10.0).item() == pytest.approx(0.4 * float(np.exp(-10.0)))
    across = torch.zeros(1, 3, 6, 5)
    across[..., :, 3:] = 1.0  # an edge across the other direction: ∂y of the image is 0, no discount
    assert flow_smoothness(step, across, edge=10.0).item() == pytest.approx(0.4)


def test_edge_aware_smooth_term_weights_each_flow_by_the_frame_it_starts_from() -> None:
    i0 = torch.zeros(1, 3, 5, 6)
    i0[..., 3:] = 1.0  # I0 has an edge between columns 2 and 3
    i1 = torch.full((1, 3, 5, 6), 0.5)  # I1 is flat
    batch = Triplets(i0, 0.5 * (i0 + i1), i1, torch.full((1,), 0.5))
    step = torch.zeros(1, 2, 5, 6)
    step[:, 0, :, 3:] = 1.0  # a jump between columns 2 and 3; ∂x has 5·5·2 = 50 entries, 5 of them jump
    prediction = dataclasses.replace(prediction_from(batch.it), flow_01=4.0 * step, flow_10=8.0 * step)
    # F0→1 (jump 4) lies on I0's edge, discounted by exp(−10); F1→0 (jump 8) meets flat I1, not discounted
    expected = 4 * 5 / 50 * float(np.exp(-10.0)) + 8 * 5 / 50
    assert _module("smooth(edge=10)")(prediction, batch).item() == pytest.approx(expected, rel=1e-6)


def test_flow_tv_sums_adacofs_tv_over_both_intermediate_flows() -> None:
    batch = random_triplets(size=8)
    g = torch.Generator().manual_seed(3)
    flow_t0, flow_t1 = torch.randn(2, 2, 8, 8, generator=g), 3.0 * torch.randn(2, 2, 8, 8, generator=g)
    prediction = dataclasses.replace(prediction_from(batch.it), flow_t0=flow_t0, flow_t1=flow_t1)
    expected = sum(_adacof_tv(flow[:, c : c + 1]) for flow in (flow_t0, flow_t1) for c in range(2))
    assert _module("flow-tv")(prediction, batch).item() == pytest.approx(float(expected), rel=1e-6)


def test_edge_aware_smoothness_without_the_image_is_refused() -> None:
    with pytest.raises(ValueError, match="needs the image the flow belongs to"):
        flow_smoothness(torch.zeros(1, 2, 5, 6), None, edge=1.0)
