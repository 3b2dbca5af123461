"""Where the report gets the frames it shows: ground truth, inputs and each configuration's output.

A :class:`FrameSource` answers three questions about a test sample — its ground truth, its two
inputs, a configuration's prediction — as (H, W, 3) float32 arrays in [0, 1], quantised to 8 bits
like the frames the metrics scored. Three sources exist:

- :class:`SweepFrames` (manifest ``"kind": "sweep"``) re-renders the synthetic test triplets or re-reads
  the real ones the manifest records (only the samples asked for) and re-runs each trained configuration's saved weights
  (``units/<unit>/model.pt``) on them; reference rows come from :data:`vfibench.references.REFERENCES`.
  Frames are those of one seed (the first of the run unless told otherwise).
- :class:`FolderFrames` (manifest ``"kind": "eval"``) reads PNG/JPEG frames from folders:
  ``manifest["gt_dir"]``, ``manifest["sources"] = {config: directory}`` and
  ``manifest["files"]`` (file paths relative to each directory, in sample order); optionally
  ``manifest["inputs"] = [i0_dir, i1_dir]`` with the same relative paths. Relative directories are
  resolved against the run directory.
- :class:`SpecFrames` (an evaluation with ``manifest["gt_spec"]``, e.g. ``ucf101:PATH``) reads the
  ground truth and inputs from the test set as the evaluation read them, and each prediction as
  ``<source>/<sample id>.png`` (or ``.jpg``).

:func:`frame_source` picks the source for a run, or returns None (with the reason) when frames
cannot be produced — the report then omits the image grids and says why.

The frames shown must be those the run scored. A source hands out only frames that match the run's
record of them, and :meth:`FrameSource.check` says which of a sample's frames are missing or changed
(:class:`FrameProblem`): an evaluation records :func:`frame_digest` of every file it scored (a
dataset's samples: of their 8-bit levels) under :data:`DIGESTS`; a sweep on real data records the
test data's fingerprint (:func:`vfibench.sweep.data.data_fingerprint`), and its grids read only the
triplets they show. Synthetic scenes are fixed by the manifest. A run recorded before these records
existed is shown unchecked, and ``unverified`` says so.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from vfibench.errors import ResultsError, VfiBenchError
from vfibench.results import schema
from vfibench.results.store import MODEL_FILE, RunStore, UnitKey
from vfibench.words import join_words

if TYPE_CHECKING:
    from vfibench.data.sources import Selection

Image = np.ndarray  # (H, W, 3) float32 in [0, 1]


class FrameSource(Protocol):
    """Frames of a run's test samples, for display."""

    #: configurations whose predictions can be shown, in display order.
    configs: tuple[str, ...]
    #: the seed whose outputs are shown (None when the run has no seeds, e.g. an evaluation).
    seed: int | None
    #: whether :meth:`inputs` gives I0 and I1 (an evaluation against a plain folder of frames has none).
    has_inputs: bool
    #: why the frames shown cannot be checked against those the run scored ("" when they are).
    unverified: str

    def gt(self, sample: int) -> Image: ...
    def inputs(self, sample: int) -> tuple[Image, Image] | None: ...
    def prediction(self, config: str, sample: int) -> Image | None: ...
    def check(self, sample: int) -> list[FrameProblem]: ...


#: The manifest entry in which an evaluation records what identifies each frame it scored.
DIGESTS = "frame_digests"
#: What :data:`DIGESTS` holds, as the manifest says it.
DIGESTS_NOTE = ("the first 16 hex digits of the SHA-256 of each scored file's bytes, in the order of files: gt (for "
                "a dataset spec, of each sample's I0, It and I1 as the 8-bit RGB levels scored) and sources")
#: Why the frames of a run recorded before :data:`DIGESTS` and test data fingerprints cannot be checked.
UNRECORDED = "the run was recorded by an earlier vfibench, which kept no record of the frames it scored"


