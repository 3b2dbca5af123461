"""Writing verified weights into vfibench's cache, and what a fetch or an import did for each backbone.

``<name>-features.pt`` holds the state dict and the JSON sidecar ``<name>-features.json`` its
tensor hash and origin; each is written to a temporary file in the same folder, synced and renamed
into place, so a reader never sees half a file (:func:`store`). :func:`store_all` stores converted
weights and describes each as a :class:`FetchOutcome`.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from vfibench.backbones.architecture import validate_state
from vfibench.backbones.hashing import key_order, tensor_sha256
from vfibench.backbones.lookup import BackboneStatus, Source
from vfibench.backbones.paths import cache_paths, not_a_folder_or_file
from vfibench.errors import VfiBenchError

_FORMAT_VERSION = 1


def _atomic_write(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write ``path`` through a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_json(handle: io.BufferedWriter, record: Mapping[str, object]) -> None:
    """Write ``record`` as indented JSON."""
    handle.write((json.dumps(record, indent=2) + "\n").encode())


def check_storable(name: str) -> None:
    """A VfiBenchError when ``name``'s cache files cannot be written because a folder stands where one of
    them should be, or a file where a folder above them should (``VFIBENCH_HOME`` a file)."""
    weights, record = cache_paths(name)
    blocked = not_a_folder_or_file(weights) or not_a_folder_or_file(record)
    if blocked:
        raise VfiBenchError(f"Cannot write the {name} weights into vfibench's cache: {blocked}, and run the "
                            f"command again.")


def store(name: str, state: Mapping[str, torch.Tensor], origin: str) -> tuple[Path, str]:
    """Write a verified state dict and its tensor hash into vfibench's cache; return (path, sha256)."""
    validate_state(name, state, origin)
    sha = tensor_sha256(state)
    path, sidecar = cache_paths(name)
    tensors = {key: state[key].detach().cpu().contiguous() for key in sorted(state, key=key_order)}
    record = {"backbone": name, "sha256": sha, "origin": origin, "format": _FORMAT_VERSION}
    check_storable(name)  # before either file is written: a weights file never lands without its record
    try:
        _atomic_write(path, lambda handle: torch.save(tensors, handle))
        _atomic_write(sidecar, lambda handle: _write_json(handle, record))
    except OSError as err:
        raise VfiBenchError(
            f"Cannot write the {name} weights to {path.parent} ({err.strerror or err}). Make the "
            "folder writable, or point VFIBENCH_HOME at a writable folder, and run the command again."
        ) from None
    return path, sha


Action = Literal["present", "fetched", "imported"]


@dataclass(frozen=True)
class FetchOutcome:
    """What :func:`~vfibench.backbones.fetching.fetch` or
    :func:`~vfibench.backbones.importing.import_file` did for one backbone.

    Attributes:
        name: the backbone.
        action: ``"present"`` (nothing to do), ``"fetched"`` or ``"imported"``.
        source: where the weights now live (``"torchvision-cache"`` or ``"vfibench-cache"``).
        path: the file holding them.
        sha256: their tensor hash.
    """

    name: str
    action: Action
    source: Source
    path: Path
    sha256: str


def store_all(
    states: Mapping[str, Mapping[str, torch.Tensor]], origin: str, action: Action
) -> list[FetchOutcome]:
    """Store every converted backbone and describe each as a :class:`FetchOutcome`."""
    outcomes = []
    for name, state in states.items():
        path, sha = store(name, state, origin)
        outcomes.append(
            FetchOutcome(name=name, action=action, source="vfibench-cache", path=path, sha256=sha)
        )
    return outcomes


def present(status: BackboneStatus) -> FetchOutcome:
    """The outcome for a backbone that was found and needed nothing."""
    return FetchOutcome(
        name=status.name,
        action="present",
        source=status.source or "vfibench-cache",
        path=status.path or Path(),
        sha256=status.sha256 or "",
    )
