"""The standard VFI test sets, each read the way the reference evaluation script reads it.

Every set is a :class:`~vfibench.data.triplet_source.TripletSource` whose triplet names are the
set's own **sample ids**; ``vfibench eval --gt SPEC`` matches predictions by them
(``PRED_DIR/<id>.png``). The sets have no training split: ``train`` and ``test`` read the same
triplets, so use them only as test data.

=================================  ======================================================  =====================
spec                               layout read                                             sample id
=================================  ======================================================  =====================
``ucf101:PATH``                    ``PATH/<id>/frame_00.png, frame_01_gt.png,              folder name, e.g. ``1``
                                   frame_02.png`` (DVF's 379 folders; RIFE
                                   ``benchmark/UCF101.py``, IFRNet ``benchmarks/``),
                                   folders in natural order; or the folder above,
                                   ``PATH/ucf101_interp_ours/<id>/``
``middlebury:PATH``                ``PATH/other-data/<seq>/frame10.png, frame11.png`` and  ``<seq>``
                                   ``PATH/other-gt-interp/<seq>/frame10i11.png`` (RIFE
                                   ``benchmark/MiddleBury_Other.py``), sequences sorted;
                                   or ``PATH/<seq>/`` holding all three (softmax
                                   splatting's ``benchmark_middlebury.py``)
``snufilm(split=S):PATH``          ``PATH/test-S.txt``, each line ``I0 GT I1`` relative     GT path without
                                   to PATH (IFRNet ``benchmarks/SNU_FILM.py``, EMA-VFI      extension, never
                                   ``benchmark/SNU_FILM.py``), in list order; or the        absolute
                                   released ``data/SNU-FILM/`` lists, also from
                                   ``PATH/eval_modes/`` (:class:`SnuFilmSource`)
``xiph(res=2k|4k):PATH``           flat ``PATH/<Clip>-<NNN>.png``, frames 001..099 of      ``<Clip>-<NNN>`` of
                                   each clip; triplets (2k−1, 2k, 2k+1), k = 1..49;        the middle frame
                                   ``2k`` resizes every frame to 2048×1080 (OpenCV
                                   ``INTER_AREA``), ``4k`` crops the centre 2048×1080 of
                                   4096×2160 (EMA-VFI ``benchmark/Xiph.py``)
``davis:PATH``                     ``PATH/<seq>/`` (or ``PATH/JPEGImages/480p/<seq>/``,    ``<seq>/<frame stem>``
                                   ``PATH/480p/<seq>/``)
                                   of frames in natural order; triplets (t+2, t+3, t+4),
                                   t = 0, 2, … < n−6 (FLAVR ``dataset/Davis_test.py``'s
                                   inner frames; ST-MFNet ``Davis90_triplet``)
=================================  ======================================================  =====================

Test-time handling: frames are used at their native resolution, never resized (Xiph's 2K
variant is the one exception, because its reference script resizes). The interpolator
replicate-pads its inputs to a multiple of 16 and crops its output back, so every size can be
predicted; :func:`test_time_handling` is the sentence recorded in manifests.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from vfibench.data.frames import image_files, natural_key
from vfibench.data.images import Fit, is_hidden, read_image, visible_subfolders
from vfibench.data.layouts import (MIDDLEBURY_FRAMES, SNUFILM_SPLITS, UCF101_NAMES as UCF101_FRAMES, UCF101_RELEASE,
                                   not_a_layout)
from vfibench.data.triplet_source import (Frames, TripletRef, TripletSource, check_memory,
                                          check_triplet, load_triplets)
from vfibench.data.triplets import Triplets
from vfibench.errors import DataError
from vfibench.words import counted, plural

#: The kinds of this module, their options and the option values allowed.
KINDS = ("ucf101", "middlebury", "snufilm", "xiph", "davis")
#: A Middlebury sequence's interpolated ground truth, the file its release's other-gt-interp/ holds.
MIDDLEBURY_GT = MIDDLEBURY_FRAMES[1]
XIPH_RESOLUTIONS = ("2k", "4k")
#: Xiph's 2K size (width, height) and the 4K frame it is cropped from.
XIPH_2K = (2048, 1080)
XIPH_4K = (4096, 2160)
#: The clips and middle frames EMA-VFI's ``benchmark/Xiph.py`` (after softmax splatting's
#: ``benchmark_xiph.py``) scores: ``range(2, 99, 2)`` of each, so frames 001..099 are read.
XIPH_CLIPS = ("BoxingPractice", "Crosswalk", "DrivingPOV", "FoodMarket", "FoodMarket2", "RitualDance",
              "SquareAndTimelapse", "Tango")
XIPH_MIDDLE_FRAMES = range(2, 99, 2)
#: The twelve sequences of Middlebury's "other" set with interpolated ground truth, the list RIFE's
#: ``benchmark/MiddleBury_Other.py`` and IFRNet's ``benchmarks/Middlebury_Other.py`` score.
MIDDLEBURY_SEQUENCES = ("Beanbags", "Dimetrodon", "DogDance", "Grove2", "Grove3", "Hydrangea", "MiniCooper",
                        "RubberWhale", "Urban2", "Urban3", "Venus", "Walking")
#: DVF's UCF101 test set, as RIFE's ``benchmark/UCF101.py`` and IFRNet's ``benchmarks/UCF101.py`` score it.
UCF101_SAMPLES = 379


def native_frames(kind: str) -> str:
    """What a manifest records about how the frames of a standard set of ``kind`` are read."""
    if kind == "xiph":
        return ("frames read as EMA-VFI's benchmark/Xiph.py reads them: res=2k resizes them to 2048x1080, res=4k "
                "crops their centre 2048x1080")
    return "frames at native resolution, never resized"


def test_time_handling(kind: str) -> str:
    """What a sweep's manifest records about how the frames of a standard test set reach the model."""
    return (f"{native_frames(kind)}; the interpolator replicate-pads inputs to a multiple of 16 and crops its "
            f"prediction back")


