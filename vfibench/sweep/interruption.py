"""Signals → a resumable run: how a sweep stops, and what it tells the user when it does.

Inside :func:`stop_on_signals`, SIGINT and SIGTERM raise :class:`Interrupted` in the coordinator
between two operations; the coordinator (:func:`vfibench.sweep.run_sweep`) then cancels the units in
progress, rewrites the tables of the finished ones, marks the manifest "interrupted" and raises
:func:`interruption`'s :class:`SweepInterrupted`, which says where the partial results are and the
exact command that finishes them (exit code 128 + the signal number: 130 for Ctrl-C, 143 for
SIGTERM). A SIGKILL cannot be caught: the manifest then still says "running", and ``--resume``
finishes the run all the same, since only finished units were ever written.

Python drops an exception that a signal handler raises while a ``__del__`` method or a weakref
callback runs (it prints "Exception ignored in …" and goes on), so the raise alone could lose a
stop; the coordinator therefore also calls :func:`raise_if_stopped` between units.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from vfibench.errors import StoppedBySignal
from vfibench.processes import signal_name
from vfibench.results import schema
from vfibench.results.store import MANIFEST, UNIT_FILE, RunStore, resume_command as _resume, tensorboard_option
from vfibench.words import counted

if TYPE_CHECKING:
    from vfibench.sweep.plan import SweepPlan


class Interrupted(BaseException):
    """Raised by :func:`stop_on_signals` in the main thread when SIGINT or SIGTERM arrives.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SweepInterrupted(StoppedBySignal):
    """A sweep stopped by a signal; its finished units are kept and the message says how to resume."""

    def __init__(self, message: str, signum: int, store: RunStore | None, resume: str) -> None:
        super().__init__(message, signum)
        self.store = store
        self.resume = resume


@contextlib.contextmanager
def stop_on_signals(signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Within the block, the first SIGINT or SIGTERM raises :class:`Interrupted` (later ones are ignored,
    so the clean-up that follows is not cut short). Outside the main thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    def handler(signum: int, frame: object) -> None:
        if not _caught:
            _caught.append(signum)
            if not _deferring:
                raise Interrupted(signum)

    previous = {number: signal.signal(number, handler) for number in signals}
    try:
        yield
    finally:
        for number, before in previous.items():
            signal.signal(number, before)
        _caught.clear()


@contextlib.contextmanager
def stop_on_default_sigterm() -> Iterator[None]:
    """:func:`stop_on_signals` for a library call (:mod:`vfibench.api`): SIGTERM — how ``kill`` and job
    schedulers stop a program — raises :class:`Interrupted` as it does on the command line, while its handler
    is still the default one, which would end the process on the spot (a sweep's manifest left saying
    "running", an evaluation's unfinished folder left behind). A SIGTERM handler the calling program
    installed is kept; SIGINT needs nothing, since Python's default handler raises KeyboardInterrupt,
    which the sweep and the evaluation treat as they treat :class:`Interrupted`."""
    untouched = signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    with stop_on_signals((signal.SIGTERM,) if untouched else ()):
        yield


#: The signal the active :func:`stop_on_signals` block caught, if any.
_caught: list[int] = []
#: Open :func:`stops_deferred` blocks.
_deferring: list[bool] = []


@contextlib.contextmanager
def stops_deferred() -> Iterator[None]:
    """Within the block a signal is only recorded, and :func:`raise_if_stopped` raises it afterwards: for
    the writes that mark a finished run complete and point ``latest`` at it, which a stop must not split
    (a run marked complete, then "interrupted" by the stop, with every unit finished)."""
    _deferring.append(True)
    try:
        yield
    finally:
        _deferring.pop()


def raise_if_stopped() -> None:
    """Raise :class:`Interrupted` if the active :func:`stop_on_signals` block caught a signal whose
    own raise was dropped (it arrived inside a ``__del__`` method or a weakref callback). Call it
    only where no Interrupted is being handled: between units, before a run is marked complete."""
    if _caught:
        raise Interrupted(_caught[0])


@contextlib.contextmanager
def signal_handlers_kept(signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Restore the handlers of ``signals`` after the block: for libraries (Ray) that install their own
    when they start, which would otherwise turn a SIGTERM into an exit that skips the clean-up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {number: signal.getsignal(number) for number in signals}
    try:
        yield
    finally:
        for number, handler in before.items():
            if handler is not None:
                signal.signal(number, handler)


def signum_of(stop: BaseException) -> int:
    """The signal behind an :class:`Interrupted` or a KeyboardInterrupt (SIGINT)."""
    return stop.signum if isinstance(stop, Interrupted) else int(signal.SIGINT)


def resume_command(plan: "SweepPlan", store: RunStore) -> str:
    """The exact command that finishes ``store`` (run from the same working directory), with the
    options of the executor that ran it (``--jobs 2``, ``--executor ray --address …``) and its
    ``--tensorboard`` folder."""
    return _resume(store.name, plan.out, [*plan.executor.get("options", []), *tensorboard_option(plan.tensorboard)])


def interruption(plan: "SweepPlan", store: RunStore, signum: int) -> SweepInterrupted:
    """The error that reports an interrupted sweep: what is kept, where, and how to resume."""
    units = plan.units()
    trained = [key for key in units if key.kind != schema.REFERENCE]
    references = [key for key in units if key.kind == schema.REFERENCE]
    trainings = sum(store.unit_info(key) is not None for key in trained)  # kept in the run, this session's or earlier
    scored = sum(store.unit_info(key) is not None for key in references)
    name = signal_name(signum)
    command = resume_command(plan, store)
    if trainings == len(trained) and scored == len(references):  # stopped between the last unit and the end
        return SweepInterrupted(
            f"The sweep was interrupted by {name} after every unit had finished: its "
            f"{counted(len(trained), 'training')} (configuration × seed) and "
            f"{counted(len(references), 'reference unit')} are kept in '{store.root}', but the run was not marked "
            f"complete. To write its tables from them and mark it complete (nothing is trained "
            f"again), run: {command}",
            signum, store, command,
        )
    return SweepInterrupted(
        f"The sweep was interrupted by {name}. {trainings} of {len(trained)} trainings (configuration × seed) and "
        f"{scored} of {len(references)} reference units finished and are kept in '{store.root}'; its summary.csv "
        f"lists them and marks the rest missing. Nothing unfinished is taken for a result. To finish only what is "
        f"missing, run: {command}",
        signum, store, command,
    )


def interrupted_before_start(signum: int, store: RunStore | None, options: Sequence[str] = ()) -> SweepInterrupted:
    """The error for a sweep stopped outside its units (while it loaded its data, started or closed its
    executor): the run, if any, is as it was; ``options`` are the executor's, for the resume command."""
    name = signal_name(signum)
    if store is not None and not (store.root / MANIFEST).is_file() and not any(store.root.rglob(UNIT_FILE)):
        shutil.rmtree(store.root, ignore_errors=True)  # made a moment ago, before its manifest: it holds nothing
        store = None
    if store is None:
        return SweepInterrupted(f"The sweep was interrupted by {name} before any unit ran; nothing was written.",
                                signum, None, "")
    command = _resume(store.name, store.root.resolve().parent, options)
    return SweepInterrupted(f"The sweep was interrupted by {name} while no unit was in progress; '{store.root}' "
                            f"keeps every unit it finished. To finish it, run: {command}", signum, store, command)
