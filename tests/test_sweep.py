"""Sweeps: seeds, divergence in every table, run directories, latest, locks, interruption and resume.

Every sweep here is the smoke preset cut to two training steps and scored on PSNR alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.errors import ResultsError, VfiBenchError
from vfibench.presets import get_preset
from vfibench.results.schema import INTERRUPTED, read_csv
from vfibench.results.store import RunStore, UnitKey
from vfibench.sweep import (SilentListener, SweepInterrupted, SweepPlan, gather, plan_resume, plan_sweep, run_sweep,
                            stop_on_signals)
from vfibench.sweep.data import data_fingerprint
from vfibench.train import STATE_NOT_FINITE

PRESET = get_preset("smoke").with_overrides(steps=2, log_every=1)
runner = CliRunner()


def tiny_plan(out: Path, losses: str = "l1,l2", seeds: tuple[int, ...] = (0,)):
    return plan_sweep(losses, PRESET, list(seeds), out=out, device="cpu", metrics=["psnr"])


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> RunStore:
    return run_sweep(tiny_plan(tmp_path_factory.mktemp("finished")))


def test_finished_run_is_latest_with_complete_manifest_and_tables(finished: RunStore) -> None:
    latest = finished.root.parent / "latest"
    assert latest.is_symlink() and latest.resolve() == finished.root.resolve()
    manifest = finished.read_manifest()
    assert manifest["status"] == "complete" and manifest["seeds"] == [0]
    assert [entry["status"] for entry in manifest["configs"]] == ["complete", "complete"]  # not "planned"
    summary = read_csv(finished.path("summary.csv"))
    assert summary["config"].tolist() == ["l1", "l2", "blend", "nearest"]
    assert summary["status"].tolist() == ["complete"] * 2 + ["complete"] * 2
    assert not list(finished.root.rglob(".*.tmp"))
    from vfibench.results.view import load_run_view

    assert "preset smoke (2 steps)" in load_run_view(finished).title()


def test_identical_runs_get_their_own_directories_and_compare_equal(tmp_path: Path, finished: RunStore) -> None:
    again = run_sweep(tiny_plan(finished.root.parent))
    assert again.root != finished.root
    assert again.path("summary.csv").read_bytes() == finished.path("summary.csv").read_bytes()
    result = runner.invoke(app, ["compare", str(again.root), str(finished.root), "--two-sided"])
    assert result.exit_code == 0, result.output
    assert "0 regressed, 0 improved, 4 within tolerance" in result.output


def test_seeds_are_aggregated_with_std_over_seeds(tmp_path: Path) -> None:
    plan = tiny_plan(tmp_path, losses="l1,l2", seeds=(0, 1))
    store = run_sweep(plan)
    summary = read_csv(store.path("summary.csv")).set_index("config")
    per_sample = read_csv(store.path("per_sample.csv"))
    l1 = per_sample[per_sample["config"] == "l1"]
    per_seed = l1.groupby("seed")["psnr"].mean()
    assert summary.loc["l1", "seeds"] == 2
    assert summary.loc["l1", "psnr_mean"] == pytest.approx(per_seed.mean(), abs=1e-8)
    assert summary.loc["l1", "psnr_std"] == pytest.approx(per_seed.std(ddof=1), abs=1e-8)
    assert per_seed.iloc[0] != per_seed.iloc[1]               # the seed changes initialisation and data order
    markdown = store.path("summary.md").read_text(encoding="utf-8")
    assert "2 seeds (± std over seeds)" in markdown and " ± " in markdown

    # A configuration with one of its two seeds missing is marked partial, never complete.
    shutil.rmtree(store.unit_dir(UnitKey("l1", 1)))
    gather(store, plan)
    summary = read_csv(store.path("summary.csv")).set_index("config")
    assert summary.loc["l1", "status"] == "partial"
    assert summary.loc["l1", "reason"].startswith("1 of 2 seeds finished")
    assert summary.loc["l2", "status"] == "complete"


def test_diverged_configuration_is_marked_with_its_step_in_every_table(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--preset", "smoke", "--steps", "2", "--losses", "l1,1e40*l2,1e37*l2",
                                 "--metrics", "psnr", "--device", "cpu", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    store = RunStore.open(tmp_path)
    summary = read_csv(store.path("summary.csv")).set_index("config")
    assert summary.loc["1e+40*l2", "status"] == "diverged"
    assert summary.loc["1e+40*l2", "reason"] == "at step 1 of 2 (seed 0), no finite loss before it"
    assert summary.loc["l1", "status"] == "complete" and summary.loc["l1", "psnr_mean"] > 20
    assert summary.loc["1e+37*l2", "status"] == "diverged"  # finite loss, Adam's state overflowed
    assert summary.loc["1e+37*l2", "reason"].startswith("at step 1 of 2 (seed 0), loss ")
    assert summary.loc["1e+37*l2", "reason"].endswith(STATE_NOT_FINITE)
    assert {e["config"]: e["status"] for e in store.read_manifest()["configs"]} == {
        "l1": "complete", "1e+40*l2": "diverged", "1e+37*l2": "diverged"}
    markdown = store.path("summary.md").read_text(encoding="utf-8")
    assert "| 1e+40\\*l2 | diverged | — |" in markdown  # * escaped: Markdown would read it as emphasis
    assert "'1e+40\\*l2' diverged: at step 1 of 2" in markdown  # in the notes too
    terminal = " ".join(result.output.split())
    assert "diverged at step 1" in terminal and "'1e+40*l2' diverged: at step 1 of 2 (seed 0)" in terminal
    info = store.unit_info(UnitKey("1e+40*l2", 0))
    assert info is not None and info["diverged_at"] == 1 and info["last_finite_loss"] is None


def test_run_directories_are_never_shared_even_when_created_at_once(tmp_path: Path) -> None:
    roots: list[Path] = []
    threads = [threading.Thread(target=lambda: roots.extend(RunStore.create(tmp_path).root for _ in range(10)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(roots) == 80 and len(set(roots)) == 80


def test_a_failed_attempt_does_not_keep_the_scores_an_earlier_stopped_attempt_left(tmp_path: Path) -> None:
    import pandas as pd

    store = RunStore.create(tmp_path)
    key = UnitKey("l1", 0)
    folder = store.unit_dir(key)
    folder.mkdir(parents=True)
    # An attempt stopped after writing its tables and model, before its unit.json (the record comes last).
    pd.DataFrame({"config": ["l1"] * 2, "seed": [0, 0], "sample": [0, 1], "psnr": [30.0, 31.0]}).to_csv(
        folder / "per_sample.csv", index=False)
    pd.DataFrame({"config": ["l1"], "seed": [0], "step": [1], "loss": [0.5]}).to_csv(folder / "train_log.csv",
                                                                                       index=False)
    (folder / "model.pt").write_bytes(b"weights of the stopped attempt")
    store.write_unit(key, {"status": "failed", "reason": "RuntimeError: out of memory"}, None)
    assert sorted(path.name for path in folder.iterdir()) == ["unit.json"]
    assert store.read_unit_table(key, "per_sample.csv") is None


def test_a_stop_before_the_first_manifest_leaves_no_run_to_resume(tmp_path: Path) -> None:
    import signal

    from vfibench.sweep.interruption import interrupted_before_start

    store = RunStore.create(tmp_path)  # stopped before its manifest was written: no resume command for it
    stopped = interrupted_before_start(signal.SIGINT, store)
    assert stopped.store is None and stopped.resume == "" and "nothing was written" in str(stopped)
    assert not store.root.exists()
    store = RunStore.create(tmp_path)
    store.write_manifest({"tool": "vfibench", "kind": "sweep", "status": "running"})
    stopped = interrupted_before_start(signal.SIGINT, store)
    assert stopped.store is store and "--resume" in stopped.resume and store.root.is_dir()


def test_latest_only_points_at_a_complete_run_and_a_locked_run_is_refused(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    store.write_manifest({"tool": "vfibench", "kind": "sweep", "status": "running"})
    with pytest.raises(ResultsError, match="not 'complete'"):
        store.mark_latest()
    assert not (tmp_path / "latest").exists()
    store.write_manifest({"tool": "vfibench", "kind": "sweep", "status": "complete"})
    store.mark_latest()
    assert RunStore.open(tmp_path).root == store.root
    store.write_manifest({"tool": "vfibench", "kind": "sweep", "status": "interrupted"})  # resumed, then stopped
    for read in (lambda: RunStore.open(tmp_path), lambda: RunStore.open(tmp_path, str(tmp_path / "latest")),
                 lambda: RunStore.open(tmp_path, "latest")):
        with pytest.raises(ResultsError, match=f"points at the run '{store.name}', which was resumed .* says "
                                               f"'interrupted'. Finish it with"):
            read()
    from vfibench.api import load_run
    from vfibench.results.compare_inputs import load_summary

    for read in (lambda: load_summary(tmp_path / "latest"), lambda: load_summary(tmp_path / "latest" / "summary.csv"),
                 lambda: load_run(tmp_path / "latest")):  # compare (the run, or its summary.csv), api
        with pytest.raises(ResultsError, match="which was resumed .* says 'interrupted'"):
            read()
    store.write_manifest({"tool": "vfibench", "kind": "sweep", "status": "running"})  # being resumed now
    with pytest.raises(ResultsError, match="says 'running'. Wait for that resume to finish"):
        RunStore.open(tmp_path)
    with store.lock():
        with pytest.raises(ResultsError, match="being written by another process"):
            with RunStore(store.root).lock():
                pass
    release = threading.Timer(0.3, lambda: held.__exit__(None, None, None))
    held = store.lock()
    held.__enter__()  # held for a moment, as a report rewriting the summary holds it: a sweep waits for it
    release.start()
    with RunStore(store.root).lock():
        pass
    release.join()


def test_a_file_system_without_locks_is_named_not_taken_for_a_busy_run(tmp_path: Path, monkeypatch) -> None:
    import errno
    import fcntl

    store = RunStore.create(tmp_path)

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(OSError, match="No locks available"):  # at once, not after the wait for a holder
        with store.lock():
            pass


class AtSecondTraining(SilentListener):
    """Calls ``act`` when the second trained configuration starts."""

    def __init__(self, act: object) -> None:
        self.started = 0
        self.act = act

    def unit_started(self, label: str, steps: int) -> None:
        self.started += 1
        if self.started == 2:
            self.act()  # type: ignore[operator]


def ctrl_c() -> None:
    raise KeyboardInterrupt


class StopAtSecondTraining(AtSecondTraining):
    """Simulates Ctrl-C when the second trained configuration starts."""

    def __init__(self) -> None:
        super().__init__(ctrl_c)


def test_ctrl_c_keeps_finished_units_and_says_how_to_resume(tmp_path: Path, finished: RunStore) -> None:
    plan = tiny_plan(tmp_path)
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(plan, StopAtSecondTraining())
    error = stopped.value
    assert error.exit_code == 130
    message = str(error)
    assert "SIGINT (Ctrl-C)" in message and str(error.store.root) in message
    assert "1 of 2 trainings (configuration × seed) and 2 of 2 reference units finished" in message  # as counted
    assert error.resume == f"vfibench run --resume {error.store.name} --out {tmp_path}" and error.resume in message
    assert error.store.read_manifest()["status"] == INTERRUPTED
    assert not (tmp_path / "latest").exists()
    partial = read_csv(error.store.path("summary.csv")).set_index("config")
    assert partial.loc["l1", "status"] == "complete" and partial.loc["l2", "status"] == "missing"
    result = runner.invoke(app, error.resume.split()[1:])
    assert result.exit_code == 0, result.output
    assert "3 of 4 units finished" in result.output
    assert error.store.path("summary.csv").read_bytes() == finished.path("summary.csv").read_bytes()
    assert (tmp_path / "latest").resolve() == error.store.root.resolve()
    manifest = error.store.read_manifest()
    assert manifest["status"] == "complete" and manifest["resumed"][0]["from_status"] == INTERRUPTED
    again = runner.invoke(app, ["run", "--resume", error.store.name, "--out", str(tmp_path)])
    assert again.exit_code == 0 and "already complete; nothing to do" in " ".join(again.output.split())


def test_references_not_run_yet_are_missing_references_and_stay_unranked(tmp_path: Path, finished: RunStore) -> None:
    store = RunStore(tmp_path / finished.name)
    shutil.copytree(finished.root, store.root)
    for name in ("blend", "nearest"):  # stopped before any reference unit finished
        shutil.rmtree(store.unit_dir(UnitKey(name, 0, "reference")))
    store.path("manifest.json").write_text(json.dumps({**store.read_manifest(), "status": INTERRUPTED}))
    gather(store, tiny_plan(tmp_path))
    summary = read_csv(store.path("summary.csv")).set_index("config")
    assert summary.loc[["blend", "nearest"], "status"].tolist() == ["missing"] * 2
    assert summary["kind"].tolist() == ["trained", "trained", "reference", "reference"]
    result = runner.invoke(app, ["report", str(store.root), "--format", "md"])
    assert result.exit_code == 0, result.output
    assert "references are not ranked" in " ".join(result.stdout.split())


class SignalledInsideAFinalizer:
    """Sends SIGTERM to this process from its ``__del__``: Python runs the handler there, reports the
    exception it raises as "ignored" and goes on, as when a signal arrives during garbage collection."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(3):  # bytecode, so that the handler runs here
            pass


