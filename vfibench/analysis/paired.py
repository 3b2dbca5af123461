"""Paired bootstrap intervals: how much one configuration differs from another, sample by sample.

For two configurations A and B scored on the same test samples, d_i = a_i − b_i (each value the
mean over the seeds both have of sample i). The interval is SciPy's BCa bootstrap of mean(d)
(``scipy.stats.bootstrap``; Efron & Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 14),
deterministic through a seeded generator. Because the pairing removes the variation that both
configurations share (hard samples are hard for both), the interval is much narrower than two
independent intervals of the means. It is an interval of the mean difference; the report's paired
tests (Wilcoxon signed-rank) respond to its Hodges–Lehmann location instead, which one large
sample moves less.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from vfibench.analysis.per_sample import config_seeds, on_shared_seeds, sample_table

LEVEL = 0.95
RESAMPLES = 2000
SEED = 0


def paired_difference_interval(differences: np.ndarray, level: float = LEVEL, resamples: int = RESAMPLES,
                               seed: int = SEED) -> tuple[float, float]:
    """BCa bootstrap interval of the mean of paired ``differences`` (NaNs dropped).

    Identical differences give the degenerate interval (d, d); fewer than two give (NaN, NaN).
    """
    finite = np.asarray(differences, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size < 2:
        return float("nan"), float("nan")
    if np.ptp(finite) == 0:
        return float(finite[0]), float(finite[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCa's degenerate-data warning: handled by the fallback below
        result = stats.bootstrap((finite,), np.mean, confidence_level=level, n_resamples=resamples,
                                 method="BCa", vectorized=True, random_state=np.random.default_rng(seed))
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (np.isfinite(low) and np.isfinite(high)):  # BCa undefined (e.g. a single outlier): percentile
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.bootstrap((finite,), np.mean, confidence_level=level, n_resamples=resamples,
                                     method="percentile", vectorized=True, random_state=np.random.default_rng(seed))
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return low, high


def paired_intervals(per_sample: pd.DataFrame, metric: str, anchor: str) -> dict[str, tuple[float, float]]:
    """config → interval of mean(config − ``anchor``) of ``metric`` over the samples both have, each the
    mean over the seeds both have (:func:`~vfibench.analysis.per_sample.on_shared_seeds`).

    The anchor itself is left out; so is a configuration without a sample in common with it.
    """
    table = sample_table(per_sample, metric)
    if anchor not in table:
        return {}
    seeds = config_seeds(per_sample)
    out = {}
    for config in map(str, table.columns):
        if config == anchor:
            continue
        shared = on_shared_seeds(per_sample, config, anchor, seeds)
        pair = table if shared is per_sample else sample_table(shared, metric)
        both = pair[[config, anchor]].dropna() if config in pair and anchor in pair else pair.iloc[:0]
        if len(both):
            out[config] = paired_difference_interval((both[config] - both[anchor]).to_numpy())
    return out
