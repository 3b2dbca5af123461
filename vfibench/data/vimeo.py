"""``vimeo90k:PATH`` — the Vimeo-90K triplet dataset in its published layouts.

::

    PATH/                       the vimeo_triplet release (train and test)
      tri_trainlist.txt         one sequence per line, e.g. 00001/0001
      tri_testlist.txt
      sequences/00001/0001/im1.png  im2.png  im3.png

    PATH/                       the vimeo_interp_test download (test only)
      tri_testlist.txt
      input/00001/0389/im1.png  im3.png
      target/00001/0389/im2.png

Each listed sequence is one triplet (im1, im2, im3) at t = 1/2; the train split reads
``tri_trainlist.txt`` and the test split ``tri_testlist.txt``. The test download holds the same
3,782 test triplets: its inputs are read from ``input/``, or from ``target/`` when there is no
``input/`` (RIFE's ``benchmark/Vimeo90K.py`` reads all three frames from ``target/``, after the
inputs have been copied there); a folder with ``sequences/`` is read as the release, whatever else
it holds. ``PATH`` may also be the folder that holds ``vimeo_triplet/`` or ``vimeo_interp_test/``
(the one with the split's list). Frames are 448×256.

Reference: T. Xue, B. Chen, J. Wu, D. Wei, W. T. Freeman, "Video Enhancement with
Task-Oriented Flow", IJCV 2019.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from vfibench.data.images import read_image
from vfibench.data.layouts import TRIPLET_NAMES as FRAME_NAMES, not_a_layout
from vfibench.data.standard_sets import not_the_published_count
from vfibench.data.triplet_source import Frames, TripletRef, TripletSource
from vfibench.errors import DataError

LISTS = {"train": "tri_trainlist.txt", "test": "tri_testlist.txt"}
#: The triplets of ``tri_testlist.txt`` as released, which published Vimeo-90K tables score.
TEST_TRIPLETS = 3782
#: The layouts, as the error for a folder without any of them states them.
EXPECTED = ("tri_trainlist.txt and tri_testlist.txt beside sequences/<seq>/im1.png .. im3.png (the vimeo_triplet "
            "release), or tri_testlist.txt beside input/ and target/ (the vimeo_interp_test download)")
#: Folders a Vimeo-90K download unpacks to, tried inside PATH when PATH holds no list.
RELEASES = ("vimeo_triplet", "vimeo_interp_test")


def _root(path: Path, split: str) -> Path:
    """``path`` itself, or, when it holds no list, its ``vimeo_triplet`` / ``vimeo_interp_test`` folder
    that holds the ``split``'s list (else the first of them, so that the error names a path)."""
    if not path.exists():
        raise DataError(
            f"The Vimeo-90K folder {path} does not exist. Pass the folder that holds tri_trainlist.txt, "
            f"tri_testlist.txt and sequences/ (e.g. vimeo90k:/data/vimeo_triplet), or the test download's "
            f"folder with tri_testlist.txt, input/ and target/ (vimeo90k:/data/vimeo_interp_test)."
        )
    if not path.is_dir():
        raise DataError(f"{path} is a file; vimeo90k:PATH needs the folder that holds the lists and sequences/.")
    if not (path / LISTS["train"]).exists() and not (path / LISTS["test"]).exists():
        releases = [path / release for release in RELEASES if (path / release).is_dir()]
        return next((r for r in releases if (r / LISTS[split]).is_file()), releases[0] if releases else path)
    return path


#: Each layout's folder of im1 and im3, folder of im2, and how a missing frame's message describes it.
LAYOUTS = {
    "release": ("sequences", "sequences",
                "the vimeo_triplet release (sequences/), so every frame is read from sequences/"),
    "download": ("input", "target", "the vimeo_interp_test download with input/, so im1 and im3 are read from "
                                    "input/ and im2 from target/"),
    "merged download": ("target", "target", "the vimeo_interp_test download without input/, so, as RIFE's script "
                                            "does, all three frames are read from target/; restore input/ next "
                                            "to target/, or copy its frames into target/"),
}


def layout_of(root: Path) -> str | None:
    """The :data:`LAYOUTS` key ``root`` is read as: the release wherever ``sequences/`` exists, else the
    test download (merged when it has no ``input/``); None when it has neither ``sequences/`` nor ``target/``."""
    if (root / "sequences").is_dir():
        return "release"
    if (root / "target").is_dir():
        return "download" if (root / "input").is_dir() else "merged download"
    return None


