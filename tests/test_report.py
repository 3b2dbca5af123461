"""`vfibench report` on a real (tiny) sweep: every output written, frames re-rendered exactly,
formats, determinism, and clear errors for damaged or foreign run files."""

from __future__ import annotations

import html
import json
import re
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from vfibench import api
from vfibench.cli import app
from vfibench.errors import ResultsError
from vfibench.metrics.psnr import psnr
from vfibench.presets import get_preset
from vfibench.results.frames import frame_source
from vfibench.results.store import RunStore, UnitKey
from vfibench.sweep import plan_sweep, run_sweep
from tests.helpers import noisy_frame_folders, process_alive

runner = CliRunner()
METRICS = ["psnr", "ssim", "sharpness", "gmsd"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A two-configuration sweep of 2 steps on a shrunken smoke preset, with weight-free metrics."""
    out = tmp_path_factory.mktemp("results")
    preset = get_preset("smoke").with_overrides(steps=2, train_count=8, test_count=6, batch_size=2)
    plan = plan_sweep("l1,l2", preset, [0], out=out, device="cpu", metrics=METRICS)
    return run_sweep(plan).root


@pytest.fixture
def run_copy(run_dir, tmp_path) -> Path:
    target = tmp_path / "results" / run_dir.name
    shutil.copytree(run_dir, target)
    return target


def report(path: Path, *args: str) -> object:
    return runner.invoke(app, ["report", str(path), *args])


def set_scores(run: Path, config: str, metric: str, change) -> pd.DataFrame:
    """Change ``config``'s per-sample ``metric`` scores by ``change`` (a function of the column) and its summary
    statistics to match, as a run that scored them so would have written both tables; returns the summary."""
    per_sample = pd.read_csv(run / "per_sample.csv")
    rows = per_sample["config"] == config
    per_sample.loc[rows, metric] = change(per_sample.loc[rows, metric])
    per_sample.to_csv(run / "per_sample.csv", index=False, float_format="%.10g")
    summary = pd.read_csv(run / "summary.csv")
    where = summary["config"] == config
    for statistic in ("mean", "ci_low", "ci_high"):
        summary.loc[where, f"{metric}_{statistic}"] = per_sample.loc[rows, metric].mean() if statistic == "mean" \
            else change(summary.loc[where, f"{metric}_{statistic}"])
    summary.to_csv(run / "summary.csv", index=False)
    return summary


def test_report_writes_every_output_quickly(run_copy):
    started = time.perf_counter()
    result = report(run_copy)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    folder = run_copy / "report"
    grids = sorted(folder.glob("grid_sample*.png"))
    assert len(grids) == 3
    along = [folder / f"gap_by_{a}.png" for a in ("ambiguity_px", "motion_px", "occluded")]
    for png in [folder / "perception_distortion.png", folder / "training_curves.png", *grids, *along]:
        with Image.open(png) as image:
            assert image.format == "PNG" and image.width > 300
    page = (folder / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 8 and "src=\"http" not in page
    assert "The gap along ambiguity (px)" in page
    for png in along:  # each breakdown also for print, and the page says where
        assert png.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
        assert f"Also as {png.stem}.pdf, for print." in page
    assert "<code>--intervals paired</code>" in page and "`" not in page  # code spans, not raw backticks
    with Image.open(folder / "perception_distortion.png") as plane:  # shown at print size, not page width
        assert f'alt="perception–distortion plane" width="{round(plane.width * 96 / plane.info["dpi"][0])}"' in page
    assert "Training curves" in page and "Held-out PSNR: measured once, at step 2 on" in page  # 2 steps, a log row every 4
    breakdown = pd.read_csv(folder / "breakdown.csv")
    assert set(breakdown["attribute"]) == {"ambiguity_px", "motion_px", "occluded"}
    assert set(breakdown["metric"]) == {"psnr", "ssim", "sharpness", "gmsd"}
    assert "Verdict" in result.stdout and "Kendall" in result.stdout and "Sharpness →1" in result.stdout
    assert (run_copy / "summary.md").is_file() and json.loads((folder / "analysis.json").read_text())["base"] == "psnr"
    latex = report(run_copy, "--format", "latex")
    assert latex.exit_code == 0 and (folder / "summary.tex").read_text() == latex.stdout
    assert f'<pre class="latex">{html.escape(latex.stdout)}</pre>' in page  # to copy from the page
    assert latex.stdout.count(r"\\") == 5 and r"\textit{blend}" in latex.stdout  # header, l1, l2, blend, nearest
    assert elapsed < 60  # seconds on a loaded 2-core machine; re-rendering reuses saved weights


def test_grid_frames_are_the_frames_that_were_scored(run_copy):
    store = RunStore(run_copy)
    source, reason = frame_source(store, store.read_manifest())
    assert source is not None, reason
    per_sample = pd.read_csv(run_copy / "per_sample.csv")
    source.prefetch([0, 3])
    for config in ("l1", "blend", "nearest"):
        for sample in (0, 3):
            pred = torch.from_numpy(source.prediction(config, sample)).permute(2, 0, 1)[None].double()
            gt = torch.from_numpy(source.gt(sample)).permute(2, 0, 1)[None].double()
            scored = per_sample[(per_sample.config == config) & (per_sample["sample"] == sample)].psnr.item()
            assert psnr(pred, gt).item() == pytest.approx(scored, abs=1e-6)


def test_formats_and_determinism(run_copy):
    first = report(run_copy, "--format", "md", "--samples", "0")
    second = report(run_copy, "--format", "md", "--samples", "0")
    assert first.exit_code == 0 and first.stdout == second.stdout
    assert "## Verdict" in first.stdout and "## Paired comparisons" in first.stdout
    assert "Sharpness →1" in first.stdout and "Sharpness ↓" not in first.stdout
    data = json.loads(report(run_copy, "--format", "json", "--samples", "0").stdout)
    assert [row["config"] for row in data["summary"]] == ["l1", "l2", "blend", "nearest"]
    assert data["analysis"]["configs"] == ["l1", "l2", "blend", "nearest"]
    csv = report(run_copy, "--format", "csv", "--samples", "0").stdout
    assert csv.splitlines()[0].startswith("config,kind,status")
    page = report(run_copy, "--format", "html", "--samples", "0").stdout
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_json_holds_the_per_bin_means_breakdown_csv_holds(run_copy):
    """A script reading `report --format json` gets the breakdown's numbers, not only the sentence about them."""
    data = json.loads(report(run_copy, "--format", "json", "--samples", "0").stdout)
    assert report(run_copy, "--samples", "0").exit_code == 0  # draws the report, breakdown.csv with it
    expected = pd.read_csv(run_copy / "report" / "breakdown.csv").astype(object)
    expected = expected.where(expected.notna(), None).to_dict("records")
    assert len(data["breakdown"]) == len(expected) > 0
    for got, want in zip(data["breakdown"], expected):
        assert got.keys() == want.keys()
        assert {k: got[k] for k in ("attribute", "bin", "range", "samples", "config", "metric")} == \
            {k: want[k] for k in ("attribute", "bin", "range", "samples", "config", "metric")}
        assert (got["mean"] is None) == (want["mean"] is None)
        if got["mean"] is not None:
            assert got["mean"] == pytest.approx(want["mean"], rel=1e-9)  # the CSV keeps ten significant digits


def test_json_holds_every_summary_number_as_summary_csv_does_and_says_what_its_fields_mean(run_copy):
    """pandas' to_json rounded to ten decimal places (a spread of 3e-12 became 0), and the pairs' records
    gave `difference` (A − B) and `hodges_lehmann` (positive when A is better) with no word on either sign."""
    from dataclasses import fields

    from vfibench.analysis.pair_tests import PairedTest

    summary = pd.read_csv(run_copy / "summary.csv")
    summary.loc[summary["config"] == "l1", "psnr_std"] = 3e-12
    summary.to_csv(run_copy / "summary.csv", index=False)
    data = json.loads(report(run_copy, "--format", "json", "--samples", "0").stdout)
    expected = pd.read_csv(run_copy / "summary.csv").astype(object)
    expected = expected.where(expected.notna(), None).to_dict("records")
    assert data["summary"] == expected and data["summary"][0]["psnr_std"] == 3e-12
    analysis = data["analysis"]
    assert analysis["better"] == {"psnr": "higher", "ssim": "higher", "sharpness": "closest to 1", "gmsd": "lower"}
    assert set(analysis["pair_test_fields"]) == {f.name for f in fields(PairedTest)}
    assert "positive when A is better" in analysis["pair_test_fields"]["hodges_lehmann"]
    assert "A − B, in the metric's units" in analysis["pair_test_fields"]["difference"]


def test_a_report_never_puts_back_a_summary_a_sweep_has_replaced_meanwhile(run_copy):
    """The report rewrote summary.csv from the copy it read at its start, without the run's lock: a resume
    that finished meanwhile had its complete table replaced by the older one."""
    from vfibench.errors import ResultsError
    from vfibench.results.report import load_report_data, write_report
    from vfibench.results.store import RunStore

    store = RunStore(run_copy)
    data = load_report_data(store)
    summary = set_scores(run_copy, "l2", "psnr", lambda x: x + 1.0)  # what a resume wrote after the report read it
    newer = (run_copy / "summary.csv").read_bytes()
    with pytest.raises(ResultsError, match="changed after this report read it .*, so nothing was written"):
        write_report(data, grid_samples=0)  # a report made from the older table would be stale
    assert (run_copy / "summary.csv").read_bytes() == newer and not (run_copy / "report").exists()
    with store.lock(), pytest.raises(ResultsError, match="changed after this report read it"):
        write_report(data, grid_samples=0)  # the same while a sweep holds the run
    data = load_report_data(store)
    with store.lock():  # a sweep holds the run: its tables are its own to write
        (run_copy / "summary.md").unlink()
        report = write_report(data, grid_samples=0)
    assert not (run_copy / "summary.md").exists() and any("left as they are" in note for note in report.notes)
    (run_copy / "summary.csv").write_text("config\n")  # damaged: its own error, not "the run changed"
    with pytest.raises(ResultsError, match="summary.csv"):
        write_report(data, grid_samples=0)
    summary.to_csv(run_copy / "summary.csv", index=False)
    write_report(data, grid_samples=0)  # nothing changed and nobody holds the run: written
    assert (run_copy / "summary.md").is_file()
    pd.testing.assert_frame_equal(pd.read_csv(run_copy / "summary.csv"), summary)


def test_a_report_a_sweep_overtook_while_it_was_written_is_withdrawn(run_copy, monkeypatch):
    """A sweep that wrote a unit while the report was being drawn removed the report folder, and the report
    process then wrote its remaining files into a new one: a report of the run as it was, with figures missing."""
    from vfibench.errors import ResultsError
    from vfibench.results import report as report_module
    from vfibench.results.store import RunStore

    store = RunStore(run_copy)
    data = report_module.load_report_data(store)
    draw = report_module._draw_figures

    def a_unit_lands_meanwhile(data, report):
        draw(data, report)
        set_scores(run_copy, "l2", "psnr", lambda x: x + 1.0)  # the sweep's gather, then its drop_report
        store.drop_report()

    monkeypatch.setattr(report_module, "_draw_figures", a_unit_lands_meanwhile)
    with pytest.raises(ResultsError, match="changed while its report was being written") as raised:
        report_module.write_report(data, grid_samples=0)
    assert not (run_copy / "report").exists() and "vfibench report" in str(raised.value)
    assert not list(run_copy.glob(".report-*"))
    monkeypatch.setattr(report_module, "_draw_figures", draw)
    report_module.write_report(report_module.load_report_data(store), grid_samples=0)  # now it is current
    assert (run_copy / "report" / "report.html").is_file()


def test_a_report_of_a_running_sweep_that_finishes_meanwhile_is_withdrawn(run_copy, monkeypatch):
    """The sweep's last step rewrites summary.csv with the same bytes and marks the run complete: a report
    drawn meanwhile kept saying the run was still running."""
    from vfibench.errors import ResultsError
    from vfibench.results import report as report_module
    from vfibench.results.store import RunStore

    store = RunStore(run_copy)
    store.write_manifest({**store.read_manifest(), "status": "running"})
    data = report_module.load_report_data(store)
    draw = report_module._draw_figures

    def the_sweep_finishes_meanwhile(data, report):
        draw(data, report)
        store.write_manifest({**store.read_manifest(), "status": "complete"})

    monkeypatch.setattr(report_module, "_draw_figures", the_sweep_finishes_meanwhile)
    with pytest.raises(ResultsError, match="a sweep wrote a unit or finished meanwhile"):
        report_module.write_report(data, grid_samples=0)
    assert not (run_copy / "report").exists()


def test_a_sweep_removes_a_report_written_while_it_ran_once_it_is_complete(tmp_path, monkeypatch):
    from vfibench.results.report import build_report
    from vfibench.sweep.listener import SilentListener

    written = RunStore.write_manifest

    def report_before_complete(self, manifest):
        if manifest.get("status") == "complete":
            build_report(self, grid_samples=0)  # as `vfibench report` run while the sweep gathered its tables
            assert "running" in (self.root / "report" / "report.md").read_text()
        written(self, manifest)

    class Notes(SilentListener):
        seen: list = []

        def note(self, text: str) -> None:
            self.seen.append(text)

    monkeypatch.setattr(RunStore, "write_manifest", report_before_complete)
    preset = get_preset("smoke").with_overrides(steps=1, train_count=4, test_count=2, batch_size=2)
    root = run_sweep(plan_sweep("l1", preset, [0], out=tmp_path, device="cpu", metrics=["psnr"]), Notes()).root
    assert RunStore(root).read_manifest()["status"] == "complete" and not (root / "report").exists()
    assert any("removed the report written while the sweep ran" in note for note in Notes.seen)


def test_a_summary_in_more_digits_than_the_rewrite_keeps_is_reported_not_withdrawn(run_copy):
    """The report rewrites summary.csv to ten significant digits; a table saved in more (edited in pandas)
    then differs from the summary the report read, which must not pass for a sweep writing the run."""
    from vfibench.results.report import load_report_data, write_report
    from vfibench.results.store import RunStore

    summary = pd.read_csv(run_copy / "summary.csv")
    summary.loc[summary["config"] == "l2", "psnr_mean"] += 1e-9 / 3  # beyond ten digits: still l2's mean
    summary.to_csv(run_copy / "summary.csv", index=False)
    assert len(f"{summary.loc[summary['config'] == 'l2', 'psnr_mean'].item()!r}") > 12
    report = write_report(load_report_data(RunStore(run_copy)), grid_samples=0)
    assert report.html.is_file() and not any("left as they are" in note for note in report.notes)


def test_sharpness_best_is_the_trained_row_closest_to_one(run_copy):
    """Sharpness is best at 1, not at its largest: l1 at 1.08 lies further from 1 than l2 at 0.95, so l2's
    cell is bold although l1's is larger (the trained rows' real values are both below 1)."""
    set_scores(run_copy, "l1", "sharpness", lambda x: 1.08 + 0 * x)
    set_scores(run_copy, "l2", "sharpness", lambda x: 0.95 + 0 * x)
    assert report(run_copy, "--samples", "0").exit_code == 0
    rows = {line.split("|")[1].strip(): line for line in (run_copy / "summary.md").read_text().splitlines()
            if line.startswith("| ") and line.count("|") > 3}
    sharpness = -3  # the sharpness cell: second to last metric column
    assert "**0.9500**" in rows["l2"].split("|")[sharpness]
    assert "1.0800" in rows["l1"].split("|")[sharpness] and "**" not in rows["l1"].split("|")[sharpness]
    for reference in ("blend", "nearest"):  # references are never starred
        assert "**" not in rows[reference]


def test_unavailable_metric_and_diverged_config_are_shown_as_such(run_copy):
    manifest = json.loads((run_copy / "manifest.json").read_text())
    manifest["metrics"] = [m for m in manifest["metrics"] if m["name"] != "gmsd"]
    manifest["unavailable_metrics"] = {"gmsd": "left out for this test"}
    (run_copy / "manifest.json").write_text(json.dumps(manifest))
    per_sample = pd.read_csv(run_copy / "per_sample.csv")
    per_sample[per_sample.config != "l2"].assign(gmsd=float("nan")).to_csv(run_copy / "per_sample.csv", index=False)
    summary = pd.read_csv(run_copy / "summary.csv")
    for column in [c for c in summary.columns if c.startswith(("psnr_", "ssim_", "sharpness_", "gmsd_"))]:
        summary.loc[summary.config == "l2", column] = float("nan")
    summary[[c for c in summary.columns if c.startswith("gmsd_")]] = float("nan")  # scored by no row
    summary.loc[summary.config == "l2", ["status", "samples"]] = ["diverged", 0]
    summary.to_csv(run_copy / "summary.csv", index=False)
    result = report(run_copy, "--format", "md", "--samples", "1", "--write")
    assert result.exit_code == 0, result.output
    assert "| l2 | diverged |" in result.stdout and "| unavailable |" in result.stdout
    assert "GMSD is unavailable in this run" in result.stdout and "'l2' has no results (diverged)" in result.stdout
    page = (run_copy / "report" / "report.html").read_text()
    assert "unavailable" in page and "diverged" in page


def _files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_printing_a_format_changes_no_file(run_copy):
    assert report(run_copy, "--samples", "2").exit_code == 0
    before = _files(run_copy)
    assert sum(name.startswith("report/grid_sample") for name in before) == 2
    for fmt in ("csv", "latex", "json", "md", "html", "table"):
        result = report(run_copy, "--format", fmt, "--samples", "0")
        assert result.exit_code == 0, result.output
        assert _files(run_copy) == before, fmt
    assert "Report folder not written" in result.stdout
    page = report(run_copy, "--format", "html", "--samples", "1").stdout
    # the plane, the training curves, one grid and the three breakdown figures, drawn aside
    assert page.count('src="data:image/png;base64,') == 6
    assert _files(run_copy) == before


def test_writing_without_new_grids_keeps_the_earlier_ones(run_copy):
    assert report(run_copy, "--samples", "2").exit_code == 0
    grids = {path.name: path.read_bytes() for path in (run_copy / "report").glob("grid_sample*.png")}
    result = report(run_copy, "--samples", "0")
    assert result.exit_code == 0, result.output
    assert {path.name: path.read_bytes() for path in (run_copy / "report").glob("grid_sample*.png")} == grids
    page = (run_copy / "report" / "report.html").read_text()
    # the plane, the training curves, the two kept grids and the three breakdown figures
    assert page.count('src="data:image/png;base64,') == 7 and "kept from an earlier report" in result.stdout
    assert report(run_copy, "--format", "csv", "--write").exit_code == 0
    assert len(list((run_copy / "report").glob("grid_sample*.png"))) == 3  # redrawn: replaced, not added


@pytest.mark.parametrize("damage", ["manifest", "foreign", "per_sample", "per_sample_cut", "summary", "metric",
                                    "warm_start", "summary_column"])
def test_damaged_or_foreign_run_files_exit_2_with_a_message(run_copy, damage):
    if damage == "manifest":
        (run_copy / "manifest.json").write_text("{ not json")
        expected = "cannot be read"
    elif damage == "foreign":
        (run_copy / "manifest.json").write_text(json.dumps({"tool": "something-else"}))
        expected = "not a vfibench manifest"
    elif damage == "per_sample":
        (run_copy / "per_sample.csv").write_text("a,b\n1,2\n")
        expected = "lacks the column"
    elif damage == "per_sample_cut":  # cut at a line boundary: every remaining line parses
        lines = (run_copy / "per_sample.csv").read_text().splitlines(keepends=True)
        (run_copy / "per_sample.csv").write_text("".join(lines[:-2]))
        expected = "was cut short or edited"
    elif damage == "summary":
        frame = pd.read_csv(run_copy / "summary.csv")
        frame["psnr_mean"] = frame["psnr_mean"].astype(object)
        frame.loc[0, "psnr_mean"] = "garbage"
        frame.to_csv(run_copy / "summary.csv", index=False)
        expected = "garbage"
    elif damage == "warm_start":
        manifest = json.loads((run_copy / "manifest.json").read_text())
        manifest["warm_start"] = 5
        (run_copy / "manifest.json").write_text(json.dumps(manifest))
        expected = "malformed \"warm_start\""
    elif damage == "summary_column":  # a summary without the columns of a metric its manifest lists
        frame = pd.read_csv(run_copy / "summary.csv")
        frame.drop(columns=[c for c in frame.columns if c.startswith("gmsd_")]).to_csv(run_copy / "summary.csv",
                                                                                      index=False)
        expected = "lacks the column 'gmsd_mean' that its manifest promises"
    else:
        manifest = json.loads((run_copy / "manifest.json").read_text())
        manifest["metrics"].append({"name": "vmaf"})
        (run_copy / "manifest.json").write_text(json.dumps(manifest))
        expected = "vmaf"
    result = report(run_copy)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()) and "Traceback" not in result.output


