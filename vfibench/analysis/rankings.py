"""Rankings of configurations by each metric, and how far two rankings agree (Kendall's tau-b)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from vfibench.analysis.per_sample import Orientation
from vfibench.results.numbers import printed_goodness
from vfibench.results.schema import TRAINED


@dataclass(frozen=True)
class RankEntry:
    """One configuration's place in one metric's ranking (rank 1 = best; ties share a rank)."""

    config: str
    kind: str
    mean: float
    rank: int


def rank_configs(means: pd.Series, orientation: Orientation, kinds: Mapping[str, str] | None = None
                 ) -> list[RankEntry]:
    """Configurations from best to worst by ``means``; means the tables print alike
    (:func:`~vfibench.results.numbers.printed_goodness`) share the better rank ("competition" ranking:
    1, 2, 2, 4), as they share the tables' best mark; within a rank, the better exact mean first."""
    kinds = kinds or {}
    goodness = pd.Series(printed_goodness(means.to_numpy(dtype=float), orientation.name), index=means.index)
    ranks = goodness.rank(method="min", ascending=False)
    exact = orientation.goodness(means.astype(float))  # within a shared rank, the better mean first
    position = {config: i for i, config in enumerate(means.index)}
    ordered = sorted(means.index, key=lambda c: (ranks[c], -exact[c], position[c]))
    return [RankEntry(str(c), kinds.get(c, TRAINED), float(means[c]), int(ranks[c])) for c in ordered]


@dataclass(frozen=True)
class RankAgreement:
    """Kendall's tau-b between the base metric's ranking and ``metric``'s over ``n`` configurations.

    tau = 1: same order; −1: reversed; NaN with fewer than two configurations or a constant metric.
    """

    metric: str
    tau: float
    p_value: float
    n: int


def kendall_agreement(base_means: pd.Series, base: Orientation, other_means: pd.Series,
                      other: Orientation) -> RankAgreement:
    """Kendall's tau-b between the two rankings, computed on the goodness of the means as the tables
    print them (:func:`~vfibench.results.numbers.printed_goodness`): means the rankings show as tied are
    a tie here too, not an order."""
    common = [c for c in base_means.index if c in other_means.index
              and math.isfinite(base_means[c]) and math.isfinite(other_means[c])]
    if len(common) < 2:
        return RankAgreement(other.name, float("nan"), float("nan"), len(common))
    x = printed_goodness(base_means[common].to_numpy(dtype=float), base.name)
    y = printed_goodness(other_means[common].to_numpy(dtype=float), other.name)
    from scipy import stats  # imported where used: a third of a second of every report's start-up

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.kendalltau(x, y)
    return RankAgreement(other.name, float(result.statistic), float(result.pvalue), len(common))
