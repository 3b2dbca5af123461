"""Writing triplets as PNG files, so a person can look at exactly what the benchmark sees.

Layout::

    DIR/
      triplets.csv                 folder, name, t, and where each frame came from
      00000/im1.png im2.png im3.png
      00001/...

Frames are written after fitting, as 8-bit RGB (rounded to 1/255). Every folder holds three
consecutive frames, so ``frames:DIR`` reads the export back as the same triplets.

An export is written into a hidden staging folder (beside DIR when DIR is absent, inside it when it
exists) and moved into place only once every triplet and the index are written, with SIGINT and
SIGTERM held back for that moment: an export that fails or is stopped leaves DIR as it was.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from vfibench.data.images import Fit, save_png
from vfibench.data.layouts import TRIPLET_NAMES as FRAME_FILES
from vfibench.data.triplet_source import TripletSource
from vfibench.errors import DataError, StoppedBySignal
from vfibench.processes import signal_name
from vfibench.results.atomic import check_writable_folder

#: Triplets loaded at once while exporting (bounds memory).
CHUNK = 16
INDEX_FILE = "triplets.csv"
#: Names of the triplet folders an export writes: 00000, 00001, … (six digits from 100000 on).
_FOLDER_NAME = re.compile(r"\d{5,}")
#: Prefix of the hidden folder an export is written into before it is moved into place.
STAGING_PREFIX = ".vfibench-export-"
#: The least a PNG triplet takes on disk, as a fraction of its raw 8-bit RGB bytes (photographs and
#: rendered scenes compress to 50-80 %): used only to refuse exports that cannot fit.
_PNG_FLOOR = 0.4
_HELD = (signal.SIGINT, signal.SIGTERM)


class ExportInterrupted(StoppedBySignal):
    """An export stopped by SIGINT or SIGTERM; the message says what it left behind."""


def _written_by_export(entry: Path) -> bool:
    """Whether ``entry`` (directly in an export folder) is the index or a triplet folder holding only frames."""
    if entry.is_symlink():
        return False
    if entry.name == INDEX_FILE:
        return entry.is_file()
    return (entry.is_dir() and _FOLDER_NAME.fullmatch(entry.name) is not None
            and all(f.name in FRAME_FILES and f.is_file() and not f.is_symlink() for f in entry.iterdir()))


def _foreign_error(out_dir: Path, foreign: Sequence[str]) -> DataError:
    """The error for an export folder that holds ``foreign`` entries, which an export did not write."""
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    return DataError(
        f"The export folder {out_dir} holds files an export did not write ({shown}). An export goes into a new "
        f"or empty folder, and --overwrite replaces only an earlier export (its numbered triplet folders of "
        f"{', '.join(FRAME_FILES)} and {INDEX_FILE}), never anything else. Choose a new folder, or move "
        f"those files out first."
    )


def _earlier_export(out_dir: Path, overwrite: bool) -> list[Path]:
    """The entries of ``out_dir`` (listed once): none when it is absent or empty, else an earlier export's
    for --overwrite to replace; a :class:`DataError` for a file in its place, for anything an export did not
    write, and for an earlier export without --overwrite."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"The export target {out_dir} is a file; pass a folder (it is created if absent).")
    entries = sorted(out_dir.iterdir()) if out_dir.is_dir() else []
    foreign = [entry.name for entry in entries if not _written_by_export(entry)]
    if foreign:
        raise _foreign_error(out_dir, foreign)
    if entries and not overwrite:
        unfinished = ("" if any(entry.name == INDEX_FILE for entry in entries) else
                      f" that was never finished (it has no {INDEX_FILE})")
        raise DataError(f"The export folder {out_dir} holds an earlier export{unfinished}. Choose a new folder, or "
                        f"pass --overwrite to replace it.")
    return entries


def _refuse_own_input(out_dir: Path, source: TripletSource, order: Sequence[int]) -> None:
    """A :class:`DataError` when a frame to export is read from inside ``out_dir``."""
    inside = out_dir.resolve()
    for frame in (Path(f) for index in order for f in source.refs[index].frames):
        if frame.is_file() and frame.resolve().is_relative_to(inside):
            raise DataError(
                f"The export would overwrite its own input: {frame} lies in the export folder {out_dir}. Export "
                f"to another folder."
            )


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or its nearest ancestor that exists."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_disk_space(count: int, width: int, height: int, out_dir: Path) -> None:
    """A :class:`DataError` when ``count`` triplets of width x height PNG frames cannot fit in the free
    space of the disk that holds ``out_dir`` (even compressed as well as PNG ever compresses such frames)."""
    need = count * 3 * width * height * 3 * _PNG_FLOOR
    free = shutil.disk_usage(_nearest_existing(Path(out_dir).absolute())).free
    if need > free:
        raise DataError(
            f"Exporting {count:,} triplets of {width}x{height} pixels would take at least {_gigabytes(need)} of disk "
            f"(three PNG frames each), but the disk that holds {out_dir} has {_gigabytes(free)} free. Ask for fewer "
            f"triplets (--count) or smaller frames (--size), or export to a disk with more space."
        )


