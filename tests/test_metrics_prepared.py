"""The metric suite's shared work: a ground truth prepared once scores exactly as the plain call,
features shared between metrics, and batching that changes no value."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
import torch

from vfibench.errors import VfiBenchError
from vfibench.metrics import suite as suite_module
from vfibench.metrics.features import FEATURES
from vfibench.metrics.registry import METRICS, metric_info
from vfibench.metrics.ssim import ssim, ssim_map
from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite, PreparedReference, quantize_8bit

from helpers import missing_backbones, needs_backbone, skip_without_backbones

WEIGHT_FREE = ["psnr", "ssim", "sharpness", "gmsd"]
HAVE_BACKBONES = not missing_backbones("alexnet", "vgg16")
needs_backbones = needs_backbone("alexnet", "vgg16")
SETS = [pytest.param(WEIGHT_FREE, id="weight-free"),
        pytest.param(list(DEFAULT_METRICS), id="default", marks=needs_backbones)]


def frames(n: int = 5, height: int = 40, width: int = 52, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth 8-bit ground truth and a shifted, noisy prediction, both (n, 3, H, W) float64."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, height // 4, width // 4, generator=gen, dtype=torch.float64)
    gt = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    pred = gt.roll(1, dims=-1) + 0.05 * torch.randn(gt.shape, generator=gen, dtype=torch.float64)
    return quantize_8bit(pred), quantize_8bit(gt)


def assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    for name in a:
        assert torch.equal(a[name], b[name]), (name, (a[name] - b[name]).abs().max().item())


#: oneDNN may choose another convolution kernel for a batch of one small frame than for several, which
#: moves a deep metric by float32 rounding (seen: up to 6e-8); the float64 metrics never move.
FLOAT32_ROUNDING = 1e-6


def assert_same_scores(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    """Identical for the float64 metrics, equal to float32 rounding for those on a backbone."""
    assert list(a) == list(b)
    for name in a:
        if metric_info(name).needs:
            assert torch.allclose(a[name], b[name], atol=FLOAT32_ROUNDING, rtol=0), name
        else:
            assert torch.equal(a[name], b[name]), (name, (a[name] - b[name]).abs().max().item())


@pytest.mark.parametrize("names", SETS)
def test_a_prepared_reference_scores_exactly_as_the_plain_call(names):
    pred, gt = frames()
    other = frames(seed=1)[0]
    suite = MetricSuite(names, batch_size=2)
    prepared = suite.prepare(gt)
    assert isinstance(prepared, PreparedReference) and len(prepared) == 5
    assert set(prepared.features) == set(suite.features)
    for candidate in (pred, other):  # several predictions against one prepared ground truth
        assert_identical(suite(candidate, reference=prepared), suite(candidate, gt))
    # picklable: a coordinator can send it to workers, and it scores the same there
    restored = pickle.loads(pickle.dumps(prepared))
    assert_identical(suite(pred, reference=restored), suite(pred, gt))
    # sliced: a part of the test set, in the same batches as the plain call
    assert_identical(suite(pred[2:4], reference=prepared[2:4]), suite(pred[2:4], gt[2:4]))
    # or in other batches than those it was prepared in
    assert_same_scores(suite(pred[1:4], reference=prepared[1:4]), suite(pred[1:4], gt[1:4]))


@pytest.mark.parametrize("names", SETS)
def test_batched_and_per_frame_scores_are_identical(names):
    pred, gt = frames(n=6)
    batched = MetricSuite(names, batch_size=16)(pred, gt)
    singles = [MetricSuite(names, batch_size=1)(pred[k:k + 1], gt[k:k + 1]) for k in range(6)]
    assert_same_scores(batched, {name: torch.cat([s[name] for s in singles]) for name in batched})


@pytest.mark.parametrize("name", [n for n, info in METRICS.items() if info.compare is not None])
def test_each_feature_metric_equals_its_one_call_function(name):
    info = metric_info(name)
    skip_without_backbones(*info.needs)
    pred, gt = frames(n=3, height=48, width=48)
    inputs = (gt.roll(2, dims=-1), gt.roll(-2, dims=-1))
    extra = inputs if info.inputs else ()
    direct = info.compute(pred, gt, *extra)
    suite = MetricSuite([name])
    assert torch.equal(suite(pred, gt, inputs if info.inputs else None)[name], direct)
    prepared = suite.prepare(gt, inputs if info.inputs else None)
    assert torch.equal(suite(pred, reference=prepared)[name], direct)


@needs_backbones
def test_lpips_and_flolpips_share_one_alexnet_pass_and_flows_are_prepared(monkeypatch):
    pred, gt = frames(n=3, height=48, width=48)
    inputs = (gt.roll(3, dims=-1), gt.roll(-3, dims=-1))
    suite = MetricSuite(["lpips", "flolpips-dis", "psnr-div"])
    assert suite.features == ("alexnet-lpips", "dis-flows")
    expected = {n: metric_info(n).compute(pred, gt, *inputs) if metric_info(n).inputs else metric_info(n).compute(pred, gt)
                for n in suite.names}
    calls: list[int] = []
    original = FEATURES["alexnet-lpips"]

    def counted(x: torch.Tensor) -> object:
        calls.append(len(x))
        return original.compute(x)

    monkeypatch.setattr(suite_module, "FEATURES", {**FEATURES, "alexnet-lpips": dataclasses.replace(original, compute=counted)})
    scores = suite(pred, gt, inputs)
    assert calls == [3, 3]  # once for the predictions, once for the ground truth: not once per metric
    prepared = suite.prepare(gt, inputs)
    calls.clear()
    shared = suite(pred, reference=prepared)
    assert calls == [3]  # the ground truth's came from the prepared reference
    assert_identical(scores, expected)
    assert_identical(shared, expected)


def test_ssim_from_moments_equals_the_full_map():
    pred, gt = frames(n=4)
    assert torch.equal(ssim(pred, gt), ssim_map(pred, gt).mean(dim=(2, 3)).mean(dim=1))


def test_a_prepared_reference_counts_its_bytes_and_moves_whole():
    """SSIM keeps each frame's local mean and mean of squares (float64, the valid region of an 11×11
    window); the frames and input frames are kept as given (float32)."""
    gen = torch.Generator().manual_seed(3)
    gt, i0, i1 = (torch.rand(3, 3, 40, 48, generator=gen) for _ in range(3))
    prepared = MetricSuite(["psnr", "ssim", "psnr-div"]).prepare(gt, (i0, i1))
    frames = 3 * 3 * 3 * 40 * 48 * 4  # gt, I0, I1
    moments = 2 * 3 * 3 * 30 * 38 * 8
    assert list(prepared.features) == ["ssim-moments"]  # PSNR-DIV's flows depend on the prediction
    assert prepared.nbytes == frames + moments
    assert prepared.to("cpu").gt is prepared.gt  # already there: shared, not copied
    moved = prepared.to("meta")  # a device without memory stands in for a GPU
    assert len(moved.tensors()) == 5  # gt, I0, I1 and SSIM's two moments
    assert all(t.device.type == "meta" for t in moved.tensors())
    assert moved.nbytes == prepared.nbytes and len(moved) == 3 and moved.backbone_sha256 == prepared.backbone_sha256


def test_reference_misuse_is_a_clear_error():
    pred, gt = frames(n=2)
    suite = MetricSuite(WEIGHT_FREE)
    prepared = suite.prepare(gt)
    with pytest.raises(VfiBenchError, match="either ground-truth frames"):
        suite(pred, gt, reference=prepared)
    with pytest.raises(VfiBenchError, match="Give the ground-truth frames"):
        suite(pred)
    with pytest.raises(VfiBenchError, match="PreparedReference"):
        suite(pred, reference=gt)  # type: ignore[arg-type]
    with pytest.raises(VfiBenchError, match="same shape"):
        suite(pred[:1], reference=prepared)
    with pytest.raises(TypeError, match="sliced"):
        prepared[0]  # type: ignore[index]
    stale = PreparedReference(prepared.gt, None, prepared.features, {"vgg16": "0" * 64})
    deep = MetricSuite(["psnr"])
    deep.backbone_sha256 = {"vgg16": "1" * 64}
    with pytest.raises(VfiBenchError, match="other vgg16 weights"):
        deep(pred, reference=stale)


def test_a_prepared_reference_missing_a_feature_computes_it():
    pred, gt = frames(n=3)
    partial = MetricSuite(["psnr"]).prepare(gt)
    assert partial.features == {}
    suite = MetricSuite(WEIGHT_FREE)
    assert_identical(suite(pred, reference=partial), suite(pred, gt))


def test_prepare_checks_the_ground_truth():
    suite = MetricSuite(["psnr", "ssim"])
    bad = torch.rand(1, 3, 16, 16)
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(VfiBenchError, match="ground-truth frames contain NaN"):
        suite.prepare(bad)
    with pytest.raises(VfiBenchError, match="at least 11"):
        suite.prepare(torch.rand(1, 3, 8, 8))
    with pytest.raises(VfiBenchError, match="input frame I0"):
        MetricSuite(["psnr-div"]).prepare(torch.rand(1, 3, 16, 16), (torch.rand(1, 3, 8, 8), torch.rand(1, 3, 16, 16)))
    assert torch.isfinite(suite(torch.rand(1, 3, 16, 16), reference=suite.prepare(torch.rand(1, 3, 16, 16)))["ssim"]).all()


def test_chunks_hold_a_bounded_number_of_pixels():
    from vfibench.metrics.suite import CHUNK_PIXELS

    suite = MetricSuite(WEIGHT_FREE, batch_size=16)
    assert suite.chunk_size(48, 48) == 16  # small frames: the batch size bounds the chunk
    assert suite.chunk_size(256, 448) == CHUNK_PIXELS // (256 * 448) == 2
    assert suite.chunk_size(2048, 2048) == 1  # never less than one frame
    if HAVE_BACKBONES:
        assert MetricSuite(["dists"]).chunk_size(256, 448) == 1  # VGG16 activations: one such frame at a time


def test_on_a_gpu_chunks_are_as_large_as_the_gpu_budget_allows():
    """No cache to fit there, and each chunk is a round of kernel launches (the CPU budgets do not apply)."""
    from vfibench.metrics.suite import GPU_CHUNK_PIXELS

    suite = MetricSuite(WEIGHT_FREE, batch_size=32, device="cuda")  # nothing runs: no GPU needed
    assert suite.chunk_size(256, 448) == GPU_CHUNK_PIXELS // (256 * 448) == 18
    assert suite.chunk_size(96, 96) == 32  # the batch size bounds it
    assert suite.chunk_size(4096, 4096) == 1


def test_a_prepared_reference_quantises_the_ground_truth_as_the_plain_call_does():
    """A ground truth off the 8-bit levels, overshooting [0, 1] a little, is clamped and rounded when prepared."""
    pred, gt = frames()
    raw = (gt + 0.3 / 255 * torch.randn(gt.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64))
    raw = raw.clamp(-0.01, 1.01)
    assert not torch.equal(quantize_8bit(raw), raw)
    suite = MetricSuite(WEIGHT_FREE, batch_size=2)
    assert torch.equal(suite.prepare(raw).gt, quantize_8bit(raw))
    assert_identical(suite(pred, reference=suite.prepare(raw)), suite(pred, quantize_8bit(raw)))
    assert_identical(suite(pred, reference=suite.prepare(raw)), suite(pred, raw))


def test_batches_prepared_with_the_input_frames_score_as_the_plain_call():
    pred, gt = frames(n=5)
    i0, i1 = gt.roll(3, dims=-1), gt.roll(-3, dims=-2)  # two different input frames
    suite = MetricSuite(["psnr", "psnr-div"], batch_size=2)
    prepared = suite.prepare_batches(gt, (i0, i1), batch_size=2)
    assert [len(p) for p in prepared] == [2, 2, 1]
    assert torch.equal(prepared[2].inputs[1], quantize_8bit(i1[4:5]))
    assert_identical(suite.score_prepared(pred, prepared, 2), suite(pred, gt, (i0, i1)))
