"""Per-sample tables as the analyses read them: each metric's direction, and per-configuration views.

A per-sample table has the columns of ``per_sample.csv`` (``config``, ``kind``, ``seed``, ``sample``,
then one column per metric). A configuration's mean is the mean over seeds of its per-seed mean over
samples (as in ``summary.csv``); paired analyses use *seed-averaged per-sample values*
(:func:`sample_table`) over the seeds both members have (:func:`on_shared_seeds`). "Goodness" (:meth:`Orientation.goodness`) maps every metric so that larger is
better: x, −x, or −|x − target|.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vfibench.metrics.records import direction_arrow, goodness_of, metric_record
from vfibench.results.schema import CONFIG, KIND, SAMPLE, SEED, TRAINED, sample_metric_columns


# -- metric directions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Orientation:
    """Which way a metric is better, and how to show it.

    ``higher_is_better`` None means the best value is ``target`` (e.g. a sharpness ratio of 1).
    ``deep`` marks learned perceptual metrics (those that need a pretrained backbone).
    """

    name: str
    label: str
    higher_is_better: bool | None
    target: float | None = None
    unit: str = ""
    deep: bool = False

    @classmethod
    def of(cls, name: str) -> "Orientation":
        """The orientation of a registered metric."""
        info = metric_record(name)
        return cls(info.name, info.label, info.higher_is_better, info.target, info.unit, bool(info.needs))

    def goodness(self, values: Any) -> Any:
        """``values`` mapped so that larger is better: x, −x, or −|x − target|
        (:func:`~vfibench.metrics.records.goodness_of`)."""
        return goodness_of(values, self.higher_is_better, self.target)

    @property
    def arrow(self) -> str:
        return direction_arrow(self.higher_is_better, self.target)

    @property
    def better(self) -> str:
        """Which values are better, in words: ``"higher"``, ``"lower"`` or ``"closest to 1"``."""
        if self.higher_is_better is None:
            return f"closest to {self.target:g}"
        return "higher" if self.higher_is_better else "lower"


def orientations_for(metrics: Iterable[str]) -> dict[str, Orientation]:
    """Registry orientations for ``metrics``."""
    return {name: Orientation.of(name) for name in metrics}


# -- tables -----------------------------------------------------------------------------------------
def metric_columns(per_sample: pd.DataFrame) -> list[str]:
    """The metric columns of a per-sample table (all but the key, label and sample-attribute columns)."""
    return sample_metric_columns(per_sample.columns)


def split_available(per_sample: pd.DataFrame, metrics: Sequence[str]) -> tuple[list[str], list[str]]:
    """(metrics with at least one finite value, metrics absent or entirely NaN), order kept."""
    available, unavailable = [], []
    for metric in metrics:
        column = pd.to_numeric(per_sample[metric], errors="coerce") if metric in per_sample else None
        has_values = column is not None and bool(np.isfinite(column.to_numpy(dtype=float)).any())
        (available if has_values else unavailable).append(metric)
    return available, unavailable


def config_order(per_sample: pd.DataFrame, order: Sequence[str] | None = None) -> list[str]:
    """Configurations with samples, in ``order`` (then any others by first appearance)."""
    present = list(pd.unique(per_sample[CONFIG].astype(str)))  # in order of first appearance
    ordered = [c for c in (order or []) if c in present]
    return ordered + [c for c in present if c not in ordered]


def kinds_of(per_sample: pd.DataFrame) -> dict[str, str]:
    """config → row kind (:data:`~vfibench.results.schema.KINDS`; trained when the table has none)."""
    if KIND not in per_sample:
        return {str(c): TRAINED for c in per_sample[CONFIG].unique()}
    first = per_sample.drop_duplicates(CONFIG)
    return dict(zip(first[CONFIG].astype(str), first[KIND].astype(str)))


def config_means(per_sample: pd.DataFrame, metric: str, order: Sequence[str] | None = None) -> pd.Series:
    """Mean over seeds of the per-seed mean over samples, per configuration (NaN rows skipped)."""
    values = per_sample[[CONFIG, SEED, metric]].copy()
    values[metric] = pd.to_numeric(values[metric], errors="coerce")
    per_seed = values.groupby([CONFIG, SEED], sort=False)[metric].mean()
    means = per_seed.groupby(level=CONFIG, sort=False).mean().dropna()
    means.index = means.index.astype(str)
    return means.reindex([c for c in config_order(per_sample, order) if c in means.index])


def sample_table(per_sample: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Seed-averaged per-sample values: index sample, one column per configuration."""
    values = per_sample[[CONFIG, SAMPLE, metric]].copy()
    values[metric] = pd.to_numeric(values[metric], errors="coerce")
    values[CONFIG] = values[CONFIG].astype(str)
    return values.pivot_table(index=SAMPLE, columns=CONFIG, values=metric, aggfunc="mean")


def config_seeds(per_sample: pd.DataFrame) -> dict[str, frozenset[int]]:
    """config → the seeds it has rows for."""
    groups = per_sample.groupby(per_sample[CONFIG].astype(str), sort=False)[SEED]
    return {str(config): frozenset(int(s) for s in seeds.unique()) for config, seeds in groups}


def on_shared_seeds(per_sample: pd.DataFrame, a: str, b: str,
                    seeds: dict[str, frozenset[int]] | None = None) -> pd.DataFrame:
    """The rows of ``a`` and ``b`` on the seeds both have; ``per_sample`` itself when they have the same.

    A pair is compared on the training runs it shares: a row over fewer seeds (a unit that diverged,
    or one not yet finished) is not set against the other member's average over seeds it lacks, whose
    seed-to-seed noise would then count as a difference between the losses. ``seeds`` is
    :func:`config_seeds` of ``per_sample``, when already at hand.
    """
    seeds = seeds if seeds is not None else config_seeds(per_sample)
    ours, theirs = seeds.get(a, frozenset()), seeds.get(b, frozenset())
    if ours == theirs:
        return per_sample
    names = per_sample[CONFIG].astype(str)
    return per_sample[names.isin([a, b]) & per_sample[SEED].astype(int).isin(ours & theirs)]
