"""`vfibench eval`: scoring frames on disk, matching by relative path, errors naming the file, and the
published TID2013 values reproduced through the whole command."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from vfibench import backbones
from vfibench.cli import app
from vfibench.errors import VfiBenchError
from vfibench.eval_plan import list_frames, parse_predictions
from helpers import CALIBRATION as CALIBRATION_ROOT
from helpers import missing_backbones, needs_backbone, needs_calibration

CALIBRATION = CALIBRATION_ROOT / "tid2013"
PUBLISHED = {  # calibration README: original implementations on I03, I04, I06, I08, I19
    "psnr": (21.1136, 20.9872, 27.0139, 23.3003, 21.6187),
    "lpips": (0.7237, 0.2572, 0.0508, 0.0521, 0.4253),
    "dists": (0.4742, 0.1424, 0.0683, 0.0287, 0.3123),
}
FAST = "psnr,ssim,sharpness,gmsd"
runner = CliRunner()


def write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    """gt/ with two frames (one in a subfolder), and two models' predictions of them."""
    rng = np.random.default_rng(0)
    gt, sharp, noisy = tmp_path / "gt", tmp_path / "sharp", tmp_path / "noisy"
    for name in ("a.png", "seq/b.png"):
        truth = rng.integers(0, 256, size=(40, 48, 3))
        write_png(gt / name, truth)
        write_png(sharp / name, np.clip(truth + rng.integers(-2, 3, size=truth.shape), 0, 255))
        write_png(noisy / name, np.clip(truth + rng.integers(-40, 41, size=truth.shape), 0, 255))
    return {"gt": gt, "sharp": sharp, "noisy": noisy, "out": tmp_path / "results"}


def run_eval(*args: str) -> object:
    return runner.invoke(app, ["eval", *args])


def test_two_models_side_by_side_with_a_file_column(folders):
    result = run_eval("--pred", f"good={folders['sharp']}", "--pred", f"bad={folders['noisy']}", "--gt",
                      str(folders["gt"]), "--out", str(folders["out"]), "--metrics", FAST, "--format", "csv",
                      "--samples", "1")
    assert result.exit_code == 0, result.output
    run = (folders["out"] / "latest").resolve()
    per_sample = pd.read_csv(run / "per_sample.csv")
    assert list(per_sample.columns[:5]) == ["config", "kind", "seed", "sample", "file"]
    assert sorted(per_sample["file"].unique()) == ["a.png", "seq/b.png"]
    means = per_sample.groupby("config")["psnr"].mean()
    assert means["good"] > means["bad"] + 10
    summary = pd.read_csv(run / "summary.csv")
    assert list(summary["config"]) == ["good", "bad"]
    assert (run / "summary.md").is_file() and (run / "manifest.json").is_file()
    assert (run / "report" / "report.html").is_file() and len(list((run / "report").glob("grid_sample*.png"))) == 1
    assert result.stdout.startswith("config,kind,status")  # --format csv prints only the CSV


def test_an_evaluation_report_speaks_of_models_not_trained_configurations_or_seeds(folders):
    result = run_eval("--pred", f"good={folders['sharp']}", "--pred", f"bad={folders['noisy']}", "--gt",
                      str(folders["gt"]), "--out", str(folders["out"]), "--metrics", FAST, "--samples", "1")
    assert result.exit_code == 0, result.output
    assert any(line.split()[:2] == ["model", "PSNR"] for line in result.stdout.splitlines())  # the name column
    page = ((folders["out"] / "latest").resolve() / "report" / "report.md").read_text()
    for words in ("configuration", "references", "seed-averaged", "over 0 tests"):
        assert not re.search(rf"\b{words}", page), words  # "preferences" is a word of the grids' explanation
    assert "| model | status |" in page and "Models from best to worst" in page
    # the grid's caption: a plain folder of frames has no inputs to show, and its rows are models
    caption = " ".join(page.split("![grid_sample", 1)[1].split("\n\n", 2)[1].split())
    assert "its zoomed crop (cyan box) (the inputs I0 and I1 are not available); then per model" in caption, caption


def test_a_single_folder_is_named_after_itself():
    assert parse_predictions(["/data/out/rife"]) == {"rife": Path("/data/out/rife")}
    assert parse_predictions(["film=/x/y"]) == {"film": Path("/x/y")}
    with pytest.raises(VfiBenchError, match="both called 'rife'"):
        parse_predictions(["/a/rife", "/b/rife"])
    with pytest.raises(VfiBenchError, match="no model name before '='. Use --pred NAME=/x/y to name the model"):
        parse_predictions(["=/x/y"])