@pytest.mark.parametrize("damage", ["row deleted", "last line cut", "foreign row"])
def test_a_summary_that_lost_a_row_is_refused_by_report_and_compare_and_rebuilt_once_deleted(run_copy, run_dir,
                                                                                           damage):
    lines = (run_copy / "summary.csv").read_text().splitlines(keepends=True)
    if damage == "row deleted":
        kept, expected = [line for line in lines if not line.startswith("l2,")], "lacks the row of 'l2'"
    elif damage == "last line cut":  # as a full disk or a killed copy leaves it
        last = lines[-1].split(",")[0]
        kept, expected = lines[:-1], f"lacks the row of '{last}'"
    else:  # a row copied from another run
        kept, expected = [*lines, "l3" + lines[1][lines[1].index(","):]], "holds a row for 'l3', which its run's"
    (run_copy / "summary.csv").write_text("".join(kept))
    for result in (report(run_copy), runner.invoke(app, ["compare", str(run_copy), str(run_dir)])):
        assert result.exit_code == 2, result.output
        message = " ".join(result.output.split())
        assert expected in message and "manifest" in message and "Traceback" not in message
    (run_copy / "summary.csv").unlink()
    result = report(run_copy, "--format", "csv")  # rebuilt from the units, as the message says
    assert result.exit_code == 0, result.output
    assert (run_copy / "summary.csv").read_bytes() == (run_dir / "summary.csv").read_bytes()


