"""Under CI the suite refuses to run with checks that would skip for want of what CI provides."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import in_ci

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("", False), ("0", False),
                                                 ("false", False)])
def test_ci_is_read_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected


@pytest.mark.parametrize("ci", ["1", ""])
def test_missing_backbone_weights_stop_a_ci_run_before_its_first_test(tmp_path, ci):
    env = {**os.environ, "CI": ci, "VFIBENCH_HOME": str(tmp_path / "empty-home"), "TORCH_HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_words.py"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if ci:
        assert run.returncode == 3, run.stdout + run.stderr
        assert "lacks the verified alexnet and vgg16 weights (`vfibench weights fetch`)" in run.stdout
        assert " passed" not in run.stdout
    else:  # outside CI the same environment runs, and the tests that need weights would skip
        assert run.returncode == 0, run.stdout + run.stderr