#: Each set's layout, as the error for a folder without it states it.
LAYOUTS = {
    "ucf101": "one folder per sample holding frame_00.png, frame_01_gt.png and frame_02.png (PATH/<id>/frame_00.png, "
              "the layout of DVF's UCF101 test triplets, or PATH/ucf101_interp_ours/<id>/)",
    "middlebury": "other-data/<seq>/frame10.png, frame11.png and other-gt-interp/<seq>/frame10i11.png, or "
                  "<seq>/frame10.png, frame10i11.png, frame11.png side by side",
    "snufilm": "SNU-FILM's lists test-easy.txt .. test-extreme.txt (lines 'I0 GT I1'), in PATH, PATH/eval_modes/ "
               "or PATH/data/SNU-FILM/",
    "xiph": "flat frames named <Clip>-<NNN>.png (e.g. Tango-001.png), frames 001-099 of each clip",
    "davis": "one folder of frames per sequence (PATH/<seq>/00000.jpg, ..., PATH/JPEGImages/480p/<seq>/ or "
             "PATH/480p/<seq>/)",
}
#: Where SNU-FILM's released lists sit, and how their lines start.
SNUFILM_RELEASED = ("data", "SNU-FILM")
_XIPH_NAME = re.compile(r"^(?P<clip>.+)-(?P<number>\d{3})\.png$")


def _folder(path: Path, kind: str, expected: str) -> Path:
    if not path.is_dir():
        state = "is a file" if path.exists() else "does not exist"
        raise DataError(f"The {kind} folder {path} {state}. Pass the folder that holds {expected} ({kind}:PATH).")
    return path


def _require(path: Path, what: str) -> str:
    if not path.is_file():
        raise DataError(f"The frame {path} is missing ({what}). Restore it, or remove the sample that names it.")
    return str(path)


