"""What a folder passed as a dataset looks like, for errors that name the source kind that fits it.

A standard set or Vimeo-90K folder that does not have its layout at all (rather than one that has it
but lacks a file) is reported by :func:`not_a_layout`: what the folder holds, what layout the kind
expects, and which spec might read it (:func:`guess_specs`), e.g. ``frames:PATH`` for a folder of
frames.
"""

from __future__ import annotations

import re
from pathlib import Path

from vfibench.data.images import IMAGE_EXTENSIONS
from vfibench.errors import DataError

#: The frame files of a UCF101 sample, and of a Vimeo-90K triplet folder (as `vfibench data export` writes too).
UCF101_NAMES = ("frame_00.png", "frame_01_gt.png", "frame_02.png")
TRIPLET_NAMES = ("im1.png", "im2.png", "im3.png")
#: A Middlebury sequence's frames: first input, interpolated ground truth, second input.
MIDDLEBURY_FRAMES = ("frame10.png", "frame10i11.png", "frame11.png")
#: The SNU-FILM test lists' difficulty levels, test-<split>.txt.
SNUFILM_SPLITS = ("easy", "medium", "hard", "extreme")
#: The folder DVF's UCF101 test triplets unpack to (RIFE's README: ``UCF101/ucf101_interp_ours/``).
UCF101_RELEASE = "ucf101_interp_ours"
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".y4m", ".gif")
_XIPH_NAME = re.compile(r"^.+-\d{3}\.png$")
#: Entries looked at, at most, in a folder and in each of its first subfolders.
_LOOK = 200


def _entries(folder: Path) -> list[Path]:
    """Up to :data:`_LOOK` entries of ``folder`` (none if it cannot be listed), sorted by name."""
    try:
        found = []
        for entry in folder.iterdir():
            found.append(entry)
            if len(found) >= _LOOK:
                break
        return sorted(found)
    except OSError:
        return []


def _images(entries: list[Path]) -> list[Path]:
    return [entry for entry in entries if entry.suffix.lower() in IMAGE_EXTENSIONS and entry.is_file()]


def guess_specs(folder: Path) -> list[tuple[str, str]]:
    """The specs that might read ``folder``, each with what about the folder suggests it, most specific first."""
    entries = _entries(folder)
    names = {entry.name for entry in entries}
    folders = [entry for entry in entries if entry.is_dir()]
    inner = {sub.name: {e.name for e in _entries(sub)} for sub in folders[:20]}
    images = _images(entries)
    guesses: list[tuple[str, str]] = []
    if names & {"tri_testlist.txt", "tri_trainlist.txt", "sequences", "vimeo_triplet", "vimeo_interp_test"}:
        guesses.append((f"vimeo90k:{folder}", "it has Vimeo-90K's lists or sequences/"))
    if {"other-data", "other-gt-interp"} <= names:
        guesses.append((f"middlebury:{folder}", "it has other-data/ and other-gt-interp/"))
    elif any(set(MIDDLEBURY_FRAMES) <= files for files in inner.values()):
        guesses.append((f"middlebury:{folder}", "its subfolders hold Middlebury's frame10.png, frame10i11.png, "
                                                "frame11.png"))
    snufilm_list = re.compile(rf"test-({'|'.join(SNUFILM_SPLITS)})\.txt")
    if any(snufilm_list.fullmatch(name) for name in names) or (folder / "data" / "SNU-FILM").is_dir():
        guesses.append((f"snufilm(split=hard):{folder}", "it has SNU-FILM's test-<split>.txt lists"))
    if (folder / "JPEGImages" / "480p").is_dir() or (folder.name == "JPEGImages" and (folder / "480p").is_dir()):
        guesses.append((f"davis:{folder}", "it has DAVIS's JPEGImages/480p/ or 480p/"))
    if any(set(UCF101_NAMES) <= files for files in inner.values()):
        guesses.append((f"ucf101:{folder}", "its subfolders hold frame_00.png, frame_01_gt.png, frame_02.png"))
    elif UCF101_RELEASE in names:
        guesses.append((f"ucf101:{folder}", f"it has {UCF101_RELEASE}/"))
    if sum(bool(_XIPH_NAME.match(image.name)) for image in images) >= 3:
        guesses.append((f"xiph(res=4k):{folder}", "it holds frames named <Clip>-<NNN>.png"))
    if any(set(TRIPLET_NAMES) <= files for files in inner.values()):
        guesses.append((f"frames:{folder}", "its subfolders hold im1.png, im2.png, im3.png, as `vfibench data "
                                            "export` writes them"))
    elif images:
        guesses.append((f"frames:{folder}", f"it holds {len(images)}{'+' if len(entries) >= _LOOK else ''} image "
                                            f"files, read as consecutive frames"))
    elif any(_images([sub / name for name in files]) for sub, files in zip(folders, inner.values())):
        guesses.append((f"frames:{folder}", "its subfolders hold image files, read as clips of consecutive frames"))
    videos = [entry for entry in entries if entry.suffix.lower() in VIDEO_EXTENSIONS and entry.is_file()]
    if videos:
        guesses.append((f"video:{videos[0]}", "it holds video files"))
    return guesses


def _holds(folder: Path) -> str:
    """A few words on what ``folder`` holds, e.g. "3 subfolders (a, b, c) and 2 files (x.txt, y.png)"."""
    entries = _entries(folder)
    more = "+" if len(entries) >= _LOOK else ""
    folders = [entry.name for entry in entries if entry.is_dir()]
    files = [entry.name for entry in entries if not entry.is_dir()]
    parts = [f"{len(items)}{more} {word}{'s' if len(items) != 1 else ''} ({', '.join(items[:3])}"
             f"{', …' if len(items) > 3 else ''})" for items, word in ((folders, "subfolder"), (files, "file")) if items]
    return " and ".join(parts) if parts else "nothing"


def not_a_layout(kind: str, folder: Path, expected: str) -> DataError:
    """The error for a ``kind:PATH`` whose folder does not have the kind's layout at all: what it holds,
    the ``expected`` layout, and the specs that might read it instead."""
    guesses = [(spec, why) for spec, why in guess_specs(folder) if not spec.startswith(f"{kind}")]
    if guesses:
        hint = "; ".join(f"{spec} ({why})" for spec, why in guesses[:2])
        fix = f"It may be another kind of source: try {hint}. Otherwise pass the folder that has the {kind} layout."
    else:
        fix = f"Pass the folder that has the {kind} layout ({kind}:PATH)."
    return DataError(f"{folder} does not look like a {kind} folder: {kind}:PATH expects {expected}, but it holds "
                     f"{_holds(folder)}. {fix}")
