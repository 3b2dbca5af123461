"""The fixed interpolator: what its prediction carries, how it is built, and that it runs for any t."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from vfibench.errors import VfiBenchError
from vfibench.model.interpolator import Interpolator, build_interpolator, count_parameters, resize_flow
from vfibench.model.prediction import Prediction
from vfibench.model.variants import MODEL_VARIANTS, check_variant, variant_record
from vfibench.model.warp import backward_warp, blend, intermediate_flows
from vfibench.presets import get_preset, preset_from_dict

SIZE = 32


def textured_pair(n: int = 2, h: int = SIZE, w: int = SIZE, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random textures, I1 = I0 moved 2 px right (so the flow network sees real motion)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, h // 4 + 2, w // 4 + 2, generator=g)
    big = torch.nn.functional.interpolate(coarse, size=(h + 8, w + 8), mode="bilinear", align_corners=False)
    return big[..., 4:4 + h, 4:4 + w].contiguous(), big[..., 4:4 + h, 2:2 + w].contiguous()


@pytest.fixture(scope="module")
def model() -> Interpolator:
    return build_interpolator(width=8, seed=0)


def perturbed(model: Interpolator, seed: int = 1) -> Interpolator:
    """A copy whose weights are moved away from the near-zero head initialisation (as after training)."""
    other = build_interpolator(width=model.width, seed=0, variant=model.variant)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return other


def test_prediction_carries_every_tensor_with_its_shape(model: Interpolator) -> None:
    i0, i1 = textured_pair(n=3)
    pred = model(i0, i1, 0.5)
    assert isinstance(pred, Prediction)
    shapes = {f.name: tuple(getattr(pred, f.name).shape) for f in dataclasses.fields(Prediction)}
    assert shapes == {
        "frame": (3, 3, SIZE, SIZE),
        "flow_01": (3, 2, SIZE, SIZE), "flow_10": (3, 2, SIZE, SIZE),
        "flow_t0_approx": (3, 2, SIZE, SIZE), "flow_t1_approx": (3, 2, SIZE, SIZE),
        "flow_t0": (3, 2, SIZE, SIZE), "flow_t1": (3, 2, SIZE, SIZE),
        "warped_0": (3, 3, SIZE, SIZE), "warped_1": (3, 3, SIZE, SIZE),
        "visibility_0": (3, 1, SIZE, SIZE), "visibility_1": (3, 1, SIZE, SIZE),
        "blended": (3, 3, SIZE, SIZE),
    }
    for f in dataclasses.fields(Prediction):
        assert torch.isfinite(getattr(pred, f.name)).all(), f.name


@pytest.mark.parametrize("t", [0.125, 0.7])
def test_prediction_is_internally_consistent(model: Interpolator, t: float) -> None:
    """Each field is what the paper's pipeline says it is, so losses acting on it act on the model."""
    trained = perturbed(model)
    i0, i1 = textured_pair()
    pred = trained(i0, i1, t)
    ft0, ft1 = intermediate_flows(pred.flow_01, pred.flow_10, t)
    torch.testing.assert_close(pred.flow_t0_approx, ft0)
    torch.testing.assert_close(pred.flow_t1_approx, ft1)
    assert not torch.allclose(pred.flow_t0, pred.flow_t0_approx, atol=1e-3)  # refinement acts
    torch.testing.assert_close(pred.warped_0, backward_warp(i0, pred.flow_t0))
    torch.testing.assert_close(pred.warped_1, backward_warp(i1, pred.flow_t1))
    assert pred.visibility_0.min() >= 0 and pred.visibility_0.max() <= 1
    torch.testing.assert_close(pred.visibility_0 + pred.visibility_1, torch.ones_like(pred.visibility_0))
    expected = blend(pred.warped_0, pred.warped_1, pred.visibility_0, pred.visibility_1, t)
    torch.testing.assert_close(pred.blended, expected)
    assert not torch.allclose(pred.frame, pred.blended, atol=1e-3)  # the synthesis stage acts
    assert trained.synthesis_net is not None
    stage_free = perturbed(build_interpolator(width=8, seed=0, variant="warp-blend"))
    plain = stage_free(i0, i1, t)
    torch.testing.assert_close(plain.frame, plain.blended)  # warp-blend: the output is the blend


def test_synthesis_variant_adds_a_stage_and_keeps_the_flow_stages_initialisation() -> None:
    """Only the synthesis stage differs: the same seed gives the same flow and refinement weights."""
    full = build_interpolator(width=8, seed=3).state_dict()
    stage_free = build_interpolator(width=8, seed=3, variant="warp-blend").state_dict()
    assert set(stage_free) < set(full)
    assert {k.split(".")[0] for k in set(full) - set(stage_free)} == {"synthesis_net"}
    assert all(torch.equal(full[k], stage_free[k]) for k in stage_free)