def frame_digest(data: bytes | memoryview) -> str:
    """What identifies a scored frame: the first 16 hex digits of the SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


def to_levels(frame: np.ndarray) -> np.ndarray:
    """A frame in [0, 1] as the 8-bit levels the metrics score: round(clamp(x, 0, 1)·255) as uint8."""
    return np.round(np.clip(frame, 0, 1) * 255).astype(np.uint8)


def levels_digest(frames: Sequence[np.ndarray]) -> str:
    """:func:`frame_digest` of 8-bit frames (a dataset sample's I0, It and I1), their shapes included."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(f"{frame.shape};".encode())
        digest.update(np.ascontiguousarray(frame, dtype=np.uint8).data)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class FrameProblem:
    """Frames at a path the run recorded that are not those it scored: ``missing`` (absent, or unreadable)
    or changed since. ``path`` is the file, the folder when the whole folder is gone, or the dataset spec."""

    what: str
    path: str
    missing: bool
    detail: str = ""

    def sentence(self) -> str:
        """The problem as a clause: "'/data/a/f0.png' (the predictions of 'a') changed since the run scored it",
        "… is missing", "… cannot be read: <why>"."""
        return describe_problems([self])[0]


def describe_problems(problems: Sequence[FrameProblem], most: int = 3) -> list[str]:
    """One clause per kind of problem (:meth:`FrameProblem.sentence`), the paths of those alike joined, at most
    ``most`` named: "'a/f0.png' and 'a/f1.png' (the predictions of 'a') changed since the run scored them"."""
    alike: dict[tuple[str, bool, str], list[str]] = {}
    for problem in problems:
        alike.setdefault((problem.what, problem.missing, problem.detail), []).append(problem.path)
    clauses = []
    for (what, missing, detail), paths in alike.items():
        named = [f"'{path}'" for path in paths[:most]] + ([f"{len(paths) - most} more"] if len(paths) > most else [])
        one = len(paths) == 1
        if not missing:
            fault = f"changed since the run scored {'it' if one else 'them'}" + (f" ({detail})" if detail else "")
        else:
            detail = detail[:1].lower() + detail[1:] if detail[1:2].islower() else detail
            fault = f"cannot be read: {detail}" if detail else f"{'is' if one else 'are'} missing"
        clauses.append(f"{join_words(named)} ({what}) {fault}")
    return clauses


class FramesNotScored(VfiBenchError):
    """A frame asked for is missing or is not the one the run scored."""

    def __init__(self, problem: FrameProblem) -> None:
        super().__init__(f"{problem.sentence()}, so it cannot be shown beside the run's scores.")
        self.problem = problem


def levels_image(levels: np.ndarray) -> Image:
    """8-bit levels k as the float32 image k/255 — what a saved 8-bit frame holds."""
    return levels.astype(np.float32) / np.float32(255.0)


def quantise(image: np.ndarray) -> Image:
    """round(clamp(x, 0, 1)·255)/255 as float32 (:func:`to_levels`, :func:`levels_image`)."""
    return levels_image(to_levels(image))


def to_image(tensor: Any) -> Image:
    """(3, H, W) tensor → (H, W, 3) quantised float32 array."""
    return quantise(tensor.detach().cpu().float().permute(1, 2, 0).numpy())


# -- sweep runs -------------------------------------------------------------------------------------
class SweepFrames:
    """Frames of a sweep run, rebuilt from its manifest and saved weights (lazily, cached)."""

    has_inputs = True

    def __init__(self, store: RunStore, manifest: Mapping[str, Any], seed: int | None = None) -> None:
        self.store = store
        self.preset = dict(manifest.get("preset", {}))
        test = dict(manifest.get("data", {}).get("test", {}))
        self.test = test
        self.dataset = str(test.get("dataset", "synthetic"))
        self.max_motion = float(manifest.get("data", {}).get("max_motion", self.preset.get("max_motion", 0.25)))
        self.ambiguity = float(manifest.get("data", {}).get("ambiguity", self.preset.get("ambiguity", 0.0)))
        seeds = list(manifest.get("seeds", [0]))
        self.seed = int(seed if seed is not None else (seeds[0] if seeds else 0))
        self.references = list(manifest.get("references", []))
        order = list(manifest.get("order", []))
        trained = [c for c in order if c not in self.references and self._model_path(c).is_file()]
        self.configs = tuple(trained + [c for c in self.references if c in order])
        self._triplets: dict[int, Any] = {}
        self._real: Any = None
        self._outputs: dict[tuple[str, int], Image] = {}
        self._problems: list[FrameProblem] | None = None
        self.unverified = ""

    def _model_path(self, config: str) -> Path:
        return self.store.unit_dir(UnitKey(config, self.seed)) / MODEL_FILE

    def check(self, sample: int) -> list[FrameProblem]:
        """What keeps the grids from showing the test data the run scored: real data gone or changed since
        (the fingerprint of the triplets it selects, :func:`~vfibench.sweep.data.selection_fingerprint`, is not
        the one the manifest records).
        The same for every sample; [] for synthetic scenes, which the manifest fixes."""
        if self._problems is None:
            self._problems = self._test_data_problems()
        return list(self._problems)

    def _test_data_problems(self) -> list[FrameProblem]:
        from vfibench.data.sources import SYNTHETIC, parse_dataset_spec
        from vfibench.sweep.data import selection_fingerprint

        what, recorded = "the run's recorded test data", self.test.get("fingerprint")
        try:
            if parse_dataset_spec(self.dataset).kind == SYNTHETIC:  # whatever options the spec gives them
                return []
            selection = self._selection()
            now = selection_fingerprint(selection.source, selection.indices)
        except (VfiBenchError, OSError) as err:
            return [FrameProblem(what, self.dataset, True, first_sentence(str(err)))]
        if recorded is None:
            self.unverified = ("the run was recorded by an earlier vfibench, which kept no fingerprint of its test "
                               "data (only the number of its triplets is checked)")
        elif now != recorded:
            return [FrameProblem(what, self.dataset, False, f"its fingerprint is {now} now, {recorded} then")]
        return []

    def _selection(self) -> Selection:
        """The test triplets the run selected (:func:`~vfibench.data.sources.select_dataset`), indexed once;
        only those a grid shows are read or rendered."""
        if self._real is None:
            from vfibench.data.sources import select_dataset

            # a standard test set is recorded with no size (it is never resized), and any set may be whole
            size, count = self.test.get("size"), self.test.get("count")
            self._real = select_dataset(self.dataset, "test", count=None if count is None else int(count),
                                        size=None if size is None else int(size), seed=int(self.test.get("seed", 0)),
                                        max_motion=self.max_motion, ambiguity=self.ambiguity)
        return self._real

    def prefetch(self, samples: Sequence[int]) -> None:
        """Render the triplets of ``samples`` (one batch) and every configuration's outputs on them; nothing
        when the test data is not what the run scored (:meth:`check` says why)."""
        if self.check(samples[0] if samples else 0):
            return
        missing = sorted({int(s) for s in samples} - set(self._triplets))
        if missing:
            try:
                batch = self._load(missing)
            except FramesNotScored as err:  # fewer triplets than were scored: every sample's check says so
                self._problems = [err.problem]
                return
            for position, sample in enumerate(missing):
                self._triplets[sample] = batch[position : position + 1]
        wanted = [int(s) for s in samples]
        for config in self.configs:
            todo = [s for s in wanted if (config, s) not in self._outputs]
            if todo:
                for sample, image in zip(todo, self._run(config, todo)):
                    self._outputs[(config, sample)] = image

    def _load(self, samples: Sequence[int]) -> Any:
        """The test triplets ``samples`` (ascending), only these, as the sweep read them: synthetic scenes
        re-rendered (scene i depends only on the split, the seed and i), real data re-read."""
        selection = self._selection()
        if max(samples) >= len(selection):
            raise FramesNotScored(FrameProblem("the run's recorded test data", self.dataset, False,
                                               f"it now holds {len(selection)} triplets, fewer than it did"))
        return selection.load(list(samples))

    def _batch(self, samples: Sequence[int]) -> Any:
        from vfibench.data.triplets import Triplets

        import torch

        parts = [self._triplets[s] for s in samples]
        return Triplets(*(torch.cat([getattr(p, name) for p in parts]) for name in ("i0", "it", "i1", "t")))

    def _run(self, config: str, samples: Sequence[int]) -> list[Image]:
        import torch

        triplets = self._batch(samples)
        if config in self.references:
            from vfibench.references import REFERENCES

            frames = REFERENCES[config](triplets)
        else:
            model = self._model(config)
            with torch.no_grad():
                frames = model(triplets.i0, triplets.i1, triplets.t).frame
        return [to_image(frame) for frame in frames]

    def _model(self, config: str) -> Any:
        """The trained model of ``config``, rebuilt with the architecture the run recorded."""
        import torch

        from vfibench.model.interpolator import build_interpolator
        from vfibench.model.variants import LEGACY_VARIANT

        path = self._model_path(config)
        variant = str(self.preset.get("model", LEGACY_VARIANT))
        try:
            model = build_interpolator(width=int(self.preset.get("width", 16)), seed=self.seed, variant=variant)
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except VfiBenchError as err:
            raise VfiBenchError(f"The run's manifest names a model this version cannot build: {err}") from None
        except Exception as err:  # refused pickle, truncated file, wrong keys or shapes: all damage
            problem = " ".join(f"{type(err).__name__}: {err}".split())
            problem = problem if len(problem) <= 300 else problem[:299].rstrip() + "…"
            raise ResultsError(
                f"The model file '{path}' of '{config}' (seed {self.seed}) cannot be loaded into the '{variant}' "
                f"interpolator the run's manifest records ({problem}). It was damaged, replaced or written by "
                f"another version of vfibench; delete the folder '{path.parent}' and finish the run with "
                f"`vfibench run --resume {self.store.name} --out {self.store.root.parent}` to train it again."
            ) from None
        return model.eval()

    def _fetch(self, sample: int) -> None:
        """Render ``sample`` and its outputs; :class:`FramesNotScored` when the test data is not what the run
        scored."""
        self.prefetch([sample])
        problems = self.check(sample)
        if problems:
            raise FramesNotScored(problems[0])

    def _triplet(self, sample: int) -> Any:
        if sample not in self._triplets:
            self._fetch(sample)
        return self._triplets[sample]

    def gt(self, sample: int) -> Image:
        return to_image(self._triplet(sample).it[0])

    def inputs(self, sample: int) -> tuple[Image, Image]:
        triplet = self._triplet(sample)
        return to_image(triplet.i0[0]), to_image(triplet.i1[0])

    def prediction(self, config: str, sample: int) -> Image | None:
        if config not in self.configs:
            return None
        if (config, sample) not in self._outputs:
            self._fetch(sample)
        return self._outputs[(config, sample)]


# -- evaluation runs (frames on disk) ---------------------------------------------------------------
def decode_image(data: bytes, path: Path) -> Image:
    """The bytes of the image file ``path`` as (H, W, 3) float32 RGB in [0, 1]; a clear error naming it otherwise."""
    from PIL import Image as PILImage, UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(data)) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError, PILImage.DecompressionBombError, ValueError) as err:
        raise VfiBenchError(f"Cannot read the frame '{path}' ({err}).") from None
    return array


