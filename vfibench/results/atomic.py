"""Atomic file writes: write a temporary file in the same folder, flush it to disk, then rename.

A reader therefore sees either the old file or the complete new one, never a half-written file,
whatever moment the writer is killed at.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pandas as pd


def check_not_a_file(folder: Path, option: str) -> None:
    """A ResultsError when a file (or anything but a folder) has the name of the folder ``option`` gives."""
    from vfibench.errors import ResultsError

    folder = Path(folder)
    if (folder.exists() or folder.is_symlink()) and not folder.is_dir():
        raise ResultsError(f"{option} '{folder}' is not a folder (a file or device of that name exists). Pass "
                           f"a folder.")


def check_writable_folder(folder: Path, option: str) -> None:
    """A ResultsError, before any work, when ``folder`` cannot be created or written: a file is in its
    place or on its path, or the nearest existing folder on its path is not writable."""
    from vfibench.errors import ResultsError

    folder = Path(folder)
    existing = folder
    while not existing.exists() and not existing.is_symlink() and existing != existing.parent:
        existing = existing.parent
    check_not_a_file(folder, option)
    if not existing.is_dir():
        raise ResultsError(f"{option} '{folder}' cannot be created: '{existing}' on its path is a file, not a "
                           f"folder. Pass a path whose parents are folders.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ResultsError(f"{option} '{folder}' cannot be written: the folder '{existing}' is read-only for "
                           f"this user. Pass a writable folder.")


def _file_mode() -> int:
    """The permissions an ordinary new file gets under the current umask (``mkstemp`` uses 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _atomic(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    _atomic(path, lambda stream: stream.write(data))


def write_text(path: Path, text: str) -> None:
    """Atomically write UTF-8 ``text`` to ``path``."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, value: Any) -> None:
    """Atomically write ``value`` as indented JSON."""
    write_text(path, json.dumps(value, indent=2, sort_keys=False, default=str) + "\n")


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Atomically write a DataFrame as CSV (no index, floats to ten significant digits, whatever their size)."""
    write_text(path, frame.to_csv(index=False, float_format="%.10g"))


def write_torch(path: Path, value: Any) -> None:
    """Atomically ``torch.save`` ``value``."""
    import torch

    buffer = io.BytesIO()
    torch.save(value, buffer)
    write_bytes(path, buffer.getvalue())


def point_symlink(link: Path, target: str) -> None:
    """Atomically make ``link`` a symbolic link to ``target`` (replacing an older link).

    The new link is made under a name unique to this call, then renamed over ``link``: a reader sees
    the old target or the new one, and two writers racing each leave a valid link (the last wins).
    """
    temporary = link.with_name(f".{link.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