def test_fresh_synthesis_model_is_the_stage_free_model() -> None:
    """The residual starts near zero: a fresh model's output is its blend (the `blend` reference)."""
    i0, i1 = textured_pair()
    for t in (0.2, 0.5):
        full = build_interpolator(width=8, seed=0)(i0, i1, t)
        stage_free = build_interpolator(width=8, seed=0, variant="warp-blend")(i0, i1, t)
        torch.testing.assert_close(full.blended, stage_free.frame)
        assert (full.frame - stage_free.frame).abs().max() < 1e-2  # the residual head starts at 1 % of its init


def test_model_is_deterministic_for_a_seed() -> None:
    i0, i1 = textured_pair()
    a = perturbed(build_interpolator(width=8, seed=5))(i0, i1, 0.5).frame
    b = perturbed(build_interpolator(width=8, seed=5))(i0, i1, 0.5).frame
    assert torch.equal(a, b)


def test_unknown_variant_is_a_user_error_listing_the_variants() -> None:
    with pytest.raises(VfiBenchError, match="warp-blend"):
        build_interpolator(width=8, variant="unet")
    assert check_variant("synthesis") == "synthesis" and set(MODEL_VARIANTS) == {"synthesis", "warp-blend"}


def test_a_variant_that_is_not_a_name_is_a_user_error() -> None:
    with pytest.raises(VfiBenchError, match="Unknown model variant"):
        check_variant(["synthesis"])


def test_the_stage_free_variant_is_recorded_as_the_first_model_version() -> None:
    assert variant_record("warp-blend") == {"variant": "warp-blend", "version": 1,
                                            "description": MODEL_VARIANTS["warp-blend"][1]}


def test_a_bad_model_size_is_both_a_user_error_and_a_value_error() -> None:
    with pytest.raises(ValueError, match="width=0") as info:
        build_interpolator(width=0)
    assert isinstance(info.value, VfiBenchError)


def test_runs_recorded_before_variants_existed_rebuild_the_stage_free_model() -> None:
    recorded = get_preset("smoke").to_dict()
    del recorded["model"], recorded["ambiguity"]
    old = preset_from_dict(recorded)
    assert old.model == "warp-blend" and old.ambiguity == 0.0
    assert get_preset("quick").model == "synthesis"


@pytest.mark.parametrize("t", [0.01, 0.5, 0.99])
def test_fresh_model_starts_from_the_time_weighted_blend(model: Interpolator, t: float) -> None:
    i0, i1 = textured_pair()
    pred = model(i0, i1, t)
    torch.testing.assert_close(pred.frame, (1 - t) * i0 + t * i1, atol=0.03, rtol=0)
    assert pred.flow_01.abs().max() < 0.5 and (pred.visibility_0 - 0.5).abs().max() < 0.05


def test_any_time_per_sample_equals_running_each_sample_alone(model: Interpolator) -> None:
    trained = perturbed(model)
    i0, i1 = textured_pair(n=3)
    times = torch.tensor([0.1, 0.5, 0.85])
    together = trained(i0, i1, times).frame
    for k, t in enumerate(times.tolist()):
        alone = trained(i0[k:k + 1], i1[k:k + 1], t).frame
        torch.testing.assert_close(together[k:k + 1], alone, atol=1e-5, rtol=0)
    assert not torch.allclose(trained(i0, i1, 0.2).frame, trained(i0, i1, 0.8).frame, atol=1e-3)


@pytest.mark.parametrize(("h", "w"), [(20, 36), (33, 17)])
def test_sizes_that_are_not_multiples_of_the_pyramid_are_padded_and_cropped(model: Interpolator, h: int,
                                                                             w: int) -> None:
    i0, i1 = textured_pair(n=1, h=h, w=w)
    pred = model(i0, i1, 0.5)
    assert pred.frame.shape == (1, 3, h, w) and pred.flow_t1.shape == (1, 2, h, w)


@pytest.mark.parametrize(("h", "w"), [(20, 36), (33, 17)])
def test_a_frame_of_any_size_is_the_top_left_of_the_frame_of_its_inputs_replicate_padded(
        model: Interpolator, h: int, w: int) -> None:
    """Inputs are extended by their last row and column to a multiple of the pyramid, and every output is that
    model's output cut back to the inputs' own pixels."""
    trained = perturbed(model)
    i0, i1 = textured_pair(n=1, h=h, w=w)
    pad = (0, (-w) % 16, 0, (-h) % 16)
    padded = trained(*(torch.nn.functional.pad(x, pad, mode="replicate") for x in (i0, i1)), 0.3)
    pred = trained(i0, i1, 0.3)
    for f in dataclasses.fields(Prediction):
        assert torch.equal(getattr(pred, f.name), getattr(padded, f.name)[..., :h, :w]), f.name


