"""The results schema: every table name, column, row kind and status of a vfibench run, and the readers
that check a table against it. Every module that writes or reads results spells these through here.

``summary.csv`` — one row per configuration (a sweep) or per model (an evaluation)::

    config    the loss configuration's canonical string, a reference's name, or an evaluated model's name
    kind      trained | reference | evaluated                                  (:data:`KINDS`)
    status    complete | partial | diverged | failed | unavailable | missing  (:data:`STATUSES`)
    reason    why a row is not complete (sweeps; absent in evaluations and in runs older than resuming)
    seeds     how many training seeds have results
    samples   how many test samples have results
    <metric>_mean, <metric>_std, <metric>_ci_low, <metric>_ci_high           (:data:`STATISTICS`)

``per_sample.csv`` — one row per (configuration, seed, test sample): :data:`SAMPLE_KEYS`, for an
evaluation the ``file`` it scored, one column per metric, and for a sweep the sample's
:data:`SAMPLE_ATTRIBUTES`. ``train_log.csv`` — :data:`LOG_KEYS`, then one column per loss term.

A sweep writes rows of the kinds ``trained`` and ``reference``; an evaluation only ``evaluated``
rows (:data:`RUN_OF_KIND`), so a summary is of one run kind. :func:`read_summary` and
:func:`read_per_sample` are the only readers of these tables; they raise a
:class:`~vfibench.errors.ResultsError` (exit code 2) that names the file and what is wrong. Every
summary vfibench has written reads unchanged: ``reason`` is optional, and a metric may carry only
some of its statistics (a committed baseline trimmed to its means is still a summary).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from vfibench.errors import ResultsError
from vfibench.metrics.records import metric_record, record_names
from vfibench.words import counted, join_words, plural

# -- files ------------------------------------------------------------------------------------------
SUMMARY_FILE = "summary.csv"
SUMMARY_MARKDOWN = "summary.md"
PER_SAMPLE_FILE = "per_sample.csv"
TRAIN_LOG_FILE = "train_log.csv"
#: An evaluation's PSNR and SSIM under each requested protocol (``eval --protocols``): config, sample,
#: file, protocol, psnr, ssim.
PROTOCOLS_FILE = "protocols.csv"

#: The version of the results layout this release writes (a manifest's ``schema_version``) and the newest it
#: reads: a run written by a newer release may hold what this one would misread.
SCHEMA_VERSION = 1

# -- kinds of run (the manifest's "kind") and of row (the tables' "kind" column) ---------------------
SWEEP = "sweep"
EVALUATION = "eval"


def run_kind(manifest: Mapping[str, Any]) -> str:
    """The kind of run a manifest describes; manifests from before evaluations existed are sweeps."""
    return str(manifest.get("kind", SWEEP))


TRAINED = "trained"
REFERENCE = "reference"
EVALUATED = "evaluated"
#: Every row kind and what it is.
KINDS: Mapping[str, str] = MappingProxyType({
    TRAINED: "a loss configuration trained by `vfibench run`, one model per seed",
    REFERENCE: "an untrained reference of a sweep (blend, nearest), scored beside the trained rows and never "
               "ranked among them",
    EVALUATED: "a model's frames on disk, scored by `vfibench eval` (seed 0)",
})
#: The reference rows' names (computed by :mod:`vfibench.references`): the average of the inputs
#: weighted by time, and the input nearer in time.
BLEND, NEAREST = "blend", "nearest"
#: What each reference row is, in a few words for captions (:mod:`vfibench.references` computes them).
REFERENCE_DESCRIPTIONS = {BLEND: "the average of the two inputs, weighted by time",
                          NEAREST: "the input closer in time (the first at the midpoint), repeated"}
#: The run kind that writes each row kind.
RUN_OF_KIND: Mapping[str, str] = MappingProxyType({TRAINED: SWEEP, REFERENCE: SWEEP, EVALUATED: EVALUATION})
#: The run kinds in words, for messages.
RUN_NAMES: Mapping[str, str] = MappingProxyType({SWEEP: "a sweep (`vfibench run`)",
                                                 EVALUATION: "an evaluation (`vfibench eval`)"})
#: What one row of each run kind's tables is, for messages: a sweep's configuration, an evaluation's model.
ROW_NOUNS: Mapping[str, str] = MappingProxyType({SWEEP: "configuration", EVALUATION: "model"})

# -- statuses ---------------------------------------------------------------------------------------
COMPLETE = "complete"
PARTIAL = "partial"
DIVERGED = "diverged"
FAILED = "failed"
UNAVAILABLE = "unavailable"
MISSING = "missing"
#: Every status of a summary row and what it means.
STATUSES: Mapping[str, str] = MappingProxyType({
    COMPLETE: "every seed has results",
    PARTIAL: "only some seeds have results (an interrupted sweep); resuming completes it",
    DIVERGED: "the training loss, or the optimiser's state, became NaN or infinite; no results",
    FAILED: "training or scoring raised an error (its reason says which); no results",
    UNAVAILABLE: "a pretrained backbone the configuration needs is missing (--skip-unavailable); no results",
    MISSING: "not run yet (an interrupted sweep); no results",
})
#: Statuses that get a note under the table, with their reason.
NOTED_STATUSES = (DIVERGED, FAILED, UNAVAILABLE, PARTIAL)
#: Statuses of a row without values.
NO_RESULTS = (DIVERGED, FAILED, UNAVAILABLE, MISSING)
#: What a finished unit's ``unit.json`` may say about it.
UNIT_STATUSES = (COMPLETE, DIVERGED, FAILED)
#: The key of ``unit.json`` that lists the tables written with it (per_sample.csv, train_log.csv), which
#: must still be there: a unit without one of them was damaged, and its results would silently go missing.
UNIT_TABLES = "tables"
#: The key of ``unit.json`` that holds each of those tables' row count: a table cut short at a line boundary
#: parses cleanly, and the run's tables gathered from it would be wrong under a "complete" status.
UNIT_ROWS = "rows"
#: A run manifest's ``status``: while a sweep runs, after it was stopped, once every unit finished;
#: FAILED when the file system refused a write (its ``reason`` says why; ``--resume`` finishes it).
RUNNING = "running"
INTERRUPTED = "interrupted"
#: Every status a run manifest may hold.
RUN_STATUSES = (RUNNING, INTERRUPTED, COMPLETE, FAILED)


def manifest_problem(manifest: Mapping[str, Any]) -> str | None:
    """Why this release cannot read a vfibench run manifest, as the end of a sentence naming it; None when
    it can: a ``schema_version`` newer than :data:`SCHEMA_VERSION` (a newer release wrote it), or one, a
    ``kind`` or a ``status`` that no release writes (the file was damaged or edited)."""
    from vfibench import __version__

    damaged = "The run directory is damaged or the file was edited; re-run it or restore the file."
    version = manifest.get("schema_version", SCHEMA_VERSION)  # manifests before the field were version 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return f"has the schema_version {version!r}, which no release of vfibench writes. {damaged}"
    if version > SCHEMA_VERSION:
        return (f"was written by a newer release of vfibench (results schema version {version}; vfibench "
                f"{__version__} reads up to version {SCHEMA_VERSION}). Upgrade vfibench to read it.")
    kind = manifest.get("kind", SWEEP)
    if not isinstance(kind, str) or kind not in RUN_NAMES:
        kinds = join_words([repr(name) for name in RUN_NAMES], "nor")
        return f"says the run's kind is {kind!r}, which is neither {kinds}. {damaged}"
    status = manifest.get("status")
    if status not in RUN_STATUSES:
        statuses = join_words([repr(name) for name in RUN_STATUSES], "or")
        return f"says the run's status is {status!r}, which is none of {statuses}. {damaged}"
    return None


#: A configuration's status in a sweep manifest while the sweep runs (or UNAVAILABLE); once it stops,
#: its status in summary.csv.
PLANNED = "planned"

# -- columns ----------------------------------------------------------------------------------------
CONFIG = "config"
KIND = "kind"
STATUS = "status"
REASON = "reason"
SEEDS = "seeds"
SAMPLES = "samples"
#: Columns every summary.csv has before its metric columns.
SUMMARY_KEYS = (CONFIG, KIND, STATUS, SEEDS, SAMPLES)
#: Where the optional ``reason`` column goes (after ``status``).
REASON_POSITION = SUMMARY_KEYS.index(STATUS) + 1

MEAN = "mean"
STD = "std"
CI_LOW = "ci_low"
CI_HIGH = "ci_high"
#: Every per-metric statistic of a summary and what it is.
STATISTICS: Mapping[str, str] = MappingProxyType({
    MEAN: "mean over seeds of each seed's mean over the test samples",
    STD: "standard deviation of the per-seed means (ddof = 1; empty with one seed)",
    CI_LOW: "lower end of the 95% percentile-bootstrap interval of the mean over samples",
    CI_HIGH: "upper end of that interval",
})
#: Statistics that estimate the metric itself, so they lie in the metric's valid range.
LOCATION_STATISTICS = (MEAN, CI_LOW, CI_HIGH)
_SEPARATOR = "_"

SEED = "seed"
SAMPLE = "sample"
FILE = "file"
#: Columns of per_sample.csv before the metric columns.
SAMPLE_KEYS = (CONFIG, KIND, SEED, SAMPLE)
#: Columns of an evaluation's per_sample.csv after the keys: the frame's path relative to the ground
#: truth, or the test set's sample id.
SAMPLE_LABELS = (FILE,)
#: Columns of names, read as the text written (never as numbers or missing values).
NAME_COLUMNS = (CONFIG, FILE)

AMBIGUITY = "ambiguity_px"
MOTION = "motion_px"
OCCLUDED = "occluded"
#: Columns of per_sample.csv after the metrics: what made each test sample hard (NaN where unknown).
SAMPLE_ATTRIBUTES = (AMBIGUITY, MOTION, OCCLUDED)
#: What each sample attribute measures (a sweep's manifest records these sentences).
ATTRIBUTE_MEANINGS: Mapping[str, str] = MappingProxyType({
    AMBIGUITY: "largest deviation (px) of any layer at t from its straight, uniform-speed path (what I0 and I1 "
               "cannot tell)",
    MOTION: "largest displacement (px) of any scene point between I0 and I1 (real data: 99th percentile of the "
            "DIS optical-flow magnitude)",
    OCCLUDED: "share of the middle frame's pixels hidden in I0 or in I1",
})
#: Each sample attribute's (label, unit), as tables and figures show it.
ATTRIBUTE_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType({
    AMBIGUITY: ("ambiguity", "px"),
    MOTION: ("motion", "px"),
    OCCLUDED: ("occluded share", ""),
})

STEP = "step"
LEARNING_RATE = "lr"
TOTAL = "total"
#: Columns of train_log.csv before the per-term columns.
LOG_KEYS = (CONFIG, SEED, STEP, LEARNING_RATE, TOTAL)
#: The metrics scored on the held-out scenes during training, when the run measures them, and the
#: prefix of their train_log.csv columns (``val_psnr``).
HELD_OUT_METRICS = ("psnr", "lpips")
HELD_OUT_PREFIX = "val_"
#: The train_log.csv columns of an adversarial term's discriminator step: its loss, and its accuracy (not a loss).
DISCRIMINATOR_LOSS = "adv_d_loss"
DISCRIMINATOR_ACCURACY = "adv_d_accuracy"


def resumed_executors(manifest: Mapping[str, Any]) -> list[Any]:
    """What each resume's ``resumed`` entry says of its executor, in order: its record (a mapping), or, in a
    run resumed before the entries held records, the executor's name (the manifest's own record was then
    overwritten by each of those sessions)."""
    return [entry.get("executor") for entry in manifest.get("resumed") or [] if isinstance(entry, Mapping)]


def latest_executor(manifest: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The executor record of a sweep's latest session: the last resume's record, else the manifest's own
    (the first session's; or the latest one's where the last resume recorded only a name, as versions
    before the record did, overwriting the manifest's); None without any record."""
    sessions = resumed_executors(manifest)
    record = sessions[-1] if sessions and isinstance(sessions[-1], Mapping) else manifest.get("executor")
    return record if isinstance(record, Mapping) else None


