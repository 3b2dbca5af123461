"""The gap along a variable: every metric broken down by bins of ambiguity, motion or occlusion.

Pure functions of a per-sample table (``per_sample.csv``) that carries the sample attributes
(:data:`~vfibench.results.schema.SAMPLE_ATTRIBUTES`): synthetic test data records them; real data
leaves them empty, and then there is nothing to break down.

Bins are quantiles of the attribute over the test samples, so bins hold about equal counts; edges
that tied values make equal, or that a test set of fewer samples than bins leaves with nothing
between them, are merged (a bin is never empty), and then the counts differ. A bin's
value for a configuration is the mean over its samples and over seeds. For a pair (A ahead on the base metric overall, B ahead on a compared metric) the
*onset* is the first bin from which on, in every bin, the base metric still favours A and the
compared metric favours B: "from ambiguity ≥ x px on, PSNR and LPIPS disagree". It describes the
bins' means; no test stands behind it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vfibench.analysis.per_sample import Orientation, config_order
from vfibench.results.schema import AMBIGUITY, ATTRIBUTE_LABELS, CONFIG, MOTION, OCCLUDED, SAMPLE, SEED
from vfibench.words import join_words
DEFAULT_BINS = 4


@dataclass(frozen=True)
class Breakdown:
    """Per-bin means of every metric and configuration along one attribute.

    Attributes:
        attribute: the per-sample column binned (e.g. ``ambiguity_px``).
        edges: bin edges (len = bins + 1); bin k holds edges[k] <= value <= edges[k+1] (the first
            bin closed below, the others open below).
        counts: test samples per bin.
        means: metric → configuration → per-bin mean (NaN where a bin has no finite value), the mean
            over the configuration's seeds of its per-seed bin means.
        seed_means: metric → configuration → seed → the per-bin means of that seed alone, from which a
            pair is compared on the seeds both members have (:func:`pair_advantage`).
    """

    attribute: str
    edges: tuple[float, ...]
    counts: tuple[int, ...]
    means: dict[str, dict[str, tuple[float, ...]]]
    #: The attribute is estimated from the frames (real data's motion), not known as synthetic scenes know it.
    estimated: bool = False
    seed_means: dict[str, dict[str, dict[int, tuple[float, ...]]]] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """How the attribute was obtained, when estimated: a sentence for the captions ('' when known)."""
        if not self.estimated:
            return ""
        return ("Real test data: motion is estimated, the 99th percentile of the DIS optical-flow magnitude "
                "from I0 to I1; ambiguity and occlusion are not known.")

    @property
    def labels(self) -> tuple[str, ...]:
        """``"0.0–1.3"`` per bin, in the attribute's unit."""
        digits = 2 if self.attribute == OCCLUDED else 1
        return tuple(f"{low:.{digits}f}–{high:.{digits}f}" for low, high in zip(self.edges[:-1], self.edges[1:]))

    @property
    def title(self) -> str:
        label, unit = ATTRIBUTE_LABELS.get(self.attribute, (self.attribute, ""))
        label = f"estimated {label}" if self.estimated else label
        return f"{label} ({unit})" if unit else label

    def table(self, metric: str) -> pd.DataFrame:
        """Rows configurations, columns bin labels."""
        return pd.DataFrame(self.means.get(metric, {}), index=list(self.labels)).T


def attribute_bins(values: Sequence[float], bins: int = DEFAULT_BINS) -> tuple[float, ...]:
    """Quantile edges of the finite ``values``, merged where a bin would be empty: duplicates (ties), and
    edges interpolated between values when there are fewer values than bins (2 samples: 1 bin each)."""
    finite = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return ()
    edges = list(np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1))))
    if len(edges) == 1:
        return (float(edges[0]), float(edges[0]))
    while True:  # bins as bin_of fills them; an empty one gives up its inner edge (the first and last never are)
        counts = np.bincount(np.searchsorted(edges[1:-1], finite, side="left"), minlength=len(edges) - 1)
        empty = np.flatnonzero(counts == 0)
        if not empty.size:
            return tuple(float(e) for e in edges)
        del edges[int(empty[0]) + 1]


def bin_of(values: pd.Series, edges: Sequence[float]) -> pd.Series:
    """Bin index per value (NaN values → -1)."""
    inner = np.asarray(edges[1:-1], dtype=float)
    index = np.searchsorted(inner, values.to_numpy(dtype=float), side="left")
    return pd.Series(np.where(np.isfinite(values.to_numpy(dtype=float)), index, -1), index=values.index)


def has_attribute(per_sample: pd.DataFrame, attribute: str) -> bool:
    """Whether the table carries finite values of ``attribute`` that vary (synthetic test data does; a
    constant one, such as the ambiguity of straight paths, has nothing to break down)."""
    if attribute not in per_sample:
        return False
    values = pd.to_numeric(per_sample[attribute], errors="coerce").to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    return bool(values.size) and bool(values.max() > values.min())


