"""The tolerances ``vfibench compare`` judges by: :func:`parse_tolerances` reads ``--tol`` values and
:func:`resolve_tolerances` completes them with the metric records' defaults.

Tolerances are **absolute**, in the metric's own unit (dB for PSNR), never relative. The defaults are
the metric records' :attr:`~vfibench.metrics.records.MetricRecord.tolerance`, sized to absorb the
floating-point differences between machines and library builds (summation order, BLAS kernels) that
make scores of the same frames differ in the third or fourth decimal, while still catching a change
that moves a mean by a visible amount. They are not a significance test: compare runs of the same
preset, seeds and torch threads, or evaluations against the same ground truth. Training compounds
rounding differences: units trained with another thread count (or on other hardware) can land as
far apart as two seeds — the notes say when the two runs' thread counts differ.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from vfibench.errors import VfiBenchError
from vfibench.metrics.records import RECORDS, metric_record, record_names

#: A tolerance as written: decimal digits with an optional point and exponent. Python's ``float`` also
#: reads digit separators (``1_0`` as 10), so a typo would silently become a tolerance ten times larger.
_DECIMAL = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")

#: The ``--tol`` key that sets the tolerance of every metric not named on its own.
DEFAULT_KEY = "default"


def parse_tolerances(specs: Iterable[str]) -> dict[str, float]:
    """Parse ``--tol`` values (``"psnr=0.1"``, or several joined by commas) into {metric: tolerance}.

    Metric names are checked against the registry (unknown names get suggestions); ``default=X``
    sets the tolerance of every metric not named. A name given twice is an error, not a choice
    between its values.
    """
    parsed: dict[str, float] = {}
    for spec in specs:
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                raise VfiBenchError(f"--tol {spec!r} has an empty item (two commas in a row, or a comma at an end). "
                                    f"Write e.g. --tol psnr=0.1,lpips=0.005.")
            name, equals, text = item.partition("=")
            name = name.strip().lower()
            if not equals or not name:
                raise VfiBenchError(
                    f"--tol '{item}' is not METRIC=VALUE. Write e.g. --tol psnr=0.1 --tol lpips=0.005, "
                    f"or --tol default=0.01 for every metric not named."
                )
            if name != DEFAULT_KEY:
                name = _tolerance_metric(item, name)
            value = _tolerance_value(item, text.strip())
            if name in parsed:
                raise VfiBenchError(
                    f"--tol gives {name} twice ({parsed[name]:g}, then {value:g} in '{item}'). Give each metric "
                    f"one tolerance, e.g. --tol {name}={value:g}."
                )
            parsed[name] = value
    return parsed


def _tolerance_metric(item: str, name: str) -> str:
    """The registered name of the metric in a ``--tol`` item."""
    try:
        return metric_record(name).name
    except VfiBenchError as err:
        raise VfiBenchError(f"--tol '{item}': {err} Or use default=VALUE for every metric not named.") from None


def _tolerance_value(item: str, text: str) -> float:
    """The number in a ``--tol`` item: a decimal number, finite and not negative."""
    unsigned = text[1:] if text[:1] in ("+", "-") else text
    if not _DECIMAL.fullmatch(unsigned) and unsigned.lower() not in ("inf", "infinity", "nan"):
        raise VfiBenchError(
            f"--tol '{item}': '{text}' is not a number. Give an absolute tolerance in the metric's unit as a "
            f"decimal number, e.g. --tol psnr=0.1 (dB) or --tol lpips=5e-3."
        )
    value = float(text)
    if not math.isfinite(value) or value < 0 or text.startswith("-"):  # -0 too: it would print as "-0 dB"
        raise VfiBenchError(
            f"--tol '{item}': the tolerance must be a finite number of at least 0 (got {text}). "
            f"Tolerances are absolute differences of the metric's mean, e.g. --tol psnr=0.1."
        )
    return value


def default_tolerances() -> dict[str, float]:
    """Every registered metric's default tolerance (:attr:`MetricRecord.tolerance`), in table order."""
    return {record.name: record.tolerance for record in RECORDS}


def resolve_tolerances(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The tolerance of every registered metric: the defaults, then ``default=``, then named values."""
    overrides = dict(overrides or {})
    fallback = overrides.pop(DEFAULT_KEY, None)
    table = default_tolerances()
    if fallback is not None:
        table = {name: fallback for name in record_names()}
    table.update(overrides)
    return table