def test_a_prediction_folder_whose_name_holds_an_equals_sign_is_read_as_that_folder(tmp_path, monkeypatch):
    """``--pred m=x`` scored the folder 'x' under the name 'm' although the folder 'm=x' was meant."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m=x").mkdir()
    assert parse_predictions(["m=x"]) == {"m=x": Path("m=x")}
    (tmp_path / "x").mkdir()
    with pytest.raises(VfiBenchError, match=r"reads two ways: .* Write --pred ./m=x for the first, or --pred m=./x"):
        parse_predictions(["m=x"])
    assert parse_predictions(["./m=x"]) == {"m=x": Path("m=x")} and parse_predictions(["m=./x"]) == {"m": Path("x")}
    assert parse_predictions(["film=x"]) == {"film": Path("x")}
    (tmp_path / "y").mkdir()
    (tmp_path / "n=y").touch()  # a file, not a folder of frames: NAME=DIR alone
    assert parse_predictions(["n=y"]) == {"n": Path("y")}


def test_missing_predicted_frame_names_the_file(folders):
    (folders["sharp"] / "seq" / "b.png").unlink()
    result = run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                      "--metrics", FAST)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "has no prediction for 1 of the 2 ground-truth frames" in text and "seq/b.png" in text
    assert "Write a prediction for every ground-truth frame" in text and "Traceback" not in text
    assert not (folders["out"] / "latest").exists()
    write_png(folders["sharp"] / "seq" / "b.jpg", np.zeros((16, 16, 3)))  # the same frame, as JPEG
    result = run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                      "--metrics", FAST)
    assert result.exit_code == 2
    assert "under another extension (e.g. 'seq/b.jpg')" in " ".join(result.output.split())
    (folders["sharp"] / "seq" / "b.jpg").rename(folders["sharp"] / "seq" / "b.PNG")  # the extension in capitals
    result = run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                      "--metrics", FAST)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "with the extension in other letters (e.g. 'seq/b.PNG'), which matching tells apart" in text, text


def test_differently_sized_prediction_names_the_file_and_both_sizes(folders):
    write_png(folders["noisy"] / "a.png", np.zeros((20, 24, 3)))
    result = run_eval("--pred", str(folders["noisy"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                      "--metrics", FAST)
    assert result.exit_code == 2
    assert "a.png" in result.output and "24×20" in result.output and "48×40" in result.output


def test_unreadable_frame_names_the_file_and_leaves_no_run_behind(folders):
    (folders["sharp"] / "a.png").write_bytes(b"not a png at all")
    result = run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                      "--metrics", FAST)
    assert result.exit_code == 2
    assert "a.png" in result.output and "Cannot read" in result.output
    # nothing was scored, and an evaluation cannot be resumed: no directory is left saying "running",
    # nor the --out folders it made for it
    assert not folders["out"].exists()
    assert run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out",
                    str(folders["out"] / "deeper"), "--metrics", FAST).exit_code == 2
    assert not folders["out"].exists()
    folders["out"].mkdir()  # one that was there before stays
    assert run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                    "--metrics", FAST).exit_code == 2
    assert folders["out"].is_dir() and list(folders["out"].iterdir()) == []


def test_a_greyscale_prediction_of_a_colour_frame_is_refused_and_a_greyscale_set_is_scored(folders, tmp_path):
    truth = np.asarray(Image.open(folders["gt"] / "a.png").convert("L"))
    Image.fromarray(truth, "L").save(folders["sharp"] / "a.png")  # the model wrote one frame in grey
    result = run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                      "--metrics", FAST)
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert f"The predicted frame '{folders['sharp'] / 'a.png'}' is greyscale" in text and "is in colour" in text
    assert not folders["out"].exists() or list(folders["out"].iterdir()) == []
    # a grey ground truth with a grey prediction is an ordinary greyscale test set
    (tmp_path / "g").mkdir()
    (tmp_path / "p").mkdir()
    Image.fromarray(truth, "L").save(tmp_path / "g" / "a.png")
    Image.fromarray(np.clip(truth.astype(int) + 3, 0, 255).astype(np.uint8), "L").save(tmp_path / "p" / "a.png")
    scored = run_eval("--pred", str(tmp_path / "p"), "--gt", str(tmp_path / "g"), "--out", str(tmp_path / "o"),
                      "--metrics", "psnr", "--samples", "0")
    assert scored.exit_code == 0, scored.output


@pytest.mark.parametrize("level", [0, 128, 255])
def test_a_flat_prediction_of_a_colour_frame_is_scored_not_taken_for_a_greyscale_save(folders, level):
    """A model that outputs one level everywhere (black on a fade, a failure) has R = G = B, but the frame
    is its output, not a greyscale save of it."""
    truth = np.asarray(Image.open(folders["gt"] / "a.png"), dtype=np.float64)
    Image.fromarray(np.full(truth.shape, level, dtype=np.uint8)).save(folders["sharp"] / "a.png")
    result = run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                      "--metrics", "psnr", "--samples", "0", "--format", "csv")
    assert result.exit_code == 0, result.output
    per_sample = pd.read_csv((folders["out"] / "latest").resolve() / "per_sample.csv").set_index("file")
    expected = 10 * np.log10(1 / np.mean((truth / 255 - level / 255) ** 2))
    assert per_sample.loc["a.png", "psnr"] == pytest.approx(expected, rel=1e-9)  # per_sample.csv: 10 digits


def test_a_size_mismatch_from_an_exif_orientation_says_so(tmp_path):
    """A camera JPEG stored 64×48 with orientation 6 (turn 90°): cv2.imread turns it upright (48×64), so a
    prediction made from that reading is 48×64 while vfibench reads the truth as stored."""
    stored = np.random.default_rng(2).integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "gt" / "a.jpg", exif=exif, quality=95)
    Image.fromarray(np.ascontiguousarray(np.rot90(stored, -1))).save(tmp_path / "pred" / "a.jpg", quality=95)
    result = run_eval("--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--metrics", "psnr",
                      "--out", str(tmp_path / "out"))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "is 48×64 pixels but its ground truth" in text, result.output
    assert "The ground truth carries EXIF orientation 6 (turned by 90°), which vfibench ignores" in text
    assert "The prediction carries" not in text and "no crop or resize" not in text
    exif[0x0112] = 3  # 180°: the sides stay
    image.save(tmp_path / "gt" / "a.jpg", exif=exif, quality=95)
    Image.fromarray(stored[:40]).save(tmp_path / "pred" / "a.jpg", quality=95)  # a crop, whatever the tag
    cropped = run_eval("--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--metrics", "psnr",
                       "--out", str(tmp_path / "out"))
    text = " ".join(cropped.output.split())
    assert cropped.exit_code == 2 and "(no crop or resize)" in text and "EXIF" not in text, cropped.output


def test_a_16_bit_frame_is_read_at_its_own_scale(tmp_path):
    grey = np.random.default_rng(3).integers(0, 256, size=(32, 40), dtype=np.uint8)
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    Image.fromarray(grey, "L").save(tmp_path / "gt" / "a.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "pred" / "a.png")  # the same frame in 16 bits
    assert Image.open(tmp_path / "pred" / "a.png").mode.startswith("I")
    args = ["--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--metrics", "psnr", "--samples", "0",
            "--format", "csv"]
    result = run_eval(*args, "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert pd.read_csv((tmp_path / "out" / "latest").resolve() / "per_sample.csv")["psnr"].tolist() == [100.0]
    # floating-point pixels (a TIFF under a .png name) have no stated range: refused, not clipped to black
    Image.fromarray(grey.astype(np.float32) / 255).save(tmp_path / "pred" / "a.png", format="TIFF")
    refused = run_eval(*args, "--out", str(tmp_path / "out2"))
    assert refused.exit_code == 2 and "a.png" in refused.output and "floating-point" in refused.output, refused.output


def test_a_16_bit_colour_frame_is_rounded_to_its_nearest_level_not_truncated(tmp_path):
    import cv2

    from vfibench.data.images import read_image

    levels = np.random.default_rng(4).integers(0, 100, size=(32, 40, 3))
    wide = np.round((levels + 0.6) * 257).astype(np.uint16)  # 0.6 of a level above each: rounds up, truncates down
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    Image.fromarray((levels + 1).astype(np.uint8)).save(tmp_path / "gt" / "a.png")
    cv2.imwrite(str(tmp_path / "pred" / "a.png"), wide[:, :, ::-1])  # OpenCV writes BGR
    np.testing.assert_allclose(read_image(tmp_path / "pred" / "a.png"), wide / 65535.0, rtol=0, atol=1e-7)
    result = run_eval("--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--metrics", "psnr,ie",
                      "--samples", "0", "--format", "csv", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    scores = pd.read_csv((tmp_path / "out" / "latest").resolve() / "per_sample.csv")
    assert scores["psnr"].tolist() == [100.0] and scores["ie"].tolist() == [0.0]
    # scoring 16-bit frames as 8-bit levels is said, on stderr beside the plan; 8-bit frames say nothing
    said = " ".join(result.stderr.split())
    assert "The frames of model 'pred' ('a.png') have more than 8 bits per channel" in said, result.stderr
    assert "differences below one 8-bit level are not measured" in said and "ground truth" not in said
    quiet = run_eval("--pred", str(tmp_path / "gt"), "--gt", str(tmp_path / "gt"), "--metrics", "psnr",
                     "--samples", "0", "--format", "csv", "--out", str(tmp_path / "out8"))
    assert quiet.exit_code == 0 and "8 bits" not in quiet.stderr, quiet.output


def _write_16_bit_png(path, values: np.ndarray, colour_type: int) -> None:
    """A 16-bit PNG written byte by byte (Pillow writes no 16-bit grey-with-alpha): colour type 4 is grey
    with alpha, 2 is RGB."""
    import struct
    import zlib

    height, width = values.shape[:2]
    rows = b"".join(b"\0" + values[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))


@pytest.mark.parametrize("kind", ["grey-alpha-png", "rgb-tiff"])
def test_every_16_bit_file_is_rounded_to_its_nearest_level_not_truncated(tmp_path, kind):
    """Pillow opens 16-bit grey-with-alpha PNGs and 16-bit colour TIFFs as 8-bit RGBA/RGB by keeping the
    high byte; both must be read at 16 bits and rounded, as 16-bit grey and colour PNGs are."""
    import cv2

    from vfibench.data.images import read_image
    from vfibench.evaluate import read_frame

    wide = np.random.default_rng(5).integers(0, 65536, size=(16, 24)).astype(np.uint16)
    nearest = np.round(wide / 257).astype(np.uint8)
    assert (nearest != wide >> 8).mean() > 0.1  # the truncation differs from rounding on these values
    if kind == "grey-alpha-png":
        path = tmp_path / "a.png"
        _write_16_bit_png(path, np.dstack([wide, np.full_like(wide, 65535)]), colour_type=4)
    else:
        path = tmp_path / "a.tif"
        cv2.imwrite(str(path), np.dstack([wide] * 3))
    assert Image.open(path).mode in ("RGB", "RGBA")  # the case Pillow truncates
    np.testing.assert_allclose(read_image(path), np.dstack([wide] * 3) / 65535.0, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(read_frame(path), np.dstack([nearest] * 3))


@pytest.mark.parametrize(("file_format", "mode", "raw", "wide"), [
    ("TIFF", "RGB", "RGBX;16L", True), ("TIFF", "RGBA", "RGBa;16B", True), ("TIFF", "RGB", "RGB;16N", True),
    ("PNG", "RGBA", "LA;16B", True), ("PNG", "RGB", "RGB;16B", True), ("BMP", "RGB", "BGR;16", False),
    ("PNG", "RGB", "RGB", False), ("TIFF", "I;16", "I;16N", False),  # 8-bit; 16-bit grey reads itself
])
def test_which_files_are_read_at_16_bits_per_channel(file_format, mode, raw, wide):
    from types import SimpleNamespace

    from vfibench.data.images import is_wide_colour

    # a tile is (codec, extents, offset, args): a plain tuple before Pillow 11, a named one since
    image = SimpleNamespace(format=file_format, mode=mode, tile=[("raw", (0, 0, 16, 16), 0, (raw, False, 0))])
    assert bool(is_wide_colour(image)) is wide


def test_a_16_bit_per_pixel_bmp_is_read_as_pillow_reads_it(tmp_path):
    """A 5-6-5 BMP's raw mode is BGR;16 (16 bits per pixel, not per channel): Pillow reads it; it is no
    16-bit-per-channel file for OpenCV."""
    import struct

    from vfibench.data.images import read_image

    width, height = 4, 2
    pixels = [0xF800, 0x07E0, 0x001F, 0xFFFF] * height  # red, green, blue, white
    rows = struct.pack(f"<{len(pixels)}H", *pixels)
    masks = struct.pack("<III", 0xF800, 0x07E0, 0x001F)
    header = struct.pack("<IiiHHIIiiII", 40, width, -height, 1, 16, 3, len(rows), 2835, 2835, 0, 0)
    offset = 14 + len(header) + len(masks)
    path = tmp_path / "a.bmp"
    path.write_bytes(b"BM" + struct.pack("<IHHI", offset + len(rows), 0, 0, offset) + header + masks + rows)
    expected = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    assert Image.open(path).tile[0][3][0] == "BGR;16"  # the tile's args: its raw mode first
    np.testing.assert_array_equal(read_image(path), expected)
    assert read_image(path)[0, 0].tolist() == [1.0, 0.0, 0.0]


def test_middleburys_published_interpolation_error_is_scored_by_the_ie_metric(tmp_path):
    root, rng = tmp_path / "mb", np.random.default_rng(6)
    expected = []
    for seq in ("Beanbags", "Walking"):
        for folder, name in (("other-data", "frame10.png"), ("other-data", "frame11.png")):
            (root / folder / seq).mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(root / folder / seq / name)
        truth = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        pred = np.clip(truth + rng.integers(-9, 10, truth.shape), 0, 255).astype(np.uint8)
        (root / "other-gt-interp" / seq).mkdir(parents=True)
        Image.fromarray(truth).save(root / "other-gt-interp" / seq / "frame10i11.png")
        (tmp_path / "pred").mkdir(exist_ok=True)
        Image.fromarray(pred).save(tmp_path / "pred" / f"{seq}.png")
        expected.append(np.abs(pred.astype(np.float64) - truth).mean())  # RIFE MiddleBury_Other.py, per sequence
    result = run_eval("--pred", str(tmp_path / "pred"), "--gt", f"middlebury:{root}", "--metrics", "ie",
                      "--samples", "0", "--format", "csv", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    scores = pd.read_csv((tmp_path / "out" / "latest").resolve() / "per_sample.csv")
    np.testing.assert_allclose(scores.sort_values("sample")["ie"], expected, rtol=0, atol=1e-8)  # CSV: 10 digits
    refused = run_eval("--pred", str(tmp_path / "pred"), "--gt", f"middlebury:{root}", "--metrics", "psnr",
                       "--protocols", "ema-vfi", "--out", str(tmp_path / "out2"))
    assert refused.exit_code == 2 and "--metrics ie" in refused.output, refused.output


def test_an_xiph_folder_without_the_published_clips_is_noted_before_scoring(tmp_path):
    from vfibench.eval_plan import plan_evaluation

    (tmp_path / "xiph").mkdir()
    (tmp_path / "pred").mkdir()
    for k in range(1, 100):  # planning lists files; it reads no pixels
        (tmp_path / "xiph" / f"Tango-{k:03d}.png").write_bytes(b"")
    for k in range(2, 99, 2):
        (tmp_path / "pred" / f"Tango-{k:03d}.png").write_bytes(b"")
    plan = plan_evaluation([str(tmp_path / "pred")], f"xiph(res=4k):{tmp_path / 'xiph'}", out=tmp_path / "out",
                           metrics=["psnr"])
    assert len(plan.files) == 49
    assert any("lacks BoxingPractice" in note and "not comparable with published Xiph tables" in note
               for note in plan.notes), plan.notes


def test_an_evaluation_that_fails_writing_its_tables_says_so_in_its_manifest(folders, monkeypatch):
    from vfibench import evaluate

    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(evaluate, "write_summary_files", refuse)
    result = run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                      "--metrics", "psnr")
    assert result.exit_code != 0 and "Traceback" not in result.output
    (run,) = [p for p in folders["out"].iterdir() if p.is_dir()]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "No space left" in manifest["reason"]
    assert (run / "per_sample.csv").is_file() and not (folders["out"] / "latest").exists()


#: Runs `vfibench eval ARGS` in a process that sends itself SIGTERM at WHERE: as its first manifest is
#: made, while scoring, while writing its tables, or its report. A process without a handler dies there,
#: with no message and its run left "running".
_SIGTERM_AT = """
import os, signal, sys, time
from vfibench import cli_eval, evaluate
def stop_here(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(60)
    raise AssertionError("SIGTERM was not acted on")
def signalled(real):
    def call(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)
    return call
where = sys.argv[1]
if where == "manifest":
    evaluate.manifest_for = stop_here
elif where == "scoring":
    evaluate.score_frames = stop_here
elif where == "tables":
    evaluate.write_summary_files = signalled(evaluate.write_summary_files)
else:
    cli_eval.build_report_showing_progress = stop_here
from vfibench.cli import main
sys.argv = ["vfibench", "eval", *sys.argv[2:]]
main()
"""


@pytest.mark.parametrize("where", ["manifest", "scoring", "tables", "report"])
def test_an_evaluation_stopped_by_sigterm_says_what_is_kept_and_exits_143(folders, where):
    import os
    import subprocess
    import sys

    args = ["--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
            "--metrics", "psnr"]
    done = subprocess.run([sys.executable, "-c", _SIGTERM_AT, where, *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "400"})
    message = " ".join(done.stderr.split())
    assert done.returncode == 143, done.stderr
    assert "Traceback" not in done.stderr and "stopped by SIGTERM" in message
    if where in ("manifest", "scoring"):  # nothing is kept, nor a run saying "running"; the command is given
        assert "has no results" in message and f"vfibench eval --pred {folders['sharp']}" in message
        assert not folders["out"].exists()
    else:  # a stop while the tables are written waits for them: the run is kept, complete, and reported
        (run,) = [p for p in folders["out"].iterdir() if p.is_dir() and not p.is_symlink()]
        assert json.loads((run / "manifest.json").read_text())["status"] == "complete"
        assert (folders["out"] / "latest").resolve() == run.resolve()
        assert f"vfibench report {run.name} --out {folders['out']} --samples 3" in message


def test_an_evaluation_killed_before_it_finished_is_named_as_such_not_as_a_missing_summary(folders):
    """A SIGKILL leaves the manifest saying "running" and no tables: report, load_run and run --resume say
    what the folder is and what to do, instead of asking for a run directory or calling every run complete."""
    from vfibench import api

    args = ["--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
            "--metrics", "psnr"]
    assert run_eval(*args).exit_code == 0
    (run,) = [p for p in folders["out"].iterdir() if p.is_dir() and not p.is_symlink()]
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    for name in ("summary.csv", "summary.md", "summary.tex", "per_sample.csv"):
        (run / name).unlink(missing_ok=True)
    (folders["out"] / "latest").unlink()
    report = runner.invoke(app, ["report", str(run)])
    message = " ".join(report.output.split())
    assert report.exit_code == 2 and "is an evaluation that did not finish" in message
    assert "says 'running'" in message and f"run the evaluation again: {manifest['command']}" in message
    with pytest.raises(VfiBenchError, match="did not finish"):
        api.load_run(run)
    for command in (["run", "--resume", "--out", str(folders["out"])], ["report", "--out", str(folders["out"])]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        assert f"'{run.name}' there is an evaluation that did not finish" in " ".join(result.output.split())


def test_empty_or_absent_folders_are_clear_errors(tmp_path, folders):
    (tmp_path / "empty").mkdir()
    with pytest.raises(VfiBenchError, match="holds no PNG or JPEG"):
        list_frames(tmp_path / "empty", "ground-truth")
    result = run_eval("--pred", str(tmp_path / "nope"), "--gt", str(folders["gt"]), "--out", str(folders["out"]))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_a_subfolder_that_cannot_be_listed_is_an_error_not_fewer_frames(tmp_path, monkeypatch):
    import os

    for name in ("a.png", "sub/b.png"):
        write_png(tmp_path / "gt" / name, np.full((16, 16, 3), 7))
    (tmp_path / "gt" / "sub" / "up").symlink_to(tmp_path / "gt", target_is_directory=True)  # a loop, not followed
    assert list_frames(tmp_path / "gt", "ground-truth") == ["a.png", "sub/b.png"]
    scandir = os.scandir

    def refusing(path):  # what a folder without read permission does (tests may run as root, which reads it anyway)
        if Path(path).name == "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    with pytest.raises(VfiBenchError, match=r"ground-truth folder .* cannot be read entirely: listing '.*sub' failed "
                                            r"\(Permission denied\)"):
        list_frames(tmp_path / "gt", "ground-truth")


def test_linked_folders_are_read_hidden_files_left_out_and_a_link_to_nothing_named(tmp_path):
    """A clip linked in from elsewhere was silently not scored; macOS's ._ copies and __MACOSX/ were taken
    for frames (and blamed on the prediction); a link to a deleted frame was silently dropped."""
    for name in ("gt/a.png", "store/clip/b.png", "gt/__MACOSX/c.png", "gt/.cache/d.png"):
        write_png(tmp_path / name, np.full((16, 16, 3), 7))
    (tmp_path / "gt" / "._a.png").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    (tmp_path / "gt" / "clip").symlink_to(tmp_path / "store" / "clip", target_is_directory=True)
    (tmp_path / "gt" / "clip2").symlink_to(tmp_path / "store" / "clip", target_is_directory=True)  # the same, twice
    (tmp_path / "store" / "clip" / "up").symlink_to(tmp_path / "gt", target_is_directory=True)  # a loop, not followed
    assert list_frames(tmp_path / "gt", "ground-truth") == ["a.png", "clip/b.png", "clip2/b.png"]
    (tmp_path / "gt" / "e.png").symlink_to(tmp_path / "deleted.png")
    with pytest.raises(VfiBenchError, match=r"ground-truth frame '.*e\.png' is a link to '.*deleted\.png', which "
                                            r"does not exist\. Point the link at the frame, or delete it\."):
        list_frames(tmp_path / "gt", "ground-truth")


def test_missing_backbone_with_skip_unavailable_marks_the_column(folders, monkeypatch):
    def missing(name: str) -> backbones.BackboneStatus:
        return backbones.BackboneStatus(name=name, found=False, source=None, path=None, sha256=None, searched=(),
                                        used_by=backbones.used_by(name), fix=backbones.fix_command(name))

    monkeypatch.setattr(backbones, "locate", missing)
    args = ["--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
            "--metrics", "psnr,lpips", "--samples", "0"]
    refused = run_eval(*args)
    assert refused.exit_code == 2 and "vfibench weights fetch alexnet" in refused.output
    result = run_eval(*args, "--skip-unavailable", "--format", "md")
    assert result.exit_code == 0, result.output
    run = (folders["out"] / "latest").resolve()
    assert pd.read_csv(run / "per_sample.csv")["lpips"].isna().all()
    assert "| unavailable |" in (run / "summary.md").read_text()
    assert "LPIPS unavailable" in result.stdout
    assert "unavailable" in (run / "report" / "report.html").read_text()


@needs_calibration
@needs_backbone("alexnet")
def test_eval_reproduces_published_psnr_and_lpips_on_the_calibration_folder(tmp_path):
    result = run_eval("--pred", str(CALIBRATION / "dist"), "--gt", str(CALIBRATION / "ref"), "--out", str(tmp_path),
                      "--metrics", "psnr,lpips", "--samples", "0", "--device", "cpu", "--format", "json")
    assert result.exit_code == 0, result.output
    per_sample = pd.read_csv((tmp_path / "latest").resolve() / "per_sample.csv")
    assert list(per_sample["file"]) == ["I03.png", "I04.png", "I06.png", "I08.png", "I19.png"]
    assert np.allclose(per_sample["psnr"], PUBLISHED["psnr"], atol=1e-4, rtol=0)  # published to 4 decimals
    assert np.allclose(per_sample["lpips"], PUBLISHED["lpips"], atol=1e-4, rtol=0)


@needs_calibration
@needs_backbone("vgg16")
def test_eval_reproduces_published_dists(tmp_path):
    # DISTS at 512×384 costs seconds per pair on a CPU: two pairs (linked, not copied) show the
    # values pass through the command unchanged; all five are checked in test_metrics_calibration.
    chosen = {"I06.png": 2, "I08.png": 3}
    for kind in ("dist", "ref"):
        (tmp_path / kind).mkdir()
        for name in chosen:
            (tmp_path / kind / name).symlink_to(CALIBRATION / kind / name)
    result = run_eval("--pred", str(tmp_path / "dist"), "--gt", str(tmp_path / "ref"), "--out", str(tmp_path / "out"),
                      "--metrics", "psnr,dists", "--samples", "0", "--device", "cpu", "--format", "csv")
    assert result.exit_code == 0, result.output
    per_sample = pd.read_csv((tmp_path / "out" / "latest").resolve() / "per_sample.csv")
    expected = [PUBLISHED["dists"][i] for i in chosen.values()]
    assert list(per_sample["file"]) == list(chosen)
    assert np.allclose(per_sample["dists"], expected, atol=1e-4, rtol=0)


@needs_backbone("vgg16")
def test_a_model_that_predicts_the_ground_truth_exactly_gets_dists_0_and_a_readable_run(tmp_path):
    # float32 rounding leaves DISTS of identical frames a few 1e-7 either side of 0 (below 0 on some of
    # these crops): the scores are never negative, and the run's own tables read back
    from skimage import data

    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        write_png(tmp_path / "gt" / f"{name}.png", getattr(data, name)()[:64, :64])
    result = run_eval("--pred", f"perfect={tmp_path / 'gt'}", "--gt", str(tmp_path / "gt"), "--out",
                      str(tmp_path / "out"), "--metrics", "dists", "--samples", "0", "--device", "cpu")
    assert result.exit_code == 0, result.output
    run = (tmp_path / "out" / "latest").resolve()
    scores = pd.read_csv(run / "per_sample.csv")["dists"]
    assert (scores >= 0).all() and (scores <= 1e-6).all(), scores
    report = runner.invoke(app, ["report", str(run), "--format", "csv"])
    assert report.exit_code == 0, report.output


# --------------------------------------------------------------------------- standard sets as ground truth


def test_a_folder_of_frames_names_each_sample_after_the_frame_it_predicts(tmp_path):
    # a model's prediction of frame_k is saved under frame_k's own name: copies of the truth score perfectly
    rng = np.random.default_rng(2)
    for k in range(5):
        frame = rng.integers(0, 256, size=(32, 48, 3))
        write_png(tmp_path / "clip" / f"frame_{k:02d}.png", frame)
        if 1 <= k <= 3:
            write_png(tmp_path / "pred" / f"frame_{k:02d}.png", frame)
    result = run_eval("--gt", f"frames:{tmp_path / 'clip'}", "--pred", str(tmp_path / "pred"), "--out",
                      str(tmp_path / "out"), "--metrics", "psnr", "--samples", "0", "--format", "csv")
    assert result.exit_code == 0, result.output
    per_sample = pd.read_csv((tmp_path / "out" / "latest").resolve() / "per_sample.csv")
    assert list(per_sample["file"]) == ["frame_01", "frame_02", "frame_03"]
    assert (per_sample["psnr"] == 100.0).all()


#: A UCF101 sample's files as the community's evaluation scripts read them (spelt out, not taken from the loader).
UCF101_FRAMES = ("frame_00.png", "frame_01_gt.png", "frame_02.png")


@pytest.fixture
def ucf_set(tmp_path: Path) -> dict[str, Path]:
    """A three-sample ucf101 layout and two models' predictions named by sample id."""
    rng = np.random.default_rng(1)
    root, good, bad = tmp_path / "ucf", tmp_path / "good", tmp_path / "bad"
    base = rng.integers(0, 256, size=(48, 56, 3))
    for sample in ("1", "2", "3"):
        frames = [np.roll(base, 2 * k + int(sample), axis=1) for k in range(3)]
        for name, frame in zip(UCF101_FRAMES, frames):
            write_png(root / sample / name, frame)
        write_png(good / f"{sample}.png", np.clip(frames[1] + rng.integers(-2, 3, size=base.shape), 0, 255))
        write_png(bad / f"{sample}.png", frames[0])
    return {"gt": root, "good": good, "bad": bad, "out": tmp_path / "results"}


def eval_two_models(ucf_set, *args: str) -> object:
    """``vfibench eval`` of the models 'good' and 'bad' on the UCF101-layout fixture, without image grids."""
    return run_eval("--gt", f"ucf101:{ucf_set['gt']}", "--pred", f"good={ucf_set['good']}", "--pred",
                    f"bad={ucf_set['bad']}", "--out", str(ucf_set["out"]), "--samples", "0", *args)


def test_the_report_of_one_model_speaks_of_that_model_not_of_trained_configurations_references_or_seeds(
        ucf_set):
    result = run_eval("--gt", f"ucf101:{ucf_set['gt']}", "--pred", f"good={ucf_set['good']}", "--out",
                      str(ucf_set["out"]), "--metrics", "psnr,ssim,gmsd", "--samples", "1")
    assert result.exit_code == 0, result.output
    page = " ".join(((ucf_set["out"] / "latest").resolve() / "report" / "report.md").read_text().split())
    assert "Only one model is scored, so these are the samples that 'good' does relatively best" in page, page
    assert "The gap along estimated motion" in page  # broken down over the three samples
    for words in ("trained configuration", "Reference rows", "seeds"):
        assert words not in page, words


def per_sample_on_ucf(root: Path, metrics: str) -> pd.DataFrame:
    """per_sample.csv of ``vfibench eval`` scoring the frames in root/pred on the UCF101-layout set root/ucf."""
    result = run_eval("--gt", f"ucf101:{root / 'ucf'}", "--pred", str(root / "pred"), "--out", str(root / "out"),
                      "--metrics", metrics, "--samples", "0", "--format", "csv")
    assert result.exit_code == 0, result.output
    return pd.read_csv((root / "out" / "latest").resolve() / "per_sample.csv", dtype={"file": str})


def test_eval_on_a_standard_set_matches_ids_and_prints_protocols_side_by_side(ucf_set):
    result = eval_two_models(ucf_set, "--metrics", "psnr,ssim,psnr-div", "--protocols", "all")
    assert result.exit_code == 0, result.output
    run = (ucf_set["out"] / "latest").resolve()
    per_sample = pd.read_csv(run / "per_sample.csv", dtype={"file": str})
    assert list(per_sample["file"].unique()) == ["1", "2", "3"]
    assert per_sample.groupby("config")["psnr-div"].mean()["good"] > per_sample.groupby("config")["psnr-div"].mean()["bad"]
    protocols = pd.read_csv(run / "protocols.csv")
    assert set(protocols["protocol"]) == {"vfibench", "rife", "ifrnet", "film", "y-channel", "skimage-default"}
    # each sample's motion (the inputs are 4 px apart) is an attribute of the sample, as in a sweep on real data
    motion = per_sample.pivot(index="sample", columns="config", values="motion_px")
    assert (motion["good"] == motion["bad"]).all() and motion["good"].between(3, 5).all(), motion  # I0 → I1, not → It
    for text in ("good PSNR", "bad SSIM", "skimage-default", "spread (max − min)", "--per-file"):
        assert text in result.output
    assert "Per file" not in result.output  # summarised by default
    listed = run_eval("--gt", f"ucf101:{ucf_set['gt']}", "--pred", str(ucf_set["good"]), "--out",
                      str(ucf_set["out"]), "--metrics", "psnr", "--samples", "0", "--per-file")
    assert listed.exit_code == 0 and "Per file" in listed.output and "summarised" not in listed.output


def test_protocols_follow_the_markdown_report_and_never_break_a_csv_or_json_document(ucf_set):
    common = ["--metrics", "psnr,ssim", "--protocols", "rife,y-channel"]
    md = eval_two_models(ucf_set, *common, "--format", "md")
    assert md.exit_code == 0, md.output
    assert "## PSNR / SSIM under each protocol" in md.stdout
    assert "| protocol | good PSNR | good SSIM | bad PSNR | bad SSIM |" in md.stdout and "| y-channel |" in md.stdout
    as_csv = eval_two_models(ucf_set, *common, "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    table = pd.read_csv(io.StringIO(as_csv.stdout))
    assert list(table["config"]) == ["good", "bad"]  # the summary alone: one CSV document
    assert "protocols.csv" in as_csv.stderr
    as_json = eval_two_models(ucf_set, *common, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    records = json.loads(as_json.stdout)["protocols"]
    assert [r["protocol"] for r in records] == ["rife", "y-channel", "spread (max − min)"]
    assert set(records[0]) == {"protocol", "good PSNR", "good SSIM", "bad PSNR", "bad SSIM"}
    page = eval_two_models(ucf_set, *common, "--format", "html")
    assert page.exit_code == 0 and "PSNR / SSIM under each protocol" in page.stdout


def test_a_perfect_model_has_an_unbounded_psnr_under_the_uncapped_protocols_and_every_format_says_so(ucf_set):
    perfect = ucf_set["out"].parent / "perfect"
    for sample in ("1", "2", "3"):
        write_png(perfect / f"{sample}.png", np.asarray(Image.open(ucf_set["gt"] / sample / "frame_01_gt.png")))
    args = ["--gt", f"ucf101:{ucf_set['gt']}", "--pred", f"perfect={perfect}", "--pred", f"bad={ucf_set['bad']}",
            "--out", str(ucf_set["out"]), "--metrics", "psnr", "--samples", "0", "--protocols", "vfibench,rife"]
    md = run_eval(*args, "--format", "md")
    assert md.exit_code == 0, md.output
    assert "| vfibench | 100.000 |" in md.stdout and "| rife | inf |" in md.stdout and "does not cap PSNR" in md.stdout
    records = json.loads(run_eval(*args, "--format", "json").stdout)["protocols"]
    assert [r["perfect PSNR"] for r in records] == [100.0, "inf", "inf"]  # vfibench, rife, spread


def test_the_run_folder_report_keeps_the_protocols_table(ucf_set):
    result = eval_two_models(ucf_set, "--metrics", "psnr,ssim", "--protocols", "film,ifrnet")
    assert result.exit_code == 0, result.output
    run = (ucf_set["out"] / "latest").resolve()
    means = pd.read_csv(run / "protocols.csv").groupby(["protocol", "config"])["psnr"].mean()
    film_good = f"{means[('film', 'good')]:.3f}"
    for page in ("report.md", "report.html"):
        text = (run / "report" / page).read_text()
        assert "PSNR / SSIM under each protocol" in text and "ifrnet" in text and film_good in text, page
    again = runner.invoke(app, ["report", str(run), "--format", "md"])  # read back from the run alone
    assert again.exit_code == 0 and f"| film | {film_good} |" in again.stdout, again.output


def test_the_metrics_help_names_the_default_set_and_every_other_metric():
    from vfibench.metrics.registry import metric_names
    from vfibench.metrics.suite import DEFAULT_METRICS

    for command in ("eval", "run"):
        text = " ".join(runner.invoke(app, [command, "--help"], env={"COLUMNS": "400"}).output.split())
        default, also = text.split("Default: psnr", 1)[1].split(". Also: ", 1)
        assert ("psnr" + default).split(", ") == list(DEFAULT_METRICS), command
        others = also.split(".", 1)[0].split(" (", 1)[0].split(", ")
        assert set(DEFAULT_METRICS) | set(others) == set(metric_names()), command


def test_metrics_option_that_names_no_metric_is_a_clear_error(folders):
    result = run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                      "--metrics", ",")
    assert result.exit_code == 2 and "--metrics ',' names no metric" in result.output
    assert "MetricSuite" not in result.output


def test_eval_on_a_standard_set_names_missing_ids(ucf_set):
    (ucf_set["good"] / "2.png").unlink()
    result = run_eval("--gt", f"ucf101:{ucf_set['gt']}", "--pred", str(ucf_set["good"]), "--out", str(ucf_set["out"]),
                      "--metrics", "psnr")
    assert result.exit_code == 2
    assert "no prediction for 1 of the 3 samples" in result.output and "'2'" in result.output


def test_predictions_that_match_no_ground_truth_are_noted_not_silently_dropped(ucf_set, folders):
    write_png(ucf_set["good"] / "20.png", np.zeros((16, 16, 3)))  # a misnamed prediction: no sample '20'
    result = run_eval("--gt", f"ucf101:{ucf_set['gt']}", "--pred", str(ucf_set["good"]), "--out", str(ucf_set["out"]),
                      "--metrics", "psnr")
    assert result.exit_code == 0, result.output
    assert "note: 1 frame of model 'good' matches no ground truth and is not scored: '20.png'" in \
        " ".join(result.output.split())
    write_png(folders["sharp"] / "seq" / "z.png", np.zeros((16, 16, 3)))
    result = run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                      "--metrics", FAST, "--format", "csv")
    assert result.exit_code == 0 and "'seq/z.png'" in result.stderr and "note:" not in result.stdout
    assert "match no ground truth" not in run_eval("--pred", str(folders["noisy"]), "--gt", str(folders["gt"]),
                                                   "--out", str(folders["out"]), "--metrics", FAST).output


def test_a_gt_spec_that_subsets_or_resizes_is_refused_not_ignored(ucf_set, tmp_path):
    (tmp_path / "vimeo" / "sequences").mkdir(parents=True)
    for gt in (f"ucf101(count=2):{ucf_set['gt']}", f"vimeo90k(size=16, fit=crop):{tmp_path / 'vimeo'}",
               f"ucf101(size=64):{ucf_set['gt']}"):  # not an option of ucf101 at all: the same answer
        result = run_eval("--gt", gt, "--pred", str(ucf_set["good"]), "--out", str(ucf_set["out"]), "--metrics", "psnr")
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and "every sample of a test set" in text and "Traceback" not in text, text
    assert "count=2 cannot apply" in " ".join(run_eval("--gt", f"ucf101(count=2):{ucf_set['gt']}", "--pred",
                                                       str(ucf_set["good"]), "--metrics", "psnr").output.split())
    sized = " ".join(run_eval("--gt", f"ucf101(size=64):{ucf_set['gt']}", "--pred", str(ucf_set["good"]),
                              "--metrics", "psnr").output.split())
    assert "size=64 cannot apply" in sized and f"Write --gt ucf101:{ucf_set['gt']}," in sized, sized
    assert not ucf_set["out"].exists()
    # options are read where the parser reads them: parentheses in the path are the path's
    odd = ucf_set["gt"].parent / "ucf(size=64)"
    ucf_set["gt"].rename(odd)
    assert run_eval("--gt", f"ucf101:{odd}", "--pred", str(ucf_set["good"]), "--metrics", "psnr",
                    "--out", str(ucf_set["out"])).exit_code == 0


def test_a_list_of_absolute_paths_never_scores_the_ground_truth_against_itself(tmp_path):
    # The reference scripts accept absolute lines (os.path.join keeps them); the sample id must stay a
    # path inside the prediction folder, not the ground-truth file itself.
    root, pred = tmp_path / "snu", tmp_path / "pred"
    clip = root / "data" / "SNU-FILM" / "test" / "GOPRO_test" / "clip"
    for k in range(1, 4):
        write_png(clip / f"{k:06d}.png", np.full((32, 32, 3), 40 * k))
    (root / "test-hard.txt").write_text(" ".join(str(clip / f"{k:06d}.png") for k in range(1, 4)) + "\n")
    write_png(pred / "unrelated.png", np.zeros((32, 32, 3)))
    result = run_eval("--gt", f"snufilm(split=hard):{root}", "--pred", str(pred), "--metrics", "psnr",
                      "--out", str(tmp_path / "results"))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "no prediction for 1 of the 1 samples" in text, text
    assert "'data/SNU-FILM/test/GOPRO_test/clip/000002'" in text
    write_png(pred / "data" / "SNU-FILM" / "test" / "GOPRO_test" / "clip" / "000002.png", np.full((32, 32, 3), 80))
    result = run_eval("--gt", f"snufilm(split=hard):{root}", "--pred", str(pred), "--metrics", "psnr",
                      "--out", str(tmp_path / "results"), "--samples", "0", "--format", "csv")
    assert result.exit_code == 0, result.output


def test_a_damaged_test_set_is_named_not_blamed_on_the_prediction(ucf_set):
    write_png(ucf_set["gt"] / "2" / "frame_01_gt.png", np.zeros((30, 30, 3)))  # I0 is 56x48
    write_png(ucf_set["good"] / "2.png", np.zeros((30, 30, 3)))
    result = run_eval("--gt", f"ucf101:{ucf_set['gt']}", "--pred", str(ucf_set["good"]), "--metrics", "psnr",
                      "--out", str(ucf_set["out"]), "--samples", "0")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "frame_01_gt.png is 30x30 pixels" in text and "predicted frame" not in text, text


def test_flow_metrics_need_a_dataset_spec(folders):
    result = run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                      "--metrics", "psnr,psnr-div")
    assert result.exit_code == 2 and "psnr-div needs the input frames" in result.output


