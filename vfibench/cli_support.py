"""Shared plumbing for the command line: one console, and errors printed as one paragraph."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from vfibench.errors import VfiBenchError

#: How every help text is rendered; :func:`examples` keeps command lines literal under it.
MARKUP = "markdown"

console = Console()
error_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def report_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`VfiBenchError` raised by a command into a clean message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except VfiBenchError as err:
            error_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=err.exit_code) from None

    return wrapper


def examples(*commands: str, notes: str = "") -> str:
    """A help epilog: one example command per paragraph, as code so that Markdown keeps ``*`` and ``_``.

    ``commands`` are shown exactly as written (a test runs each one); ``notes`` follows as prose.
    """
    lines = "\n\n".join(f"`{command}`" for command in commands)
    return f"Examples:\n\n{lines}" + (f"\n\n{notes}" if notes else "")