def first_sentence(text: str) -> str:
    """The first sentence of an error message, without its full stop (the rest is advice for another command)."""
    return text.split(". ", 1)[0].rstrip(".")


def checked_bytes(what: str, folder: Path, path: Path, recorded: str | None) -> bytes:
    """The bytes of ``path`` (a frame of ``what`` in ``folder``), checked against ``recorded``, its
    :func:`frame_digest` when scored (None: unchecked); :class:`FramesNotScored` when it is missing,
    unreadable or another file."""
    if not folder.is_dir():
        raise FramesNotScored(FrameProblem(f"the folder of {what}", str(folder), True))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FramesNotScored(FrameProblem(what, str(path), True)) from None
    except OSError as err:
        raise FramesNotScored(FrameProblem(what, str(path), True, err.strerror or str(err))) from None
    if recorded is not None and frame_digest(data) != recorded:
        raise FramesNotScored(FrameProblem(what, str(path), False))
    return data


def recorded_digests(manifest: Mapping[str, Any], count: int, configs: Sequence[str]) -> dict[str, Any] | None:
    """An evaluation's :data:`DIGESTS`: ``{"gt": [...], "sources": {config: [...]}}``, one digest per file;
    None when the run has no such record; a VfiBenchError when it is damaged."""
    record = manifest.get(DIGESTS)
    if record is None:
        return None
    try:
        gt = [str(d) for d in record["gt"]]
        sources = {c: [str(d) for d in record["sources"][c]] for c in configs}
    except (KeyError, TypeError) as err:
        raise VfiBenchError(f"the manifest's {DIGESTS} is damaged: it lacks {err}") from None
    if any(len(digests) != count for digests in (gt, *sources.values())):
        raise VfiBenchError(f"the manifest's {DIGESTS} is damaged: it does not list one digest per evaluated file")
    return {"gt": gt, "sources": sources}