def test_a_signal_whose_exception_python_dropped_still_stops_the_sweep(tmp_path: Path) -> None:
    unraisable: list[object] = []
    with stop_on_signals(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "unraisablehook", unraisable.append)
        with pytest.raises(SweepInterrupted) as stopped:
            run_sweep(tiny_plan(tmp_path, losses="l1,l2,l1+perc"), AtSecondTraining(SignalledInsideAFinalizer))
    assert [type(u.exc_value).__name__ for u in unraisable] == ["Interrupted"]  # Python did drop it
    assert stopped.value.exit_code == 143 and "SIGTERM" in str(stopped.value)
    assert "2 of 3 trainings (configuration × seed) and 2 of 2 reference units" in str(stopped.value)  # l1+perc never started
    assert stopped.value.store.read_manifest()["status"] == INTERRUPTED


def test_a_second_signal_during_the_clean_up_is_ignored_and_the_run_stays_resumable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user pressing Ctrl-C twice, or a SIGTERM after the Ctrl-C: the first stops the sweep, a later one
    must not cut short the clean-up that writes the tables and marks the run interrupted."""
    from vfibench.sweep import coordinator

    real_gather = coordinator.gather

    def signalled_again(*args: object, **kwargs: object) -> object:
        os.kill(os.getpid(), signal.SIGTERM)  # while the clean-up gathers the finished units
        return real_gather(*args, **kwargs)

    def first_signal() -> None:
        monkeypatch.setattr(coordinator, "gather", signalled_again)
        os.kill(os.getpid(), signal.SIGINT)

    with stop_on_signals(), pytest.raises(SweepInterrupted) as stopped:
        run_sweep(tiny_plan(tmp_path), AtSecondTraining(first_signal))
    assert stopped.value.exit_code == 130  # the first signal's
    assert stopped.value.store.read_manifest()["status"] == INTERRUPTED
    assert (stopped.value.store.root / "summary.csv").is_file()


def test_a_stop_while_the_finished_run_is_marked_complete_keeps_it_resumable(
        tmp_path: Path, finished: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every unit has finished; the signal arrives as the run is being marked complete.
    from vfibench.sweep.executors import LocalExecutor

    def stopped(self: RunStore) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(RunStore, "mark_latest", stopped)
        with pytest.raises(SweepInterrupted) as caught:
            run_sweep(tiny_plan(tmp_path), executor=LocalExecutor(1, options=("--threads", "1")))
    error = caught.value
    assert error.exit_code == 130 and ("after every unit had finished: its 2 trainings (configuration × seed) and 2 "
                                       "reference units are kept") in " ".join(str(error).split())
    assert error.resume == f"vfibench run --resume {error.store.name} --out {tmp_path} --threads 1"
    assert error.store.read_manifest()["status"] == INTERRUPTED and not (tmp_path / "latest").exists()
    result = runner.invoke(app, error.resume.split()[1:])
    assert result.exit_code == 0, result.output
    assert "4 of 4 units finished" in result.output
    assert error.store.read_manifest()["status"] == "complete"
    assert (tmp_path / "latest").resolve() == error.store.root.resolve()
    assert error.store.path("summary.csv").read_bytes() == finished.path("summary.csv").read_bytes()


def test_resuming_a_complete_run_trains_a_deleted_unit_again(tmp_path: Path, finished: RunStore) -> None:
    # what the summary advises for a failed unit: delete its folder and resume the run
    import shutil

    copy = RunStore(Path(shutil.copytree(finished.root, tmp_path / finished.name, symlinks=True)))
    shutil.rmtree(copy.unit_dir(UnitKey("l2", 0)))
    result = runner.invoke(app, ["run", "--resume", copy.name, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "3 of 4 units finished" in result.output and "already complete" not in result.output
    assert copy.unit_dir(UnitKey("l2", 0)).is_dir()
    assert copy.path("summary.csv").read_bytes() == finished.path("summary.csv").read_bytes()


def interrupted_run(tmp_path: Path) -> RunStore:
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(tiny_plan(tmp_path), StopAtSecondTraining())
    return stopped.value.store


def test_resuming_a_run_whose_configuration_is_no_longer_accepted_says_so(tmp_path: Path) -> None:
    import json

    store = interrupted_run(tmp_path)
    manifest = store.read_manifest()
    manifest["configs"][1]["config"] = "dain+charbonnier"  # accepted when such a run was made, refused now
    store.path("manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "its configuration 'dain+charbonnier' is no longer accepted" in text and "Start a new sweep" in text


def test_resuming_by_path_names_the_units_left_and_the_report_command_that_finds_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = interrupted_run(tmp_path / "runs")
    monkeypatch.chdir(tmp_path)  # --out left at its default ("results"), which does not hold the run
    result = runner.invoke(app, ["run", "--resume", str(store.root)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "3 of 4 units finished; running the 1 left" in output
    assert f"vfibench report {store.name} --out {store.root.parent}" in output


def test_resume_refuses_options_that_conflict_with_the_manifest(tmp_path: Path) -> None:
    store = interrupted_run(tmp_path)
    with pytest.raises(VfiBenchError) as conflict:
        plan_resume(store, losses="l1,charbonnier", seeds=[0, 1], preset=get_preset("ci"))
    message = str(conflict.value)
    assert "--losses gives l1, charbonnier; the run has l1, l2" in message
    assert "--seeds 0,1; the run has 0" in message and "--preset ci; the run used smoke" in message
    plan = plan_resume(store, losses="L1, 1*l2", seeds=[0], preset=PRESET)  # another spelling of the same losses
    assert [c.canonical for c in plan.configs] == ["l1", "l2"] and plan.preset == PRESET
    result = runner.invoke(app, ["run", "--resume", "--out", str(tmp_path), "--seeds", "3"])
    assert result.exit_code == 2 and "conflict" in result.output and "Traceback" not in result.output
    # options of the run's preset, given without --preset, are checked against the run's own and named
    for option, expected in ((["--model", "warp-blend"], "--model warp-blend; the run trains"),
                             (["--log-every", "7"], "--log-every 7; the run logs every"),
                             (["--val-samples", "0"], "--val-samples 0; the run has")):
        result = runner.invoke(app, ["run", "--resume", "--out", str(tmp_path), *option])
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and expected in text and "--steps" not in text, text
    every = runner.invoke(app, ["run", "--resume", "--out", str(tmp_path), "--steps", "100", "--model", "warp-blend",
                                "--log-every", "7"])
    text = " ".join(every.output.split())  # every conflict is named, not the first
    assert every.exit_code == 2 and "--steps 100; the run trains" in text and "--model warp-blend;" in text
    assert "--log-every 7;" in text
    # a preset's own value is named as the preset's, a flag as it is written
    preset = runner.invoke(app, ["run", "--resume", "--out", str(tmp_path), "--preset", "smoke",
                                 "--skip-unavailable"])
    text = " ".join(preset.output.split())
    assert preset.exit_code == 2 and "--preset smoke (--steps 12); the run trains" in text, text
    assert "--skip-unavailable; the run was made with --no-skip-unavailable" in text, text
    folder = runner.invoke(app, ["run", "--resume", str(tmp_path), "--out", str(tmp_path)])  # the folder of runs
    text = " ".join(folder.output.split())
    assert folder.exit_code == 2 and "is a folder of runs, not a run" in text, text
    assert "finishes the newest unfinished run in it" in text and store.name in text
    shutil.copytree(store.root, tmp_path / "outer" / "inner" / store.name)  # named relative to --out
    folder = runner.invoke(app, ["run", "--resume", "inner", "--out", str(tmp_path / "outer")])
    text = " ".join(folder.output.split())
    assert folder.exit_code == 2 and f"--resume --out {tmp_path / 'outer' / 'inner'}` finishes" in text, text


def test_resume_refuses_another_torch_and_keeps_each_session_s_commit_and_the_run_s_start_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    from importlib import metadata

    store = interrupted_run(tmp_path)
    manifest = store.read_manifest()
    manifest["versions"]["torch"] = "1.13.1"  # the run started under another torch
    store.path("manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    installed = metadata.version("torch")
    assert f"torch {installed} now, 1.13.1 then" in text and "pip install torch==1.13.1" in text
    manifest["versions"]["torch"] = installed
    manifest["git_commit"] = "0123abc"  # started from another commit: allowed, and both are kept
    manifest["created"] = "2026-01-02T03:04:05+0000"  # a resume keeps when the run started
    store.path("manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr("vfibench.sweep.plan.git_commit", lambda directory: "4567def+dirty")
    result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    resumed = store.read_manifest()
    assert resumed["git_commit"] == "0123abc" and resumed["resumed"][-1]["git_commit"] == "4567def+dirty"
    assert resumed["created"] == "2026-01-02T03:04:05+0000"


def interrupted_on_a_clip(tmp_path: Path, split: str) -> tuple[RunStore, Path, SweepPlan]:
    """A sweep stopped at its second training, with ``split`` ("train" or "test") read from a folder of
    seven random 48² frames (the other split synthetic): the store, the clip and the plan."""
    from PIL import Image

    clip = tmp_path / "clip"
    clip.mkdir()
    rng = np.random.default_rng(0)
    for k in range(7):
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(clip / f"{k:03d}.png")
    plan = plan_sweep("l1,l2", PRESET, [0], out=tmp_path / "runs", device="cpu", metrics=["psnr"],
                      **{f"{split}_data": f"frames:{clip}"})
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(plan, StopAtSecondTraining())
    return stopped.value.store, clip, plan


def test_resume_refuses_a_run_whose_training_frames_were_read_at_another_size(tmp_path: Path) -> None:
    """A run that trained on a standard set's frames at native size (as vfibench did before it fitted them
    to the preset's crops) cannot have its remaining units trained on crops."""
    import json

    store, _, plan = interrupted_on_a_clip(tmp_path, "train")
    manifest = store.read_manifest()
    assert manifest["data"]["train"]["size"] == PRESET.crop
    manifest["data"]["train"]["size"] = None
    store.path("manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path / "runs"), "--dry-run"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert (f"the run read its training data at native size, where this vfibench reads it at "
            f"{PRESET.crop}×{PRESET.crop}") in text and "start a new sweep" in text


