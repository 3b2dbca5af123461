"""Where backbone files live: vfibench's cache, torchvision's checkpoint folder and torchvision's file names.

torchvision names a checkpoint after the start of its SHA-256 (``alexnet-owt-7be5be79.pth``);
:func:`hash_prefix` reads those hex digits back, for the check torchvision itself makes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import torch

# torchvision's checkpoint file names; the 8 hex digits are the start of the file's SHA-256.
TORCHVISION_FILES: Mapping[str, str] = MappingProxyType(
    {"alexnet": "alexnet-owt-7be5be79.pth", "vgg16": "vgg16-397923af.pth"}
)
TORCHVISION_URL = "https://download.pytorch.org/models/"

_HASH_PREFIX = re.compile(r"-([a-f0-9]{8,})\.")


def vfibench_home() -> Path:
    """vfibench's cache root: ``$VFIBENCH_HOME``, else ``~/.cache/vfibench``."""
    env = os.environ.get("VFIBENCH_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vfibench"


def torchvision_checkpoint_dir() -> Path:
    """torchvision's checkpoint directory, ``torch.hub.get_dir()/checkpoints`` (honours $TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def cache_paths(name: str) -> tuple[Path, Path]:
    """vfibench's cache files for ``name``: the state dict and its JSON sidecar."""
    folder = vfibench_home() / "backbones"
    return folder / f"{name}-features.pt", folder / f"{name}-features.json"


def hash_prefix(filename: str) -> str:
    """The hash prefix in a torchvision checkpoint name: ``alexnet-owt-7be5be79.pth`` → ``7be5be79``."""
    match = _HASH_PREFIX.search(filename)
    return match.group(1) if match else ""


def not_a_folder_or_file(path: Path) -> str | None:
    """Why ``path`` (a cache file) can be neither read nor written, or None: it is a folder, or a folder
    above it is a file (``VFIBENCH_HOME`` pointing at a file, say)."""
    if path.is_dir():
        return f"{path} is a folder, where the file should be; remove it"
    for folder in path.parents:
        if folder.exists() and not folder.is_dir():
            return f"{folder} is a file, where a folder should be; remove or move it, or point VFIBENCH_HOME elsewhere"
    return None
