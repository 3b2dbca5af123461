"""Weight-free metrics (PSNR, SSIM, sharpness, GMSD) against scikit-image and known answers;
the metric registry; the metric suite."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage
import skimage.data
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from vfibench import backbones
from vfibench.errors import BackboneUnavailable, VfiBenchError
from vfibench.metrics.gmsd import gmsd
from vfibench.metrics.psnr import PSNR_MAX_DB, psnr
from vfibench.metrics.registry import METRICS, MetricInfo, metric_info, metric_names
from vfibench.metrics.sharpness import sharpness_ratio
from vfibench.metrics.ssim import gaussian_window, ssim
from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite, quantize_8bit, required_backbones

from helpers import DEVICES, needs_cuda


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """uint8 (H, W, 3) images → float64 (N, 3, H, W) in [0, 1]."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).to(torch.float64) / 255.0


def random_pair(seed: int, height: int, width: int, n: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Random 8-bit ground truth and a noisy, correlated prediction, each (n, H, W, 3)."""
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 256, size=(n, height, width, 3))
    pred = np.clip(gt + rng.normal(0, 25, size=gt.shape), 0, 255).round()
    return pred.astype(np.uint8), gt.astype(np.uint8)


def real_pair(name: str, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A crop of a scikit-image photograph and a blurred, noisy copy of it (uint8, H×W×3)."""
    image = getattr(skimage.data, name)()[:height, :width, :3]
    rng = np.random.default_rng(0)
    blurred = scipy.ndimage.gaussian_filter(image.astype(np.float64), sigma=(1.2, 1.2, 0))
    pred = np.clip(blurred + rng.normal(0, 4, size=image.shape), 0, 255).round().astype(np.uint8)
    return pred, image


# --------------------------------------------------------------------------- PSNR


@pytest.mark.parametrize("shape", [(1, 16, 16), (3, 64, 96), (2, 97, 130)])
def test_psnr_equals_skimage_on_8bit_data(shape):
    pred, gt = random_pair(1, shape[1], shape[2], n=shape[0])
    ours = psnr(to_tensor(list(pred)), to_tensor(list(gt)))
    for k in range(shape[0]):
        expected = peak_signal_noise_ratio(gt[k], pred[k], data_range=255)
        assert abs(ours[k].item() - expected) < 1e-6


def test_psnr_on_real_image_and_float32_input():
    pred, gt = real_pair("chelsea", 300, 451)
    expected = peak_signal_noise_ratio(gt, pred, data_range=255)
    assert abs(psnr(to_tensor([pred]), to_tensor([gt])).item() - expected) < 1e-4
    assert abs(psnr(to_tensor([pred]).float(), to_tensor([gt]).float()).item() - expected) < 1e-4


def test_psnr_known_answer_and_cap():
    gt = torch.zeros(2, 3, 8, 8, dtype=torch.float64)
    out = psnr(torch.stack([gt[0] + 0.1, gt[1]]), gt)
    assert out.dtype == torch.float64 and out.shape == (2,)
    assert out[0].item() == pytest.approx(20.0, abs=1e-9)
    assert out[1].item() == PSNR_MAX_DB  # identical frames: the documented cap, not +inf


def test_psnr_is_the_mean_of_per_frame_values_not_pooled():
    gt = torch.zeros(2, 3, 8, 8, dtype=torch.float64)
    pred = torch.stack([gt[0] + 0.1, gt[1] + 0.01])
    per_frame = psnr(pred, gt)
    pooled = -10 * math.log10(((pred - gt) ** 2).mean().item())
    assert per_frame.mean().item() == pytest.approx(30.0)
    assert pooled == pytest.approx(22.967, abs=1e-3)  # what a pooled-MSE PSNR reports


# --------------------------------------------------------------------------- SSIM


def test_gaussian_window_is_scipys_gaussian_filter_kernel():
    """The taps are the response of scipy's ``gaussian_filter`` (σ = 1.5, truncate 3.5: 11 taps, what
    scikit-image's Gaussian SSIM filters with) to a unit impulse."""
    from scipy.ndimage import gaussian_filter1d

    taps = gaussian_window()
    impulse = np.zeros(21)
    impulse[10] = 1.0
    response = gaussian_filter1d(impulse, 1.5, truncate=3.5, mode="constant")
    assert taps.numel() == 11 and np.all(response[:5] == 0) and np.all(response[16:] == 0)
    np.testing.assert_allclose(taps.numpy(), response[5:16], rtol=0, atol=1e-15)


@pytest.mark.parametrize("shape", [(1, 11, 11), (2, 11, 17), (3, 64, 96), (2, 96, 64), (1, 97, 130)])
def test_ssim_equals_skimage_on_random_images(shape):
    pred, gt = random_pair(2, shape[1], shape[2], n=shape[0])
    ours = ssim(to_tensor(list(pred)), to_tensor(list(gt)))
    for k in range(shape[0]):
        expected = structural_similarity(
            gt[k].astype(np.float64) / 255, pred[k].astype(np.float64) / 255, gaussian_weights=True,
            sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=-1,
        )
        assert abs(ours[k].item() - expected) < 1e-6


@pytest.mark.parametrize(("name", "height", "width"), [("astronaut", 128, 96), ("chelsea", 300, 451), ("coffee", 77, 200)])
def test_ssim_equals_skimage_on_real_images(name, height, width):
    pred, gt = real_pair(name, height, width)
    expected = structural_similarity(
        gt.astype(np.float64) / 255, pred.astype(np.float64) / 255, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=1, channel_axis=-1,
    )
    assert abs(ssim(to_tensor([pred]), to_tensor([gt])).item() - expected) < 1e-6
    assert abs(ssim(to_tensor([pred]).float(), to_tensor([gt]).float()).item() - expected) < 1e-6


def test_ssim_does_not_depend_on_how_many_planes_are_filtered_together(monkeypatch):
    """A CPU filters cache-sized groups of planes, an accelerator all of them at once: same values."""
    from vfibench.metrics import ssim as ssim_module

    pred, gt = random_pair(4, 40, 56, n=5)
    x, y = to_tensor(list(pred)), to_tensor(list(gt))
    grouped = ssim(x, y)
    monkeypatch.setattr(ssim_module, "BLUR_PIXELS", 1)  # one plane per group
    assert torch.equal(ssim(x, y), grouped)
    monkeypatch.setattr(ssim_module, "BLUR_PIXELS", 1 << 30)  # every plane in one group, as on a GPU
    assert torch.equal(ssim(x, y), grouped)
    monkeypatch.undo()
    assert ssim_module._groups(torch.empty(15, 1, 40, 56, device="meta")) == [slice(0, 15)]
    assert len(ssim_module._groups(torch.empty(15, 1, 400, 560))) == 15


def test_ssim_identical_is_one_and_too_small_is_an_error():
    x = torch.rand(2, 3, 20, 24)
    assert torch.allclose(ssim(x, x), torch.ones(2, dtype=torch.float64))
    with pytest.raises(VfiBenchError, match=r"at least 11×11 pixels, got 40×10 \(width × height\)"):  # as sizes elsewhere
        ssim(torch.rand(1, 3, 10, 40), torch.rand(1, 3, 10, 40))


# --------------------------------------------------------------------------- sharpness


def test_sharpness_is_one_for_identical_frames():
    x = to_tensor([real_pair("astronaut", 96, 96)[1]])
    assert sharpness_ratio(x, x).item() == pytest.approx(1.0, abs=1e-12)
    flat = torch.full((1, 3, 16, 16), 0.5)
    assert sharpness_ratio(flat, flat).item() == pytest.approx(1.0)


def test_sharpness_falls_monotonically_with_blur():
    image = real_pair("astronaut", 96, 128)[1].astype(np.float64)
    gt = to_tensor([image.astype(np.uint8)])
    ratios = []
    for sigma in (0.5, 1.0, 2.0, 4.0):
        blurred = scipy.ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0))
        ratios.append(sharpness_ratio(to_tensor([blurred.round().astype(np.uint8)]), gt).item())
    assert ratios[0] < 1.0
    assert all(a > b for a, b in zip(ratios, ratios[1:])), ratios