def test_resume_refuses_real_data_that_changed(tmp_path: Path) -> None:
    import json

    from PIL import Image

    store, clip, plan = interrupted_on_a_clip(tmp_path, "test")
    manifest = store.read_manifest()
    fingerprint = manifest["data"]["test"]["fingerprint"]
    assert len(fingerprint) == 16 and "fingerprint" not in manifest["data"]["train"]  # synthetic: fixed by its spec
    Image.fromarray(np.full((48, 48, 3), 9, dtype=np.uint8)).save(clip / "003.png")  # a frame replaced
    for dry_run in (["--dry-run"], []):  # refused before anything runs, by the dry run too
        result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path / "runs"), *dry_run])
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert "the data changed since the run started (test data fingerprint " in text and f"{fingerprint} then" in text
    # the triplets each split loaded are checked too, once loaded (a frame gone: one triplet fewer)
    fingerprinted = store.read_manifest()
    (clip / "006.png").unlink()
    manifest["data"]["test"]["fingerprint"] = data_fingerprint(f"frames:{clip}", "test", PRESET, plan.data_seed)
    store.path("manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "test triplets 4 now, 5 then" in " ".join(result.output.split())
    assert store.read_manifest()["status"] == "interrupted"
    # a run on real data recorded before fingerprints cannot be checked (a replaced frame keeps the counts):
    # refused, and its manifest is not given a fingerprint its finished units were never checked against
    del fingerprinted["data"]["test"]["fingerprint"]
    store.path("manifest.json").write_text(json.dumps(fingerprinted))
    result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path / "runs")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "recorded no fingerprint of its real test data" in text, result.output
    assert "fingerprint" not in store.read_manifest()["data"]["test"]
    # nor does report, finding the run unfinished, advise the resume that refuses it
    result = runner.invoke(app, ["report", "--out", str(tmp_path / "runs")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "--resume" not in text, result.output
    assert ("It cannot be resumed (it was started by an earlier vfibench that recorded no fingerprint of its real "
            "test data, so a resume could not check that the data is unchanged): start a new sweep with the same "
            f"options to finish the comparison, or report what it has so far with `vfibench report {store.name}") in text
    result = runner.invoke(app, ["report", store.name, "--out", str(tmp_path / "runs")])
    text = " ".join(result.output.split())
    assert result.exit_code == 0 and "--resume" not in text, result.output
    assert "It cannot be resumed (it was started by an earlier vfibench" in text


def test_resume_keeps_the_runs_held_out_scenes(tmp_path: Path) -> None:
    plan = tiny_plan(tmp_path)
    plan.val_samples = 0  # --val-samples 0: no held-out scores in the training log
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(plan, StopAtSecondTraining())
    store = stopped.value.store
    assert plan_resume(store).val_samples == 0
    result = runner.invoke(app, ["run", "--resume", "--out", str(tmp_path)])  # the option's default is not taken
    assert result.exit_code == 0, result.output
    assert store.read_manifest()["validation"]["samples"] == 0
    log = read_csv(store.path("train_log.csv"))
    assert "val_psnr" not in log or log["val_psnr"].isna().all()


def test_resume_accepts_the_held_out_scenes_asked_for_and_those_scored(tmp_path: Path) -> None:
    store = interrupted_run(tmp_path)  # the default 16 held-out scenes, capped at the 8 test scenes
    validation = store.read_manifest()["validation"]
    assert (validation["asked"], validation["samples"]) == (16, 8)
    for given in (16, 8):
        assert plan_resume(store, val_samples=given).val_samples == 8
    with pytest.raises(VfiBenchError, match="--val-samples 4; the run has 16"):
        plan_resume(store, val_samples=4)


def test_resume_reports_damaged_files_clearly(tmp_path: Path) -> None:
    store = interrupted_run(tmp_path)
    unit = store.unit_dir(UnitKey("l1", 0)) / "unit.json"
    good = unit.read_bytes()
    unit.write_bytes(b"\x00garbage{")
    result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "cannot be read as JSON" in text and str(unit.parent) in text
    unit.write_text(json.dumps({"config": "l2", "seed": 0, "kind": "trained", "status": "complete"}))
    with pytest.raises(ResultsError, match="not the unit"):
        store.unit_info(UnitKey("l1", 0))
    unit.write_bytes(good)
    table = store.unit_dir(UnitKey("l1", 0)) / "per_sample.csv"
    table.write_bytes(table.read_bytes()[:-7])
    with pytest.raises(ResultsError, match="cut short"):
        store.read_unit_table(UnitKey("l1", 0), "per_sample.csv")
    manifest = store.path("manifest.json")
    manifest.write_text(manifest.read_text()[:100])
    result = runner.invoke(app, ["run", "--resume", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "manifest.json" in result.output and "Traceback" not in result.output
    manifest.write_text(json.dumps({"tool": "vfibench", "kind": "sweep", "status": "running"}))
    result = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path)])
    assert result.exit_code == 2 and "lacks the entry 'configs'" in result.output


@pytest.mark.parametrize("lost", ["per_sample.csv", "train_log.csv"])
def test_a_finished_unit_that_lost_a_table_is_named_not_dropped_from_the_tables(tmp_path: Path, lost: str) -> None:
    """A finished unit whose per_sample.csv was deleted was taken as finished: the resumed run ended
    complete without that configuration, and a rebuild of the tables dropped its rows."""
    store = interrupted_run(tmp_path)
    folder = store.unit_dir(UnitKey("l1", 0))
    assert json.loads((folder / "unit.json").read_text())["tables"] == ["per_sample.csv", "train_log.csv"]
    (folder / lost).unlink()
    with pytest.raises(ResultsError, match=f"has lost {lost}"):
        store.unit_info(UnitKey("l1", 0))
    (store.root / "summary.csv").unlink()  # the report then rebuilds the run's tables from the units
    for command in (["run", "--resume", store.name, "--out", str(tmp_path)], ["report", store.name, "--out",
                                                                                str(tmp_path), "--samples", "0"]):
        result = runner.invoke(app, command)
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and f"The finished unit '{folder}' has lost {lost}" in text, result.output
        assert f"Delete the folder '{folder}' to have `vfibench run --resume {store.name} --out" in text
    assert store.read_manifest()["status"] == "interrupted"  # not left "running" by the refused resume


def test_a_resume_removes_the_report_written_before_it_which_still_showed_units_missing(tmp_path: Path) -> None:
    store = interrupted_run(tmp_path)
    written = runner.invoke(app, ["report", store.name, "--out", str(tmp_path), "--samples", "0"])
    assert written.exit_code == 0 and (store.root / "report" / "report.md").is_file(), written.output
    assert "incomplete" in (store.root / "report" / "report.md").read_text()
    resumed = runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path)])
    text = " ".join(resumed.output.split())
    assert resumed.exit_code == 0 and not (store.root / "report").exists(), resumed.output
    assert f"note: removed the report written earlier ({store.root / 'report'})" in text
    assert f"`vfibench report {store.name} --out {tmp_path}` writes it anew" in text


