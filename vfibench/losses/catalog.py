"""Importing this module registers every loss term and paper preset."""

from vfibench.losses import pixel  # noqa: F401  (registers pixel terms)
from vfibench.losses.registry import REGISTRY

__all__ = ["REGISTRY"]