# --------------------------------------------------------------------------- GMSD


def test_gmsd_identical_is_zero_and_distortion_is_positive():
    pred, gt = real_pair("coffee", 96, 96)
    x = to_tensor([gt])
    assert gmsd(x, x).item() == pytest.approx(0.0, abs=1e-12)
    assert gmsd(to_tensor([pred]), x).item() > 0.01


# --------------------------------------------------------------------------- IE


def test_interpolation_error_is_the_reference_scripts_mean_absolute_level_difference():
    pred, gt = random_pair(5, 40, 56, n=3)
    # IFRNet metric.py calculate_ie: |round(255 a) - round(255 b)|.mean(); RIFE MiddleBury_Other.py the same
    # on its rounded prediction and 8-bit truth. Per frame; a set reports the mean of frames.
    expected = [np.abs(p.astype(np.float64) - g.astype(np.float64)).mean() for p, g in zip(pred, gt)]
    scores = metric_info("ie").compute(to_tensor(list(pred)), to_tensor(list(gt)))
    np.testing.assert_allclose(scores.numpy(), expected, rtol=0, atol=1e-12)
    # a float prediction is rounded to its 8-bit level first, as the scripts round theirs
    truth = to_tensor([gt[0]])
    assert metric_info("ie").compute((truth + 0.4 / 255).clamp(max=1), truth).item() == 0.0
    assert metric_info("ie").compute((truth + 0.6 / 255).clamp(max=1), truth).item() == pytest.approx(
        np.mean(gt[0] < 255), abs=1e-12)  # +0.6 of a level rounds up, except where the truth is already 255
    assert not metric_info("ie").higher_is_better and metric_info("ie").needs == ()


