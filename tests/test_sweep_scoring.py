"""A sweep scores every unit against a ground truth prepared once per process and test set, with
scores bit-identical to scoring each unit from the raw frames."""

from __future__ import annotations

import pytest

from vfibench import backbones
from vfibench.data.sources import open_dataset
from vfibench.errors import VfiBenchError
from vfibench.metrics.suite import DEFAULT_METRICS, MetricSuite
from vfibench.presets import get_preset
from vfibench.references import REFERENCES
from vfibench.sweep import unit as unit_module
from vfibench.sweep.unit import UnitResources, UnitSpec, prepare_ground_truth, run_unit, score_predictions

HAVE_BACKBONES = all(backbones.locate(b).found for b in ("alexnet", "vgg16"))
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
