"""Compare two metric tables (summary.csv) and say which numbers got worse: ``vfibench compare``.

A comparison reads two summaries — NEW, the run under test, and BASE, the reference it must not fall
behind — and judges every (configuration, metric) pair by the metric's direction
(:attr:`vfibench.metrics.records.MetricRecord.higher_is_better`; the sharpness ratio is best at 1)
into a verdict (:class:`~vfibench.results.compare_verdicts.Verdict`; the table of what each means and
whether it fails is in :mod:`vfibench.results.compare_verdicts`). This module only judges:
:mod:`vfibench.results.compare_inputs` reads the summaries, :mod:`vfibench.results.compare_tolerances`
the tolerances; :mod:`vfibench.results.compare_notes` says what else NEW and BASE differ in, and
:mod:`vfibench.results.compare_render` prints the result.

Two runs not made the same way (another preset, setting, test data, ground truth, sample set or seeds, or
no row in common: the notes that block) measured different things, so no verdict on their numbers holds:
the comparison is refused (exit code 2, :func:`~vfibench.results.compare_notes.check_same_setup`) unless
``allow_different_setup`` asks for it anyway, and then carries those differences
(:attr:`~vfibench.results.compare_verdicts.Comparison.setup_differences`).

Rows are matched by their ``config`` name: a sweep's configurations and references, an evaluation's
model names (``--pred NAME=DIR``). Both summaries must come from the same kind of run
(:func:`~vfibench.results.compare_inputs.check_comparable`).

A configuration that finished only some of its seeds in NEW (status ``partial``) is ``missing in
new`` when BASE has results for it: its means are not comparable with BASE's; one that diverged or
failed in NEW while BASE has results is ``diverged`` or ``failed``. A configuration with no results in
BASE (it diverged, failed or was unavailable there) has nothing to compare against: whatever NEW has
for it — results or some seeds' results — is ``unavailable``, reported and not checked, in one-sided
and two-sided mode alike. A configuration with results in neither run (no row, one not run yet, or
one that diverged, failed or was unavailable in both) is ``no results``, once for the configuration,
not checked. One note names the configurations with results in only one run, or in neither
(:func:`coverage_notes`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from vfibench.errors import VfiBenchError
from vfibench.metrics.records import MetricRecord, metric_record
from vfibench.results import schema
from vfibench.results.compare_inputs import RunSummary, check_comparable
from vfibench.results.compare_notes import check_same_setup, comparison_notes
from vfibench.results.compare_tolerances import DEFAULT_KEY, resolve_tolerances
from vfibench.results.compare_verdicts import Comparison, Row, Verdict
from vfibench.results.schema import COMPLETE, DIVERGED, FAILED, MISSING, NO_RESULTS, PARTIAL, SummaryRow
from vfibench.words import join_words


def compare_summaries(new: RunSummary, base: RunSummary, tolerances: Mapping[str, float] | None = None,
                      two_sided: bool = False, named: Iterable[str] = (),
                      allow_different_setup: bool = False) -> Comparison:
    """Judge every configuration and metric of NEW against BASE.

    Args:
        new: the run under test.
        base: the reference run.
        tolerances: absolute tolerance per metric; default :func:`resolve_tolerances` ().
        two_sided: fail on any change beyond the tolerance, for the better too.
        named: the metrics the user gave a tolerance (``--tol``); those neither table has are noted,
            not dropped unseen.
        allow_different_setup: judge NEW and BASE even when they were not made the same way, with the
            differences among the notes.

    Raises:
        ResultsError: NEW and BASE come from different kinds of run (:func:`check_comparable`), or were not
            made the same way (:func:`check_same_setup`) and ``allow_different_setup`` is false.
        VfiBenchError: a metric present in both summaries has no tolerance.
    """
    check_comparable(new, base)
    found = comparison_notes(new, base)
    if not allow_different_setup:
        check_same_setup(new, base, found)
    tolerances = resolve_tolerances() if tolerances is None else dict(tolerances)
    metrics = list(base.metrics) + [m for m in new.metrics if m not in base.metrics]
    for metric in metrics:
        if metric in base.metrics and metric in new.metrics and metric not in tolerances:
            raise VfiBenchError(
                f"There is no tolerance for the metric '{metric}'. Pass one with --tol {metric}=VALUE "
                f"(an absolute difference of its mean), or --tol default=VALUE."
            )
    order = [row.config for row in base.configs] + [row.config for row in new.configs
                                                    if base.get(row.config) is None]
    rows = [_judge(config, metric, base.get(config), new.get(config), base.metrics, new.metrics,
                   tolerances, two_sided, new.unavailable_metrics.get(metric, ""))
            for config in order for metric in metrics]
    used = {m: tolerances[m] for m in metrics if m in tolerances}
    noun = schema.ROW_NOUNS[new.run_kind]
    notes = [note.text for note in found] + coverage_notes(new, base, order, noun)
    unused = [name for name in named if name != DEFAULT_KEY and name not in used]
    if unused:
        notes.append(f"{', '.join(f'--tol {name}' for name in unused)}: neither table has "
                     f"{'this metric' if len(unused) == 1 else 'these metrics'}, so the tolerance was not used.")
    return Comparison(new=new.path, base=base.path, rows=tuple(rows), tolerances=used, two_sided=two_sided,
                      notes=tuple(notes), noun=noun,
                      setup_differences=tuple(note.text for note in found if note.blocks))


def _judge(config: str, metric: str, base: SummaryRow | None, new: SummaryRow | None,
           base_metrics: Sequence[str], new_metrics: Sequence[str], tolerances: Mapping[str, float],
           two_sided: bool, unavailable_in_new: str = "") -> Row:
    """The row of one (configuration, metric) pair; configuration-level verdicts come first.
    ``unavailable_in_new``: why NEW could not compute the metric, as its manifest says ("" if it could)."""
    b = _value(base, metric)
    n = _value(new, metric)

    def row(verdict: Verdict, note: str = "", tolerance: float | None = None) -> Row:
        difference = n - b if b is not None and n is not None else None
        return Row(config, metric, b, n, difference, tolerance, verdict, note)

    base_status = _present_status(base)
    new_status = _present_status(new)
    base_results = _has_results(base)
    if new_status is None:
        return row(Verdict.MISSING_IN_NEW if base_results else Verdict.NO_RESULTS)
    if new_status == PARTIAL and base_results:
        return row(Verdict.MISSING_IN_NEW, "only some seeds finished in new")
    if base_status is None:  # absent in BASE: results in NEW only, or in neither
        return row(Verdict.NEW_CONFIGURATION if _has_results(new) else Verdict.NO_RESULTS)
    if new_status in (DIVERGED, FAILED):
        reason = f": {new.reason}" if new is not None and new.reason else ""
        if not base_results:  # nothing in BASE to fall behind
            return row(Verdict.NO_RESULTS, f"{new_status} in both runs{reason}" if base_status == new_status
                       else f"{new_status} in new{reason}; {base_status} in base")
        return row(Verdict(new_status), f"{new_status} in new{reason}; {base_status} in base")
    if metric not in new_metrics:
        return row(Verdict.MISSING_METRIC, "no column in new")
    if metric not in base_metrics:
        return row(Verdict.NEW_METRIC, "no column in base")
    if base_status in NO_RESULTS:
        return row(Verdict.UNAVAILABLE, f"no results in base ({base_status}): nothing to compare against")
    tolerance = tolerances[metric]
    if b is not None and n is None:
        why = f": the metric was unavailable in new ({unavailable_in_new})" if unavailable_in_new else ""
        return row(Verdict.LOST_VALUE, f"a value in base, none in new ({new_status}){why}")
    if b is None or n is None:
        side = "either run" if b is None and n is None else ("base" if b is None else "new")
        statuses = {s for s in (base_status, new_status) if s != COMPLETE}
        return row(Verdict.UNAVAILABLE, f"no value in {side}" + (f" ({', '.join(sorted(statuses))})"
                                                                   if statuses else ""))
    return row(judge(metric_record(metric), b, n, tolerance, two_sided), tolerance=tolerance)


def _has_results(result: SummaryRow | None) -> bool:
    """Whether a configuration has a row with results (complete, or partial: some seeds)."""
    return result is not None and result.has_results


def _state(result: SummaryRow | None) -> str:
    """A configuration's state in one run, for notes: its status, or "absent" without a row."""
    return "absent" if result is None else result.status


