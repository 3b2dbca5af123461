"""The gap between distortion and perception, measured on per-sample results.

:func:`analyse` is a pure function of a per-sample table (columns of ``per_sample.csv``) and of each
metric's direction (:class:`~vfibench.analysis.per_sample.Orientation`, read from the metric
registry by default). It gathers, for one run:

- the rankings of the configurations by each metric and Kendall's tau-b between the PSNR ranking
  and each other's (:mod:`vfibench.analysis.rankings`);
- every pair of configurations compared on PSNR and on the perceptual metrics, with paired
  Wilcoxon signed-rank tests, Holm-adjusted, Hodges–Lehmann estimates and the per-sample rate at
  which the metrics prefer different members (:mod:`vfibench.analysis.pair_tests`,
  :mod:`vfibench.analysis.significance`);
- the perception–distortion plane with its Pareto front (:mod:`vfibench.analysis.plane`);
- a plain-language verdict built from those numbers (:mod:`vfibench.analysis.verdict`);
  "significant" means adjusted p < ``alpha``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from vfibench.analysis.extremes import extreme_notes
from vfibench.analysis.pair_tests import PAIR_TEST_FIELDS, PairComparison, compare_pairs, unpaired
from vfibench.analysis.per_sample import (Orientation, config_means, config_order, config_seeds, kinds_of,
                                          metric_columns, orientations_for, split_available)
from vfibench.analysis.plane import Plane, perception_distortion_plane
from vfibench.analysis.rankings import RankAgreement, RankEntry, kendall_agreement, rank_configs
from vfibench.analysis.significance import ALPHA
from vfibench.analysis.verdict import verdict
from vfibench.results.schema import SAMPLE, SEED, TRAINED, is_ranked
from vfibench.words import join_words

#: The distortion metric the others are compared with.
BASE_METRIC = "psnr"


@dataclass(frozen=True)
class GapAnalysis:
    """Everything the report shows about the PSNR–perception gap of one run."""

    base: str
    metrics: tuple[str, ...]
    compared: tuple[str, ...]
    compared_are_deep: bool
    unavailable_metrics: dict[str, str]
    missing_configs: dict[str, str]
    configs: tuple[str, ...]
    kinds: dict[str, str]
    samples: int
    seeds: tuple[int, ...]
    rankings: dict[str, tuple[RankEntry, ...]]
    agreement: tuple[RankAgreement, ...]
    pairs: tuple[PairComparison, ...]
    plane: Plane | None
    alpha: float
    labels: dict[str, str]
    units: dict[str, str]
    better: dict[str, str] = field(default_factory=dict)
    verdict: str = ""
    tests: int = 0
    reference_tests: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def correlates_rankings(self) -> bool:
        """Whether the rankings have an order to correlate (:func:`correlates_rankings`)."""
        return correlates_rankings(self.base, self.metrics, self.kinds)

    @property
    def discordant(self) -> list[PairComparison]:
        return [p for p in self.pairs if p.discordant]

    @property
    def paired_samples(self) -> str:
        """How many samples a paired test sees: ``"12"``, or ``"up to 12"`` when some pair has fewer
        (a member without a finite score on some samples)."""
        fewer = any(t.n < self.samples for p in self.pairs for t in (p.base, *p.others))
        return f"up to {self.samples}" if fewer else str(self.samples)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (NaN → None), with each pair's ``discordant`` flag and what each field of a
        paired test means (``pair_test_fields``: signs differ, ``difference`` is A − B in the metric's
        units, ``hodges_lehmann`` positive when A is better)."""
        record = asdict(self)
        record["pair_test_fields"] = dict(PAIR_TEST_FIELDS)
        record["pairs"] = [{**asdict(p), "discordant": p.discordant,
                            "disagreeing": [t.metric for t in p.disagreeing]} for p in self.pairs]
        for entry, pair in zip(record["pairs"], self.pairs):
            entry["robust_to_seeds"] = pair.robust_to_seeds
        record["discordant_pairs"] = [[p.a, p.b] for p in self.discordant]
        return _json_safe(record)


def _unpaired_note(per_sample: pd.DataFrame, order: Sequence[str] | None) -> list[str]:
    """A note naming the pairs left out of the paired comparisons for want of a seed in common."""
    left_out = unpaired(per_sample, order) if len(per_sample) else []
    if not left_out:
        return []
    listed = join_words([f"'{a}' and '{b}'" for a, b in left_out])
    return [f"Not compared pair by pair, for want of a seed with results for both: {listed} (finish the run's "
            f"other seeds to compare them)."]


def _fewer_seeds_note(per_sample: pd.DataFrame, kinds: Mapping[str, str]) -> list[str]:
    """A note naming the trained configurations whose means cover fewer seeds than another's: the rankings,
    Kendall's tau and the plane compare their means with means over other training runs."""
    seeds = {config: len(found) for config, found in config_seeds(per_sample).items()
             if kinds.get(config) == TRAINED} if len(per_sample) else {}
    most = max(seeds.values(), default=0)
    fewer = [f"'{config}' over {count}" for config, count in seeds.items() if 0 < count < most]
    if not fewer:
        return []
    return [f"The rankings, Kendall's tau and the perception–distortion plane compare means over different numbers "
            f"of seeds ({join_words(fewer)} of {most}), so an order may come from the seeds a row lacks rather "
            f"than from its loss. The paired comparisons use only the seeds both members have."]


