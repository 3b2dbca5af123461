"""A sweep on other data than the embedded scenes: --train-data / --test-data, recorded and shown."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from vfibench.cli import app


def write_clip(folder: Path, frames: int = 6, size: int = 48) -> Path:
    """A textured pattern moving 2 px right per frame, as numbered PNG files."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, size=(size, size + 2 * frames, 3), dtype=np.uint8)
    for k in range(frames):
        Image.fromarray(np.ascontiguousarray(texture[:, 2 * k : 2 * k + size])).save(folder / f"{k:04d}.png")
    return folder


def test_a_sweep_tests_on_a_frames_folder_and_records_it(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip")
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--metrics", "psnr,ssim",
                                      "--test-data", f"frames:{clip}", "--out", str(out), "--val-samples", "6"])
    assert result.exit_code == 0, result.output
    run = out / "latest"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["data"]["test"]["dataset"] == f"frames:{clip}"
    assert manifest["data"]["train"]["dataset"] == "synthetic"
    assert "trained on synthetic" in manifest["data"]["note"]
    # the smoke preset asks for 8 test triplets; the folder has 4, and the manifest says so
    assert manifest["data"]["test"]["count"] == 8 and manifest["data"]["test"]["loaded"] == 4
    assert manifest["data"]["train"]["loaded"] == manifest["data"]["train"]["count"]
    text = " ".join(result.output.split())  # and so does the run, before its numbers
    assert "note: --val-samples 6: the test data holds 4 triplets, so validation during training scores" in text
    assert manifest["validation"]["samples"] == 4 and manifest["validation"]["asked"] == 6
    per_sample = (run / "per_sample.csv").read_text().splitlines()
    # 6 frames at stride 1 give 4 triplets, scored for l1, blend and nearest.
    assert len(per_sample) == 1 + 3 * 4
    # real frames: no ground-truth ambiguity or occlusion; the motion (I0 → I1: 2 frames of 2 px) is estimated
    import pandas as pd

    frame = pd.read_csv(run / "per_sample.csv")
    assert frame["ambiguity_px"].isna().all() and frame["occluded"].isna().all()
    assert np.allclose(frame["motion_px"], 4.0, atol=0.5)
    report = CliRunner().invoke(app, ["report", "--out", str(out), "--samples", "1"])
    assert report.exit_code == 0, report.output
    assert list((run / "report").glob("grid_sample*.png"))


def test_the_dry_run_counts_the_triplets_a_folder_holds_not_the_presets_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # a long path folds at any width; this keeps it on one line
    clip = write_clip(tmp_path / "clip", frames=12)  # 10 triplets at stride 1
    args = ["run", "--preset", "smoke", "--losses", "l1", "--dry-run", "--out", str(tmp_path / "results")]
    result = CliRunner().invoke(app, [*args, "--train-data", f"frames:{clip}", "--test-data", f"frames:{clip}"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"frames:{clip}: 10 triplets (all it holds; the preset asks for 48) at 32×32" in text  # training
    assert f"frames:{clip}: 8 of its 10 triplets (a seeded subset) at 48×48" in text  # test
    strided = CliRunner().invoke(app, [*args, "--test-data", f"frames(stride=2):{clip}"])
    assert "frames(stride=2):" in strided.output and "8 triplets (all it holds) at 48×48" in " ".join(strided.output.split())
    assert not (tmp_path / "results").exists()


def test_a_sweep_trained_and_tested_on_one_clip_says_its_scores_are_not_on_unseen_content(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip")
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--steps", "2", "--losses", "l1", "--metrics", "psnr",
                                      "--val-samples", "0", "--train-data", f"frames:{clip}",
                                      "--test-data", f"frames:{clip}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = f"Training and test triplets come from the same source (frames:{clip}), which has no split of its own"
    assert said in " ".join(result.output.split())      # as it starts
    kept = f"{said}: test scores are not on unseen content."
    assert kept in " ".join(result.output.split()).split(said, 1)[1]  # and under the table it prints
    report = CliRunner().invoke(app, ["report", "--out", str(out), "--samples", "0"])
    assert report.exit_code == 0, report.output
    assert kept in " ".join((out / "latest" / "report" / "report.md").read_text().split())
    assert "--val-samples" not in result.output  # asked for none: nothing capped


def test_a_sweep_trained_on_the_standard_test_set_it_is_tested_on_says_so_before_any_work(tmp_path: Path) -> None:
    ucf = tmp_path / "ucf"  # UCF101's layout: <id>/frame_00.png, frame_01_gt.png, frame_02.png
    for sample in ("1", "2"):
        clip = write_clip(tmp_path / "clip" / sample)
        for k, name in enumerate(("frame_00.png", "frame_01_gt.png", "frame_02.png")):
            (ucf / sample).mkdir(parents=True, exist_ok=True)
            (clip / f"{k:04d}.png").rename(ucf / sample / name)
    args = ["run", "--preset", "smoke", "--losses", "l1", "--dry-run", "--out", str(tmp_path / "results")]
    wide = {"COLUMNS": "400"}  # long temporary paths stay on one line
    same = CliRunner().invoke(app, [*args, "--train-data", f"ucf101:{ucf}", "--test-data", f"ucf101:{ucf}"], env=wide)
    assert same.exit_code == 0, same.output
    assert f"the same source (ucf101:{ucf}), which has no split of its own" in " ".join(same.output.split())
    # the same files read as another kind of source are as much the test set
    read_otherwise = CliRunner().invoke(app, [*args, "--train-data", f"frames:{ucf}", "--test-data", f"ucf101:{ucf}"],
                                        env=wide)
    assert read_otherwise.exit_code == 0, read_otherwise.output
    assert (f"2 of the 2 test triplets (ucf101:{ucf}) read frames the training data (frames:{ucf}) also reads: "
            f"test scores are not on unseen content" in " ".join(read_otherwise.output.split()))


@pytest.mark.parametrize("spec", ["synthetic(ambiguity=3)", "synthetic(count=0)", "synthetic(max_motion=0.9)"])
def test_bad_synthetic_options_are_refused_before_any_work(tmp_path: Path, spec: str) -> None:
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--metrics", "psnr",
                                      "--test-data", spec, "--out", str(tmp_path / "results")])
    assert result.exit_code == 2 and "--test-data: The synthetic dataset got" in result.output
    assert "Loading" not in result.output and not (tmp_path / "results").exists()


def test_a_missing_dataset_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--metrics", "psnr",
                                      "--test-data", f"frames:{tmp_path / 'nowhere'}", "--out", str(out)])
    assert result.exit_code == 2
    assert "--test-data" in result.output and "nowhere" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_an_unknown_dataset_kind_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--train-data", "vimeo:/x",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "vimeo90k" in result.output


