"""Draw a sweep report's image grids in a second process while the first draws the figures.

A sweep's grids re-run each configuration's saved model on the chosen samples: importing torch,
loading the models, rendering and writing the PNGs take about 2 s of a sweep's ``vfibench report``.
The figures (the perception–distortion plane, the training curves, the breakdowns) are matplotlib,
about as long, and use one core. With two or more usable cores, :func:`start_grids` hands a sweep's
grids to a fresh Python process with one intra-op thread, so that the two processes never compete
for a core, and the caller draws the figures meanwhile.

The second process draws into a hidden staging folder inside the report folder (with the job and
its result beside them); the caller moves the grids into place only once they are all drawn, so a
report that fails or is stopped leaves the report folder as it was, as drawing in place does. The
grids are the same files either way (tested). The second process imports the same vfibench as the
first (not one that happens to lie in the current folder), leaves Ctrl-C to the first, and passes
back any error with its traceback. On Linux it ends when the first process ends, however that ends,
removing the staging folder; elsewhere it finds out once it has drawn, and then removes it.

A fresh interpreter rather than :mod:`multiprocessing`: its ``spawn`` start re-runs the caller's
main module (``python -m vfibench`` would run the command again; a user's script without an
``if __name__ == "__main__"`` guard would do the same) and ``fork`` is unsafe after threads have
started. An evaluation's grids only read frames from disk and are drawn in place: a second
process's start-up (about half a second) would cost more than it hides. If the second process
cannot start, or ends without a result, the grids are drawn in place: the result is the same,
and an error is then raised where it happens.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vfibench.processes import available_cores, exit_with_parent
from vfibench.results import schema

if TYPE_CHECKING:
    from vfibench.results.report import DrawnGrids, ReportData

#: Environment of the second process: one thread for torch, OpenMP and BLAS.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
#: The second process's program: the current folder (which ``-c`` puts first on the path) off the
#: path and the folder holding the caller's vfibench on it, then :func:`main` with the job.
BOOT = ("import os, sys\n"
        "package = sys.argv.pop(1)\n"
        "if sys.path and sys.path[0] in ('', os.getcwd()): del sys.path[0]\n"
        "if package not in sys.path: sys.path.insert(0, package)\n"
        "from vfibench.results.grid_process import main\n"
        "main(*sys.argv[1:])\n")
JOB, RESULT = "job.pickle", "result.pickle"


class RemoteTraceback(Exception):
    """Where the second process met the error it passed back (the cause of the error raised here)."""

    def __str__(self) -> str:
        return str(self.args[0])


class PendingGrids(Protocol):
    """Grids being drawn: :meth:`result` waits for them (raising what drawing raised) and puts them in
    place; :meth:`close` stops the drawing if it is still going and removes its staging folder."""

    def result(self) -> "DrawnGrids": ...
    def close(self) -> None: ...


class _InPlace:
    """Grids drawn in this process when asked for."""

    def __init__(self, draw: Callable[[], "DrawnGrids"]) -> None:
        self._draw = draw

    def result(self) -> "DrawnGrids":
        return self._draw()

    def close(self) -> None:
        pass


class _Background:
    """Grids drawn by a second Python process into a staging folder inside ``directory``; drawn in
    place if it ends without a result."""

    def __init__(self, draw: Callable[[], "DrawnGrids"], data: "ReportData", directory: Path, count: int,
                 seed: int | None) -> None:
        self._draw = draw
        self._directory = directory
        self._staging = Path(tempfile.mkdtemp(prefix=".grids-", dir=directory))
        try:
            (self._staging / JOB).write_bytes(pickle.dumps((data, count, seed), protocol=pickle.HIGHEST_PROTOCOL))
            package_parent = str(Path(__file__).resolve().parents[2])  # the vfibench this process imported
            self._process = subprocess.Popen(
                [sys.executable, "-c", BOOT, package_parent, str(self._staging), str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env={**os.environ, **ONE_THREAD})
        except BaseException:
            shutil.rmtree(self._staging, ignore_errors=True)
            raise

    def result(self) -> "DrawnGrids":
        self._process.wait()
        try:
            outcome, value, where = pickle.loads((self._staging / RESULT).read_bytes())
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
            return self._draw()  # it ended without a result (killed, or unable to start Python): draw here
        if outcome == "error":
            raise value from RemoteTraceback(where)
        placed = []
        for path in value.paths:
            os.replace(path, self._directory / path.name)
            placed.append(self._directory / path.name)
        return replace(value, paths=placed)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._staging, ignore_errors=True)


def start_grids(data: "ReportData", directory: Path, count: int, seed: int | None) -> PendingGrids:
    """Start drawing the grids of :func:`~vfibench.results.report.draw_grids` into ``directory``: a
    sweep's in a second process where two cores are usable, otherwise in this process when the result
    is asked for."""
    from vfibench.results.report import draw_grids

    draw = partial(draw_grids, data, directory, count, seed)
    in_place = (schema.run_kind(data.view.manifest) != schema.SWEEP or available_cores() < 2
                or not sys.executable or getattr(sys, "frozen", False))
    if in_place:
        return _InPlace(draw)
    try:
        return _Background(draw, data, directory, count, seed)
    except Exception:  # no second process (a job that cannot be pickled, no interpreter): the same grids, here
        return _InPlace(draw)


def main(staging: str, parent: str) -> None:
    """The second process: draw the grids of ``staging``'s job into ``staging`` and write ("grids",
    DrawnGrids, "") or ("error", the exception, its traceback) beside them — unless the first process
    is gone by then (on Linux: as soon as it is gone), in which case remove ``staging`` and end."""
    folder, parent_pid = Path(staging), int(parent)

    def stop(signum: int = signal.SIGTERM, frame: object = None) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        os._exit(128 + signum)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; it is the first's
    signal.signal(signal.SIGTERM, stop)
    exit_with_parent(parent_pid, signal.SIGTERM)
    from vfibench.results.report import draw_grids

    job = folder / JOB
    data, count, seed = pickle.loads(job.read_bytes())
    job.unlink()
    try:
        outcome: tuple[str, object, str] = ("grids", draw_grids(data, folder, count, seed), "")
    except Exception as err:  # raised again by the caller, as if drawn there
        outcome = ("error", err, traceback.format_exc())
    if os.getppid() != parent_pid:  # where the kernel does not say so at once
        stop()
    try:
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that cannot travel: the caller draws again and meets it itself
        return
    (folder / RESULT).write_bytes(payload)