@pytest.mark.parametrize("copied", ["summary.csv", "per_sample.csv"])
def test_tables_that_are_not_each_others_are_refused_and_a_sweep_rebuilds_them(run_copy, run_dir, copied):
    """A summary.csv copied in from another seed's run (or a per_sample.csv) parsed cleanly and was reported:
    the table showed one run's means beside the rankings and tests of the other's per-sample scores, and
    compare judged the copied means as the run's."""
    if copied == "summary.csv":  # l1 0.215 dB higher: what seed 1 of the ci sweep gives against seed 0
        summary = pd.read_csv(run_copy / "summary.csv")
        summary.loc[summary["config"] == "l1", "psnr_mean"] += 0.215
        summary.to_csv(run_copy / "summary.csv", index=False)
    else:
        per_sample = pd.read_csv(run_copy / "per_sample.csv")
        per_sample.loc[(per_sample["config"] == "l2") & (per_sample["sample"] == 0), "ssim"] -= 0.01
        per_sample.to_csv(run_copy / "per_sample.csv", index=False)
    metric, config = ("psnr", "l1") if copied == "summary.csv" else ("ssim", "l2")
    for result in (report(run_copy), report(run_copy, "--format", "latex"), report(run_copy, "--format", "csv"),
                   runner.invoke(app, ["compare", str(run_copy), str(run_dir)])):
        assert result.exit_code == 2, result.output
        message = " ".join(result.output.split())
        assert "does not hold the means of the per-sample scores" in message and f"{metric} of '{config}'" in message
        assert "Delete" in message and "vfibench report" in message and "Traceback" not in message
    assert not (run_copy / "report").exists()
    with pytest.raises(ResultsError, match="not from the same run"):
        api.load_run(run_copy)
    (run_copy / "summary.csv").unlink()  # as the message says: both tables are rebuilt from the units
    assert report(run_copy, "--format", "csv").exit_code == 0
    for table in ("summary.csv", "per_sample.csv"):
        assert (run_copy / table).read_bytes() == (run_dir / table).read_bytes()


def test_an_evaluation_whose_tables_disagree_is_to_be_run_again(frames):
    assert evaluate(frames, "--samples", "0").exit_code == 0
    run = frames["out"] / "latest"
    summary = pd.read_csv(run / "summary.csv")
    summary.loc[summary["config"] == "b", "ssim_mean"] *= 1 + 1e-6  # a millionth off: not rounding
    summary.to_csv(run / "summary.csv", index=False)
    result = report(run)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    manifest = json.loads((run / "manifest.json").read_text())
    assert "ssim of 'b'" in message and f"Run the evaluation again: `{manifest['command']}`" in message


