"""A sweep scores every unit against a ground truth prepared once per process and test set, with
scores bit-identical to scoring each unit from the raw frames."""

from __future__ import annotations

import pytest
import torch

from vfibench.data.sources import open_dataset
from vfibench.errors import VfiBenchError
from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite
from vfibench.presets import get_preset
from vfibench.references import REFERENCES
from vfibench.sweep import unit as unit_module
from vfibench.sweep.unit import UnitResources, UnitSpec, prepare_ground_truth, run_unit, score_predictions

from helpers import missing_backbones, needs_cuda

HAVE_BACKBONES = not missing_backbones("alexnet", "vgg16")
METRICS = list(DEFAULT_METRICS) if HAVE_BACKBONES else ["psnr", "ssim", "sharpness", "gmsd"]


@pytest.fixture(scope="module")
def test_set():
    preset = get_preset("smoke")
    # 20 scenes in batches of 8: the last batch is short, as in real test sets.
    return open_dataset("synthetic", "test", count=20, size=preset.test_size, seed=0, max_motion=0.25,
                        ambiguity=0.5)


def test_prepared_ground_truth_gives_the_scores_of_the_raw_frames_bit_for_bit(test_set):
    suite = MetricSuite(METRICS)
    for name in ("blend", "nearest"):
        frames = REFERENCES[name](test_set)
        plain = score_predictions(suite, frames, test_set, batch_size=8, device="cpu")
        prepared = prepare_ground_truth(suite, test_set, batch_size=8, device="cpu")
        shared = score_predictions(suite, frames, test_set, prepared, batch_size=8, device="cpu")
        assert plain == shared, name


@pytest.mark.parametrize("prepared_batch, message", [
    (4, "in 3 batches of 8, the prepared ground truth 5 batches"),  # another number of batches
    (7, "same shape"),  # as many batches (8 8 4 against 7 7 6), other frames in each
])
def test_a_prepared_ground_truth_of_other_batches_is_refused(test_set, prepared_batch, message):
    suite = MetricSuite(["psnr"])
    prepared = prepare_ground_truth(suite, test_set, batch_size=prepared_batch, device="cpu")
    with pytest.raises(VfiBenchError, match=message):
        score_predictions(suite, test_set.it, test_set, prepared, batch_size=8, device="cpu")


