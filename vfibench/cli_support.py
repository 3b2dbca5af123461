"""Shared plumbing for the command line: one console, and errors printed as one paragraph."""

from __future__ import annotations

import functools
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console, ConsoleDimensions
from typer._click.exceptions import (  # typer 0.29 carries its own click
    ClickException, NoArgsIsHelpError, NoSuchOption, UsageError)
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from rich.markup import escape

from vfibench.errors import StoppedBySignal, VfiBenchError, describe_os_error

if TYPE_CHECKING:
    from rich.segment import Segment

#: How every help text is rendered; :func:`examples` keeps command lines literal under it.
MARKUP = "markdown"

#: The width tables are laid out for where no terminal gives one (a CI log, a pipe, a file; COLUMNS
#: unset): a summary of every default metric, a comparison or a dry run then prints whole, not split
#: at the 80 columns rich assumes there.
UNBOUNDED_WIDTH = 120


def _zero_size(key: str) -> bool:
    """Whether the environment's ``key`` is a ``COLUMNS`` or ``LINES`` of 0: rich would lay every table, help
    and message out 0 columns wide and print nothing, an error included (a terminal that reports a width of
    0 counts as none too, :func:`_terminal_columns`)."""
    value = os.environ.get(key, "")
    return key in ("COLUMNS", "LINES") and value.isdigit() and int(value) == 0


def drop_zero_sizes() -> None:
    """Remove a ``COLUMNS`` or ``LINES`` of 0 from the environment, for the consoles the help builds itself
    (this module's own consoles read it through :class:`_Environment`)."""
    for key in ("COLUMNS", "LINES"):
        if _zero_size(key):
            del os.environ[key]


class _Environment(Mapping[str, str]):
    """``os.environ`` as the consoles read it, at each use, without a ``COLUMNS`` or ``LINES`` of 0
    (:func:`_zero_size`): the consoles are made when this module is imported, before :func:`drop_zero_sizes`."""

    _hidden = staticmethod(_zero_size)

    def __getitem__(self, key: str) -> str:
        if self._hidden(key):
            raise KeyError(key)
        return os.environ[key]

    def __iter__(self) -> Iterator[str]:
        return (key for key in list(os.environ) if not self._hidden(key))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _OutputConsole(Console):
    """A console that lays out for a terminal's width (or COLUMNS), and for :data:`UNBOUNDED_WIDTH`
    where there is neither, measured at each use as rich measures a terminal; written to a file or a
    pipe, its lines end without the spaces that pad a table's cells to their width."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        rendered = super()._render_buffer(buffer)
        if self.is_terminal:
            return rendered
        return "\n".join(line.rstrip(" ") for line in rendered.split("\n"))

    @property
    def size(self) -> ConsoleDimensions:
        measured = super().size
        chosen = self._width is not None or self._environ.get("COLUMNS", "").isdigit()  # a width given stays
        if not chosen and _terminal_columns() is None:
            return ConsoleDimensions(UNBOUNDED_WIDTH, measured.height)
        return measured

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


def _terminal_columns() -> int | None:
    """The width of the terminal that stdout, stderr or (except on Windows) stdin is, where rich measures
    it too; None where none is (a width of 0, as some pseudo-terminals report, counts as none)."""
    for descriptor in (1, 2) if sys.platform == "win32" else (1, 2, 0):
        try:
            columns = os.get_terminal_size(descriptor).columns
        except (OSError, ValueError):
            continue
        if columns > 0:
            return columns
    return None


class _MessageConsole(Console):
    """stderr's console: messages are word-wrapped on a terminal, and written as one line each where
    stderr is a file or a pipe, so that a log never breaks a command it quotes (``vfibench report
    RUN --out DIR``) at an assumed width; the log's viewer wraps them."""

    def print(self, *objects: Any, soft_wrap: bool | None = None, **options: Any) -> None:  # type: ignore[override]
        super().print(*objects, soft_wrap=not self.is_terminal if soft_wrap is None else soft_wrap, **options)


