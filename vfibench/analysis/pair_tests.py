"""Paired comparisons of two configurations on the same test samples, metric by metric.

For a pair (A, B) with A ahead on the base metric (PSNR): the mean difference A − B in the metric's
own units, a paired Wilcoxon signed-rank test of the per-sample goodness differences, and the
per-sample rate at which the base metric and another metric prefer different members. A metric
*prefers* a member only when the two members' means (compared as the rankings compare them) and the
Hodges–Lehmann estimate of the per-sample goodness differences (what the signed-rank test responds
to) point the same way; when they point different ways the metric has no consistent preference,
which counts neither as a preference nor as a disagreement. A pair is *discordant* when A's lead on
the base metric comes with a loss on another metric. Only samples where both configurations have a
finite value are paired.

For a metric that is best at a target (the sharpness ratio, best at 1) the two views can differ: the
rankings compare how close each *mean* is to the target, the test how close each *sample* is. A
configuration alternately too blurry and too sharp has a mean near 1 but no sample near it; it ranks
well and loses the test, and the metric then has no consistent preference rather than contradicting
the ranking.

p-values are two-sided and Holm-adjusted within a family: the pairs of trained configurations (the
comparisons a study is about) form one family, the pairs that involve a reference row (``blend``,
``nearest``) another, so reference rows never dilute the tests of trained pairs.

Seeds. The paired tests treat each trained model as fixed: they see the spread over test samples,
not over training runs. Each sample's value is the mean over the seeds *both* members have
(:func:`~vfibench.analysis.per_sample.on_shared_seeds`): a configuration that diverged on a seed, or
has not finished it yet, is compared on the seeds it has. With several seeds every test also
records the direction each seed gives on its own (``seeds``) and the standard deviation over seeds
of the per-seed mean difference (``seed_spread``); a pair's disagreement is *robust to seeds* only
when every seed points the same way on both metrics. A pair of two references has no per-seed
record: their frames are the same for every seed, so agreement between seeds would say nothing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from vfibench.analysis.per_sample import (Orientation, config_order, config_seeds, kinds_of, on_shared_seeds,
                                          sample_table)
from vfibench.analysis.significance import hodges_lehmann, holm, wilcoxon_p
from vfibench.results.schema import REFERENCE, SAMPLE, SEED, TRAINED
from vfibench.results.summary import spread_over_seeds


#: What each field of a :class:`PairedTest` means, for its docstring and for every JSON record of one.
PAIR_TEST_FIELDS = {
    "metric": "the metric",
    "difference": "mean over paired samples of A − B, in the metric's units (its sign says which is larger, "
                  "not which is better: see the metric's direction)",
    "favours": "'A' or 'B' when the means (mean_favours) and the Hodges–Lehmann estimate (hodges_lehmann) both "
               "favour that member; '' otherwise (no difference, or no consistent preference)",
    "p_value": "two-sided Wilcoxon signed-rank p of the per-sample goodness differences",
    "n": "paired samples (both members with a finite value)",
    "p_holm": "p_value Holm-adjusted within its family (trained pairs, or pairs with a reference)",
    "disagreement_rate": "fraction of the samples (paired on both metrics) where this metric and the base "
                         "metric prefer different members of the pair; NaN (null in JSON) for the base metric itself",
    "seeds": "the member each seed favours on its own ('A', 'B' or ''), in seed order",
    "seed_spread": "standard deviation over seeds of the per-seed mean difference A − B (NaN, null in JSON, "
                   "with fewer than two seeds)",
    "mean_favours": "the member whose mean is better ('A', 'B' or ''), as the rankings judge it: "
                    "goodness(mean A) − goodness(mean B)",
    "hodges_lehmann": "Hodges–Lehmann estimate of the non-zero per-sample goodness differences A − B, where "
                      "goodness is the value, its negative, or −|value − target| as the metric's direction "
                      "says: positive when A is better, whatever the direction (the estimate that matches the "
                      "signed-rank test)",
}


@dataclass(frozen=True)
class PairedTest:
    """One metric on one pair (A, B); its fields are described in :data:`PAIR_TEST_FIELDS`."""

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
    def seeds_agreeing(self) -> int:
        """How many seeds, each on its own, favour the same member as the seed-averaged values."""
        return sum(seed_favours == self.favours for seed_favours in self.seeds)

    @property
    def seed_consistent(self) -> bool:
        """Every seed favours the same member as the seed-averaged values (trivially true for one seed)."""
        return all(seed_favours == self.favours for seed_favours in self.seeds)

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
    """The samples where both ``a`` and ``b`` have a finite value of ``metric``, as columns a and b."""
    table = tables[metric]
    if a not in table or b not in table:
        return pd.DataFrame(columns=["a", "b"])
    pairs = table[[a, b]].set_axis(["a", "b"], axis=1).astype(float)
    return pairs[np.isfinite(pairs).all(axis=1)]


def direction(value: float) -> str:
    """"A" for a positive goodness difference, "B" for a negative one, "" for zero or NaN."""
    return "A" if value > 0 else "B" if value < 0 else ""


def preference(good: np.ndarray, means_difference: float) -> tuple[str, str, float]:
    """(favours, mean_favours, Hodges–Lehmann estimate) of per-sample goodness differences A − B.

    A member is favoured only when its mean is better and the Hodges–Lehmann estimate of the
    non-zero differences (zeros dropped, as the signed-rank test drops them) favours it too: one large
    sample can carry the mean while most samples, and so the test, favour the other member.
    ``means_difference`` is goodness(mean A) − goodness(mean B) (:func:`_means_difference`).
    """
    good = np.asarray(good, dtype=float)
    good = good[np.isfinite(good)]
    by_mean = direction(means_difference)
    estimate = hodges_lehmann(good[good != 0]) if np.any(good != 0) else 0.0 if good.size else float("nan")
    return (by_mean if by_mean == direction(estimate) else ""), by_mean, estimate


def _goodness_differences(pairs: pd.DataFrame, orientation: Orientation) -> np.ndarray:
    return (orientation.goodness(pairs["a"]) - orientation.goodness(pairs["b"])).to_numpy(dtype=float)


def _means_difference(pairs: pd.DataFrame, orientation: Orientation) -> float:
    """goodness(mean A) − goodness(mean B) over the paired samples: which mean is better, as the
    rankings judge it (they rank the means over all samples, at the printed precision)."""
    if not len(pairs):
        return float("nan")
    if orientation.higher_is_better is not None:  # linear goodness: the mean of the per-sample differences
        return float(_goodness_differences(pairs, orientation).mean())
    means = pairs[["a", "b"]].mean()
    return float(orientation.goodness(means["a"]) - orientation.goodness(means["b"]))


def _pair_preference(pairs: pd.DataFrame, orientation: Orientation) -> tuple[str, str, float]:
    return preference(_goodness_differences(pairs, orientation), _means_difference(pairs, orientation))


def _paired_test(tables: Mapping[str, pd.DataFrame], orientation: Orientation, a: str, b: str,
                 seed_tables: Mapping[str, Mapping[int, pd.DataFrame]] | None = None) -> PairedTest:
    pairs = _paired(tables, orientation.name, a, b)
    good = _goodness_differences(pairs, orientation)
    favours, by_mean, estimate = _pair_preference(pairs, orientation)
    difference = float((pairs["a"] - pairs["b"]).mean()) if len(pairs) else float("nan")
    directions: list[str] = []
    differences: list[float] = []
    for table in (seed_tables or {}).get(orientation.name, {}).values():
        per_seed = _paired({orientation.name: table}, orientation.name, a, b)
        if len(per_seed):
            directions.append(_pair_preference(per_seed, orientation)[0])
            differences.append(float((per_seed["a"] - per_seed["b"]).mean()))
    spread = spread_over_seeds(differences)
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
    if direction(_means_difference(_paired(tables, base.name, a, b), base)) == "B":
        a, b = b, a
    base_test = _paired_test(tables, base, a, b, seed_tables)
    tests = tuple(replace(_paired_test(tables, o, a, b, seed_tables),
                          disagreement_rate=_disagreement_rate(tables, base, o, a, b)) for o in others)
    return PairComparison(a, b, kinds.get(a, TRAINED), kinds.get(b, TRAINED), base_test, tests)


def compare_pairs(per_sample: pd.DataFrame, base: Orientation, others: Sequence[Orientation],
                  order: Sequence[str] | None = None) -> list[PairComparison]:
    """Every pair of configurations with samples on a seed in common (:func:`unpaired`: those without),
    compared; p-values Holm-adjusted within each family (trained pairs; pairs with a reference)."""
    metrics = (base, *others)
    tables = {o.name: sample_table(per_sample, o.name) for o in metrics}
    seeds = sorted(int(s) for s in per_sample[SEED].unique()) if len(per_sample) else []
    seed_tables = {o.name: {seed: sample_table(per_sample[per_sample[SEED] == seed], o.name) for seed in seeds}
                   for o in metrics} if len(seeds) > 1 else None
    kinds = kinds_of(per_sample)
    by_config = config_seeds(per_sample)

    def compared(a: str, b: str) -> PairComparison:
        shared = on_shared_seeds(per_sample, a, b, by_config)
        pair_tables = tables if shared is per_sample else {o.name: sample_table(shared, o.name) for o in metrics}
        references = kinds.get(a) == REFERENCE and kinds.get(b) == REFERENCE  # the same frames for every seed
        return compare_pair(pair_tables, a, b, base, others, kinds, None if references else seed_tables)

    return _with_holm([compared(a, b) for a, b in itertools.combinations(config_order(per_sample, order), 2)
                       if _share_a_seed(by_config, a, b)])


def unpaired(per_sample: pd.DataFrame, order: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """The pairs of configurations with no seed in common (each finished other seeds of an unfinished
    run), which :func:`compare_pairs` leaves out: nothing pairs their samples."""
    seeds = config_seeds(per_sample)
    return [(a, b) for a, b in itertools.combinations(config_order(per_sample, order), 2)
            if not _share_a_seed(seeds, a, b)]


def _share_a_seed(seeds: dict[str, frozenset[int]], a: str, b: str) -> bool:
    """Whether configurations ``a`` and ``b`` have samples on a seed in common (``seeds``: :func:`config_seeds`)."""
    return bool(seeds.get(a, frozenset()) & seeds.get(b, frozenset()))


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


# -- per-sample disagreement (which samples to show) -----------------------------------------------
def disagreement_scores(per_sample: pd.DataFrame, a: str, b: str, base: Orientation,
                        other: Orientation) -> pd.Series:
    """Per sample, how strongly the base metric prefers A while ``other`` prefers B.

    score = −(Δbase / rms Δbase) · (Δother / rms Δother), with Δ the goodness difference A − B averaged
    over the seeds both have: positive exactly when the two metrics prefer different members, largest
    where both preferences are strong. Sorted from most to least disagreeing (ties by sample).
    """
    shared = on_shared_seeds(per_sample, a, b)
    tables = {o.name: sample_table(shared, o.name) for o in (base, other)}
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