# --------------------------------------------------------------------------- batching and shared ground truth


def test_batched_shared_and_per_frame_evaluation_give_identical_scores(folders, tmp_path):
    from vfibench.eval_plan import plan_evaluation
    from vfibench.evaluate import score_frames
    from vfibench.metrics.suite import MetricSuite

    write_png(folders["gt"] / "seq" / "c.png", np.zeros((36, 44, 3)))  # another size: a batch of its own
    write_png(folders["sharp"] / "seq" / "c.png", np.full((36, 44, 3), 3))
    write_png(folders["noisy"] / "seq" / "c.png", np.full((36, 44, 3), 60))
    names = FAST.split(",") + ([] if missing_backbones("alexnet", "vgg16") else ["lpips", "dists"])
    both = plan_evaluation({"good": folders["sharp"], "bad": folders["noisy"]}, folders["gt"], out=tmp_path,
                           metrics=names, device="cpu")
    batched = score_frames(both, MetricSuite(names, batch_size=16))  # ground truth prepared once per batch
    per_frame = score_frames(both, MetricSuite(names, batch_size=1))
    weight_free = [c for c in batched.columns if c not in ("lpips", "dists")]
    pd.testing.assert_frame_equal(batched[weight_free], per_frame[weight_free], check_exact=True)
    # on a backbone, oneDNN's kernel for a batch of one small frame may differ by float32 rounding
    pd.testing.assert_frame_equal(batched, per_frame, check_exact=False, atol=1e-6, rtol=0)
    assert list(batched["file"]) == ["a.png", "a.png", "seq/b.png", "seq/b.png", "seq/c.png", "seq/c.png"]
    for model, folder in (("good", folders["sharp"]), ("bad", folders["noisy"])):  # each model alone: no sharing
        alone = plan_evaluation({model: folder}, folders["gt"], out=tmp_path, metrics=names, device="cpu")
        rows = score_frames(alone, MetricSuite(names)).reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, batched[batched["config"] == model].reset_index(drop=True),
                                      check_exact=True)