def test_same_seed_gives_identical_parameters_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_interpolator(width=8, seed=7).state_dict()
    after = torch.rand(1)
    assert torch.equal(before, after)  # building a model neither reads nor advances the global stream
    b = build_interpolator(width=8, seed=7).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    c = build_interpolator(width=8, seed=8).state_dict()
    assert any(not torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("variant", sorted(MODEL_VARIANTS))
def test_width_scales_the_parameter_count(variant: str) -> None:
    counts = {w: count_parameters(build_interpolator(width=w, variant=variant)) for w in (8, 16, 32)}
    assert 50_000 < counts[8] < counts[16] < counts[32]
    assert 100_000 < counts[16] < 1_000_000  # "a few hundred thousand" by default
    assert 2.5 < counts[16] / counts[8] < 4.5 and 2.5 < counts[32] / counts[16] < 4.5  # ≈ quadratic
    assert count_parameters(Interpolator(variant=variant)) == counts[16]


@pytest.mark.parametrize("variant", sorted(MODEL_VARIANTS))
def test_training_signal_reaches_every_parameter(variant: str) -> None:
    trained = perturbed(build_interpolator(width=4, seed=0, variant=variant))
    i0, i1 = textured_pair(n=1)
    (trained(i0, i1, 0.5).frame - 0.5 * (i0 + i1)).abs().mean().backward()
    silent = [name for name, p in trained.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert silent == []


def test_float64_and_module_device_follow_the_parameters() -> None:
    model = build_interpolator(width=4, seed=0).double()
    i0, i1 = textured_pair(n=1)
    pred = model(i0.double(), i1.double(), torch.tensor([0.5], dtype=torch.float64))
    assert pred.frame.dtype == torch.float64 and pred.flow_t0.device == i0.device


@pytest.mark.parametrize("kwargs", [{"width": 0}, {"width": 8.5}, {"levels": 0}, {"corr_radius": -1}])
def test_impossible_sizes_are_user_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(VfiBenchError, match="must be an integer"):
        Interpolator(**kwargs)  # type: ignore[arg-type]


def test_inputs_of_the_wrong_shape_are_refused(model: Interpolator) -> None:
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, 16, 16), 0.5)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 32), 0.5)


def test_resizing_a_flow_rescales_its_vectors_to_the_new_pixels() -> None:
    flow = torch.empty(1, 2, 8, 12)
    flow[:, 0], flow[:, 1] = 3.0, -1.5
    doubled = resize_flow(flow, (16, 24))
    assert torch.allclose(doubled[:, 0], torch.full((1, 16, 24), 6.0))
    assert torch.allclose(doubled[:, 1], torch.full((1, 16, 24), -3.0))
    taller = resize_flow(flow, (32, 12))  # each axis by its own factor
    assert torch.allclose(taller[:, 0], torch.full((1, 32, 12), 3.0))
    assert torch.allclose(taller[:, 1], torch.full((1, 32, 12), -6.0))


class ImagePyramid(torch.nn.Module):
    """An encoder whose features are the image itself, average-pooled to 1/2, 1/4, …, 1/2^levels."""

    def __init__(self, levels: int) -> None:
        super().__init__()
        self.levels = levels

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        return [torch.nn.functional.avg_pool2d(image, 2 ** (level + 1)) for level in range(self.levels)]


class BestShiftLevel(torch.nn.Module):
    """A decoder level that knows its answer: the whole-pixel residual Δ, |Δ|∞ ≤ 2, for which
    g(f_b, F + Δ) is closest to f_a, one per sample."""

    def forward(self, feat_a: torch.Tensor, feat_b: torch.Tensor, flow: torch.Tensor, stride: int) -> torch.Tensor:
        shifts = torch.tensor([(dx, dy) for dy in range(-2, 3) for dx in range(-2, 3)], dtype=flow.dtype)
        errors = torch.stack(
            [(feat_a - backward_warp(feat_b, flow + s.view(1, 2, 1, 1))).abs().mean(dim=(1, 2, 3)) for s in shifts],
            dim=1,
        )
        return shifts[errors.argmin(dim=1)].view(-1, 2, 1, 1).expand_as(flow)


def test_the_flow_network_refines_coarse_to_fine_and_names_each_direction_by_its_source_frame() -> None:
    # With exact decoders the coarse-to-fine loop must recover a translation the coarsest level sees only
    # roughly (1.5, −0.75) px at 1/8, and return F0→1 (g(I1, F0→1) = I0) first, F1→0 second.
    net = Interpolator(width=4, levels=3).flow_net.double()
    net.encoder = ImagePyramid(3)
    net.decoders = torch.nn.ModuleList(BestShiftLevel() for _ in range(3))
    g = torch.Generator().manual_seed(3)
    big = torch.nn.functional.interpolate(torch.rand(1, 3, 14, 14, generator=g, dtype=torch.float64),
                                          size=(96, 96), mode="bilinear", align_corners=False)
    i0 = big[..., 16:80, 16:80]
    i1 = big[..., 22:86, 4:68]  # I1(x, y) = I0(x − 12, y + 6): the scene moved 12 px right and 6 px up
    flow_01, flow_10 = net(i0, i1)
    assert torch.equal(flow_01[:, 0], torch.full_like(flow_01[:, 0], 12.0))
    assert torch.equal(flow_01[:, 1], torch.full_like(flow_01[:, 1], -6.0))
    assert torch.equal(flow_10, -flow_01)
    inner = (..., slice(8, -8), slice(16, -16))
    assert torch.allclose(backward_warp(i1, flow_01)[inner], i0[inner], atol=1e-12)
    assert torch.allclose(backward_warp(i0, flow_10)[inner], i1[inner], atol=1e-12)
