"""A sweep killed at any moment keeps what it finished; `vfibench run --resume` completes it exactly.

Each test starts a real `vfibench run` process (smoke preset, PSNR only, one thread) and stops it
once its first trained unit is written, while another configuration is still training —
with every unit in that process, and with two worker processes (``--jobs 2``), whose workers must
end with it. The resume runs in one process, so a run is also resumed by another executor.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import process_alive
from vfibench.cli import app
from vfibench.presets import get_preset
from vfibench.processes import available_cores
from vfibench.results.store import RunStore
from vfibench.sweep import plan_sweep, run_sweep

LOSSES = "l1,l2,charbonnier"
#: Enough steps that a trained unit takes a second or more: two workers train two configurations at
#: once, and the stop must find the third still training (at two steps the whole sweep ended within
#: 0.2 s of its first trained unit, and a stop on a loaded machine could arrive after the end).
STEPS = 60
ARGS = ["--preset", "smoke", "--steps", str(STEPS), "--losses", LOSSES, "--metrics", "psnr", "--device", "cpu"]
#: The executors a sweep is stopped under: every unit in the process, and two worker processes
#: (which `vfibench run` refuses where fewer than two cores may be used).
EXECUTORS = {"local": [], "jobs": ["--jobs", "2", "--threads", "1"]} if available_cores() >= 2 else {"local": []}
runner = CliRunner()


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (Linux /proc; empty elsewhere)."""
    found = set()
    for entry in Path("/proc").glob("[0-9]*/stat") if Path("/proc").is_dir() else []:
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.parent.name))
    return found


def trained_units(out: Path) -> list[Path]:
    """The finished trained units of the run under ``out`` (the references train nothing)."""
    return [path for loss in LOSSES.split(",") for path in out.glob(f"*/units/{loss}-*/unit.json")]