def breakdown(per_sample: pd.DataFrame, attribute: str, metrics: Sequence[str], *,
              order: Sequence[str] | None = None, bins: int = DEFAULT_BINS) -> Breakdown | None:
    """Per-bin means of ``metrics`` for every configuration; None when ``attribute`` is unknown."""
    if not has_attribute(per_sample, attribute):
        return None
    per_test_sample = per_sample.drop_duplicates(SAMPLE).set_index(SAMPLE)[attribute]
    edges = attribute_bins(pd.to_numeric(per_test_sample, errors="coerce").tolist(), bins)
    sample_bin = bin_of(pd.to_numeric(per_test_sample, errors="coerce"), edges)
    count = len(edges) - 1
    counts = tuple(int((sample_bin == k).sum()) for k in range(count))
    data = per_sample.assign(_bin=per_sample[SAMPLE].map(sample_bin))
    configs = config_order(per_sample, order)
    means: dict[str, dict[str, tuple[float, ...]]] = {}
    seed_means: dict[str, dict[str, dict[int, tuple[float, ...]]]] = {}
    for metric in metrics:
        if metric not in data:
            continue
        values = data[[CONFIG, SEED, "_bin", metric]].copy()
        values[metric] = pd.to_numeric(values[metric], errors="coerce")
        values[CONFIG] = values[CONFIG].astype(str)
        per_seed = values.groupby([CONFIG, "_bin", SEED])[metric].mean()
        over_seeds = per_seed.groupby(level=[CONFIG, "_bin"]).mean()
        means[metric] = {c: tuple(float(over_seeds.get((c, k), float("nan"))) for k in range(count)) for c in configs}
        seeds = values.groupby(CONFIG)[SEED].unique()
        seed_means[metric] = {c: {int(seed): tuple(float(per_seed.get((c, k, seed), float("nan"))) for k in range(count))
                                  for seed in seeds.get(c, [])} for c in configs}
    return Breakdown(attribute, tuple(edges), counts, means, estimated=attribute == MOTION and not known_scenes(per_sample),
                     seed_means=seed_means)


def known_scenes(per_sample: pd.DataFrame) -> bool:
    """Whether the samples come from synthetic scenes, which record their ambiguity and occluded share (real
    data leaves both empty and records only an estimate of its motion)."""
    return any(bool(np.isfinite(pd.to_numeric(per_sample[column], errors="coerce").to_numpy(dtype=float)).any())
               for column in (AMBIGUITY, OCCLUDED) if column in per_sample)


def pair_advantage(result: Breakdown, metric: str, orientation: Orientation, a: str, b: str) -> tuple[float, ...]:
    """Per bin, goodness(A) − goodness(B) on ``metric`` (positive: A better), each member's bin means
    over the seeds both have, as the paired tests compare them."""
    series = result.means.get(metric, {})
    if a not in series or b not in series:
        return ()
    x, y = series[a], series[b]
    by_seed = result.seed_means.get(metric, {})
    shared = sorted(set(by_seed.get(a, {})) & set(by_seed.get(b, {})))
    if shared and not set(by_seed[a]) == set(by_seed[b]) == set(shared):  # a member over fewer seeds
        x, y = (tuple(np.mean([by_seed[c][seed] for seed in shared], axis=0)) for c in (a, b))
    return tuple(float(orientation.goodness(p) - orientation.goodness(q)) for p, q in zip(x, y))


def disagreement_onset(result: Breakdown, base: Orientation, other: Orientation, a: str, b: str) -> int | None:
    """The first bin k such that in every bin from k on ``base`` favours A and ``other`` favours B;
    None when the last bin does not disagree."""
    base_adv = pair_advantage(result, base.name, base, a, b)
    other_adv = pair_advantage(result, other.name, other, a, b)
    onset = None
    for k in reversed(range(min(len(base_adv), len(other_adv)))):
        if base_adv[k] > 0 and other_adv[k] < 0:
            onset = k
        else:
            break
    return onset


def earlier_disagreement(result: Breakdown, base: Orientation, other: Orientation, a: str, b: str,
                         onset: int) -> str:
    """``"; also in bin 1"``: the bins before ``onset`` where the metrics disagree as from it on ("" if none),
    so that "from bin 3 on" is not read as "only from bin 3 on"."""
    base_adv = pair_advantage(result, base.name, base, a, b)
    other_adv = pair_advantage(result, other.name, other, a, b)
    earlier = [str(k + 1) for k in range(onset) if base_adv[k] > 0 and other_adv[k] < 0]
    return f"; also in bin{'s' if len(earlier) > 1 else ''} {join_words(earlier)}" if earlier else ""


def _favoured(advantage: float, a: str, b: str) -> str:
    """The member a goodness advantage of A over B favours, with a positive amount ("b by 0.0006");
    "neither" for zero, "n/a" when not finite."""
    if not math.isfinite(advantage):
        return "n/a"
    if advantage == 0:
        return "neither"
    return f"{a if advantage > 0 else b} by {abs(advantage):.3g}"


