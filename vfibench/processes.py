"""What a process may use, how its allocator keeps memory, and how a helper process ends with the one
that started it (torch-free, so that any module can ask)."""

from __future__ import annotations

import ctypes
import importlib
import os
import signal
import sys
from typing import Any


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


def run_as_helper(parent: int, target: str, *args: Any) -> None:
    """The entry of a spawned helper process: ignore SIGINT (Ctrl-C reaches the whole process group and
    is ``parent``'s to handle), die with ``parent`` (:func:`exit_with_parent`), and only then import and
    call ``target`` (``module:function``) with ``args``. Started this way, a helper whose parent is
    killed while it is still importing torch ends at once instead of after its imports."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent)
    module, _, name = target.partition(":")
    getattr(importlib.import_module(module), name)(*args)


#: ``mallopt`` parameters (glibc's ``malloc.h``).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Blocks from this size up are mapped from the kernel for each allocation and unmapped when freed:
#: 32 MiB, the ceiling of glibc's own adaptive threshold on 64-bit systems, held there from the start.
MMAP_THRESHOLD_BYTES = 32 << 20
#: Free memory at the top of the heap kept for the next allocations before any is given back.
TRIM_THRESHOLD_BYTES = 1 << 30
#: Environment variables through which a user sets glibc's allocator (``GLIBC_TUNABLES`` only where it
#: names a ``glibc.malloc.*`` tunable).
MALLOC_ENVIRONMENT = ("GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
_freed_memory_kept = False


def uses_glibc() -> bool:
    """Whether this process runs on GNU libc (whose ``malloc`` :func:`keep_freed_memory` sets)."""
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError):  # no confstr (Windows), or a C library that does not know the name
        return False


def keep_freed_memory() -> bool:
    """Have the C allocator keep the memory torch frees for reuse instead of giving it back to the
    kernel, so that a computation repeated many times a second does not page its buffers in afresh
    each time. Returns whether the allocator is now set so (idempotent: later calls change nothing).

    glibc's ``malloc`` maps blocks above an adaptive threshold straight from the kernel and gives the
    free top of its heap back above a trim threshold (twice the other). A training step or a scoring
    batch allocates and frees activations of megabytes at a time, so that memory goes back and forth,
    each page zeroed by the kernel at its next first touch. Here the map threshold is fixed at 32 MiB
    (:data:`MMAP_THRESHOLD_BYTES`, where glibc's adaptive one ends) and the trim threshold at 1 GiB
    (:data:`TRIM_THRESHOLD_BYTES`); fixing either alone is worse than neither, since glibc then stops
    adapting the other. The process's peak memory grows little; what it has freed it keeps until it
    exits. The time it saves is measured in ``docs/performance.md``.

    Only on Linux with glibc, and not when the environment already sets glibc's allocator
    (``GLIBC_TUNABLES`` with ``glibc.malloc.*``, or ``MALLOC_MMAP_THRESHOLD_`` /
    ``MALLOC_TRIM_THRESHOLD_``): the user's settings are left as they are. Elsewhere it returns False
    and changes nothing. ``vfibench run`` and ``vfibench eval`` call it, and so do their worker
    processes; a script that calls the library may call it first.
    """
    global _freed_memory_kept
    if _freed_memory_kept:
        return True
    tunables, *variables = MALLOC_ENVIRONMENT
    if "glibc.malloc." in os.environ.get(tunables, "") or any(name in os.environ for name in variables):
        return False
    if not uses_glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):  # no such call after all
        return False
    _freed_memory_kept = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    return _freed_memory_kept


def signal_name(signum: int) -> str:
    """``SIGINT (Ctrl-C)``, ``SIGTERM``: a stopping signal as messages name it."""
    return signal.Signals(signum).name + (" (Ctrl-C)" if signum == signal.SIGINT else "")
