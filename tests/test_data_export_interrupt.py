"""``vfibench data export`` stopped by SIGINT or SIGTERM: nothing half-written is left, one line says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_data_sources import make_clip
from vfibench.data import export as export_module
from vfibench.data.export import ExportInterrupted, export_triplets
from vfibench.data.images import Fit
from vfibench.data.sources import open_source


def _triplet_folders(parent: Path) -> int:
    """Triplet folders written so far under ``parent``, in the export folder or a staging folder beside it."""
    return sum(1 for folder in parent.rglob("0000*") if folder.is_dir())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_export_leaves_nothing_and_says_so(tmp_path: Path, signum: int) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "COLUMNS": "400"}
    process = subprocess.Popen([sys.executable, "-m", "vfibench", "data", "export", "synthetic", str(out),
                                "--count", "5000", "--size", "32"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while _triplet_folders(tmp_path) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted:"), stderr
    assert signal.Signals(signum).name in lines[0] and "nothing was left behind" in lines[0]
    assert "Traceback" not in stderr + stdout
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder either


def test_a_stop_while_writing_leaves_an_earlier_export_as_it_was(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    make_clip(tmp_path / "clip", 8)
    source = open_source(f"frames:{tmp_path / 'clip'}", "test")
    out = tmp_path / "out"
    export_triplets(source, [0, 1], out, None, Fit.resize)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))

    def stop(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module, "save_png", stop)
    with pytest.raises(ExportInterrupted, match="still holds the earlier export") as stopped:
        export_triplets(source, [2, 3, 4], out, None, Fit.resize, overwrite=True)
    assert stopped.value.exit_code == 130
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip", "out"]


def test_a_signal_while_the_export_is_moved_into_place_waits_for_it(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    make_clip(tmp_path / "clip", 6)
    source = open_source(f"frames:{tmp_path / 'clip'}", "test")
    commit = export_module._commit

    def commit_under_a_signal(*args: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # held back: the export is moved into place first
        commit(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(export_module, "_commit", commit_under_a_signal)
    with pytest.raises(ExportInterrupted, match="finished first") as stopped:
        export_triplets(source, [0, 1, 2], tmp_path / "out", None, Fit.resize)
    assert stopped.value.exit_code == 143
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00000", "00001", "00002", "triplets.csv"]


def test_an_export_that_fails_while_moved_into_place_is_not_left_looking_complete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its index is moved last: a folder that has triplets.csv holds every triplet it lists."""
    make_clip(tmp_path / "clip", 6)
    source = open_source(f"frames:{tmp_path / 'clip'}", "test")
    out = tmp_path / "out"
    export_triplets(source, [0, 1], out, None, Fit.resize)
    rename = Path.rename
    moved: list[Path] = []

    def failing(self: Path, target):  # type: ignore[no-untyped-def]
        if Path(target).parent == out:
            moved.append(Path(target))
            if len(moved) == 2:
                raise OSError(28, "No space left on device")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError, match="No space left"):
        export_triplets(source, [1, 2, 3], out, None, Fit.resize, overwrite=True)
    assert not (out / "triplets.csv").exists()


def test_a_stop_before_the_first_triplet_is_written_says_the_folder_is_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from vfibench import cli_data
    from vfibench.cli import app

    def stopped_while_opening(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # a Ctrl-C while the source is opened and the disk space checked

    monkeypatch.setattr(cli_data, "_open", stopped_while_opening)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["data", "export", "synthetic", str(out), "--count", "2", "--size", "32"])
    message = " ".join(result.output.split())
    assert result.exit_code == 130, result.output
    assert message.startswith("interrupted: The export to") and "Traceback" not in message
    assert "was interrupted by SIGINT (Ctrl-C); no triplet had been written" in message and "is as it was" in message
    assert not out.exists()
