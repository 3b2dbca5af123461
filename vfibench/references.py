"""Untrained reference rows, evaluated beside every sweep.

A trained configuration that does not beat ``blend`` on moving content has not learned motion.
``blend`` versus ``nearest`` is the textbook disagreement between metrics: the average of the two
inputs wins on PSNR, the sharp but misplaced copy of I0 usually wins on perceptual metrics.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from vfibench.data.triplets import Triplets
from vfibench.results.schema import BLEND, NEAREST


def blend(triplets: Triplets) -> Tensor:
    """The average of the inputs weighted by time: (1 − t)·I0 + t·I1 (for t = 0.5, (I0 + I1)/2)."""
    t = triplets.t.view(-1, 1, 1, 1)
    return (1 - t) * triplets.i0 + t * triplets.i1


def nearest(triplets: Triplets) -> Tensor:
    """The input closer in time (I0 when t <= 0.5): frame repetition, perfectly sharp but misplaced."""
    closer_to_start = (triplets.t <= 0.5).view(-1, 1, 1, 1)
    return closer_to_start * triplets.i0 + (~closer_to_start) * triplets.i1


REFERENCES: dict[str, Callable[[Triplets], Tensor]] = {BLEND: blend, NEAREST: nearest}
