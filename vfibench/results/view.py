"""A finished run as the report sees it: its manifest and summary, validated, ready to render."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vfibench.errors import ResultsError, VfiBenchError
from vfibench.metrics.records import metric_record
from vfibench.results import schema, tables
from vfibench.results.latex import latex_table
from vfibench.results.schema import MEAN, column, read_summary
from vfibench.results.store import MANIFEST, RunStore, finish_clause, unfinished_evaluation_message
from vfibench.results.summary import check_tables_agree
from vfibench.words import counted, sentence_start


@dataclass(frozen=True)
class RunView:
    """The manifest and summary of one run."""

    store: RunStore
    manifest: dict[str, Any]
    summary: pd.DataFrame

    @property
    def metrics(self) -> list[str]:
        return [m["name"] for m in self.manifest.get("metrics", [])] + list(self.unavailable)

    @property
    def unavailable(self) -> dict[str, str]:
        return dict(self.manifest.get("unavailable_metrics", {}))

    def title(self) -> str:
        return run_title(self.store.name, self.manifest)

    def per_sample(self) -> pd.DataFrame:
        """The run's per_sample.csv, read (:func:`~vfibench.results.schema.read_per_sample`) and checked against
        this summary (:func:`~vfibench.results.summary.check_tables_agree`)."""
        per_sample = schema.read_per_sample(self.store.path(schema.PER_SAMPLE_FILE), self.metrics, self.unavailable)
        check_tables_agree(self.store, self.manifest, per_sample, self.summary, self.metrics)
        return per_sample

    def train_log(self, per_sample: pd.DataFrame) -> pd.DataFrame | None:
        """The run's train_log.csv, checked against ``per_sample`` and the manifest's step count
        (:func:`~vfibench.results.schema.read_train_log`); None where the run has none (an evaluation)."""
        path = self.store.path(schema.TRAIN_LOG_FILE)
        if not path.is_file():
            return None
        return schema.read_train_log(path, per_sample, self.manifest.get("preset", {}).get("steps"))

    def rich_table(self) -> "tables.SummaryTable":
        return tables.rich_table(self.summary, self.metrics, self.unavailable, title=self.title())

    def markdown(self) -> str:
        """The run's summary.md (:func:`~vfibench.results.tables.summary_markdown`)."""
        return tables.summary_markdown(self.title(), self.summary, self.metrics, self.unavailable, self.run_notes())

    def latex(self) -> str:
        """The summary as a LaTeX table for a paper (:mod:`vfibench.results.latex`); its caption states
        what the numbers depend on (:meth:`facts`)."""
        return latex_table(self.summary, self.metrics, self.unavailable, run=self.store.name, title=self.title(),
                           facts=self.facts())

    def summary_records(self) -> list[dict[str, Any]]:
        """The summary as JSON-ready records, every number as summary.csv holds it (pandas' ``to_json``
        rounds to ten decimal places, so a spread below 5e-11 became 0), NaN as None."""
        return [{str(k): _json_value(v) for k, v in record.items()} for record in self.summary.to_dict("records")]

    def notes(self) -> list[str]:
        """Every note under the terminal and Markdown tables: the table's own, then :meth:`run_notes`."""
        return tables.table_notes(self.summary, self.unavailable, self.metrics) + self.run_notes()

    def run_notes(self) -> list[str]:
        """Notes from the manifest: an unfinished sweep (and how to finish it), then :meth:`facts`."""
        incomplete = self.incomplete_note()
        return ([incomplete] if incomplete else []) + self.facts()

    def incomplete_note(self) -> str | None:
        """What an unfinished sweep's table holds and how to finish the run; None for a finished run."""
        status = self.manifest.get("status")
        if schema.run_kind(self.manifest) != schema.SWEEP or status == schema.COMPLETE:
            return None
        writer = self.store.writer() if status == schema.RUNNING else None
        finish = (f"A sweep (process {writer}) is still writing it: report it again once it has finished."
                  if writer is not None else f"{sentence_start(finish_clause(self.store))}.")
        return (f"The run is incomplete (its manifest says '{status}'): configurations without results "
                f"yet are marked missing and left out of the analysis, and one with only some of its seeds "
                f"is marked partial and analysed over the seeds it has (fewer training runs than the "
                f"others). {finish}")

    def facts(self) -> list[str]:
        """What the numbers depend on beyond the table (:func:`~vfibench.results.tables.run_facts`)."""
        return tables.run_facts(self.manifest)


