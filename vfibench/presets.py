"""Run presets: how long and how large a sweep trains, from seconds (``smoke``) to a GPU run (``full``).

A preset fixes everything except the loss: model width, data sizes, steps, batch, optimiser
schedule. Every configuration of a sweep uses the same preset, so only the loss differs.
"""

from __future__ import annotations

import json
import math

from dataclasses import MISSING, asdict, dataclass, fields, replace
from typing import Any

from vfibench.errors import VfiBenchError
from vfibench.model.variants import DEFAULT_VARIANT, LEGACY_VARIANT


@dataclass(frozen=True)
class RunPreset:
    """Training and evaluation settings shared by every configuration of a sweep.

    Attributes:
        name: the preset's name.
        description: what it is for, with an indication of its cost.
        steps: optimiser steps per configuration.
        batch_size: triplets per step.
        crop: side of the square training triplets (pixels).
        train_count: number of training triplets (drawn in a seeded order, reshuffled each epoch).
        test_count: number of test triplets (photographs never seen in training).
        test_size: side of the square test triplets (pixels).
        max_motion: largest displacement between I0 and I1, as a fraction of the frame side.
        ambiguity: how far synthetic paths may leave straight uniform motion (``synthetic(ambiguity=…)``),
            as a fraction of each layer's displacement; 0 = the middle frame follows from I0 and I1.
        model: the interpolator variant (:data:`~vfibench.model.variants.MODEL_VARIANTS`).
        width: the interpolator's base channel count.
        lr: Adam's initial learning rate; decays to ``lr * lr_final_fraction`` on a cosine schedule.
        lr_final_fraction: final learning rate as a fraction of ``lr``.
        log_every: steps between rows of the training log.
        eval_batch_size: test triplets per forward pass at evaluation.
        warm_start_fraction: the share of ``steps`` every configuration trains with plain l1 first
            (the shared warm start) unless ``--warm-start`` says otherwise; 0 = none. ``quick`` and
            ``full`` use half: measured on ``quick``, ``l1+perc`` trained from scratch for 1000 steps
            ends 1.39 dB below the ``blend`` reference (24.73 dB), while after a 500-step l1 warm
            start it ends 0.80 dB higher (25.53 dB) at an LPIPS no worse, and its perceptual steps
            take 181 s instead of 485 s. A plain ``l1`` configuration is bit-identical either way.
    """

    name: str
    description: str
    steps: int
    batch_size: int
    crop: int
    train_count: int
    test_count: int
    test_size: int
    max_motion: float = 0.25
    ambiguity: float = 0.0
    model: str = DEFAULT_VARIANT
    width: int = 16
    lr: float = 1e-3
    lr_final_fraction: float = 0.05
    log_every: int = 10
    eval_batch_size: int = 16
    warm_start_fraction: float = 0.0

    @property
    def warm_start(self) -> int:
        """The preset's default warm start in steps: ``warm_start_fraction · steps`` rounded half up (``round``
        rounds halves to even, which would give 5 steps a warm start of 2 and 7 steps one of 4)."""
        return math.floor(self.warm_start_fraction * self.steps + 0.5)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, **overrides: Any) -> "RunPreset":
        """A copy with some fields replaced (None values are ignored); the name stays, the manifest records every value."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        for name in ("steps", "log_every"):
            value = changes.get(name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise VfiBenchError(f"{name} must be a whole number of at least 1, got {value!r}.")
        if changes.get("steps", 0) > MAX_STEPS:
            raise VfiBenchError(f"steps {changes['steps']}: a sweep trains at most {MAX_STEPS:,} steps per unit (papers "
                                f"train for 10⁵–10⁶, and each step is planned before any work); "
                                f"give fewer.")
        if not changes:
            return self
        return replace(self, **changes)


#: The most training steps a sweep accepts: papers train for 10⁵–10⁶ iterations, and a sweep plans each
#: step's active loss terms before any work (about 0.7 s per million steps).
MAX_STEPS = 10_000_000

#: Training precisions: fp32, or autocast of the forward pass and the loss to bfloat16 / float16.
PRECISIONS = ("fp32", "bf16", "fp16")
#: The precision a sweep trains in when none is given.
DEFAULT_PRECISION = PRECISIONS[0]
#: What each precision does, as the manifest records it.
#: What no training precision changes: the scores are computed in float32.
SCORED_IN_FP32 = "evaluation and held-out scores in fp32"
PRECISION_NOTES = {
    "fp32": "float32 with PyTorch's defaults (on a GPU, cuDNN may compute convolutions in TF32)",
    "bf16": "forward pass and loss under torch.autocast(bfloat16); weights, gradients and Adam in float32",
    "fp16": ("forward pass and loss under torch.autocast(float16) with a CUDA GradScaler (loss scaling); "
             "weights, gradients and Adam in float32"),
}

#: The preset ``vfibench run`` uses when none is given; the ``data`` commands make synthetic scenes as it does.
DEFAULT_PRESET = "quick"

PRESETS: dict[str, RunPreset] = {
    preset.name: preset
    for preset in (
        RunPreset(
            name="smoke",
            description="seconds per configuration; for tests and trying the pipeline",
            steps=12,
            batch_size=4,
            crop=32,
            train_count=48,
            test_count=8,
            test_size=48,
            ambiguity=0.5,
            width=8,
            log_every=4,
        ),
        RunPreset(
            name="ci",
            description=("a small deterministic sweep for regression checks in CI: about half a minute for "
                         "l1,superslomo on 2 CPU cores"),
            steps=40,
            batch_size=4,
            crop=32,
            train_count=96,
            test_count=8,
            test_size=48,
            ambiguity=0.5,
            width=8,
            log_every=10,
        ),
        RunPreset(
            name="quick",
            description="a few minutes per configuration on 2 CPU cores; the default",
            steps=1000,
            batch_size=8,
            crop=64,
            train_count=4000,
            test_count=128,
            test_size=96,
            ambiguity=0.5,
            width=16,
            lr=1e-3,
            log_every=25,
            warm_start_fraction=0.5,
        ),
        RunPreset(
            name="full",
            description="for a GPU: larger crops, longer training, a larger test split",
            steps=30000,
            batch_size=16,
            crop=128,
            train_count=40000,
            test_count=256,
            test_size=192,
            ambiguity=0.5,
            width=32,
            lr=5e-4,
            log_every=100,
            warm_start_fraction=0.5,
        ),
    )
}


def preset_from_dict(values: dict[str, Any], source: str = "the manifest") -> RunPreset:
    """Rebuild a preset recorded with :meth:`RunPreset.to_dict` (as a run's manifest holds it).

    The recorded values win over today's definition of the preset of that name, so resuming a run
    trains with exactly the settings it started with.
    """
    known = {f.name for f in fields(RunPreset)}
    if not isinstance(values, dict):
        raise VfiBenchError(f"The preset recorded in {source} is not a table of settings; the file is damaged.")
    # Runs made before model variants existed trained the warp-and-blend model (ambiguity did not exist: 0).
    values = {"model": LEGACY_VARIANT, **values}
    unknown = sorted(set(values) - known)
    missing = sorted(f.name for f in fields(RunPreset) if f.name not in values and f.default is MISSING)
    if unknown or missing:
        raise VfiBenchError(
            f"The preset recorded in {source} does not match this version of vfibench"
            + (f" (unknown settings: {', '.join(unknown)})" if unknown else "")
            + (f" (missing settings: {', '.join(missing)})" if missing else "")
            + ". Resume it with the vfibench version that started it, or start a new sweep."
        )
    kinds = {"str": (str,), "int": (int,), "float": (int, float)}
    for f in fields(RunPreset):
        value, allowed = values.get(f.name, f.default), kinds.get(str(f.type))
        if allowed is not None and (isinstance(value, bool) or not isinstance(value, allowed)):
            raise VfiBenchError(
                f"The preset recorded in {source} has {f.name} = {json.dumps(value)[:80]}, not a value of type "
                f"{f.type}; the file is damaged or was edited. Restore it, or start a new sweep."
            )
    return RunPreset(**values)


def get_preset(name: str) -> RunPreset:
    """The named preset, or a clear error listing the presets."""
    key = name.lower()
    if key not in PRESETS:
        described = "; ".join(f"{p.name} ({p.description})" for p in PRESETS.values())
        raise VfiBenchError(f"Unknown run preset '{name}'. Choose one of: {described}.")
    return PRESETS[key]