def start_and_stop(out: Path, signum: int, executor: str = "local") -> subprocess.CompletedProcess:
    """Start a sweep under ``out``, send ``signum`` once the first trained unit has finished; check that
    no process the sweep started outlives it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    process = subprocess.Popen([sys.executable, "-m", "vfibench.cli", "run", *ARGS, *EXECUTORS[executor],
                                "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not trained_units(out):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the sweep did not finish its first unit in time"
        time.sleep(0.05)
    workers = children(process.pid)
    if executor == "jobs" and Path("/proc").is_dir():
        assert len(workers) >= 2, "the --jobs sweep runs no worker processes"
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    deadline = time.monotonic() + 20
    while any(process_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if process_alive(pid)], "a worker process outlived the sweep"
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def uninterrupted_summary(out: Path) -> bytes:
    plan = plan_sweep(LOSSES, get_preset("smoke").with_overrides(steps=STEPS), [0], out=out, device="cpu",
                      metrics=["psnr"])
    return run_sweep(plan).path("summary.csv").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("executor", EXECUTORS)
def test_sigkill_then_resume_gives_the_tables_of_an_uninterrupted_run(tmp_path: Path, executor: str) -> None:
    killed = start_and_stop(tmp_path / "killed", signal.SIGKILL, executor)
    assert killed.returncode == -signal.SIGKILL
    (run,) = [p for p in (tmp_path / "killed").iterdir()]
    assert not (tmp_path / "killed" / "latest").exists()            # latest never points at an unfinished run
    store = RunStore(run)
    assert store.read_manifest()["status"] == "running"
    result = runner.invoke(app, ["run", "--resume", "--out", str(tmp_path / "killed")])
    assert result.exit_code == 0, result.output
    finished = re.search(rf"--resume {run.name}: (\d) of 5 units finished", " ".join(result.output.split()))
    assert finished is not None, result.output
    if executor == "local":  # one unit at a time, in the plan's order: the references, then l1
        assert int(finished.group(1)) == 3
    # Two workers start the trained units first (longest first; l1, l2 and charbonnier tie, references
    # train nothing) and any number of units may have finished with l1 by the kill; what counts is
    # that the resumed run equals an uninterrupted one.
    assert store.read_manifest()["status"] == "complete"
    assert not list(run.rglob(".*.tmp"))
    assert store.path("summary.csv").read_bytes() == uninterrupted_summary(tmp_path / "straight")


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("executor", EXECUTORS)
def test_sigterm_and_sigint_exit_with_the_resume_command(tmp_path: Path, executor: str, signum: int,
                                                         code: int) -> None:
    stopped = start_and_stop(tmp_path, signum, executor)
    assert stopped.returncode == code, stopped.stderr
    (run,) = [p for p in tmp_path.iterdir()]
    text = " ".join(stopped.stderr.split())
    assert "Traceback" not in stopped.stderr
    assert f"interrupted by {signal.Signals(signum).name}" in text and str(run) in text
    command = " ".join(["vfibench", "run", "--resume", run.name, "--out", str(tmp_path), *EXECUTORS[executor]])
    assert command in text
    assert RunStore(run).read_manifest()["status"] == "interrupted"
    if signum == signal.SIGINT:
        return  # the resume command itself is run after the SIGTERM
    result = runner.invoke(app, command.split()[1:])
    assert result.exit_code == 0, result.output
    assert RunStore.open(tmp_path).root.resolve() == run.resolve()


@pytest.mark.parametrize("when", ["marking it complete", "removing a report", "closing the progress"])
def test_a_stop_once_the_sweep_has_finished_leaves_it_complete_and_says_so(tmp_path: Path, monkeypatch,
                                                                           when: str) -> None:
    """A signal while the finished run is marked complete (and ``latest`` pointed at it), or while the
    progress display closes, must neither mark the run "interrupted" nor end in a traceback."""
    def stop() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here

    if when == "marking it complete":
        pointed = RunStore.mark_latest

        def mark_latest(self: RunStore) -> None:
            stop()
            pointed(self)

        monkeypatch.setattr(RunStore, "mark_latest", mark_latest)
    elif when == "removing a report":  # the last of the writes that finish the run
        dropped = RunStore.drop_report
        finishing = RunStore.write_manifest

        def write_manifest(self: RunStore, manifest: dict) -> None:
            finishing(self, manifest)
            if manifest.get("status") == "complete":
                monkeypatch.setattr(RunStore, "drop_report", lambda store: (stop(), dropped(store))[1])

        monkeypatch.setattr(RunStore, "write_manifest", write_manifest)
    else:  # the progress display closes once run_sweep has returned
        from vfibench.cli_progress import PlainSweepListener

        closed = PlainSweepListener.__exit__

        def close_then_stop(self, *exc: object) -> None:
            closed(self, *exc)
            stop()

        monkeypatch.setattr(PlainSweepListener, "__exit__", close_then_stop)
    result = runner.invoke(app, ["run", "--preset", "smoke", "--steps", "2", "--losses", "l1", "--metrics", "psnr",
                                 "--device", "cpu", "--out", str(tmp_path)])
    text = " ".join(result.output.split())
    assert result.exit_code == 130 and "Traceback" not in text, text
    (run,) = [p for p in tmp_path.iterdir() if not p.is_symlink()]
    assert f"the run '{run.name}' is complete" in text and f"vfibench report {run.name} --out {tmp_path}" in text
    assert RunStore(run).read_manifest()["status"] == "complete"
    assert RunStore.open(tmp_path).root.resolve() == run.resolve()  # latest points at it


def test_a_sweep_stopped_after_its_last_unit_is_not_said_to_miss_any(tmp_path: Path) -> None:
    """Stopped between its last unit and the end, a sweep said "2 of 2 trainings … finished … its summary.csv
    marks the rest missing", where nothing was missing."""
    import shutil

    from vfibench.results.store import UnitKey
    from vfibench.sweep.interruption import interruption

    preset = get_preset("smoke").with_overrides(steps=2, train_count=4, test_count=4, batch_size=2)
    plan = plan_sweep("l1", preset, [0], out=tmp_path / "results", device="cpu", metrics=["psnr"])
    store = run_sweep(plan)
    message = " ".join(str(interruption(plan, store, signal.SIGTERM)).split())
    assert "after every unit had finished: its 1 training (configuration × seed) and 2 reference units" in message
    assert "missing" not in message and "nothing is trained again" in message
    assert message.endswith(f"run: vfibench run --resume {store.name} --out {tmp_path / 'results'}")
    shutil.rmtree(store.unit_dir(UnitKey("l1", 0)))
    message = " ".join(str(interruption(plan, store, signal.SIGTERM)).split())
    assert "0 of 1 trainings (configuration × seed) and 2 of 2 reference units finished" in message
    assert "marks the rest missing" in message
