"""A sweep killed at any moment keeps what it finished; `vfibench run --resume` completes it exactly.

Each test starts a real `vfibench run` process (smoke preset, two steps, PSNR only, one thread) and
stops it once its first trained unit is written, while the next configuration is in progress.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.presets import get_preset
from vfibench.results.store import RunStore
from vfibench.sweep import plan_sweep, run_sweep

LOSSES = "l1,l2,charbonnier"
ARGS = ["--preset", "smoke", "--steps", "2", "--losses", LOSSES, "--metrics", "psnr", "--device", "cpu"]
runner = CliRunner()


def start_and_stop(out: Path, signum: int) -> subprocess.CompletedProcess:
    """Start a sweep under ``out``, send ``signum`` once the first trained unit has finished."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    process = subprocess.Popen([sys.executable, "-m", "vfibench.cli", "run", *ARGS, "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not list(out.glob("*/units/l1-*/unit.json")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the sweep did not finish its first unit in time"
        time.sleep(0.05)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def uninterrupted_summary(out: Path) -> bytes:
    plan = plan_sweep(LOSSES, get_preset("smoke").with_overrides(steps=2), [0], out=out, device="cpu",
                      metrics=["psnr"])
    return run_sweep(plan).path("summary.csv").read_bytes()


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_tables_of_an_uninterrupted_run(tmp_path: Path) -> None:
    killed = start_and_stop(tmp_path / "killed", signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    (run,) = [p for p in (tmp_path / "killed").iterdir()]
    assert not (tmp_path / "killed" / "latest").exists()            # latest never points at an unfinished run
    store = RunStore(run)
    assert store.read_manifest()["status"] == "running"
    result = runner.invoke(app, ["run", "--resume", "--out", str(tmp_path / "killed")])
    assert result.exit_code == 0, result.output
    assert f"--resume {run.name}: 3 of 5 units finished" in " ".join(result.output.split())
    assert store.read_manifest()["status"] == "complete"
    assert not list(run.rglob(".*.tmp"))
    assert store.path("summary.csv").read_bytes() == uninterrupted_summary(tmp_path / "straight")


@pytest.mark.slow
def test_sigterm_exits_143_and_prints_the_resume_command(tmp_path: Path) -> None:
    stopped = start_and_stop(tmp_path, signal.SIGTERM)
    assert stopped.returncode == 143, stopped.stderr
    (run,) = [p for p in tmp_path.iterdir()]
    text = " ".join(stopped.stderr.split())
    assert "Traceback" not in stopped.stderr
    assert "interrupted by SIGTERM" in text and str(run) in text
    command = f"vfibench run --resume {run.name} --out {tmp_path}"
    assert command in text
    assert RunStore(run).read_manifest()["status"] == "interrupted"
    result = runner.invoke(app, command.split()[1:])
    assert result.exit_code == 0, result.output
    assert RunStore.open(tmp_path).root.resolve() == run.resolve()