def test_a_process_prepares_the_ground_truth_once_for_every_unit_of_a_sweep(test_set, monkeypatch):
    calls = []
    original = unit_module.prepare_ground_truth
    monkeypatch.setattr(unit_module, "prepare_ground_truth",
                        lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    preset = get_preset("smoke")
    resources = UnitResources()
    for name in REFERENCES:
        spec = UnitSpec(kind="reference", config=name, seed=0, preset=preset, train_data="synthetic",
                        test_data="synthetic", data_seed=0, metrics=tuple(METRICS), device="cpu")
        result = run_unit(spec, test_set, test_set, resources=resources)
        assert result.status == "complete", result.error
    assert len(calls) == 1


def test_a_process_that_scores_another_test_set_prepares_its_ground_truth_anew(test_set):
    """A worker that serves two sweeps (another test set, or the same set drawn with another seed) scores each
    against its own ground truth, never against the first one's prepared features."""
    preset = get_preset("smoke")
    other = open_dataset("synthetic", "test", count=20, size=preset.test_size, seed=1, max_motion=0.25, ambiguity=0.5)
    resources = UnitResources()

    def blend_psnr(frames, data_seed, resources):
        spec = UnitSpec(kind="reference", config="blend", seed=0, preset=preset, train_data="synthetic",
                        test_data="synthetic", data_seed=data_seed, metrics=("psnr",), device="cpu")
        result = run_unit(spec, frames, frames, resources=resources)
        assert result.status == "complete", result.error
        return result.per_sample["psnr"].tolist()

    blend_psnr(test_set, 0, resources)
    assert blend_psnr(other, 1, resources) == blend_psnr(other, 1, UnitResources())


def test_a_unit_that_continues_a_warm_start_it_was_not_given_fails_rather_than_training_from_scratch(test_set):
    preset = get_preset("smoke").with_overrides(steps=2, log_every=1)
    spec = UnitSpec(kind="trained", config="l1", seed=0, preset=preset, warm_start=1, metrics=("psnr",),
                    device="cpu")
    result = run_unit(spec, test_set, test_set, None)
    assert result.status == "failed" and result.per_sample is None
    assert "1-step warm start, but none was given" in (result.error or "")


def test_a_unit_writes_each_unavailable_metric_as_an_empty_column(test_set):
    """Every unit's rows of per_sample.csv hold a column for each metric of the run: one the run could not
    compute is there, empty, beside the scores of the others."""
    spec = UnitSpec(kind="reference", config="blend", seed=0, preset=get_preset("smoke"),
                    train_data="synthetic", test_data="synthetic", data_seed=0, metrics=("psnr",),
                    unavailable_metrics=("lpips",), device="cpu")
    result = run_unit(spec, test_set, test_set, resources=UnitResources())
    assert result.status == "complete", result.error
    frame = result.per_sample
    assert list(frame.columns) == ["config", "kind", "seed", "sample", "psnr", "lpips"]
    assert frame["sample"].tolist() == list(range(len(test_set))) and set(frame["kind"]) == {"reference"}
    assert frame["lpips"].isna().all() and frame["psnr"].notna().all()


def test_a_diverged_unit_records_where_and_why_it_diverged_and_has_no_scores(test_set):
    """unit.json of a diverged configuration says at which step, what was not finite and the last finite
    loss: what the tables' note on the divergence is written from."""
    from vfibench.train import STATE_NOT_FINITE

    preset = get_preset("smoke").with_overrides(steps=2, log_every=1)
    spec = UnitSpec(kind="trained", config="1e37*l2", seed=0, preset=preset, metrics=("psnr",), device="cpu")
    result = run_unit(spec, test_set, test_set, resources=UnitResources())
    assert result.status == "diverged" and result.per_sample is None and result.model_state is None
    info = result.info
    assert (info["status"], info["diverged_at"], info["divergence"]) == ("diverged", 1, STATE_NOT_FINITE)
    assert 1e30 < info["last_finite_loss"] and (info["steps"], info["warm_start"]) == (2, 0)


def test_a_failed_unit_records_the_steps_it_was_to_train_and_a_reference_none(test_set):
    preset = get_preset("smoke").with_overrides(steps=2, log_every=1)
    spec = UnitSpec(kind="trained", config="l1", seed=0, preset=preset, warm_start=1, metrics=("psnr",),
                    device="cpu")
    result = run_unit(spec, test_set, test_set, None)
    assert result.info == {"status": "failed", "reason": result.error, "steps": 2, "warm_start": 1}
    reference = UnitSpec(kind="reference", config="no-such-reference", seed=0, preset=preset,
                         metrics=("psnr",), device="cpu")
    failed = run_unit(reference, test_set, test_set, resources=UnitResources())
    assert failed.info == {"status": "failed", "reason": failed.error}


def test_a_trained_unit_hands_back_the_first_frames_it_predicted_as_its_preview(test_set):
    """TensorBoard shows the first frames of each trained configuration: the frames that were scored."""
    preset = get_preset("smoke").with_overrides(steps=1, log_every=1)
    spec = UnitSpec(kind="trained", config="l1", seed=0, preset=preset, metrics=("psnr",), device="cpu",
                    preview_frames=3)
    result = run_unit(spec, test_set, test_set, resources=UnitResources())
    assert result.status == "complete", result.error
    assert result.preview is not None and result.preview.shape == (3, *test_set.it.shape[1:])
    scores = score_predictions(MetricSuite(["psnr"]), result.preview, test_set[:3], batch_size=3,
                               device="cpu")
    assert scores["psnr"] == pytest.approx(result.per_sample["psnr"].tolist()[:3], abs=1e-4)


def test_a_prepared_ground_truth_too_large_for_a_quarter_of_the_free_gpu_memory_is_kept_in_host_memory(
        monkeypatch):
    """Kept on the GPU it stays there through every later unit's training, beside what other processes
    hold (checked without a GPU: the free memory is patched)."""
    from vfibench.sweep.unit import reference_storage

    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (8 << 30, 80 << 30))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device: 0)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device: 0)
    assert reference_storage("cuda", 2 << 30) == torch.device("cuda")
    assert reference_storage("cuda:0", (2 << 30) + 1) == torch.device("cpu")
    assert reference_storage("cpu", 1 << 40) == torch.device("cpu")
    # 4 GB kept by this process's allocator, 1 GB of it in use (a trained unit's cache): 3 GB more are free
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device: 4 << 30)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device: 1 << 30)
    assert reference_storage("cuda", 11 << 28) == torch.device("cuda")
    assert reference_storage("cuda", (11 << 28) + 1) == torch.device("cpu")


