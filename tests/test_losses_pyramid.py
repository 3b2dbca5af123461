"""Multi-scale terms: RIFE's Laplacian-pyramid L1 and BMBC's multi-scale warping Charbonnier."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tests.helpers import prediction_from, random_triplets
from tests.test_losses_fixtures import shifted_scene
from vfibench.data.triplets import Triplets
from vfibench.losses.pixel import charbonnier_loss
from vfibench.losses.pyramid import (
    BMBC_ALPHA0,
    laplacian_levels,
    laplacian_loss,
    laplacian_pyramid,
    multiscale_levels,
    multiscale_warping_charbonnier,
    reflect_pad_by_2,
)
from vfibench.losses.spec import parse_config
from vfibench.model.warp import backward_warp

KERNEL = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0


def _np_blur(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """5×5 correlation after reflect padding by 2, written out with loops."""
    padded = np.pad(img, 2, mode="reflect")
    out = np.zeros_like(img)
    for y in range(img.shape[0]):
        for x in range(img.shape[1]):
            out[y, x] = (padded[y : y + 5, x : x + 5] * kernel).sum()
    return out


def _np_laplacian(img: np.ndarray, levels: int) -> list[np.ndarray]:
    """A hand-built Laplacian pyramid of one grey image, following RIFE's description."""
    pyramid = []
    current = img
    for _ in range(levels):
        down = _np_blur(current, KERNEL)[::2, ::2]
        zeros = np.zeros((2 * down.shape[0], 2 * down.shape[1]))
        zeros[::2, ::2] = down
        up = _np_blur(zeros, 4 * KERNEL)
        pyramid.append(current - up)
        current = down
    return pyramid


def _rife_zero_insertion(x: torch.Tensor) -> torch.Tensor:
    """RIFE's construction of the zero-interleaved image (cat, view, permute) in model/laplacian.py."""
    n, c, h, w = x.shape
    cc = torch.cat([x, torch.zeros(n, c, h, w, dtype=x.dtype)], dim=3).view(n, c, h * 2, w)
    cc = cc.permute(0, 1, 3, 2)
    cc = torch.cat([cc, torch.zeros(n, c, w, h * 2, dtype=x.dtype)], dim=3).view(n, c, w * 2, h * 2)
    return cc.permute(0, 1, 3, 2)


def test_rife_zero_insertion_puts_the_image_on_even_pixels() -> None:
    x = torch.arange(12.0, dtype=torch.float64).view(1, 1, 3, 4)
    expected = torch.zeros(1, 1, 6, 8, dtype=torch.float64)
    expected[..., ::2, ::2] = x
    assert torch.equal(_rife_zero_insertion(x), expected)


def test_laplacian_matches_a_hand_built_two_level_pyramid() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((8, 8)), rng.random((8, 8))
    ta = torch.from_numpy(a).view(1, 1, 8, 8)
    tb = torch.from_numpy(b).view(1, 1, 8, 8)
    ours = laplacian_pyramid(ta, levels=2)
    reference = _np_laplacian(a, 2)
    assert [tuple(level.shape[-2:]) for level in ours] == [(8, 8), (4, 4)]
    for level, expected in zip(ours, reference):
        np.testing.assert_allclose(level[0, 0].numpy(), expected, atol=1e-12)
    expected_loss = sum(np.abs(p - q).mean() for p, q in zip(_np_laplacian(a, 2), _np_laplacian(b, 2)))
    assert laplacian_loss(ta, tb, levels=2).item() == pytest.approx(expected_loss, rel=1e-12)


def test_laplacian_of_identical_images_is_zero_and_ignores_a_constant_offset_mostly() -> None:
    batch = random_triplets(size=32)
    assert laplacian_loss(batch.it, batch.it).item() == 0.0
    # A constant offset lives in the low-pass residual, which is not compared.
    assert laplacian_loss(batch.it + 0.1, batch.it).item() == pytest.approx(0.0, abs=1e-6)
    assert laplacian_loss(batch.i0, batch.it).item() > 0.01


