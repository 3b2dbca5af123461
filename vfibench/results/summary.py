"""Per-configuration aggregates of per-sample metrics: mean, spread over seeds, bootstrap intervals; and the
check that a run's summary holds the aggregates of its per-sample table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vfibench.errors import ResultsError
from vfibench.results.schema import (CI_HIGH, CI_LOW, COMPLETE, CONFIG, KIND, MEAN, MISSING, PER_SAMPLE_FILE, SAMPLE,
                                     SAMPLES, SEED, SEEDS, STATISTICS, STATUS, STD, SUMMARY_FILE, SWEEP,
                                     check_per_sample_complete, column, run_kind)
from vfibench.results.store import RunStore, report_command
from vfibench.words import counted

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


def per_seed_means(part: pd.DataFrame, metric: str) -> pd.Series:
    """One configuration's per-seed means of ``metric`` over its samples (missing values left out); the
    summary's ``<m>_mean`` is their mean: mean_s (1/N_s) Σ_i x_{s,i}."""
    return part.groupby(SEED)[metric].mean()


def _metric_stats(part: pd.DataFrame, metric: str) -> dict[str, float]:
    empty = {column(metric, statistic): float("nan") for statistic in STATISTICS}
    if metric not in part.columns or part[metric].isna().all():
        return empty
    per_seed = per_seed_means(part, metric)
    per_sample = part.groupby(SAMPLE)[metric].mean().to_numpy(dtype=float)
    low, high = bootstrap_interval(per_sample)
    return {
        column(metric, MEAN): float(per_seed.mean()),
        column(metric, STD): spread_over_seeds(per_seed.to_numpy()),
        column(metric, CI_LOW): low,
        column(metric, CI_HIGH): high,
    }


#: How far a summary mean may lie from the mean recomputed from the per-sample table, relative to the
#: largest per-sample magnitude: both files hold ten significant digits (``%.10g``), so rounding moves a
#: mean by at most 1e-9 of it; a summary of another run or seed is off by far more (two seeds of the
#: ``ci`` sweep: 8e-3 of PSNR).
MEAN_AGREEMENT = 1e-8


def disagreeing_means(per_sample: pd.DataFrame, summary: pd.DataFrame,
                      metrics: Sequence[str]) -> list[tuple[str, str, float, float]]:
    """(configuration, metric, summary mean, mean of ``per_sample``) wherever a complete row's ``<m>_mean``
    is not the mean :func:`summarise` gives ``per_sample`` (within :data:`MEAN_AGREEMENT`): the two tables
    of a run are then not each other's, and a report would show one table's numbers beside the other's
    rankings. Missing means agree only with metrics scored on no sample."""
    found = []
    for row in summary.to_dict("records"):
        if row[STATUS] != COMPLETE:
            continue
        part = per_sample[per_sample[CONFIG].astype(str) == str(row[CONFIG])]
        for metric in metrics:
            mean = column(metric, MEAN)
            if mean not in row or metric not in part.columns:
                continue
            values = part[metric]
            recorded = float(row[mean])
            recomputed = float(per_seed_means(part, metric).mean()) if values.notna().any() else float("nan")
            if math.isnan(recorded) and math.isnan(recomputed):
                continue
            scale = float(np.nanmax(np.abs(values.to_numpy(dtype=float)))) if values.notna().any() else 0.0
            if not abs(recorded - recomputed) <= MEAN_AGREEMENT * scale + 1e-12:
                found.append((str(row[CONFIG]), metric, recorded, recomputed))
    return found


def check_tables_agree(store: RunStore, manifest: Mapping[str, Any], per_sample: pd.DataFrame,
                       summary: pd.DataFrame, metrics: Sequence[str]) -> None:
    """A ResultsError unless a run's per_sample.csv holds every row of each configuration its summary.csv
    calls complete (:func:`~vfibench.results.schema.check_per_sample_complete`) and the summary's means
    are those of its scores (:func:`disagreeing_means`): the report's table would otherwise contradict the
    rankings and tests drawn from the per-sample scores."""
    check_per_sample_complete(per_sample, summary, store.path(PER_SAMPLE_FILE))
    disagreeing = disagreeing_means(per_sample, summary, metrics)
    if not disagreeing:
        return
    config, metric, recorded, recomputed = disagreeing[0]
    more = f" ({counted(len(disagreeing) - 1, 'more mean')} disagree)" if len(disagreeing) > 1 else ""
    if math.isnan(recomputed):
        found = f"it gives {metric} of '{config}' as {recorded:.10g}, where the per-sample table has no score"
    elif math.isnan(recorded):
        found = f"it gives no {metric} for '{config}', whose per-sample scores average {recomputed:.10g}"
    else:
        found = f"it gives {metric} of '{config}' as {recorded:.10g}, the per-sample scores average {recomputed:.10g}"
    if run_kind(manifest) == SWEEP:
        fix = (f"Delete '{store.path(SUMMARY_FILE)}' and run `{report_command(store)}` again: it rebuilds both "
               f"tables from the sweep's units/.")
    else:
        command = manifest.get("command")
        fix = f"Run the evaluation again{f': `{command}`' if command else ''}."
    raise ResultsError(
        f"'{store.path(SUMMARY_FILE)}' does not hold the means of the per-sample scores in "
        f"'{store.path(PER_SAMPLE_FILE)}': {found}{more}. The two files are not from the same run (one was copied "
        f"in from another run or seed, or edited), and the table would contradict the rankings and tests drawn from "
        f"the per-sample scores. {fix}")
