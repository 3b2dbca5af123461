"""The two summaries ``vfibench compare`` reads: :func:`load_summary` validates each (a run directory
or a summary.csv) into a :class:`RunSummary`, and :func:`check_comparable` refuses a pair that cannot
be compared.

Both summaries must come from the same kind of run (:data:`vfibench.results.schema.RUN_OF_KIND`): a
sweep is compared with a sweep, an evaluation with an evaluation. A sweep against an evaluation is
refused (exit 2): a sweep's rows are models trained and scored on its own test data, an evaluation's
are frames scored against the ground truth it was given, so equal names would not make their
numbers comparable.
"""

from __future__ import annotations

import csv
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vfibench.errors import ResultsError
from vfibench.results import schema
from vfibench.results.schema import Summary, SummaryRow, read_summary
from vfibench.results.store import MANIFEST, RunStore, check_latest


@dataclass(frozen=True)
class RunSummary:
    """A validated summary.csv (:class:`~vfibench.results.schema.Summary`), with the run's manifest when it
    was read from a run directory."""

    summary: Summary
    manifest: Mapping[str, Any] | None = None

    @property
    def path(self) -> Path:
        return self.summary.path

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.summary.metrics

    @property
    def configs(self) -> tuple[SummaryRow, ...]:
        return self.summary.rows

    def get(self, config: str) -> SummaryRow | None:
        """The row of ``config``, or None."""
        return self.summary.get(config)

    @property
    def run_kind(self) -> str:
        """:data:`~vfibench.results.schema.SWEEP` or :data:`~vfibench.results.schema.EVALUATION`."""
        return self.summary.run_kind

    @property
    def preset(self) -> str | None:
        """The manifest's preset name, if there is a manifest."""
        preset = (self.manifest or {}).get("preset")
        return preset.get("name") if isinstance(preset, dict) else None

    @property
    def device(self) -> str | None:
        """The manifest's device, if there is a manifest."""
        device = (self.manifest or {}).get("device")
        return str(device) if device else None

    @property
    def unavailable_metrics(self) -> dict[str, str]:
        """Metric → why the run could not compute it, as its manifest records ({} without one)."""
        found = (self.manifest or {}).get("unavailable_metrics")
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    @property
    def ground_truth(self) -> str | None:
        """What an evaluation scored against (its dataset spec or folder), if there is a manifest."""
        manifest = self.manifest or {}
        found = manifest.get("gt_spec") or manifest.get("gt_dir")
        return str(found) if found else None


def load_summary(path: Path) -> RunSummary:
    """Read and validate the summary at ``path``: a run directory (its summary.csv) or a CSV file.

    The summary is read by :func:`vfibench.results.schema.read_summary`; a run directory's
    manifest.json is read when present (to check and note how the two runs were made), also
    when ``path`` is the run's own summary.csv; a bare CSV, such as a committed baseline, needs none.
    Every problem raises a :class:`ResultsError` that names the file and what is wrong with it.
    """
    path = Path(path)
    run = path.parent if path.name == schema.SUMMARY_FILE and (path.parent / MANIFEST).is_file() else path
    check_latest(run)
    if path.is_dir() and (path / MANIFEST).is_file() and not (path / schema.SUMMARY_FILE).is_file() \
            and _is_sweep(RunStore(path)):
        raise ResultsError(f"The sweep '{path}' has no {schema.SUMMARY_FILE} (deleted?); its units are what it is "
                           f"built from. Rebuild it with `vfibench report {shlex.quote(str(path))} --format csv` (any `vfibench "
                           f"report` of the run does), then compare again.")
    if path.name == MANIFEST and path.is_file():
        raise ResultsError(f"'{path}' is a run's manifest, not its metric table: pass the run directory "
                           f"('{path.parent}') or its {schema.SUMMARY_FILE}.")
    other = other_table(path) if path.is_file() else None
    if other is not None:
        raise ResultsError(other_table_message(path, other))
    if path.is_file() and _is_markdown_table(path):
        beside = path.parent / schema.SUMMARY_FILE
        instead = f"'{beside}' beside it" if beside.is_file() else f"the {schema.SUMMARY_FILE} it was written from"
        raise ResultsError(f"'{path}' is a Markdown table, not a CSV: `vfibench compare` reads the numbers in full "
                           f"precision from a run's {schema.SUMMARY_FILE}. Pass {instead}, or the run folder.")
    try:
        summary = read_summary(path)
    except ResultsError as err:
        raise ResultsError(f"{err} `vfibench compare` needs a vfibench {schema.SUMMARY_FILE}.") from None
    manifest = RunStore(run).read_manifest() if run.is_dir() and (run / MANIFEST).is_file() else None
    if manifest is not None:
        schema.check_summary_rows(summary.frame, manifest, summary.path)
        _check_per_sample(RunStore(run), manifest, summary)
    return RunSummary(summary, manifest)


