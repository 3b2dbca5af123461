"""Backward warping, Super SloMo's intermediate flows and the visibility-weighted blend."""

from __future__ import annotations

import pytest
import torch

from vfibench.model.warp import backward_warp, blend, gather_warp, intermediate_flows, time_weights

from helpers import needs_cuda


def shifted(content, dx: float, dy: float, n: int = 1, h: int = 20, w: int = 24) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """An (n, 3, h, w) image whose pixel (y, x) is content(x - dx, y - dy): content moved by (dx, dy)."""
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                            indexing="ij")
    frame = torch.stack([content(xs - dx, ys - dy, c) for c in range(3)])
    return frame.expand(n, -1, -1, -1).clone()


def constant_flow(dx: float, dy: float, n: int = 1, h: int = 20, w: int = 24) -> torch.Tensor:
    flow = torch.zeros(n, 2, h, w, dtype=torch.float64)
    flow[:, 0], flow[:, 1] = dx, dy
    return flow


def interior(x: torch.Tensor, margin: int) -> torch.Tensor:
    return x[..., margin:-margin, margin:-margin]


@pytest.mark.parametrize(("dx", "dy"), [(3, -2), (-5, 4), (0, 1)])
def test_integer_shift_is_undone_exactly(dx: int, dy: int) -> None:
    g = torch.Generator().manual_seed(0)
    texture = torch.rand(3, 40, 40, generator=g, dtype=torch.float64)

    def content(x: torch.Tensor, y: torch.Tensor, c: int) -> torch.Tensor:
        return texture[c, (y + 8).long(), (x + 8).long()]

    i0 = shifted(content, 0, 0)
    i1 = shifted(content, dx, dy)  # I1(x) = I0(x - d): the content moved by d
    restored = backward_warp(i1, constant_flow(dx, dy))  # g(I1, d)(x) = I1(x + d) = I0(x)
    torch.testing.assert_close(interior(restored, 6), interior(i0, 6), rtol=0, atol=1e-12)
    # float32: the pixel-to-grid normalisation rounds, so "exact" means within 1e-5.
    restored32 = backward_warp(i1.float(), constant_flow(dx, dy).float())
    torch.testing.assert_close(interior(restored32, 6), interior(i0, 6).float(), rtol=0, atol=1e-5)


@pytest.mark.parametrize(("dx", "dy"), [(0.5, 0.0), (0.25, -0.75), (-1.6, 2.3)])
def test_subpixel_shift_is_undone_exactly(dx: float, dy: float) -> None:
    # Bilinear interpolation reproduces a + b·x + c·y + d·x·y exactly, so warping a shifted
    # bilinear pattern back must give the original, up to rounding, away from the borders.
    coeffs = torch.tensor([[0.1, 0.02, 0.03, 0.001], [0.5, -0.01, 0.02, 0.0005], [0.9, -0.02, -0.01, 0.0]],
                          dtype=torch.float64)

    def content(x: torch.Tensor, y: torch.Tensor, c: int) -> torch.Tensor:
        a, b, cy, d = coeffs[c]
        return a + b * x + cy * y + d * x * y

    i0, i1 = shifted(content, 0, 0), shifted(content, dx, dy)
    restored = backward_warp(i1, constant_flow(dx, dy))
    torch.testing.assert_close(interior(restored, 4), interior(i0, 4), rtol=0, atol=1e-12)


def test_subpixel_sample_is_the_bilinear_mix_of_four_neighbours() -> None:
    g = torch.Generator().manual_seed(1)
    image = torch.rand(1, 1, 6, 7, generator=g, dtype=torch.float64)
    fx, fy = 0.3, 0.6
    out = backward_warp(image, constant_flow(fx, fy, h=6, w=7))
    i = image[0, 0]
    expected = ((1 - fx) * (1 - fy) * i[:-1, :-1] + fx * (1 - fy) * i[:-1, 1:]
                + (1 - fx) * fy * i[1:, :-1] + fx * fy * i[1:, 1:])
    torch.testing.assert_close(out[0, 0, :-1, :-1], expected, rtol=0, atol=1e-12)