def latest_tensorboard(manifest: Mapping[str, Any]) -> str | None:
    """The folder a sweep's latest session logged to for TensorBoard (``--tensorboard``): the last resume's
    ``tensorboard`` entry, else the manifest's own (the first session's); None when it logged nowhere or
    the run was recorded before the entry existed."""
    entries = [entry for entry in manifest.get("resumed") or []
               if isinstance(entry, Mapping) and "tensorboard" in entry]
    folder = entries[-1]["tensorboard"] if entries else manifest.get("tensorboard")
    return folder if isinstance(folder, str) and folder else None


def training_threads(manifest: Mapping[str, Any]) -> int | None:
    """The torch threads per unit a sweep's units trained with on the CPU (the manifest's executor
    record), or None: an evaluation, a run on an accelerator, or a manifest without the record.

    On a CPU the thread count is part of what a unit trains to: it sets the order of floating-point
    sums, and training compounds the differences.
    """
    if not str(manifest.get("device", "")).startswith("cpu"):
        return None
    executor = manifest.get("executor")
    threads = executor.get("threads_per_unit") if isinstance(executor, Mapping) else None
    return threads if is_whole_number(threads) and threads >= 1 else None


def recorded_seeds(manifest: Mapping[str, Any]) -> list[int] | None:
    """The seeds a sweep's manifest lists, sorted (older runs listed them in any order); None when it lists
    none or the entry is not a list of whole numbers (an evaluation, a hand-edited manifest)."""
    seeds = manifest.get("seeds")
    if not isinstance(seeds, list) or not seeds or not all(is_whole_number(seed) for seed in seeds):
        return None
    return sorted(seeds)


