"""Mistakes a researcher makes with results folders, specs and output paths: each is named, with its fix,
and exits 2, instead of being misread or blamed on something else."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from vfibench.analysis.gap import analyse
from vfibench.cli import app
from vfibench.errors import DataError
from vfibench.data.sources import parse_dataset_spec
from vfibench.results import schema
from vfibench.results.store import RunStore

runner = CliRunner()


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def evaluation(tmp_path: Path) -> Path:
    """The results folder of a finished `vfibench eval` (PSNR of two 24×24 frames)."""
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        truth = rng.integers(0, 256, size=(24, 24, 3))
        for folder, noise in (("gt", 0), ("model", 8)):
            (tmp_path / folder).mkdir(exist_ok=True)
            frame = np.clip(truth + rng.integers(-noise, noise + 1, size=truth.shape), 0, 255).astype(np.uint8)
            Image.fromarray(frame).save(tmp_path / folder / name)
    out = tmp_path / "results"
    result = runner.invoke(app, ["eval", "--pred", str(tmp_path / "model"), "--gt", str(tmp_path / "gt"),
                                 "--out", str(out), "--metrics", "psnr", "--samples", "0", "--format", "csv"])
    assert result.exit_code == 0, result.output
    return out


def edit_manifest(out: Path, **changes: object) -> None:
    path = (out / "latest").resolve() / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, **changes}))


def test_a_latest_link_turned_into_a_file_is_named_with_the_fix(evaluation):
    target = os.readlink(evaluation / "latest")
    (evaluation / "latest").unlink()
    (evaluation / "latest").write_text(target)  # what a copy that does not keep links leaves
    result = runner.invoke(app, ["report", "--out", str(evaluation), "--format", "csv"])
    assert result.exit_code == 2
    message = one_line(result.output)
    assert f"'{evaluation / 'latest'}' is a file, not the link" in message and "None" not in message
    assert f"vfibench report RUN --out {evaluation}" in message


def test_a_run_written_by_a_newer_release_is_refused_with_the_upgrade(evaluation):
    edit_manifest(evaluation, schema_version=schema.SCHEMA_VERSION + 1)
    for command in (["report", "--out", str(evaluation), "--format", "csv"],
                    ["compare", str(evaluation / "latest"), str(evaluation / "latest")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        message = one_line(result.output)
        assert "written by a newer release of vfibench" in message and "Upgrade vfibench" in message


@pytest.mark.parametrize("changes, words", [
    ({"schema_version": "one"}, "has the schema_version 'one'"),
    ({"kind": "bogus"}, "the run's kind is 'bogus', which is neither 'sweep' nor 'eval'"),
    ({"status": "bogus"}, "the run's status is 'bogus', which is none of"),
    ({"kind": ["eval"]}, "the run's kind is ['eval'], which is neither"),
])
def test_a_manifest_with_values_no_release_writes_is_called_damaged(evaluation, changes, words):
    edit_manifest(evaluation, **changes)
    result = runner.invoke(app, ["report", "--out", str(evaluation), "--format", "csv"])
    assert result.exit_code == 2
    message = one_line(result.output)
    assert words in message and "damaged or the file was edited" in message


def test_every_manifest_vfibench_writes_passes_its_own_check(evaluation):
    manifest = RunStore((evaluation / "latest").resolve()).read_manifest()
    assert manifest["schema_version"] == schema.SCHEMA_VERSION
    assert schema.manifest_problem(manifest) is None
    assert schema.manifest_problem({k: v for k, v in manifest.items() if k != "schema_version"}) is None


def test_resuming_an_evaluation_says_evaluations_are_run_again_not_that_the_run_is_damaged(evaluation):
    result = runner.invoke(app, ["run", "--resume", str((evaluation / "latest").resolve()),
                                 "--out", str(evaluation)])
    assert result.exit_code == 2
    message = one_line(result.output)
    assert "records an evaluation (`vfibench eval`), not a sweep" in message
    assert "to redo an evaluation, run its command again: `" in message and "damaged" not in message


def test_eval_refuses_an_out_inside_the_ground_truth_before_scoring(evaluation, monkeypatch):
    root = evaluation.parent
    monkeypatch.chdir(root / "gt")
    result = runner.invoke(app, ["eval", "--pred", "../model", "--gt", ".", "--metrics", "psnr"])
    assert result.exit_code == 2
    message = one_line(result.output)
    assert "--out 'results' is inside the ground-truth folder '.'" in message and "--out ../results" in message
    assert not (root / "gt" / "results").exists()
    hidden = runner.invoke(app, ["eval", "--pred", "../model", "--gt", ".", "--metrics", "psnr",
                                 "--out", ".scores", "--samples", "0", "--format", "csv"])
    assert hidden.exit_code == 0, hidden.output  # a hidden folder is never read for frames


def test_eval_refuses_an_out_inside_a_prediction_folder(evaluation):
    root = evaluation.parent
    result = runner.invoke(app, ["eval", "--pred", f"m={root / 'model'}", "--gt", str(root / 'gt'),
                                 "--out", str(root / "model" / "scores"), "--metrics", "psnr"])
    assert result.exit_code == 2
    assert "is inside the prediction folder of 'm'" in one_line(result.output)


@pytest.mark.parametrize("spec", ["frames(stride=2:clip", "frames(stride=2)clip", "video(stride=2"])
def test_a_known_kind_with_its_parentheses_or_colon_out_of_shape_is_called_malformed(spec):
    with pytest.raises(DataError) as caught:
        parse_dataset_spec(spec)
    message = str(caught.value)
    assert "is not well formed" in message and "Did you mean" not in message


def test_eval_names_a_malformed_spec_as_such_not_as_a_missing_folder(evaluation):
    result = runner.invoke(app, ["eval", "--pred", str(evaluation.parent / "model"),
                                 "--gt", "frames(stride=2)clip", "--metrics", "psnr"])
    assert result.exit_code == 2
    assert "'frames(stride=2)clip' is not well formed" in one_line(result.output)


def test_the_verdict_of_a_run_without_any_result_names_the_rows_not_the_metrics():
    import pandas as pd

    empty = pd.DataFrame({"config": pd.Series(dtype=str), "kind": pd.Series(dtype=str),
                          "seed": pd.Series(dtype=int), "sample": pd.Series(dtype=int),
                          "psnr": pd.Series(dtype=float), "lpips": pd.Series(dtype=float)})
    analysis = analyse(empty, ["psnr", "lpips"], order=["l1", "blend"],
                       status={"l1": schema.MISSING, "blend": schema.MISSING},
                       unavailable={"psnr": "no values in the per-sample table",
                                    "lpips": "no values in the per-sample table"})
    assert analysis.verdict.startswith("No configuration of this run has results ('l1' missing; 'blend' missing)")
    assert "resume the run" in analysis.verdict and "--metrics" not in analysis.verdict