def test_laplacian_levels_clamp_to_the_crop() -> None:
    assert laplacian_levels(64, 64, 5) == 5
    assert laplacian_levels(32, 32, 5) == 4  # the fifth level would be 2×2, too small to reflect-pad
    assert laplacian_levels(8, 8, 5) == 2
    assert laplacian_levels(2, 2, 5) == 0
    assert len(laplacian_pyramid(torch.rand(1, 3, 17, 23), 5)) == 4  # odd sizes work too


def test_laplacian_gradcheck() -> None:
    batch = random_triplets(n=1, size=8, dtype=torch.float64)
    pred = batch.i0.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: laplacian_loss(p, batch.it, levels=2), (pred,))


def test_multiscale_levels_clamp_to_the_crop() -> None:
    assert multiscale_levels(64, 64, 5) == 5
    assert multiscale_levels(32, 32, 5) == 4  # coarsest 4×4
    assert multiscale_levels(256, 256, 5) == 5
    assert multiscale_levels(3, 3, 5) == 1
    assert multiscale_levels(64, 64, 2) == 2


def test_ms_charbonnier_with_one_level_is_alpha0_times_two_charbonniers() -> None:
    batch = random_triplets(size=16, seed=4)
    prediction = prediction_from(batch.it)
    eps = 1e-3
    expected = BMBC_ALPHA0 * (
        charbonnier_loss(backward_warp(batch.i0, prediction.flow_t0_approx), batch.it, eps)
        + charbonnier_loss(backward_warp(batch.i1, prediction.flow_t1_approx), batch.it, eps)
    )
    (term,) = parse_config("ms-charbonnier(levels=1,eps=1e-3)").resolve()
    value = term.info.factory(**term.params)(prediction, batch)
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)


def test_ms_charbonnier_level_weights_double_per_level() -> None:
    # Constant inputs: every warp returns the constant, so each level costs 2·√((c−d)² + ε²).
    n, size, c, d, eps = 2, 32, 0.7, 0.2, 1e-6
    full = torch.full((n, 3, size, size), c)
    batch = Triplets(full, torch.full_like(full, d), full, torch.full((n,), 0.5))
    flows = torch.randn(n, 2, size, size)
    total = multiscale_warping_charbonnier(batch.i0, batch.it, batch.i1, flows, -flows, levels=5, eps=eps)
    per_level = 2 * ((c - d) ** 2 + eps**2) ** 0.5
    assert total.item() == pytest.approx(BMBC_ALPHA0 * (1 + 2 + 4 + 8) * per_level, rel=1e-5)  # 4 levels at 32 px


def test_ms_charbonnier_reads_the_pre_refinement_flows() -> None:
    batch = random_triplets(size=16)
    prediction = prediction_from(batch.it)
    (term,) = parse_config("ms-charbonnier").resolve()
    module = term.info.factory(**term.params)
    changed = dataclasses.replace(prediction, flow_t0=prediction.flow_t0 + 3.0, flow_t1=prediction.flow_t1 - 3.0)
    assert torch.equal(module(prediction, batch), module(changed, batch))
    moved = dataclasses.replace(prediction, flow_t0_approx=prediction.flow_t0_approx + 1.5)
    assert not torch.equal(module(prediction, batch), module(moved, batch))