def unfingerprinted_splits(manifest: Mapping[str, Any]) -> list[str]:
    """The splits ("train", "test") of a sweep's real data that its manifest records no fingerprint of:
    a run started before vfibench recorded them, which a resume refuses
    (:func:`vfibench.sweep.data.check_same_data`). Synthetic scenes need none."""
    data = manifest.get("data")
    found = []
    for split in ("train", "test"):
        entry = data.get(split) if isinstance(data, Mapping) else None
        dataset = entry.get("dataset") if isinstance(entry, Mapping) else None
        kind = re.match(r"\s*([A-Za-z][A-Za-z0-9_]*)", dataset) if isinstance(dataset, str) else None
        if kind and kind.group(1).lower() != "synthetic" and not entry.get("fingerprint"):
            found.append(split)
    return found


def is_whole_number(value: Any) -> bool:
    """Whether a manifest value is an integer (JSON's ``true`` is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def column(metric: str, statistic: str) -> str:
    """The summary column of one statistic of a metric: ``column("lpips", "ci_low")`` → ``"lpips_ci_low"``."""
    if statistic not in STATISTICS:
        raise ValueError(f"unknown summary statistic {statistic!r}; one of {', '.join(STATISTICS)}")
    return f"{metric}{_SEPARATOR}{statistic}"


def parse_column(name: str) -> tuple[str, str] | None:
    """(metric, statistic) of a summary column, e.g. ``"lpips-vgg_ci_low"`` → ``("lpips-vgg", "ci_low")``;
    None for a column that is no metric statistic (``config``, ``seeds``, …). The metric is not checked."""
    for statistic in sorted(STATISTICS, key=len, reverse=True):  # ci_low before a shorter suffix
        suffix = _SEPARATOR + statistic
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], statistic
    return None


def metric_columns(metrics: Iterable[str]) -> list[str]:
    """Every statistic column of ``metrics``, metric by metric, in :data:`STATISTICS` order."""
    return [column(metric, statistic) for metric in metrics for statistic in STATISTICS]


def sample_metric_columns(columns: Iterable[Any]) -> list[str]:
    """The metric columns of a per-sample table: all but its keys, labels and sample attributes."""
    other = {*SAMPLE_KEYS, *SAMPLE_LABELS, *SAMPLE_ATTRIBUTES}
    return [str(c) for c in columns if c not in other]


def is_ranked(kind: str) -> bool:
    """Whether rows of ``kind`` compete for "best" and for the grids (everything but references)."""
    return kind != REFERENCE


# -- reading CSV tables -----------------------------------------------------------------------------
def read_csv(path: Path, required: Sequence[str] = ()) -> pd.DataFrame:
    """Read a results CSV, turning any problem into a ResultsError that names the file.

    Besides what pandas rejects, a table is refused as truncated when a line has fewer fields than
    the header (pandas would silently fill them with NaN) or when its last line lacks its newline
    (a number may have been cut short); vfibench writes every table whole, newline included.
    """

    def unreadable(problem: str) -> ResultsError:
        return ResultsError(
            f"'{path}' cannot be read as a CSV table ({problem}). The file is damaged or was not written "
            f"by vfibench; re-run the step that writes it."
        )

    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ResultsError(f"'{path}' does not exist.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise unreadable(str(err).strip() or type(err).__name__) from None
    _check_complete_lines(text, unreadable)
    try:
        frame = pd.read_csv(io.StringIO(text))
        names = [column for column in NAME_COLUMNS if column in frame.columns]
        if names:  # read as written: a model named NA or 007 stays 'NA' and '007', not NaN and 7
            frame[names] = pd.read_csv(io.StringIO(text), usecols=names, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise unreadable(str(err).strip() or type(err).__name__) from None
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise ResultsError(
            f"'{path}' lacks the {plural('column', len(missing))} {', '.join(missing)} that a vfibench table has "
            f"(it has: {', '.join(map(str, frame.columns)) or 'none'}). It was not written by vfibench "
            f"or is from an incompatible version."
        )
    return frame


def _check_complete_lines(text: str, unreadable: Callable[[str], ResultsError]) -> None:
    """Raise ``unreadable(problem)`` when ``text`` looks truncated: a short line, or no final newline."""
    if not text.strip():
        raise unreadable("the file is empty")
    if not text.endswith("\n"):
        raise unreadable("its last line does not end with a newline, so the file was cut short")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise unreadable(str(err)) from None
    width = len(rows[0])
    for number, row in enumerate(rows[1:], start=2):
        if row and len(row) < width:
            raise unreadable(f"line {number} has {len(row)} fields but the header has {width}, so the file "
                             f"was cut short")


# -- summaries --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SummaryRow:
    """One validated row of a summary: a configuration's (or model's) outcome and statistics.

    ``values`` maps each statistic column present (``"psnr_mean"``, …) to its value, NaN where empty.
    """

    config: str
    kind: str
    status: str
    reason: str
    seeds: int
    samples: int
    values: Mapping[str, float]

    def value(self, metric: str, statistic: str = MEAN) -> float:
        """A statistic of a metric; NaN when the cell is empty or the summary has no such column."""
        return self.values.get(column(metric, statistic), math.nan)

    def mean(self, metric: str) -> float:
        return self.value(metric, MEAN)

    @property
    def has_results(self) -> bool:
        """Whether the row has any results (complete, or partial)."""
        return self.status not in NO_RESULTS


@dataclass(frozen=True)
class Summary:
    """A validated summary.csv.

    Attributes:
        path: the file it was read from.
        frame: the table, normalised: ``config`` as text, ``seeds`` and ``samples`` as integers, every
            statistic column as float (NaN where empty); other columns as read.
        metrics: the metrics with a ``<metric>_mean`` column, in column order.
        rows: one :class:`SummaryRow` per line, in file order.
    """

    path: Path
    frame: pd.DataFrame
    metrics: tuple[str, ...]
    rows: tuple[SummaryRow, ...]

    def get(self, config: str) -> SummaryRow | None:
        """The row of ``config``, or None."""
        return next((row for row in self.rows if row.config == config), None)

    @property
    def configs(self) -> tuple[str, ...]:
        return tuple(row.config for row in self.rows)

    @property
    def run_kind(self) -> str:
        """:data:`SWEEP` or :data:`EVALUATION`: the kind of run that wrote the summary."""
        return RUN_OF_KIND[self.rows[0].kind]


def dangling_link(link: Path) -> str:
    """``'results/latest' points at '…', which no longer exists (the run was moved or deleted)``."""
    return f"'{link}' points at '{os.readlink(link)}', which no longer exists (the run was moved or deleted)"


def summary_path(path: Path) -> Path:
    """The summary.csv that ``path`` names: the file itself, or the one in a run directory.

    A ResultsError when there is none, with a hint when ``path`` is a folder of runs.
    """
    if not path.exists():
        if path.is_symlink():
            raise ResultsError(f"{dangling_link(path)}. Pass a run directory that holds a {SUMMARY_FILE} or the "
                               f"path of a {SUMMARY_FILE} file.")
        raise ResultsError(
            f"'{path}' does not exist. Pass a run directory that holds a {SUMMARY_FILE} (such as results/latest) "
            f"or the path of a {SUMMARY_FILE} file."
        )
    if not path.is_dir():
        return path
    found = path / SUMMARY_FILE
    if not found.is_file():
        from vfibench.results.store import LATEST

        hint = (f" It looks like a results folder; did you mean '{path / LATEST}'?"
                if (path / LATEST / SUMMARY_FILE).is_file() else "")
        raise ResultsError(
            f"'{path}' is a directory without a {SUMMARY_FILE}: it is not a finished vfibench run.{hint} Pass a "
            f"run directory written by `vfibench run` or `vfibench eval`, or the path of a {SUMMARY_FILE} file."
        )
    return found


def read_summary(path: Path) -> Summary:
    """Read and validate a summary: a summary.csv file, or a run directory holding one.

    Raises:
        ResultsError: the file is absent, unreadable or truncated, or breaks the schema (a missing or
            unknown column, a kind or status vfibench does not write, a count that is no whole number,
            a statistic that is no number or lies outside what its metric can take, a repeated
            configuration, rows of both a sweep and an evaluation); the message names the file.
    """
    path = summary_path(Path(path))
    return validate_summary(read_csv(path, required=SUMMARY_KEYS), path)


def validate_summary(frame: pd.DataFrame, path: Path) -> Summary:
    """Check a summary table read from ``path`` against the schema (see :func:`read_summary`)."""

    def fail(problem: str) -> ResultsError:
        return ResultsError(
            f"'{path}' is not a valid vfibench {SUMMARY_FILE}: {problem}. The file is truncated, was edited by "
            f"hand or was not written by vfibench; write it again with `vfibench run` or `vfibench eval` (a "
            f"sweep's summary is rebuilt from its units when the file is deleted and `vfibench report` runs)."
        )

    missing = [name for name in SUMMARY_KEYS if name not in frame.columns]
    if missing:
        raise fail(f"it lacks the {plural('column', len(missing))} {', '.join(missing)}")
    if frame.empty:
        raise fail("it has a header but no rows")
    statistics = _statistic_columns(frame, fail)
    metrics = tuple(dict.fromkeys(metric for metric, statistic in statistics.values() if statistic == MEAN))
    if not metrics:
        raise fail(f"it has no metric columns (<metric>{_SEPARATOR}{MEAN}, e.g. {column('psnr', MEAN)})")
    rows = tuple(_summary_row(record, line, statistics, fail)
                 for line, record in enumerate(frame.to_dict("records"), start=2))
    seen: set[str] = set()
    for row in rows:
        if row.config in seen:
            raise fail(f"the configuration '{row.config}' appears more than once")
        seen.add(row.config)
    runs = {RUN_OF_KIND[row.kind] for row in rows}
    if len(runs) > 1:
        evaluated = next(row.config for row in rows if RUN_OF_KIND[row.kind] == EVALUATION)
        trained = next(row.config for row in rows if RUN_OF_KIND[row.kind] == SWEEP)
        raise fail(f"it mixes rows of a sweep ('{trained}') with rows of an evaluation ('{evaluated}'), which "
                   f"vfibench never writes into one table")
    normalised = frame.copy()
    normalised[CONFIG] = [row.config for row in rows]
    for name in (SEEDS, SAMPLES):
        normalised[name] = [getattr(row, name) for row in rows]
    for name in statistics:
        normalised[name] = [row.values[name] for row in rows]
    return Summary(path=path, frame=normalised, metrics=metrics, rows=rows)


def _statistic_columns(frame: pd.DataFrame, fail: Callable[[str], ResultsError]) -> dict[str, tuple[str, str]]:
    """column → (metric, statistic) for every metric column; an error for any column the schema lacks."""
    found: dict[str, tuple[str, str]] = {}
    known = record_names()
    for name in map(str, frame.columns):
        if name in SUMMARY_KEYS or name == REASON:
            continue
        parsed = parse_column(name)
        if parsed is None:
            raise fail(f"it has the column '{name}', which is not a column of a summary (expected "
                       f"{', '.join(SUMMARY_KEYS)}, optionally {REASON}, then per metric "
                       f"{', '.join('<metric>' + _SEPARATOR + s for s in STATISTICS)})")
        if parsed[0] not in known:
            raise fail(f"the column '{name}' is for a metric '{parsed[0]}' this version of vfibench does not know "
                       f"(known: {', '.join(known)})")
        found[name] = parsed
    means = {metric for metric, statistic in found.values() if statistic == MEAN}
    orphans = [name for name, (metric, _) in found.items() if metric not in means]
    if orphans:
        raise fail(f"it has the column '{orphans[0]}' but no '{column(found[orphans[0]][0], MEAN)}'")
    return found


def _summary_row(record: Mapping[str, Any], line: int, statistics: Mapping[str, tuple[str, str]],
                 fail: Callable[[str], ResultsError]) -> SummaryRow:
    """One validated row; ``line`` is its line number in the file (the header is line 1)."""
    config = record[CONFIG]
    if _is_empty(config) or not str(config).strip():
        raise fail(f"line {line} has no configuration name")
    config = str(config).strip()
    kind, status = record[KIND], record[STATUS]
    if kind not in KINDS:
        raise fail(f"line {line} ('{config}') has {KIND} {_shown(kind)}, not one of {', '.join(KINDS)}")
    if status not in STATUSES:
        raise fail(f"line {line} ('{config}') has {STATUS} {_shown(status)}, not one of {', '.join(STATUSES)}")
    counts: dict[str, int] = {}
    for name in (SEEDS, SAMPLES):
        value = _number(record[name])
        if value is None or not math.isfinite(value) or value < 0 or value != int(value):
            raise fail(f"line {line} ('{config}') has {name} {_shown(record[name])}, not a whole number")
        counts[name] = int(value)
    values: dict[str, float] = {}
    for name, (metric, statistic) in statistics.items():
        raw = record[name]
        value = _number(raw)
        if value is None:
            raise fail(f"line {line} ('{config}') has {name} {_shown(raw)}, not a number")
        if not math.isnan(value):
            low, high = metric_record(metric).valid_range if statistic in LOCATION_STATISTICS else (0.0, math.inf)
            if math.isinf(value) or not low <= value <= high:
                raise fail(f"line {line} ('{config}') has {name} {_shown(raw)}, outside the values it can take "
                           f"({low:g} to {high:g})")
        values[name] = value
    reason = record.get(REASON)
    return SummaryRow(config=config, kind=str(kind), status=str(status),
                      reason="" if _is_empty(reason) else str(reason), seeds=counts[SEEDS],
                      samples=counts[SAMPLES], values=MappingProxyType(values))


def _is_empty(value: Any) -> bool:
    """Whether a cell read by pandas is empty (None or NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> float | None:
    """``value`` as a float (NaN for an empty cell), or None if it is not a number."""
    if _is_empty(value):
        return math.nan
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _shown(value: Any) -> str:
    """A cell value for an error message; an empty cell reads 'an empty cell'."""
    if _is_empty(value):
        return "an empty cell"
    return repr(str(value))


# -- per-sample tables ------------------------------------------------------------------------------
def check_summary_rows(summary: pd.DataFrame, manifest: Mapping[str, Any], path: Path) -> None:
    """A ResultsError unless ``summary`` has one row for each row its run's manifest lists (``order``): a
    summary cut short at a line boundary, or with a row deleted, parses cleanly and would leave the
    configuration out of every table drawn from it, while the analyses drawn from per_sample.csv keep it."""
    order = manifest.get("order")
    if not isinstance(order, list) or not order:  # an older run, or a manifest that says nothing of its rows
        return
    listed, found = [str(c) for c in order], [str(c) for c in summary[CONFIG]]
    lost, foreign = [c for c in listed if c not in found], [c for c in found if c not in listed]
    if not lost and not foreign:
        return
    rows = "a row" if len(foreign) == 1 else "rows"
    problem = (f"lacks the {plural('row', len(lost))} of {join_words([repr(c) for c in lost])}, which its run's "
               f"manifest lists" if lost else
               f"holds {rows} for {join_words([repr(c) for c in foreign])}, which its run's manifest does not list")
    raise ResultsError(f"'{path}' {problem}: the file was cut short, edited or copied from another run. Delete it: "
                       f"`vfibench report` rebuilds a sweep's from its units/ (an evaluation must be run again).")


def check_per_sample_complete(per_sample: pd.DataFrame, summary: pd.DataFrame, path: Path) -> None:
    """A ResultsError unless ``per_sample`` holds seeds × samples rows for every configuration the summary
    calls complete: a per-sample table cut short at a line boundary parses cleanly, and the statistics
    drawn from it would then contradict the summary table beside them."""
    counts = per_sample.groupby(CONFIG).size()
    for row in summary.to_dict("records"):
        if row[STATUS] != COMPLETE:
            continue
        config, expected = str(row[CONFIG]), int(row[SEEDS]) * int(row[SAMPLES])
        found = int(counts.get(config, 0))
        if found != expected:
            raise ResultsError(
                f"'{path}' holds {counted(found, 'row')} for '{config}', but summary.csv records "
                f"{counted(int(row[SEEDS]), 'seed')} × "
                f"{row[SAMPLES]} samples = {expected} for it; the file was cut short or edited. Delete it and "
                f"run the command again: a sweep rebuilds it from its units/ (an evaluation must be run again).")


def read_train_log(path: Path, per_sample: pd.DataFrame, steps: Any = None) -> pd.DataFrame:
    """Read a sweep's train_log.csv and check it against ``per_sample``: every trained configuration and seed
    with scores has logged rows up to the last step, ``steps`` (the manifest's; else the last step logged),
    which every finished unit logs. A log cut at a line boundary parses cleanly, and its curves, "mean over
    seeds", would silently show fewer, or a shorter training."""
    log = read_csv(path, required=LOG_KEYS)
    trained = per_sample[per_sample[KIND] == TRAINED][[CONFIG, SEED]].drop_duplicates()
    if trained.empty:
        return log
    logged = pd.to_numeric(log[STEP], errors="coerce")
    last = log.assign(**{STEP: logged}).groupby([log[CONFIG].astype(str), log[SEED]])[STEP].max()
    final = steps if is_whole_number(steps) else logged.max()
    ended = {(config, seed): last.get((config, seed), -1)
             for config, seed in zip(trained[CONFIG].astype(str), trained[SEED])}
    short = [f"'{config}' seed {seed}" for (config, seed), step in ended.items() if not step >= final]
    beyond = [f"'{config}' seed {seed}" for (config, seed), step in ended.items() if step > final]
    rebuild = "Delete it and run the command again: a sweep rebuilds it from its units/."
    if short:
        upto = f" up to its last step ({final:g})" if isinstance(final, (int, float)) and math.isfinite(final) else ""
        raise ResultsError(
            f"'{path}' lacks the training log of {join_words(short[:3])}{' and more' if len(short) > 3 else ''}{upto}, "
            f"though the run has their scores; the file was cut short or edited. {rebuild}")
    if beyond:
        raise ResultsError(
            f"'{path}' logs {join_words(beyond[:3])}{' and more' if len(beyond) > 3 else ''} beyond the run's last "
            f"step ({final:g}); the file was edited or copied from another run. {rebuild}")
    return log


def read_per_sample(path: Path, metrics: Sequence[str], unavailable: Mapping[str, str]) -> pd.DataFrame:
    """Read and check a run's per_sample.csv: key columns, known kinds, whole seeds and samples, and a
    numeric column per metric of ``metrics`` (one listed in ``unavailable`` may be absent or empty;
    every other value is finite).

    Returns the table with ``config`` as text, ``seed`` and ``sample`` as integers and the metrics as
    floats. Raises a ResultsError naming the file and the first bad cell.
    """
    frame = read_csv(path, required=SAMPLE_KEYS)

    def damaged(problem: str) -> ResultsError:
        return ResultsError(f"'{path}' {problem}; the file is damaged or was not written by vfibench. Re-run the "
                            f"sweep or the evaluation that wrote it (a sweep's tables are rebuilt from its units "
                            f"when the file is deleted).")

    for key in (SEED, SAMPLE):
        values = pd.to_numeric(frame[key], errors="coerce")
        if values.isna().any() or not np.all(np.mod(values, 1) == 0):
            row = int(np.flatnonzero(values.isna().to_numpy() | (np.mod(values.fillna(0.5), 1) != 0))[0])
            raise damaged(f"has a non-integer {key} '{frame[key].iloc[row]}' in data row {row + 1}")
        frame[key] = values.astype(int)
    foreign = ~frame[KIND].isin(list(KINDS))
    if foreign.any():
        row = int(np.flatnonzero(foreign.to_numpy())[0])
        raise damaged(f"has the {KIND} {_shown(frame[KIND].iloc[row])} in data row {row + 1}, not one of "
                      f"{', '.join(KINDS)}")
    frame[CONFIG] = frame[CONFIG].astype(str)
    for metric in metrics:
        if metric not in frame:
            if metric in unavailable:
                frame[metric] = float("nan")
                continue
            raise ResultsError(f"'{path}' lacks the metric column '{metric}' that the run's manifest lists; the run "
                               f"directory is inconsistent. Re-run the sweep or the evaluation that wrote it.")
        values = pd.to_numeric(frame[metric], errors="coerce")
        bad = values.isna() & frame[metric].notna()
        if metric not in unavailable:  # every computed value is finite (PSNR has a floor): others are damage
            bad |= ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise damaged(f"holds '{frame[metric].iloc[row]}' in the numeric column '{metric}' (data row {row + 1}), "
                          f"where every value is a finite number")
        frame[metric] = values.astype(float)
    return frame


#: The columns of ``protocols.csv`` (:data:`PROTOCOLS_FILE`) after the keys.
PROTOCOL, PROTOCOL_SCORES = "protocol", ("psnr", "ssim")


def read_protocols(path: Path, configs: Sequence[str]) -> pd.DataFrame:
    """Read and check an evaluation's ``protocols.csv``: its columns, at least one row, a number (finite,
    or +inf for a frame equal to its truth under an uncapped protocol) in every psnr and ssim cell, only
    models among the run's ``configs``, and rows for every model under every protocol.

    Returns the rows with string names and float scores. Raises a ResultsError naming the file and the
    first problem.
    """
    rows = read_csv(path, required=(CONFIG, PROTOCOL, *PROTOCOL_SCORES))

    def damaged(problem: str) -> ResultsError:
        return ResultsError(f"'{path}' {problem}, so it is not a protocols table as `vfibench eval --protocols` "
                            f"writes it. Re-run the evaluation (`vfibench eval ... --protocols ...`) to write it "
                            f"anew, or delete the file to report without the protocols table.")

    def line(flags: pd.Series) -> int:  # the CSV line (header = 1) of the first flagged row
        return int(flags.to_numpy().argmax()) + 2

    if rows.empty:
        raise damaged("holds no rows")
    unnamed = rows[CONFIG].isna() | rows[PROTOCOL].isna()
    if unnamed.any():
        raise damaged(f"has a row without a model or protocol name (line {line(unnamed)})")
    rows = rows.astype({CONFIG: str, PROTOCOL: str})
    foreign = [m for m in dict.fromkeys(rows[CONFIG]) if m not in configs]
    if foreign:
        raise damaged(f"names the {plural('model', len(foreign))} {', '.join(repr(m) for m in foreign)}, which "
                      f"the run does not have (its models: {', '.join(configs)})")
    for metric in PROTOCOL_SCORES:
        values = pd.to_numeric(rows[metric], errors="coerce").astype(float)
        bad = values.isna() | (values == -np.inf)
        if bad.any():
            first = rows[bad].iloc[0]
            value = f"no {metric} value" if pd.isna(first[metric]) else f"'{first[metric]}' as its {metric} value"
            raise damaged(f"has {value} on line {line(bad)} (model '{first[CONFIG]}', protocol "
                          f"'{first[PROTOCOL]}'), where a number belongs (finite, or inf for a perfect frame)")
        rows[metric] = values
    present = set(zip(rows[PROTOCOL], rows[CONFIG]))
    gaps = [f"'{m}' under '{p}'" for p in dict.fromkeys(rows[PROTOCOL]) for m in dict.fromkeys(rows[CONFIG])
            if (p, m) not in present]
    if gaps:
        raise damaged(f"has no rows for {', '.join(gaps)} (every model needs rows under every protocol)")
    return rows
