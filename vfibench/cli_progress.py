"""Rich progress display for sweeps: one bar per (configuration, seed) with the loss and an ETA."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.markup import escape


class RichSweepListener:
    """Draws the sweep's progress on a rich console (use as a context manager)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[cyan]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None
        self.offset = 0

    def __enter__(self) -> "RichSweepListener":
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.progress.stop()

    def phase(self, message: str) -> None:
        self.progress.console.print(f"[dim]{escape(message)}…[/]")

    def unit_started(self, label: str, steps: int) -> None:
        self.task = self.progress.add_task(label, total=steps, loss="—")
        self.offset = -1

    def step(self, step: int, loss: float) -> None:
        if self.task is None:
            return
        if self.offset < 0:
            self.offset = step - 1
        self.progress.update(self.task, completed=step - self.offset, loss=f"{loss:.4g}")

    def unit_finished(self, label: str, outcome: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, description=f"{label}: {outcome}")
            task = self.progress.tasks[-1]
            self.progress.update(self.task, completed=task.total)
        self.task = None