def test_gmsd_is_per_frame():
    pred, gt = random_pair(3, 48, 64, n=3)
    batch = gmsd(to_tensor(list(pred)), to_tensor(list(gt)))
    single = torch.cat([gmsd(to_tensor([pred[k]]), to_tensor([gt[k]])) for k in range(3)])
    assert torch.allclose(batch, single, atol=1e-12)


@pytest.mark.parametrize("height,width", [(64, 96), (65, 96), (64, 97), (33, 31)])
def test_gmsd_equals_piq_on_the_same_grey_images(height, width):
    """vfibench computes GMSD as piq does (odd sizes padded in both directions, as piq pads them),
    on MATLAB-convention grey levels, without importing piq."""
    piq = pytest.importorskip("piq", reason="piq is in the test extra: pip install -e '.[test]'")
    from vfibench.metrics._common import matlab_grey
    from vfibench.metrics.gmsd import T

    pred, gt = real_pair("astronaut", height, width)
    p, g = to_tensor([pred]), to_tensor([gt])
    expected = piq.gmsd(matlab_grey(p.double()), matlab_grey(g.double()), reduction="none", data_range=1.0, t=T)
    assert torch.allclose(gmsd(p, g), expected, atol=1e-12, rtol=0)


# --------------------------------------------------------------------------- shared input checks


@pytest.mark.parametrize("fn", [psnr, ssim, sharpness_ratio, gmsd])
def test_bad_inputs_raise_clear_errors(fn):
    good = torch.rand(2, 3, 16, 16)
    with pytest.raises(VfiBenchError, match=r"same shape.*\(2, 3, 16, 16\) and \(2, 3, 16, 18\)"):
        fn(good, torch.rand(2, 3, 16, 18))
    with pytest.raises(VfiBenchError, match=r"\(N, 3, H, W\).*\(3, 16, 16\)"):
        fn(good[0], good[0])
    with pytest.raises(VfiBenchError, match="floating-point"):
        fn((good * 255).to(torch.uint8), (good * 255).to(torch.uint8))
    with pytest.raises(VfiBenchError, match=r"\[0, 1\]"):
        fn(good * 255, good)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn", [psnr, ssim, sharpness_ratio, gmsd])
def test_output_shape_dtype_device(fn, device):
    x, y = torch.rand(2, 4, 3, 24, 32, device=device)
    out = fn(x, y)
    assert out.shape == (4,) and out.dtype == torch.float64 and out.device.type == device


# --------------------------------------------------------------------------- registry


