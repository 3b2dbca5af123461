"""`vfibench compare` on runs not made the same way: a difference that means NEW and BASE measured different
things exits 2 and names it, unless --allow-different-setup asks for the verdict; one that only makes the numbers
less exact is a note beside the verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.errors import ResultsError
from vfibench.results.compare import compare_summaries
from vfibench.results.compare_inputs import load_summary
from vfibench.results.compare_verdicts import summary_line

runner = CliRunner()
ALLOW = "--allow-different-setup"

ROWS = [
    {"config": "l1", "kind": "trained", "status": "complete", "seeds": 1, "samples": 8,
     "psnr_mean": 30.00, "lpips_mean": 0.1000},
    {"config": "blend", "kind": "reference", "status": "complete", "seeds": 1, "samples": 8,
     "psnr_mean": 28.00, "lpips_mean": 0.1500},
]
MODELS = [{**row, "kind": "evaluated", "config": name} for row, name in zip(ROWS, ("rife", "ours"))]
#: A sweep manifest as vfibench writes it, reduced to what compare reads.
SWEEP = {"tool": "vfibench", "kind": "sweep", "status": "complete", "device": "cpu", "seeds": [0],
         "executor": {"name": "local", "threads_per_unit": 1},
         "versions": {"vfibench": "0.1.0", "torch": "2.14.1"},
         "preset": {"name": "smoke", "steps": 12},
         "data": {"test": {"dataset": "synthetic", "count": 8, "loaded": 8}}}
#: An evaluation manifest, reduced likewise.
EVAL = {"tool": "vfibench", "kind": "eval", "status": "complete", "device": "cpu", "seeds": [0],
        "gt_dir": "/data/gt", "gt_spec": None, "files": ["a.png", "b.png", "c.png"]}


def run_dir(root: Path, name: str, manifest: dict[str, Any] | None, rows: list[dict], **cells: dict) -> Path:
    """A run folder with a summary of ``rows`` (``cells[config]`` overriding cells of a row) and ``manifest``
    (none: a bare summary.csv, returned as the file)."""
    folder = root / name
    folder.mkdir()
    pd.DataFrame([{**row, **cells.get(row["config"], {})} for row in rows]).to_csv(folder / "summary.csv", index=False)
    if manifest is None:
        return folder / "summary.csv"
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def changed(manifest: dict[str, Any], **entries: Any) -> dict[str, Any]:
    """``manifest`` with ``entries`` replaced."""
    return {**manifest, **entries}


def invoke(*args: object):
    result = runner.invoke(app, ["compare", *map(str, args)])
    return result, " ".join(result.output.split())


#: (id, NEW manifest, BASE manifest, NEW rows, NEW cells, what the error names): NEW and BASE equal in every
#: number, or sharing no row, so that a verdict would pass or fail on nothing but the difference.
BLOCKING = [
    ("preset", changed(SWEEP, preset={"name": "quick", "steps": 12}), SWEEP, ROWS, {},
     "NEW used the preset 'quick', BASE 'smoke'."),
    ("setting", changed(SWEEP, preset={"name": "smoke", "steps": 4}), SWEEP, ROWS, {},
     "different settings: preset.steps 4 (BASE 12)."),
    ("test data", changed(SWEEP, data={"test": {"dataset": "frames:/data/clip", "count": 8, "loaded": 8,
                                                "fingerprint": "65834e1d0431bccf"}}), SWEEP, ROWS, {},
     "data.test.dataset frames:/data/clip (BASE synthetic)"),
    ("test data content", changed(SWEEP, data={"test": {"dataset": "frames:/data/clip", "fingerprint": "aaaa"}}),
     changed(SWEEP, data={"test": {"dataset": "frames:/data/clip", "fingerprint": "bbbb"}}), ROWS, {},
     "data.test.fingerprint aaaa (BASE bbbb)"),
    ("seeds", changed(SWEEP, seeds=[1]), SWEEP, ROWS, {}, "NEW trained the seed 1, BASE 0:"),
    ("samples", SWEEP, SWEEP, ROWS, {"l1": {"samples": 6}, "blend": {"samples": 6}},
     "other numbers of test samples: 'l1' and 'blend' on 6 in NEW, 8 in BASE."),
    ("no row in common", SWEEP, SWEEP, [{**row, "config": f"{row['config']}-v2"} for row in ROWS], {},
     "NEW and BASE share no configuration name, so nothing would be compared"),
    ("sample files", changed(EVAL, files=["a.png", "b.png", "d.png"]), EVAL, MODELS, {},
     "NEW and BASE scored different sample files: 1 file only in NEW ('d.png'); 1 file only in BASE ('c.png')."),
    ("ground truth read otherwise", changed(EVAL, gt_spec="xiph(res=4k):/data/xiph"),
     changed(EVAL, gt_spec="xiph(res=2k):/data/xiph"), MODELS, {},
     "NEW was scored against xiph(res=4k):/data/xiph, BASE against xiph(res=2k):/data/xiph: other ground truth"),
    ("ground-truth content", changed(EVAL, frame_digests={"gt": ["1111", "2222", "9999"], "sources": {}}),
     changed(EVAL, frame_digests={"gt": ["1111", "2222", "3333"], "sources": {}}), MODELS, {},
     "NEW and BASE were scored against other ground-truth frames: 1 file of the same name differs in content "
     "('c.png'), as the digests their manifests record show."),
    ("no model in common", EVAL, EVAL, [{**row, "config": "mine"} for row in MODELS[:1]], {},
     "share no model name, so nothing would be compared: rows are matched by name (an evaluated model is named "
     "with --pred NAME=DIR"),
]


@pytest.mark.parametrize(("new_manifest", "base_manifest", "rows", "cells", "named"),
                         [case[1:] for case in BLOCKING], ids=[case[0] for case in BLOCKING])
def test_runs_that_measured_different_things_exit_2_naming_the_difference_unless_allowed(
        tmp_path: Path, new_manifest: dict, base_manifest: dict, rows: list[dict], cells: dict, named: str) -> None:
    new = run_dir(tmp_path, "new", new_manifest, rows, **cells)
    base = run_dir(tmp_path, "base", base_manifest, MODELS if rows[0]["kind"] == "evaluated" else ROWS)
    result, text = invoke(new, base)
    assert result.exit_code == 2 and "Traceback" not in text, text
    assert text.startswith("error: NEW") and named in text, text
    assert "were not made the same way" in text and "runs made by the same command with the same options" in text
    assert f"pass {ALLOW}" in text and "within tolerance" not in text and "regressed" not in text
    allowed, text = invoke(new, base, ALLOW)
    assert allowed.exit_code in (0, 1), text  # the verdict, with the difference among the notes
    assert named in text.split("note: ", 1)[-1] and "vfibench compare (runs not made the same way):" in text, text


def test_a_regression_still_fails_beside_differences_that_only_make_the_numbers_less_exact(tmp_path: Path) -> None:
    """Another device, release or thread count, or an unfinished BASE: notes, and the verdict stands either way."""
    bases = {
        "NEW ran on cpu, BASE on cuda (NVIDIA H200)": changed(SWEEP, device="cuda (NVIDIA H200)"),
        "NEW ran under vfibench 0.1.0, torch 2.14.1, BASE under vfibench 0.2.0, torch 2.15.0":
            changed(SWEEP, versions={"vfibench": "0.2.0", "torch": "2.15.0"}),
        "NEW's units trained with 1 torch thread each, BASE's with 2":
            changed(SWEEP, executor={"name": "local", "threads_per_unit": 2}),
        "BASE's manifest says the run is 'interrupted'": changed(SWEEP, status="interrupted"),
    }
    same = run_dir(tmp_path, "same", SWEEP, ROWS)
    worse = run_dir(tmp_path, "worse", SWEEP, ROWS, l1={"psnr_mean": 29.0})
    for k, (expected, manifest) in enumerate(bases.items()):
        base = run_dir(tmp_path, f"base{k}", manifest, ROWS)
        result, text = invoke(same, base)
        assert result.exit_code == 0 and "4 within tolerance — passed" in text, text
        assert f"note: {expected}" in text and "not made the same way" not in text, (expected, text)
        result, text = invoke(worse, base)
        assert result.exit_code == 1 and "failed: l1 psnr" in text and f"note: {expected}" in text, text
        assert json.loads(invoke(same, base, "--format", "json")[0].stdout)["setup_differences"] == []


def test_a_run_directory_against_a_bare_baseline_made_alike_is_judged(tmp_path: Path) -> None:
    """The CI check: a run against a committed summary.csv with as many seeds and samples per row."""
    base = run_dir(tmp_path, "baselines", None, ROWS)
    result, text = invoke(run_dir(tmp_path, "run", SWEEP, ROWS), base, "--two-sided")
    assert result.exit_code == 0, text
    result, text = invoke(run_dir(tmp_path, "worse", SWEEP, ROWS, blend={"lpips_mean": 0.16}), base, "--two-sided")
    assert result.exit_code == 1 and "failed: blend lpips" in text, text


def test_seed_counts_of_a_bare_csv_block_and_only_some_seeds_finished_is_a_note(tmp_path: Path) -> None:
    base = run_dir(tmp_path, "base", None, ROWS)
    more = run_dir(tmp_path, "more", None, ROWS, l1={"seeds": 3})
    result, text = invoke(more, base)
    assert result.exit_code == 2, text
    assert "Configurations have results of other numbers of seeds: 'l1' of 3 in NEW, 1 in BASE" in text, text
    unfinished = run_dir(tmp_path, "unfinished", None, ROWS, l1={"seeds": 2, "status": "partial"})
    result, text = invoke(run_dir(tmp_path, "three", None, ROWS, l1={"seeds": 3}), unfinished)
    assert result.exit_code == 0, text
    assert "note: Only some seeds finished, so these means are over other seeds: 'l1' (2 seeds in BASE, 3 in NEW)." \
        in text, text


def test_data_or_ground_truth_in_another_folder_is_not_proof_of_other_content(tmp_path: Path) -> None:
    """The same folder in another clone: the fingerprint, where both record one, settles it; without it, a note."""
    here = changed(SWEEP, data={"test": {"dataset": "frames:/home/a/clip", "fingerprint": "65834e1d0431bccf"}})
    there = changed(SWEEP, data={"test": {"dataset": "frames:/home/b/clip", "fingerprint": "65834e1d0431bccf"}})
    result, text = invoke(run_dir(tmp_path, "here", here, ROWS), run_dir(tmp_path, "there", there, ROWS))
    assert result.exit_code == 0 and "note:" not in text.replace("note: NEW and BASE", ""), text
    older = changed(SWEEP, data={"test": {"dataset": "frames:/home/c/clip"}})  # recorded before fingerprints
    result, text = invoke(run_dir(tmp_path, "older", older, ROWS), run_dir(tmp_path, "here2", here, ROWS))
    assert result.exit_code == 0, text
    assert "note: NEW read its test data from frames:/home/c/clip, BASE from frames:/home/a/clip: their numbers " \
           "are comparable only if that is the same data" in text, text
    # an evaluation: another ground-truth folder with the same sample files
    result, text = invoke(run_dir(tmp_path, "e1", changed(EVAL, gt_dir="/clone/gt"), MODELS),
                          run_dir(tmp_path, "e2", EVAL, MODELS))
    assert result.exit_code == 0, text
    assert "note: NEW was scored against /clone/gt, BASE against /data/gt: their numbers are comparable only if " \
           "that is the same ground truth." in text, text
    specs = changed(EVAL, gt_spec="xiph(res=2k):/clone/xiph"), changed(EVAL, gt_spec="xiph(res=2k):/data/xiph")
    result, text = invoke(run_dir(tmp_path, "s1", specs[0], MODELS), run_dir(tmp_path, "s2", specs[1], MODELS))
    assert result.exit_code == 0 and "comparable only if that is the same ground truth" in text, text


def test_ground_truth_digests_equal_in_another_folder_settle_that_it_is_the_same(tmp_path: Path) -> None:
    """The frames' digests tell what a folder's path cannot: equal, no note at all; a set's digests (of I0, It
    and I1) are never compared with a folder's (of the file's bytes)."""
    digests = {"gt": ["1111", "2222", "3333"], "sources": {}}
    here = changed(EVAL, gt_dir="/clone/gt", frame_digests=digests)
    result, text = invoke(run_dir(tmp_path, "here", here, MODELS),
                          run_dir(tmp_path, "there", changed(EVAL, frame_digests=digests), MODELS))
    assert result.exit_code == 0 and "note:" not in text, text
    spec = changed(EVAL, gt_spec="ucf101:/data/ucf101", frame_digests={"gt": ["a", "b", "c"], "sources": {}})
    result, text = invoke(run_dir(tmp_path, "spec", spec, MODELS), run_dir(tmp_path, "folder", here, MODELS))
    assert result.exit_code == 0 and "other ground-truth frames" not in text, text


def test_the_library_refuses_runs_made_otherwise_and_carries_the_differences_when_allowed(tmp_path: Path) -> None:
    new = load_summary(run_dir(tmp_path, "new", changed(SWEEP, seeds=[1]), ROWS, l1={"psnr_mean": 29.0}))
    base = load_summary(run_dir(tmp_path, "base", SWEEP, ROWS))
    with pytest.raises(ResultsError, match="were not made the same way.*NEW trained the seed 1, BASE 0"):
        compare_summaries(new, base)
    comparison = compare_summaries(new, base, allow_different_setup=True)
    assert comparison.failed and len(comparison.setup_differences) == 1
    assert comparison.setup_differences[0].startswith("NEW trained the seed 1, BASE 0")
    assert comparison.setup_differences[0] in comparison.notes
    assert summary_line(comparison).startswith("vfibench compare (runs not made the same way): 1 regressed")
    document = comparison.to_dict()
    assert document["setup_differences"] == list(comparison.setup_differences) and not document["passed"]


def test_json_output_of_a_refused_comparison_is_empty_and_the_error_explains(tmp_path: Path) -> None:
    new = run_dir(tmp_path, "new", changed(SWEEP, preset={"name": "quick"}), ROWS)
    result = runner.invoke(app, ["compare", str(new), str(run_dir(tmp_path, "base", SWEEP, ROWS)), "--format", "json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "NEW used the preset 'quick', BASE 'smoke'." in " ".join(result.stderr.split())


def test_the_help_describes_the_flag_with_an_example() -> None:
    output = runner.invoke(app, ["compare", "--help"], env={"COLUMNS": "200"}).output
    text = " ".join(output.replace("│", " ").split())
    assert f"{ALLOW} Give the verdict even when NEW and BASE were not made the same way" in text, text
    assert f"vfibench compare NEW BASE {ALLOW}" in text and "Otherwise compare exits 2 and names what differs" in text


@pytest.mark.parametrize(("spec", "parts"), [
    ("frames(stride=2):/data/clip", ("frames(stride=2)", "/data/clip")),
    ("xiph(res=4k, count=8):/d", ("xiph(res=4k,count=8)", "/d")),
    ("Synthetic", ("synthetic", "")),
    ("frames:C:/data/clip", ("frames", "C:/data/clip")),
])
def test_a_dataset_spec_is_cut_into_what_it_reads_and_from_where(spec: str, parts: tuple[str, str]) -> None:
    from vfibench.results.compare_notes import spec_parts

    assert spec_parts(spec) == parts
