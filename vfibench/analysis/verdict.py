"""The verdict: the plain-language paragraph a report gives about the gap, built from the numbers of
a :class:`~vfibench.analysis.gap.GapAnalysis`, and the wording it shares with the report's tables."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from vfibench.analysis.pair_tests import PairComparison, PairedTest, direction
from vfibench.analysis.per_sample import Orientation
from vfibench.analysis.significance import ALPHA, smallest_holm_p
from vfibench.metrics.records import RECORDS_BY_NAME
from vfibench.results.schema import BLEND, MISSING, NEAREST, REFERENCE, TRAINED
from vfibench.words import join_words, percent

if TYPE_CHECKING:
    from vfibench.analysis.gap import GapAnalysis


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
    """A magnitude: ``0.41 dB`` (``0.0042 dB`` below a hundredth) or two significant digits (``0.0027``)."""
    if not math.isfinite(value):
        return "n/a"
    if unit == "dB":
        return f"{abs(value):.2f} dB" if abs(value) >= 0.005 or value == 0 else f"{abs(value):.2g} dB"
    return f"{abs(value):.2g}"


def headline_pair(analysis: GapAnalysis) -> PairComparison | None:
    """The most convincing discordant pair of trained configurations (significant first, then robust
    to seeds, then with differences beyond the metrics' tolerances, then smallest adjusted p, then
    largest base-metric difference); None when no trained pair disagrees."""
    candidates = [p for p in analysis.discordant if p.trained]
    if not candidates:
        return None

    def strength(pair: PairComparison) -> tuple[bool, bool, bool, float, float]:
        best_other = min((_nan_high(t.p_holm) for t in pair.disagreeing), default=math.inf)
        worst = max(_nan_high(pair.base.p_holm), best_other)
        return (not worst < analysis.alpha, not pair.robust_to_seeds, bool(within_tolerance(pair)), worst,
                -abs(pair.base.difference))

    return min(candidates, key=strength)


def within_tolerance(pair: PairComparison) -> list[PairedTest]:
    """The base test and disagreeing tests of ``pair`` whose mean difference is no larger than the
    metric's tolerance (:attr:`~vfibench.metrics.records.MetricRecord.tolerance`: the change
    ``vfibench compare`` lets pass, below one anyone would act on); metrics without a record are left out."""
    return [t for t in (pair.base, *pair.disagreeing)
            if t.metric in RECORDS_BY_NAME and abs(t.difference) <= RECORDS_BY_NAME[t.metric].tolerance]


def _nan_high(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def verdict(analysis: GapAnalysis) -> str:
    """One paragraph, in plain language, of what the numbers say about the gap."""
    label = analysis.labels.get
    if analysis.missing_configs and set(analysis.configs) <= set(analysis.missing_configs):
        return no_results(analysis)
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


def no_results(analysis: GapAnalysis) -> str:
    """The verdict of a run in which no row has results (a sweep stopped before its first unit finished,
    or whose every unit failed): what each row's status is, not advice about metrics."""
    rows = "; ".join(f"'{config}' {state}" for config, state in analysis.missing_configs.items())
    noun = row_noun(analysis.kinds.values())
    resume = (f" A {MISSING} row has not been run yet: resume the run to compute it, then report again."
              if MISSING in analysis.missing_configs.values() else "")
    return f"No {noun} of this run has results ({rows}), so there is nothing to compare.{resume}"


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
    any_compared = join_words([label(m, m) for m in analysis.compared], "or")  # a loss on any one is discordant
    basis = (f"Wilcoxon signed-rank tests over {analysis.paired_samples} paired test samples, Holm-adjusted over the "
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
            pairs = "the one pair" if len(trained) == 1 else f"any of the {len(trained)} pairs"
            return [f"{compared_note}No {one} wins on {label(analysis.base)} while losing on {any_compared} in "
                    f"{pairs} of {subject}.{unclear}{power}"]
        every = join_words([label(analysis.base, analysis.base), *(label(m, m) for m in analysis.compared)])
        pairs = "the one pair" if len(trained) == 1 else f"every one of the {len(trained)} pairs"
        return [f"{compared_note}{every} agree on {pairs} of {subject}: no {one} "
                f"wins on {label(analysis.base)} while losing on {any_compared}.{power}"]
    base = pair.base
    disagreeing = pair.disagreeing
    names = join_words([label(t.metric, t.metric) for t in disagreeing])
    ps = join_words([format_p(t.p_holm, analysis.alpha) for t in disagreeing])
    verb = "prefers" if len(disagreeing) == 1 else "prefer"
    small = within_tolerance(pair)
    negligible = not any(p.trained and p.discordant and not within_tolerance(p) for p in analysis.pairs)
    lead = (f"No two {subject} disagree by more than the metrics' comparison tolerances; the clearest "
            f"disagreement in direction: " if small and negligible else "")
    text = (f"{compared_note}{lead}{label(analysis.base)} prefers {pair.a} over {pair.b} by "
            f"{format_difference(base.difference, unit(analysis.base, ''))} ({format_p(base.p_holm, analysis.alpha)}); "
            f"{names} {verb} {pair.b} ({ps}): {_disagreement_ending(analysis, base, disagreeing)}")
    if small:
        parts = [f"{label(t.metric, t.metric)} ({format_difference(t.difference, unit(t.metric, ''))}, tolerance "
                 f"{format_difference(RECORDS_BY_NAME[t.metric].tolerance, unit(t.metric, ''))})" for t in small]
        text += (f" The {'difference' if len(small) == 1 else 'differences'} on {join_words(parts)} "
                 f"{'is within the metric' if len(small) == 1 else 'are within each metric'}'s comparison "
                 f"tolerance, below a change anyone would act on.")
    siding = [t for t in pair.others if t.favours == "A"]
    if siding:
        text += f" {join_words([label(t.metric, t.metric) for t in siding])} side{'s' if len(siding) == 1 else ''} " \
                f"with {label(analysis.base)} on this pair."
    rates = [t.disagreement_rate for t in disagreeing if math.isfinite(t.disagreement_rate)]
    if rates:
        text += (f" Sample by sample, {label(analysis.base)} and {label(disagreeing[0].metric)} prefer different "
                 f"members of this pair on {percent(rates[0])} of the test samples.")
    text += _seed_sentence(analysis, pair)
    discordant = [p for p in trained if p.discordant]
    count = len(discordant)
    significant = sum(1 for p in discordant if _significant_disagreement(p.base, p.disagreeing, analysis.alpha))
    if len(trained) == 1 or significant == count:
        among = "The one pair" if len(trained) == 1 else f"{count} of {len(trained)} pairs"
        text += f" {among} of {subject} {'is' if count == 1 else 'are'} discordant in this way"
    else:
        how = "not significantly" if count == 1 else f"{significant or 'none'} of them significantly"
        text += (f" {count} of {len(trained)} pairs of {subject} {'is' if count == 1 else 'are'} discordant in "
                 f"direction, {how}")
    text += f" ({basis}.{unclear}{power}"
    return [text]


def _significant_disagreement(base: PairedTest, disagreeing: Sequence[PairedTest], alpha: float) -> bool:
    """The base metric's preference and at least one of the ``disagreeing`` metrics' opposite one are both
    significant."""
    return base.p_holm < alpha and any(t.p_holm < alpha for t in disagreeing)


def _disagreement_ending(analysis: GapAnalysis, base: PairedTest, disagreeing: Sequence[PairedTest]) -> str:
    """"the metrics disagree, significantly." when the base test and a disagreeing one are significant;
    otherwise which of them are not."""
    label = analysis.labels.get
    if _significant_disagreement(base, disagreeing, analysis.alpha):
        return "the metrics disagree, significantly."
    weak = [label(analysis.base, analysis.base)] if not base.p_holm < analysis.alpha else []
    weak += [label(t.metric, t.metric) for t in disagreeing if not t.p_holm < analysis.alpha]
    return (f"the metrics disagree, but with {analysis.paired_samples} samples the difference is not "
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
        typical = direction(test.hodges_lehmann)
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
    flipping = [f"{label(t.metric, t.metric)} ({t.seeds_agreeing} of {n})"
                for t in tests if not t.seed_consistent]
    text = (f"{partial}." if partial else "") + (
        _robust_sentence(pair, n, label) if pair.robust_to_seeds
        else f" Seed by seed, it does not hold in every one of the {n} seeds: seeds agreeing with the "
             f"average: {join_words(flipping)}" + (f"; {join_words(holding)} "
                                                    f"{'holds' if len(holding) == 1 else 'hold'} in all" if holding else "")
             + ".")
    small = [label(t.metric, t.metric) for t in tests if t.within_seed_spread]
    if small:
        text += (f" The {'difference' if len(small) == 1 else 'differences'} on {join_words(small)} "
                 f"{'is' if len(small) == 1 else 'are'} smaller than {'its' if len(small) == 1 else 'their'} "
                 f"standard deviation over seeds: a retrained model could reverse "
                 f"{'it' if len(small) == 1 else 'them'}.")
    return text


def _robust_sentence(pair: PairComparison, n: int, label: Callable[[str, str], str]) -> str:
    """The pair's disagreement seed by seed when it holds in every seed on at least one metric: on which
    metrics it does, and in how many seeds on the others (those whose direction flips in some seed)."""
    flipping = [f"{label(t.metric, t.metric)} in {t.seeds_agreeing} of {n}"
                for t in pair.disagreeing if not t.seed_consistent]
    if not flipping:
        return f" Seed by seed, the disagreement holds in all {n} seeds."
    holding = [label(t.metric, t.metric) for t in pair.disagreeing if t.seed_consistent]
    return (f" Seed by seed, the disagreement holds in all {n} seeds on {join_words(holding)}; "
            f"on {join_words(flipping)}.")


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
    shown = [a for a in analysis.agreement if a.metric in analysis.compared and math.isfinite(a.tau)]
    if not shown:
        return []
    counts = {a.n for a in shown}
    if len(counts) > 1:  # a metric missing for some rows correlates fewer of them: say so per metric
        rows = "over the rows each metric scores"
        parts = [f"{label(a.metric, a.metric)} {a.tau:+.2f} ({a.n} rows)" for a in shown]
    else:
        count = counts.pop()
        if count == len(analysis.configs):
            rows = "over both rows" if count == 2 else f"over all {count} rows"
        else:
            rows = f"over the {count} rows both score"
        parts = [f"{label(a.metric, a.metric)} {a.tau:+.2f}" for a in shown]
    return [f"Kendall's tau between the {label(analysis.base)} ranking and the others {rows} "
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
    behind = [e for e in trained if e.rank >= ranking[BLEND].rank]  # a tie at the precision shown does not beat it
    level = [e.config for e in behind if e.rank == ranking[BLEND].rank]
    if not behind:
        supported, unsupported, reversed_ = _tested_leads(analysis, [e.config for e in trained], blend_leads=False)
        many = len(reversed_) > 1
        return [f"Every trained configuration beats the blend reference on mean {label}"
                + (f"; the lead is significant for {join_words(supported)}" if supported else "")
                + (f"; it is not significant for {join_words(unsupported)} with {analysis.paired_samples} samples"
                   if unsupported else "")
                + (f"; the lead{'s' if many else ''} of {join_words(reversed_)} rest{'' if many else 's'} on a few "
                   f"samples: on the typical sample the paired test favours blend" if reversed_ else "") + "."]
    values = join_words([f"{e.config} {e.mean:.2f}" for e in behind])
    numbers = f"({values} vs {ranking[BLEND].mean:.2f}{' ' + unit if unit else ''})"
    plural = len(behind) > 1
    head = (f"No trained configuration beats the blend reference on mean {label} {numbers}"
            if len(behind) == len(trained) else
            f"{join_words([e.config for e in behind])} {'do' if plural else 'does'} not beat the blend reference "
            f"on mean {label} {numbers}")
    supported, unsupported, reversed_ = _tested_leads(analysis, [e.config for e in behind if e.config not in level],
                                                      blend_leads=True)
    parts = [_level_clause(analysis, config) for config in level]
    if supported:
        parts.append(f"blend is significantly ahead of {join_words(supported)}, so "
                     f"{'they have' if len(supported) > 1 else 'it has'} not learned to interpolate motion beyond "
                     f"averaging the inputs")
    if unsupported:
        parts.append(f"blend's lead over {join_words(unsupported)} is not significant with {analysis.paired_samples} "
                     f"samples, so whether {'they have' if len(unsupported) > 1 else 'it has'} learned to "
                     f"interpolate motion beyond averaging the inputs is not shown")
    if reversed_:
        many = len(reversed_) > 1
        parts.append(f"blend's lead{'s' if many else ''} over {join_words(reversed_)} rest{'' if many else 's'} on a "
                     f"few samples: on the typical sample the paired test favours {'them' if many else 'it'}")
    return [f"{head}: {'; '.join(parts)}."]


def _level_clause(analysis: GapAnalysis, config: str) -> str:
    """A configuration whose mean prints equal to blend's: which member its paired test favours, if any."""
    pair = next((p for p in analysis.pairs if {p.a, p.b} == {config, BLEND}), None)
    p_holm = pair.base.p_holm if pair is not None else float("nan")
    leader = {"A": pair.a, "B": pair.b}.get(pair.base.favours, "") if pair is not None else ""
    if leader and p_holm < analysis.alpha:
        other = BLEND if leader == config else config
        return (f"{config} is level with blend at the precision shown, but the paired test favours {leader} over "
                f"{other} ({format_p(p_holm, analysis.alpha)})")
    return f"{config} is level with blend at the precision shown ({format_p(p_holm, analysis.alpha)})"


def _tested_leads(analysis: GapAnalysis, configs: Sequence[str], *,
                  blend_leads: bool) -> tuple[list[str], list[str], list[str]]:
    """``configs`` as "name (p = …)", split by their base-metric test against blend: those where it
    significantly favours the mean's leader (blend when ``blend_leads``, else the configuration); those
    where it significantly favours the other member — the mean leads on a few samples, the typical
    per-sample difference (:attr:`~PairedTest.inconsistent`) the other way; and the rest, not significant."""
    supported, unsupported, reversed_ = [], [], []
    for config in configs:
        pair = next((p for p in analysis.pairs if {p.a, p.b} == {config, BLEND}), None)
        p_holm = pair.base.p_holm if pair is not None else float("nan")
        leader = BLEND if blend_leads else config
        significant = pair is not None and pair.a == leader and p_holm < analysis.alpha
        found = (supported if significant and pair.base.favours == "A"
                 else reversed_ if significant and pair.base.inconsistent else unsupported)
        found.append(f"{config} ({format_p(p_holm, analysis.alpha)})")
    return supported, unsupported, reversed_


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
