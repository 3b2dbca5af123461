"""The perception–distortion plane: configuration means of a distortion and a perceptual metric,
with the Pareto front of the rows that are not references."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from vfibench.analysis.per_sample import Orientation, config_means, kinds_of
from vfibench.results.schema import REFERENCE, TRAINED


def pareto_front(points: Mapping[str, tuple[float, float]]) -> list[str]:
    """Configurations not dominated in (x, y) goodness (both larger-is-better), sorted by x.

    A point is dominated when another is at least as good on both axes and strictly better on one;
    identical points are all kept.
    """
    finite = {c: p for c, p in points.items() if all(math.isfinite(v) for v in p)}
    front = [c for c, (x, y) in finite.items()
             if not any(ox >= x and oy >= y and (ox > x or oy > y) for o, (ox, oy) in finite.items() if o != c)]
    return sorted(front, key=lambda c: (finite[c][0], -finite[c][1]))


@dataclass(frozen=True)
class PlanePoint:
    config: str
    kind: str
    x: float
    y: float
    on_front: bool


#: What a plane's Pareto front was computed over (:attr:`Plane.front_over`).
FRONT_OF_RANKED, FRONT_OF_ALL = "non-reference rows", "all rows"


@dataclass(frozen=True)
class Plane:
    """Configuration means in the perception–distortion plane (x: distortion metric, y: perceptual).

    ``front_over`` is :data:`FRONT_OF_RANKED` when the front was computed over the rows that are not
    references (trained configurations, or evaluated models), :data:`FRONT_OF_ALL` when over every
    row (fewer than two of those).
    """

    x_metric: str
    y_metric: str
    points: tuple[PlanePoint, ...]
    front: tuple[str, ...]
    front_over: str = FRONT_OF_ALL


def perception_distortion_plane(per_sample: pd.DataFrame, x: Orientation, y: Orientation,
                                order: Sequence[str] | None = None) -> Plane:
    """The plane of ``x`` (e.g. PSNR) against ``y`` (e.g. LPIPS) with its Pareto front: over the
    trained configurations (or models) when there are two or more — a reference such as ``blend``
    that beats them all would otherwise be the whole front, outside the axes that fit them — and
    over every row otherwise."""
    xs, ys = config_means(per_sample, x.name, order), config_means(per_sample, y.name, order)
    kinds = kinds_of(per_sample)
    configs = [c for c in xs.index if c in ys.index]
    ranked = [c for c in configs if kinds.get(c, TRAINED) != REFERENCE]
    over, candidates = (FRONT_OF_RANKED, ranked) if len(ranked) >= 2 else (FRONT_OF_ALL, configs)
    front = pareto_front({c: (float(x.goodness(xs[c])), float(y.goodness(ys[c]))) for c in candidates})
    points = tuple(PlanePoint(c, kinds.get(c, TRAINED), float(xs[c]), float(ys[c]), c in front) for c in configs)
    return Plane(x.name, y.name, points, tuple(front), over)
