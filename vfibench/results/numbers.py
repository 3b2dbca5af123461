"""How the tables print a metric's mean, and the mean as printed: the one owner of their decimals, so
that the best marks and the rankings tie exactly where the printed values do."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vfibench.metrics.records import metric_record

#: What a table prints where there is no value (NaN, no result, not applicable).
NO_VALUE = "—"


def format_number(value: float | None, metric: str) -> str:
    """Two decimals for dB-scale numbers (PSNR), four for the [0, 1]-scale indices; "—" for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NO_VALUE
    decimals = 2 if abs(value) >= 10 else 4
    return f"{value:.{decimals}f}"


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
