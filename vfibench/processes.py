"""What a process may use, and how a helper process ends with the one that started it (torch-free,
so that any module can ask)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def exit_with_parent(parent: int, signum: int | None = None) -> None:
    """On Linux, have the kernel send ``signum`` (default SIGKILL) to this process when ``parent`` dies
    (``PR_SET_PDEATHSIG``), so that a killed command leaves no helper computing for nothing. If the
    parent has already died, the signal is sent at once (then the process exits, should a handler
    return). Install any handler of ``signum`` first. Elsewhere nothing is asked of the system: a
    helper must look for its parent itself."""
    signum = int(signum if signum is not None else getattr(signal, "SIGKILL", signal.SIGTERM))
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signum, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)


def signal_name(signum: int) -> str:
    """``SIGINT (Ctrl-C)``, ``SIGTERM``: a stopping signal as messages name it."""
    return signal.Signals(signum).name + (" (Ctrl-C)" if signum == signal.SIGINT else "")
