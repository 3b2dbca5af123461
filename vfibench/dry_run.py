"""What a sweep would do, without doing it: the plan laid out for ``vfibench run --dry-run``.

:func:`describe_plan` turns a validated :class:`~vfibench.sweep.SweepPlan` into plain sections —
configurations (canonical string, expansion, each term's weight and schedule), units, data, metrics
— and :func:`estimate_training` times a few training steps of every configuration with a unit left to
train on the plan's device to project the training time of those units. Nothing is written: no run
directory, no cache, no file.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from vfibench.data.sources import SYNTHETIC, describe_sources, open_source, parse_dataset_spec
from vfibench.data.triplet_source import check_memory, selection_bytes
from vfibench.data.triplets import noise_triplets
from vfibench.losses.describe import window_text
from vfibench.losses.registry import format_value
from vfibench.presets import PRECISION_NOTES, SCORED_IN_FP32
from vfibench.references import REFERENCES
from vfibench.results import schema
from vfibench.results.store import RunStore
from vfibench.sweep import WARM_START_SPEC, SweepPlan
from vfibench.sweep.data import split_options
from vfibench.train import train_configuration
from vfibench.words import counted, join_words

#: Steps timed per configuration; the first is a warm-up and is not counted.
PROBE_STEPS = 3


@dataclass(frozen=True)
class ConfigPlan:
    """One configuration as it would be trained."""

    canonical: str
    expanded: str
    terms: tuple[tuple[str, str, str], ...]  # (weight, term, active window) per resolved term
    unavailable: str | None


@dataclass(frozen=True)
class Estimate:
    """Projected training time: measured seconds per step of each configuration, and the total."""

    seconds_per_step: dict[str, float]
    total_seconds: float
    note: str
    #: Configurations that diverged within the timed steps: the run stops them there, so they cost nothing.
    diverged: tuple[str, ...] = ()


def describe_plan(plan: SweepPlan) -> tuple[list[ConfigPlan], list[tuple[str, str]], list[str]]:
    """The plan's configurations, its other facts as (label, text) rows, and the notes the sweep would
    print as it starts (:func:`start_notes`)."""
    configs = []
    for config in plan.configs:
        terms = tuple((format_value(t.weight), t.label, window_text(t.window)) for t in config.resolve())
        configs.append(ConfigPlan(config.canonical, config.expanded, terms,
                                  plan.unavailable_configs.get(config.canonical)))
    preset = plan.preset
    trained = len(plan.trained)
    warm = (f"{plan.warm_start} steps of {WARM_START_SPEC}, trained once per seed and shared; each configuration "
            f"then trains its own {preset.steps - plan.warm_start} steps" if plan.warm_start else "none")
    metrics = ", ".join(plan.metrics) + "".join(f"; {name} unavailable ({why})"
                                                for name, why in plan.unavailable_metrics.items())
    train, test = split_options(plan)
    held = {split: _held(spec, split) for split, spec in (("train", plan.train_data), ("test", plan.test_data))}
    rows = [
        ("preset", f"{preset.name}: {preset.steps} steps, batch {preset.batch_size}, {preset.crop}×{preset.crop} "
                   f"crops, the {preset.model} model of width {preset.width}, lr {preset.lr:g} (cosine to "
                   f"{preset.lr_final_fraction:g}×), a training-log row every {preset.log_every} steps"),
        ("warm start", warm),
        ("units", f"{counted(trained, 'trained configuration')} × {counted(len(plan.seeds), 'seed')} "
                  f"({', '.join(map(str, plan.seeds))}) = {counted(trained * len(plan.seeds), 'training')}, plus the "
                  f"references {', '.join(REFERENCES)} per seed"),
        ("training data", f"{plan.train_data}: {_triplets(plan.train_data, 'train', train, held['train'])}"),
        ("test data", f"{plan.test_data}: {_triplets(plan.test_data, 'test', test, held['test'])}; "
                      f"{describe_sources(plan.train_data, plan.test_data)}"),
        ("metrics", metrics),
        ("device", str(plan.device)),
        ("precision", f"training in {plan.precision}: {PRECISION_NOTES[plan.precision]}; {SCORED_IN_FP32}"),
        ("writes", (f"the units not finished yet, and the run's tables, into the resumed run under {plan.out}"
                    if plan.resumed else f"a new run directory under {plan.out}")
         + (f"; each unit's log for TensorBoard under {plan.tensorboard}" if plan.tensorboard is not None else "")),
    ]
    return configs, rows, start_notes(plan, _loaded(test, held["test"]))


def _held(spec: str, split: str) -> int | None:
    """How many triplets a split of real data holds (indexed, not decoded); None for synthetic scenes."""
    return None if parse_dataset_spec(spec).kind == SYNTHETIC else len(open_source(spec, split))


def _loaded(options: dict[str, object], held: int | None) -> int:
    """How many triplets the run loads: the count asked for, at most what real data holds."""
    count = options["count"]
    if held is None:
        return int(count)  # type: ignore[call-overload]
    return held if count is None else min(held, int(count))  # type: ignore[call-overload]


def _triplets(spec: str, split: str, options: dict[str, object], held: int | None) -> str:
    """``"48 triplets at 32×32"``: how many triplets a split is read with and their size
    (:func:`~vfibench.sweep.data.data_options`), given what real data ``held`` (:func:`_held`; None for
    synthetic scenes): ``"4 triplets (all it holds; the preset asks for 8)"``, ``"8 of its 120 triplets"``. A split
    of known size is held to the memory budget the run would apply (:func:`check_memory`)."""
    size = options.get("size")
    at = f" at {size}×{size}" if size else " at native size"
    count = options["count"]
    if held is None:  # synthetic scenes
        return f"{count} triplets{at}, path ambiguity {options['ambiguity']:g}{_in_memory(spec, split, int(count), size)}"  # type: ignore[call-overload]
    if count is not None and int(count) < held:  # type: ignore[call-overload]
        return f"{count} of its {held} triplets (a seeded subset){at}{_in_memory(spec, split, int(count), size)}"  # type: ignore[call-overload]
    asked = f"; the preset asks for {count}" if count is not None and int(count) > held else ""  # type: ignore[call-overload]
    return f"{held} triplets (all it holds{asked}){at}{_in_memory(spec, split, held, size)}"


def start_notes(plan: SweepPlan, test_count: int) -> list[str]:
    """The notes the sweep prints as it starts, given the triplets its test set loads: a --val-samples
    beyond the test set, a --log-every that leaves one training-log row (the plan is left as it is)."""
    import copy

    from vfibench.sweep.coordinator import settle_validation, single_log_row_note

    notes: list[str] = []
    settled = copy.copy(plan)
    settle_validation(settled, test_count, notes.append)
    note = single_log_row_note(plan.preset.log_every, plan.preset.steps, plan.warm_start, settled.val_samples)
    return notes + ([note] if note else [])


def _in_memory(spec: str, split: str, count: int, size: object) -> str:
    """``", 1.2 GiB in memory"`` for frames of a known size, after the check the run would make."""
    if not size:
        return ""
    side = int(size)  # type: ignore[call-overload]
    check_memory(count, side, side, None, f"{spec} ({split})")
    need = selection_bytes(count, side, side)
    return f", {need / 1024**3:.1f} GiB in memory" if need >= 1024**3 else f", {need / 1024**2:.0f} MiB in memory"


def estimate_training(plan: SweepPlan, probe_steps: int = PROBE_STEPS, store: RunStore | None = None,
                      threads: int | None = None, at_a_time: int = 1) -> Estimate:
    """Time ``probe_steps`` steps of every trained configuration with a unit left to train (random
    frames of the preset's size) with the ``threads`` torch threads the units will use (None: this
    process's); ``store``: the run a resume finishes (None: a new run).

    The first step of each is a warm-up; the mean of the others, times the steps each unit left trains,
    summed over those units (plus the shared warm starts not cached yet) and divided by the units that
    run ``at_a_time`` (``--jobs``: a bound, as units of unequal cost do not divide evenly), is the
    projection. Evaluation and data loading are not included.
    """
    from vfibench.sweep.coordinator import needs_warm_start

    preset = plan.preset
    left = [key for key in plan.units()
            if key.kind == schema.TRAINED and (store is None or store.unit_info(key) is None)]
    data = noise_triplets(preset.batch_size * probe_steps, preset.crop)
    probe = preset.with_overrides(steps=probe_steps)
    per_step: dict[str, float] = {}
    diverged: list[str] = []
    own = torch.get_num_threads()
    torch.set_num_threads(threads or own)
    try:
        for config in [c for c in plan.trained if c.canonical in {key.config for key in left}]:
            stamps: list[float] = []
            train_configuration(config, data, probe, seed=0, device=plan.device, precision=plan.precision,
                                on_step=lambda step, loss: stamps.append(time.perf_counter()))
            if len(stamps) < 2:  # diverged before a step could be timed
                diverged.append(config.canonical)
                continue
            per_step[config.canonical] = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    finally:
        torch.set_num_threads(own)
    total = sum(per_step.get(key.config, 0.0) for key in left) * (preset.steps - plan.warm_start)
    if plan.warm_start and per_step:
        warm = per_step.get(WARM_START_SPEC, min(per_step.values()))  # the warm start trains plain l1
        total += warm * plan.warm_start * sum(needs_warm_start(plan, store, seed, True)
                                              for seed in {key.seed for key in left})
    parallel = max(1, min(at_a_time, len(left)))
    note = (f"from {counted(probe_steps - 1, 'timed step')} per configuration on {plan.device} in {plan.precision} "
            f"with {counted(threads or own, 'torch thread')}"
            + (f", {parallel} units at a time" if parallel > 1 else "")
            + "; training only (evaluation and data loading add to it)"
            + (f"; not counted: {diverged_text(diverged)}" if diverged else ""))
    return Estimate(per_step, total / parallel, note, tuple(diverged))


def diverged_text(names: Sequence[str]) -> str:
    """``"1e+38*l1 diverged within the timed steps (the run marks such a row diverged)"``."""
    return f"{join_words(list(names))} diverged within the timed steps (the run marks such a row diverged)"


def duration_text(seconds: float) -> str:
    """``45 s``, ``12 min`` or ``3.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
