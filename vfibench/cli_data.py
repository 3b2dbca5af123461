"""``vfibench data``: inspect, validate and export datasets before training on them.

A thin shell over :mod:`vfibench.data`: every command parses a dataset spec (see
:mod:`vfibench.data.sources`), calls one library function and prints the result. Mounted by
the main CLI as ``vfibench data``.
"""

from __future__ import annotations

import contextlib
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.markup import escape
from rich.table import Table

from vfibench.cli_support import MARKUP, HumanCommand, HumanGroup, console, examples, report_errors
from vfibench.errors import DataError, StoppedBySignal
from vfibench.words import counted

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from vfibench.data.images import Fit
    from vfibench.data.inspection import Inspection
    from vfibench.data.sources import DatasetSpec
    from vfibench.data.triplet_source import TripletSource

#: Triplets the synthetic dataset is given when no --count is passed.
SYNTHETIC_DEFAULT_COUNT = 64
SPEC_HELP = (
    "Dataset spec: synthetic, vimeo90k:PATH, frames:PATH or video:PATH, with optional options in "
    "parentheses, e.g. frames(stride=2):PATH or video(size=256, fit=crop):clip.mp4; or a standard test set: "
    "ucf101:PATH, middlebury:PATH, snufilm(split=hard):PATH, xiph(res=4k):PATH, davis:PATH. Synthetic scenes "
    "move as `vfibench run` draws them (its default preset's max_motion and ambiguity); "
    "synthetic(ambiguity=0) gives straight uniform paths."
)

app = typer.Typer(
    help=(
        "Look at a dataset before training on it: `inspect` (counts, sizes, motion), `validate` (reads every "
        "frame, names each bad file) and `export` (writes triplets as PNG folders). A dataset is named by a "
        "spec: synthetic, vimeo90k:PATH, frames:PATH or video:PATH, or a standard test set: ucf101:PATH, "
        "middlebury:PATH, snufilm(split=hard):PATH, xiph(res=4k):PATH, davis:PATH."
    ),
    epilog=examples("vfibench data inspect synthetic", "vfibench data validate video:clip.mp4",
                    "vfibench data export synthetic out/synthetic --split train --count 8"),
    no_args_is_help=True,
    rich_markup_mode=MARKUP,
    cls=HumanGroup,
)


class FitChoice(str, Enum):
    """The choices of ``--fit``: the values of :class:`vfibench.data.images.Fit`, which loads torch
    (a test keeps the two equal), so that ``vfibench --help`` starts without it."""

    resize = "resize"
    crop = "crop"


class SplitChoice(str, Enum):
    """Which split of the dataset."""

    train = "train"
    test = "test"


Spec = Annotated[str, typer.Argument(help=SPEC_HELP, metavar="SPEC")]
SplitOption = Annotated[SplitChoice, typer.Option(help="Split: vimeo90k and synthetic have disjoint train and "
                                                  "test splits; frames and video read everything for either.")]
CountOption = Annotated[Optional[int], typer.Option(help="Triplets to take: a seeded subset of real data (all if "
                                                    "absent); the number of synthetic scenes (default 64).",
                                                    min=1)]
SizeOption = Annotated[Optional[int], typer.Option(help="Frame side: frames are fitted to SIZE x SIZE by --fit. "
                                                   "Absent: native resolution cropped to a multiple of 16 "
                                                   "(synthetic: 64, and at least 32).", min=16)]
FitOption = Annotated[FitChoice, typer.Option(help="resize: shorter side to SIZE, then a centre crop (whole scene); "
                                        "crop: a centre crop at native resolution. Never enlarges.")]
StrideOption = Annotated[int, typer.Option(help="Frame step of frames/video triplets (k, k+STRIDE, k+2*STRIDE).",
                                           min=1)]
SeedOption = Annotated[int, typer.Option(help="Synthetic scene seed; seed of the subset of real triplets.", min=0)]


def _typed(ctx: typer.Context, values: dict[str, object]) -> dict[str, object]:
    """The ``values`` of the command's options that were typed on the command line (or set by the
    environment), not left at their defaults."""
    typed = ("COMMANDLINE", "ENVIRONMENT")  # names of the framework's ParameterSource members
    return {name: value for name, value in values.items()
            if getattr(ctx.get_parameter_source(name), "name", None) in typed}