def test_a_read_error_in_a_later_batch_names_the_file(folders, tmp_path):
    from vfibench.errors import DataError
    from vfibench.eval_plan import plan_evaluation
    from vfibench.evaluate import score_frames
    from vfibench.metrics.suite import MetricSuite

    plan = plan_evaluation({"good": folders["sharp"]}, folders["gt"], out=tmp_path, metrics=["psnr"], device="cpu")
    (folders["sharp"] / "seq" / "b.png").write_bytes(b"damaged")
    with pytest.raises(DataError, match="seq/b.png"):
        score_frames(plan, MetricSuite(["psnr"], batch_size=1))


def test_scores_do_not_depend_on_how_many_lanes_score_the_batches(folders, tmp_path, monkeypatch):
    from vfibench import lanes
    from vfibench.eval_plan import plan_evaluation
    from vfibench.evaluate import score_frames
    from vfibench.metrics.suite import MetricSuite

    names = FAST.split(",") + ([] if missing_backbones("alexnet") else ["lpips"])
    plan = plan_evaluation({"good": folders["sharp"], "bad": folders["noisy"]}, folders["gt"], out=tmp_path,
                           metrics=names, device="cpu")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one_lane = score_frames(plan, MetricSuite(names, batch_size=1))
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(lanes, "cpu_lanes", lambda device: 3)  # more lanes than batches of work at times
    three_lanes = score_frames(plan, MetricSuite(names, batch_size=1))
    pd.testing.assert_frame_equal(one_lane, three_lanes, check_exact=True)
    assert torch.get_num_threads() == threads