def test_a_mean_agrees_with_its_samples_to_the_ten_digits_both_tables_keep():
    """Both tables are written to ten significant digits, so a summary mean and the mean of the written
    per-sample scores may differ in the tenth digit; nothing more, and a missing mean only where no sample
    has a score."""
    from vfibench.results.summary import disagreeing_means, summarise

    rng = np.random.default_rng(0)
    per_sample = pd.DataFrame({"config": "m", "kind": "trained", "seed": np.repeat([0, 1, 2], 50),
                               "sample": np.tile(np.arange(50), 3), "psnr": rng.uniform(20, 40, 150),
                               "lpips": rng.uniform(0, 0.3, 150), "gmsd": float("nan")})
    summary = summarise(per_sample, ["psnr", "lpips", "gmsd"], {"m": "trained"})
    written = per_sample.assign(psnr=per_sample["psnr"].map(lambda v: float(f"{v:.10g}")),
                                lpips=per_sample["lpips"].map(lambda v: float(f"{v:.10g}")))
    rounded = summary.map(lambda v: float(f"{v:.10g}") if isinstance(v, float) else v)
    assert disagreeing_means(written, rounded, ["psnr", "lpips", "gmsd"]) == []
    for metric, by in (("psnr", 1e-6), ("lpips", 1e-6)):
        moved = rounded.copy()
        moved[f"{metric}_mean"] *= 1 + by
        assert [(c, m) for c, m, *_ in disagreeing_means(written, moved, ["psnr", "lpips", "gmsd"])] == [("m", metric)]
    scored = rounded.copy()
    scored["gmsd_mean"] = 0.1  # a mean of a metric no sample has
    assert [m for _, m, *_ in disagreeing_means(written, scored, ["gmsd"])] == ["gmsd"]
    diverged = rounded.assign(status="diverged", psnr_mean=float("nan"))  # only complete rows are checked
    assert disagreeing_means(written, diverged, ["psnr"]) == []


@pytest.mark.parametrize("table", ["per_sample.csv", "train_log.csv"])
def test_a_units_table_cut_at_a_line_boundary_is_named_instead_of_gathered_into_a_complete_row(run_copy, table):
    unit = next(run_copy.glob("units/l1-*--seed0"))
    lines = (unit / table).read_text().splitlines(keepends=True)
    (unit / table).write_text("".join(lines[:-1]))  # every remaining line parses
    for gathered in ("summary.csv", "per_sample.csv", "train_log.csv"):
        (run_copy / gathered).unlink()
    result = report(run_copy)
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in message, message
    assert f"'{unit / table}' holds {len(lines) - 2} {'row' if len(lines) == 3 else 'rows'}" in message
    assert f"Delete the folder '{unit}'" in message
    assert not (run_copy / "summary.csv").exists()  # no table gathered from it


def test_a_training_log_cut_at_a_line_boundary_is_refused_not_drawn_as_the_mean_over_seeds(run_copy):
    lines = (run_copy / "train_log.csv").read_text().splitlines(keepends=True)
    (run_copy / "train_log.csv").write_text("".join(lines[:2]))  # l1's first row: every line parses
    result = report(run_copy)
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in message, message
    assert "lacks the training log of 'l2' seed 0 up to its last step (2)" in message
    (run_copy / "train_log.csv").unlink()
    assert report(run_copy, "--samples", "0").exit_code == 0  # rebuilt from the units, as the message says
    # a log that runs past the run's steps (copied from a longer run) is refused too
    row = lines[-1].split(",")
    (run_copy / "train_log.csv").write_text("".join(lines) + ",".join([*row[:2], "3", *row[3:]]))
    message = " ".join(report(run_copy).output.split())
    assert "logs 'l2' seed 0 beyond the run's last step (2)" in message, message


def test_a_training_log_cut_short_in_every_unit_is_refused_against_the_manifests_steps(tmp_path):
    """With one trained unit, the last step logged was the only measure, and a cut log passed."""
    preset = get_preset("smoke").with_overrides(steps=4, log_every=1, train_count=4, test_count=2, batch_size=2)
    root = run_sweep(plan_sweep("l1", preset, [0], out=tmp_path, device="cpu", metrics=["psnr"])).root
    lines = (root / "train_log.csv").read_text().splitlines(keepends=True)
    (root / "train_log.csv").write_text("".join(lines[:3]))  # steps 1 and 2 of 4
    result = report(root, "--samples", "0")
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and "lacks the training log of 'l1' seed 0 up to its last step (4)" in message
    with pytest.raises(ResultsError, match=r"up to its last step \(4\)"):  # the Python API reads it as report does
        api.load_run(root)


def test_missing_run_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["report", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "No finished run" in result.output


def test_report_of_an_interrupted_run_says_it_is_incomplete_and_how_to_finish_it(run_copy):
    manifest = json.loads((run_copy / "manifest.json").read_text())
    (run_copy / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    result = report(run_copy, "--format", "md")
    text = " ".join(result.stdout.split())
    assert result.exit_code == 0, result.output
    options = " ".join(manifest["executor"]["options"])
    assert "The run is incomplete (its manifest says 'interrupted')" in text
    assert "one with only some of its seeds is marked partial and analysed over the seeds it has" in text
    assert f"`vfibench run --resume {run_copy.name} --out {run_copy.parent}{' ' + options if options else ''}`" in text
    for format in ("csv", "latex", "json"):  # a document on stdout, the note beside it on stderr
        shown = report(run_copy, "--format", format)
        assert shown.exit_code == 0 and "incomplete" not in shown.stdout, shown.output
        assert "note: The run is incomplete (its manifest says 'interrupted')" in " ".join(shown.stderr.split())


def test_the_resume_command_of_a_resumed_run_takes_its_latest_sessions_executor_options(run_copy):
    with_manifest(run_copy, status="interrupted", executor={"name": "ray", "options": ["--executor", "ray"]},
                  resumed=[{"executor": {"name": "local", "jobs": 2, "options": ["--jobs", "2"]}}])
    text = " ".join(report(run_copy, "--format", "md").stdout.split())
    assert f"`vfibench run --resume {run_copy.name} --out {run_copy.parent} --jobs 2`" in text


def with_manifest(run: Path, **entries: object) -> None:
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, **entries}))


@pytest.mark.parametrize("executor, resumed, shown", [
    ({"name": "local", "jobs": 2}, [], "local, 2 worker processes (--jobs 2)"),
    ({"name": "local", "jobs": 2, "workers": 1}, [], "local, 1 worker process (--jobs 2)"),  # one unit was left
    ({"name": "local", "jobs": 1}, [], "local, in one process"),
    ({"name": "ray"}, [{"executor": "ray", "from_status": "interrupted"}],  # resumes that named their executor
     "ray (recorded by the latest session before resumes recorded their own); resumed with ray"),
    ({"name": "ray"}, [{"executor": {"name": "local", "jobs": 2, "workers": 2, "threads_per_unit": 1}}],
     "ray; resumed with local, 2 worker processes (--jobs 2)"),
    ({"name": "ray"}, [{"executor": "ray"}, {"executor": {"name": "local", "jobs": 1, "threads_per_unit": 1}}],
     "ray (recorded by the latest session before resumes recorded their own); resumed with ray, then local, in "
     "one process"),
])
def test_the_page_shows_the_executor_and_the_threads_each_unit_computed_with(run_copy, executor, resumed, shown):
    manifest = json.loads((run_copy / "manifest.json").read_text())
    with_manifest(run_copy, executor={"cores": 2, "options": [], "threads_per_unit": 1, **executor}, resumed=resumed,
                  versions={**manifest["versions"], "torch_threads": "2"})  # the coordinator's own count
    page = html.unescape(report(run_copy, "--format", "html", "--samples", "0").stdout)
    assert f"<dt>executor</dt><dd>{shown}</dd>" in page
    assert "<dt>torch threads per unit</dt><dd>1</dd>" in page and "torch_threads" not in page


def test_the_page_of_a_resumed_run_shows_each_session_s_device_and_commit(run_copy):
    with_manifest(run_copy, device="cpu", git_commit="0123abc",
                  resumed=[{"at": "2026-12-05T10:00:00+0000", "device": "cuda", "git_commit": "4567def",
                            "from_status": "interrupted"}])
    page = html.unescape(report(run_copy, "--format", "html", "--samples", "0").stdout)
    assert "<dt>git commit (first session)</dt><dd>0123abc</dd>" in page
    assert "<dt>device (first session)</dt><dd>cpu</dd>" in page
    assert "<dt>resumed</dt><dd>2026-12-05T10:00:00+0000 on cuda, git commit 4567def</dd>" in page


