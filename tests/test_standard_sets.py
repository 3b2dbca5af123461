"""Standard test sets as dataset specs: ids, order, pixel-exact triplets, and each kind of damage named."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from vfibench.cli import app
from vfibench.data.sources import describe_sources, open_dataset, open_source, validate_dataset_spec
from vfibench.data.standard_sets import MIDDLEBURY_SEQUENCES, xiph_frame
from vfibench.errors import DataError

runner = CliRunner()


def png(path: Path, value: int, size: tuple[int, int] = (20, 16)) -> np.ndarray:
    """A frame whose pixel (0, 0) is ``value`` and whose other pixels vary, saved as 8-bit PNG."""
    width, height = size
    array = (np.arange(height * width * 3).reshape(height, width, 3) + value) % 256
    array[0, 0, 0] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)
    return array.astype(np.float32) / 255.0


def check_pixels(triplets, index: int, expected: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    for tensor, array in zip((triplets.i0, triplets.it, triplets.i1), expected):
        np.testing.assert_array_equal(tensor[index].permute(1, 2, 0).numpy(), array)


@pytest.fixture
def ucf(tmp_path: Path) -> tuple[Path, dict[str, tuple[np.ndarray, ...]]]:
    root = tmp_path / "ucf"
    frames = {}
    for number, name in enumerate(("10", "2", "1")):
        frames[name] = tuple(png(root / name / f, 30 * number + k) for k, f in
                             enumerate(("frame_00.png", "frame_01_gt.png", "frame_02.png")))
    return root, frames


def test_ucf101_ids_in_natural_order_and_triplets_exact(ucf):
    root, frames = ucf
    source = open_source(f"ucf101:{root}", "test")
    assert source.ids == ["1", "2", "10"]
    triplets = open_dataset(f"ucf101:{root}", "test", size=48)  # a preset's size never resizes a standard set
    assert tuple(triplets.it.shape) == (3, 3, 16, 20)
    for index, name in enumerate(source.ids):
        check_pixels(triplets, index, frames[name])


def test_a_standard_set_as_training_data_is_fitted_to_the_training_crops_as_it_is_recorded(ucf):
    """Read as tested (native) only as test data; training at native size ignored the preset's crops,
    and the dry run's estimate (timed on crops) and the manifest (size null) did not say what ran."""
    from vfibench.presets import get_preset
    from vfibench.sweep.data import data_options

    root, frames = ucf
    fitted = open_dataset(f"ucf101:{root}", "train", size=16, fit="crop")  # 20×16 frames: the centre 16×16
    assert tuple(fitted.it.shape) == (3, 3, 16, 16)
    np.testing.assert_array_equal(fitted.it[0].permute(1, 2, 0).numpy(), frames["1"][1][:, 2:18])
    smoke = get_preset("smoke")
    assert data_options(f"ucf101:{root}", smoke, "train")["size"] == smoke.crop
    assert data_options(f"ucf101:{root}", smoke, "test")["size"] is None


def test_a_set_unpacked_on_a_mac_reads_as_released(ucf, tmp_path):
    """macOS's archiver adds __MACOSX/ and ._<name> metadata copies beside every file; the reference
    scripts' globs never match them, and neither do the sets' readers."""
    root, _ = ucf
    metadata = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X"
    (root / "__MACOSX" / "10").mkdir(parents=True)
    (root / "__MACOSX" / "10" / "._frame_00.png").write_bytes(metadata)
    (root / ".hidden").mkdir()
    assert open_source(f"ucf101:{root}", "test").ids == ["1", "2", "10"]
    for k in range(8):
        png(tmp_path / "davis" / "bear" / f"{k:05d}.png", k)
        (tmp_path / "davis" / "bear" / f"._{k:05d}.png").write_bytes(metadata)
    (tmp_path / "davis" / "__MACOSX" / "bear").mkdir(parents=True)
    assert open_source(f"davis:{tmp_path / 'davis'}", "test").ids == ["bear/00003"]
    assert len(open_source(f"frames:{tmp_path / 'davis' / 'bear'}", "test").refs) == 6
    for k in range(1, 100):
        (tmp_path / "xiph" / f"Tango-{k:03d}.png").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "xiph" / f"Tango-{k:03d}.png").write_bytes(b"")  # listing needs no pixels
        (tmp_path / "xiph" / f"._Tango-{k:03d}.png").write_bytes(metadata)
    assert len(open_source(f"xiph(res=4k):{tmp_path / 'xiph'}", "test").ids) == 49  # not 98, half ._Tango