def read_list(list_file: Path) -> list[str]:
    """The sequence names of a list file (blank lines skipped); :class:`DataError` if it is unusable."""
    if not list_file.is_file():
        raise DataError(
            f"The Vimeo-90K list {list_file} is missing. The triplet release has tri_trainlist.txt and "
            f"tri_testlist.txt next to sequences/, the test download tri_testlist.txt next to input/ and "
            f"target/; check that PATH is the vimeo_triplet or vimeo_interp_test folder."
        )
    try:
        lines = list_file.read_text(encoding="utf-8-sig").splitlines()  # -sig: a byte-order mark is not a name
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"The Vimeo-90K list {list_file} could not be read ({err}).") from None
    numbered = [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()]
    names: list[str] = []
    first_line: dict[str, int] = {}
    for number, text in numbered:
        parts = Path(text).parts
        if len(parts) != 2 or Path(text).is_absolute() or ".." in parts:
            raise DataError(
                f"Line {number} of {list_file} is {text!r}; each line must name one sequence as "
                f"FOLDER/SUBFOLDER, e.g. 00001/0001."
            )
        name = "/".join(parts)  # 00001/0001/ is 00001/0001, as os.path.join reads it
        if name in first_line:
            raise DataError(
                f"Line {number} of {list_file} repeats the sequence {name} of line {first_line[name]}. The "
                f"released lists name each sequence once, and a repeated one would be counted twice in every "
                f"mean; delete the repeated line."
            )
        first_line[name] = number
        names.append(name)
    if not names:
        raise DataError(f"The Vimeo-90K list {list_file} names no sequences.")
    return names


def _check_first(root: Path, first: TripletRef, layout: str) -> None:
    """A :class:`DataError` that says which layout was read when the first listed sequence lacks a frame
    (a missing frame further down is named when it is read)."""
    missing = next((Path(p) for p in first.frames if not Path(p).is_file()), None)
    if missing is not None:
        raise DataError(f"The frame {missing} of the first listed sequence, {first.name}, does not exist. {root} "
                        f"was read as {LAYOUTS[layout][2]}.")


class VimeoSource(TripletSource):
    """The triplets of one split of a Vimeo-90K folder."""

    kind = "vimeo90k"

    def __init__(self, path: Path, split: str) -> None:
        root = _root(Path(path), split)
        layout = layout_of(root)
        if layout is None and not any((root / name).is_file() for name in LISTS.values()):
            raise not_a_layout(self.kind, root, EXPECTED)
        if split != "test" and layout in ("download", "merged download"):
            raise DataError(
                f"{root} is the Vimeo-90K test download (input/, target/), which holds only the test "
                f"split: use it as test data (--test-data, eval --gt, data ... --split test); training needs "
                f"the vimeo_triplet release (tri_trainlist.txt, sequences/)."
            )
        names = read_list(root / LISTS[split])
        if layout is None:
            inside = (f" {root} looks like one of those folders itself: pass its parent."
                      if root.name in ("sequences", "target", "input") else "")
            raise DataError(
                f"The Vimeo-90K folder {root} has neither sequences/ (the vimeo_triplet release: frames at "
                f"sequences/{names[0]}/im1.png .. im3.png) nor target/ (the vimeo_interp_test download: "
                f"target/{names[0]}/im2.png, input/{names[0]}/im1.png and im3.png).{inside}"
            )
        inputs, targets = (root / folder for folder in LAYOUTS[layout][:2])
        refs = [TripletRef(name, (str(inputs / name / FRAME_NAMES[0]), str(targets / name / FRAME_NAMES[1]),
                                  str(inputs / name / FRAME_NAMES[2]))) for name in names]
        _check_first(root, refs[0], layout)
        super().__init__(str(path), refs)
        self.split = split

    @property
    def notes(self) -> list[str]:
        """A sentence when the test list names another number of triplets than the released 3,782."""
        if self.split != "test":
            return []
        return not_the_published_count(self.describe(), "Vimeo-90K", len(self.refs), TEST_TRIPLETS, "triplet")

    def read(self, indices: Sequence[int]) -> Iterator[tuple[int, Frames]]:
        for index in sorted(indices):
            i0, it, i1 = (read_image(Path(p)) for p in self.refs[index].frames)
            yield index, (i0, it, i1)