class StandardSource(TripletSource):
    """A standard test set: triplets at native resolution, ids as triplet names."""

    def frame(self, path: str) -> np.ndarray:
        """One frame as the reference script sees it (float32 (H, W, 3) in [0, 1])."""
        return read_image(Path(path))

    def read(self, indices: Sequence[int]) -> Iterator[tuple[int, Frames]]:
        for index in sorted(indices):
            i0, it, i1 = (self.frame(p) for p in self.refs[index].frames)
            yield index, (i0, it, i1)

    @property
    def ids(self) -> list[str]:
        """The sample ids, in the set's order."""
        return [ref.name for ref in self.refs]

    @property
    def notes(self) -> list[str]:
        """Sentences on where this folder departs from the published set (``eval`` prints them)."""
        return []

    @property
    def loading(self) -> str:
        """How frames reach the model, in a few words (``vfibench data inspect`` prints it)."""
        return "native, never resized"

    def load(self, indices: Sequence[int], size: int | None = None, fit: Fit = Fit.resize,
             max_bytes: int | None = None) -> Triplets:
        """The triplets ``indices`` at native resolution, as the set is tested; or, given a ``size``, fitted
        to it as any real data is (:func:`load_triplets`): training crops, an export at a chosen size.

        Native triplets are stacked, so they must share one size; a set of mixed sizes (Middlebury)
        raises a :class:`DataError` pointing at ``vfibench eval``, which scores frame by frame.
        """
        if size is not None:
            return load_triplets(self, indices, size, fit, max_bytes)
        indices = sorted(indices)
        if not indices:
            raise DataError(f"No triplets were selected from {self.describe()}; ask for at least one.")
        stacks: list[torch.Tensor] = []
        first: tuple[str, tuple[int, ...]] | None = None
        for filled, (index, frames) in enumerate(self.read(indices)):
            ref = self.refs[index]
            check_triplet(ref, frames)
            if first is None:
                first = (ref.frames[0], frames[0].shape)
                check_memory(len(indices), frames[0].shape[0], frames[0].shape[1], max_bytes, self.describe())
                stacks = [torch.empty(len(indices), 3, *frames[0].shape[:2]) for _ in range(3)]
            elif frames[0].shape != first[1]:
                raise DataError(
                    f"The frame {ref.frames[0]} is {frames[0].shape[1]}x{frames[0].shape[0]} pixels but {first[0]} "
                    f"is {first[1][1]}x{first[1][0]}; {self.kind} frames are never resized, so triplets of "
                    f"different sizes cannot be stacked as one test set. Score such a set frame by frame with "
                    f"`vfibench eval --gt {self.kind}:PATH --pred DIR`."
                )
            for stack, frame in zip(stacks, frames):
                stack[filled] = torch.from_numpy(frame).permute(2, 0, 1)
        times = torch.full((len(indices),), 0.5)
        return Triplets(i0=stacks[0], it=stacks[1], i1=stacks[2], t=times)


class UCF101Source(StandardSource):
    """``ucf101:PATH`` — DVF's UCF101 triplets (RIFE ``benchmark/UCF101.py``, IFRNet ``benchmarks/UCF101.py``)."""

    kind = "ucf101"

    def __init__(self, path: Path) -> None:
        root = _folder(Path(path), self.kind, "one folder per sample with frame_00.png, frame_01_gt.png, frame_02.png")
        if (root / UCF101_RELEASE).is_dir() and not _holds_ucf101_samples(root):  # the folder above, as RIFE's README
            root = root / UCF101_RELEASE
        folders = sorted(visible_subfolders(root), key=lambda p: natural_key(p.name))
        if not _holds_ucf101_samples(root):
            raise not_a_layout(self.kind, root, LAYOUTS[self.kind])
        refs = [TripletRef(d.name, tuple(_require(d / f, "ucf101 sample") for f in UCF101_FRAMES))  # type: ignore[arg-type]
                for d in folders]
        super().__init__(str(path), refs)

    @property
    def notes(self) -> list[str]:
        """A sentence when the folder holds another number of samples than DVF's 379."""
        return not_the_published_count(self.describe(), "UCF101", len(self.refs), UCF101_SAMPLES, "sample")


def _holds_ucf101_samples(root: Path) -> bool:
    return any((d / f).is_file() for d in visible_subfolders(root) for f in UCF101_FRAMES)


