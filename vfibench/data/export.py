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

    ``out_dir`` must be absent or empty unless ``overwrite`` is set (then files of the same
    names are replaced and others are left alone).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"The export target {out_dir} is a file; pass a folder (it is created if absent).")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise DataError(
            f"The export folder {out_dir} is not empty. Choose a new folder, or pass --overwrite to replace "
            f"files of the same names in it."
        )
    check_writable_folder(out_dir, "The export folder")
    order = sorted(indices)
    if not order:
        raise DataError(f"No triplets were selected from {source.describe()}; ask for at least one.")
    out_dir.mkdir(parents=True, exist_ok=True)
    folders: list[Path] = []
    rows: list[list[str]] = []
    for start in range(0, len(order), CHUNK):
        chunk = order[start : start + CHUNK]
        batch = source.load(chunk, size, fit)
        for k, index in enumerate(chunk):
            folder = out_dir / f"{len(folders):05d}"
            folder.mkdir(exist_ok=True)
            for name, frame in zip(FRAME_FILES, (batch.i0[k], batch.it[k], batch.i1[k])):
                save_png(frame, folder / name)
            ref = source.refs[index]
            rows.append([folder.name, ref.name, f"{float(batch.t[k]):g}", *ref.frames])
            folders.append(folder)
        if progress:
            progress(len(folders), len(order))
    with open(out_dir / INDEX_FILE, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["folder", "name", "t", "i0_source", "it_source", "i1_source"])
        writer.writerows(rows)
    return folders
