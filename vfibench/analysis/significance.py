"""Significance tests and the estimate that goes with them, for paired per-sample differences.

- :func:`wilcoxon_p` — the two-sided Wilcoxon signed-rank p-value (zero differences dropped; exact
  over all sign patterns for small samples with tied ranks);
- :func:`holm` — Holm–Bonferroni adjustment within a family of tests;
- :func:`smallest_holm_p` — the smallest adjusted p a family can reach with n samples;
- :func:`hodges_lehmann` — the location estimate that belongs to the signed-rank test, computed
  exactly without materialising all n(n + 1)/2 Walsh averages.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

#: The significance level: a test is significant when its Holm-adjusted p is below it.
ALPHA = 0.05


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
    the number of positive Walsh averages, so when their number n(n + 1)/2 is odd the estimate is
    positive exactly when W+ exceeds its mean under no difference, n(n + 1)/4 (when it is even, a
    W+ equal to that mean can come with an estimate of either sign). Non-finite entries are
    dropped; none left gives NaN.
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


def smallest_holm_p(samples: int, tests: int) -> float:
    """The smallest Holm-adjusted p any test of a family of ``tests`` can reach with ``samples`` pairs.

    The two-sided exact Wilcoxon signed-rank p is at least 2 / 2^n (every difference of one sign),
    and Holm multiplies the smallest p by the family size.
    """
    if samples <= 0 or tests <= 0:
        return 1.0
    return min(1.0, tests * 2.0 / 2.0 ** min(samples, 1023))
