"""`vfibench run --tensorboard DIR`: the training log's scalars and sample frames, or one clear error."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from vfibench.cli import app

runner = CliRunner()
ARGS = ["run", "--preset", "smoke", "--losses", "l1", "--steps", "4", "--log-every", "2", "--val-samples", "2",
        "--metrics", "psnr"]


def test_tensorboard_holds_the_logged_scalars_and_frames(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = runner.invoke(app, [*ARGS, "--out", str(tmp_path / "results"), "--tensorboard", str(tmp_path / "tb")])
    assert result.exit_code == 0, result.output
    log = pd.read_csv(next((tmp_path / "results").glob("2*/train_log.csv")))
    folders = list((tmp_path / "tb").glob("*/l1/seed0"))
    assert len(folders) == 1
    events = EventAccumulator(str(folders[0]), size_guidance={"images": 0}).Reload()
    tags = events.Tags()
    assert {"loss/total", "loss/l1", "lr", "held_out/psnr"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("held_out/psnr")] == list(log["step"])
    assert [e.value for e in events.Scalars("held_out/psnr")] == pytest.approx(list(log["val_psnr"]), rel=1e-6)
    assert {"frames/ground_truth", "frames/prediction"} <= set(tags["images"])


def test_each_logged_column_goes_under_the_tag_of_what_it_is():
    from vfibench.tensorboard_log import tag

    assert [tag(c) for c in ("total", "l1", "adv", "adv_d_loss", "adv_d_accuracy", "lr", "val_psnr")] == [
        "loss/total", "loss/l1", "loss/adv", "loss/adv_d_loss", "discriminator/adv_d_accuracy", "lr", "held_out/psnr"]


def test_missing_tensorboard_is_one_clear_error_before_training(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard → ImportError
    result = runner.invoke(app, [*ARGS, "--out", str(tmp_path / "results"), "--tensorboard", str(tmp_path / "tb")])
    assert result.exit_code == 2, result.output
    assert "pip install 'vfibench[tensorboard]'" in " ".join(result.output.split())
    assert "Traceback" not in result.output and not (tmp_path / "results").exists()


def test_a_long_configuration_and_a_diverged_one_are_logged_too(tmp_path):
    """A 150-character configuration name made a folder the file system refused, which failed the sweep;
    a diverged unit's log, which train_log.csv keeps, was left out."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from vfibench.tensorboard_log import MAX_FOLDER_NAME

    long = "+".join(f"1.23456789012*{term}" for term in ("l1", "l2", "charbonnier(eps=0.00123456789)", "census",
                                                          "grad", "lap", "ssim"))
    diverging = "l1+1e39*l2@0.5"  # l2 joins at step 3 and overflows float32: one log row (step 2) before
    args = [*ARGS[:4], f"{long},{diverging}", *ARGS[5:]]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "results"), "--tensorboard", str(tmp_path / "tb")])
    assert result.exit_code == 0, result.output
    folders = {path.parent.name: path for path in (tmp_path / "tb").glob("*/*/seed0")}
    assert len(folders) == 2 and max(map(len, folders)) <= MAX_FOLDER_NAME, folders
    log = pd.read_csv(next((tmp_path / "results").glob("2*/train_log.csv")))
    kept = log[log["config"] == "l1+1e+39*l2@0.5"]
    assert list(kept["step"]) == [2], log
    events = EventAccumulator(str(folders["l1+1e+39_l2@0.5"])).Reload()
    assert [(e.step, e.value) for e in events.Scalars("loss/total")] == [(2, pytest.approx(kept["total"].iloc[0]))]


def test_a_tensorboard_write_that_fails_is_one_note_and_the_sweep_finishes(tmp_path, monkeypatch):
    import errno

    pytest.importorskip("tensorboard")
    from vfibench import tensorboard_log

    def full_disk(root, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device", str(root))

    monkeypatch.setattr(tensorboard_log, "write_unit", full_disk)
    args = [*ARGS[:4], "l1,l2", *ARGS[5:]]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "results"), "--tensorboard", str(tmp_path / "tb")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert text.count("TensorBoard logging stopped") == 1 and "No space left on device" in text, text
    assert "train_log.csv holds the same values" in text