class MiddleburySource(StandardSource):
    """``middlebury:PATH`` — the "other" set with interpolated ground truth: ``other-data/`` and
    ``other-gt-interp/`` as released (RIFE ``benchmark/MiddleBury_Other.py``), or each sequence's three
    frames in one folder (softmax splatting's ``benchmark_middlebury.py``, which globs
    ``<seq>/frame10i11.png``)."""

    kind = "middlebury"

    def __init__(self, path: Path) -> None:
        root = _folder(Path(path), self.kind, "other-data/ and other-gt-interp/")
        gt_root = root / "other-gt-interp"
        data_root = root / "other-data"
        if data_root.is_dir() or gt_root.is_dir():
            for folder in (data_root, gt_root):
                if not folder.is_dir():
                    raise DataError(f"The Middlebury folder {root} has no {folder.name}/; it needs other-data/<seq>/"
                                    f"frame10.png, frame11.png and other-gt-interp/<seq>/frame10i11.png.")
            sequences = sorted(p.name for p in visible_subfolders(gt_root))
            if not sequences:
                raise DataError(f"The Middlebury folder {gt_root} holds no sequence folders.")
            if not any((gt_root / seq / MIDDLEBURY_GT).is_file() for seq in sequences):
                raise not_a_layout(self.kind, root, LAYOUTS[self.kind])
            folders = (data_root, gt_root, data_root)
        else:  # side by side: the folders holding a ground truth, as the script's glob finds them
            if root.name in ("other-data", "other-gt-interp"):
                raise DataError(f"The Middlebury folder {root} is one half of the release; pass the folder above it, "
                                f"which holds other-data/ and other-gt-interp/ (middlebury:{root.parent}).")
            sequences = sorted(p.name for p in root.iterdir() if (p / MIDDLEBURY_GT).is_file() and not is_hidden(p))
            if not any(all((root / seq / name).is_file() for name in MIDDLEBURY_FRAMES) for seq in sequences):
                raise not_a_layout(self.kind, root, LAYOUTS[self.kind])
            folders = (root, root, root)
        refs = [TripletRef(seq, tuple(_require(folder / seq / name, f"{what} of {seq}")  # type: ignore[arg-type]
                                      for folder, name, what in zip(folders, MIDDLEBURY_FRAMES,
                                                                    ("input", "ground truth", "input"))))
                for seq in sequences]
        super().__init__(str(path), refs)

    @property
    def notes(self) -> list[str]:
        """A sentence when the sequences differ from the twelve the reference scripts score."""
        return _not_the_published_set(self.describe(), "Middlebury", self.ids, MIDDLEBURY_SEQUENCES, "sequences")


def _not_the_published_set(spec: str, name: str, found: Sequence[str], published: Sequence[str],
                           what: str) -> list[str]:
    """The note for a folder whose ``found`` clips or sequences are not the ``published`` ones."""
    missing = [item for item in published if item not in found]
    extra = [item for item in found if item not in published]
    if not missing and not extra:
        return []
    parts = ([f"lacks {', '.join(missing)}"] if missing else []) + ([f"adds {', '.join(extra)}"] if extra else [])
    listed = "" if missing else f" {', '.join(published)}"  # what it lacks already names the rest
    return [f"{spec} {' and '.join(parts)}, so its mean is not comparable with published {name} tables, which "
            f"score the {len(published)} {what}{listed}."]


def not_the_published_count(spec: str, name: str, found: int, published: int, noun: str) -> list[str]:
    """The note for a folder of ``found`` samples where the published test set has ``published``."""
    if found == published:
        return []
    return [f"{spec} holds {counted(found, noun)}, so its mean is not comparable with published {name} tables, "
            f"which score all {published:,} {plural(noun, published)}."]


def _without_suffix(name: str) -> str:
    return str(Path(name).with_suffix("")).replace("\\", "/")


