"""What every dataset is before it is loaded: an index of triplets and a way to read them.

A :class:`TripletSource` lists its triplets as :class:`TripletRef` records (a name and where
each of the three frames comes from) without reading any pixels; :func:`load_triplets` reads
the chosen ones, checks them, fits them (:mod:`vfibench.data.images`) and stacks them into
:class:`~vfibench.data.triplets.Triplets`. Only the chosen triplets are ever held in memory,
and :func:`check_memory` refuses a selection that would not fit in the memory budget
(:func:`memory_budget`: half of the memory this machine, or its container, has).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vfibench.data.images import Fit, fit_frames, fitted_shape
from vfibench.data.triplets import Triplets
from vfibench.errors import DataError

#: The share of this machine's physical memory one loaded selection may take.
MEMORY_SHARE = 0.5
#: The budget where the system does not say how much memory it has, bytes (2 GiB).
FALLBACK_MAX_BYTES = 2 * 1024**3
_SELECTION_STREAM = 0x5E1EC7

Frames = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class TripletRef:
    """One triplet of a source, before reading.

    Attributes:
        name: a short identifier, unique within the source (e.g. ``00001/0001``).
        frames: where I0, It and I1 come from (file paths, or a video and frame number).
        t: the time of It between I0 (0) and I1 (1).
    """

    name: str
    frames: tuple[str, str, str]
    t: float = 0.5


class TripletSource(ABC):
    """An indexed dataset of triplets; reading happens only in :meth:`read`."""

    #: The spec kind, e.g. ``frames``.
    kind: str = ""

    def __init__(self, where: str, refs: Sequence[TripletRef]) -> None:
        self.where = where
        self.refs: tuple[TripletRef, ...] = tuple(refs)

    def __len__(self) -> int:
        return len(self.refs)

    def describe(self) -> str:
        """One line: kind and location."""
        return f"{self.kind}:{self.where}"

    @abstractmethod
    def read(self, indices: Sequence[int]) -> Iterator[tuple[int, Frames]]:
        """Yield ``(index, (I0, It, I1))`` for each of ``indices`` (ascending), each frame float32
        (H, W, 3) in [0, 1]; raise :class:`DataError` naming the file that cannot be read."""

    def attributes(self, indices: Sequence[int]) -> dict[str, "np.ndarray"]:
        """Known per-triplet attributes (``ambiguity_px``, ``motion_px``, ``occluded``) of ``indices``
        in sorted order; a source that does not know them returns none (the default)."""
        return {}

    def load(self, indices: Sequence[int], size: int | None, fit: Fit, max_bytes: int | None = None) -> Triplets:
        """The triplets ``indices`` as fitted tensors (see :func:`load_triplets`)."""
        return load_triplets(self, indices, size, fit, max_bytes)


def check_triplet(ref: TripletRef, frames: Frames) -> None:
    """:class:`DataError` naming the frame whose size differs from I0's."""
    shape = frames[0].shape
    for path, frame in zip(ref.frames[1:], frames[1:]):
        if frame.shape != shape:
            raise DataError(
                f"The frame {path} is {frame.shape[1]}x{frame.shape[0]} pixels but {ref.frames[0]}, the first "
                f"frame of the same triplet, is {shape[1]}x{shape[0]}; all three frames of a triplet must have "
                f"the same size. Remove or re-export the odd frame."
            )