def test_a_report_of_a_running_sweep_says_to_wait_not_to_stop_or_resume_it(tmp_path: Path) -> None:
    """While a sweep holds its run, `report` was told to stop it and resume, and `report --out` to resume
    it, which the lock refuses; a run marked 'running' that nobody holds (killed) is still to be resumed."""
    store = interrupted_run(tmp_path)
    manifest = store.read_manifest()
    store.write_manifest({**manifest, "status": "running"})
    with store.lock():  # the sweep
        assert store.writer() == str(os.getpid())
        listed = runner.invoke(app, ["report", "--out", str(tmp_path), "--samples", "0"])
        text = " ".join(listed.output.split())
        assert listed.exit_code == 2 and f"the sweep '{store.name}' there is running (process {os.getpid()})" in \
            text and "Wait for it to finish" in text and "--resume" not in text, listed.output
        so_far = runner.invoke(app, ["report", store.name, "--out", str(tmp_path), "--format", "md"])
        text = " ".join(so_far.output.split())
        assert so_far.exit_code == 0 and f"A sweep (process {os.getpid()}) is still writing it: report it again" in \
            text and "--resume" not in text, so_far.output
        (store.root / "summary.csv").unlink()
        early = runner.invoke(app, ["report", store.name, "--out", str(tmp_path), "--samples", "0"])
        text = " ".join(early.output.split())
        assert early.exit_code == 2 and "has no tables yet: a sweep (process" in text and "stop" not in text
    assert store.writer() is None
    killed = runner.invoke(app, ["report", "--out", str(tmp_path), "--samples", "0"])
    assert killed.exit_code == 2 and "Finish it with `vfibench run --resume" in " ".join(killed.output.split())


