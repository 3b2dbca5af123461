"""``vfibench data inspect|validate|export`` through Typer's CliRunner, and the library functions behind them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests.test_data_sources import blue_code, make_clip, make_video, make_vimeo, write_png, frame_array
from vfibench.cli_data import app
from vfibench.data.export import export_triplets
from vfibench.data.images import Fit
from vfibench.data.inspection import camera_motion, inspect_source, validate_source
from vfibench.data.sources import open_dataset, open_source
from vfibench.errors import DataError

WIDE = {"COLUMNS": "200"}


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("command", ["inspect", "validate", "export"])
def test_every_command_has_help_with_examples(runner: CliRunner, command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env=WIDE)
    assert result.exit_code == 0
    assert "Examples" in result.output and f"vfibench data {command}" in result.output


# -------------------------------------------------------------------------------------- inspect


def photo(height: int = 256, width: int = 256, top: int = 100, left: int = 100) -> torch.Tensor:
    """A (3, H, W) crop of a real photograph (scikit-image's astronaut) in [0, 1]."""
    from skimage import data

    image = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float() / 255
    return image[:, top:top + height, left:left + width]


def test_camera_motion_finds_a_pan_and_ignores_an_object_moving_over_a_still_background() -> None:
    pan = camera_motion(photo()[None], photo(top=104, left=103)[None])  # the view moved by (3, 4)
    assert pan[0] == pytest.approx(5.0, abs=0.3)
    assert camera_motion(photo()[None], photo()[None])[0] == pytest.approx(0.0, abs=1e-3)
    still, moved = photo(), photo()
    still[:, 80:180, 40:140] = photo(100, 100, 0, 0)  # an object a sixth of the frame, moving 30 px
    moved[:, 80:180, 70:170] = photo(100, 100, 0, 0)
    assert camera_motion(still[None], moved[None])[0] < 0.5  # the camera did not move


@pytest.mark.parametrize("shift", [3, 12, 16])
def test_camera_motion_finds_a_pan_on_small_frames(shift: int) -> None:
    # a 128×96 view panned by `shift` px: a flow with too few pyramid levels for it (Farnebäck's, as
    # psnr-div sets it) found a fraction of the pan or none
    pan = camera_motion(photo(96, 128, 60, 60)[None], photo(96, 128, 60, 60 + shift)[None])
    assert pan[0] == pytest.approx(shift, abs=0.3)


def test_inspect_reports_counts_sizes_and_motion(tmp_path: Path) -> None:
    make_clip(tmp_path, 10)  # the texture moves 2 px per frame: 4 px between I0 and I1
    source = open_source(f"frames:{tmp_path}", "test")
    found = inspect_source(source, list(range(len(source))), None, Fit.resize, sample=4)
    assert (found.total, found.selected, found.measured) == (8, 8, 4)
    assert found.native_sizes == {(56, 40): 4} and found.fitted_size == (48, 32)
    assert found.camera_px.median == pytest.approx(4.0, abs=0.5)
    assert found.abs_diff.min > 1 and found.blend_psnr.max < 100
    assert found.known_motion_px is None


def test_inspect_measures_triplets_spread_over_the_selection(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The measured triplets run from the first selected to the last, not the first few; the count
    selected is the selection's, not the split's."""
    make_clip(tmp_path, 10)  # 8 triplets
    source = open_source(f"frames:{tmp_path}", "test")
    read: list[int] = []
    reader = source.read

    def recording(indices):  # type: ignore[no-untyped-def]
        read.extend(indices)
        return reader(indices)

    monkeypatch.setattr(source, "read", recording)
    found = inspect_source(source, [7, 1, 2, 4, 6], None, Fit.resize, sample=3)
    assert read == [1, 4, 7]
    assert (found.total, found.selected, found.measured) == (8, 5, 3)


def test_blend_psnr_of_identical_frames_is_capped_at_100_db(tmp_path: Path) -> None:
    for k in range(3):  # a still scene: the blend is exact
        write_png(tmp_path / f"frame{k}.png", frame_array(0))
    found = inspect_source(open_source(f"frames:{tmp_path}", "test"), [0], None, Fit.resize)
    assert found.blend_psnr.max == 100.0 and found.abs_diff.max == 0.0


def test_blend_psnr_is_the_blend_reference_score_at_any_time() -> None:
    """At t = 0.2 the blend reference is 0.8·I0 + 0.2·I1, rounded to 8 bits as every prediction is: the
    score inspect reports is the one the reference row gets."""
    from vfibench.metrics.psnr import psnr
    from vfibench.metrics.suite import quantize_8bit
    from vfibench.data.triplet_source import load_triplets
    from vfibench.references import blend

    source = open_source("synthetic(count=4,size=32,t=0.2)", "test")
    found = inspect_source(source, list(range(4)), None, Fit.resize, sample=4)
    batch = load_triplets(source, list(range(4)), None, Fit.resize)
    assert float(batch.t[0]) == pytest.approx(0.2)
    scores = psnr(quantize_8bit(blend(batch)), batch.it).numpy()
    assert found.blend_psnr.min == pytest.approx(scores.min(), abs=1e-9)
    assert found.blend_psnr.max == pytest.approx(scores.max(), abs=1e-9)


def test_inspect_synthetic_reports_known_motion(runner: CliRunner) -> None:
    result = runner.invoke(app, ["inspect", "synthetic", "--count", "6", "--size", "32", "--sample", "6"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "6 in the split" in result.output and "32x32" in result.output
    assert "known largest motion" in result.output and "blend PSNR" in result.output


def test_inspect_cli_on_frames(runner: CliRunner, tmp_path: Path) -> None:
    make_clip(tmp_path, 7)
    result = runner.invoke(app, ["inspect", f"frames(stride=2):{tmp_path}", "--size", "16"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "3 in the split" in result.output and "56x40 (3)" in result.output and "16x16" in result.output
    shown = runner.invoke(app, ["inspect", f"frames:{tmp_path}"], env=WIDE).output
    cells = " ".join("".join(c for c in line if c not in "│┃") for line in shown.splitlines()).split()
    assert ("48x32 (native, cropped to a multiple of 16; `vfibench run` fits them to its preset's size, which "
            "--size shows)") in " ".join(cells)  # not what a sweep reads: smoke's 48x48 test frames, say


def test_inspect_bad_spec_exits_2_without_traceback(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["inspect", f"frames:{tmp_path / 'missing'}"], env=WIDE)
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Traceback" not in result.output


# ------------------------------------------------------------------------------------- validate


def test_validate_accepts_a_clean_dataset(runner: CliRunner, tmp_path: Path) -> None:
    root = make_vimeo(tmp_path)
    result = runner.invoke(app, ["validate", f"vimeo90k:{root}", "--split", "train"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "2 triplets, 6 frames read" in result.output and "every frame is readable" in result.output
    assert "frame sizes: 112x64 (2 triplets)" in " ".join(result.output.split())  # counted in triplets, not frames


def test_validate_notes_a_jump_in_the_frame_numbers(runner: CliRunner, tmp_path: Path) -> None:
    make_clip(tmp_path / "clip", 6)
    (tmp_path / "clip" / "frame5.png").rename(tmp_path / "clip" / "frame9.png")  # frames 5-8 are missing
    result = runner.invoke(app, ["validate", f"frames:{tmp_path / 'clip'}"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "the frame numbers jump from" in result.output and "frame4.png to frame9.png" in result.output
    clean = tmp_path / "clean"
    make_clip(clean, 6)
    assert "numbers jump" not in runner.invoke(app, ["validate", f"frames:{clean}"], env=WIDE).output
    inspected = runner.invoke(app, ["inspect", f"frames:{tmp_path / 'clip'}"], env=WIDE)
    assert inspected.exit_code == 0 and "jumps in 1 place, first from frame4.png to frame9.png" in inspected.output
    assert "numbering" not in runner.invoke(app, ["inspect", f"frames:{clean}"], env=WIDE).output


def test_inspect_and_validate_name_a_clip_too_short_for_a_triplet(runner: CliRunner, tmp_path: Path) -> None:
    make_clip(tmp_path / "long", 6)
    make_clip(tmp_path / "short", 2)
    validated = runner.invoke(app, ["validate", f"frames:{tmp_path}"], env=WIDE)
    assert validated.exit_code == 0, validated.output
    assert "4 triplets" in validated.output
    assert f"note: {tmp_path / 'short'} has too few frames for one triplet, so the set leaves it out" in \
        " ".join(validated.output.split())
    inspected = runner.invoke(app, ["inspect", f"frames:{tmp_path}"], env=WIDE)
    assert inspected.exit_code == 0 and f"1 folder too short for one triplet, first {tmp_path / 'short'}" in \
        inspected.output
    assert "too few frames" not in runner.invoke(app, ["validate", f"frames:{tmp_path / 'long'}"], env=WIDE).output


def test_validate_names_every_bad_file_and_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    make_clip(tmp_path, 6)
    (tmp_path / "frame2.png").write_bytes(b"garbage")
    write_png(tmp_path / "frame4.png", frame_array(4, 40, 64))
    report = validate_source(open_source(f"frames:{tmp_path}", "test"))
    bad = {Path(p.file).name for p in report.problems}
    assert bad == {"frame2.png", "frame4.png"} and report.frames_checked == 6
    result = runner.invoke(app, ["validate", f"frames:{tmp_path}"], env=WIDE)
    assert result.exit_code == 2
    assert "frame2.png" in result.output and "frame4.png" in result.output and "Traceback" not in result.output
    # each problem says what is wrong and what to do, without sending the reader to the command it is in
    garbage = next(p.message for p in report.problems if p.file.endswith("frame2.png"))
    assert garbage.startswith("not readable as an image (") and "re-export it as PNG" in garbage
    assert "data validate" not in garbage and str(tmp_path) not in garbage and "frame2" not in garbage, garbage


@pytest.mark.parametrize("odd", [(0,), (2,), (5,), (2, 3)])
def test_a_frame_of_another_size_is_one_problem_named_once_even_in_several_triplets(tmp_path: Path, odd) -> None:
    make_clip(tmp_path, 6)  # 4 triplets at stride 1: frame2 is in three of them, frame0 and frame5 in one
    for k in odd:  # two neighbours are most of the triplets they share, not of the clip
        write_png(tmp_path / f"frame{k}.png", frame_array(k, 40, 64))
    report = validate_source(open_source(f"frames:{tmp_path}", "test"))
    assert sorted(Path(p.file).name for p in report.problems) == [f"frame{k}.png" for k in odd], report.problems
    assert all(p.message.startswith("64x40 pixels, but the other frames of its triplet") for p in report.problems)


def test_a_clip_split_evenly_between_two_sizes_names_every_frame_of_mixed_triplets(tmp_path: Path) -> None:
    make_clip(tmp_path, 4)  # triplets (0, 1, 2) and (1, 2, 3); two frames of each size: none is the odd one
    for k in (2, 3):
        write_png(tmp_path / f"frame{k}.png", frame_array(k, 40, 64))
    report = validate_source(open_source(f"frames:{tmp_path}", "test"))
    assert sorted(Path(p.file).name for p in report.problems) == [f"frame{k}.png" for k in range(4)]
    assert all(p.mismatch for p in report.problems)


def test_validate_checks_every_video_frame(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mov", 6)
    report = validate_source(open_source(f"video:{video}", "test"))
    assert report.ok and report.frames_checked == 6 and report.sizes == {(56, 40): 4}


def test_a_video_with_fewer_frames_than_its_header_declares_is_noted_and_its_errors_say_so(runner: CliRunner, tmp_path: Path) -> None:
    import av

    whole = tmp_path / "whole.avi"
    with av.open(str(whole), "w") as container:  # AVI's header declares the frame count
        stream = container.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for k in range(12):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame_array(k, 48, 64), format="rgb24")))
        container.mux(stream.encode())
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])  # an interrupted copy
    assert runner.invoke(app, ["validate", f"video:{whole}"], env=WIDE).exit_code == 0
    source = open_source(f"video:{cut}", "test")
    assert len(source.notes) == 1 and source.notes[0].startswith(f"The video {cut} holds ")
    assert "but its header declares 12: either the file was cut short" in source.notes[0], source.notes
    result = runner.invoke(app, ["validate", f"video:{cut}"], env=WIDE)  # noted; its half-written last frame fails
    assert result.exit_code == 2 and result.output.count("declares") == 1 and "Decoding failed" in result.output
    assert "data validate" not in result.output  # the command the user already runs
    inspected = runner.invoke(app, ["inspect", f"video:{cut}"], env=WIDE)  # its last frame is cut in half
    assert inspected.exit_code == 2 and "Decoding failed" in inspected.output, inspected.output
    assert "header declares 12" in " ".join(inspected.output.split()), inspected.output
    # too short for a triplet at stride 5, which the whole 12 frames hold: the error says why it is short
    text = " ".join(runner.invoke(app, ["inspect", f"video(stride=5):{cut}"], env=WIDE).output.split())
    assert "a triplet needs 11" in text and "its header declares 12" in text, text


def test_an_avi_that_records_dropped_frames_passes_validation_with_a_note(runner: CliRunner, tmp_path: Path) -> None:
    from fractions import Fraction

    import av

    video = tmp_path / "captured.avi"
    with av.open(str(video), "w") as container:  # two frames dropped: AVI keeps their (empty) entries
        stream = container.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        stream.codec_context.time_base = Fraction(1, 25)
        for k, pts in enumerate([0, 1, 2, 3, 6, 7, 8, 9, 10, 11]):
            frame = av.VideoFrame.from_ndarray(frame_array(k, 48, 64), format="rgb24").reformat(format="yuvj420p")
            frame.pts, frame.time_base = pts, Fraction(1, 25)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    result = runner.invoke(app, ["validate", f"video:{video}"], env=WIDE)
    assert result.exit_code == 0 and "every frame is readable" in result.output, result.output
    assert "records dropped frames as empty entries" in " ".join(result.output.split())


def test_validate_notes_mixed_sizes(runner: CliRunner, tmp_path: Path) -> None:
    make_clip(tmp_path / "a", 3)
    make_clip(tmp_path / "b", 3, h=56)
    result = runner.invoke(app, ["validate", f"frames:{tmp_path}"], env=WIDE)
    assert result.exit_code == 0 and "several sizes" in result.output
    assert "a sweep fits them to its preset's size, and `data inspect|export --size S`" in result.output
    assert "not a triplet whose own frames differ" not in result.output
    write_png(tmp_path / "a" / "frame1.png", frame_array(1, h=40, w=48))  # now a triplet of mixed sizes too
    result = runner.invoke(app, ["validate", f"frames:{tmp_path}"], env=WIDE)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "(not a triplet whose own frames differ in size: the problems below name them)" in text


# --------------------------------------------------------------------------------------- export


def test_export_writes_png_folders_that_read_back_as_the_same_triplets(runner: CliRunner, tmp_path: Path) -> None:
    make_clip(tmp_path / "clip", 8)
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", f"frames:{tmp_path / 'clip'}", str(out), "--count", "3", "--seed", "4"],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert [p.name for p in folders] == ["00000", "00001", "00002"]
    assert all(sorted(f.name for f in p.iterdir()) == ["im1.png", "im2.png", "im3.png"] for p in folders)
    with open(out / "triplets.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["folder"] for r in rows] == ["00000", "00001", "00002"] and rows[0]["t"] == "0.5"
    original = open_dataset(f"frames:{tmp_path / 'clip'}", "test", count=3, seed=4)
    back = open_dataset(f"frames:{out}", "test")
    assert torch.equal(back.i0, original.i0) and torch.equal(back.it, original.it)  # 8-bit frames survive exactly
    assert blue_code(back.it) == [int(Path(r["it_source"]).stem.removeprefix("frame")) for r in rows]


def test_export_synthetic_and_refuse_a_non_empty_folder(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "synth"
    result = runner.invoke(app, ["export", "synthetic", str(out), "--count", "2", "--size", "32", "--split", "train"],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    assert len([p for p in out.iterdir() if p.is_dir()]) == 2
    again = runner.invoke(app, ["export", "synthetic", str(out), "--count", "2", "--size", "32"], env=WIDE)
    assert again.exit_code == 2 and "holds an earlier export" in again.output and "--overwrite" in again.output
    with pytest.raises(DataError, match="holds an earlier export"):
        export_triplets(open_source("synthetic", "test", count=1, size=32), [0], out, None, Fit.resize)
    # a folder of the user's own files is not offered --overwrite, which would refuse it too
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    other = runner.invoke(app, ["export", "synthetic", str(tmp_path / "mine"), "--count", "1", "--size", "32"],
                          env=WIDE)
    text = " ".join(other.output.split())
    assert other.exit_code == 2 and "holds files an export did not write (notes.txt)" in text, other.output
    assert "pass --overwrite" not in text


def test_synthetic_scenes_move_as_a_sweep_draws_them_unless_the_spec_says_otherwise(
        runner: CliRunner, tmp_path: Path) -> None:
    from vfibench.presets import DEFAULT_PRESET, get_preset

    scenes = get_preset(DEFAULT_PRESET)
    assert scenes.ambiguity > 0  # otherwise this test could not tell the two apart
    for spec, ambiguity in (("synthetic", scenes.ambiguity), ("synthetic(ambiguity=0)", 0.0)):
        out = tmp_path / spec
        result = runner.invoke(app, ["export", spec, str(out), "--count", "3", "--size", "32"], env=WIDE)
        assert result.exit_code == 0, result.output
        exported = open_dataset(f"frames:{out}", "test")
        drawn = open_dataset("synthetic", "test", count=3, size=32, max_motion=scenes.max_motion, ambiguity=ambiguity)
        assert torch.allclose(exported.it, drawn.it, atol=0.5 / 255)
    inspected = runner.invoke(app, ["inspect", "synthetic", "--count", "3", "--size", "32"], env=WIDE)
    assert f"ambiguity {scenes.ambiguity:g}" in inspected.output


def test_export_overwrite_replaces_the_earlier_export_entirely(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = runner.invoke(app, ["export", "synthetic", str(out), "--count", "5", "--size", "32"], env=WIDE)
    assert first.exit_code == 0, first.output
    make_clip(tmp_path / "five", 5)
    again = runner.invoke(app, ["export", f"frames:{tmp_path / 'five'}", str(out), "--overwrite"], env=WIDE)
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in out.iterdir()) == ["00000", "00001", "00002", "triplets.csv"]
    back = open_dataset(f"frames:{out}", "test")
    assert len(back) == 3 and back.i0.shape[-2:] == (32, 48)  # only the new export, at its own size


def test_an_export_that_fails_leaves_the_earlier_export_as_it_was(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert runner.invoke(app, ["export", "synthetic", str(out), "--count", "5", "--size", "32"]).exit_code == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    make_clip(tmp_path / "clip", 5)
    (tmp_path / "clip" / "frame3.png").write_bytes(b"not a png")  # read only after the first frames
    failed = runner.invoke(app, ["export", f"frames:{tmp_path / 'clip'}", str(out), "--overwrite"], env=WIDE)
    assert failed.exit_code == 2 and "frame3.png" in failed.output, failed.output
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip", "out"]  # no staging folder left


def test_a_six_digit_triplet_folder_is_an_exports_own() -> None:
    from vfibench.data.export import _FOLDER_NAME

    assert _FOLDER_NAME.fullmatch("00042") and _FOLDER_NAME.fullmatch("100000") and not _FOLDER_NAME.fullmatch("0042")


def test_export_overwrite_never_deletes_what_an_export_did_not_write(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert runner.invoke(app, ["export", "synthetic", str(out), "--count", "2", "--size", "32"]).exit_code == 0
    (out / "notes.txt").write_text("mine")
    (out / "00001" / "mask.png").write_bytes(b"mine too")
    result = runner.invoke(app, ["export", "synthetic", str(out), "--count", "1", "--size", "32", "--overwrite"],
                           env=WIDE)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "did not write (00001, notes.txt)" in " ".join(result.output.split())
    assert sorted(p.name for p in out.iterdir()) == ["00000", "00001", "notes.txt", "triplets.csv"]
    assert (out / "00001" / "mask.png").exists() and (out / "00000" / "im1.png").exists()
    (out / "notes.txt").unlink()
    (out / "00001" / "mask.png").unlink()
    own = runner.invoke(app, ["export", f"frames:{out}", str(out), "--overwrite"], env=WIDE)  # its own input
    assert own.exit_code == 2 and "overwrite its own input" in own.output
    assert (out / "00000" / "im1.png").exists() and (out / "triplets.csv").exists()


@pytest.mark.parametrize(("command", "spec_option", "flag"), [
    ("inspect", "stride=2", ["--stride", "3"]),
    ("inspect", "size=32", ["--size", "16"]),
    ("validate", "stride=2", ["--stride", "1"]),
    ("export", "fit=crop", ["--fit", "resize"]),
    ("export", "count=2", ["--count", "3"]),
])
def test_an_option_in_the_spec_and_on_the_command_line_must_agree(
    runner: CliRunner, tmp_path: Path, command: str, spec_option: str, flag: list[str]
) -> None:
    make_clip(tmp_path / "clip", 7)
    spec = f"frames({spec_option}):{tmp_path / 'clip'}"
    out = [str(tmp_path / "out")] if command == "export" else []
    result = runner.invoke(app, [command, spec, *out, *flag], env=WIDE)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    key, value = spec_option.split("=")
    assert f"{key}={value} in the dataset spec" in result.output
    assert f"--{key} {flag[1]} on the command line" in result.output
    same = runner.invoke(app, [command, spec, *out, flag[0], value], env=WIDE)  # the same value twice is fine
    assert same.exit_code == 0, same.output


# ------------------------------------------------------------------------------- standard sets


@pytest.fixture()
def middlebury(tmp_path: Path) -> Path:
    """Two Middlebury "other" sequences of different sizes, as the set has."""
    from tests.test_standard_sets import png

    root = tmp_path / "mb"
    for k, (seq, size) in enumerate((("Beanbags", (20, 16)), ("Walking", (24, 16)))):
        png(root / "other-data" / seq / "frame10.png", k, size)
        png(root / "other-gt-interp" / seq / "frame10i11.png", k + 10, size)
        png(root / "other-data" / seq / "frame11.png", k + 20, size)
    return root


def test_export_writes_a_standard_set_of_mixed_sizes_each_at_its_own(runner: CliRunner, middlebury: Path,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", f"middlebury:{middlebury}", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    from PIL import Image

    for folder, size in (("00000", (20, 16)), ("00001", (24, 16))):
        for name in ("im1.png", "im2.png", "im3.png"):
            with Image.open(out / folder / name) as image:
                assert image.size == size
    (middlebury / "other-data" / "Walking" / "frame11.png").write_bytes(b"not a png")
    failed = runner.invoke(app, ["export", f"middlebury:{middlebury}", str(tmp_path / "new")], env=WIDE)
    assert failed.exit_code == 2 and "frame11.png" in failed.output, failed.output
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".new-*"))  # nothing left behind


@pytest.mark.parametrize(("command", "option"), [("inspect", ["--size", "32"]), ("export", ["--fit", "crop"]),
                                                  ("inspect", ["--stride", "2"]), ("validate", ["--stride", "2"])])
def test_options_a_standard_set_does_not_take_are_refused_not_ignored(runner: CliRunner, middlebury: Path,
                                                                       tmp_path: Path, command: str,
                                                                       option: list[str]) -> None:
    target = [str(tmp_path / "out")] if command == "export" else []
    result = runner.invoke(app, [command, f"middlebury:{middlebury}", *target, *option], env=WIDE)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and f"{option[0]} does not apply to middlebury" in text, text
    assert not (tmp_path / "out").exists()


def test_inspect_names_the_variant_and_how_its_frames_are_loaded(runner: CliRunner, middlebury: Path) -> None:
    result = runner.invoke(app, ["inspect", f"middlebury:{middlebury}"], env=WIDE)
    text = " ".join(result.output.split())
    assert result.exit_code == 0 and "20x16 (1), 24x16 (1)" in text and "as measured above (native" in text, text


def test_validate_reads_only_the_count_triplets_a_run_would_take(runner: CliRunner, tmp_path: Path) -> None:
    make_clip(tmp_path, 10)
    source = open_source(f"frames:{tmp_path}", "test")
    report = validate_source(source, indices=[0])
    assert report.triplets == 1 and report.frames_checked == 3
    result = runner.invoke(app, ["validate", f"frames:{tmp_path}", "--count", "2", "--seed", "3"], env=WIDE)
    text = " ".join(result.output.split())
    assert result.exit_code == 0 and "2 triplets (a seeded subset of 8, --seed 3)" in text, text


def test_an_export_too_large_for_the_disk_is_refused_before_any_work(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "out"
    result = runner.invoke(app, ["export", "synthetic", str(out), "--count", str(10**12)], env=WIDE)
    assert result.exit_code == 2, result.output
    assert "of disk" in result.output and "free" in result.output and "--count" in result.output
    assert "Traceback" not in result.output and list(tmp_path.iterdir()) == []


def test_too_many_synthetic_scenes_for_memory_are_refused() -> None:
    from vfibench.data.synthetic_source import SCENE_BYTES, check_scene_count

    check_scene_count(1000, memory=1000 * SCENE_BYTES)
    with pytest.raises(DataError, match="at most about 1,000 fit"):
        check_scene_count(1001, memory=1000 * SCENE_BYTES)


def test_drawing_synthetic_scenes_reports_progress() -> None:
    reports: list[tuple[int, int]] = []
    open_source("synthetic", "test", count=2050, size=32, progress=lambda done, total: reports.append((done, total)))
    assert reports == [(1024, 2050), (2048, 2050), (2050, 2050)]


@pytest.mark.parametrize("earlier", [False, True])
def test_export_lists_the_destination_folder_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  earlier: bool) -> None:
    make_clip(tmp_path / "clip", 6)
    source = open_source(f"frames:{tmp_path / 'clip'}", "test")
    out = tmp_path / "out"
    out.mkdir()
    if earlier:
        export_triplets(source, [0], out, None, Fit.resize)
    listed: list[Path] = []
    iterdir = Path.iterdir

    def counting(self: Path):  # type: ignore[no-untyped-def]
        if self == out:
            listed.append(self)
        return iterdir(self)

    monkeypatch.setattr(Path, "iterdir", counting)
    export_triplets(source, [1, 2], out, None, Fit.resize, overwrite=True)
    assert len(listed) == 1


def test_an_export_of_real_frames_too_large_for_the_disk_is_refused_before_a_frame_is_written(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    make_clip(tmp_path / "clip", 6)
    usage = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(path)._replace(free=1000))
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", f"frames:{tmp_path / 'clip'}", str(out)], env=WIDE)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "would take at least" in text and "free" in text, result.output
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["clip"]


def test_overwrite_never_takes_a_folder_of_frames_for_a_triplet_of_an_earlier_export(runner: CliRunner,
                                                                                      tmp_path: Path) -> None:
    """Only numbered folders are an export's own: a folder of the user's named like anything else is kept."""
    out = tmp_path / "out"
    assert runner.invoke(app, ["export", "synthetic", str(out), "--count", "1", "--size", "32"]).exit_code == 0
    (out / "best").mkdir()
    (out / "best" / "im1.png").write_bytes((out / "00000" / "im1.png").read_bytes())
    result = runner.invoke(app, ["export", "synthetic", str(out), "--count", "1", "--size", "32", "--overwrite"],
                           env=WIDE)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "holds files an export did not write (best)" in text, result.output
    assert (out / "best" / "im1.png").is_file()


def test_export_and_inspect_take_their_documented_default_counts(runner: CliRunner, tmp_path: Path) -> None:
    """`data export` writes 16 triplets unless --count says otherwise; synthetic data holds 64 scenes."""
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", "synthetic", str(out), "--size", "32"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert len([p for p in out.iterdir() if p.is_dir()]) == 16
    inspected = runner.invoke(app, ["inspect", "synthetic", "--size", "32", "--sample", "1"], env=WIDE)
    assert inspected.exit_code == 0 and "64 in the split" in inspected.output, inspected.output
