"""The gap between distortion and perception, measured on per-sample results.

Everything here is a pure function of a per-sample table with the columns of ``per_sample.csv``
(``config``, ``kind``, ``seed``, ``sample``, then one column per metric) and of each metric's
direction (:class:`Orientation`, read from the metric registry by default):

- :func:`rank_configs` — configurations ordered by each metric's mean (direction-aware, ties share
  the better rank);
- :func:`kendall_agreement` — Kendall's tau-b between the PSNR ranking and another metric's;
- :func:`compare_pair` / :func:`compare_pairs` — for a pair (A, B) with A ahead on PSNR: the mean
  differences, a paired Wilcoxon signed-rank test per metric, and the per-sample rate at which
  PSNR and a perceptual metric prefer different members of the pair (a pair is *discordant* when
  A's PSNR lead comes with a perceptual loss);
- :func:`hodges_lehmann` — the estimate that matches the signed-rank test;
- :func:`pareto_front` — the non-dominated rows of the perception–distortion plane (of the trained
  configurations, or models, when there are two or more);
- :func:`analyse` — all of the above plus a plain-language verdict built from the numbers.

Conventions. A configuration's mean is the mean over seeds of its per-seed mean over samples (as
in ``summary.csv``). Paired comparisons use *seed-averaged per-sample values* and only samples
where both configurations have a finite value. "Goodness" maps every metric so that larger is
better (x, −x, or −|x − target|); differences are always reported as A − B in the metric's own
units. A metric *prefers* a member only when the mean goodness difference and its Hodges–Lehmann
estimate (what the signed-rank test responds to) point the same way; when they point different
ways the metric has no consistent preference, which counts neither as a preference nor as a
disagreement. Wilcoxon p-values are two-sided and Holm-adjusted within a family: the pairs of trained
configurations (the comparisons a study is about) form one family, the pairs that involve a
reference row (``blend``, ``nearest``) another, so reference rows never dilute the tests of
trained pairs; "significant" means adjusted p < ``alpha``.

Seeds. The paired tests treat each trained model as fixed: they see the spread over test samples,
not over training runs. With several seeds every test also records the direction each seed gives
on its own (``seeds``) and the standard deviation over seeds of the per-seed mean difference
(``seed_spread``); a pair's disagreement is *robust to seeds* only when every seed points the same
way on both metrics, and the verdict says when a difference is smaller than the seed spread.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from vfibench.results.numbers import printed_goodness
from vfibench.results.schema import CONFIG, KIND, REFERENCE, SAMPLE, SEED, TRAINED, sample_metric_columns

BASE_METRIC = "psnr"
ALPHA = 0.05
BLEND, NEAREST = "blend", "nearest"


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
        from vfibench.metrics.records import metric_record

        info = metric_record(name)
        return cls(info.name, info.label, info.higher_is_better, info.target, info.unit, bool(info.needs))

    def goodness(self, values: Any) -> Any:
        """``values`` mapped so that larger is better: x, −x, or −|x − target|."""
        if self.higher_is_better is None:
            return -abs(values - float(self.target if self.target is not None else 0.0))
        return values if self.higher_is_better else -values

    @property
    def arrow(self) -> str:
        if self.higher_is_better is None:
            return f"→{self.target:g}"
        return "↑" if self.higher_is_better else "↓"


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


# -- rankings ---------------------------------------------------------------------------------------
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
    """Kendall's tau-b between the two rankings (computed on goodness, so ties are handled)."""
    common = [c for c in base_means.index if c in other_means.index
              and math.isfinite(base_means[c]) and math.isfinite(other_means[c])]
    if len(common) < 2:
        return RankAgreement(other.name, float("nan"), float("nan"), len(common))
    x = base.goodness(base_means[common].to_numpy(dtype=float))
    y = other.goodness(other_means[common].to_numpy(dtype=float))
    from scipy import stats  # imported where used: a third of a second of every report's start-up

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.kendalltau(x, y)
    return RankAgreement(other.name, float(result.statistic), float(result.pvalue), len(common))