def correlates_rankings(base: str, metrics: Sequence[str], kinds: Mapping[str, str]) -> bool:
    """Whether the rankings have an order to correlate: the base metric and two ranked rows (trained
    configurations or scored models; a lone model, or references alone, have none)."""
    return base in metrics and sum(is_ranked(kind) for kind in kinds.values()) >= 2


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def analyse(
    per_sample: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    order: Sequence[str] | None = None,
    status: Mapping[str, str] | None = None,
    unavailable: Mapping[str, str] | None = None,
    base: str = BASE_METRIC,
    compared: Sequence[str] | None = None,
    orientations: Mapping[str, Orientation] | None = None,
    alpha: float = ALPHA,
) -> GapAnalysis:
    """Rankings, rank agreement, discordant pairs, the plane and a verdict for one run.

    Args:
        per_sample: the run's per-sample table (columns of ``per_sample.csv``).
        metrics: metric columns to consider (default: every metric column).
        order: the run's configuration order (configurations listed here without samples are
            reported as missing, with their ``status``).
        status: configuration → status ("diverged", "unavailable", …) from the summary.
        unavailable: metric → reason, for metrics the run could not compute.
        base: the distortion metric the others are compared with.
        compared: metrics checked for discordance with ``base``; default: the deep perceptual
            metrics (LPIPS, DISTS…) available, else every other available metric with a direction.
        orientations: metric directions (default: from the registry).
        alpha: significance level for Holm-adjusted p-values.
    """
    metrics = list(metrics) if metrics is not None else metric_columns(per_sample)
    orient = dict(orientations) if orientations is not None else orientations_for(metrics)
    available, empty = split_available(per_sample, metrics)
    reasons = {m: (unavailable or {}).get(m, "no values in the per-sample table") for m in empty}
    status = dict(status or {})
    configs = config_order(per_sample, order)
    missing = {c: status.get(c) or "no results" for c in (order or []) if c not in configs}
    kinds = kinds_of(per_sample)
    chosen, deep = _compared_metrics(available, base, compared, orient)

    rankings = {m: tuple(rank_configs(config_means(per_sample, m, order), orient[m], kinds)) for m in available}
    agreement: tuple[RankAgreement, ...] = ()
    pairs: list[PairComparison] = []
    plane = None
    if base in available:
        base_means = config_means(per_sample, base, order)
        if correlates_rankings(base, available, kinds):
            agreement = tuple(kendall_agreement(base_means, orient[base], config_means(per_sample, m, order),
                                                orient[m]) for m in available if m != base)
        if chosen:
            pairs = compare_pairs(per_sample, orient[base], [orient[m] for m in chosen], order)
            plane = perception_distortion_plane(per_sample, orient[base], orient[chosen[0]], order)
    analysis = GapAnalysis(
        base=base, metrics=tuple(available), compared=tuple(chosen), compared_are_deep=deep,
        unavailable_metrics=reasons, missing_configs=missing, configs=tuple(configs), kinds=kinds,
        samples=int(per_sample[SAMPLE].nunique()) if len(per_sample) else 0,
        seeds=tuple(sorted(int(s) for s in per_sample[SEED].unique())) if len(per_sample) else (),
        rankings=rankings, agreement=agreement, pairs=tuple(pairs), plane=plane, alpha=alpha,
        labels={m: orient[m].label for m in metrics if m in orient},
        units={m: orient[m].unit for m in metrics if m in orient},
        better={m: orient[m].better for m in metrics if m in orient},
        tests=_adjusted_tests(pairs, trained=True),
        reference_tests=_adjusted_tests(pairs, trained=False),
        notes=tuple(extreme_notes(per_sample, available, order) + _unpaired_note(per_sample, order)
                    + _fewer_seeds_note(per_sample, kinds)),
    )
    return replace(analysis, verdict=verdict(analysis))


def _adjusted_tests(pairs: Sequence[PairComparison], *, trained: bool) -> int:
    """How many tests of the family (trained pairs, or pairs with a reference) Holm adjusted: those
    with a p-value (a metric with no paired samples has none, and Holm skips it)."""
    return sum(math.isfinite(t.p_value) for p in pairs if p.trained is trained for t in (p.base, *p.others))


def _compared_metrics(available: Sequence[str], base: str, compared: Sequence[str] | None,
                      orient: Mapping[str, Orientation]) -> tuple[list[str], bool]:
    if compared is not None:
        chosen = [m for m in compared if m in available and m != base]
        return chosen, all(orient[m].deep for m in chosen)
    deep = [m for m in available if m != base and orient[m].deep]
    if deep:
        return deep, True
    return [m for m in available if m != base and orient[m].higher_is_better is not None], False
