"""SHA-256 of backbone weights: of their tensors, and of the files they come in.

Tensor hash (``BackboneStatus.sha256``): SHA-256 over the ``features`` state dict, keys taken in
order of (layer index as an integer, parameter name), and for each key the UTF-8 line
``"<key>|<dtype>|<d0,d1,...>\\n"`` followed by the tensor's C-contiguous little-endian bytes.
It depends only on the numbers, not on the file format they came in.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path

import torch


def tensor_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of a ``features`` state dict in the canonical order described in the module docstring."""
    digest = hashlib.sha256()
    for key in sorted(state, key=key_order):
        tensor = state[key].detach().cpu().contiguous()
        shape = ",".join(str(d) for d in tensor.shape)
        dtype = str(tensor.dtype).removeprefix("torch.")
        digest.update(f"{key}|{dtype}|{shape}\n".encode())
        array = tensor.numpy()
        digest.update(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    return digest.hexdigest()


def key_order(key: str) -> tuple[int, str]:
    """Sort key for ``"<index>.<param>"`` state-dict keys: numeric index, then name."""
    index, _, param = key.partition(".")
    return (int(index) if index.isdigit() else -1, param)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(functools.partial(handle.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=16)
def file_sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    """:func:`file_sha256`, remembered per (path, size, mtime)."""
    return file_sha256(Path(path))


def stat_key(path: Path) -> tuple[str, int, int]:
    """(resolved path, size, mtime_ns): the cache key of a file's current content."""
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns
