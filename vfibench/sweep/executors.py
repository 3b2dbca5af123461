"""Executors: where a sweep's units run.

An executor takes :class:`~vfibench.sweep.unit.UnitSpec` s from the coordinator and hands back their
:class:`~vfibench.sweep.unit.UnitResult` s as they finish; it never writes the run directory. Three
are provided:

- :class:`LocalExecutor` (``--executor local``, the default): every unit in this process, one after
  the other, with live step progress.
- :class:`ProcessExecutor` (``--jobs N``): N worker processes on this machine (``spawn``; N at most
  the cores, and no more than the units left), each with ``threads`` torch threads so that N ×
  threads ≤ the cores this process may use: torch's default of one thread per core collapses when
  several processes compute on the same cores.
  The data goes to each worker once; a worker that dies mid-unit is replaced and its unit run again.
- :class:`~vfibench.sweep.ray_executor.RayExecutor` (``--executor ray``): one Ray task per unit on a
  Ray cluster (imported only when asked for; ``pip install 'vfibench[ray]'``).

:class:`ExecutorOptions` checks the command line's executor options and builds the executor.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

import torch

from vfibench.data.triplets import Triplets
from vfibench.errors import VfiBenchError
from vfibench.processes import available_cores, keep_freed_memory, run_as_helper
from vfibench.sweep.unit import UnitResources, UnitResult, UnitSpec, failed_result, run_unit
from vfibench.train import StepCallback, TrainState
from vfibench.words import counted

#: The optional extra that brings Ray, as the error message and the README spell it.
RAY_INSTALL = "pip install 'vfibench[ray]'"
#: Executor names accepted by ``--executor``.
EXECUTORS = ("local", "ray")


class ExecutorError(VfiBenchError):
    """The machinery that runs units failed (a worker process cannot start, the Ray cluster went away):
    the sweep stops, keeps its finished units and can be resumed."""


class Executor(Protocol):
    """Runs units and hands back their results as they finish.

    The coordinator calls :meth:`start` once with the sweep's data (and how many units it will submit
    at most, so that no worker is started for nothing), then :meth:`submit` at most ``capacity`` units
    at a time (a unit that continues a warm start gets the handle :meth:`share`
    returned for it), :meth:`next_result` to wait for the next finished one, :meth:`cancel` to
    abandon the units in progress (Ctrl-C) and :meth:`close` at the end, however the sweep ends.
    """

    #: ``local`` or ``ray``.
    name: str
    #: How many units may be in progress at once.
    capacity: int
    #: Torch threads per unit (None: the process's own setting).
    threads_per_unit: int | None

    def start(self, train: Triplets, test: Triplets, on_step: StepCallback | None = None,
              units: int | None = None) -> None: ...
    def share(self, state: TrainState) -> Any: ...
    def submit(self, spec: UnitSpec, warm: Any = None) -> int: ...
    def next_result(self) -> tuple[int, UnitResult]: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...
    def record(self) -> dict[str, Any]: ...


def threads_per_job(jobs: int) -> int:
    """The torch threads each of ``jobs`` local units may have: the usable cores shared among them, at
    least one (more would make processes compute on shared cores)."""
    return max(1, available_cores() // jobs)


class LocalExecutor:
    """Every unit in this process, in the order submitted (today's single-process sweep).

    ``threads`` sets torch's intra-op threads for the sweep (restored on :meth:`close`); None keeps
    the process's setting (torch's default: one per core).
    """

    name = "local"
    capacity = 1

    def __init__(self, threads: int | None = None, options: tuple[str, ...] = ()) -> None:
        self.threads_per_unit = threads
        self.options = options
        self._queue: deque[tuple[int, UnitSpec, Any]] = deque()
        self._tickets = 0
        self._data: tuple[Triplets, Triplets] | None = None
        self._on_step: StepCallback | None = None
        self._resources = UnitResources()
        self._threads_before: int | None = None

    def start(self, train: Triplets, test: Triplets, on_step: StepCallback | None = None,
              units: int | None = None) -> None:
        self._data, self._on_step = (train, test), on_step
        if self.threads_per_unit is not None:
            self._threads_before = torch.get_num_threads()
            torch.set_num_threads(self.threads_per_unit)

    def share(self, state: TrainState) -> TrainState:
        return state

    def submit(self, spec: UnitSpec, warm: Any = None) -> int:
        self._tickets += 1
        self._queue.append((self._tickets, spec, warm))
        return self._tickets

    def next_result(self) -> tuple[int, UnitResult]:
        """Run the oldest submitted unit here and now (its steps reach ``on_step`` as they happen)."""
        assert self._data is not None, "start() first"
        ticket, spec, warm = self._queue.popleft()
        return ticket, run_unit(spec, *self._data, warm, resources=self._resources, on_step=self._on_step)

    def cancel(self) -> None:
        self._queue.clear()

    def close(self) -> None:
        self._queue.clear()
        if self._threads_before is not None:
            torch.set_num_threads(self._threads_before)
            self._threads_before = None

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "jobs": 1, "threads_per_unit": self.threads_per_unit or torch.get_num_threads(),
                "cores": available_cores(), "options": list(self.options)}


@dataclass
class _Worker:
    """One worker process of a :class:`ProcessExecutor` and the unit it is running."""

    process: Any
    conn: multiprocessing.connection.Connection
    task: tuple[int, UnitSpec, Any, int] | None = None  # (ticket, spec, warm, attempts)


class ProcessExecutor:
    """``jobs`` worker processes on this machine, each running one unit at a time.

    Workers are started with ``spawn`` (no state inherited from this process), get the data once,
    set ``threads`` torch threads (default: cores // jobs, at least 1) and ignore SIGINT: Ctrl-C is
    the coordinator's, which then ends them (:meth:`cancel`). On Linux a worker also dies with the
    coordinator, so a SIGKILLed sweep leaves no worker behind. A worker that dies mid-unit (killed,
    out of memory) is replaced and the unit run again, up to ``max_retries`` times; after that the
    unit is recorded as failed and the others go on.
    """

    name = "local"

    def __init__(self, jobs: int, threads: int | None = None, max_retries: int = 1,
                 options: tuple[str, ...] = ()) -> None:
        self.jobs = jobs
        self.capacity = jobs
        self.threads_per_unit = threads or threads_per_job(jobs)
        self.max_retries = max_retries
        self.options = options
        self._workers: list[_Worker] = []
        self._data: tuple[Triplets, Triplets] | None = None
        self._tickets = 0

    def start(self, train: Triplets, test: Triplets, on_step: StepCallback | None = None,
              units: int | None = None) -> None:
        """Start the workers: ``jobs`` of them, or one per unit when the sweep has fewer units (each
        keeps the ``jobs``-worker thread count, which is part of its numbers)."""
        self._data = (train, test)
        self.capacity = max(1, min(self.jobs, units)) if units is not None else self.jobs
        payload = pickle.dumps(self._data, protocol=pickle.HIGHEST_PROTOCOL)
        launched = [self._launch() for _ in range(self.capacity)]  # all start importing at once
        self._workers = [self._hand_data(worker, payload) for worker in launched]

    def _spawn(self) -> _Worker:
        """A worker in place of one that died."""
        return self._hand_data(self._launch(), pickle.dumps(self._data, protocol=pickle.HIGHEST_PROTOCOL))

    def _launch(self) -> _Worker:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        process = context.Process(target=run_as_helper, args=(os.getpid(), f"{__name__}:_worker_main", theirs,
                                                              self.threads_per_unit),
                                  name="vfibench-unit-worker", daemon=True)
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def _hand_data(self, worker: _Worker, payload: bytes) -> _Worker:
        """Send the sweep's data to a new worker (it reads it once its imports are done)."""
        try:
            worker.conn.send_bytes(payload)
        except OSError as err:
            worker.process.join(timeout=10)
            raise ExecutorError(f"A --jobs worker process ended as it started (exit code {worker.process.exitcode}; "
                                f"{err}). Check that `python -c 'import vfibench'` works in this environment, or "
                                f"run without --jobs.") from None
        return worker

    def share(self, state: TrainState) -> TrainState:
        return state

    def submit(self, spec: UnitSpec, warm: Any = None) -> int:
        self._tickets += 1
        self._send(next(w for w in self._workers if w.task is None), (self._tickets, spec, warm, 0))
        return self._tickets

    def _send(self, worker: _Worker, task: tuple[int, UnitSpec, Any, int]) -> None:
        worker.task = task
        ticket, spec, warm, _ = task
        try:
            worker.conn.send_bytes(pickle.dumps((ticket, spec, warm), protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # the worker is gone: next_result() sees its sentinel and replaces it

    def next_result(self) -> tuple[int, UnitResult]:
        """Wait for a worker to hand back a result, or to die (then retry or record its unit as failed)."""
        while True:
            busy = [w for w in self._workers if w.task is not None]
            if not busy:
                raise RuntimeError("next_result() with no unit in progress")
            ready = multiprocessing.connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for worker in busy:
                if worker.conn in ready:
                    try:
                        ticket, result = unpickle_message(worker.conn.recv_bytes())
                    except (EOFError, OSError):
                        continue  # it died: replaced below
                    worker.task = None
                    return ticket, result
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    lost = self._replace(worker)
                    if lost is not None:
                        return lost

    def _replace(self, worker: _Worker) -> tuple[int, UnitResult] | None:
        """Start a new worker in place of a dead one; rerun its unit, or give it up as failed."""
        assert worker.task is not None
        ticket, spec, warm, attempts = worker.task
        worker.process.join(timeout=10)
        if worker.process.is_alive():  # its connection broke but it runs on: end it
            worker.process.kill()
            worker.process.join(timeout=5)
        code = worker.process.exitcode
        worker.conn.close()
        fresh = self._spawn()
        self._workers[self._workers.index(worker)] = fresh
        if attempts < self.max_retries:
            self._send(fresh, (ticket, spec, warm, attempts + 1))
            return None
        how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        return ticket, failed_result(spec, f"WorkerLost: its worker process died ({how}) while running it, "
                                           f"{counted(attempts + 1, 'time')}")

    def cancel(self) -> None:
        """End every worker now (their units are abandoned; nothing they did was written)."""
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.terminate()
        for worker in self._workers:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.task = None

    def close(self) -> None:
        for worker in self._workers:
            if worker.task is None and worker.process.is_alive():
                try:
                    worker.conn.send_bytes(b"")  # stop
                except OSError:
                    pass
        for worker in self._workers:
            if worker.task is None:
                worker.process.join(timeout=10)
        self.cancel()
        for worker in self._workers:
            worker.conn.close()
        self._workers = []

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "jobs": self.jobs, "workers": self.capacity,
                "threads_per_unit": self.threads_per_unit, "cores": available_cores(),
                "max_retries": self.max_retries, "start_method": "spawn", "options": list(self.options)}


@contextlib.contextmanager
def tensors_unpickled_quietly() -> Iterator[None]:
    """Within the block, no warning as a tensor is unpickled. Some torch releases (2.4 among them) read
    every pickled tensor through ``torch.load`` and warn each time, a FutureWarning on its
    ``weights_only`` default. What a sweep unpickles comes from its own processes (its workers, its
    Ray tasks), so the warning has nothing for the user to act on; it repeated once per unit."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are using `torch.load` with `weights_only=False`",
                                category=FutureWarning)
        yield


def unpickle_message(payload: bytes) -> Any:
    """``pickle.loads`` of a message between a sweep and its worker processes (:func:`tensors_unpickled_quietly`)."""
    with tensors_unpickled_quietly():
        return pickle.loads(payload)


def _worker_main(conn: multiprocessing.connection.Connection, threads: int) -> None:
    """A :class:`ProcessExecutor` worker (started through :func:`~vfibench.processes.run_as_helper`):
    receive the data, then run units until told to stop."""
    keep_freed_memory()
    torch.set_num_threads(threads)
    try:
        train, test = unpickle_message(conn.recv_bytes())
    except (EOFError, OSError):
        return
    resources = UnitResources()
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not message:
            return
        ticket, spec, warm = unpickle_message(message)
        result = run_unit(spec, train, test, warm, resources=resources)
        try:
            conn.send_bytes(pickle.dumps((ticket, result), protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            return


@dataclass(frozen=True)
class ExecutorOptions:
    """The executor options of ``vfibench run``, checked together (:meth:`check`) before any work.

    Attributes:
        executor: ``local`` (this machine) or ``ray`` (a Ray cluster).
        jobs: local worker processes (None or 1: every unit in this process).
        address: the Ray cluster to join (``HOST:PORT``, ``auto``; None: start a local Ray instance).
        gpus_per_unit, cpus_per_unit: Ray task resources per unit.
        threads: torch threads per unit (default: the process's setting locally, cores // jobs with
            ``--jobs``, the unit's CPUs on Ray).
    """

    executor: str = "local"
    jobs: int | None = None
    address: str | None = None
    gpus_per_unit: float | None = None
    cpus_per_unit: float | None = None
    threads: int | None = None

    @property
    def ray_cpus(self) -> float:
        """The CPUs each Ray task asks for: ``--cpus-per-unit``, 1 by default."""
        return self.cpus_per_unit if self.cpus_per_unit is not None else 1.0

    @property
    def ray_threads(self) -> int:
        """The torch threads each Ray task trains with: ``--threads``, else its whole CPUs, at least one."""
        return self.threads or max(1, math.floor(self.ray_cpus))

    def check(self) -> None:
        """A one-paragraph VfiBenchError for any option that is invalid or that the executor cannot use."""
        if self.executor not in EXECUTORS:
            raise VfiBenchError(f"Unknown --executor '{self.executor}'. Use local (this machine; add --jobs N for N "
                                f"worker processes) or ray (a Ray cluster).")
        if self.jobs is not None and self.jobs < 1:
            raise VfiBenchError(f"--jobs {self.jobs}: give the number of worker processes, 1 or more (1 runs every "
                                f"unit in this process).")
        if self.threads is not None and self.threads < 1:
            raise VfiBenchError(f"--threads {self.threads}: give the torch threads per unit, 1 or more.")
        if self.executor == "local":
            given = [name for name, value in (("--address", self.address), ("--gpus-per-unit", self.gpus_per_unit),
                                              ("--cpus-per-unit", self.cpus_per_unit)) if value is not None]
            if given:
                what = (f"{given[0]} is an option of Ray tasks: it needs" if len(given) == 1 else
                        f"{' and '.join(given)} are options of Ray tasks: they need")
                raise VfiBenchError(f"{what} --executor ray. On this machine, run units in parallel with --jobs N "
                                    f"(N worker processes) and train on a GPU with --device cuda.")
            jobs, cores = self.jobs or 1, available_cores()
            may_use = f"this process may use {counted(cores, 'core')}"
            if jobs > cores:
                raise VfiBenchError(
                    f"--jobs {jobs}: {may_use}, and each worker process computes with at least one torch thread, so "
                    f"more workers than cores would share cores and slow each other down many times over (each "
                    f"also loads its own copy of torch). Give --jobs {cores} or fewer.")
            allowed = threads_per_job(jobs)
            if self.threads is not None and self.threads > allowed:
                if jobs == 1:
                    raise VfiBenchError(
                        f"--threads {self.threads}: {may_use}, and torch threads that share cores slow each other "
                        f"down many times over. Give at most --threads {allowed}.")
                raise VfiBenchError(
                    f"--jobs {jobs} × --threads {self.threads} = {jobs * self.threads} torch threads, but {may_use}: "
                    f"processes computing on shared cores slow each other down many times over. "
                    f"Give at most --threads {allowed} (the default with --jobs {jobs}), or fewer --jobs.")
            return
        if self.jobs is not None:
            raise VfiBenchError("--jobs sets the worker processes of the local executor; with --executor ray the "
                                "cluster runs as many units at once as its resources allow (--cpus-per-unit, "
                                "--gpus-per-unit). Drop --jobs.")
        for option, value in (("--gpus-per-unit", self.gpus_per_unit), ("--cpus-per-unit", self.cpus_per_unit)):
            if value is not None and not math.isfinite(value):
                raise VfiBenchError(f"{option} {value:g}: give a finite number (e.g. 1, or 0.5 to share a device "
                                    f"between two units).")
        if self.gpus_per_unit is not None and self.gpus_per_unit < 0:
            raise VfiBenchError(f"--gpus-per-unit {self.gpus_per_unit:g}: give 0 or more GPUs (e.g. 1, or 0.5 to "
                                f"share a GPU between two units).")
        if self.cpus_per_unit is not None and self.cpus_per_unit <= 0:
            raise VfiBenchError(f"--cpus-per-unit {self.cpus_per_unit:g}: give a positive number of CPUs.")
        cpus = self.ray_cpus
        if self.threads is not None and self.threads > max(1.0, cpus):  # a unit has at least one thread
            raise VfiBenchError(
                f"--threads {self.threads} with --cpus-per-unit {cpus:g}: each unit would compute with "
                f"{self.threads} torch threads on the {counted(cpus, 'CPU')} Ray reserves for it, and threads that "
                f"share cores slow each other down many times over. Give --cpus-per-unit {self.threads} (a CPU for "
                f"each thread), or leave --threads out (as many as the unit's CPUs).")
        import_ray()

    def resuming(self, threads: int | None) -> ExecutorOptions:
        """These options for finishing a run whose units trained on the CPU with ``threads`` torch
        threads each (:func:`~vfibench.results.schema.training_threads`; None: no constraint).

        The thread count is part of a CPU unit's numbers: it sets the order of floating-point sums, and
        training compounds the differences as far as another seed would (README, *Threads are part of
        the numbers*). So a resumed run trains its remaining units with the run's threads whatever the
        executor, and options that cannot give them — under the rule :meth:`check` applies to a new
        run — are refused. Call :meth:`check` afterwards as for a new run.
        """
        if threads is None:
            return self
        keep = (f"The run's units trained with {counted(threads, 'torch thread')} each, and the thread count "
                f"changes what a unit trains to (the order of floating-point sums, compounded over the steps) by as "
                f"much as another seed does; the remaining units must train with the same count for the finished "
                f"run to equal an uninterrupted one.")
        if self.threads is not None and self.threads != threads:
            raise VfiBenchError(f"--threads {self.threads}: {keep} Resume with --threads {threads}, or without "
                                f"--threads.")
        if self.executor == "ray":
            cpus = self.ray_cpus
            if max(1.0, cpus) < threads:  # as check(): a unit has at least one thread, on a fraction of a CPU too
                raise VfiBenchError(f"--cpus-per-unit {cpus:g}: {keep} Resume with --cpus-per-unit {threads}, so that "
                                    f"Ray reserves a CPU for each thread.")
            return replace(self, threads=threads)
        jobs, cores = self.jobs or 1, available_cores()
        if threads > threads_per_job(jobs):
            advice = (f"Resume with --jobs {cores // threads} (or without --jobs)." if jobs > 1 and threads <= cores
                      else f"Finish it where this process may use at least {threads} cores, or start a new sweep.")
            raise VfiBenchError(f"{keep} {counted(jobs, 'unit')} at a time × {threads} threads would compute on "
                                f"{counted(cores, 'core')}, and threads that share cores slow each other down many "
                                f"times over. {advice}")
        return replace(self, threads=threads)

    def device(self, requested: str | None) -> tuple[str | None, bool]:
        """The ``--device`` the sweep should plan with, and whether that device is on this machine.

        Locally, ``requested`` as given. On Ray the units run where Ray places them: with
        ``--gpus-per-unit`` on the GPU Ray assigns (``cuda``), without it on the CPU.
        """
        if self.executor != "ray":
            return requested, True
        wanted = (requested or "auto").strip().lower()
        if wanted != "auto":
            from vfibench.sweep.plan import resolve_device

            resolve_device(str(requested), here=False)  # its form: an unknown name must not become the CPU
        if self.gpus_per_unit:
            if wanted not in ("auto", "cuda"):
                raise VfiBenchError(f"--device {requested} with --gpus-per-unit {self.gpus_per_unit:g}: Ray assigns each "
                                    f"unit its GPU, so the device is cuda. Use --device cuda (or leave it out).")
            return "cuda", False
        if wanted.startswith("cuda"):
            raise VfiBenchError(f"--device {requested} on Ray needs GPUs for each unit: add --gpus-per-unit 1 (Ray then "
                                f"places every unit on a GPU of the cluster).")
        return "cpu", False

    def build(self) -> Executor:
        """The executor these options describe (call :meth:`check` first)."""
        if self.executor == "ray":
            from vfibench.sweep.ray_executor import RayExecutor

            return RayExecutor(address=self.address, cpus_per_unit=self.ray_cpus,
                               gpus_per_unit=self.gpus_per_unit or 0.0, threads=self.ray_threads,
                               options=tuple(self.command_line()))
        if self.jobs and self.jobs > 1:
            return ProcessExecutor(self.jobs, self.threads, options=tuple(self.command_line()))
        return LocalExecutor(self.threads, options=tuple(self.command_line()))

    def local_units(self) -> tuple[int, int]:
        """(units at a time, torch threads per unit) of the local executor these options build: ``--jobs``
        workers with ``--threads`` or cores // jobs each, or this process with ``--threads`` or torch's own."""
        jobs = self.jobs or 1
        if jobs > 1:
            return jobs, self.threads or threads_per_job(jobs)
        return 1, self.threads or torch.get_num_threads()

    def command_line(self) -> list[str]:
        """These options as ``vfibench run`` takes them (for the resume command); defaults left out."""
        words: list[str] = []
        if self.executor != "local":
            words += ["--executor", self.executor]
        for option, value in (("--jobs", self.jobs), ("--address", self.address),
                              ("--gpus-per-unit", self.gpus_per_unit), ("--cpus-per-unit", self.cpus_per_unit),
                              ("--threads", self.threads)):
            if value is not None and not (option == "--jobs" and value == 1):
                words += [option, f"{value:g}" if isinstance(value, float) else str(value)]
        return words


def import_ray() -> Any:
    """The ``ray`` module; a VfiBenchError with the install command when it is not installed."""
    try:
        import ray
    except ImportError:
        raise VfiBenchError(f"--executor ray needs the optional package 'ray', which is not installed. Install it "
                            f"with `{RAY_INSTALL}` (on every machine of the cluster), or run on this machine with "
                            f"--executor local (--jobs N for N worker processes).") from None
    return ray
