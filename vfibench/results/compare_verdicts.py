"""The record of a comparison: each pair's :class:`Verdict`, the :class:`Row` that holds it, the whole
:class:`Comparison`, and the summary line it carries (:func:`summary_line`, also in its JSON record).

:func:`vfibench.results.compare.compare_summaries` judges every (configuration, metric) pair of NEW,
the run under test, against BASE, the reference it must not fall behind, into one of these verdicts:

========================  ======================================================================  =====
verdict                   meaning                                                                 fails
========================  ======================================================================  =====
``ok``                    NEW is within the tolerance of BASE (a difference equal to it is too)   no
``improved``              NEW is better than BASE by more than the tolerance                      no
``regressed``             NEW is worse than BASE by more than the tolerance                       yes
``changed``               two-sided mode only: NEW moved beyond the tolerance, but not for the    yes
                          worse (an improvement, or a sharpness ratio that crossed its target)
``missing in new``        the configuration has results in BASE but none in NEW                   yes
``diverged``              the configuration diverged in NEW while BASE has results for it         yes
``failed``                the configuration failed (raised) in NEW while BASE has results for     yes
                          it; the note gives the reason
``missing metric``        BASE has a column for the metric, NEW has none                          yes
``lost value``            BASE has a value, NEW's cell is empty (the metric became unavailable,   yes
                          e.g. a backbone missing on the new machine, or the configuration did)
``new configuration``     the configuration has results in NEW only; reported, not checked        no
``no results``            the configuration has results in neither run (absent, not run yet,      no
                          diverged, failed or unavailable, in any mix); reported once, not
                          checked
``new metric``            NEW has a column for the metric, BASE has none; reported, not checked   no
``unavailable``           a value is absent in BASE, or in both (the metric could not be          no
                          computed there, or the configuration has results in NEW but none in
                          BASE: it diverged, failed or was unavailable there); reported and
                          counted, not checked
========================  ======================================================================  =====
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from vfibench.results import schema
from vfibench.words import counted

#: How many failures the summary line names before "and N more".
FAILURES_NAMED = 5


# -- verdicts ---------------------------------------------------------------------------------------
class Verdict(str, Enum):
    """The judgement of one (configuration, metric) pair; see the module docstring."""

    OK = "ok"
    IMPROVED = "improved"
    REGRESSED = "regressed"
    CHANGED = "changed"
    MISSING_IN_NEW = "missing in new"
    DIVERGED = schema.DIVERGED  # the configuration's status in NEW
    FAILED = schema.FAILED  # the configuration's status in NEW: it raised (the reason is in the note)
    MISSING_METRIC = "missing metric"
    LOST_VALUE = "lost value"
    NEW_CONFIGURATION = "new configuration"
    NEW_METRIC = "new metric"
    NO_RESULTS = "no results"
    UNAVAILABLE = "unavailable"

    @property
    def fails(self) -> bool:
        """Whether this verdict makes the comparison fail (exit code 1)."""
        return self in FAILING


FAILING = frozenset({Verdict.REGRESSED, Verdict.CHANGED, Verdict.MISSING_IN_NEW, Verdict.DIVERGED,
                     Verdict.FAILED, Verdict.MISSING_METRIC, Verdict.LOST_VALUE})
#: Verdicts about a whole configuration, counted once per configuration in the summary line.
CONFIG_VERDICTS = frozenset({Verdict.MISSING_IN_NEW, Verdict.DIVERGED, Verdict.FAILED, Verdict.NEW_CONFIGURATION,
                             Verdict.NO_RESULTS})
#: Verdicts about a whole metric column, counted once per metric in the summary line.
METRIC_VERDICTS = frozenset({Verdict.MISSING_METRIC, Verdict.NEW_METRIC})


# -- comparison -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """The judgement of one (configuration, metric) pair.

    ``base`` and ``new`` are the means (None where there is none), ``difference`` is new − base and
    ``tolerance`` the absolute tolerance applied (None where no numbers were compared).
    """

    config: str
    metric: str
    base: float | None
    new: float | None
    difference: float | None
    tolerance: float | None
    verdict: Verdict
    note: str = ""

    @property
    def fails(self) -> bool:
        return self.verdict.fails

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "metric": self.metric, "base": self.base, "new": self.new,
                "difference": self.difference, "tolerance": self.tolerance, "verdict": self.verdict.value,
                "fails": self.fails, "note": self.note}


@dataclass(frozen=True)
class Comparison:
    """Every judged (configuration, metric) pair of NEW against BASE, in BASE's order then NEW's."""

    new: Path
    base: Path
    rows: tuple[Row, ...]
    tolerances: Mapping[str, float]
    two_sided: bool = False
    notes: tuple[str, ...] = field(default=())
    #: What a row is: "configuration" (sweeps) or "model" (evaluations).
    noun: str = schema.ROW_NOUNS[schema.SWEEP]
    #: How NEW and BASE were not made the same way, where the comparison was allowed anyway (also among
    #: the notes): its verdict is on numbers that measure different things.
    setup_differences: tuple[str, ...] = field(default=())

    @property
    def failed(self) -> bool:
        """Whether any pair failed: the comparison's exit code is 1."""
        return any(row.fails for row in self.rows)

    @property
    def failures(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.fails)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the comparison (NaN-free: absent numbers are None)."""
        return {"new": str(self.new), "base": str(self.base), "passed": not self.failed,
                "two_sided": self.two_sided, "tolerances": dict(self.tolerances),
                "counts": verdict_counts(self), "summary": summary_line(self),
                "notes": list(self.notes), "setup_differences": list(self.setup_differences),
                "rows": [row.to_dict() for row in self.rows]}


# -- summary line -----------------------------------------------------------------------------------
def verdict_counts(comparison: Comparison) -> dict[str, int]:
    """How many of each verdict, counted as :func:`summary_line` counts them: (configuration, metric)
    pairs for per-metric verdicts, configurations for :data:`CONFIG_VERDICTS` (a configuration missing
    in NEW is one, not one per metric) and metrics for :data:`METRIC_VERDICTS`; only verdicts that
    occur, in :class:`Verdict` order."""
    counts = {}
    for verdict in Verdict:
        rows = [row for row in comparison.rows if row.verdict is verdict]
        keys = ({row.config for row in rows} if verdict in CONFIG_VERDICTS
                else {row.metric for row in rows} if verdict in METRIC_VERDICTS else rows)
        if keys:
            counts[verdict.value] = len(keys)
    return counts


def summary_line(comparison: Comparison) -> str:
    """One line for a CI log, e.g. ``vfibench compare: 2 regressed, 1 improved, 30 within tolerance — failed``,
    its counts those of :func:`verdict_counts`; it says so first when NEW and BASE were not made the same way."""
    occurring = verdict_counts(comparison)
    counts = {verdict: occurring.get(verdict.value, 0) for verdict in Verdict}
    parts = [f"{counts[verdict]} {text}" for verdict, text in
             ((Verdict.REGRESSED, "regressed"), (Verdict.CHANGED, "changed beyond tolerance"),
              (Verdict.IMPROVED, "improved"), (Verdict.OK, "within tolerance"))
             if counts[verdict] or verdict is not Verdict.CHANGED]
    noun = comparison.noun
    extras = [
        _plural(counts[Verdict.MISSING_IN_NEW], noun, "missing in new"),
        _plural(counts[Verdict.DIVERGED], noun, "diverged in new"),
        _plural(counts[Verdict.FAILED], noun, "failed in new"),
        _plural(counts[Verdict.MISSING_METRIC], "metric", "missing in new"),
        _plural(counts[Verdict.LOST_VALUE], "value", "lost in new"),
        _plural(counts[Verdict.NEW_CONFIGURATION], f"new {noun}", "(not checked)"),
        _plural(counts[Verdict.NO_RESULTS], noun, "with results in neither run (not checked)"),
        _plural(counts[Verdict.NEW_METRIC], "new metric", "(not checked)"),
        _plural(counts[Verdict.UNAVAILABLE], "value", "unavailable (not checked)"),
    ]
    text = ", ".join(parts + [extra for extra in extras if extra])
    head = "vfibench compare (runs not made the same way)" if comparison.setup_differences else "vfibench compare"
    if not comparison.failed:
        return f"{head}: {text} — passed"
    names = list(dict.fromkeys(_failure_name(row) for row in comparison.failures))
    shown = ", ".join(names[:FAILURES_NAMED]) + (f" and {len(names) - FAILURES_NAMED} more"
                                                  if len(names) > FAILURES_NAMED else "")
    return f"{head}: {text} — failed: {shown}"


def _failure_name(row: Row) -> str:
    """What failed, in a few words: ``"l1+perc lpips"``, ``"l1 (missing in new)"``, ``"lpips (missing metric)"``."""
    if row.verdict in CONFIG_VERDICTS:
        return f"{row.config} ({row.verdict.value})"
    if row.verdict in METRIC_VERDICTS:
        return f"{row.metric} ({row.verdict.value})"
    return f"{row.config} {row.metric}"


def _plural(count: int, noun: str, rest: str) -> str:
    """``"2 configurations missing in new"``, or "" for zero."""
    return f"{counted(count, noun)} {rest}" if count else ""
