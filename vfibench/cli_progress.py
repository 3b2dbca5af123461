"""Progress of a sweep on stderr: live bars on a terminal, one plain line per finished unit elsewhere.

:class:`RichSweepListener` (stderr is a terminal) draws an overall bar over every training step of
the sweep, with its ETA, above one bar per unit (configuration, seed) with the loss, and a bar for
each counted phase (loading the data, evaluating the references). Units that run in other
processes (``--jobs``, Ray) report no steps: their bars fill, and the overall bar advances by their
steps, when they finish; several may be in progress at once. If the sweep is interrupted the live
area is cleared and the finished units are printed once, so no line appears twice.
:func:`PlainSweepListener` (stderr is a file or a CI log) prints each phase and each finished unit
— with its time and headline metrics, and the sweep's progress and ETA — as one line.
:func:`counting_bar` and :func:`working` show the progress of other long steps (scoring an evaluation's
frames, writing a report) on a terminal, and leave no trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.table import Column
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from vfibench.words import counted


class RichSweepListener:
    """Draws the sweep's progress on a rich console (use as a context manager)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        # The description and the bar share what the counts and times leave of the width; a long
        # description (a phase, a finished unit's headline) is cut with an ellipsis rather than
        # squeezing the counts and the ETA out of an 80-column terminal.
        self.progress = Progress(
            TextColumn("[cyan]{task.description}", table_column=Column(ratio=3, no_wrap=True, overflow="ellipsis")),
            BarColumn(bar_width=None, table_column=Column(ratio=2, min_width=8)),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}", table_column=Column(no_wrap=True)),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            expand=True,
        )
        self.overall: TaskID | None = None
        self.units = 0
        self.done = 0
        self.tasks: dict[str, TaskID] = {}  # label → bar of each unit in progress
        self.stepped: dict[str, int] = {}  # label → steps it reported
        self.current: str | None = None  # the unit whose steps arrive (the one in this process)
        self.phase_task: TaskID | None = None
        self.offset = 0
        self.finished: list[str] = []

    def __enter__(self) -> "RichSweepListener":
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is not None:  # interrupted: clear the live area, then print what finished, once
            self.progress.live.transient = True
            self.progress.stop()
            for line in self.finished:
                self.console.print(line, highlight=False)
            return
        self.progress.stop()

    def sweep_started(self, units: int, steps: int) -> None:
        self.units = units
        if steps > 0:
            self.overall = self.progress.add_task("sweep", total=steps, detail=f"units 0/{units}")

    def phase(self, message: str, total: int | None = None) -> None:
        self._close_phase()
        if total:
            self.phase_task = self.progress.add_task(message, total=total, detail="")
        else:
            self.progress.console.print(f"[dim]{escape(message)}…[/]")

    def note(self, message: str) -> None:
        self.progress.console.print(f"[yellow]note:[/] {escape(message)}", highlight=False)

    def advance(self) -> None:
        if self.phase_task is not None:
            self.progress.advance(self.phase_task)
            task = next(t for t in self.progress.tasks if t.id == self.phase_task)
            if task.finished:
                self.phase_task = None

    def _close_phase(self) -> None:
        if self.phase_task is not None:
            task = next(t for t in self.progress.tasks if t.id == self.phase_task)
            self.progress.update(self.phase_task, completed=task.total)
            self.phase_task = None

    def unit_started(self, label: str, steps: int) -> None:
        # A phase still counting (the references, while workers also train) stays open until it is done.
        self.tasks[label] = self.progress.add_task(label, total=steps, detail="loss —")
        self.stepped[label] = 0
        self.current = label
        self.offset = -1

    def step(self, step: int, loss: float) -> None:
        if self.current not in self.tasks:
            return
        if self.offset < 0:
            self.offset = step - 1
        self.progress.update(self.tasks[self.current], completed=step - self.offset, detail=f"loss {loss:.4g}")
        self.stepped[self.current] += 1
        if self.overall is not None:
            self.progress.advance(self.overall)

    def unit_finished(self, label: str, outcome: str) -> None:
        if not label.startswith("warm start"):
            self.done += 1
        bar = self.tasks.pop(label, None)
        if bar is not None:
            task = next(t for t in self.progress.tasks if t.id == bar)
            self.progress.update(bar, description=f"{escape(label)}: {escape(outcome)}", completed=task.total)
            unreported = int(task.total or 0) - self.stepped.pop(label, 0)
            if self.overall is not None and unreported > 0:  # a unit that ran elsewhere, or stopped early
                self.progress.advance(self.overall, unreported)
        if self.overall is not None:
            self.progress.update(self.overall, detail=f"units {self.done}/{self.units}")
        self.finished.append(f"{label}: {outcome}")
        if self.current == label:
            self.current = None


