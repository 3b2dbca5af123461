"""Real-dataset loaders (vimeo90k, frames, video) and the dataset spec, on fixtures built in tmp_path.

Every fixture frame k carries its number in the blue channel (20·k + 10 everywhere), so a test
can tell which frame landed where; red and green hold a pattern that moves 2 px per frame.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vfibench.data.frames import FramesSource, natural_key
from vfibench.data.images import Fit, fit_frames, read_image
from vfibench.data.sources import (DatasetSpec, content_overlap, frames_seen_in_training, open_dataset, open_source,
                                   parse_dataset_spec)
from vfibench.data.synthetic import make_synthetic
from vfibench.data.triplet_source import select_indices
from vfibench.errors import DataError

H, W = 40, 56


def frame_array(k: int, h: int = H, w: int = W) -> np.ndarray:
    """uint8 (h, w, 3): a texture moved 2k px right in red/green, blue = 20k + 10."""
    ys, xs = np.mgrid[0:h, 0:w]
    texture = (np.sin((xs - 2 * k) / 3.0) * np.cos(ys / 4.0) + 1) * 110
    image = np.empty((h, w, 3), dtype=np.uint8)
    image[..., 0] = texture.astype(np.uint8)
    image[..., 1] = (255 - texture).astype(np.uint8)
    image[..., 2] = 20 * k + 10
    return image


def blue_code(frames: torch.Tensor) -> list[int]:
    """The frame numbers encoded in a (N, 3, H, W) batch's blue channel."""
    return [round((float(v) * 255 - 10) / 20) for v in frames[:, 2].mean(dim=(1, 2))]


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def make_clip(folder: Path, n: int, name: str = "frame{k}.png", h: int = H, w: int = W) -> list[Path]:
    """n frames named frame0.png … frame{n-1}.png (unpadded numbers: natural order matters)."""
    return [write_png(folder / name.format(k=k), frame_array(k, h, w)) for k in range(n)]