def test_frames_read_by_several_readers_give_the_same_batches_and_the_first_damaged_file(tmp_path):
    from vfibench.errors import DataError
    from vfibench.eval_plan import plan_evaluation
    from vfibench.evaluate import read_batches

    rng = np.random.default_rng(1)
    gt, good, bad = tmp_path / "gt", tmp_path / "good", tmp_path / "bad"
    names = [f"f{k:02d}.png" for k in range(9)]
    for name in names:
        truth = rng.integers(0, 256, size=(24, 32, 3))
        write_png(gt / name, truth)
        write_png(good / name, np.clip(truth + rng.integers(-2, 3, size=truth.shape), 0, 255))
        write_png(bad / name, np.clip(truth + rng.integers(-40, 41, size=truth.shape), 0, 255))
    plan = plan_evaluation({"good": good, "bad": bad}, gt, out=tmp_path / "results", metrics=["psnr"], device="cpu")
    one, four = (list(read_batches(plan, batch_size=2, readers=readers)) for readers in (1, 4))
    assert [b.samples for b in one] == [b.samples for b in four] == [[0, 1], [2, 3], [4, 5], [6, 7], [8]]
    for a, b in zip(one, four):
        assert a.names == b.names and a.paths == b.paths and torch.equal(a.gt, b.gt)
        assert all(torch.equal(a.preds[k], b.preds[k]) for k in a.preds)
    for name in names[3:]:  # read at once, a later file may fail first: the first in order is named
        (bad / name).write_bytes(b"damaged")
    with pytest.raises(DataError, match="f03.png"):
        list(read_batches(plan, batch_size=2, readers=4))


