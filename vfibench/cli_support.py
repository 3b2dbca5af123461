"""Shared plumbing for the command line: one console, and errors printed as one paragraph."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from vfibench.errors import VfiBenchError

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
