"""Where the report gets the frames it shows: ground truth, inputs and each configuration's output.

A :class:`FrameSource` answers three questions about a test sample — its ground truth, its two
inputs, a configuration's prediction — as (H, W, 3) float32 arrays in [0, 1], quantised to 8 bits
like the frames the metrics scored. Three sources exist:

- :class:`SweepFrames` (manifest ``"kind": "sweep"``) rebuilds the synthetic test triplets from the
  manifest (only the samples asked for) and re-runs each trained configuration's saved weights
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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vfibench.errors import ResultsError, VfiBenchError
from vfibench.results import schema
from vfibench.results.store import MODEL_FILE, RunStore, UnitKey

Image = np.ndarray  # (H, W, 3) float32 in [0, 1]


class FrameSource(Protocol):
    """Frames of a run's test samples, for display."""

    #: configurations whose predictions can be shown, in display order.
    configs: tuple[str, ...]
    #: the seed whose outputs are shown (None when the run has no seeds, e.g. an evaluation).
    seed: int | None
    #: whether :meth:`inputs` gives I0 and I1 (an evaluation against a plain folder of frames has none).
    has_inputs: bool

    def gt(self, sample: int) -> Image: ...
    def inputs(self, sample: int) -> tuple[Image, Image] | None: ...
    def prediction(self, config: str, sample: int) -> Image | None: ...


