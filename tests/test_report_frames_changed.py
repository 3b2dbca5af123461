"""A report's image grids show only the frames the run scored: frames missing or changed since leave their
grids undrawn, with a warning and a note that say which and how to draw them; everything else is written."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.presets import get_preset
from vfibench.sweep import plan_sweep, run_sweep

runner = CliRunner()
METRICS = "psnr,ssim"  # weight-free; SSIM stands in for a perceptual metric in the grids' choice


def write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def evaluated(tmp_path: Path) -> dict[str, Path]:
    """``vfibench eval`` of one model's three frames, scored without grids: each sample is one of the three
    the report's grids show (one model: its three samples best on PSNR relative to SSIM)."""
    rng = np.random.default_rng(0)
    for k in range(3):
        truth = rng.integers(0, 256, size=(32, 40, 3))
        write_png(tmp_path / "gt" / f"f{k}.png", truth)
        write_png(tmp_path / "model" / f"f{k}.png", np.clip(truth + rng.integers(-8 * (k + 1), 8 * (k + 1) + 1,
                                                                                   size=truth.shape), 0, 255))
    out = tmp_path / "results"
    result = runner.invoke(app, ["eval", "--pred", str(tmp_path / "model"), "--gt", str(tmp_path / "gt"),
                                 "--out", str(out), "--metrics", METRICS, "--samples", "0"])
    assert result.exit_code == 0, result.output
    return {"root": tmp_path, "run": (out / "latest").resolve(), "model": tmp_path / "model", "gt": tmp_path / "gt"}


def report(run: Path, *args: str) -> object:
    return runner.invoke(app, ["report", str(run), *args])


def grids(run: Path) -> list[str]:
    return sorted(path.name for path in (run / "report").glob("grid_sample*.png"))


def test_an_evaluation_records_a_digest_of_every_file_it_scored(evaluated):
    manifest = json.loads((evaluated["run"] / "manifest.json").read_text())
    record = manifest["frame_digests"]
    for key, folder in (("gt", evaluated["gt"]), ("model", evaluated["model"])):
        digests = record["gt"] if key == "gt" else record["sources"]["model"]
        expected = [hashlib.sha256((folder / name).read_bytes()).hexdigest()[:16] for name in manifest["files"]]
        assert digests == expected


def test_a_prediction_changed_since_the_evaluation_leaves_its_grid_undrawn_and_says_so(evaluated):
    run, changed = evaluated["run"], evaluated["model"] / "f1.png"
    shutil.copyfile(evaluated["gt"] / "f1.png", changed)  # the model run again into the same folder
    result = report(run, "--samples", "3")
    assert result.exit_code == 0, result.output
    assert grids(run) == ["grid_sample0000.png", "grid_sample0002.png"]
    warning = words(result.stderr)
    assert warning.startswith("warning: The image grid of sample 1 (f1.png) was not drawn:"), warning
    assert f"'{changed}' (the predictions of 'model') changed since the run scored it" in warning
    assert "computed from the frames as they were" in warning and "--samples 0" in warning
    assert "was not drawn" not in words(result.stdout)  # given once, on stderr
    notes = words((run / "report" / "report.md").read_text().split("## Notes", 1)[1])
    assert f"'{changed}' (the predictions of 'model') changed since the run scored it" in notes
    page = (run / "report" / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2 and "was not drawn" in page


def test_a_prediction_folder_gone_leaves_every_grid_undrawn_and_writes_the_rest(evaluated):
    run = evaluated["run"]
    shutil.rmtree(evaluated["model"])
    result = report(run)
    assert result.exit_code == 0, result.output
    assert grids(run) == []
    for name in ("report.html", "report.md", "summary.tex", "analysis.json"):
        assert (run / "report" / name).is_file(), name
    warning = words(result.stderr)
    assert warning.startswith("warning: No image grids were drawn:"), warning
    assert f"'{evaluated['model']}' (the folder of the predictions of 'model') is missing" in warning
    assert f"restore the frames the run scored at '{evaluated['model']}'" in warning
    assert "Only the image grids need these frames" in warning and "--samples 0" in warning
    assert "No image grids were drawn" in (run / "report" / "report.md").read_text()
    page = runner.invoke(app, ["report", str(run), "--format", "html"])
    assert page.exit_code == 0 and "No image grids were drawn" in words(page.stderr)
    assert "No image grids were drawn" in page.stdout
    assert report(run, "--samples", "0").stderr == ""  # nothing drawn, nothing to warn of


def test_the_frames_of_a_run_recorded_without_digests_are_drawn_and_said_to_be_unchecked(evaluated):
    run = evaluated["run"]
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["frame_digests"]  # as an earlier vfibench wrote it
    (run / "manifest.json").write_text(json.dumps(manifest))
    result = report(run, "--samples", "1")
    assert result.exit_code == 0 and len(grids(run)) == 1, result.output
    assert "The image grids show the frames now at the paths the run recorded, unchecked" in words(result.stdout)


def test_an_evaluation_on_a_test_set_checks_the_sets_frames_and_the_predictions(tmp_path):
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, size=(32, 40, 3))
    for sample in ("1", "2"):
        frames = [np.roll(base, 2 * k + int(sample), axis=1) for k in range(3)]
        for name, frame in zip(("frame_00.png", "frame_01_gt.png", "frame_02.png"), frames):
            write_png(tmp_path / "ucf" / sample / name, frame)
        write_png(tmp_path / "pred" / f"{sample}.png", np.clip(frames[1] + rng.integers(-9, 10, size=base.shape),
                                                               0, 255))
    out = tmp_path / "results"
    result = runner.invoke(app, ["eval", "--gt", f"ucf101:{tmp_path / 'ucf'}", "--pred", str(tmp_path / "pred"),
                                 "--out", str(out), "--metrics", METRICS, "--samples", "2"])
    assert result.exit_code == 0 and "warning" not in result.stderr, result.output
    run = (out / "latest").resolve()
    assert grids(run) == ["grid_sample0000.png", "grid_sample0001.png"]
    truth = tmp_path / "ucf" / "2" / "frame_01_gt.png"
    write_png(truth, np.zeros((32, 40, 3)))
    changed = report(run, "--samples", "2")
    assert changed.exit_code == 0 and grids(run) == ["grid_sample0000.png"], changed.output
    assert f"'{truth}' (sample '2' of ucf101:{tmp_path / 'ucf'}) changed since the run scored it" in words(
        changed.stderr)
    shutil.move(tmp_path / "ucf", tmp_path / "moved")
    moved = report(run, "--samples", "2")
    assert moved.exit_code == 0 and grids(run) == ["grid_sample0000.png"], moved.output  # the earlier one kept
    assert (f"'ucf101:{tmp_path / 'ucf'}' (the run's recorded test set) cannot be read"
            in words(moved.stderr)), moved.stderr


