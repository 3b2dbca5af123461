"""``vimeo90k:PATH`` — the Vimeo-90K triplet dataset in its published layout.

::

    PATH/
      tri_trainlist.txt         one sequence per line, e.g. 00001/0001
      tri_testlist.txt
      sequences/00001/0001/im1.png  im2.png  im3.png

Each listed sequence is one triplet (im1, im2, im3) at t = 1/2; the train split reads
``tri_trainlist.txt`` and the test split ``tri_testlist.txt``. ``PATH`` may also be the
folder that holds ``vimeo_triplet/``. Frames are 448×256.

Reference: T. Xue, B. Chen, J. Wu, D. Wei, W. T. Freeman, "Video Enhancement with
Task-Oriented Flow", IJCV 2019.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from vfibench.data.images import read_image
from vfibench.data.triplet_source import Frames, TripletRef, TripletSource
from vfibench.errors import DataError

LISTS = {"train": "tri_trainlist.txt", "test": "tri_testlist.txt"}
FRAME_NAMES = ("im1.png", "im2.png", "im3.png")


def _root(path: Path) -> Path:
    """``path`` itself, or its ``vimeo_triplet`` folder when that holds the lists."""
    if not path.exists():
        raise DataError(
            f"The Vimeo-90K folder {path} does not exist. Pass the folder that holds tri_trainlist.txt, "
            f"tri_testlist.txt and sequences/ (e.g. vimeo90k:/data/vimeo_triplet)."
        )
    if not path.is_dir():
        raise DataError(f"{path} is a file; vimeo90k:PATH needs the folder that holds the lists and sequences/.")
    nested = path / "vimeo_triplet"
    if not (path / LISTS["train"]).exists() and not (path / LISTS["test"]).exists() and nested.is_dir():
        return nested
    return path


def read_list(list_file: Path) -> list[str]:
    """The sequence names of a list file (blank lines skipped); :class:`DataError` if it is unusable."""
    if not list_file.is_file():
        raise DataError(
            f"The Vimeo-90K list {list_file} is missing. The triplet dataset has tri_trainlist.txt and "
            f"tri_testlist.txt next to sequences/; check that PATH is the vimeo_triplet folder."
        )
    try:
        lines = list_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"The Vimeo-90K list {list_file} could not be read ({err}).") from None
    names = [line.strip() for line in lines if line.strip()]
    for number, name in enumerate(names, 1):
        parts = Path(name).parts
        if len(parts) != 2 or Path(name).is_absolute() or ".." in parts:
            raise DataError(
                f"Line {number} of {list_file} is {name!r}; each line must name one sequence as "
                f"FOLDER/SUBFOLDER, e.g. 00001/0001."
            )
    if not names:
        raise DataError(f"The Vimeo-90K list {list_file} names no sequences.")
    return names


class VimeoSource(TripletSource):
    """The triplets of one split of a Vimeo-90K folder."""

    kind = "vimeo90k"

    def __init__(self, path: Path, split: str) -> None:
        root = _root(Path(path))
        sequences = root / "sequences"
        names = read_list(root / LISTS[split])
        if not sequences.is_dir():
            raise DataError(
                f"The Vimeo-90K folder {root} has no sequences/ folder; the frames are expected at "
                f"{sequences}/{names[0]}/im1.png .. im3.png."
            )
        refs = [
            TripletRef(name, tuple(str(sequences / name / frame) for frame in FRAME_NAMES))  # type: ignore[arg-type]
            for name in names
        ]
        super().__init__(str(path), refs)

    def read(self, indices: Sequence[int]) -> Iterator[tuple[int, Frames]]:
        for index in sorted(indices):
            i0, it, i1 = (read_image(Path(p)) for p in self.refs[index].frames)
            yield index, (i0, it, i1)