def test_predictions_of_a_set_are_found_whatever_the_case_of_their_extension(ucf, tmp_path):
    """A folder of frames matches .PNG as .png; a set's predictions, looked up by id, did not."""
    root, frames = ucf
    (tmp_path / "pred").mkdir()
    for name, suffix in (("1", ".png"), ("2", ".PNG"), ("10", ".JPEG")):  # the last a PNG under a JPEG name
        truth = np.round(frames[name][1] * 255).astype(np.uint8)
        Image.fromarray(truth).save(tmp_path / "pred" / f"{name}{suffix}", format="PNG")
    result = runner.invoke(app, ["eval", "--gt", f"ucf101:{root}", "--pred", f"m={tmp_path / 'pred'}", "--metrics",
                                 "psnr", "--samples", "0", "--format", "csv", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    per_sample = pd.read_csv((tmp_path / "out" / "latest").resolve() / "per_sample.csv", dtype={"file": str})
    assert sorted(per_sample["file"]) == ["1", "10", "2"] and per_sample["psnr"].tolist() == [100.0] * 3


def test_ucf101_reads_the_folder_above_its_samples_as_rifes_readme_lays_it_out(ucf, tmp_path):
    root, frames = ucf
    above = tmp_path / "UCF101"
    shutil.move(root, above / "ucf101_interp_ours")
    source = open_source(f"ucf101:{above}", "test")
    assert source.ids == ["1", "2", "10"]
    check_pixels(source.load([2]), 0, frames["10"])
    with pytest.raises(DataError) as error:  # from another spec's error: the kind that fits is named
        open_source(f"middlebury:{above}", "test")
    assert f"try ucf101:{above} (it has ucf101_interp_ours/)" in str(error.value)


def test_a_ucf101_folder_of_another_size_than_dvfs_379_is_noted_as_not_comparable(ucf, monkeypatch):
    from vfibench.data import standard_sets

    root, _ = ucf
    [note] = open_source(f"ucf101:{root}", "test").notes
    assert note == (f"ucf101:{root} holds 3 samples, so its mean is not comparable with published UCF101 tables, "
                    "which score all 379 samples.")
    monkeypatch.setattr(standard_sets, "UCF101_SAMPLES", 3)
    assert open_source(f"ucf101:{root}", "test").notes == []


def test_ucf101_missing_frame_is_named(ucf):
    root, _ = ucf
    (root / "2" / "frame_01_gt.png").unlink()
    with pytest.raises(DataError, match=r"2/frame_01_gt\.png is missing"):
        open_source(f"ucf101:{root}", "test")


def test_middlebury_reads_other_data_and_gt_interp(tmp_path):
    root = tmp_path / "mb"
    expected = {}
    for k, seq in enumerate(("Walking", "Beanbags")):
        size = (24, 16) if seq == "Walking" else (20, 16)
        expected[seq] = (png(root / "other-data" / seq / "frame10.png", k, size),
                         png(root / "other-gt-interp" / seq / "frame10i11.png", k + 10, size),
                         png(root / "other-data" / seq / "frame11.png", k + 20, size))
    source = open_source(f"middlebury:{root}", "test")
    assert source.ids == ["Beanbags", "Walking"]
    for index, seq in enumerate(source.ids):
        check_pixels(source.load([index]), 0, expected[seq])
    with pytest.raises(DataError, match="never resized.*vfibench eval"):  # mixed sizes cannot be stacked
        source.load([0, 1])
    validated = runner.invoke(app, ["data", "validate", f"middlebury:{root}"])
    assert "several sizes; `vfibench eval --gt` scores each at its own size" in " ".join(validated.output.split())
    (root / "other-data" / "Walking" / "frame11.png").unlink()
    with pytest.raises(DataError, match=r"Walking/frame11\.png is missing"):
        open_source(f"middlebury:{root}", "test")


def test_middlebury_reads_each_sequences_frames_side_by_side_as_softmax_splattings_script(tmp_path):
    root = tmp_path / "middlebury"
    expected = {seq: tuple(png(root / seq / name, k + 10 * j) for j, name in
                           enumerate(("frame10.png", "frame10i11.png", "frame11.png")))
                for k, seq in enumerate(("Walking", "Beanbags"))}
    png(root / "notes" / "frame10.png", 0)  # a folder without frame10i11.png is not a sequence (the script's glob)
    source = open_source(f"middlebury:{root}", "test")
    assert source.ids == ["Beanbags", "Walking"] and "lacks Dimetrodon" in source.notes[0]
    for index, seq in enumerate(source.ids):
        check_pixels(source.load([index]), 0, expected[seq])
    (root / "Walking" / "frame11.png").unlink()
    with pytest.raises(DataError, match=r"Walking/frame11\.png is missing \(input of Walking\)"):
        open_source(f"middlebury:{root}", "test")
    shutil.rmtree(root / "Walking")
    shutil.rmtree(root / "notes")
    with pytest.raises(DataError) as error:  # from another spec's error: the kind that fits is named
        open_source(f"ucf101:{root}", "test")
    assert f"try middlebury:{root} (its subfolders hold Middlebury's frame10.png, frame10i11.png" in str(error.value)


def test_middlebury_given_half_of_the_release_names_the_folder_to_pass(tmp_path):
    for folder, name in (("other-data", "frame10.png"), ("other-gt-interp", "frame10i11.png"),
                         ("other-data", "frame11.png")):
        png(tmp_path / "mb" / folder / "Venus" / name, 0)
    for half in ("other-gt-interp", "other-data"):
        with pytest.raises(DataError, match=f"one half of the release; pass the folder above it.*middlebury:{tmp_path / 'mb'}"):
            open_source(f"middlebury:{tmp_path / 'mb' / half}", "test")


def test_middlebury_without_the_twelve_published_sequences_is_noted_as_not_comparable(tmp_path):
    root = tmp_path / "mb"
    for seq in (*MIDDLEBURY_SEQUENCES, "Extra"):
        for folder, name in (("other-data", "frame10.png"), ("other-gt-interp", "frame10i11.png"),
                             ("other-data", "frame11.png")):
            png(root / folder / seq / name, 0)
    [note] = open_source(f"middlebury:{root}", "test").notes
    assert "adds Extra" in note and "not comparable with published Middlebury tables" in note
    assert note.endswith(f"which score the 12 sequences {', '.join(MIDDLEBURY_SEQUENCES)}.")
    for folder in ("other-data", "other-gt-interp"):
        shutil.rmtree(root / folder / "Extra")
    assert open_source(f"middlebury:{root}", "test").notes == []  # RIFE's and IFRNet's twelve
    shutil.rmtree(root / "other-gt-interp" / "Venus")
    [note] = open_source(f"middlebury:{root}", "test").notes
    assert note.startswith(f"middlebury:{root} lacks Venus,")


@pytest.fixture
def snu(tmp_path: Path) -> Path:
    root = tmp_path / "snu"
    clip = root / "data" / "SNU-FILM" / "test" / "GOPRO_test" / "clip"
    for k in range(1, 6):
        png(clip / f"{k:06d}.png", k)
    rel = "data/SNU-FILM/test/GOPRO_test/clip"
    (root / "test-hard.txt").write_text(f"{rel}/000001.png {rel}/000003.png {rel}/000005.png\n\n"
                                        f"{rel}/000002.png {rel}/000004.png {rel}/000005.png\n")
    return root


def test_snufilm_reads_its_list_in_order(snu):
    source = open_source(f"snufilm(split=hard):{snu}", "test")
    rel = "data/SNU-FILM/test/GOPRO_test/clip"
    assert source.ids == [f"{rel}/000003", f"{rel}/000004"]
    triplets = source.load([0, 1])
    assert triplets.i0[1, 0, 0, 0].item() == pytest.approx(2 / 255)
    assert triplets.it[0, 0, 0, 0].item() == pytest.approx(3 / 255)


def test_snufilm_damage_is_named(snu):
    with pytest.raises(DataError, match="needs a split"):
        open_source(f"snufilm:{snu}", "test")
    with pytest.raises(DataError, match=r"test-easy\.txt is missing"):
        open_source(f"snufilm(split=easy):{snu}", "test")
    listing = snu / "test-hard.txt"
    listing.write_text(listing.read_text() + "data/only/two.png data/x.png\n")
    with pytest.raises(DataError, match="Line 4 of .*test-hard.txt.*three frames"):
        open_source(f"snufilm(split=hard):{snu}", "test")
    listing.write_text("data/SNU-FILM/test/GOPRO_test/clip/000001.png data/gone.png "
                       "data/SNU-FILM/test/GOPRO_test/clip/000002.png\n")
    with pytest.raises(DataError, match=r"'data/gone\.png' named on line 1 of .*test-hard\.txt is missing"):
        open_source(f"snufilm(split=hard):{snu}", "test")


def test_snufilm_reads_the_released_layout_from_either_folder(snu):
    # As released, the lists sit in data/SNU-FILM/ and their lines start with data/SNU-FILM/.
    (snu / "test-hard.txt").rename(snu / "data" / "SNU-FILM" / "test-hard.txt")
    expected = [f"data/SNU-FILM/test/GOPRO_test/clip/{k:06d}" for k in (3, 4)]
    for path in (snu, snu / "data" / "SNU-FILM"):
        source = open_source(f"snufilm(split=hard):{path}", "test")
        assert source.ids == expected and source.describe() == f"snufilm(split=hard):{path}"
        assert source.load([0]).it[0, 0, 0, 0].item() == pytest.approx(3 / 255)


def test_snufilm_reads_released_lines_in_a_folder_of_any_name(snu, tmp_path):
    # Loaders that keep the lists in eval_modes/ read 'data/SNU-FILM/…' as PATH/…, whatever PATH is called.
    moved = tmp_path / "datasets" / "snu_film"
    shutil.move(str(snu / "data" / "SNU-FILM"), str(moved))
    expected = [f"data/SNU-FILM/test/GOPRO_test/clip/{k:06d}" for k in (3, 4)]
    for lists in (moved / "eval_modes", moved):
        lists.mkdir(exist_ok=True)
        shutil.copy(snu / "test-hard.txt", lists / "test-hard.txt")
        source = open_source(f"snufilm(split=hard):{moved}", "test")
        assert source.ids == expected  # the same ids as from the released folders
        assert source.load([1]).it[0, 0, 0, 0].item() == pytest.approx(4 / 255)
        (lists / "test-hard.txt").unlink()
    (moved / "eval_modes" / "test-hard.txt").write_text(
        "data/SNU-FILM/test/GOPRO_test/clip/000001.png data/SNU-FILM/test/GOPRO_test/clip/000009.png "
        "data/SNU-FILM/test/GOPRO_test/clip/000005.png\n")
    with pytest.raises(DataError, match=r"000009\.png' named on line 1 .* is missing: looked for .*"
                                        r"snu_film/test/GOPRO_test/clip/000009\.png"):
        open_source(f"snufilm(split=hard):{moved}", "test")


def test_snufilm_ids_stay_relative_when_lines_are_absolute_or_climb(snu, tmp_path):
    clip = snu / "data" / "SNU-FILM" / "test" / "GOPRO_test" / "clip"
    outside = tmp_path / "elsewhere"
    png(outside / "000009.png", 9)
    (snu / "data" / "x").mkdir()
    (snu / "test-hard.txt").write_text(f"{clip}/000001.png {clip}/000003.png {clip}/000005.png\n"
                                       f"{clip}/000001.png data/x/../SNU-FILM/test/GOPRO_test/clip/000002.png "
                                       f"{clip}/000005.png\n"
                                       f"{clip}/000001.png data/../../elsewhere/000009.png {clip}/000005.png\n")
    ids = open_source(f"snufilm(split=hard):{snu}", "test").ids
    assert ids[:2] == ["data/SNU-FILM/test/GOPRO_test/clip/000003", "data/SNU-FILM/test/GOPRO_test/clip/000002"]
    assert ids[2] == os.path.abspath(outside / "000009").lstrip("/")  # outside PATH: its absolute path, made relative
    assert not any(Path(sample).is_absolute() or ".." in Path(sample).parts for sample in ids)


def test_snufilm_ids_are_the_same_whichever_folder_or_line_form(snu, tmp_path):
    # The released layout read from either folder, through a symbolic link, with absolute lines: one id each.
    released = snu / "data" / "SNU-FILM"
    clip = released / "test" / "GOPRO_test" / "clip"
    (snu / "test-hard.txt").unlink()
    (released / "test-hard.txt").write_text(f"data/SNU-FILM/test/GOPRO_test/clip/000001.png {clip}/000003.png "
                                            f"data/SNU-FILM/test/GOPRO_test/clip/000005.png\n")
    link = tmp_path / "linked"
    link.symlink_to(released, target_is_directory=True)
    for path in (snu, released, link):
        assert open_source(f"snufilm(split=hard):{path}", "test").ids == ["data/SNU-FILM/test/GOPRO_test/clip/000003"]
    (released / "test-hard.txt").write_text("test/GOPRO_test/clip/000001.png test/GOPRO_test/clip/000003.png "
                                            "test/GOPRO_test/clip/000005.png\n")  # a list rewritten relative to PATH
    assert open_source(f"snufilm(split=hard):{released}", "test").ids == ["data/SNU-FILM/test/GOPRO_test/clip/000003"]


def test_xiph_triplets_are_the_reference_scripts_odd_even_triplets_of_frames_1_to_99(tmp_path):
    # EMA-VFI benchmark/Xiph.py: for intFrame in range(2, 99, 2), frames intFrame - 1 and + 1 as inputs
    root = tmp_path / "xiph"
    for clip in ("Tango", "Crosswalk"):
        for k in range(1, 104):  # frames past 099 exist in longer extractions; the scripts never read them
            (root / f"{clip}-{k:03d}.png").parent.mkdir(parents=True, exist_ok=True)
            (root / f"{clip}-{k:03d}.png").write_bytes(b"")  # listing needs no pixels
    png(root / "Tango-001.png", 1, (8, 8))
    source = open_source(f"xiph(res=4k):{root}", "test")
    assert source.ids == [f"{clip}-{k:03d}" for clip in ("Crosswalk", "Tango") for k in range(2, 99, 2)]
    assert len(source) == 2 * 49
    assert source.describe() == f"xiph(res=4k):{root}" and "centre 2048x1080" in source.loading
    assert "INTER_AREA" in open_source(f"xiph(res=2k):{root}", "test").loading
    assert [Path(p).name for p in source.refs[1].frames] == ["Crosswalk-003.png", "Crosswalk-004.png",
                                                             "Crosswalk-005.png"]
    assert [Path(p).name for p in source.refs[-1].frames] == ["Tango-097.png", "Tango-098.png", "Tango-099.png"]
    # two of the eight published clips: said, so its mean is never mistaken for a published Xiph figure
    assert len(source.notes) == 1 and "lacks BoxingPractice, DrivingPOV" in source.notes[0]
    assert "not comparable with published Xiph tables" in source.notes[0]
    for clip in ("BoxingPractice", "DrivingPOV", "FoodMarket", "FoodMarket2", "RitualDance", "SquareAndTimelapse"):
        for k in range(1, 100):
            (root / f"{clip}-{k:03d}.png").write_bytes(b"")
    assert open_source(f"xiph(res=2k):{root}", "test").notes == [] and len(open_source(f"xiph(res=2k):{root}",
                                                                                        "test")) == 392
    with pytest.raises(DataError, match=r"Tango-001\.png is 8x8 pixels; Xiph frames are 4096x2160"):
        source.load([49])
    (root / "Tango-099.png").unlink()
    with pytest.raises(DataError, match=r"Tango-099\.png is missing, and Tango lacks 1 of its frames 001-099"):
        open_source(f"xiph(res=4k):{root}", "test")
    with pytest.raises(DataError, match="needs a resolution"):
        open_source(f"xiph:{root}", "test")


def test_xiph_crop_and_resize_match_the_reference_script():
    import cv2

    rng = np.random.default_rng(0)
    levels = rng.integers(0, 256, size=(2160, 4096, 3), dtype=np.uint8)
    frame = levels.astype(np.float32) / 255.0
    np.testing.assert_array_equal(xiph_frame(frame, "4k", "f"), frame[540:-540, 1024:-1024])
    expected = cv2.resize(levels, (2048, 1080), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    np.testing.assert_array_equal(xiph_frame(frame, "2k", "f"), expected)


def published_davis_middles(n: int) -> list[int]:
    """The ground-truth frames the published DAVIS loaders score in a sequence of n frames: FLAVR's
    ``dataset/Davis_test.py`` (start t = 0, 2, … while t < n − 6, ground truth t+3) and ST-MFNet's
    ``Davis90_triplet`` (the same t, triplet t+2, t+3, t+4), written out here as they loop."""
    return [t + 3 for t in range(0, n - 6, 2)]


def test_the_published_loaders_score_22_middle_frames_of_a_50_frame_sequence():
    assert published_davis_middles(50) == list(range(3, 46, 2))


@pytest.mark.parametrize("n", [7, 8, 9, 10, 11, 50])
def test_davis_scores_the_triplets_the_published_loaders_score(tmp_path, n):
    for k in range(n):
        png(tmp_path / "bear" / f"{k:05d}.png", k)
    source = open_source(f"davis:{tmp_path}", "test")
    middles = published_davis_middles(n)
    assert source.ids == [f"bear/{m:05d}" for m in middles]
    assert [ref.frames for ref in source.refs] == [
        tuple(str(tmp_path / "bear" / f"{m + d:05d}.png") for d in (-1, 0, 1)) for m in middles]


def test_davis_nested_layout_leaves_out_sequences_too_short_for_the_loaders(tmp_path):
    base = tmp_path / "DAVIS" / "JPEGImages" / "480p"
    for k in range(9):
        png(base / "bear" / f"{k:05d}.png", k)
    for k in range(6):
        png(base / "car" / f"{k:05d}.png", 9)
    source = open_source(f"davis:{tmp_path / 'DAVIS'}", "test")
    assert source.ids == ["bear/00003", "bear/00005"]
    assert source.short_clips == [str(base / "car")]  # six frames give the loaders no triplet: `data` says so
    assert source.load([1]).i1[0, 0, 0, 0].item() == pytest.approx(6 / 255)
    for k in range(6):
        png(tmp_path / "short" / "car" / f"{k:05d}.png", k)
    with pytest.raises(DataError, match="no sequence folder with at least 7 frames"):
        open_source(f"davis:{tmp_path / 'short'}", "test")
    jpeg_images = open_source(f"davis:{tmp_path / 'DAVIS' / 'JPEGImages'}", "test")  # the folder holding 480p/
    assert jpeg_images.ids == source.ids and jpeg_images.short_clips == source.short_clips
    shutil.copytree(base, tmp_path / "copied" / "480p")  # the frames' 480p/ copied out of JPEGImages/
    assert open_source(f"davis:{tmp_path / 'copied'}", "test").ids == source.ids
    for k in range(9):  # DAVIS's segmentation masks have a 480p/ too: never read as frames
        png(tmp_path / "DAVIS" / "Annotations" / "480p" / "bear" / f"{k:05d}.png", k)
    with pytest.raises(DataError):
        open_source(f"davis:{tmp_path / 'DAVIS' / 'Annotations'}", "test")


def test_davis_jpeg_frames_decode_as_the_reference_scripts_decode_them(tmp_path):
    """DAVIS ships JPEGs; FLAVR's and ST-MFNet's loaders read them with PIL, other scripts with
    cv2.imread: vfibench's frames must be the same 8-bit levels as both, for chroma-subsampled
    (DAVIS's 4:2:0) and full-chroma files."""
    import cv2
    from skimage import data

    for subsampling in (2, 0):
        path = tmp_path / "DAVIS" / "JPEGImages" / "480p" / f"clip{subsampling}"
        path.mkdir(parents=True)
        for k in range(7):
            frame = Image.fromarray(np.roll(data.astronaut(), 7 * k, axis=1))
            frame.save(path / f"{k:05d}.jpg", quality=90, subsampling=subsampling)
        source = open_source(f"davis:{tmp_path / 'DAVIS'}", "test")
        index = source.ids.index(f"clip{subsampling}/00003")
        frames = source.load([index])
        for tensor, k in ((frames.i0, 2), (frames.it, 3), (frames.i1, 4)):
            levels = np.round(tensor[0].permute(1, 2, 0).numpy() * 255)
            with Image.open(path / f"{k:05d}.jpg") as image:
                np.testing.assert_array_equal(levels, np.asarray(image.convert("RGB")))
            np.testing.assert_array_equal(levels, cv2.cvtColor(cv2.imread(str(path / f"{k:05d}.jpg")),
                                                               cv2.COLOR_BGR2RGB))


def test_standard_sets_in_validate_inspect_and_manifests(ucf):
    root, _ = ucf
    assert validate_dataset_spec(f"ucf101:{root}", "--test-data", "test") == f"ucf101:{root}"
    assert "never resized" in describe_sources("synthetic", f"ucf101:{root}")
    assert "Xiph" not in describe_sources("synthetic", f"ucf101:{root}")  # only xiph is read as Xiph.py reads it
    assert "benchmark/Xiph.py" in describe_sources("synthetic", f"xiph(res=2k):{root}")
    result = runner.invoke(app, ["data", "validate", f"ucf101:{root}"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["data", "inspect", f"ucf101:{root}"])
    assert result.exit_code == 0 and "never resized" in result.output, result.output
    (root / "1" / "frame_02.png").unlink()
    result = runner.invoke(app, ["data", "inspect", f"ucf101:{root}"])
    assert result.exit_code == 2 and "frame_02.png is missing" in result.output


def test_vimeo_test_download_and_triplet_release_score_alike(tmp_path):
    """`eval --gt vimeo90k:` on the vimeo_interp_test download (input/ + target/, or everything under
    target/ as RIFE's script reads it) gives the table the vimeo_triplet release gives."""
    names = ["00001/0389", "00002/0001"]
    layouts = {"release": tmp_path / "vimeo_triplet", "download": tmp_path / "vimeo_interp_test",
               "rife": tmp_path / "rife" / "vimeo_interp_test"}
    for root in layouts.values():
        (root / "tri_testlist.txt").parent.mkdir(parents=True, exist_ok=True)
        (root / "tri_testlist.txt").write_text("\n".join(names) + "\n")
    for number, name in enumerate(names):
        for k in (1, 2, 3):
            value = 60 * number + 20 * k
            png(layouts["release"] / "sequences" / name / f"im{k}.png", value, (64, 32))
            png(layouts["download"] / ("target" if k == 2 else "input") / name / f"im{k}.png", value, (64, 32))
            png(layouts["rife"] / "target" / name / f"im{k}.png", value, (64, 32))
        png(tmp_path / "pred" / f"{name}.png", 60 * number + 45, (64, 32))
    tables = {}
    for layout, root in layouts.items():
        result = runner.invoke(app, ["eval", "--gt", f"vimeo90k:{root}", "--pred", f"m={tmp_path / 'pred'}",
                                     "--metrics", "psnr,ssim", "--format", "csv", "--out", str(tmp_path / layout)])
        assert result.exit_code == 0, result.output
        tables[layout] = result.stdout
    assert tables["download"] == tables["release"] == tables["rife"]
    assert tables["release"].splitlines()[1].startswith("m,evaluated,complete,1,2,")  # both samples scored


def test_eval_scores_each_vimeo_sample_against_its_own_ground_truth_and_refuses_a_repeated_one(tmp_path, monkeypatch):
    """A repeated list line once paired later predictions with earlier ground truth (exit 0, wrong scores):
    the list refuses it, and `eval` refuses any set that names a sample twice, whatever its source."""
    from vfibench.data import vimeo

    root, names = tmp_path / "vimeo_triplet", ["00001/0001", "00001/0002", "00001/0003"]
    for number, name in enumerate(names):
        for k in (1, 2, 3):
            png(root / "sequences" / name / f"im{k}.png", 40 * number + 20 * k, (32, 32))
        png(tmp_path / "pred" / f"{name}.png", 40 * number + 40, (32, 32))  # each prediction equals its truth
    args = ["eval", "--gt", f"vimeo90k:{root}", "--pred", f"m={tmp_path / 'pred'}", "--metrics", "psnr",
            "--samples", "0", "--format", "csv"]
    (root / "tri_testlist.txt").write_text("00001/0003\n00001/0001\n00001/0002\n")  # not in sorted order
    scored = runner.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert scored.exit_code == 0, scored.output
    per_sample = pd.read_csv((tmp_path / "out" / "latest").resolve() / "per_sample.csv")
    assert per_sample["psnr"].tolist() == [100.0] * 3
    (root / "tri_testlist.txt").write_text("00001/0001\n00001/0002\n00001/0001\n")
    refused = runner.invoke(app, [*args, "--out", str(tmp_path / "out2")])
    assert refused.exit_code == 2 and "Line 3 of" in refused.output and "repeats the sequence" in refused.output
    read_list = vimeo.read_list
    monkeypatch.setattr(vimeo, "read_list", lambda path: [*read_list(path), "00001/0001"])
    (root / "tri_testlist.txt").write_text("00001/0001\n00001/0002\n")
    refused = runner.invoke(app, [*args, "--out", str(tmp_path / "out3")])
    assert refused.exit_code == 2 and "names the sample 00001/0001 more than once" in refused.output, refused.output


@pytest.mark.parametrize(("spec", "layout"), [
    *((spec, "flat") for spec in ("ucf101", "middlebury", "snufilm(split=hard)", "xiph(res=4k)", "davis")),
    *((spec, "export") for spec in ("ucf101", "middlebury", "snufilm(split=hard)", "xiph(res=4k)")),
])  # a folder of frame folders (an export) is a DAVIS layout
def test_a_folder_without_the_sets_layout_is_named_as_such_with_the_kind_that_fits(
        tmp_path: Path, spec: str, layout: str) -> None:
    kind = spec.split("(")[0]
    if layout == "flat":  # a folder of frames
        for k in range(4):
            png(tmp_path / f"{k:04d}.png", 10 * k)
        fits = "image files, read as consecutive frames"
    else:  # what `vfibench data export` writes
        for folder in ("00000", "00001"):
            for name in ("im1.png", "im2.png", "im3.png"):
                png(tmp_path / folder / name, 0)
        fits = "im1.png, im2.png, im3.png"
    with pytest.raises(DataError) as error:
        open_source(f"{spec}:{tmp_path}", "test")
    message = str(error.value)
    assert f"does not look like a {kind} folder" in message and "restore" not in message.lower()
    assert f"try frames:{tmp_path} (" in message and fits in message


def test_a_kind_is_suggested_only_when_the_folder_has_its_whole_layout(tmp_path: Path) -> None:
    """Middlebury needs both other-data/ and other-gt-interp/ (or subfolders of its three frames), Xiph three
    <Clip>-<NNN>.png frames, an export all three of im1.png, im2.png, im3.png; DAVIS is suggested for its
    JPEGImages/ folder itself too."""
    from vfibench.data.layouts import guess_specs

    def kinds(folder: Path) -> list[str]:
        return [spec.split(":")[0] for spec, _ in guess_specs(folder)]

    (tmp_path / "mb" / "other-data").mkdir(parents=True)
    assert "middlebury" not in kinds(tmp_path / "mb")
    (tmp_path / "mb" / "other-gt-interp").mkdir()
    assert kinds(tmp_path / "mb")[0] == "middlebury"
    for k in range(2):
        png(tmp_path / "xiph" / f"Clip-{k:03d}.png", k)
    assert kinds(tmp_path / "xiph") == ["frames"]
    png(tmp_path / "xiph" / "Clip-002.png", 2)
    assert kinds(tmp_path / "xiph") == ["xiph(res=4k)", "frames"]
    png(tmp_path / "JPEGImages" / "480p" / "bear" / "00000.jpg", 0)
    assert kinds(tmp_path / "JPEGImages")[0] == "davis"
    png(tmp_path / "partial" / "Venus" / "frame10.png", 0)
    png(tmp_path / "partial" / "00001" / "im1.png", 0)
    clips = "its subfolders hold image files, read as clips of consecutive frames"
    assert guess_specs(tmp_path / "partial") == [(f"frames:{tmp_path / 'partial'}", clips)]


def test_a_vimeo_release_without_its_lists_and_a_folder_of_videos_are_suggested_as_such(
        tmp_path: Path) -> None:
    from vfibench.data.layouts import guess_specs

    (tmp_path / "release" / "sequences" / "00001" / "0001").mkdir(parents=True)
    assert guess_specs(tmp_path / "release")[0] == (f"vimeo90k:{tmp_path / 'release'}",
                                                    "it has Vimeo-90K's lists or sequences/")
    (tmp_path / "videos").mkdir()
    for name in ("b.mp4", "a.mkv", "notes.txt"):
        (tmp_path / "videos" / name).write_bytes(b"")
    first_video = tmp_path / "videos" / "a.mkv"
    assert guess_specs(tmp_path / "videos") == [(f"video:{first_video}", "it holds video files")]


def test_a_folder_of_another_layout_suggests_the_two_likeliest_other_kinds_never_the_one_given(
        tmp_path: Path) -> None:
    from vfibench.data.layouts import not_a_layout

    for name in ("other-data", "other-gt-interp"):
        (tmp_path / name).mkdir()
    for k in range(3):
        png(tmp_path / f"Clip-{k:03d}.png", k)
    message = str(not_a_layout("middlebury", tmp_path, "other-data/ and other-gt-interp/"))
    hint = message.split("It may be another kind of source: try ")[1]
    xiph = f"xiph(res=4k):{tmp_path} (it holds frames named <Clip>-<NNN>.png)"
    assert hint.startswith(f"{xiph}; frames:{tmp_path} (")
    assert "middlebury:" not in hint


def test_middlebury_the_twelve_sequences_of_the_reference_scripts_are_comparable(tmp_path):
    """RIFE's MiddleBury_Other.py and IFRNet's Middlebury_Other.py score these twelve "other" sequences
    (the ones with interpolated ground truth), written out here as the scripts list them."""
    published = ["Beanbags", "Dimetrodon", "DogDance", "Grove2", "Grove3", "Hydrangea", "MiniCooper",
                 "RubberWhale", "Urban2", "Urban3", "Venus", "Walking"]
    root = tmp_path / "mb"
    for seq in published:
        for folder, name in (("other-data", "frame10.png"), ("other-gt-interp", "frame10i11.png"),
                             ("other-data", "frame11.png")):
            png(root / folder / seq / name, 0, (8, 8))
    source = open_source(f"middlebury:{root}", "test")
    assert source.ids == published and source.notes == []
    for folder in ("other-data", "other-gt-interp"):
        shutil.rmtree(root / folder / "Grove2")
    [note] = open_source(f"middlebury:{root}", "test").notes
    assert "lacks Grove2," in note and note.endswith("which score the 12 sequences.")  # not named twice


def test_snufilm_a_ground_truth_listed_on_two_lines_is_scored_on_both(snu):
    """The reference scripts score every line of the list; a frame that is the ground truth of two lines
    gives two samples, each with its own id (the later one tagged with its line number)."""
    rel = "data/SNU-FILM/test/GOPRO_test/clip"
    (snu / "test-hard.txt").write_text(f"{rel}/000001.png {rel}/000003.png {rel}/000005.png\n"
                                       f"{rel}/000002.png {rel}/000004.png {rel}/000005.png\n"
                                       f"{rel}/000002.png {rel}/000003.png {rel}/000004.png\n")
    source = open_source(f"snufilm(split=hard):{snu}", "test")
    assert source.ids == [f"{rel}/000003", f"{rel}/000004", f"{rel}/000003@3"]
    triplets = source.load([0, 2])
    assert [round(float(v) * 255) for v in triplets.i0[:, 0, 0, 0]] == [1, 2]
    assert [round(float(v) * 255) for v in triplets.it[:, 0, 0, 0]] == [3, 3]
    assert [round(float(v) * 255) for v in triplets.i1[:, 0, 0, 0]] == [5, 4]


def test_xiph_clips_are_read_in_name_order_whatever_order_the_folder_lists_them(tmp_path):
    root = tmp_path / "xiph"
    root.mkdir()
    clips = ("RitualDance", "Crosswalk", "Tango", "BoxingPractice", "FoodMarket2", "DrivingPOV")  # not in name order
    for clip in clips:
        for k in range(1, 100):
            (root / f"{clip}-{k:03d}.png").write_bytes(b"")  # listing needs no pixels
    source = open_source(f"xiph(res=4k):{root}", "test")
    assert source.ids == [f"{clip}-{k:03d}" for clip in sorted(clips) for k in range(2, 99, 2)]


def test_the_grids_of_an_evaluation_against_a_set_show_each_samples_own_inputs_in_order(ucf, tmp_path):
    """`eval --gt ucf101:PATH`: a grid's I0 column shows the sample's first frame, its I1 column the last,
    and its ground truth the middle one, read from the set as the evaluation scored them."""
    from vfibench.results.frames import frame_source
    from vfibench.results.store import RunStore

    root, frames = ucf
    (tmp_path / "pred").mkdir()
    manifest = {"tool": "vfibench", "kind": "eval", "gt_spec": f"ucf101:{root}",
                "sources": {"m": str(tmp_path / "pred")}, "files": ["1", "2", "10"]}
    source, reason = frame_source(RunStore(tmp_path), manifest)
    assert source is not None, reason
    for sample, name in enumerate(("1", "2", "10")):
        first, middle, last = frames[name]
        i0, i1 = source.inputs(sample)
        np.testing.assert_allclose(i0, first, atol=1e-6)
        np.testing.assert_allclose(i1, last, atol=1e-6)
        np.testing.assert_allclose(source.gt(sample), middle, atol=1e-6)
