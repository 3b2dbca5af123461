"""`vfibench report`'s messages that need no trained run: a run without the base metric, an
unfinished sweep where a finished one was expected, and --samples with a format that draws no grid."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from vfibench.analysis.gap import analyse
from vfibench.cli import app
from vfibench.results.report_tables import analysis_tables

runner = CliRunner()


def per_sample(metrics: dict[str, list[float]]) -> pd.DataFrame:
    """Two trained configurations and a reference scored on four samples, one column per metric."""
    rows = []
    for index, config in enumerate(("l1", "l2", "blend")):
        for sample in range(4):
            row = {"config": config, "kind": "reference" if config == "blend" else "trained", "seed": 0,
                   "sample": sample}
            rows.append(row | {m: values[sample] + 0.01 * index for m, values in metrics.items()})
    return pd.DataFrame(rows)


def test_a_run_without_psnr_says_so_once_and_shows_no_empty_agreement_table() -> None:
    frame = per_sample({"ssim": [0.8, 0.7, 0.9, 0.6], "lpips": [0.1, 0.2, 0.05, 0.3]})
    analysis = analyse(frame, ["ssim", "lpips"], order=["l1", "l2", "blend"])
    assert analysis.verdict.startswith("PSNR was not computed in this run (it has SSIM and LPIPS)")
    assert "unavailable" not in analysis.verdict and analysis.verdict.count("PSNR was not") == 1
    assert "--plane ssim:lpips" in analysis.verdict
    assert [table.title for table in analysis_tables(analysis)] == ["Rankings"]


def test_one_row_in_the_race_gets_no_ranking_or_rank_agreement_table() -> None:
    """One configuration beside a reference is ranked against it, but has no other to correlate rankings
    with; one model scored alone has neither."""
    frame = per_sample({"psnr": [30, 28, 31, 27], "lpips": [0.1, 0.2, 0.05, 0.3]})
    with_reference = frame[frame["config"] != "l2"]
    analysis = analyse(with_reference, ["psnr", "lpips"], order=["l1", "blend"])
    titles = [table.title for table in analysis_tables(analysis)]
    assert "Rankings" in titles and not any(title.startswith("Rank agreement") for title in titles)
    alone = frame[frame["config"] == "l1"].assign(kind="evaluated")
    assert analysis_tables(analyse(alone, ["psnr", "lpips"], order=["l1"])) == []
    assert [table.title for table in analysis_tables(analyse(frame, ["psnr", "lpips"], order=["l1", "l2", "blend"]))][
        :2] == ["Rankings", "Rank agreement with PSNR"]


def test_a_base_metric_without_values_is_called_unavailable_with_its_reason_once() -> None:
    frame = per_sample({"psnr": [float("nan")] * 4, "lpips": [0.1, 0.2, 0.05, 0.3]})
    analysis = analyse(frame, ["psnr", "lpips"], unavailable={"psnr": "left out for this test"})
    assert "PSNR is unavailable in this run (left out for this test)" in analysis.verdict
    assert analysis.verdict.count("unavailable") == 1


def interrupted_sweep(out: Path, name: str = "20260101-000000-abcd") -> Path:
    """A sweep directory whose manifest says it was interrupted (what Ctrl-C leaves)."""
    run = out / name
    run.mkdir(parents=True)
    manifest = {"tool": "vfibench", "kind": "sweep", "status": "interrupted",
                "executor": {"name": "local", "options": ["--threads", "1"]}}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run


def test_report_of_a_folder_with_only_an_interrupted_run_gives_the_resume_command(tmp_path: Path) -> None:
    run = interrupted_sweep(tmp_path / "results")
    result = runner.invoke(app, ["report", "--out", str(tmp_path / "results")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"the sweep '{run.name}' there is incomplete: its manifest says 'interrupted'" in text, text
    assert f"`vfibench run --resume {run.name} --out {tmp_path / 'results'} --threads 1`" in text, text


def test_a_folder_with_no_run_at_all_still_says_to_run_a_sweep(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "Run a sweep first" in result.output and "--resume" not in result.output


@pytest.mark.parametrize("fmt", ["csv", "md", "json", "table"])
def test_samples_with_a_format_that_draws_no_grid_is_refused(tmp_path: Path, fmt: str) -> None:
    result = runner.invoke(app, ["report", str(tmp_path / "run"), "--format", fmt, "--samples", "5"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"--samples 5 has no effect with --format {fmt}, which prints only" in text, text
    assert "image grids are drawn only into a written report or --format html" in text
    assert "Add --write" in text and "--format html" in text


@pytest.mark.parametrize("fmt, options, expected", [
    ("md", ["--seed", "1"], "--seed 1 has no effect with --format md, which prints only"),
    ("json", ["--seed", "1", "--plane", "ssim:dists"], "--seed 1 has no effect with --format json"),  # json: a plane
    ("md", ["--plane", "ssim:dists"], "--plane ssim:dists has no effect with --format md"),
    ("table", ["--intervals", "paired", "--paired-to", "l2"],
     "--intervals paired and --paired-to l2 have no effect with --format table"),
    ("latex", ["--samples", "2", "--seed", "1", "--plane", "psnr:lpips"],
     "--samples 2, --seed 1 and --plane psnr:lpips have no effect with --format latex"),  # every one named at once
])
def test_grid_and_plane_options_with_a_format_that_shows_neither_are_refused(tmp_path: Path, fmt: str,
                                                                             options: list[str], expected: str) -> None:
    """They were accepted and ignored: the same bytes were printed with and without them."""
    result = runner.invoke(app, ["report", str(tmp_path / "run"), "--format", fmt, *options])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert expected in text and "Add --write" in text, text
    grids = "--seed" in options or "--samples" in options
    assert ("use --format html," if grids else "use --format html or --format json,") in text
    assert ("image grids are drawn only" in text) == grids
    assert ("plane is drawn only" in text) == (fmt != "json" and any(o.startswith("--p") or o == "--intervals"
                                                                     for o in options))


@pytest.mark.parametrize("fmt, options", [("json", ["--plane", "ssim:dists"]), ("html", ["--seed", "1"]),
                                          ("md", ["--seed", "1", "--write"])])
def test_grid_and_plane_options_are_taken_where_the_output_shows_them(tmp_path: Path, fmt: str,
                                                                      options: list[str]) -> None:
    result = runner.invoke(app, ["report", str(tmp_path / "run"), "--format", fmt, *options])
    assert result.exit_code == 2 and "does not exist" in " ".join(result.output.split()), result.output  # not refused