def test_the_page_of_a_run_without_an_executor_record_shows_its_versions_threads(run_copy):
    manifest = json.loads((run_copy / "manifest.json").read_text())
    manifest.pop("executor")
    (run_copy / "manifest.json").write_text(json.dumps({**manifest, "versions": {**manifest["versions"],
                                                                                 "torch_threads": "2"}}))
    page = report(run_copy, "--format", "html", "--samples", "0").stdout
    assert "torch_threads 2" in page and "<dt>executor</dt>" not in page and "threads per unit" not in page


def test_the_page_names_the_hash_of_each_backbone_the_numbers_were_computed_with(run_copy):
    """LPIPS or DISTS computed with other weights are other numbers: the page says which weights it used."""
    digests = {"alexnet": "a1" * 32, "vgg16": "b2" * 32}
    with_manifest(run_copy, backbones=digests)
    page = report(run_copy, "--format", "html", "--samples", "0").stdout
    for name, digest in digests.items():
        assert f"<dt>backbone {name} (SHA-256)</dt><dd>{digest}</dd>" in page


def test_the_page_of_a_sweep_names_its_seeds_and_the_page_of_an_evaluation_none(run_copy, frames):
    page = report(run_copy, "--format", "html", "--samples", "0").stdout
    meta = re.search(r'<p class="meta">(.*?)</p>', page)
    assert meta is not None and meta.group(1).endswith(" samples · seeds 0"), page[:2000]
    result = evaluate(frames, "--format", "html", "--samples", "0")
    assert result.exit_code == 0, result.output
    meta = re.search(r'<p class="meta">(.*?)</p>', result.stdout)
    assert meta is not None and meta.group(1).endswith(" samples") and "seeds" not in meta.group(1)


def test_csv_prints_the_summary_with_no_grids_asked_for_and_refuses_grids(run_copy):
    for args in ([], ["--samples", "0"]):
        result = report(run_copy, "--format", "csv", *args)
        assert result.exit_code == 0 and result.stdout.startswith("config,kind,status"), result.output
    result = report(run_copy, "--format", "csv", "--samples", "5")
    assert result.exit_code == 2 and "--samples 5 has no effect with --format" in " ".join(result.output.split())
    assert not (run_copy / "report").exists()


def test_plane_axes_and_paired_intervals_are_chosen_on_the_command_line(run_copy):
    result = report(run_copy, "--samples", "0", "--plane", "ssim:gmsd", "--intervals", "paired", "--paired-to", "l2")
    assert result.exit_code == 0, result.output
    folder = run_copy / "report"
    assert (folder / "perception_distortion.pdf").read_bytes().startswith(b"%PDF")
    svg = (folder / "perception_distortion.svg").read_text()
    assert "SSIM" in svg and "GMSD" in svg and "PSNR" not in svg
    page = (folder / "report.html").read_text()
    assert "paired per-sample difference to &#x27;l2&#x27;" in page and "perception_distortion.svg" in page
    # analysis.json and --format json record the plane that was drawn, not the default one
    printed = report(run_copy, "--samples", "0", "--plane", "ssim:gmsd", "--intervals", "paired", "--paired-to",
                     "l2@:0.5+L2@0.5", "--format", "json")  # any spelling of the configuration's loss
    assert printed.exit_code == 0, printed.output
    for record in (json.loads((folder / "analysis.json").read_text()), json.loads(printed.stdout)["analysis"]):
        plane = record["plane"]
        assert (plane["x_metric"], plane["y_metric"], plane.get("intervals"), plane.get("paired_to")) == \
            ("ssim", "gmsd", "paired", "l2")
        assert {point["config"] for point in plane["points"]} == {"l1", "l2", "blend", "nearest"}
        assert plane["front_over"] == "non-reference rows" and set(plane["front"]) <= {"l1", "l2"}


def test_paired_to_names_an_evaluated_model_by_its_name_not_by_the_loss_it_spells(frames):
    """flavr and film-l1 are two models of an evaluation, though as losses both are plain l1."""
    result = runner.invoke(app, ["eval", "--gt", str(frames["gt"]), "--pred", f"film-l1={frames['a']}", "--pred",
                                 f"flavr={frames['b']}", "--out", str(frames["out"]), "--metrics", ",".join(METRICS),
                                 "--samples", "0"])
    assert result.exit_code == 0, result.output
    run = (frames["out"] / "latest").resolve()
    printed = report(run, "--samples", "0", "--plane", "ssim:gmsd", "--intervals", "paired", "--paired-to", "FLAVR",
                     "--format", "json")
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["analysis"]["plane"]["paired_to"] == "flavr"


def test_the_summary_a_report_rewrites_for_a_killed_sweep_says_to_resume_it(run_copy):
    """The report takes the run's lock to rewrite summary.md; asked under it who writes the run, it took
    itself for a running sweep and wrote 'a sweep (process N) is still writing it' for a killed one."""
    with_manifest(run_copy, status="running")  # and nobody holds the run: the sweep was killed
    assert report(run_copy, "--samples", "0").exit_code == 0
    text = " ".join((run_copy / "summary.md").read_text().split())
    assert f"Finish it with `vfibench run --resume {run_copy.name} --out" in text and "still writing" not in text


@pytest.mark.parametrize("args, message", [
    (["--plane", "psnr"], "two different metrics joined by a colon"),
    (["--plane", "psnr:lpips"], "has no values of 'lpips'"),
    (["--intervals", "paired", "--paired-to", "nope"], "--paired-to 'nope' is not a configuration"),
    (["--paired-to", "l2"], "--paired-to 'l2' needs --intervals paired"),
    (["--seed", "5"], "--seed 5: the run"),
])
@pytest.mark.parametrize("output", [[], ["--format", "md"], ["--format", "json"], ["--format", "csv"],
                                    ["--format", "latex"], ["--format", "html"], ["--format", "table"]])
def test_bad_plane_or_seed_options_are_one_clear_error(run_copy, args, message, output):
    # whether the report is written or only printed: a plane or seed the run cannot honour is not silently ignored;
    # a format that shows no grid (--seed) or plane (the others) refuses the option itself
    shown = [[], ["--format", "html"]] + ([] if args[0] == "--seed" else [["--format", "json"]])
    message = message if output in shown else "and writes no report:"
    result = report(run_copy, "--samples", "0", *args, *output)
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


def write_protocols(run: Path, damage: str) -> None:
    """A protocols.csv for the models l1 and l2 under two protocols, damaged as ``damage`` says."""
    rows = pd.DataFrame([{"config": c, "sample": k, "file": f"f{k}", "protocol": p, "psnr": 30.0 + k, "ssim": 0.9}
                         for p in ("vfibench", "y-channel") for c in ("l1", "l2") for k in range(2)])
    if damage == "text":
        rows["psnr"] = rows["psnr"].astype(object)
        rows.loc[5, "psnr"] = "garbage"
    elif damage == "missing_row":
        rows = rows[~((rows.protocol == "y-channel") & (rows.config == "l2"))]
    elif damage == "header_only":
        rows = rows.iloc[:0]
    elif damage == "foreign_model":
        rows.loc[rows.config == "l2", "config"] = "rife"
    rows.to_csv(run / "protocols.csv", index=False)


def test_a_whole_protocols_table_is_reported(run_copy):
    write_protocols(run_copy, "none")
    result = report(run_copy, "--format", "md")
    assert result.exit_code == 0, result.output
    assert "| protocol | l1 PSNR | l1 SSIM | l2 PSNR | l2 SSIM |" in result.stdout and "| y-channel |" in result.stdout


@pytest.mark.parametrize("damage, message", [
    ("text", "has 'garbage' as its psnr value on line 7 (model 'l1', protocol 'y-channel'), where a number belongs"),
    ("missing_row", "has no rows for 'l2' under 'y-channel'"),
    ("header_only", "holds no rows"),
    ("foreign_model", "names the model 'rife', which the run does not have (its models: l1, l2, blend, nearest)"),
])
@pytest.mark.parametrize("output", [[], ["--format", "md"], ["--format", "json"]])
def test_a_damaged_protocols_table_is_one_clear_error(run_copy, damage, message, output):
    write_protocols(run_copy, damage)
    result = report(run_copy, "--samples", "0", *output)
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    assert "protocols.csv" in text and message in text, text
    assert "Re-run the evaluation (`vfibench eval ... --protocols ...`)" in text and "delete the file" in text


