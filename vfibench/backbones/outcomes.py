"""What a fetch or an import did for each backbone, and storing converted weights as such outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from vfibench.backbones.lookup import BackboneStatus, Source
from vfibench.backbones.writing import store

Action = Literal["present", "fetched", "imported"]


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
