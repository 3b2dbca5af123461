"""Looking at a dataset before training on it: counts, sizes, motion (inspect) and every file (validate).

Motion of real data has no ground truth, so :func:`inspect_source` reports four model-free
indicators per triplet, on the frames as the benchmark sees them (after fitting):

* **camera motion** — the length of the median optical-flow vector from I0 to I1 (DIS, the flow of
  the largest motion below; the median of each component over every pixel), in pixels: the motion of
  most of the frame, so a pan, not an object moving over a still background (a single global
  translation, by phase correlation, locks on to a large moving object in some triplets and not in
  others: 0 px or about 40 px from one triplet to the next of a real clip from a still camera);
* **largest motion** — the 99th percentile of the DIS flow's magnitude
  (:func:`~vfibench.metrics.classical_flow.largest_motion`), in pixels, on the frames as loaded:
  what a sweep records as a real test sample's ``motion_px`` at its preset's test size;
* **|I1 − I0|** — mean absolute difference, in 8-bit levels: how much changes at all;
* **blend PSNR** — PSNR of the time-weighted average (1 − t)·I0 + t·I1 (for t = 0.5, (I0 + I1)/2),
  rounded to 8 bits, against It (RGB, data range 1, mean of per-triplet values): the score of the
  untrained ``blend`` reference (:func:`vfibench.references.blend`). High values mean there is
  little to interpolate.

For ``synthetic`` data the exact largest displacement of any scene point is known and reported
instead of the estimate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vfibench.data.images import MIN_SIZE, Fit, UnreadableFrame, read_image
from vfibench.data.standard_sets import StandardSource
from vfibench.data.synthetic_source import SyntheticSource
from vfibench.data.triplet_source import TripletRef, TripletSource, check_memory, load_triplets
from vfibench.data.triplets import Triplets
from vfibench.errors import DataError

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Spread:
    """Minimum, median, 90th percentile and maximum of some per-triplet values."""

    min: float
    median: float
    p90: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float] | np.ndarray) -> "Spread":
        v = np.asarray(values, dtype=np.float64)
        return cls(float(v.min()), float(np.median(v)), float(np.percentile(v, 90)), float(v.max()))


@dataclass(frozen=True)
class Inspection:
    """What :func:`inspect_source` found.

    Attributes:
        source: the source's description.
        total: triplets in the source (this split).
        selected: triplets a load with the same count would take.
        measured: triplets read to measure the rest.
        native_sizes: (width, height) of the measured frames before fitting, with counts.
        fitted_size: (width, height) after fitting.
        camera_px, abs_diff, blend_psnr: the indicators of the module docstring.
        known_motion_px: exact largest displacement per scene (synthetic only).
        estimated_motion_px: the estimated largest motion (real data only).
    """

    source: str
    total: int
    selected: int
    measured: int
    native_sizes: Counter[tuple[int, int]]
    fitted_size: tuple[int, int]
    camera_px: Spread
    abs_diff: Spread
    blend_psnr: Spread
    known_motion_px: Spread | None = None
    estimated_motion_px: Spread | None = None


def camera_motion(i0: torch.Tensor, i1: torch.Tensor, flow: torch.Tensor | None = None) -> np.ndarray:
    """Length (px) of the median DIS flow vector from each I0 to its I1: (N,) float64. ``flow``: that
    flow, (N, 2, H, W), when it is already computed.

    DIS, not Farnebäck: on a 128×96 crop of a real photograph panned by 3, 8, 12 or 16 px, DIS's
    median found the pan to within 0.02 px (and 23.6 px of 24, 30.6 of 32), while Farnebäck's (the
    ``psnr-div`` parameters, three pyramid levels) found 0.01 to 0.3 px; on 256×256 crops both found
    it to within 0.06 px."""
    from vfibench.metrics.classical_flow import optical_flow

    flow = (optical_flow(i0, i1, "dis") if flow is None else flow).flatten(2)  # (N, 2, H·W)
    return flow.median(dim=2).values.square().sum(dim=1).sqrt().numpy()


def motion_indicators(batch: Triplets, estimate: bool = True) -> tuple[np.ndarray, ...]:
    """(camera motion px, mean |I1 − I0| in 8-bit levels, blend PSNR dB, and with ``estimate`` the
    estimated largest motion px), each (N,)."""
    from vfibench.metrics.classical_flow import largest_motion, optical_flow
    from vfibench.metrics.psnr import psnr as frame_psnr
    from vfibench.metrics.suite import quantize_8bit
    from vfibench.references import blend

    diff = (batch.i1 - batch.i0).abs().double().mean(dim=(1, 2, 3)).numpy() * 255.0
    psnr = frame_psnr(quantize_8bit(blend(batch)), batch.it).numpy()  # as the blend reference row scores it
    flow = optical_flow(batch.i0, batch.i1, "dis")  # one flow for both motion indicators
    largest = largest_motion(batch.i0, batch.i1, flow).numpy() if estimate else np.full(len(batch), np.nan)
    return camera_motion(batch.i0, batch.i1, flow), diff, psnr, largest


def inspect_source(
    source: TripletSource,
    indices: Sequence[int],
    size: int | None,
    fit: Fit,
    *,
    sample: int = 32,
) -> Inspection:
    """Count, size and motion indicators of ``source``, measured on up to ``sample`` of ``indices``.

    The measured triplets are spread evenly over ``indices`` (the selection a load would take).
    """
    if sample < 1:
        raise DataError(f"Got sample={sample}; measure at least one triplet.")
    chosen = sorted(indices)
    if not chosen:
        raise DataError(f"No triplets were selected from {source.describe()}.")
    picks = sorted({chosen[int(k)] for k in np.linspace(0, len(chosen) - 1, min(sample, len(chosen)))})
    native: Counter[tuple[int, int]] = Counter()
    if isinstance(source, SyntheticSource):
        batch = source.load(picks, None, fit)
        native[(source.size, source.size)] = len(picks)
    elif isinstance(source, StandardSource):  # native sizes, possibly mixed: one triplet at a time
        batches = [source.load([pick]) for pick in picks]
        native.update((int(b.i0.shape[-1]), int(b.i0.shape[-2])) for b in batches)
        measured = [motion_indicators(b) for b in batches]
        batch = batches[0]
    else:
        batch = load_triplets(source, picks, size, fit, native_sizes=native)
    known = source.motion(picks) if isinstance(source, SyntheticSource) else None
    if not isinstance(source, StandardSource):
        measured = [motion_indicators(batch, estimate=known is None)]
    camera, diff, psnr, largest = (np.concatenate([m[k] for m in measured]) for k in range(4))
    return Inspection(
        source=source.describe(),
        total=len(source),
        selected=len(chosen),
        measured=len(picks),
        native_sizes=native,
        fitted_size=(int(batch.i0.shape[-1]), int(batch.i0.shape[-2])),
        camera_px=Spread.of(camera),
        abs_diff=Spread.of(diff),
        blend_psnr=Spread.of(psnr),
        known_motion_px=None if known is None else Spread.of(known),
        estimated_motion_px=Spread.of(largest) if known is None else None,
    )


@dataclass(frozen=True)
class Problem:
    """One bad file (or frame) and what is wrong with it."""

    file: str
    message: str
    #: Whether the frame's size differs from the rest of its triplet (no fitting can mend that).
    mismatch: bool = False


@dataclass
class Validation:
    """What :func:`validate_source` found."""

    source: str
    triplets: int
    frames_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    sizes: Counter[tuple[int, int]] = field(default_factory=Counter)
    #: Consecutive frames whose numbers jump (``frames:`` folders): not errors, but worth a look.
    gaps: list[tuple[str, str]] = field(default_factory=list)
    #: Clip or sequence folders too short for one triplet, which the set leaves out: not errors either.
    short_clips: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_shapes(refs: Sequence[TripletRef], shapes: dict[str, tuple[int, int]], report: Validation) -> None:
    """Record frames too small to use, triplets of ``refs`` whose frames differ in size (naming the odd
    frame), and the sizes seen."""
    for frame, (width, height) in shapes.items():
        if min(width, height) < MIN_SIZE:
            report.problems.append(Problem(frame, f"{width}x{height} pixels; frames need at least {MIN_SIZE} "
                                                  f"pixels on each side"))
    odd: dict[str, Problem] = {}  # a frame shared by several triplets is one problem, named once
    usual = _usual_sizes([ref for ref in refs if all(frame in shapes for frame in ref.frames)], shapes)
    for ref in refs:
        if any(frame not in shapes for frame in ref.frames):
            continue
        report.sizes[shapes[ref.frames[0]]] += 1
        if len({shapes[frame] for frame in ref.frames}) == 1:
            continue
        expected = usual[ref.frames[0]]
        for frame in ref.frames:
            if frame in odd or (expected is not None and shapes[frame] == expected):
                continue
            others = " and ".join(f"{other} ({shapes[other][0]}x{shapes[other][1]})"
                                  for other in ref.frames if other != frame)
            odd[frame] = Problem(frame, f"{shapes[frame][0]}x{shapes[frame][1]} pixels, but the other frames of "
                                        f"its triplet {ref.name} are {others}", mismatch=True)
    report.problems.extend(odd.values())


def _usual_sizes(refs: Sequence[TripletRef], shapes: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int] | None]:
    """Each frame's usual size: the size most frames have among the frames its clip's triplets share
    (triplets that share a frame are one clip), or None where no size has more frames than any other."""
    parent: dict[str, str] = {}

    def root(frame: str) -> str:
        while parent.setdefault(frame, frame) != frame:
            parent[frame] = parent[parent[frame]]
            frame = parent[frame]
        return frame

    for ref in refs:
        for frame in ref.frames[1:]:
            parent[root(frame)] = root(ref.frames[0])
    clips: dict[str, Counter[tuple[int, int]]] = {}
    for frame in parent:
        clips.setdefault(root(frame), Counter())[shapes[frame]] += 1
    usual: dict[str, tuple[int, int] | None] = {}
    for frame in parent:
        ranked = clips[root(frame)].most_common(2)
        usual[frame] = ranked[0][0] if len(ranked) == 1 or ranked[0][1] > ranked[1][1] else None
    return usual


def _validate_files(refs: Sequence[TripletRef], report: Validation, progress: Progress | None) -> None:
    files = list(dict.fromkeys(frame for ref in refs for frame in ref.frames))
    shapes: dict[str, tuple[int, int]] = {}
    for done, name in enumerate(files, 1):
        try:
            image = read_image(Path(name))
            if not np.isfinite(image).all():
                raise DataError("it holds values that are not finite")
            shapes[name] = (image.shape[1], image.shape[0])
        except UnreadableFrame as err:  # the table names the file, and this command is the one that lists them
            report.problems.append(Problem(name, f"not readable as an image ({err.cause}). {err.remedy}."))
        except DataError as err:
            report.problems.append(Problem(name, str(err)))
        if progress:
            progress(done, len(files))
    report.frames_checked = len(files)
    _check_shapes(refs, shapes, report)


def _validate_video(source: TripletSource, refs: Sequence[TripletRef], report: Validation,
                    progress: Progress | None) -> None:
    from vfibench.data.video import VideoSource, decode, frame_label

    assert isinstance(source, VideoSource)
    labels = {frame for ref in refs for frame in ref.frames}
    wanted = {number for number in range(source.frame_count) if frame_label(source.path, number) in labels}
    shapes: dict[str, tuple[int, int]] = {}
    try:
        for done, (number, frame) in enumerate(decode(source.path, wanted, validating=True), 1):
            shapes[frame_label(source.path, number)] = (frame.shape[1], frame.shape[0])
            if progress:
                progress(done, len(wanted))
    except DataError as err:
        report.problems.append(Problem(str(source.path), str(err)))
    report.frames_checked = len(shapes)
    _check_shapes(refs, shapes, report)


def _validate_rendered(source: TripletSource, chosen: Sequence[int], report: Validation,
                       progress: Progress | None) -> None:
    shapes: dict[str, tuple[int, int]] = {}
    for done, (index, frames) in enumerate(source.read(chosen), 1):
        for name, frame in zip(source.refs[index].frames, frames):
            if not (np.isfinite(frame).all() and frame.min() >= 0 and frame.max() <= 1):
                report.problems.append(Problem(name, "values outside [0, 1]"))
            shapes[name] = (frame.shape[1], frame.shape[0])
        if progress:
            progress(done, len(chosen))
    report.frames_checked = len(shapes)
    _check_shapes([source.refs[index] for index in chosen], shapes, report)


def validate_source(source: TripletSource, progress: Progress | None = None,
                    max_bytes: int | None = None, indices: Sequence[int] | None = None) -> Validation:
    """Read every frame of the triplets ``indices`` of ``source`` (all if None) once; record each
    unreadable file and each triplet whose frames differ in size, naming the file. ``progress(done,
    total)`` is called as frames are checked.

    A synthetic set is rendered whole, so it must fit the memory budget ``max_bytes`` that
    loading it for a run would apply (a DataError otherwise, before anything is rendered).
    """
    from vfibench.data.video import VideoSource

    if isinstance(source, SyntheticSource):
        check_memory(len(source), source.size, source.size, max_bytes, source.describe())
    chosen = sorted(range(len(source)) if indices is None else indices)
    refs = [source.refs[index] for index in chosen]
    report = Validation(source.describe(), len(refs), gaps=list(getattr(source, "gaps", [])),
                        short_clips=list(getattr(source, "short_clips", [])))
    if isinstance(source, VideoSource):
        _validate_video(source, refs, report, progress)
    elif isinstance(source, SyntheticSource):
        _validate_rendered(source, chosen, report, progress)
    else:
        _validate_files(refs, report, progress)
    return report