def _gigabytes(count: float) -> str:
    return f"{count / 1e9:,.1f} GB" if count >= 1e8 else f"{count / 1e6:,.1f} MB"


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
    """Write the triplets ``order`` as numbered folders and the index into ``out_dir``; their folder names.
    The disk space is checked once the first frames show their size, before any is written."""
    from vfibench.data.standard_sets import StandardSource

    names: list[str] = []
    rows: list[list[str]] = []
    step = 1 if isinstance(source, StandardSource) else CHUNK  # a standard set's sizes may differ (Middlebury)
    for start in range(0, len(order), step):
        chunk = order[start : start + step]
        batch = source.load(chunk, size, fit)
        if not names:
            check_disk_space(len(order), batch.i0.shape[-1], batch.i0.shape[-2], out_dir)
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


def _make_parents(folder: Path) -> list[Path]:
    """Create the missing parents of ``folder``; return those created, outermost first."""
    missing: list[Path] = []
    parent = folder.absolute().parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    created = missing[::-1]
    for path in created:
        path.mkdir(exist_ok=True)
    return created


def _folder_mode() -> int:
    """The permissions an ordinary new folder gets under the current umask (``mkdtemp`` uses 0700)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


def _staging(out_dir: Path, into_existing: bool) -> Path:
    """A new hidden folder to write the export into: inside ``out_dir`` when it exists (same disk, whatever
    is mounted there), else beside it, so that it can be renamed into place."""
    if into_existing:
        return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{out_dir.name}-", dir=out_dir.absolute().parent))


def _discard(staging: Path, created: Sequence[Path]) -> str:
    """Remove the staging folder and the parents an export created; a sentence on anything left, else ""."""
    shutil.rmtree(staging, ignore_errors=True)
    for path in reversed(created):
        try:
            path.rmdir()
        except OSError:
            break
    return f" The staging folder {staging} could not be removed; delete it." if staging.exists() else ""


def _commit(staging: Path, out_dir: Path, earlier: Sequence[Path], into_existing: bool) -> None:
    """Move a finished export from ``staging`` into place: rename the folder, or replace the ``earlier``
    entries of an existing folder with the staged ones (the index last)."""
    if not into_existing:
        staging.chmod(_folder_mode())
        staging.rename(out_dir)
        return
    _remove(earlier)
    for entry in sorted(staging.iterdir(), key=lambda entry: (entry.name == INDEX_FILE, entry.name)):
        entry.rename(out_dir / entry.name)
    staging.rmdir()


@contextlib.contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Within the block, SIGINT and SIGTERM are recorded instead of acted on (in the main thread; elsewhere
    nothing changes); yields the list of those that arrived."""
    arrived: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield arrived
        return
    previous = {number: signal.signal(number, lambda signum, frame: arrived.append(signum)) for number in _HELD}
    try:
        yield arrived
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


def _signal_of(stop: BaseException) -> int | None:
    """The signal behind a stop: SIGINT for a KeyboardInterrupt, the ``signum`` of a stop raised by a signal
    handler (a BaseException that carries one, such as the sweep's Interrupted); None for an error."""
    if isinstance(stop, KeyboardInterrupt):
        return int(signal.SIGINT)
    signum = getattr(stop, "signum", None)
    return signum if isinstance(signum, int) and not isinstance(stop, Exception) else None


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
    replaced, and a folder holding anything else is refused. The export is written into a staging
    folder and moved into place once whole, so a frame that cannot be read, a full disk or a stop
    leaves ``out_dir`` as it was (absent, empty, or holding the earlier export). A KeyboardInterrupt
    or a signal's stop while writing becomes :class:`ExportInterrupted`, saying so; SIGINT and SIGTERM
    arriving while the export is moved into place wait until it is there. A standard set is written
    one triplet at a time, at each triplet's own size.
    """
    out_dir = Path(out_dir)
    earlier = _earlier_export(out_dir, overwrite)
    check_writable_folder(out_dir, "The export folder")
    order = sorted(indices)
    if not order:
        raise DataError(f"No triplets were selected from {source.describe()}; ask for at least one.")
    if earlier:
        _refuse_own_input(out_dir, source, order)
    into_existing = out_dir.is_dir()
    created = [] if into_existing else _make_parents(out_dir)
    staging = _staging(out_dir, into_existing)
    try:
        names = _write_triplets(source, order, staging, size, fit, progress)
    except BaseException as stop:
        signum = _signal_of(stop)
        written = sum(1 for entry in staging.iterdir() if entry.is_dir()) if signum is not None else 0
        left = _discard(staging, created)
        if signum is None:
            raise
        before = ("still holds the earlier export, unchanged" if earlier else
                  "is still empty" if into_existing else "was not created")
        raise ExportInterrupted(
            f"The export to {out_dir} was interrupted by {signal_name(signum)} after {written} of {len(order)} "
            f"triplets; nothing was left behind: {out_dir} {before}.{left} Run the command again to export.",
            signum) from None
    with _signals_held() as arrived:
        try:
            _commit(staging, out_dir, earlier, into_existing)
        except BaseException:
            _discard(staging, created)
            raise
    if arrived:
        raise ExportInterrupted(
            f"The export to {out_dir} was interrupted by {signal_name(arrived[0])} as it was being moved into "
            f"place, and was finished first: {out_dir} holds all {len(names)} triplets and its {INDEX_FILE}.",
            arrived[0])
    return [out_dir / name for name in names]