class _HeldFiles:
    """Frame files read and checked by ``check``, held until shown, so a grid shows the bytes checked."""

    def __init__(self) -> None:
        self._held: dict[Path, bytes] = {}

    def read(self, what: str, folder: Path, path: Path, recorded: str | None) -> bytes:
        """The file's checked bytes: those :meth:`hold` kept (once), else read now (:func:`checked_bytes`)."""
        held = self._held.pop(path, None)
        return held if held is not None else checked_bytes(what, folder, path, recorded)

    def hold(self, what: str, folder: Path, path: Path, recorded: str | None, problems: list[FrameProblem]) -> None:
        """Read and check the file and keep its bytes; a problem found is added to ``problems``."""
        try:
            self._held[path] = checked_bytes(what, folder, path, recorded)
        except FramesNotScored as err:
            if err.problem not in problems:
                problems.append(err.problem)

    def clear(self) -> None:
        self._held.clear()


class FolderFrames:
    """Frames of an evaluation run: one folder per configuration, one for the ground truth."""

    seed: int | None = None

    def __init__(self, root: Path, manifest: Mapping[str, Any]) -> None:
        try:
            self.gt_dir = self._resolve(root, manifest["gt_dir"])
            self.sources = {str(c): self._resolve(root, d) for c, d in dict(manifest["sources"]).items()}
            self.files = [str(f) for f in manifest["files"]]
        except (KeyError, TypeError) as err:
            raise VfiBenchError(f"the evaluation manifest lacks {err} (needs gt_dir, sources and files)") from None
        inputs = manifest.get("inputs")
        self.input_dirs = [self._resolve(root, d) for d in inputs] if inputs and len(inputs) == 2 else None
        self.has_inputs = self.input_dirs is not None
        self.configs = tuple(self.sources)
        self.digests = recorded_digests(manifest, len(self.files), self.configs)
        self.unverified = "" if self.digests is not None else UNRECORDED
        self._files = _HeldFiles()

    def _frames_of(self, config: str | None) -> tuple[str, Path, list[str] | None]:
        """(what, folder, recorded digests) of the ground truth (``config`` None) or a model's predictions."""
        if config is None:
            return "the ground truth", self.gt_dir, self.digests["gt"] if self.digests else None
        return f"the predictions of '{config}'", self.sources[config], (
            self.digests["sources"][config] if self.digests else None)

    def _roles(self, sample: int) -> list[tuple[str, Path, Path, str | None]]:
        """(what, folder, file, recorded digest or None) of every frame of ``sample`` a grid shows."""
        roles = []
        for config in (None, *self.sources):
            what, folder, digests = self._frames_of(config)
            roles.append((what, folder, self._file(folder, sample), digests[sample] if digests else None))
        for name, folder in zip(("I0", "I1"), self.input_dirs or []):  # shown, never scored: nothing recorded
            roles.append((f"the input {name}", folder, self._file(folder, sample), None))
        return roles

    def check(self, sample: int) -> list[FrameProblem]:
        """The frames of ``sample`` that are missing or not the files the run scored; the others are held
        for display."""
        self._files.clear()
        problems: list[FrameProblem] = []
        for role in self._roles(sample):
            self._files.hold(*role, problems)
        return problems

    def _image(self, config: str | None, sample: int) -> Image:
        what, folder, digests = self._frames_of(config)
        path = self._file(folder, sample)
        return decode_image(self._files.read(what, folder, path, digests[sample] if digests else None), path)

    @staticmethod
    def _resolve(root: Path, directory: str) -> Path:
        path = Path(directory)
        return path if path.is_absolute() else root / path

    def _file(self, directory: Path, sample: int) -> Path:
        if not 0 <= sample < len(self.files):
            raise VfiBenchError(f"sample {sample} is outside the {len(self.files)} evaluated frames")
        return directory / self.files[sample]

    def gt(self, sample: int) -> Image:
        return self._image(None, sample)

    def inputs(self, sample: int) -> tuple[Image, Image] | None:
        if self.input_dirs is None:
            return None
        paths = [self._file(folder, sample) for folder in self.input_dirs]
        first, second = (decode_image(self._files.read(f"the input {name}", folder, path, None), path)
                         for name, folder, path in zip(("I0", "I1"), self.input_dirs, paths))
        return first, second

    def prediction(self, config: str, sample: int) -> Image | None:
        if config not in self.sources:
            return None
        return self._image(config, sample)