def _check_per_sample(store: RunStore, manifest: dict[str, Any], summary: Summary) -> None:
    """A ResultsError unless a run's per_sample.csv, where there is one, is the table its summary.csv was
    drawn from (:meth:`~vfibench.results.view.RunView.per_sample`), as the report requires: a summary
    copied in from another run or seed would otherwise be judged as this run's."""
    if store.path(schema.PER_SAMPLE_FILE).is_file():  # a sweep's lost one is rebuilt by its report
        from vfibench.results.view import RunView

        RunView(store, manifest, summary.frame).per_sample()


#: The run tables that are not summaries, by the key columns that identify them, with what they hold.
OTHER_TABLES: Mapping[str, tuple[tuple[str, ...], str]] = {
    schema.PER_SAMPLE_FILE: (schema.SAMPLE_KEYS, "one row per test sample and seed"),
    schema.TRAIN_LOG_FILE: (schema.LOG_KEYS, "the training losses per logged step"),
}


def other_table(path: Path) -> str | None:
    """The name of the run table other than a summary that the CSV file ``path`` is (``per_sample.csv``,
    ``train_log.csv``), judged by its header; None for anything else, a summary included."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            header = set(next(csv.reader([handle.readline()]), []))
    except (OSError, UnicodeDecodeError):
        return None
    if set(schema.SUMMARY_KEYS) <= header:
        return None
    return next((name for name, (keys, _) in OTHER_TABLES.items() if set(keys) <= header), None)


def _is_markdown_table(path: Path) -> bool:
    """Whether the file ``path`` starts (after blank lines and a heading) with a Markdown table row."""
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for _, line in zip(range(50), handle):
                if line.strip() and not line.lstrip().startswith("#"):
                    return line.lstrip().startswith("|")
    except (OSError, UnicodeDecodeError):
        return False
    return False


def _run_folder(path: Path) -> Path | None:
    """The run directory that holds the file ``path`` (directly, or in one of its units), if any."""
    for folder in list(path.parents)[:3]:
        if (folder / MANIFEST).is_file():
            return folder
    return None


def other_table_message(path: Path, table: str) -> str:
    """The error for a run table that is not a summary, naming what to pass instead."""
    run = _run_folder(path)
    if run is not None and (run / schema.SUMMARY_FILE).is_file():
        instead = f"pass the run folder '{run}' or its summary file '{run / schema.SUMMARY_FILE}'"
    elif run is not None:
        instead = (f"pass the run folder '{run}' (run `vfibench report` on it first if its {schema.SUMMARY_FILE} "
                   f"is gone)")
    else:
        instead = f"pass the run folder that holds it, or that run's {schema.SUMMARY_FILE}"
    return (f"'{path}' is a run's {table} ({OTHER_TABLES[table][1]}), not its summary: `vfibench compare` "
            f"compares the means in {schema.SUMMARY_FILE} (one row per configuration or model). Instead, {instead}.")


def _is_sweep(store: RunStore) -> bool:
    try:
        return schema.run_kind(store.read_manifest()) == schema.SWEEP
    except ResultsError:
        return False


def check_comparable(new: RunSummary, base: RunSummary) -> None:
    """A ResultsError when NEW and BASE come from different kinds of run (a sweep and an evaluation)."""
    if new.run_kind == base.run_kind:
        return
    like = {schema.SWEEP: "`vfibench run` (results/<run> or a summary.csv such as results/baselines/ci.csv)",
            schema.EVALUATION: "`vfibench eval`"}
    raise ResultsError(
        f"NEW '{new.path}' is the summary of {schema.RUN_NAMES[new.run_kind]} but BASE '{base.path}' is that of "
        f"{schema.RUN_NAMES[base.run_kind]}; their rows are not comparable (a sweep scores the models it "
        f"trained on its own test data, an evaluation scores frames against the ground truth it was given). "
        f"Compare two runs of the same kind: pass as BASE a summary written by {like[new.run_kind]}. Note that "
        f"`vfibench run` and `vfibench eval` both point <out>/latest at their newest run."
    )