def test_registry_names_and_fields():
    assert metric_names() == ("psnr", "ssim", "lpips", "lpips-vgg", "dists", "sharpness", "gmsd", "ie",
                              "flolpips-dis", "psnr-div")
    assert set(DEFAULT_METRICS) <= set(metric_names())
    for name in metric_names():
        info = metric_info(name)
        assert isinstance(info, MetricInfo) and info.name == name and info.label and info.source
        assert set(info.needs) <= set(backbones.BACKBONES)
        assert (info.higher_is_better is None) == (info.target is not None)
    assert metric_info("PSNR") is METRICS["psnr"]
    assert metric_info("lpips").needs == ("alexnet",)
    assert metric_info("dists").needs == metric_info("lpips-vgg").needs == ("vgg16",)
    assert metric_info("psnr").arrow == "↑" and metric_info("lpips").arrow == "↓"
    assert metric_info("sharpness").arrow == "→1"


def test_goodness_orients_every_metric():
    values = torch.tensor([0.8, 1.0, 1.3], dtype=torch.float64)
    assert metric_info("sharpness").goodness(values).argmax().item() == 1
    assert metric_info("lpips").goodness(values).argmax().item() == 0
    assert metric_info("psnr").goodness(values).argmax().item() == 2


def test_unknown_metric_suggests_close_names():
    with pytest.raises(VfiBenchError, match="Did you mean 'lpips'"):
        metric_info("lpip")
    with pytest.raises(VfiBenchError, match="Known metrics: psnr, ssim"):
        metric_info("fid")


# --------------------------------------------------------------------------- suite


def test_quantize_8bit():
    x = torch.tensor([-0.5, 0.0, 0.4 / 255, 0.7 / 255, 0.31, 1.0, 2.0])
    q = quantize_8bit(x)
    assert torch.equal(q, torch.tensor([0.0, 0.0, 0.0, 1.0, 79.0, 255.0, 255.0]) / 255)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_quantised_levels_are_k_over_255_correctly_rounded(dtype):
    """Every level, with what rounds to it from either side (clamped at the ends), gives the correctly
    rounded k / 255 of the dtype."""
    k = torch.arange(256, dtype=torch.float64)
    x = torch.cat([k, k - 0.49, k + 0.49]).div(255).to(dtype)
    expected = torch.cat([k, k, k]).div(255).to(dtype)  # float64 k/255, then rounded to the dtype
    assert torch.equal(quantize_8bit(x), expected)


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_gpu_quantises_to_the_same_levels_as_the_cpu_bit_for_bit(dtype):
    x = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64).mul(1.2).sub(0.1)
    x = torch.cat([x.flatten(), torch.arange(256, dtype=torch.float64) / 255]).to(dtype)
    assert torch.equal(quantize_8bit(x.cuda()).cpu(), quantize_8bit(x))


