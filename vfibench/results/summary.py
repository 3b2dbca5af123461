"""Per-configuration aggregates of per-sample metrics: mean, spread over seeds, bootstrap intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from vfibench.results.schema import (CI_HIGH, CI_LOW, COMPLETE, CONFIG, KIND, MEAN, MISSING, SAMPLE, SAMPLES, SEED,
                                     SEEDS, STATISTICS, STATUS, STD, column)

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def bootstrap_interval(values: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (resampling samples with replacement).

    Deterministic: the resampling generator is seeded.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    generator = np.random.default_rng(seed)
    picks = generator.integers(0, finite.size, size=(resamples, finite.size))
    means = finite[picks].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def spread_over_seeds(values: Sequence[float] | np.ndarray | pd.Series) -> float:
    """Standard deviation (ddof = 1) of per-seed values, NaN ones left out; exactly 0 when they are all
    equal, NaN for fewer than two.

    Equal values give 0 by definition, but the floating-point mean of three equal floats can differ
    from them in the last bit, which leaves a residue of ~1e-18 that would print as a spread.
    """
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if array.size < 2:
        return float("nan")
    if np.all(array == array[0]):
        return 0.0
    return float(np.std(array, ddof=1))


def summarise(per_sample: pd.DataFrame, metrics: Sequence[str], kinds: Mapping[str, str],
              status: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per configuration of ``kinds`` (configuration → row kind), in its order, with the columns
    of :mod:`vfibench.results.schema`:
    config, kind, status, seeds, samples, and for each metric ``<m>_mean`` (mean over seeds of the
    per-seed mean over samples), ``<m>_std`` (standard deviation of the per-seed means, ddof = 1;
    empty with one seed) and ``<m>_ci_low`` / ``<m>_ci_high`` (95% bootstrap interval over samples of
    the seed-averaged per-sample values).

    Configurations without samples (diverged, unavailable, missing) get a row with their kind and status
    and empty metric cells.
    """
    status = status or {}
    rows = []
    for config, kind in kinds.items():
        part = per_sample[per_sample[CONFIG] == config]
        row: dict[str, object] = {
            CONFIG: config,
            KIND: kind,
            STATUS: status.get(config, COMPLETE if len(part) else MISSING),
            SEEDS: int(part[SEED].nunique()),
            SAMPLES: int(part[SAMPLE].nunique()),
        }
        for metric in metrics:
            row.update(_metric_stats(part, metric))
        rows.append(row)
    return pd.DataFrame(rows)


def _metric_stats(part: pd.DataFrame, metric: str) -> dict[str, float]:
    empty = {column(metric, statistic): float("nan") for statistic in STATISTICS}
    if metric not in part.columns or part[metric].isna().all():
        return empty
    per_seed = part.groupby(SEED)[metric].mean()
    per_sample = part.groupby(SAMPLE)[metric].mean().to_numpy(dtype=float)
    low, high = bootstrap_interval(per_sample)
    return {
        column(metric, MEAN): float(per_seed.mean()),
        column(metric, STD): spread_over_seeds(per_seed.to_numpy()),
        column(metric, CI_LOW): low,
        column(metric, CI_HIGH): high,
    }
