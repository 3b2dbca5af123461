"""The Python API: its documented examples run (doctest), and what a notebook relies on."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from vfibench import api
from vfibench.errors import ResultsError, SpecError


def test_documented_examples_run() -> None:
    failures, tried = doctest.testmod(api, optionflags=doctest.ELLIPSIS)
    assert tried >= 10 and failures == 0


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> api.Run:
    return api.run_sweep("l1", preset="smoke", steps=3, seeds=[0, 1], metrics=["psnr", "gmsd"],
                         out=tmp_path_factory.mktemp("results"), device="cpu")


def test_a_run_loads_as_dataframes_by_folder_or_by_name(run: api.Run) -> None:
    assert run.metrics == ["psnr", "gmsd"]
    assert {"psnr_mean", "psnr_std", "gmsd_mean"} <= set(run.summary.columns)
    assert len(run.per_sample) == 2 * 3 * run.manifest["preset"]["test_count"]  # 2 seeds × (l1, blend, nearest)
    assert set(run.train_log["config"]) == {"l1"} and set(run.train_log["seed"]) == {0, 1}
    again = api.load_run(run.path.parent, run.path.name)
    assert again.summary.equals(run.summary) and api.load_run(run.path.parent).path == run.path


def test_errors_are_the_library_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="position"):
        api.parse_spec("l1+*perc")
    with pytest.raises(ResultsError, match="No finished run"):
        api.load_run(tmp_path)


def test_describe_spec_is_plain_text() -> None:
    text = api.describe_spec("superslomo")
    assert "204*l1 + 102*warp" in text and "\x1b" not in text
