"""Frames whose score is decided by a metric's cap or by its lack of bound, named so that a mean they
move is not read as a model's.

Two cases, each owned by the metric's record (:mod:`vfibench.metrics.records`):

- ``cap``: a frame equal to its truth scores the cap where the metric itself is infinite (PSNR's
  100 dB): a mean over such frames depends on that arbitrary value (the standard-set protocols print
  ``inf`` instead);
- ``unbounded_above``: values above it come from a degenerate truth (the sharpness ratio over a
  nearly flat frame, a fade to black), where the ratio has no bound and one frame can outweigh all
  the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vfibench.metrics.records import metric_record
from vfibench.results.schema import CONFIG, FILE, SAMPLE, SEED
from vfibench.words import join_words, plural

#: How many rows a note names before "and N more".
NAMED = 3


def extreme_notes(per_sample: pd.DataFrame, metrics: Sequence[str], order: Sequence[str] | None = None) -> list[str]:
    """One note per metric with scored frames at its cap or above its bound (per-sample rows: one per
    sample and seed)."""
    notes = []
    for metric in metrics:
        record = metric_record(metric)
        if metric not in per_sample or (record.cap is None and record.unbounded_above is None):
            continue
        values = pd.to_numeric(per_sample[metric], errors="coerce")
        rows = per_sample.assign(_value=values)[np.isfinite(values)]
        names = rows[CONFIG].astype(str)
        if record.cap is not None:
            at_cap = rows["_value"] >= record.cap
            if at_cap.any():
                capped, scored = names[at_cap].value_counts(), names.value_counts()
                counts = [f"'{c}' {capped[c]} of {scored[c]}" for c in _in_order(names, order) if c in capped]
                notes.append(f"{record.label}: a frame equal to its truth scores {record.cap:g} {record.unit}".rstrip()
                             + f" (the metric itself is infinite there), and the means include such frames "
                             f"(of the frames each row scored: {_listed(counts[:NAMED], len(counts), 'row')}). A mean over them depends on that cap; "
                             f"per_sample.csv has every frame's score.")
        if record.unbounded_above is not None:
            wild = rows[rows["_value"] > record.unbounded_above].sort_values("_value", ascending=False, kind="mergesort")
            if len(wild):
                seeds = rows[SEED].nunique() > 1 if SEED in rows else False
                named = [f"'{row[CONFIG]}'{f' (seed {row[SEED]})' if seeds else ''} on {_frame(row)} "
                         f"({row['_value']:.{record.decimals}f})" for _, row in wild.head(NAMED).iterrows()]
                notes.append(f"{record.label} above {record.unbounded_above:g} comes from a truth with almost no "
                             f"gradient (a flat or faded frame), where the ratio has no bound: "
                             f"{_listed(named, len(wild), 'frame')}. "
                             f"Such a frame can outweigh all the others in a mean; per_sample.csv has every "
                             f"frame's value.")
    return notes


def _frame(row: pd.Series) -> str:
    """"'0001.png'" for an evaluation's file, "sample 3" for a sweep's test sample."""
    name = row.get(FILE)
    return f"'{name}'" if isinstance(name, str) and name else f"sample {row[SAMPLE]}"


def _in_order(configs: pd.Series, order: Sequence[str] | None) -> list[str]:
    present = list(pd.unique(configs))
    return [c for c in (order or []) if c in present] + [c for c in present if c not in (order or [])]


def _listed(named: list[str], total: int, noun: str) -> str:
    """The ``named`` items of ``total``, and "N more ``noun``s" for the rest."""
    more = total - len(named)
    return join_words(named + ([f"{more} more {plural(noun, more)}"] if more > 0 else []))