# no emoji codes: a path such as frames:cat/ must print as written, not as frames🐱/
console = _OutputConsole(emoji=False, _environ=_Environment())
error_console = _MessageConsole(stderr=True, emoji=False, _environ=_Environment())


def console_of_width(width: int) -> Console:
    """A console writing where :data:`console` writes, as it does, but laid out for ``width`` columns."""
    return _OutputConsole(file=console.file, width=width, force_terminal=console.is_terminal, emoji=False,
                          color_system=console.color_system)  # type: ignore[arg-type]


P = ParamSpec("P")
R = TypeVar("R")


def print_error(message: str) -> None:
    """``error: message`` on stderr, as every problem a user can fix is printed: one paragraph, as written."""
    error_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


#: The exit code of a command stopped by an error vfibench did not foresee (a bug), where Python's 1
#: would read as ``compare``'s "something regressed".
INTERNAL_ERROR_EXIT = 3


def report_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`VfiBenchError` or a file-system :class:`OSError` raised by a command into one clean
    paragraph and exit code 2 (a :class:`StoppedBySignal` into its ``interrupted:`` line and 128 + the
    signal's number); an unforeseen exception (a bug) ends the command with its traceback, a line saying it
    is a bug, and exit code :data:`INTERNAL_ERROR_EXIT`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except StoppedBySignal as stopped:
            print_interrupted(str(stopped))
            raise typer.Exit(code=stopped.exit_code) from None
        except VfiBenchError as err:
            print_error(str(err))
            raise typer.Exit(code=err.exit_code) from None
        except OSError as err:  # a full disk, a read-only folder, a file where a folder should be
            print_error(describe_os_error(err))
            raise typer.Exit(code=VfiBenchError.exit_code) from None
        except (typer.Exit, typer.Abort, ClickException, KeyboardInterrupt, SystemExit):  # the CLI's own exits
            raise
        except Exception:  # noqa: BLE001 - a bug: shown whole, then told apart from the command's own exit codes
            import traceback

            traceback.print_exc()
            print_error(f"{_command_path(fn.__name__)} stopped on an unexpected error, shown above: a bug in vfibench, "
                        f"not a verdict on the input (exit code {INTERNAL_ERROR_EXIT}). Please report it with "
                        f"the traceback and the command.")
            raise typer.Exit(code=INTERNAL_ERROR_EXIT) from None

    return wrapper


class ReaderTolerantStream:
    """A standard stream that lets the command finish when whoever reads it stops (``vfibench compare … | head``).

    Once the reader has closed the pipe, a write or the last flush fails with EPIPE; left alone, that
    failure reaches the command-line library, which exits 1, the exit code that means a regression.
    Here the stream's descriptor is pointed at the null device instead, the rest of the output is
    dropped, and the command finishes its work with its own exit code.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._drop_the_rest()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._drop_the_rest()
            self._stream.flush()  # what was still buffered goes to the null device

    def _drop_the_rest(self) -> None:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, self._stream.fileno())
        finally:
            os.close(null)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def tolerate_gone_readers() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in :class:`ReaderTolerantStream` (the console script only: a test's
    captured streams stay as they are)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, ReaderTolerantStream) and hasattr(stream, "fileno"):
            setattr(sys, name, ReaderTolerantStream(stream))


def replace_unencodable(*streams: Any) -> None:
    """Have each of ``streams`` whose encoding is not UTF-8 (an ASCII locale, GBK, Latin-1), and so cannot write
    every character vfibench prints (±, →, −, Î), write ``?`` for those instead of failing the command, after its
    work, on the first table."""
    import codecs

    for stream in streams:
        try:
            utf8 = codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name == "utf-8"
        except LookupError:
            utf8 = False
        reconfigure = getattr(stream, "reconfigure", None)
        if not utf8 and reconfigure is not None:
            reconfigure(errors="replace")


def _command_path(fallback: str) -> str:
    """``vfibench data inspect``: the command running, as typed after the program's name."""
    from typer._click.globals import get_current_context

    context = get_current_context(silent=True)
    if context is None:
        return f"vfibench {fallback}"
    names = []
    while context is not None and context.parent is not None:
        names.append(str(context.info_name))
        context = context.parent
    return " ".join(["vfibench", *reversed(names)])


def print_interrupted(message: str) -> None:
    """``interrupted: message`` on stderr: what a command stopped by a signal kept, and how to go on."""
    error_console.print(f"[bold yellow]interrupted:[/] {escape(message)}", highlight=False, soft_wrap=True)


def examples(*commands: str, notes: str = "") -> str:
    """A help epilog: one example command per paragraph, as code so that Markdown keeps ``*`` and ``_``.

    ``commands`` are shown exactly as written (a test runs each one); ``notes`` follows as prose.
    """
    lines = "\n\n".join(f"`{command}`" for command in commands)
    return f"Examples:\n\n{lines}" + (f"\n\n{notes}" if notes else "")


#: Typer's value placeholders (``<str>``, ``<int range>``) and the words the help shows instead.
_TYPE_WORDS = {"str": "TEXT", "int": "INTEGER", "int range": "INTEGER", "float": "NUMBER",
               "float range": "NUMBER", "path": "PATH", "file": "FILE", "directory": "DIR"}


#: The longest list of choices shown as the placeholder (``[fp32|bf16|fp16]``); a longer one would take
#: a column of every option's help, so the option's name stands there and the help lists the choices.
CHOICES_SHOWN = 16


def _humanize(params: list, ctx: typer.Context) -> None:  # type: ignore[type-arg]
    """Give options without a metavar a plain placeholder (none for flags, ``TEXT``, ``[a|b]``, or for
    a long list of choices the option's name, ``FORMAT``, with "One of: …" after its help), and
    arguments their upper-case name alone: the name already says what goes there."""
    for param in params:
        if isinstance(param, TyperArgument):
            param.metavar = param.metavar or (param.name or "").upper()
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
            continue
        if not isinstance(param, TyperOption) or param.metavar is not None:
            continue
        if param.is_flag:
            param.metavar = ""
            continue
        shown = param.display_type(ctx).strip("<>").removeprefix("list[").removesuffix("]")
        if "|" in shown and len(shown) + 2 > CHOICES_SHOWN:
            param.metavar = (param.name or "value").upper()
            choices = shown.split("|")
            param.help = _with_choices(param.help or "", choices)
        else:
            param.metavar = f"[{shown}]" if "|" in shown else _TYPE_WORDS.get(shown, shown.upper())


def _with_choices(text: str, choices: list[str]) -> str:
    """``text`` with "One of: a, b or c." after it, before a closing "[default: …]" where it has one."""
    listed = f"One of: {', '.join(choices[:-1])} or {choices[-1]}."
    default = re.search(r"\s*(\[default: [^\]]*\])\s*$", text)
    if default:
        return f"{text[:default.start()]} {listed} {default.group(1)}".strip()
    return f"{text} {listed}".strip()


@contextmanager
def _negatives_beside_their_flags(params: list) -> Iterator[None]:  # type: ignore[type-arg]
    """While help is drawn, show a flag's negative form in its name's cell, on a line of its own
    under the flag, not in a column of its own, which took some twenty characters from every
    option's help. Parsing is untouched: the names are restored afterwards."""
    changed = []
    for param in params:
        if isinstance(param, TyperOption) and param.secondary_opts and any(o.startswith("--") for o in param.opts):
            changed.append((param, param.opts, param.secondary_opts))
            main = next(o for o in param.opts if o.startswith("--"))
            param.opts = ["\n".join([o, *param.secondary_opts]) if o == main else o for o in param.opts]
            param.secondary_opts = []
    try:
        yield
    finally:
        for param, opts, secondary in changed:
            param.opts, param.secondary_opts = opts, secondary


def _usage(params: list, ctx: typer.Context) -> list[str]:  # type: ignore[type-arg]
    """Usage-line pieces: ``NAME`` for a required argument, ``[NAME]`` for an optional one."""
    pieces = []
    for param in params:
        if isinstance(param, TyperArgument):
            name = param.display_name_raw + ("..." if param.nargs != 1 else "")
            pieces.append(name if param.required else f"[{name}]")
    return pieces


#: The placeholder of an option that takes one comma-separated list (``--losses LIST``): the help shows
#: it, and a repeated such option is told to use the comma form instead.
LIST = "LIST"


#: How the type validation behind Typer's options begins a failed check's message.
_VALIDATION_PREFIX = "Value error, "


def _check_option_tokens(params: list, args: list[str], help_names: list[str]) -> None:  # type: ignore[type-arg]
    """A :class:`typer.BadParameter` when an option that takes one value (not a flag, not repeatable)
    is given twice, e.g. ``--losses l1 --losses l2`` or ``-l l1 -ll2`` (click keeps the last silently), when
    an on/off flag is given both ways (``--skip-unavailable --no-skip-unavailable``), or when an option's
    value is empty (``--out ""`` would be the current folder, ``--device ""`` the default: silently
    another value than none). Tokens are read as click reads them: an option's value is skipped, ``--``
    ends the options, and ``--help`` anywhere leaves the command line to click (help wins)."""
    if any(arg in help_names for arg in args):
        return
    options = {name: param for param in params if getattr(param, "param_type_name", "") == "option"
               for name in (*param.opts, *param.secondary_opts)}
    seen: set[str] = set()
    switched: dict[str, str] = {}
    positional: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positional += args[index:]
            break
        if arg.startswith("--"):
            name, attached = arg.split("=", 1)[0], "=" in arg
            value = arg.split("=", 1)[1] if attached else None
        elif arg.startswith("-") and len(arg) > 1:
            name, attached = arg[:2], len(arg) > 2
            value = arg[2:] if attached else None
        else:
            positional.append(arg)
            continue
        param = options.get(name)
        if param is None:  # click names it; what follows may be its value, not an argument
            return
        if param.count:
            continue
        if param.is_flag:
            if param.secondary_opts and switched.setdefault(param.name, name) != name:
                raise typer.BadParameter(f"given both as {switched[param.name]} and as {name}; give one of them.",
                                         param_hint=f"'{param.opts[0]}'")
            continue
        if not attached:
            value = args[index] if index < len(args) else None
            index += 1  # the option's value, whatever it looks like
        if value is not None and not value.strip():
            fallback = "." if param.required else ", or leave the option out for its default."
            raise typer.BadParameter("is given an empty value; give a value" + fallback,
                                     param_hint=f"'{param.opts[0]}'")
        if value is not None and _takes_a_number(param) and _not_finite(value):
            raise typer.BadParameter(f"{value} is not a finite number; give one.", param_hint=f"'{param.opts[0]}'")
        if value is not None and _takes_a_number(param, int, float) and "_" in value:
            raise typer.BadParameter(f"{value} is not a number as vfibench reads numbers: write it in digits, "
                                     f"without underscores.", param_hint=f"'{param.opts[0]}'")
        if param.multiple:
            continue
        if param.name in seen:
            raise typer.BadParameter(
                "given twice, but it takes one value and the second would silently replace the first. Give it "
                "once" + (f", with the values comma-separated (e.g. {param.opts[0]} a,b)." if param.metavar == LIST
                          else "."),
                param_hint=f"'{param.opts[0]}'")
        seen.add(param.name)
    _check_argument_tokens(params, positional)


def _check_argument_tokens(params: list, values: list[str]) -> None:  # type: ignore[type-arg]
    """A :class:`typer.BadParameter` for an empty argument: a path given as ``''`` is the current folder
    (``data export synthetic ''`` wrote there), silently another value than the one typed."""
    arguments = [param for param in params if getattr(param, "param_type_name", "") == "argument"]
    for position, value in enumerate(values):
        known = position < len(arguments) and all(a.nargs == 1 for a in arguments[:position + 1])
        if known and not value.strip():  # (a value beyond the arguments is click's to name: an extra one)
            raise typer.BadParameter("is given an empty value; give a value.",
                                     param_hint=arguments[position].get_error_hint())


def _takes_a_number(param: Any, *kinds: type) -> bool:
    """Whether a typer option's value is a float (or one of ``kinds``)."""
    descriptor = getattr(param, "type_descriptor", None)
    return getattr(descriptor, "annotation", None) in (kinds or (float,))


def _not_finite(text: str) -> bool:
    """Whether ``text`` reads as NaN or an infinity (a range check would misname it as out of range)."""
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


class HumanCommand(TyperCommand):
    """A command whose help reads ``--out PATH`` and ``report [OPTIONS] [RUN]``, not ``<path>`` or ``[[RUN]]``."""

    def get_params(self, ctx: typer.Context) -> list:  # type: ignore[type-arg]
        params = super().get_params(ctx)
        _humanize(params, ctx)
        return params

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        """Parse as click does, but refuse what click would settle silently (:func:`_check_option_tokens`:
        an option given twice, an empty value, a flag given both ways, a number that is not finite) and
        word the validation errors of option types plainly."""
        _check_option_tokens(self.get_params(ctx), args, list(ctx.help_option_names))
        try:
            return super().parse_args(ctx, args)
        except typer.BadParameter as err:
            err.message = err.message.removeprefix(_VALIDATION_PREFIX)
            raise

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        return ["[OPTIONS]", *_usage(self.get_params(ctx), ctx)]

    def format_help(self, ctx: typer.Context, formatter) -> None:  # type: ignore[no-untyped-def]
        with _negatives_beside_their_flags(self.get_params(ctx)):
            super().format_help(ctx, formatter)


def usage_error_paragraph(err: UsageError) -> str:
    """A usage error (an unknown option, a missing argument, a value of the wrong type) as the one
    paragraph every other error is: what was wrong, the command's usage, and where the options are
    explained, e.g. ``Missing option '--pred' / '-p'. Usage: vfibench eval [OPTIONS]; 'vfibench eval
    --help' explains each option.``"""
    message = " ".join(err.format_message().split())  # one paragraph, even where click lists choices on lines
    if not message.endswith((".", "?", "!")):
        message += "."
    if err.ctx is None:
        return message
    if isinstance(err, NoSuchOption) and re.fullmatch(r"-[\d.].*", err.option_name):  # `losses "-1*l1"`
        message += (f" An argument that starts with '-' and a digit (a negative weight, say) is read as an option: "
                    f"put -- before it, as in `{err.ctx.command_path} -- {err.option_name}…`.")
    usage = err.ctx.get_usage().removeprefix("Usage: ").strip()
    explained = "lists the commands" if isinstance(err.ctx.command, TyperGroup) else "explains each option"
    return f"{message} Usage: {usage}; '{err.ctx.command_path} --help' {explained}."


@contextmanager
def _usage_errors_as_paragraphs() -> Iterator[None]:
    """Print a usage error raised inside as one ``error:`` paragraph and exit with code 2, as
    :func:`report_errors` prints the library's errors, instead of click's usage block and error box.
    This holds for ``app(standalone_mode=False)`` too: the caller gets exit code 2, not the exception."""
    try:
        yield
    except NoArgsIsHelpError:  # a group called bare: its help is the answer, as typer prints it
        raise
    except UsageError as err:
        print_error(usage_error_paragraph(err))
        raise typer.Exit(code=err.exit_code) from None


class HumanGroup(TyperGroup):
    """A command group with the same plain placeholders as :class:`HumanCommand`, whose usage errors,
    and those of every command under it, print as one paragraph (:func:`usage_error_paragraph`)."""

    def get_params(self, ctx: typer.Context) -> list:  # type: ignore[type-arg]
        params = super().get_params(ctx)
        _humanize(params, ctx)
        return params

    def make_context(self, info_name: str | None, args: list[str], parent: typer.Context | None = None,
                     **extra: Any) -> typer.Context:
        with _usage_errors_as_paragraphs():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: typer.Context) -> Any:
        with _usage_errors_as_paragraphs():
            return super().invoke(ctx)