class SnuFilmSource(StandardSource):
    """``snufilm(split=...):PATH`` — SNU-FILM's ``test-<split>.txt`` (IFRNet/EMA-VFI ``SNU_FILM.py``).

    The reference scripts join each line to PATH (``os.path.join``), so a line may also be absolute.
    The lists as released sit in ``data/SNU-FILM/`` and their lines start ``data/SNU-FILM/test/…``
    (relative to the folder that holds ``data/``, as CAIN reads them): PATH may be either folder. Other
    loaders keep the lists in ``PATH/eval_modes/`` and read the released lines with ``data/SNU-FILM/``
    replaced by PATH, so a folder of any name holding ``test/`` works too. Sample ids are always
    relative paths (the GT frame's path relative to PATH, or to the folder that holds ``data/``,
    without extension; the same ids for every one of these layouts), so a prediction is looked up
    inside its folder.
    """

    kind = "snufilm"

    def __init__(self, path: Path, split: str) -> None:
        if split not in SNUFILM_SPLITS:
            raise DataError(f"snufilm has no split {split!r}; write snufilm(split=S):PATH with S one of "
                            f"{', '.join(SNUFILM_SPLITS)}.")
        root = _folder(Path(path), self.kind, f"test-{split}.txt")
        name = f"test-{split}.txt"
        folders = [folder for base in (root, root.joinpath(*SNUFILM_RELEASED)) for folder in (base, base / "eval_modes")]
        listing = next((folder / name for folder in folders if (folder / name).is_file()), root / name)
        if not any(any(folder.glob("test-*.txt")) for folder in folders if folder.is_dir()):
            raise not_a_layout(self.kind, root, LAYOUTS[self.kind])
        if not listing.is_file():
            raise DataError(f"The SNU-FILM list {name} is missing (looked in {', '.join(map(str, folders))}); "
                            f"PATH must be the folder that holds test-easy.txt .. test-extreme.txt (or holds them in "
                            f"eval_modes/), or the folder that holds data/SNU-FILM/.")
        bases = _snufilm_bases(root)
        lines: list[tuple[int, tuple[Path, ...]]] = []
        renamed = False
        for number, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 3:
                raise DataError(f"Line {number} of {listing} is {line.strip()!r}; each line must name three frames, "
                                f"'I0 GT I1', separated by spaces.")
            found = [_snufilm_frame(bases, text, f"line {number} of {listing}") for text in parts]
            renamed = renamed or any(by_prefix for _, by_prefix in found)
            lines.append((number, tuple(frame for frame, _ in found)))
        # PATH plays data/SNU-FILM/ when it is that folder, or when the released lines were read inside it.
        holder = bases[1] if len(bases) > 1 else None
        as_released = holder is not None or renamed
        refs: list[TripletRef] = []
        seen: set[str] = set()
        for number, frames in lines:
            sample = _snufilm_id(root, holder, frames[1], as_released)
            if sample in seen:
                sample = f"{sample}@{number}"
            seen.add(sample)
            refs.append(TripletRef(sample, tuple(str(frame) for frame in frames)))  # type: ignore[arg-type]
        if not refs:
            raise DataError(f"The SNU-FILM list {listing} names no triplets.")
        super().__init__(str(path), refs)
        self.split = split

    def describe(self) -> str:
        return f"{self.kind}(split={self.split}):{self.where}"


def _snufilm_bases(root: Path) -> list[Path]:
    """The folders a list line may be relative to: PATH, then — when PATH is ``…/data/SNU-FILM``, as
    written or once symbolic links are followed — the folder that holds ``data/`` (the released lines
    start ``data/SNU-FILM/``)."""
    lexical, resolved = Path(os.path.abspath(root)), root.resolve()
    holder = next((path.parent.parent for path in (lexical, resolved) if path.parts[-2:] == SNUFILM_RELEASED), None)
    return [root] if holder is None else [root, holder]


def _snufilm_frame(bases: list[Path], text: str, where: str) -> tuple[Path, bool]:
    """The file a list line names, and whether it was found only by reading the released prefix
    ``data/SNU-FILM/`` as PATH itself (as the loaders that keep the lists in ``eval_modes/`` do): in the
    first base in which it exists (an absolute line is taken as it is, as os.path.join takes it), else
    inside PATH after that prefix."""
    candidates = [base / text for base in bases]
    found = next((path for path in candidates if path.is_file()), None)
    if found is not None:
        return found, False
    parts = PurePosixPath(text).parts
    if parts[:len(SNUFILM_RELEASED)] == SNUFILM_RELEASED:
        inside = bases[0].joinpath(*parts[len(SNUFILM_RELEASED):])
        if inside.is_file():
            return inside, True
        candidates.append(inside)
    tried = " or ".join(str(path) for path in dict.fromkeys(candidates))
    raise DataError(f"The frame {text!r} named on {where} is missing: looked for {tried}. Lines are read "
                    f"relative to PATH (or, for the released lists, to the folder that holds data/SNU-FILM/, or "
                    f"to PATH as that folder); pass that folder as PATH, or restore the frame.")