def test_the_gpu_scoring_path_run_on_a_cpu_gives_the_cpu_scores(tmp_path, monkeypatch):
    """An accelerator's path through ``score_frames`` — one lane, several reader threads, a batch as large
    as a device chunk, every SSIM plane filtered at once — forced on the CPU, so CI checks its logic where
    no GPU runs: the same rows in the same order, float64 metrics identical, LPIPS to float32 rounding."""
    from vfibench import lanes
    from vfibench.eval_plan import plan_evaluation
    from vfibench.evaluate import score_frames
    from vfibench.metrics import _common, ssim as ssim_module, suite as suite_module
    from vfibench.metrics.suite import MetricSuite

    rng = np.random.default_rng(2)
    gt, good, bad = tmp_path / "gt", tmp_path / "good", tmp_path / "bad"
    for k in range(9):
        truth = rng.integers(0, 256, size=(40, 48, 3))
        write_png(gt / f"f{k}.png", truth)
        write_png(good / f"f{k}.png", np.clip(truth + rng.integers(-2, 3, size=truth.shape), 0, 255))
        write_png(bad / f"f{k}.png", np.clip(truth + rng.integers(-40, 41, size=truth.shape), 0, 255))
    names = FAST.split(",") + ([] if missing_backbones("alexnet") else ["lpips"])
    plan = plan_evaluation({"good": good, "bad": bad}, gt, out=tmp_path / "results", metrics=names, device="cpu")
    on_cpu = score_frames(plan, MetricSuite(names, batch_size=2))  # 5 batches in the CPU's lanes

    batch_sizes: list[int] = []
    original = lanes.map_in_lanes
    monkeypatch.setattr(lanes, "map_in_lanes", lambda batches, work, count, **kwargs: original(
        batches, lambda batch: batch_sizes.append(len(batch.samples)) or work(batch), count, **kwargs))
    monkeypatch.setattr(lanes, "cpu_lanes", lambda device: 1)
    monkeypatch.setattr(lanes, "reader_threads", lambda device: 4)
    for module in (_common, suite_module, ssim_module):
        monkeypatch.setattr(module, "scores_in_device_chunks", lambda device: True)
    gpu_way = score_frames(plan, MetricSuite(names, batch_size=16))
    assert batch_sizes == [9]
    exact = [column for column in on_cpu.columns if column != "lpips"]
    pd.testing.assert_frame_equal(on_cpu[exact], gpu_way[exact], check_exact=True)
    if "lpips" in names:
        assert float((on_cpu["lpips"] - gpu_way["lpips"]).abs().max()) <= 1e-6


