"""``frames:PATH`` — folders of consecutive frames, cut into triplets (k, k+stride, k+2·stride).

``PATH`` is either one clip (a folder of image files) or a folder of clips (subfolders of image
files; the top folder then holds no images: a folder holding both is refused as ambiguous).
Within a clip, frames are ordered by file name with numbers compared as numbers (``frame2.png``
before ``frame10.png``); triplets never span two clips. The middle frame is at t = 1/2. Files
with other extensions are ignored.

Each triplet is named after its middle frame, the frame a model interpolates: ``<stem>`` for a
single clip, ``<clip>/<stem>`` in a folder of clips (``clip/frame0002`` for ``clip/frame0002.png``),
as ``davis:`` names its triplets. ``vfibench eval --gt frames:PATH`` therefore matches a model's
prediction of ``frame0002.png`` saved as ``DIR/frame0002.png`` (``DIR/clip/frame0002.png``).

There is no train/test split inside such a folder: either split reads every clip, so use
different folders for training and testing.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from vfibench.data.images import IMAGE_EXTENSIONS, is_hidden, read_image, visible_subfolders
from vfibench.data.triplet_source import Frames, TripletRef, TripletSource
from vfibench.errors import DataError


def natural_key(name: str) -> list[object]:
    """Sort key that compares runs of digits as numbers: a2 < a10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def image_files(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, in natural order."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not is_hidden(p)]
    return sorted(files, key=lambda p: natural_key(p.name))


def _names(paths: Sequence[Path], shown: int = 3) -> str:
    """The first ``shown`` names of ``paths``, and how many more there are."""
    names = ", ".join(p.name for p in paths[:shown])
    return names + (f" and {len(paths) - shown} more" if len(paths) > shown else "")


def find_clips(path: Path) -> list[Path]:
    """The clip folders of ``path``: itself if it holds images, else its subfolders that do; a
    :class:`DataError` if it holds both, since either reading would silently drop the other."""
    if not path.exists():
        raise DataError(f"The frames folder {path} does not exist. Pass a folder of consecutive frames.")
    if not path.is_dir():
        raise DataError(
            f"{path} is a file; frames:PATH needs a folder of consecutive frames (or of such folders). "
            f"For a video file use video:PATH."
        )
    top = image_files(path)
    clips = sorted((p for p in visible_subfolders(path) if image_files(p)), key=lambda p: natural_key(p.name))
    if top and clips:
        raise DataError(
            f"The frames folder {path} is ambiguous: it holds images at its top level ({_names(top)}) and also "
            f"subfolders of images ({_names(clips)}), so it is neither one clip nor a folder of clips. To read "
            f"the top-level frames as one clip, move the subfolders out of it; to read every subfolder as a "
            f"clip, move the top-level images into a subfolder of their own; or point at one subfolder, e.g. "
            f"frames:{clips[0]}."
        )
    if top:
        return [path]
    if not clips:
        raise DataError(
            f"The folder {path} holds no frames: neither it nor any of its subfolders contains image files "
            f"({', '.join(IMAGE_EXTENSIONS)})."
        )
    return clips


_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def numbering_gaps(frames: Sequence[str]) -> list[tuple[str, str]]:
    """Where a clip's frame numbers jump: consecutive files (``f002.png``, ``f010.png``) whose numbers
    differ by more than the clip's usual step, when every stem is one prefix and a number. A missing
    frame makes the triplets around it span a longer interval than the others. [] when the names are
    not numbered alike."""
    matches = [_NUMBERED.match(Path(frame).stem) for frame in frames]
    named = [m for m in matches if m is not None]
    if len(frames) < 3 or len(named) != len(frames) or len({m.group(1) for m in named}) != 1:
        return []
    numbers = [int(m.group(2)) for m in named]
    steps = [b - a for a, b in zip(numbers, numbers[1:])]
    usual = min(steps, key=lambda step: (-steps.count(step), step))
    return [(frames[k], frames[k + 1]) for k, step in enumerate(steps) if step > usual]


def check_stride(stride: object) -> int:
    """``stride`` as an int >= 1, else a :class:`DataError`."""
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise DataError(
            f"Got stride={stride!r}; the stride is the frame step between I0, It and I1 and must be an integer "
            f">= 1 (1 uses consecutive frames)."
        )
    return int(stride)


def clip_triplets(frames: Sequence[str], stride: int, prefix: str) -> list[TripletRef]:
    """Triplets (k, k+stride, k+2·stride) of one clip's frame list, each named ``prefix`` + its middle
    frame's file stem; a :class:`DataError` if two frames share a stem (``a.png`` and ``a.jpg``)."""
    stems: dict[str, str] = {}
    for frame in frames:
        other = stems.setdefault(Path(frame).stem, frame)
        if other != frame:
            raise DataError(
                f"The frames {other} and {frame} have the same name but for the extension: a clip would hold the "
                f"same frame twice, and its triplets could not be told apart. Keep one of the two files."
            )
    return [
        TripletRef(f"{prefix}{Path(frames[k + stride]).stem}", (frames[k], frames[k + stride], frames[k + 2 * stride]))
        for k in range(len(frames) - 2 * stride)
    ]


class FramesSource(TripletSource):
    """Triplets cut from one or more folders of consecutive frames."""

    kind = "frames"

    def __init__(self, path: Path, stride: int = 1) -> None:
        path = Path(path)
        self.stride = check_stride(stride)
        clips = find_clips(path)
        refs: list[TripletRef] = []
        #: Jumps in the clips' frame numbering (:func:`numbering_gaps`), which ``data validate`` notes.
        self.gaps: list[tuple[str, str]] = []
        #: Clips with too few frames for one triplet at this stride, which give nothing (``data`` notes them).
        self.short_clips: list[str] = []
        for clip in clips:
            prefix = "" if clip == path else f"{clip.name}/"
            frames = [str(p) for p in image_files(clip)]
            triplets = clip_triplets(frames, self.stride, prefix)
            refs.extend(triplets)
            self.gaps.extend(numbering_gaps(frames))
            if not triplets:
                self.short_clips.append(str(clip))
        if not refs:
            longest = max(len(image_files(clip)) for clip in clips)
            raise DataError(
                f"The frames folder {path} gives no triplets: with stride {self.stride} a clip needs at least "
                f"{2 * self.stride + 1} frames, and its longest clip has {longest}. Add frames or use a smaller stride."
            )
        super().__init__(str(path), refs)

    def read(self, indices: Sequence[int]) -> Iterator[tuple[int, Frames]]:
        cache: OrderedDict[str, np.ndarray] = OrderedDict()  # consecutive triplets share frames
        limit = 2 * self.stride + 2

        def frame(path: str) -> np.ndarray:
            if path not in cache:
                cache[path] = read_image(Path(path))
                while len(cache) > limit:
                    cache.popitem(last=False)
            return cache[path]

        for index in sorted(indices):
            i0, it, i1 = (frame(p) for p in self.refs[index].frames)
            yield index, (i0, it, i1)
