"""Writing triplets as PNG files, so a person can look at exactly what the benchmark sees.

Layout::

    DIR/
      triplets.csv                 folder, name, t, and where each frame came from
      00000/im1.png im2.png im3.png
      00001/...

Frames are written after fitting, as 8-bit RGB (rounded to 1/255). Every folder holds three
consecutive frames, so ``frames:DIR`` reads the export back as the same triplets.
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from vfibench.data.images import Fit, save_png
from vfibench.data.triplet_source import TripletSource
from vfibench.errors import DataError
from vfibench.results.atomic import check_writable_folder

#: Triplets loaded at once while exporting (bounds memory).
CHUNK = 16
INDEX_FILE = "triplets.csv"
FRAME_FILES = ("im1.png", "im2.png", "im3.png")
#: Names of the triplet folders an export writes: 00000, 00001, … (six digits from 100000 on).
_FOLDER_NAME = re.compile(r"\d{5,}")


def _written_by_export(entry: Path) -> bool:
    """Whether ``entry`` (directly in an export folder) is the index or a triplet folder holding only frames."""
    if entry.is_symlink():
        return False
    if entry.name == INDEX_FILE:
        return entry.is_file()
    return (entry.is_dir() and _FOLDER_NAME.fullmatch(entry.name) is not None
            and all(f.name in FRAME_FILES and f.is_file() and not f.is_symlink() for f in entry.iterdir()))


def _refuse_foreign(out_dir: Path) -> None:
    """A :class:`DataError` if ``out_dir`` holds anything an export did not write."""
    foreign = [entry.name for entry in sorted(out_dir.iterdir()) if not _written_by_export(entry)]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise DataError(
            f"The export folder {out_dir} holds files an export did not write ({shown}). An export goes into a new "
            f"or empty folder, and --overwrite replaces only an earlier export (its numbered triplet folders of "
            f"{', '.join(FRAME_FILES)} and {INDEX_FILE}), never anything else. Choose a new folder, or move "
            f"those files out first."
        )


def _earlier_export(out_dir: Path, source: TripletSource, order: Sequence[int]) -> list[Path]:
    """What an earlier export wrote in ``out_dir``, for --overwrite to replace; a :class:`DataError` if the
    folder holds anything else or the frames to export are read from it."""
    entries = sorted(out_dir.iterdir())
    _refuse_foreign(out_dir)
    inside = out_dir.resolve()
    for frame in (Path(f) for index in order for f in source.refs[index].frames):
        if frame.is_file() and frame.resolve().is_relative_to(inside):
            raise DataError(
                f"The export would overwrite its own input: {frame} lies in the export folder {out_dir}. Export "
                f"to another folder."
            )
    return entries


def _remove(entries: Sequence[Path]) -> None:
    """Delete an export's own entries (:func:`_written_by_export`): the index and folders of frames."""
    for entry in entries:
        if entry.is_dir():
            for frame in entry.iterdir():
                frame.unlink()
            entry.rmdir()
        else:
            entry.unlink()


def _write_triplets(source: TripletSource, order: Sequence[int], out_dir: Path, size: int | None, fit: Fit,
                    progress: Callable[[int, int], None] | None) -> list[str]:
    """Write the triplets ``order`` as numbered folders and the index into ``out_dir``; their folder names."""
    from vfibench.data.standard_sets import StandardSource

    names: list[str] = []
    rows: list[list[str]] = []
    step = 1 if isinstance(source, StandardSource) else CHUNK  # a standard set's sizes may differ (Middlebury)
    for start in range(0, len(order), step):
        chunk = order[start : start + step]
        batch = source.load(chunk, size, fit)
        for k, index in enumerate(chunk):
            folder = out_dir / f"{len(names):05d}"
            folder.mkdir()
            for name, frame in zip(FRAME_FILES, (batch.i0[k], batch.it[k], batch.i1[k])):
                save_png(frame, folder / name)
            ref = source.refs[index]
            rows.append([folder.name, ref.name, f"{float(batch.t[k]):g}", *ref.frames])
            names.append(folder.name)
        if progress:
            progress(len(names), len(order))
    with open(out_dir / INDEX_FILE, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["folder", "name", "t", "i0_source", "it_source", "i1_source"])
        writer.writerows(rows)
    return names


def export_triplets(
    source: TripletSource,
    indices: Sequence[int],
    out_dir: Path,
    size: int | None,
    fit: Fit,
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write the triplets ``indices`` of ``source`` under ``out_dir``; return the triplet folders.

    ``out_dir`` must be absent or empty unless ``overwrite`` is set; then an earlier export there is
    replaced, and a folder holding anything else is refused. A frame that cannot be read leaves
    ``out_dir`` as it was: absent or empty (what was written is removed again), or holding the earlier
    export (the new one is written beside it first and moved in once whole). A standard set is written
    one triplet at a time, at each triplet's own size.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"The export target {out_dir} is a file; pass a folder (it is created if absent).")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        if all(_written_by_export(entry) for entry in out_dir.iterdir()):
            raise DataError(f"The export folder {out_dir} holds an earlier export. Choose a new folder, or pass "
                            f"--overwrite to replace it.")
        _refuse_foreign(out_dir)
    check_writable_folder(out_dir, "The export folder")
    order = sorted(indices)
    if not order:
        raise DataError(f"No triplets were selected from {source.describe()}; ask for at least one.")
    earlier = _earlier_export(out_dir, source, order) if out_dir.is_dir() else []
    if not earlier:  # absent or empty: written in place, and emptied again (or removed) if it fails
        created = not out_dir.exists()
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            names = _write_triplets(source, order, out_dir, size, fit, progress)
        except BaseException:
            _remove([entry for entry in out_dir.iterdir() if _written_by_export(entry)])
            if created:
                shutil.rmtree(out_dir, ignore_errors=True)
            raise
        return [out_dir / name for name in names]
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        names = _write_triplets(source, order, staging, size, fit, progress)
        _remove(earlier)
        for entry in sorted(staging.iterdir()):
            entry.rename(out_dir / entry.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / name for name in names]