def _resolve(ctx: typer.Context, spec: str, count: int | None, size: int | None, fit: FitChoice,
             stride: int) -> "tuple[DatasetSpec, dict[str, Any], int | None, Fit]":
    """The parsed spec, its resolved options, size and fit; an option typed on the command line that the spec
    sets to another value is a :class:`DataError`."""
    from vfibench.data.images import check_fit, check_size
    from vfibench.data.sources import parse_dataset_spec, resolve

    parsed = parse_dataset_spec(spec)
    if parsed.kind == "synthetic" and count is None and "count" not in parsed.options:
        count = SYNTHETIC_DEFAULT_COUNT
    options = {"count": count, "size": size, "fit": fit.value, "stride": stride}
    typed = _typed(ctx, options)
    _check_applicable(parsed.kind, typed)
    args = resolve(parsed, typed, **options)
    return parsed, args, check_size(args["size"]), check_fit(args["fit"])


def _open(ctx: typer.Context, spec: str, split: SplitChoice, count: int | None, size: int | None, fit: FitChoice,
          stride: int, seed: int, before: "Callable[[DatasetSpec, int | None, int | None], None] | None" = None,
          ) -> "tuple[TripletSource, list[int], int | None, Fit]":
    """The source a spec names, the selected triplet indices, and the resolved size and fit (see
    :func:`_resolve`). ``before(spec, count, size)`` runs before the source is opened; drawing many synthetic
    scenes shows a progress bar."""
    from vfibench.data.sources import open_source
    from vfibench.data.triplet_source import select_indices
    from vfibench.presets import DEFAULT_PRESET, get_preset

    parsed, args, size, fit = _resolve(ctx, spec, count, size, fit, stride)
    if before is not None:
        before(parsed, args["count"], size)
    scenes = get_preset(DEFAULT_PRESET)  # synthetic paths as a sweep draws them, unless the spec says otherwise
    with _drawing(parsed.kind) as progress:
        source = open_source(parsed, split.value, count=args["count"], size=size, seed=seed, stride=args["stride"],
                             max_motion=scenes.max_motion, ambiguity=scenes.ambiguity, progress=progress)
    return source, select_indices(len(source), args["count"], seed), size, fit


def _check_applicable(kind: str, typed: dict[str, object]) -> None:
    """A DataError for an option typed on the command line that the spec's kind does not take (a standard
    set is never resized and has its own triplets; synthetic scenes have no frame step)."""
    from vfibench.data.sources import OPTIONS, STANDARD_KINDS

    ignored = [f"--{name}" for name in typed if name not in OPTIONS[kind]]
    if ignored:
        raise DataError(
            f"{' and '.join(ignored)} {'does' if len(ignored) == 1 else 'do'} not apply to {kind}: its options are "
            f"{', '.join(OPTIONS[kind])}. "
            + ("A standard test set is read as its reference script reads it: native frames, its own triplets. "
               if kind in STANDARD_KINDS else "")
            + "Leave the option out."
        )


def _at_stride(source: "TripletSource") -> str:
    """", at stride 2 (a clip needs 5 frames)" for a source read at a stride above 1, else ""."""
    stride = getattr(source, "stride", 1)
    return f" at stride {stride} (a clip needs {2 * stride + 1} frames)" if stride > 1 else ""


def _progress() -> Progress:
    """A transient progress bar on a terminal that redraws; nothing at all (not even a blank line) elsewhere."""
    from vfibench.cli_progress import draws_live

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True, disable=not draws_live(console))