def write_clip(folder: Path, frames: int = 8, size: int = 48) -> None:
    """A texture moving 2 px right per frame, as numbered PNG files."""
    texture = np.random.default_rng(2).integers(0, 256, size=(size, size + 2 * frames, 3))
    for k in range(frames):
        write_png(folder / f"{k:04d}.png", texture[:, 2 * k: 2 * k + size])


def test_a_sweep_on_real_data_draws_no_grid_once_its_test_data_changed_or_moved(tmp_path, monkeypatch):
    from vfibench.results import grid_process
    from vfibench.results.frames import frame_source
    from vfibench.results.store import RunStore

    monkeypatch.setattr(grid_process, "available_cores", lambda: 1)  # grids in this process: no second start-up

    clip = tmp_path / "clip"
    write_clip(clip)
    preset = get_preset("smoke").with_overrides(steps=2, train_count=4, test_count=6, batch_size=2)
    plan = plan_sweep("l1", preset, [0], out=tmp_path / "results", device="cpu", metrics=METRICS.split(","),
                      test_data=f"frames:{clip}")
    run = run_sweep(plan).root
    spec = f"frames:{clip}"

    def problems() -> list[str]:
        store = RunStore(run)
        source, reason = frame_source(store, store.read_manifest())
        assert source is not None, reason
        return [problem.sentence() for problem in source.check(0)]

    (clip / "0000.png").rename(tmp_path / "0000.png")  # the triplets shift by a frame
    changed = report(run)
    assert changed.exit_code == 0, changed.output
    assert grids(run) == [] and (run / "report" / "report.html").is_file()
    warning = words(changed.stderr)
    assert f"'{spec}' (the run's recorded test data) changed since the run scored it (its fingerprint is" in warning
    assert "No image grids were drawn" in (run / "report" / "report.md").read_text()
    (tmp_path / "0000.png").rename(clip / "0000.png")
    clip.rename(tmp_path / "moved")
    assert problems() == [f"'{spec}' (the run's recorded test data) cannot be read: the frames folder {clip} "
                          f"does not exist"]
    (tmp_path / "moved").rename(clip)
    assert problems() == []
    legacy = RunStore(run).read_manifest()
    del legacy["data"]["test"]["fingerprint"]  # as an earlier vfibench recorded it: only the triplets are counted
    for frame in ("0006.png", "0007.png"):
        (clip / frame).unlink()  # 4 triplets of the 6 scored
    source, reason = frame_source(RunStore(run), legacy)
    assert source is not None, reason
    source.prefetch([1, 5])
    assert [problem.sentence() for problem in source.check(1)] == [
        f"'{spec}' (the run's recorded test data) changed since the run scored it (it now holds 4 triplets, fewer "
        f"than it did)"]
    assert "kept no fingerprint of its test data" in source.unverified


def test_a_sweeps_grids_read_only_the_test_triplets_they_show_and_those_are_the_ones_scored(tmp_path, monkeypatch):
    """The grids of a sweep tested on real data loaded its whole test split to show three samples (Vimeo-90K's
    3,782 triplets: minutes of decoding and gigabytes of memory); they read only the samples shown."""
    from vfibench.data.frames import FramesSource
    from vfibench.data.sources import open_dataset
    from vfibench.results.frames import frame_source, levels_image, to_levels
    from vfibench.results.store import RunStore

    clip = tmp_path / "clip"
    write_clip(clip, frames=10)
    preset = get_preset("smoke").with_overrides(steps=2, train_count=4, test_count=6, batch_size=2)
    plan = plan_sweep("l1", preset, [0], out=tmp_path / "results", device="cpu", metrics=METRICS.split(","),
                      test_data=f"frames:{clip}")
    run = run_sweep(plan).root
    read: list[int] = []
    original = FramesSource.read

    def counted_read(self, indices):
        read.extend(indices)
        return original(self, indices)

    monkeypatch.setattr(FramesSource, "read", counted_read)
    store = RunStore(run)
    source, reason = frame_source(store, store.read_manifest())
    assert source is not None, reason
    source.prefetch([1, 4])
    assert len(read) == 2  # of the 6 triplets scored, selected from 8
    scored = open_dataset(f"frames:{clip}", "test", count=6, size=preset.test_size, seed=plan.data_seed)
    for sample in (1, 4):
        expected = levels_image(to_levels(scored.it[sample].permute(1, 2, 0).numpy()))
        assert np.array_equal(source.gt(sample), expected)
        assert source.check(sample) == []