@pytest.mark.parametrize("count", [20, 5])  # three batches of 8 (the last short), or fewer frames than one
def test_a_prepared_ground_truth_kept_elsewhere_is_prepared_there_and_scores_the_same(test_set, count,
                                                                                      monkeypatch):
    """The first batch decides, for the whole test set estimated from it, where the batches are kept:
    it is moved there and every later batch is prepared straight there. The CPU stands in for both
    places; the storage rule is patched to say "elsewhere", and the places asked for are recorded."""
    test = test_set[:count]
    suite = MetricSuite(METRICS)
    elsewhere = torch.device("cpu")  # the object the patched rule returns: told apart from "cpu" by identity
    asked, prepared_on = [], []
    monkeypatch.setattr(unit_module, "reference_storage", lambda device, nbytes: asked.append(nbytes) or elsewhere)
    original = suite.prepare_batches
    monkeypatch.setattr(suite, "prepare_batches", lambda gt, inputs, batch_size, device:
                        prepared_on.append((len(gt), device)) or original(gt, inputs, batch_size, device))
    prepared = prepare_ground_truth(suite, test, batch_size=8, device="cpu")
    assert [len(p) for p in prepared] == ([8, 8, 4] if count == 20 else [5])
    assert [n for n, _ in prepared_on] == [min(8, count), count - min(8, count)]
    assert prepared_on[0][1] == "cpu" and prepared_on[1][1] is elsewhere
    assert asked == [prepared[0].nbytes * count // len(prepared[0])]
    assert all(p.gt.device == elsewhere for p in prepared)
    frames = REFERENCES["blend"](test)
    assert score_predictions(suite, frames, test, prepared, batch_size=8, device="cpu") == \
        score_predictions(suite, frames, test, batch_size=8, device="cpu")


def test_a_unit_scores_in_the_presets_batches_on_a_cpu_and_in_device_chunks_on_a_gpu():
    """Pure arithmetic (nothing runs on a GPU): a CPU keeps the preset's batches, which the CI baseline was
    computed in; a GPU scores the whole quick test set (128 frames of 96²) in one call instead of eight."""
    from vfibench.metrics.suite import GPU_CHUNK_PIXELS
    from vfibench.sweep.unit import unit_batch_size

    for name, device, expected in (("smoke", "cpu", 16), ("quick", "cpu", 16),
                                   ("quick", "cuda", GPU_CHUNK_PIXELS // 96**2), ("smoke", "cuda:0", 910)):
        preset = get_preset(name)
        frames = open_dataset("synthetic", "test", count=2, size=preset.test_size, seed=0, max_motion=0.25)
        spec = UnitSpec(kind="reference", config="blend", seed=0, preset=preset, metrics=("psnr",), device=device)
        assert unit_batch_size(spec, frames) == expected, (name, device)
    assert GPU_CHUNK_PIXELS // 96**2 >= get_preset("quick").test_count


def test_the_gpu_batching_rules_run_on_a_cpu_give_the_cpu_scores(test_set, monkeypatch):
    """The GPU's way of batching — a unit's test set in one device chunk, the suite's chunks as large,
    every SSIM plane filtered at once — exercised here on the CPU, so CI checks its logic (the prepared
    ground truth and the predictions batched alike, the scores in frame order) where no GPU runs. The
    float64 metrics come out the same to 1e-12; the backbones' float32 convolutions may move by rounding
    when oneDNN meets another batch shape."""
    from vfibench.metrics import ssim as ssim_module
    from vfibench.metrics import suite as suite_module

    preset = get_preset("smoke")
    spec = UnitSpec(kind="reference", config="blend", seed=0, preset=preset, train_data="synthetic",
                    test_data="synthetic", data_seed=0, metrics=tuple(METRICS), device="cpu")
    scores, batches = {}, {}
    for rule in ("cpu", "gpu"):
        if rule == "gpu":
            for module in (suite_module, ssim_module):
                monkeypatch.setattr(module, "scores_in_device_chunks", lambda device: True)
        batches[rule] = unit_module.unit_batch_size(spec, test_set)
        result = run_unit(spec, test_set, test_set, resources=UnitResources())
        assert result.status == "complete", result.error
        scores[rule] = result.per_sample
    assert (batches["cpu"], batches["gpu"]) == (preset.eval_batch_size, suite_module.GPU_CHUNK_PIXELS // 48**2)
    assert list(scores["gpu"]["sample"]) == list(scores["cpu"]["sample"])
    differences = {name: float((scores["cpu"][name] - scores["gpu"][name]).abs().max()) for name in METRICS}
    tolerances = {"lpips": 1e-6, "dists": 1e-6}
    assert all(difference <= tolerances.get(name, 1e-12) for name, difference in differences.items()), differences


def test_a_unit_that_runs_out_of_gpu_memory_fails_saying_what_to_change(test_set, monkeypatch):
    """The unit fails with advice, and the allocator's cache is emptied once the failed work's tensors
    are gone (while the exception's frames still hold them, emptying would free nothing)."""
    import weakref

    held: list[weakref.ref] = []

    def exhausted(*args, **kwargs):
        activations = torch.zeros(4)  # what the failed work held when it ran out of memory
        held.append(weakref.ref(activations))
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    released: list[bool] = []
    monkeypatch.setattr(unit_module, "_reference", exhausted)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: released.append(held[0]() is None))
    spec = UnitSpec(kind="reference", config="blend", seed=0, preset=get_preset("smoke"), train_data="synthetic",
                    test_data="synthetic", data_seed=0, metrics=("psnr",), device="cpu")
    result = run_unit(spec, test_set, test_set, resources=UnitResources())
    assert result.status == "failed" and released == [True]
    assert result.error.startswith("OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB — the GPU ran "
                                   "out of memory: run fewer units on it at once"), result.error
    assert result.error.endswith("then --resume; or start a new run with a smaller preset")


@needs_cuda
def test_a_reference_unit_on_a_gpu_scores_as_on_the_cpu_to_float32_rounding(test_set):
    """Scored in one device chunk on the GPU and in the preset's batches on the CPU: float64 metrics equal to
    1e-9, the deep ones (IEEE float32 convolutions) to float32 rounding. On these 48² frames the CPU's float32
    DISTS is 8.6e-7 from a float64 computation (8.1e-7 of it the texture term of the image itself, whose
    covariance E[xy] − E[x]E[y] cancels in float32) and LPIPS 1.5e-7; two float32 computations may differ
    by twice that."""
    preset = get_preset("smoke")
    scores = {}
    for device in ("cpu", "cuda"):
        spec = UnitSpec(kind="reference", config="blend", seed=0, preset=preset, train_data="synthetic",
                        test_data="synthetic", data_seed=0, metrics=tuple(METRICS), device=device)
        result = run_unit(spec, test_set, test_set, resources=UnitResources())
        assert result.status == "complete", result.error
        scores[device] = result.per_sample
    tolerances = {"lpips": 1e-6, "dists": 2e-6}
    differences = {name: float((scores["cpu"][name] - scores["cuda"][name]).abs().max()) for name in METRICS}
    assert all(difference <= tolerances.get(name, 1e-9) for name, difference in differences.items()), differences


@needs_cuda
def test_a_prepared_ground_truth_in_host_memory_scores_as_on_the_gpu_bit_for_bit(test_set, monkeypatch):
    """The same unit with its prepared ground truth on the GPU and, with no share of the GPU allowed, in
    host memory (moved a batch at a time): copies are exact, so the scores are identical."""
    preset = get_preset("smoke")
    spec = UnitSpec(kind="reference", config="blend", seed=0, preset=preset, train_data="synthetic",
                    test_data="synthetic", data_seed=0, metrics=tuple(METRICS), device="cuda")
    scores, default = {}, unit_module.PREPARED_GPU_SHARE
    for share in (default, 0.0):
        monkeypatch.setattr(unit_module, "PREPARED_GPU_SHARE", share)
        resources = UnitResources()
        result = run_unit(spec, test_set, test_set, resources=resources)
        assert result.status == "complete", result.error
        assert resources.prepared(spec, test_set)[0].gt.device.type == ("cuda" if share else "cpu")
        scores[share] = result.per_sample
    assert scores[default].equals(scores[0.0])


def test_blend_weights_the_inputs_by_time_and_nearest_repeats_the_closer_input():
    from vfibench.data.triplets import Triplets

    i0, i1 = torch.zeros(3, 3, 2, 2), torch.ones(3, 3, 2, 2)
    triplets = Triplets(i0=i0, it=torch.full_like(i0, 0.5), i1=i1, t=torch.tensor([0.25, 0.5, 0.75]))
    assert REFERENCES["blend"](triplets)[:, 0, 0, 0].tolist() == [0.25, 0.5, 0.75]  # (1 − t)·I0 + t·I1
    assert REFERENCES["nearest"](triplets)[:, 0, 0, 0].tolist() == [0.0, 0.0, 1.0]  # I0 up to t = 0.5