def test_outside_samples_take_the_border_value() -> None:
    image = torch.arange(12.0).view(1, 1, 3, 4)
    out = backward_warp(image, constant_flow(10.0, 0.0, h=3, w=4).float())
    assert torch.equal(out[0, 0], image[0, 0, :, 3:].expand(3, 4))


def test_zero_flow_is_the_identity_and_each_sample_uses_its_own_flow() -> None:
    g = torch.Generator().manual_seed(2)
    image = torch.rand(2, 3, 9, 11, generator=g)
    torch.testing.assert_close(backward_warp(image, torch.zeros(2, 2, 9, 11)), image, rtol=0, atol=1e-5)
    flow = torch.zeros(2, 2, 9, 11)
    flow[1, 0] = 1.0
    out = backward_warp(image, flow)
    torch.testing.assert_close(out[0], image[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(out[1, :, :, :-1], image[1, :, :, 1:], rtol=0, atol=1e-5)


def test_warp_gradients_reach_image_and_flow() -> None:
    g = torch.Generator().manual_seed(3)
    image = torch.rand(1, 2, 5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    flow = (0.3 + 0.4 * torch.rand(1, 2, 5, 6, generator=g, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(backward_warp, (image, flow))


def test_warp_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="flow"):
        backward_warp(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="spatial size"):
        backward_warp(torch.zeros(1, 3, 8, 8), torch.zeros(1, 2, 8, 9))


@pytest.mark.parametrize("t", [0.1, 0.25, 0.5, 0.8, 0.95])
def test_intermediate_flows_follow_super_slomo_eq4(t: float) -> None:
    g = torch.Generator().manual_seed(4)
    f01, f10 = torch.randn(2, 2, 2, 5, 5, generator=g, dtype=torch.float64)
    ft0, ft1 = intermediate_flows(f01, f10, t)
    torch.testing.assert_close(ft0, -(1 - t) * t * f01 + t * t * f10, rtol=0, atol=1e-12)
    torch.testing.assert_close(ft1, (1 - t) ** 2 * f01 - t * (1 - t) * f10, rtol=0, atol=1e-12)


def test_intermediate_flows_use_each_samples_own_time() -> None:
    g = torch.Generator().manual_seed(5)
    f01, f10 = torch.randn(2, 3, 2, 4, 4, generator=g, dtype=torch.float64)
    times = torch.tensor([0.2, 0.5, 0.7], dtype=torch.float64)
    ft0, ft1 = intermediate_flows(f01, f10, times)
    for k, t in enumerate(times.tolist()):
        a0, a1 = intermediate_flows(f01[k:k + 1], f10[k:k + 1], t)
        torch.testing.assert_close(ft0[k:k + 1], a0, rtol=0, atol=0)
        torch.testing.assert_close(ft1[k:k + 1], a1, rtol=0, atol=0)


def test_intermediate_flows_of_linear_motion_point_to_the_right_places() -> None:
    # Content moving by d from I0 to I1: F0→1 = d, F1→0 = −d, so Ft→0 = −t·d and Ft→1 = (1−t)·d.
    d = torch.tensor([4.0, -2.0], dtype=torch.float64).view(1, 2, 1, 1).expand(1, 2, 3, 3)
    ft0, ft1 = intermediate_flows(d, -d, 0.3)
    torch.testing.assert_close(ft0, -0.3 * d)
    torch.testing.assert_close(ft1, 0.7 * d)


def test_blend_weights_time_and_visibility() -> None:
    a, b = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    half = torch.full((1, 1, 2, 2), 0.5)
    torch.testing.assert_close(blend(a, b, half, half, 0.5), torch.full((1, 3, 2, 2), 0.5), atol=1e-5, rtol=0)
    torch.testing.assert_close(blend(a, b, half, half, 0.25), torch.full((1, 3, 2, 2), 0.25), atol=1e-5, rtol=0)
    one, zero = torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    torch.testing.assert_close(blend(a, b, zero, one, 0.5), b, atol=1e-5, rtol=0)  # I0's pixel occluded
    torch.testing.assert_close(blend(a, b, one, zero, 0.5), a, atol=1e-5, rtol=0)


def test_blend_stays_finite_where_neither_frame_has_weight() -> None:
    """At t = 0 a pixel hidden in I0 (at t = 1 one hidden in I1) has no weight from either frame: the blend
    stays finite there instead of 0 / 0, so one such pixel cannot turn a training step into NaN."""
    gen = torch.Generator().manual_seed(6)
    a, b = torch.rand(2, 1, 3, 4, 4, generator=gen)
    one, zero = torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    assert torch.isfinite(blend(a, b, zero, one, 0.0)).all()
    assert torch.isfinite(blend(a, b, one, zero, 1.0)).all()
    torch.testing.assert_close(blend(a, b, one, zero, 0.0), a, atol=1e-5, rtol=0)


def test_time_weights_accepts_scalars_and_per_sample_times() -> None:
    ref = torch.zeros(3, 1, 1, 1, dtype=torch.float64)
    assert time_weights(0.5, ref).shape == (3, 1, 1, 1) and time_weights(0.5, ref).dtype == torch.float64
    assert time_weights(torch.tensor([0.1, 0.2, 0.3]), ref).flatten().tolist() == pytest.approx([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="one value per sample"):
        time_weights(torch.tensor([0.1, 0.2]), ref)


@pytest.mark.parametrize("size", [(7, 11), (16, 16), (1, 5)])
def test_the_gather_form_equals_grid_sample_in_values_and_gradients(size: tuple[int, int]) -> None:
    """The deterministic GPU form computes the same function, border clamping included (flows of up
    to ±1.5 image widths send many samples outside)."""
    h, w = size
    gen = torch.Generator().manual_seed(3)
    image = torch.rand(2, 3, h, w, generator=gen, dtype=torch.float64)
    flow = (torch.rand(2, 2, h, w, generator=gen, dtype=torch.float64) - 0.5) * 3 * max(h, w)
    weights = torch.rand(2, 3, h, w, generator=gen, dtype=torch.float64)
    results = []
    for warp in (backward_warp, gather_warp):
        img, flo = image.clone().requires_grad_(), flow.clone().requires_grad_()
        out = warp(img, flo)
        (out * weights).sum().backward()
        results.append((out.detach(), img.grad, flo.grad))
    for ours, reference in zip(results[1], results[0]):
        torch.testing.assert_close(ours, reference, atol=1e-10, rtol=0)


def test_the_gather_form_stays_in_bounds_for_nan_and_low_precision_flows() -> None:
    image = torch.rand(1, 3, 4, 300)
    nan_flow = torch.full((1, 2, 4, 300), float("nan"))
    assert torch.isnan(gather_warp(image, nan_flow)).all()  # a diverged model's output, not an index error
    flow = torch.zeros(1, 2, 4, 300)
    flow[:, 0] = 0.5
    low = gather_warp(image, flow.to(torch.bfloat16))  # x up to 299.5: bfloat16 alone would round it to 300
    torch.testing.assert_close(low, gather_warp(image, flow))


@needs_cuda
def test_the_gather_form_equals_grid_sample_on_a_gpu_in_float32() -> None:
    gen = torch.Generator().manual_seed(5)
    image = torch.rand(2, 3, 24, 40, generator=gen).cuda()
    flow = ((torch.rand(2, 2, 24, 40, generator=gen) - 0.5) * 60).cuda()
    torch.testing.assert_close(gather_warp(image, flow), backward_warp(image, flow), atol=1e-5, rtol=0)