@needs_cuda
def test_a_gpu_gives_the_cpu_s_grey_and_protocol_levels_bit_for_bit():
    """GMSD's MATLAB grey image and the protocols' 8-bit rounding divide levels by 255 as quantising does."""
    from vfibench.metrics._common import matlab_grey
    from vfibench.metrics.protocols import _round8

    frames = quantize_8bit(torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    assert torch.equal(matlab_grey(frames.cuda()).cpu(), matlab_grey(frames))
    assert torch.equal(_round8(frames.cuda()).cpu(), _round8(frames))


def test_suite_scores_quantised_frames_in_chunks():
    gen = torch.Generator().manual_seed(0)
    gt = torch.rand(5, 3, 32, 40, generator=gen)
    pred = (gt + 0.05 * torch.randn(5, 3, 32, 40, generator=gen)).clamp(-0.1, 1.1)
    names = ["psnr", "ssim", "sharpness", "gmsd"]
    chunked = MetricSuite(names, batch_size=2)(pred, gt)
    whole = MetricSuite(names, batch_size=64)(pred, gt)
    assert list(chunked) == names
    for name in names:
        assert chunked[name].shape == (5,) and chunked[name].dtype == torch.float64
        assert chunked[name].device.type == "cpu"
        assert torch.allclose(chunked[name], whole[name], atol=1e-12)
    expected = psnr(quantize_8bit(pred), quantize_8bit(gt))
    assert torch.allclose(chunked["psnr"], expected)


def test_suite_rejects_non_finite_predictions_and_bad_names():
    suite = MetricSuite(["psnr"])
    pred = torch.rand(1, 3, 16, 16)
    pred[0, 0, 0, 0] = float("nan")
    with pytest.raises(VfiBenchError, match="NaN"):
        suite(pred, torch.rand(1, 3, 16, 16))
    with pytest.raises(VfiBenchError, match="Did you mean 'ssim'"):
        MetricSuite(["ssmi"])
    assert MetricSuite(["psnr", "PSNR", "ssim"]).names == ("psnr", "ssim")


def test_required_backbones():
    assert required_backbones(["psnr", "ssim"]) == set()
    assert required_backbones(DEFAULT_METRICS) == {"alexnet", "vgg16"}
    assert MetricSuite.required_backbones(["lpips-vgg"]) == {"vgg16"}


def _missing(name: str) -> backbones.BackboneStatus:
    return backbones.BackboneStatus(
        name=name, found=False, source=None, path=None, sha256=None, searched=(),
        used_by=backbones.used_by(name), fix=backbones.fix_command(name),
    )


def test_missing_backbone_stops_before_work_with_the_fix(monkeypatch):
    monkeypatch.setattr(backbones, "locate", _missing)
    with pytest.raises(BackboneUnavailable) as err:
        MetricSuite(["psnr", "lpips", "dists"])
    message = str(err.value)
    assert "lpips, dists" in message and "alexnet, vgg16" in message
    assert "vfibench weights fetch alexnet" in message and "vfibench weights fetch vgg16" in message


def test_skip_unavailable_keeps_the_rest(monkeypatch):
    monkeypatch.setattr(backbones, "locate", _missing)
    suite = MetricSuite(DEFAULT_METRICS, skip_unavailable=True)
    assert suite.names == ("psnr", "ssim", "sharpness", "gmsd")
    assert set(suite.unavailable) == {"lpips", "dists"}
    assert "vfibench weights fetch vgg16" in suite.unavailable["dists"]
    scores = suite(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    assert list(scores) == list(suite.names)
    assert suite.describe()["unavailable"] == suite.unavailable


def test_a_metric_list_is_read_in_order_and_a_repeated_or_empty_one_is_refused() -> None:
    from typer.testing import CliRunner

    from vfibench.cli import app
    from vfibench.metrics.records import parse_metric_list

    assert parse_metric_list(" psnr, SSIM,lpips ") == ["psnr", "ssim", "lpips"]
    for text, words in (("psnr,PSNR", "names psnr more than once"), (" , ", "names no metric")):
        with pytest.raises(VfiBenchError, match=words):
            parse_metric_list(text)
    for command in (["run", "--preset", "smoke", "--dry-run"], ["eval", "--pred", ".", "--gt", "."]):
        result = CliRunner().invoke(app, [*command, "--metrics", "lpips,ssim,lpips"])
        assert result.exit_code == 2 and "names lpips more than once" in result.output


# --------------------------------------------------------------------------- conventions pinned by hand


def test_matlab_grey_is_rgb2gray_of_the_8bit_frame():
    """MATLAB's rgb2gray weighs R, G, B by the first row of the inverse of the NTSC YIQ matrix and rounds
    the weighted 8-bit sum to a level; the unrounded (0.299, 0.587, 0.114) disagree on some colours."""
    from vfibench.metrics._common import matlab_grey

    yiq = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.106, 1.703]])
    weights = np.linalg.inv(yiq)[0]
    colours = np.random.default_rng(7).integers(0, 256, size=(1 << 15, 3)).astype(np.float64)
    expected = np.floor(colours @ weights + 0.5)  # MATLAB rounds halves away from zero; all sums are positive
    assert np.any(expected != np.floor(colours @ np.array([0.299, 0.587, 0.114]) + 0.5))  # the test can tell
    frames = torch.from_numpy(colours.T.reshape(1, 3, 128, 256).copy()) / 255.0
    got = (matlab_grey(frames) * 255.0).round().reshape(-1).numpy()
    np.testing.assert_array_equal(got, expected)
    assert np.all(np.abs(matlab_grey(frames).reshape(-1).numpy() * 255.0 - expected) < 1e-9)  # exact levels


