"""Parallel lanes: results in order whatever finishes first, the first failure in order, threads restored."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest
import torch

from vfibench.lanes import MAX_READERS, cpu_lanes, map_in_lanes, ordered_map, prefetched, reader_threads


def slow_square(x: int) -> int:
    time.sleep(0.02 if x % 3 == 0 else 0.001)  # later items often finish first
    return x * x


@pytest.mark.parametrize("lanes", [1, 2, 3])
def test_results_come_in_the_items_order(lanes):
    assert list(map_in_lanes(iter(range(20)), slow_square, lanes)) == [x * x for x in range(20)]


@pytest.fixture
def two_torch_threads() -> Iterator[None]:
    """The caller at two intra-op threads (the suite runs at one, which the lanes would keep anyway)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_lanes_work_at_once_with_one_intra_op_thread_each(two_torch_threads):
    seen: dict[str, int] = {}
    both_running = threading.Barrier(2, timeout=5)

    def work(x: int) -> int:
        seen[threading.current_thread().name] = torch.get_num_threads()
        if x < 2:
            both_running.wait()  # the first two items are held by two lanes at the same time
        return x

    assert list(map_in_lanes(iter(range(6)), work, 2)) == list(range(6))
    assert len(seen) == 2 and set(seen.values()) == {1}
    assert torch.get_num_threads() == 2  # the caller's own setting is untouched


def test_the_first_failure_in_order_is_raised_after_every_earlier_result():
    def work(x: int) -> int:
        if x == 5:
            time.sleep(0.05)
            raise ValueError("item 5")
        if x == 7:
            raise KeyError("item 7")  # fails first in time, but comes later in order
        return x

    got: list[int] = []
    with pytest.raises(ValueError, match="item 5"):
        for value in map_in_lanes(iter(range(10)), work, 3):
            got.append(value)
    assert got == [0, 1, 2, 3, 4]


def test_a_failed_read_is_raised_in_its_place():
    def items() -> Iterator[int]:
        yield from range(4)
        raise OSError("cannot read item 4")

    got: list[int] = []
    with pytest.raises(OSError, match="item 4"):
        for value in map_in_lanes(items(), lambda x: x, 2):
            got.append(value)
    assert got == [0, 1, 2, 3]


def test_stopping_early_takes_no_more_items(two_torch_threads):
    taken: list[int] = []

    def items() -> Iterator[int]:
        for x in range(1000):
            taken.append(x)
            yield x

    stream = map_in_lanes(items(), lambda x: x, 2)
    assert next(stream) == 0
    stream.close()
    assert len(taken) < 10 and torch.get_num_threads() == 2


def test_one_lane_per_cpu_thread_and_one_on_an_accelerator(two_torch_threads):
    assert cpu_lanes("cpu") == 2
    assert cpu_lanes("cuda") == 1 and cpu_lanes(torch.device("cuda", 0)) == 1


@pytest.mark.skipif(not hasattr(os, "getpriority") or not hasattr(threading, "get_native_id"),
                    reason="Linux thread priorities")
def test_one_lane_reads_at_the_lowest_priority_only_for_a_cpu():
    """A lane feeding a GPU reads its next items at the caller's priority; one computing on the CPU lets
    the read yield to it."""
    def niceness() -> Iterator[int]:
        for _ in range(4):
            yield os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert set(map_in_lanes(niceness(), lambda x: x, 1, lowest_priority=False)) == {caller}
    assert set(map_in_lanes(niceness(), lambda x: x, 1)) == {19}


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_readers_yield_in_the_items_order(workers):
    assert list(ordered_map(slow_square, range(20), workers)) == [x * x for x in range(20)]


def test_readers_work_at_once_and_stay_a_bounded_distance_ahead():
    both_running = threading.Barrier(2, timeout=5)
    taken: list[int] = []

    def items() -> Iterator[int]:
        for x in range(100):
            taken.append(x)
            yield x

    def work(x: int) -> int:
        if x < 2:
            both_running.wait()  # BrokenBarrierError unless two items are worked on at once
        return x

    stream = ordered_map(work, items(), 2)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    assert len(taken) <= 3 + 2 * 2  # what was yielded, and at most two per worker ahead of it
    stream.close()


def test_readers_raise_the_first_failure_in_order_after_every_earlier_result():
    def work(x: int) -> int:
        if x in (3, 5):
            time.sleep(0.05 if x == 3 else 0)  # the later failure happens first
            raise ValueError(f"item {x}")
        return x

    got: list[int] = []
    with pytest.raises(ValueError, match="item 3"):
        for value in ordered_map(work, range(10), 4):
            got.append(value)
    assert got == [0, 1, 2]


def test_one_reader_on_a_cpu_and_several_on_an_accelerator(monkeypatch):
    from vfibench import processes

    assert reader_threads("cpu") == 1
    monkeypatch.setattr(processes, "available_cores", lambda: 16)
    assert reader_threads("cuda") == MAX_READERS
    monkeypatch.setattr(processes, "available_cores", lambda: 3)
    assert reader_threads(torch.device("cuda", 0)) == 2
    monkeypatch.setattr(processes, "available_cores", lambda: 1)
    assert reader_threads("cuda") == 1


@pytest.mark.parametrize("workers", [1, 4])
def test_readers_raise_a_failure_of_the_items_themselves_in_order_too(workers):
    def items() -> Iterator[int]:
        yield from range(5)
        raise KeyError("item 5")  # a damaged sample found while listing

    def work(x: int) -> int:
        if x == 2:
            raise ValueError("item 2")
        return x

    got: list[int] = []
    with pytest.raises(ValueError, match="item 2"):  # the earlier failure, whichever came first
        for value in ordered_map(work, items(), workers):
            got.append(value)
    assert got == [0, 1]
    with pytest.raises(KeyError, match="item 5"):
        list(ordered_map(lambda x: x, items(), workers))


@pytest.mark.skipif(not hasattr(os, "getpriority") or not hasattr(threading, "get_native_id"), reason="Linux thread priorities")
def test_readers_started_for_a_gpu_keep_the_callers_priority_and_a_cpus_background_read_yields():
    def niceness(_: object) -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    caller = niceness(None)
    for_a_gpu = list(prefetched(ordered_map(niceness, range(8), 3), lowest_priority=False))
    assert set(for_a_gpu) == {caller}  # reader threads started from the prefetching thread inherit its priority
    for_a_cpu = list(prefetched(ordered_map(niceness, range(4), 1), lowest_priority=True))
    assert set(for_a_cpu) == {19}
