"""Held-out scores during training: logged every log row, and without any effect on training."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.presets import get_preset
from vfibench.results.store import RunStore, UnitKey
from vfibench.sweep import plan_sweep, run_sweep

CONFIGS = "l1,l1+0.01*adv"  # the adversarial term trains a discriminator with random streams of its own


def sweep(out, val_samples: int):
    preset = get_preset("smoke").with_overrides(steps=8, log_every=2, train_count=16, test_count=6)
    plan = plan_sweep(CONFIGS, preset, [0], out=out, device="cpu", metrics=["psnr", "lpips"],
                      val_samples=val_samples)
    return RunStore(run_sweep(plan).root)


def test_held_out_scores_leave_training_bit_identical(tmp_path):
    plain, scored = sweep(tmp_path / "plain", 0), sweep(tmp_path / "scored", 4)
    for config in ("l1", "l1+0.01*adv"):
        key = UnitKey(config, 0)
        a = torch.load(plain.unit_dir(key) / "model.pt", weights_only=True)
        b = torch.load(scored.unit_dir(key) / "model.pt", weights_only=True)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        assert ((plain.unit_dir(key) / "per_sample.csv").read_bytes()
                == (scored.unit_dir(key) / "per_sample.csv").read_bytes())
    log_plain = pd.read_csv(plain.path("train_log.csv"))
    log_scored = pd.read_csv(scored.path("train_log.csv"))
    assert not any(c.startswith("val_") for c in log_plain.columns)
    pd.testing.assert_frame_equal(log_plain, log_scored[log_plain.columns])
    assert list(log_scored.loc[log_scored.config == "l1", "step"]) == [2, 4, 6, 8]
    for column in ("val_psnr", "val_lpips"):
        assert log_scored[column].map(math.isfinite).all()
    # training changes the held-out scores: they are measured on the model of that step
    assert log_scored.loc[log_scored.config == "l1", "val_psnr"].nunique() == 4
    assert scored.read_manifest()["validation"]["subset"] == "the first 4 test scenes"


def test_log_every_on_the_command_line_sets_the_log_and_validation_rows(tmp_path):
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--steps", "6", "--log-every",
                                      "3", "--val-samples", "2", "--metrics", "psnr", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    log = pd.read_csv(next(tmp_path.glob("*/train_log.csv")))
    assert list(log["step"]) == [3, 6] and log["val_psnr"].notna().all() and "val_lpips" not in log


@pytest.mark.parametrize(("val_samples", "noted"), [(["--val-samples", "5"], True), ([], False)])
def test_held_out_scoring_without_psnr_or_lpips_logs_none_and_says_so(tmp_path, val_samples, noted):
    """--metrics ssim has no held-out metric: --val-samples was ignored silently and the manifest claimed a subset."""
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--steps", "2", "--log-every",
                                      "1", "--metrics", "ssim", *val_samples, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert ("--val-samples 5: held-out scores are PSNR and LPIPS, and --metrics measures neither" in text) == noted
    assert "SSIM" in text.split("l1 (seed 0):")[1].split(";")[0]  # the unit's line shows the metric it scored
    manifest = json.loads(next(tmp_path.glob("*/manifest.json")).read_text())
    assert manifest["validation"]["samples"] == 0 and manifest["validation"]["metrics"] == []
    assert manifest["validation"]["subset"] == "none"
    resumed = CliRunner().invoke(app, ["run", "--resume", "latest", "--val-samples", "3", "--out", str(tmp_path)])
    assert resumed.exit_code == 0 and "already complete" in resumed.output, resumed.output  # nothing it changes


@pytest.mark.parametrize("asked", ["16", "17", None])
def test_an_explicit_val_samples_over_the_test_set_is_noted_even_at_the_default_value(tmp_path, asked):
    given = ["--val-samples", asked] if asked else []  # the default (16) is capped silently
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--steps", "2", "--log-every",
                                      "1", "--metrics", "psnr", *given, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    noted = "the test data holds 8 triplets" in " ".join(result.output.split())
    assert noted == bool(asked) and (not asked or f"--val-samples {asked}:" in result.output)


def test_held_out_scores_leave_the_random_stream_of_training_untouched():
    """What training draws from the global generator after each step is the same with and without scoring."""
    from tests.helpers import random_triplets
    from vfibench.losses.spec import parse_config
    from vfibench.train import train_configuration
    from vfibench.validation import Validation

    preset = get_preset("smoke").with_overrides(steps=6, log_every=2)
    data = random_triplets(8, size=16)
    held_out = Validation.of(random_triplets(4, size=16, seed=3), ["psnr"], torch.device("cpu"), 4)
    streams = []
    for scorer in (None, held_out):
        draws: list[float] = []
        result = train_configuration(parse_config("l1"), data, preset, 0, on_step=lambda s, l: draws.append(
            float(torch.rand(1))), held_out=scorer)
        streams.append(draws)
    assert streams[0] == streams[1] and len(streams[0]) == 6
    assert [row["step"] for row in result.log] == [2, 4, 6] and all("val_psnr" in row for row in result.log)
    assert not result.model.training


def test_held_out_scores_are_the_mean_scores_of_the_subset_over_several_batches():
    """5 frames in batches of 2 (the last one short): each prediction batch meets its own ground truth."""
    from tests.helpers import random_triplets
    from vfibench.metrics.suite import MetricSuite
    from vfibench.model.interpolator import Interpolator
    from vfibench.train import predict
    from vfibench.results.schema import HELD_OUT_METRICS
    from vfibench.validation import Validation

    torch.manual_seed(0)
    model = Interpolator()
    subset = random_triplets(5, size=32, seed=3)
    held_out = Validation.of(subset, list(HELD_OUT_METRICS), torch.device("cpu"), batch_size=2)
    scores = MetricSuite(list(HELD_OUT_METRICS))(predict(model, subset, 5, "cpu"), subset.it)
    expected = {f"val_{name}": float(values.mean()) for name, values in scores.items()}
    # LPIPS's float32 convolutions round differently in batches of 2 and of 5: ~1e-8; a frame scored
    # against another frame's ground truth would be off by orders of magnitude more
    assert held_out(model) == pytest.approx(expected, rel=1e-6, abs=0)


def test_held_out_scoring_sees_a_frozen_model_and_leaves_its_mode_and_the_random_stream_as_they_were():
    """A scorer that draws random numbers changes nothing training draws next; it scores the model in eval
    mode without gradients, and training goes on in training mode."""
    from vfibench.validation import held_out_scores

    model = torch.nn.Linear(2, 2).train()
    seen = {}

    def scorer(scored: torch.nn.Module) -> dict[str, float]:
        seen.update(training=scored.training, gradients=torch.is_grad_enabled())
        torch.rand(3)
        return {"val_psnr": 30.0}

    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    assert held_out_scores(model, scorer, torch.device("cpu")) == {"val_psnr": 30.0}
    assert torch.equal(torch.rand(2), expected)
    assert seen == {"training": False, "gradients": False} and model.training