def _json_value(value: Any) -> Any:
    """A summary cell for JSON: numpy scalars as Python numbers, NaN and missing values as None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return None if value is None or value is pd.NA else value


def run_title(name: str, manifest: dict[str, Any]) -> str:
    """The line that heads every table of the run ``name``: "RUN — preset quick, device cpu" (the steps
    too where they differ from the preset's), or "RUN — evaluation of 2 models against GT, device cpu"."""
    device = manifest.get("device", "?")
    if schema.run_kind(manifest) == schema.EVALUATION:
        models = len(manifest.get("sources", {}))
        return (f"{name} — evaluation of {counted(models, 'model')} against {manifest.get('gt_dir', '?')}, "
                f"device {device}")
    preset = manifest.get("preset", {})
    preset_name, steps = preset.get("name", "?"), preset.get("steps")
    from vfibench.presets import PRESETS

    standard = PRESETS.get(str(preset_name))
    shown = f"{preset_name} ({steps} steps)" if standard is not None and steps != standard.steps else str(preset_name)
    return f"{name} — preset {shown}, device {device}"


def _check_manifest(store: RunStore, manifest: dict[str, Any]) -> None:
    """The manifest's metric entries must name registered metrics; ResultsError otherwise."""
    path = store.path(MANIFEST)
    metrics = manifest.get("metrics", [])
    unavailable = manifest.get("unavailable_metrics", {})
    if not isinstance(metrics, list) or not all(isinstance(m, dict) and isinstance(m.get("name"), str)
                                                for m in metrics) or not isinstance(unavailable, dict):
        raise ResultsError(f"'{path}' has a malformed \"metrics\" or \"unavailable_metrics\" entry (expected a list "
                           f"of {{\"name\": ...}} records and a name → reason mapping). The file is damaged or from "
                           f"an incompatible version; re-run the sweep or the evaluation.")
    for entry in ("preset", "warm_start", "data"):
        if not isinstance(manifest.get(entry, {}), dict):
            raise ResultsError(f"'{path}' has a malformed \"{entry}\" entry (expected a mapping). The file is "
                               f"damaged or from an incompatible version; re-run the sweep or the evaluation.")
    for name in [m["name"] for m in metrics] + list(unavailable):
        try:
            metric_record(name)
        except VfiBenchError:
            raise ResultsError(f"'{path}' lists the metric '{name}', which this version of vfibench does not know. "
                               f"The run was written by another version or tool; re-run it with this one.") from None


def load_run_view(store: RunStore) -> RunView:
    """Read and validate a run's manifest and summary.csv (:func:`~vfibench.results.schema.read_summary`)."""
    manifest = store.read_manifest()
    _check_manifest(store, manifest)
    kind = schema.run_kind(manifest)
    if kind == schema.SWEEP:
        from vfibench.presets import preset_from_dict

        try:
            preset_from_dict(manifest.get("preset"), f"'{store.path(MANIFEST)}'")
        except VfiBenchError as err:
            raise ResultsError(str(err)) from None
    if (kind == schema.EVALUATION and manifest.get("status") != schema.COMPLETE
            and not store.path(schema.SUMMARY_FILE).exists()):
        raise ResultsError(unfinished_evaluation_message(store, manifest))
    summary = read_summary(store.path(schema.SUMMARY_FILE))
    for metric in manifest.get("metrics", []):
        mean = column(str(metric.get("name")), MEAN)
        if mean not in summary.frame.columns:
            raise ResultsError(f"'{summary.path}' lacks the column '{mean}' that its manifest promises; the run "
                               f"directory is inconsistent. Re-run the sweep.")
    schema.check_summary_rows(summary.frame, manifest, summary.path)
    run_kinds = {schema.SWEEP, schema.EVALUATION}
    if kind in run_kinds and kind != summary.run_kind:
        raise ResultsError(f"'{summary.path}' holds the rows of {schema.RUN_NAMES[summary.run_kind]}, but its "
                           f"manifest describes {schema.RUN_NAMES[kind]}; the run directory is "
                           f"inconsistent. Re-run the sweep or the evaluation.")
    return RunView(store, manifest, summary.frame)