def test_identical_frames_score_exactly_100_db():
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    assert psnr(x, x).tolist() == [100.0, 100.0]  # 10·log10(1 / 1e-10)
    from vfibench.metrics.records import metric_record

    assert metric_record("psnr").cap == 100.0 and metric_record("psnr").valid_range == (0.0, 100.0)


@pytest.mark.parametrize("fn", [psnr, ssim, sharpness_ratio, gmsd])
def test_values_just_outside_the_unit_range_are_refused(fn):
    good = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    for value in (1.1, -0.1):  # one pixel of a prediction overshooting by a tenth, either way
        bad = good.clone()
        bad[0, 1, 5, 7] = value
        with pytest.raises(VfiBenchError, match=r"values must lie in \[0, 1\]"):
            fn(bad, good)


@pytest.mark.parametrize("fn", [psnr, ssim, sharpness_ratio, gmsd])
def test_a_nan_prediction_is_refused_not_scored(fn):
    good = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    bad = good.clone()
    bad[0, 2, 8, 8] = float("nan")  # a diverged model's pixel
    with pytest.raises(VfiBenchError, match=r"values must lie in \[0, 1\]"):
        fn(bad, good)


@pytest.mark.parametrize("fn", [psnr, ssim, sharpness_ratio, gmsd])
def test_arrays_clips_and_frames_on_two_devices_are_refused_with_what_was_given(fn):
    good = torch.rand(1, 3, 16, 16)
    with pytest.raises(VfiBenchError, match=r"\(N, 3, H, W\).*got shape \(1, 3, 1, 16, 16\)"):
        fn(good[:, :, None], good[:, :, None])  # a clip, (N, 3, T, H, W)
    with pytest.raises(VfiBenchError, match=r"must be a torch\.Tensor of shape \(N, 3, H, W\), got ndarray"):
        fn(good.numpy(), good.numpy())
    with pytest.raises(VfiBenchError, match="same device, got cpu and meta"):
        fn(good, torch.empty(1, 3, 16, 16, device="meta"))


@pytest.mark.parametrize(("fn", "smallest"), [(ssim, 11), (sharpness_ratio, 3), (gmsd, 2)])
def test_frames_one_pixel_below_a_metric_s_smallest_size_are_refused(fn, smallest):
    """The smallest size is scored; a side one pixel shorter is refused with the size, not scored as NaN."""
    x = torch.rand(2, 3, smallest, smallest, dtype=torch.float64)
    assert torch.isfinite(fn(x, x.flip(0))).all()
    for height, width in ((smallest - 1, 16), (16, smallest - 1)):
        y = torch.rand(1, 3, height, width, dtype=torch.float64)
        expected = f"at least {smallest}×{smallest} pixels, got {width}×{height}"
        with pytest.raises(VfiBenchError, match=expected):
            fn(y, y)


def test_psnr_of_float32_frames_is_computed_in_float64():
    """The difference is taken after the conversion: float32 frames score exactly as their float64 copies."""
    pred, gt = random_pair(4, 48, 64, n=2)
    p32, g32 = to_tensor(list(pred)).float(), to_tensor(list(gt)).float()
    assert torch.equal(psnr(p32, g32), psnr(p32.double(), g32.double()))


