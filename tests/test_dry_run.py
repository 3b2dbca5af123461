"""`vfibench run --dry-run`: the whole plan and a time estimate, and not one file written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.dry_run import duration_text

runner = CliRunner()


def _tree(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    before = _tree(tmp_path)
    result = runner.invoke(app, ["run", "--preset", "smoke", "--losses", "L1, 0.5*dain+ssim@0.5", "--seeds", "0-1",
                                 "--metrics", "psnr,ssim", "--model", "warp-blend", "--ambiguity", "0.3",
                                 "--dry-run"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert _tree(tmp_path) == before
    text = " ".join(result.output.split())
    for expected in ("nothing is trained or written", "l1", "0.5*dain+ssim@0.5", "= 0.5*charbonnier+ssim@0.5",
                     "0.5 × charbonnier, always", "1 × ssim, from 50%", "2 trained configurations × 2 seeds",
                     "= 4 trainings", "smoke: 12 steps, batch 4", "synthetic: 48 triplets at 32×32",
                     "metrics psnr, ssim", "estimated training time: about", "the warp-blend model",
                     "synthetic: 48 triplets at 32×32, path ambiguity 0.3", "a new run directory under results"):
        assert expected in text, expected


def test_the_dry_run_gives_the_notes_the_run_would_give_as_it_starts(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A --val-samples beyond the test set and a --log-every that leaves one log row were said only once
    the sweep had started."""
    import vfibench.dry_run as dry_run

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dry_run, "PROBE_STEPS", 2)
    args = ["run", "--preset", "smoke", "--losses", "l1", "--metrics", "psnr", "--log-every", "100",
            "--val-samples", "100", "--out", str(tmp_path / "runs")]
    planned = runner.invoke(app, [*args, "--dry-run"], env={"COLUMNS": "120"})
    assert planned.exit_code == 0, planned.output
    planned_text = " ".join(planned.output.split())
    notes = ["note: --val-samples 100: the test data holds 8 triplets, so validation during training scores all "
             "of them.", "note: --log-every 100: the 12 training steps log one row, at the last step"]
    assert all(note in planned_text for note in notes), planned_text
    assert not (tmp_path / "runs").exists()
    started = " ".join(  # the sweep itself gives the same notes
        runner.invoke(app, args, env={"COLUMNS": "120"}).output.split())
    assert all(note in started for note in notes), started
    quiet = runner.invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--metrics", "psnr", "--dry-run"])
    assert "note:" not in quiet.output


