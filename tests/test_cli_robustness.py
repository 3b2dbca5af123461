"""What a careless or hostile user meets: malformed specs, damaged data and results, odd inputs.

Each test reproduces a way the command line once crashed or misled, and pins the behaviour that
replaced it: one clear paragraph and exit code 2, or a recorded failure, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.errors import SpecError
from vfibench.presets import get_preset
from vfibench.results.schema import read_csv
from vfibench.results.store import RunStore, UnitKey
from vfibench.sweep import plan_sweep, run_sweep

PRESET = get_preset("smoke").with_overrides(steps=2, log_every=1)
runner = CliRunner()


def tiny_plan(out: Path, losses: str = "l1,l2", seeds: tuple[int, ...] = (0,)):
    return plan_sweep(losses, PRESET, list(seeds), out=out, device="cpu", metrics=["psnr"])


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "400"})


def assert_clean_error(result, *fragments: str) -> None:
    """Exit code 2, no traceback, and every fragment in the message."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    for fragment in fragments:
        assert fragment in text, (fragment, text)


# -- 1: steps without an active term; an exception inside one unit ---------------------------------

@pytest.mark.parametrize("losses, idle", [("l1,l1@0.5,l2", "1-6"), ("l1@:0.5", "7-12"), ("l1 @ 0.5", "1-6"),
                                          ("film-style@0.6:0.7", "1-8, 10-12"),
                                          # every suggested filler term already in use: no example, still one paragraph
                                          ("l1@:0.5+l2@:0.5+charbonnier@:0.5+lap@:0.5", "7-12")])
def test_a_window_that_leaves_steps_without_a_term_is_refused_before_any_run_exists(
        tmp_path: Path, losses: str, idle: str) -> None:
    out = tmp_path / "results"
    result = invoke("run", "--preset", "smoke", "--losses", losses, "--out", str(out), "--device", "cpu")
    assert_clean_error(result, "no active term", f"steps {idle} of the 12 steps", "Nothing was trained")
    assert not out.exists()


def test_the_suggested_gap_term_is_accepted() -> None:
    with pytest.raises(SpecError) as refused:
        plan_sweep("l1@0.5", get_preset("smoke"), [0], out=Path("unused"), device="cpu", metrics=["psnr"])
    suggestion = str(refused.value).rsplit("'", 2)[-2]
    assert plan_sweep(suggestion, get_preset("smoke"), [0], out=Path("unused"), device="cpu", metrics=["psnr"])


def test_windows_span_the_steps_after_the_warm_start(tmp_path: Path) -> None:
    preset = get_preset("smoke")
    with pytest.raises(SpecError, match="after the 6-step warm start"):
        plan_sweep("l1@:0.5", preset, [0], out=tmp_path, device="cpu", metrics=["psnr"], warm_start=6)
    assert plan_sweep("l1@:0.5+l2@0.5", preset, [0], out=tmp_path, device="cpu", metrics=["psnr"], warm_start=6)


def test_an_exception_inside_one_unit_is_its_recorded_failure_and_the_sweep_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vfibench.sweep.unit as unit

    real = unit.train_configuration

    def flaky(config, *args, **kwargs):
        if config.canonical == "l1":
            raise RuntimeError("element 0 of tensors does not require grad")
        return real(config, *args, **kwargs)

    monkeypatch.setattr(unit, "train_configuration", flaky)
    store = run_sweep(tiny_plan(tmp_path))
    assert store.read_manifest()["status"] == "complete"
    summary = read_csv(store.path("summary.csv")).set_index("config")
    assert summary.loc["l1", "status"] == "failed"
    assert "RuntimeError: element 0 of tensors does not require grad" in summary.loc["l1", "reason"]
    assert summary.loc["l2", "status"] == "complete"
    assert store.unit_info(UnitKey("l1", 0))["status"] == "failed"
    assert "failed" in store.path("summary.md").read_text()


# -- 7: bad data is found before the run directory exists -------------------------------------------

def write_clip(folder: Path, sizes: list[tuple[int, int]], truncate: int | None = None) -> Path:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k, (w, h) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{k}.png")
    if truncate is not None:
        path = folder / f"{truncate}.png"
        path.write_bytes(path.read_bytes()[:60])
    return folder