def test_ms_charbonnier_gradcheck() -> None:
    batch = random_triplets(n=1, size=8, dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    flow_t0 = (0.3 + 0.4 * torch.rand(1, 2, 8, 8, generator=g, dtype=torch.float64)).requires_grad_(True)
    flow_t1 = (-0.3 - 0.4 * torch.rand(1, 2, 8, 8, generator=g, dtype=torch.float64)).requires_grad_(True)

    def loss(f0: torch.Tensor, f1: torch.Tensor) -> torch.Tensor:
        return multiscale_warping_charbonnier(batch.i0, batch.it, batch.i1, f0, f1, levels=2, eps=1e-3)

    assert torch.autograd.gradcheck(loss, (flow_t0, flow_t1))


@pytest.mark.parametrize("size", [(3, 3), (4, 7), (9, 5)])
def test_the_gather_only_reflect_pad_equals_torchs_in_values_and_gradients(size: tuple[int, int]) -> None:
    """The Laplacian pyramid pads CUDA tensors with flipped slices (CUDA's reflection-pad backward is not
    deterministic); it must be the same padding, forward and backward, as F.pad's reflect mode."""
    x = torch.randn(2, 3, *size, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    weights = torch.randn(2, 3, size[0] + 4, size[1] + 4, dtype=torch.float64)
    ours, theirs = reflect_pad_by_2(x), torch.nn.functional.pad(x, (2, 2, 2, 2), mode="reflect")
    assert torch.equal(ours, theirs)
    (grad_ours,) = torch.autograd.grad((ours * weights).sum(), x)
    (grad_theirs,) = torch.autograd.grad((theirs * weights).sum(), x)
    torch.testing.assert_close(grad_ours, grad_theirs, rtol=0, atol=1e-12)


def _ms_reference(batch: Triplets, flow_t0: torch.Tensor, flow_t1: torch.Tensor, levels: int,
                  eps: float) -> float:
    """BMBC's loss written from its definition: at level l, 2^l×2^l block means of images and flows, the
    flows divided by 2^l, both inputs warped onto the middle frame, Charbonnier, weight 0.01·2^l."""
    total = 0.0
    for level in range(levels):
        k = 2**level

        def down(x: torch.Tensor) -> torch.Tensor:
            return x if k == 1 else torch.nn.functional.avg_pool2d(x, k, k)

        for image, flow in ((batch.i0, flow_t0), (batch.i1, flow_t1)):
            warped = backward_warp(down(image), down(flow) / k)
            total += 0.01 * k * torch.sqrt((warped - down(batch.it)) ** 2 + eps**2).mean().item()
    return total


def test_ms_charbonnier_matches_its_definition_over_three_levels() -> None:
    batch = random_triplets(n=2, size=16, seed=6)
    g = torch.Generator().manual_seed(5)
    flow_t0, flow_t1 = 2.0 * torch.randn(2, 2, 16, 16, generator=g), 2.0 * torch.randn(2, 2, 16, 16, generator=g)
    value = multiscale_warping_charbonnier(batch.i0, batch.it, batch.i1, flow_t0, flow_t1, levels=3, eps=1e-3)
    assert value.item() == pytest.approx(_ms_reference(batch, flow_t0, flow_t1, 3, 1e-3), rel=1e-5)


def test_ms_charbonnier_of_the_true_motion_costs_only_epsilon_at_every_level() -> None:
    # A texture moving 2 px per half-interval: at level 1 (2×2 blocks) the motion is exactly 1 px of that level.
    scene, shift = shifted_scene(size=24, shift=2)
    flow_t0, flow_t1 = torch.zeros(1, 2, 24, 24), torch.zeros(1, 2, 24, 24)
    flow_t0[:, 0], flow_t1[:, 0] = -shift, shift
    value = multiscale_warping_charbonnier(scene.i0, scene.it, scene.i1, flow_t0, flow_t1, levels=2, eps=1e-6)
    assert value.item() == pytest.approx(BMBC_ALPHA0 * (1 + 2) * 2 * 1e-6, abs=1e-7)


def test_lap_and_ms_charbonnier_defaults_are_rifes_and_bmbcs() -> None:
    (lap,) = parse_config("lap").resolve()
    assert lap.params == {"levels": 5}  # RIFE: LapLoss(max_levels=5)
    (ms,) = parse_config("ms-charbonnier").resolve()
    assert ms.params == {"levels": 5, "eps": 1e-6}  # BMBC: five motion levels, ε = 1e-6


def test_the_lap_term_uses_the_levels_it_is_given() -> None:
    batch = random_triplets(size=32)
    pred = batch.it.flip(-1)
    (term,) = parse_config("lap(levels=2)").resolve()
    module = term.info.factory(**term.params)
    value = module(prediction_from(pred), batch).item()
    assert value == pytest.approx(laplacian_loss(pred, batch.it, levels=2).item(), rel=1e-6)
    assert value != pytest.approx(laplacian_loss(pred, batch.it, levels=5).item(), rel=1e-3)
