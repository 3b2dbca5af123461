"""Work on a stream of items in parallel lanes: threads of one intra-op thread each, results in order.

On a CPU, scoring a batch of frames is a long chain of operations, many of them small (SSIM's
shifted sums, LPIPS's normalisations): split across cores inside each operation, every one ends
at a barrier where the cores wait for each other, and any other thread (a decoder, the progress
bar) turns those waits into contention. Given whole batches instead — one lane per core, each
with one intra-op thread — the cores never wait for each other, and reading the next batch fits
in whatever a lane leaves idle. Each item is worked on by one thread from start to end, so its
result does not depend on which lane took it.

Lanes keep one intra-op thread each, whatever the core count: measured on two cores, SSIM's small
operations split over two OpenMP threads from a thread other than the main one ran 4.5× slower
(30 against 6.7 ms per 448×256 frame), while one thread per lane loses nothing.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")


def cpu_lanes(device: torch.device | str) -> int:
    """Lanes to score on ``device`` with: on a CPU, torch's thread budget (its intra-op threads:
    the usable cores, or what ``torch.set_num_threads`` / ``OMP_NUM_THREADS`` allow), one lane per
    thread; on an accelerator, one (the device does the parallel work)."""
    return max(1, torch.get_num_threads()) if torch.device(device).type == "cpu" else 1


#: Reader threads at most on an accelerator: enough to decode PNGs as fast as the device scores them.
MAX_READERS = 8


def reader_threads(device: torch.device | str) -> int:
    """Threads that decode frames for a device: on a CPU one (its cores are the lanes' to score with,
    and each lane reads its own batches); on an accelerator up to :data:`MAX_READERS`, one core
    left to the thread that feeds the device. A 448×256 PNG takes 2.5–5 ms to decode, and a GPU
    scores a frame in less: read by one thread, the files would set the pace."""
    if torch.device(device).type == "cpu":
        return 1
    from vfibench.processes import available_cores

    return max(1, min(MAX_READERS, available_cores() - 1))


def ordered_map(work: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``work(item)`` for every item, yielded in the items' order, ``workers`` threads computing at
    once (for work that releases the GIL: decoding files). ``items`` is consumed in the caller's
    thread, at most ``2 × workers`` ahead of what has been yielded. The first failure, in the items'
    order, is raised where its result would have been yielded; queued work is then cancelled and
    the running work awaited. With one worker this is ``map(work, items)``."""
    if workers <= 1:
        yield from map(work, items)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vfibench-read")
    try:
        pending: deque[Future[R]] = deque()
        source = iter(items)
        while True:
            try:
                item = next(source)
            except StopIteration:
                break
            except Exception as err:  # reading the items failed: that is the next item's failure, in order
                failed: Future[R] = Future()
                failed.set_exception(err)
                pending.append(failed)
                break
            pending.append(pool.submit(work, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _lowest_priority() -> None:
    """Give the calling thread the lowest CPU priority (Linux: a thread's own nice value), so a
    background reader fills the moments the compute threads leave a core idle instead of
    preempting them; where that is not possible it runs at normal priority."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):  # not Linux, or not allowed: overlap still works
        pass


def prefetched(items: Iterator[T], lowest_priority: bool = True) -> Iterator[T]:
    """``items``, each next one produced in a background thread while the caller works on the
    current one (decoders and torch release the GIL). With ``lowest_priority`` (for a caller that
    computes on the CPU) the thread runs at the lowest priority: the caller waits for the next item
    only when it has nothing else to do; without it (a caller that waits for a GPU) at the caller's,
    and so do the threads it starts (reader threads inherit its priority). Errors are raised in the
    caller, in order."""
    done = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vfibench-read",
                            initializer=_lowest_priority if lowest_priority else None) as pool:
        upcoming = pool.submit(next, items, done)
        while True:
            item = upcoming.result()
            if item is done:
                return
            upcoming = pool.submit(next, items, done)
            yield item  # type: ignore[misc]


def map_in_lanes(items: Iterator[T], work: Callable[[T], R], lanes: int, lowest_priority: bool = True) -> Iterator[R]:
    """``work(item)`` for every item, yielded in the items' order, computed ``lanes`` at a time.

    With one lane this is a plain loop over :func:`prefetched` items (the next read in the
    background, at the lowest priority if ``lowest_priority``). With more, each lane is a thread with one intra-op torch thread that takes the
    next item (reading it, under a lock: ``items`` is consumed in order by one lane at a time) and
    works on it; torch's thread count is restored afterwards. The first failure, in the items'
    order, is raised once every earlier result has been yielded; lanes take no new item after a
    failure, an interrupt, or when the caller stops iterating, nor while two per lane are waiting
    to be yielded.
    """
    if lanes <= 1:
        for item in prefetched(items, lowest_priority):
            yield work(item)
        return
    lock = threading.Lock()
    arrived = threading.Condition()
    results: dict[int, R] = {}
    failures: dict[int, BaseException] = {}
    stop = threading.Event()
    taken = 0  # items read so far: the next one's index
    running = lanes
    # Items taken but not yet yielded: at most two per lane, so a slow consumer bounds the memory.
    slots = threading.Semaphore(2 * lanes)

    def fail(index: int, err: BaseException) -> None:
        with arrived:
            failures[index] = err
            stop.set()
            arrived.notify_all()

    def lane() -> None:
        nonlocal taken, running
        torch.set_num_threads(1)
        try:
            while not stop.is_set():
                if not slots.acquire(timeout=0.1):
                    continue
                with lock:
                    if stop.is_set():
                        return
                    index = taken
                    try:
                        item = next(items)
                    except StopIteration:
                        return
                    except BaseException as err:  # reading failed: that is this index's failure
                        fail(index, err)
                        return
                    taken += 1
                try:
                    result = work(item)
                except BaseException as err:
                    fail(index, err)
                    return
                with arrived:
                    results[index] = result
                    arrived.notify_all()
        finally:
            with arrived:
                running -= 1
                arrived.notify_all()

    threads_before = torch.get_num_threads()
    pool = ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="vfibench-lane")
    try:
        for _ in range(lanes):
            pool.submit(lane)
        # Items are taken in order and none after a failure, so every earlier index arrives or fails.
        position = 0
        while True:
            with arrived:
                while position not in results and position not in failures and running > 0:
                    arrived.wait(0.5)
                if position in results:
                    result = results.pop(position)
                elif position in failures:
                    raise failures[position]
                elif failures:  # pragma: no cover - defensive: cannot happen by the ordering above
                    raise failures[min(failures)]
                else:
                    return
            slots.release()
            yield result
            position += 1
    finally:
        stop.set()
        pool.shutdown(wait=True)
        torch.set_num_threads(threads_before)