@pytest.mark.parametrize(("data", "reason"), [("truncated", ["image file is truncated"]),
                                              ("tiny", ["at least 16 pixels"]),
                                              ("mismatched", ["48x32", "same size"]),
                                              ("over-budget", ["more than the budget"])])
def test_bad_test_data_leaves_no_run_directory_behind(tmp_path: Path, data: str, reason: list[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vfibench.data.triplet_source.physical_memory", lambda: 16 * 1024**3)  # any machine
    if data == "truncated":
        spec = f"frames:{write_clip(tmp_path / 'clip', [(32, 32)] * 3, truncate=1)}"
    elif data == "tiny":
        spec = f"frames:{write_clip(tmp_path / 'clip', [(1, 1)] * 3)}"
    elif data == "mismatched":
        spec = f"frames:{write_clip(tmp_path / 'clip', [(32, 32), (48, 32), (32, 32)])}"
    else:
        spec = "synthetic(count=100000, size=512)"
    out = tmp_path / "results"
    result = invoke("run", "--preset", "smoke", "--steps", "2", "--metrics", "psnr", "--losses", "l1",
                    "--device", "cpu", "--out", str(out), "--test-data", spec)
    assert_clean_error(result, *reason)
    assert not out.exists() or not any(out.iterdir())
    resumed = invoke("run", "--resume", "--out", str(out))
    assert_clean_error(resumed, "no unfinished run")


# -- 4: a decompression bomb is a bad file, named ------------------------------------------------------

def write_bomb(path: Path, side: int = 20000) -> Path:
    """A small PNG whose header declares side x side pixels (PIL refuses to decode it)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_a_decompression_bomb_is_named_by_validate_inspect_and_eval(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip", [(32, 32)] * 3)
    write_bomb(clip / "1.png")
    result = invoke("data", "validate", f"frames:{clip}")
    assert_clean_error(result, "1.png")
    result = invoke("data", "inspect", f"frames:{clip}")
    assert_clean_error(result, "1.png", "decompression bomb")
    result = invoke("eval", "--pred", str(clip), "--gt", str(clip), "--metrics", "psnr", "--device", "cpu",
                    "--out", str(tmp_path / "results"))
    assert_clean_error(result, "1.png")


def test_a_gpu_out_of_memory_while_scoring_is_one_clean_error_and_leaves_no_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from vfibench.metrics.suite import MetricSuite

    def exhausted(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(MetricSuite, "__call__", exhausted)
    clip = write_clip(tmp_path / "clip", [(32, 48)] * 3)
    result = invoke("eval", "--pred", str(clip), "--gt", str(clip), "--metrics", "psnr,lpips", "--device", "cpu",
                    "--out", str(tmp_path / "results"))
    assert_clean_error(result, "ran out of memory scoring", "3 frames of 32×48 with psnr, lpips", "--device cpu (slower")
    assert not (tmp_path / "results").exists()


# -- 6: data validate applies the memory budget ---------------------------------------------------------

def test_validate_refuses_a_synthetic_set_over_the_memory_budget_before_rendering(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    # A machine of 16 GiB, whatever this one has: 64 scenes of 4000² (34 GiB) are over its budget.
    monkeypatch.setattr("vfibench.data.triplet_source.physical_memory", lambda: 16 * 1024**3)
    started = time.perf_counter()
    result = invoke("data", "validate", "synthetic(size=100000)")
    assert_clean_error(result, "more than the budget")
    result = invoke("data", "validate", "synthetic(size=4000)")
    assert_clean_error(result, "more than the budget")
    assert time.perf_counter() - started < 30


# -- 11: frames smaller than 16 pixels ---------------------------------------------------------------

def test_one_pixel_frames_are_bad_for_validate_and_run_gives_possible_advice(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip", [(1, 1)] * 3)
    result = invoke("data", "validate", f"frames:{clip}")
    assert_clean_error(result, "at least 16 pixels")
    result = invoke("run", "--preset", "smoke", "--steps", "2", "--metrics", "psnr", "--losses", "l1",
                    "--device", "cpu", "--out", str(tmp_path / "results"), "--test-data", f"frames:{clip}")
    assert_clean_error(result, "at least 16 pixels")
    assert "size <= 1" not in result.output


# -- 12: messages say what the user wrote --------------------------------------------------------------

def test_synthetic_time_is_reported_as_t() -> None:
    result = invoke("data", "inspect", "synthetic(t=2)")
    assert_clean_error(result, "t=2")
    assert "s=2" not in result.output


# -- damaged or incomplete run directories (5, 8, 9, 10) ------------------------------------------------

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-configuration sweep of 2 steps on a shrunken smoke preset, scored with weight-free metrics."""
    out = tmp_path_factory.mktemp("finished")
    preset = get_preset("smoke").with_overrides(steps=2, train_count=4, test_count=3, batch_size=2)
    plan = plan_sweep("l1,l2", preset, [0], out=out, device="cpu", metrics=["psnr", "ssim"])
    return run_sweep(plan).root


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "results" / finished_run.name
    shutil.copytree(finished_run, target)
    return target


def model_file(run: Path, config: str = "l1") -> Path:
    return RunStore(run).unit_dir(UnitKey(config, 0)) / "model.pt"


@pytest.mark.parametrize("damage", ["pickle", "truncated", "wrong-keys"])
def test_report_on_a_damaged_model_file_names_it(run_copy: Path, damage: str) -> None:
    import pickle

    import torch

    path = model_file(run_copy)
    if damage == "pickle":
        class Evil:
            def __reduce__(self):
                return (print, ("never printed",))
        path.write_bytes(pickle.dumps(Evil()))
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    else:
        torch.save({"nonsense": torch.zeros(1)}, path)
    result = invoke("report", str(run_copy), "--samples", "1")
    assert_clean_error(result, f"The model file '{path}'", "cannot be loaded", "--resume")
    assert "never printed" not in result.output


def test_report_on_a_manifest_preset_of_the_wrong_type(run_copy: Path) -> None:
    path = run_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["preset"]["width"] = "wide"
    path.write_text(json.dumps(manifest))
    result = invoke("report", str(run_copy), "--samples", "1")
    assert_clean_error(result, "width = \"wide\"", "manifest.json")


def test_a_lost_summary_is_rebuilt_from_the_units_by_resume_and_report(run_copy: Path, finished_run: Path) -> None:
    original = (finished_run / "summary.csv").read_bytes()
    (run_copy / "summary.csv").unlink()
    result = invoke("run", "--resume", str(run_copy))
    assert result.exit_code == 0, result.output
    assert "rebuilt summary.csv" in " ".join(result.output.split())
    assert (run_copy / "summary.csv").read_bytes() == original
    (run_copy / "summary.csv").unlink()
    (run_copy / "per_sample.csv").unlink()
    result = invoke("report", str(run_copy), "--samples", "0")
    assert result.exit_code == 0, result.output
    assert (run_copy / "summary.csv").read_bytes() == original


def test_a_damaged_manifest_does_not_stop_resume_from_finding_the_unfinished_run_beside_it(run_copy: Path) -> None:
    path = run_copy / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "status": "interrupted"}))
    newer = run_copy.parent / "99991231-000000-ffff"
    newer.mkdir()
    (newer / "manifest.json").write_text("{ not json")
    result = invoke("run", "--resume", "--out", str(run_copy.parent), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"resume {run_copy.name}" in " ".join(result.output.split())


@pytest.mark.parametrize("loss", ["model", "unit-folder"])
def test_report_says_which_configurations_the_grids_leave_out(run_copy: Path, loss: str) -> None:
    import shutil

    path = model_file(run_copy, "l2")
    if loss == "model":
        path.unlink()
    else:
        shutil.rmtree(path.parent)
    result = invoke("report", str(run_copy), "--samples", "1")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "The image grids leave out 'l2'" in text
    resume = f"`vfibench run --resume {run_copy.name} --out {run_copy.parent}`"
    if loss == "model":  # a finished unit: resuming alone would find nothing to do
        assert f"Delete the unit folder '{path.parent}' and {resume} trains it again" in text
    else:
        assert f"Finish the run with {resume}, or choose another --seed" in text


def test_report_refuses_a_seed_the_run_does_not_have(run_copy: Path) -> None:
    result = invoke("report", str(run_copy), "--samples", "1", "--seed", "5")
    assert_clean_error(result, "--seed 5", "has the seed 0")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_values_in_per_sample_are_damage_named_by_file(run_copy: Path, value: str) -> None:
    import pandas as pd

    path = run_copy / "per_sample.csv"
    frame = pd.read_csv(path)
    frame["psnr"] = frame["psnr"].astype(object)
    frame.loc[0, "psnr"] = value
    path.write_text(frame.to_csv(index=False))
    result = invoke("report", str(run_copy), "--samples", "0", "--format", "json")
    assert_clean_error(result, str(path), "psnr")


# -- 12: messages ------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, fragment", [
    ("0x10*l1", "'0x10' is not a number"),
    ("l1+abc*perc", "'abc' before '*' is not a number"),  # not "unknown term 'abc', did you mean 'bmbc'"
    ("٠.٥*l1", "expected a loss term name"),
    ("l1,\nl2@2", "line 2, column 4"),
])
def test_spec_messages_say_what_was_written(spec: str, fragment: str) -> None:
    from vfibench.losses.spec import parse_sweep

    with pytest.raises(SpecError) as refused:
        parse_sweep(spec)
    assert fragment in str(refused.value)
    assert "the weight 0 must" not in str(refused.value)