def test_a_resume_of_a_run_without_an_executor_record_records_its_own(tmp_path: Path) -> None:
    store = interrupted_run(tmp_path)
    manifest = store.read_manifest()
    del manifest["executor"]  # a run written before the record
    store.write_manifest(manifest)
    assert runner.invoke(app, ["run", "--resume", store.name, "--out", str(tmp_path)]).exit_code == 0
    resumed = store.read_manifest()
    assert resumed["executor"]["name"] == "local" and resumed["executor"] == resumed["resumed"][-1]["executor"]


def test_a_latest_that_is_no_link_is_refused_before_any_work(tmp_path: Path) -> None:
    """A `latest` folder (an archive copied with cp -rL) let a sweep train every unit and then fail to mark it."""
    from PIL import Image

    store = interrupted_run(tmp_path)
    (tmp_path / "latest").mkdir()
    frames = tmp_path / "latest" / "frames"  # folders of one frame to evaluate
    for name in ("gt", "pred"):
        (frames / name).mkdir(parents=True)
        Image.new("RGB", (16, 16), (9, 9, 9)).save(frames / name / "a.png")
    commands = (["run", "--preset", "smoke", "--losses", "l1", "--out", str(tmp_path)],
                ["run", "--resume", store.name, "--out", str(tmp_path)],
                ["eval", "--pred", str(frames / "pred"), "--gt", str(frames / "gt"), "--out", str(tmp_path)])
    before = sorted(path.name for path in tmp_path.iterdir())
    for command in commands:
        result = runner.invoke(app, command)
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and f"'{tmp_path / 'latest'}' is a folder, not the link vfibench points at" in \
            text, result.output
        assert "Rename or remove" in text
    assert sorted(path.name for path in tmp_path.iterdir()) == before
    assert store.read_manifest()["status"] == "interrupted"


