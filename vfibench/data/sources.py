"""Dataset specifications: one string names any dataset, one function loads it.

Grammar (like the loss specs: a name, optional parameters in parentheses)::

    synthetic                          the embedded dataset (no download)
    synthetic(max_motion=0.1)
    synthetic(ambiguity=0.3)           curved / non-uniform paths the inputs do not reveal
    vimeo90k:/data/vimeo_triplet       tri_trainlist.txt / tri_testlist.txt + sequences/
    vimeo90k:/data/vimeo_interp_test   the test download: tri_testlist.txt + input/ + target/
    frames:/data/clip                  a folder of consecutive frames (or a folder of such folders)
    frames(stride=2):/data/clip        triplets (k, k+2, k+4)
    video:/data/clip.mp4               any video FFmpeg decodes
    video(stride=2, size=256, fit=crop):clip.mp4
    ucf101:PATH, middlebury:PATH, snufilm(split=hard):PATH, xiph(res=4k):PATH, davis:PATH
                                       the standard test sets (:mod:`vfibench.data.standard_sets`),
                                       read at native resolution as their reference scripts read them

Options: ``count``, ``size`` (all kinds), ``fit`` (real data: ``resize`` or ``crop``, see
:mod:`vfibench.data.images`), ``stride`` (``frames``, ``video``), ``max_motion``, ``ambiguity``
and ``t`` (``synthetic``). An option in the spec overrides the keyword argument of the same name, so
a sweep can pass its preset's defaults while a spec keeps its own; an option typed on the command
line as well must agree with the spec (:func:`resolve`).

Splits: ``synthetic`` and ``vimeo90k`` have disjoint train and test splits (Vimeo-90K's
``vimeo_interp_test`` download has only the test split); a ``frames``
folder or a ``video`` has none (either split reads all of it), so give different sources to
training and testing.
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vfibench.data.images import Fit, check_fit, check_size
from vfibench.data.layouts import VIDEO_EXTENSIONS
from vfibench.data.photos import SPLITS
from vfibench.data.triplet_source import TripletSource, select_indices
from vfibench.data.triplets import Triplets
from vfibench.errors import DataError
from vfibench.spec_syntax import SPEC_PATTERN

#: The embedded default dataset's spec.
SYNTHETIC = "synthetic"
#: Size of synthetic frames when none is given.
SYNTHETIC_SIZE = 64

_COMMON = {"count": int, "size": int}
_REAL = {**_COMMON, "fit": str}
#: Options each kind accepts, with their types.
OPTIONS: dict[str, dict[str, type]] = {
    "synthetic": {**_COMMON, "max_motion": float, "ambiguity": float, "t": float},
    "vimeo90k": _REAL,
    "frames": {**_REAL, "stride": int},
    "video": {**_REAL, "stride": int},
    "ucf101": {"count": int},
    "middlebury": {"count": int},
    "snufilm": {"count": int, "split": str},
    "xiph": {"count": int, "res": str},
    "davis": {"count": int},
}
#: The standard test sets: indexed by :mod:`vfibench.data.standard_sets`, never resized.
STANDARD_KINDS = ("ucf101", "middlebury", "snufilm", "xiph", "davis")


@dataclass(frozen=True)
class DatasetSpec:
    """A parsed dataset specification.

    Attributes:
        kind: ``synthetic``, ``vimeo90k``, ``frames`` or ``video``.
        path: the dataset's location (None for ``synthetic``).
        options: the options written in the spec, typed.
    """

    kind: str
    path: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def canonical(self) -> str:
        """The spec written back with sorted options, e.g. ``frames(stride=2):/data/clip``."""
        options = ", ".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        text = self.kind + (f"({options})" if options else "")
        return text + (f":{self.path}" if self.path is not None else "")


def _hint_for_bare_path(text: str) -> str:
    path = Path(text)
    if path.is_dir():
        return f" {text} is a folder: did you mean frames:{text} (or vimeo90k:{text})?"
    if path.suffix.lower() in VIDEO_EXTENSIONS:
        return f" Did you mean video:{text}?"
    return ""


def closest_kind(word: str, kinds: Iterable[str]) -> str | None:
    """The kind of ``kinds`` a mistyped ``word`` most likely meant: one it starts, else the closest spelling."""
    kinds = list(kinds)
    close = [k for k in kinds if word and k.startswith(word)] or difflib.get_close_matches(word, kinds, n=1)
    return close[0] if close else None


def _value(kind: str, key: str, raw: str, spec: str) -> Any:
    wanted = OPTIONS[kind][key]
    try:
        if wanted in (int, float) and "_" in raw:
            raise ValueError(raw)  # int and float read 1_0 as 10: a number is written in digits alone here
        if wanted is int:
            return int(raw)
        if wanted is float:
            return float(raw)
    except ValueError:
        raise DataError(
            f"In the dataset spec {spec!r}, option {key}={raw!r} is not a{'n integer' if wanted is int else ' number'}."
        ) from None
    return raw.strip().strip("'\"")


def parse_dataset_spec(spec: str) -> DatasetSpec:
    """Parse ``kind[(key=value, ...)][:PATH]``; :class:`DataError` saying what is wrong and how to write it."""
    text = spec.strip()
    known = ", ".join(OPTIONS)
    match = SPEC_PATTERN.match(text)
    kind = match.group("kind").lower() if match else ""
    if not match or kind not in OPTIONS:
        word = kind or text.split(":")[0].split("(")[0].strip().lower()
        if not match and word in OPTIONS:  # a known kind, the rest out of shape (a parenthesis or the colon)
            example = f"{word}(count=8)" + ("" if word == "synthetic" else f":/data/{word}")
            raise DataError(
                f"The dataset spec {spec!r} is not well formed: write KIND(key=value, ...):PATH, the options in "
                f"one pair of parentheses right after the kind and the path after a colon (e.g. {example}); "
                f"check the parentheses and the colon."
            )
        close = closest_kind(word, OPTIONS)
        suggestion = f" Did you mean {close!r}?" if close else _hint_for_bare_path(text)
        raise DataError(
            f"Unknown dataset spec {spec!r}. A spec is KIND or KIND:PATH, with KIND one of {known} "
            f"(e.g. synthetic, vimeo90k:/data/vimeo_triplet, frames:/data/clip, video(stride=2):clip.mp4).{suggestion}"
        )
    raw_path = match.group("path")
    if kind == "synthetic" and raw_path is not None:  # `synthetic:` too: a path left empty is still not none
        raise DataError(f"The dataset spec {spec!r} gives a path, but synthetic is embedded and takes none; write synthetic.")
    if kind != "synthetic" and not (raw_path or "").strip():
        raise DataError(f"The dataset spec {spec!r} needs a path: write {kind}:PATH.")
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in (match.group("options") or "").split(","))):
        key, sep, raw = (s.strip() for s in item.partition("="))
        if not sep or key not in OPTIONS[kind]:
            allowed = ", ".join(OPTIONS[kind])
            raise DataError(
                f"In the dataset spec {spec!r}, {item!r} is not an option of {kind}; write key=value with key one of "
                f"{allowed}."
            )
        value = _value(kind, key, raw, spec)
        if key in options and options[key] != value:
            raise DataError(
                f"The dataset spec {spec!r} gives the option {key} twice, with different values ({options[key]!r} "
                f"and {value!r}); give it once."
            )
        options[key] = value
    path = Path(raw_path.strip()).expanduser() if raw_path else None
    return DatasetSpec(kind, path, options)


def check_split(split: str) -> str:
    """``split`` if it is ``train`` or ``test``, else a :class:`DataError`."""
    if split not in SPLITS:
        raise DataError(f"Unknown split {split!r}; every dataset has the splits 'train' and 'test'.")
    return split


def resolve(spec: DatasetSpec, given: Mapping[str, Any] | None = None, **defaults: Any) -> dict[str, Any]:
    """Keyword arguments: ``defaults``, overridden by the spec's own options, then by ``given`` (the options
    typed on the command line, ``--NAME VALUE``). A :class:`DataError` if ``given`` and the spec set one
    option to different values: neither silently wins."""
    given = dict(given or {})
    for key, value in given.items():
        if key in spec.options and spec.options[key] != value:
            raise DataError(
                f"The option {key} is given twice with different values: {key}={spec.options[key]} in the dataset "
                f"spec {spec.canonical!r} and --{key} {value} on the command line. Give it in one place only, or "
                f"give the same value in both."
            )
    return {**defaults, **spec.options, **given}


def open_source(
    spec: str | DatasetSpec,
    split: str,
    *,
    count: int | None = None,
    size: int | None = None,
    seed: int = 0,
    stride: int = 1,
    max_motion: float = 0.25,
    ambiguity: float = 0.0,
    t: float = 0.5,
    progress: Callable[[int, int], None] | None = None,
) -> TripletSource:
    """The indexed (not yet read) dataset that ``spec`` names; see :func:`open_dataset`. ``progress(done,
    count)`` follows the drawing of synthetic scenes (other kinds do not call it)."""
    parsed = spec if isinstance(spec, DatasetSpec) else parse_dataset_spec(spec)
    split = check_split(split)
    args = resolve(parsed, count=count, size=size, stride=stride, max_motion=max_motion, ambiguity=ambiguity, t=t)
    if parsed.kind == "synthetic":
        from vfibench.data.synthetic_source import SyntheticSource

        if args["count"] is None:
            raise DataError("The synthetic dataset has no fixed length; ask for a number of triplets (count).")
        size = SYNTHETIC_SIZE if args["size"] is None else args["size"]
        return SyntheticSource(split, args["count"], size, seed, args["max_motion"], args["t"], args["ambiguity"],
                               progress)
    assert parsed.path is not None
    if parsed.kind == "vimeo90k":
        from vfibench.data.vimeo import VimeoSource

        return VimeoSource(parsed.path, split)
    if parsed.kind in STANDARD_KINDS:
        from vfibench.data.standard_sets import open_standard

        return open_standard(parsed.kind, parsed.path, parsed.options)
    if parsed.kind == "frames":
        from vfibench.data.frames import FramesSource

        return FramesSource(parsed.path, args["stride"])
    from vfibench.data.video import VideoSource

    return VideoSource(parsed.path, args["stride"])


def open_dataset(
    spec: str | DatasetSpec,
    split: str,
    *,
    count: int | None = None,
    size: int | None = None,
    seed: int = 0,
    stride: int = 1,
    fit: str | Fit = Fit.resize,
    max_motion: float = 0.25,
    ambiguity: float = 0.0,
    t: float = 0.5,
    max_bytes: int | None = None,
) -> Triplets:
    """Load the triplets of one split of any dataset as :class:`Triplets` (float32, [0, 1], NCHW, RGB).

    Args:
        spec: a dataset spec (module docstring), e.g. ``"synthetic"`` or ``"video:clip.mp4"``.
        split: ``"train"`` or ``"test"``.
        count: how many triplets. Synthetic: exactly this many scenes (required). Real data: a
            seeded random subset of this many, in source order, or all if None or fewer exist.
        size: frame side. Synthetic: rendered size (default 64). Real data: frames are fitted to
            size × size by ``fit``; None keeps the native resolution, cropped to a multiple of 16. A
            standard test set's test split is read at native resolution whatever the size, as its
            reference script reads it; its frames as training data are fitted like any others.
        seed: synthetic scene seed, and the seed of the subset of real triplets.
        stride: frame step of ``frames`` and ``video`` triplets (k, k+stride, k+2·stride).
        fit: ``"resize"`` (shorter side to ``size``, centre crop) or ``"crop"`` (centre crop).
        max_motion, ambiguity, t: synthetic scene motion bound, path ambiguity and middle-frame time.
        max_bytes: refuse selections whose tensors would exceed this many bytes (None: half of this
            machine's memory, :func:`~vfibench.data.triplet_source.memory_budget`).

    Options written in the spec override these arguments. ``open_dataset("synthetic", split,
    count=n, size=s, seed=k, max_motion=m)`` equals ``make_synthetic(split, n, s, k, m)``.

    Raises:
        DataError: naming the file or option at fault (missing path, wrong layout, unreadable or
            mismatched frames, too little memory).
    """
    return select_dataset(spec, split, count=count, size=size, seed=seed, stride=stride, fit=fit,
                          max_motion=max_motion, ambiguity=ambiguity, t=t).load(max_bytes=max_bytes)


@dataclass(frozen=True)
class Selection:
    """The triplets one split of a dataset selects, indexed but not read: ``source.refs[indices[k]]`` is the
    k-th triplet :func:`open_dataset` loads, fitted to ``size`` (None: native resolution) by ``fit``."""

    source: TripletSource
    indices: tuple[int, ...]
    size: int | None
    fit: Fit

    def __len__(self) -> int:
        return len(self.indices)

    def load(self, rows: Sequence[int] | None = None, max_bytes: int | None = None) -> Triplets:
        """The triplets at ascending positions ``rows`` of the selection (None: all of them), read as
        :func:`open_dataset` reads them: the same frames, fitted alike."""
        chosen = self.indices if rows is None else [self.indices[row] for row in rows]
        return self.source.load(chosen, self.size, self.fit, max_bytes)


def select_dataset(
    spec: str | DatasetSpec,
    split: str,
    *,
    count: int | None = None,
    size: int | None = None,
    seed: int = 0,
    stride: int = 1,
    fit: str | Fit = Fit.resize,
    max_motion: float = 0.25,
    ambiguity: float = 0.0,
    t: float = 0.5,
) -> Selection:
    """Which triplets :func:`open_dataset` loads with these arguments, and how it fits them, without reading
    any frame: a caller that needs a few of them (a report's image grids) reads only those."""
    parsed = spec if isinstance(spec, DatasetSpec) else parse_dataset_spec(spec)
    args = resolve(parsed, count=count, size=size, fit=fit)
    size = check_size(args["size"])
    fit = check_fit(args["fit"])
    source = open_source(parsed, split, count=args["count"], size=size, seed=seed, stride=stride,
                         max_motion=max_motion, ambiguity=ambiguity, t=t)
    indices = select_indices(len(source), args["count"], seed)
    native = parsed.kind == "synthetic" or (parsed.kind in STANDARD_KINDS and split == "test")  # rendered, or as tested
    return Selection(source, tuple(indices), None if native else size, fit)


def dataset_attributes(
    spec: str | DatasetSpec,
    split: str,
    *,
    count: int | None = None,
    seed: int = 0,
    stride: int = 1,
    max_motion: float = 0.25,
    ambiguity: float = 0.0,
    t: float = 0.5,
) -> dict[str, np.ndarray]:
    """:data:`~vfibench.results.schema.SAMPLE_ATTRIBUTES` of the triplets :func:`open_dataset` loads with the same arguments, in the same
    order; NaN where the source does not know them (real data: no ground-truth motion is known)."""
    parsed = spec if isinstance(spec, DatasetSpec) else parse_dataset_spec(spec)
    args = resolve(parsed, count=count)
    source = open_source(parsed, split, count=args["count"], seed=seed, stride=stride,
                         max_motion=max_motion, ambiguity=ambiguity, t=t)
    indices = select_indices(len(source), args["count"], seed)
    from vfibench.results.schema import SAMPLE_ATTRIBUTES as ATTRIBUTES

    known = source.attributes(indices)
    return {name: np.asarray(known.get(name, np.full(len(indices), np.nan)), dtype=float) for name in ATTRIBUTES}


def absolute_spec(spec: str | DatasetSpec) -> DatasetSpec:
    """``spec`` parsed, its path made absolute (joined to the working folder; links in the typed part are
    not resolved): what a run records, so that its report, its resume and a worker started elsewhere
    read the same files from any folder."""
    parsed = spec if isinstance(spec, DatasetSpec) else parse_dataset_spec(spec)
    if parsed.path is None:
        return parsed
    return DatasetSpec(parsed.kind, Path(os.path.abspath(parsed.path)), parsed.options)


def validate_dataset_spec(spec: str, option: str, split: str) -> str:
    """Check a spec before any work starts and return its canonical form, with an absolute path.

    Parses it and, for real data, indexes the files of ``split`` (layout, list files, that there
    is at least one triplet) without reading the frames; the :class:`DataError` names ``option``.
    """
    try:
        parsed = absolute_spec(spec)
        if parsed.kind == "synthetic":  # its options checked on at most one scene, not on all it asks for
            options = {**parsed.options, "count": min(parsed.options.get("count", 1), 1)}
            open_source(DatasetSpec(parsed.kind, None, options), split)
        else:
            source = open_source(parsed, split)
            if len(source) == 0:
                raise DataError(f"{parsed.canonical} holds no {split} triplet; point it at a folder or video with "
                                f"at least three frames.")
    except DataError as err:
        raise DataError(f"{option}: {err}") from None
    return parsed.canonical


def _frame_keys(spec: DatasetSpec, split: str) -> list[tuple[str, ...]]:
    """Each triplet of ``spec``'s ``split`` as the frames it reads (files, or video frames), under the
    spec's folder with links resolved, so two names for one folder give the same keys."""
    assert spec.path is not None
    root, real = str(spec.path), os.path.realpath(spec.path)
    return [tuple(real + frame[len(root):] if frame.startswith(root) else frame for frame in ref.frames)
            for ref in open_source(spec, split).refs]


@functools.lru_cache(maxsize=8)
def frames_seen_in_training(train: str, test: str) -> tuple[int, int]:
    """(the test triplets with a frame the training split also reads, all test triplets), from the files
    and video frames the two splits index (nothing is decoded; canonical specs with absolute paths).

    So ``ucf101:X`` twice (a standard set has no training split), ``frames:X`` and ``davis:X``, or a
    folder of clips and one of its clips share content, while Vimeo-90K's train and test lists, or a
    video beside a frames folder, do not. Synthetic scenes share nothing: (0, 0)."""
    first, second = absolute_spec(train), absolute_spec(test)
    if first.path is None or second.path is None:
        return 0, 0
    trained = {frame for triplet in _frame_keys(first, "train") for frame in triplet}
    tested = _frame_keys(second, "test")
    return sum(any(frame in trained for frame in triplet) for triplet in tested), len(tested)


def content_overlap(train: str, test: str) -> str | None:
    """The clause that says a sweep tests on content it trained on (:func:`frames_seen_in_training`), or
    None when it does not; the one wording of the run's start, its manifest and its report."""
    seen, total = frames_seen_in_training(train, test)
    if not seen:
        return None
    if train == test:
        return (f"training and test triplets come from the same source ({test}), which has no split of its own: "
                f"test scores are not on unseen content")
    return (f"{seen} of the {total} test triplets ({test}) read frames the training data ({train}) also reads: "
            f"{'test scores are' if seen == total else 'their scores are'} not on unseen content")


def describe_sources(train: str, test: str) -> str:
    """One sentence on how the training and test data relate (recorded in a run's manifest)."""
    if train == test == SYNTHETIC:
        return ("synthetic scenes from the photographs bundled with scikit-image; test scenes use photographs "
                "never used in training")
    kind = parse_dataset_spec(test).kind
    if kind in STANDARD_KINDS:
        from vfibench.data.standard_sets import test_time_handling

        handling = f"; {test_time_handling(kind)}"
    else:
        handling = ""
    overlap = content_overlap(train, test)
    if overlap:
        return f"{overlap}{handling}"
    if handling:
        return f"trained on {train}, tested on {test}{handling}"
    if train == test:
        return f"the train and test splits of {train}"
    return f"trained on {train}, tested on {test}"
