"""The ``synthetic`` dataset (:mod:`vfibench.data.synthetic`) seen as a :class:`TripletSource`.

Loading every scene gives exactly :func:`~vfibench.data.synthetic.make_synthetic`'s tensors;
a subset renders only the chosen scenes (scene i depends only on split, seed and i). Its
provenance records name each scene and the photographs it is cut from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from vfibench.data.images import Fit
from vfibench.data.photos import split_photos
from vfibench.data.synthetic import make_synthetic
from vfibench.data.synthetic_attributes import sample_attributes
from vfibench.data.synthetic_render import render_frames
from vfibench.data.synthetic_scenes import Scenes, sample_scenes
from vfibench.data.synthetic_visibility import layer_motion
from vfibench.data.triplet_source import Frames, TripletRef, TripletSource, check_memory, physical_memory
from vfibench.data.triplets import Triplets
from vfibench.errors import DataError

#: Scenes rendered per batch when reading a subset.
_BATCH = 64
#: Memory one scene's parameters and index take in an open source (3.2 KiB measured), bytes.
SCENE_BYTES = 4 * 1024


def check_scene_count(count: int, memory: int | None = None) -> None:
    """A :class:`DataError` when the parameters of ``count`` scenes cannot fit in ``memory`` bytes (default:
    this machine's physical memory)."""
    memory = physical_memory() if memory is None else memory
    need = count * SCENE_BYTES
    if memory is not None and need > memory:
        most = memory // SCENE_BYTES
        raise DataError(
            f"{count:,} synthetic scenes would need about {need / 1024**3:,.1f} GiB of memory for their parameters "
            f"alone, more than this machine's {memory / 1024**3:,.1f} GiB; at most about {most:,} fit. Ask for "
            f"fewer triplets (count)."
        )


def scene_rows(scenes: Scenes, rows: Sequence[int]) -> Scenes:
    """The scenes ``rows`` of ``scenes`` (every per-scene array indexed by row)."""
    index = np.asarray(rows, dtype=np.int64)
    changes = {
        field.name: getattr(scenes, field.name)[index]
        for field in dataclasses.fields(scenes)
        if isinstance(getattr(scenes, field.name), np.ndarray)
    }
    return dataclasses.replace(scenes, **changes)


class SyntheticSource(TripletSource):
    """``count`` synthetic scenes of one split."""

    kind = "synthetic"

    def __init__(self, split: str, count: int, size: int = 64, seed: int = 0, max_motion: float = 0.25,
                 t: float = 0.5, ambiguity: float = 0.0, progress: Callable[[int, int], None] | None = None) -> None:
        """``progress(done, count)`` is called as the scenes are drawn (a large count takes a while)."""
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 <= t <= 1.0:
            shown = f"{t:g}" if isinstance(t, (int, float)) else repr(t)
            raise DataError(f"The synthetic dataset got t={shown}; t is the time of the middle frame and lies in "
                            f"[0, 1] (I0 at 0, I1 at 1). Use e.g. synthetic(t=0.5) for the middle frame.")
        if isinstance(count, int) and not isinstance(count, bool):
            check_scene_count(count)
        self.scenes = sample_scenes(split, count, size, seed, max_motion, ambiguity,  # validates the arguments
                                    progress)
        self.split, self.count, self.size, self.seed, self.max_motion = split, count, size, seed, max_motion
        self.ambiguity = float(ambiguity)
        self.t = float(t)
        names = split_photos(split)
        refs = []
        for i in range(count):
            photos = ", ".join(names[k] for k in self.scenes.photo[i][self.scenes.active[i]])
            label = f"synthetic {split} scene {i} (seed {seed}; {photos})"
            refs.append(TripletRef(f"{split}-{seed}-{i:05d}",
                                   (f"{label} at s=0", f"{label} at s={self.t:g}", f"{label} at s=1"), self.t))
        where = f"{split} (seed {seed}, {size}x{size}, max_motion {max_motion:g}"
        super().__init__(where + (f", ambiguity {ambiguity:g})" if ambiguity else ")"), refs)

    def describe(self) -> str:
        return f"synthetic {self.where}"

    def _render(self, rows: Sequence[int]) -> Triplets:
        if list(rows) == list(range(self.count)):
            return make_synthetic(self.split, self.count, size=self.size, seed=self.seed,  # type: ignore[arg-type]
                                  max_motion=self.max_motion, ambiguity=self.ambiguity, t=self.t)
        scenes = scene_rows(self.scenes, rows)
        return Triplets(render_frames(scenes, 0.0), render_frames(scenes, self.t), render_frames(scenes, 1.0),
                        torch.full((len(rows),), self.t, dtype=torch.float32))

    def read(self, indices: Sequence[int]) -> Iterator[tuple[int, Frames]]:
        order = sorted(indices)
        for start in range(0, len(order), _BATCH):
            rows = order[start : start + _BATCH]
            batch = self._render(rows)
            for k, index in enumerate(rows):
                frames = (batch.i0[k], batch.it[k], batch.i1[k])
                yield index, tuple(f.permute(1, 2, 0).numpy() for f in frames)  # type: ignore[misc]

    def load(self, indices: Sequence[int], size: int | None, fit: Fit, max_bytes: int | None = None) -> Triplets:
        """The scenes ``indices``, rendered at the source's own size (``size`` must be None or equal)."""
        if size is not None and size != self.size:
            raise DataError(
                f"The synthetic source renders {self.size}x{self.size} frames but size {size} was asked for at "
                f"loading; pass the size when the source is opened (synthetic scenes are rendered, not resized)."
            )
        check_memory(len(indices), self.size, self.size, max_bytes, self.describe())
        return self._render(sorted(indices))

    def attributes(self, indices: Sequence[int]) -> dict[str, np.ndarray]:
        """Per-scene ambiguity, motion and occluded fraction of scenes ``indices`` (in sorted order)."""
        return sample_attributes(scene_rows(self.scenes, sorted(indices)), self.t)

    def motion(self, indices: Sequence[int]) -> np.ndarray:
        """Known largest displacement (frame px) between I0 and I1 of each scene ``indices``."""
        return layer_motion(scene_rows(self.scenes, sorted(indices))).max(axis=1)
