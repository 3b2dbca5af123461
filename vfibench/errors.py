"""User-facing errors.

Every problem a user can fix (a bad spec, a missing file, an absent backbone) is raised as a
:class:`VfiBenchError`. Its message is one self-contained paragraph: what was wrong, where,
and how to fix it. The CLI prints it without a traceback and exits with code 2.
"""

from __future__ import annotations

import os
import sys
import warnings


class VfiBenchError(Exception):
    """A problem with the user's input or environment, explained in one paragraph."""

    exit_code: int = 2


class StoppedBySignal(VfiBenchError):
    """A command or call stopped by SIGINT or SIGTERM; the message says what it kept and how to go on.

    Its exit code is 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM), as a shell reports a
    program that the signal ended.
    """

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


class SpecError(VfiBenchError):
    """A loss specification that cannot be parsed or makes no sense."""


class DataError(VfiBenchError):
    """A dataset that is missing, malformed or unreadable."""


class BackboneUnavailable(VfiBenchError):
    """A pretrained backbone (AlexNet/VGG16) is needed but not present or not verified."""


class ResultsError(VfiBenchError):
    """A results directory or file that is missing, corrupt or foreign."""


class RunLocked(ResultsError):
    """A run that another process is writing (it holds the run's lock)."""


def describe_os_error(err: OSError, doing: str = "") -> str:
    """One paragraph for a file-system failure: which path, what the system said, how to fix it."""
    import errno

    where = f" '{err.filename}'" if err.filename else ""
    if err.filename2:
        where += f" -> '{err.filename2}'"
    reason = err.strerror or str(err) or type(err).__name__
    permission = ("Your user may not access that path (to read it, or to write there); change its permissions "
                  "(e.g. chmod u+rwX) or point the command at files and folders you own.")
    fixes = {
        errno.ENOSPC: "Free some space on that disk (or point --out at another one) and run the command again.",
        errno.EDQUOT: "Free some space on that disk (or point --out at another one) and run the command again.",
        errno.EROFS: "That file system is read-only; point the command at a writable folder.",
        errno.EACCES: permission,
        errno.EPERM: permission,
        errno.EEXIST: "A file of that name is in the way; pass a folder, or remove the file.",
        errno.ENOTDIR: "A part of that path is a file, not a folder; pass a path whose parents are folders.",
        errno.ENOENT: "A folder on that path does not exist; create it or pass another path.",
    }
    fix = fixes.get(err.errno or -1, "Check that the path exists, is a folder and is writable, and that the "
                                     "disk has space; then run the command again.")
    action = f" while {doing}" if doing else ""
    return f"The file system refused{where}{action}: {reason} ({errno.errorcode.get(err.errno or -1, 'OSError')}). " \
           f"{fix}"


def warn_caller(message: str) -> None:
    """Issue ``message`` as a :class:`UserWarning` attributed to the first frame outside vfibench: the
    line of the caller's script or notebook that called the library, where warnings filters look."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 2  # level 2: warn_caller's caller
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)
