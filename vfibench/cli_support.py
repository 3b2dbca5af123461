"""Shared plumbing for the command line: one console, and errors printed as one paragraph."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from vfibench.errors import VfiBenchError, describe_os_error

console = Console()
error_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def report_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`VfiBenchError` or a file-system :class:`OSError` raised by a command into one clean
    paragraph and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except VfiBenchError as err:
            error_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=err.exit_code) from None
        except OSError as err:  # a full disk, a read-only folder, a file where a folder should be
            error_console.print(f"[bold red]error:[/] {escape(describe_os_error(err))}", highlight=False,
                                soft_wrap=True)
            raise typer.Exit(code=2) from None

    return wrapper