def test_a_gpu_scores_batches_of_one_device_chunk_and_a_cpu_cache_sized_ones():
    from vfibench.evaluate import BATCH_PIXELS, batch_pixels
    from vfibench.metrics.suite import GPU_CHUNK_PIXELS

    assert batch_pixels(torch.device("cpu"), 2) == BATCH_PIXELS
    assert batch_pixels(torch.device("cpu"), 4) == BATCH_PIXELS // 2
    assert batch_pixels(torch.device("cuda", 0), 1) == GPU_CHUNK_PIXELS


def test_one_model_gets_no_plane_of_one_point_and_two_models_get_it(folders):
    alone = run_eval("--pred", str(folders["sharp"]), "--gt", str(folders["gt"]), "--out", str(folders["out"]),
                     "--metrics", "psnr,gmsd", "--samples", "0")
    assert alone.exit_code == 0, alone.output
    report = (folders["out"] / "latest").resolve() / "report"
    assert not (report / "perception_distortion.png").exists()
    assert "a plane of one point compares nothing" in (report / "report.md").read_text()
    both = run_eval("--pred", f"good={folders['sharp']}", "--pred", f"bad={folders['noisy']}", "--gt",
                    str(folders["gt"]), "--out", str(folders["out"]), "--metrics", "psnr,gmsd", "--samples", "0")
    assert both.exit_code == 0, both.output
    assert ((folders["out"] / "latest").resolve() / "report" / "perception_distortion.png").is_file()


def test_a_misspelt_dataset_kind_is_suggested_not_taken_for_a_folder(ucf_set):
    result = run_eval("--gt", f"ucf:{ucf_set['gt']}", "--pred", str(ucf_set["good"]), "--metrics", "psnr",
                      "--out", str(ucf_set["out"]))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and f"Did you mean --gt ucf101:{ucf_set['gt']}?" in text, text
    result = run_eval("--gt", "snufim(split=hard):/data/snu", "--pred", str(ucf_set["good"]), "--metrics", "psnr")
    assert "Did you mean --gt snufilm(split=hard):/data/snu?" in " ".join(result.output.split())
    result = run_eval("--gt", "bogus:/data/x", "--pred", str(ucf_set["good"]), "--metrics", "psnr")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "'bogus' is not a dataset kind. The kinds are vimeo90k," in text, text
    result = run_eval("--gt", "synthetic", "--pred", str(ucf_set["good"]), "--metrics", "psnr")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "synthetic scenes have no stored ground truth" in text, text


