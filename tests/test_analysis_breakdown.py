"""The gap along a variable: quantile bins, per-bin means over seeds, and where two metrics start to disagree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vfibench.analysis.breakdown import (attribute_bins, breakdown, breakdown_frame, breakdowns,
                                         disagreement_onset, onset_sentence, onset_summary)
from vfibench.analysis.per_sample import Orientation

PSNR, LPIPS = Orientation.of("psnr"), Orientation.of("lpips")


def run(n: int = 40, seeds: int = 2) -> pd.DataFrame:
    """'sharp' and 'smooth' trained on samples of growing ambiguity: 'smooth' keeps its PSNR lead
    everywhere, but its LPIPS worsens with ambiguity and falls behind 'sharp' from 2 px on."""
    rows = []
    ambiguity = np.linspace(0.0, 4.0, n)
    for seed in range(seeds):
        for sample, a in enumerate(ambiguity):
            rows.append({"config": "smooth", "kind": "trained", "seed": seed, "sample": sample,
                         "psnr": 32 - a, "lpips": 0.05 + 0.02 * a + 0.001 * seed,
                         "ambiguity_px": a, "motion_px": 10.0 - a, "occluded": np.nan})
            rows.append({"config": "sharp", "kind": "trained", "seed": seed, "sample": sample,
                         "psnr": 31.5 - a, "lpips": 0.09, "ambiguity_px": a, "motion_px": 10.0 - a,
                         "occluded": np.nan})
    return pd.DataFrame(rows)


def test_quantile_bins_hold_equal_counts_and_merge_ties():
    assert attribute_bins(list(range(9)), 4) == (0.0, 2.0, 4.0, 6.0, 8.0)
    assert attribute_bins([0.0] * 5 + [1.0] * 5, 4) == (0.0, 0.5, 1.0)  # ties never make empty bins
    assert attribute_bins([float("nan")], 4) == ()
    result = breakdown(run(), "ambiguity_px", ["psnr", "lpips"], bins=4)
    assert result is not None and result.counts == (10, 10, 10, 10)


def test_a_test_set_of_fewer_samples_than_bins_gets_no_empty_bin():
    """Two Middlebury sequences made four quartile bins, two of them `(n=0)` rows of dashes."""
    assert attribute_bins([1.0, 5.0], 4) == (1.0, 2.0, 5.0)
    assert attribute_bins([1.0, 2.0, 3.0], 4) == (1.0, 1.5, 2.0, 3.0)
    data = run()
    few = data[data["sample"].isin([0, 39])]
    result = breakdown(few, "ambiguity_px", ["psnr"], bins=4)
    assert result is not None and result.counts == (1, 1)


def test_bin_means_are_means_over_the_bin_samples_averaged_over_seeds():
    data = run()
    result = breakdown(data, "ambiguity_px", ["psnr", "lpips"], bins=4)
    assert result is not None
    first = data[(data.config == "smooth") & (data["sample"] < 10)]
    assert result.means["lpips"]["smooth"][0] == pytest.approx(first["lpips"].mean())
    assert result.means["psnr"]["sharp"][3] == pytest.approx(31.5 - np.linspace(0, 4, 40)[30:].mean())
    frame = breakdown_frame({"ambiguity_px": result})
    assert len(frame) == 4 * 2 * 2 and set(frame["bin"]) == {1, 2, 3, 4}


def test_onset_is_the_first_bin_from_which_the_metrics_disagree_on_the_pair():
    result = breakdown(run(), "ambiguity_px", ["psnr", "lpips"], bins=4)
    assert result is not None
    # smooth's LPIPS: 0.05 + 0.02 a ≥ 0.09 from a = 2 px, i.e. from the third bin of [0, 4]
    assert disagreement_onset(result, PSNR, LPIPS, "smooth", "sharp") == 2
    sentence = onset_sentence(result, PSNR, [LPIPS], "smooth", "sharp")
    assert "from ambiguity (px) ≥ 2" in sentence and "bin 3 of 4" in sentence
    # each end names the member favoured, with a positive amount
    assert "LPIPS favours smooth by 0.0303 in the lowest bin and sharp by 0.0313 in the highest" in sentence
    # along motion (the reverse order of ambiguity) they disagree in the lowest-motion bins only
    motion = breakdown(run(), "motion_px", ["psnr", "lpips"], bins=4)
    assert motion is not None and disagreement_onset(motion, PSNR, LPIPS, "smooth", "sharp") is None


def test_bins_that_disagree_before_the_onset_are_named_too():
    """'smooth' also loses LPIPS in the lowest ambiguity bin: "from bin 3 on" must not read as "only there"."""
    data = run()
    low = (data["config"] == "smooth") & (data["ambiguity_px"] < 1.0)
    data.loc[low, "lpips"] = 0.2
    result = breakdown(data, "ambiguity_px", ["psnr", "lpips"], bins=4)
    assert result is not None and disagreement_onset(result, PSNR, LPIPS, "smooth", "sharp") == 2
    assert "(bin 3 of 4; also in bin 1; LPIPS favours" in onset_sentence(result, PSNR, [LPIPS], "smooth", "sharp")
    summary = onset_summary({"ambiguity_px": result}, PSNR, [LPIPS], "smooth", "sharp")
    assert summary.endswith("from ambiguity (px) ≥ 2 on (bin 3 of 4; also in bin 1)."), summary


def test_the_summary_names_metrics_and_attributes_that_behave_alike_together():
    # DISTS behaves as LPIPS does; GMSD prefers 'sharp' on every sample
    data = run().assign(dists=lambda d: d["lpips"], gmsd=lambda d: np.where(d["config"] == "smooth", 0.2, 0.1))
    results = breakdowns(data, ["psnr", "lpips", "dists", "gmsd"])
    others = [LPIPS, Orientation.of("dists"), Orientation.of("gmsd")]
    summary = onset_summary(results, PSNR, others, "smooth", "sharp")
    assert summary == ("PSNR disagrees with LPIPS and DISTS on smooth vs sharp from ambiguity (px) ≥ 2 on "
                       "(bin 3 of 4), but not in the highest bin of motion (px); PSNR disagrees with GMSD on "
                       "smooth vs sharp in every bin of ambiguity (px) and motion (px).")
    # along motion alone, LPIPS never disagrees in the highest bin
    assert onset_summary({"motion_px": results["motion_px"]}, PSNR, [LPIPS], "smooth", "sharp") == (
        "PSNR does not disagree with LPIPS on smooth vs sharp in the highest bin of motion (px).")
    assert onset_summary(results, PSNR, [Orientation.of("ssim")], "smooth", "sharp") == ""  # no SSIM column


def test_real_data_without_attributes_has_no_breakdown():
    data = run().assign(ambiguity_px=np.nan, motion_px=np.nan)
    assert breakdowns(data, ["psnr", "lpips"]) == {}
    assert breakdown(data.drop(columns=["ambiguity_px"]), "ambiguity_px", ["psnr"]) is None
    straight = run().assign(ambiguity_px=0.0)  # straight paths: nothing to break down along ambiguity
    assert set(breakdowns(straight, ["psnr", "lpips"])) == {"motion_px"}


def test_real_data_s_motion_is_called_estimated_and_synthetic_motion_is_not():
    from vfibench.analysis.gap import analyse
    from vfibench.results.plots import breakdown_caption
    from vfibench.results.report_tables import breakdown_table

    real = run().assign(ambiguity_px=np.nan)  # real data: only the DIS-estimated motion is recorded
    (motion,) = breakdowns(real, ["psnr", "lpips"]).values()
    assert motion.estimated and motion.title == "estimated motion (px)"
    analysis = analyse(real, ["psnr", "lpips"])
    for caption in (breakdown_caption(motion, analysis), breakdown_table(motion, analysis).caption):
        assert "motion is estimated, the 99th percentile of the DIS optical-flow magnitude" in caption
    known = breakdowns(run(), ["psnr", "lpips"])["motion_px"]
    assert not known.estimated and known.title == "motion (px)" and known.source == ""


def test_a_value_on_an_inner_edge_falls_in_the_lower_bin():
    """Edges 0, 2, 4, 6, 8 of the samples 0..8: bin 1 is [0, 2], the others open below, (2, 4] …"""
    rows = [{"config": "a", "kind": "trained", "seed": 0, "sample": s, "psnr": 30.0 + s, "ambiguity_px": float(s)}
            for s in range(9)]
    result = breakdown(pd.DataFrame(rows), "ambiguity_px", ["psnr"], bins=4)
    assert result is not None and result.edges == (0.0, 2.0, 4.0, 6.0, 8.0)
    assert result.counts == (3, 2, 2, 2)
    assert result.means["psnr"]["a"] == pytest.approx((31.0, 33.5, 35.5, 37.5))


def test_a_bin_mean_is_the_mean_over_seeds_of_each_seed_s_bin_mean():
    """In the lowest bin seed 0 has samples 0 and 1 (30 and 32 dB), seed 1 only sample 0 (36 dB): the bin
    mean is (31 + 36) / 2 = 33.5, not the pooled 98 / 3."""
    rows = [{"config": "a", "kind": "trained", "seed": 0, "sample": s, "psnr": 30.0 + 2 * s, "motion_px": float(s)}
            for s in range(8)]
    rows += [{"config": "a", "kind": "trained", "seed": 1, "sample": s, "psnr": 36.0, "motion_px": float(s)}
             for s in (0, 2, 3, 4, 5, 6, 7)]
    result = breakdown(pd.DataFrame(rows), "motion_px", ["psnr"], bins=4)
    assert result is not None and result.counts == (2, 2, 2, 2)
    assert result.means["psnr"]["a"][0] == pytest.approx(33.5)


def test_a_bin_where_the_base_metric_is_level_is_no_disagreement():
    """'sharp' matches 'smooth' on PSNR in the highest ambiguity bin: PSNR favours neither there, so the
    metrics do not disagree in the highest bin, whatever LPIPS says."""
    data = run()
    top = (data["config"] == "sharp") & (data["ambiguity_px"] >= 3.0)
    data.loc[top, "psnr"] = 32 - data.loc[top, "ambiguity_px"]
    result = breakdown(data, "ambiguity_px", ["psnr", "lpips"], bins=4)
    assert result is not None and disagreement_onset(result, PSNR, LPIPS, "smooth", "sharp") is None


def test_occluded_share_bins_are_labelled_with_two_decimals():
    rows = [{"config": "a", "kind": "trained", "seed": 0, "sample": s, "psnr": 30.0, "occluded": s / 100}
            for s in range(9)]
    result = breakdown(pd.DataFrame(rows), "occluded", ["psnr"], bins=4)
    assert result is not None and result.labels == ("0.00–0.02", "0.02–0.04", "0.04–0.06", "0.06–0.08")


def test_configurations_follow_the_given_order_then_first_appearance():
    from vfibench.analysis.per_sample import config_order

    data = pd.DataFrame({"config": ["c", "a", "b", "a"], "seed": 0, "sample": [0, 0, 0, 1]})
    assert config_order(data, ["b", "x", "a"]) == ["b", "a", "c"]


def test_the_breakdown_table_shows_the_base_metric_and_the_compared_ones_per_bin_with_its_count():
    from vfibench.analysis.gap import analyse
    from vfibench.results.report_tables import breakdown_table

    data = run()
    rendered = breakdown_table(breakdowns(data, ["psnr", "lpips"])["ambiguity_px"], analyse(data, ["psnr", "lpips"]))
    assert rendered.header == ("configuration", "0.0–1.0 (n=10)", "1.0–2.0 (n=10)", "2.0–3.0 (n=10)",
                               "3.0–4.0 (n=10)")
    assert rendered.rows[1] == ("sharp", "31.04 / 0.0900", "30.01 / 0.0900", "28.99 / 0.0900", "27.96 / 0.0900")
    assert "Each cell: PSNR ↑ / LPIPS ↓." in rendered.caption


def test_a_sample_without_a_value_of_the_attribute_is_in_no_bin():
    """Motion could not be estimated for one sample: it counts in no bin and no bin's mean, rather than
    landing in the highest one."""
    rows = [{"config": "a", "kind": "trained", "seed": 0, "sample": s, "psnr": 30.0 + s, "motion_px": float(s)}
            for s in range(8)]
    rows.append({"config": "a", "kind": "trained", "seed": 0, "sample": 8, "psnr": 0.0, "motion_px": np.nan})
    result = breakdown(pd.DataFrame(rows), "motion_px", ["psnr"], bins=4)
    assert result is not None and result.counts == (2, 2, 2, 2)
    assert result.means["psnr"]["a"] == pytest.approx((30.5, 32.5, 34.5, 36.5))


def test_a_bin_where_the_compared_metric_is_level_is_no_disagreement():
    """'sharp' matches 'smooth' on LPIPS in the highest ambiguity bin: LPIPS favours neither there, so the
    metrics do not disagree in the highest bin, though PSNR favours 'smooth'."""
    data = run()
    top = (data["config"] == "smooth") & (data["ambiguity_px"] >= 3.0)
    data.loc[top, "lpips"] = 0.09
    result = breakdown(data, "ambiguity_px", ["psnr", "lpips"], bins=4)
    assert result is not None and disagreement_onset(result, PSNR, LPIPS, "smooth", "sharp") is None
