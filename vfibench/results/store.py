"""The results directory of one sweep, and how its files are written and read back.

Layout::

    <out>/<run-id>/
      manifest.json             resolved settings, versions, git commit, device, backbone hashes, timings
      units/<unit>/             one (configuration, seed): per_sample.csv, train_log.csv, model.pt, unit.json
      per_sample.csv            every unit's per-sample metrics, gathered
      train_log.csv             every unit's loss curves, gathered
      summary.csv / summary.md  per-configuration aggregates
      report/                   plots, image grids, report.html
    <out>/latest -> <run-id>    the newest run whose manifest is complete

A unit's ``unit.json`` is written last, atomically: a unit without it is unfinished and is redone on
``--resume``. Every file is written atomically, so a sweep killed at any moment leaves only
complete files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from vfibench.errors import ResultsError
from vfibench.results import atomic

SCHEMA_VERSION = 1
UNIT_FILE = "unit.json"
MANIFEST = "manifest.json"
LATEST = "latest"
#: Columns of per_sample.csv before the metric columns.
SAMPLE_KEYS = ("config", "kind", "seed", "sample")
#: Columns of train_log.csv before the per-term columns.
LOG_KEYS = ("config", "seed", "step", "lr", "total")


@dataclass(frozen=True)
class UnitKey:
    """One (configuration, seed) of a sweep. ``kind`` is "trained" or "reference"."""

    config: str
    seed: int
    kind: str = "trained"

    @property
    def directory_name(self) -> str:
        """A file-system-safe, unique folder name: a readable slug plus a hash of the configuration."""
        slug = re.sub(r"[^a-z0-9.+-]+", "_", self.config.lower()).strip("_")[:48]
        digest = hashlib.sha1(f"{self.kind}:{self.config}".encode()).hexdigest()[:8]
        return f"{slug}-{digest}--seed{self.seed}"


def new_run_id() -> str:
    """A sortable, collision-resistant run name: ``YYYYmmdd-HHMMSS-xxxx``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


class RunStore:
    """Reads and writes one run directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def create(cls, out: Path) -> "RunStore":
        """Make a new, empty run directory under ``out``; never reuses an existing one."""
        out.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            root = out / new_run_id()
            try:
                root.mkdir()
            except FileExistsError:
                continue
            return cls(root)
        raise ResultsError(f"Could not create a new run directory under {out}; check that it is writable.")

    @classmethod
    def open(cls, out: Path, run: str | None = None) -> "RunStore":
        """The run ``run`` (a name under ``out`` or a path), or the latest complete run."""
        if run is None:
            link = out / LATEST
            if not link.exists():
                raise ResultsError(
                    f"No finished run found under '{out}' (there is no '{out / LATEST}'). Run a sweep first "
                    f"with `vfibench run`, or name a run directory: `vfibench report RUN`."
                )
            root = link.resolve()
        else:
            candidate = Path(run)
            root = candidate if candidate.is_dir() else out / run
        if not (root / MANIFEST).is_file():
            known = ", ".join(sorted(p.name for p in out.glob("*") if (p / MANIFEST).is_file())[-5:]) if out.is_dir() else ""
            hint = f" Runs under '{out}': {known}." if known else ""
            raise ResultsError(
                f"'{run or root}' is not a vfibench run directory: '{root / MANIFEST}' does not exist.{hint} "
                f"Pass a run name under --out ({out}) or the path of a run directory."
            )
        return cls(root)

    # -- manifest ---------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.root.name

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic.write_json(self.root / MANIFEST, {"schema_version": SCHEMA_VERSION, **manifest})

    def read_manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ResultsError(
                f"The run manifest '{path}' cannot be read ({err}). The run directory is damaged; "
                f"re-run the sweep or restore the file."
            ) from None
        if not isinstance(manifest, dict) or manifest.get("tool") != "vfibench":
            raise ResultsError(
                f"'{path}' is not a vfibench manifest (it has no \"tool\": \"vfibench\" entry). "
                f"Point the command at a directory written by `vfibench run` or `vfibench eval`."
            )
        return manifest

    def mark_latest(self) -> None:
        """Point ``<out>/latest`` at this run; call only once its manifest is complete."""
        atomic.point_symlink(self.root.parent / LATEST, self.root.name)

    # -- units ------------------------------------------------------------------------------------
    def unit_dir(self, key: UnitKey) -> Path:
        return self.root / "units" / key.directory_name

    def unit_info(self, key: UnitKey) -> dict[str, Any] | None:
        """The finished unit's record, or None if the unit has not finished."""
        path = self.unit_dir(key) / UNIT_FILE
        if not path.is_file():
            return None
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        return info if isinstance(info, dict) and info.get("config") == key.config else None

    def write_unit(
        self,
        key: UnitKey,
        info: dict[str, Any],
        per_sample: pd.DataFrame | None,
        train_log: pd.DataFrame | None = None,
        model_state: Any = None,
    ) -> None:
        """Write a finished unit; ``unit.json`` goes last, so its presence means the unit is complete."""
        directory = self.unit_dir(key)
        directory.mkdir(parents=True, exist_ok=True)
        if per_sample is not None:
            atomic.write_csv(directory / "per_sample.csv", per_sample)
        if train_log is not None:
            atomic.write_csv(directory / "train_log.csv", train_log)
        if model_state is not None:
            atomic.write_torch(directory / "model.pt", model_state)
        atomic.write_json(directory / UNIT_FILE, {"config": key.config, "seed": key.seed, "kind": key.kind, **info})

    def read_unit_table(self, key: UnitKey, name: str) -> pd.DataFrame | None:
        path = self.unit_dir(key) / name
        if not path.is_file():
            return None
        return read_csv(path)

    # -- gathered tables --------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.root / name


def read_csv(path: Path, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a results CSV, turning any problem into a ResultsError that names the file."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise ResultsError(f"'{path}' does not exist.") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ResultsError(
            f"'{path}' cannot be read as a CSV table ({str(err).strip() or type(err).__name__}). "
            f"The file is damaged or was not written by vfibench; re-run the step that writes it."
        ) from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ResultsError(
            f"'{path}' lacks the column(s) {', '.join(missing)} that a vfibench table has "
            f"(it has: {', '.join(map(str, frame.columns)) or 'none'}). It was not written by vfibench "
            f"or is from an incompatible version."
        )
    return frame


def git_commit(directory: Path) -> str | None:
    """The git commit of the checkout that holds ``directory`` (with '+dirty' when modified), if any."""
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=directory,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+dirty" if dirty else commit


def environment_versions() -> dict[str, str]:
    """Versions of the software a result depends on."""
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in ("vfibench", "torch", "torchvision", "numpy", "lpips", "scikit-image", "piq"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    versions["platform"] = platform.platform()
    versions["torch_threads"] = str(__import__("torch").get_num_threads())
    return versions
