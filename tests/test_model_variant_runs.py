"""Runs remember the interpolator they trained: reports and --resume rebuild that architecture (also for
runs made before model variants existed), and weights that do not fit are a clear error, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.presets import get_preset
from vfibench.results.store import RunStore, UnitKey
from vfibench.sweep import plan_sweep, run_sweep

runner = CliRunner()
METRICS = ["psnr", "ssim"]


def sweep(out: Path, model: str, ambiguity: float | None = None) -> RunStore:
    preset = get_preset("smoke").with_overrides(steps=2, train_count=8, test_count=4, batch_size=2, model=model,
                                                ambiguity=ambiguity)
    return run_sweep(plan_sweep("l1,l2", preset, [0], out=out, device="cpu", metrics=METRICS))


@pytest.fixture(scope="module")
def legacy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warp-blend run on straight paths whose manifest is rewritten as runs made before variants and
    ambiguity existed wrote it."""
    store = sweep(tmp_path_factory.mktemp("legacy"), "warp-blend", ambiguity=0.0)
    manifest = store.read_manifest()
    for key in ("model", "ambiguity"):
        manifest["preset"].pop(key)
    manifest.pop("model")
    manifest["data"].pop("ambiguity")
    manifest["data"].pop("attributes")
    store.path("manifest.json").write_text(json.dumps(manifest))
    return store.root


def test_manifest_records_the_model_variant_version_and_size(tmp_path: Path) -> None:
    manifest = sweep(tmp_path, "synthesis").read_manifest()
    assert manifest["model"]["variant"] == "synthesis" and manifest["model"]["version"] == 2
    assert manifest["model"]["parameters"] > 0 and manifest["preset"]["model"] == "synthesis"
    assert manifest["data"]["ambiguity"] == manifest["preset"]["ambiguity"] == get_preset("smoke").ambiguity


def test_report_of_a_run_made_before_variants_rebuilds_its_model(legacy_run: Path, tmp_path: Path) -> None:
    run = tmp_path / legacy_run.name
    shutil.copytree(legacy_run, run)
    result = runner.invoke(app, ["report", str(run), "--samples", "2"])
    assert result.exit_code == 0, result.output
    assert len(list((run / "report").glob("grid_sample*.png"))) == 2


def test_resume_of_a_run_made_before_variants_trains_the_same_model(legacy_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "results" / legacy_run.name
    shutil.copytree(legacy_run, run)
    before = pd.read_csv(run / "per_sample.csv")
    store = RunStore(run)
    shutil.rmtree(store.unit_dir(UnitKey("l2", 0)))
    manifest = store.read_manifest()
    manifest["status"] = "interrupted"
    store.path("manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["run", "--resume", run.name, "--out", str(run.parent)])
    assert result.exit_code == 0, result.output
    after = pd.read_csv(run / "per_sample.csv")
    columns = ["config", "seed", "sample", *METRICS]
    pd.testing.assert_frame_equal(before[columns], after[columns])


@pytest.mark.parametrize("damage", ["other_variant", "garbage"])
def test_weights_that_do_not_fit_the_recorded_model_are_a_clear_error(legacy_run: Path, tmp_path: Path,
                                                                     damage: str) -> None:
    run = tmp_path / legacy_run.name
    shutil.copytree(legacy_run, run)
    weights = RunStore(run).unit_dir(UnitKey("l1", 0)) / "model.pt"
    if damage == "other_variant":
        from vfibench.model.interpolator import build_interpolator

        torch.save(build_interpolator(width=8, variant="synthesis").state_dict(), weights)
    else:
        weights.write_bytes(b"not a checkpoint")
    result = runner.invoke(app, ["report", str(run), "--samples", "1"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "cannot be loaded into the 'warp-blend' interpolator" in result.output


def test_resume_refuses_another_model_variant(legacy_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "results" / legacy_run.name
    shutil.copytree(legacy_run, run)
    store = RunStore(run)
    manifest = store.read_manifest()
    manifest["status"] = "interrupted"
    store.path("manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["run", "--resume", run.name, "--out", str(run.parent), "--preset", "smoke",
                                 "--steps", "2", "--model", "synthesis"])
    assert result.exit_code == 2 and "warp-blend" in result.output
