"""How the tables print a metric's mean, and the mean as printed: the one owner of their decimals, so
that the best marks and the rankings tie exactly where the printed values do."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vfibench.metrics.records import RECORDS_BY_NAME, metric_record

#: What a table prints where there is no value (NaN, no result, not applicable).
NO_VALUE = "—"


def decimals(metric: str, value: float) -> int:
    """The decimals ``metric``'s values print with: its record's (two for dB, four for the others),
    whatever the value's size; for a column no record describes, two from 10 up and four below."""
    record = RECORDS_BY_NAME.get(metric)
    if record is not None:
        return record.decimals
    return 2 if abs(value) >= 10 else 4


def format_number(value: float | None, metric: str) -> str:
    """``value`` with the :func:`decimals` of ``metric``; "—" for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NO_VALUE
    return f"{value:.{decimals(metric, value)}f}"


def format_change(value: float | None, metric: str) -> str:
    """A signed difference of ``metric`` with its :func:`decimals` and unit (``+0.41 dB``, ``-0.0032``); one
    too small for them in two significant digits (``+0.000026``), so that a difference that counts never
    reads as zero; "—" for NaN."""
    if value is None or not math.isfinite(value):
        return NO_VALUE
    text = format_signed(value, decimals(metric, value))
    record = RECORDS_BY_NAME.get(metric)
    return f"{text} {record.unit}" if record is not None and record.unit else text


def format_signed(value: float, places: int) -> str:
    """``value`` signed with ``places`` decimals, or in two significant digits where it is too small for
    them (``+0.0031`` at two places), so that a value that is not zero never reads as ``+0.00``."""
    if value and abs(value) < 0.5 * 10 ** -places:
        places = 1 - math.floor(math.log10(abs(value)))
    return f"{value:+.{places}f}" if places <= 6 else f"{value:+.1e}"


def printed_value(value: float, metric: str) -> float:
    """``value`` as the tables print it (:func:`format_number`), read back; NaN where it prints "—"."""
    text = format_number(value, metric)
    return math.nan if text == NO_VALUE else float(text)


def printed_goodness(values: Any, metric: str) -> np.ndarray:
    """How good each of ``values`` is by ``metric``'s record (larger is better), computed on the values
    as printed and rounded to 9 decimals (|0.9994 − 1| and |1.0006 − 1| differ in their last bits
    only): equal exactly where the tables print equal values."""
    shown = np.array([printed_value(float(v), metric) for v in np.asarray(values, dtype=np.float64).ravel()])
    return np.round(np.asarray(metric_record(metric).goodness(shown), dtype=np.float64), 9)