@contextlib.contextmanager
def _drawing(kind: str) -> "Iterator[Callable[[int, int], None] | None]":
    """A progress callback, with its bar, for drawing the scenes of a synthetic source; None for other kinds."""
    if kind != "synthetic":
        yield None
        return
    with _progress() as bar:
        task = bar.add_task("Drawing synthetic scenes", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _as_loaded(source: "TripletSource", found: "Inspection", size: int | None, fit: "Fit") -> str:
    """The "size as loaded" row of ``data inspect``: the size and how frames were fitted to it."""
    from vfibench.data.standard_sets import StandardSource

    width, height = found.fitted_size
    if isinstance(source, StandardSource):  # never stacked to one size: each triplet at its own
        shown = "as measured above" if len(found.native_sizes) > 1 else f"{width}x{height}"
        return f"{shown} ({source.loading})"
    if source.kind == "synthetic":
        return f"{width}x{height} (rendered at that size)"
    if size:
        return f"{width}x{height} ({fit.value} to {size})"
    return (f"{width}x{height} (native, cropped to a multiple of 16; `vfibench run` fits them to its preset's size, "
            f"which --size shows)")


def _spread(spread: object, unit: str, digits: int = 1) -> str:
    values = [getattr(spread, k) for k in ("min", "median", "p90", "max")]
    return " / ".join(f"{v:.{digits}f}" for v in values) + f" {unit}"


@app.command(
    "inspect",
    cls=HumanCommand,
    epilog=examples(
        "vfibench data inspect synthetic",
        "vfibench data inspect vimeo90k:/data/vimeo_triplet --split test --size 256",
        "vfibench data inspect \"frames(stride=2):/data/clip\"",
        "vfibench data inspect video:clip.mp4 --sample 64",
    ),
)
@report_errors
def inspect(
    ctx: typer.Context,
    spec: Spec,
    split: SplitOption = SplitChoice.test,
    count: CountOption = None,
    size: SizeOption = None,
    fit: FitOption = FitChoice.resize,
    stride: StrideOption = 1,
    seed: SeedOption = 0,
    sample: Annotated[int, typer.Option(help="Triplets read to measure sizes and motion, spread evenly.",
                                        min=1)] = 32,
) -> None:
    """Counts, frame sizes and a motion summary of a dataset (reads only --sample triplets)."""
    from vfibench.data.inspection import inspect_source

    source, indices, size, fit = _open(ctx, spec, split, count, size, fit, stride, seed)
    with console.status(f"Reading {min(sample, len(indices))} triplets…"):
        found = inspect_source(source, indices, size, fit, sample=sample)
    table = Table(title=f"{escape(found.source)} — {split.value} split", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    sizes = ", ".join(f"{w}x{h} ({n})" for (w, h), n in found.native_sizes.most_common())
    rows = [
        ("triplets", f"{found.total} in the split, {found.selected} selected, {found.measured} measured"),
        ("frame size (measured)", sizes),
        ("size as loaded", _as_loaded(source, found, size, fit)),
        ("camera motion I0→I1", _spread(found.camera_px, "px") + "   (min / median / p90 / max; median flow)"),
        ("mean |I1 − I0|", _spread(found.abs_diff, "levels of 255")),
        ("blend PSNR", _spread(found.blend_psnr, "dB") + "   (the untrained `blend` reference)"),
    ]
    if found.known_motion_px is not None:
        rows.append(("known largest motion", _spread(found.known_motion_px, "px")))
    if found.estimated_motion_px is not None:
        rows.append(("largest motion", _spread(found.estimated_motion_px, "px") + "   (99th percentile of the "
                                                                                  "flow, at the size as loaded)"))
    gaps = getattr(source, "gaps", [])
    if gaps:
        before, after = gaps[0]
        rows.append(("numbering", f"jumps in {counted(len(gaps), 'place')}, first from {Path(before).name} to "
                                  f"{Path(after).name}: a frame may be missing (`vfibench data validate` lists them)"))
    short = getattr(source, "short_clips", [])
    if short:
        folders = "1 folder" if len(short) == 1 else f"{len(short)} folders"
        rows.append(("left out", f"{folders} too short for one triplet{_at_stride(source)}, first {short[0]} "
                                 f"(`vfibench data validate` lists them)"))
    rows.extend(("note", note) for note in getattr(source, "notes", []))
    for key, value in rows:
        table.add_row(key, escape(value))
    console.print(table)


@app.command(
    "validate",
    cls=HumanCommand,
    epilog=examples(
        "vfibench data validate vimeo90k:/data/vimeo_triplet --split train",
        "vfibench data validate frames:/data/clips",
        "vfibench data validate video:clip.mp4",
        notes="Exit code 0: every frame is readable and every triplet's frames are one size; 2: a problem in a "
              "file (each is named).",
    ),
)
@report_errors
def validate(
    ctx: typer.Context,
    spec: Spec,
    split: SplitOption = SplitChoice.test,
    stride: StrideOption = 1,
    count: CountOption = None,
    seed: SeedOption = 0,
    show: Annotated[int, typer.Option(help="Problems listed at most.", min=1)] = 20,
) -> None:
    """Read every frame of a dataset (or of the --count triplets a run would take) once; name each unreadable
    or mismatched file (exit 2 if any)."""
    from vfibench.data.inspection import validate_source

    source, indices, _, _ = _open(ctx, spec, split, count, None, FitChoice.resize, stride, seed)
    with _progress() as bar:
        task = bar.add_task("Checking frames", total=None)
        report = validate_source(source, lambda done, total: bar.update(task, completed=done, total=total),
                                 indices=indices)
    sizes = ", ".join(f"{w}x{h} ({counted(n, 'triplet')})" for (w, h), n in report.sizes.most_common(5))
    of_all = f" (a seeded subset of {len(source)}, --seed {seed})" if report.triplets < len(source) else ""
    console.print(f"{escape(report.source)}: {report.triplets} triplets{of_all}, {report.frames_checked} frames read; "
                  f"frame sizes: {sizes or '—'}", highlight=False, soft_wrap=True)
    if len(report.sizes) > 1:
        from vfibench.data.sources import STANDARD_KINDS

        how = ("`vfibench eval --gt` scores each at its own size, as the set's reference script does; a sweep's "
               "--test-data needs frames of one size" if source.kind in STANDARD_KINDS else
               "a sweep fits them to its preset's size, and `data inspect|export --size S` (or size=S in the spec) "
               "fits them here")
        odd = (" (not a triplet whose own frames differ in size: the problems below name them)"
               if any(problem.mismatch for problem in report.problems) else "")
        console.print(f"[yellow]note:[/] frames come in several sizes; {how}{odd}.", highlight=False, soft_wrap=True)
    for before, after in report.gaps[:show]:
        console.print(f"[yellow]note:[/] the frame numbers jump from {escape(before)} to {escape(Path(after).name)}: "
                      f"a frame may be missing there, and the triplets around it span a longer interval than the "
                      f"others.", highlight=False, soft_wrap=True)
    for clip in report.short_clips[:show]:
        console.print(f"[yellow]note:[/] {escape(clip)} has too few frames for one triplet"
                      f"{_at_stride(source)}, so the set leaves it out.", highlight=False, soft_wrap=True)
    for note in getattr(source, "notes", []):
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    if report.ok:
        console.print("[green]every frame is readable and every triplet is consistent[/]")
        return
    table = Table(title=counted(len(report.problems), "problem"), show_lines=True)
    table.add_column("file", overflow="fold")
    table.add_column("problem", overflow="fold")
    for problem in report.problems[:show]:
        table.add_row(escape(problem.file), escape(problem.message))
    console.print(table)
    first = report.problems[0]
    raise DataError(
        f"{counted(len(report.problems), 'problem')} in {report.source}; the first is in {first.file}. Fix or "
        f"remove the files listed above and validate again."
    )


@app.command(
    "export",
    cls=HumanCommand,
    epilog=examples(
        "vfibench data export synthetic out/synthetic --split train --count 8",
        "vfibench data export vimeo90k:/data/vimeo_triplet out/vimeo --size 256",
        "vfibench data export \"video(stride=2):clip.mp4\" out/clip",
        notes="The folder is then readable as frames:DIR.",
    ),
)
@report_errors
def export(
    ctx: typer.Context,
    spec: Spec,
    out_dir: Annotated[Path, typer.Argument(help="Folder to write (created; must be empty unless --overwrite).",
                                            metavar="DIR")],
    split: SplitOption = SplitChoice.test,
    count: Annotated[Optional[int], typer.Option(help="Triplets to write (a seeded subset; default 16).",
                                                 min=1)] = 16,
    size: SizeOption = None,
    fit: FitOption = FitChoice.resize,
    stride: StrideOption = 1,
    seed: SeedOption = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace an earlier export in DIR (its numbered folders and "
                                                 "triplets.csv); refused if DIR holds anything else.")] = False,
) -> None:
    """Write triplets as DIR/00000/im1.png, im2.png, im3.png (as loaded, 8-bit) plus DIR/triplets.csv."""
    from vfibench.data.export import INDEX_FILE, export_triplets
    from vfibench.processes import signal_name
    from vfibench.sweep.interruption import Interrupted, signum_of, stop_on_signals

    folders: list[Path] | None = None
    try:
        with stop_on_signals():
            source, indices, size, fit = _open(ctx, spec, split, count, size, fit, stride, seed,
                                               before=lambda parsed, n, side: _check_space(parsed, n, side, out_dir))
            with _progress() as bar:
                task = bar.add_task("Writing triplets", total=len(indices))
                folders = export_triplets(source, indices, out_dir, size, fit, overwrite=overwrite,
                                          progress=lambda done, total: bar.update(task, completed=done))
    except (Interrupted, KeyboardInterrupt) as stop:  # before writing began (a stop while writing: ExportInterrupted)
        signum = signum_of(stop)
        left = (f"the export was complete: {out_dir} holds all {len(folders)} triplets and its {INDEX_FILE}"
                if folders is not None else f"no triplet had been written, and {out_dir} is as it was")
        raise StoppedBySignal(f"The export to {out_dir} was interrupted by {signal_name(signum)}; {left}.",
                              signum) from None
    assert folders is not None
    console.print(f"wrote {len(folders)} triplets from {escape(source.describe())} to {escape(str(out_dir))} "
                  f"(index: {escape(str(out_dir / INDEX_FILE))})", highlight=False, soft_wrap=True)


def _check_space(parsed: "DatasetSpec", count: int | None, size: int | None, out_dir: Path) -> None:
    """Refuse, before any scene is drawn, a synthetic export too large for the disk (or for memory)."""
    from vfibench.data.export import check_disk_space
    from vfibench.data.sources import SYNTHETIC_SIZE
    from vfibench.data.synthetic_source import check_scene_count

    if parsed.kind == "synthetic" and count is not None:
        side = size or SYNTHETIC_SIZE
        check_disk_space(count, side, side, out_dir)
        check_scene_count(count)