def onset_sentence(result: Breakdown, base: Orientation, others: Sequence[Orientation], a: str, b: str) -> str:
    """One sentence: from which bin of the attribute on the metrics disagree on (A, B), and how the
    perceptual advantage of B moves from the first bin to the last."""
    parts = []
    for other in others:
        onset = disagreement_onset(result, base, other, a, b)
        advantage = pair_advantage(result, other.name, other, a, b)
        if not advantage:
            continue
        trend = (f"{other.label} favours {_favoured(advantage[0], a, b)} in the lowest bin and "
                 f"{_favoured(advantage[-1], a, b)} in the highest")
        if onset is None:
            parts.append(f"{base.label} and {other.label} do not disagree on {a} vs {b} in the highest "
                         f"{result.title} bin ({trend})")
        elif onset == 0:
            parts.append(f"{base.label} and {other.label} disagree on {a} vs {b} in every {result.title} bin "
                         f"({trend})")
        else:
            also = earlier_disagreement(result, base, other, a, b, onset)
            parts.append(f"{base.label} and {other.label} disagree on {a} vs {b} from {result.title} "
                         f"≥ {result.edges[onset]:.2g} on (bin {onset + 1} of {len(result.counts)}{also}; {trend})")
    return "; ".join(parts) + "." if parts else ""


def _onset_clause(results: Sequence[Breakdown], base: Orientation, other: Orientation, a: str, b: str) -> str:
    """Where along the attributes ``base`` and ``other`` disagree on (A, B), attributes that behave alike
    named together: "disagrees with {other} on A vs B in every bin of ambiguity (px) and motion (px),
    from occluded share ≥ 0.09 on (bin 3 of 4)"; "" when no attribute has both metrics' means."""
    every, starting, never = [], [], []
    for result in results:
        if not pair_advantage(result, other.name, other, a, b) or not pair_advantage(result, base.name, base, a, b):
            continue
        onset = disagreement_onset(result, base, other, a, b)
        if onset is None:
            never.append(result.title)
        elif onset == 0:
            every.append(result.title)
        else:
            starting.append(f"from {result.title} ≥ {result.edges[onset]:.2g} on (bin {onset + 1} of "
                            f"{len(result.counts)}{earlier_disagreement(result, base, other, a, b, onset)})")
    where = ([f"in every bin of {join_words(every)}"] if every else []) + starting
    if not where:
        return f"does not disagree with {{}} on {a} vs {b} in the highest bin of {join_words(never)}" if never else ""
    unless = f", but not in the highest bin of {join_words(never)}" if never else ""
    return f"disagrees with {{}} on {a} vs {b} {join_words(where)}{unless}"


def onset_summary(results: Mapping[str, Breakdown], base: Orientation, others: Sequence[Orientation],
                  a: str, b: str) -> str:
    """One sentence for all attributes at once: where ``base`` disagrees with each metric of ``others``
    on the pair (A ahead on ``base``, B on the others), metrics that disagree alike named together:
    "PSNR disagrees with LPIPS and DISTS on l2 vs l1+perc in every bin of ambiguity (px) and motion
    (px)." Each attribute's bins and amounts are in :func:`onset_sentence`."""
    clauses: dict[str, list[str]] = {}
    for other in others:
        clause = _onset_clause(list(results.values()), base, other, a, b)
        if clause:
            clauses.setdefault(clause, []).append(other.label)
    sentences = [f"{base.label} {clause.replace('{}', join_words(labels), 1)}" for clause, labels in clauses.items()]
    return "; ".join(sentences) + "." if sentences else ""


def breakdowns(per_sample: pd.DataFrame, metrics: Sequence[str], *, order: Sequence[str] | None = None,
               bins: int = DEFAULT_BINS) -> dict[str, Breakdown]:
    """Every attribute the table carries, broken down."""
    out = {}
    for attribute in ATTRIBUTE_LABELS:
        result = breakdown(per_sample, attribute, metrics, order=order, bins=bins)
        if result is not None:
            out[attribute] = result
    return out


def breakdown_frame(results: Mapping[str, Breakdown]) -> pd.DataFrame:
    """Long table (attribute, bin, low, high, samples, config, metric, mean) — what breakdown.csv holds."""
    rows = []
    for attribute, result in results.items():
        for k, label in enumerate(result.labels):
            for metric, per_config in result.means.items():
                for config, values in per_config.items():
                    rows.append({"attribute": attribute, "bin": k + 1, "range": label, "low": result.edges[k],
                                 "high": result.edges[k + 1], "samples": result.counts[k], "config": config,
                                 "metric": metric, "mean": values[k]})
    return pd.DataFrame(rows, columns=["attribute", "bin", "range", "low", "high", "samples", "config", "metric",
                                       "mean"])
