"""The results directory of one sweep, and how its files are written and read back.

Layout::

    <out>/<run-id>/
      manifest.json             resolved settings, versions, git commit, device, backbone hashes, timings
      units/<unit>/             one (configuration, seed): per_sample.csv, train_log.csv, model.pt, unit.json
      per_sample.csv            every unit's per-sample metrics, gathered
      train_log.csv             every unit's loss curves, gathered
      summary.csv / summary.md  per-configuration aggregates
      report/                   plots, image grids, report.html
    <out>/latest -> <run-id>    the run that most recently completed (its manifest says "complete";
                                reading it through the link checks that it still does)

A unit's ``unit.json`` is written last, atomically: a unit without it is unfinished and is redone on
``--resume``. Every file is written atomically, so a sweep killed at any moment leaves only
complete files. A new run always gets a directory of its own (created with an exclusive
``mkdir``), and the process writing a run holds an advisory lock on it (``.lock``), so a second
process can neither resume it nor write into it at the same time.

Readers raise :class:`~vfibench.errors.ResultsError` for anything damaged or foreign (an invalid
manifest, a garbled ``unit.json``, a truncated CSV), naming the file and how to fix it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from vfibench.errors import ResultsError, RunLocked
from vfibench.results import atomic, schema
from vfibench.results.schema import COMPLETE, RUNNING, UNIT_STATUSES, read_csv
from vfibench.words import counted, join_words, sentence_start

UNIT_FILE = "unit.json"
#: A trained unit's weights, in its folder.
MODEL_FILE = "model.pt"
MANIFEST = "manifest.json"
LATEST = "latest"
LOCK_FILE = ".lock"
#: The folder ``vfibench report`` writes a run's report into; it describes the run as it was then.
REPORT_DIR = "report"
#: The run-level tables a sweep derives from its units (rebuilt by :func:`vfibench.sweep.rebuild_tables`).
DERIVED_TABLES = (schema.PER_SAMPLE_FILE, schema.TRAIN_LOG_FILE, schema.SUMMARY_FILE, schema.SUMMARY_MARKDOWN)


@dataclass(frozen=True)
class UnitKey:
    """One (configuration, seed) of a sweep. ``kind`` is :data:`~vfibench.results.schema.TRAINED` or
    :data:`~vfibench.results.schema.REFERENCE`."""

    config: str
    seed: int
    kind: str = schema.TRAINED

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
    def open_unfinished(cls, out: Path, run: str | None = None) -> "RunStore":
        """The run ``run`` to resume, or by default the newest sweep under ``out`` that is not complete
        (:func:`unfinished_runs`: evaluations cannot be resumed, and a run whose manifest cannot be read
        is passed over, and named only when there is no other)."""
        if run is not None:
            folder = Path(run) if Path(run).is_dir() else out / run  # as :meth:`open` finds it
            if folder.is_dir() and not (folder / MANIFEST).is_file() and run_directories(folder):
                raise ResultsError(  # RunStore.open would suggest reading its latest run, which is complete
                    f"'{run}' is a folder of runs, not a run. `vfibench run --resume --out {shlex.quote(str(folder))}` "
                    f"finishes the newest unfinished run in it; or name one of its runs: "
                    f"{', '.join(p.name for p in run_directories(folder)[:5])}.")
            return cls.open(out, run)
        atomic.check_not_a_file(out, "--out")
        found = unfinished_runs(out)  # as report finds them: a run whose manifest is damaged is not one
        if found:
            return cls(found[0].root)
        for root in run_directories(out):  # none: a damaged manifest may be why, and its error says so
            cls(root).read_manifest()
        raise ResultsError(
            f"There is no unfinished run under '{out}' to resume (every sweep there is complete, or there is none). "
            f"Name the run to resume: `vfibench run --resume RUN --out {out}`, or start a new sweep without --resume."
            + _unfinished_evaluations_hint(out)
        )

    @classmethod
    def open(cls, out: Path, run: str | None = None) -> "RunStore":
        """The run ``run`` (a name under ``out`` or a path), or the latest complete run."""
        if run is None or not Path(run).is_dir():
            atomic.check_not_a_file(out, "--out")
        if run is None:
            link = out / LATEST
            if link.is_symlink() and not link.exists():
                raise ResultsError(
                    f"{schema.dangling_link(link)}. Name a run directory: `vfibench report RUN --out {out}`, or "
                    f"finish a sweep to point 'latest' at it again."
                )
            if not link.exists():
                unfinished = unfinished_runs(out)
                if unfinished:
                    raise ResultsError(incomplete_message(unfinished[0], out, len(unfinished)))
                missing = f"'{out}' does not exist" if not out.exists() else f"there is no '{out / LATEST}'"
                raise ResultsError(
                    f"No finished run found under '{out}' ({missing}). Run a sweep first "
                    f"with `vfibench run`, or name a run directory: `vfibench report RUN`."
                    + _unfinished_evaluations_hint(out)
                )
            if link.is_file():  # a folder is a run copied with its links followed, and read as one
                raise ResultsError(
                    f"'{link}' is a file, not the link vfibench points at the newest finished run (a copy or a "
                    f"checkout that does not keep links may have turned it into one). Name a run directory: "
                    f"`vfibench report RUN --out {out}`, or remove '{link}' and finish a run to make it again."
                )
            root = link.resolve()
            check_latest(link)
        else:
            candidate = Path(run)
            root = candidate if candidate.is_dir() or candidate.is_file() else out / run
            check_latest(root)  # 'results/latest' named explicitly
        if root.is_file():
            raise ResultsError(f"'{run}' is a file, not a run directory. Pass the folder of a run (the one holding "
                               f"manifest.json and summary.csv) or the name of a run in '{out}'.")
        if not (root / MANIFEST).is_file() and ((root / LATEST).exists() or run_directories(root)):
            inside = ", ".join(sorted(p.name for p in run_directories(root)[:5]))
            raise ResultsError(
                f"'{run}' is a folder of runs, not a run. Pass it as --out for its latest run (`--out {run}`), or "
                f"name one of its runs with it (`RUN --out {run}`)" + (f": {inside}." if inside else ".")
            )
        if not (root / MANIFEST).is_file():
            known = ", ".join(sorted(p.name for p in run_directories(out)[:5]))  # the newest five, not 'latest'
            hint = f" Runs under '{out}': {known}." if known else ""
            raise ResultsError(
                f"'{run or root}' is not a vfibench run directory: '{root / MANIFEST}' does not exist.{hint} "
                f"Pass the name of a run in '{out}' or the path of a run directory."
            )
        return cls(root)

    # -- manifest ---------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The run id, also when the run was opened through the ``latest`` link."""
        return self.root.resolve().name

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic.write_json(self.root / MANIFEST, {"schema_version": schema.SCHEMA_VERSION, **manifest})

    def missing_derived_tables(self) -> list[str]:
        """The :data:`DERIVED_TABLES` a sweep lacks (rebuilt from its units by
        :func:`vfibench.sweep.rebuild_tables`); always [] for other runs, which derive nothing."""
        if schema.run_kind(self.read_manifest()) != schema.SWEEP:
            return []
        return [name for name in DERIVED_TABLES if not self.path(name).is_file()]

    def read_manifest(self) -> dict[str, Any]:
        """The run's manifest; a ResultsError if it is unreadable, not JSON or not vfibench's."""
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
        problem = schema.manifest_problem(manifest)
        if problem:
            raise ResultsError(f"The run manifest '{path}' {problem}")
        return manifest

    def mark_latest(self) -> None:
        """Point ``<out>/latest`` at this run, which must already have a complete manifest on disk."""
        status = self.read_manifest().get("status")
        if status != COMPLETE:
            raise ResultsError(
                f"Refusing to point '{self.root.parent / LATEST}' at '{self.root}': its manifest says the run is "
                f"'{status}', not '{COMPLETE}'. Finish it first with `{self.finish_command()}`."
            )
        atomic.point_symlink(self.root.parent / LATEST, self.root.name)

    def remove_temporaries(self) -> list[Path]:
        """Delete the temporary files of atomic writes that a killed process left behind (call under
        :meth:`lock`); they were never renamed into place, so nothing ever read them as results."""
        stale = [path for path in self.root.rglob(".*.tmp") if path.is_file() or path.is_symlink()]
        for path in stale:
            path.unlink(missing_ok=True)
        for folder in self.root.glob(f".{REPORT_DIR}-*.stale"):  # what drop_report could not remove
            shutil.rmtree(folder, ignore_errors=True)
        return stale

    # -- exclusive access -------------------------------------------------------------------------
    # (a report holds the lock for a moment while it rewrites the summary, and :meth:`writer` while it
    # looks: a sweep starting then waits for them, up to LOCK_PATIENCE seconds)
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an advisory lock on the run while writing it; a ResultsError if another process holds it.

        The lock (``fcntl.flock`` on ``<run>/.lock``) is released by the operating system when its
        holder exits, however it exits (SIGKILL included), so a killed sweep never leaves a stale lock.
        Where ``fcntl`` does not exist (Windows) this only records the process id.
        """
        path = self.root / LOCK_FILE
        handle = open(path, "a+", encoding="utf-8")
        try:
            try:
                import fcntl
            except ImportError:
                fcntl = None  # type: ignore[assignment]
            if fcntl is not None and not _flock_within(handle, LOCK_PATIENCE):
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise RunLocked(
                    f"The run '{self.root}' is being written by another process (pid {holder}). Wait for it to "
                    f"finish, or stop it; an interrupted sweep then finishes with `{self.finish_command()}`."
                )
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()

    def finish_command(self) -> str:
        """The command that finishes the run (:func:`store_resume_command`), also when its manifest cannot
        be read (then without executor options): for messages about a damaged or busy run."""
        try:
            return store_resume_command(self)
        except ResultsError:
            return resume_command(self.name, self.root.parent)

    def drop_report(self) -> bool:
        """Remove the report folder, if any, once the run's tables have changed under it (a sweep wrote a
        unit since): every page of it would still describe the run as it was. True when one was removed."""
        folder = self.path(REPORT_DIR)
        if not folder.is_dir() or folder.is_symlink():
            return False
        aside = self.root / f".{REPORT_DIR}-{secrets.token_hex(4)}.stale"
        try:  # moved aside first: a report being written meanwhile cannot make the removal fail the sweep
            os.replace(folder, aside)
        except OSError:
            return False
        shutil.rmtree(aside, ignore_errors=True)
        return True

    def writer(self) -> str | None:
        """The process id of the process writing the run (holding its :meth:`lock`), or None when none
        does: a manifest that says 'running' then belongs to a sweep that was killed."""
        path = self.root / LOCK_FILE
        try:
            import fcntl
        except ImportError:
            return None
        try:
            with open(path, encoding="utf-8") as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                except OSError:
                    return handle.read().strip() or "unknown"
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        except OSError:  # no lock file: never written under a lock
            return None
        return None

    # -- units ------------------------------------------------------------------------------------
    def unit_dir(self, key: UnitKey) -> Path:
        return self.root / "units" / key.directory_name

    def unit_info(self, key: UnitKey) -> dict[str, Any] | None:
        """The finished unit's record, or None if the unit has not finished (it has no ``unit.json``).

        A ``unit.json`` is written atomically and last, so one that cannot be read, or that describes
        another unit, was damaged or put there by something else: that raises a ResultsError rather
        than being silently redone or, worse, taken for a result.
        """
        path = self.unit_dir(key) / UNIT_FILE
        if not path.is_file():
            return None

        def damaged(problem: str) -> ResultsError:
            return ResultsError(
                f"The unit record '{path}' {problem}. vfibench writes it last and atomically, so the file was "
                f"damaged or replaced. Delete the folder '{path.parent}' to have `{self.finish_command()}` "
                f"redo that unit."
            )

        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise damaged(f"cannot be read as JSON ({err})") from None
        if not isinstance(info, dict):
            raise damaged(f"holds a JSON {type(info).__name__}, not an object")
        expected = {schema.CONFIG: key.config, schema.SEED: key.seed, schema.KIND: key.kind}
        found = {name: info.get(name) for name in expected}
        if found != expected:
            raise damaged(f"describes {found}, not the unit {expected} its folder belongs to")
        if info.get(schema.STATUS) not in UNIT_STATUSES:
            raise damaged(f"has the status {info.get(schema.STATUS)!r}, not one of {', '.join(UNIT_STATUSES)}")
        written = info.get(schema.UNIT_TABLES)  # runs written before the key: a complete unit has its scores
        if written is None:
            written = [schema.PER_SAMPLE_FILE] if info[schema.STATUS] == COMPLETE else []
        lost = [name for name in written if not (path.parent / name).is_file()]
        if lost:
            raise ResultsError(
                f"The finished unit '{path.parent}' has lost {join_words(lost)}, written with its record "
                f"{UNIT_FILE}: its results would silently go missing from the run's tables. Delete the folder "
                f"'{path.parent}' to have `{self.finish_command()}` redo that unit (the same seed gives the "
                f"same numbers)."
            )
        return info

    def write_unit(
        self,
        key: UnitKey,
        info: dict[str, Any],
        per_sample: pd.DataFrame | None,
        train_log: pd.DataFrame | None = None,
        model_state: Any = None,
    ) -> None:
        """Write a finished unit; ``unit.json`` goes last, so its presence means the unit is complete.

        A table or model this record does not come with is removed first: an earlier attempt at the
        unit, stopped before its record was written, may have left one, and a failed or diverged
        unit's folder must not hold scores for the tables to gather.
        """
        directory = self.unit_dir(key)
        directory.mkdir(parents=True, exist_ok=True)
        for name, content in ((schema.PER_SAMPLE_FILE, per_sample), (schema.TRAIN_LOG_FILE, train_log),
                              (MODEL_FILE, model_state)):
            if content is None:
                (directory / name).unlink(missing_ok=True)
        if per_sample is not None:
            atomic.write_csv(directory / schema.PER_SAMPLE_FILE, per_sample)
        if train_log is not None:
            atomic.write_csv(directory / schema.TRAIN_LOG_FILE, train_log)
        if model_state is not None:
            atomic.write_torch(directory / MODEL_FILE, model_state)
        rows = {name: len(content) for name, content in ((schema.PER_SAMPLE_FILE, per_sample),
                                                         (schema.TRAIN_LOG_FILE, train_log)) if content is not None}
        atomic.write_json(directory / UNIT_FILE, {schema.CONFIG: key.config, schema.SEED: key.seed,
                                                  schema.KIND: key.kind, **info, schema.UNIT_TABLES: list(rows),
                                                  schema.UNIT_ROWS: rows})

    def read_unit_table(self, key: UnitKey, name: str, info: Mapping[str, Any] | None = None) -> pd.DataFrame | None:
        """A finished unit's table, checked against the row count its record holds (``info``, when the caller
        has read it with :meth:`unit_info`; units written before the count was recorded are read as they are)."""
        path = self.unit_dir(key) / name
        if not path.is_file():
            return None
        frame = read_csv(path, required=(schema.CONFIG, schema.SEED))
        recorded = ((self.unit_info(key) if info is None else info) or {}).get(schema.UNIT_ROWS)
        expected = recorded.get(name) if isinstance(recorded, dict) else None
        if isinstance(expected, int) and len(frame) != expected:
            raise ResultsError(
                f"'{path}' holds {counted(len(frame), 'row')}, but its unit's record {UNIT_FILE} was written "
                f"with {expected}: the file was cut short or edited, and the run's tables gathered from it would "
                f"be wrong. Delete the folder '{path.parent}' to have `{self.finish_command()}` redo that unit "
                f"(the same seed gives the same numbers).")
        return frame

    # -- gathered tables --------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.root / name


#: Seconds :meth:`RunStore.lock` waits for another holder before refusing: long enough for the moment a
#: report or a look at the lock holds it, short enough that a second sweep is refused at once.
LOCK_PATIENCE = 2.0


def _flock_within(handle: Any, seconds: float) -> bool:
    """Take an exclusive ``flock`` on ``handle``, trying for up to ``seconds``; False if it stayed held.
    Any other failure (a file system without locks) is raised as the OSError it is."""
    import errno
    import fcntl

    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def resume_command(name: str, out: object, options: Sequence[object] = ()) -> str:
    """``vfibench run --resume NAME --out OUT [executor options]``, shell-quoted."""
    return shlex.join(["vfibench", "run", "--resume", name, "--out", str(out), *map(str, options)])


def check_latest_is_a_link(out: Path, option: str = "--out") -> None:
    """A ResultsError, before any work, when ``<out>/latest`` exists but is no link: a finished run points
    it at itself by replacing it, which would fail only after every unit was trained."""
    latest = Path(out) / LATEST
    if latest.exists() and not latest.is_symlink():
        what = "a folder" if latest.is_dir() else "a file"
        raise ResultsError(
            f"'{latest}' is {what}, not the link vfibench points at the newest finished run of {option} "
            f"'{out}', so the run could not be marked there once finished. Rename or remove '{latest}', or pass "
            f"another {option}."
        )


def check_latest(link: Path) -> None:
    """When ``link`` is a ``latest`` link: a ResultsError if the sweep it points at is no longer complete
    (resumed after it completed, to train a deleted unit again, and being resumed now or stopped)."""
    if not (link.is_symlink() and link.name == LATEST):
        return
    out = link.parent
    linked = RunStore(link.resolve())
    if not (linked.root / MANIFEST).is_file():
        return  # the caller says the directory is no run
    manifest = linked.read_manifest()
    status = manifest.get("status")
    if schema.run_kind(manifest) != schema.SWEEP or status == COMPLETE:
        return
    report = f"`{report_command(linked, out)}`"
    if status == RUNNING:
        then = f"wait for that resume to finish, or report what it has so far with {report}"
    else:
        then = f"{finish_clause(linked, out)}, or report what it has so far with {report}"
    raise ResultsError(f"'{link}' points at the run '{linked.name}', which was resumed after it completed and is not "
                       f"complete now: its manifest says '{status}'. {sentence_start(then)}.")


def store_resume_command(store: RunStore, out: Path | None = None) -> str:
    """The command that finishes the sweep ``store`` from the current folder, with the executor options
    of its latest session (``--threads 1``, ``--jobs 2``…: the last ``resumed`` entry's, else the
    manifest's own) and its ``--tensorboard`` folder; ``out`` defaults to the folder holding it."""
    manifest = store.read_manifest()
    executor = schema.latest_executor(manifest)
    options = executor.get("options") if executor is not None else None
    shown = [str(o) for o in options] if isinstance(options, list) else []
    return resume_command(store.name, store.root.parent if out is None else out,
                          [*shown, *tensorboard_option(schema.latest_tensorboard(manifest))])


def tensorboard_option(folder: object) -> list[str]:
    """``["--tensorboard", folder]`` for a session that logged for TensorBoard, [] otherwise: a resume command
    carries it so that the units it trains are logged where the others were."""
    return ["--tensorboard", str(folder)] if folder else []


def finish_clause(store: RunStore, out: Path | None = None, *, what_it_trains: bool = False) -> str:
    """How to finish the unfinished sweep ``store``, as a clause: "finish it with `vfibench run --resume …`"
    (:func:`store_resume_command`; with ``what_it_trains``, saying it trains only what is missing), or,
    for a run on real data recorded without its fingerprint (:func:`~schema.unfingerprinted_splits`),
    which no resume accepts, that a new sweep finishes the comparison."""
    splits = schema.unfingerprinted_splits(store.read_manifest())
    if splits:
        data = join_words(["training" if split == "train" else "test" for split in splits])
        return (f"it cannot be resumed (it was started by an earlier vfibench that recorded no fingerprint of its "
                f"real {data} data, so a resume could not check that the data is unchanged): start a new sweep "
                f"with the same options to finish the comparison")
    trains = " (it trains only what is missing)" if what_it_trains else ""
    return f"finish it with `{store_resume_command(store, out)}`{trains}"


def report_command(store: RunStore, out: Path | None = None) -> str:
    """``vfibench report RUN --out OUT``, shell-quoted; ``out`` defaults to the folder holding the run."""
    return shlex.join(["vfibench", "report", store.name, "--out", str(store.root.parent if out is None else out)])


def run_directories(out: Path) -> list[Path]:
    """The run directories under ``out`` (folders with a manifest, not links such as ``latest``), newest first."""
    if not out.is_dir():
        return []
    return sorted((p for p in out.iterdir() if p.is_dir() and not p.is_symlink() and (p / MANIFEST).is_file()),
                  key=lambda p: p.name, reverse=True)


def unfinished_runs(out: Path, kind: str = schema.SWEEP) -> list[RunStore]:
    """The runs of ``kind`` (sweeps, or evaluations) under ``out`` whose manifest does not say complete,
    newest first (unreadable ones left out)."""
    found = []
    for root in run_directories(out):
        try:
            manifest = RunStore(root).read_manifest()
        except ResultsError:
            continue
        if schema.run_kind(manifest) == kind and manifest.get("status") != COMPLETE:
            found.append(RunStore(root))
    return found


def unfinished_evaluation_message(store: RunStore, manifest: Mapping[str, Any]) -> str:
    """Why an evaluation run without a summary has no results (its manifest does not say complete), and what
    to do: an evaluation stopped by a signal removes its folder, so one left 'running' is still being scored
    or was killed."""
    status = manifest.get("status")
    command = manifest.get("command")
    again = f": {command}" if isinstance(command, str) and command else "."
    how = ("an evaluation is still scoring it, or was killed before it finished" if status == RUNNING
           else "it stopped while writing its tables")
    return (f"'{store.root}' is an evaluation that did not finish: its manifest says '{status}' ({how}), and it "
            f"holds no results. An evaluation cannot be resumed: once no eval is writing it, delete the folder and "
            f"run the evaluation again{again}")


def _unfinished_evaluations_hint(out: Path) -> str:
    """`` 'RUN' is an evaluation that did not finish …`` for the newest such run under ``out`` (one without a
    summary: no results to read), else ``""``."""
    for store in unfinished_runs(out, schema.EVALUATION):
        if not store.path(schema.SUMMARY_FILE).exists():
            return (f" ('{store.name}' there is an evaluation that did not finish; evaluations are not resumed: "
                    f"once no eval is writing it, delete it and run the evaluation again.)")
    return ""


def incomplete_message(store: RunStore, out: Path, count: int = 1) -> str:
    """Why there is no finished run under ``out`` when ``store`` (the newest of ``count`` unfinished sweeps
    there) is: its status, the command that finishes it and the one that reports it as it is."""
    status = store.read_manifest().get("status")
    older = count - 1
    others = f" ({counted(older, 'older unfinished run')} {'is' if older == 1 else 'are'} there too)" if older else ""
    report = f"`{report_command(store, out)}`"
    writer = store.writer() if status == RUNNING else None
    if writer is not None:
        return (f"No finished run found under '{out}' (there is no '{out / LATEST}'), but the sweep '{store.name}' "
                f"there is running (process {writer}){others}. Wait for it to finish, or report what it has so far "
                f"with {report}.")
    finish = finish_clause(store, out, what_it_trains=True)
    return (f"No finished run found under '{out}' (there is no '{out / LATEST}'), but the sweep '{store.name}' there "
            f"is incomplete: its manifest says '{status}'{others}. {sentence_start(finish)}, or report what "
            f"it has so far with {report}.")


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


#: The packages whose versions a run's numbers depend on: a run is resumed only under the same ones, and
#: a comparison of runs made under others says so.
RESULT_PACKAGES = ("vfibench", "torch")


def public_release(version: object) -> str | None:
    """A package's public version (``2.5.1`` of ``2.5.1+cu124``: builds for other devices of one release
    are one release), or None when it is unknown or was not installed."""
    text = str(version or "").split("+", 1)[0].strip()
    return text if text and text != "not installed" else None


def changed_releases(then: object, now: object) -> list[str]:
    """The :data:`RESULT_PACKAGES` whose public release differs between two ``versions`` records of
    manifests (:func:`environment_versions`); a package either record does not know is not compared."""
    then = then if isinstance(then, dict) else {}
    now = now if isinstance(now, dict) else {}
    pairs = {package: (public_release(then.get(package)), public_release(now.get(package)))
             for package in RESULT_PACKAGES}
    return [package for package, (before, after) in pairs.items() if before and after and before != after]


def environment_versions() -> dict[str, str]:
    """Versions of the software a result depends on."""
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in ("vfibench", "torch", "torchvision", "numpy", "lpips", "scikit-image"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    versions["platform"] = platform.platform()
    versions["torch_threads"] = str(__import__("torch").get_num_threads())
    return versions