def _inside(path: Path, folder: Path) -> str | None:
    """``path`` relative to ``folder`` (both made absolute lexically), or None when it lies outside."""
    inside = os.path.relpath(os.path.abspath(path), os.path.abspath(folder))
    return None if inside == os.pardir or inside.startswith(os.pardir + os.sep) else inside


def _snufilm_id(root: Path, holder: Path | None, gt: Path, as_released: bool) -> str:
    """The sample id of a GT frame, without extension: when PATH plays ``data/SNU-FILM/`` (it is that
    folder, or the released lines were read inside it), its path relative to the folder that holds
    ``data/SNU-FILM/`` (so the ids are the same whichever folder is PATH, and whatever form its lines
    take), else relative to PATH; a frame outside both keeps its absolute path without the leading
    separator. Never absolute, never climbing out with ``..``."""
    inside = _inside(gt, root)
    if inside is not None:
        return _without_suffix("/".join([*SNUFILM_RELEASED, inside]) if as_released else inside)
    inside = _inside(gt, holder) if holder is not None else None
    if inside is not None:
        return _without_suffix(inside)
    absolute = Path(os.path.abspath(gt))
    return _without_suffix(str(absolute.relative_to(absolute.anchor)))


class XiphSource(StandardSource):
    """``xiph(res=2k|4k):PATH`` — Xiph 4K clips as EMA-VFI's ``benchmark/Xiph.py`` reads them."""

    kind = "xiph"

    def __init__(self, path: Path, res: str) -> None:
        if res not in XIPH_RESOLUTIONS:
            raise DataError(f"xiph has no resolution {res!r}; write xiph(res=2k):PATH (resized to 2048x1080) or "
                            f"xiph(res=4k):PATH (centre 2048x1080 crop of the 4K frames).")
        root = _folder(Path(path), self.kind, "<Clip>-<NNN>.png frames")
        clips: dict[str, set[int]] = {}
        for file in root.iterdir():
            match = _XIPH_NAME.match(file.name)
            if match and file.is_file() and not is_hidden(file):
                clips.setdefault(match["clip"], set()).add(int(match["number"]))
        if not clips:
            raise not_a_layout(self.kind, root, LAYOUTS[self.kind])
        needed = range(XIPH_MIDDLE_FRAMES.start - 1, XIPH_MIDDLE_FRAMES.stop + 1)
        refs: list[TripletRef] = []
        for clip in sorted(clips):
            missing = [number for number in needed if number not in clips[clip]]
            if missing:
                raise DataError(f"The frame {root / f'{clip}-{missing[0]:03d}.png'} is missing, and {clip} lacks "
                                f"{len(missing)} of its frames {needed.start:03d}-{needed.stop - 1:03d} in all: the Xiph "
                                f"scripts score the triplets (001, 002, 003) to (097, 098, 099) of every clip. Restore "
                                f"the frames, e.g. by extracting the first 100 frames of the clip again.")
            refs.extend(TripletRef(f"{clip}-{k:03d}", tuple(str(root / f"{clip}-{n:03d}.png")  # type: ignore[arg-type]
                                                           for n in (k - 1, k, k + 1)))
                        for k in XIPH_MIDDLE_FRAMES)
        super().__init__(str(path), refs)
        self.res = res
        self.clips = sorted(clips)

    @property
    def notes(self) -> list[str]:
        """A sentence when the clips differ from the eight the reference scripts score."""
        return _not_the_published_set(self.describe(), "Xiph", self.clips, XIPH_CLIPS, "clips")

    def describe(self) -> str:
        return f"{self.kind}(res={self.res}):{self.where}"

    @property
    def loading(self) -> str:
        if self.res == "2k":
            return "resized from 4096x2160 with OpenCV INTER_AREA, as EMA-VFI's benchmark/Xiph.py"
        return "the centre 2048x1080 of the 4096x2160 frames, as EMA-VFI's benchmark/Xiph.py"

    def frame(self, path: str) -> np.ndarray:
        return xiph_frame(read_image(Path(path)), self.res, path)


