"""Progress of a sweep on stderr: live bars on a terminal, plain lines elsewhere.

:class:`RichSweepListener` (stderr is a terminal that redraws: :func:`draws_live`) draws an overall
bar over every training step of the sweep, with its ETA, above one bar per unit in progress
(configuration, seed) with the loss, and a bar for each counted phase (loading the data, evaluating
the references). A finished unit's bar is replaced by its line — ``[3/10] l1 (seed 0): PSNR …`` —
printed above the bars, whole, so the live area holds only what is running whatever the sweep's
size. Units that run in other processes (``--jobs``, Ray) report no steps: the overall bar advances
by their steps when they finish; several may be in progress at once. If the sweep is interrupted
the live area is cleared; the finished units' lines stay, once each.
:class:`PlainSweepListener` (a file, a CI log, a dumb terminal) prints each phase and each finished
unit — with its time and headline metrics, and the sweep's progress and ETA — as one line, and
while a unit trains a line every :data:`PLAIN_EVERY` seconds, so a log never falls silent for long.
:func:`counting_bar` and :func:`working` show the progress of other long steps (scoring an evaluation's
frames, writing a report) on a terminal, and leave no trace; off a terminal a counting bar prints a
line every :data:`PLAIN_EVERY` seconds.
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

#: Seconds between the progress lines printed where nothing is redrawn (a log, a pipe, a dumb terminal).
PLAIN_EVERY = 60.0


def draws_live(console: Console) -> bool:
    """Whether ``console`` is a terminal that can redraw live bars (not a file, a pipe or ``TERM=dumb``,
    where rich holds every frame back until the end)."""
    return console.is_terminal and not console.is_dumb_terminal


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

    def __enter__(self) -> "RichSweepListener":
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is not None:  # interrupted: clear the live area; the finished units' lines stay above it
            self.progress.live.transient = True
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
        self.tasks[label] = self.progress.add_task(escape(label), total=steps, detail="loss —")
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
        warm = label.startswith("warm start")
        if not warm:
            self.done += 1
        bar = self.tasks.pop(label, None)
        if bar is not None:
            task = next(t for t in self.progress.tasks if t.id == bar)
            unreported = int(task.total or 0) - self.stepped.pop(label, 0)
            if self.overall is not None and unreported > 0:  # a unit that ran elsewhere, or stopped early
                self.progress.advance(self.overall, unreported)
            self.progress.remove_task(bar)
        if self.overall is not None:
            self.progress.update(self.overall, detail=f"units {self.done}/{self.units}")
        count = "" if warm else f"[{self.done}/{self.units}] "
        self.progress.console.print(escape(f"{count}{label}: {outcome}"), highlight=False)  # above the bars, whole
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
        self.last_line = time.perf_counter()

    def __enter__(self) -> "PlainSweepListener":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.flush()

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
        self.last_line = time.perf_counter()

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
        if self.current is not None and time.perf_counter() - self.last_line >= PLAIN_EVERY:
            trained = self.stepped.get(self.current, 0)
            self._line(f"  {self.current}: step {trained}/{self.expected.get(self.current, 0)}, loss {loss:.4g}"
                       f"{self._sweep_eta()}")

    def _sweep_eta(self) -> str:
        """``"; sweep 40%, ETA 3m05s"`` from the steps done so far ('' before any or after all)."""
        if not 0 < self.done_steps < self.steps:
            return ""
        rate = (time.perf_counter() - self.started) / self.done_steps
        return f"; sweep {100 * self.done_steps // self.steps}%, ETA {_duration(rate * (self.steps - self.done_steps))}"

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
        self._line(f"{count}{label}: {outcome} ({_duration(elapsed)} in all{self._sweep_eta()})")


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
    """A bar of ``total`` items on ``console`` while the block runs, cleared when it ends; where nothing
    is redrawn (:func:`draws_live`), a line every :data:`PLAIN_EVERY` seconds instead. Yields the
    function that counts one item."""
    if total <= 0:
        yield lambda: None
        return
    if not draws_live(console):
        counted_items, last = 0, time.perf_counter()

        def count() -> None:
            nonlocal counted_items, last
            counted_items += 1
            if time.perf_counter() - last >= PLAIN_EVERY and counted_items < total:
                console.print(f"{escape(description)}: {counted_items}/{total}", highlight=False)
                last = time.perf_counter()

        yield count
        return
    progress = Progress(TextColumn("[cyan]{task.description}"), BarColumn(bar_width=None), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                        transient=True, expand=True)
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


@contextmanager
def working(console: Console, message: str) -> Iterator[None]:
    """A spinner with ``message`` on ``console`` while the block runs (a terminal that redraws only),
    cleared after."""
    if not draws_live(console):
        yield
        return
    with console.status(f"[dim]{escape(message)}…[/]"):
        yield