def test_a_report_finds_a_test_sets_frames_from_any_folder(ucf_set, monkeypatch):
    monkeypatch.chdir(ucf_set["gt"].parent)
    result = run_eval("--gt", "ucf101:ucf", "--pred", f"good={ucf_set['good']}", "--pred", f"bad={ucf_set['bad']}",
                      "--out", str(ucf_set["out"]), "--metrics", "psnr,ssim,gmsd", "--samples", "0")
    assert result.exit_code == 0, result.output
    run = (ucf_set["out"] / "latest").resolve()
    assert json.loads((run / "manifest.json").read_text())["gt_spec"] == f"ucf101:{ucf_set['gt']}"
    monkeypatch.chdir(run)
    report = runner.invoke(app, ["report", str(run), "--samples", "1"])
    assert report.exit_code == 0 and len(list((run / "report").glob("grid_sample*.png"))) == 1, report.output


def test_an_evaluation_on_a_test_set_draws_its_image_grids_from_the_set(ucf_set):
    result = run_eval("--gt", f"ucf101:{ucf_set['gt']}", "--pred", f"good={ucf_set['good']}", "--pred",
                      f"bad={ucf_set['bad']}", "--out", str(ucf_set["out"]), "--metrics", "psnr,ssim,gmsd",
                      "--samples", "2")
    assert result.exit_code == 0, result.output
    report = (ucf_set["out"] / "latest").resolve() / "report"
    grids = sorted(report.glob("grid_sample*.png"))
    assert len(grids) == 2, result.output
    with Image.open(grids[0]) as image:
        assert image.width > 3 * 56  # ground truth, inputs and both models side by side
    markdown = (report / "report.md").read_text(encoding="utf-8")
    assert "No image grids" not in markdown
    assert "its zoomed crop (cyan box) and the inputs I0 and I1; then per model" in " ".join(markdown.split())
    for grid in grids:  # each image its own paragraph (Markdown would run them into one), with its caption
        image_line = f"![{grid.stem}]({grid.name})"
        assert f"\n\n{image_line}\n\n" in markdown
        assert markdown.split(image_line, 1)[1].lstrip("\n").split("\n", 1)[0].strip(), "no caption follows"


def test_eval_help_says_what_every_metric_measures():
    from vfibench.metrics.records import RECORDS

    text = " ".join(run_eval("--help").output.split())
    for record in RECORDS:  # each from its registry record, lpips-vgg and dists included
        assert f"{record.name}" in text and " ".join(record.description.split()[:6]) in text, record.name


def test_eval_help_marks_the_metrics_that_need_the_input_frames():
    from vfibench.metrics.records import RECORDS

    text = " ".join(runner.invoke(app, ["eval", "--help"], env={"COLUMNS": "400"}).output.split())
    assert any(record.inputs for record in RECORDS)
    for record in RECORDS:
        marked = f"{record.name} (needs a dataset spec as --gt, for I0 and I1): " in text
        assert marked == record.inputs, record.name


def test_the_short_options_p_and_f_name_a_prediction_and_the_printed_format(folders):
    result = run_eval("-p", f"good={folders['sharp']}", "--gt", str(folders["gt"]), "-f", "csv",
                      "--out", str(folders["out"]), "--metrics", "psnr", "--samples", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("config,kind,status") and "\ngood," in result.stdout


def test_a_test_set_of_16_bit_frames_is_scored_at_its_nearest_8_bit_levels_not_truncated(tmp_path):
    """A prediction saved at the nearest 8-bit levels of a 16-bit ground truth scores as perfect."""
    import cv2

    rng = np.random.default_rng(6)
    levels = rng.integers(0, 100, size=(3, 48, 56, 3))
    wide = np.round((levels + 0.6) * 257).astype(np.uint16)  # 0.6 of a level above each: rounds up, truncates down
    for k, name in enumerate(UCF101_FRAMES):
        (tmp_path / "ucf" / "1").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / "ucf" / "1" / name), wide[k][:, :, ::-1])  # OpenCV writes BGR
    write_png(tmp_path / "pred" / "1.png", levels[1] + 1)
    scores = per_sample_on_ucf(tmp_path, "psnr,ie")
    assert scores["psnr"].tolist() == [100.0] and scores["ie"].tolist() == [0.0]


def test_each_sample_of_a_test_set_records_its_own_motion(tmp_path):
    """motion_px is the motion between the sample's own input frames, whatever batch it was scored in."""
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, size=(48, 64, 3))
    base = np.asarray(Image.fromarray(base.astype(np.uint8)).resize((16, 12)).resize((64, 48), Image.BILINEAR))
    shifts = {"1": 1, "2": 3, "3": 6}  # pixels per frame: I0 → I1 moves twice as far
    for sample, shift in shifts.items():
        for k, name in enumerate(UCF101_FRAMES):
            write_png(tmp_path / "ucf" / sample / name, np.roll(base, shift * k, axis=1))
        write_png(tmp_path / "pred" / f"{sample}.png", np.roll(base, shift, axis=1))
    per_sample = per_sample_on_ucf(tmp_path, "psnr")
    motion = dict(zip(per_sample["file"], per_sample["motion_px"]))
    for sample, shift in shifts.items():
        assert abs(motion[sample] - 2 * shift) < 1.5, motion


def test_a_16_bit_ground_truth_is_noted_as_scored_at_8_bit_levels(tmp_path):
    from vfibench.eval_plan import plan_evaluation

    grey = np.random.default_rng(5).integers(0, 256, size=(16, 16), dtype=np.uint8)
    (tmp_path / "gt").mkdir()
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "gt" / "a.png")
    write_png(tmp_path / "pred" / "a.png", np.dstack([grey] * 3))
    plan = plan_evaluation({"m": tmp_path / "pred"}, tmp_path / "gt", out=tmp_path / "out", metrics=["psnr"],
                           device="cpu")
    wide = [note for note in plan.notes if "more than 8 bits per channel" in note]
    assert len(wide) == 1 and "the ground truth ('a.png')" in wide[0] and "model 'm'" not in wide[0], plan.notes


def test_metrics_that_need_the_input_frames_are_refused_while_planning_a_folder_evaluation(folders):
    from vfibench.eval_plan import plan_evaluation

    with pytest.raises(VfiBenchError, match="psnr-div needs the input frames I0 and I1"):
        plan_evaluation({"sharp": folders["sharp"]}, folders["gt"], out=folders["out"], metrics=["psnr", "psnr-div"],
                        device="cpu")
    assert not folders["out"].exists()


def test_an_absent_prediction_folder_for_a_test_set_is_named_as_absent(ucf_set, tmp_path):
    result = run_eval("--gt", f"ucf101:{ucf_set['gt']}", "--pred", f"m={tmp_path / 'gone'}", "--metrics", "psnr",
                      "--out", str(ucf_set["out"]))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and f"The prediction ('m') folder '{tmp_path / 'gone'}' does not exist" in text, text
    assert "no prediction for" not in text


@pytest.mark.parametrize("value", ["m=", "m= "])
def test_a_model_name_without_a_folder_is_refused_not_read_as_the_current_folder(value):
    with pytest.raises(VfiBenchError, match="names no folder"):
        parse_predictions([value])


def test_a_synthetic_spec_as_ground_truth_is_explained(ucf_set, tmp_path):
    result = run_eval("--gt", f"synthetic:{tmp_path / 'scenes'}", "--pred", str(ucf_set["good"]), "--metrics", "psnr",
                      "--out", str(ucf_set["out"]))
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "synthetic scenes have no stored ground truth" in text, text