def quantise(image: np.ndarray) -> Image:
    """round(clamp(x, 0, 1)·255)/255 as float32 — what a saved 8-bit frame holds."""
    return (np.round(np.clip(image, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def to_image(tensor: Any) -> Image:
    """(3, H, W) tensor → (H, W, 3) quantised float32 array."""
    return quantise(tensor.detach().cpu().float().permute(1, 2, 0).numpy())


# -- sweep runs -------------------------------------------------------------------------------------
def synthetic_subset(split: str, samples: Sequence[int], *, size: int, seed: int, max_motion: float,
                     ambiguity: float = 0.0) -> Any:
    """Triplets of the synthetic ``split`` restricted to ``samples`` (in that order).

    Scene i depends only on (split, seed, i), so only the requested scenes are rendered; if the
    generator's internals do not allow that, the first max(samples)+1 scenes are rendered instead.
    """
    from vfibench.data import synthetic, synthetic_render, synthetic_scenes
    from vfibench.data.triplets import Triplets

    import torch

    rows = np.asarray(list(samples), dtype=int)
    count = int(rows.max()) + 1
    try:
        scenes = synthetic_scenes.sample_scenes(split, count, size, seed, max_motion, ambiguity)  # type: ignore[arg-type]
        subset = _take_scenes(scenes, rows)
        frames = [synthetic_render.render_frames(subset, s) for s in (0.0, 0.5, 1.0)]
        return Triplets(frames[0], frames[1], frames[2], torch.full((len(rows),), 0.5))
    except (AttributeError, TypeError, ValueError):
        full = synthetic.make_synthetic(split, count, size=size, seed=seed, max_motion=max_motion,  # type: ignore[arg-type]
                                        ambiguity=ambiguity)
        return full[torch.as_tensor(rows)]


def _take_scenes(scenes: Any, rows: np.ndarray) -> Any:
    """The scenes ``rows`` of a batch of scene parameters (every per-scene array indexed)."""
    n = len(scenes)
    changes = {f.name: getattr(scenes, f.name)[rows] for f in fields(scenes)
               if isinstance(getattr(scenes, f.name), np.ndarray) and getattr(scenes, f.name).shape[:1] == (n,)}
    return replace(scenes, **changes)


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

    def _model_path(self, config: str) -> Path:
        return self.store.unit_dir(UnitKey(config, self.seed)) / MODEL_FILE

    def prefetch(self, samples: Sequence[int]) -> None:
        """Render the triplets of ``samples`` (one batch) and every configuration's outputs on them."""
        missing = sorted({int(s) for s in samples} - set(self._triplets))
        if missing:
            batch = self._load(missing)
            for position, sample in enumerate(missing):
                self._triplets[sample] = batch[position : position + 1]
        wanted = [int(s) for s in samples]
        for config in self.configs:
            todo = [s for s in wanted if (config, s) not in self._outputs]
            if todo:
                for sample, image in zip(todo, self._run(config, todo)):
                    self._outputs[(config, sample)] = image

    def _load(self, samples: Sequence[int]) -> Any:
        """The test triplets ``samples``: re-rendered (synthetic) or re-read (real data, as the sweep read it)."""
        seed = int(self.test.get("seed", 0))
        if self.dataset == "synthetic":
            return synthetic_subset("test", samples, size=int(self.test["size"]), seed=seed,
                                    max_motion=self.max_motion, ambiguity=self.ambiguity)
        from vfibench.data.sources import open_dataset

        if self._real is None:  # read once: later samples come from the same load
            # a standard test set is recorded with no size (it is never resized), and any set may be whole
            size, count = self.test.get("size"), self.test.get("count")
            self._real = open_dataset(self.dataset, "test", count=None if count is None else int(count),
                                      size=None if size is None else int(size), seed=seed,
                                      max_motion=self.max_motion, ambiguity=self.ambiguity)
        triplets = self._real
        if max(samples) >= len(triplets):
            raise VfiBenchError(f"the test data '{self.dataset}' now holds {len(triplets)} triplets, fewer than "
                                f"when the run scored it; it changed since, so its frames cannot be shown")
        rows = list(samples)
        return type(triplets)(triplets.i0[rows], triplets.it[rows], triplets.i1[rows], triplets.t[rows])

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

    def _triplet(self, sample: int) -> Any:
        if sample not in self._triplets:
            self.prefetch([sample])
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
            self.prefetch([sample])
        return self._outputs[(config, sample)]


# -- evaluation runs (frames on disk) ---------------------------------------------------------------
def read_image(path: Path) -> Image:
    """An RGB image file as (H, W, 3) float32 in [0, 1]; a clear error naming the file otherwise."""
    from PIL import Image as PILImage, UnidentifiedImageError

    try:
        with PILImage.open(path) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError, PILImage.DecompressionBombError, ValueError) as err:
        raise VfiBenchError(f"Cannot read the frame '{path}' ({err}).") from None
    return array


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

    @staticmethod
    def _resolve(root: Path, directory: str) -> Path:
        path = Path(directory)
        return path if path.is_absolute() else root / path

    def _file(self, directory: Path, sample: int) -> Path:
        if not 0 <= sample < len(self.files):
            raise VfiBenchError(f"sample {sample} is outside the {len(self.files)} evaluated frames")
        return directory / self.files[sample]

    def gt(self, sample: int) -> Image:
        return read_image(self._file(self.gt_dir, sample))

    def inputs(self, sample: int) -> tuple[Image, Image] | None:
        if self.input_dirs is None:
            return None
        return read_image(self._file(self.input_dirs[0], sample)), read_image(self._file(self.input_dirs[1], sample))

    def prediction(self, config: str, sample: int) -> Image | None:
        if config not in self.sources:
            return None
        return read_image(self._file(self.sources[config], sample))


class SpecFrames:
    """Frames of an evaluation against a dataset spec (``eval --gt ucf101:PATH``): the set's own frames,
    read as the evaluation scored them, and each model's prediction found by sample id."""

    seed: int | None = None
    has_inputs = True

    def __init__(self, root: Path, manifest: Mapping[str, Any]) -> None:
        from vfibench.data.sources import open_source

        try:
            spec = str(manifest["gt_spec"])
            self.sources = {str(c): FolderFrames._resolve(root, d) for c, d in dict(manifest["sources"]).items()}
            self.files = [str(f) for f in manifest["files"]]
        except (KeyError, TypeError) as err:
            raise VfiBenchError(f"the evaluation manifest lacks {err} (needs gt_spec, sources and files)") from None
        self.source = open_source(spec, "test")
        index = {ref.name: k for k, ref in enumerate(self.source.refs)}
        gone = [name for name in self.files if name not in index]
        if gone:
            raise VfiBenchError(f"{spec} no longer holds the evaluated sample '{gone[0]}'")
        self.indices = [index[name] for name in self.files]
        self.configs = tuple(self.sources)
        self._read: tuple[int, tuple[Image, Image, Image]] | None = None  # the last sample's frames

    def _frames(self, sample: int) -> tuple[Image, Image, Image]:
        if not 0 <= sample < len(self.files):
            raise VfiBenchError(f"sample {sample} is outside the {len(self.files)} evaluated frames")
        if self._read is None or self._read[0] != sample:
            (_, frames), = self.source.read([self.indices[sample]])
            # on the 8-bit levels the evaluation scored (Xiph 2K's resize is already on them)
            self._read = (sample, (quantise(frames[0]), quantise(frames[1]), quantise(frames[2])))
        return self._read[1]

    def gt(self, sample: int) -> Image:
        return self._frames(sample)[1]

    def inputs(self, sample: int) -> tuple[Image, Image] | None:
        frames = self._frames(sample)
        return frames[0], frames[2]

    def prediction(self, config: str, sample: int) -> Image | None:
        if config not in self.sources:
            return None
        from vfibench.eval_plan import prediction_file

        found = prediction_file(self.sources[config], self.files[sample])
        if found is None:
            raise VfiBenchError(f"the prediction '{self.sources[config] / self.files[sample]}.png' of model "
                                f"'{config}' is gone")
        return read_image(self.sources[config] / found)


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