def test_the_estimate_times_steps_in_the_precision_the_sweep_trains_in(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import vfibench.dry_run as dry_run

    timed: list[str] = []
    train = dry_run.train_configuration

    def recording(*args, precision: str = "fp32", **kwargs):  # type: ignore[no-untyped-def]
        timed.append(precision)
        return train(*args, precision=precision, **kwargs)

    monkeypatch.setattr(dry_run, "train_configuration", recording)
    result = runner.invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--precision", "bf16", "--device", "cpu",
                                 "--metrics", "psnr", "--out", str(tmp_path / "r"), "--dry-run"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert timed == ["bf16"]
    text = " ".join(result.output.split())
    assert "per configuration on cpu in bf16" in text
    assert "precision training in bf16: forward pass and loss under torch.autocast(bfloat16)" in text


def test_the_dry_run_says_where_the_tensorboard_logs_go(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    result = runner.invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--metrics", "psnr", "--out",
                                 str(tmp_path / "r"), "--tensorboard", str(tmp_path / "tb"), "--dry-run"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"each unit's log for TensorBoard under {tmp_path / 'tb'}" in " ".join(result.output.split())
    assert not (tmp_path / "tb").exists() and not (tmp_path / "r").exists()


def test_the_dry_run_says_how_units_run_and_times_them_with_their_threads(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The dry run had named no executor and timed its steps with this process's threads whatever --threads
    or --jobs said, adding the units up one after another."""
    import torch

    import vfibench.dry_run as dry_run

    threads: list[int] = []
    train = dry_run.train_configuration

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(torch.get_num_threads())
        return train(*args, **kwargs)

    monkeypatch.setattr(dry_run, "train_configuration", recording)
    monkeypatch.setattr("vfibench.sweep.executors.available_cores", lambda: 2)
    own = torch.get_num_threads()
    base = ["run", "--preset", "smoke", "--losses", "l1,l2", "--metrics", "psnr", "--out", str(tmp_path / "r"),
            "--dry-run", "--device", "cpu"]
    jobs = runner.invoke(app, [*base, "--jobs", "2"], env={"COLUMNS": "160"})
    text = " ".join(jobs.output.split())
    assert jobs.exit_code == 0 and threads == [1, 1] and torch.get_num_threads() == own, jobs.output
    assert "units run 2 worker processes at a time, 1 torch thread each" in text
    assert "with 1 torch thread, 2 units at a time" in text
    import importlib.util

    if importlib.util.find_spec("ray") is not None:  # the ray extra (CI installs it)
        monkeypatch.setattr("vfibench.processes.available_cores", lambda: 2)
        ray = runner.invoke(app, [*base, "--executor", "ray", "--cpus-per-unit", "0.5"], env={"COLUMNS": "160"})
        assert ray.exit_code == 0, ray.output
        text = " ".join(ray.output.split())
        assert "one Ray task each (a local Ray instance), 0.5 CPUs and 1 torch thread per unit" in text
        # a local instance runs its units on this machine: timed as they run, both units at once
        assert "with 1 torch thread, 2 units at a time" in text and "not estimated" not in text
        remote = runner.invoke(app, [*base, "--executor", "ray", "--address", "10.0.0.1:6379"],
                               env={"COLUMNS": "160"})
        assert "not estimated — the units run on the Ray cluster's machines" in " ".join(remote.output.split())


def test_dry_run_reports_a_bad_spec_like_a_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--losses", "l1+0.1*pec", "--out", str(tmp_path / "r"), "--dry-run"])
    assert result.exit_code == 2 and "Did you mean 'perc'" in result.output
    assert not (tmp_path / "r").exists()


def test_dry_run_refuses_data_over_the_memory_budget_like_a_run(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A machine of 16 GiB: half of it, 8 GiB, is the budget; 20,000 triplets of 128² take 11 GiB.
    monkeypatch.setattr("vfibench.data.triplet_source.physical_memory", lambda: 16 * 1024**3)
    result = runner.invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--out", str(tmp_path / "r"),
                                 "--train-data", "synthetic(count=20000, size=128)", "--dry-run"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "would take 11.0 GiB of memory (float32), more than the budget of 8.0 GiB" in text
    assert "half of the 16.0 GiB this machine (or its container) has); at most about 14,563 triplets" in text and "synthetic(count=14563)" in text
    assert "Traceback" not in result.output and not (tmp_path / "r").exists()
    result = runner.invoke(app, ["run", "--preset", "smoke", "--losses", "l1", "--out", str(tmp_path / "r"),
                                 "--train-data", "synthetic(count=14000, size=128)", "--dry-run"])
    assert result.exit_code == 0 and "7.7 GiB in memory" in " ".join(result.output.split())


@pytest.mark.parametrize(("seconds", "text"), [(12.4, "12 s"), (720, "12 min"), (3 * 3600, "3.0 h")])
def test_durations_read_naturally(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_a_resumes_estimate_covers_only_the_units_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It timed and counted every unit, finished or not: a complete run was estimated as a whole sweep."""
    import shutil

    import vfibench.dry_run as dry_run

    out = tmp_path / "r"
    made = runner.invoke(app, ["run", "--preset", "smoke", "--steps", "3", "--losses", "l1,l2", "--seeds", "0",
                               "--metrics", "psnr", "--device", "cpu", "--out", str(out)])
    assert made.exit_code == 0, made.output
    timed: list[str] = []
    train = dry_run.train_configuration

    def recording(config, *args, **kwargs):  # type: ignore[no-untyped-def]
        timed.append(config.canonical)
        return train(config, *args, **kwargs)

    monkeypatch.setattr(dry_run, "train_configuration", recording)
    resume = ["run", "--resume", "latest", "--out", str(out), "--dry-run"]
    result = runner.invoke(app, resume, env={"COLUMNS": "120"})
    assert result.exit_code == 0 and timed == [], result.output
    assert "estimated training time: none — every trained unit is finished" in " ".join(result.output.split())
    for unit in (out / "latest" / "units").glob("l2-*"):
        shutil.rmtree(unit)
    result = runner.invoke(app, resume, env={"COLUMNS": "120"})
    assert result.exit_code == 0 and timed == ["l2"], result.output
    assert "3 of 4 units finished" in result.output and "estimated training time: about" in result.output


@pytest.mark.parametrize("losses", ["1e38*l1", "1e38*l1,l1"])
def test_a_configuration_that_diverges_at_once_is_left_out_of_the_estimate_not_a_crash(tmp_path: Path,
                                                                                      losses: str) -> None:
    result = runner.invoke(app, ["run", "--preset", "smoke", "--losses", losses, "--metrics", "psnr", "--device", "cpu",
                                 "--out", str(tmp_path), "--dry-run"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "1e+38*l1 diverged within the timed steps (the run marks such a row diverged)" in text
    assert ("estimated training time: none" in text) == (losses == "1e38*l1")
    assert ("slowest l1 at" in text) == (losses != "1e38*l1")


def test_the_estimate_adds_each_units_own_steps_and_divides_by_the_units_that_run_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each timed step costs 0.5 s here. Two configurations × two seeds train 8 steps each after a shared
    4-step warm start per seed: 4 × 8 × 0.5 + 2 × 4 × 0.5 = 20 s one unit at a time, a quarter of it with
    four at a time, and no less with more workers than units."""
    import itertools
    import types

    import vfibench.dry_run as dry_run
    from vfibench.presets import get_preset
    from vfibench.sweep import plan_sweep

    clock = itertools.count(step=0.5)
    monkeypatch.setattr(dry_run, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))

    def steps(config, data, preset, *, on_step, **options):  # type: ignore[no-untyped-def]
        for step in range(1, preset.steps + 1):
            on_step(step, 1.0)

    monkeypatch.setattr(dry_run, "train_configuration", steps)
    plan = plan_sweep("l1,l2", get_preset("smoke"), [0, 1], out=tmp_path, device="cpu", metrics=["psnr"],
                      warm_start=4)
    estimate = dry_run.estimate_training(plan)
    assert estimate.seconds_per_step == {"l1": pytest.approx(0.5), "l2": pytest.approx(0.5)}
    assert estimate.total_seconds == pytest.approx(20.0)
    assert dry_run.estimate_training(plan, at_a_time=4).total_seconds == pytest.approx(5.0)
    assert dry_run.estimate_training(plan, at_a_time=8).total_seconds == pytest.approx(5.0)
