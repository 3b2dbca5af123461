"""The data of a sweep: its training and test triplets as the preset and the dataset specs ask for
them, the options each split is read with, and each test sample's attributes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from vfibench.data.sources import (STANDARD_KINDS, SYNTHETIC, dataset_attributes, open_dataset, parse_dataset_spec,
                                   resolve)
from vfibench.data.triplets import Triplets
from vfibench.errors import DataError
from vfibench.presets import RunPreset
from vfibench.results import schema
from vfibench.results.schema import SAMPLE_ATTRIBUTES as ATTRIBUTES

if TYPE_CHECKING:
    from vfibench.data.triplet_source import TripletSource
    from vfibench.sweep.plan import SweepPlan


def data_for(plan: SweepPlan, loaded: Callable[[], None] | None = None) -> tuple[Triplets, Triplets]:
    """The training and test triplets of a plan (deterministic in the preset and the data seed)."""
    return load_data(plan.train_data, plan.test_data, plan.preset, plan.data_seed, loaded)


def load_data(train_data: str, test_data: str, preset: RunPreset, data_seed: int,
              loaded: Callable[[], None] | None = None) -> tuple[Triplets, Triplets]:
    """The training and test triplets of two dataset specs (deterministic in the preset and the seed).

    The preset gives the counts and sizes (training crops, test frames); options written in a
    dataset spec override them. ``loaded`` is called once the training data is ready.
    """
    train = open_dataset(train_data, "train", seed=data_seed, **preset_data_options(preset, "train"))
    if loaded is not None:  # progress: the training data is ready
        loaded()
    test = open_dataset(test_data, "test", seed=data_seed, **preset_data_options(preset, "test"))
    return train, test


def data_fingerprint(spec: str, split: str, preset: RunPreset, data_seed: int) -> str | None:
    """What real data a split reads (:func:`selection_fingerprint` of the triplets it selects). None for
    synthetic scenes, which the spec, the preset and the seed fix."""
    from vfibench.data.sources import open_source
    from vfibench.data.triplet_source import select_indices

    parsed = parse_dataset_spec(spec)
    if parsed.kind == SYNTHETIC:
        return None
    count = resolve(parsed, **preset_data_options(preset, split))["count"]
    source = open_source(parsed, split, count=count, seed=data_seed)
    return selection_fingerprint(source, select_indices(len(source), count, data_seed))


def selection_fingerprint(source: TripletSource, indices: Sequence[int]) -> str:
    """What the triplets ``indices`` of ``source`` are, in 16 hex digits: SHA-256 over their ids and the
    name and size in bytes of each file they are read from. The data is indexed, not read, so this is
    cheap and the same on every machine and wherever the files lie; a frame replaced by one of exactly
    the same size goes unnoticed."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    for index in indices:
        ref = source.refs[index]
        digest.update(ref.name.encode() + b"\0")
        for frame in map(Path, ref.frames):
            if frame.is_file():
                digest.update(f"{frame.name}:{frame.stat().st_size}\0".encode())
    video = getattr(source, "path", None)  # a video's frames are labels inside one file
    if isinstance(video, Path) and video.is_file():
        digest.update(f"{video.name}:{video.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def data_fingerprints(plan: SweepPlan) -> dict[str, str | None]:
    """:func:`data_fingerprint` of the plan's training and test data."""
    return {split: data_fingerprint(spec, split, plan.preset, plan.data_seed)
            for split, spec in (("train", plan.train_data), ("test", plan.test_data))}


def check_same_data(plan: SweepPlan) -> None:
    """A :class:`DataError` when a resumed run's data is no longer what its manifest recorded (a
    folder that gained, lost or changed frames): the remaining units would be trained and scored on
    other data than the finished ones. Checks the fingerprints when the plan is made, and the triplets
    each split loaded once it is loaded. A run on real data whose manifest has no fingerprint (one
    started before they were recorded) is refused too: its triplet counts cannot show a replaced frame,
    and the resumed manifest would record a fingerprint its finished units were never checked against."""
    expected = plan.expected_data
    unverifiable = [split for split in ("train", "test") if f"{split} fingerprint" in expected
                    and expected[f"{split} fingerprint"] is None and plan.fingerprints.get(split) is not None]
    if unverifiable:
        specs = {"train": ("training", plan.train_data), "test": ("test", plan.test_data)}
        raise DataError(
            f"Cannot resume: the run was started by an earlier vfibench that recorded no fingerprint of its real "
            f"{' and '.join(specs[split][0] for split in unverifiable)} data "
            f"({'; '.join(f'{split}: {specs[split][1]}' for split in unverifiable)}), so "
            f"a resume cannot check that its remaining units would be trained and scored on the data its finished "
            f"units used. Its finished units stay as they are for `vfibench report`; to finish the comparison, start "
            f"a new sweep with the same options."
        )
    now = dict(zip(("train", "test"), (options["size"] for options in split_options(plan))))
    resized = [f"its {name} data at {_side(expected[f'{split} size'])}, where this vfibench reads it at "
               f"{_side(now[split])}" for split, name in (("train", "training"), ("test", "test"))
               if f"{split} size" in expected and expected[f"{split} size"] != now[split]]
    if resized:  # a standard set's training frames, read at native size before they were fitted to the crops
        raise DataError(
            f"Cannot resume: the run read {' and '.join(resized)}, so its remaining units would not be trained and "
            f"scored on the frames its finished ones were. Its finished units stay as they are for `vfibench "
            f"report`; to finish the comparison, start a new sweep with the same options."
        )
    found = {"train": plan.loaded.get("train"), "test": plan.loaded.get("test"),
             **{f"{split} fingerprint": value for split, value in plan.fingerprints.items()}}
    labels = {"train": "training triplets", "test": "test triplets", "train fingerprint": "training data fingerprint",
              "test fingerprint": "test data fingerprint"}
    changed = [f"{label} {found[what]} now, {expected[what]} then" for what, label in labels.items()
               if expected.get(what) is not None and found.get(what) is not None and expected[what] != found[what]]
    if changed:
        raise DataError(
            f"Cannot resume: the data changed since the run started ({'; '.join(changed)}), so its remaining units "
            f"would not be trained and scored on what the finished ones were. Restore the data ({plan.train_data}; "
            f"{plan.test_data}) as it was, or start a new sweep."
        )


def _side(size: int | None) -> str:
    return "native size" if size is None else f"{size}×{size}"


def preset_data_options(preset: RunPreset, split: str) -> dict[str, Any]:
    """The dataset options a preset gives a split (count and size: training crops or test frames; the
    synthetic scenes' largest motion and ambiguity); options written in a spec override them."""
    count, size = (preset.train_count, preset.crop) if split == "train" else (preset.test_count, preset.test_size)
    return {"count": count, "size": size, "max_motion": preset.max_motion, "ambiguity": preset.ambiguity}


def data_options(spec: str, preset: RunPreset, split: str) -> dict[str, Any]:
    """The options a split is actually read with: the preset's (:func:`preset_data_options`) with the
    spec's own options over them, what the manifest and the dry run show."""
    parsed = parse_dataset_spec(spec)
    options = resolve(parsed, **preset_data_options(preset, split))
    return options | {"size": None} if parsed.kind in STANDARD_KINDS and split == "test" else options  # as tested


def split_options(plan: SweepPlan) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`data_options` of the plan's training and test data."""
    return (data_options(plan.train_data, plan.preset, "train"), data_options(plan.test_data, plan.preset, "test"))


def attributes_of_test_data(plan: SweepPlan, test: Triplets) -> pd.DataFrame:
    """Per test sample: its ambiguity, motion and occluded fraction. Synthetic scenes know all three;
    for real data the motion is estimated with a classical optical flow (:func:`largest_motion`) and
    the other two stay NaN (no ground truth knows them)."""
    from vfibench.metrics.classical_flow import largest_motion

    preset = plan.preset
    known = dataset_attributes(plan.test_data, "test", count=preset.test_count, seed=plan.data_seed,
                               max_motion=preset.max_motion, ambiguity=preset.ambiguity)
    frame = pd.DataFrame(known, columns=list(ATTRIBUTES))
    if len(frame) == len(test) and frame[schema.MOTION].isna().all():
        frame[schema.MOTION] = largest_motion(test.i0, test.i1).numpy()
    return frame
