"""The Ray executor: one Ray task per unit on a Ray cluster (``vfibench run --executor ray``).

Imported only when that executor is asked for, so the core package never imports Ray. The data
is put in Ray's object store once and every task gets a reference to it; a seed's shared warm
start is put there once too (:meth:`RayExecutor.share`) and handed to that seed's units, so no
file has to be visible to every node. Each task asks Ray for ``cpus_per_unit`` CPUs and
``gpus_per_unit`` GPUs and trains with as many torch threads as it has CPUs. Results come back as
tasks finish (``ray.wait``) and the coordinator writes them: nodes never write the run directory.

A worker process or node lost mid-unit is Ray's to handle: the task is retried up to
``max_retries`` times (Ray's own task retries), and only the attempt that finishes hands back a
result, so a unit is written once. A unit that raises is recorded as failed by
:func:`~vfibench.sweep.unit.run_unit` and the others go on. Ctrl-C cancels the tasks in progress.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
from collections.abc import Iterator
from typing import Any

import torch

from vfibench.data.triplets import Triplets
from vfibench.processes import keep_freed_memory
from vfibench.sweep.executors import ExecutorError, import_ray, tensors_unpickled_quietly
from vfibench.sweep.interruption import Interrupted, signal_handlers_kept
from vfibench.sweep.unit import UnitResources, UnitResult, UnitSpec, failed_result, run_unit
from vfibench.train import StepCallback, TrainState, fix_cublas_workspace
from vfibench.words import counted

#: Seconds between two checks for a finished task (and for Ctrl-C).
POLL_SECONDS = 0.5
#: The per-process cache of metric suites of the tasks a Ray worker process runs, one after another
#: (CPU units; a GPU unit has a process of its own, :func:`task_options`).
_RESOURCES = UnitResources()


def run_unit_task(spec: UnitSpec, train: Triplets, test: Triplets, warm: TrainState | None) -> UnitResult:
    """The Ray task: :func:`~vfibench.sweep.unit.run_unit` in a Ray worker process (Ray has resolved
    the object references to the data and the warm start)."""
    keep_freed_memory()
    fix_cublas_workspace()
    if spec.threads:
        torch.set_num_threads(spec.threads)
    return run_unit(spec, train, test, warm, resources=_RESOURCES)


def task_options(cpus_per_unit: float, gpus_per_unit: float, max_retries: int) -> dict[str, Any]:
    """Ray's options for the task of one unit: its CPUs and GPUs, its retries, and how many units a
    worker process may run (``max_calls``).

    A GPU unit gets a fresh worker process (``max_calls=1``, what Ray itself gives a function declared
    with GPUs): a worker reused for a later task keeps the CUDA context of the GPU it first ran on
    whichever GPU Ray assigns it next (CUDA reads ``CUDA_VISIBLE_DEVICES`` once per process), so on a
    node with several GPUs two units could share one while another idles. A CPU unit's worker is
    reused (``max_calls=0``, no limit), keeping the backbones and prepared ground truth it loaded.
    """
    return {"num_cpus": cpus_per_unit, "num_gpus": gpus_per_unit, "max_retries": max_retries,
            "max_calls": 1 if gpus_per_unit else 0}


#: The logger through which Ray announces that a new local instance enabled token authentication, its
#: default (a warning in every sweep's output). For the instance a sweep starts on this machine, which
#: lives only as long as the sweep, vfibench keeps that logger's warnings out; Ray's errors still show,
#: joining a cluster (``--address``) shows everything, and ``RAY_AUTH_MODE`` works as Ray documents.
AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


@contextlib.contextmanager
def _quiet(name: str | None) -> Iterator[None]:
    """Within the block, the logger ``name`` passes only errors (None: every logger as it was)."""
    if name is None:
        yield
        return
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


#: Seconds to wait for a cluster's head node to accept a connection before calling it unreachable.
CONNECT_SECONDS = 5.0


def check_reachable(address: str | None, timeout: float = CONNECT_SECONDS) -> None:
    """An ExecutorError unless the head node at ``address`` (``HOST:PORT`` or ``ray://HOST:PORT``)
    accepts a TCP connection within ``timeout`` seconds: Ray itself retries an unreachable address for
    minutes. Other addresses (None, ``auto``, ``local``) are left to Ray."""
    if address is None:
        return
    target = address.removeprefix("ray://")
    host, colon, port = target.rpartition(":")
    if not colon or not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ExecutorError(f"--address {address}: nothing accepted a connection there within {timeout:g} s "
                            f"({reason}). Check the head node's address and port (`ray start --head` prints "
                            f"them; the default port is 6379) and that it is running and reachable from here, or "
                            f"leave --address out to start Ray on this machine.") from None


def join_failure(address: str | None, err: Exception) -> str:
    """What to say when Ray could not be started or joined at ``address``. A head node that accepts the
    connection but refuses the process is most often a cluster with Ray's token authentication on
    (``ray start --head`` turns it on where a token exists, e.g. after ``ray get-auth-token
    --generate``), which a process joining by address without ``RAY_AUTH_MODE=token`` cannot tell."""
    where = f"at '{address}'" if address else "on this machine"
    text = (f"Could not start or join a Ray cluster {where}: {err}. Start the head node with `ray start --head` "
            f"and pass its address with --address HOST:PORT (or --address auto on the head node).")
    if address and address != "local" and os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
        text += (" If the head node said 'Token authentication is enabled' as it started, run with "
                 "RAY_AUTH_MODE=token set (on another machine than the head node also RAY_AUTH_TOKEN, the token "
                 "`ray get-auth-token` prints there).")
    return text


@contextlib.contextmanager
def _signals_through_ray() -> Iterator[None]:
    """Let a Ctrl-C or SIGTERM that arrives inside a Ray call end the sweep as it does elsewhere: the
    ``Interrupted`` (or KeyboardInterrupt) its handler raises inside Ray's compiled code comes out as a
    ``SystemError`` ("returned a result with an exception set"); re-raise the interruption itself."""
    try:
        yield
    except SystemError as err:
        cause: BaseException | None = err
        while cause is not None and not isinstance(cause, (Interrupted, KeyboardInterrupt)):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        raise cause from None


@contextlib.contextmanager
def _local_ray_in_sessions_of_its_own() -> Iterator[None]:
    """Start the processes of a local Ray instance (GCS, raylet, monitor…) each in a session of its own,
    not in this process's group. A SIGTERM sent to the group — ``timeout``, ``kill -TERM -PGID``, a job
    runner stopping the command — ended them at the moment the sweep began to stop itself, and the driver,
    its raylet gone, exited 1 before the run was marked interrupted. Ray already keeps them from the
    terminal's Ctrl-C (it blocks SIGINT in them), and on Linux they end with this process
    (``PR_SET_PDEATHSIG``) whatever their group; where Ray lacks that, or its internals differ, nothing
    is changed."""
    try:
        from ray._private import services, utils
    except ImportError:
        yield
        return
    original = getattr(services, "ConsolePopen", None)
    if original is None or os.name != "posix" or not utils.detect_fate_sharing_support():
        yield
        return

    class InItsOwnSession(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("start_new_session", True)
            super().__init__(*args, **kwargs)

    services.ConsolePopen = InItsOwnSession
    try:
        yield
    finally:
        services.ConsolePopen = original


class RayExecutor:
    """One Ray task per unit, on the cluster at ``address`` (None: this process's Ray, or a new local one).

    Args:
        address: ``HOST:PORT`` of a running cluster's head node, ``auto`` for the cluster started on
            this machine with ``ray start --head``, or None. A Ray that this process already
            initialised is used as it is.
        cpus_per_unit, gpus_per_unit: the Ray resources of each task.
        threads: torch threads per unit (default: the unit's CPUs, at least 1).
        max_retries: Ray's retries of a task whose worker died.
    """

    name = "ray"

    def __init__(self, address: str | None = None, cpus_per_unit: float = 1.0, gpus_per_unit: float = 0.0,
                 threads: int | None = None, max_retries: int = 3, options: tuple[str, ...] = ()) -> None:
        self.ray = import_ray()
        self.address = address
        self.cpus_per_unit = cpus_per_unit
        self.gpus_per_unit = gpus_per_unit
        self.threads_per_unit = threads or max(1, math.floor(cpus_per_unit))
        self.max_retries = max_retries
        self.options = options
        self.capacity = 1
        self._owner = False
        self._data: tuple[Any, Any] | None = None
        self._task: Any = None
        self._pending: dict[Any, tuple[int, UnitSpec]] = {}
        self._tickets = 0
        self._cluster: dict[str, float] = {}

    def start(self, train: Triplets, test: Triplets, on_step: StepCallback | None = None,
              units: int | None = None) -> None:
        ray = self.ray
        if not ray.is_initialized():
            check_reachable(self.address)
        try:
            if not ray.is_initialized():
                # ray.init installs its own SIGTERM handler in the driver
                with signal_handlers_kept(), _quiet(AUTH_LOGGER if self.address is None else None), \
                        _local_ray_in_sessions_of_its_own():
                    ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                             logging_level=logging.WARNING)
                self._owner = True
            self._cluster = {k: float(v) for k, v in ray.cluster_resources().items() if k in ("CPU", "GPU")}
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ExecutorError(join_failure(self.address, err)) from None
        slots = math.floor(self._cluster.get("CPU", 0.0) / self.cpus_per_unit) if self.cpus_per_unit else 1
        if self.gpus_per_unit:
            slots = min(slots, math.floor(self._cluster.get("GPU", 0.0) / self.gpus_per_unit))
        if slots < 1:
            raise ExecutorError(
                f"The Ray cluster has {counted(float(self._cluster.get('CPU', 0)), 'CPU')} and "
                f"{counted(float(self._cluster.get('GPU', 0)), 'GPU')}: not enough for one unit with "
                f"--cpus-per-unit {self.cpus_per_unit:g} and --gpus-per-unit {self.gpus_per_unit:g}. Add nodes "
                f"with `ray start --address HEAD:PORT`, or ask for less per unit.")
        self.capacity = slots
        self._data = (ray.put(train), ray.put(test))
        self._task = ray.remote(**task_options(self.cpus_per_unit, self.gpus_per_unit, self.max_retries))(run_unit_task)

    def share(self, state: TrainState) -> Any:
        """The warm start in the object store; its reference goes to every unit that continues it."""
        return self.ray.put(state)

    def submit(self, spec: UnitSpec, warm: Any = None) -> int:
        assert self._data is not None, "start() first"
        self._tickets += 1
        self._pending[self._task.remote(spec, *self._data, warm)] = (self._tickets, spec)
        return self._tickets

    def next_result(self) -> tuple[int, UnitResult]:
        """The next task to finish; a task Ray gave up on (its retries spent) is its unit's failure."""
        ray = self.ray
        while True:
            try:
                with _signals_through_ray():
                    ready, _ = ray.wait(list(self._pending), num_returns=1, timeout=POLL_SECONDS)
            except ray.exceptions.RaySystemError as err:
                raise ExecutorError(f"The Ray cluster stopped answering: {err}") from None
            if ready:
                break
        ticket, spec = self._pending.pop(ready[0])
        try:
            with _signals_through_ray(), tensors_unpickled_quietly():
                return ticket, ray.get(ready[0])
        except ray.exceptions.RayError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            return ticket, failed_result(spec, f"{type(err).__name__}: the Ray task failed after {self.max_retries} "
                                               f"retries: {first}")

    def cancel(self) -> None:
        """Cancel every task in progress (Ctrl-C): Ray ends their worker processes."""
        for ref in list(self._pending):
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # already finished or gone: nothing left to cancel
                pass
        self._pending.clear()

    def close(self) -> None:
        if self._pending:
            self.cancel()
        if self._owner and self.ray.is_initialized():
            self.ray.shutdown()
            self._owner = False

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address or "local", "cpus_per_unit": self.cpus_per_unit,
                "gpus_per_unit": self.gpus_per_unit, "threads_per_unit": self.threads_per_unit,
                "max_retries": self.max_retries, "cluster": self._cluster, "ray": self.ray.__version__,
                "options": list(self.options)}