def _states(new: SummaryRow | None, base: SummaryRow | None) -> str:
    """``"missing in both"`` or ``"absent in NEW, diverged in BASE"``."""
    ours, theirs = _state(new), _state(base)
    return f"{ours} in both" if ours == theirs else f"{ours} in NEW, {theirs} in BASE"


def _grouped(names: Sequence[str], states: Mapping[str, str]) -> str:
    """``"'l2' and 'l1+perc' (missing in both); 'x' (absent in NEW, diverged in BASE)"``."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(states[name], []).append(f"'{name}'")
    return "; ".join(f"{join_words(members)} ({state})" for state, members in groups.items())


def coverage_notes(new: RunSummary, base: RunSummary, order: Sequence[str], noun: str) -> list[str]:
    """One note naming the rows with results in only one of the runs, or in neither, with their states."""
    states = {c: _states(new.get(c), base.get(c)) for c in order}
    only_base = [c for c in order if _has_results(base.get(c)) and not _has_results(new.get(c))]
    only_new = [c for c in order if _has_results(new.get(c)) and not _has_results(base.get(c))]
    neither = [c for c in order if not _has_results(new.get(c)) and not _has_results(base.get(c))]
    rows = f"{noun.capitalize()}s with results"
    parts = [f"{rows} {where}: {_grouped(names, states)}." for names, where in (
        (only_base, "in BASE only (a failure)"), (only_new, "in NEW only (not checked)"),
        (neither, "in neither run (not checked)")) if names]
    return [" ".join(parts)] if parts else []


def _present_status(result: SummaryRow | None) -> str | None:
    """The status of a configuration that has a row with some outcome; None when absent or 'missing'."""
    return None if result is None or result.status == MISSING else result.status


def _value(result: SummaryRow | None, metric: str) -> float | None:
    """A finite mean, or None."""
    if result is None:
        return None
    value = result.mean(metric)
    return value if math.isfinite(value) else None


def judge(info: MetricRecord, base: float, new: float, tolerance: float, two_sided: bool = False) -> Verdict:
    """The verdict on two means of the metric ``info``, given an absolute tolerance.

    The change is measured in the metric's "goodness" (x if higher is better, −x if lower is, −|x − t|
    when best at a target t, as the sharpness ratio at 1). A worsening beyond the tolerance is a
    regression; an improvement beyond it is ``improved`` (``changed``, failing, when two-sided);
    two-sided, a move beyond the tolerance that leaves the goodness within it — a sharpness ratio
    that jumps across its target — is ``changed`` too.
    """
    gain = float(info.goodness(new)) - float(info.goodness(base))
    slack = 1e-12 + 1e-9 * max(abs(base), abs(new))  # the CSV's 10-significant-digit rounding
    if gain < -(tolerance + slack):
        return Verdict.REGRESSED
    if gain > tolerance + slack:
        return Verdict.CHANGED if two_sided else Verdict.IMPROVED
    if two_sided and abs(new - base) > tolerance + slack:
        return Verdict.CHANGED
    return Verdict.OK
