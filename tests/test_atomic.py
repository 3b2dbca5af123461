"""Atomic writes: a reader sees the old file or the complete new one, with ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from vfibench.results import atomic


def test_written_files_get_the_permissions_of_an_ordinary_new_file(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        atomic.write_bytes(tmp_path / "report.html", b"<html></html>")
        atomic.write_csv(tmp_path / "summary.csv", pd.DataFrame({"a": [1]}))
    finally:
        os.umask(previous)
    for name in ("report.html", "summary.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "summary.csv"
    atomic.write_bytes(target, b"old\n")

    def explode(stream: object) -> None:
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="killed mid-write"):  # the writer's error reaches the caller
        atomic._atomic(target, explode)
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


def test_written_files_follow_the_users_umask(tmp_path: Path) -> None:
    """A group-writable umask (002) gives group-writable files, as any other new file would be."""
    previous = os.umask(0o002)
    try:
        atomic.write_text(tmp_path / "manifest.json", "{}\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "manifest.json").stat().st_mode) == 0o664


def test_csv_floats_keep_ten_significant_digits(tmp_path: Path) -> None:
    atomic.write_csv(tmp_path / "summary.csv", pd.DataFrame({"psnr": [31.234567891234], "lpips": [0.0123456789012]}))
    back = pd.read_csv(tmp_path / "summary.csv")
    assert back["psnr"][0] == pytest.approx(31.23456789, abs=1e-9)
    assert back["lpips"][0] == pytest.approx(0.01234567890, abs=1e-12)


def test_a_latest_link_is_moved_to_the_new_target_leaving_no_temporary(tmp_path: Path) -> None:
    link = tmp_path / "latest"
    atomic.point_symlink(link, "run-1")
    atomic.point_symlink(link, "run-2")
    assert os.readlink(link) == "run-2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"]


def test_a_dangling_link_in_place_of_an_output_folder_is_refused_by_name(tmp_path: Path) -> None:
    """A symbolic link to nothing cannot be used as a folder: the error names it before any work."""
    from vfibench.errors import ResultsError

    out = tmp_path / "results"
    out.symlink_to(tmp_path / "gone")
    with pytest.raises(ResultsError, match="--out '.*results' is not a folder"):
        atomic.check_writable_folder(out, "--out")