def select_indices(available: int, count: int | None, seed: int) -> list[int]:
    """Which triplets to load: all of them if ``count`` is None or >= ``available``, else a
    seeded random subset of ``count``, in source order (same seed → same subset)."""
    if count is not None and (isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1):
        raise DataError(f"Got count={count!r}; ask for at least one triplet. (From Python, count=None takes all "
                        f"of them.)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"Got seed={seed!r}; use a non-negative integer seed such as 0.")
    if count is None or count >= available:
        return list(range(available))
    rng = np.random.default_rng([_SELECTION_STREAM, int(seed)])
    return sorted(int(i) for i in rng.choice(available, size=int(count), replace=False))


#: Where a Linux container's memory limit is read (cgroup v2, then v1); "max" or a huge number: none.
CGROUP_MEMORY_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def physical_memory() -> int | None:
    """The memory this process may use, in bytes: the machine's physical memory, or the memory limit
    of its container (cgroup) when that is lower; None where the system says neither."""
    try:
        total: int | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        total = None
    limits = []
    for path in CGROUP_MEMORY_LIMITS:
        try:
            text = Path(path).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text.isdigit():
            limits.append(int(text))
    known = [value for value in (total, *limits) if value]
    return min(known) if known else None


def memory_budget() -> tuple[int, str]:
    """The bytes one loaded selection may take, and why: :data:`MEMORY_SHARE` of this machine's
    physical memory (a budget, not a reading of what is free now, so that the same command is
    accepted or refused the same way on the same machine), or :data:`FALLBACK_MAX_BYTES`."""
    memory = physical_memory()
    if memory is None:
        return FALLBACK_MAX_BYTES, "the memory of this machine is unknown"
    return int(memory * MEMORY_SHARE), f"half of the {memory / 1024**3:.1f} GiB this machine (or its container) has"


def selection_bytes(count: int, height: int, width: int) -> int:
    """The memory ``count`` loaded triplets of height × width take: three float32 RGB frames each."""
    return count * 3 * 3 * height * width * 4


def check_memory(count: int, height: int, width: int, max_bytes: int | None, where: str) -> None:
    """:class:`DataError` if ``count`` float32 triplets of height × width exceed ``max_bytes``
    (None: :func:`memory_budget`)."""
    each = selection_bytes(1, height, width)
    need = count * each
    budget, why = memory_budget() if max_bytes is None else (max_bytes, "as asked")
    if need > budget:
        most = budget // each
        fit = (f"at most about {most:,} triplets of that size fit. Ask for fewer triplets or smaller frames with the "
               f"dataset spec's options, e.g. synthetic(count={most}) or frames(size=128):DIR" if most else
               "not one triplet of that size fits. Ask for smaller frames with the dataset spec's options, e.g. "
               "frames(size=128):DIR")
        raise DataError(
            f"Loading {count:,} triplets of {width}x{height} pixels from {where} would take {need / 1024**3:.1f} GiB "
            f"of memory (float32), more than the budget of {budget / 1024**3:.1f} GiB ({why}); {fit}, or use a "
            f"machine with more memory."
        )


def load_triplets(
    source: TripletSource,
    indices: Sequence[int],
    size: int | None,
    fit: Fit,
    max_bytes: int | None = None,
    native_sizes: Counter[tuple[int, int]] | None = None,
) -> Triplets:
    """Read, check, fit and stack the triplets ``indices`` of ``source``.

    Every triplet's three frames must have the same size (:func:`check_triplet`); with
    ``size=None`` every triplet must also fit to the same shape, since they are stacked.
    ``native_sizes``, if given, counts the (width, height) of the frames before fitting.
    """
    indices = sorted(indices)
    if not indices:
        raise DataError(f"No triplets were selected from {source.describe()}; ask for at least one.")
    if size is not None:
        check_memory(len(indices), size, size, max_bytes, source.describe())
    outputs: list[torch.Tensor] = []  # I0, It, I1, each (N, 3, h, w), allocated once h, w are known
    first: tuple[str, tuple[int, int]] | None = None
    filled = 0
    for index, frames in source.read(indices):
        ref = source.refs[index]
        check_triplet(ref, frames)
        if native_sizes is not None:
            native_sizes[(frames[0].shape[1], frames[0].shape[0])] += 1
        shape = fitted_shape(*frames[0].shape[:2], size, fit, ref.frames[0])
        if first is None:
            first = (ref.frames[0], shape)
            check_memory(len(indices), *shape, max_bytes, source.describe())
            outputs = [torch.empty(len(indices), 3, *shape) for _ in range(3)]
        elif shape != first[1]:
            raise DataError(
                f"The frame {ref.frames[0]} fits to {shape[1]}x{shape[0]} pixels but {first[0]} fits to "
                f"{first[1][1]}x{first[1][0]}; frames of different sizes can only be loaded together at a common "
                f"size. Pass a size (e.g. 256) so every frame is resized and cropped to size x size."
            )
        for output, fitted in zip(outputs, fit_frames(list(frames), size, fit, ref.frames[0])):
            output[filled] = fitted
        filled += 1
    if filled != len(indices):
        raise DataError(f"{source.describe()} yielded {filled} of the {len(indices)} triplets asked for.")
    times = torch.tensor([source.refs[i].t for i in indices], dtype=torch.float32)
    return Triplets(i0=outputs[0], it=outputs[1], i1=outputs[2], t=times)