# -- paired comparisons -----------------------------------------------------------------------------
def wilcoxon_p(differences: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences.

    Zero differences are dropped (Wilcoxon's convention); all-zero differences give p = 1 (no
    evidence of any difference); no pairs give NaN.
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan")
    if not np.any(d != 0):
        return 1.0
    from scipy import stats

    d = d[d != 0]
    ranks = stats.rankdata(np.abs(d))
    if d.size <= EXACT_MAX_SAMPLES and np.unique(ranks).size < d.size:
        return _exact_signed_rank_p(ranks, float(ranks[d > 0].sum()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


#: Up to this many non-zero differences with tied ranks, the signed-rank p-value is computed by
#: enumerating all 2^n sign patterns (what scipy's permutation fallback does, vectorised).
EXACT_MAX_SAMPLES = 13


def _exact_signed_rank_p(ranks: np.ndarray, observed: float) -> float:
    """Two-sided p of the signed-rank statistic W+ = ``observed`` under all 2^n sign flips.

    p = min(1, 2·min(P(W+ ≥ w), P(W+ ≤ w))), with a relative tolerance of 1e-12 for tied sums.
    """
    n = ranks.size
    signs = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    null = signs @ ranks
    tolerance = 1e-12 * max(1.0, abs(observed))
    greater = np.mean(null >= observed - tolerance)
    less = np.mean(null <= observed + tolerance)
    return float(min(1.0, 2 * min(greater, less)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (NaN entries stay NaN and are not counted)."""
    finite = [(p, i) for i, p in enumerate(p_values) if isinstance(p, (int, float)) and math.isfinite(p)]
    adjusted = [float("nan")] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(finite)):
        running = max(running, min(1.0, (len(finite) - rank) * p))
        adjusted[i] = running
    return adjusted


#: Up to this many Walsh sums :func:`hodges_lehmann` computes them all at once; beyond, it narrows the
#: candidates down first, in O(n) memory (n = 3000 samples give 4.5 million sums).
WALSH_DIRECT_MAX = 1 << 16
#: Walsh sums drawn per narrowing pass of :func:`_kth_walsh_sum` to place its two pivots.
WALSH_SAMPLE = 4096


def hodges_lehmann(differences: np.ndarray) -> float:
    """Hodges–Lehmann estimate of the centre of paired differences: the median of the n(n + 1)/2
    Walsh averages (d_i + d_j)/2, i ≤ j.

    Hodges & Lehmann (1963), "Estimates of location based on rank tests", Ann. Math. Statist. 34,
    598–611. It is the estimate that belongs to the Wilcoxon signed-rank test: without ties, W+ is
    the number of positive Walsh averages, so the estimate is positive exactly when W+ exceeds its
    mean under no difference, n(n + 1)/4. Non-finite entries are dropped; none left gives NaN.
    """
    d = np.asarray(differences, dtype=float)
    d = np.sort(d[np.isfinite(d)])
    total = d.size * (d.size + 1) // 2
    if total == 0:
        return float("nan")
    middle = _kth_walsh_sum(d, (total - 1) // 2)
    if total % 2:
        return middle / 2 + 0.0  # + 0.0: a zero estimate is +0, as np.median gives
    return (middle + _next_walsh_sum(d, middle, total // 2)) / 4 + 0.0


def _next_walsh_sum(d: np.ndarray, value: float, k: int) -> float:
    """The k-th smallest (from 0) Walsh sum of sorted ``d``, given that the (k − 1)-th is ``value``:
    ``value`` again if more than k sums are at most it, else the smallest sum above it."""
    lo, hi = np.arange(d.size), np.full(d.size, d.size)
    through = _first_column(d, value, lo, hi, above=True)  # columns before it: sums ≤ value
    if int((through - lo).sum()) > k:
        return value
    rows = np.flatnonzero(through < hi)
    return float((d[rows] + d[through[rows]]).min())


def _kth_walsh_sum(d: np.ndarray, k: int) -> float:
    """The k-th smallest (from 0) of the sums d_i + d_j, i ≤ j, of sorted ``d``.

    Row i of the sums is non-decreasing in j, so the candidates are, per row, a range of columns.
    Each pass draws sums from the candidates (Floyd & Rivest's selection, CACM 18(3), 1975), takes
    two pivots that bracket the k-th with high probability, counts the sums below and through them
    row by row, and keeps the part that holds the k-th — a few passes take millions of sums down to
    :data:`WALSH_DIRECT_MAX`, which are then selected directly. Every comparison is between sums
    computed as d_i + d_j, so the result is exact; the draws (fixed seed) only decide how fast.
    """
    lo, hi = np.arange(d.size), np.full(d.size, d.size)  # row i keeps the columns lo[i] ≤ j < hi[i]
    draws = np.random.default_rng(0)
    while (left := int((hi - lo).sum())) > WALSH_DIRECT_MAX:
        sample = np.sort(_walsh_sums(d, lo, hi, draws.integers(0, left, WALSH_SAMPLE)))
        at, margin = k / left * WALSH_SAMPLE, 2.5 * math.sqrt(WALSH_SAMPLE)
        pivots = sample[max(0, int(at - margin))], sample[min(WALSH_SAMPLE - 1, int(at + margin))]
        for low_pivot, high_pivot in (pivots, (sample[min(WALSH_SAMPLE - 1, int(at))],) * 2):
            below = _first_column(d, low_pivot, lo, hi, above=False)  # columns before it: sums < low pivot
            through = _first_column(d, high_pivot, lo, hi, above=True)  # columns before it: sums ≤ high pivot
            n_below, n_through = int((below - lo).sum()), int((through - lo).sum())
            if k < n_below or k >= n_through or n_through - n_below < left:
                break  # the kept part is smaller; otherwise retry with one pivot, which always cuts
        if k < n_below:
            hi = below
        elif k >= n_through:
            k -= n_through
            lo = through
        elif low_pivot == high_pivot:
            return float(low_pivot)
        else:
            k -= n_below
            lo, hi = below, through
    return float(np.partition(_walsh_sums(d, lo, hi), k)[k])


def _walsh_sums(d: np.ndarray, lo: np.ndarray, hi: np.ndarray, picks: np.ndarray | None = None) -> np.ndarray:
    """The candidate sums d_i + d_j, lo_i ≤ j < hi_i, row by row — or only those at positions ``picks``
    of that sequence."""
    sizes = hi - lo
    ends = np.cumsum(sizes)
    if picks is None:
        rows = np.repeat(np.arange(d.size), sizes)
        return d[rows] + d[np.arange(ends[-1]) - np.repeat(ends - sizes - lo, sizes)]
    rows = np.searchsorted(ends, picks, side="right")
    return d[rows] + d[lo[rows] + picks - (ends[rows] - sizes[rows])]


def _first_column(d: np.ndarray, pivot: float, lo: np.ndarray, hi: np.ndarray, *, above: bool) -> np.ndarray:
    """Per row i, the first column j in [lo_i, hi_i) with d_i + d_j ≥ ``pivot`` (> ``pivot`` when
    ``above``), or hi_i. ``searchsorted`` guesses it, comparing d_j with pivot − d_i; where rounding
    makes that comparison disagree with the sum's, a binary search on the sums themselves (d_i + d_j is
    non-decreasing in j, so there is one boundary) settles the row in O(log n) passes."""
    def past(j: np.ndarray) -> np.ndarray:
        sums = d + d[np.minimum(j, d.size - 1)]
        return sums > pivot if above else sums >= pivot

    guess = np.clip(np.searchsorted(d, pivot - d, side="right" if above else "left"), lo, hi)
    too_far = (guess > lo) & past(guess - 1)  # the boundary is in [lo, guess − 1]
    too_near = ~too_far & (guess < hi) & ~past(guess)  # the boundary is in [guess + 1, hi]
    start = np.where(too_far, lo, np.where(too_near, guess + 1, guess))
    end = np.where(too_far, guess - 1, np.where(too_near, hi, guess))
    while (open_rows := start < end).any():
        middle = (start + end) // 2
        reached = open_rows & past(middle)
        end = np.where(reached, middle, end)
        start = np.where(open_rows & ~reached, middle + 1, start)
    return start


@dataclass(frozen=True)
class PairedTest:
    """One metric on one pair (A, B).

    Attributes:
        metric: the metric.
        difference: mean over paired samples of A − B, in the metric's units.
        favours: "A" or "B" when the mean goodness difference and its Hodges–Lehmann estimate
            (``hodges_lehmann``) both favour that member; "" otherwise (no difference, or no
            consistent preference: see ``inconsistent``).
        p_value: Wilcoxon signed-rank p of the per-sample goodness differences.
        p_holm: ``p_value`` Holm-adjusted within its family (trained pairs, or pairs with a reference).
        n: paired samples.
        disagreement_rate: fraction of the samples (paired on both metrics) where this metric and
            the base metric prefer different members of the pair; NaN for the base metric itself.
        seeds: the member each seed favours on its own ("A", "B" or ""), in seed order.
        seed_spread: standard deviation over seeds of the per-seed mean difference A − B (NaN with
            fewer than two seeds).
        mean_favours: the member the mean goodness difference favours ("A", "B" or "").
        hodges_lehmann: Hodges–Lehmann estimate of the non-zero per-sample goodness differences
            (positive: A better), the estimate that matches the signed-rank test.
    """

    metric: str
    difference: float
    favours: str
    p_value: float
    n: int
    p_holm: float = float("nan")
    disagreement_rate: float = float("nan")
    seeds: tuple[str, ...] = ()
    seed_spread: float = float("nan")
    mean_favours: str = ""
    hodges_lehmann: float = float("nan")

    @property
    def inconsistent(self) -> bool:
        """The mean favours a member but the Hodges–Lehmann estimate does not: no consistent preference."""
        return bool(self.mean_favours) and not self.favours

    @property
    def seed_consistent(self) -> bool:
        """Every seed favours the same member as the seed-averaged values (trivially true for one seed)."""
        return all(direction == self.favours for direction in self.seeds)

    @property
    def within_seed_spread(self) -> bool:
        """The mean difference is smaller than the spread over seeds (so a retrain could reverse it)."""
        return math.isfinite(self.seed_spread) and abs(self.difference) < self.seed_spread


@dataclass(frozen=True)
class PairComparison:
    """A pair of configurations with ``a`` ahead of (or level with) ``b`` on the base metric."""

    a: str
    b: str
    kind_a: str
    kind_b: str
    base: PairedTest
    others: tuple[PairedTest, ...]

    @property
    def disagreeing(self) -> list[PairedTest]:
        """The compared metrics that favour B although the base metric favours A."""
        if self.base.favours != "A":
            return []
        return [test for test in self.others if test.favours == "B"]

    @property
    def discordant(self) -> bool:
        return bool(self.disagreeing)

    @property
    def trained(self) -> bool:
        return self.kind_a != REFERENCE and self.kind_b != REFERENCE

    @property
    def robust_to_seeds(self) -> bool:
        """Discordant, and every seed agrees: the base metric favours A and a compared metric B in each
        of at least two seeds with results for both members."""
        return len(self.base.seeds) > 1 and self.base.seed_consistent and \
            any(t.seed_consistent for t in self.disagreeing)

    def test(self, metric: str) -> PairedTest | None:
        return next((t for t in (self.base, *self.others) if t.metric == metric), None)


def _paired(tables: Mapping[str, pd.DataFrame], metric: str, a: str, b: str) -> pd.DataFrame:
    table = tables[metric]
    if a not in table or b not in table:
        return pd.DataFrame(columns=["a", "b"])
    return table[[a, b]].set_axis(["a", "b"], axis=1).dropna()


def _direction(value: float) -> str:
    """"A" for a positive goodness difference, "B" for a negative one, "" for zero or NaN."""
    return "A" if value > 0 else "B" if value < 0 else ""


def preference(good: np.ndarray) -> tuple[str, str, float]:
    """(favours, mean_favours, Hodges–Lehmann estimate) of per-sample goodness differences A − B.

    A member is favoured only when the mean and the Hodges–Lehmann estimate of the non-zero
    differences (zeros dropped, as the signed-rank test drops them) both favour it: one large sample
    can carry the mean while most samples, and so the test, favour the other member.
    """
    good = np.asarray(good, dtype=float)
    by_mean = _mean_direction(good)
    good = good[np.isfinite(good)]
    estimate = hodges_lehmann(good[good != 0]) if np.any(good != 0) else 0.0 if good.size else float("nan")
    return (by_mean if by_mean == _direction(estimate) else ""), by_mean, estimate


def _mean_direction(good: np.ndarray) -> str:
    """The member the mean of the finite goodness differences A − B favours ("A", "B" or "")."""
    good = good[np.isfinite(good)]
    return _direction(float(good.mean())) if good.size else ""


def _goodness_differences(pairs: pd.DataFrame, orientation: Orientation) -> np.ndarray:
    return (orientation.goodness(pairs["a"]) - orientation.goodness(pairs["b"])).to_numpy(dtype=float)


def _paired_test(tables: Mapping[str, pd.DataFrame], orientation: Orientation, a: str, b: str,
                 seed_tables: Mapping[str, Mapping[int, pd.DataFrame]] | None = None) -> PairedTest:
    pairs = _paired(tables, orientation.name, a, b)
    good = _goodness_differences(pairs, orientation)
    favours, by_mean, estimate = preference(good)
    difference = float((pairs["a"] - pairs["b"]).mean()) if len(pairs) else float("nan")
    directions: list[str] = []
    differences: list[float] = []
    for table in (seed_tables or {}).get(orientation.name, {}).values():
        per_seed = _paired({orientation.name: table}, orientation.name, a, b)
        if len(per_seed):
            directions.append(preference(_goodness_differences(per_seed, orientation))[0])
            differences.append(float((per_seed["a"] - per_seed["b"]).mean()))
    spread = float(np.std(differences, ddof=1)) if len(differences) > 1 else float("nan")
    return PairedTest(orientation.name, difference, favours, wilcoxon_p(good), len(pairs),
                      seeds=tuple(directions), seed_spread=spread, mean_favours=by_mean, hodges_lehmann=estimate)


def _disagreement_rate(tables: Mapping[str, pd.DataFrame], base: Orientation, other: Orientation,
                       a: str, b: str) -> float:
    x, y = _paired(tables, base.name, a, b), _paired(tables, other.name, a, b)
    common = x.index.intersection(y.index)
    if len(common) == 0:
        return float("nan")
    dx = base.goodness(x.loc[common, "a"]) - base.goodness(x.loc[common, "b"])
    dy = other.goodness(y.loc[common, "a"]) - other.goodness(y.loc[common, "b"])
    return float((np.sign(dx) * np.sign(dy) < 0).mean())


def compare_pair(tables: Mapping[str, pd.DataFrame], a: str, b: str, base: Orientation,
                 others: Sequence[Orientation], kinds: Mapping[str, str] | None = None,
                 seed_tables: Mapping[str, Mapping[int, pd.DataFrame]] | None = None) -> PairComparison:
    """Compare ``a`` and ``b`` on ``base`` and each of ``others``; the members are swapped so that
    A is the one the base metric's mean favours. ``tables`` maps metric → :func:`sample_table`, and
    ``seed_tables`` metric → seed → the same table of one seed (for the per-seed directions; None
    in a run of one seed)."""
    kinds = kinds or {}
    if _mean_direction(_goodness_differences(_paired(tables, base.name, a, b), base)) == "B":
        a, b = b, a
    base_test = _paired_test(tables, base, a, b, seed_tables)
    tests = tuple(replace(_paired_test(tables, o, a, b, seed_tables),
                          disagreement_rate=_disagreement_rate(tables, base, o, a, b)) for o in others)
    return PairComparison(a, b, kinds.get(a, TRAINED), kinds.get(b, TRAINED), base_test, tests)


def compare_pairs(per_sample: pd.DataFrame, base: Orientation, others: Sequence[Orientation],
                  order: Sequence[str] | None = None) -> list[PairComparison]:
    """Every pair of configurations with samples, compared; p-values Holm-adjusted within each family
    (trained pairs; pairs with a reference)."""
    tables = {o.name: sample_table(per_sample, o.name) for o in (base, *others)}
    seeds = sorted(int(s) for s in per_sample[SEED].unique()) if len(per_sample) else []
    seed_tables = {o.name: {seed: sample_table(per_sample[per_sample[SEED] == seed], o.name) for seed in seeds}
                   for o in (base, *others)} if len(seeds) > 1 else None
    kinds = kinds_of(per_sample)
    configs = config_order(per_sample, order)
    pairs = [compare_pair(tables, a, b, base, others, kinds, seed_tables) for a, b in itertools.combinations(configs, 2)]
    return _with_holm(pairs)


def _with_holm(pairs: list[PairComparison]) -> list[PairComparison]:
    """Holm-adjust the trained pairs' tests together and the reference pairs' tests together."""
    out = list(pairs)
    for family in (True, False):
        members = [i for i, pair in enumerate(pairs) if pair.trained is family]
        flat = [t.p_value for i in members for t in (pairs[i].base, *pairs[i].others)]
        adjusted = iter(holm(flat))
        for i in members:
            pair = pairs[i]
            base = replace(pair.base, p_holm=next(adjusted))
            others = tuple(replace(t, p_holm=next(adjusted)) for t in pair.others)
            out[i] = replace(pair, base=base, others=others)
    return out


def smallest_holm_p(samples: int, tests: int) -> float:
    """The smallest Holm-adjusted p any test of a family of ``tests`` can reach with ``samples`` pairs.

    The two-sided exact Wilcoxon signed-rank p is at least 2 / 2^n (every difference of one sign),
    and Holm multiplies the smallest p by the family size.
    """
    if samples <= 0 or tests <= 0:
        return 1.0
    return min(1.0, tests * 2.0 / 2.0 ** min(samples, 1023))


# -- perception–distortion plane --------------------------------------------------------------------
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


# -- per-sample disagreement (which samples to show) -----------------------------------------------
def disagreement_scores(per_sample: pd.DataFrame, a: str, b: str, base: Orientation,
                        other: Orientation) -> pd.Series:
    """Per sample, how strongly the base metric prefers A while ``other`` prefers B.

    score = −(Δbase / rms Δbase) · (Δother / rms Δother), with Δ the seed-averaged goodness
    difference A − B: positive exactly when the two metrics prefer different members, largest
    where both preferences are strong. Sorted from most to least disagreeing (ties by sample).
    """
    tables = {o.name: sample_table(per_sample, o.name) for o in (base, other)}
    x, y = _paired(tables, base.name, a, b), _paired(tables, other.name, a, b)
    common = x.index.intersection(y.index)
    dx = base.goodness(x.loc[common, "a"]) - base.goodness(x.loc[common, "b"])
    dy = other.goodness(y.loc[common, "a"]) - other.goodness(y.loc[common, "b"])
    score = -(dx / _rms(dx)) * (dy / _rms(dy))
    frame = pd.DataFrame({"score": score.to_numpy(dtype=float), SAMPLE: common.to_numpy()})
    frame = frame.sort_values(["score", SAMPLE], ascending=[False, True], kind="mergesort")
    return frame.set_index(SAMPLE)["score"]


def _rms(values: pd.Series) -> float:
    rms = float(np.sqrt(np.mean(np.square(values.to_numpy(dtype=float))))) if len(values) else 0.0
    return rms if rms > 0 else 1.0


# -- the whole analysis -----------------------------------------------------------------------------
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
    verdict: str = ""
    tests: int = 0
    reference_tests: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def discordant(self) -> list[PairComparison]:
        return [p for p in self.pairs if p.discordant]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (NaN → None), with each pair's ``discordant`` flag."""
        record = asdict(self)
        record["pairs"] = [{**asdict(p), "discordant": p.discordant,
                            "disagreeing": [t.metric for t in p.disagreeing]} for p in self.pairs]
        for entry, pair in zip(record["pairs"], self.pairs):
            entry["robust_to_seeds"] = pair.robust_to_seeds
        record["discordant_pairs"] = [[p.a, p.b] for p in self.discordant]
        return _json_safe(record)


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
        agreement = tuple(kendall_agreement(base_means, orient[base], config_means(per_sample, m, order), orient[m])
                          for m in available if m != base)
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
        tests=_adjusted_tests(pairs, trained=True),
        reference_tests=_adjusted_tests(pairs, trained=False),
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


# -- the verdict ------------------------------------------------------------------------------------
def format_p(p: float, alpha: float = ALPHA) -> str:
    """``p < 0.001``, ``p = 0.003``, ``p = 0.0496``, ``p = 0.27`` or ``p = n/a``: three decimals below
    0.01, three significant digits up to 0.1, two decimals above; more wherever fewer would print a
    value on the other side of ``alpha`` than ``p`` (0.04996 is not printed as 0.0500)."""
    if not isinstance(p, (int, float)) or not math.isfinite(p):
        return "p = n/a"
    if p < 0.001:
        return "p < 0.001"
    decimals = 3 if p < 0.01 else 4 if p < 0.1 else 2
    text = f"{p:.{decimals}f}"
    while (float(text) < alpha) != (p < alpha) and decimals < 15:
        decimals += 1
        text = f"{p:.{decimals}f}"
    return f"p = {text}"


def format_difference(value: float, unit: str) -> str:
    """A magnitude: ``0.41 dB`` or two significant digits (``0.0027``)."""
    if not math.isfinite(value):
        return "n/a"
    return f"{abs(value):.2f} dB" if unit == "dB" else f"{abs(value):.2g}"


def join_words(words: Sequence[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def headline_pair(analysis: GapAnalysis) -> PairComparison | None:
    """The most convincing discordant pair of trained configurations (significant first, then robust
    to seeds, then smallest adjusted p, then largest base-metric difference); None when no trained
    pair disagrees."""
    candidates = [p for p in analysis.discordant if p.trained]
    if not candidates:
        return None

    def strength(pair: PairComparison) -> tuple[bool, bool, float, float]:
        best_other = min((_nan_high(t.p_holm) for t in pair.disagreeing), default=math.inf)
        worst = max(_nan_high(pair.base.p_holm), best_other)
        return (not worst < analysis.alpha, not pair.robust_to_seeds, worst, -abs(pair.base.difference))

    return min(candidates, key=strength)


def _nan_high(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def verdict(analysis: GapAnalysis) -> str:
    """One paragraph, in plain language, of what the numbers say about the gap."""
    label = analysis.labels.get
    sentences: list[str] = []
    if analysis.base not in analysis.metrics:
        sentences.append(missing_base(analysis))
    elif not analysis.compared:
        sentences.append(f"No other metric is available, so {label(analysis.base)} cannot be compared with "
                         f"perceptual quality in this run.")
    else:
        sentences.extend(_pair_sentences(analysis))
        sentences.extend(_agreement_sentences(analysis))
        sentences.extend(_reference_sentences(analysis))
    sentences.extend(_availability_sentences(analysis))
    return " ".join(sentences)


def missing_base(analysis: GapAnalysis) -> str:
    """The one sentence saying that the run has no values of the base metric (not computed, or
    unavailable) and what the report leaves out for it; "" when it has them."""
    base = analysis.base
    if base in analysis.metrics:
        return ""
    name = analysis.labels.get(base) or Orientation.of(base).label
    reason = analysis.unavailable_metrics.get(base)
    why = f"is unavailable in this run ({reason})" if reason is not None else "was not computed in this run"
    has = join_words([analysis.labels.get(m, m) for m in analysis.metrics])
    plane = (f", or plot two of its metrics with --plane {analysis.metrics[0]}:{analysis.metrics[1]}"
             if len(analysis.metrics) >= 2 else "")
    return (f"{name} {why}{f' (it has {has})' if has else ''}, so no ranking is compared with it: the rank "
            f"agreement, the paired comparisons, the image grids and the default perception–distortion plot "
            f"({name} against a perceptual metric) are left out. Score {name} as well (--metrics {base},…) to get "
            f"them{plane}.")


def _pair_sentences(analysis: GapAnalysis) -> list[str]:
    label, unit = analysis.labels.get, analysis.units.get
    trained = [p for p in analysis.pairs if p.trained]
    subject = subject_noun(analysis)
    compared = join_words([label(m, m) for m in analysis.compared])
    basis = (f"Wilcoxon signed-rank tests over {analysis.samples} paired test samples, Holm-adjusted over the "
             f"{analysis.tests} tests of pairs of {subject}"
             + ("; pairs with a reference row are adjusted separately)" if analysis.reference_tests else ")"))
    floor = smallest_holm_p(analysis.samples, analysis.tests)
    power = (f" With {analysis.samples} samples and {analysis.tests} tests no test can reach "
             f"significance (the smallest attainable adjusted p is {floor:.2g}); test more samples."
             if trained and floor >= analysis.alpha else "")
    if not analysis.compared_are_deep:
        compared_note = (f"No learned perceptual metric is available; {compared} "
                         f"{'stands' if len(analysis.compared) == 1 else 'stand'} in for one. ")
    else:
        compared_note = ""
    unclear = _inconsistency_sentence(analysis, trained)
    pair = headline_pair(analysis)
    if pair is None:
        if not trained:
            return [f"{compared_note}There is no pair of {subject} with results to compare."]
        one = row_noun(analysis.kinds.values())
        if unclear:
            return [f"{compared_note}No {one} wins on {label(analysis.base)} while losing on {compared} in "
                    f"any of the {len(trained)} pair(s) of {subject}.{unclear}{power}"]
        every = join_words([label(analysis.base, analysis.base), *(label(m, m) for m in analysis.compared)])
        return [f"{compared_note}{every} agree on every one of the {len(trained)} pair(s) of {subject}: no {one} "
                f"wins on {label(analysis.base)} while losing on {compared}.{power}"]
    base = pair.base
    disagreeing = pair.disagreeing
    names = join_words([label(t.metric, t.metric) for t in disagreeing])
    ps = join_words([format_p(t.p_holm, analysis.alpha) for t in disagreeing])
    verb = "prefers" if len(disagreeing) == 1 else "prefer"
    text = (f"{compared_note}{label(analysis.base)} prefers {pair.a} over {pair.b} by "
            f"{format_difference(base.difference, unit(analysis.base, ''))} ({format_p(base.p_holm, analysis.alpha)}); "
            f"{names} {verb} {pair.b} ({ps}): {_disagreement_ending(analysis, base, disagreeing)}")
    siding = [t for t in pair.others if t.favours == "A"]
    if siding:
        text += f" {join_words([label(t.metric, t.metric) for t in siding])} side{'s' if len(siding) == 1 else ''} " \
                f"with {label(analysis.base)} on this pair."
    rates = [t.disagreement_rate for t in disagreeing if math.isfinite(t.disagreement_rate)]
    if rates:
        text += (f" Sample by sample, {label(analysis.base)} and {label(disagreeing[0].metric)} prefer different "
                 f"members of this pair on {rates[0]:.0%} of the test samples.")
    text += _seed_sentence(analysis, pair)
    count = sum(1 for p in trained if p.discordant)
    text += (f" {count} of {len(trained)} pairs of {subject} are discordant in this way "
             f"({basis}.{unclear}{power}")
    return [text]


def _disagreement_ending(analysis: GapAnalysis, base: PairedTest, disagreeing: Sequence[PairedTest]) -> str:
    """"the metrics disagree, significantly." when the base test and a disagreeing one are significant;
    otherwise which of them are not."""
    label = analysis.labels.get
    if base.p_holm < analysis.alpha and any(t.p_holm < analysis.alpha for t in disagreeing):
        return "the metrics disagree, significantly."
    weak = [label(analysis.base, analysis.base)] if not base.p_holm < analysis.alpha else []
    weak += [label(t.metric, t.metric) for t in disagreeing if not t.p_holm < analysis.alpha]
    return (f"the metrics disagree, but with {analysis.samples} samples the difference is not "
            f"significant on {join_words(weak)}.")


#: How many tests without a consistent preference the verdict names before "and N more".
INCONSISTENT_NAMED = 3


def _inconsistency_sentence(analysis: GapAnalysis, pairs: Sequence[PairComparison]) -> str:
    """The tests of ``pairs`` whose mean and Hodges–Lehmann estimate favour different members (or "")."""
    label, unit = analysis.labels.get, analysis.units.get
    found = [(pair, test) for pair in pairs for test in (pair.base, *pair.others) if test.inconsistent]
    if not found:
        return ""
    items = []
    for pair, test in found[:INCONSISTENT_NAMED]:
        member = {"A": pair.a, "B": pair.b}
        typical = _direction(test.hodges_lehmann)
        items.append(f"{label(test.metric, test.metric)} on {pair.a} vs {pair.b}: no consistent preference — the "
                     f"mean favours {member[test.mean_favours]} by "
                     f"{format_difference(test.difference, unit(test.metric, ''))} but the typical per-sample "
                     f"difference (Hodges–Lehmann estimate) "
                     + (f"favours {member[typical]}" if typical else "is zero"))
    more = len(found) - INCONSISTENT_NAMED
    return (f" {'; '.join(items)}" + (f"; and {more} more such test{'s' if more > 1 else ''}" if more > 0 else "")
            + ". A metric without a consistent preference counts neither as preferring a member nor as "
              "disagreeing.")


def _seed_sentence(analysis: GapAnalysis, pair: PairComparison) -> str:
    """Whether the pair's disagreement holds seed by seed, and whether it exceeds the seed spread."""
    run_seeds = len(analysis.seeds)
    n = len(pair.base.seeds)
    if run_seeds <= 1:
        if subject_noun(analysis) == "models":  # an evaluation scores given predictions: no seeds to add
            return ""
        return (" With one training seed, whether this holds for another training run is untested: run "
                "--seeds 0,1,2.")
    partial = (f" {'None' if n == 0 else f'Only {n}'} of the {run_seeds} seeds {'has' if n <= 1 else 'have'} "
               f"results for both {pair.a} and {pair.b}" if n < run_seeds else "")
    if n < 2:
        return f"{partial}, so whether this holds for another training run is untested."
    label = analysis.labels.get
    tests = [pair.base, *pair.disagreeing]
    holding = [label(t.metric, t.metric) for t in tests if t.seed_consistent]
    flipping = [f"{label(t.metric, t.metric)} ({sum(d == t.favours for d in t.seeds)} of {n})"
                for t in tests if not t.seed_consistent]
    text = (f"{partial}." if partial else "") + (
        f" Seed by seed, the disagreement holds in all {n} seeds." if pair.robust_to_seeds
        else f" Seed by seed, it does not hold in every one of the {n} seeds: seeds agreeing with the "
             f"average: {join_words(flipping)}" + (f"; {join_words(holding)} hold in all" if holding else "")
             + ".")
    small = [label(t.metric, t.metric) for t in tests if t.within_seed_spread]
    if small:
        text += (f" The difference on {join_words(small)} is smaller than its standard deviation over seeds: "
                 f"a retrained model could reverse it.")
    return text


def subject_noun(analysis: GapAnalysis) -> str:
    """What the non-reference rows are: "trained configurations" (a sweep) or "models" (an evaluation)."""
    return ranked_noun(analysis.kinds.values())


def ranked_noun(kinds: Iterable[str]) -> str:
    """"trained configurations" when any of ``kinds`` is trained (or none is ranked), else "models"."""
    ranked = {kind for kind in kinds if kind != REFERENCE}
    return "trained configurations" if not ranked or TRAINED in ranked else "models"


def row_noun(kinds: Iterable[str]) -> str:
    """One row of a table of ``kinds``: "model" for an evaluation's models, else "configuration"."""
    return "model" if ranked_noun(kinds) == "models" else "configuration"


def _agreement_sentences(analysis: GapAnalysis) -> list[str]:
    label = analysis.labels.get
    parts = [f"{label(a.metric, a.metric)} {a.tau:+.2f}" for a in analysis.agreement
             if a.metric in analysis.compared and math.isfinite(a.tau)]
    if not parts:
        return []
    n = max(a.n for a in analysis.agreement)
    return [f"Kendall's tau between the {label(analysis.base)} ranking and the others over all {n} rows "
            f"(1 = same order, −1 = reversed): {', '.join(parts)}."]


def _reference_sentences(analysis: GapAnalysis) -> list[str]:
    label, unit = analysis.labels.get, analysis.units.get
    sentences: list[str] = []
    references = {c for c, kind in analysis.kinds.items() if kind == REFERENCE}  # by kind: a model may be named blend
    pair = next((p for p in analysis.pairs if {p.a, p.b} == {BLEND, NEAREST} <= references), None)
    primary = analysis.compared[0]
    test = pair.test(primary) if pair is not None else None
    if pair is not None and test is not None:
        base_winner = pair.a if pair.base.favours == "A" else None
        other_winner = {"A": pair.a, "B": pair.b}.get(test.favours)
        b_text = (f"{format_difference(pair.base.difference, unit(analysis.base, ''))}, "
                  f"{format_p(pair.base.p_holm, analysis.alpha)}")
        o_text = f"{format_difference(test.difference, '')}, {format_p(test.p_holm, analysis.alpha)}"
        if base_winner == BLEND and other_winner == NEAREST:
            sentences.append(f"Between the references, {label(analysis.base)} prefers blend over nearest ({b_text}) "
                             f"and {label(primary)} prefers nearest ({o_text}), the textbook disagreement (averaging "
                             f"blurs, copying is sharp but misplaced): "
                             f"{_disagreement_ending(analysis, pair.base, [test])}")
        elif base_winner is not None and base_winner == other_winner:
            sentences.append(f"{base_winner.capitalize()} beats {pair.b} on both {label(analysis.base)} "
                             f"({b_text}) and {label(primary)} ({o_text}): the textbook disagreement between the "
                             f"two references does not appear on these samples.")
        else:
            sentences.append(f"Between the references, {label(analysis.base)} favours {_preferred(pair, pair.base)} "
                             f"({b_text}) and {label(primary)} favours {_preferred(pair, test)} ({o_text}).")
    sentences.extend(_blend_baseline_sentences(analysis))
    return sentences


def _preferred(pair: PairComparison, test: PairedTest) -> str:
    """The member ``test`` favours, "no member consistently" or "neither"."""
    if test.inconsistent:
        return "no member consistently"
    return {"A": pair.a, "B": pair.b}.get(test.favours, "neither")


def _blend_baseline_sentences(analysis: GapAnalysis) -> list[str]:
    """How the trained rows stand against the blend reference on the base metric: by their means, and
    which of those leads the paired tests (pairs with a reference, Holm-adjusted) support."""
    ranking = {e.config: e for e in analysis.rankings.get(analysis.base, ())}
    if BLEND not in ranking or ranking[BLEND].kind != REFERENCE:  # a model of that name is not the reference
        return []
    label, unit = analysis.labels.get(analysis.base, analysis.base), analysis.units.get(analysis.base, "")
    trained = [e for e in ranking.values() if e.kind != REFERENCE]
    if not trained:
        return []
    behind = [e for e in trained if e.rank >= ranking[BLEND].rank]
    if not behind:
        supported, unsupported = _tested_leads(analysis, [e.config for e in trained], blend_leads=False)
        return [f"Every trained configuration beats the blend reference on mean {label}"
                + (f"; the lead is significant for {join_words(supported)}" if supported else "")
                + (f"; it is not significant for {join_words(unsupported)} with {analysis.samples} samples"
                   if unsupported else "") + "."]
    values = join_words([f"{e.config} {e.mean:.2f}" for e in behind])
    numbers = f"({values} vs {ranking[BLEND].mean:.2f}{' ' + unit if unit else ''})"
    plural = len(behind) > 1
    head = (f"No trained configuration beats the blend reference on mean {label} {numbers}"
            if len(behind) == len(trained) else
            f"{join_words([e.config for e in behind])} {'do' if plural else 'does'} not beat the blend reference "
            f"on mean {label} {numbers}")
    supported, unsupported = _tested_leads(analysis, [e.config for e in behind], blend_leads=True)
    parts = []
    if supported:
        parts.append(f"blend is significantly ahead of {join_words(supported)}, so "
                     f"{'they have' if len(supported) > 1 else 'it has'} not learned to interpolate motion beyond "
                     f"averaging the inputs")
    if unsupported:
        parts.append(f"blend's lead over {join_words(unsupported)} is not significant with {analysis.samples} "
                     f"samples, so whether {'they have' if len(unsupported) > 1 else 'it has'} learned to "
                     f"interpolate motion beyond averaging the inputs is not shown")
    return [f"{head}: {'; '.join(parts)}."]


def _tested_leads(analysis: GapAnalysis, configs: Sequence[str], *, blend_leads: bool) -> tuple[list[str], list[str]]:
    """``configs`` as "name (p = …)", split into those whose base-metric test against blend significantly
    favours the leader (blend when ``blend_leads``, else the configuration) and the rest."""
    supported, unsupported = [], []
    for config in configs:
        pair = next((p for p in analysis.pairs if {p.a, p.b} == {config, BLEND}), None)
        p_holm = pair.base.p_holm if pair is not None else float("nan")
        leader = BLEND if blend_leads else config
        significant = (pair is not None and pair.a == leader and pair.base.favours == "A"
                       and p_holm < analysis.alpha)
        (supported if significant else unsupported).append(f"{config} ({format_p(p_holm, analysis.alpha)})")
    return supported, unsupported


def _availability_sentences(analysis: GapAnalysis) -> list[str]:
    sentences = []
    said = {analysis.base} if missing_base(analysis) else set()  # its own sentence named it already
    unavailable = [m for m in analysis.unavailable_metrics if m not in said]
    if unavailable:
        names = join_words([analysis.labels.get(m, m) for m in unavailable])
        sentences.append(f"{names} {'is' if len(unavailable) == 1 else 'are'} unavailable in this "
                         f"run and left out of the analysis.")
    for config, state in analysis.missing_configs.items():
        sentences.append(f"'{config}' has no results ({state}).")
    return sentences