class SpecFrames:
    """Frames of an evaluation against a dataset spec (``eval --gt ucf101:PATH``): the set's own frames,
    read as the evaluation scored them, and each model's prediction found by sample id."""

    seed: int | None = None
    has_inputs = True

    def __init__(self, root: Path, manifest: Mapping[str, Any]) -> None:
        from vfibench.data.sources import open_source

        try:
            self.spec = str(manifest["gt_spec"])
            self.sources = {str(c): FolderFrames._resolve(root, d) for c, d in dict(manifest["sources"]).items()}
            self.files = [str(f) for f in manifest["files"]]
        except (KeyError, TypeError) as err:
            raise VfiBenchError(f"the evaluation manifest lacks {err} (needs gt_spec, sources and files)") from None
        self.configs = tuple(self.sources)
        self.digests = recorded_digests(manifest, len(self.files), self.configs)
        self.unverified = "" if self.digests is not None else UNRECORDED
        self._files = _HeldFiles()
        self._read: tuple[int, tuple[Image, Image, Image]] | None = None  # the last sample's frames
        #: what keeps every sample's ground truth from being shown: the set gone, or without a sample scored.
        self._problem: FrameProblem | None = None
        what = "the run's recorded test set"
        try:
            self.source = open_source(self.spec, "test")
        except (VfiBenchError, OSError) as err:
            self._problem = FrameProblem(what, self.spec, True, first_sentence(str(err)))
            return
        index = {ref.name: k for k, ref in enumerate(self.source.refs)}
        gone = [name for name in self.files if name not in index]
        if gone:
            self._problem = FrameProblem(what, self.spec, False,
                                         f"it no longer holds the evaluated sample '{gone[0]}'")
            return
        self.indices = [index[name] for name in self.files]

    def _frames(self, sample: int) -> tuple[Image, Image, Image]:
        if not 0 <= sample < len(self.files):
            raise VfiBenchError(f"sample {sample} is outside the {len(self.files)} evaluated frames")
        if self._problem is not None:
            raise FramesNotScored(self._problem)
        if self._read is None or self._read[0] != sample:
            ref = self.source.refs[self.indices[sample]]
            what = f"sample '{self.files[sample]}' of {self.spec}"
            try:
                (_, frames), = self.source.read([self.indices[sample]])
            except (VfiBenchError, OSError) as err:
                raise FramesNotScored(FrameProblem(what, ref.frames[1], True, first_sentence(str(err)))) from None
            levels = [to_levels(frame) for frame in frames]  # the 8-bit levels the evaluation scored and digested
            if self.digests is not None and levels_digest(levels) != self.digests["gt"][sample]:
                raise FramesNotScored(FrameProblem(what, ref.frames[1], False))
            # (Xiph 2K's resize is already on the levels)
            self._read = (sample, (levels_image(levels[0]), levels_image(levels[1]), levels_image(levels[2])))
        return self._read[1]

    def _prediction_file(self, config: str, sample: int) -> tuple[str, Path, Path, str | None]:
        """(what, folder, file, recorded digest or None) of a model's prediction of ``sample``."""
        from vfibench.eval_plan import prediction_file

        folder, name = self.sources[config], self.files[sample]
        found = prediction_file(folder, name) if folder.is_dir() else None
        recorded = self.digests["sources"][config][sample] if self.digests else None
        return f"the predictions of '{config}'", folder, folder / (found or f"{name}.png"), recorded

    def check(self, sample: int) -> list[FrameProblem]:
        """The frames of ``sample`` that are missing or not those the run scored; the others are held for display."""
        self._files.clear()
        problems: list[FrameProblem] = []
        try:
            self._frames(sample)
        except FramesNotScored as err:
            problems.append(err.problem)
        for config in self.sources:
            self._files.hold(*self._prediction_file(config, sample), problems)
        return problems

    def gt(self, sample: int) -> Image:
        return self._frames(sample)[1]

    def inputs(self, sample: int) -> tuple[Image, Image] | None:
        frames = self._frames(sample)
        return frames[0], frames[2]

    def prediction(self, config: str, sample: int) -> Image | None:
        if config not in self.sources:
            return None
        what, folder, path, recorded = self._prediction_file(config, sample)
        return decode_image(self._files.read(what, folder, path, recorded), path)


def frame_source(store: RunStore, manifest: Mapping[str, Any], seed: int | None = None
                 ) -> tuple[FrameSource | None, str]:
    """The run's frame source and "" — or None and the reason frames cannot be shown."""
    kind = schema.run_kind(manifest)
    try:
        if kind == schema.SWEEP:
            return SweepFrames(store, manifest, seed), ""
        if kind == schema.EVALUATION:
            if manifest.get("gt_spec"):
                return SpecFrames(store.root, manifest), ""
            return FolderFrames(store.root, manifest), ""
    except VfiBenchError as err:
        return None, str(err)
    return None, f"runs of kind '{kind}' have no frames to show"