def make_vimeo(root: Path) -> Path:
    """A Vimeo-90K layout: train = 00001/0001, 00001/0002; test = 00002/0001. Sequence j's frames are 3j, 3j+1, 3j+2."""
    lists = {"tri_trainlist.txt": ["00001/0001", "00001/0002"], "tri_testlist.txt": ["00002/0001"]}
    number = 0
    for list_name, names in lists.items():
        (root / list_name).parent.mkdir(parents=True, exist_ok=True)
        (root / list_name).write_text("\n".join(names) + "\n\n")
        for name in names:
            for i in range(3):
                write_png(root / "sequences" / name / f"im{i + 1}.png", frame_array(3 * number + i, 256 // 4, 448 // 4))
            number += 1
    return root


def make_video(path: Path, n: int, h: int = H, w: int = W) -> Path:
    """An n-frame lossless (PNG-codec) video of frame_array(0..n-1)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("png", rate=10)
        stream.width, stream.height, stream.pix_fmt = w, h, "rgb24"
        for k in range(n):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame_array(k, h, w), format="rgb24")))
        container.mux(stream.encode())
    return path


# ---------------------------------------------------------------------------------- the spec


@pytest.mark.parametrize(("spec", "expected"), [
    ("synthetic", DatasetSpec("synthetic")),
    ("Synthetic(max_motion=0.1, t=0.25)", DatasetSpec("synthetic", None, {"max_motion": 0.1, "t": 0.25})),
    ("vimeo90k:/data/vimeo_triplet", DatasetSpec("vimeo90k", Path("/data/vimeo_triplet"))),
    ("frames(stride=2):/a/b:c", DatasetSpec("frames", Path("/a/b:c"), {"stride": 2})),
    ("video( size=64 , fit=crop ):clip.mp4", DatasetSpec("video", Path("clip.mp4"), {"size": 64, "fit": "crop"})),
])
def test_specs_parse(spec: str, expected: DatasetSpec) -> None:
    assert parse_dataset_spec(spec) == expected


def test_canonical_spec_sorts_options() -> None:
    assert parse_dataset_spec("video(stride=2,fit=crop):c.mp4").canonical == "video(fit=crop, stride=2):c.mp4"


@pytest.mark.parametrize(("spec", "needle"), [
    ("vimeo:/x", "Did you mean 'vimeo90k'"),
    ("synthetic:/x", "takes none"),
    ("synthetic:", "takes none"),  # a path left empty (f"{kind}:{path}") is still one
    ("frames", "needs a path"),
    ("frames(stride=two):/x", "not an integer"),
    ("frames(stride=1_0):/x", "not an integer"),  # int() reads 10
    ("frames(max_motion=0.1):/x", "not an option of frames"),
    ("video(fit):/x", "key=value"),
    ("synthetic(size=32, size=48)", "gives the option size twice, with different values"),
])
def test_bad_specs_say_what_is_wrong(spec: str, needle: str) -> None:
    with pytest.raises(DataError, match=needle.replace("(", r"\(")):
        parse_dataset_spec(spec)


def test_an_option_repeated_with_its_value_is_one_option() -> None:
    assert parse_dataset_spec("synthetic(count=2,count=2)") == parse_dataset_spec("synthetic(count=2)")


def test_a_bare_folder_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"frames:{tmp_path}"):
        parse_dataset_spec(str(tmp_path))


def test_spec_options_override_keyword_arguments() -> None:
    batch = open_dataset("synthetic(max_motion=0.05)", "train", count=3, size=32, max_motion=0.4)
    assert torch.equal(batch.it, make_synthetic("train", 3, size=32, max_motion=0.05).it)


# --------------------------------------------------------------------------------- synthetic


def test_synthetic_spec_equals_make_synthetic() -> None:
    batch = open_dataset("synthetic", "test", count=4, size=32, seed=2, max_motion=0.2)
    reference = make_synthetic("test", 4, size=32, seed=2, max_motion=0.2)
    for a, b in ((batch.i0, reference.i0), (batch.it, reference.it), (batch.i1, reference.i1), (batch.t, reference.t)):
        assert torch.equal(a, b)


def test_synthetic_subset_renders_the_same_scenes() -> None:
    source = open_source("synthetic", "train", count=6, size=32, seed=1)
    subset, full = source.load([1, 4], None, Fit.resize), make_synthetic("train", 6, size=32, seed=1)
    assert torch.equal(subset.it, full.it[[1, 4]]) and torch.equal(subset.i0, full.i0[[1, 4]])
    assert "scene 4" in source.refs[4].frames[0]


def test_synthetic_needs_a_count() -> None:
    with pytest.raises(DataError, match="count"):
        open_dataset("synthetic", "train")


# ----------------------------------------------------------------------------------- vimeo90k


@pytest.fixture
def layouts(tmp_path: Path) -> Path:
    """data/ holding a Vimeo-90K release, two clips of 9 frames (a/, b/: 7 triplets each, or 2 as DAVIS
    sequences), and a video of 5 frames beside them."""
    data = tmp_path / "data"
    make_vimeo(data / "vimeo")
    for clip, first in (("a", 0), ("b", 4)):
        for k in range(9):
            write_png(data / "clips" / clip / f"{k:05d}.png", frame_array(first + k, 16, 16))
    make_video(data / "clips" / "clip.mp4", 5)
    (data / "link").symlink_to(data / "clips" / "a")
    return data


@pytest.mark.parametrize("spec, options", [
    ("frames:{d}/clips", {"count": 9, "size": 16}),                    # a seeded subset of 14 triplets
    ("frames(stride=2, fit=crop):{d}/clips/a", {"size": 16}),
    ("video:{d}/clips/clip.mp4", {"size": 16}),
    ("davis:{d}/clips", {"size": 32}),                                 # a test set: native size, whatever asked
    ("vimeo90k:{d}/vimeo", {"size": 32}),
    ("synthetic(ambiguity=0.3)", {"count": 7, "size": 32}),
])
def test_a_selection_reads_any_of_its_triplets_exactly_as_the_whole_split_loads_them(layouts: Path, spec: str,
                                                                                      options: dict) -> None:
    """A report draws a few test samples of a run: it reads only those, and they must be the frames scored."""
    from vfibench.data.sources import select_dataset

    spec = spec.format(d=layouts)
    whole = open_dataset(spec, "test", seed=3, **options)
    selection = select_dataset(spec, "test", seed=3, **options)
    assert len(selection) == len(whole)
    rows = [0, len(whole) - 1] if len(whole) > 1 else [0]
    part = selection.load(rows)
    for name in ("i0", "it", "i1", "t"):
        assert torch.equal(getattr(part, name), getattr(whole, name)[rows]), name


@pytest.mark.parametrize("train, test, seen", [
    ("frames:{d}/clips/a", "frames:{d}/clips/a", (7, 7)),
    ("frames:{d}/clips/a", "frames(stride=2):{d}/clips/a", (5, 5)),    # the same frames, read otherwise
    ("davis:{d}/clips", "davis:{d}/clips", (4, 4)),                     # a standard set has no training split
    ("frames:{d}/clips/a", "davis:{d}/clips", (2, 4)),                  # one folder read as two kinds of source
    ("frames:{d}/clips", "frames:{d}/clips/b", (7, 7)),                 # a folder of clips and one of them
    ("frames:{d}/link", "frames:{d}/clips/a", (7, 7)),                  # a link to the same folder
    ("frames:{d}/clips/a", "frames:{d}/clips/b", (0, 7)),
    ("video:{d}/clips/clip.mp4", "frames:{d}/clips", (0, 14)),          # a video beside a frames folder
    ("video:{d}/clips/clip.mp4", "video(stride=2):{d}/clips/clip.mp4", (1, 1)),
    ("vimeo90k:{d}/vimeo", "vimeo90k:{d}/vimeo", (0, 1)),               # its lists split it
    ("vimeo90k:{d}/vimeo", "frames:{d}/vimeo/sequences/00001", (2, 2)), # training sequences read as clips
    ("synthetic", "frames:{d}/clips/a", (0, 0)),
])
def test_a_sweep_tests_on_content_it_trained_on_whenever_the_splits_read_the_same_frames(
        layouts: Path, train: str, test: str, seen: tuple[int, int]) -> None:
    assert frames_seen_in_training(train.format(d=layouts), test.format(d=layouts)) == seen


def test_the_overlap_clause_names_one_source_or_counts_the_shared_test_triplets(layouts: Path) -> None:
    clip = f"frames:{layouts}/clips/a"
    assert content_overlap(clip, clip) == (f"training and test triplets come from the same source ({clip}), which "
                                           f"has no split of its own: test scores are not on unseen content")
    assert content_overlap(clip, f"davis:{layouts}/clips") == (
        f"2 of the 4 test triplets (davis:{layouts}/clips) read frames the training data ({clip}) also reads: "
        f"their scores are not on unseen content")
    assert content_overlap(clip, f"frames:{layouts}/clips/b") is None


def test_vimeo_splits_follow_the_lists(tmp_path: Path) -> None:
    root = make_vimeo(tmp_path / "vimeo_triplet")
    train = open_dataset(f"vimeo90k:{root}", "train")
    test = open_dataset(f"vimeo90k:{tmp_path}", "test")  # the parent of vimeo_triplet/ works too
    assert train.i0.shape == (2, 3, 64, 112) and test.it.shape == (1, 3, 64, 112)
    assert blue_code(train.i0) == [0, 3] and blue_code(train.it) == [1, 4] and blue_code(train.i1) == [2, 5]
    assert blue_code(test.it) == [7] and test.t.tolist() == [0.5]
    assert train.i0.dtype == torch.float32 and 0 <= float(train.i0.min()) and float(train.i0.max()) <= 1


def test_a_vimeo_test_list_of_another_length_than_the_released_3782_is_noted(tmp_path: Path, monkeypatch) -> None:
    from vfibench.data import vimeo

    root = make_vimeo(tmp_path / "vimeo_triplet")
    [note] = open_source(f"vimeo90k:{root}", "test").notes
    assert note == (f"vimeo90k:{root} holds 1 triplet, so its mean is not comparable with published Vimeo-90K "
                    "tables, which score all 3,782 triplets.")
    assert open_source(f"vimeo90k:{root}", "train").notes == []  # training data is not compared with tables
    monkeypatch.setattr(vimeo, "TEST_TRIPLETS", 1)
    assert open_source(f"vimeo90k:{root}", "test").notes == []


def make_vimeo_test_download(root: Path, merged: bool = False) -> Path:
    """The vimeo_interp_test layout of make_vimeo's test split: im1, im3 under input/, im2 under target/
    (``merged``: all three under target/, no input/, as RIFE's script expects)."""
    (root / "target").mkdir(parents=True)
    (root / "tri_testlist.txt").write_text("00002/0001\n")
    for i in range(3):
        folder = "target" if merged or i == 1 else "input"
        write_png(root / folder / "00002" / "0001" / f"im{i + 1}.png", frame_array(6 + i, 256 // 4, 448 // 4))
    return root


@pytest.mark.parametrize("merged", [False, True])
def test_vimeo_test_download_gives_the_triplet_releases_test_split(tmp_path: Path, merged: bool) -> None:
    release = open_dataset(f"vimeo90k:{make_vimeo(tmp_path / 'vimeo_triplet')}", "test")
    download = make_vimeo_test_download(tmp_path / "dl" / "vimeo_interp_test", merged)
    for spec in (f"vimeo90k:{download}", f"vimeo90k:{download.parent}"):  # the parent folder works too
        test = open_dataset(spec, "test")
        for frames in ("i0", "it", "i1"):
            assert torch.equal(getattr(test, frames), getattr(release, frames)), frames
    assert [ref.name for ref in open_source(f"vimeo90k:{download}", "test").refs] == ["00002/0001"]


def test_vimeo_test_download_refuses_training_and_names_missing_frames(tmp_path: Path) -> None:
    download = make_vimeo_test_download(tmp_path / "vimeo_interp_test")
    with pytest.raises(DataError, match="holds only the test split"):
        open_dataset(f"vimeo90k:{download}", "train")
    missing = download / "input" / "00002" / "0001" / "im1.png"
    missing.unlink()
    with pytest.raises(DataError, match=f"{missing} of the first listed sequence.*im1 and im3 are read from input/"):
        open_dataset(f"vimeo90k:{download}", "test")
    (download / "input").rename(download / "elsewhere")  # now read as RIFE's script reads it: all from target/
    with pytest.raises(DataError, match="without input/.*restore input/"):
        open_dataset(f"vimeo90k:{download}", "test")
    (download / "target").rename(download / "target_moved")
    with pytest.raises(DataError, match="neither sequences/"):
        open_dataset(f"vimeo90k:{download}", "test")


def test_vimeo_parent_folder_picks_the_release_that_has_the_split(tmp_path: Path) -> None:
    (tmp_path / "vimeo_triplet" / "sequences").mkdir(parents=True)  # unpacked, lists not there
    download = make_vimeo_test_download(tmp_path / "vimeo_interp_test")
    assert open_dataset(f"vimeo90k:{tmp_path}", "test").it.shape == (1, 3, 64, 112)
    with pytest.raises(DataError, match=str(tmp_path / "vimeo_triplet" / "tri_trainlist.txt")):
        open_dataset(f"vimeo90k:{tmp_path}", "train")
    (download / "target" / "tri_testlist.txt").write_text("00002/0001\n")  # the list copied into target/
    with pytest.raises(DataError, match="pass its parent"):
        open_dataset(f"vimeo90k:{download / 'target'}", "test")


def test_a_vimeo_list_line_is_read_as_the_reference_scripts_join_it_and_a_repeated_one_is_refused(
        tmp_path: Path) -> None:
    from vfibench.data.vimeo import read_list

    listed = tmp_path / "tri_testlist.txt"
    listed.write_text("\ufeff00001/0001\r\n00001/0002/\n\n", encoding="utf-8")  # a BOM, CRLF, a trailing slash
    assert read_list(listed) == ["00001/0001", "00001/0002"]
    listed.write_text("00001/0001\n00001/0002\n\n00001/0001/\n")
    with pytest.raises(DataError, match=r"Line 4 of .* repeats the sequence 00001/0001 of line 1\..*delete the "
                                        r"repeated line"):
        read_list(listed)


def test_vimeo_missing_list_names_the_file(tmp_path: Path) -> None:
    root = make_vimeo(tmp_path)
    (root / "tri_testlist.txt").unlink()
    with pytest.raises(DataError, match="tri_testlist.txt"):
        open_dataset(f"vimeo90k:{root}", "test")


def test_vimeo_missing_frame_names_the_file(tmp_path: Path) -> None:
    root = make_vimeo(tmp_path)
    missing = root / "sequences" / "00001" / "0002" / "im3.png"
    missing.unlink()
    with pytest.raises(DataError, match=str(missing)):
        open_dataset(f"vimeo90k:{root}", "train")


def test_vimeo_bad_list_line_and_missing_folder(tmp_path: Path) -> None:
    root = make_vimeo(tmp_path)
    (root / "tri_trainlist.txt").write_text("00001/0001\n../../etc\n")
    with pytest.raises(DataError, match="Line 2"):
        open_dataset(f"vimeo90k:{root}", "train")
    with pytest.raises(DataError, match="does not exist"):
        open_dataset(f"vimeo90k:{tmp_path / 'nowhere'}", "train")


# ------------------------------------------------------------------------------------- frames


def test_frames_triplets_use_natural_order_and_stride(tmp_path: Path) -> None:
    make_clip(tmp_path, 12)  # frame0.png … frame11.png: plain sorting would put frame10 after frame1
    batch = open_dataset(f"frames:{tmp_path}", "test")
    assert len(batch) == 10 and blue_code(batch.i0) == list(range(10)) and blue_code(batch.i1) == list(range(2, 12))
    strided = open_dataset(f"frames(stride=3):{tmp_path}", "test")
    assert len(strided) == 6
    assert blue_code(strided.i0)[:2] == [0, 1] and blue_code(strided.it)[:2] == [3, 4] and blue_code(strided.i1)[:2] == [6, 7]


def test_frames_folder_of_clips_never_spans_two_clips(tmp_path: Path) -> None:
    make_clip(tmp_path / "a", 4)
    make_clip(tmp_path / "b", 3)
    make_clip(tmp_path / "c", 2)  # too short: no triplet
    source = open_source(f"frames:{tmp_path}", "train")
    # named after the middle frame, the frame a model interpolates
    assert [ref.name for ref in source.refs] == ["a/frame1", "a/frame2", "b/frame1"]
    assert all(Path(f).parent.name == ref.name[0] for ref in source.refs for f in ref.frames)


def test_frames_of_one_name_in_two_formats_are_refused(tmp_path: Path) -> None:
    make_clip(tmp_path, 3)
    write_png(tmp_path / "frame1.jpg", frame_array(1, H, W))
    with pytest.raises(DataError, match="frame1.jpg and .*frame1.png have the same name"):
        open_source(f"frames:{tmp_path}", "test")


def test_floating_point_frames_are_refused_not_clipped(tmp_path: Path) -> None:
    Image.fromarray(frame_array(1, H, W)[:, :, 0].astype(np.float32) / 255).save(tmp_path / "frame1.tiff")
    with pytest.raises(DataError, match="frame1.tiff could not be read.*floating-point"):
        read_image(tmp_path / "frame1.tiff")


def test_native_resolution_is_cropped_to_a_multiple_of_16(tmp_path: Path) -> None:
    make_clip(tmp_path, 3)
    batch = open_dataset(f"frames:{tmp_path}", "test")
    assert batch.i0.shape == (1, 3, 32, 48)  # 40x56 → centre 32x48, no resampling
    full = torch.from_numpy(read_image(tmp_path / "frame0.png")).permute(2, 0, 1)
    assert torch.equal(batch.i0[0], full[:, 4:36, 4:52])


def test_resize_keeps_the_whole_scene_and_crop_keeps_native_pixels(tmp_path: Path) -> None:
    make_clip(tmp_path, 3)
    striped = frame_array(0).copy()
    striped[:, 8:12, :2] = 255  # red and green together reach 255 only in this stripe, near the left edge
    write_png(tmp_path / "frame0.png", striped)
    resized = open_dataset(f"frames:{tmp_path}", "test", size=20)
    cropped = open_dataset(f"frames(fit=crop):{tmp_path}", "test", size=20)
    assert resized.i0.shape == cropped.i0.shape == (1, 3, 20, 20)
    full = torch.from_numpy(read_image(tmp_path / "frame0.png")).permute(2, 0, 1)
    assert torch.equal(cropped.i0[0], full[:, 10:30, 18:38])
    expected = fit_frames([read_image(tmp_path / "frame0.png")], 20, Fit.resize, "x")[0]  # 40x56 → 20x28 → 20x20
    assert torch.equal(resized.i0[0], expected)
    assert float(resized.i0[0, 2].std()) < 1e-6  # a flat channel stays flat through antialiased resizing

    def stripe_columns(frame: torch.Tensor) -> list[int]:
        return torch.nonzero(frame[:2].mean(dim=1).amin(dim=0) > 0.9).flatten().tolist()

    # 40x56 halves to 20x28, whose centre 20 columns are the original 8..48: the stripe (8..12) is kept
    # at the left edge; the crop keeps native columns 18..38 and loses it
    assert stripe_columns(resized.i0[0]) == [0, 1] and stripe_columns(cropped.i0[0]) == []


def test_an_odd_excess_is_cropped_one_pixel_more_at_the_end_than_at_the_start(tmp_path: Path) -> None:
    make_clip(tmp_path, 3, h=41, w=57)  # 41x57 → 32x48: 9 rows and 9 columns too many
    batch = open_dataset(f"frames:{tmp_path}", "test")
    full = torch.from_numpy(read_image(tmp_path / "frame0.png")).permute(2, 0, 1)
    assert torch.equal(batch.i0[0], full[:, 4:36, 4:52])


def test_resize_keeps_the_aspect_ratio_to_the_nearest_pixel(tmp_path: Path) -> None:
    import torch.nn.functional as F

    make_clip(tmp_path, 3, w=58)  # 40x58 at size 24: 24x34.8, resized to 24x35, then columns 5..29 kept
    batch = open_dataset(f"frames:{tmp_path}", "test", size=24)
    full = torch.from_numpy(read_image(tmp_path / "frame0.png")).permute(2, 0, 1)[None]
    resized = F.interpolate(full, size=(24, 35), mode="bilinear", align_corners=False, antialias=True)
    assert torch.equal(batch.i0[0], resized[0, :, :, 5:29].clamp(0, 1))


def test_frames_are_never_enlarged(tmp_path: Path) -> None:
    make_clip(tmp_path, 3)
    with pytest.raises(DataError, match="smaller than the requested size 64"):
        open_dataset(f"frames:{tmp_path}", "test", size=64)


def test_a_frame_exactly_the_requested_size_is_used_as_it_is(tmp_path: Path) -> None:
    make_clip(tmp_path, 3)  # 40x56
    full = torch.from_numpy(read_image(tmp_path / "frame0.png")).permute(2, 0, 1)
    for fit in ("resize", "crop"):  # the shorter side already is the size: a centre crop, no resampling
        batch = open_dataset(f"frames(fit={fit}):{tmp_path}", "test", size=H)
        assert torch.equal(batch.i0[0], full[:, :, 8:48]), fit


def test_mismatched_frame_names_the_odd_file(tmp_path: Path) -> None:
    make_clip(tmp_path, 3)
    odd = write_png(tmp_path / "frame1.png", frame_array(1, H, W + 8))
    with pytest.raises(DataError, match=f"{odd}.*same size"):
        open_dataset(f"frames:{tmp_path}", "test")


def test_unreadable_frame_names_the_file(tmp_path: Path) -> None:
    make_clip(tmp_path, 3)
    (tmp_path / "frame2.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match=f"{tmp_path / 'frame2.png'}.*could not be read"):
        open_dataset(f"frames:{tmp_path}", "test")


def test_an_unreadable_frame_says_why_once_and_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reason is the reader's, without the path the message already names; a file this user may
    not read is told to get permission, not to be re-exported; the error crosses processes intact."""
    import pickle

    from vfibench.data.images import UnreadableFrame

    garbage = tmp_path / "frame2.png"
    garbage.write_bytes(b"not a png at all")
    with pytest.raises(UnreadableFrame) as raised:
        read_image(garbage)
    assert raised.value.cause == "cannot identify image file" and str(garbage) in str(raised.value)
    assert str(pickle.loads(pickle.dumps(raised.value))) == str(raised.value)

    def refuse(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Image, "open", refuse)
    with pytest.raises(UnreadableFrame) as raised:
        read_image(garbage)
    assert raised.value.cause == "Permission denied" and "read permission" in raised.value.remedy
    assert "re-export" not in str(raised.value)


def test_a_frame_gone_since_the_folder_was_listed_is_said_not_to_exist(tmp_path: Path) -> None:
    """Not taken for a damaged file: the advice is to check the dataset, not to re-export the frame."""
    from vfibench.data.images import UnreadableFrame

    make_clip(tmp_path, 3)
    source = open_source(f"frames:{tmp_path}", "test")
    (tmp_path / "frame1.png").unlink()
    with pytest.raises(DataError, match=re.escape(f"The frame {tmp_path / 'frame1.png'} does not exist.")) as raised:
        source.load([0], None, Fit.resize)
    assert not isinstance(raised.value, UnreadableFrame)


def test_clips_of_different_sizes_need_a_size(tmp_path: Path) -> None:
    make_clip(tmp_path / "a", 3)
    make_clip(tmp_path / "b", 3, h=H + 16)
    with pytest.raises(DataError, match="Pass a size"):
        open_dataset(f"frames:{tmp_path}", "test")
    assert open_dataset(f"frames:{tmp_path}", "test", size=32).i0.shape == (2, 3, 32, 32)


def test_frames_layout_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="holds no frames"):
        open_dataset(f"frames:{tmp_path}", "test")
    make_clip(tmp_path, 2)
    with pytest.raises(DataError, match="needs at least 3 frames"):
        open_dataset(f"frames:{tmp_path}", "test")
    with pytest.raises(DataError, match="is a file"):
        open_dataset(f"frames:{tmp_path / 'frame0.png'}", "test")


def test_grey_and_rgba_frames_become_rgb(tmp_path: Path) -> None:
    write_png(tmp_path / "grey.png", np.full((16, 16), 51, dtype=np.uint8))
    rgba = np.zeros((16, 16, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 7
    write_png(tmp_path / "rgba.png", rgba)
    Image.fromarray(np.full((16, 16), 65535, dtype=np.uint16)).save(tmp_path / "deep.png")
    grey = read_image(tmp_path / "grey.png")
    assert grey.shape == (16, 16, 3) and grey.max() == np.float32(0.2)
    assert read_image(tmp_path / "rgba.png")[0, 0].tolist() == [1.0, 0.0, 0.0]
    assert read_image(tmp_path / "deep.png").min() == 1.0


def test_a_16_bit_grey_netpbm_frame_keeps_its_16_bit_levels(tmp_path: Path) -> None:
    levels = np.tile(np.array([0, 257, 40000, 65535], dtype=">u2"), (16, 4))  # 16x16
    path = tmp_path / "frame0.ppm"  # netpbm P5 at 16 bits, which Pillow opens as 32-bit integer pixels
    path.write_bytes(b"P5\n16 16\n65535\n" + levels.tobytes())
    image = read_image(path)
    assert image.shape == (16, 16, 3) and np.array_equal(image[..., 0], image[..., 2])
    np.testing.assert_allclose(image[..., 1], levels.astype(np.float32) / 65535, atol=1e-7)


def test_natural_key_orders_numbers_as_numbers() -> None:
    assert sorted(["f10.png", "f2.png", "f1.png"], key=natural_key) == ["f1.png", "f2.png", "f10.png"]


# -------------------------------------------------------------------------------------- video


def test_video_triplets_match_the_frames(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mov", 9)
    batch = open_dataset(f"video:{video}", "test")
    assert len(batch) == 7 and batch.i0.shape == (7, 3, 32, 48)
    assert blue_code(batch.i0) == list(range(7)) and blue_code(batch.it) == list(range(1, 8))
    expected = fit_frames([frame_array(4).astype(np.float32) / 255], None, Fit.resize, "x")[0]
    assert torch.equal(batch.it[3], expected)  # lossless: exactly the encoded frame
    strided = open_dataset(f"video(stride=2, size=24):{video}", "test", count=3, seed=5)
    assert len(strided) == 3 and strided.i0.shape == (3, 3, 24, 24)
    i0 = blue_code(strided.i0)
    assert blue_code(strided.it) == [k + 2 for k in i0] and blue_code(strided.i1) == [k + 4 for k in i0]
    assert i0 == sorted(i0)
    # each triplet is named after its middle frame's number, the frame a model predicts
    assert [ref.name for ref in open_source(f"video(stride=2):{video}", "test").refs][:2] == ["000002", "000003"]


def test_video_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        open_dataset(f"video:{tmp_path / 'missing.mp4'}", "test")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x01garbage" * 50)
    with pytest.raises(DataError, match=str(broken)):
        open_dataset(f"video:{broken}", "test")
    short = make_video(tmp_path / "short.mov", 4)
    with pytest.raises(DataError, match="has 4 frames; with stride 2 a triplet needs 5"):
        open_dataset(f"video(stride=2):{short}", "test")
    still = make_video(tmp_path / "still.mov", 1)  # or a picture: FFmpeg reads a PNG as a one-frame video
    with pytest.raises(DataError, match="has 1 frame; with stride 1 a triplet needs 3"):
        open_dataset(f"video:{still}", "test")


# ------------------------------------------------------------------------------ selection, memory


def test_count_takes_a_seeded_subset_in_source_order() -> None:
    a, b = select_indices(100, 10, seed=0), select_indices(100, 10, seed=0)
    assert a == b == sorted(a) and len(set(a)) == 10
    assert select_indices(100, 10, seed=1) != a
    assert select_indices(5, 10, seed=0) == [0, 1, 2, 3, 4] and select_indices(5, None, seed=0) == [0, 1, 2, 3, 4]


def test_a_count_of_zero_is_refused_not_an_empty_selection() -> None:
    with pytest.raises(DataError, match="Got count=0; ask for at least one triplet"):
        select_indices(10, 0, seed=0)


def test_memory_budget_is_enforced_before_reading(tmp_path: Path) -> None:
    make_clip(tmp_path, 6)
    with pytest.raises(DataError, match="GiB of memory"):
        open_dataset(f"frames:{tmp_path}", "test", size=32, max_bytes=10_000)


def test_the_memory_budget_applies_at_native_resolution(tmp_path: Path) -> None:
    make_clip(tmp_path, 6)  # 4 triplets cropped to 48x32: 4 * 3 * 3 * 32 * 48 * 4 = 221,184 bytes
    with pytest.raises(DataError, match="Loading 4 triplets of 48x32 pixels"):
        open_dataset(f"frames:{tmp_path}", "test", max_bytes=221_183)
    assert len(open_dataset(f"frames:{tmp_path}", "test", max_bytes=221_184)) == 4


def test_a_selection_over_the_budget_at_a_size_is_refused_before_a_frame_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vfibench.data.frames as frames_module

    make_clip(tmp_path, 6)
    reads: list[str] = []
    monkeypatch.setattr(frames_module, "read_image", lambda p: reads.append(str(p)) or read_image(p))
    with pytest.raises(DataError, match="Loading 4 triplets of 32x32 pixels"):
        open_dataset(f"frames:{tmp_path}", "test", size=32, max_bytes=10_000)
    assert reads == []


def test_the_default_memory_budget_is_half_of_this_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vfibench.data import triplet_source

    make_clip(tmp_path, 6)  # 4 triplets of 32²: 147,456 bytes
    monkeypatch.setattr(triplet_source, "physical_memory", lambda: 2 * 147_456 - 2)
    with pytest.raises(DataError, match=r"budget of .* GiB \(half of the .* GiB this machine \(or its container\) has\); at most about 3 triplets"):
        open_dataset(f"frames:{tmp_path}", "test", size=32)
    monkeypatch.setattr(triplet_source, "physical_memory", lambda: 2 * 147_456)
    assert len(open_dataset(f"frames:{tmp_path}", "test", size=32)) == 4
    monkeypatch.setattr(triplet_source, "physical_memory", lambda: None)  # unknown: 2 GiB
    assert triplet_source.memory_budget() == (2 * 1024**3, "the memory of this machine is unknown")


def test_a_container_s_memory_limit_lowers_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vfibench.data import triplet_source

    limit, unlimited = tmp_path / "memory.max", tmp_path / "limit_in_bytes"
    unlimited.write_text("max\n")
    monkeypatch.setattr(triplet_source, "CGROUP_MEMORY_LIMITS", (str(unlimited), str(tmp_path / "absent")))
    machine = triplet_source.physical_memory()
    assert machine is not None and machine > 2**20  # no limit: the machine's memory
    limit.write_text(f"{2**20}\n")
    monkeypatch.setattr(triplet_source, "CGROUP_MEMORY_LIMITS", (str(limit),))
    assert triplet_source.physical_memory() == 2**20
    assert triplet_source.memory_budget()[0] == 2**19


def test_frames_source_reads_each_file_once_per_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_clip(tmp_path, 8)
    reads: list[str] = []
    import vfibench.data.frames as frames_module

    monkeypatch.setattr(frames_module, "read_image", lambda p: reads.append(str(p)) or read_image(p))
    source = FramesSource(tmp_path)
    list(source.read(range(len(source))))
    assert len(reads) == 8


def test_frames_folder_with_images_and_clip_subfolders_is_refused(tmp_path: Path) -> None:
    make_clip(tmp_path / "a", 4)
    make_clip(tmp_path / "b", 4)
    make_clip(tmp_path, 3, name="cover{k}.png")  # images at the top as well: neither one clip nor a folder of clips
    with pytest.raises(DataError) as caught:
        open_source(f"frames:{tmp_path}", "test")
    message = str(caught.value)
    assert "is ambiguous" in message and "cover0.png, cover1.png, cover2.png" in message and "(a, b)" in message
    assert "move the subfolders out of it" in message and "move the top-level images into a subfolder" in message
    assert f"frames:{tmp_path / 'a'}" in message


def test_numbering_gaps_name_where_a_clip_skips_frames() -> None:
    from vfibench.data.frames import numbering_gaps

    assert numbering_gaps(["c/f000.png", "c/f001.png", "c/f002.png", "c/f010.png", "c/f011.png"]) == \
        [("c/f002.png", "c/f010.png")]
    assert numbering_gaps(["a0.png", "a2.png", "a4.png", "a8.png", "a10.png"]) == [("a4.png", "a8.png")]  # step 2
    assert numbering_gaps(["f1.png", "f2.png", "f3.png"]) == []
    assert numbering_gaps(["sunrise.png", "noon.png", "dusk.png"]) == []  # not numbered: nothing to say
    assert numbering_gaps(["a1.png", "b5.png", "c9.png"]) == []  # no common prefix


def test_a_folder_of_clips_passed_as_vimeo90k_is_named_as_such_with_the_kind_that_fits(tmp_path: Path) -> None:
    make_clip(tmp_path / "a", 4)
    make_clip(tmp_path / "b", 4)
    with pytest.raises(DataError) as error:
        open_source(f"vimeo90k:{tmp_path}", "test")
    message = str(error.value)
    assert f"{tmp_path} does not look like a vimeo90k folder" in message and "2 subfolders (a, b)" in message
    assert "tri_testlist.txt" in message and f"try frames:{tmp_path} (its subfolders hold image files" in message


def test_a_vimeo_folder_with_sequences_and_target_is_read_as_the_release(tmp_path: Path) -> None:
    """A folder with sequences/ is the vimeo_triplet release, whatever else it holds: a target/ beside
    it (e.g. part of the test download unpacked into the same folder) is never read."""
    root = make_vimeo(tmp_path / "vimeo")
    for folder, name, k in (("input", "im1.png", 10), ("target", "im2.png", 11), ("input", "im3.png", 12)):
        write_png(root / folder / "00002" / "0001" / name, frame_array(k, 256 // 4, 448 // 4))
    test = open_dataset(f"vimeo90k:{root}", "test")
    assert blue_code(test.i0) == [6] and blue_code(test.it) == [7] and blue_code(test.i1) == [8]
    assert blue_code(open_dataset(f"vimeo90k:{root}", "train").it) == [1, 4]


@pytest.mark.parametrize("line", ["00001/..", "../00001", "/00001", "00001/0001/im1.png"])
def test_a_vimeo_list_line_that_is_not_one_sequence_inside_the_folder_is_refused(tmp_path: Path, line: str) -> None:
    from vfibench.data.vimeo import read_list

    listed = tmp_path / "tri_testlist.txt"
    listed.write_text(f"00001/0001\n{line}\n")
    with pytest.raises(DataError, match=r"Line 2 of .* must name one sequence as FOLDER/SUBFOLDER"):
        read_list(listed)


def test_frames_with_upper_case_extensions_are_frames(tmp_path: Path) -> None:
    """Cameras and some exporters write FRAME0001.PNG / .JPG: the extension's case does not matter."""
    for k, suffix in enumerate((".PNG", ".Png", ".png", ".PNG")):
        write_png(tmp_path / f"frame{k}{suffix}", frame_array(k))
    source = open_source(f"frames:{tmp_path}", "test")
    assert [ref.name for ref in source.refs] == ["frame1", "frame2"]
    batch = source.load(range(2), None, Fit.resize)
    assert blue_code(batch.i0) == [0, 1] and blue_code(batch.it) == [1, 2] and blue_code(batch.i1) == [2, 3]


@pytest.mark.parametrize("kind", ["frames", "video"])
def test_a_stride_of_zero_is_refused(tmp_path: Path, kind: str) -> None:
    """Stride 0 would make triplets of one frame repeated three times (a perfect score for any model)."""
    make_clip(tmp_path / "clip", 5)
    path = tmp_path / "clip" if kind == "frames" else make_video(tmp_path / "clip.mov", 5)
    with pytest.raises(DataError, match="stride=0; the stride .* must be an integer >= 1"):
        open_source(f"{kind}(stride=0):{path}", "test")


def test_a_smaller_step_in_a_clips_numbering_is_no_gap() -> None:
    from vfibench.data.frames import numbering_gaps

    # step 2 as a rule, one step of 1 (an extra frame), one of 4 (a frame missing): only the jump is a gap
    assert numbering_gaps(["f0.png", "f2.png", "f4.png", "f5.png", "f7.png", "f11.png", "f13.png"]) == \
        [("f7.png", "f11.png")]


def test_a_video_that_decodes_fewer_frames_than_asked_for_is_an_error(tmp_path: Path) -> None:
    """A file whose packets promise more frames than it decodes must fail, never give fewer triplets."""
    from vfibench.data.video import decode

    video = make_video(tmp_path / "clip.mov", 5)
    assert [number for number, _ in decode(video, {1, 4})] == [1, 4]
    with pytest.raises(DataError, match="lists more frames than it decodes: frame 6 was asked for but decoding "
                                        "stopped after frame 4"):
        list(decode(video, {3, 6}))


def test_a_video_whose_container_records_no_frame_count_gets_no_cut_short_note(tmp_path: Path) -> None:
    """Matroska declares no frame count: that is not a file cut short."""
    import av

    video = tmp_path / "clip.mkv"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv444p"
        for k in range(5):
            frame = av.VideoFrame.from_ndarray(frame_array(k), format="rgb24").reformat(format="yuv444p")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    source = open_source(f"video:{video}", "test")
    assert len(source) == 3 and source.notes == []


def test_a_complete_video_whose_header_declares_its_frames_gets_no_cut_short_note(tmp_path: Path) -> None:
    source = open_source(f"video:{make_video(tmp_path / 'clip.mov', 5)}", "test")
    assert len(source) == 3 and source.notes == []


def test_a_file_without_a_video_stream_is_named_as_such(tmp_path: Path) -> None:
    import wave

    sound = tmp_path / "sound.wav"
    with wave.open(str(sound), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\x00\x00" * 800)
    with pytest.raises(DataError, match=f"The file {re.escape(str(sound))} holds no video stream"):
        open_source(f"video:{sound}", "test")


def test_reading_a_video_keeps_only_the_frames_the_remaining_triplets_need(tmp_path: Path) -> None:
    """A long video is read front to back with memory bounded by a few frames, not the whole clip."""
    import weakref

    source = open_source(f"video:{make_video(tmp_path / 'clip.mov', 12)}", "test")
    early = []
    for index, frames in source.read(range(len(source))):
        assert [blue_code(torch.from_numpy(f).permute(2, 0, 1)[None])[0] for f in frames] == [index, index + 1,
                                                                                               index + 2]
        if index < 5:
            early += [weakref.ref(frame) for frame in frames]
        elif index == 8:
            assert [ref() is None for ref in early] == [True] * len(early)


def test_reading_the_first_triplet_of_a_video_decodes_no_further_than_it_reaches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vfibench.data.video as video_module

    source = open_source(f"video:{make_video(tmp_path / 'clip.mov', 12)}", "test")
    opened, decoded = video_module._open, []

    class Counting:
        def __init__(self, container: object) -> None:
            self.container, self.streams = container, container.streams

        def decode(self, stream: object):
            for frame in self.container.decode(stream):
                decoded.append(frame)
                yield frame

        def close(self) -> None:
            self.container.close()

    monkeypatch.setattr(video_module, "_open", lambda path: Counting(opened(path)))
    assert [index for index, _ in source.read([0])] == [0]
    assert len(decoded) == 3