def test_the_unwritten_report_hint_is_a_command_that_works_from_here(run_copy):
    result = report(run_copy, "--format", "table", "--samples", "0")
    assert result.exit_code == 0, result.output
    hint = result.stdout.split("Report folder not written; `", 1)[1].split("` writes it.", 1)[0]
    assert not (run_copy / "report" / "report.html").exists()
    args = shlex.split(hint)
    assert args[:2] == ["vfibench", "report"]
    rerun = runner.invoke(app, [*args[1:], "--samples", "0"])
    assert rerun.exit_code == 0, rerun.output
    assert (run_copy / "report" / "report.html").is_file()


@pytest.fixture
def frames(tmp_path: Path) -> dict[str, Path]:
    """Ground truth and two models' predictions of two small frames."""
    return noisy_frame_folders(tmp_path, 2, 40, 48, {"gt": 0, "a": 4, "b": 30}, seed=3) | {"out": tmp_path / "results"}


def evaluate(frames: dict[str, Path], *args: str) -> object:
    return runner.invoke(app, ["eval", "--gt", str(frames["gt"]), "--pred", f"a={frames['a']}", "--pred",
                               f"b={frames['b']}", "--out", str(frames["out"]), "--metrics", ",".join(METRICS),
                               *args])


def test_model_names_with_html_characters_appear_on_the_page_as_written(frames):
    """A model named with <, & or quotes is shown as its name in the page's tables, never read as markup."""
    names = {"a": "<b>a<i> & co", "b": "x\"y'z"}
    predictions = [f"{names['a']}={frames['a']}", "--pred", f"{names['b']}={frames['b']}"]
    result = runner.invoke(app, ["eval", "--gt", str(frames["gt"]), "--pred", *predictions, "--out",
                                 str(frames["out"]), "--metrics", ",".join(METRICS), "--format", "html",
                                 "--samples", "0"])
    assert result.exit_code == 0, result.output
    page = result.stdout
    assert "<b>a<i>" not in page
    cells = [html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", page)]
    assert names["a"] in cells and names["b"] in cells


@pytest.mark.parametrize("fmt", ["md", "csv", "json", "html"])
def test_per_file_with_a_document_format_is_a_clear_error_before_scoring(frames, fmt):
    result = evaluate(frames, "--format", fmt, "--per-file")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert f"--per-file lists every file's scores in the terminal tables, but --format {fmt}" in text
    assert "per_sample.csv" in text and not frames["out"].exists()


def test_eval_prints_the_document_that_report_write_prints(frames):
    help_text = " ".join(runner.invoke(app, ["eval", "--help"], env={"COLUMNS": "400"}).output.split())
    assert "the written report.md" in help_text and "vfibench report RUN --write -f FORMAT prints it" in help_text
    evaluated = evaluate(frames, "--format", "md", "--samples", "1")
    assert evaluated.exit_code == 0, evaluated.output
    run = (frames["out"] / "latest").resolve()
    assert evaluated.stdout == (run / "report" / "report.md").read_text()
    assert "## Perception–distortion plane" in evaluated.stdout and "## Samples where the metrics" in evaluated.stdout
    reported = report(run, "--write", "--format", "md", "--samples", "1")
    assert reported.exit_code == 0 and reported.stdout == evaluated.stdout, reported.output


def test_names_with_markdown_characters_render_as_written_in_every_markdown_table(frames):
    """``0.5*l1+0.5*l2`` set ``l1+0.5`` in italics in summary.md and report.md, and across the rankings."""
    from markdown_it import MarkdownIt

    names = {"a": "0.5*l1+0.5*l2", "b": "perc_x|y`z"}
    result = runner.invoke(app, ["eval", "--gt", str(frames["gt"]), "--pred", f"{names['a']}={frames['a']}",
                                 "--pred", f"{names['b']}={frames['b']}", "--out", str(frames["out"]), "--metrics",
                                 ",".join(METRICS), "--format", "md", "--samples", "0"])
    assert result.exit_code == 0, result.output
    run = (frames["out"] / "latest").resolve()
    renderer = MarkdownIt("commonmark").enable("table")
    for document in (run / "summary.md", run / "report" / "report.md"):
        rendered = renderer.render(document.read_text())
        cells = re.findall(r"<td[^>]*>(.*?)</td>", rendered)
        assert not [cell for cell in cells if "<em>" in cell or "<code>" in cell], document
        assert "0.5*l1+0.5*l2" in cells and "perc_x|y`z" in cells, document  # whole, in their own cells
        assert "<em>" not in rendered, document  # nor in the verdict, the captions and the notes that name them


def test_eval_names_frames_at_the_psnr_cap_and_a_sharpness_ratio_over_a_flat_truth(tmp_path):
    """A model equal to the truth scores the 100 dB cap on every frame; a few one-level pixels on a black
    truth frame (a fade) make a sharpness ratio in the tens of thousands: both are said, with the file."""
    from PIL import Image

    rng = np.random.default_rng(0)
    truth = [rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8), np.zeros((32, 32, 3), np.uint8)]
    for name in ("gt", "a", "b"):
        (tmp_path / name).mkdir()
    for index, frame in enumerate(truth):
        Image.fromarray(frame).save(tmp_path / "gt" / f"{index}.png")
        Image.fromarray(frame).save(tmp_path / "a" / f"{index}.png")
        speckled = frame.copy()
        speckled[::7, ::5] = 1 if index == 1 else speckled[::7, ::5] // 2
        Image.fromarray(speckled).save(tmp_path / "b" / f"{index}.png")
    result = runner.invoke(app, ["eval", "--gt", str(tmp_path / "gt"), "--pred", f"a={tmp_path / 'a'}", "--pred",
                                 f"b={tmp_path / 'b'}", "--out", str(tmp_path / "out"), "--metrics", ",".join(METRICS),
                                 "--format", "md", "--samples", "0"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "PSNR: a frame equal to its truth scores 100 dB" in text and "each row scored: 'a' 2 of 2)" in text
    assert "Sharpness above 10 comes from a truth with almost no gradient" in text and "'b' on '1.png'" in text


# -- a sweep's image grids, drawn by a second process -----------------------------------------------
def _grid_files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("grid_sample*.png"))}


@pytest.fixture
def started(monkeypatch) -> list:
    """Every second process the report starts, with two usable cores whatever the machine has."""
    import subprocess

    from vfibench.results import grid_process

    processes: list = []
    real = subprocess.Popen

    def popen(command, *args, **kwargs):
        process = real(command, *args, **kwargs)
        if any("grid_process" in str(part) for part in command):
            processes.append(process)
        return process

    monkeypatch.setattr(grid_process, "available_cores", lambda: 2)
    monkeypatch.setattr(grid_process.subprocess, "Popen", popen)
    return processes


def test_grids_drawn_by_a_second_process_are_the_grids_drawn_in_place(run_copy, tmp_path, started, monkeypatch):
    from vfibench.results import grid_process
    from vfibench.results.report import load_report_data, write_report

    data = load_report_data(RunStore(run_copy))
    beside = write_report(data, directory=tmp_path / "beside")
    assert len(started) == 1 and started[0].returncode == 0
    monkeypatch.setattr(grid_process, "available_cores", lambda: 1)
    alone = write_report(data, directory=tmp_path / "alone")
    assert len(started) == 1  # one core: drawn in place
    assert [p.name for p in beside.grids] == [p.name for p in alone.grids] and len(alone.grids) == 3
    assert beside.grid_captions == alone.grid_captions and beside.grid_explanation == alone.grid_explanation
    assert _grid_files(tmp_path / "beside") == _grid_files(tmp_path / "alone")
    assert beside.notes == alone.notes
    assert not Path(started[0].args[4]).exists()  # its staging folder is removed
    assert not list((tmp_path / "beside").glob(".*"))


def test_a_second_process_that_ends_without_result_leaves_the_grids_to_this_one(run_copy, tmp_path, started,
                                                                                monkeypatch):
    from vfibench.results.report import load_report_data, write_report

    if shutil.which("false") is None:
        pytest.skip("needs a `false` command")
    data = load_report_data(RunStore(run_copy))
    monkeypatch.setattr(sys, "executable", shutil.which("false"))
    drawn = write_report(data, directory=tmp_path / "report")
    assert len(started) == 1 and started[0].returncode != 0
    assert len(drawn.grids) == 3 and all(path.is_file() for path in drawn.grids)


