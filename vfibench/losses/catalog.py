"""Importing this module registers every loss term and paper preset."""

from vfibench.losses import (  # noqa: F401  (each import registers its terms)
    adversarial,
    census,
    flow,
    perceptual,
    pixel,
    presets,
    pyramid,
    structural,
)
from vfibench.losses.registry import REGISTRY

__all__ = ["REGISTRY"]