def test_run_argument_without_resume_and_resume_with_nothing_to_resume_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "somerun", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "only accepted with --resume" in result.output
    result = runner.invoke(app, ["run", "--resume", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no unfinished run" in result.output


def test_resume_without_a_name_takes_the_newest_unfinished_sweep_not_an_evaluation(tmp_path: Path) -> None:
    for name, kind, status in (("20260101-000000-aaaa", "sweep", "interrupted"),
                               ("20260101-000001-bbbb", "eval", "failed")):  # the evaluation is newer
        (tmp_path / name).mkdir()
        RunStore(tmp_path / name).write_manifest({"tool": "vfibench", "kind": kind, "status": status})
    assert RunStore.open_unfinished(tmp_path).name == "20260101-000000-aaaa"


def test_a_run_name_that_is_not_there_is_answered_with_the_newest_runs_not_the_latest_link(tmp_path: Path) -> None:
    names = [f"20260101-00000{k}-aaaa" for k in range(7)]
    for name in names:
        (tmp_path / name).mkdir()
        RunStore(tmp_path / name).write_manifest({"tool": "vfibench", "kind": "sweep", "status": "complete"})
    (tmp_path / "latest").symlink_to(names[-1])
    with pytest.raises(ResultsError) as raised:
        RunStore.open(tmp_path, "20250101-nosuchrun")
    assert f"Runs under '{tmp_path}': {', '.join(names[2:])}." in str(raised.value)
    (tmp_path / "afile").write_text("")
    for command in (["report"], ["run", "--resume"]):
        result = runner.invoke(app, [*command, "--out", str(tmp_path / "afile")])
        assert result.exit_code == 2 and "is not a folder (a file or device" in result.output, (command, result.output)


def test_the_order_of_the_seeds_changes_no_table(tmp_path: Path) -> None:
    one = run_sweep(tiny_plan(tmp_path / "a", "l1", seeds=(1, 0)))
    two = run_sweep(tiny_plan(tmp_path / "b", "l1", seeds=(0, 1)))
    assert one.read_manifest()["seeds"] == [0, 1]
    for table in ("summary.csv", "per_sample.csv", "train_log.csv"):
        assert one.path(table).read_bytes() == two.path(table).read_bytes(), table
    assert plan_resume(one, seeds=[1, 0]).seeds == [0, 1]  # the same seeds in another order are no conflict


@pytest.mark.parametrize("name, expected", [
    ("CUDA:x", "Unknown device 'CUDA:x'. Use auto, cpu, cuda or cuda:N"),
    ("gpu", "Unknown device 'gpu'"),
    ("mps", "Unknown device 'mps'"),  # torch parses it, vfibench cannot train there
    ("meta", "Unknown device 'meta'"),
    ("cpu:3", "Unknown device 'cpu:3'"),
    ("cuda:1", "--device cuda:1 was requested but PyTorch sees no CUDA GPU" if not torch.cuda.is_available()
     else "--device cuda:1: this machine has"),
])
def test_a_device_that_cannot_be_used_is_refused_in_the_words_given(name: str, expected: str) -> None:
    from vfibench.sweep.plan import resolve_device

    if torch.cuda.is_available() and name == "cuda:1" and torch.cuda.device_count() > 1:
        pytest.skip("this machine has a second GPU")
    with pytest.raises(VfiBenchError, match=re.escape(expected)):
        resolve_device(name)
    assert resolve_device(" CPU ") == torch.device("cpu")


class Recording(SilentListener):
    """Records what a sweep says it starts: the work left, each phase and each unit."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.phases: list[str] = []
        self.work: tuple[int, int] | None = None

    def sweep_started(self, units: int, steps: int) -> None:
        self.work = (units, steps)

    def phase(self, message: str, total: int | None = None) -> None:
        self.phases.append(message)

    def unit_started(self, label: str, steps: int) -> None:
        self.started.append(label)


def test_a_resume_runs_only_the_units_left_and_no_finished_reference_again(tmp_path: Path) -> None:
    store = interrupted_run(tmp_path)  # l1 and both references finished, l2 not
    listener = Recording()
    run_sweep(plan_resume(store), listener, store=store)
    assert listener.started == ["l2 (seed 0)"]
    assert not [phase for phase in listener.phases if phase.startswith("Evaluating the references")]
    assert listener.work == (1, PRESET.steps)  # the progress counts what is left, not the whole sweep
    assert store.read_manifest()["status"] == "complete"


def test_a_resumed_run_keeps_its_warm_start_and_trains_it_once(tmp_path: Path) -> None:
    """Every configuration continues the seed's shared warm start: a resume must train the units left from
    the warm start the run cached, giving the tables of the run never interrupted."""
    def plan(out: Path):
        return plan_sweep("l1,l2", PRESET, [0], out=out, device="cpu", metrics=["psnr"], warm_start=1)

    whole = run_sweep(plan(tmp_path / "whole"))
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(plan(tmp_path / "cut"), StopAtSecondTraining())  # the warm start finished, l1 started
    store = stopped.value.store
    resumed = plan_resume(store)
    assert resumed.warm_start == 1
    listener = Recording()
    run_sweep(resumed, listener, store=store)
    assert listener.started == ["l1 (seed 0)", "l2 (seed 0)"]  # the cached warm start is not trained again
    assert store.read_manifest()["warm_start"]["steps"] == 1
    for table in ("summary.csv", "per_sample.csv", "train_log.csv"):
        assert store.path(table).read_bytes() == whole.path(table).read_bytes(), table


def test_every_configuration_continues_the_warm_start_and_trains_only_the_steps_after_it(tmp_path: Path) -> None:
    """With a warm start of one step, each configuration's training log starts at step 2: the first step is the shared
    warm start's, not trained again from the initial weights."""
    store = run_sweep(plan_sweep("l1,l2", PRESET, [0], out=tmp_path, device="cpu", metrics=["psnr"], warm_start=1))
    log = read_csv(store.path("train_log.csv"))
    assert sorted(log["config"].unique()) == ["l1", "l2"]
    assert log.groupby("config")["step"].apply(list).to_dict() == {"l1": [2], "l2": [2]}


def test_each_configuration_and_reference_numbers_its_test_samples_from_0(tmp_path: Path) -> None:
    """per_sample.csv's sample k is the test set's triplet k (the report draws its grids from it): 0 to n − 1 for
    every row of the table, trained and reference alike."""
    store = run_sweep(tiny_plan(tmp_path, losses="l1"))
    per_sample = read_csv(store.path("per_sample.csv"))
    assert set(per_sample["config"]) == {"l1", "blend", "nearest"}
    count = store.read_manifest()["data"]["test"]["loaded"]
    for config, samples in per_sample.groupby("config")["sample"]:
        assert sorted(samples) == list(range(count)), config


def test_a_resume_of_several_seeds_finishes_every_seed(tmp_path: Path) -> None:
    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(tiny_plan(tmp_path, losses="l1", seeds=(0, 1)), StopAtSecondTraining())  # seed 1's l1 left
    store = stopped.value.store
    plan = plan_resume(store)
    assert plan.seeds == [0, 1]
    run_sweep(plan, store=store)
    summary = read_csv(store.path("summary.csv")).set_index("config")
    assert summary.loc["l1", "seeds"] == 2 and summary.loc["l1", "status"] == "complete"
    assert store.unit_info(UnitKey("l1", 1)) is not None


def test_resume_refuses_every_setting_that_changes_what_the_units_compute(tmp_path: Path) -> None:
    store = interrupted_run(tmp_path)
    with pytest.raises(VfiBenchError) as conflict:
        plan_resume(store, warm_start=1, metrics=["psnr", "ssim"], train_data="synthetic(count=4)",
                    test_data="synthetic(count=4)", preset_overrides={"ambiguity": 0.3})
    message = str(conflict.value)
    for expected in ("--warm-start 1; the run has 0", "--metrics psnr,ssim; the run has psnr",
                     "--train-data synthetic(count=4); the run has synthetic",
                     "--test-data synthetic(count=4); the run has synthetic", "--ambiguity 0.3; the run's data has 0.5"):
        assert expected in message, expected
    plan = plan_resume(store, warm_start=0, metrics=["psnr"], train_data="synthetic", test_data="synthetic",
                       preset_overrides={"ambiguity": PRESET.ambiguity})  # the run's own values are no conflict
    assert plan.metrics == ["psnr"] and plan.warm_start == 0


def test_resume_refuses_a_run_whose_backbones_or_unavailable_configurations_or_metrics_changed(tmp_path: Path) -> None:
    store = interrupted_run(tmp_path)
    manifest = store.read_manifest()
    for edit, expected in ((lambda m: m.update(backbones={"alexnet": "0" * 64}), "backbones"),
                           (lambda m: m["configs"][1].update(status="unavailable"), "unavailable configurations"),
                           (lambda m: m.update(metrics=[], unavailable_metrics={"psnr": "was missing"}),
                            "unavailable metrics")):
        changed = json.loads(json.dumps(manifest))
        edit(changed)
        store.write_manifest(changed)
        with pytest.raises(VfiBenchError, match=f"the environment changed since the run started \\({expected}"):
            plan_resume(store)
    store.write_manifest(manifest)
    assert plan_resume(store).configs


def test_resume_refuses_training_data_that_changed(tmp_path: Path) -> None:
    from PIL import Image

    from vfibench.errors import DataError

    store, clip, _ = interrupted_on_a_clip(tmp_path, "train")
    fingerprint = store.read_manifest()["data"]["train"]["fingerprint"]
    assert plan_resume(store).fingerprints["train"] == fingerprint  # unchanged data resumes
    Image.fromarray(np.full((48, 48, 3), 9, dtype=np.uint8)).save(clip / "003.png")  # a frame replaced
    with pytest.raises(DataError, match=f"training data fingerprint [0-9a-f]{{16}} now, {fingerprint} then"):
        plan_resume(store)


def test_resume_refuses_a_configuration_that_now_reads_otherwise(tmp_path: Path) -> None:
    """The units of a configuration are found by its canonical spelling: one the catalog now spells otherwise
    would have its finished units passed over and trained again under another folder."""
    store = interrupted_run(tmp_path)
    manifest = store.read_manifest()
    manifest["configs"][0]["config"] = "1*l1"  # how the catalog once spelled l1
    store.write_manifest(manifest)
    with pytest.raises(ResultsError, match="its configuration '1\\*l1' now reads as 'l1'"):
        plan_resume(store)


def test_a_sweep_in_progress_is_recorded_running_and_not_latest(tmp_path: Path) -> None:
    seen: list[tuple[str, bool]] = []

    def look() -> None:
        store = RunStore(next(p for p in tmp_path.iterdir() if p.is_dir()))
        seen.append((store.read_manifest()["status"], (tmp_path / "latest").exists()))

    run_sweep(tiny_plan(tmp_path), AtSecondTraining(look))
    assert seen == [("running", False)]
    assert RunStore.open(tmp_path).read_manifest()["status"] == "complete"


def test_units_of_configurations_alike_in_their_first_characters_get_their_own_folders(tmp_path: Path) -> None:
    import pandas as pd

    common = "l1+0.1*perc+0.01*ssim+0.05*charbonnier+0.02*census"
    configs = [f"{common}+0.5*l2", f"{common}+0.25*l2"]
    store = RunStore.create(tmp_path)
    keys = [UnitKey(config, 0) for config in configs]
    assert keys[0].directory_name != keys[1].directory_name
    for key, psnr in zip(keys, (30.0, 20.0)):
        store.write_unit(key, {"status": "complete"},
                         pd.DataFrame({"config": [key.config], "seed": [0], "sample": [0], "psnr": [psnr]}))
    assert [store.read_unit_table(key, "per_sample.csv")["psnr"].tolist() for key in keys] == [[30.0], [20.0]]


def test_a_unit_stopped_while_its_files_are_written_is_not_taken_as_finished(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import pandas as pd

    store = RunStore.create(tmp_path)
    key = UnitKey("l1", 0)

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("vfibench.results.atomic.write_torch", full_disk)  # the model, after the tables
    with pytest.raises(OSError):
        store.write_unit(key, {"status": "complete"},
                         pd.DataFrame({"config": ["l1"], "seed": [0], "sample": [0], "psnr": [30.0]}),
                         pd.DataFrame({"config": ["l1"], "seed": [0], "step": [1], "loss": [0.5]}),
                         {"weight": torch.zeros(1)})
    assert store.unit_info(key) is None  # redone by a resume


def test_a_unit_record_with_a_status_no_unit_ends_with_is_refused(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    key = UnitKey("l1", 0)
    store.write_unit(key, {"status": "complete"}, None)
    record = store.unit_dir(key) / "unit.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "status": "running"}))
    with pytest.raises(ResultsError, match="has the status 'running'"):
        store.unit_info(key)


def test_resume_without_a_name_passes_over_a_newer_complete_sweep(tmp_path: Path) -> None:
    for name, status in (("20260101-000000-aaaa", "interrupted"), ("20260101-000001-bbbb", "complete")):
        (tmp_path / name).mkdir()
        RunStore(tmp_path / name).write_manifest({"tool": "vfibench", "kind": "sweep", "status": status})
    assert RunStore.open_unfinished(tmp_path).name == "20260101-000000-aaaa"


def test_a_new_run_never_takes_the_folder_of_an_existing_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = iter(["20260101-000000-aaaa", "20260101-000000-aaaa", "20260101-000000-bbbb"])
    monkeypatch.setattr("vfibench.results.store.new_run_id", lambda: next(names))
    first, second = RunStore.create(tmp_path), RunStore.create(tmp_path)
    assert (first.name, second.name) == ("20260101-000000-aaaa", "20260101-000000-bbbb")


def test_a_failed_warm_start_fails_its_seed_s_units_in_the_tables(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from vfibench.sweep import unit

    train = unit.train_configuration

    def failing_warm_start(*args: object, stop_at: int | None = None, **kwargs: object) -> object:
        if stop_at is not None:  # only the shared warm start stops early
            raise RuntimeError("out of memory")
        return train(*args, stop_at=stop_at, **kwargs)

    monkeypatch.setattr(unit, "train_configuration", failing_warm_start)
    store = run_sweep(plan_sweep("l1,l2", PRESET, [0], out=tmp_path, device="cpu", metrics=["psnr"], warm_start=1))
    summary = read_csv(store.path("summary.csv")).set_index("config")
    assert summary.loc[["l1", "l2"], "status"].tolist() == ["failed", "failed"]
    assert "warm start failed: RuntimeError: out of memory" in summary.loc["l1", "reason"]
    assert store.unit_info(UnitKey("l2", 0))["status"] == "failed"


def test_a_unit_table_without_rows_adds_nothing_to_the_run_table_and_sets_no_column_type() -> None:
    import pandas as pd

    from vfibench.results.schema import LOG_KEYS
    from vfibench.sweep.tables import stacked

    logged = pd.DataFrame({"config": ["l1"], "seed": [0], "step": [2], "lr": [1e-3], "total": [0.5]})
    failed_first = pd.DataFrame(columns=list(LOG_KEYS))  # a unit that failed before it logged (object columns)
    table = stacked([logged, failed_first], list(LOG_KEYS))
    assert len(table) == 1 and str(table["step"].dtype) == "int64"
    assert list(stacked([failed_first], ["config", "x"]).columns) == ["config", "x"]