def test_an_error_in_the_second_process_is_the_error_of_the_report(run_copy, started):
    weights = RunStore(run_copy).unit_dir(UnitKey("l1", 0)) / "model.pt"
    weights.write_bytes(b"not a model")
    result = report(run_copy)
    assert len(started) == 1 and started[0].returncode == 0
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "cannot be loaded into the" in " ".join(result.output.split()), result.output


def test_a_report_that_fails_stops_its_second_process(run_copy, started, monkeypatch):
    from vfibench.results import plots

    shutil.rmtree(run_copy / "report", ignore_errors=True)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plots, "plane_plot", broken)
    result = report(run_copy)
    assert result.exit_code == 2 and "No space left on device" in result.output
    command = f"vfibench report {run_copy.name} --out {run_copy.parent} --format table"
    assert command in " ".join(result.output.split())  # how to read a run that cannot be written
    assert len(started) == 1 and started[0].returncode == -signal.SIGKILL  # stopped, not finished
    assert not Path(started[0].args[4]).exists()
    assert not list((run_copy / "report").glob("grid_sample*")) and not list((run_copy / "report").glob(".*"))


def test_an_evaluation_draws_its_grids_in_place(frames, started):
    assert evaluate(frames).exit_code == 0
    assert started == []


def test_the_second_process_imports_the_callers_vfibench_not_one_in_the_current_folder(run_copy, tmp_path, started,
                                                                                        monkeypatch):
    from vfibench.results.report import load_report_data, write_report

    data = load_report_data(RunStore(run_copy))
    marker = tmp_path / "foreign-code-ran"
    (tmp_path / "other" / "vfibench").mkdir(parents=True)
    (tmp_path / "other" / "vfibench" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path / "other")
    drawn = write_report(data, directory=tmp_path / "report")
    assert len(started) == 1 and started[0].returncode == 0 and len(drawn.grids) == 3
    assert not marker.exists()


def test_an_unexpected_error_in_the_second_process_keeps_its_traceback(started, tmp_path):
    from types import SimpleNamespace

    from vfibench.results import grid_process

    pending = grid_process._Background(lambda: None, SimpleNamespace(), tmp_path, 3, None)
    try:
        with pytest.raises(AttributeError) as raised:
            pending.result()
    finally:
        pending.close()
    cause = raised.value.__cause__
    assert isinstance(cause, grid_process.RemoteTraceback) and "draw_grids" in str(cause)
    assert "per_sample" in str(cause)


def test_a_grids_small_disagreement_score_reads_in_two_significant_digits(run_copy, tmp_path, monkeypatch):
    """A score of 0.0031 is a disagreement (positive); '+0.00' in the title and caption read as none."""
    from dataclasses import replace

    from vfibench.results import grid_process, grids
    from vfibench.results.report import load_report_data, write_report

    monkeypatch.setattr(grid_process, "available_cores", lambda: 1)
    chosen = grids.select_samples
    monkeypatch.setattr(grids, "select_samples", lambda *args, **kwargs: replace(
        chosen(*args, **kwargs), scores=(0.0031, 0.0, -0.02)))
    written = write_report(load_report_data(RunStore(run_copy)), directory=tmp_path / "small")
    assert len(written.grid_captions) == 3
    first, second, third = written.grid_captions
    assert "+0.0031," in first and "+0.00," not in first, first
    assert "+0.00," in second and "-0.02," in third


def test_a_report_stopped_while_drawing_removes_none_of_the_figures_the_earlier_report_shows(run_copy, monkeypatch):
    from vfibench.results import plots
    from vfibench.results.report import load_report_data, write_report

    data = load_report_data(RunStore(run_copy))
    write_report(data, grid_samples=0)
    folder = run_copy / "report"
    before = sorted(p.name for p in folder.iterdir())
    assert sum(name.startswith("gap_by_") for name in before) == 6
    drawn = plots.breakdown_plot

    def stopped_at_the_second(result, *args, **kwargs):
        if any(folder.glob("gap_by_*.png")) and result.attribute != next(iter(data.breakdowns)):
            raise KeyboardInterrupt
        return drawn(result, *args, **kwargs)

    monkeypatch.setattr(plots, "breakdown_plot", stopped_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        write_report(data, grid_samples=0)
    assert sorted(p.name for p in folder.iterdir()) == before  # report.md still finds every figure it links


PARENT = """
import sys, time
from pathlib import Path
from vfibench.results import grid_process
from vfibench.results.report import load_report_data
from vfibench.results.store import RunStore
grid_process.available_cores = lambda: 2
Path(sys.argv[2]).mkdir()
pending = grid_process.start_grids(load_report_data(RunStore(Path(sys.argv[1]))), Path(sys.argv[2]), 3, None)
print(pending._process.pid, pending._staging, flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel ends the process with its parent on Linux")
def test_a_killed_report_leaves_no_second_process_and_no_scratch_folder(run_copy, tmp_path):
    import subprocess

    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(run_copy), str(tmp_path / "report")],
                              stdout=subprocess.PIPE, text=True)
    try:
        pid, scratch = parent.stdout.readline().split()
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 60
        while process_alive(int(pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not process_alive(int(pid)) and not Path(scratch).exists()
    finally:
        parent.kill()


def test_a_long_html_cell_may_wrap_only_between_its_parts():
    """A pairs table fits the page: a difference may break before its p-value, a list after a comma;
    a number never breaks."""
    from vfibench.results.html import _cell

    assert _cell("+4.88 dB (p = 0.0703)", "") == (
        '<td class="parts"><span>+4.88 dB</span> <span>(p = 0.0703)</span></td>')
    assert _cell("yes: LPIPS (n.s.), DISTS (n.s.)", "flag") == (
        '<td class="flag parts"><span>yes: LPIPS (n.s.),</span> <span>DISTS (n.s.)</span></td>')
    assert _cell("30.23 ± 0.02 ★", "best") == '<td class="best">30.23 ± 0.02 ★</td>'


def test_a_manifest_from_before_evaluations_existed_is_read_as_a_sweep(run_copy):
    # the first version's manifests had no "kind": they are sweeps (schema.run_kind), whichever command reads them
    manifest = json.loads((run_copy / "manifest.json").read_text())
    del manifest["kind"]
    (run_copy / "manifest.json").write_text(json.dumps(manifest))
    (run_copy / "summary.csv").unlink()
    result = report(run_copy, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert (run_copy / "summary.csv").is_file()  # rebuilt from the units, as for any sweep
    resumed = runner.invoke(app, ["run", "--resume", str(run_copy), "--dry-run"])
    assert resumed.exit_code == 0, resumed.output
    said = " ".join(resumed.output.split())
    assert "units finished" in said and "into the resumed run under" in said and "a new run directory" not in said


def test_names_the_figures_cannot_draw_are_one_note_not_a_warning_per_glyph(frames, recwarn):
    """A model named in CJK script made matplotlib warn once per glyph and figure on stderr."""
    result = runner.invoke(app, ["eval", "--gt", str(frames["gt"]), "--pred", f"模型甲={frames['a']}", "--pred",
                                 f"b={frames['b']}", "--out", str(frames["out"]), "--metrics", ",".join(METRICS),
                                 "--samples", "0"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "The figures' fonts have no glyph for 3 characters of the names (模, 型, 甲)" in text
    assert not [w for w in recwarn.list if "missing from font" in str(w.message)]


def test_prose_escapes_only_what_markdown_would_read_as_markup():
    """Names and paths in notes render as written, and a path stays copyable from the file."""
    from markdown_it import MarkdownIt

    from vfibench.results.markdown import escape_prose

    text = "'0.5*l1+0.5*l2' over _lead_ in /tmp/test_run_0, C:\\dir\\*x, see `--intervals paired`"
    escaped = escape_prose(text)
    assert "/tmp/test_run_0" in escaped and "`--intervals paired`" in escaped
    rendered = MarkdownIt("commonmark").render(escaped)
    assert "<em>" not in rendered and "0.5*l1+0.5*l2" in rendered and "_lead_" in rendered
    assert "C:\\dir\\*x" in rendered and "<code>--intervals paired</code>" in rendered


def test_a_windows_path_in_prose_keeps_its_backslashes_as_written_in_the_file():
    """A backslash escapes only punctuation in Markdown: before a letter it is kept single, so a path
    copied from report.md is the path."""
    from markdown_it import MarkdownIt

    from vfibench.results.markdown import escape_prose

    escaped = escape_prose("frames in C:\\data\\run_0\\gt")
    assert escaped == "frames in C:\\data\\run_0\\gt"
    assert "C:\\data\\run_0\\gt" in MarkdownIt("commonmark").render(escaped)


def test_the_grids_of_another_seed_show_that_seeds_models(run_copy):
    """--seed 1 shows seed 1's outputs: this run trained no model of seed 1, so only the references."""
    store = RunStore(run_copy)
    source, reason = frame_source(store, store.read_manifest() | {"seeds": [0, 1]}, seed=1)
    assert source is not None and source.seed == 1, reason
    assert source.configs == ("blend", "nearest")


def test_a_new_selection_of_grids_removes_the_grids_of_the_earlier_one(run_copy):
    """The report folder holds the grids the report shows, not those of an earlier selection beside them."""
    folder = run_copy / "report"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "grid_sample0099.png")  # a sample this run does not even have
    result = report(run_copy)
    assert result.exit_code == 0, result.output
    assert len(list(folder.glob("grid_sample*.png"))) == 3 and not (folder / "grid_sample0099.png").exists()
    assert "grid_sample0099" not in (folder / "report.md").read_text()


