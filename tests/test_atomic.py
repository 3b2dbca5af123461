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