def xiph_frame(frame: np.ndarray, res: str, where: str) -> np.ndarray:
    """EMA-VFI's Xiph handling of one 4096×2160 frame: ``2k`` → ``cv2.resize`` to 2048×1080 with
    ``INTER_AREA`` on the 8-bit levels; ``4k`` → rows 540:−540, columns 1024:−1024."""
    height, width = frame.shape[:2]
    if (width, height) != XIPH_4K:
        raise DataError(f"The frame {where} is {width}x{height} pixels; Xiph frames are "
                        f"{XIPH_4K[0]}x{XIPH_4K[1]} (the 2K and 4K variants both start from them).")
    if res == "4k":
        return np.ascontiguousarray(frame[540:-540, 1024:-1024])
    import cv2

    levels = np.round(frame * 255.0).astype(np.uint8)
    resized = cv2.resize(levels, XIPH_2K, interpolation=cv2.INTER_AREA)
    return resized.astype(np.float32) / 255.0


class DavisSource(StandardSource):
    """``davis:PATH`` — DAVIS sequences, the triplets the published DAVIS loaders score.

    FLAVR's ``dataset/Davis_test.py`` takes, for t = 0, 2, … while t < n − 6 (n frames in the
    sequence), the frames (t, t+2, t+4, t+6) as inputs and t+3 as ground truth; ST-MFNet's
    ``Davis90_triplet`` (``data/testsets.py``), the two-frame protocol later papers follow, scores
    its inner triplet (t+2, t+3, t+4). Both therefore score the middle frames 3, 5, …, n − 4 or
    n − 5; a sequence of fewer than seven frames gives none. (FLAVR also centre-crops to 480×840 and
    ST-MFNet averages per sequence before averaging sequences; vfibench scores full frames and
    averages triplets, as the README says.)
    """

    kind = "davis"
    #: The published loaders' window: t = 0, 2, … < n − SPAN, triplet (t+2, t+3, t+4).
    SPAN = 6

    def __init__(self, path: Path) -> None:
        root = _folder(Path(path), self.kind, "one folder of frames per sequence")
        # the release's JPEGImages/480p/, or a 480p/ of frames copied out of it; never Annotations/480p/ (masks)
        nested = [folder for folder in (root / "JPEGImages" / "480p", root / "480p")
                  if folder.is_dir() and folder.parent.name != "Annotations"]
        base = nested[0] if nested else root
        sequences = sorted(visible_subfolders(base), key=lambda p: natural_key(p.name))
        refs: list[TripletRef] = []
        #: Sequence folders with too few frames for the loaders' window (``data`` notes them).
        self.short_clips: list[str] = []
        for seq in sequences:
            frames = image_files(seq)
            refs.extend(TripletRef(f"{seq.name}/{frames[t + 3].stem}",
                                   (str(frames[t + 2]), str(frames[t + 3]), str(frames[t + 4])))
                        for t in range(0, len(frames) - self.SPAN, 2))
            if len(frames) <= self.SPAN:
                self.short_clips.append(str(seq))
        if not refs and not self.short_clips:
            raise not_a_layout(self.kind, root, LAYOUTS[self.kind])
        if not refs:
            raise DataError(f"The davis folder {base} holds no sequence folder with at least {self.SPAN + 1} frames, "
                            f"the fewest from which the published DAVIS loaders take a triplet.")
        super().__init__(str(path), refs)


def open_standard(kind: str, path: Path, options: dict[str, object]) -> StandardSource:
    """The source of a standard-set spec (``split`` for snufilm, ``res`` for xiph are required)."""
    if kind == "ucf101":
        return UCF101Source(path)
    if kind == "middlebury":
        return MiddleburySource(path)
    if kind == "snufilm":
        if "split" not in options:
            raise DataError(f"snufilm needs a split: write snufilm(split=S):{path} with S one of "
                            f"{', '.join(SNUFILM_SPLITS)}.")
        return SnuFilmSource(path, str(options["split"]))
    if kind == "xiph":
        if "res" not in options:
            raise DataError(f"xiph needs a resolution: write xiph(res=2k):{path} or xiph(res=4k):{path}.")
        return XiphSource(path, str(options["res"]))
    if kind == "davis":
        return DavisSource(path)
    raise DataError(f"{kind!r} is not a standard test set; the standard sets are {', '.join(KINDS)}.")