def test_values_not_measured_at_a_step_are_left_out_and_the_first_frames_shown_at_the_last_step(tmp_path):
    pytest.importorskip("tensorboard")
    import torch
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from vfibench.results.schema import CONFIG, LEARNING_RATE, SEED, STEP
    from vfibench.tensorboard_log import write_unit

    log = [{CONFIG: "l1", SEED: 0, STEP: 2, "total": 0.5, LEARNING_RATE: 1e-3, "val_psnr": float("nan")},
           {CONFIG: "l1", SEED: 0, STEP: 4, "total": 0.25, LEARNING_RATE: 1e-3, "val_psnr": 30.0}]
    frames = torch.rand(6, 3, 8, 10, generator=torch.Generator().manual_seed(0))
    folder = write_unit(tmp_path, "run", "l1", 0, log, frames, frames)
    events = EventAccumulator(str(folder), size_guidance={"images": 0}).Reload()
    assert [(e.step, e.value) for e in events.Scalars("held_out/psnr")] == [(4, 30.0)]
    assert [e.step for e in events.Scalars("loss/total")] == [2, 4]
    for name in ("frames/ground_truth", "frames/prediction"):  # the first four frames, side by side
        assert [(e.step, e.width, e.height) for e in events.Images(name)] == [(4, 4 * 10, 8)], name


def test_two_long_configurations_that_differ_only_at_their_ends_get_folders_of_their_own(tmp_path):
    from vfibench.tensorboard_log import MAX_FOLDER_NAME, unit_folder

    terms = ("l1", "l2", "census", "grad", "lap", "ssim", "charbonnier")
    shared = "+".join(f"0.1*{term}" for term in terms * 2)
    first, second = (unit_folder(tmp_path, "run", f"{shared}+{term}", 3) for term in ("l1", "l2"))
    assert first != second and first.name == second.name == "seed3"
    assert first.parent.parent == second.parent.parent == tmp_path / "run"
    assert max(len(first.parent.name), len(second.parent.name)) <= MAX_FOLDER_NAME


def test_a_resume_is_told_where_the_run_logged_and_its_command_carries_the_folder(tmp_path):
    """The resume command printed after an interruption had no --tensorboard, and the resume it ran logged its
    units nowhere, without a word."""
    pytest.importorskip("tensorboard")
    import json
    import shutil

    from vfibench.presets import get_preset
    from vfibench.results.store import RunStore, UnitKey, store_resume_command
    from vfibench.sweep import plan_sweep
    from vfibench.sweep.interruption import resume_command

    out, tb = tmp_path / "results", tmp_path / "tb"
    args = [("l1,l2" if arg == "l1" else arg) for arg in ARGS]
    result = runner.invoke(app, [*args, "--out", str(out), "--tensorboard", str(tb)])
    assert result.exit_code == 0, result.output
    store = RunStore.open(out)
    assert store.read_manifest()["tensorboard"] == str(tb)
    assert store_resume_command(store).endswith(f"--tensorboard {tb}")
    plan = plan_sweep("l1", get_preset("smoke"), [0], out=out, device="cpu", metrics=["psnr"], tensorboard=tb)
    plan.executor = {"options": ["--threads", "1"]}
    assert resume_command(plan, store).endswith(f"--threads 1 --tensorboard {tb}")  # what an interruption prints

    logged = set(tb.rglob("*"))
    shutil.rmtree(store.unit_dir(UnitKey("l2", 0)))  # a unit to train again
    resumed = runner.invoke(app, ["run", "--resume", store.name, "--out", str(out)])
    assert resumed.exit_code == 0, resumed.output
    note = " ".join(resumed.stderr.split())
    assert f"the run's last session logged each unit for TensorBoard under '{tb}'; this one logs nowhere" in note
    assert f"add --tensorboard {tb}" in note
    assert set(tb.rglob("*")) == logged and store.read_manifest()["resumed"][-1]["tensorboard"] is None
    assert "--tensorboard" not in store_resume_command(store)  # the latest session's choice

    shutil.rmtree(store.unit_dir(UnitKey("l2", 0)))
    again = runner.invoke(app, ["run", "--resume", store.name, "--out", str(out), "--tensorboard", str(tb)])
    assert again.exit_code == 0 and "logs nowhere" not in again.stderr, again.output
    assert len(set(tb.glob("*/l2/seed0/*")) - logged) == 1  # its second event file
    manifest = json.loads(store.path("manifest.json").read_text())
    assert manifest["tensorboard"] == str(tb) and manifest["resumed"][-1]["tensorboard"] == str(tb)
    store.path("manifest.json").write_text(json.dumps(manifest | {"status": "interrupted"}))  # stopped at its end
    finished = runner.invoke(app, ["run", "--resume", store.name, "--out", str(out)])
    assert finished.exit_code == 0 and "nothing left to train" in finished.stderr, finished.output
    assert "TensorBoard" not in finished.stderr  # it trains nothing: nothing to log