def test_structural_similarity_on_the_0_255_scale_equals_skimage_with_data_range_255():
    """The constants scale with the data range: C1 = (0.01 L)², C2 = (0.03 L)²."""
    from vfibench.metrics.ssim import structural_similarity as ours

    pred, gt = real_pair("astronaut", 48, 64)
    expected = [structural_similarity(gt[..., c].astype(np.float64), pred[..., c].astype(np.float64),
                                      gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
                for c in range(3)]
    got = ours(to_tensor([pred]) * 255, to_tensor([gt]) * 255, data_range=255)
    np.testing.assert_allclose(got[0].numpy(), expected, rtol=0, atol=1e-9)


def test_each_metric_s_direction_agrees_with_what_it_scores():
    """A lightly distorted prediction must rank above a heavily distorted one by every metric's goodness."""
    from helpers import missing_backbones

    pred, gt = real_pair("astronaut", 64, 64)
    rng = np.random.default_rng(1)
    light = np.clip(gt + rng.normal(0, 3, size=gt.shape), 0, 255).round().astype(np.uint8)
    heavy = np.clip(scipy.ndimage.gaussian_filter(gt.astype(np.float64), (2.5, 2.5, 0))
                    + rng.normal(0, 30, size=gt.shape), 0, 255).round().astype(np.uint8)
    truth = to_tensor([gt])
    names = ["psnr", "ssim", "gmsd", "ie"] + [n for n in ("lpips", "lpips-vgg", "dists")
                                            if not missing_backbones(*metric_info(n).needs)]
    for name in names:
        info = metric_info(name)
        good, bad = (info.compute(to_tensor([x]).float() if info.needs else to_tensor([x]),
                                  truth.float() if info.needs else truth).item() for x in (light, heavy))
        assert good != bad, name
        assert info.goodness(good) > info.goodness(bad), (name, good, bad, info.higher_is_better)


def test_goodness_is_the_value_its_negation_or_minus_the_distance_to_the_target():
    assert metric_info("psnr").goodness(31.5) == 31.5
    assert metric_info("gmsd").goodness(0.25) == -0.25
    assert metric_info("sharpness").goodness(0.75) == pytest.approx(-0.25, abs=1e-15)
    assert metric_info("sharpness").goodness(1.5) == pytest.approx(-0.5, abs=1e-15)


@pytest.mark.parametrize(("name", "higher_is_better", "tolerance", "valid_range", "min_size"), [
    ("psnr", True, 0.05, (0.0, 100.0), 1),
    ("ssim", True, 0.002, (-1.0, 1.0), 11),
    ("lpips", False, 0.002, (0.0, math.inf), 32),
    ("lpips-vgg", False, 0.002, (0.0, math.inf), 32),
    ("dists", False, 0.002, (0.0, 1.124), 32),
    ("sharpness", None, 0.01, (0.0, math.inf), 3),
    ("gmsd", False, 0.002, (0.0, 1.0), 2),
    ("ie", False, 0.002, (0.0, 255.0), 1),
    ("flolpips-dis", False, 0.002, (0.0, math.inf), 32),
    ("psnr-div", True, 0.1, (0.0, 100.0), 3),
])
def test_each_metric_s_record_holds_its_direction_compare_tolerance_valid_range_and_smallest_frame(
        name: str, higher_is_better: bool | None, tolerance: float, valid_range: tuple[float, float],
        min_size: int) -> None:
    """The direction decides which way a change is a regression, the tolerance how large a change of a run's mean
    `vfibench compare` lets pass by default, the range which values are flagged as damage, and the smallest frame
    side the metric accepts."""
    info = metric_info(name)
    assert (info.higher_is_better, info.tolerance, info.valid_range, info.min_size) == (
        higher_is_better, tolerance, valid_range, min_size)


def test_metrics_that_need_the_input_frames_say_so_and_headings_carry_the_unit() -> None:
    assert {name for name in metric_names() if metric_info(name).inputs} == {"flolpips-dis", "psnr-div"}
    assert metric_info("psnr").heading == "PSNR (dB) ↑" and metric_info("psnr-div").heading == "PSNR-DIV (dB) ↑"
    assert metric_info("lpips").heading == "LPIPS ↓" and metric_info("sharpness").heading == "Sharpness →1"


def test_a_metric_name_is_found_whatever_its_case_and_surrounding_spaces() -> None:
    from vfibench.metrics.records import metric_record

    assert metric_record(" PSNR ") is metric_record("psnr") and metric_info(" Lpips-VGG") is METRICS["lpips-vgg"]


def test_a_metric_list_with_an_empty_item_is_refused() -> None:
    from vfibench.metrics.records import parse_metric_list

    for text in ("psnr,,ssim", "psnr,", ",psnr"):
        with pytest.raises(VfiBenchError, match="has an empty item"):
            parse_metric_list(text)


def test_every_metric_that_needs_a_backbone_prepares_it_before_any_work() -> None:
    """A missing or damaged backbone must fail when the suite is built, not after a run has trained its models."""
    needing = {name for name in metric_names() if metric_info(name).needs}
    assert {name for name in metric_names() if metric_info(name).prepare is not None} == needing
    assert needing == {"lpips", "lpips-vgg", "dists", "flolpips-dis"}
