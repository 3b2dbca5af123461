"""A finished run as the report sees it: its manifest and summary, validated, ready to render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from rich.table import Table

from vfibench.errors import ResultsError
from vfibench.results import tables
from vfibench.results.store import RunStore, read_csv

SUMMARY_KEYS = ("config", "kind", "status", "seeds", "samples")


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
        preset = self.manifest.get("preset", {}).get("name", "?")
        return f"{self.store.name} — preset {preset}, device {self.manifest.get('device', '?')}"

    def rich_table(self) -> Table:
        return tables.rich_table(self.summary, self.metrics, self.unavailable, title=self.title())

    def markdown(self) -> str:
        notes = "\n".join(f"- {note}" for note in self.notes())
        return f"# vfibench results: {self.title()}\n\n{tables.markdown_table(self.summary, self.metrics, self.unavailable)}\n\n{notes}\n"

    def notes(self) -> list[str]:
        notes = tables.table_notes(self.summary, self.unavailable)
        warm = self.manifest.get("warm_start", {})
        if warm.get("steps"):
            notes.append(f"Warm start: the first {warm['steps']} steps of every configuration trained with "
                         f"plain {warm.get('loss')}, shared across configurations.")
        return notes


def load_run_view(store: RunStore) -> RunView:
    """Read and validate a run's manifest and summary.csv."""
    manifest = store.read_manifest()
    summary = read_csv(store.path("summary.csv"), required=SUMMARY_KEYS)
    for metric in manifest.get("metrics", []):
        column = f"{metric.get('name')}_mean"
        if column not in summary.columns:
            raise ResultsError(f"'{store.path('summary.csv')}' lacks the column '{column}' that its manifest "
                               f"promises; the run directory is inconsistent. Re-run the sweep.")
    return RunView(store, manifest, summary)
