"""The gap analysis on hand-made per-sample tables with known answers: directions, rankings,
Kendall's tau, per-sample pairing across configurations and seeds, Holm, Pareto front, verdict."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from vfibench.analysis import significance
from vfibench.analysis.gap import analyse
from vfibench.analysis.pair_tests import compare_pairs
from vfibench.analysis.per_sample import Orientation, config_means, sample_table
from vfibench.analysis.plane import pareto_front, perception_distortion_plane
from vfibench.analysis.rankings import kendall_agreement, rank_configs
from vfibench.analysis.significance import hodges_lehmann, holm, smallest_holm_p, wilcoxon_p
from vfibench.analysis.verdict import format_p, headline_pair, within_tolerance
from vfibench.results import report_tables as tables_module
from vfibench.results import tables
from vfibench.results.summary import summarise


def table(values: dict[str, dict[str, list[float]]], seeds: int = 1, kinds: dict[str, str] | None = None,
          jitter: float = 0.0) -> pd.DataFrame:
    """per_sample rows: config → metric → per-sample values (the same for every seed, plus ±jitter)."""
    rows = []
    for config, metrics in values.items():
        n = len(next(iter(metrics.values())))
        for seed in range(seeds):
            for sample in range(n):
                sign = 1 if seed % 2 == 0 else -1
                rows.append({"config": config, "kind": (kinds or {}).get(config, "trained"), "seed": seed,
                             "sample": sample, **{m: v[sample] + sign * jitter for m, v in metrics.items()}})
    return pd.DataFrame(rows)


# -- directions -------------------------------------------------------------------------------------
def test_sharpness_is_best_closest_to_one_everywhere():
    orientation = Orientation.of("sharpness")
    assert orientation.higher_is_better is None and orientation.arrow == "→1"
    means = pd.Series({"blurry": 0.80, "noisy": 1.30, "right": 0.98, "slightly_sharp": 1.05})
    ranking = rank_configs(means, orientation)
    assert [e.config for e in ranking] == ["right", "slightly_sharp", "blurry", "noisy"]
    # the summary table marks the same row best and shows the direction in the header
    summary = pd.DataFrame({"config": list(means.index), "sharpness_mean": list(means.values)})
    assert tables.best_rows(summary, "sharpness") == {2}
    assert tables.header("sharpness").endswith("→1")
    assert tables.header("psnr").endswith("↑") and tables.header("lpips").endswith("↓")


def test_best_rows_follow_each_direction_and_ignore_missing_values():
    summary = pd.DataFrame({"config": ["a", "b", "c"], "psnr_mean": [30.0, 31.0, np.nan],
                            "lpips_mean": [0.2, 0.1, np.nan]})
    assert tables.best_rows(summary, "psnr") == {1}
    assert tables.best_rows(summary, "lpips") == {1}
    assert tables.best_rows(summary.assign(psnr_mean=np.nan), "psnr") == set()


def test_best_rows_compare_the_values_as_printed():
    """Equal at the printed precision is a tie, in each direction; sharpness: 0.9994 and 1.0006 are
    equally close to 1 as printed, though not in floating point."""
    summary = pd.DataFrame({"config": ["a", "b", "c"], "psnr_mean": [30.4238, 30.4177, 30.4149],
                            "lpips_mean": [0.12341, 0.12338, 0.12352], "sharpness_mean": [0.9994, 1.0006, 1.0007]})
    assert tables.best_rows(summary, "psnr") == {0, 1}
    assert tables.best_rows(summary, "lpips") == {0, 1}
    assert tables.best_rows(summary, "sharpness") == {0, 1}
    assert tables.best_rows(summary.assign(psnr_mean=[30.4262, 30.4177, 30.4149]), "psnr") == {0}


def test_a_column_where_every_row_prints_the_same_marks_none_and_its_tau_is_explained():
    summary = pd.DataFrame({"config": ["a", "b", "c"], "psnr_mean": [30.0, 31.0, 29.0], "ssim_mean": [0.9, 0.9, 0.9]})
    assert tables.best_rows(summary, "ssim") == set() and tables.best_rows(summary, "psnr") == {1}
    data = table({"a": {"psnr": [30, 31, 32], "ssim": [0.9] * 3, "lpips": [0.2] * 3},
                  "b": {"psnr": [31, 32, 33], "ssim": [0.9] * 3, "lpips": [0.1] * 3}})
    caption = tables_module.agreement_table(analyse(data, ["psnr", "ssim", "lpips"])).caption
    assert "—: undefined, a ranking with every row tied has no order to compare." in caption, caption


def test_plane_and_rankings_use_closeness_to_one_for_sharpness():
    data = table({"a": {"psnr": [30, 31, 32], "sharpness": [0.7, 0.7, 0.7]},
                  "b": {"psnr": [29, 30, 31], "sharpness": [1.0, 1.0, 1.0]},
                  "c": {"psnr": [28, 29, 30], "sharpness": [1.4, 1.4, 1.4]}})
    result = analyse(data, ["psnr", "sharpness"], compared=["sharpness"])
    assert [e.config for e in result.rankings["sharpness"]] == ["b", "a", "c"]
    # goodness of sharpness: b (0) > a (−0.3) > c (−0.4): a and b are on the front, c is dominated by a
    assert set(result.plane.front) == {"a", "b"}


# -- rankings and agreement -------------------------------------------------------------------------
def test_kendall_tau_reversed_and_identical_orders():
    psnr = pd.Series({"a": 32.0, "b": 31.0, "c": 30.0})
    lpips_reversed = pd.Series({"a": 0.3, "b": 0.2, "c": 0.1})
    lpips_same = pd.Series({"a": 0.1, "b": 0.2, "c": 0.3})
    base, other = Orientation.of("psnr"), Orientation.of("lpips")
    assert kendall_agreement(psnr, base, lpips_reversed, other).tau == pytest.approx(-1.0)
    assert kendall_agreement(psnr, base, lpips_same, other).tau == pytest.approx(1.0)
    assert np.isnan(kendall_agreement(psnr[:1], base, lpips_same[:1], other).tau)
    # PSNR ranks a, b, c, d; LPIPS (lower is better) a, c, b, d: 1 of the 6 pairs discordant, τ = (5 − 1) / 6
    four = pd.Series({"a": 33.0, "b": 32.0, "c": 31.0, "d": 30.0})
    swapped = pd.Series({"a": 0.1, "b": 0.3, "c": 0.2, "d": 0.4})
    assert kendall_agreement(four, base, swapped, other).tau == pytest.approx(4 / 6)


def test_ties_share_the_better_rank():
    ranking = rank_configs(pd.Series({"a": 30.0, "b": 31.0, "c": 31.0}), Orientation.of("psnr"))
    assert [(e.config, e.rank) for e in ranking] == [("b", 1), ("c", 1), ("a", 3)]


def test_means_the_tables_print_alike_share_a_rank_as_they_share_the_best_mark():
    means = pd.Series({"a": 30.4177, "b": 30.4238, "c": 30.4149})  # 30.42, 30.42, 30.41 as printed
    ranking = rank_configs(means, Orientation.of("psnr"))
    assert [(e.config, e.rank) for e in ranking] == [("b", 1), ("a", 1), ("c", 3)]  # still ordered by the means
    summary = pd.DataFrame({"config": list(means.index), "psnr_mean": list(means.values)})
    assert tables.best_rows(summary, "psnr") == {0, 1}


# -- per-sample pairing -----------------------------------------------------------------------------
def paired_example(seeds: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    level = rng.uniform(20, 40, size=20)  # samples differ hugely in difficulty...
    gain = 0.1 + 0.01 * rng.random(20)  # ...but A beats B on every one by about 0.1 dB
    lp = rng.uniform(0.05, 0.5, size=20)
    return table({"A": {"psnr": list(level + gain), "lpips": list(lp + 0.01)},
                  "B": {"psnr": list(level), "lpips": list(lp)}}, seeds=seeds, jitter=0.05)


def test_paired_test_pairs_samples_across_configs_and_averages_seeds():
    data = paired_example()
    (pair,) = compare_pairs(data, Orientation.of("psnr"), [Orientation.of("lpips")])
    assert (pair.a, pair.b) == ("A", "B")
    # the seed jitter (±0.05) cancels in the seed average: the difference is exactly the gain
    assert pair.base.n == 20
    assert pair.base.difference == pytest.approx(float(np.mean(data[data.config == "A"].psnr.to_numpy()[:20]
                                                               - data[data.config == "B"].psnr.to_numpy()[:20])))
    # seeds are averaged per sample before pairing: A gaining 0.4 dB more under seed 1 adds 0.2 dB
    # (a per-sample maximum over seeds would add 0.3, the first seed alone nothing)
    uneven = data.copy()
    uneven.loc[(uneven.config == "A") & (uneven.seed == 1), "psnr"] += 0.4
    (shifted,) = compare_pairs(uneven, Orientation.of("psnr"), [Orientation.of("lpips")])
    assert shifted.base.difference == pytest.approx(pair.base.difference + 0.2, abs=1e-12)
    # a consistent 0.1 dB gain over 20 samples is significant when paired by sample ...
    assert pair.base.p_value < 0.001
    # ... although the samples' spread (20–40 dB) would hide it from an unpaired comparison
    from scipy import stats

    unpaired = stats.mannwhitneyu(data[data.config == "A"].psnr, data[data.config == "B"].psnr).pvalue
    assert unpaired > 0.5
    # LPIPS is worse for A on every sample: discordant, and the disagreement rate is 100%
    (lpips_test,) = pair.others
    assert pair.discordant and lpips_test.favours == "B" and lpips_test.disagreement_rate == pytest.approx(1.0)


def test_pairing_uses_sample_ids_not_row_order():
    data = paired_example()
    shuffled = data.sample(frac=1.0, random_state=3).reset_index(drop=True)
    first = compare_pairs(data, Orientation.of("psnr"), [Orientation.of("lpips")])
    second = compare_pairs(shuffled, Orientation.of("psnr"), [Orientation.of("lpips")])
    # field by field, NaN equal to NaN (a base test's disagreement rate is NaN; Python 3.13's dataclass
    # equality compares fields with ==, where 3.12's compared tuples and took an identical NaN as equal)
    np.testing.assert_equal([dataclasses.asdict(pair) for pair in first], [dataclasses.asdict(pair) for pair in second])
    assert len(first) == 1 and np.isnan(first[0].base.disagreement_rate)
    pivot = sample_table(shuffled, "psnr")
    assert list(pivot.index) == list(range(20)) and set(pivot.columns) == {"A", "B"}


def test_samples_missing_in_one_config_are_left_out_of_the_pairing():
    data = paired_example(seeds=1)
    data = data[~((data.config == "B") & (data["sample"] < 5))]
    (pair,) = compare_pairs(data, Orientation.of("psnr"), [Orientation.of("lpips")])
    assert pair.base.n == 15
    result = analyse(data, ["psnr", "lpips"])  # the run has 20 samples; the words say this pair saw fewer
    assert result.samples == 20 and result.paired_samples == "up to 20"
    assert "tests over up to 20 paired test samples" in result.verdict, result.verdict
    assert analyse(paired_example(seeds=1), ["psnr", "lpips"]).paired_samples == "20"


def test_a_non_finite_score_is_left_out_of_the_pairing_like_a_missing_one():
    data = paired_example(seeds=1)
    data.loc[(data.config == "B") & (data["sample"] == 0), "psnr"] = np.inf
    (pair,) = compare_pairs(data, Orientation.of("psnr"), [Orientation.of("lpips")])
    assert pair.base.n == 19 and np.isfinite(pair.base.difference)


def test_disagreement_rate_counts_samples_where_metrics_prefer_different_members():
    # A wins PSNR on all 4 samples; LPIPS prefers B on samples 0 and 1 only
    data = table({"A": {"psnr": [30, 30, 30, 30], "lpips": [0.3, 0.3, 0.1, 0.1]},
                  "B": {"psnr": [29, 29, 29, 29], "lpips": [0.2, 0.2, 0.2, 0.2]}})
    (pair,) = compare_pairs(data, Orientation.of("psnr"), [Orientation.of("lpips")])
    assert pair.others[0].disagreement_rate == pytest.approx(0.5)


def test_wilcoxon_and_holm_known_answers():
    assert wilcoxon_p(np.zeros(5)) == 1.0
    assert np.isnan(wilcoxon_p(np.array([])))
    assert holm([0.01, 0.04, 0.03, float("nan")])[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(holm([0.01, float("nan")])[1])


def test_pareto_front_keeps_non_dominated_points():
    points = {"a": (1.0, 3.0), "b": (2.0, 2.0), "c": (1.5, 1.5), "d": (3.0, 1.0)}
    assert pareto_front(points) == ["a", "b", "d"]


def test_pareto_front_keeps_every_one_of_identical_points():
    points = {"a": (2.0, 1.0), "b": (2.0, 1.0), "c": (1.0, 0.5)}
    assert pareto_front(points) == ["a", "b"]


def test_pareto_front_leaves_out_a_point_with_a_missing_mean():
    points = {"a": (1.0, 2.0), "missing": (float("nan"), 5.0), "b": (2.0, 1.0)}
    assert pareto_front(points) == ["a", "b"]


# -- the whole analysis -----------------------------------------------------------------------------
def reference_run() -> pd.DataFrame:
    """blend wins PSNR, nearest wins LPIPS on every sample; two trained configs split the same way."""
    n = 12
    ramp = np.linspace(0, 1, n)
    return table({
        "l1": {"psnr": list(31 + ramp), "lpips": list(0.20 + 0.01 * ramp)},
        "l1+perc": {"psnr": list(30.5 + ramp), "lpips": list(0.12 + 0.01 * ramp)},
        "blend": {"psnr": list(30 + ramp), "lpips": list(0.25 + 0.01 * ramp)},
        "nearest": {"psnr": list(25 + ramp), "lpips": list(0.10 + 0.01 * ramp)},
    }, seeds=2, kinds={"blend": "reference", "nearest": "reference"})


def test_verdict_names_the_winners_and_the_textbook_reference_disagreement():
    result = analyse(reference_run(), ["psnr", "lpips"], order=["l1", "l1+perc", "diverged_one", "blend", "nearest"],
                     status={"diverged_one": "diverged"}, unavailable={"dists": "no vgg16"})
    assert result.verdict.startswith("PSNR prefers l1 over l1+perc")
    assert "LPIPS prefers l1+perc" in result.verdict
    assert "PSNR prefers blend over nearest (5.00 dB, p = 0.005) and LPIPS prefers nearest" in result.verdict
    assert "the textbook disagreement" in result.verdict
    assert "'diverged_one' has no results (diverged)" in result.verdict
    # the references take part in rankings and pairs
    assert [e.config for e in result.rankings["psnr"]] == ["l1", "l1+perc", "blend", "nearest"]
    assert any({p.a, p.b} == {"blend", "nearest"} and p.discordant for p in result.pairs)
    assert result.missing_configs == {"diverged_one": "diverged"}
    record = result.to_dict()
    assert ["l1", "l1+perc"] in record["discordant_pairs"]


def test_unavailable_metrics_are_reported_not_silently_dropped():
    data = reference_run().assign(dists=np.nan)
    result = analyse(data, ["psnr", "lpips", "dists"], unavailable={"dists": "pretrained vgg16 weights not available"})
    assert "dists" not in result.metrics and "dists" in result.unavailable_metrics
    assert "DISTS is unavailable in this run" in result.verdict


def test_summary_std_is_over_seeds_and_interval_is_deterministic():
    data = reference_run()
    data.loc[data.seed == 1, "psnr"] += 1.0
    summary = summarise(data, ["psnr"], {"l1": "trained", "blend": "reference"})
    assert summary.loc[0, "psnr_std"] == pytest.approx(np.std([31.5, 32.5], ddof=1))
    assert summary.equals(summarise(data, ["psnr"], {"l1": "trained", "blend": "reference"}))
    assert config_means(data, "psnr")["l1"] == pytest.approx(32.0)


def test_seeds_with_equal_means_have_a_spread_of_exactly_zero():
    """A deterministic row (a reference, a configuration every seed trains alike) has one value per seed;
    their spread is 0, not the float residue of a mean of equal values (0.1 three times gives 1.7e-17),
    which the tables would print as ``± 0.00000000000000002``."""
    data = table({"nearest": {"psnr": [30.1, 30.1], "lpips": [0.1, 0.1]},
                  "l1": {"psnr": [30.0, 30.0], "lpips": [0.2, 0.2]}}, seeds=3)
    summary = summarise(data, ["lpips"], {"nearest": "reference", "l1": "trained"}).set_index("config")
    assert summary.loc["nearest", "lpips_std"] == 0.0
    assert tables.format_std(summary.loc["nearest", "lpips_std"], "lpips", 0.1) is None
    (pair,) = analyse(data, ["psnr", "lpips"]).pairs
    assert pair.base.seed_spread == 0.0 and pair.others[0].seed_spread == 0.0


def test_bootstrap_interval_has_the_width_of_the_mean_s_sampling_spread():
    """For many samples the percentile bootstrap of a mean tends to mean ± z·σ/√n (σ with ddof = 0):
    within the Monte Carlo noise of 2,000 resamples, a few per cent of the width."""
    from scipy import stats

    from vfibench.results.summary import bootstrap_interval

    values = np.random.default_rng(3).normal(30.0, 2.0, size=400)
    spread = values.std() / np.sqrt(values.size)
    for level in (0.95, 0.5):
        low, high = bootstrap_interval(values, level=level)
        half = stats.norm.ppf(0.5 + level / 2) * spread
        assert low < values.mean() < high
        assert (high - low) / 2 == pytest.approx(half, rel=0.08), level
        assert (low + high) / 2 == pytest.approx(values.mean(), abs=0.1 * half), level
    with_gaps = np.concatenate([values, [np.nan, np.inf]])  # non-finite values are left out, not propagated
    assert bootstrap_interval(with_gaps) == bootstrap_interval(values)
    assert all(np.isnan(bootstrap_interval(np.array([np.nan]))))


def test_summary_interval_is_the_bootstrap_of_the_seed_averaged_per_sample_values():
    from vfibench.results.summary import bootstrap_interval

    data = reference_run()
    data.loc[data.seed == 1, "psnr"] += 1.0
    summary = summarise(data, ["psnr"], {"l1": "trained", "blend": "reference"})
    seed_averaged = data[data.config == "l1"].groupby("sample")["psnr"].mean().to_numpy()
    assert (summary.loc[0, "psnr_ci_low"], summary.loc[0, "psnr_ci_high"]) == bootstrap_interval(seed_averaged)
    assert summary.loc[0, "psnr_ci_low"] < summary.loc[0, "psnr_mean"] < summary.loc[0, "psnr_ci_high"]


@pytest.mark.parametrize("n", [6, 13, 20])
def test_wilcoxon_with_ties_equals_scipy(n):
    import warnings

    # scipy's default became an exact permutation p for tied differences in 1.15; before, it gave
    # another p (0.542 against the exact 0.508 at n = 13)
    pytest.importorskip("scipy", minversion="1.15")
    from scipy import stats

    d = np.random.default_rng(n).integers(1, 5, size=n) * np.where(np.arange(n) % 3 == 0, -1.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = stats.wilcoxon(d, zero_method="wilcox").pvalue
    assert wilcoxon_p(d) == pytest.approx(float(expected), abs=1e-12)


# -- families and seeds -----------------------------------------------------------------------------
def test_reference_pairs_do_not_dilute_the_tests_of_trained_pairs():
    """8 samples, a trained pair that splits PSNR and LPIPS on every sample: with references in the
    family its Holm p would be 30 × 2/256 = 0.23; in the family of trained pairs it is 2 × 2/256."""
    n = 8
    ramp = np.linspace(0, 1, n)
    data = table({
        "l1": {"psnr": list(31 + ramp), "lpips": list(0.20 + 0.01 * ramp)},
        "l1+perc": {"psnr": list(30.5 + ramp), "lpips": list(0.12 + 0.01 * ramp)},
        "l2": {"psnr": list(31.2 + ramp), "lpips": list(0.21 + 0.01 * ramp)},
        "blend": {"psnr": list(30 + ramp), "lpips": list(0.25 + 0.01 * ramp)},
        "nearest": {"psnr": list(25 + ramp), "lpips": list(0.10 + 0.01 * ramp)},
    }, kinds={"blend": "reference", "nearest": "reference"})
    result = analyse(data, ["psnr", "lpips"])
    pair = next(p for p in result.pairs if {p.a, p.b} == {"l1", "l1+perc"})
    assert pair.base.p_value == pytest.approx(2 / 2**8)
    assert pair.base.p_holm == pytest.approx(min(1.0, 6 * 2 / 2**8))  # 3 trained pairs × 2 metrics
    assert result.tests == 6 and result.reference_tests == 14
    assert "significantly" in result.verdict and "adjusted separately" in result.verdict


def test_models_named_like_the_references_are_not_taken_for_them():
    ramp = np.linspace(0, 1, 8)
    values = {"blend": {"psnr": list(30 + ramp), "lpips": list(0.25 + 0.01 * ramp)},
              "nearest": {"psnr": list(25 + ramp), "lpips": list(0.10 + 0.01 * ramp)},
              "mine": {"psnr": list(29 + ramp), "lpips": list(0.20 + 0.01 * ramp)}}
    as_references = analyse(table(values, kinds={"blend": "reference", "nearest": "reference"}), ["psnr", "lpips"])
    assert "blend reference" in as_references.verdict and "textbook disagreement" in as_references.verdict
    evaluated = analyse(table(values, kinds=dict.fromkeys(values, "evaluated")), ["psnr", "lpips"])
    assert "reference" not in evaluated.verdict and "textbook" not in evaluated.verdict, evaluated.verdict


def test_models_that_agree_are_called_models_and_every_metric_is_listed_once():
    ramp = np.linspace(0, 1, 8)
    values = {"good": {"psnr": list(30 + ramp), "lpips": list(0.1 + 0.01 * ramp), "dists": list(0.1 + 0.01 * ramp)},
              "bad": {"psnr": list(28 + ramp), "lpips": list(0.2 + 0.01 * ramp), "dists": list(0.2 + 0.01 * ramp)}}
    evaluated = analyse(table(values, kinds=dict.fromkeys(values, "evaluated")), ["psnr", "lpips", "dists"])
    assert evaluated.verdict.startswith("PSNR, LPIPS and DISTS agree on the one pair of models: no "
                                        "model wins on PSNR"), evaluated.verdict


def test_too_few_samples_for_any_significance_is_said():
    data = table({"a": {"psnr": [30, 31, 32], "lpips": [0.2, 0.2, 0.2]},
                  "b": {"psnr": [29, 30, 31], "lpips": [0.1, 0.1, 0.1]}})
    assert smallest_holm_p(3, 2) == pytest.approx(0.5)
    assert smallest_holm_p(12, 2) < 0.05
    result = analyse(data, ["psnr", "lpips"])
    assert "no test can reach significance" in result.verdict


def seeded(per_seed_gain: list[float], n: int = 16) -> pd.DataFrame:
    """Two configs; seed k: A ahead on PSNR by per_seed_gain[k] on every sample, and behind on LPIPS."""
    rows = []
    for seed, gain in enumerate(per_seed_gain):
        for sample in range(n):
            rows.append({"config": "A", "kind": "trained", "seed": seed, "sample": sample,
                         "psnr": 30 + sample * 0.1 + gain, "lpips": 0.2})
            rows.append({"config": "B", "kind": "trained", "seed": seed, "sample": sample,
                         "psnr": 30 + sample * 0.1, "lpips": 0.1})
    return pd.DataFrame(rows)


def test_a_disagreement_that_holds_in_every_seed_on_one_metric_only_says_so():
    """PSNR favours A in every seed, DISTS favours B in every seed, LPIPS only in two of three: the verdict
    must not say the whole disagreement holds in all seeds."""
    rows = []
    for seed, lpips_gain in enumerate([0.1, 0.1, -0.05]):
        for sample in range(16):
            rows.append({"config": "A", "kind": "trained", "seed": seed, "sample": sample,
                         "psnr": 31 + sample * 0.1, "lpips": 0.2, "dists": 0.2})
            rows.append({"config": "B", "kind": "trained", "seed": seed, "sample": sample,
                         "psnr": 30 + sample * 0.1, "lpips": 0.2 - lpips_gain, "dists": 0.1})
    result = analyse(pd.DataFrame(rows), ["psnr", "lpips", "dists"])
    (pair,) = result.pairs
    assert pair.robust_to_seeds
    assert "holds in all 3 seeds on DISTS; on LPIPS in 2 of 3." in result.verdict, result.verdict


def test_the_count_of_discordant_pairs_says_how_many_are_significant():
    """A vs B and C vs B disagree significantly; A vs C only in direction (C's PSNR and LPIPS scatter
    around A's): the count must not present all three as disagreeing significantly."""
    rows = []
    for sample in range(16):
        sign = 1 if sample % 2 else -1
        common = {"kind": "trained", "seed": 0, "sample": sample}
        rows += [{"config": "A", **common, "psnr": 31 + sample * 0.1, "lpips": 0.2},
                 {"config": "B", **common, "psnr": 30 + sample * 0.1, "lpips": 0.1},
                 {"config": "C", **common, "psnr": 31 + sample * 0.1 + sign * 0.5 - 0.05,
                  "lpips": 0.2 + sign * 0.01 - 0.001}]
    result = analyse(pd.DataFrame(rows), ["psnr", "lpips"])
    weak = next(p for p in result.pairs if {p.a, p.b} == {"A", "C"})
    assert weak.discordant and weak.base.p_holm > 0.05
    assert "3 of 3 pairs of trained configurations are discordant in direction, 2 of them significantly" \
        in result.verdict, result.verdict
    assert "over all 3 rows" in result.verdict
    two = analyse(pd.DataFrame([r for r in rows if r["config"] != "C"]), ["psnr", "lpips"])
    assert "The one pair of trained configurations is discordant in this way" in two.verdict
    assert "over both rows" in two.verdict, two.verdict


def test_rows_over_fewer_seeds_are_named_beside_the_rankings():
    data = seeded([0.5, 0.4, 0.6])
    data = data[(data.config == "A") | (data.seed == 0)]
    result = analyse(data, ["psnr", "lpips"])
    assert any("compare means over different numbers of seeds ('B' over 1 of 3)" in n for n in result.notes), \
        result.notes
    assert not any("different numbers of seeds" in n for n in analyse(seeded([0.5, 0.4]), ["psnr", "lpips"]).notes)


def test_the_pairs_caption_speaks_of_seeds_only_when_the_run_has_several():
    one = tables_module.pairs_table(analyse(seeded([0.5]), ["psnr", "lpips"])).caption
    three = tables_module.pairs_table(analyse(seeded([0.5, 0.4, 0.6]), ["psnr", "lpips"])).caption
    assert "seed" not in one, one
    assert "(averaged over the seeds both members have)" in three and "'Seeds agreeing'" in three


def test_each_seed_direction_is_recorded_and_a_flip_is_reported():
    steady = analyse(seeded([0.5, 0.4, 0.6]), ["psnr", "lpips"])
    (pair,) = steady.pairs
    assert pair.base.seeds == ("A", "A", "A") and pair.robust_to_seeds
    assert pair.base.seed_spread == pytest.approx(0.1)
    assert "holds in all 3 seeds" in steady.verdict
    flipped = analyse(seeded([0.5, -0.2, 0.6]), ["psnr", "lpips"])
    (pair,) = flipped.pairs
    assert pair.base.seeds == ("A", "B", "A") and not pair.robust_to_seeds
    assert "does not hold in every one of the 3 seeds" in flipped.verdict
    assert "smaller than its standard deviation over seeds" in flipped.verdict  # 0.3 dB vs 0.44 spread
    single = analyse(seeded([0.5]), ["psnr", "lpips"])
    assert single.pairs[0].base.seeds == () and "--seeds 0,1,2" in single.verdict
    # an evaluation scores given predictions: it has no training seeds to add
    evaluated = analyse(seeded([0.5]).assign(kind="evaluated"), ["psnr", "lpips"])
    assert "discordant" in evaluated.verdict and "seed" not in evaluated.verdict


def test_a_configuration_with_some_seeds_missing_says_how_many_seeds_the_pair_has():
    """l1 finished seed 0 of three: its pair is not "robust to seeds" and not a one-seed run."""
    data = seeded([0.5, 0.4, 0.6])
    data = data[~((data.config == "A") & (data.seed > 0))]
    result = analyse(data, ["psnr", "lpips"])
    (pair,) = result.pairs
    assert pair.base.seeds == ("A",) and not pair.robust_to_seeds
    assert "Only 1 of the 3 seeds has results for both A and B" in result.verdict, result.verdict
    assert "With one training seed" not in result.verdict and "holds in all" not in result.verdict


def test_a_row_over_fewer_seeds_is_compared_on_the_seeds_both_members_have():
    """A diverged on seed 1: the pair's difference is seed 0's, not A's seed 0 against B's two-seed mean,
    whose seed-to-seed noise would count as a difference between the losses."""
    rng = np.random.default_rng(3)
    base = rng.uniform(25, 35, size=12)
    rows = []
    for seed, (a_gain, b_gain) in enumerate([(0.5, 0.0), (None, 2.0)]):  # B's seed 1 is 2 dB better
        for sample in range(12):
            for config, gain in (("A", a_gain), ("B", b_gain)):
                if gain is not None:
                    rows.append({"config": config, "kind": "trained", "seed": seed, "sample": sample,
                                 "psnr": base[sample] + gain, "lpips": 0.1})
    result = analyse(pd.DataFrame(rows), ["psnr", "lpips"])
    (pair,) = result.pairs
    assert (pair.a, pair.b) == ("A", "B")  # on seed 0, A is 0.5 dB ahead
    assert pair.base.difference == pytest.approx(0.5)  # seed-averaged over each member's own seeds: -0.5
    assert pair.base.seeds == ("A",)
    from vfibench.analysis.paired import paired_intervals
    low, high = paired_intervals(pd.DataFrame(rows), "psnr", "B")["A"]
    assert low == pytest.approx(0.5) and high == pytest.approx(0.5)
    from vfibench.analysis.breakdown import breakdown, pair_advantage  # the breakdown's pair too
    frame = pd.DataFrame(rows).assign(motion_px=lambda f: f["sample"].astype(float))
    along = breakdown(frame, "motion_px", ["psnr"])
    assert pair_advantage(along, "psnr", Orientation.of("psnr"), "A", "B") == pytest.approx((0.5,) * 4)
    from vfibench.results.report_tables import pairs_table
    assert "whose mean PSNR over the seeds both have is better" in pairs_table(result).caption
    # a configuration on seed 1 only shares no seed with one on seed 0 only: left out, and said
    apart = pd.DataFrame(rows).query("not (config == 'B' and seed == 0)")
    unshared = analyse(apart, ["psnr", "lpips"])
    assert unshared.pairs == () and "for want of a seed with results for both: 'A' and 'B'" in unshared.notes[-1]


def test_two_references_have_no_per_seed_agreement_to_report():
    """Reference frames are the same for every seed: agreement between seeds says nothing."""
    from vfibench.results.report_tables import pairs_table

    references = table({"blend": {"psnr": [30, 31, 32, 33], "lpips": [0.2, 0.21, 0.22, 0.2]},
                        "nearest": {"psnr": [28, 29, 30, 31], "lpips": [0.1, 0.11, 0.1, 0.12]}},
                       seeds=2, kinds={"blend": "reference", "nearest": "reference"})
    trained = table({"A": {"psnr": [29, 30, 31, 32], "lpips": [0.15, 0.16, 0.15, 0.17]}}, seeds=2, jitter=0.01)
    data = pd.concat([trained, references], ignore_index=True)
    result = analyse(data, ["psnr", "lpips"])
    references = next(p for p in result.pairs if {p.a, p.b} == {"blend", "nearest"})
    assert references.discordant and references.base.seeds == () and not references.robust_to_seeds
    assert result.to_dict()["pairs"][result.pairs.index(references)]["robust_to_seeds"] is False
    with_a = next(p for p in result.pairs if "A" in (p.a, p.b) and "blend" in (p.a, p.b))
    assert len(with_a.base.seeds) == 2  # a trained row against a reference still has its seeds
    rendered = pairs_table(result)
    row = next(r for r in rendered.rows if {r[0], r[1]} == {"blend", "nearest"})
    assert row[-1] == "—" and "for two references" in rendered.caption


def test_kendall_tau_in_the_verdict_counts_each_metric_s_rows_and_needs_two_ranked_rows():
    values = {"A": {"psnr": [30.0, 31], "ssim": [0.9, 0.8], "lpips": [0.1, 0.1]},
              "B": {"psnr": [29.0, 30], "ssim": [0.8, 0.7], "lpips": [0.2, 0.2]},
              "C": {"psnr": [28.0, 29], "ssim": [0.7, 0.9], "lpips": [0.3, 0.3]}}
    data = table(values)
    data.loc[data.config == "C", "lpips"] = np.nan
    result = analyse(data, ["psnr", "ssim", "lpips"], compared=["ssim", "lpips"])
    assert "over the rows each metric scores" in result.verdict, result.verdict
    assert "SSIM +0.33 (3 rows), LPIPS +1.00 (2 rows)" in result.verdict
    lpips_only = analyse(data, ["psnr", "ssim", "lpips"], compared=["lpips"])
    assert "over the 2 rows both score (1 = same order, −1 = reversed): LPIPS +1.00" in lpips_only.verdict
    references_only = analyse(table(values, kinds={c: "reference" for c in values}), ["psnr", "lpips"])
    assert not references_only.agreement and "Kendall" not in references_only.verdict
    assert all(t.title != "Rank agreement with PSNR" for t in tables_module.analysis_tables(references_only))


def test_a_difference_too_small_for_four_decimals_is_printed_in_two_significant_digits():
    from vfibench.results.numbers import format_change

    assert format_change(2.6e-5, "lpips") == "+0.000026" and format_change(-4.5e-5, "dists") == "-0.000045"
    assert format_change(0.004, "psnr") == "+0.0040 dB" and format_change(0.41, "psnr") == "+0.41 dB"
    assert format_change(0.0, "lpips") == "+0.0000" and format_change(0.01234, "lpips") == "+0.0123"
    assert format_change(1e-9, "lpips") == "+1.0e-09" and format_change(float("nan"), "psnr") == "—"


def test_a_positive_score_too_small_for_its_places_never_reads_as_zero():
    from vfibench.results.numbers import format_signed

    assert format_signed(0.06, 2) == "+0.06" and format_signed(0.0031, 2) == "+0.0031"
    assert format_signed(-0.004, 2) == "-0.0040" and format_signed(0.0, 2) == "+0.00"
    # the boundary: what rounds to a non-zero value at two places keeps them; below it, two significant digits
    assert format_signed(0.007, 2) == "+0.01" and format_signed(0.005, 2) == "+0.01"
    assert format_signed(0.0049, 2) == "+0.0049" and format_signed(1e-9, 2) == "+1.0e-09"


def test_no_discordant_pair_says_no_row_loses_on_any_compared_metric():
    values = {"A": {"psnr": [30.0, 31, 32], "lpips": [0.1, 0.1, 0.1], "dists": [0.1, 0.1, 0.1]},
              "B": {"psnr": [29.0, 30, 31], "lpips": [0.2, 0.2, 0.2], "dists": [0.2, 0.2, 0.2]}}
    result = analyse(table(values), ["psnr", "lpips", "dists"])
    assert "while losing on LPIPS or DISTS" in result.verdict, result.verdict


# -- Hodges–Lehmann directions ----------------------------------------------------------------------
def walsh_median(d: list[float]) -> float:
    """The median of (d_i + d_j)/2 over i <= j, by listing them all."""
    import itertools

    return float(np.median([(x + y) / 2 for x, y in itertools.combinations_with_replacement(d, 2)]))


@pytest.mark.parametrize("direct", [significance.WALSH_DIRECT_MAX, 7])  # 7: the selection passes run too
def test_hodges_lehmann_is_the_median_of_the_walsh_averages(monkeypatch, direct):
    monkeypatch.setattr(significance, "WALSH_DIRECT_MAX", direct)
    rng = np.random.default_rng(1)
    cases = [[1.0], [1.0, -3.0], [-0.1] * 19 + [5.0], [0.0, 0.0, 1.0, 2.0, -3.0],
             list(rng.integers(-3, 4, size=30).astype(float))]  # ties everywhere
    cases += [list(rng.normal(0.2, 1.0, size=n)) for n in (2, 5, 40, 81)]
    for d in cases:
        assert hodges_lehmann(np.array(d)) == pytest.approx(walsh_median(d), abs=1e-12), d
    assert hodges_lehmann(np.array([np.nan, 2.0, 4.0])) == pytest.approx(3.0)
    assert np.isnan(hodges_lehmann(np.array([])))


@pytest.mark.parametrize("kind", ["normal", "ties", "two values", "one value", "magnitudes"])
def test_hodges_lehmann_on_a_full_test_set_equals_the_median_of_all_walsh_sums(kind):
    """n = 2,000 samples (2 million Walsh sums): the narrowing passes run at their default sizes and
    still land exactly on the median that listing every sum gives."""
    rng = np.random.default_rng(7)
    d = {"normal": rng.normal(0.03, 0.5, 2000), "ties": rng.integers(-3, 4, 2000) / 10.0,
         "two values": np.r_[np.full(1200, 0.1), np.full(800, -0.2)], "one value": np.full(2000, 0.7),
         # sums that round to the larger term: d_i + d_j == d_i for a thousand distinct d_j
         "magnitudes": np.r_[-(1 + np.arange(1000) * 2.0 ** -52), rng.uniform(1e-30, 1e-20, 1000)]}[kind]
    s = np.sort(d)
    i, j = np.triu_indices(s.size)
    assert s.size * (s.size + 1) // 2 > significance.WALSH_DIRECT_MAX
    assert hodges_lehmann(d) == float(np.median(s[i] + s[j])) / 2


def test_walsh_sum_counts_are_exact_where_subtraction_rounds():
    """Counting the sums below a pivot compares d_i + d_j with it, not d_j with pivot − d_i: on
    decimal fractions the two differ (0.1 + 0.2 > 0.3, while 0.3 − 0.1 < 0.2) and only the first
    gives the rank the selection relies on."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        d = np.sort(rng.integers(-30, 30, 40) / 10.0)
        lo, hi = np.arange(d.size), np.full(d.size, d.size)
        i, j = np.triu_indices(d.size)
        sums = d[i] + d[j]
        for pivot in rng.choice(sums, 10):
            below = significance._first_column(d, pivot, lo, hi, above=False)
            through = significance._first_column(d, pivot, lo, hi, above=True)
            assert (below - lo).sum() == (sums < pivot).sum()
            assert (through - lo).sum() == (sums <= pivot).sum()


def outlier_pair(seeds: int = 1) -> pd.DataFrame:
    """A worse than B by 0.1 dB on 19 of 20 samples and better by 5 dB on one; worse on LPIPS on all."""
    rng = np.random.default_rng(0)
    level, lp = rng.uniform(20, 40, size=20), rng.uniform(0.05, 0.5, size=20)
    gain = np.full(20, -0.1)
    gain[0] = 5.0
    return table({"A": {"psnr": list(level + gain), "lpips": list(lp + 0.01)},
                  "B": {"psnr": list(level), "lpips": list(lp)}}, seeds=seeds, jitter=0.01)


def test_a_mean_carried_by_one_sample_is_no_preference_and_no_disagreement():
    result = analyse(outlier_pair(seeds=2), ["psnr", "lpips"])
    (pair,) = result.pairs
    psnr = pair.base
    assert psnr.difference == pytest.approx(0.155) and psnr.mean_favours == "A"  # the amount shown is the mean
    assert psnr.hodges_lehmann == pytest.approx(-0.1) and psnr.favours == "" and psnr.inconsistent
    assert psnr.p_value < 0.001  # the signed-rank test sees the 19 samples that favour B
    assert psnr.seeds == ("", "")  # each seed on its own: the same rule
    assert pair.others[0].favours == "B" and not pair.discordant and result.discordant == []
    assert ("PSNR on A vs B: no consistent preference — the mean favours A by 0.15 dB but the typical "
            "per-sample difference (Hodges–Lehmann estimate) favours B") in result.verdict, result.verdict
    assert "disagree" not in result.verdict.replace("nor as disagreeing", "")
    assert "prefers A" not in result.verdict


def test_a_target_metric_never_contradicts_its_own_ranking():
    """Sharpness best at 1: 'a' alternates 0.5/1.5 (mean 1.0, no sample near 1), 'b' is 0.9 everywhere.
    The ranking puts 'a' first (its mean is closest to 1); the test sees 'b' closer sample by sample.
    The metric then has no consistent preference, not a significant one for 'b' beside a ranking for 'a'."""
    result = analyse(table({"a": {"psnr": [30 + s / 10 for s in range(8)], "sharpness": [0.5, 1.5] * 4},
                            "b": {"psnr": [29 + s / 10 for s in range(8)], "sharpness": [0.9] * 8}}),
                     ["psnr", "sharpness"], compared=["sharpness"])
    assert [e.config for e in result.rankings["sharpness"]] == ["a", "b"]
    (pair,) = result.pairs
    sharpness = pair.others[0]
    assert sharpness.mean_favours == "A" and sharpness.hodges_lehmann < 0 and sharpness.inconsistent
    assert sharpness.favours == "" and not pair.discordant
    assert "Sharpness prefers b" not in result.verdict and "no consistent preference" in result.verdict


# -- significance of what the verdict states -------------------------------------------------------
@pytest.mark.parametrize("p, shown", [(0.0496, "p = 0.0496"), (0.0504, "p = 0.0504"), (0.04996, "p = 0.04996"),
                                      (0.05, "p = 0.0500"), (0.27, "p = 0.27"), (0.003, "p = 0.003"),
                                      (0.0004, "p < 0.001"), (float("nan"), "p = n/a")])
def test_printed_p_values_lie_on_the_same_side_of_alpha_as_the_p_value(p, shown):
    assert format_p(p) == shown


def test_the_holm_family_size_counts_only_tests_with_a_p_value():
    """LPIPS is missing for b: its two pairs have no LPIPS test, and Holm adjusts the other 4."""
    ramp = np.linspace(0, 1, 10)
    data = table({"a": {"psnr": list(31 + ramp), "lpips": list(0.2 + 0.01 * ramp)},
                  "b": {"psnr": list(30 + ramp), "lpips": [np.nan] * 10},
                  "c": {"psnr": list(29 + ramp), "lpips": list(0.1 + 0.01 * ramp)}})
    result = analyse(data, ["psnr", "lpips"])
    assert result.tests == 4
    pair = next(p for p in result.pairs if {p.a, p.b} == {"a", "c"})
    assert pair.base.p_holm == pytest.approx(4 * 2 / 2**10)
    assert "Holm-adjusted over the 4 tests" in result.verdict, result.verdict


def few_sample_references(n: int, blend_psnr: float) -> pd.DataFrame:
    ramp = np.linspace(0, 1, n)
    return table({"l1": {"psnr": list(31 + ramp), "lpips": list(0.20 + 0.01 * ramp)},
                  "l2": {"psnr": list(30.5 + ramp), "lpips": list(0.21 + 0.01 * ramp)},
                  "blend": {"psnr": list(blend_psnr + ramp), "lpips": list(0.25 + 0.01 * ramp)},
                  "nearest": {"psnr": list(25 + ramp), "lpips": list(0.10 + 0.01 * ramp)}},
                 kinds={"blend": "reference", "nearest": "reference"})


def test_reference_statements_say_when_the_tests_do_not_support_them():
    """4 samples: no test can be significant, so neither the references' disagreement nor blend's lead
    over every trained row is stated as a fact."""
    result = analyse(few_sample_references(4, blend_psnr=32), ["psnr", "lpips"])
    assert ("LPIPS prefers nearest (0.15, p = 1.00), the textbook disagreement (averaging blurs, copying is sharp but "
            "misplaced): the metrics disagree, but with 4 samples the difference is not significant on PSNR and "
            "LPIPS.") in result.verdict, result.verdict
    assert "No trained configuration beats the blend reference on mean PSNR (l1 31.50 and l2 31.00 vs 32.50 dB)" \
        in result.verdict
    assert "blend's lead over l1 (p = 1.00) and l2 (p = 1.00) is not significant with 4 samples" in result.verdict
    assert "not learned" not in result.verdict and "none has learned" not in result.verdict


def test_blend_significantly_ahead_of_every_trained_row_is_said_with_its_tests():
    result = analyse(few_sample_references(12, blend_psnr=32), ["psnr", "lpips"])
    assert ("blend is significantly ahead of l1 (p = 0.005) and l2 (p = 0.005), so they have not learned to "
            "interpolate motion beyond averaging the inputs.") in result.verdict, result.verdict
    behind = analyse(few_sample_references(12, blend_psnr=30), ["psnr", "lpips"])
    assert "Every trained configuration beats the blend reference on mean PSNR; the lead is significant for " \
           "l1 (p = 0.005) and l2 (p = 0.005)." in behind.verdict, behind.verdict


def test_a_configuration_level_with_blend_as_printed_is_neither_behind_nor_ahead_of_it():
    """x leads blend by 0.004 dB on every sample: the tables print both means alike, so x does not beat
    blend; but blend has no lead over x either, and the paired test favours x."""
    ramp = list(np.linspace(0, 2.7, 10))
    data = table({"blend": {"psnr": [30 + r for r in ramp], "lpips": [0.3] * 10},
                  "nearest": {"psnr": [28 + r for r in ramp], "lpips": [0.2] * 10},
                  "x": {"psnr": [30.004 + r for r in ramp], "lpips": [0.25] * 10},
                  "y": {"psnr": [31 + r for r in ramp], "lpips": [0.25 + 0.001 * s for s in range(10)]}},
                 kinds={"blend": "reference", "nearest": "reference"})
    result = analyse(data, ["psnr", "lpips"])
    assert "x does not beat the blend reference on mean PSNR (x 31.35 vs 31.35 dB)" in result.verdict, result.verdict
    assert ("x is level with blend at the precision shown, but the paired test favours x over blend (p = 0.0195)"
            in result.verdict), result.verdict
    assert "blend's lead" not in result.verdict


def test_rank_agreement_sees_the_ties_the_rankings_show_and_says_what_its_p_is():
    psnr = {"a": 30.001, "b": 30.002, "c": 30.003}  # all print as 30.00: one shared rank
    data = table({c: {"psnr": [v + (0.5 if s % 2 else -0.5) for s in range(8)], "lpips": [0.1 * (i + 1)] * 8}
                  for i, (c, v) in enumerate(psnr.items())})
    result = analyse(data, ["psnr", "lpips"])
    assert {e.rank for e in result.rankings["psnr"]} == {1}
    (lpips,) = result.agreement
    assert np.isnan(lpips.tau)  # no order to agree with, not tau = −1
    caption = tables_module.agreement_table(result).caption
    assert "not adjusted across metrics" in caption and "with fewer than 5 configurations even a perfect" in caption
    assert "PSNR prefers c over a by 0.002 dB" in result.verdict, result.verdict  # not "by 0.00 dB"
    assert ("The difference on PSNR (0.002 dB, tolerance 0.05 dB) is within the metric's comparison tolerance, "
            "below a change anyone would act on.") in result.verdict, result.verdict
    # LPIPS's 0.2 is beyond its tolerance, but a lead of 0.002 dB is a tie in practice: no real disagreement
    assert result.verdict.startswith("No two trained configurations disagree by more than"), result.verdict


def test_a_verdict_whose_every_disagreement_is_within_the_tolerances_leads_with_that():
    n = 12
    data = table({"a": {"psnr": [30 + 0.1 * s for s in range(n)], "lpips": [0.3 + 1e-4 * s for s in range(n)]},
                  "b": {"psnr": [30 + 0.1 * s - 0.01 for s in range(n)], "lpips": [0.2999 + 1e-4 * s for s in range(n)]}})
    result = analyse(data, ["psnr", "lpips"])
    assert result.verdict.startswith("No two trained configurations disagree by more than the metrics' comparison "
                                     "tolerances; the clearest disagreement in direction: PSNR prefers a over b by "
                                     "0.01 dB"), result.verdict
    assert "The one pair of trained configurations is discordant" in result.verdict


def test_the_headline_prefers_a_gap_beyond_the_tolerances_to_a_smaller_p_within_them():
    """Every pair is significant; a vs b has the smallest p but differs by 0.01 dB and 0.001 LPIPS (within
    the tolerances: a tie in practice); the headline is a pair whose gap is one anyone would act on."""
    n = 20
    a = [30 + 0.1 * s for s in range(n)]
    data = table({"a": {"psnr": a, "lpips": [0.3] * n},
                  "b": {"psnr": [x - 0.01 - 1e-4 * s for s, x in enumerate(a)],
                        "lpips": [0.299 - 1e-5 * s for s in range(n)]},
                  "c": {"psnr": [x + (0.05 + 0.001 * s if s < 3 else -1 - 0.01 * s) for s, x in enumerate(a)],
                        "lpips": [0.25 - 0.001 * s for s in range(n)]}})
    result = analyse(data, ["psnr", "lpips"])
    tiny = next(p for p in result.pairs if {p.a, p.b} == {"a", "b"})
    headline = headline_pair(result)
    assert all(p.discordant and p.base.p_holm < 0.05 for p in result.pairs)
    assert headline is not None and {headline.a, headline.b} != {"a", "b"}
    assert tiny.base.p_holm < headline.base.p_holm and within_tolerance(tiny) and not within_tolerance(headline)
    assert result.verdict.startswith(f"PSNR prefers {headline.a} over {headline.b}"), result.verdict


# -- the plane's front ------------------------------------------------------------------------------
def test_the_pareto_front_is_of_the_trained_rows_when_a_reference_beats_them_all():
    ramp = np.linspace(0, 1, 6)
    values = {"l1": {"psnr": list(30 + ramp), "lpips": list(0.20 + ramp / 100)},
              "perc": {"psnr": list(29 + ramp), "lpips": list(0.15 + ramp / 100)},
              "bad": {"psnr": list(28 + ramp), "lpips": list(0.25 + ramp / 100)},
              "blend": {"psnr": list(32 + ramp), "lpips": list(0.10 + ramp / 100)}}
    data = table(values, kinds={"blend": "reference"})
    plane = perception_distortion_plane(data, Orientation.of("psnr"), Orientation.of("lpips"))
    assert plane.front == ("perc", "l1") and plane.front_over == "non-reference rows"
    record = analyse(data, ["psnr", "lpips"]).to_dict()  # what analysis.json holds
    assert record["plane"]["front_over"] == "non-reference rows"
    alone = perception_distortion_plane(data[data.config.isin(["l1", "blend"])], Orientation.of("psnr"),
                                        Orientation.of("lpips"))
    assert alone.front == ("blend",) and alone.front_over == "all rows"  # one trained row: the front of all rows


def test_two_trained_rows_are_enough_for_the_front_to_leave_the_references_out():
    ramp = np.linspace(0, 1, 6)
    data = table({"l1": {"psnr": list(30 + ramp), "lpips": list(0.20 + ramp / 100)},
                  "perc": {"psnr": list(29 + ramp), "lpips": list(0.15 + ramp / 100)},
                  "blend": {"psnr": list(32 + ramp), "lpips": list(0.10 + ramp / 100)}},
                 kinds={"blend": "reference"})
    plane = perception_distortion_plane(data, Orientation.of("psnr"), Orientation.of("lpips"))
    assert plane.front == ("perc", "l1") and plane.front_over == "non-reference rows"
    assert {p.config: p.on_front for p in plane.points} == {"l1": True, "perc": True, "blend": False}


def test_the_pairs_table_marks_a_disagreement_in_the_means_only_as_not_significant():
    from vfibench.results.report_tables import pairs_table

    rng = np.random.default_rng(5)
    level, lp = rng.uniform(20, 40, size=20), rng.uniform(0.05, 0.5, size=20)
    # A ahead on PSNR on every sample; on LPIPS B is ahead on every sample (significant) in one case, and
    # in the other only by a hair on the mean, with samples going either way (not significant)
    noise = rng.normal(0, 0.05, size=20)
    for worse, expected, flagged in ((np.full(20, 0.01), "yes: LPIPS", True),
                                     (noise - noise.mean() + 1e-3, "yes: LPIPS (n.s.)", False)):
        result = analyse(table({"A": {"psnr": list(level + 0.2), "lpips": list(lp + worse)},
                                "B": {"psnr": list(level), "lpips": list(lp)}}), ["psnr", "lpips"])
        (pair,) = result.pairs
        assert pair.discordant
        rendered = pairs_table(result)
        (row,) = rendered.rows
        assert row[rendered.header.index("discordant")] == expected
        assert rendered.flags == (flagged,)
    assert "'(n.s.)' marks a disagreement that is not significant" in rendered.caption


def test_frames_at_a_metric_s_cap_or_beyond_its_bound_are_named():
    """A frame equal to its truth scores PSNR's 100 dB cap; a sharpness ratio over a flat truth has no bound:
    either can decide a mean, and the analysis says so rather than leave it to be read as a model's."""
    values = {"A": {"psnr": [100.0, 100.0, 31.0, 29.0], "sharpness": [1.0, 1.0, 0.8, 0.9]},
              "B": {"psnr": [40.0, 100.0, 33.0, 30.0], "sharpness": [14769.86, 1.0, 1.0, 1.0]},
              "C": {"psnr": [30.0, 31.0, 32.0, 33.0], "sharpness": [0.9, 0.9, 0.9, 0.9]}}
    result = analyse(table(values), ["psnr", "sharpness"])
    capped, unbounded = result.notes
    assert "PSNR: a frame equal to its truth scores 100 dB" in capped
    assert "(of the frames each row scored: 'A' 2 of 4 and 'B' 1 of 4)" in capped and "'C'" not in capped
    assert "Sharpness above 10 comes from a truth with almost no gradient" in unbounded
    assert "'B' on sample 0 (14769.8600)" in unbounded and "'A'" not in unbounded
    assert result.to_dict()["notes"] == [capped, unbounded]
    assert analyse(table({k: v for k, v in values.items() if k == "C"}), ["psnr", "sharpness"]).notes == ()


def test_many_frames_beyond_a_bound_are_counted_after_the_first_three():
    from vfibench.analysis.extremes import extreme_notes

    values = {"A": {"sharpness": [20.0 + k for k in range(6)]}, "B": {"sharpness": [1.0] * 6}}
    (note,) = extreme_notes(table(values), ["sharpness"])
    assert "'A' on sample 5 (25.0000), 'A' on sample 4 (24.0000), 'A' on sample 3 (23.0000) and 3 more frames" in note
    (seeded,) = extreme_notes(table({"A": {"sharpness": [20.0, 1.0]}}, seeds=2), ["sharpness"])
    assert "'A' (seed 0) on sample 0 (20.0000) and 'A' (seed 1) on sample 0 (20.0000)" in seeded


# -- pinned behaviours: preferences, rates, seeds and the verdict's words ----------------------------
def test_the_hodges_lehmann_estimate_leaves_out_samples_where_the_members_are_level():
    """Five level samples and two that differ (+1 and −0.5 dB): the estimate is the median of the Walsh
    averages of the non-zero differences, −0.5, 0.25 and 1, i.e. 0.25 — as the signed-rank test drops the
    zeros. Counting the zeros would pull it to 0 and leave PSNR without a preference."""
    b = [30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0]
    a = [30.0, 31.0, 32.0, 33.0, 34.0, 36.0, 35.5]
    data = table({"A": {"psnr": a, "lpips": [0.1] * 7}, "B": {"psnr": b, "lpips": [0.2] * 7}})
    (pair,) = compare_pairs(data, Orientation.of("psnr"), [Orientation.of("lpips")])
    assert (pair.a, pair.b) == ("A", "B")
    assert pair.base.hodges_lehmann == pytest.approx(0.25)
    assert pair.base.mean_favours == "A" and pair.base.favours == "A" and not pair.base.inconsistent


def test_members_level_on_a_metric_are_preferred_by_neither():
    """Equal PSNR on every sample: PSNR favours neither member, so LPIPS preferring B is no disagreement."""
    psnr = [30.0, 31.0, 32.0, 33.0]
    data = table({"A": {"psnr": psnr, "lpips": [0.3] * 4}, "B": {"psnr": psnr, "lpips": [0.2] * 4}})
    (pair,) = compare_pairs(data, Orientation.of("psnr"), [Orientation.of("lpips")])
    assert pair.base.difference == 0.0 and pair.base.favours == "" and pair.base.mean_favours == ""
    assert not pair.discordant and pair.disagreeing == []
    level_lpips = table({"A": {"psnr": [31.0] * 4, "lpips": [0.2] * 4}, "B": {"psnr": [30.0] * 4, "lpips": [0.2] * 4}})
    (pair,) = compare_pairs(level_lpips, Orientation.of("psnr"), [Orientation.of("lpips")])
    assert pair.others[0].favours == "" and pair.others[0].mean_favours == ""
    result = analyse(level_lpips, ["psnr", "lpips"])
    assert "sides with PSNR" not in result.verdict, result.verdict


def test_a_sample_where_either_metric_is_level_is_not_a_disagreement():
    """A wins PSNR on samples 0–2 and ties on 3; LPIPS prefers B on 0 and 3 and ties on 1 and 2. Only
    sample 0 has the metrics preferring different members: 1 of 4."""
    data = table({"A": {"psnr": [30, 30, 30, 29], "lpips": [0.3, 0.2, 0.2, 0.3]},
                  "B": {"psnr": [29, 29, 29, 29], "lpips": [0.2, 0.2, 0.2, 0.2]}})
    (pair,) = compare_pairs(data, Orientation.of("psnr"), [Orientation.of("lpips")])
    assert pair.others[0].disagreement_rate == pytest.approx(0.25)
    result = analyse(data, ["psnr", "lpips"])
    assert ("Sample by sample, PSNR and LPIPS prefer different members of this pair on 25% of the test samples."
            in result.verdict), result.verdict


def three_seed_pair(dists_by_seed: list[float], n: int = 16) -> pd.DataFrame:
    """A ahead on PSNR by 0.5 dB and behind on LPIPS in every seed; A's DISTS per seed as given (B: 0.1)."""
    rows = []
    for seed, dists in enumerate(dists_by_seed):
        for sample in range(n):
            rows.append({"config": "A", "kind": "trained", "seed": seed, "sample": sample,
                         "psnr": 30.5 + 0.1 * sample, "lpips": 0.2, "dists": dists})
            rows.append({"config": "B", "kind": "trained", "seed": seed, "sample": sample,
                         "psnr": 30 + 0.1 * sample, "lpips": 0.1, "dists": 0.1})
    return pd.DataFrame(rows)


def test_a_disagreement_holding_in_every_seed_on_one_metric_is_robust_though_another_flips():
    """LPIPS prefers B in all three seeds; DISTS prefers B on average but A in seed 1: the disagreement
    on LPIPS alone holds seed by seed."""
    result = analyse(three_seed_pair([0.2, 0.05, 0.2]), ["psnr", "lpips", "dists"])
    (pair,) = result.pairs
    assert [t.metric for t in pair.disagreeing] == ["lpips", "dists"]
    assert pair.test("dists").seeds == ("B", "A", "B") and pair.test("lpips").seeds == ("B", "B", "B")
    assert pair.robust_to_seeds
    assert "holds in all 3 seeds" in result.verdict, result.verdict


def test_the_seed_sentence_counts_the_seeds_agreeing_with_the_average_and_names_the_small_differences():
    """PSNR gains 0.5, −0.2 and 0.6 dB in three seeds: 2 of 3 seeds agree with the average of 0.3 dB, which
    is below the standard deviation over seeds (0.44 dB); LPIPS, 0.1 worse in every seed, holds in all
    and has no spread."""
    flipped = analyse(seeded([0.5, -0.2, 0.6]), ["psnr", "lpips"])
    assert np.std([0.5, -0.2, 0.6], ddof=1) > 0.3
    assert "seeds agreeing with the average: PSNR (2 of 3); LPIPS holds in all." in flipped.verdict, flipped.verdict
    assert ("The difference on PSNR is smaller than its standard deviation over seeds: a retrained model could "
            "reverse it.") in flipped.verdict, flipped.verdict
    steady = analyse(seeded([0.5, 0.4, 0.6]), ["psnr", "lpips"])  # 0.5 dB against a spread of 0.1 dB
    assert "standard deviation over seeds" not in steady.verdict, steady.verdict


def test_the_verdict_counts_discordant_pairs_of_trained_configurations_only():
    """a and b split PSNR and LPIPS; c is worse than both on both; the references disagree with each other
    and with c, but only the one trained pair counts."""
    ramp = np.linspace(0, 1, 12)
    data = table({"a": {"psnr": list(31 + ramp), "lpips": list(0.20 + 0.01 * ramp)},
                  "b": {"psnr": list(30.5 + ramp), "lpips": list(0.12 + 0.01 * ramp)},
                  "c": {"psnr": list(29 + ramp), "lpips": list(0.30 + 0.01 * ramp)},
                  "blend": {"psnr": list(30 + ramp), "lpips": list(0.25 + 0.01 * ramp)},
                  "nearest": {"psnr": list(25 + ramp), "lpips": list(0.10 + 0.01 * ramp)}},
                 kinds={"blend": "reference", "nearest": "reference"})
    result = analyse(data, ["psnr", "lpips"])
    assert sum(p.discordant for p in result.pairs if not p.trained) > 0
    assert "1 of 3 pairs of trained configurations is discordant in this way" in result.verdict, result.verdict


def test_a_significant_disagreement_on_one_of_two_metrics_heads_the_verdict_as_significant():
    """a leads b by 1 dB on every sample; LPIPS prefers b on every sample (significant), DISTS prefers b on
    the mean and the typical sample but not significantly (p = 0.16 before adjustment). One significant
    disagreeing metric is enough: this pair heads the verdict, as a significant disagreement, ahead of
    the pairs with smaller PSNR leads."""
    n = 12
    psnr = [30 + 0.1 * s for s in range(n)]
    alternating = [0.1 if s % 2 else -0.09 for s in range(n)]
    data = table({"a": {"psnr": [x + 1 for x in psnr], "lpips": [0.25] * n, "dists": [0.2 + d for d in alternating]},
                  "b": {"psnr": psnr, "lpips": [0.2] * n, "dists": [0.2] * n},
                  "c": {"psnr": [x + 0.5 for x in psnr], "lpips": [0.22] * n, "dists": [0.21] * n}})
    result = analyse(data, ["psnr", "lpips", "dists"])
    pair = next(p for p in result.pairs if {p.a, p.b} == {"a", "b"})
    assert [t.metric for t in pair.disagreeing] == ["lpips", "dists"]
    assert pair.test("dists").p_value == pytest.approx(0.16162109375)  # exact: 2 × 331 of the 4,096 sign patterns
    assert pair.test("dists").p_holm > 0.05 and pair.test("lpips").p_holm < 0.05
    assert headline_pair(result) == pair
    assert result.verdict.startswith("PSNR prefers a over b by 1.00 dB"), result.verdict
    assert "the metrics disagree, significantly." in result.verdict, result.verdict


def a_b_and_a_noisy_c(a_gain: float, a_lpips: float, c_gain: float, n: int = 12) -> pd.DataFrame:
    """b: a PSNR ramp at LPIPS 0.2; a: ``a_gain`` dB above it at LPIPS ``a_lpips`` on every sample; c: ``c_gain``
    dB above b and 0.01 LPIPS worse on odd samples, 0.2 dB below and 0.005 better on even ones."""
    psnr = [30 + 0.1 * s for s in range(n)]
    return table({"a": {"psnr": [x + a_gain for x in psnr], "lpips": [a_lpips] * n},
                  "b": {"psnr": psnr, "lpips": [0.2] * n},
                  "c": {"psnr": [x + (c_gain if s % 2 else -0.2) for s, x in enumerate(psnr)],
                        "lpips": [0.2 + (0.01 if s % 2 else -0.005) for s in range(n)]}})


def test_a_significant_discordant_pair_heads_the_verdict_before_a_non_significant_one():
    """a vs b and a vs c disagree significantly; c vs b disagrees too, but with samples going either way
    (not significant): the verdict leads with a significant pair."""
    result = analyse(a_b_and_a_noisy_c(a_gain=1.0, a_lpips=0.25, c_gain=0.3), ["psnr", "lpips"])
    weak = next(p for p in result.pairs if {p.a, p.b} == {"b", "c"})
    assert weak.discordant and weak.base.p_holm > 0.05
    headline = headline_pair(result)
    assert headline.base.p_holm < 0.05 and headline.others[0].p_holm < 0.05
    assert result.verdict.startswith("PSNR prefers a over b by 1.00 dB"), result.verdict


@pytest.mark.parametrize("p, shown", [(0.001, "p = 0.001"), (0.0011, "p = 0.001"), (0.01, "p = 0.0100"),
                                      (0.1, "p = 0.10")])
def test_printed_p_values_at_the_format_boundaries(p, shown):
    """Only p below 0.001 is printed as "p < 0.001"; from 0.1 on, two decimals."""
    assert format_p(p) == shown


def test_kendall_tau_p_value_is_two_sided():
    """Four rows in the same order: tau = 1, which 1 of the 4! = 24 orders reaches and 1 reverses, so the
    two-sided p is 2/24."""
    psnr = pd.Series({"a": 33.0, "b": 32.0, "c": 31.0, "d": 30.0})
    lpips = pd.Series({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4})
    agreement = kendall_agreement(psnr, Orientation.of("psnr"), lpips, Orientation.of("lpips"))
    assert agreement.tau == pytest.approx(1.0) and agreement.n == 4
    assert agreement.p_value == pytest.approx(2 / 24)


def test_a_compared_metric_missing_on_some_samples_makes_the_paired_sample_count_an_upper_bound():
    data = paired_example(seeds=1)
    data.loc[(data.config == "B") & (data["sample"] < 5), "lpips"] = np.nan
    result = analyse(data, ["psnr", "lpips"])
    (pair,) = result.pairs
    assert pair.base.n == 20 and pair.others[0].n == 15
    assert result.paired_samples == "up to 20"
    assert "tests over up to 20 paired test samples" in result.verdict, result.verdict


def test_by_default_the_deep_metrics_are_compared_else_every_other_metric_with_a_direction():
    ramp = list(np.linspace(0, 1, 6))
    values = {"A": {"psnr": [31 + r for r in ramp], "ssim": [0.9] * 6, "lpips": [0.1] * 6, "sharpness": [0.9] * 6},
              "B": {"psnr": [30 + r for r in ramp], "ssim": [0.8] * 6, "lpips": [0.2] * 6, "sharpness": [1.1] * 6}}
    with_deep = analyse(table(values), ["psnr", "ssim", "lpips", "sharpness"])
    assert with_deep.compared == ("lpips",) and with_deep.compared_are_deep
    without = analyse(table(values), ["psnr", "ssim", "sharpness"])
    assert without.compared == ("ssim",) and not without.compared_are_deep  # sharpness is best at a target
    assert "No learned perceptual metric is available; SSIM stands in for one." in without.verdict, without.verdict


def test_blend_s_lead_is_only_called_significant_when_the_paired_test_favours_blend():
    """x beats blend on the mean PSNR only through one sample (+5 dB), and is 0.1 dB behind it on the
    other 19: the paired test favours blend, so x's lead over blend is not supported."""
    rng = np.random.default_rng(0)
    level = rng.uniform(25, 35, size=20)
    gain = np.full(20, -0.1)
    gain[0] = 5.0
    data = table({"x": {"psnr": list(level + gain), "lpips": [0.2] * 20},
                  "y": {"psnr": list(level + 1), "lpips": [0.25] * 20},
                  "blend": {"psnr": list(level), "lpips": [0.3] * 20},
                  "nearest": {"psnr": list(level - 3), "lpips": [0.1] * 20}},
                 kinds={"blend": "reference", "nearest": "reference"})
    result = analyse(data, ["psnr", "lpips"])
    pair = next(p for p in result.pairs if {p.a, p.b} == {"x", "blend"})
    assert pair.a == "x" and pair.base.favours == "" and pair.base.p_holm < 0.05
    assert "Every trained configuration beats the blend reference on mean PSNR; the lead is significant for " \
           "y (p < 0.001); the lead of x (p < 0.001) rests on a few samples: on the typical sample the paired " \
           "test favours blend." in result.verdict, result.verdict
    assert "not significant for x" not in result.verdict  # a significant test is not called not significant


def test_blend_s_mean_lead_carried_by_one_sample_is_said_to_rest_on_it():
    """blend is ahead of x on the mean PSNR only through one sample (x 5 dB behind), while x is 0.1 dB
    ahead on the other 19: the paired test favours x, so blend's lead is neither significant nor "not
    significant" — it rests on a few samples."""
    rng = np.random.default_rng(0)
    level = rng.uniform(25, 35, size=20)
    gain = np.full(20, 0.1)
    gain[0] = -5.0
    data = table({"x": {"psnr": list(level + gain), "lpips": [0.2] * 20},
                  "blend": {"psnr": list(level), "lpips": [0.3] * 20},
                  "nearest": {"psnr": list(level - 3), "lpips": [0.1] * 20}},
                 kinds={"blend": "reference", "nearest": "reference"})
    result = analyse(data, ["psnr", "lpips"])
    pair = next(p for p in result.pairs if {p.a, p.b} == {"x", "blend"})
    assert pair.a == "blend" and pair.base.inconsistent and pair.base.p_holm < 0.05
    means = f"x {level.mean() + (19 * 0.1 - 5.0) / 20:.2f} vs {level.mean():.2f} dB"
    assert (f"No trained configuration beats the blend reference on mean PSNR ({means}): blend's lead over x "
            f"(p < 0.001) rests on a few samples: on the typical sample the paired test favours it."
            in result.verdict), result.verdict


def test_a_metric_level_on_a_discordant_pair_does_not_side_with_the_base_metric():
    """A wins PSNR, B wins LPIPS; DISTS is identical for both, so it sides with neither; SSIM prefers A."""
    ramp = list(np.linspace(0, 1, 8))
    data = table({"A": {"psnr": [31 + r for r in ramp], "lpips": [0.3] * 8, "dists": [0.2] * 8, "ssim": [0.9] * 8},
                  "B": {"psnr": [30 + r for r in ramp], "lpips": [0.2] * 8, "dists": [0.2] * 8, "ssim": [0.8] * 8}})
    result = analyse(data, ["psnr", "lpips", "dists", "ssim"], compared=["lpips", "dists", "ssim"])
    (pair,) = result.pairs
    assert pair.discordant and pair.test("dists").favours == "" and pair.test("ssim").favours == "A"
    assert " SSIM sides with PSNR on this pair." in result.verdict, result.verdict


def test_a_configuration_level_with_blend_without_a_significant_test_is_only_level():
    """x is 0.006 dB ahead of blend on half the samples and 0.002 dB behind on the other half: level as
    printed, favoured by its typical difference, but not significantly (p = 0.22 before adjustment)."""
    ramp = list(np.linspace(0, 2.7, 10))
    data = table({"blend": {"psnr": [30 + r for r in ramp], "lpips": [0.3] * 10},
                  "nearest": {"psnr": [28 + r for r in ramp], "lpips": [0.2] * 10},
                  "x": {"psnr": [30 + r + (0.006 if s % 2 else -0.002) for s, r in enumerate(ramp)],
                        "lpips": [0.25] * 10},
                  "y": {"psnr": [31 + r for r in ramp], "lpips": [0.25 + 0.001 * s for s in range(10)]}},
                 kinds={"blend": "reference", "nearest": "reference"})
    result = analyse(data, ["psnr", "lpips"])
    pair = next(p for p in result.pairs if {p.a, p.b} == {"x", "blend"})
    assert pair.base.favours == "A" and pair.a == "x" and pair.base.p_holm > 0.05
    assert "x is level with blend at the precision shown (p = " in result.verdict, result.verdict
    assert "but the paired test favours" not in result.verdict, result.verdict


def test_the_tolerance_lead_needs_every_discordant_pair_within_the_tolerances():
    """The headline pair (a vs b, significant) differs by less than the tolerances, but c vs b disagrees by
    0.1 dB and 0.0025 LPIPS, beyond them (not significantly): the verdict must not open by saying that no
    two configurations disagree by more than the tolerances."""
    result = analyse(a_b_and_a_noisy_c(a_gain=0.01, a_lpips=0.201, c_gain=0.4), ["psnr", "lpips"])
    wide = next(p for p in result.pairs if {p.a, p.b} == {"b", "c"})
    assert wide.discordant and not within_tolerance(wide)
    headline = headline_pair(result)
    assert {headline.a, headline.b} == {"a", "b"} and within_tolerance(headline)
    assert result.verdict.startswith("PSNR prefers a over b by 0.01 dB"), result.verdict
    assert "comparison tolerances; the clearest" not in result.verdict


# -- summary rows: means over seeds, counts, statuses, intervals ------------------------------------
def test_a_seed_with_fewer_samples_weighs_as_much_as_the_others_in_the_mean():
    """Seed 0 scored 4 samples at 30 dB, seed 1 only 2 at 34 dB: the mean over seeds of the per-seed
    means is (30 + 34) / 2 = 32, not the pooled 188 / 6; the std is over the two seed means."""
    rows = [{"config": "l1", "kind": "trained", "seed": 0, "sample": s, "psnr": 30.0} for s in range(4)]
    rows += [{"config": "l1", "kind": "trained", "seed": 1, "sample": s, "psnr": 34.0} for s in range(2)]
    data = pd.DataFrame(rows)
    summary = summarise(data, ["psnr"], {"l1": "trained"})
    assert summary.loc[0, "psnr_mean"] == pytest.approx(32.0)
    assert summary.loc[0, "psnr_std"] == pytest.approx(np.sqrt(8.0))  # (30 − 32)² + (34 − 32)², over 2 − 1
    assert config_means(data, "psnr")["l1"] == pytest.approx(32.0)


def test_summary_counts_distinct_samples_and_seeds_and_marks_a_configuration_without_samples():
    rows = [{"config": "l1", "kind": "trained", "seed": seed, "sample": s, "psnr": 30.0 + s + seed}
            for seed in (3, 7) for s in range(4)]  # seeds 3 and 7: two seeds, four samples (eight rows)
    rows += [{"config": "l2", "kind": "trained", "seed": 3, "sample": s, "psnr": 29.0 + s} for s in range(4)]
    summary = summarise(pd.DataFrame(rows), ["psnr"], {"l1": "trained", "l2": "trained", "l3": "trained"})
    l1, l2, l3 = (summary.iloc[i] for i in range(3))
    assert (l1["seeds"], l1["samples"], l1["status"]) == (2, 4, "complete")
    assert (l2["seeds"], l2["samples"]) == (1, 4)
    assert l2["psnr_mean"] == pytest.approx(30.5) and np.isnan(l2["psnr_std"])  # one seed: no spread, not 0
    assert (l3["seeds"], l3["samples"], l3["status"]) == (0, 0, "missing")
    assert all(np.isnan(l3[f"psnr_{s}"]) for s in ("mean", "std", "ci_low", "ci_high"))


def test_bootstrap_interval_is_the_percentile_interval_of_the_resampled_means():
    """Values 0, 0, 0, 10: a resample of four is all zeros with probability (3/4)^4 ≈ 0.32, so the 2.5th
    percentile of the resampled means is 0; it holds three or four tens with probability ≈ 0.051 (four
    with ≈ 0.004), so the 97.5th is 7.5. A reflected ("basic") interval would reach below 0."""
    from vfibench.results.summary import bootstrap_interval

    low, high = bootstrap_interval(np.array([0.0, 0.0, 0.0, 10.0]))
    assert low == 0.0 and high == pytest.approx(7.5)


# -- report tables: rankings, agreement, seeds agreeing ---------------------------------------------
def test_the_rankings_table_lists_best_to_worst_and_labels_the_references():
    data = table({"a": {"psnr": [32.0] * 4, "lpips": [0.3] * 4}, "blend": {"psnr": [31.0] * 4, "lpips": [0.2] * 4},
                  "b": {"psnr": [30.0] * 4, "lpips": [0.1] * 4}}, kinds={"blend": "reference"})
    rows = dict(tables_module.ranking_table(analyse(data, ["psnr", "lpips"])).rows)
    assert rows["PSNR ↑"] == "1. a 32.00  ›  2. blend (ref) 31.00  ›  3. b 30.00"
    assert rows["LPIPS ↓"] == "1. b 0.1000  ›  2. blend (ref) 0.2000  ›  3. a 0.3000"


def test_the_agreement_table_signs_tau_and_warns_of_few_rows_only_below_five():
    def run_of(n: int):
        return table({f"c{i}": {"psnr": [30.0 + i] * 4, "lpips": [0.1 + 0.01 * i] * 4} for i in range(n)})

    five = tables_module.agreement_table(analyse(run_of(5), ["psnr", "lpips"]))
    assert five.rows[0][:2] == ("LPIPS ↓", "-1.00")  # higher PSNR with higher LPIPS: reversed orders
    assert "even a perfect agreement" not in five.caption
    four = tables_module.agreement_table(analyse(run_of(4), ["psnr", "lpips"]))
    assert "with fewer than 5 configurations even a perfect agreement has p > 0.05" in four.caption


def test_the_pairs_table_counts_the_seeds_that_agree_with_the_average():
    """A ahead on PSNR by 0.5, −0.2 and 0.6 dB in seeds 0, 1, 2: 2 of 3 seeds agree with the average;
    LPIPS favours B in all three."""
    rendered = tables_module.pairs_table(analyse(seeded([0.5, -0.2, 0.6]), ["psnr", "lpips"]))
    assert rendered.header[-1] == "seeds agreeing"
    assert rendered.rows[0][-1] == "PSNR 2/3 LPIPS 3/3"


def test_a_sharpness_exactly_at_its_bound_is_not_named():
    from vfibench.analysis.extremes import extreme_notes

    assert extreme_notes(table({"A": {"sharpness": [10.0, 1.0]}}), ["sharpness"]) == []
    (note,) = extreme_notes(table({"A": {"sharpness": [10.5, 1.0]}}), ["sharpness"])
    assert "'A' on sample 0 (10.5000)" in note


def test_the_report_tables_list_an_unavailable_metric_rather_than_drop_it():
    data = reference_run().assign(dists=np.nan)
    result = analyse(data, ["psnr", "lpips", "dists"], unavailable={"dists": "pretrained vgg16 weights not available"})
    assert tables_module.ranking_table(result).rows[-1] == ("DISTS", "unavailable")
    assert tables_module.agreement_table(result).rows[-1] == ("DISTS", "unavailable", "", "")


def test_the_agreement_table_signs_a_positive_tau_too():
    data = table({f"c{i}": {"psnr": [30.0 + i] * 4, "ssim": [0.8 + 0.01 * i] * 4} for i in range(5)})
    assert tables_module.agreement_table(analyse(data, ["psnr", "ssim"])).rows[0][:2] == ("SSIM ↑", "+1.00")


def test_a_disagreement_is_not_significant_while_the_psnr_lead_is_not():
    """LPIPS favours B on every sample, but A's PSNR lead is noise: the pair is discordant, marked '(n.s.)', and
    its row is not highlighted."""
    rng = np.random.default_rng(5)
    level, lp = rng.uniform(20, 40, size=20), rng.uniform(0.05, 0.5, size=20)
    noise = rng.normal(0, 0.05, size=20)
    result = analyse(table({"A": {"psnr": list(level + noise - noise.mean() + 1e-3), "lpips": list(lp + 0.01)},
                            "B": {"psnr": list(level), "lpips": list(lp)}}), ["psnr", "lpips"])
    (pair,) = result.pairs
    assert pair.a == "A" and pair.discordant and pair.base.p_holm >= result.alpha
    rendered = tables_module.pairs_table(result)
    (row,) = rendered.rows
    assert row[rendered.header.index("discordant")] == "yes: LPIPS (n.s.)"
    assert rendered.flags == (False,)


def test_the_pairs_table_of_one_seed_has_no_seeds_agreeing_column():
    rendered = tables_module.pairs_table(analyse(paired_example(seeds=1), ["psnr", "lpips"]))
    assert rendered.header[-1] == "discordant" and "seeds agreeing" not in rendered.header
    assert "Seeds agreeing" not in rendered.caption


# -- exact signed-rank p, rank agreement with ties, seeds and statuses ------------------------------
def exact_signed_rank_p(d: list[float]) -> float:
    """Two-sided p of W+ over all 2^n sign patterns of the ranks of the non-zero |d| (average ranks for ties)."""
    import itertools

    from scipy import stats

    nonzero = np.array([x for x in d if x != 0], dtype=float)
    ranks = stats.rankdata(np.abs(nonzero))
    observed = ranks[nonzero > 0].sum()
    null = np.array([np.dot(signs, ranks) for signs in itertools.product((0, 1), repeat=ranks.size)])
    return min(1.0, 2 * min(np.mean(null >= observed), np.mean(null <= observed)))


@pytest.mark.parametrize("d", [[0, 0, 1, 1, 2, -1, 3, 3], [-2, -2, -1, 0, 3, -3, -1, -4, -4, 0],
                               [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1], [2, 2, -2, 0.5]])
def test_a_small_tied_sample_gets_the_exact_two_sided_signed_rank_p_with_zero_differences_dropped(d):
    """With tied magnitudes and up to 13 non-zero differences the p-value is exact over every sign
    pattern of the non-zero differences' ranks (level samples carry no sign and are dropped), and the
    same whichever member is called A."""
    expected = exact_signed_rank_p(d)
    assert wilcoxon_p(np.array(d, dtype=float)) == pytest.approx(expected, abs=1e-12)
    assert wilcoxon_p(-np.array(d, dtype=float)) == pytest.approx(expected, abs=1e-12)


def kendall_tau_b(x: list[float], y: list[float]) -> float:
    """(concordant − discordant) / sqrt((pairs − ties in x)(pairs − ties in y)), over all pairs."""
    import itertools

    score, x_untied, y_untied = 0.0, 0, 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        score += dx * dy
        x_untied += dx != 0
        y_untied += dy != 0
    return score / np.sqrt(x_untied * y_untied)


def test_rank_agreement_is_kendall_s_tau_b_when_either_ranking_has_ties():
    """PSNR ranks b and c level (31.004 and 31.001 print as 31.00); LPIPS ranks c and d level:
    tau-b counts each tie as neither agreement nor disagreement and scales by the untied pairs."""
    psnr = pd.Series({"a": 32.0, "b": 31.004, "c": 31.001, "d": 30.0})
    lpips = pd.Series({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.3})
    agreement = kendall_agreement(psnr, Orientation.of("psnr"), lpips, Orientation.of("lpips"))
    expected = kendall_tau_b([32.0, 31.0, 31.0, 30.0], [-0.1, -0.2, -0.3, -0.3])
    assert agreement.tau == pytest.approx(expected) and agreement.n == 4
    assert expected == pytest.approx(4 / 5)  # 4 concordant pairs, 0 discordant, 5 untied on either side


def test_rank_agreement_sees_the_ties_the_compared_metric_s_ranking_shows():
    """LPIPS 0.12341 and 0.12338 print alike: the compared ranking ties a and b, so their exact order
    (b ahead) is not a disagreement with PSNR's a ahead of b."""
    psnr = pd.Series({"a": 32.0, "b": 31.0, "c": 30.0})
    lpips = pd.Series({"a": 0.12341, "b": 0.12338, "c": 0.2})
    agreement = kendall_agreement(psnr, Orientation.of("psnr"), lpips, Orientation.of("lpips"))
    assert agreement.tau == pytest.approx(kendall_tau_b([32.0, 31.0, 30.0], [-0.1234, -0.1234, -0.2]))
    assert agreement.tau > 0.8


def test_rank_agreement_leaves_out_a_configuration_without_a_mean_on_either_metric():
    psnr = pd.Series({"a": 33.0, "b": 32.0, "c": np.nan, "d": 30.0})
    lpips = pd.Series({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4})
    agreement = kendall_agreement(psnr, Orientation.of("psnr"), lpips, Orientation.of("lpips"))
    assert agreement.n == 3 and agreement.tau == pytest.approx(1.0)


def test_the_disagreement_scores_list_the_most_disagreeing_samples_first():
    """The grids show the samples where PSNR prefers A and LPIPS prefers B most strongly: the scores come
    sorted from most to least disagreeing; a sample where both prefer B comes last."""
    from vfibench.analysis.pair_tests import disagreement_scores

    data = table({"A": {"psnr": [30.0, 31.0, 30.0, 30.0], "lpips": [0.2, 0.3, 0.3, 0.2]},
                  "B": {"psnr": [29.0, 29.0, 31.0, 29.5], "lpips": [0.1, 0.1, 0.2, 0.1]}})
    scores = disagreement_scores(data, "A", "B", Orientation.of("psnr"), Orientation.of("lpips"))
    assert list(scores.index) == [1, 0, 3, 2]
    assert scores.is_monotonic_decreasing and scores.iloc[0] > 0 > scores.iloc[-1]


def test_the_bootstrap_interval_is_the_same_on_every_run_2000_resamples_drawn_with_seed_0():
    """An interval in summary.csv can be recomputed from per_sample.csv: 2,000 resamples of the samples
    drawn by numpy's default generator seeded with 0, and their 2.5th and 97.5th percentiles."""
    from vfibench.results.summary import bootstrap_interval

    values = np.random.default_rng(5).normal(30.0, 2.0, size=37)
    picks = np.random.default_rng(0).integers(0, values.size, size=(2000, values.size))
    expected = np.percentile(values[picks].mean(axis=1), [2.5, 97.5])
    assert bootstrap_interval(values) == (pytest.approx(expected[0], abs=1e-12), pytest.approx(expected[1], abs=1e-12))


def test_the_spread_over_seeds_leaves_out_a_seed_without_a_value():
    """Seed 1 has no PSNR value at all: the spread is over seeds 0 and 2, not undefined."""
    from vfibench.results.summary import spread_over_seeds

    assert spread_over_seeds([30.0, np.nan, 32.0]) == pytest.approx(np.std([30.0, 32.0], ddof=1))
    rows = [{"config": "l1", "kind": "trained", "seed": seed, "sample": s, "psnr": np.nan if seed == 1 else 30.0 + seed}
            for seed in range(3) for s in range(4)]
    summary = summarise(pd.DataFrame(rows), ["psnr"], {"l1": "trained"})
    assert summary.loc[0, "psnr_std"] == pytest.approx(np.sqrt(2.0))
    assert summary.loc[0, "psnr_mean"] == pytest.approx(31.0)


def test_summary_rows_keep_the_status_each_configuration_is_given():
    rows = [{"config": "l1", "kind": "trained", "seed": 0, "sample": s, "psnr": 30.0} for s in range(3)]
    summary = summarise(pd.DataFrame(rows), ["psnr"], {"l1": "trained", "l2": "trained", "l3": "trained"},
                        status={"l1": "incomplete", "l2": "diverged"})
    assert list(summary["status"]) == ["incomplete", "diverged", "missing"]


def test_a_table_without_a_kind_column_holds_trained_rows():
    from vfibench.analysis.per_sample import kinds_of

    data = table({"a": {"psnr": [30.0, 31.0]}, "b": {"psnr": [29.0, 30.0]}}).drop(columns=["kind"])
    assert kinds_of(data) == {"a": "trained", "b": "trained"}
    (pair,) = compare_pairs(data, Orientation.of("psnr"), [])
    assert pair.trained


def test_each_direction_is_said_in_words():
    assert [Orientation.of(m).better for m in ("psnr", "lpips", "sharpness")] == ["higher", "lower", "closest to 1"]