def test_caret_points_at_the_problem_on_its_own_line() -> None:
    from vfibench.losses.spec import parse_sweep

    with pytest.raises(SpecError) as refused:
        parse_sweep("l1,\nl2@2")
    lines = str(refused.value).splitlines()
    shown, caret = lines[1], lines[2]
    assert shown.strip() == "l2@2" and shown[caret.index("^") - 1 : caret.index("^") + 1] == "@2"


def test_whitespace_after_a_plus_is_ignored() -> None:
    from vfibench.losses.spec import parse_sweep

    assert [c.canonical for c in parse_sweep("adacof+ l1")] == [c.canonical for c in parse_sweep("adacof+l1")]
    assert [c.canonical for c in parse_sweep("adacof+ , l1")] == ["adacof+", "l1"]


@pytest.mark.parametrize("spec", ["x" * 100_000, "l1+" * 30_000 + "?", "l1," + "l2+" * 30_000])
def test_a_huge_spec_is_not_echoed_in_full(spec: str) -> None:
    result = invoke("run", "--preset", "smoke", "--losses", spec, "--out", "unused-results", "--device", "cpu")
    assert_clean_error(result)
    assert len(result.output) < 2000


def test_the_lock_message_names_the_out_folder(tmp_path: Path) -> None:
    import fcntl

    from vfibench.errors import ResultsError

    store = RunStore.create(tmp_path / "my results")
    with open(store.root / ".lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        import subprocess
        import sys

        code = ("import sys; from pathlib import Path; from vfibench.results.store import RunStore\n"
                "try:\n    RunStore(Path(sys.argv[1])).lock().__enter__()\nexcept Exception as e: print(e)")
        shown = subprocess.run([sys.executable, "-c", code, str(store.root)], capture_output=True, text=True,
                               env={**__import__("os").environ}).stdout
    assert "being written by another process" in shown
    assert f"--out '{store.root.parent}'" in shown
    assert ResultsError


@pytest.mark.parametrize("kind", ["fifo", "link-to-device"])
def test_weights_import_of_something_that_is_not_a_file_says_so(tmp_path: Path, kind: str) -> None:
    import os

    path = tmp_path / "alexnet-owt-7be5be79.pth"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(os.devnull)
    result = invoke("weights", "import", str(path))
    assert_clean_error(result, "not a regular file")
    assert "no such file" not in result.output


def test_rich_markup_in_user_text_is_printed_verbatim(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip", [(32, 32)] * 3)
    result = invoke("eval", "--pred", f"[red]mine={clip}", "--gt", str(clip), "--metrics", "psnr", "--device",
                    "cpu", "--out", str(tmp_path / "results"), "--samples", "0")
    assert result.exit_code == 0, result.output
    assert "[red]mine" in result.output


def test_resume_message_prints_a_bracketed_run_name_verbatim(run_copy: Path) -> None:
    import shutil

    named = run_copy.parent / "[red]run"
    shutil.move(run_copy, named)
    path = named / "manifest.json"
    path.write_text(path.read_text().replace('"status": "complete"', '"status": "interrupted"'))
    result = invoke("run", "--resume", str(named))
    assert result.exit_code == 0, result.output
    assert "[red]run" in result.output


def test_a_dangling_latest_or_a_manifest_given_for_a_table_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "latest").symlink_to("20260101-000000-dead")
    result = invoke("report", "--out", str(tmp_path))
    assert_clean_error(result, "no longer exists", "20260101-000000-dead")
    result = invoke("compare", str(tmp_path / "latest"), str(tmp_path / "latest"))
    assert_clean_error(result, "points at '20260101-000000-dead', which no longer exists")
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text('{"tool": "vfibench", "kind": "sweep", "status": "complete"}')
    result = invoke("compare", str(run / "manifest.json"), str(run / "manifest.json"))
    assert_clean_error(result, "is a run's manifest, not its metric table: pass the run directory")


@pytest.mark.parametrize("metric, value", [("lpips", -5.0), ("psnr", 400.0), ("ssim", 1.5), ("lpips", "inf")])
def test_compare_refuses_values_a_metric_cannot_take(tmp_path: Path, metric: str, value: object) -> None:
    import pandas as pd

    row = {"config": "l1", "kind": "trained", "status": "complete", "seeds": 1, "samples": 8,
           "psnr_mean": 30.0, "lpips_mean": 0.1, "ssim_mean": 0.9}
    base = tmp_path / "base.csv"
    pd.DataFrame([row]).to_csv(base, index=False)
    new = tmp_path / "new.csv"
    pd.DataFrame([{**row, f"{metric}_mean": value}]).to_csv(new, index=False)
    result = invoke("compare", str(new), str(base))
    assert_clean_error(result, f"{metric}_mean", "outside the values")
    assert "improved" not in result.output


# -- 2: weights that are not the ImageNet reference ----------------------------------------------------

def tampered_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A vfibench cache whose alexnet tensors were replaced and whose sidecar hash was rewritten to match."""
    import torch

    from tests.backbone_fixtures import point_homes_at_empty_dirs
    from vfibench import backbones

    point_homes_at_empty_dirs(tmp_path, monkeypatch)
    generator = torch.Generator().manual_seed(0)
    fake = {k: torch.randn(s, generator=generator) * 0.01 for k, s in backbones.expected_shapes("alexnet").items()}
    backbones.store("alexnet", fake, "replaced")
    assert backbones.locate("alexnet").found


def test_lpips_with_replaced_weights_is_refused_by_run_and_eval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tampered_cache(tmp_path, monkeypatch)
    out = tmp_path / "results"
    result = invoke("run", "--preset", "smoke", "--steps", "2", "--losses", "l1", "--metrics", "psnr,lpips",
                    "--device", "cpu", "--out", str(out))
    assert_clean_error(result, "not the ImageNet reference", "LPIPS")
    assert not out.exists()
    clip = write_clip(tmp_path / "clip", [(64, 64)] * 3)
    result = invoke("eval", "--pred", str(clip), "--gt", str(clip), "--metrics", "lpips", "--device", "cpu",
                    "--out", str(out))
    assert_clean_error(result, "not the ImageNet reference")


def test_skip_unavailable_marks_lpips_on_replaced_weights_unavailable(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from vfibench.metrics.suite import MetricSuite

    tampered_cache(tmp_path, monkeypatch)
    suite = MetricSuite(["psnr", "lpips"], skip_unavailable=True)
    assert suite.names == ("psnr",)
    assert "not the ImageNet reference" in suite.unavailable["lpips"]


def test_a_torchvision_named_import_is_checked_against_the_full_tensor_hash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    from types import MappingProxyType

    import torch

    from tests.backbone_fixtures import point_homes_at_empty_dirs
    from vfibench import backbones

    vhome, _ = point_homes_at_empty_dirs(tmp_path, monkeypatch)
    generator = torch.Generator().manual_seed(0)
    fake = {f"features.{k}": torch.randn(s, generator=generator)
            for k, s in backbones.expected_shapes("alexnet").items()}
    staging = tmp_path / "staging.pth"
    torch.save(fake, staging)
    named = tmp_path / f"alexnet-owt-{hashlib.sha256(staging.read_bytes()).hexdigest()[:8]}.pth"
    staging.rename(named)
    monkeypatch.setattr(backbones.paths, "TORCHVISION_FILES",
                        MappingProxyType({"alexnet": named.name, "vgg16": "vgg16-397923af.pth"}))
    result = invoke("weights", "import", str(named))
    assert_clean_error(result, "not the ImageNet reference")
    assert not any(p.is_file() for p in vhome.rglob("*"))


def test_paths_print_as_written_not_as_emoji(tmp_path: Path, monkeypatch) -> None:
    # ':cat:' is an emoji code to a terminal library; a folder named cat must still print as cat
    write_clip(tmp_path / "cat", [(32, 32)] * 3)
    monkeypatch.chdir(tmp_path)
    result = invoke("data", "validate", "frames:cat")
    assert result.exit_code == 0, result.output
    assert "frames:cat" in result.output and "\N{CAT FACE}" not in result.output


# -- an option that takes one value, given twice, is refused (click would keep the last) ----------------

@pytest.mark.parametrize("args", [["run", "--losses", "l1", "--losses", "l2", "--dry-run"],
                                  ["run", "--losses=l1", "--preset", "smoke", "--losses=l2", "--dry-run"],
                                  ["run", "-ll1", "--losses", "l2", "--dry-run"],
                                  ["run", "-j2", "--jobs", "4", "--dry-run"],
                                  ["eval", "--gt", "a", "--gt", "b", "--pred", "p"],
                                  ["eval", "--gt", "a", "--protocols", "rife", "--protocols", "y-channel", "--pred", "p"],
                                  ["report", "--format", "md", "--format", "csv"]])
def test_an_option_given_twice_is_refused_not_silently_replaced(tmp_path: Path, args: list[str]) -> None:
    result = invoke(*args, "--out", str(tmp_path / "out"))
    assert_clean_error(result, "given twice, but it takes one value and the second would silently replace the first")
    assert not (tmp_path / "out").exists()
    # a list option (shown as LIST in --help) is pointed to its comma form; any other is not
    lists = [arg for arg in args if arg in ("--losses", "--losses=l1", "-ll1", "--protocols")]
    if lists:
        option = "--protocols" if "--protocols" in lists else "--losses"
        assert f"comma-separated (e.g. {option} a,b)" in " ".join(result.output.split())
    else:
        assert "comma-separated" not in result.output


@pytest.mark.parametrize(("args", "message", "usage", "where"), [
    (["report", "--format", "foo"], "Invalid value for '--format' / '-f': 'foo' is not one of",
     "vfibench report [OPTIONS] [RUN]", "'vfibench report --help' explains each option."),
    (["eval"], "Missing option '--pred' / '-p'.", "vfibench eval [OPTIONS]", "'vfibench eval --help' explains"),
    (["report", "a", "b"], "Got unexpected extra argument(s) (b).", "vfibench report", "'vfibench report --help'"),
    (["frobnicate"], "No such command 'frobnicate'.", "vfibench [OPTIONS] COMMAND",
     "'vfibench --help' lists the commands."),
    (["data", "validate"], "Missing argument 'SPEC'.", "vfibench data validate [OPTIONS] SPEC",
     "'vfibench data validate --help' explains each option."),
])
def test_usage_errors_are_one_paragraph_like_every_other_error(args: list[str], message: str, usage: str,
                                                               where: str) -> None:
    result = invoke(*args)
    assert_clean_error(result, message, f"Usage: {usage}", where)
    assert result.output.startswith("error: ") and "\u256d" not in result.output  # no usage block, no box
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("group", [[], ["data"], ["weights"]])
def test_a_group_called_bare_prints_its_help_not_an_error(group: list[str]) -> None:
    result = invoke(*group)
    assert result.exit_code == 2 and "Usage: vfibench" in result.output and "Commands" in result.output
    assert "error:" not in result.output


def test_repeatable_options_may_still_be_repeated(tmp_path: Path) -> None:
    result = invoke("compare", "--tol", "psnr=0.1", "--tol", "ssim=0.01", str(tmp_path / "a"), str(tmp_path / "b"))
    assert_clean_error(result, "does not exist")  # parsed: the missing file is what is refused
    result = invoke("run", "--model", "bogus", "--dry-run")
    assert_clean_error(result, "'bogus' is not one of")
    assert "Value error" not in result.output
    # an option's value is a value, whatever it looks like; --help wins over the rest of the line
    result = invoke("eval", "--gt", str(tmp_path / "a"), "--out", "--gt", "--pred", str(tmp_path / "p"))
    assert_clean_error(result, "does not exist")
    assert "given twice" not in result.output
    result = invoke("run", "--losses", "l1", "--losses", "l2", "--help")
    assert result.exit_code == 0 and "Usage" in result.output


def test_ambiguity_that_would_change_nothing_or_be_overridden_is_refused(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip", [(32, 32)] * 5)
    base = ["run", "--preset", "smoke", "--losses", "l1", "--dry-run", "--out", str(tmp_path / "out")]
    result = invoke(*base, "--ambiguity", "0.3", "--train-data", f"frames:{clip}", "--test-data", f"frames:{clip}")
    assert_clean_error(result, "--ambiguity 0.3 sets how synthetic scenes move, but neither --train-data")
    result = invoke(*base, "--ambiguity", "0.3", "--test-data", "synthetic(ambiguity=0.2)")
    assert_clean_error(result, "--ambiguity 0.3 contradicts the ambiguity=0.2 written in --test-data")
    result = invoke(*base, "--ambiguity", "0.2", "--test-data", "synthetic(ambiguity=0.2)")
    assert result.exit_code == 0, result.output


def test_a_file_or_a_missing_folder_where_a_folder_belongs_is_named_as_such(tmp_path: Path, monkeypatch) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("hi")
    assert_clean_error(invoke("report", str(afile)), f"'{afile}' is a file, not a run directory")
    monkeypatch.chdir(tmp_path)
    assert_clean_error(invoke("report", "notes.txt"), "'notes.txt' is a file, not a run directory")  # relative too
    assert_clean_error(invoke("report", "--out", str(tmp_path / "nothere")), f"'{tmp_path / 'nothere'}' does not exist")
    gt = tmp_path / "gt"
    gt.mkdir()
    Image.new("RGB", (16, 16)).save(gt / "a.png")
    assert_clean_error(invoke("eval", "--pred", str(afile), "--gt", str(gt)), f"'{afile}' is a file, not a folder")
    assert_clean_error(invoke("eval", "--pred", str(tmp_path / "gone"), "--gt", str(gt)), "gone' does not exist")


def test_help_texts_write_no_angle_brackets_that_markdown_would_swallow() -> None:
    """Help is rendered as Markdown, where ``gap_by_<attribute>.png`` prints as ``gap_by_.png``: a
    placeholder is written in capitals (or inside backticks) instead."""
    import re

    import typer.main

    def commands(command):  # type: ignore[no-untyped-def]
        yield command
        for sub in getattr(command, "commands", {}).values():
            yield from commands(sub)

    texts = []
    for command in commands(typer.main.get_command(app)):
        texts += [command.help or "", command.epilog or ""]
        texts += [getattr(param, "help", None) or "" for param in command.params]
    swallowed = [m.group() for text in texts for m in re.finditer(r"<[A-Za-z][^<>]*>", re.sub(r"`[^`]*`", "", text))]
    assert not swallowed, swallowed


def test_a_usage_error_listed_over_lines_prints_as_one_paragraph() -> None:
    from typer._click.exceptions import UsageError

    from vfibench.cli_support import usage_error_paragraph

    assert usage_error_paragraph(UsageError("Missing option '--mode'.  Choose from:\n\ta,\n\tb")) == \
        "Missing option '--mode'. Choose from: a, b."


def test_a_folder_of_runs_given_as_the_run_is_pointed_to_out(tmp_path: Path) -> None:
    runs = tmp_path / "results"
    (runs / "20261206-101500-ab12").mkdir(parents=True)
    (runs / "20261206-101500-ab12" / "manifest.json").write_text("{}")
    assert_clean_error(invoke("report", str(runs)), f"'{runs}' is a folder of runs, not a run",
                       f"`--out {runs}`", "20261206-101500-ab12")


def test_a_columns_of_zero_is_no_width_not_an_empty_screen() -> None:
    """rich took COLUMNS=0 as a width of 0 and printed nothing, the one error paragraph included."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "0", "LINES": "0"}
    failed = subprocess.run([sys.executable, "-m", "vfibench", "run", "--losses", "bogus"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert failed.returncode == 2 and "Unknown loss term 'bogus'" in failed.stderr, failed.stderr
    shown = subprocess.run([sys.executable, "-m", "vfibench", "losses", "l1"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0 and "mean |Î − I_t|" in shown.stdout, shown.stdout + shown.stderr
    helped = subprocess.run([sys.executable, "-m", "vfibench", "report", "--help"], env=env, capture_output=True,
                            text=True, timeout=120)  # typer's help builds its own console
    assert helped.returncode == 0 and "Write a run's report" in helped.stdout, helped.stdout + helped.stderr
    sizes = subprocess.run([sys.executable, "-c", "from vfibench.cli_support import console, error_console; "
                            "print(console.size.height, error_console.size.height)"],
                           env={**os.environ, "LINES": "0"}, capture_output=True, text=True, timeout=120)
    assert "0" not in sizes.stdout.split(), sizes.stdout  # LINES=0 alone: no height, not a live display of none


def test_an_unforeseen_error_in_any_command_exits_3_with_its_traceback_never_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only compare mapped a bug to exit 3; every other command left Python's 1, compare's 'regressed'."""
    import vfibench.data.inspection as inspection

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(inspection, "inspect_source", broken)
    result = invoke("data", "inspect", "synthetic(count=2, size=32)", "--sample", "1")
    text = " ".join(result.output.split())
    assert result.exit_code == 3 and "ZeroDivisionError: a bug" in result.output, result.output
    assert "vfibench data inspect stopped on an unexpected error, shown above: a bug in vfibench" in text


@pytest.mark.parametrize("encoding", ["ascii", "gbk"])
def test_a_stream_not_in_utf8_prints_what_it_can_instead_of_failing_after_the_work(encoding: str) -> None:
    """An ASCII locale failed on '—'; GBK writes '—' and '±' but not '−' or 'Î', which the formulas use."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "PYTHONIOENCODING"}
    env.update(LC_ALL="C", LANG="C", PYTHONUTF8="0") if encoding == "ascii" else env.update(PYTHONIOENCODING=encoding)
    shown = subprocess.run([sys.executable, "-m", "vfibench", "losses", "l1"], env=env, capture_output=True,
                           timeout=120)
    assert shown.returncode == 0 and b"Traceback" not in shown.stderr, shown.stderr
    assert b"pixel loss term" in shown.stdout and b"mean |? ? I_t|" in shown.stdout


@pytest.mark.parametrize(("args", "name"), [(["data", "export", "synthetic", ""], "DIR"),
                                            (["compare", "", "a.csv"], "NEW"),
                                            (["compare", "a.csv", "--", " "], "BASE"), (["report", ""], "RUN")])
def test_an_empty_argument_is_refused_not_read_as_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     args: list[str], name: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert_clean_error(result, f"Invalid value for '{name}': is given an empty value")
    assert not any(tmp_path.iterdir())  # data export wrote its triplets into the current folder


def test_an_empty_value_after_an_unknown_option_is_left_to_the_unknown_option_error() -> None:
    result = invoke("report", "--bogus", "")
    assert result.exit_code == 2 and "No such option: --bogus" in result.output, result.output


def test_a_file_system_error_in_any_command_exits_2_with_one_paragraph_naming_the_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk is the user's to fix: exit 2 with the path and the fix, not a bug's 3 nor compare's 1."""
    import errno

    import vfibench.data.inspection as inspection

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/data/cache/frame.png")

    monkeypatch.setattr(inspection, "inspect_source", full)
    result = invoke("data", "inspect", "synthetic(count=2, size=32)", "--sample", "1")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "'/data/cache/frame.png'" in text and "Free some space on that disk" in text
