"""What a sweep tells its caller while it works (the command line draws progress from it)."""

from __future__ import annotations

from typing import Protocol

from vfibench.errors import warn_caller


class SweepListener(Protocol):
    """Progress of a sweep, as its coordinator sees it.

    ``sweep_started`` once the data is loaded: the units still to train and their training steps
    in all (warm starts included); ``phase`` a stage, with ``total`` parts when it counts them
    (each then reported by ``advance``); ``unit_started``/``unit_finished`` per unit, the outcome
    naming its time and headline metrics; ``note`` something the user should know about the sweep's
    data or options before its numbers (a capped option, test data the model trained on). ``step`` reports the training steps of a unit that runs in
    this process (the local executor); units that run in other processes or on other machines report
    no steps, only their start and finish, and may overlap.
    """

    def sweep_started(self, units: int, steps: int) -> None: ...
    def phase(self, message: str, total: int | None = None) -> None: ...
    def note(self, message: str) -> None: ...
    def advance(self) -> None: ...
    def unit_started(self, label: str, steps: int) -> None: ...
    def step(self, step: int, loss: float) -> None: ...
    def unit_finished(self, label: str, outcome: str) -> None: ...


class SilentListener:
    """A listener that ignores everything (library use, tests)."""

    def sweep_started(self, units: int, steps: int) -> None: ...
    def phase(self, message: str, total: int | None = None) -> None: ...
    def note(self, message: str) -> None: ...
    def advance(self) -> None: ...
    def unit_started(self, label: str, steps: int) -> None: ...
    def step(self, step: int, loss: float) -> None: ...
    def unit_finished(self, label: str, outcome: str) -> None: ...


class WarningListener(SilentListener):
    """Silent about progress, but each note becomes a :class:`UserWarning` (library use): a note says
    something the run's numbers depend on, which a caller must not miss because nothing is printed."""

    def note(self, message: str) -> None:
        warn_caller(message)