def test_the_manifest_and_the_dry_run_record_the_options_a_spec_sets(tmp_path: Path) -> None:
    args = ["run", "--preset", "smoke", "--steps", "2", "--losses", "l1", "--metrics", "psnr", "--val-samples", "0",
            "--train-data", "synthetic(count=5)", "--test-data", "synthetic(count=3, ambiguity=0)",
            "--out", str(tmp_path)]
    dry = CliRunner().invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    text = " ".join(dry.output.split())
    assert "synthetic(count=5): 5 triplets at 32×32" in text and ": 3 triplets at 48×48" in text
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "latest" / "manifest.json").read_text())["data"]
    assert (data["train"]["count"], data["test"]["count"], data["ambiguity"]) == (5, 3, 0.0)
    assert data["train_ambiguity"] == 0.5  # the training scenes keep the preset's


def test_a_standard_set_is_recorded_at_its_native_size() -> None:
    from vfibench.presets import get_preset
    from vfibench.sweep.data import data_options

    preset = get_preset("smoke")
    assert data_options("ucf101:/data/ucf101", preset, "test")["size"] is None
    assert data_options("synthetic", preset, "test")["size"] == preset.test_size



def test_a_sweep_records_its_data_with_an_absolute_path_and_reports_from_any_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A spec typed with a relative path is recorded absolute: the report, a resume and a worker
    started elsewhere read the same frames."""
    write_clip(tmp_path / "work" / "clip")
    monkeypatch.chdir(tmp_path / "work")
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--metrics", "psnr,ssim",
                                      "--test-data", "frames:clip", "--out", "results"])
    assert result.exit_code == 0, result.output
    run = (tmp_path / "work" / "results" / "latest").resolve()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["data"]["test"]["dataset"] == f"frames:{tmp_path / 'work' / 'clip'}"
    resumed = CliRunner().invoke(app, ["run", "--resume", "latest", "--out", "results", "--test-data", "frames:clip"])
    assert resumed.exit_code == 0, resumed.output  # the same folder, typed relative again: no conflict
    monkeypatch.chdir(tmp_path)
    report = CliRunner().invoke(app, ["report", str(run), "--samples", "1"])
    assert report.exit_code == 0, report.output
    assert list((run / "report").glob("grid_sample*.png"))


def test_the_report_of_a_sweep_tested_on_a_standard_set_draws_its_frames(tmp_path: Path) -> None:
    """A standard set is recorded with no size (it is never resized); the report re-reads it so."""
    clip = write_clip(tmp_path / "clip", frames=9)
    frames = sorted(clip.iterdir())
    for sample in range(3):
        folder = tmp_path / "ucf" / str(sample + 1)
        folder.mkdir(parents=True)
        for name, frame in zip(("frame_00.png", "frame_01_gt.png", "frame_02.png"), frames[3 * sample:]):
            (folder / name).write_bytes(frame.read_bytes())
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--metrics", "psnr,ssim",
                                      "--test-data", f"ucf101:{tmp_path / 'ucf'}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = CliRunner().invoke(app, ["report", "--out", str(out), "--samples", "1"])
    assert report.exit_code == 0, report.output
    assert list((out / "latest" / "report").glob("grid_sample*.png"))
