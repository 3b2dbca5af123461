"""Draw a sweep report's image grids in a second process while the first draws the figures.

A sweep's grids re-run each configuration's saved model on the chosen samples: importing torch,
loading the models, rendering and writing the PNGs take about 2 s of a sweep's ``vfibench report``.
The figures (the perception–distortion plane, the training curves, the breakdowns) are matplotlib,
about as long, and use one core. With two or more usable cores, :func:`start_grids` hands a sweep's
grids to a fresh Python process with one intra-op thread, so that the two processes never compete
for a core, and the caller draws the figures meanwhile. The grids are the same files either way
(tested). The second process imports the same vfibench as the first (not one that happens to lie in
the current folder), ends when the first does, however it ends, and removes its scratch files; an
error it meets is raised by the first with its traceback attached.

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
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vfibench.processes import available_cores, exit_with_parent
from vfibench.results import schema

if TYPE_CHECKING:
    from vfibench.results.report import DrawnGrids, ReportData

#: Environment of the second process: one thread for torch, OpenMP and BLAS.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
#: The second process's program: the folder holding the caller's vfibench first on the path (where
#: ``-m`` would put the current folder), then :func:`main` with the job.
BOOT = "import sys; sys.path[0] = sys.argv.pop(1); from vfibench.results.grid_process import main; main(*sys.argv[1:])"


class RemoteTraceback(Exception):
    """Where the second process met the error it passed back (the cause of the error raised here)."""

    def __str__(self) -> str:
        return str(self.args[0])


class PendingGrids(Protocol):
    """Grids being drawn: :meth:`result` waits for them (raising what drawing raised); :meth:`close`
    stops the drawing if it is still going and removes its scratch files."""

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
    """Grids drawn by a second Python process; drawn in place if it ends without a result."""

    def __init__(self, draw: Callable[[], "DrawnGrids"], data: "ReportData", job: tuple[object, ...]) -> None:
        self._draw = draw
        self._scratch = Path(tempfile.mkdtemp(prefix="vfibench-grids-"))
        self._result = self._scratch / "result.pickle"
        try:
            job_file = self._scratch / "job.pickle"
            job_file.write_bytes(pickle.dumps((data, *job), protocol=pickle.HIGHEST_PROTOCOL))
            package_parent = str(Path(__file__).resolve().parents[2])  # the vfibench this process imported
            self._process = subprocess.Popen(
                [sys.executable, "-c", BOOT, package_parent, str(job_file), str(self._result), str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env={**os.environ, **ONE_THREAD})
        except BaseException:
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise

    def result(self) -> "DrawnGrids":
        self._process.wait()
        try:
            outcome, value, where = pickle.loads(self._result.read_bytes())
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
            return self._draw()  # it ended without a result (killed, or unable to start Python): draw here
        if outcome == "error":
            raise value from RemoteTraceback(where)
        return value

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._scratch, ignore_errors=True)


def start_grids(data: "ReportData", directory: Path, count: int, seed: int | None) -> PendingGrids:
    """Start drawing the grids of :func:`~vfibench.results.report.draw_grids`: a sweep's in a second
    process where two cores are usable, otherwise in this process when the result is asked for."""
    from vfibench.results.report import draw_grids

    draw = partial(draw_grids, data, directory, count, seed)
    if data.view.manifest.get("kind", schema.SWEEP) != schema.SWEEP or available_cores() < 2:
        return _InPlace(draw)
    try:
        return _Background(draw, data, (directory, count, seed))
    except OSError:  # no process could be started: the same grids, drawn here
        return _InPlace(draw)


def main(job_file: str, result_file: str, parent: str) -> None:
    """The second process: draw the grids of the pickled job, write ("grids", DrawnGrids, "") or
    ("error", the exception, its traceback) to ``result_file``. If the first process dies first, so
    does this one, removing the scratch folder."""
    scratch = Path(job_file).parent

    def stop(signum: int, frame: object) -> None:
        shutil.rmtree(scratch, ignore_errors=True)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    exit_with_parent(int(parent), signal.SIGTERM)
    from vfibench.results.report import draw_grids

    data, directory, count, seed = pickle.loads(Path(job_file).read_bytes())
    try:
        outcome: tuple[str, object, str] = ("grids", draw_grids(data, directory, count, seed), "")
    except Exception as err:  # raised again by the caller, as if drawn there
        outcome = ("error", err, traceback.format_exc())
    try:
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that cannot travel: the caller draws again and meets it itself
        return
    Path(result_file).write_bytes(payload)