def test_every_image_report_md_shows_is_the_file_beside_it(run_copy):
    """report.md links each figure by its file name in the report folder, so a Markdown viewer shows
    the plane, the curves, the breakdowns and every grid instead of broken links."""
    assert report(run_copy, "--samples", "1").exit_code == 0
    folder = run_copy / "report"
    targets = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (folder / "report.md").read_text())
    assert any(target.startswith("grid_sample") for target in targets), targets
    assert [target for target in targets if not (folder / target).is_file()] == []


def test_the_pages_summary_marks_the_best_cell_of_each_metric_as_best(run_copy):
    """The starred cell of the page's summary table is the one styled as the best, as summary.md sets it bold."""
    assert report(run_copy, "--samples", "0").exit_code == 0
    page = (run_copy / "report" / "report.html").read_text()
    summary = page.split("<h2>Summary</h2>", 1)[1].split("</table>", 1)[0]
    starred = re.findall(r'<td(?: class="([^"]*)")?>[^<]*★</td>', summary)
    assert len(starred) == len(METRICS), summary
    assert all("best" in css.split() for css in starred), starred


def test_each_grid_on_the_page_is_captioned_with_its_own_sample(run_copy):
    """The page puts each grid above the caption of the same sample, as report.md does."""
    assert report(run_copy).exit_code == 0
    page = (run_copy / "report" / "report.html").read_text()
    pairs = re.findall(r'alt="grid_sample(\d+)"[^>]*><figcaption>Sample (\d+):', page)
    assert len(pairs) == 3 and len({shown for shown, _ in pairs}) == 3, pairs
    assert all(int(shown) == int(captioned) for shown, captioned in pairs), pairs


def test_the_pages_notes_say_that_earlier_grids_were_kept(run_copy):
    """The notes the terminal and report.md give (here: grids kept from an earlier report) are on the page too."""
    folder = run_copy / "report"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "grid_sample0001.png")
    result = report(run_copy, "--samples", "0")
    assert result.exit_code == 0, result.output
    page = (folder / "report.html").read_text()
    assert "<h2>Notes</h2>" in page
    assert "1 image grid kept from an earlier report" in page.split("<h2>Notes</h2>", 1)[1]


def test_an_evaluations_grids_show_the_inputs_in_the_order_its_manifest_lists_them(frames):
    """``"inputs": [i0_dir, i1_dir]`` in an evaluation's manifest: the grids' I0 column shows the first
    folder's frame and the I1 column the second's, never the other way round."""
    frames["out"].mkdir()
    manifest = {"tool": "vfibench", "kind": "eval", "gt_dir": str(frames["gt"]), "sources": {"a": str(frames["a"])},
                "files": ["f0.png", "f1.png"], "inputs": [str(frames["a"]), str(frames["b"])]}
    source, reason = frame_source(RunStore(frames["out"]), manifest)
    assert source is not None, reason
    i0, i1 = source.inputs(1)
    for shown, folder in ((i0, frames["a"]), (i1, frames["b"])):
        expected = np.asarray(Image.open(folder / "f1.png").convert("RGB"), dtype=np.float32) / 255.0
        assert np.array_equal(shown, expected)


def test_grid_frames_of_a_sweep_on_another_data_seed_are_the_frames_that_were_scored(tmp_path):
    """A sweep planned with ``data_seed=3`` scored the test scenes of seed 3: the grids re-render those
    scenes, not seed 0's, so each output beside its ground truth has the PSNR the tables give it."""
    preset = get_preset("smoke").with_overrides(steps=2, train_count=4, test_count=2, batch_size=2)
    plan = plan_sweep("l1", preset, [0], out=tmp_path, device="cpu", metrics=["psnr"], data_seed=3)
    root = run_sweep(plan).root
    store = RunStore(root)
    source, reason = frame_source(store, store.read_manifest())
    assert source is not None, reason
    per_sample = pd.read_csv(root / "per_sample.csv")
    source.prefetch([0, 1])
    for config in ("l1", "blend"):
        for sample in (0, 1):
            pred = torch.from_numpy(source.prediction(config, sample)).permute(2, 0, 1)[None].double()
            gt = torch.from_numpy(source.gt(sample)).permute(2, 0, 1)[None].double()
            scored = per_sample[(per_sample.config == config) & (per_sample["sample"] == sample)].psnr.item()
            assert psnr(pred, gt).item() == pytest.approx(scored, abs=1e-6)


def test_with_several_seeds_the_grids_show_the_samples_where_the_seed_shown_disagrees(tmp_path):
    """Samples were chosen by seed-averaged scores while the grid showed one seed's outputs and scores: a grid
    captioned as a disagreement could show all metrics preferring the same member."""
    from vfibench.results import grids
    from vfibench.results.report import draw_grids, load_report_data

    preset = get_preset("smoke").with_overrides(steps=2, train_count=8, test_count=8, batch_size=2)
    run = run_sweep(plan_sweep("l1,l2", preset, [0, 1], out=tmp_path / "results", device="cpu",
                               metrics=["psnr", "ssim"])).root
    store = RunStore(run)
    for seed, shift in ((0, [-10.0, -0.3]), (1, [30.0, -0.3])):  # sample 5: seed 0 agrees on l2, seed 1 disagrees
        path = store.unit_dir(UnitKey("l1", seed)) / "per_sample.csv"
        table = pd.read_csv(path)
        table.loc[table["sample"] == 5, ["psnr", "ssim"]] += shift
        table.to_csv(path, index=False)
    for table in ("summary.csv", "per_sample.csv"):
        (run / table).unlink()
    assert report(run, "--format", "csv").exit_code == 0  # both rebuilt from the units
    data = load_report_data(store)
    averaged = grids.select_samples(data.per_sample, data.analysis, 3)
    assert averaged is not None and averaged.samples[0] == 5  # +10 dB and -0.3 SSIM on average
    for seed in (0, 1):
        drawn = draw_grids(data, tmp_path / f"seed{seed}", 3, seed)
        own = grids.select_samples(data.per_sample[data.per_sample["seed"] == seed], data.analysis, 3)
        assert [path.name for path in drawn.paths] == [f"grid_sample{s:04d}.png" for s in own.samples]
        assert (5 in own.samples) == (seed == 1)
        assert f"chosen by the scores of seed {seed}, whose outputs are shown" in drawn.explanation
        assert all(f"outputs of seed {seed}" in caption for caption in drawn.captions)
    shutil.rmtree(store.unit_dir(UnitKey("l2", 1)))  # a partial run: seed 1 cannot score the pair
    for table in ("summary.csv", "per_sample.csv"):
        (run / table).unlink()
    assert report(run, "--format", "csv").exit_code == 0
    drawn = draw_grids(load_report_data(store), tmp_path / "partial", 3, 1)
    assert drawn.paths and "Seed 1, whose outputs are shown, has no scores of 'l2', so samples are chosen " \
        "by the scores averaged over seeds" in drawn.explanation