class PlainSweepListener:
    """One line per phase and per finished unit, for logs (stderr not a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.units = 0
        self.steps = 0
        self.done_steps = 0
        self.done = 0
        self.started = time.perf_counter()
        self.begun: dict[str, float] = {}  # label → when each unit in progress started
        self.expected: dict[str, int] = {}  # label → its steps
        self.stepped: dict[str, int] = {}  # label → the steps it reported
        self.current: str | None = None  # the unit whose steps arrive (the one in this process)
        self.last_step = 0

    def __enter__(self) -> "PlainSweepListener":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.flush()

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def sweep_started(self, units: int, steps: int) -> None:
        self.units, self.steps, self.started = units, steps, time.perf_counter()
        self._line(f"{counted(units, 'unit')} to train, {counted(steps, 'step')} in all")

    def phase(self, message: str, total: int | None = None) -> None:
        self._line(f"{message}…")

    def note(self, message: str) -> None:
        self._line(f"note: {message}")

    def advance(self) -> None: ...

    def unit_started(self, label: str, steps: int) -> None:
        self.begun[label], self.expected[label], self.stepped[label] = time.perf_counter(), steps, 0
        self.current, self.last_step = label, -1

    def step(self, step: int, loss: float) -> None:
        done = step - self.last_step if self.last_step >= 0 else 1
        self.done_steps += done
        if self.current in self.stepped:
            self.stepped[self.current] += done
        self.last_step = step

    def unit_finished(self, label: str, outcome: str) -> None:
        now = time.perf_counter()
        elapsed = now - self.begun.pop(label, now)
        unreported = self.expected.pop(label, 0) - self.stepped.pop(label, 0)
        if unreported > 0:  # a unit that ran elsewhere reports its steps when it finishes
            self.done_steps += unreported
        if self.current == label:
            self.current = None
        warm = label.startswith("warm start")
        if not warm:
            self.done += 1
        count = "" if warm else f"[{self.done}/{self.units}] "
        eta = ""
        if 0 < self.done_steps < self.steps:
            rate = (time.perf_counter() - self.started) / self.done_steps
            eta = f"; sweep {100 * self.done_steps // self.steps}%, ETA {_duration(rate * (self.steps - self.done_steps))}"
        self._line(f"{count}{label}: {outcome} ({_duration(elapsed)} in all{eta})")


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@contextmanager
def counting_bar(console: Console, description: str, total: int) -> Iterator[Callable[[], None]]:
    """A bar of ``total`` items on ``console`` while the block runs, cleared when it ends (a terminal
    only: elsewhere nothing is drawn); yields the function that counts one item."""
    if not console.is_terminal or total <= 0:
        yield lambda: None
        return
    progress = Progress(TextColumn("[cyan]{task.description}"), BarColumn(bar_width=None), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                        transient=True, expand=True)
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


@contextmanager
def working(console: Console, message: str) -> Iterator[None]:
    """A spinner with ``message`` on ``console`` while the block runs (a terminal only), cleared after."""
    if not console.is_terminal:
        yield
        return
    with console.status(f"[dim]{escape(message)}…[/]"):
        yield
